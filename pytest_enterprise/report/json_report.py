"""The JSON report: the contract later capabilities extend, described by report.schema.json."""

from __future__ import annotations

from dataclasses import asdict
from importlib import resources
from typing import Any

from .. import __version__
from ..model import RunRecord, TestResult

SCHEMA_VERSION = "1.0.0"
TOOL_NAME = "pytest-enterprise"


def build_report(
    record: RunRecord,
    quality: dict[str, Any],
    gates: list[Any],
    history: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "run": run_section(record),
        "quality": quality,
        "gates": [gate.to_dict() for gate in gates],
        "history": history,
        "tests": [result_section(test) for test in record.tests],
    }


def run_section(record: RunRecord) -> dict[str, Any]:
    run = record.run
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
        "xdist_workers": run.workers,
    }


def result_section(test: TestResult) -> dict[str, Any]:
    final = test.attempts[-1] if test.attempts else None
    return {
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
        "markers": test.markers,
        "worker": test.worker,
        "attempts": [
            {
                "number": attempt.number,
                "outcome": attempt.outcome,
                "duration_s": attempt.duration,
                "category": attempt.category,
                "exception_type": attempt.exception_type,
                "message": attempt.message,
                "phases": [phase.to_dict() for phase in attempt.phases],
                "subtests": [subtest.to_dict() for subtest in attempt.subtests],
            }
            for attempt in test.attempts
        ],
    }




def load_schema() -> dict[str, Any]:
    import json

    text = resources.files("pytest_enterprise.report").joinpath("schema/report.schema.json").read_text("utf-8")
    return json.loads(text)
