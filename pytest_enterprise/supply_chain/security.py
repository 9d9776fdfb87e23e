"""The user guide's API: ``SupplyChainSecurity`` and its generators.

```python
security = SupplyChainSecurity(project_root, SecurityLevel.ENHANCED)
await security.sbom_generator.generate_sbom(format=SBOMFormat.CYCLONEDX_JSON, output_file=Path("sbom.json"))
attestation = await security.slsa_generator.generate_attestation(level=SLSALevel.LEVEL_1)
report = await security.generate_comprehensive_security_report()
report.risk_score, report.vulnerabilities_found      # or report["risk_score"]: it is JSON data
```

The methods are coroutines because the guide awaits them; the work runs in a thread so an event
loop is never blocked by reading the environment or the OSV database.

``generate_attestation`` returns only an attestation it wrote. A level the run cannot reach
raises ``SLSALevelUnmetError`` (exit 1) naming every unmet requirement, and an attestation that
cannot be made at all (no signing key) raises ``AttestationError`` (exit 2); nothing is written
in either case, so a caller cannot mistake a refusal for evidence.

**Risk score** (0–100, higher is worse): ``min(100, 10·critical + 7·high + 4·medium + 1·low +
2·unknown)`` over the active (not ignored) findings. Without a vulnerability database there is
no score: ``risk_score`` is None and ``risk_basis`` says why. A score is never made up.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from ..config import EnterpriseConfig
from ..errors import EnterpriseError, UsageError
from ..files import make_folder
from ..timeutil import rfc3339, utc_now
from .provenance import SlsaLevelError

__all__ = [
    "RISK_WEIGHTS",
    "Attestation",
    "AttestationError",
    "SBOMFormat",
    "SLSALevel",
    "SLSALevelUnmetError",
    "SecurityLevel",
    "SecurityReport",
    "SupplyChainSecurity",
    "risk_score",
]

RISK_WEIGHTS = {"critical": 10, "high": 7, "medium": 4, "low": 1, "unknown": 2}


class SecurityLevel(str, Enum):
    BASIC = "basic"
    STANDARD = "standard"
    ENHANCED = "enhanced"
    CRITICAL = "critical"


class SBOMFormat(str, Enum):
    CYCLONEDX_JSON = "cyclonedx-json"
    SPDX_JSON = "spdx-json"


class SLSALevel(int, Enum):
    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3
    LEVEL_4 = 4


class _Fields(dict):  # type: ignore[type-arg]
    """JSON-ready data whose keys also read as attributes (``report.risk_score``), so the
    guide's attribute access and ``json.dumps(report)`` both work on the same object."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; it has {', '.join(self)}") from None

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self})


class SecurityReport(_Fields):
    """What ``generate_comprehensive_security_report`` found: ``risk_score``,
    ``vulnerabilities_found``, ``risk_basis``, ``security_level``, ``generated_at``, ``files``,
    ``components``, ``slsa``, ``notes``, ``problems``, ``gate_failures`` and ``exit_code``."""


class Attestation(_Fields):
    """A written attestation: ``path``, ``slsa`` (the level assessment), ``problems``,
    ``gate_failures``, ``exit_code`` and ``default_file``."""


