"""Turns pytest test reports into ``TestResult`` records.

This is the only per-test code path, so it does as little as possible: a dict lookup, a small
dataclass append and a few string comparisons per report. It duck-types reports and never
imports pytest, so it can be driven by fakes in tests.

Attempts are keyed on ``(nodeid, attempt)``: a ``setup`` report opens a new attempt. That holds
for pytest-rerunfailures (each rerun runs setup again) and for xdist (all reports of an item
come from one worker, in order). A crashed xdist worker shows up as a report whose ``when`` is
``"???"``; it closes the current attempt as ``crashed``.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from .model import COLLECTION, Attempt, Phase, Subtest, TestResult
from .redact import redact_text
from .timeutil import rfc3339

META_ATTRIBUTE = "enterprise_meta"
"""Report attribute carrying marker facts from an xdist worker; plain builtins only."""

_EXCEPTION_NAME = re.compile(r"([A-Za-z_][\w.]*)(?::|$)")
_MESSAGE_LIMIT = 300
DETAILS_LIMIT = 20_000
# (key in Attempt.details, attribute of pytest's TestReport)
_DETAIL_ATTRIBUTES = (("traceback", "longreprtext"), ("stdout", "capstdout"), ("stderr", "capstderr"), ("log", "caplog"))
_DEFECTS = ("failed", "error", "crashed")


class Recorder:
    """Accumulates the results of one run, keyed by nodeid, in arrival order."""

    def __init__(self, meta: dict[str, dict[str, Any]] | None = None) -> None:
        self.tests: dict[str, TestResult] = {}
        # Marker facts computed at collection time (no xdist, or on the worker itself).
        self.meta = meta if meta is not None else {}

    def record(self, report: Any) -> None:
        nodeid = report.nodeid
        when = report.when
        test = self.tests.get(nodeid)
        if test is None or when == "setup":
            test = self._start(report, test)
        attempt = test.attempts[-1]
        if type(report).__name__ == "SubtestReport" and hasattr(report, "context"):
            if not attempt.subtests:
                attempt.subtests = []
            attempt.subtests.append(_subtest(report))
            return
        outcome = report.outcome
        if outcome == "rerun":
            outcome = "failed"
        # To the microsecond: plenty, and short floats keep the JSON report small. As
        # round(d, 6) but without its decimal conversion, a third of the cost; the two differ
        # (by one microsecond) only within a rounding error of a half microsecond.
        duration = report.duration
        try:
            duration = round(duration * 1e6) / 1e6
        except (OverflowError, ValueError):  # inf, nan: kept as they are, as round(d, 6) does
            pass
        attempt.add_phase("crash" if when == "???" else when, outcome, duration)
        if outcome != "passed":
            _update_attempt(attempt, when, outcome, report)
        elif when == "call" and hasattr(report, "wasxfail"):
            attempt.outcome = "xpassed"
        # (a passed setup or teardown changes nothing)

    def record_collection_error(self, report: Any) -> bool:
        """Count a failed collect report as a unit with one defect (category ``collection``).

        The unit is the collector (usually a module): its tests were never known, so it stands
        for them. Under xdist every worker collects the whole suite, so the same error can come
        more than once; it is counted once per nodeid. Returns True when it was new.
        """
        nodeid = report.nodeid or "."  # the session itself has an empty nodeid
        if nodeid in self.tests:
            return False
        message, exception_type = describe_collection_error(report.longrepr)
        duration = getattr(report, "duration", 0.0) or 0.0
        attempt = Attempt(
            number=1,
            outcome="error",
            phases=[Phase("collect", "failed", round(duration, 6))],
            category=COLLECTION,
            exception_type=exception_type,
            message=message,
        )
        self.tests[nodeid] = TestResult(nodeid=nodeid, attempts=[attempt], worker=_worker_id(report))
        return True

    def _start(self, report: Any, test: TestResult | None) -> TestResult:
        """The test of a setup report (a new attempt when it is a rerun), or of a first report
        that is not a setup (a crashed xdist worker)."""
        if test is None:
            # Built holding its first attempt: a list made by appending is over-allocated.
            first = Attempt(number=1, outcome="passed")
            # Only a report from an xdist worker has a node.
            worker = None if getattr(report, "node", None) is None else _worker_id(report)
            test = self.tests[report.nodeid] = TestResult(nodeid=report.nodeid, attempts=[first], worker=worker)
            meta = self.meta.get(report.nodeid)
            if meta:
                _apply_meta(test, meta)
        else:
            test.attempts.append(Attempt(number=len(test.attempts) + 1, outcome="passed"))
        if report.when == "setup":
            meta = getattr(report, META_ATTRIBUTE, None)
            if meta:
                _apply_meta(test, meta)
            if test.markers is not None and "controls" in test.markers:
                test.started_at = _timestamp(getattr(report, "start", None))
        return test

    def results(self) -> list[TestResult]:
        return list(self.tests.values())


def _update_attempt(attempt: Attempt, when: str, outcome: str, report: Any) -> None:
    """A report that did not pass: what it makes of the attempt."""
    if outcome == "skipped":
        if attempt.outcome not in _DEFECTS:
            attempt.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        return
    # A failed report.
    if when == "???":
        _mark_defect(attempt, "crashed", "crash", report)
    elif when == "call":
        longrepr = report.longrepr
        if isinstance(longrepr, str) and longrepr.startswith("[XPASS(strict)]"):
            _mark_defect(attempt, "failed", "xpass-strict", report)
        else:
            _mark_defect(attempt, "failed", "failure", report)
    elif attempt.outcome not in _DEFECTS:
        # Setup or teardown: infrastructure, not product. A call failure already recorded
        # stays the attempt's category.
        _mark_defect(attempt, "error", "error", report)


def _mark_defect(attempt: Attempt, outcome: str, category: str, report: Any) -> None:
    attempt.outcome = outcome
    attempt.category = category
    attempt.message, attempt.exception_type = _describe_failure(report.longrepr)
    attempt.details = failure_details(report)


def failure_details(report: Any) -> dict[str, str] | None:
    """The full text pytest reported for a failure (its traceback, and the stdout, stderr and
    log it captured), each redacted and cut to ``DETAILS_LIMIT``; None when there is none.
    Only failing reports get here: a passing test pays nothing."""
    details = {}
    for key, attribute in _DETAIL_ATTRIBUTES:
        try:
            text = getattr(report, attribute, "")
        except Exception:  # a plugin's odd longrepr: the message above still says what failed
            continue
        if isinstance(text, str) and text.strip():
            details[key] = _cut(redact_text(text))
    return details or None


def _cut(text: str) -> str:
    """At most ``DETAILS_LIMIT`` characters: the start and the end (where a traceback says
    what failed), and how much was left out between them."""
    if len(text) <= DETAILS_LIMIT:
        return text
    head = DETAILS_LIMIT // 4
    tail = DETAILS_LIMIT - head
    return f"{text[:head]}\n… {len(text) - DETAILS_LIMIT:,} characters left out …\n{text[-tail:]}"


def _describe_failure(longrepr: Any) -> tuple[str | None, str | None]:
    """The first line of the failure and the exception's type name, when one is visible."""
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    elif longrepr is None:
        return None, None
    else:
        text = str(longrepr)
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    exception_type = None
    if crash is not None:
        match = _EXCEPTION_NAME.match(first_line)
        # pytest drops the "AssertionError: " prefix of a rewritten assert ("assert 1 == 2").
        exception_type = match.group(1) if match else "AssertionError"
    return first_line[:_MESSAGE_LIMIT] or None, exception_type


