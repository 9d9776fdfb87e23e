"""The guide's Python API: ``ComplianceMatrix`` over a project's config, store and latest run.

    matrix = ComplianceMatrix(Path.cwd())
    matrix.add_framework(ComplianceFramework.SOC2_TYPE2)
    matrix.update_control_status(control_id="CC6.1", status=ComplianceStatus.COMPLIANT,
                                 evidence_path=Path("evidence/mfa.md"), notes="MFA implemented")
    report = matrix.generate_compliance_report(ComplianceFramework.SOC2_TYPE2)
    print(f"{report.overall_status:.1f}% ({report.compliant_controls}/{report.total_controls})")

Results come from the same roll-up as the pytest plugin (``rollup.py``): the latest run in the
project's history store, its waivers and attestations, and the manual statuses recorded here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..timeutil import rfc3339, utc_now

if TYPE_CHECKING:
    from ..store.location import StoreLocation


class ComplianceFramework(str, Enum):
    SOC2_TYPE2 = "soc2-type2"
    SOC2 = "soc2"
    ISO27001 = "iso27001"
    NIST_CSF = "nist-csf"
    GDPR = "gdpr"


class ComplianceStatus(str, Enum):
    """A manual status for one control (``update_control_status``)."""

    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    PARTIALLY_COMPLIANT = "partially_compliant"  # counts as not compliant
    NOT_APPLICABLE = "not_applicable"
    NOT_ASSESSED = "not_assessed"  # withdraws an earlier manual status

    @classmethod
    def coerce(cls, value: ComplianceStatus | str) -> ComplianceStatus:
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(text)
        except ValueError:
            choices = ", ".join(status.value for status in cls)
            raise UsageError(f"unknown compliance status {value!r}; expected one of {choices}") from None


@dataclass(frozen=True)
class FrameworkReport:
    """One framework's numbers, each with its counts; ``controls`` holds every in-scope control.

    ``overall_status`` is the guide's number: compliant / applicable in-scope controls, in
    percent (NaN when every control is not applicable). ``percent_compliant`` and ``coverage``
    are None when there is nothing to divide by: "no data", never 0 or 100.
    """

    framework: str
    name: str
    version: str
    overall_status: float
    compliant_controls: int
    total_controls: int
    percent_compliant: float | None
    assessed_controls: int
    coverage: float | None
    controls_with_evidence: int
    in_scope_controls: int
    counts: dict[str, int]
    labels: dict[str, str]
    controls: list[dict[str, Any]] = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameworkReport:
        overall = data["overall_status"]
        return cls(
            framework=data["framework"],
            name=data["name"],
            version=data["version"],
            overall_status=math.nan if overall["value"] is None else overall["value"],
            compliant_controls=overall["numerator"],
            total_controls=overall["denominator"],
            percent_compliant=data["percent_compliant"]["value"],
            assessed_controls=data["percent_compliant"]["denominator"],
            coverage=data["coverage"]["value"],
            controls_with_evidence=data["coverage"]["numerator"],
            in_scope_controls=data["in_scope"],
            counts=dict(data["counts"]),
            labels={name: data[name]["label"] for name in ("percent_compliant", "coverage", "overall_status")},
            controls=data["controls"],
        )


class ComplianceMatrix:
    """Compliance of one project: its config (``enterprise-config.yaml`` in ``project_root``),
    its history store, and the frameworks added here (else those of the config)."""

    def __init__(
        self,
        project_root: Path | str = ".",
        *,
        config: Any = None,
        store_path: Path | str | StoreLocation | None = None,
        actor: str | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        from ..config import EnterpriseConfig
        from ..history_location import config_base, history_location

        self.project_root = Path(project_root).resolve()
        self.config = config if config is not None else EnterpriseConfig.load(None, rootdir=self.project_root)
        self.base = config_base(self.config, self.project_root)
        # ``store_path`` takes a file path (relative to the current directory), a
        # postgresql:// URL or a StoreLocation; else the project's configured store.
        self.store_location = history_location(self.config, self.project_root, store_path, option="store_path")
        self.actor = actor
        self.clock = clock
        self._frameworks: list[str] = []

    @property
    def store_path(self) -> Path | None:
        """The store's SQLite file (None on PostgreSQL); messages name the store by
        ``store_location.display``."""
        return self.store_location.path

    @property
    def frameworks(self) -> list[str]:
        return [scoped.name for scoped in self.context().scope]

    def add_framework(self, framework: ComplianceFramework | str) -> None:
        name = framework.value if isinstance(framework, ComplianceFramework) else str(framework)
        if name not in self._frameworks:
            candidate = self._frameworks + [name]
            self.context(candidate).scope  # noqa: B018 - validates the name now, not at report time
            self._frameworks = candidate

    def context(self, frameworks: list[str] | None = None) -> Any:
        from .context import ComplianceContext

        chosen = frameworks if frameworks is not None else self._frameworks
        return ComplianceContext(self.config.compliance, self.base, chosen or None)

    def update_control_status(
        self,
        control_id: str,
        status: ComplianceStatus | str,
        evidence_path: Path | str | None = None,
        notes: str = "",
        *,
        expires: datetime | None = None,
        actor: str | None = None,
    ) -> Any:
        """Record a manual status in the project's store, audited with who and when.

        ``evidence_path`` is a local file (relative to the project root; its SHA-256 is kept)
        or an http(s) URL. Returns the ``ControlStatusChange`` as stored.
        """
        from ..audit import default_actor
        from ..store import open_store
        from ..store.sqlite import ControlStatusChange
        from .evidence_files import evidence_digest

        chosen = ComplianceStatus.coerce(status)
        now = self.clock()
        if expires is not None:
            # Compare as UTC text (rfc3339 reads a naive time as UTC): no naive/aware mix-up.
            if rfc3339(expires) <= rfc3339(now):
                raise UsageError(
                    f"expires {rfc3339(expires)} is in the past (now {rfc3339(now)}): a status"
                    " that has already lapsed would never count; give a future date"
                )
        ref = self.context().resolver.resolve(control_id)
        evidence = digest = None
        if evidence_path is not None:
            evidence = str(evidence_path)
            _, digest = evidence_digest(evidence, self.project_root, where="evidence")
        change = ControlStatusChange(
            framework=ref.framework,
            control_id=ref.control_id,
            status=chosen.value,
            previous_status=None,
            notes=notes,
            evidence=evidence,
            evidence_sha256=digest,
            expires_at=rfc3339(expires) if expires is not None else None,
            actor=actor or self.actor or default_actor(),
            recorded_at=rfc3339(now),
        )
        with open_store(self.store_location) as store:
            return store.record_control_status(change)

    def assess(self, frameworks: list[str] | None = None) -> Any:
        """The ``ComplianceResult`` of the latest stored run with today's manual evidence."""
        from ..store import open_store
        from .context import run_facts

        context = self.context(frameworks)
        with open_store(self.store_location) as store:
            record = latest_complete_run(store, self.config.telemetry.process_name)
            manual = context.manual_statuses(store.control_statuses())
        tests = record.tests if record is not None else []
        run = run_facts(record) if record is not None else None
        return context.roll_up(tests, run=run, manual=manual, now=self.clock())

    def generate_compliance_report(self, framework: ComplianceFramework | str) -> FrameworkReport:
        name = framework.value if isinstance(framework, ComplianceFramework) else str(framework)
        result = self.assess([name])
        return FrameworkReport.from_dict(result.frameworks[0].to_dict())

    def export(self, path: Path | str, fmt: str | None = None) -> Path:
        from .. import __version__
        from .export import export

        return export(self.assess().to_dict(), Path(path), fmt, tool_version=__version__)


def latest_complete_run(store: Any, process: str, scan: int = 50) -> Any:
    """The newest run of ``process`` that was not interrupted (a collection error or Ctrl-C
    leaves a run that tested little: it must not stand as the project's compliance evidence)."""
    for summary in store.recent_runs(process, limit=scan):
        if not summary.interrupted:
            return store.load_run(summary.id)
    return None


