"""``enterprise history copy``: runs and their evidence from one store to another, SQLite and
PostgreSQL either way, on the real server (the middle store of each round trip is
``store_where``: a SQLite file, then a fresh PostgreSQL database)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import pty
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from pytest_enterprise.audit import make_event, verify_chain
from pytest_enterprise.cli.main import main
from pytest_enterprise.errors import StoreError
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.report.json_report import build_report, dumps_report
from pytest_enterprise.store import HistoryStore, TelemetryEvent, open_store, parse_timestamp
from pytest_enterprise.store import copying
from pytest_enterprise.store.copying import copy_history, progress_text
from pytest_enterprise.store.series import BaselineRow
from pytest_enterprise.store.sqlite import ControlStatusChange

from postgres import fresh_database, raw_sql
from test_store import make_record, make_v3_store

NODEIDS = [
    "t.py::test_pass", "t.py::test_fail[1-a]", "t.py::test_setup_error", "t.py::test_crash", "t.py::test_xpass",
    "t.py::test_skip", "t.py::test_xfail", "t.py::test_flaky", "t.py::test_subtests",
]  # fmt: skip
QUALIFIED = [f"[{env}] {nodeid}" for env in ("py311", "py312") for nodeid in NODEIDS]  # a merge of environments
PROCESSES = ("pytest", "api", "quality_gates")


def save(store: HistoryStore, run_id: str, started_at: str, *, detailed: bool = True, **run) -> None:
    record = make_record(run_id, started_at, **run)
    store.save_run(record, analyze_run(record).to_dict(), detailed=detailed)


def status(state: str, at: str, control: str = "CC6.1") -> ControlStatusChange:
    return ControlStatusChange("soc2", control, state, None, "", None, None, None, "bob", at)


def fill(path: Path) -> None:
    """A SQLite store with every kind of evidence: runs (one without test rows, two started at
    one instant, a merge of two environments), events (two equal ones), statuses chained at an
    upgrade and after it, audit events, a baseline and experiment events."""
    make_v3_store(path, statuses=2)  # upgraded on open: its statuses chained at migration
    with HistoryStore(path, clock=lambda: parse_timestamp(_at(9))) as store:
        save(store, "run-a", "2025-03-01T11:00:00Z")
        save(store, "run-b", "2025-03-02T11:00:00Z", detailed=False)
        save(store, "run-tie-2", "2025-03-03T11:00:00Z")  # stored first: older in a tie
        save(store, "run-tie-1", "2025-03-03T11:00:00Z", environment="py311")
        for process, events in (
            ("api", [TelemetryEvent("2025-03-01T10:00:00Z", "unit", True)] * 2
             + [TelemetryEvent("2025-03-01T10:00:01Z", "defect", defect_type="timeout", severity="high", message="x\x00y")]),
            ("quality_gates", [TelemetryEvent("2025-03-02T10:00:00Z", "unit", False, category="failure")]),
        ):  # fmt: skip
            store.record_events(process, events)
        for number, state in enumerate(["non_compliant", "compliant", "compliant"]):
            store.record_control_status(status(state, _at(number), f"CC6.{number % 2 + 1}"))
        store.record_audit_event(make_event("flag", "checkout", "create", before=None, after={"on": True}, actor="ann"))
        store.record_spc_baseline(
            BaselineRow("pytest", "main", None, "freeze", ("run-a", "run-tie-1"), _at(3), "ann", "stable"),
            make_event("spc-baseline", "pytest", "freeze", before=None, after={"runs": 2}, actor="ann"),
        )
        store.record_experiment_events(
            [("checkout", "b", "u1", "converted", 1.0, _at(4))] * 2 + [("checkout", "a", "u2", "converted", None, _at(5))]
        )
    reports = []
    for env in ("py311", "py312"):
        record = make_record(f"run-{env}", "2025-03-04T11:00:00Z", environment=env)
        reports.append(path.parent / f"{env}.json")
        reports[-1].write_text(dumps_report(build_report(record, analyze_run(record).to_dict(), [], None)) + "\n")
    merged = path.parent / "merged.json"
    argv = ["merge", *map(str, reports), "--output", str(merged), "--mode", "environments", "--store", str(path)]
    assert main(argv) == 0


def _at(minute: int) -> str:
    return f"2025-03-05T12:{minute:02d}:00.000000Z"


def evidence(where: str) -> dict:
    """Everything a store says, through its own reads (the audit log apart, see audit_log)."""
    with open_store(where) as store:
        runs = store.recent_runs(limit=1000)
        ids = [run.id for run in runs]

        def tests(found):
            return {nodeid: sorted(found[nodeid], key=lambda e: e.run_id) for nodeid in found}, sorted(found.packed_runs)

        return {
            "runs": runs,
            "reports": {run_id: store.load_report(run_id) for run_id in ids},
            "history": {nodeid: store.attempt_history(nodeid) for nodeid in NODEIDS + QUALIFIED},
            "tests_in_runs": tests(store.tests_in_runs(ids)),
            "named_tests_in_runs": tests(store.tests_in_runs(ids, NODEIDS + QUALIFIED)),
            "events": {process: store.events(process) for process in store.processes()},
            "status_log": store.control_status_log(),
            "statuses": store.control_statuses(),
            "migration": store.status_chain_migration(),
            "baselines": {process: store.spc_baselines(process) for process in PROCESSES},
            "experiments": raw_sql(where, "SELECT flag, variant, user_id, metric, value, recorded_at FROM experiment_events ORDER BY id"),
            "test_rows": raw_sql(where, "SELECT id, (SELECT COUNT(*) FROM run_tests WHERE run_id = id),"
                                        " (SELECT COUNT(*) FROM attempts WHERE run_id = id) FROM runs ORDER BY id"),
        }  # fmt: skip


def audit_log(where: str) -> list:
    with open_store(where) as store:
        return store.audit_events()


def display(where: str) -> str:
    return open_store(where).display


def copy(capsys, source: str, destination: str, *options: str) -> tuple[int, str, str]:
    code = main(["history", "copy", "--from", str(source), "--to", str(destination), *options])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def source(tmp_path) -> str:
    path = tmp_path / "source" / "history.db"
    path.parent.mkdir()
    fill(path)
    return str(path)


def expected_in(where: str, found: dict) -> dict:
    """``evidence`` of a store as a copy at ``where`` shows it: PostgreSQL text cannot hold
    the NUL character and keeps U+FFFD instead (once it is there, so does any copy of it)."""
    if not where.startswith("postgresql:"):
        return found
    events = found["events"]
    api = [event if event.message is None else TelemetryEvent(**{**vars(event), "message": event.message.replace("\x00", "\ufffd")})
           for event in events["api"]]  # fmt: skip
    return {**found, "events": {**events, "api": api}}


# --- round trips ------------------------------------------------------------------------------


def test_a_round_trip_through_either_engine_keeps_everything(source, store_where, tmp_path, capsys):
    back = str(tmp_path / "back.db")
    before, before_audit = evidence(source), audit_log(source)
    assert before["migration"]["rows"] == 2 and len(before["runs"]) == 5 and len(before_audit) == 3

    code, out, err = copy(capsys, source, store_where)
    assert (code, err) == (0, "")
    assert out == (
        f"copied 5 runs, 4 events, 3 experiment events, 1 baseline change, 5 statuses, 3 audit events"
        f" from {source} to {display(store_where)}\n"
    )
    assert copy(capsys, store_where, back)[0] == 0

    for where, copies in ((store_where, 1), (back, 2)):
        found = evidence(where)
        assert found == expected_in(store_where, before)
        audit = audit_log(where)
        assert audit[:3] == before_audit and verify_chain(audit) == []
        assert verify_chain(found["status_log"], "change") == []
        assert [(e.kind, e.action) for e in audit[3:]] == [("history", "copy")] * copies
    # The run stored without test rows still has none; created_at is the source's, not now.
    assert dict((run_id, (packed, attempts)) for run_id, packed, attempts in evidence(back)["test_rows"])["run-b"] == (0, 0)
    assert [run.created_at for run in found["runs"] if run.id.startswith("run-tie")] == [_at(9)] * 2
    # The copy is audited in the destination: who copied what from where.
    event = audit_log(back)[-1]
    after = json.loads(event.after_json)
    assert event.subject == back and after["from"] == display(store_where)
    assert (after["runs"], after["skipped"], after["audit_events"], after["telemetry_events"]) == (5, 0, 4, 4)


def test_copying_again_copies_nothing_and_adds_nothing(source, store_where, capsys):
    assert copy(capsys, source, store_where)[0] == 0
    found, audit = evidence(store_where), audit_log(store_where)
    code, out, _ = copy(capsys, source, store_where)
    assert code == 0
    assert out.startswith("copied 0 runs (5 skipped: already there), 0 events, 0 experiment events, 0 baseline changes,"
                          " 0 statuses, 0 audit events from ")  # fmt: skip
    assert evidence(store_where) == found and audit_log(store_where) == audit  # not even an audit event
    # Back the other way: the source's audit log is a beginning of the copy's, which goes on it.
    assert copy(capsys, store_where, source)[1].startswith("copied 0 runs (5 skipped: already there), 0 events, 0 experiment events, 0 baseline changes, 0 statuses, 1 audit event")  # fmt: skip
    assert verify_chain(audit_log(source)) == [] and audit_log(source)[:4] == audit


def test_replace_copies_the_runs_already_there_again(source, tmp_path, capsys):
    destination = str(tmp_path / "d.db")
    assert copy(capsys, source, destination)[0] == 0
    before = evidence(destination)
    code, out, _ = copy(capsys, source, destination, "--replace")
    assert code == 0 and out.startswith("copied 5 runs (5 replaced), 0 events,")
    assert evidence(destination) == before


def test_a_killed_copy_leaves_whole_runs_and_running_it_again_completes_it(source, store_where, monkeypatch, capsys):
    monkeypatch.setattr(copying, "BATCH_RUNS", 2)

    def killed(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with open_store(source) as src, open_store(store_where) as dst, pytest.raises(KeyboardInterrupt):
        copy_history(src, dst, progress=killed)
    test_rows = "SELECT id, (SELECT COUNT(*) FROM attempts WHERE run_id = id) FROM runs WHERE substr(id, 1, 4) = 'run-' ORDER BY id"
    assert raw_sql(store_where, test_rows) == raw_sql(source, test_rows)[:2]  # the first batch (the oldest), whole
    assert [run_id for run_id, _ in raw_sql(store_where, test_rows)] == ["run-a", "run-b"]
    with open_store(store_where) as dst:  # and some events already there, one of the equal pair among them
        dst.record_events("api", [TelemetryEvent("2025-03-01T10:00:00Z", "unit", True)])
    code, out, _ = copy(capsys, source, store_where)
    assert code == 0 and out.startswith("copied 3 runs (2 skipped: already there), 3 events, 3 experiment events,")
    assert evidence(store_where) == expected_in(store_where, evidence(source))


def test_a_dry_run_says_what_would_be_copied_and_copies_nothing(source, store_where, capsys):
    def tables() -> list:
        if store_where.startswith("postgresql:"):
            return raw_sql(store_where, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        return [True] if os.path.exists(store_where) else []

    code, out, err = copy(capsys, source, store_where, "--dry-run")
    assert (code, err) == (0, "") and tables() == []  # nothing created
    assert out == (
        "would copy 5 runs, 4 events, 3 experiment events, 1 baseline change, 5 statuses, 3 audit events"
        f" from {source} to {display(store_where)}\n"
    )
    with open_store(store_where) as dst:
        save(dst, "run-a", "2025-03-01T11:00:00Z")
    counts = copy(capsys, source, store_where, "--dry-run")[1].split(" from ")[0].replace("would copy", "copied")
    assert copy(capsys, source, store_where)[1].startswith(counts)  # the dry run said what the copy did
    assert counts.startswith("copied 4 runs (1 skipped: already there)")


def test_postgresql_to_postgresql_and_the_password_is_never_shown(source, capsys):
    first, second = (fresh_database() for _ in range(2))
    one, other = next(first), next(second)
    try:
        secret = [with_password(one), with_password(other)]
        assert copy(capsys, source, secret[0])[0] == 0
        code, out, err = copy(capsys, secret[0], secret[1])
        assert code == 0 and "hunter2" not in out + err and f"to {display(secret[1])}" in out
        assert ":***@" in display(secret[1])
        assert evidence(other) == expected_in(other, evidence(source))
        assert "hunter2" not in audit_log(other)[-1].after_json + audit_log(other)[-1].subject
    finally:
        first.close(), second.close()


def with_password(url: str) -> str:
    """``url`` with a password (the test server trusts loopback, so any password does)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:hunter2@{parts.hostname}:{parts.port}"))


