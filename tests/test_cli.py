"""The ``enterprise`` command: telemetry status/report/record, test run, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "test_sample.py").write_text(
        "def test_ok():\n    pass\n\ndef test_ok_too():\n    pass\n\ndef test_bad():\n    assert 0\n"
    )
    return tmp_path


def enterprise(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_enterprise.cli.main", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_test_run_writes_output_and_history(project: Path):
    result = enterprise("test", "run", "--output", "results.json", "-p", "no:cacheprovider", "-q", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr  # test_bad fails
    report = json.loads((project / "results.json").read_text())
    assert report["quality"]["units"] == 3 and report["quality"]["defects"] == 1
    assert (project / ".enterprise" / "history.db").is_file()


def test_test_run_is_clean_under_warnings_as_errors(project: Path):
    result = enterprise("test", "run", "-W", "error", "-p", "no:cacheprovider", "-p", "no:benchmark", "-q", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "warning" not in result.stdout.lower().split("short test summary")[-1]
    assert "PytestAssertRewriteWarning" not in result.stdout + result.stderr


def test_test_run_uses_a_child_pytest(project: Path, monkeypatch: pytest.MonkeyPatch):
    """In-process pytest.main would meet an already-imported pytest_enterprise, which a regular
    (non-editable) install then cannot assertion-rewrite: a warning, fatal under -W error."""
    import subprocess as subprocess_module

    calls = []
    monkeypatch.setattr(subprocess_module, "call", lambda command: calls.append(command) or 0)
    assert main(["--config", "c.yaml", "test", "run", "--output", "r.json", "--verbose", "-k", "ok"]) == 0
    assert calls == [
        [sys.executable, "-m", "pytest", "-k", "ok", "--enterprise-report", "--enterprise-config", "c.yaml",
         "--enterprise-json", "r.json", "-v"]
    ]


def test_report_from_store_matches_plugin_report(project: Path, capsys):
    enterprise("test", "run", "--output", "results.json", "-p", "no:cacheprovider", "-q", cwd=project)
    plugin_report = json.loads((project / "results.json").read_text())
    assert main(["telemetry", "report", "--output", "from-store.json"]) == 0
    store_report = json.loads((project / "from-store.json").read_text())
    assert store_report["quality"] == plugin_report["quality"]
    assert store_report["run"]["id"] == plugin_report["run"]["id"]
    assert [t["nodeid"] for t in store_report["tests"]] == [t["nodeid"] for t in plugin_report["tests"]]


@pytest.mark.parametrize(("fmt", "marker"), [("text", "Sigma level"), ("markdown", "| metric")])
def test_report_text_and_markdown(project: Path, capsys, fmt: str, marker: str):
    enterprise("test", "run", "-p", "no:cacheprovider", "-q", cwd=project)
    assert main(["telemetry", "report", "--format", fmt]) == 0
    output = capsys.readouterr().out
    assert marker in output and "DPMO" in output and "333,333" in output


def test_status_shows_latest_run_and_trend(project: Path, capsys):
    for _ in range(2):
        enterprise("test", "run", "-p", "no:cacheprovider", "-q", cwd=project)
    assert main(["telemetry", "status"]) == 0
    output = capsys.readouterr().out
    assert "process 'pytest': latest run" in output
    assert "trend: DPMO 333,333 vs median 333,333 of the 1 runs before: unchanged" in output


def test_status_without_data(project: Path, capsys):
    assert main(["telemetry", "status", "--process", "nothing"]) == 0
    assert "no data recorded for process 'nothing'" in capsys.readouterr().out
    assert not (project / ".enterprise").exists()


def test_record_then_status_and_report(project: Path, capsys):
    assert main(["telemetry", "record", "--unit", "--passed"]) == 0
    assert main(["telemetry", "record", "--unit", "--failed"]) == 0
    assert main(["telemetry", "record", "--defect", "static_analysis_failure", "--severity", "high", "--category", "code_quality"]) == 0
    capsys.readouterr()
    assert main(["telemetry", "status", "--process", "quality_gates"]) == 0
    output = capsys.readouterr().out
    assert "3 recorded events" in output and "2 units, 1 defects" in output
    assert main(["telemetry", "report", "--process", "quality_gates", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["quality"]["units"] == 2 and report["quality"]["fpy"] == 50.0
    assert report["quality"]["pareto"][0]["category"] == "code_quality"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["telemetry", "record", "--unit"], "--unit needs --passed or --failed"),
        (["telemetry", "record"], "say exactly one of --unit or --defect"),
        (["telemetry", "record", "--unit", "--passed", "--defect", "x"], "say exactly one of --unit or --defect"),
        (["telemetry", "record", "--defect", "x", "--passed"], "--passed and --failed go with --unit"),
        (["telemetry", "status", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_usage_errors_exit_2(project: Path, capsys, arguments: list[str], message: str):
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.strip() == f"enterprise: error: {message}"


def test_argparse_errors_exit_2(project: Path):
    result = enterprise("telemetry", "frobnicate", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_bad_config_exit_2_one_line(project: Path):
    (project / "enterprise-config.yaml").write_text("telemetry:\n  retention_days: 0\n")
    result = enterprise("telemetry", "status", cwd=project)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "enterprise-config.yaml:2" in lines[0] and "retention_days" in lines[0]


def test_corrupt_store_exit_2(project: Path):
    store = project / ".enterprise" / "history.db"
    store.parent.mkdir()
    store.write_bytes(b"garbage" * 50)
    result = enterprise("telemetry", "status", cwd=project)
    assert result.returncode == 2
    assert str(store) in result.stderr and "Traceback" not in result.stderr
    assert store.read_bytes() == b"garbage" * 50


def test_report_input_errors(project: Path, capsys):
    (project / "broken.json").write_text("{\n  'nope'\n")
    assert main(["telemetry", "report", "--input", "broken.json"]) == 2
    assert "broken.json:2: not valid JSON" in capsys.readouterr().err
    assert main(["telemetry", "report", "--input", "missing.json"]) == 2


def test_report_with_no_data_is_an_input_error(project: Path, capsys):
    assert main(["telemetry", "report"]) == 2
    assert "no runs or events recorded for process 'pytest'" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permission_denied_exit_3(project: Path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores file permissions")
    locked = project / "locked"
    locked.mkdir(mode=0o500)
    assert main(["telemetry", "record", "--unit", "--passed", "--store", str(locked / "sub" / "h.db")]) == 3


def test_permission_denied_exit_3_simulated(project: Path, capsys, monkeypatch: pytest.MonkeyPatch):
    """The same path as above, reachable as root: the store's folder cannot be created."""
    import errno

    def refuse(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["telemetry", "record", "--unit", "--passed", "--store", "nowhere/h.db"]) == 3
    error = capsys.readouterr().err.strip()
    assert error.startswith("enterprise: error:") and "nowhere" in error and "\n" not in error
