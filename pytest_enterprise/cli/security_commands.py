"""``enterprise security sbom | slsa | report | status | scan | keygen | verify``.

The layers are composed here as pip-audit composes its source, service and format: the
inventory (this environment, or ``--python``'s), the OSV database, and a view.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..config import SEVERITY_THRESHOLDS as THRESHOLDS
from ..errors import EXIT_GATE_FAILED
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
    from ..supply_chain.security import SupplyChainSecurity

    config = load_config(options)
    level = options.level or config.security.slsa_level
    security = SupplyChainSecurity(options.project, "basic", config=config, output_dir=Path(options.output).parent or ".")
    result = security.slsa_generator.attest(level, options.output, options.subject, options.key)
    for line in result["problems"] + result["gate_failures"]:
        print(f"enterprise: {line}", file=sys.stderr)
    if result["path"]:
        print(f"wrote {result['path']} (SLSA Build L{result['slsa']['achieved']})", file=sys.stderr)
    return int(result["exit_code"])


def report_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..supply_chain.security import SupplyChainSecurity

    config = load_config(options)
    security = SupplyChainSecurity(options.project, options.level or config.security.security_level, config=config, output_dir=options.output)
    switches: dict[str, Any] = {}
    if options.key:
        switches["key_option"] = options.key
    if options.db:
        switches["database_option"] = options.db
    security.plan_options = switches
    report = asyncio.run(security.generate_comprehensive_security_report())
    from ..files import write_text_atomic

    summary = write_text_atomic(Path(options.output) / "security-report.json", json.dumps(report, indent=2) + "\n")
    if options.format == "json":
        emit(json.dumps(report, indent=2) + "\n", None)
    else:
        lines = [f"security level {report['security_level']}: artifacts in {options.output}"]
        lines += [f"  {role}: {name}" for role, name in report["files"].items()]
        risk = report["risk_score"]
        lines.append(f"  risk score: {risk if risk is not None else 'none'} ({report['risk_basis']})")
        lines += [f"  note: {note}" for note in report["notes"]]
        lines += [f"  problem: {problem}" for problem in report["problems"]]
        lines += [f"  FAILED: {failure}" for failure in report["gate_failures"]]
        lines.append(f"  summary: {summary}")
        emit("\n".join(lines) + "\n", None)
    return int(report["exit_code"])


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
