"""``enterprise telemetry spc | flaky | baseline``: on an empty store, one run, many runs, a
damaged store, and with bad input."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pytest_enterprise.cli.main import main
from pytest_enterprise.store import HistoryStore

from test_history_analysis import at, outcomes, passed, run_record, save, suite


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENTERPRISE_CONFIG", raising=False)
    monkeypatch.setenv("ENTERPRISE_ACTOR", "alice")
    return tmp_path


STORE = ".enterprise/history.db"
FAILURES = [2, 3, 1, 2, 4, 2, 3, 1, 2, 3, 2, 1, 3, 2, 2, 1, 3, 2, 4, 2, 2, 3]


def fill(project, count: int, **record) -> None:
    with HistoryStore(project / STORE) as store:
        for i in range(count):
            tests = suite(FAILURES[i % len(FAILURES)], 100)
            tests.append(outcomes("t.py::test_flaky", "failed" if i % 2 else "passed"))
            save(store, run_record(f"r{i:02d}", at(i), tests, duration=30.0 + i % 4, commit=f"c{i}", **record))


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", [["spc"], ["flaky"]])
def test_an_empty_store_says_so(project, capsys, command):
    code, out, err = run(capsys, "telemetry", *command)
    assert code == 0 and out == f"no runs of process 'pytest' in {project / STORE}\n" and err == ""
    assert not (project / STORE).exists()  # reading creates nothing


def test_one_run_says_how_many_more_are_needed(project, capsys):
    fill(project, 1)
    code, out, _ = run(capsys, "telemetry", "spc")
    assert code == 0
    assert "9 more runs needed before control limits (1 comparable in series pytest, stage 1)" in out
    code, out, _ = run(capsys, "telemetry", "flaky")
    assert code == 0 and "insufficient data (4 more runs)" in out


def test_spc_text_json_and_markdown(project, capsys):
    fill(project, 22)
    code, out, _ = run(capsys, "telemetry", "spc")
    assert code == 0
    assert "in control over 22 runs (p chart, frozen limits; series pytest, stage 1)" in out
    assert "limits: the first 20 runs of the stage" in out and "last 12 of 22 points:" in out
    code, out, _ = run(capsys, "telemetry", "spc", "--format", "json")
    data = json.loads(out)
    (series,) = data["series"]
    points = series["charts"]["defect_fraction"]["points"]
    assert [p["run_id"] for p in points] == [f"r{i:02d}" for i in range(22)]
    assert points[0]["value"] == pytest.approx(2 / 101) and points[0]["started_at"] == at(0)
    assert series["summary"].startswith("in control over 22 runs")
    code, out, _ = run(capsys, "telemetry", "spc", "--output", "spc.md")
    assert code == 0 and (project / "spc.md").read_text().startswith("# Control charts of pytest\n")


def test_flaky_ranks_the_alternating_test_with_its_evidence(project, capsys):
    fill(project, 12)
    code, out, _ = run(capsys, "telemetry", "flaky")
    assert code == 0 and "12 runs read (the newest, at most 50) of process 'pytest'; 0 outage runs left out" in out
    first_row = next(line for line in out.splitlines() if line.startswith("t.py::"))
    assert first_row.startswith("t.py::test_flaky") and " flaky " in first_row
    data = json.loads(run(capsys, "telemetry", "flaky", "--format", "json", "--runs", "6")[1])
    assert data["runs"] == 6 and data["window"] == 6
    verdicts = {t["nodeid"]: t for t in data["tests"]}
    assert verdicts["t.py::test_flaky"]["flips"] == 5 and verdicts["t.py::test_flaky"]["verdict"] == "flaky"
    assert verdicts["t.py::test_0"]["verdict"] == "stable"  # failed in every run: not flaky


def test_series_are_kept_apart_and_selected_by_branch_and_environment(project, capsys):
    fill(project, 3, branch="main")
    with HistoryStore(project / STORE) as store:
        save(store, run_record("tox", at(50), suite(1), environment="py311"))
    out = run(capsys, "telemetry", "spc")[1]
    assert "series pytest, branch main: stage 1" in out and "series pytest, environment py311: stage 1" in out
    out = run(capsys, "telemetry", "spc", "--branch", "", "--env", "py311")[1]
    assert "branch main" not in out and "environment py311" in out
    code, _, err = run(capsys, "telemetry", "baseline", "freeze")
    assert code == 2 and "has 2 series (pytest, branch main; pytest, environment py311): choose one" in err


def test_baseline_freeze_and_reset_are_audited(project, capsys):
    fill(project, 14)
    code, out, _ = run(capsys, "telemetry", "baseline", "freeze", "--runs", "10", "--reason", "new runner")
    assert code == 0 and "froze the control limits of series pytest on 10 runs (r04 … r13); audited as alice" in out
    out = run(capsys, "telemetry", "spc")[1]
    assert "limits: frozen on 10 runs by alice at" in out
    assert run(capsys, "telemetry", "baseline", "reset")[0] == 0
    assert "10 more runs needed before control limits (0 comparable in series pytest, stage 2)" in run(capsys, "telemetry", "spc")[1]
    with HistoryStore(project / STORE) as store:
        events = store.audit_events("spc-baseline")
    assert [(e.action, e.actor, e.reason) for e in events] == [("freeze", "alice", "new runner"), ("reset", "alice", None)]
    assert json.loads(events[0].after_json)["runs"] == [f"r{i:02d}" for i in range(4, 14)]
    assert json.loads(events[1].before_json)["source"].startswith("frozen on 10 runs by alice")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--runs", "30"], "series pytest has 14 comparable runs in its stage 1; 16 more needed to freeze on 30"),
        (["--runs", "3"], "--runs must be at least telemetry.spc_min_runs (10)"),
    ],
)
def test_freezing_on_too_few_runs_is_refused_and_changes_nothing(project, capsys, arguments, message):
    fill(project, 14)
    code, out, err = run(capsys, "telemetry", "baseline", "freeze", *arguments)
    assert code == 2 and err.strip() == f"enterprise: error: {message}" and out == ""
    with HistoryStore(project / STORE) as store:
        assert store.spc_baselines("pytest") == [] and store.audit_events() == []


def test_freezing_an_empty_store_is_an_input_error(project, capsys):
    code, _, err = run(capsys, "telemetry", "baseline", "reset")
    assert code == 2 and "no runs of process 'pytest'" in err


def test_a_damaged_run_record_is_one_line_exit_2(project, capsys):
    fill(project, 12)
    conn = sqlite3.connect(project / STORE)
    with conn:
        conn.execute("UPDATE run_tests SET nodeid_index = x'0102' WHERE run_id = 'r05'")
    conn.close()
    code, out, err = run(capsys, "telemetry", "flaky")
    assert code == 2 and out == ""
    assert err.startswith("enterprise: error: history store") and "run 'r05' cannot be read back" in err
    assert len(err.strip().splitlines()) == 1
    assert run(capsys, "telemetry", "spc")[0] == 0  # the charts do not read test rows


def test_a_store_that_is_not_a_database_is_one_line_exit_2(project, capsys):
    (project / ".enterprise").mkdir()
    (project / STORE).write_text("not a database")
    for command in ("spc", "flaky"):
        code, _, err = run(capsys, "telemetry", command)
        assert code == 2 and "is not an SQLite database" in err and len(err.strip().splitlines()) == 1
    assert (project / STORE).read_text() == "not a database"


def test_bad_arguments_exit_2(project, capsys):
    assert run(capsys, "telemetry", "flaky", "--runs", "1")[0] == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["telemetry", "spc", "--format", "pdf"])
    assert exit_info.value.code == 2


def test_passed_helper_is_packed(project):
    with HistoryStore(project / STORE) as store:
        save(store, run_record("p", at(1), [passed("t::a")]))
        assert store._conn.execute("SELECT tests FROM run_tests").fetchall() == [(1,)]


def test_status_groups_by_environment_and_branch(project, capsys):
    fill(project, 2, branch="main")
    with HistoryStore(project / STORE) as store:
        save(store, run_record("tox-1", at(50), suite(1), environment="py311"))
    out = run(capsys, "telemetry", "status", "--env", "py311")[1]
    assert "latest run tox-1" in out and "r01" not in out
    out = run(capsys, "telemetry", "status", "--env", "", "--branch", "main")[1]
    assert "latest run r01" in out and "tox-1" not in out
    assert run(capsys, "telemetry", "status", "--env", "py310")[1] == (
        f"no runs of process 'pytest' with environment 'py310' in {project / STORE}\n"
    )


def test_flaky_runs_count_within_the_chosen_environment(project, capsys):
    fill(project, 8)
    with HistoryStore(project / STORE) as store:
        for i in range(6):
            save(store, run_record(f"tox-{i}", at(100 + i), suite(1), environment="py311"))
    data = json.loads(run(capsys, "telemetry", "flaky", "--env", "py311", "--runs", "5", "--format", "json")[1])
    assert data["runs"] == 5  # the newest five runs of py311, not of the whole process
