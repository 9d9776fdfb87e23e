"""``enterprise security sbom | slsa | report | status | scan | keygen | verify``.

The layers are composed here as pip-audit composes its source, service and format: the
inventory (this environment, or ``--python``'s), the OSV database, and a view.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from ..config import SEVERITY_THRESHOLDS as THRESHOLDS
from ..errors import EXIT_GATE_FAILED, EnterpriseError, InputError, PermissionDeniedError
from .common import add_config_option, emit, load_config, require

SBOM_FORMATS = ("cyclonedx-json", "spdx-json")
LEVELS = ("basic", "standard", "enhanced", "critical")


def add_parser(groups: Any) -> None:
    security = groups.add_parser("security", allow_abbrev=False, help="SBOM, vulnerability scan, signed provenance")
    commands = security.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sbom = commands.add_parser("sbom", allow_abbrev=False, help="SBOM of the environment (CycloneDX or SPDX JSON)")
    sbom.add_argument("--format", choices=SBOM_FORMATS, help="default: security.sbom_format")
    sbom.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    sbom.add_argument("--python", metavar="PATH", help="inventory another interpreter's environment")
    sbom.add_argument("--cyclonedx-version", choices=("1.6", "1.5"), help="default: security.cyclonedx_version")
    _project(sbom)
    sbom.set_defaults(handler=sbom_command)

    slsa = commands.add_parser("slsa", allow_abbrev=False, help="signed SLSA provenance; refuses a level whose requirements are unmet")
    slsa.add_argument("--level", type=int, choices=(1, 2, 3, 4), default=None, help="SLSA Build level asked for (default: security.slsa_level)")
    slsa.add_argument("--output", metavar="FILE", required=True, help="the DSSE envelope to write")
    slsa.add_argument("--subject", action="append", metavar="FILE", help="a file the provenance covers (repeatable; default: a fresh SBOM)")
    slsa.add_argument("--key", metavar="PATH", help="Ed25519 private key (default: security.signing_key, else $ENTERPRISE_SIGNING_KEY)")
    _project(slsa)
    slsa.set_defaults(handler=slsa_command)

    report = commands.add_parser("report", allow_abbrev=False, help="every artifact of a security level, and a summary with the risk score")
    report.add_argument("--level", choices=LEVELS, help="default: security.security_level")
    report.add_argument("--output", metavar="DIR", default="security-artifacts", help="folder for the artifacts (default: security-artifacts)")
    report.add_argument("--key", metavar="PATH", help="Ed25519 private key for the provenance")
    report.add_argument("--db", metavar="PATH", help="OSV database (default: security.vulnerability_db)")
    report.add_argument("--format", choices=("text", "json"), default="text")
    _project(report)
    report.set_defaults(handler=report_command)

    status = commands.add_parser("status", allow_abbrev=False, help="what is configured, and what is missing")
    status.add_argument("--format", choices=("text", "json"), default="text")
    _project(status)
    status.set_defaults(handler=status_command)

    scan = commands.add_parser("scan", allow_abbrev=False, help="offline vulnerability scan against an OSV database")
    scan.add_argument("--db", metavar="PATH", help="OSV folder or zip (default: security.vulnerability_db)")
    scan.add_argument("--python", metavar="PATH", help="scan another interpreter's environment")
    scan.add_argument("--format", choices=("text", "json"), default="text")
    scan.add_argument("--output", metavar="FILE", help="write here (atomically) instead of stdout")
    scan.add_argument("--fail-on", choices=THRESHOLDS, help="exit 1 on an active finding of at least this severity (default: security.fail_on)")
    scan.add_argument("--ignore-file", metavar="PATH", help="VEX ignore file (default: security.ignore_file)")
    _project(scan)
    scan.set_defaults(handler=scan_command)

    keygen = commands.add_parser("keygen", allow_abbrev=False, help="a new Ed25519 key pair: PREFIX.key (0600) and PREFIX.pub")
    keygen.add_argument("--out", metavar="PREFIX", required=True)
    keygen.set_defaults(handler=keygen_command)

    verify = commands.add_parser("verify", allow_abbrev=False, help="check a DSSE envelope against trusted keys and files")
    verify.add_argument("envelope", metavar="ENVELOPE")
    verify.add_argument("--key", action="append", required=True, metavar="PUB.pem", help="a trusted public key (repeatable)")
    verify.add_argument("--threshold", type=int, default=1, help="valid signatures from distinct trusted keys needed (default 1)")
    verify.add_argument("--artifacts", metavar="DIR", help="recompute each subject's sha256 from the files in DIR")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.set_defaults(handler=verify_command)


def _project(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="DIR", default=".", help="the project's root (default: the current folder)")
    add_config_option(parser)


def _base(config: Any, project: Path) -> Path:
    return config.source.parent if config.source is not None else project


def _inventory(options: argparse.Namespace) -> Any:
    from ..supply_chain.inventory import collect_inventory, collect_inventory_of

    project = Path(options.project).resolve()
    if getattr(options, "python", None):
        return collect_inventory_of(options.python, project_root=project)
    return collect_inventory(project_root=project)


def sbom_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.sbom import render_sbom, sbom_format_from_path

    config = load_config(options)
    fmt = options.format or (sbom_format_from_path(options.output) if options.output else None) or config.security.sbom_format
    spec = options.cyclonedx_version or config.security.cyclonedx_version
    text = render_sbom(_inventory(options), fmt, spec_version=spec)
    emit(text, options.output)
    return 0


def slsa_command(options: argparse.Namespace, extra: list[str]) -> int:
    """Assess first, then produce: a refused level, a missing key or subject, or an
    unreadable key writes nothing; a success names every file it wrote, one line each."""
    from dataclasses import replace

    from ..supply_chain.keys import load_private_key
    from ..supply_chain.pipeline import (
        SBOM_FILES,
        Artifacts,
        RunFacts,
        assess_provenance,
        plan_from_config,
        produce_provenance,
    )
    from ..supply_chain.sbom import write_sbom
    from ..timeutil import utc_now

    started = utc_now()
    config = load_config(options)
    project = Path(options.project).resolve()
    level = options.level or config.security.slsa_level
    plan = plan_from_config(config, _base(config, project), key_option=options.key)
    plan = replace(plan, provenance=True, slsa_level=level, strict=True)
    output = Path(options.output)
    out_dir = output.parent
    artifacts = Artifacts()
    subjects = [Path(name) for name in options.subject or ()]
    assess_provenance(plan, artifacts)
    if not artifacts.problems and not artifacts.gate_failures:
        _check_output_dir(out_dir, artifacts.problems)
        for subject in subjects:
            if not subject.is_file():
                artifacts.problems.append(f"{subject}: no such file to attest")
        try:  # an unreadable key is found now, not after the SBOM is written
            load_private_key(plan.signing_key)  # type: ignore[arg-type]
        except EnterpriseError as error:
            artifacts.problems.append(f"provenance: {error}")
    if artifacts.problems or artifacts.gate_failures:
        return _refuse(artifacts)

    written: list[Path] = []
    artifacts.inventory = _inventory(options)
    if not subjects:
        sbom = out_dir / SBOM_FILES["cyclonedx-json"]
        written.append(write_sbom(sbom, artifacts.inventory, "cyclonedx-json", spec_version=plan.cyclonedx_version))
        subjects = [sbom]
    facts = RunFacts(str(uuid.uuid4()), started, None, ("enterprise", "security", "slsa"))
    produce_provenance(
        plan, artifacts, subjects=subjects, facts=facts, output_dir=out_dir, test_result=False,
        refuse_unmet=True, assessed=True, provenance_path=output,
    )  # fmt: skip
    if artifacts.problems or "provenance" not in artifacts.files:
        for path in written:  # half of the evidence is no evidence: take back what was written
            path.unlink(missing_ok=True)
        return _refuse(artifacts)
    for line in artifacts.notes:
        print(f"enterprise: note: {line}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(f"wrote {artifacts.files['provenance']} (SLSA Build L{artifacts.slsa['achieved']})", file=sys.stderr)  # type: ignore[index]
    return 0


def _check_output_dir(folder: Path, problems: list[str]) -> None:
    """A missing folder is made when writing; a file where a folder must be is an error now."""
    target = folder.resolve()
    existing = _existing_ancestor(target)
    if existing == target:
        return
    first_missing = target
    while first_missing.parent != existing:
        first_missing = first_missing.parent
    if first_missing.exists() or first_missing.is_symlink():
        problems.append(f"{folder}: not a folder ({first_missing} is in the way)")


def _refuse(artifacts: Any) -> int:
    for line in artifacts.problems + artifacts.gate_failures:
        print(f"enterprise: {line}", file=sys.stderr)
    print("enterprise: nothing written", file=sys.stderr)
    return int(artifacts.exit_code)


def report_command(options: argparse.Namespace, extra: list[str]) -> int:
    """Every artifact of the level is produced in a staging folder beside the output and
    published only when nothing went wrong: an input problem (exit 2) or a refused SLSA level
    writes nothing. A vulnerability gate (exit 1) still writes: the files are its evidence."""
    import shutil
    import tempfile

    from ..files import write_bytes_atomic, write_text_atomic
    from ..supply_chain.pipeline import Artifacts, assess_provenance
    from ..supply_chain.security import SupplyChainSecurity

    config = load_config(options)
    output = Path(options.output)
    level = options.level or config.security.security_level
    probe = SupplyChainSecurity(options.project, level, config=config, output_dir=output)
    switches: dict[str, Any] = {}
    if options.key:
        switches["key_option"] = options.key
    if options.db:
        switches["database_option"] = options.db
    probe.plan_options = switches
    assessed = Artifacts()
    assess_provenance(probe.plan(), assessed)
    if output.exists() and not output.is_dir():
        assessed.problems.append(f"{output}: not a folder")
    if assessed.gate_failures or assessed.problems:
        return _refuse(assessed)

    parent = _existing_ancestor(output.resolve())
    try:
        staging = Path(tempfile.mkdtemp(prefix=".enterprise-staging-", dir=parent))
    except PermissionError as error:
        raise PermissionDeniedError(f"{parent}: cannot write here ({error.strerror})") from None
    except OSError as error:
        raise InputError(f"{parent}: cannot write here ({error.strerror or error})") from None
    try:
        security = SupplyChainSecurity(options.project, level, config=config, output_dir=staging)
        security.plan_options = switches
        import asyncio  # here, not at the top: importing it costs every enterprise command ~30 ms

        report = asyncio.run(security.generate_comprehensive_security_report())
        if report["problems"]:
            report["files"] = {}
            _print_report(report, options, output, None, [])
            print("enterprise: nothing written", file=sys.stderr)
            return int(report["exit_code"])
        write_text_atomic(staging / "security-report.json", json.dumps(report, indent=2) + "\n")
        written = []
        for staged in sorted(staging.iterdir()):
            written.append(write_bytes_atomic(output / staged.name, staged.read_bytes()))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _print_report(report, options, output, output / "security-report.json", written)
    return int(report["exit_code"])


def _existing_ancestor(path: Path) -> Path:
    while not path.is_dir() and path != path.parent:
        path = path.parent
    return path


def _print_report(report: dict[str, Any], options: argparse.Namespace, output: Path, summary: Path | None, written: list[Path]) -> None:
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    if options.format == "json":
        emit(json.dumps(report, indent=2) + "\n", None)
        return
    where = f"artifacts in {output}" if written else "nothing written"
    lines = [f"security level {report['security_level']}: {where}"]
    lines += [f"  {role}: {name}" for role, name in report["files"].items()]
    risk = report["risk_score"]
    lines.append(f"  risk score: {risk if risk is not None else 'none'} ({report['risk_basis']})")
    lines += [f"  note: {note}" for note in report["notes"]]
    lines += [f"  problem: {problem}" for problem in report["problems"]]
    lines += [f"  FAILED: {failure}" for failure in report["gate_failures"]]
    if summary is not None:
        lines.append(f"  summary: {summary}")
    emit("\n".join(lines) + "\n", None)


def status_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.keys import resolve_signing_key

    config = load_config(options)
    security = config.security
    base = _base(config, Path(options.project).resolve())
    key = resolve_signing_key(None, str(base / security.signing_key) if security.signing_key else None, os.environ)
    database = base / security.vulnerability_db if security.vulnerability_db else None
    data = {
        "enabled": security.enabled,
        "security_level": security.security_level,
        "sbom_format": security.sbom_format,
        "cyclonedx_version": security.cyclonedx_version,
        "slsa_level_requested": security.slsa_level,
        "signing_key": None if key is None else {"path": str(key), "exists": key.is_file()},
        "vulnerability_db": None if database is None else {"path": str(database), "exists": database.exists()},
        "ignore_file": security.ignore_file,
        "fail_on": security.fail_on,
    }
    if options.format == "json":
        emit(json.dumps(data, indent=2) + "\n", None)
        return 0
    lines = [f"supply chain: {'enabled' if security.enabled else 'not enabled'} in runs (security.enabled), level {security.security_level}"]
    lines.append(f"  SBOM: {security.sbom_format} (CycloneDX {security.cyclonedx_version})")
    lines.append(f"  signing key: {_exists(key)}")
    lines.append(f"  OSV database: {_exists(database)}")
    lines.append(f"  SLSA Build level asked for: {security.slsa_level} (a locally held key can give L1 only)")
    lines.append(f"  fail on: {security.fail_on or 'never'}")
    emit("\n".join(lines) + "\n", None)
    return 0


def _exists(path: Path | None) -> str:
    if path is None:
        return "not configured"
    return f"{path}" + ("" if path.exists() else " (MISSING)")


def scan_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.osv import OsvDatabase, findings_at_or_above, scan
    from ..supply_chain.scan_report import render_scan_text, scan_to_dict
    from ..supply_chain.vex import load_ignores

    config = load_config(options)
    base = _base(config, Path(options.project).resolve())
    database = options.db or (str(base / config.security.vulnerability_db) if config.security.vulnerability_db else None)
    require(database is not None, "no OSV database: pass --db PATH or set security.vulnerability_db")
    ignore_file = options.ignore_file or (str(base / config.security.ignore_file) if config.security.ignore_file else None)
    loaded = OsvDatabase.load(database)
    ignores = load_ignores(ignore_file) if ignore_file else []
    result = scan(_inventory(options), loaded, ignores=ignores)
    text = json.dumps(scan_to_dict(result), indent=2) + "\n" if options.format == "json" else render_scan_text(result)
    emit(text, options.output)
    threshold = options.fail_on or config.security.fail_on
    if threshold and findings_at_or_above(result, threshold):
        print(f"enterprise: vulnerabilities at or above {threshold} found", file=sys.stderr)
        return EXIT_GATE_FAILED
    return 0


def keygen_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.keys import generate_keypair

    private, public = generate_keypair(options.out)
    print(f"wrote {private} (private, mode 0600) and {public} (public)")
    return 0


def verify_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.verify import verify_file

    outcome = verify_file(Path(options.envelope), [Path(key) for key in options.key], threshold=options.threshold,
                          artifacts=Path(options.artifacts) if options.artifacts else None)  # fmt: skip
    if options.format == "json":
        emit(json.dumps(outcome.to_dict(), indent=2) + "\n", None)
    else:
        emit(outcome.render_text(), None)
    return outcome.exit_code
