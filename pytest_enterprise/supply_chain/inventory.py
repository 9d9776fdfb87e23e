"""The inventory of the environment a run tested in: every installed distribution, read from
its metadata, the dependency graph between them as this environment evaluates it, and the
project under test as the root.

Two readers, one builder. ``collect_inventory`` reads this interpreter's path;
``collect_inventory_of`` runs another interpreter with a stdlib-only probe. Both produce the
same raw records (the probe's own ``read_distribution``, which this process executes too), and
``_build`` turns records into an ``Inventory``, so the two can only differ in what they read.

The rules (names, purls, licenses, markers, extras, shadowing, scopes) are in
docs/inventory.md.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..errors import InputError
from .model import Component, Dependency, Inventory, Party

__all__ = [
    "LICENSE_FIELD_LIMIT",
    "TEST_EXTRAS",
    "UNKNOWN_VERSION",
    "collect_inventory",
    "collect_inventory_of",
    "pypi_purl",
]

# The root's optional-dependency groups that hold test tooling, by canonical name.
TEST_EXTRAS = frozenset({"test", "tests", "testing", "dev", "bench"})
# A License field longer than this (or spanning lines) is a license text, not a name.
LICENSE_FIELD_LIMIT = 100
# The version of a root whose version is dynamic and which is not installed.
UNKNOWN_VERSION = "0+unknown"

_PROBE_TIMEOUT_DEFAULT = 60

# The probe: stdlib only and Python 3.8 syntax, because it runs in the interpreter being read,
# which cannot import this package. This process executes the same text to read its own
# distributions, so both paths read metadata with one piece of code.
_PROBE = r'''
import email
import json
import os
import platform
import sys
import textwrap
from importlib import metadata

SINGLE = ("Name", "Version", "Summary", "Home-page", "License-Expression", "License",
          "Author", "Author-email", "Maintainer", "Maintainer-email")
MULTIPLE = ("Project-URL", "Classifier", "Requires-Dist")
FILES = ("direct_url.json", "entry_points.txt")


def describe():
    return {
        "python": platform.python_implementation() + " " + platform.python_version(),
        "platform": sys.platform + "-" + platform.machine(),
        "interpreter": sys.executable,
    }


def marker_environment():
    # packaging.markers.default_environment(), which this interpreter need not have.
    info = sys.implementation.version
    implementation_version = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        implementation_version += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def headers(dist):
    # The files dist.metadata reads, in its order, but only up to the first blank line: the
    # long description after it is most of the text and most of the parsing time.
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("")
    if text is None:
        raise ValueError("no METADATA or PKG-INFO")
    return email.message_from_string(text.partition("\n\n")[0])


def unfold(value):
    # As dist.metadata does: continuation lines lose the indentation RFC 822 gave them.
    value = str(value)
    return textwrap.dedent(" " * 8 + value) if "\n" in value else value


def read_distribution(dist):
    location = getattr(dist, "_path", None)
    record = {"location": os.path.abspath(str(location)) if location is not None else None}
    try:
        message = headers(dist)
        fields = {}
        for key in SINGLE:
            value = message.get(key)
            if value is not None:
                fields[key] = unfold(value)
        for key in MULTIPLE:
            values = message.get_all(key)
            if values:
                fields[key] = [unfold(value) for value in values]
        if "Classifier" in fields:
            fields["Classifier"] = [c for c in fields["Classifier"] if c.startswith("License ::")]
        if "Requires-Dist" not in fields and str(location).endswith(".egg-info"):
            # Old egg-info keeps its requirements in requires.txt; this converts them.
            fields["Requires-Dist"] = list(dist.requires or ())
    except Exception as exc:
        record["error"] = "unreadable metadata (%s: %s)" % (type(exc).__name__, exc)
        return record
    record["metadata"] = fields
    for name in FILES:
        try:
            record[name] = dist.read_text(name)
        except Exception as exc:  # read_text already swallows "no such file"
            record["error"] = "unreadable %s (%s: %s)" % (name, type(exc).__name__, exc)
            record[name] = None
    return record


def main():
    # "" is the probe's own script directory (python -c), not part of the environment.
    path = sys.path[1:] if sys.path[:1] == [""] else list(sys.path)
    answer = dict(describe(), environment=marker_environment(), path=path)
    answer["distributions"] = [read_distribution(d) for d in metadata.distributions(path=path)]
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
'''


@functools.cache
def _probe() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "pytest_enterprise_inventory_probe"}
    exec(compile(_PROBE, "<inventory probe>", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------------------------
# Public API


def collect_inventory(
    *,
    paths: Sequence[str] | None = None,
    project_root: Path | None = None,
    environment: Mapping[str, str] | None = None,
) -> Inventory:
    """The inventory of the distributions on ``paths`` (default ``sys.path``), with the
    project at ``project_root`` (its pyproject.toml) as the root, markers evaluated in
    ``environment`` (default: this interpreter's PEP 508 marker environment)."""
    from importlib import metadata

    probe = _probe()
    search = [os.fspath(entry) for entry in (sys.path if paths is None else paths)]
    records = [probe["read_distribution"](dist) for dist in metadata.distributions(path=search)]
    if environment is None:
        from packaging.markers import default_environment

        environment = default_environment()
    return _build(records, environment=environment, facts=probe["describe"](), project_root=project_root)


def collect_inventory_of(
    python: str | os.PathLike[str],
    *,
    project_root: Path | None = None,
    timeout: float = _PROBE_TIMEOUT_DEFAULT,
) -> Inventory:
    """The inventory of another interpreter's environment (an executable, a venv folder, or a
    command on PATH), read by running it on a stdlib-only probe, built here like
    ``collect_inventory``."""
    executable = _resolve_interpreter(python)
    try:
        completed = subprocess.run(
            [executable, "-c", _PROBE],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"{python}: the interpreter did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise InputError(f"{python}: cannot run this interpreter ({exc.strerror or exc})") from None
    if completed.returncode != 0:
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"exit status {completed.returncode}"
        raise InputError(f"{python}: the inventory probe failed ({why})")
    try:
        answer = json.loads(completed.stdout)
        records = answer["distributions"]
        environment = answer["environment"]
        facts = {key: answer[key] for key in ("python", "platform", "interpreter")}
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError("distributions is not a list of records")
        if not isinstance(environment, dict):
            raise TypeError("environment is not an object")
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{python}: unreadable answer from the inventory probe ({exc})") from None
    return _build(records, environment=environment, facts=facts, project_root=project_root)


def pypi_purl(name: str, version: str | None, qualifiers: Mapping[str, str] | None = None) -> str:
    """``pkg:pypi/<name>@<version>?<qualifiers>``, percent-encoded per the purl spec.

    ``name`` should already be canonical. Outside letters, digits and ``.-_~``, every character
    is encoded except ':' (which the spec never encodes) and, in qualifier values, '/' (kept
    by the spec's canonical examples and by packageurl-python). Qualifiers are sorted by key,
    and empty values dropped, as the spec's build procedure says.
    """
    text = "pkg:pypi/" + _purl_encode(name, ":")
    if version:
        text += "@" + _purl_encode(version, ":")
    pairs = sorted((key.lower(), value) for key, value in (qualifiers or {}).items() if value)
    if pairs:
        text += "?" + "&".join(f"{key}={_purl_encode(value, ':/')}" for key, value in pairs)
    return text


def _purl_encode(text: str, safe: str) -> str:
    # urllib's quote never encodes ASCII letters, digits and "_.-~": the spec's allowed set.
    return quote(text, safe=safe, encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Interpreter lookup


def _resolve_interpreter(python: str | os.PathLike[str]) -> str:
    candidate = Path(python)
    if candidate.is_dir():  # a virtual environment
        for inside in (("bin", "python"), ("Scripts", "python.exe")):
            if candidate.joinpath(*inside).exists():
                return str(candidate.joinpath(*inside))
        raise InputError(f"{python}: a folder with neither bin/python nor Scripts/python.exe")
    if candidate.exists():
        return str(candidate)
    text = os.fspath(python)
    if os.sep not in text and (os.altsep is None or os.altsep not in text):
        found = shutil.which(text)
        if found:
            return found
    raise InputError(f"{python}: no such interpreter")


# --------------------------------------------------------------------------------------------
# Raw records → Inventory


@dataclass
class _Edge:
    """One parsed requirement of one node; ``active`` is None until evaluated."""

    raw: str
    name: str
    specifier: Any  # packaging SpecifierSet
    specifier_text: str
    marker: Any  # packaging Marker or None
    marker_text: str | None
    extras: tuple[str, ...]
    via_extra: str | None
    active: bool | None = None


@dataclass
class _Node:
    """A distribution (or the root) while the inventory is built."""

    name: str
    display_name: str
    version: str
    fields: Mapping[str, Any]
    location: str | None = None
    direct_url: str | None = None
    entry_points: str | None = None
    shadowed: list[str] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)
    requested: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.display_name} {self.version}"


def _build(
    records: Iterable[Mapping[str, Any]],
    *,
    environment: Mapping[str, str],
    facts: Mapping[str, str],
    project_root: Path | None,
) -> Inventory:
    from packaging.utils import canonicalize_name

    problems: list[str] = []
    installed: dict[str, _Node] = {}  # canonical name → the distribution Python imports
    for record in records:
        node = _node_from_record(record, problems, canonicalize_name)
        if node is None:
            continue
        first = installed.get(node.name)
        if first is None:
            installed[node.name] = node
        elif node.location is not None:
            first.shadowed.append(node.location)
    for node in installed.values():
        node.edges = _edges(node.fields.get("Requires-Dist", ()), node.label, problems)

    root = _root_node(Path(project_root), installed, problems) if project_root is not None else None
    nodes = dict(installed)  # `installed` keeps the project's installed copy, for satisfied checks
    if root is not None:
        nodes[root.name] = root  # the installed project (if any) is the root, not a component

    _activate(nodes, root, environment, problems)
    test_names = _test_scope(nodes, installed, root)

    components = []
    for name, node in nodes.items():
        if node is not root:
            scope = "test" if name in test_names else "runtime"
            components.append(_component(node, scope, installed, problems))
    components.sort(key=lambda component: (component.name, component.version))
    root_component = _component(root, "root", installed, problems) if root is not None else None
    root_component, components = _unique_bom_refs(root_component, components)
    return Inventory(
        components=tuple(components),
        root=root_component,
        python=facts.get("python", ""),
        platform=facts.get("platform", ""),
        interpreter=facts.get("interpreter", ""),
        problems=tuple(sorted(set(problems))),
    )


def _node_from_record(record: Mapping[str, Any], problems: list[str], canonicalize_name: Any) -> _Node | None:
    location = record.get("location")
    where = location or "a distribution"
    fields = record.get("metadata")
    if record.get("error"):
        problems.append(f"{where}: {record['error']}")
    if not isinstance(fields, Mapping):
        return None
    name, version = fields.get("Name"), fields.get("Version")
    if not name or not version:
        problems.append(f"{where}: metadata without {'Name' if not name else 'Version'}; skipped")
        return None
    return _Node(
        name=canonicalize_name(name),
        display_name=name,
        version=version,
        fields=fields,
        location=location,
        direct_url=record.get("direct_url.json"),
        entry_points=record.get("entry_points.txt"),
    )


@functools.lru_cache(maxsize=8192)
def _parse_requirement(raw: str) -> tuple[Any, ...] | str:
    """``(name, specifier, specifier text, marker, marker text, extras, extras named in the
    marker)`` for a PEP 508 string, or the one-line reason it is malformed. Cached: the same
    strings recur in every inventory of an environment."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        requirement = Requirement(raw)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]
    marker_text = str(requirement.marker) if requirement.marker is not None else None
    found = (left or right for left, right in _EXTRA_IN_MARKER.findall(marker_text or ""))
    named = tuple(dict.fromkeys(canonicalize_name(extra) for extra in found if extra))
    return (
        canonicalize_name(requirement.name),
        requirement.specifier,
        str(requirement.specifier),
        requirement.marker,
        marker_text,
        tuple(sorted({canonicalize_name(extra) for extra in requirement.extras})),
        named,
    )


# packaging writes markers with double quotes: extra == "x" (or, rarely, "x" == extra).
_EXTRA_IN_MARKER = re.compile(r'\bextra\s*==\s*"([^"]*)"|"([^"]*)"\s*==\s*extra\b')


def _edges(requirements: Iterable[str], owner: str, problems: list[str], *, group: str | None = None) -> list[_Edge]:
    """Parsed edges of ``owner``; a marker naming several extras gives one edge per extra.
    ``group`` is the pyproject optional-dependency group the strings come from."""
    edges = []
    for raw in requirements:
        raw = raw.strip()
        parsed = _parse_requirement(raw)
        if isinstance(parsed, str):
            problems.append(f"{owner}: malformed requirement {raw!r} ({parsed})")
            continue
        name, specifier, specifier_text, marker, marker_text, extras, named = parsed
        for via_extra in (group,) if group is not None else (named or (None,)):
            edges.append(_Edge(raw, name, specifier, specifier_text, marker, marker_text, extras, via_extra))
    return edges


def _activate(nodes: dict[str, _Node], root: _Node | None, environment: Mapping[str, str], problems: list[str]) -> None:
    """Evaluate every edge's marker, following extras only as far as they are requested.

    Edges without an extra are evaluated with ``extra = ""``; an edge brought by extra E is
    active when some active edge (or the root) requests E of its node and its marker holds
    with ``extra = E``. The root requests all its own extras. A worklist of (node, extra)
    reaches the fixpoint in one pass over each edge.
    """
    evaluated: dict[tuple[str | None, str], bool] = {}

    def holds(edge: _Edge, extra: str, owner: _Node) -> bool:
        if edge.marker is None:
            return True
        key = (edge.marker_text, extra)
        if key not in evaluated:
            try:
                evaluated[key] = bool(edge.marker.evaluate({**environment, "extra": extra}))
            except Exception as exc:  # undefined comparisons and names
                problems.append(f"{owner.label}: cannot evaluate marker {edge.marker_text!r} ({exc})")
                evaluated[key] = False
        return evaluated[key]

    pending: list[tuple[str, str]] = []

    def follow(edge: _Edge, extra: str, owner: _Node) -> None:
        edge.active = holds(edge, extra, owner)
        target = nodes.get(edge.name)
        if edge.active and target is not None:
            for wanted in edge.extras:
                if wanted not in target.requested:
                    target.requested.add(wanted)
                    pending.append((target.name, wanted))

    if root is not None:
        for extra in sorted({edge.via_extra for edge in root.edges if edge.via_extra is not None}):
            root.requested.add(extra)
            pending.append((root.name, extra))
    for node in nodes.values():
        for edge in node.edges:
            if edge.via_extra is None:
                follow(edge, "", node)
            else:
                edge.active = False  # until its extra is requested
    while pending:
        name, extra = pending.pop()
        node = nodes[name]
        for edge in node.edges:
            if edge.via_extra == extra:
                follow(edge, extra, node)


def _test_scope(nodes: dict[str, _Node], installed: dict[str, _Node], root: _Node | None) -> set[str]:
    """Names reachable from a test root and from no runtime component.

    Test roots: pytest, every distribution with a pytest11 entry point, and the targets of
    the root's TEST_EXTRAS groups. Runtime roots: the targets of the root's other edges, and
    every distribution no test root reaches (it is runtime by default, so what it depends on
    must be too). Hence a runtime component never depends on a test-scoped one.
    """
    graph = {
        name: [e.name for e in node.edges if e.active and e.name in installed and e.name in nodes]
        for name, node in nodes.items()
        if node is not root
    }
    test_roots = [name for name in ("pytest",) if name in graph]
    test_roots += [name for name, node in nodes.items() if node is not root and _has_pytest_plugin(node.entry_points)]
    runtime_roots = []
    if root is not None:
        for edge in root.edges:
            if edge.active and edge.name in graph:
                (test_roots if edge.via_extra in TEST_EXTRAS else runtime_roots).append(edge.name)
    for_tests = _reachable(graph, test_roots)
    runtime_roots += [name for name in graph if name not in for_tests]
    return for_tests - _reachable(graph, runtime_roots)


def _reachable(graph: Mapping[str, list[str]], starts: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
    return seen


def _has_pytest_plugin(entry_points: str | None) -> bool:
    """Whether entry_points.txt declares a ``[pytest11]`` entry point."""
    if not entry_points or "pytest11" not in entry_points:
        return False
    section = None
    for line in entry_points.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == "pytest11" and "=" in line and not line.startswith(("#", ";")):
            return True
    return False


# --------------------------------------------------------------------------------------------
# Components


def _component(node: _Node, scope: str, installed: Mapping[str, _Node], problems: list[str]) -> Component:
    fields = node.fields
    install, direct_url = _install_kind(node, problems)
    expression, licenses, source = _licenses(
        fields.get("License-Expression"), fields.get("Classifier", ()), fields.get("License")
    )
    return Component(
        name=node.name,
        display_name=node.display_name,
        version=node.version,
        purl=pypi_purl(node.name, node.version, _purl_qualifiers(install, direct_url)),
        bom_ref="",  # set by _unique_bom_refs
        scope=scope,
        license_expression=expression,
        licenses=licenses,
        license_source=source,
        summary=_meaningful(fields.get("Summary")),
        homepage=_homepage(fields),
        dependencies=tuple(_dependency(edge, installed, node, problems) for edge in node.edges),
        install=install,
        direct_url=direct_url,
        location=node.location,
        shadowed=tuple(node.shadowed),
        requested_extras=tuple(sorted(node.requested)) if scope != "root" else (),
        authors=_parties(fields.get("Author"), fields.get("Author-email")),
        maintainers=_parties(fields.get("Maintainer"), fields.get("Maintainer-email")),
    )


def _parties(names: Any, emails: Any) -> tuple[Party, ...]:
    """The people or organisations of one metadata role from its two fields.

    ``Author-email`` is an address list (``"A <a@x>, b@y"``, as PEP 621 tools write it);
    ``Author`` free text. A name field beside a single nameless address names that address;
    otherwise a name field the addresses do not already carry is a party of its own.
    """
    from email.utils import getaddresses

    name = _meaningful(names)
    text = _meaningful(emails)
    found = [(n.strip() or None, a.strip()) for n, a in getaddresses([text])] if text else []
    parties = [Party(n, a or None) for n, a in found if a or n]
    if name is not None:
        if len(parties) == 1 and parties[0].name is None:
            return (Party(name, parties[0].email),)
        if all(party.name != name for party in parties):
            parties.insert(0, Party(name, None))
    return tuple(parties)


def _dependency(edge: _Edge, installed: Mapping[str, _Node], owner: _Node, problems: list[str]) -> Dependency:
    target = installed.get(edge.name)
    satisfied = False
    if target is not None:
        satisfied = True
        if edge.specifier_text:
            satisfied = _satisfies(edge, target, owner, problems)
    return Dependency(
        name=edge.name,
        requirement=edge.raw,
        specifier=edge.specifier_text,
        marker=edge.marker_text,
        extras=edge.extras,
        via_extra=edge.via_extra,
        active=bool(edge.active),
        installed=target is not None,
        satisfied=satisfied,
    )


def _satisfies(edge: _Edge, target: _Node, owner: _Node, problems: list[str]) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        version = Version(target.version)
    except InvalidVersion:
        problems.append(f"{target.label}: not a PEP 440 version; cannot check {owner.label}'s {edge.raw!r}")
        return False
    return edge.specifier.contains(version, prereleases=True)


def _unique_bom_refs(root: Component | None, components: list[Component]) -> tuple[Component | None, list[Component]]:
    """Give every component its purl as bom_ref, with ``#2``, ``#3``... on repeats."""
    from dataclasses import replace

    seen: dict[str, int] = {}

    def unique(component: Component) -> Component:
        count = seen.get(component.purl, 0) + 1
        seen[component.purl] = count
        return replace(component, bom_ref=component.purl if count == 1 else f"{component.purl}#{count}")

    return (unique(root) if root is not None else None), [unique(c) for c in components]


def _install_kind(node: _Node, problems: list[str]) -> tuple[str, Mapping[str, Any] | None]:
    """PEP 610: how the distribution was installed, and direct_url.json as read."""
    if node.direct_url is None:
        return "registry", None
    try:
        data = json.loads(node.direct_url)
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            raise ValueError("no url")
        for key in ("dir_info", "vcs_info", "archive_info"):
            if key in data and not isinstance(data[key], dict):
                raise ValueError(f"{key} is not an object")
    except ValueError as exc:
        problems.append(f"{node.label}: malformed direct_url.json ({exc}); counted as a registry install")
        return "registry", None
    # PEP 610 asks installers to strip credentials; not every one does, and the URL goes into
    # the purl, the SBOM and the provenance (docs/redaction.md).
    from ..redact import redact_url

    data["url"] = redact_url(data["url"])
    if "vcs_info" in data:
        return "vcs", data
    if "archive_info" in data:
        return "archive", data
    if "dir_info" in data:
        return ("editable" if data["dir_info"].get("editable") is True else "local"), data
    return "registry", data


def _purl_qualifiers(install: str, direct_url: Mapping[str, Any] | None) -> dict[str, str]:
    if direct_url is None or install == "registry":
        return {}
    url = direct_url["url"]
    if install == "vcs":
        info = direct_url["vcs_info"]
        vcs, commit = info.get("vcs"), info.get("commit_id")
        prefixed = url if not isinstance(vcs, str) or url.startswith(f"{vcs}+") else f"{vcs}+{url}"
        return {"vcs_url": f"{prefixed}@{commit}" if isinstance(commit, str) and commit else prefixed}
    return {"download_url": url}


# --------------------------------------------------------------------------------------------
# Licenses and other metadata


# License classifiers (their last segment) that name exactly one SPDX license. Classifiers
# naming a family without a version (Apache Software License, BSD License, GNU General Public
# License (GPL), Python Software Foundation License...) are kept as written.
_SPDX_BY_CLASSIFIER = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "The Unlicense (Unlicense)": "Unlicense",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Zero-Clause BSD (0BSD)": "0BSD",
    "Mozilla Public License 1.0 (MPL)": "MPL-1.0",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Eclipse Public License 1.0 (EPL-1.0)": "EPL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "European Union Public Licence 1.0 (EUPL 1.0)": "EUPL-1.0",
    "European Union Public Licence 1.1 (EUPL 1.1)": "EUPL-1.1",
    "European Union Public Licence 1.2 (EUPL 1.2)": "EUPL-1.2",
    "Common Development and Distribution License 1.0 (CDDL-1.0)": "CDDL-1.0",
    "Universal Permissive License (UPL)": "UPL-1.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "PostgreSQL License": "PostgreSQL",
    "Microsoft Public License": "MS-PL",
    "Microsoft Reciprocal License": "MS-RL",
    "Open Software License 3.0 (OSL-3.0)": "OSL-3.0",
    "SIL Open Font License 1.1 (OFL-1.1)": "OFL-1.1",
    "Blue Oak Model License (BlueOak-1.0.0)": "BlueOak-1.0.0",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}
