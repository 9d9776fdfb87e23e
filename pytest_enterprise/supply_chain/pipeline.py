"""Composition of the supply-chain layers, shared by the pytest session, ``enterprise security
report`` and the guide's ``SupplyChainSecurity``: inventory → scan → SBOM files, then signed
provenance over every file the run emitted.

The provenance comes last because its subjects are the digests of the other files (the JSON
report included), so the pytest session runs ``produce_artifacts`` before it writes the report
and ``produce_provenance`` after.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import EnterpriseConfig
from ..errors import EXIT_GATE_FAILED, EnterpriseError, UsageError

__all__ = [
    "LEVEL_ARTIFACTS",
    "Artifacts",
    "Plan",
    "RunFacts",
    "assess_provenance",
    "plan_from_config",
    "produce_artifacts",
    "produce_provenance",
]

#: What each security level emits. ``critical`` also turns a missing database or signing key
#: from a skipped artifact (with a note) into an error.
LEVEL_ARTIFACTS: Mapping[str, frozenset[str]] = {
    "basic": frozenset({"sbom"}),
    "standard": frozenset({"sbom", "scan"}),
    "enhanced": frozenset({"sbom", "scan", "provenance"}),
    "critical": frozenset({"sbom", "scan", "provenance", "spdx"}),
}
SBOM_FILES = {"cyclonedx-json": "sbom.cdx.json", "spdx-json": "sbom.spdx.json"}
SCAN_FILE = "vulnerabilities.json"
PROVENANCE_FILE = "provenance.intoto.json"
TEST_RESULT_FILE = "test-result.intoto.json"


@dataclass(frozen=True)
class Plan:
    """Which artifacts to produce, and with what."""

    sbom_formats: tuple[str, ...] = ("cyclonedx-json",)
    cyclonedx_version: str = "1.6"
    scan: bool = False
    database: Path | None = None
    ignore_file: Path | None = None
    fail_on: str | None = None
    provenance: bool = False
    signing_key: Path | None = None
    builder_id: str | None = None
    slsa_level: int = 1
    strict: bool = False  # a missing input is an error, not a skipped artifact


@dataclass(frozen=True)
class RunFacts:
    """What the provenance says about the run that produced the files.

    The build step the provenance describes runs from ``started_on`` (for a pytest run: when
    the plugin was configured, the earliest moment it knows) until every subject is written.
    ``produce_provenance`` therefore states as ``finishedOn`` the moment just before it signs,
    never earlier than ``finished_on`` (which may be None: "when the subjects are done")."""

    invocation_id: str
    started_on: datetime
    finished_on: datetime | None
    arguments: tuple[str, ...]
    git: Mapping[str, Any] | None = None
    passed: tuple[str, ...] = ()
    warned: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass
class Artifacts:
    inventory: Any = None
    scan: Any = None
    files: dict[str, Path] = field(default_factory=dict)  # role -> path
    problems: list[str] = field(default_factory=list)  # one line each; exit 2 unless noted
    gate_failures: list[str] = field(default_factory=list)  # exit 1
    notes: list[str] = field(default_factory=list)  # what was skipped, and why
    slsa: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        if self.problems:
            return 2
        return EXIT_GATE_FAILED if self.gate_failures else 0

    def section(self, output_dir: Path, provenance_planned: bool = False) -> dict[str, Any]:
        """The JSON report's ``supply_chain`` section. A planned provenance is written after
        the report (it covers the report), so the section names its file but not its digest."""
        from .scan_report import scan_counts

        inventory = self.inventory
        data: dict[str, Any] = {
            "files": {role: _relative(path, output_dir) for role, path in sorted(self.files.items())},
            "components": len(inventory.components) if inventory is not None else None,
            "test_components": sum(1 for c in inventory.components if c.scope == "test") if inventory else None,
            "root": None if inventory is None or inventory.root is None else inventory.root.purl,
            "vulnerabilities": None,
            "slsa": self.slsa,
            "provenance": (
                {"files": [PROVENANCE_FILE, TEST_RESULT_FILE], "written": "after this report, covering it"}
                if provenance_planned and self.slsa is not None
                else None
            ),
            "notes": list(self.notes),
            "problems": list(self.problems),
            "gate_failures": list(self.gate_failures),
        }
        if self.scan is not None:
            database = self.scan.database
            data["vulnerabilities"] = {
                "database": database.path,
                "database_fingerprint": database.fingerprint,
                "scanned_packages": self.scan.scanned,
                "counts": scan_counts(self.scan),
                "ignored": len(self.scan.findings) - len(self.scan.active),
                "skipped_records": len(database.skipped),
                "ids": sorted({f.vulnerability.id for f in self.scan.active}),
            }
        return data


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def plan_from_config(
    settings: EnterpriseConfig,
    base: Path,
    *,
    level: str | None = None,
    sbom: bool | None = None,
    scan: bool | None = None,
    provenance: bool | None = None,
    key_option: str | None = None,
    database_option: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Plan:
    """The plan for ``level`` (default ``security.security_level``); the explicit switches
    add artifacts on top (``--enterprise-sbom`` and friends)."""
    from .keys import resolve_signing_key

    env = os.environ if env is None else env
    security = settings.security
    chosen = level or security.security_level
    if chosen not in LEVEL_ARTIFACTS:
        raise UsageError(f"unknown security level {chosen!r}; expected one of {', '.join(LEVEL_ARTIFACTS)}")
    wanted = set(LEVEL_ARTIFACTS[chosen]) if (security.enabled or level) else set()
    for name, switch in (("sbom", sbom), ("scan", scan), ("provenance", provenance)):
        if switch:
            wanted.add(name)
    if security.vulnerability_scanning and (security.enabled or level):
        wanted.add("scan")
    formats = [security.sbom_format]
    if "spdx" in wanted:
        formats = list(SBOM_FILES)
    configured_key = str(base / security.signing_key) if security.signing_key else None
    key = resolve_signing_key(key_option, configured_key, env)
    database = database_option or (str(base / security.vulnerability_db) if security.vulnerability_db else None)
    return Plan(
        sbom_formats=tuple(formats) if "sbom" in wanted or "provenance" in wanted else (),
        cyclonedx_version=security.cyclonedx_version,
        scan="scan" in wanted,
        database=Path(database) if database else None,
        ignore_file=base / security.ignore_file if security.ignore_file else None,
        fail_on=security.fail_on,
        provenance="provenance" in wanted,
        signing_key=key,
        builder_id=security.builder_id,
        slsa_level=security.slsa_level,
        strict=chosen == "critical" and (security.enabled or bool(level)),
    )


def produce_artifacts(
    plan: Plan,
    *,
    project_root: Path,
    output_dir: Path,
    env: Mapping[str, str] | None = None,
    now: datetime | None = None,
    inventory: Any = None,
) -> Artifacts:
    """Inventory, scan and SBOM files; every problem is collected, never raised, so one
    broken input does not cost the others."""
    from .inventory import collect_inventory

    env = os.environ if env is None else env
    artifacts = Artifacts()
    try:
        artifacts.inventory = inventory if inventory is not None else collect_inventory(project_root=project_root)
    except EnterpriseError as error:
        artifacts.problems.append(f"inventory: {error}")
        return artifacts
    if plan.scan:
        _scan(plan, artifacts, output_dir, now)
    for format in plan.sbom_formats:
        from .sbom import write_sbom

        path = output_dir / SBOM_FILES[format]
        try:
            options: dict[str, Any] = {"env": env}
            if format == "cyclonedx-json":
                options.update(spec_version=plan.cyclonedx_version, scan=artifacts.scan)
            artifacts.files[f"sbom-{format}"] = write_sbom(path, artifacts.inventory, format, **options)
        except EnterpriseError as error:
            artifacts.problems.append(f"SBOM {format}: {error}")
    return artifacts


def _scan(plan: Plan, artifacts: Artifacts, output_dir: Path, now: datetime | None) -> None:
    from ..files import write_text_atomic
    from .osv import OsvDatabase, findings_at_or_above, scan
    from .scan_report import scan_to_dict
    from .vex import load_ignores

    if plan.database is None:
        message = "vulnerability scan: no OSV database (set security.vulnerability_db or pass --db)"
        (artifacts.problems if plan.strict else artifacts.notes).append(message)
        return
    try:
        database = OsvDatabase.load(plan.database)
        ignores = load_ignores(plan.ignore_file) if plan.ignore_file else []
        artifacts.scan = scan(artifacts.inventory, database, ignores=ignores, now=now)
        text = json.dumps(scan_to_dict(artifacts.scan), indent=2, sort_keys=False) + "\n"
        artifacts.files["vulnerabilities"] = write_text_atomic(output_dir / SCAN_FILE, text)
    except EnterpriseError as error:
        artifacts.problems.append(f"vulnerability scan: {error}")
        return
    if plan.fail_on:
        above = findings_at_or_above(artifacts.scan, plan.fail_on)
        if above:
            ids = ", ".join(sorted({f"{f.component} {f.vulnerability.id}" for f in above}))
            artifacts.gate_failures.append(
                f"{len(above)} vulnerabilities at or above {plan.fail_on} (security.fail_on): {ids}"
            )


def assess_provenance(plan: Plan, artifacts: Artifacts, env: Mapping[str, str] | None = None) -> bool:
    """Judge the SLSA level the provenance can carry, before anything is signed: fills
    ``artifacts.slsa`` and, when the level asked for is unmet, a gate failure naming each
    missing requirement. False when no provenance can be made at all (no key)."""
    from .provenance import BuildFacts, assess_slsa_level, detect_builder

    if not plan.provenance:
        return False
    env = os.environ if env is None else env
    _builder, ci = detect_builder(env)
    signed = plan.signing_key is not None
    facts = BuildFacts(signed=signed, key_held_locally=True, hosted_platform=ci)
    assessment = assess_slsa_level(plan.slsa_level, facts)
    if not assessment.met:  # said even without a key: the level is out of reach either way
        artifacts.gate_failures.append(assessment.refusal())
    if not signed:
        message = (
            "provenance: no signing key (pass --key, set security.signing_key or"
            " $ENTERPRISE_SIGNING_KEY; `enterprise security keygen --out PREFIX` makes one)"
        )
        (artifacts.problems if plan.strict else artifacts.notes).append(message)
        return False
    artifacts.slsa = assessment.to_dict()
    return True


def produce_provenance(
    plan: Plan,
    artifacts: Artifacts,
    *,
    subjects: Sequence[Path],
    facts: RunFacts,
    output_dir: Path,
    env: Mapping[str, str] | None = None,
    test_result: bool = True,
    refuse_unmet: bool = False,
    assessed: bool = False,
    provenance_path: Path | None = None,
) -> None:
    """Signed SLSA provenance (and, with ``test_result``, the test-result statement) over
    ``subjects``. The level written is the one achieved; asking for more is a gate failure
    naming what is missing, and with ``refuse_unmet`` nothing is written then.
    ``assessed``: ``assess_provenance`` already ran on these artifacts. ``provenance_path``:
    where the provenance goes (default ``output_dir / PROVENANCE_FILE``); subject names are
    relative to ``output_dir`` either way."""
    from .dsse import PAYLOAD_TYPE, sign_envelope
    from .keys import load_private_key
    from .provenance import (
        Invocation,
        build_provenance_statement,
        detect_builder,
        file_subject,
        write_envelope,
    )

    from ..redact import redact_args, redact_text
    from ..timeutil import utc_now

    env = os.environ if env is None else env
    if not assessed and not assess_provenance(plan, artifacts, env):
        return
    if artifacts.slsa is None or (refuse_unmet and not artifacts.slsa["met"]):
        return
    try:
        key = load_private_key(plan.signing_key, notes=artifacts.notes)
        builder_id = redact_text(plan.builder_id or detect_builder(env)[0])
        listed = [file_subject(path, _relative(path, output_dir)) for path in subjects if path.is_file()]
        # Every subject is written and hashed: the build step ends now, just before signing.
        finished = utc_now()
        if facts.finished_on is not None and facts.finished_on > finished:  # a clock step back
            finished = facts.finished_on
        invocation = Invocation(
            invocation_id=facts.invocation_id,
            started_on=facts.started_on,
            finished_on=finished,
            arguments=tuple(redact_args(facts.arguments)),
        )
        statement = build_provenance_statement(
            subjects=listed,
            invocation=invocation,
            inventory=artifacts.inventory,
            git=facts.git,
            builder_id=builder_id,
            slsa_level=artifacts.slsa["achieved"],
            inputs=_scan_inputs(artifacts),
        )
        documents = [("provenance", provenance_path or output_dir / PROVENANCE_FILE, statement)]
        if test_result:
            documents.append(("test-result", output_dir / TEST_RESULT_FILE, _test_result_statement(listed, facts)))
        for role, path, document in documents:
            payload = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
            envelope = sign_envelope(payload, PAYLOAD_TYPE, [key])
            artifacts.files[role] = write_envelope(path, envelope)
    except EnterpriseError as error:
        artifacts.problems.append(f"provenance: {error}")


def _scan_inputs(artifacts: Artifacts) -> list[dict[str, Any]]:
    """The OSV database the scan read, pinned by its fingerprint."""
    if artifacts.scan is None:
        return []
    database = artifacts.scan.database
    uri = Path(database.path).resolve().as_uri()
    return [{"uri": uri, "name": "osv-database", "digest": {"sha256": database.fingerprint}}]


def _test_result_statement(subjects: list[dict[str, Any]], facts: RunFacts) -> dict[str, Any]:
    from .provenance import build_test_result_statement

    result = "FAILED" if facts.failed else ("WARNED" if facts.warned else "PASSED")
    return build_test_result_statement(
        subjects=subjects, result=result, passed=facts.passed, warned=facts.warned, failed=facts.failed
    )
