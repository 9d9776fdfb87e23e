"""The supply-chain files a report names (its ``supply_chain.files`` and ``provenance``), read
for the dashboard: the SBOM's components by scope and licence, the scan's findings with their
fixed versions, and the provenance's subjects. An adapter at the edge: it reads files, and
turns any file it cannot read into a sentence instead of an error (the page is still made).

The files are looked up in the folder the report was written to (their names are relative to
it); a page made from the history store has no such folder and shows the report's summary.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...redact import redact_text

# A file larger than this is not read for the page (an SBOM of 5,000 components is ~5 MB).
MAX_BYTES = 64 * 1024 * 1024
SEVERITY_ORDER = ("critical", "high", "medium", "low", "unknown")


def supply_chain_details(
    section: Mapping[str, Any] | None, folder: Path | None, *, provenance_written: bool = True,
    trusted_keys: Sequence[Path] = (),
) -> dict[str, Any] | None:  # fmt: skip
    """What the page shows beyond the report's own supply-chain summary, or None when the
    report has none or there is no folder to read its files from. A run writes its
    provenance after its report and this page (the provenance covers them), so while the run
    makes the page (``provenance_written`` False) any provenance file there is an older
    run's, and is not read."""
    if not section or folder is None:
        return None
    files = section.get("files") or {}
    problems: list[str] = []
    details: dict[str, Any] = {"problems": problems}
    sbom_name = next((name for role, name in files.items() if role.startswith("sbom-cyclonedx")), None)
    if sbom_name:
        sbom = _read(folder, sbom_name, problems)
        if sbom is not None:
            details["components"] = _components(sbom)
    scan_name = files.get("vulnerabilities")
    if scan_name:
        scan = _read(folder, scan_name, problems)
        if scan is not None:
            details["findings"] = _findings(scan)
    provenance = section.get("provenance") or {}
    subjects = []
    for name in provenance.get("files") or []:
        if not provenance_written or not (folder / str(name)).exists():
            details["provenance_later"] = redact_text(str(provenance.get("written") or "after this page"))
            continue
        envelope = _read(folder, name, problems)
        if envelope is not None:
            entry = {"file": redact_text(str(name)), "subjects": _subjects(envelope, name, problems), "verified": None}
            if trusted_keys:
                entry["verified"] = _verify(folder / str(name), trusted_keys, folder)
            subjects.append(entry)
    if subjects:
        details["provenance"] = subjects
    return details


def _read(folder: Path, name: str, problems: list[str]) -> Any:
    """The JSON file ``name`` beside the report, or None with why in ``problems``: the page is
    made without it. Read as every input file is (``files.read_bytes``, ``parse_json``)."""
    from ...errors import EnterpriseError
    from ...files import read_bytes
    from ..loading import parse_json

    path = folder / str(name)
    try:
        if path.stat().st_size > MAX_BYTES:
            problems.append(f"{path}: larger than {MAX_BYTES // (1024 * 1024)} MB, not shown")
            return None
    except OSError:
        pass  # read_bytes says what is wrong with it
    try:
        return parse_json(path, read_bytes(path, what="supply-chain file"))
    except EnterpriseError as error:
        problems.append(redact_text(str(error)))
        return None


def _components(sbom: Any) -> dict[str, Any]:
    """Components by scope (the SBOM's, else our property) and by licence."""
    components = sbom.get("components") if isinstance(sbom, Mapping) else None
    if not isinstance(components, list):
        return {"count": 0, "scopes": [], "licenses": []}
    scopes: Counter[str] = Counter()
    licenses: Counter[str] = Counter()
    for component in components:
        if not isinstance(component, Mapping):
            continue
        scopes[_scope(component)] += 1
        for license_text in _licenses(component) or ["no licence declared"]:
            licenses[license_text] += 1
    return {
        "count": len(components),
        "scopes": sorted(scopes.items(), key=lambda item: (-item[1], item[0])),
        "licenses": sorted(licenses.items(), key=lambda item: (-item[1], item[0])),
    }


def _scope(component: Mapping[str, Any]) -> str:
    for prop in component.get("properties") or []:
        if isinstance(prop, Mapping) and prop.get("name") == "pytest-enterprise:scope":
            return redact_text(str(prop.get("value")))
    return redact_text(str(component.get("scope") or "unspecified"))


def _licenses(component: Mapping[str, Any]) -> list[str]:
    found = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, Mapping):
            continue
        license_ = entry.get("license") if isinstance(entry.get("license"), Mapping) else {}
        text = entry.get("expression") or license_.get("id") or license_.get("name")
        if text:
            found.append(redact_text(str(text)))
    return found


def _findings(scan: Any) -> list[dict[str, Any]]:
    """The scan's findings, worst severity first, with the versions that fix them."""
    findings = scan.get("findings") if isinstance(scan, Mapping) else None
    rows = []
    for finding in findings if isinstance(findings, list) else []:
        if not isinstance(finding, Mapping):
            continue
        rows.append({
            "package": redact_text(str(finding.get("package"))),
            "version": redact_text(str(finding.get("version"))),
            "id": redact_text(str(finding.get("id"))),
            "aliases": [redact_text(str(alias)) for alias in finding.get("aliases") or []],
            "severity": str(finding.get("severity") or "unknown"),
            "cvss_score": finding.get("cvss_score"),
            "fixed_versions": [redact_text(str(version)) for version in finding.get("fixed_versions") or []],
            "state": redact_text(str(finding.get("state") or "")),
        })  # fmt: skip
    order = {severity: rank for rank, severity in enumerate(SEVERITY_ORDER)}
    return sorted(rows, key=lambda row: (order.get(row["severity"], len(order)), row["package"], row["id"]))


def _verify(path: Path, trusted_keys: Sequence[Path], folder: Path) -> dict[str, Any]:
    """``enterprise security verify PATH --key ... --artifacts FOLDER``, as plain values. A key
    file that cannot be read raises its one-line error (the caller's input is wrong)."""
    from ...supply_chain.verify import verify_file

    outcome = verify_file(path, list(trusted_keys), artifacts=folder)
    return {
        "ok": not outcome.failures,
        "signers": [signer[:16] for signer in outcome.signers],
        "failures": [redact_text(failure) for failure in outcome.failures],
    }


def _subjects(envelope: Any, name: str, problems: list[str]) -> list[dict[str, str]]:
    """The in-toto statement's subjects (name and SHA-256) from a DSSE envelope. The
    signature is not checked here: ``enterprise security verify`` does, with a trusted key."""
    try:
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
        return [
            {"name": redact_text(str(subject.get("name"))), "sha256": str((subject.get("digest") or {}).get("sha256", ""))}
            for subject in statement.get("subject") or []
            if isinstance(subject, Mapping)
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        problems.append(f"{name}: not a DSSE envelope holding an in-toto statement")
        return []
