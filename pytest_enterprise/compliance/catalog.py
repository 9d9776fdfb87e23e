"""Control catalogs and control references: which IDs exist, and what ``"CC6.1"`` means.

A catalog is one framework's list of controls, read from YAML: the four built in
(``catalogs/*.yaml``, package data) or a custom framework file a project names in its config.
Both use one format::

    framework: iso27001            # id: lowercase letters, digits and '-'
    name: ISO/IEC 27001:2022 Annex A
    version: "2022"
    source: "where the IDs and titles come from"
    controls:
      - id: A.5.1
        title: Policies for information security
        family: A.5 Organizational controls
        # optional: status: active|withdrawn (default active); replaced_by: [ids];
        #           level: <string> (default control); assessable: true|false (default true)

``ControlResolver`` turns what a test mark or a waiver says (``"iso27001:A.5.15"``,
``"Art.32(1)(a)"``, ``"PR.AA-01"``) into a ``ControlRef``, or an error that names the closest
match, the replacement of a withdrawn ID, or the subcategories of a category.

Pure Python, no pytest. PyYAML is imported only when a catalog is read.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import dotted_path
from ..config import show_value as _show
from ..errors import ConfigError, InputError

__all__ = [
    "BUILTIN_FRAMEWORKS",
    "FRAMEWORK_ALIASES",
    "Catalog",
    "Control",
    "ControlRef",
    "ControlResolver",
    "UnknownControlError",
    "WithdrawnControlError",
    "builtin_catalog",
    "framework_name",
    "load_catalog_file",
]

BUILTIN_FRAMEWORKS = ("soc2", "iso27001", "nist-csf", "gdpr")
FRAMEWORK_ALIASES = {"soc2-type2": "soc2"}  # a config may name soc2-type2; it is the same catalog
# The one name every output prints for a framework (the guide's); every alias is accepted as input.
# The catalog keeps its file id (``soc2``), shown only where a field says "catalog".
_PRINTED_NAMES = {"soc2": "soc2-type2"}


def framework_name(framework: str) -> str:
    """The name to print for a framework id or alias: ``soc2`` and ``soc2-type2`` both give
    ``soc2-type2``; any other id is its own name."""
    return _PRINTED_NAMES.get(framework, framework)

STATUSES = ("active", "withdrawn")
FRAMEWORK_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP_KEYS = ("framework", "name", "version", "source", "controls")
_CONTROL_KEYS = ("id", "title", "family", "status", "replaced_by", "level", "assessable")
# "Art.32", "Art. 32", "Art 32", "Article 32", each optionally followed by "(1)(a)" paragraphs.
_ARTICLE = re.compile(r"(?:Art\.?|Article)\s*([1-9][0-9]*)((?:\s*\(\s*[0-9A-Za-z]+\s*\))*)")
_PARAGRAPH = re.compile(r"\(\s*([0-9A-Za-z]+)\s*\)")
_CHILDREN_SHOWN = 8
_CLOSEST_SHOWN = 3


class UnknownControlError(InputError):
    """A control reference names no assessable control: unknown, ambiguous, or a category."""


class WithdrawnControlError(InputError):
    """A control reference names a withdrawn control; the message names its replacement."""


@dataclass(frozen=True, slots=True)
class Control:
    """One catalog entry. ``level`` is ``control`` except in NIST CSF (function, category,
    subcategory); only active, assessable entries can be tied to tests."""

    id: str
    title: str
    family: str
    status: str = "active"  # "active" | "withdrawn"
    replaced_by: tuple[str, ...] = ()
    level: str = "control"
    assessable: bool = True

    @property
    def in_scope(self) -> bool:
        """Active and assessable: a control that tests can evidence."""
        return self.status == "active" and self.assessable


@dataclass(frozen=True)
class Catalog:
    """One framework: every entry, withdrawn and non-assessable ones included, in file order."""

    framework: str
    name: str
    version: str
    source: str
    controls: dict[str, Control]

    def assessable(self) -> list[Control]:
        """The in-scope controls (active and assessable), in file order."""
        return [control for control in self.controls.values() if control.in_scope]

    def search(self, text: str) -> list[Control]:
        """Entries whose id, title or family contains ``text`` (ignoring case); active first."""
        needle = text.casefold().strip()
        found = [
            control
            for control in self.controls.values()
            if needle in control.id.casefold()
            or needle in control.title.casefold()
            or needle in control.family.casefold()
        ]
        return sorted(found, key=lambda control: control.status != "active")  # stable: file order kept

    def children(self, control_id: str) -> list[Control]:
        """The active entries directly under ``control_id`` (those whose family it is)."""
        return [
            control
            for control in self.controls.values()
            if control.family == control_id and control.id != control_id and control.status == "active"
        ]

    def assessable_under(self, control_id: str) -> list[Control]:
        """The in-scope controls below a non-assessable entry (a NIST function or category)."""
        found: list[Control] = []
        pending = [control_id]
        seen = {control_id}
        while pending:
            for child in self.children(pending.pop(0)):
                if child.id in seen:
                    continue
                seen.add(child.id)
                if child.in_scope:
                    found.append(child)
                else:
                    pending.append(child.id)
        order = {control_id: index for index, control_id in enumerate(self.controls)}
        return sorted(found, key=lambda control: order[control.id])


@dataclass(frozen=True, slots=True)
class ControlRef:
    """A resolved reference: ``ref`` is the text as written after normalisation
    (``Art.32(1)(a)``), ``control_id`` the canonical assessable control (``Art.32``)."""

    framework: str  # catalog framework id, e.g. "gdpr" (never an alias)
    control_id: str
    ref: str


# --- loading -----------------------------------------------------------------------------------

ErrorFactory = Callable[[tuple[Any, ...], str], ConfigError]


def builtin_catalog(framework: str) -> Catalog:
    """The built-in catalog ``framework`` (or an alias of it), read once per process."""
    key = framework.strip().lower() if isinstance(framework, str) else ""
    key = FRAMEWORK_ALIASES.get(key, key)
    if key not in BUILTIN_FRAMEWORKS:
        known = ", ".join(BUILTIN_FRAMEWORKS)
        aliases = ", ".join(f"{alias} (= {target})" for alias, target in FRAMEWORK_ALIASES.items())
        raise ConfigError(f"unknown built-in framework {framework!r}; known: {known}; aliases: {aliases}")
    return _load_builtin(key)


@functools.cache
def _load_builtin(framework: str) -> Catalog:
    from importlib.resources import files

    import yaml

    name = f"catalogs/{framework}.yaml"
    text = (files(__package__) / "catalogs" / f"{framework}.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)

    def error(path: tuple[Any, ...], problem: str) -> ConfigError:
        return ConfigError(f"built-in catalog {name}: {_dotted(path)}: {problem} (a packaging bug)")

    catalog = _build(data, error)
    if catalog.framework != framework:
        raise error(("framework",), f"says {catalog.framework!r}, expected {framework!r}")
    return catalog


def load_catalog_file(path: Path) -> Catalog:
    """A custom framework file. Every problem is a ``ConfigError`` reading
    ``file:line: key: problem``."""
    from ..config import read_yaml_document

    data, source = read_yaml_document(Path(path), "framework file")
    return _build(data, source.error)


def _build(data: Any, error: ErrorFactory) -> Catalog:
    """Check a parsed catalog document and build the ``Catalog``; ``error(path, problem)``
    makes the exception for the key at ``path``."""
    if not isinstance(data, dict):
        raise error((), f"expected a mapping with keys {', '.join(_TOP_KEYS)}, got {_describe(data)}")
    _reject_unknown(data, _TOP_KEYS, (), error)

    framework = data.get("framework")
    if framework is None:
        raise error((), "framework: missing; give the framework id, e.g. framework: my-policies")
    if not isinstance(framework, str) or not FRAMEWORK_ID.fullmatch(framework):
        raise error(
            ("framework",),
            f"{_show(framework)} is not a framework id: use lowercase letters, digits and '-', e.g. my-policies",
        )
    name = data.get("name")
    if name is None:
        raise error((), "name: missing; give the framework's display name")
    if not isinstance(name, str) or not name.strip():
        raise error(("name",), f"expected a non-empty string, got {_describe(name)}")
    version = _text(data, "version", error)
    source = _text(data, "source", error)

    entries = data.get("controls")
    if entries is None:
        raise error((), "controls: missing; list the framework's controls")
    if not isinstance(entries, list) or not entries:
        raise error(("controls",), f"expected a non-empty list of controls, got {_describe(entries)}")

    controls: dict[str, Control] = {}
    first_at: dict[str, int] = {}
    pending: list[tuple[int, Control]] = []
    for index, entry in enumerate(entries):
        control = _control(entry, ("controls", index), error)
        if control.id in controls:
            raise error(
                ("controls", index, "id"),
                f"duplicate id {control.id!r} (first at controls[{first_at[control.id]}])",
            )
        controls[control.id] = control
        first_at[control.id] = index
        pending.append((index, control))

    for index, control in pending:  # replaced_by may point forward, so check once all are known
        where = ("controls", index, "replaced_by")
        for position, target in enumerate(control.replaced_by):
            if target == control.id:
                raise error(where + (position,), f"{control.id!r} cannot replace itself")
            successor = controls.get(target)
            if successor is None:
                raise error(where + (position,), f"unknown id {target!r}{_closest_hint(target, list(controls))}")
            if successor.status != "active":
                raise error(where + (position,), f"{target!r} is itself withdrawn; name an active control")
    return Catalog(framework=framework, name=name.strip(), version=version, source=source, controls=controls)


def _control(entry: Any, path: tuple[Any, ...], error: ErrorFactory) -> Control:
    if not isinstance(entry, dict):
        raise error(path, f"expected a mapping with id, title and family, got {_describe(entry)}")
    _reject_unknown(entry, _CONTROL_KEYS, path, error)
    control_id = entry.get("id")
    if control_id is None:
        raise error(path, "id: missing")
    if not isinstance(control_id, str) or not control_id.strip():
        raise error(path + ("id",), f"expected a non-empty string, got {_describe(control_id)}")
    if control_id != control_id.strip() or any(char.isspace() for char in control_id) or ":" in control_id:
        raise error(path + ("id",), f"{control_id!r}: an id cannot hold whitespace or ':'")
    title = entry.get("title")
    if title is None:
        raise error(path, f"title: missing for {control_id!r}")
    if not isinstance(title, str):
        raise error(path + ("title",), f"expected a string, got {_describe(title)}")
    family = entry.get("family", "")
    if not isinstance(family, str):
        raise error(path + ("family",), f"expected a string, got {_describe(family)}")
    status = entry.get("status", "active")
    if status not in STATUSES:
        raise error(path + ("status",), f"{_show(status)} is not a status; use active or withdrawn")
    replaced_by = entry.get("replaced_by", [])
    if replaced_by is None:
        replaced_by = []
    if not isinstance(replaced_by, list) or not all(isinstance(item, str) and item for item in replaced_by):
        raise error(path + ("replaced_by",), f"expected a list of control ids, got {_show(replaced_by)}")
    if status == "withdrawn" and not replaced_by:
        raise error(path + ("status",), f"{control_id!r} is withdrawn: name its replacement in replaced_by")
    if status == "active" and replaced_by:
        raise error(path + ("replaced_by",), f"{control_id!r} is active: only a withdrawn control has replaced_by")
    level = entry.get("level", "control")
    if not isinstance(level, str) or not level.strip():
        raise error(path + ("level",), f"expected a non-empty string, got {_describe(level)}")
    assessable = entry.get("assessable", True)
    if not isinstance(assessable, bool):
        raise error(path + ("assessable",), f"expected true or false, got {_describe(assessable)}")
    return Control(
        id=control_id,
        title=" ".join(title.split()),
        family=family.strip(),
        status=status,
        replaced_by=tuple(dict.fromkeys(replaced_by)),
        level=level.strip(),
        assessable=assessable,
    )


def _text(data: Mapping[str, Any], key: str, error: ErrorFactory) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise error((key,), f"expected a string, got {_describe(value)}")
    return str(value).strip()


def _reject_unknown(
    data: dict[Any, Any], allowed: tuple[str, ...], path: tuple[Any, ...], error: ErrorFactory
) -> None:
    for key in data:
        if key not in allowed:
            word = key if isinstance(key, str) else str(key)
            close = difflib.get_close_matches(word.lower(), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"
            raise error(path + (key,), f"unknown key {_show(key)}; {hint}")


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    nouns = ((int, "integer"), (float, "number"), (str, "string"), (list, "list"), (dict, "mapping"))
    for kind, noun in nouns:
        if isinstance(value, kind):
            return f"{noun} {_show(value)}"
    return f"{type(value).__name__} {_show(value)}"


def _dotted(path: tuple[Any, ...]) -> str:
    return dotted_path(path) or "(document)"


def _closest_hint(word: str, candidates: list[str]) -> str:
    close = _closest(word, candidates)
    return f"; closest: {', '.join(close)}" if close else ""


# --- resolving references ----------------------------------------------------------------------


class ControlResolver:
    """Resolves control references against a set of catalogs. Results (and errors) are cached
    per input string, so resolving the same reference again is a dict lookup."""

    def __init__(self, catalogs: Iterable[Catalog]) -> None:
        self._catalogs: dict[str, Catalog] = {}
        for catalog in catalogs:
            if catalog.framework in self._catalogs:
                if self._catalogs[catalog.framework] is catalog:
                    continue
                raise ConfigError(f"framework id {catalog.framework!r} is given by two catalogs")
            self._catalogs[catalog.framework] = catalog
        self._prefixes: dict[str, Catalog] = {
            alias: self._catalogs[target]
            for alias, target in FRAMEWORK_ALIASES.items()
            if target in self._catalogs and alias not in self._catalogs
        }
        self._prefixes.update(self._catalogs)  # a real framework id wins over an alias
        self._cache: dict[str, ControlRef | tuple[type[InputError], str]] = {}

    @property
    def catalogs(self) -> list[Catalog]:
        return list(self._catalogs.values())

    def resolve(self, text: str) -> ControlRef:
        """The control ``text`` names: ``ID`` or ``framework:ID``.

        Raises ``WithdrawnControlError`` for a withdrawn ID (naming its replacement) and
        ``UnknownControlError`` for anything else that is not an assessable control.
        """
        if not isinstance(text, str):
            raise UnknownControlError(f"a control reference is a string such as 'CC6.1', not {_describe(text)}")
        cached = self._cache.get(text)
        if cached is None:
            try:
                cached = self._resolve(text)
            except (UnknownControlError, WithdrawnControlError) as error:
                cached = (type(error), str(error))
            if len(self._cache) < 100_000:  # bounded: arbitrary input cannot grow it forever
                self._cache[text] = cached
        if isinstance(cached, ControlRef):
            return cached
        kind, message = cached
        raise kind(message)

    def _resolve(self, text: str) -> ControlRef:
        written = text.strip()
        if not written:
            raise UnknownControlError("empty control reference; write an ID such as 'CC6.1' or 'iso27001:A.5.15'")
        candidates = list(self._catalogs.values())
        prefix = None
        if ":" in written:
            prefix, _, written = written.partition(":")
            prefix, written = prefix.strip().lower(), written.strip()
            catalog = self._prefixes.get(prefix)
            if not prefix:
                raise UnknownControlError(
                    f"no framework before ':' in {text.strip()!r}; known: {', '.join(self._known_prefixes())}"
                )
            if catalog is None:
                raise UnknownControlError(
                    f"unknown framework {prefix!r} in {text.strip()!r}; known: {', '.join(self._known_prefixes())}"
                )
            candidates = [catalog]
            if not written:
                raise UnknownControlError(f"{text.strip()!r} names no control after {prefix + ':'!r}")

        control_id, ref = written, written
        matches = _lookup(candidates, written)
        if not matches:
            article = _ARTICLE.fullmatch(written)
            if article:
                control_id = f"Art.{article.group(1)}"
                paragraphs = "".join(f"({part})" for part in _PARAGRAPH.findall(article.group(2)))
                ref = control_id + paragraphs
                matches = _lookup(candidates, control_id)
        if not matches:
            raise UnknownControlError(self._unknown(written, candidates, prefix))
        if len(matches) > 1:
            where = ", ".join(framework_name(catalog.framework) for catalog, _ in matches)
            example = f"{framework_name(matches[0][0].framework)}:{written}"
            raise UnknownControlError(
                f"ambiguous control {written!r}: it is in {where}; write fw:ID to pick one, e.g. {example!r}"
            )
        catalog, control = matches[0]
        if control.status == "withdrawn":
            raise WithdrawnControlError(
                f"{control.id} was withdrawn in {catalog.name}; use {_successors(catalog, control)} instead"
            )
        if not control.assessable:
            raise UnknownControlError(_not_assessable(catalog, control))
        return ControlRef(framework=catalog.framework, control_id=control.id, ref=ref)

    def _known_prefixes(self) -> list[str]:
        known = list(self._catalogs)
        aliases = [(alias, catalog) for alias, catalog in self._prefixes.items() if alias not in known]
        known += [f"{alias} (= {catalog.framework})" for alias, catalog in aliases]
        return known

    def _unknown(self, written: str, candidates: list[Catalog], prefix: str | None) -> str:
        where = f" in {framework_name(candidates[0].framework)}" if prefix is not None else ""
        ids = [control.id for catalog in candidates for control in catalog.assessable()]
        folded = written.casefold()
        same_but_case = [control_id for control_id in dict.fromkeys(ids) if control_id.casefold() == folded]
        if same_but_case:
            return f"unknown control {written!r}{where}; IDs are case-sensitive: did you mean {same_but_case[0]}?"
        close = _closest(written, ids)
        if close:
            return f"unknown control {written!r}{where}; closest: {', '.join(close)}"
        searched = ", ".join(catalog.framework for catalog in candidates)
        return f"unknown control {written!r}{where}; no similar ID in {searched}"


def _lookup(catalogs: list[Catalog], control_id: str) -> list[tuple[Catalog, Control]]:
    return [(catalog, catalog.controls[control_id]) for catalog in catalogs if control_id in catalog.controls]


def _successors(catalog: Catalog, control: Control) -> str:
    """Readable replacements: assessable successors by ID; a successor category only when none
    of its subcategories is named already, as 'a subcategory of X (X-01, X-02, …)'."""
    named = [catalog.controls[target] for target in control.replaced_by if target in catalog.controls]
    direct = [successor for successor in named if successor.in_scope]
    groups = [
        successor
        for successor in named
        if not successor.in_scope and not any(other.family == successor.id for other in direct)
    ]
    words = [successor.id for successor in direct]
    if groups:
        under = [catalog.assessable_under(group.id) for group in groups]
        level = next((found[0].level for found in under if found), "control")
        phrase = f"a {level} of {_either([group.id for group in groups])}"
        if len(groups) == 1 and under[0]:
            shown = ", ".join(child.id for child in under[0][:3])
            phrase += f" ({shown}, …)" if len(under[0]) > 3 else f" ({shown})"
        words.append(phrase)
    return _either(words) if words else "another control"


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _closest(word: str, candidates: Iterable[str], n: int = _CLOSEST_SHOWN) -> list[str]:
    """Like ``difflib.get_close_matches``, but ties go to the longest shared prefix, then to
    catalog order: for 'CC6.10' that is CC6.1, CC6.2, CC6.3 rather than CC9.1, CC8.1."""
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    scored = []
    for order, candidate in enumerate(dict.fromkeys(candidates)):
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
            ratio = matcher.ratio()
            if ratio >= 0.6:
                prefix = len(os.path.commonprefix([candidate, word]))
                scored.append((-ratio, -prefix, order, candidate))
    return [candidate for *_, candidate in sorted(scored)[:n]]


def _not_assessable(catalog: Catalog, control: Control) -> str:
    under = catalog.assessable_under(control.id)
    head = f"{control.id} ({control.title}) is a {control.level} in {catalog.name}, not an assessable control"
    if not under:
        return head
    shown = ", ".join(child.id for child in under[:_CHILDREN_SHOWN])
    more = f", … ({len(under) - _CHILDREN_SHOWN} more)" if len(under) > _CHILDREN_SHOWN else ""
    return f"{head}; name one of its {_plural(under[0].level)}: {shown}{more}"


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"