# --- hash chains that cannot be joined --------------------------------------------------------


def test_a_destination_with_a_chain_of_its_own_is_refused_before_anything_is_copied(source, store_where, capsys):
    with open_store(store_where) as dst:
        dst.record_audit_event(make_event("flag", "other", "create", before=None, after=None, actor="zed"))
    code, out, err = copy(capsys, source, store_where)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "audit_events" in err and "--skip-diverged-chains" in err and "Traceback" not in err
    assert raw_sql(store_where, "SELECT COUNT(*) FROM runs") == [(0,)]

    code, out, err = copy(capsys, source, store_where, "--skip-diverged-chains")
    assert code == 0 and err == ""
    summary, left = out.splitlines()
    assert summary.startswith("copied 5 runs, 4 events, 3 experiment events, 1 baseline change, 5 statuses, 0 audit events")
    assert left.startswith("not copied: the hash chain of audit_events (the destination's event 1 of ")
    audit = audit_log(store_where)
    assert [(e.actor, e.action) for e in audit][:1] == [("zed", "create")] and verify_chain(audit) == []
    assert json.loads(audit[-1].after_json)["not_copied"] == [left.removeprefix("not copied: the hash chain of ")]


def test_a_broken_source_chain_is_copied_as_it_is(source, store_where, monkeypatch, capsys):
    monkeypatch.setattr(copying, "BATCH_ROWS", 1)  # a batch boundary at the break too
    raw_sql(source, "DELETE FROM audit_events WHERE id = 2")
    problems = verify_chain(audit_log(source))
    assert problems and copy(capsys, source, store_where)[0] == 0
    assert verify_chain(audit_log(store_where)) == problems  # the copy's own event follows the last row


