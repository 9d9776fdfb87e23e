"""The supply-chain model: plain, frozen values shared by the inventory, the SBOM writers, the
vulnerability scan and the provenance.

Layered as pip-audit is: an inventory *source* produces an ``Inventory``; a vulnerability
*service* (the offline OSV database) turns it into a ``ScanResult``; *formats* (CycloneDX,
SPDX, JSON, text) render either. None of these values imports a third-party library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SCOPES",
    "SEVERITIES",
    "Component",
    "DatabaseInfo",
    "Dependency",
    "Finding",
    "Ignore",
    "Inventory",
    "Party",
    "ScanResult",
    "Vulnerability",
]

SCOPES = ("root", "runtime", "test")
SEVERITIES = ("unknown", "low", "medium", "high", "critical")  # in rising order
INSTALL_KINDS = ("registry", "editable", "local", "vcs", "archive")


@dataclass(frozen=True)
class Dependency:
    """One requirement a distribution declares (``Requires-Dist``), evaluated here."""

    name: str  # canonical (PEP 503) name of the required distribution
    requirement: str  # the requirement as declared, e.g. 'idna>=2.5; python_version >= "3.8"'
    specifier: str  # e.g. ">=2.5" ("" when any version)
    marker: str | None  # the marker as declared, None when unconditional
    extras: tuple[str, ...] = ()  # extras requested of the required distribution
    via_extra: str | None = None  # the dependent's extra that brings it; None: always
    active: bool = True  # the marker holds in this environment (with ``via_extra`` requested)
    installed: bool = True  # a distribution of that name is installed
    satisfied: bool = True  # the installed version matches ``specifier``


@dataclass(frozen=True)
class Party:
    """A person or organisation named in a distribution's metadata (Author, Maintainer and
    their -email fields), or in pyproject.toml's authors and maintainers."""

    name: str | None
    email: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.email or ""


@dataclass(frozen=True)
class Component:
    """One installed distribution (or the project under test, when ``scope == "root"``)."""

    name: str  # canonical (PEP 503): lower case, runs of -_. as "-"
    display_name: str  # the metadata's Name as written
    version: str
    purl: str  # pkg:pypi/<name>@<version>, with ?vcs_url=... or ?download_url=... for direct installs
    bom_ref: str  # unique within an inventory; the purl unless two components share it
    # One of SCOPES. "test": reachable from a test root (pytest, a pytest11 plugin, the root's
    # test extras) and not from the root's runtime requirements; see docs/inventory.md.
    scope: str = "runtime"
    license_expression: str | None = None  # SPDX expression when the metadata gives one (PEP 639)
    licenses: tuple[str, ...] = ()  # names from classifiers or the License field, when no expression
    license_source: str | None = None  # "License-Expression", "classifier", "License" or None
    summary: str | None = None
    homepage: str | None = None
    dependencies: tuple[Dependency, ...] = ()
    install: str = "registry"  # one of INSTALL_KINDS, from direct_url.json (PEP 610)
    direct_url: Mapping[str, Any] | None = None  # direct_url.json as read, for direct installs
    location: str | None = None  # the .dist-info (or .egg-info) folder
    shadowed: tuple[str, ...] = ()  # locations of same-name distributions Python does not import
    requested_extras: tuple[str, ...] = ()  # extras of this component some dependent asks for
    authors: tuple[Party, ...] = ()  # Author / Author-email
    maintainers: tuple[Party, ...] = ()  # Maintainer / Maintainer-email

    @property
    def suppliers(self) -> tuple[Party, ...]:
        """Who supplies the distribution: its maintainers when named, else its authors
        (docs/sbom.md); empty when the metadata names neither."""
        return self.maintainers or self.authors


@dataclass(frozen=True)
class Inventory:
    """The environment a run tested in: every installed distribution, and the project."""

    components: tuple[Component, ...]  # sorted by (name, version); the root is not among them
    root: Component | None = None  # the project under test, from its pyproject.toml
    python: str = ""  # e.g. "CPython 3.11.7"
    platform: str = ""  # e.g. "Linux-6.1-x86_64"
    interpreter: str = ""  # sys.executable of the environment read
    problems: tuple[str, ...] = ()  # distributions that could not be read, and why

    def by_name(self) -> dict[str, Component]:
        return {component.name: component for component in self.components}

    def edges(self) -> list[tuple[str, str]]:
        """``(from bom_ref, to bom_ref)`` for every active dependency that is installed,
        the root's included; sorted, without duplicates."""
        everyone = ((self.root,) if self.root else ()) + self.components
        by_name = {component.name: component for component in everyone}
        found = set()
        for component in everyone:
            for dependency in component.dependencies:
                target = by_name.get(dependency.name)
                # A package asking for one of its own extras is not an edge to itself.
                if dependency.active and target is not None and target is not component:
                    found.add((component.bom_ref, target.bom_ref))
        return sorted(found)


@dataclass(frozen=True)
class Vulnerability:
    """One OSV advisory, with its aliases grouped (PYSEC, GHSA, CVE)."""

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    severity: str = "unknown"  # one of SEVERITIES
    cvss_vector: str | None = None
    cvss_score: float | None = None
    published: str | None = None
    modified: str | None = None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ignore:
    """A VEX statement from the ignore file: this vulnerability does not affect us, and why."""

    id: str  # the advisory id or any of its aliases
    justification: str
    expires: str | None = None  # RFC 3339 date; after it the finding counts again
    package: str | None = None  # canonical name, or None for every package


@dataclass(frozen=True)
class Finding:
    """A vulnerability that affects an installed component."""

    component: str  # canonical name
    version: str
    bom_ref: str
    vulnerability: Vulnerability
    fixed_versions: tuple[str, ...] = ()  # the lowest fixed versions above the installed one
    ignored: Ignore | None = None  # not-affected, with the justification


@dataclass(frozen=True)
class DatabaseInfo:
    """The OSV database a scan read: where, its fingerprint, and what was skipped."""

    path: str
    fingerprint: str  # sha256 over the sorted (relative path, sha256 of content) of every record
    records: int  # record files in the database
    withdrawn: int = 0  # advisories skipped as withdrawn
    skipped: tuple[tuple[str, str], ...] = ()  # (record, why) for malformed records


@dataclass(frozen=True)
class ScanResult:
    findings: tuple[Finding, ...]  # sorted by (component, vulnerability id)
    database: DatabaseInfo
    scanned: int  # components looked up
    expired_ignores: tuple[Ignore, ...] = ()  # ignore entries past their expiry
    unused_ignores: tuple[Ignore, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()  # e.g. installed versions that are not PEP 440: not matched

    @property
    def active(self) -> tuple[Finding, ...]:
        """Findings that are not ignored."""
        return tuple(finding for finding in self.findings if finding.ignored is None)
