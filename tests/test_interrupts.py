"""SIGINT and SIGTERM at any time: the run is recorded as interrupted, with pytest's status 2."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from pytest_enterprise.interrupts import Signals
from pytest_enterprise.store.sqlite import HistoryStore

BOUND_S = 90  # generous: the machine running the suite may be busy

SLEEPER = """
import time
from pathlib import Path

def test_first():
    pass

def test_sleeps():
    Path("started").write_text("yes")
    time.sleep(120)  # the signal arrives long before this ends
"""


def _stored(pytester: pytest.Pytester):
    with HistoryStore(pytester.path / ".enterprise" / "history.db") as store:
        (summary,) = store.recent_runs()
        return summary


def _signal_a_sleeping_run(pytester: pytest.Pytester, signum: int, *extra: str) -> tuple[int, str]:
    pytester.makepyfile(test_sleep=SLEEPER)
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", "--enterprise-report",
            "--enterprise-json=report.json", *extra]  # fmt: skip
    process = pytester.popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        started = pytester.path / "started"
        deadline = time.monotonic() + BOUND_S
        while not started.exists():
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the test never started"
            time.sleep(0.05)
        process.send_signal(signum)
        output, _ = process.communicate(timeout=BOUND_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, output.decode()


@pytest.mark.parametrize(
    ("signum", "workers", "reason"),
    [
        (signal.SIGINT, 0, "KeyboardInterrupt"),
        (signal.SIGINT, 2, "KeyboardInterrupt"),
        (signal.SIGTERM, 0, "SIGTERM"),
    ],
    ids=["SIGINT", "SIGINT-xdist", "SIGTERM"],
)
def test_a_signal_during_a_test_records_an_interrupted_run(pytester, signum, workers, reason):
    extra = ("-n", str(workers)) if workers else ()
    code, output = _signal_a_sleeping_run(pytester, signum, *extra)
    assert code == 2, output
    assert "Traceback" not in output
    run = json.loads((pytester.path / "report.json").read_text())["run"]
    assert (run["interrupted"], run["exit_status"], run["interrupt_reason"]) == (True, 2, reason)
    assert run["evidence_complete"] is False
    stored = _stored(pytester)
    assert (stored.interrupted, stored.exit_status) == (True, 2)
    assert f"run interrupted ({reason})" in output


SIGNAL_IN_FINISH = """
import os
import signal

sent = []

def {hook}(config, **kwargs):
    if not sent:  # once: a second signal would mean "stop now"
        sent.append(True)
        os.kill(os.getpid(), signal.{name})
"""


@pytest.mark.parametrize(
    ("name", "hook"),
    [("SIGINT", "pytest_enterprise_extend_report"), ("SIGTERM", "pytest_enterprise_run_finished")],
)
def test_a_signal_during_session_finish_is_held_until_the_evidence_is_written(pytester, name, hook):
    pytester.makeconftest(SIGNAL_IN_FINISH.format(hook=hook, name=name))
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:randomly", "--enterprise-report", "--enterprise-json=report.json"
    )
    assert result.ret == 2
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    report = json.loads((pytester.path / "report.json").read_text())
    run = report["run"]
    assert (run["interrupted"], run["exit_status"]) == (True, 2)
    assert run["interrupt_reason"] == f"{name} during session finish"
    assert [t["outcome"] for t in report["tests"]] == ["passed"]  # what ran is all kept
    stored = _stored(pytester)  # one row, marked, even when the signal came after the first write
    assert (stored.interrupted, stored.exit_status) == (True, 2)
    result.stdout.fnmatch_lines([f"run interrupted ({name} during session finish)*"])


def test_sigterm_is_handled_only_when_nobody_else_does():
    original = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        ours = Signals()
        ours.install()
        assert signal.getsignal(signal.SIGTERM) == ours._on_sigterm
        with pytest.raises(KeyboardInterrupt):
            ours._on_sigterm(signal.SIGTERM, None)
        assert ours.terminated
        ours.close()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

        def theirs(signum, frame):
            pass

        signal.signal(signal.SIGTERM, theirs)
        polite = Signals()
        polite.install()
        assert signal.getsignal(signal.SIGTERM) is theirs
        polite.close()
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, original)


def test_while_deferring_the_first_signal_is_held_and_the_second_stops():
    before = signal.getsignal(signal.SIGINT)
    held = Signals()
    held.defer()
    try:
        assert held.pending() is None
        held._on_sigint(signal.SIGINT, None)
        assert held.pending() == "SIGINT during session finish"
        with pytest.raises(KeyboardInterrupt):
            held._on_sigint(signal.SIGINT, None)
    finally:
        held.close()
    assert signal.getsignal(signal.SIGINT) is before