def describe_collection_error(longrepr: Any) -> tuple[str | None, str | None]:
    """The exception line of a collection error (pytest's last ``E   Name: ...`` line) and
    its type, else the first line of the text."""
    text = str(longrepr) if longrepr is not None else ""
    lines = text.strip().splitlines()
    for line in reversed(lines):
        if not line.startswith("E   "):
            continue
        content = line[4:]
        match = _EXCEPTION_NAME.match(content)
        if match and not content.startswith(" "):
            return content.strip()[:_MESSAGE_LIMIT], match.group(1)
    first = lines[0].strip() if lines else ""
    return first[:_MESSAGE_LIMIT] or None, None


def _subtest(report: Any) -> Subtest:
    outcome = "failed" if report.failed else report.outcome
    # pytest's own wording, as its terminal shows it; its kwargs are already reprs from 9.2 on,
    # so formatting them ourselves would quote them twice.
    describe = getattr(report, "_sub_test_description", None)
    if callable(describe):
        return Subtest(description=describe(), outcome=outcome)
    context = report.context
    parts = []
    if getattr(context, "msg", None):
        parts.append(f"[{context.msg}]")
    kwargs = getattr(context, "kwargs", None)
    if kwargs:
        parts.append("(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")
    return Subtest(description=" ".join(parts), outcome=outcome)


def _timestamp(epoch: float | None) -> str | None:
    """RFC 3339 of a report's ``start`` (pytest >= 8 sets it; 0 or absent means unknown)."""
    if not epoch:
        return None
    second = int(epoch)
    micro = round((epoch - second) * 1e6)  # as datetime.fromtimestamp rounds
    if micro >= 1_000_000:
        return rfc3339(datetime.fromtimestamp(epoch, timezone.utc))
    prefix = _SECONDS.get(second)
    if prefix is None:  # most tests start within a second of another: format that once
        _SECONDS.clear()
        prefix = _SECONDS[second] = rfc3339(datetime.fromtimestamp(second, timezone.utc))[:-5]
    return f"{prefix}.{micro // 1000:03d}Z"


_SECONDS: dict[int, str] = {}


def _worker_id(report: Any) -> str | None:
    node = getattr(report, "node", None)
    gateway = getattr(node, "gateway", None)
    return getattr(gateway, "id", None)


def _apply_meta(test: TestResult, meta: dict[str, Any]) -> None:
    test.severity = meta.get("severity", test.severity)
    test.opportunities = meta.get("opportunities", test.opportunities)
    test.stage = meta.get("stage", test.stage)
    test.markers = meta.get("markers", test.markers)