def test_a_chain_written_to_while_copying_is_not_interleaved(source, store_where):
    def meanwhile(done: int, total: int) -> None:
        with open_store(store_where) as other:
            other.record_audit_event(make_event("flag", "other", "create", before=None, after=None, actor="zed"))

    with open_store(source) as src, open_store(store_where) as dst, pytest.raises(StoreError, match="audit_events changed while copying"):
        copy_history(src, dst, progress=meanwhile)
    assert [event.actor for event in audit_log(store_where)] == ["zed"]
    assert len(evidence(store_where)["status_log"]) == 5  # the statuses were copied before it


# --- bad input ----------------------------------------------------------------------------------


def one_line_error(capsys, code: int, *arguments: str) -> str:
    assert main(["history", "copy", *arguments]) == code
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("enterprise: error: ") and "Traceback" not in err
    assert "hunter2" not in err
    return err


def test_bad_input_is_one_line(source, tmp_path, capsys):
    missing = tmp_path / "missing.db"
    assert "scheme 'mysql' is not supported" in one_line_error(capsys, 2, "--from", "mysql://u:hunter2@h/db", "--to", str(missing))
    assert "no history store at" in one_line_error(capsys, 2, "--from", str(missing), "--to", source)
    assert not missing.exists()  # a missing source is not created
    assert "same store" in one_line_error(capsys, 2, "--from", source, "--to", source)
    link = tmp_path / "link.db"
    link.symlink_to(source)
    assert "same store" in one_line_error(capsys, 2, "--from", source, "--to", str(link))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 10)
    assert "not an SQLite database" in one_line_error(capsys, 2, "--from", str(garbage), "--to", str(missing))
    assert "127.0.0.1:1" in one_line_error(capsys, 2, "--from", source, "--to", "postgresql://u:hunter2@127.0.0.1:1/db")
    assert not missing.exists()
    same = "postgresql://u:hunter2@DB.example:5432/history"
    assert "same store" in one_line_error(capsys, 2, "--from", same, "--to", "postgresql://other@db.example/history")


