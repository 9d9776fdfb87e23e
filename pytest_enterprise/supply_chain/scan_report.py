"""Views of a vulnerability scan: a JSON-ready mapping and a terminal table."""

from __future__ import annotations

from typing import Any

from .model import SEVERITIES, Finding, ScanResult

__all__ = ["scan_counts", "scan_to_dict", "render_scan_text"]


def _finding(finding: Finding) -> dict[str, Any]:
    vulnerability = finding.vulnerability
    data: dict[str, Any] = {
        "package": finding.component,
        "version": finding.version,
        "bom_ref": finding.bom_ref,
        "id": vulnerability.id,
        "aliases": list(vulnerability.aliases),
        "severity": vulnerability.severity,
        "cvss_score": vulnerability.cvss_score,
        "cvss_vector": vulnerability.cvss_vector,
        "summary": vulnerability.summary,
        "fixed_versions": list(finding.fixed_versions),
        "state": "not_affected" if finding.ignored else "affected",
    }
    if finding.ignored is not None:
        data["justification"] = finding.ignored.justification
        data["ignore_expires"] = finding.ignored.expires
    return data


def scan_counts(result: ScanResult) -> dict[str, int]:
    """Active findings per severity, every severity present (zeros included)."""
    counts = dict.fromkeys(reversed(SEVERITIES), 0)
    for finding in result.active:
        counts[finding.vulnerability.severity] += 1
    return counts


def scan_to_dict(result: ScanResult) -> dict[str, Any]:
    database = result.database
    return {
        "database": {
            "path": database.path,
            "fingerprint": database.fingerprint,
            "records": database.records,
            "withdrawn": database.withdrawn,
            "skipped": [{"record": record, "reason": reason} for record, reason in database.skipped],
        },
        "scanned_packages": result.scanned,
        "counts": scan_counts(result),
        "ignored": sum(1 for finding in result.findings if finding.ignored is not None),
        "findings": [_finding(finding) for finding in result.findings],
        "expired_ignores": [ignore.id for ignore in result.expired_ignores],
        "unused_ignores": [ignore.id for ignore in result.unused_ignores],
        "problems": list(result.problems),
    }


def render_scan_text(result: ScanResult) -> str:
    from tabulate import tabulate

    database = result.database
    lines = [
        f"OSV database {database.path}: {database.records} records"
        f" ({database.withdrawn} withdrawn skipped), fingerprint {database.fingerprint[:16]}",
        f"{result.scanned} packages scanned: {len(result.active)} vulnerabilities"
        f" ({', '.join(f'{count} {level}' for level, count in scan_counts(result).items() if count) or 'none'}),"
        f" {len(result.findings) - len(result.active)} ignored",
    ]
    if result.findings:
        rows = [
            (
                f.component,
                f.version,
                f.vulnerability.id,
                f.vulnerability.severity + (f" {f.vulnerability.cvss_score:g}" if f.vulnerability.cvss_score is not None else ""),
                ", ".join(f.fixed_versions) or "no fix",
                "ignored: " + f.ignored.justification if f.ignored else ", ".join(f.vulnerability.aliases[:2]),
            )
            for f in result.findings
        ]
        lines += ["", tabulate(rows, headers=("package", "version", "id", "severity", "fixed in", "aliases / note"), disable_numparse=True)]
    for record, reason in database.skipped:
        lines.append(f"skipped malformed record {record}: {reason}")
    for ignore in result.expired_ignores:
        lines.append(f"ignore of {ignore.id} expired on {ignore.expires}: it no longer applies")
    for ignore in result.unused_ignores:
        lines.append(f"ignore of {ignore.id} matched no finding")
    for problem in result.problems:
        lines.append(f"not scanned: {problem}")
    return "\n".join(lines) + "\n"
