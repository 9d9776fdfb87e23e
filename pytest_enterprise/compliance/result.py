"""What a compliance roll-up produces: plain data that every view and export reads.

``ComplianceResult.to_dict()`` is the ``compliance`` section of the JSON report and the input of
every export (CSV, XLSX, Markdown, OSCAL), so they can never disagree with each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Control states, in the order a reader wants them (docs/compliance.md).
PASSED = "passed"
FAILED = "failed"
ERROR = "error"
NOT_REVIEWED = "not_reviewed"  # tests exist, all skipped
NOT_APPLICABLE = "not_applicable"
WAIVED = "waived"
ATTESTED = "attested"  # manual evidence of compliance
NOT_TESTED = "not_tested"  # no evidence of any kind
STATES = (PASSED, FAILED, ERROR, NOT_REVIEWED, NOT_APPLICABLE, WAIVED, ATTESTED, NOT_TESTED)

COMPLIANT_STATES = frozenset({PASSED, ATTESTED})
ASSESSED_STATES = frozenset({PASSED, ATTESTED, FAILED, ERROR, NOT_REVIEWED})
NEGATIVE_STATES = frozenset({FAILED, ERROR})

LABELS = {
    "percent_compliant": "% compliant = compliant (passed or attested) / assessed "
    "(passed, attested, failed, error, not_reviewed)",
    "coverage": "coverage = controls with any evidence / in-scope controls",
    "overall_status": "overall status = compliant / applicable in-scope controls "
    "(in scope minus not_applicable)",
}


@dataclass(frozen=True)
class Ratio:
    """A labelled percentage that keeps its counts, so a reader can recompute it."""

    name: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        if self.denominator == 0:
            return None  # "no data", never 0% or 100%
        return round(100.0 * self.numerator / self.denominator, 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "label": LABELS[self.name],
        }


@dataclass
class ControlResult:
    framework: str
    id: str
    title: str
    family: str
    state: str
    reason: str
    # What the tests alone said, before a waiver or manual status decided (None: no tests).
    test_state: str | None = None
    tests: list[dict[str, Any]] = field(default_factory=list)
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None
    expired: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "family": self.family,
            "state": self.state,
            "reason": self.reason,
            "test_state": self.test_state,
            "tests": self.tests,
            "waiver": self.waiver,
            "attestation": self.attestation,
            "expired": self.expired,
        }


@dataclass
class FrameworkResult:
    framework: str  # as configured, e.g. "soc2-type2"
    catalog: str  # catalog id, e.g. "soc2"
    name: str
    version: str
    controls: list[ControlResult]
    # Why this run's evidence is incomplete (modules that failed to collect, an interruption):
    # any control may have had tests there, so every framework says so (docs/compliance.md).
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATES, 0)
        for control in self.controls:
            counts[control.state] += 1
        return counts

    @property
    def in_scope(self) -> int:
        return len(self.controls)

    def ratios(self) -> dict[str, Ratio]:
        counts = self.counts()
        compliant = sum(counts[s] for s in COMPLIANT_STATES)
        assessed = sum(counts[s] for s in ASSESSED_STATES)
        return {
            "percent_compliant": Ratio("percent_compliant", compliant, assessed),
            "coverage": Ratio("coverage", self.in_scope - counts[NOT_TESTED], self.in_scope),
            "overall_status": Ratio(
                "overall_status", compliant, self.in_scope - counts[NOT_APPLICABLE]
            ),
        }

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        ratios = self.ratios()
        return {
            "framework": self.framework,
            "catalog": self.catalog,
            "name": self.name,
            "version": self.version,
            "in_scope": self.in_scope,
            "counts": counts,
            "compliant": ratios["percent_compliant"].numerator,
            "assessed": ratios["percent_compliant"].denominator,
            **{name: ratio.to_dict() for name, ratio in ratios.items()},
            "evidence_complete": not self.notes,
            "notes": self.notes,
            "controls": [control.to_dict() for control in self.controls],
        }


@dataclass
class ComplianceResult:
    generated_at: str
    run: dict[str, Any] | None  # id, started_at, finished_at, git_commit; None: no run yet
    frameworks: list[FrameworkResult]
    waivers: list[dict[str, Any]] = field(default_factory=list)
    attestations: list[dict[str, Any]] = field(default_factory=list)
    # Tests tied to frameworks that are not in scope: kept, so nothing is silently dropped.
    unscoped: list[dict[str, Any]] = field(default_factory=list)

    def framework(self, name: str) -> FrameworkResult:
        for result in self.frameworks:
            if name in (result.framework, result.catalog):
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "run": self.run,
            "rules": "docs/compliance.md",
            "frameworks": [framework.to_dict() for framework in self.frameworks],
            "waivers": self.waivers,
            "attestations": self.attestations,
            "unscoped": self.unscoped,
        }