def test_a_destination_that_cannot_be_written_is_exit_3(source, tmp_path, monkeypatch, capsys):
    def denied(self, *args, **kwargs):  # as root, chmod cannot make a folder unwritable
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", denied)
    assert "permission denied" in one_line_error(capsys, 3, "--from", source, "--to", str(tmp_path / "new" / "h.db"))


def test_an_empty_postgresql_database_is_no_source(tmp_path, capsys):
    for url in fresh_database():
        assert "no history store at" in one_line_error(capsys, 2, "--from", with_password(url), "--to", str(tmp_path / "d.db"))
        assert raw_sql(url, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(0,)]


# --- progress ----------------------------------------------------------------------------------


def test_progress_text():
    assert progress_text(1234, 10_000) == "copied 1,234/10,000 runs"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_progress_bar_on_a_terminal_for_more_than_a_batch(source, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(copying, "BATCH_RUNS", 2)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["history", "copy", "--from", source, "--to", str(tmp_path / "d.db")]) == 0
    assert sys.stderr.getvalue() == "\rcopied 2/5 runs\rcopied 4/5 runs\rcopied 5/5 runs\n"
    assert capsys.readouterr().out.startswith("copied 5 runs, ")  # the summary on stdout, as always
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["history", "copy", "--from", source, "--to", str(tmp_path / "e.db"), "--dry-run"]) == 0
    assert sys.stderr.getvalue() == ""  # a dry run takes no time
    # A copy that stops ends the line before its error.
    raw_sql(source, "UPDATE runs SET report_zlib = ? WHERE id = 'run-tie-2'", (b"garbage",))
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["history", "copy", "--from", source, "--to", str(tmp_path / "f.db")]) == 2
    progress, error = sys.stderr.getvalue().split("\n", 1)
    assert progress == "\rcopied 2/5 runs" and error.startswith("enterprise: error: history store ")
    assert "run 'run-tie-2' cannot be read back" in error and error.count("\n") == 1


def test_the_progress_bar_in_a_pseudo_terminal(tmp_path):
    path = tmp_path / "many.db"
    with HistoryStore(path) as store:
        for number in range(copying.BATCH_RUNS + 5):
            save(store, f"run-{number:03}", f"2025-03-01T11:{number // 60:02}:{number % 60:02}Z")
    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pytest_enterprise.cli.main", "history", "copy", "--from", str(path), "--to",
             str(tmp_path / "copy.db")],
            stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=120, check=False,
        )  # fmt: skip
        os.close(secondary)
        shown = os.read(primary, 4096).decode()
    finally:
        os.close(primary)
    assert result.returncode == 0 and result.stdout.startswith("copied 105 runs, 0 events")
    assert shown == "\rcopied 100/105 runs\rcopied 105/105 runs\r\n"  # the terminal turns \n into \r\n