# Classifiers that are categories, not licenses.
_LICENSE_CATEGORIES = {"OSI Approved", "DFSG approved"}


def _licenses(
    expression: str | None, classifiers: Iterable[str], license_field: str | None
) -> tuple[str | None, tuple[str, ...], str | None]:
    """``(license_expression, licenses, license_source)`` by PEP 639 precedence:
    License-Expression, else License classifiers, else a short License field."""
    expression = (expression or "").strip()
    if expression:
        return expression, (), "License-Expression"
    names: dict[str, None] = {}
    for classifier in classifiers:
        segments = [segment.strip() for segment in classifier.split("::")]
        if len(segments) >= 2 and segments[0] == "License" and segments[-1] not in _LICENSE_CATEGORIES:
            names[_SPDX_BY_CLASSIFIER.get(segments[-1], segments[-1])] = None
    if names:
        return None, tuple(names), "classifier"
    text = _meaningful(license_field)
    if text and "\n" not in text and len(text) <= LICENSE_FIELD_LIMIT:
        return None, (text,), "License"
    return None, (), None


def _meaningful(value: Any) -> str | None:
    """The value stripped, or None when empty or the old setuptools placeholder UNKNOWN."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and value != "UNKNOWN" else None


def _homepage(fields: Mapping[str, Any]) -> str | None:
    homepage = _meaningful(fields.get("Home-page"))
    if homepage:
        return homepage
    for entry in fields.get("Project-URL", ()):
        label, _, url = entry.partition(",")
        # Labels compare as PEP 753 normalises them: lower case, no punctuation or spaces.
        if re.sub(r"[^a-z0-9]", "", label.lower()) == "homepage" and url.strip():
            return url.strip()
    return None


# --------------------------------------------------------------------------------------------
# The project under test


def _root_node(project_root: Path, installed: dict[str, _Node], problems: list[str]) -> _Node | None:
    """The project from ``project_root/pyproject.toml``, taking over its installed copy."""
    from packaging.utils import canonicalize_name

    path = project_root / "pyproject.toml"
    data = _read_toml(path, problems)
    if data is None:
        return None
    project = data.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str) or not project["name"].strip():
        problems.append(f"{path}: no [project] name; the inventory has no root component")
        return None
    display_name = project["name"].strip()
    name = canonicalize_name(display_name)
    dynamic = project.get("dynamic") if isinstance(project.get("dynamic"), list) else []
    copy = installed.get(name)

    version = project.get("version")
    if not isinstance(version, str) or not version.strip():
        version = copy.version if copy is not None else UNKNOWN_VERSION
    elif copy is not None and copy.version != version.strip():
        problems.append(f"{path}: version {version.strip()} but {copy.label} is installed")
    version = version.strip()

    node = _Node(name=name, display_name=display_name, version=version, fields=_root_fields(project, path, problems))
    if copy is not None:
        node.location, node.direct_url, node.shadowed = copy.location, copy.direct_url, copy.shadowed

    if copy is not None and ("dependencies" in dynamic or "optional-dependencies" in dynamic):
        # Only the built metadata knows dynamic requirements; it marks extras itself.
        node.edges = copy.edges
    else:
        node.edges = _edges(_strings(project.get("dependencies"), path, "dependencies", problems), node.label, problems)
        groups = project.get("optional-dependencies")
        if groups is not None and not isinstance(groups, dict):
            problems.append(f"{path}: optional-dependencies is not a table; ignored")
            groups = {}
        for group, requirements in sorted((groups or {}).items()):
            where = f"optional-dependencies.{group}"
            strings = _strings(requirements, path, where, problems)
            node.edges += _edges(strings, node.label, problems, group=canonicalize_name(group))
    return node


def _root_fields(project: Mapping[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    """The project table mapped onto the metadata fields the components are read from."""
    fields: dict[str, Any] = {}
    license_value = project.get("license")
    if isinstance(license_value, str):
        fields["License-Expression"] = license_value
    elif isinstance(license_value, dict) and isinstance(license_value.get("text"), str):
        fields["License"] = license_value["text"]
    classifiers = project.get("classifiers")
    if isinstance(classifiers, list):
        fields["Classifier"] = [c for c in classifiers if isinstance(c, str) and c.startswith("License ::")]
    if isinstance(project.get("description"), str):
        fields["Summary"] = project["description"]
    for role, header in (("authors", "Author"), ("maintainers", "Maintainer")):
        # As PEP 621 maps them to core metadata: a name alone goes to Author, a name with an
        # email (or an email alone) to Author-email as "name <email>".
        names, addresses = [], []
        for entry in project.get(role) if isinstance(project.get(role), list) else ():
            if not isinstance(entry, dict):
                continue
            person, email = entry.get("name"), entry.get("email")
            if isinstance(email, str) and email.strip():
                addresses.append(f"{person.strip()} <{email.strip()}>" if isinstance(person, str) and person.strip() else email.strip())
            elif isinstance(person, str) and person.strip():
                names.append(person.strip())
        if names:
            fields[header] = ", ".join(names)
        if addresses:
            fields[header + "-email"] = ", ".join(addresses)
    urls = project.get("urls")
    if isinstance(urls, dict):
        fields["Project-URL"] = [f"{label}, {url}" for label, url in urls.items() if isinstance(url, str)]
    return fields


def _strings(value: Any, path: Path, where: str, problems: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.append(f"{path}: {where} is not a list of strings; ignored")
        return []
    return value


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # not a dependency, but used when present
        except ImportError:
            problems.append(f"{path}: reading it needs Python 3.11 (tomllib); the inventory has no root component")
            return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.append(f"{path}: not found; the inventory has no root component")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML ({exc})") from None
