"""Software bills of materials: an ``Inventory`` (and optionally a ``ScanResult``) as CycloneDX
JSON or SPDX 2.3 JSON.

CycloneDX is built with cyclonedx-python-lib's model and serialised by its JSON outputter, so
the library's per-version views decide which fields each spec version carries. SPDX 2.3 JSON is
plain dicts: the format is small, and spdx-tools (which could build it) is only a test
dependency.

Both outputs are functions of their inputs alone: given the same inventory, scan and creation
time they are byte-identical. ``render_sbom`` takes the creation time from
``SOURCE_DATE_EPOCH`` when set; the CycloneDX serial number and the SPDX document namespace are
derived from a hash of the document, never drawn at random.

cyclonedx is imported inside the functions that need it: importing it costs about 0.1 s and
its validator about 1 s, which the default path (no SBOM requested) must never pay.

docs/sbom.md describes every field.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError
from ..files import write_text_atomic
from ..timeutil import utc_now

if TYPE_CHECKING:
    from .model import Component, Finding, Inventory, ScanResult, Party

__all__ = [
    "CYCLONEDX_SPEC_VERSIONS",
    "SBOM_FORMATS",
    "cyclonedx_json",
    "render_sbom",
    "sbom_format_from_path",
    "spdx_json",
    "validate_cyclonedx",
    "write_sbom",
]

SBOM_FORMATS = ("cyclonedx-json", "spdx-json")
CYCLONEDX_SPEC_VERSIONS = ("1.5", "1.6")

TOOL_NAME = "pytest-enterprise"
PROPERTY_PREFIX = "pytest-enterprise:"
# Properties from the CycloneDX property taxonomy for Python (cdx/python.md), which other
# CycloneDX tools (cyclonedx-py) also write and read.
CDX_REQUIRED_EXTRA = "cdx:python:package:required-extra"
CDX_VCS_COMMIT = "cdx:python:package:source:vcs:commit_id"
CDX_VCS_REVISION = "cdx:python:package:source:vcs:requested_revision"
CDX_SUBDIRECTORY = "cdx:python:package:source:subdirectory"
CDX_EDITABLE = "cdx:python:package:source:local:editable"

# The library gives the Bom this serial until the content hash is known; the hash is taken over
# the text with the placeholder, which then is replaced (a second serialisation would double
# the cost).
_PLACEHOLDER_SERIAL = uuid.UUID(int=0)
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://pytest-enterprise.invalid/cyclonedx")
SPDX_NAMESPACE_BASE = "https://pytest-enterprise.invalid/spdx/"

_SPDX_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_JUSTIFICATION_WORD = re.compile(r"[A-Za-z_]+")
_EMAIL = re.compile(r"[^@\s<>()]+@[^@\s<>()]+\.[^@\s<>()]+")
# SPDX's "Person: name (email)" reads the parentheses; a name must hold none, nor line breaks.
_SPDX_PARTY_UNSAFE = re.compile(r"[()\r\n\t]+")
_ORGANISATION_WORD = re.compile(
    r"\b(team|teams|project|projects|foundation|inc|llc|ltd|gmbh|corp|corporation|company|"
    r"developers|contributors|authors|maintainers|community|authority|organi[sz]ation|group|"
    r"labs?|software|systems|services|university|institute|others|list)\b\.?",
    re.IGNORECASE,
)
# scheme://host..., no whitespace. The library accepts any string as a URL and the schema's
# iri-reference accepts "UNKNOWN"; metadata holds both, and neither is a link.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+[^\s]*")


# --- shared helpers -------------------------------------------------------------------------


def _tool_version() -> str:
    from .. import __version__

    return __version__


def _ordered(inventory: Inventory) -> list[Component]:
    # The model promises (name, version) order; sorting again costs nothing and keeps the output
    # deterministic even for hand-built inventories.
    return sorted(inventory.components, key=lambda c: (c.name, c.version, c.bom_ref))


def _utc_seconds(moment: datetime | None) -> datetime:
    # SPDX allows no fraction of a second; CycloneDX gets the same value so both documents of
    # one run agree.
    moment = utc_now() if moment is None else moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def source_date_epoch(env: Mapping[str, str] | None = None) -> datetime | None:
    """The time ``SOURCE_DATE_EPOCH`` names (https://reproducible-builds.org/specs/source-date-epoch/),
    or None when it is unset or empty."""
    env = os.environ if env is None else env
    text = (env.get("SOURCE_DATE_EPOCH") or "").strip()
    if not text:
        return None
    try:
        seconds = int(text)
        if seconds < 0:
            raise ValueError(text)
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(
            f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, not {text!r}"
        ) from None


def _spdx_expression(text: str | None) -> str | None:
    """``text`` as a canonical SPDX license expression, or None when it is not one."""
    if not text:
        return None
    try:
        from packaging.licenses import (
            InvalidLicenseExpression,
            canonicalize_license_expression,
        )
    except ImportError:  # packaging < 24.2 has no SPDX list: claim nothing rather than guess
        return None
    try:
        return canonicalize_license_expression(text)
    except InvalidLicenseExpression:
        return None


def _sanitise(text: str) -> str:
    return _SPDX_ID_UNSAFE.sub("-", text).strip("-") or "x"


def _osv_url(vulnerability_id: str) -> str:
    return f"https://osv.dev/vulnerability/{vulnerability_id}"


def _vcs_parts(component: Component) -> tuple[str, str, str | None, str | None] | None:
    """``(vcs, url, commit, requested revision)`` of a VCS install, from direct_url.json."""
    direct = component.direct_url or {}
    info = direct.get("vcs_info")
    url = direct.get("url")
    if component.install != "vcs" or not isinstance(info, Mapping) or not isinstance(url, str):
        return None
    return str(info.get("vcs") or "git"), url, info.get("commit_id"), info.get("requested_revision")


def _archive_url(component: Component) -> str | None:
    url = (component.direct_url or {}).get("url")
    if component.install == "archive" and isinstance(url, str) and not url.startswith("file:"):
        return url
    return None


# --- CycloneDX ------------------------------------------------------------------------------


def _cdx_licenses(component: Component) -> list[Any]:
    from cyclonedx.model.license import (
        DisjunctiveLicense,
        LicenseAcknowledgement,
        LicenseExpression,
    )
    from cyclonedx.spdx import fixup_id

    declared = LicenseAcknowledgement.DECLARED
    if component.license_expression:
        expression = _spdx_expression(component.license_expression)
        if expression is not None:
            return [LicenseExpression(expression, acknowledgement=declared)]
        # Not SPDX: keep the words, as a named license, rather than claim an expression.
        return [DisjunctiveLicense(name=component.license_expression, acknowledgement=declared)]
    found = []
    for text in component.licenses:
        # An id must be in the schema's SPDX list (the library does not check); anything else,
        # e.g. a classifier's "MIT License", stays a name.
        spdx_id = fixup_id(text.strip())
        if spdx_id is not None:
            found.append(DisjunctiveLicense(id=spdx_id, acknowledgement=declared))
        else:
            found.append(DisjunctiveLicense(name=text, acknowledgement=declared))
    return found


def _cdx_component(component: Component, *, root: bool, spec_version: str = "1.6") -> Any:
    from cyclonedx.exception.model import InvalidUriException
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        Property,
        XsUri,
    )
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentScope, ComponentType
    from packageurl import PackageURL

    references = []
    properties = []

    def reference(kind: Any, url: str | None, comment: str | None = None) -> None:
        if not url or not _URL.fullmatch(url):
            return
        try:
            references.append(ExternalReference(type=kind, url=XsUri(url), comment=comment))
        except InvalidUriException:  # an invalid URL in someone's metadata must not lose the SBOM
            pass

    def prop(name: str, value: str) -> None:
        properties.append(Property(name=name, value=value))

    reference(ExternalReferenceType.WEBSITE, component.homepage)
    vcs = _vcs_parts(component)
    if vcs is not None:
        tool, url, commit, revision = vcs
        reference(ExternalReferenceType.VCS, url, f"installed from {tool}" + (f" at {commit}" if commit else ""))
        if commit:
            prop(CDX_VCS_COMMIT, str(commit))
        if revision:
            prop(CDX_VCS_REVISION, str(revision))
    reference(ExternalReferenceType.DISTRIBUTION, _archive_url(component), "installed from this archive")
    subdirectory = (component.direct_url or {}).get("subdirectory")
    if component.install in ("vcs", "archive", "local", "editable") and subdirectory:
        prop(CDX_SUBDIRECTORY, str(subdirectory))
    if component.install == "editable":
        prop(CDX_EDITABLE, "true")

    if not root:  # the root is read from pyproject.toml: it has no scope, nor an install kind
        prop(PROPERTY_PREFIX + "scope", component.scope)
        prop(PROPERTY_PREFIX + "install", component.install)
    if component.license_source:
        prop(PROPERTY_PREFIX + "license-source", component.license_source)
    for location in component.shadowed:
        prop(PROPERTY_PREFIX + "shadowed", location)
    for extra in component.requested_extras:
        prop(CDX_REQUIRED_EXTRA, extra)
    for dependency in component.dependencies:
        if dependency.active and dependency.installed and not dependency.satisfied:
            prop(PROPERTY_PREFIX + "unsatisfied-requirement", dependency.requirement)
        elif dependency.active and not dependency.installed:
            prop(PROPERTY_PREFIX + "missing-requirement", dependency.requirement)

    try:
        purl = PackageURL.from_string(component.purl) if component.purl else None
    except ValueError:
        purl = None
    supplier, authors, author = _cdx_parties(component, spec_version)
    with warnings.catch_warnings():
        # ``author`` is what 1.5 has; the library warns that 1.6 deprecates it even when the
        # document is 1.5 (1.6 documents get ``authors`` instead).
        warnings.filterwarnings("ignore", message=".*author.* is deprecated", category=Warning)
        return CdxComponent(
            type=ComponentType.APPLICATION if root else ComponentType.LIBRARY,
            bom_ref=component.bom_ref,
            supplier=supplier,
            authors=authors,
            author=author,
            name=component.display_name or component.name,
            version=component.version or None,
            description=component.summary or None,
            # "excluded" is the spec's scope for components used "for test and other non-runtime
            # purposes"; "optional" would claim they are not installed.
            scope=ComponentScope.EXCLUDED if component.scope == "test" else None,
            purl=purl,
            licenses=_cdx_licenses(component),
            external_references=references,
            properties=properties,
        )


def _cdx_parties(component: Component, spec_version: str) -> tuple[Any, list[Any], str | None]:
    """``(supplier, authors, author)``: the supplier entity (maintainers, else authors) with
    a contact per party; the authors as contacts (CycloneDX 1.6), or as one ``author`` string
    (1.5, which has no ``authors``)."""
    from cyclonedx.model.contact import OrganizationalContact, OrganizationalEntity

    def contact(party: Party) -> Any:
        return OrganizationalContact(name=party.name, email=party.email if _email_ok(party.email) else None)

    suppliers = component.suppliers
    supplier = None
    if suppliers:
        contacts = [contact(p) for p in suppliers if p.name or _email_ok(p.email)]
        supplier = OrganizationalEntity(name=_party_names(suppliers), contacts=contacts)
    if spec_version == "1.5":
        return supplier, [], _party_names(component.authors) or None
    return supplier, [contact(p) for p in component.authors if p.name or _email_ok(p.email)], None


def _email_ok(email: str | None) -> bool:
    return bool(email) and _EMAIL.fullmatch(email) is not None  # type: ignore[arg-type]


def _party_names(parties: Sequence[Party]) -> str:
    return ", ".join(dict.fromkeys(party.label for party in parties if party.label))


def _spdx_party(parties: Sequence[Party]) -> str:
    """An SPDX ``supplier`` / ``originator`` value: ``Person: name (email)`` or ``Organization:
    name (email)``, or NOASSERTION when the metadata names nobody.

    The metadata does not say whether a name is a person or an organisation. Several parties,
    or a name with a word like "Team", "Foundation", "Inc", "Developers", "Authority" is an
    Organization; a single other name is a Person."""
    if not parties:
        return "NOASSERTION"
    name = " ".join(_SPDX_PARTY_UNSAFE.sub("", _party_names(parties)).split())
    email = next((p.email for p in parties if _email_ok(p.email)), None)
    kind = "Organization" if len(parties) > 1 or _ORGANISATION_WORD.search(name) else "Person"
    return f"{kind}: {name}" + (f" ({email})" if email else "")


def _cdx_datetime(text: str | None) -> datetime | None:
    from ..timeutil import parse_timestamp

    if not text:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def _cdx_justification(text: str) -> Any:
    """The CycloneDX justification enum value the ignore's text starts with, if any.

    Only an exact enum word counts (``code_not_reachable: ...``): guessing the enum from free
    prose would put words in the user's mouth."""
    from cyclonedx.model.impact_analysis import ImpactAnalysisJustification

    match = _JUSTIFICATION_WORD.match(text.strip())
    if match is None:
        return None
    try:
        return ImpactAnalysisJustification(match.group(0).lower())
    except ValueError:
        return None


def _alias_source(alias: str) -> tuple[str, str]:
    upper = alias.upper()
    if upper.startswith("CVE-"):
        return "NVD", f"https://nvd.nist.gov/vuln/detail/{alias}"
    if upper.startswith("GHSA-"):
        return "GitHub", f"https://github.com/advisories/{alias}"
    return "OSV", _osv_url(alias)


def _cdx_vulnerability(finding: Finding) -> Any:
    from decimal import Decimal

    from cyclonedx.exception.model import InvalidUriException
    from cyclonedx.model import XsUri
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisAffectedStatus,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import (
        BomTarget,
        BomTargetVersionRange,
        Vulnerability,
        VulnerabilityAdvisory,
        VulnerabilityAnalysis,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    advisory = finding.vulnerability
    osv = VulnerabilitySource(name="OSV", url=XsUri(_osv_url(advisory.id)))
    references = []
    for alias in sorted(set(advisory.aliases) - {advisory.id}):
        name, url = _alias_source(alias)
        references.append(VulnerabilityReference(id=alias, source=VulnerabilitySource(name=name, url=XsUri(url))))

    severity = VulnerabilitySeverity(advisory.severity) if advisory.severity in {s.value for s in VulnerabilitySeverity} else VulnerabilitySeverity.UNKNOWN
    method = vector = None
    if advisory.cvss_vector:
        method = VulnerabilityScoreSource.get_from_vector(advisory.cvss_vector)
        vector = advisory.cvss_vector
    score = Decimal(str(advisory.cvss_score)) if advisory.cvss_score is not None else None
    rating = VulnerabilityRating(source=osv, score=score, severity=severity, method=method, vector=vector)

    advisories = []
    for url in sorted(set(advisory.references)):
        if not _URL.fullmatch(url):
            continue
        try:
            advisories.append(VulnerabilityAdvisory(url=XsUri(url)))
        except InvalidUriException:  # one malformed reference URL must not lose the SBOM
            pass

    recommendation = None
    if finding.fixed_versions:
        recommendation = f"Upgrade {finding.component} to {' or '.join(finding.fixed_versions)} or later."

    analysis = None
    if finding.ignored is not None:
        detail = finding.ignored.justification
        if finding.ignored.expires:
            detail += f" (accepted until {finding.ignored.expires})"
        analysis = VulnerabilityAnalysis(
            state=ImpactAnalysisState.NOT_AFFECTED,
            justification=_cdx_justification(finding.ignored.justification),
            detail=detail,
        )

    return Vulnerability(
        # Unique per (advisory, component): one advisory can hit two components, and only one
        # of them may be ignored, so they cannot share an entry.
        bom_ref=f"vulnerability:{advisory.id}:{finding.bom_ref}",
        id=advisory.id,
        source=osv,
        references=references,
        ratings=[rating],
        description=advisory.summary or None,
        detail=advisory.details or None,
        recommendation=recommendation,
        advisories=advisories,
        published=_cdx_datetime(advisory.published),
        updated=_cdx_datetime(advisory.modified),
        analysis=analysis,
        affects=[
            BomTarget(
                ref=finding.bom_ref,
                versions=[BomTargetVersionRange(version=finding.version, status=ImpactAnalysisAffectedStatus.AFFECTED)],
            )
        ],
    )


def cyclonedx_json(
    inventory: Inventory,
    *,
    spec_version: str = "1.6",
    scan: ScanResult | None = None,
    created: datetime | None = None,
    serial: str | None = None,
) -> str:
    """``inventory`` (and the findings of ``scan``) as a CycloneDX ``spec_version`` JSON document.

    ``created`` defaults to now. ``serial`` (a UUID) defaults to a UUIDv5 of the document's
    content, so equal inputs give byte-identical output.
    """
    if spec_version not in CYCLONEDX_SPEC_VERSIONS:
        raise UsageError(
            f"unsupported CycloneDX spec version {spec_version!r}: choose one of {', '.join(CYCLONEDX_SPEC_VERSIONS)}"
        )
    serial_uuid = _PLACEHOLDER_SERIAL
    if serial is not None:
        try:
            serial_uuid = uuid.UUID(serial.removeprefix("urn:uuid:"))
        except ValueError:
            raise UsageError(f"CycloneDX serial number must be a UUID, not {serial!r}") from None

    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.bom_ref import BomRef
    from cyclonedx.model.component import Component as CdxComponent
    from cyclonedx.model.component import ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.tool import ToolRepository
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat, SchemaVersion

    components = _ordered(inventory)
    known = {component.bom_ref for component in components}

    tool = CdxComponent(
        type=ComponentType.APPLICATION,
        name=TOOL_NAME,
        version=_tool_version(),
        # An explicit bom-ref: the library would otherwise draw a random one at output time.
        bom_ref=f"{TOOL_NAME}-tool",
    )
    metadata_properties = [Property(name=PROPERTY_PREFIX + "python", value=inventory.python)] if inventory.python else []
    if inventory.platform:
        metadata_properties.append(Property(name=PROPERTY_PREFIX + "platform", value=inventory.platform))
    for problem in inventory.problems:
        metadata_properties.append(Property(name=PROPERTY_PREFIX + "inventory-problem", value=problem))

    vulnerabilities = []
    if scan is not None:
        database = scan.database
        metadata_properties.append(Property(name=PROPERTY_PREFIX + "osv-database-fingerprint", value=database.fingerprint))
        metadata_properties.append(Property(name=PROPERTY_PREFIX + "osv-database-records", value=str(database.records)))
        for finding in scan.findings:
            if finding.bom_ref not in known:
                raise UsageError(
                    f"the scan does not belong to this inventory: {finding.vulnerability.id} names "
                    f"component {finding.bom_ref!r}, which the inventory does not list"
                )
            vulnerabilities.append(_cdx_vulnerability(finding))

    root = _cdx_component(inventory.root, root=True, spec_version=spec_version) if inventory.root is not None else None
    metadata = BomMetaData(
        tools=ToolRepository(components=[tool]),
        component=root,
        properties=metadata_properties,
        timestamp=_utc_seconds(created),
    )

    # Every component (and the root) gets an entry, an empty one included: an absent entry
    # would mean "unknown", an empty one "depends on nothing installed".
    targets: dict[str, list[str]] = {c.bom_ref: [] for c in components}
    if inventory.root is not None:
        targets[inventory.root.bom_ref] = []
    for source, target in inventory.edges():
        targets.setdefault(source, []).append(target)
    dependencies = [
        Dependency(ref=BomRef(source), dependencies=[Dependency(ref=BomRef(t)) for t in refs])
        for source, refs in targets.items()
    ]

    bom = Bom(
        components=[_cdx_component(c, root=False, spec_version=spec_version) for c in components],
        serial_number=serial_uuid,
        metadata=metadata,
        dependencies=dependencies,
        vulnerabilities=vulnerabilities,
    )
    outputter = make_outputter(bom, OutputFormat.JSON, SchemaVersion.from_version(spec_version))
    with warnings.catch_warnings():
        # A root without installed dependencies is a fact about the project, not a defect of
        # the graph, yet the library warns about it (an error under -W error).
        warnings.filterwarnings("ignore", message="The Component this BOM is describing", category=UserWarning)
        generated = json.loads(outputter.output_as_string())
    # The library appends the format header last; readers (and people) look for it first.
    header = ("$schema", "bomFormat", "specVersion", "serialNumber", "version", "metadata")
    ordered = {key: generated[key] for key in header if key in generated}
    ordered.update((key, value) for key, value in generated.items() if key not in ordered)
    text = json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"
    if serial is None:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        derived = uuid.uuid5(_SERIAL_NAMESPACE, digest)
        text = text.replace(f"urn:uuid:{_PLACEHOLDER_SERIAL}", f"urn:uuid:{derived}", 1)
    return text


def validate_cyclonedx(text: str, spec_version: str = "1.6") -> list[str]:
    """Errors of the CycloneDX JSON ``text`` against the library's bundled (offline) schema, one
    line each; empty when valid. The strict schema is used where the library has one."""
    if spec_version not in CYCLONEDX_SPEC_VERSIONS:
        raise UsageError(
            f"unsupported CycloneDX spec version {spec_version!r}: choose one of {', '.join(CYCLONEDX_SPEC_VERSIONS)}"
        )
    try:
        json.loads(text)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator, JsonValidator

    version = SchemaVersion.from_version(spec_version)
    try:
        errors = JsonStrictValidator(version).validate_str(text, all_errors=True)
    except NotImplementedError:  # no strict schema for this version
        errors = JsonValidator(version).validate_str(text, all_errors=True)
    found = []
    for error in errors or ():
        data = error.data
        where = getattr(data, "json_path", "$")
        message = getattr(data, "message", str(data)).splitlines()[0]
        found.append(f"{where}: {message[:300]}")
    return found


# --- SPDX 2.3 -------------------------------------------------------------------------------


def _spdx_ids(inventory: Inventory, components: list[Component]) -> dict[str, str]:
    """bom-ref -> SPDXID, readable (name and version) and unique within the document."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    everyone = ([inventory.root] if inventory.root is not None else []) + components
    for component in everyone:
        base = "SPDXRef-Package-" + _sanitise(f"{component.name}-{component.version}" if component.version else component.name)
        candidate = base
        if candidate in taken:  # same name and version twice (e.g. the project installed as well)
            candidate = f"{base}-{hashlib.sha256(component.bom_ref.encode()).hexdigest()[:8]}"
        counter = 2
        while candidate in taken:
            candidate = f"{base}-{counter}"
            counter += 1
        taken.add(candidate)
        ids[component.bom_ref] = candidate
    return ids


def _spdx_download_location(component: Component) -> str:
    vcs = _vcs_parts(component)
    if vcs is not None and _URL.fullmatch(vcs[1]):
        tool, url, commit, _ = vcs
        # SPDX's VCS form: <vcs>+<transport>://<host>/<path>[@<revision>]
        location = url if url.startswith(f"{tool}+") else f"{tool}+{url}"
        return f"{location}@{commit}" if commit else location
    # Registry installs: which index served them is not recorded, so assert nothing. Local and
    # editable installs have no download location.
    archive = _archive_url(component)
    return archive if archive and _URL.fullmatch(archive) else "NOASSERTION"


def _spdx_package(component: Component, spdx_id: str, *, root: bool) -> dict[str, Any]:
    package: dict[str, Any] = {
        "SPDXID": spdx_id,
        "name": component.display_name or component.name,
    }
    if component.version:
        package["versionInfo"] = component.version
    package["primaryPackagePurpose"] = "APPLICATION" if root else "LIBRARY"
    package["downloadLocation"] = _spdx_download_location(component)
    package["filesAnalyzed"] = False
    if component.homepage and component.homepage.lower().startswith(("http://", "https://")) and _URL.fullmatch(
        component.homepage
    ):
        package["homepage"] = component.homepage
    # NTIA's "supplier name": the maintainers, else the authors; the authors are also the
    # originator. NOASSERTION only when the metadata names nobody (docs/sbom.md).
    package["supplier"] = _spdx_party(component.suppliers)
    if component.authors:
        package["originator"] = _spdx_party(component.authors)
    package["licenseConcluded"] = "NOASSERTION"
    declared, comment = _spdx_declared_license(component)
    package["licenseDeclared"] = declared
    if comment:
        package["licenseComments"] = comment
    package["copyrightText"] = "NOASSERTION"
    if component.summary:
        package["summary"] = component.summary
    if root:
        notes = ["the project under test"]
    else:
        notes = [f"pytest-enterprise scope: {component.scope}", f"install: {component.install}"]
    if component.shadowed:
        notes.append("shadowed (not imported): " + ", ".join(component.shadowed))
    package["comment"] = "; ".join(notes)
    if component.purl:
        package["externalRefs"] = [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": component.purl}
        ]
    return package


def _spdx_declared_license(component: Component) -> tuple[str, str | None]:
    """``(licenseDeclared, licenseComments)``.

    Only a valid SPDX expression without ``LicenseRef-`` goes into licenseDeclared: a
    LicenseRef must come with the license text (hasExtractedLicensingInfos), which the metadata
    does not give. Everything else is NOASSERTION with the declared words kept in the comment.
    """
    source = f"Declared in the package metadata ({component.license_source}): " if component.license_source else (
        "Declared in the package metadata: "
    )
    if component.license_expression:
        expression = _spdx_expression(component.license_expression)
        if expression is not None and "LicenseRef-" not in expression and "DocumentRef-" not in expression:
            return expression, None
        return "NOASSERTION", source + component.license_expression
    if len(component.licenses) == 1:
        # One license string that is exactly an SPDX id is that id; two or more could be
        # alternatives or a combination, and the metadata does not say which.
        expression = _spdx_expression(component.licenses[0].strip())
        if expression is not None and " " not in expression and not expression.startswith(("LicenseRef-", "DocumentRef-")):
            return expression, None
    if component.licenses:
        return "NOASSERTION", source + "; ".join(component.licenses)
    return "NOASSERTION", None


def spdx_json(inventory: Inventory, *, created: datetime | None = None, namespace: str | None = None) -> str:
    """``inventory`` as an SPDX 2.3 JSON document.

    ``created`` defaults to now; ``namespace`` to ``https://pytest-enterprise.invalid/spdx/<name>-<hash>``,
    the hash taken over the document itself, so equal inputs give byte-identical output.
    """
    components = _ordered(inventory)
    ids = _spdx_ids(inventory, components)
    root = inventory.root
    name = f"{root.display_name or root.name}-{root.version}" if root is not None and root.version else (
        root.display_name or root.name if root is not None else "python-environment"
    )

    packages = []
    if root is not None:
        packages.append(_spdx_package(root, ids[root.bom_ref], root=True))
    packages.extend(_spdx_package(c, ids[c.bom_ref], root=False) for c in components)

    relationships = []
    for described in [root] if root is not None else components:
        relationships.append(
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": ids[described.bom_ref]}
        )
    test_scope = {c.bom_ref for c in components if c.scope == "test"}
    root_ref = root.bom_ref if root is not None else None
    for source, target in inventory.edges():
        if source == root_ref and target in test_scope:
            # "A TEST_DEPENDENCY_OF B: A is a test dependency of B" - only the project's own
            # test requirements are that; what they pull in is their (ordinary) dependency.
            relationships.append(
                {"spdxElementId": ids[target], "relationshipType": "TEST_DEPENDENCY_OF", "relatedSpdxElement": ids[source]}
            )
        else:
            relationships.append(
                {"spdxElementId": ids[source], "relationshipType": "DEPENDS_ON", "relatedSpdxElement": ids[target]}
            )

    comment = [f"Python: {inventory.python}"] if inventory.python else []
    if inventory.platform:
        comment.append(f"platform: {inventory.platform}")
    if inventory.problems:
        comment.append("unreadable distributions: " + "; ".join(inventory.problems))
    creation: dict[str, Any] = {
        "created": _utc_seconds(created).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "creators": [f"Tool: {TOOL_NAME}-{_tool_version()}"],
    }
    if comment:
        creation["comment"] = "; ".join(comment)

    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": namespace or "",
        "creationInfo": creation,
        "packages": packages,
        "relationships": relationships,
    }
    if namespace is None:
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()
        document["documentNamespace"] = f"{SPDX_NAMESPACE_BASE}{_sanitise(name)}-{digest[:32]}"
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- entry points ---------------------------------------------------------------------------


def _check_format(format: str) -> str:
    if format not in SBOM_FORMATS:
        raise UsageError(f"unknown SBOM format {format!r}: choose one of {', '.join(SBOM_FORMATS)}")
    return format


def render_sbom(
    inventory: Inventory,
    format: str,
    *,
    spec_version: str = "1.6",
    scan: ScanResult | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """``inventory`` in ``format`` (one of ``SBOM_FORMATS``), created at ``SOURCE_DATE_EPOCH``
    from ``env`` (default: the process environment) when set, else now.

    ``scan`` adds vulnerabilities to CycloneDX; SPDX 2.3 has no place for them and ignores it.
    """
    _check_format(format)
    created = source_date_epoch(env)
    if format == "cyclonedx-json":
        return cyclonedx_json(inventory, spec_version=spec_version, scan=scan, created=created)
    return spdx_json(inventory, created=created)


def sbom_format_from_path(path: str | os.PathLike[str]) -> str | None:
    """The format a file name conventionally holds: ``*.cdx.json``, ``*.cyclonedx.json`` and
    ``bom.json`` are CycloneDX, ``*.spdx.json`` is SPDX; None otherwise."""
    name = Path(path).name.lower()
    if name.endswith((".cdx.json", ".cyclonedx.json")) or name == "bom.json":
        return "cyclonedx-json"
    if name.endswith(".spdx.json"):
        return "spdx-json"
    return None


def write_sbom(
    path: str | os.PathLike[str], inventory: Inventory, format: str | None = None, **options: Any
) -> Path:
    """Render (see ``render_sbom``) and write atomically; ``format`` None takes it from the
    file name (see ``sbom_format_from_path``)."""
    if format is None:
        format = sbom_format_from_path(path)
        if format is None:
            raise UsageError(
                f"{path}: cannot tell the SBOM format from the file name; name it *.cdx.json or "
                "*.spdx.json, or give the format"
            )
    text = render_sbom(inventory, _check_format(format), **options)
    return write_text_atomic(path, text)