class AttestationError(EnterpriseError):
    """No attestation could be made (e.g. no signing key); ``problems`` says why (exit 2)."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class SLSALevelUnmetError(SlsaLevelError):
    """The SLSA level asked for is above what the run achieves (exit 1). ``requested`` is the
    level, ``unmet`` the refusal lines, each naming the unmet requirements and why; ``problems``
    anything else that stopped the attestation (such as a missing key)."""

    def __init__(self, requested: int, unmet: list[str], problems: list[str]) -> None:
        super().__init__("; ".join([*unmet, *problems]))
        self.requested = requested
        self.unmet = unmet
        self.problems = problems


def risk_score(counts: Mapping[str, int]) -> int:
    """The documented score from active findings per severity."""
    return min(100, sum(RISK_WEIGHTS[severity] * counts.get(severity, 0) for severity in RISK_WEIGHTS))


class SupplyChainSecurity:
    """Supply-chain artifacts of ``project_root``'s environment, at ``level``."""

    def __init__(
        self,
        project_root: str | os.PathLike[str] = ".",
        level: SecurityLevel | str = SecurityLevel.BASIC,
        *,
        config: EnterpriseConfig | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.project_root = Path(project_root).resolve()
        try:
            self.level = SecurityLevel(level)
        except ValueError:
            raise UsageError(f"unknown security level {level!r}; expected one of basic, standard, enhanced, critical") from None
        self.config = config or EnterpriseConfig.load(rootdir=self.project_root)
        base = self.config.source.parent if self.config.source else self.project_root
        self.base = base
        self.output_dir = Path(output_dir) if output_dir else base / "security-artifacts"
        self.env = os.environ if env is None else env
        self.sbom_generator = SBOMGenerator(self)
        self.slsa_generator = SLSAGenerator(self)
        self._inventory: Any = None
        self.plan_options: dict[str, Any] = {}  # e.g. key_option, database_option (the CLI's)

    def plan(self, **switches: Any) -> Any:
        from .pipeline import plan_from_config

        options = {**self.plan_options, **switches}
        return plan_from_config(self.config, self.base, level=self.level.value, env=self.env, **options)

    def inventory(self) -> Any:
        if self._inventory is None:
            from .inventory import collect_inventory

            self._inventory = collect_inventory(project_root=self.project_root)
        return self._inventory

    async def generate_comprehensive_security_report(self) -> SecurityReport:
        """Every artifact of the level, into ``output_dir``, and a summary with the risk score."""
        return await asyncio.to_thread(self._report)

    def _report(self) -> SecurityReport:
        from .pipeline import RunFacts, produce_artifacts, produce_provenance
        from .scan_report import scan_counts

        make_folder(self.output_dir, what="output folder")
        plan = self.plan()
        started = utc_now()
        artifacts = produce_artifacts(plan, project_root=self.project_root, output_dir=self.output_dir, env=self.env, inventory=self.inventory())
        if plan.provenance:
            facts = RunFacts(str(uuid.uuid4()), started, utc_now(), ("enterprise", "security", "report"))
            produce_provenance(plan, artifacts, subjects=list(artifacts.files.values()), facts=facts, output_dir=self.output_dir, env=self.env)
        report = SecurityReport(
            generated_at=rfc3339(utc_now()),
            security_level=self.level.value,
            **artifacts.section(self.output_dir),
        )
        if artifacts.scan is None:
            report.update(risk_score=None, vulnerabilities_found=None, risk_basis="no vulnerability scan: no score")
        else:
            counts = scan_counts(artifacts.scan)
            report.update(
                risk_score=risk_score(counts),
                vulnerabilities_found=len(artifacts.scan.active),
                risk_basis="min(100, 10*critical + 7*high + 4*medium + 1*low + 2*unknown) over active findings",
            )
        report["exit_code"] = artifacts.exit_code
        return report


class SBOMGenerator:
    def __init__(self, security: SupplyChainSecurity) -> None:
        self.security = security

    async def generate_sbom(
        self, format: SBOMFormat | str = SBOMFormat.CYCLONEDX_JSON, output_file: str | os.PathLike[str] | None = None
    ) -> Path:
        """Write the SBOM of the project's environment; returns its path."""
        return await asyncio.to_thread(self._generate, SBOMFormat(format).value, output_file)

    def _generate(self, format: str, output_file: Any) -> Path:
        from .pipeline import SBOM_FILES
        from .sbom import write_sbom

        security = self.security
        path = Path(output_file) if output_file else security.output_dir / SBOM_FILES[format]
        options: dict[str, Any] = {"env": security.env}
        if format == "cyclonedx-json":
            options["spec_version"] = security.config.security.cyclonedx_version
        return write_sbom(path, security.inventory(), format, **options)


class SLSAGenerator:
    def __init__(self, security: SupplyChainSecurity) -> None:
        self.security = security

    async def generate_attestation(
        self,
        level: SLSALevel | int = SLSALevel.LEVEL_1,
        output_file: str | os.PathLike[str] | None = None,
        subjects: list[str | os.PathLike[str]] | None = None,
        key: str | os.PathLike[str] | None = None,
    ) -> Attestation:
        """Signed provenance over ``subjects`` (default: the SBOM, generated if missing), as an
        ``Attestation``. A level whose requirements are unmet raises ``SLSALevelUnmetError``
        naming them; no key (or another input problem) raises ``AttestationError``. Nothing is
        written then, and a level is never written as achieved when it is not."""
        attestation = await asyncio.to_thread(self.attest, level, output_file, subjects, key)
        if attestation.gate_failures:
            raise SLSALevelUnmetError(int(level), list(attestation.gate_failures), list(attestation.problems))
        if attestation.path is None:
            problems = list(attestation.problems) or ["no attestation was written"]
            raise AttestationError("; ".join(problems), problems)
        return attestation

    def attest(
        self,
        level: SLSALevel | int = SLSALevel.LEVEL_1,
        output_file: str | os.PathLike[str] | None = None,
        subjects: list[str | os.PathLike[str]] | None = None,
        key: str | os.PathLike[str] | None = None,
    ) -> Attestation:
        """``generate_attestation`` without raising, for callers that report every outcome
        themselves: a refusal has ``path`` None, ``exit_code`` 1 or 2 and the reasons."""
        from dataclasses import replace

        from .pipeline import PROVENANCE_FILE, Artifacts, RunFacts, assess_provenance, produce_provenance

        security = self.security
        plan = replace(security.plan(key_option=str(key) if key else None), provenance=True, slsa_level=int(level), strict=True)
        artifacts = Artifacts(inventory=security.inventory())
        # Judge the level before writing anything: a refused attestation leaves no SBOM behind.
        if assess_provenance(plan, artifacts, security.env) and artifacts.slsa is not None and artifacts.slsa["met"]:
            paths = [Path(p) for p in subjects] if subjects else [security.sbom_generator._generate("cyclonedx-json", None)]
            now = utc_now()
            out_dir = Path(output_file).parent if output_file else security.output_dir
            make_folder(out_dir, what="output folder")
            facts = RunFacts(str(uuid.uuid4()), now, now, ("enterprise", "security", "slsa"))
            produce_provenance(
                plan, artifacts, subjects=paths, facts=facts, output_dir=out_dir, env=security.env,
                test_result=False, refuse_unmet=True, assessed=True,
                provenance_path=Path(output_file) if output_file else None,
            )  # fmt: skip
        written = artifacts.files.get("provenance")
        return Attestation(
            path=str(written) if written else None,
            slsa=artifacts.slsa,
            exit_code=artifacts.exit_code,
            problems=artifacts.problems,
            gate_failures=artifacts.gate_failures,
            default_file=PROVENANCE_FILE,
        )
