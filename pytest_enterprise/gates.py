"""Quality gates: limits on a run's metrics that decide whether the pipeline may go on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Gate:
    """A limit on one metric. ``fail_when`` is ``"above"`` or ``"below"`` the limit."""

    metric: str
    label: str
    limit: float
    fail_when: str
    source: str


@dataclass(frozen=True)
class GateResult:
    gate: Gate
    actual: float | None
    status: str  # "passed", "failed" or "no data"
    detail: str | None = None  # what failed, e.g. the controls named

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def describe(self) -> str:
        gate = self.gate
        suffix = f": {self.detail}" if self.detail else ""
        if self.actual is None:
            verdict = "FAILED" if self.failed else "not evaluated"
            return f"{gate.label} gate {verdict}: no data (limit {_number(gate.limit)}, {gate.source}){suffix}"
        relation = {"above": ">", "below": "<"}[gate.fail_when]
        if not self.failed:
            relation = {"above": "<=", "below": ">="}[gate.fail_when]
        verdict = "FAILED" if self.failed else "passed"
        return (
            f"{gate.label} gate {verdict}: actual {_number(self.actual)} {relation} "
            f"limit {_number(gate.limit)} ({gate.source}){suffix}"
        )

    def to_dict(self) -> dict[str, Any]:
        data = {**asdict(self.gate), "actual": self.actual, "status": self.status}
        if self.detail:
            data["detail"] = self.detail
        return data


def configured_gates(
    telemetry: Any, *, dpmo_option: float | None = None, rty_option: float | None = None
) -> list[Gate]:
    """The run's gates; a command-line limit wins over the config one."""
    gates = []
    if dpmo_option is not None:
        gates.append(Gate("dpmo", "DPMO", dpmo_option, "above", "--enterprise-dpmo-fail-above"))
    elif telemetry.dpmo_threshold is not None:
        gates.append(Gate("dpmo", "DPMO", telemetry.dpmo_threshold, "above", "telemetry.dpmo_threshold"))
    if rty_option is not None:
        gates.append(Gate("rty", "RTY %", rty_option, "below", "--enterprise-rty-fail-under"))
    elif telemetry.rty_threshold is not None:
        gates.append(Gate("rty", "RTY %", telemetry.rty_threshold, "below", "telemetry.rty_threshold"))
    return gates


def evaluate(gates: list[Gate], quality: Mapping[str, Any]) -> list[GateResult]:
    results = []
    for gate in gates:
        actual = quality.get(gate.metric)
        if actual is None:
            status = "no data"
        elif (gate.fail_when == "above" and actual > gate.limit) or (
            gate.fail_when == "below" and actual < gate.limit
        ):
            status = "failed"
        else:
            status = "passed"
        results.append(GateResult(gate, actual, status))
    return results


def _number(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
