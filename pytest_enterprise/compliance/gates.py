"""Compliance gates: ``compliance.fail_under`` and ``compliance.fail_on_failed_control``."""

from __future__ import annotations

from typing import Any

from ..gates import Gate, GateResult
from .result import NEGATIVE_STATES, ComplianceResult

_SHOWN = 10  # controls named in a failed gate's message; the report lists them all


def compliance_gates(settings: Any, result: ComplianceResult) -> list[GateResult]:
    """The gate results of one roll-up under the ``compliance`` config section."""
    results = []
    if settings.fail_under is not None:
        for framework in result.frameworks:
            ratio = framework.ratios()["percent_compliant"]
            gate = Gate(
                metric=f"compliance.{framework.framework}.percent_compliant",
                label=f"{framework.framework} % compliant",
                limit=settings.fail_under,
                fail_when="below",
                source="compliance.fail_under",
            )
            if ratio.value is None:
                # No assessed control cannot show a minimum share of compliant ones.
                results.append(GateResult(gate, None, "failed", "no control was assessed"))
                continue
            failed = ratio.value < settings.fail_under
            detail = None
            if failed:
                below = [c.id for c in framework.controls if c.state in NEGATIVE_STATES or c.state == "not_reviewed"]
                detail = f"{ratio.numerator}/{ratio.denominator} compliant; not compliant: {_named(below)}"
            results.append(GateResult(gate, ratio.value, "failed" if failed else "passed", detail))
    if settings.fail_on_failed_control:
        failing = [
            f"{framework.framework} {control.id} ({control.state})"
            for framework in result.frameworks
            for control in framework.controls
            if control.state in NEGATIVE_STATES
        ]
        gate = Gate(
            metric="compliance.failed_controls",
            label="failed controls",
            limit=0,
            fail_when="above",
            source="compliance.fail_on_failed_control",
        )
        status = "failed" if failing else "passed"
        results.append(GateResult(gate, len(failing), status, _named(failing) if failing else None))
    return results


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    if len(items) > _SHOWN:
        shown += f" and {len(items) - _SHOWN} more"
    return shown or "none"
