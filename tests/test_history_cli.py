"""``enterprise history``: empty store, one run, a corrupt run record; the report validator."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main
from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.report.json_report import build_report, dumps_report, load_schema
from pytest_enterprise.report.validation import report_violation


@pytest.fixture
def report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENTERPRISE_CONFIG", raising=False)
    tests = [
        TestResult("t.py::test_ok", [Attempt(1, "passed", [Phase("setup", "passed", 0.1), Phase("call", "passed", 0.2)])]),
        TestResult("t.py::test_bad", [Attempt(1, "failed", [Phase("call", "failed", 0.3)], category="failure")]),
    ]
    record = RunRecord(RunInfo(id="run-1", started_at="2026-01-02T03:04:05.000Z", finished_at="2026-01-02T03:04:06.000Z",
                               exit_status=1, python="CPython 3.11", platform="linux"), tests)  # fmt: skip
    path = tmp_path / "report.json"
    path.write_text(dumps_report(build_report(record, analyze_run(record).to_dict(), [], None)) + "\n")
    return path


def history(*arguments: str) -> int:
    return main(["history", *arguments, "--store", "h.db"])


def test_empty_store(report_file, capsys):
    assert history("list") == 0
    assert "no runs stored in h.db" in capsys.readouterr().out
    assert not Path("h.db").exists()  # reading creates nothing
    assert history("list", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert history("show", "nope") == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_one_run_import_list_show_purge(report_file, capsys):
    assert history("import", str(report_file)) == 0
    assert "imported run run-1 (2 tests)" in capsys.readouterr().out
    assert history("import", str(report_file)) == 2  # already stored
    assert "--replace" in capsys.readouterr().err
    assert history("import", str(report_file), "--replace") == 0
    capsys.readouterr()
    assert history("list", "--format", "json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["units"], listed["defects"], listed["dpmo"]) == ("run-1", 2, 1, 500_000)
    assert history("list") == 0
    assert "run-1" in capsys.readouterr().out
    assert history("show", "run-1", "--format", "json") == 0
    assert capsys.readouterr().out == report_file.read_text()  # the stored report exactly
    assert history("show", "run-1") == 0
    assert "Six Sigma quality report" in capsys.readouterr().out
    with sqlite3.connect("h.db") as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_events WHERE kind = 'history' ORDER BY id")]
    assert actions == ["import", "replace"]
    assert history("purge", "--older-than", "0", "--dry-run") == 0
    assert "would delete 1 run(s)" in capsys.readouterr().out
    assert history("purge", "--older-than", "0") == 0
    assert "deleted 1 record(s)" in capsys.readouterr().out
    assert history("list") == 0
    assert "no runs" in capsys.readouterr().out


def test_corrupt_run_record(report_file, capsys):
    assert history("import", str(report_file)) == 0
    with sqlite3.connect("h.db") as db:
        db.execute("UPDATE runs SET report_zlib = ? WHERE id = 'run-1'", (b"garbage",))
    for form in ("text", "json"):
        assert history("show", "run-1", "--format", form) == 2
        error = capsys.readouterr().err
        assert "'run-1'" in error and error.count("\n") == 1
    assert history("list") == 0  # the summary columns are still readable


def test_import_refuses_bad_reports(report_file, capsys):
    report_file.write_text(report_file.read_text().replace('"severity":"medium"', '"severity":"huge"', 1))
    assert history("import", str(report_file)) == 2
    assert "does not match the report schema at tests[0].severity" in capsys.readouterr().err
    assert not Path("h.db").exists()


def test_compiled_validator_agrees_with_jsonschema(report_file):
    jsonschema = pytest.importorskip("jsonschema")
    schema = load_schema()
    report = json.loads(report_file.read_text())
    mutations = [
        lambda r: None,
        lambda r: r["run"].update(exit_status=True),  # a bool is no integer in JSON
        lambda r: r["run"].update(duration_s=1.0),
        lambda r: r["run"].update(xdist_workers=2.0),  # an integral float is an integer
        lambda r: r["run"].update(xdist_workers=2.5),
        lambda r: r["quality"].update(dpmo=-1),
        lambda r: r["quality"].update(dpmo_ci95=[1]),
        lambda r: r["tests"][0]["attempts"][0]["phases"][0].update(when="lunch"),
        lambda r: r["tests"][0].update(markers={"controls": [["soc2", "CC6.1", "CC6.1", 3]]}),
        lambda r: r["tests"][0].update(markers={"controls": [["soc2", "CC6.1", "CC6.1", None]]}),
        lambda r: r.update(flags={"flag_file": None, "environment": "x", "flags": {}, "warnings": [], "extra": 1}),
        lambda r: r["tool"].update(name="other"),
        lambda r: r["run"].update(started_at="yesterday"),
        lambda r: r.update(merge={"mode": "shards", "chosen": "x", "parts": [], "notes": []}),
        lambda r: r.pop("gates"),
    ]
    for mutate in mutations:
        document = json.loads(json.dumps(report))
        mutate(document)
        expected = jsonschema.Draft202012Validator(schema).is_valid(document)
        assert (report_violation(document) is None) == expected, document
