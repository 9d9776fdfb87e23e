"""Logging as configured: level, one JSON object per line, a rotating file in the output
folder, and no secret in any record our handlers write."""

from __future__ import annotations

import json
import logging

import pytest

from pytest_enterprise import logs
from pytest_enterprise.cli.main import main

SECRET = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def restore_logger():
    logger = logging.getLogger(logs.LOGGER)
    level, handlers = logger.level, list(logger.handlers)
    yield
    logs.configure("WARNING")  # removes and closes ours
    logger.setLevel(level)
    logger.handlers[:] = handlers


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_structured_records_are_one_json_object_per_line_with_secrets_masked(capsys, monkeypatch):
    monkeypatch.setenv("ENTERPRISE_API_KEY", SECRET)
    logs.configure("INFO", structured=True)
    log = logging.getLogger("pytest_enterprise.flags")
    log.debug("not at INFO")
    log.warning("pushing to %s with %s", f"https://ci:{SECRET}@example.com/x?access_token=abc123", SECRET)
    try:
        raise RuntimeError(f"connect failed for {SECRET}")
    except RuntimeError:
        log.exception("store")
    (warning, error) = lines(capsys.readouterr().err)
    assert warning["level"] == "WARNING" and warning["logger"] == "pytest_enterprise.flags"
    assert warning["message"] == "pushing to https://***@example.com/x?access_token=*** with ***"
    assert warning["time"].endswith("Z") and len(warning["time"]) == len("2026-12-03T21:00:00.000Z")
    assert error["message"] == "store" and "RuntimeError: connect failed for ***" in error["traceback"]
    assert SECRET not in json.dumps([warning, error])


def test_configuring_again_replaces_the_handlers(tmp_path):
    for _ in range(3):
        logs.configure("INFO", structured=True, log_dir=tmp_path)
    ours = [h for h in logging.getLogger(logs.LOGGER).handlers if getattr(h, "_pytest_enterprise_handler", False)]
    assert len(ours) == 2
    logs.configure("INFO")
    assert not [h for h in logging.getLogger(logs.LOGGER).handlers if getattr(h, "_pytest_enterprise_handler", False)]


def test_the_file_is_made_at_the_first_record_and_rotates(tmp_path, monkeypatch):
    folder = tmp_path / "enterprise-reports"
    monkeypatch.setattr(logs, "_MAX_BYTES", 2000)
    logs.configure("INFO", log_dir=folder)
    assert not folder.exists()  # nothing logged, nothing made
    log = logging.getLogger("pytest_enterprise.run")
    for number in range(100):
        log.info("record %03d %s", number, "x" * 40)
    assert sorted(p.name for p in folder.iterdir()) == ["enterprise.log", "enterprise.log.1", "enterprise.log.2", "enterprise.log.3"]
    assert "record 099" in (folder / "enterprise.log").read_text()
    assert " INFO pytest_enterprise.run: record" in (folder / "enterprise.log").read_text()


def test_the_cli_logs_its_commands_to_the_output_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enterprise-config.yaml").write_text("logging:\n  file_logging: true\n  structured_logging: true\n")
    url = f"postgresql://ci:{SECRET}@127.0.0.1:1/history"
    assert main(["history", "list", "--store", url]) == 2
    assert main(["history", "list", "--store", str(tmp_path / "h.db")]) == 0
    logged = (tmp_path / "enterprise-reports" / "enterprise.log").read_text()
    failed, listed = lines(logged)
    assert failed["level"] == "ERROR" and failed["message"].startswith("enterprise history list --store postgresql://***@")
    assert "Connection refused" in failed["message"] and listed["message"].endswith(": exit 0")
    assert SECRET not in logged + capsys.readouterr().err


def test_a_pytest_run_logs_its_end_when_asked(pytester):
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\nlogging:\n  file_logging: true\n"})
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0
    logged = (pytester.path / "enterprise-reports" / "enterprise.log").read_text()
    assert " INFO pytest_enterprise.run: run " in logged and "finished: 1 units, 0 defects, exit status 0" in logged
