"""The JSON report: the contract later capabilities extend, described by report.schema.json."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from importlib import resources
from typing import Any

from .. import __version__
from ..model import (
    Attempt,
    GitInfo,
    OpportunityDefinition,
    Phase,
    RunInfo,
    RunRecord,
    Subtest,
    TestResult,
    evidence_gaps,
)
from .test_encoder import TestEncoder

SCHEMA_VERSION = "1.0.0"
TOOL_NAME = "pytest-enterprise"

# One encoder, reused: json.dumps with options builds a new one per call. Compact on purpose:
# with ``indent``, json falls back to its pure-Python encoder (~0.4 s for 5,000 tests).
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def report_header(
    record: RunRecord,
    quality: dict[str, Any],
    gates: list[Any],
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report but its ``tests`` list, which ``report_chunks`` streams."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "run": run_section(record),
        "quality": quality,
        "gates": [gate.to_dict() for gate in gates],
        "history": history,
    }


def build_report(
    record: RunRecord,
    quality: dict[str, Any],
    gates: list[Any],
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report as one dict (for the CLI and tests; the plugin streams it instead)."""
    report = report_header(record, quality, gates, history)
    report["tests"] = [result_section(test) for test in record.tests]
    return report


def report_chunks(
    header: dict[str, Any],
    tests: Iterable[TestResult],
    section: Callable[[TestResult], dict[str, Any]] | None = None,
) -> Iterator[str]:
    """The report's compact JSON text in pieces: the header, then the tests, a few hundred
    at a time.

    No dict or string of the whole report is ever built, so memory stays flat however many
    tests ran; a piece per batch, not per test, spares the writer and the compressor a call
    per test. The ``tests`` key comes last. ``section`` replaces ``result_section`` (a merge
    adds each test's environment).
    """
    encode_test = TestEncoder(section or result_section, _ENCODER.encode)  # the same text, faster
    head = _ENCODER.encode(header)
    yield head[:-1] + ',"tests":['
    separator = ""
    batch: list[str] = []
    for test in tests:
        batch.append(encode_test(test))
        if len(batch) == _TESTS_PER_PIECE:
            yield separator + ",".join(batch)
            separator, batch = ",", []
    if batch:
        yield separator + ",".join(batch)
    yield "]}"


_TESTS_PER_PIECE = 256


def run_section(record: RunRecord) -> dict[str, Any]:
    run = record.run
    gaps = evidence_gaps(run)
    return {
        "id": run.id,
        "process": run.process,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_s": run.duration_s,
        "exit_status": run.exit_status,
        "interrupted": run.interrupted,
        "pytest_args": run.args,
        "python": run.python,
        "platform": run.platform,
        "git": asdict(run.git) if run.git else None,
        "ci_job_url": run.ci_job_url,
        "environment": run.environment,
        "xdist_workers": run.workers,
        "deselected": run.deselected,
        "opportunity_counting": asdict(record.opportunity_definition),
        "stages": record.stages,
        "interrupt_reason": run.interrupt_reason,
        "collection_errors": run.collection_errors,
        # Derived, for a reader who must know before trusting what the report does not show.
        "evidence_complete": not gaps,
        "evidence_gaps": gaps,
    }


def _details(attempt: Any) -> dict[str, Any]:
    # Only a failed attempt has them: every other test's JSON stays as it was.
    details = getattr(attempt, "details", None)
    return {"details": details} if details else {}


def result_section(test: TestResult) -> dict[str, Any]:
    final = test.attempts[-1] if test.attempts else None
    section = {
        "nodeid": test.nodeid,
        "outcome": test.outcome,
        "unit": test.is_unit,
        "defect": bool(final and final.is_defect),
        "flaky": test.flaky,
        "category": final.category if final else None,
        "exception_type": final.exception_type if final else None,
        "severity": test.severity,
        "opportunities": test.opportunities,
        "stage": test.stage,
        "markers": test.markers or {},
        "worker": test.worker,
        "attempts": [
            {
                "number": attempt.number,
                "outcome": attempt.outcome,
                "duration_s": round(attempt.duration, 6),
                "category": attempt.category,
                "exception_type": attempt.exception_type,
                "message": attempt.message,
                "phases": attempt.phase_dicts(),
                "subtests": [subtest.to_dict() for subtest in attempt.subtests],
                **_details(attempt),
            }
            for attempt in test.attempts
        ],
    }
    if test.started_at is not None:
        section["started_at"] = test.started_at
    return section




def dumps_report(report: dict[str, Any]) -> str:
    return _ENCODER.encode(report)


def record_from_report(report: dict[str, Any]) -> RunRecord:
    """The RunRecord a report was built from (the inverse of ``build_report``)."""
    run = report["run"]
    git = run.get("git")
    info = RunInfo(
        id=run["id"],
        started_at=run["started_at"],
        finished_at=run.get("finished_at"),
        duration_s=run.get("duration_s"),
        exit_status=run.get("exit_status"),
        interrupted=run.get("interrupted", False),
        args=list(run.get("pytest_args", [])),
        python=run.get("python", ""),
        platform=run.get("platform", ""),
        git=GitInfo(**git) if git else None,
        ci_job_url=run.get("ci_job_url"),
        workers=run.get("xdist_workers", 0),
        process=run.get("process", "pytest"),
        deselected=run.get("deselected", 0),
        collection_errors=[dict(error) for error in run.get("collection_errors", [])],
        interrupt_reason=run.get("interrupt_reason"),
        environment=run.get("environment"),
    )
    tests = [
        TestResult(
            nodeid=test["nodeid"],
            attempts=[
                Attempt(
                    number=attempt["number"],
                    outcome=attempt["outcome"],
                    phases=[Phase(**phase) for phase in attempt["phases"]],
                    category=attempt.get("category"),
                    exception_type=attempt.get("exception_type"),
                    message=attempt.get("message"),
                    subtests=[Subtest(**subtest) for subtest in attempt.get("subtests", [])] or (),
                    details=attempt.get("details") or None,
                )
                for attempt in test["attempts"]
            ],
            severity=test["severity"],
            opportunities=test.get("opportunities", 1),
            stage=test.get("stage"),
            markers=test.get("markers") or None,
            worker=test.get("worker"),
            started_at=test.get("started_at"),
        )
        for test in report["tests"]
    ]
    return RunRecord(
        run=info,
        tests=tests,
        opportunity_definition=OpportunityDefinition(**run.get("opportunity_counting", {})),
        stages=run.get("stages"),
    )


def load_schema() -> dict[str, Any]:
    text = resources.files("pytest_enterprise.report").joinpath("schema/report.schema.json").read_text("utf-8")
    return json.loads(text)
