"""Wrap an existing quality-gate engine so every gate decision becomes Six Sigma telemetry.

Duck-typed: any method of the wrapped engine whose result has ``passed`` and ``violations``
is a gate call. Each such call records one unit and one defect per violation, then hands the
engine's result back unchanged. A unit with a violation is not a first-pass unit, even when the
engine let it through (a defect is a defect; see docs/telemetry.md). Everything else passes straight through.
"""

from __future__ import annotations

import functools
from typing import Any

from ..model import DEFAULT_SEVERITY, SEVERITIES
from ..quality.telemetry import SixSigmaTelemetry

__all__ = ["DEFAULT_PROCESS", "EnterpriseAnalyzerIntegration", "wrap_policy_engine"]

DEFAULT_PROCESS = "analyzer_quality_gates"


class EnterpriseAnalyzerIntegration:
    def __init__(self, telemetry: SixSigmaTelemetry | None = None, *, process_name: str = DEFAULT_PROCESS) -> None:
        self.telemetry = telemetry if telemetry is not None else SixSigmaTelemetry(process_name)

    def wrap_policy_engine(self, engine: Any) -> Any:
        return _GateRecordingProxy(engine, self)

    def record_gate_result(self, result: Any) -> Any:
        """Record one gate decision; returns ``result`` unchanged."""
        violations = list(result.violations or ())
        # Recorded as failed, the unit takes the violations that follow as its own defects.
        self.telemetry.record_unit_processed(passed=bool(result.passed) and not violations)
        for violation in violations:
            self.telemetry.record_defect(
                _violation_type(violation),
                _field(violation, "message"),
                severity=_severity(violation),
                category=_field(violation, "category"),
            )
        return result


def wrap_policy_engine(engine: Any, telemetry: SixSigmaTelemetry | None = None) -> Any:
    """``EnterpriseAnalyzerIntegration(telemetry).wrap_policy_engine(engine)`` in one call."""
    return EnterpriseAnalyzerIntegration(telemetry).wrap_policy_engine(engine)


class _GateRecordingProxy:
    def __init__(self, engine: Any, integration: EnterpriseAnalyzerIntegration) -> None:
        object.__setattr__(self, "_engine", engine)
        object.__setattr__(self, "_integration", integration)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._engine, name)
        if not callable(attribute):
            return attribute
        integration = self._integration

        @functools.wraps(attribute)
        def gate_call(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            if _is_gate_result(result):
                integration.record_gate_result(result)
            return result

        return gate_call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._engine, name, value)

    def __repr__(self) -> str:
        return f"<telemetry-recording {self._engine!r}>"


def _is_gate_result(result: Any) -> bool:
    return hasattr(result, "passed") and hasattr(result, "violations")


def _field(violation: Any, name: str) -> Any:
    if isinstance(violation, dict):
        return violation.get(name)
    return getattr(violation, name, None)


def _violation_type(violation: Any) -> str:
    for name in ("type", "rule", "rule_id", "id", "code"):
        value = _field(violation, name)
        if value:
            return str(value)
    return type(violation).__name__ if not isinstance(violation, str) else violation


def _severity(violation: Any) -> str:
    severity = _field(violation, "severity")
    if isinstance(severity, str) and severity.lower() in SEVERITIES:
        return severity.lower()
    return DEFAULT_SEVERITY
