"""The offline OSV database and the vulnerability scan: the *service* layer of the supply chain.

Layered as pip-audit layers its vulnerability services: an ``Inventory`` goes in, each
component is looked up by its canonical name, and the advisories that affect its installed
version come out as ``Finding``s of a ``ScanResult``. Unlike pip-audit's services this one
never touches the network: the database is a folder, or a ``.zip``, of OSV records (``.json``,
``.yaml`` or ``.yml``), such as a checkout of the PyPA advisory database or OSV's ``all.zip``.

Matching follows the OSV schema's evaluation pseudo-code over PEP 440 versions (see
``docs/vulnerability-scan.md``). Whatever a scan cannot use is *reported*, never dropped
silently: a malformed record it reads lands in ``DatabaseInfo.skipped`` with a one-line reason,
withdrawn records are counted, and installed versions that are not PEP 440 are listed as
``problems``.

Speed: libyaml builds Python objects slowly (about 0.3 ms per PyPA record, a second for the
whole PyPA database), so records are parsed lazily: at load every file is read and hashed (for
the fingerprint) and its bytes are scanned for the package names its ``name`` keys give; a
record is parsed only when the scan looks up one of those names. A record whose names that
text scan cannot read with certainty, or that may be withdrawn, is parsed at load, so nothing
can be missed.

PyYAML and ``cvss`` are imported only when a YAML record is parsed or a vector is scored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..config import SEVERITY_THRESHOLDS
from ..errors import InputError, PermissionDeniedError, UsageError
from ..timeutil import parse_timestamp, utc_now
from .model import (
    SEVERITIES,
    DatabaseInfo,
    Finding,
    Ignore,
    Inventory,
    ScanResult,
    Vulnerability,
)

__all__ = [
    "RECORD_SUFFIXES",
    "THRESHOLDS",
    "Advisory",
    "AffectedPackage",
    "Event",
    "OsvDatabase",
    "Range",
    "findings_at_or_above",
    "scan",
    "severity_at_least",
]

RECORD_SUFFIXES = (".json", ".yaml", ".yml")
THRESHOLDS = SEVERITY_THRESHOLDS  # the levels a gate can name, rising
ECOSYSTEM = "PyPI"
MAX_RECORD_BYTES = 8 * 1024 * 1024  # advisories are kilobytes; anything this big is not one

# Preferred id of an alias group: the PyPA database's own id, then GitHub's, then any other.
_ID_PREFERENCE = ("PYSEC-", "GHSA-")
_DATABASE_WORDS = {
    "low": "low",
    "moderate": "medium",  # GitHub's word for medium
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class _Malformed(Exception):
    """A record cannot be used; the message is the one-line reason shown in ``skipped``."""


# --- versions ----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    """A PEP 440 version, or None. Cached: the PyPA database repeats the same ~13,000 version
    strings 140,000 times in its ``versions`` lists."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _installed(text: str) -> Version | None:
    """The installed version as matched: its public part. PyPI refuses local version labels, so
    no advisory can name one; ``1.0+cu118`` is a local rebuild of the public ``1.0`` release,
    carrying its code and its vulnerabilities (a rebuild that patched one is what an ignore
    entry is for)."""
    version = _version(text.strip())
    if version is None or version.local is None:
        return version
    return _version(version.public)


# --- the parsed record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One ``introduced``, ``fixed`` or ``last_affected`` event of an ``ECOSYSTEM`` range."""

    kind: str
    text: str  # as written in the record
    version: Version | None  # None only for ``introduced: "0"``, before every version


def _event_order(event: Event) -> tuple[Any, ...]:
    # "0" sorts before any version; on a tie ``introduced`` comes first, so that
    # introduced 1.0 + last_affected 1.0 means "exactly 1.0" whatever order they are written in.
    if event.version is None:
        return (0, 0)
    return (1, event.version, event.kind != "introduced")


@dataclass(frozen=True)
class Range:
    """An ``ECOSYSTEM`` range: its events sorted by version, and its ``limit`` bounds."""

    events: tuple[Event, ...]
    limits: tuple[Version, ...] = ()  # empty: no limit, or a "*" limit (infinity)

    def affects(self, version: Version) -> bool:
        """The OSV evaluation: below some limit, then the last event at or below the version
        decides (``introduced`` opens, ``fixed`` closes at, ``last_affected`` closes after)."""
        if self.limits and not any(version < limit for limit in self.limits):
            return False
        vulnerable = False
        for event in self.events:
            bound = event.version
            if bound is not None and bound > version:
                break  # sorted: no later event can apply to this version
            if event.kind == "introduced":
                vulnerable = True
            elif event.kind == "fixed":
                vulnerable = False  # bound <= version here
            elif bound is not None and version > bound:  # last_affected
                vulnerable = False
        return vulnerable

    def lowest_fix_above(self, version: Version) -> Event | None:
        for event in self.events:
            if event.kind == "fixed" and event.version is not None and event.version > version:
                return event  # sorted: the first is the lowest
        return None


@dataclass(frozen=True)
class AffectedPackage:
    """One ``affected[]`` entry for a PyPI package, its ``ECOSYSTEM`` ranges parsed."""

    name: str  # canonical
    versions: tuple[str, ...] = ()  # as written
    ranges: tuple[Range, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()  # (type, score) of the entry's own severity[]
    database_severity: str | None = None
    # The ``versions`` list as PEP 440 versions, so 2.0 matches 2.0.0 as PEP 440 says. An entry
    # that is not PEP 440 cannot equal an installed version that is, so it is left out.
    listed: frozenset[Version] = field(default=frozenset(), repr=False, compare=False)

    def affects(self, version: Version) -> bool:
        return version in self.listed or any(r.affects(version) for r in self.ranges)

    def fixes(self, version: Version) -> list[Event]:
        """The lowest ``fixed`` above the version in each range affecting it. A version matched
        only by the ``versions`` list takes the lowest fix above it of every range instead."""
        ranges = [r for r in self.ranges if r.affects(version)] or list(self.ranges)
        return [fix for r in ranges if (fix := r.lowest_fix_above(version)) is not None]


@dataclass(frozen=True)
class Advisory:
    """One OSV record as read: only what the scan needs, and only its PyPI packages."""

    id: str
    path: str  # the record's relative path in the database
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    published: str | None = None
    modified: str | None = None
    withdrawn: datetime | None = None
    references: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()  # (type, score) of the top-level severity[]
    database_severity: str | None = None  # database_specific.severity, as written
    affected: tuple[AffectedPackage, ...] = ()

    def is_withdrawn(self, now: datetime) -> bool:
        return self.withdrawn is not None and self.withdrawn <= now

    def entries_for(self, name: str) -> tuple[AffectedPackage, ...]:
        return tuple(entry for entry in self.affected if entry.name == name)


def _affected_fixes(advisory: Advisory, name: str, version: Version) -> tuple[bool, list[Event]]:
    """Whether the advisory affects ``name`` at ``version``, and the fixes found for it."""
    hit = False
    fixes: list[Event] = []
    for entry in advisory.entries_for(name):
        if entry.affects(version):
            hit = True
            fixes += entry.fixes(version)
    return hit, fixes


# --- reading one record --------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _yaml_loader() -> Any:
    """A safe YAML loader (libyaml when PyYAML has it) that resolves no plain scalar but null:
    ``fixed: 2.10`` stays the string "2.10", not the float 2.1, and a date stays text. OSV
    fields are all strings, so nothing is lost."""
    import yaml

    base = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader
    null_words = ("", "~", "null", "Null", "NULL")
    scalar, sequence = yaml.ScalarNode, yaml.SequenceNode

    class _TextLoader(base):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is scalar:
                plain = implicit[0]
                return _NULL_TAG if plain and value in null_words else _STR_TAG
            return _SEQ_TAG if kind is sequence else _MAP_TAG

    return _TextLoader


_NULL_TAG = "tag:yaml.org,2002:null"
_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


def _load_yaml(text: str) -> Any:
    """Plain data from one YAML document. The node tree is walked here rather than by PyYAML's
    constructors: faster, no tag can build an object, and a node reached twice through an alias
    is built once (no "billion laughs")."""
    import yaml

    loader = _yaml_loader()(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        # The line number only: PyYAML's problem texts quote the characters they met.
        mark = error.problem_mark or error.context_mark
        raise _Malformed(f"invalid YAML: line {mark.line + 1}" if mark else "invalid YAML") from None
    except yaml.YAMLError:
        raise _Malformed("invalid YAML") from None
    finally:
        loader.dispose()
    if root is None:
        raise _Malformed("empty file")
    built: dict[int, Any] = {}  # collections only: rebuilding a scalar costs nothing
    open_nodes: set[int] = set()

    def build(node: Any) -> Any:
        if node.id == "scalar":
            return None if node.tag == _NULL_TAG else node.value
        key = id(node)
        if key in built:
            return built[key]
        if key in open_nodes:
            raise _Malformed("invalid YAML: recursive alias")
        open_nodes.add(key)
        value: Any
        if node.id == "sequence":
            value = [build(item) for item in node.value]
        else:
            value = {}
            for key_node, value_node in node.value:
                if key_node.id != "scalar":
                    line = key_node.start_mark.line + 1
                    raise _Malformed(f"invalid YAML: line {line}: a mapping key must be a scalar")
                value[None if key_node.tag == _NULL_TAG else key_node.value] = build(value_node)
        open_nodes.discard(key)
        built[key] = value
        return value

    try:
        return build(root)
    except RecursionError:
        raise _Malformed("invalid YAML: nested too deeply") from None


def _load_json(text: str) -> Any:
    # Numbers are kept as written, like YAML scalars: "fixed": 2.10 must not become 2.1.
    try:
        return json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as error:
        # json's messages are fixed words, but "Invalid \\escape: 'x'" quotes: keep the words.
        message = error.msg.partition(":")[0]
        raise _Malformed(f"invalid JSON: line {error.lineno} column {error.colno}: {message}") from None
    except RecursionError:
        raise _Malformed("invalid JSON: nested too deeply") from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Malformed(f"not UTF-8 text (line {line}, byte {error.start})") from None


def _parse_record(path: str, data: bytes) -> Advisory:
    """One record file's bytes as an ``Advisory``; ``_Malformed`` when it cannot be used."""
    text = _decode(data)
    raw = _load_json(text) if path.lower().endswith(".json") else _load_yaml(text)
    return _advisory(path, raw)


def _show(value: Any) -> str:
    """What ``value`` is, never what it says: a "record" may be any file (a symlinked
    ~/.netrc parses as one YAML string), and a message is printed and stored."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"a string of {len(value)} characters" if value else "an empty string"
    return "a number" if isinstance(value, (int, float)) else f"a {type(value).__name__}"


def _text(value: Any, where: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _Malformed(f"{where}: expected a non-empty string, got {_show(value)}")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is list and all(type(item) is str for item in value):  # the common case, fast
        stripped = tuple(item.strip() for item in value)
        if all(stripped):
            return stripped
    if not isinstance(value, list):
        raise _Malformed(f"{where}: expected a list of strings, got {_show(value)}")
    items = (_text(item, f"{where}[{index}]", required=True) for index, item in enumerate(value))
    return tuple(items)  # type: ignore[arg-type]


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where}: expected a mapping, got {_show(value)}")
    return value


def _severities(value: Any) -> tuple[tuple[str, str], ...]:
    # Severity does not decide what is affected: an unreadable entry is left out, not fatal.
    if not isinstance(value, list):
        return ()
    return tuple(
        (item["type"], item["score"].strip())
        for item in value
        if isinstance(item, dict) and isinstance(item.get("type"), str) and isinstance(item.get("score"), str)
    )


def _database_severity(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("severity"), str):
        return value["severity"].strip()
    return None


def _advisory(path: str, raw: Any) -> Advisory:
    if not isinstance(raw, dict):
        raise _Malformed(f"not an OSV record: expected a mapping, got {_show(raw)}")
    if raw.get("id") is None:
        raise _Malformed("missing id")
    record_id = _text(raw.get("id"), "id", required=True)
    withdrawn = None
    if raw.get("withdrawn") is not None:
        try:
            withdrawn = parse_timestamp(raw["withdrawn"])
        except ValueError:
            raise _Malformed(f"withdrawn: expected an RFC 3339 timestamp, got {_show(raw['withdrawn'])}") from None
    affected_raw = raw.get("affected")
    if affected_raw is not None and not isinstance(affected_raw, list):
        raise _Malformed(f"affected: expected a list, got {_show(affected_raw)}")
    affected = []
    for index, entry in enumerate(affected_raw or ()):
        parsed = _affected(entry, f"affected[{index}]")
        if parsed is not None:
            affected.append(parsed)
    references = raw.get("references")
    return Advisory(
        id=record_id,  # type: ignore[arg-type]
        path=path,
        aliases=tuple(alias for alias in _strings(raw.get("aliases"), "aliases") if alias != record_id),
        summary=raw["summary"].strip() if isinstance(raw.get("summary"), str) else "",
        details=raw["details"].strip() if isinstance(raw.get("details"), str) else "",
        published=raw["published"] if isinstance(raw.get("published"), str) else None,
        modified=raw["modified"] if isinstance(raw.get("modified"), str) else None,
        withdrawn=withdrawn,
        references=tuple(
            item["url"] for item in references if isinstance(item, dict) and isinstance(item.get("url"), str)
        )
        if isinstance(references, list)
        else (),
        severity=_severities(raw.get("severity")),
        database_severity=_database_severity(raw.get("database_specific")),
        affected=tuple(affected),
    )


def _affected(entry: Any, where: str) -> AffectedPackage | None:
    """A PyPI entry, parsed; None for another ecosystem's."""
    entry = _mapping(entry, where)
    package = entry.get("package")
    if package is None:
        return None  # an entry with no package (a GIT-only entry): nothing PyPI can match
    package = _mapping(package, f"{where}.package")
    if package.get("ecosystem") != ECOSYSTEM:
        return None
    name = _text(package.get("name"), f"{where}.package.name", required=True)
    versions = _strings(entry.get("versions"), f"{where}.versions")
    ranges_raw = entry.get("ranges")
    if ranges_raw is not None and not isinstance(ranges_raw, list):
        raise _Malformed(f"{where}.ranges: expected a list, got {_show(ranges_raw)}")
    ranges = []
    for index, item in enumerate(ranges_raw or ()):
        parsed = _range(item, f"{where}.ranges[{index}]")
        if parsed is not None:
            ranges.append(parsed)
    listed = frozenset(map(_version, versions))
    return AffectedPackage(
        name=canonicalize_name(name),  # type: ignore[arg-type]
        versions=versions,
        ranges=tuple(ranges),
        severity=_severities(entry.get("severity")),
        database_severity=_database_severity(entry.get("database_specific")),
        listed=listed - {None},  # type: ignore[arg-type]
    )


def _range(item: Any, where: str) -> Range | None:
    """An ``ECOSYSTEM`` range; None for ``GIT`` and ``SEMVER`` ones, which cannot order PyPI
    releases (a ``SEMVER`` range would misorder 1.0rc1 and 1.0.post1)."""
    item = _mapping(item, where)
    kind = _text(item.get("type"), f"{where}.type", required=True)
    if kind != "ECOSYSTEM":
        return None
    events_raw = item.get("events")
    if not isinstance(events_raw, list) or not events_raw:
        raise _Malformed(f"{where}.events: expected a non-empty list, got {_show(events_raw)}")
    events: list[Event] = []
    limits: list[Version] = []
    unlimited = False
    for index, event in enumerate(events_raw):
        here = f"{where}.events[{index}]"
        if not isinstance(event, dict) or len(event) != 1:
            raise _Malformed(f"{here}: expected one of {', '.join(_EVENT_KINDS)}, got {_show(event)}")
        ((kind_name, value),) = event.items()
        if kind_name not in _EVENT_KINDS:
            raise _Malformed(f"{here}: unknown event {_show(kind_name)}; expected {', '.join(_EVENT_KINDS)}")
        text = _text(value, f"{here}.{kind_name}", required=True)
        assert text is not None
        if kind_name == "introduced" and text == "0":
            events.append(Event(kind_name, text, None))
            continue
        if kind_name == "limit" and "*" in text:
            unlimited = True
            continue
        version = _version(text)
        if version is None:
            raise _Malformed(f"{here}.{kind_name}: not a PEP 440 version")
        if kind_name == "limit":
            limits.append(version)
        else:
            events.append(Event(kind_name, text, version))
    if not any(event.kind == "introduced" for event in events):
        raise _Malformed(f"{where}.events: no introduced event (OSV requires one)")
    return Range(events=tuple(sorted(events, key=_event_order)), limits=() if unlimited else tuple(limits))


# --- which packages a record names, without parsing it -------------------------------------------

_NAME_KEY = re.compile(rb"""name["']?[ \t]*:([^\r\n]*)""")
_PLAIN_NAME = rb"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME_VALUE = re.compile(
    rb"""[ \t]*(?:"(%s)"|'(%s)'|(%s))[ \t]*(?:[,}\]].*|\#.*)?""" % (_PLAIN_NAME, _PLAIN_NAME, _PLAIN_NAME)
)
# A complex key ("? name") can hide a key from the scan; "withdrawn" must be counted at load.
# (Two patterns, each starting with a literal, are much faster than one alternation.)
_COMPLEX_KEY = re.compile(rb"""\n[ \t-]*\?[ \t\r\n]""")
_WITHDRAWN_KEY = re.compile(rb"""withdrawn["']?[ \t]*:""")
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _named_packages(data: bytes) -> frozenset[str] | None:
    """The canonical names a record's ``name`` keys give (YAML or JSON text), or None when the
    text does not tell with certainty (no ``name`` key, a value that is not a plain name on its
    line, a complex key) or the record may be withdrawn: then it is parsed at load. The set may
    hold names that are not affected packages (a credit's name); it never misses one."""
    if _WITHDRAWN_KEY.search(data) or _COMPLEX_KEY.search(data) or data.lstrip().startswith(b"?"):
        return None
    found = set()
    for match in _NAME_KEY.finditer(data):
        start = match.start()
        if start and data[start - 1] in _WORD_BYTES:
            continue  # "filename:", "package_name:": another key
        value = _NAME_VALUE.fullmatch(match.group(1))
        if value is None:
            return None
        found.add(canonicalize_name((value.group(1) or value.group(2) or value.group(3)).decode("ascii")))
    return frozenset(found) or None


# --- the database --------------------------------------------------------------------------------


class OsvDatabase:
    """An offline OSV database: every record file read and fingerprinted, records parsed when
    first needed. Build it with ``OsvDatabase.load``."""

    def __init__(self, path: str, files: Sequence[_RecordFile], skipped: dict[str, str]) -> None:
        self.path = path
        self._skipped = dict(skipped)  # relative path -> why
        self._records = len(files)
        digest = hashlib.sha256()
        for record in sorted(files, key=lambda record: (record.path, record.sha256)):
            digest.update(record.path.encode("utf-8") + b"\0" + record.sha256.encode("ascii") + b"\n")
        self.fingerprint = digest.hexdigest()
        self._advisories: list[Advisory] = []
        self._by_name: dict[str, list[int]] = {}  # canonical name -> indexes in _advisories
        self._pending: dict[str, list[_RecordFile]] = {}  # canonical name -> unparsed records
        self._done: set[str] = set()  # relative paths parsed (or failed)
        for record in files:
            if record.data is None:
                continue  # too big: already in skipped
            names = _named_packages(record.data)
            if names is None:
                self._parse(record)
            else:
                for name in names:
                    self._pending.setdefault(name, []).append(record)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, eager: bool = False) -> OsvDatabase:
        """The database at ``path``: a folder (searched recursively) or a ``.zip`` of OSV
        records. ``eager`` parses every record now, so ``info`` lists every malformed one;
        otherwise a record is parsed when a lookup needs it."""
        root = Path(path)
        try:
            mode = root.stat().st_mode
        except FileNotFoundError:
            raise InputError(f"{root}: OSV database not found") from None
        except PermissionError:
            raise PermissionDeniedError(f"{root}: permission denied reading the OSV database") from None
        except OSError as error:
            raise InputError(f"{root}: cannot read the OSV database: {error.strerror}") from None
        skipped: dict[str, str] = {}
        if stat.S_ISDIR(mode):
            files = _read_folder(root, skipped)
        else:
            files = _read_zip(root, skipped)
        if not files:
            raise InputError(
                f"{root}: no OSV records in the database (expected .json, .yaml or .yml files)"
            )
        database = cls(os.fspath(path), files, skipped)
        if eager:
            for name in list(database._pending):
                database._parse_pending(name)
        return database

    # -- lookups --

    def _parse(self, record: _RecordFile) -> None:
        if record.path in self._done or record.data is None:
            return
        self._done.add(record.path)
        try:
            advisory = _parse_record(record.path, record.data)
        except _Malformed as problem:
            self._skipped[record.path] = str(problem)
            return
        self._advisories.append(advisory)
        index = len(self._advisories) - 1
        for name in {entry.name for entry in advisory.affected}:
            self._by_name.setdefault(name, []).append(index)

    def _parse_pending(self, name: str) -> None:
        for record in self._pending.pop(name, ()):
            self._parse(record)

    def advisories_for(self, name: str, *, now: datetime | None = None) -> tuple[Advisory, ...]:
        """The usable advisories naming the PyPI package ``name`` (any spelling): not withdrawn
        at ``now`` (default: the current time); one per id, the latest ``modified`` winning."""
        name = canonicalize_name(name)
        self._parse_pending(name)
        now = _aware(now)
        by_id: dict[str, Advisory] = {}
        for index in self._by_name.get(name, ()):
            advisory = self._advisories[index]
            other = by_id.get(advisory.id)
            if other is None:
                by_id[advisory.id] = advisory
                continue
            # OSV: of two entries with one id, the later `modified` is authoritative (and its
            # withdrawal too, so duplicates are settled before withdrawn ones are dropped).
            newer, older = sorted((other, advisory), key=_modified_key, reverse=True)
            by_id[advisory.id] = newer
            why = f"a second record of {advisory.id}; {newer.path} is used (modified later)"
            self._skipped[older.path] = why
        usable = (advisory for advisory in by_id.values() if not advisory.is_withdrawn(now))
        return tuple(sorted(usable, key=lambda advisory: advisory.path))

    def info_at(self, now: datetime | None) -> DatabaseInfo:
        """What the database holds, withdrawn records counted as of ``now``. ``skipped`` lists
        the malformed records among those parsed so far (all of them after an eager load)."""
        now = _aware(now)
        withdrawn = sum(1 for advisory in self._advisories if advisory.is_withdrawn(now))
        return DatabaseInfo(
            path=self.path,
            fingerprint=self.fingerprint,
            records=self._records,
            withdrawn=withdrawn,
            skipped=tuple(sorted(self._skipped.items())),
        )

    @property
    def info(self) -> DatabaseInfo:
        return self.info_at(None)


@dataclass(frozen=True)
class _RecordFile:
    path: str  # relative POSIX path in the folder, or member name in the zip
    sha256: str  # of the file's bytes
    data: bytes | None  # None when too big to be an advisory (listed as skipped)


def _aware(now: datetime | None) -> datetime:
    """``now``, or the current time; a naive datetime is taken as UTC (as timeutil does)."""
    if now is None:
        return utc_now()
    return now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)


def _modified_key(advisory: Advisory) -> tuple[datetime, str]:
    try:
        modified = parse_timestamp(advisory.modified or "")
    except ValueError:
        modified = datetime.min.replace(tzinfo=timezone.utc)  # unknown: the oldest
    return modified, advisory.path


def _is_record(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return (
        bool(parts)
        and not any(part.startswith(".") for part in parts)  # .git, __MACOSX/._x, .id-allocator
        and parts[-1].lower().endswith(RECORD_SUFFIXES)
    )


def _too_big(relative: str, skipped: dict[str, str]) -> None:
    mib, rest = divmod(MAX_RECORD_BYTES, 1024 * 1024)
    limit = f"{mib} MiB" if mib and not rest else f"{MAX_RECORD_BYTES} bytes"
    skipped[relative] = f"larger than {limit}: not an advisory"


def _hash_stream(handle: Any) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1024 * 1024), b""):
        digest.update(block)
    return digest.hexdigest()


def _read_folder(root: Path, skipped: dict[str, str]) -> list[_RecordFile]:
    """Every record file under ``root`` (hidden folders and files left out)."""
    files: list[_RecordFile] = []

    def failed(error: OSError) -> None:
        raise error  # an unreadable subfolder must not shrink the database silently

    top = os.fspath(root)
    real_top = os.path.realpath(top)
    try:
        for folder, dirs, names in os.walk(top, onerror=failed):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            # Plain string paths: pathlib costs more than reading the small files.
            prefix = os.path.relpath(folder, top).replace(os.sep, "/") + "/"
            prefix = "" if prefix == "./" else prefix
            for name in sorted(d for d in dirs if os.path.islink(os.path.join(folder, d))):
                skipped[prefix + name] = "a symbolic link to a folder: not followed"
            for name in sorted(names):
                if name.startswith(".") or not name.lower().endswith(RECORD_SUFFIXES):
                    continue
                relative = prefix + name
                full = os.path.join(folder, name)
                if os.path.islink(full) and not _inside(os.path.realpath(full), real_top):
                    # A link out of the database (ln -s ~/.netrc pip/X.yaml) is never opened:
                    # its target is not an advisory of this database, and may be a secret.
                    skipped[relative] = "a symbolic link out of the database folder: not read"
                    continue
                with open(full, "rb") as handle:
                    if os.fstat(handle.fileno()).st_size > MAX_RECORD_BYTES:
                        _too_big(relative, skipped)
                        files.append(_RecordFile(relative, _hash_stream(handle), None))
                        continue
                    data = handle.read()
                files.append(_RecordFile(relative, hashlib.sha256(data).hexdigest(), data))
    except PermissionError as error:
        where = error.filename or root
        raise PermissionDeniedError(f"{where}: permission denied reading the OSV database") from None
    except OSError as error:
        where = error.filename or root
        raise InputError(f"{where}: cannot read the OSV database: {error.strerror or error}") from None
    return files


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_zip(root: Path, skipped: dict[str, str]) -> list[_RecordFile]:
    """Every record member of the zip at ``root`` (hidden folders and files left out)."""
    import zipfile
    import zlib

    files: list[_RecordFile] = []
    seen: set[str] = set()
    try:
        with zipfile.ZipFile(root) as archive:
            for member in archive.infolist():
                relative = PurePosixPath(member.filename).as_posix()
                if member.is_dir():
                    continue
                if relative.startswith("/") or ".." in PurePosixPath(relative).parts or "\\" in member.filename:
                    # Nothing is extracted, but such a name is a crafted archive: say so.
                    if relative.lower().endswith(RECORD_SUFFIXES):
                        skipped[relative] = "an absolute or '..' member name: not read"
                    continue
                if not _is_record(relative):
                    continue
                try:
                    if member.file_size > MAX_RECORD_BYTES or relative in seen:
                        if relative in seen:  # fingerprinted, never parsed
                            skipped[relative] = "the archive holds two members of this name; the first is used"
                        else:
                            _too_big(relative, skipped)
                        with archive.open(member) as handle:
                            files.append(_RecordFile(relative, _hash_stream(handle), None))
                        continue
                    data = archive.read(member)
                except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as error:
                    raise InputError(f"{root}: cannot read {relative} from the archive: {error}") from None
                seen.add(relative)
                files.append(_RecordFile(relative, hashlib.sha256(data).hexdigest(), data))
    except PermissionError:
        raise PermissionDeniedError(f"{root}: permission denied reading the OSV database") from None
    except zipfile.BadZipFile:
        raise InputError(f"{root}: not an OSV database: expected a folder or a .zip of OSV records") from None
    except OSError as error:
        raise InputError(f"{root}: cannot read the OSV database: {error.strerror or error}") from None
    return files


# --- severity ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _cvss_score(kind: str, vector: str) -> float | None:
    """The CVSS base score of a ``CVSS_V3`` or ``CVSS_V4`` vector, None when unreadable (or
    CVSS v2, whose scale has no "critical"). The vector's own prefix picks the version: a
    record that mislabels one still gets its score."""
    if kind not in ("CVSS_V3", "CVSS_V4"):
        return None
    from cvss import CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    calculator = CVSS4 if vector.startswith("CVSS:4") else CVSS3 if vector.startswith("CVSS:3") else None
    if calculator is None:
        return None
    try:
        return float(calculator(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None


def _band(score: float) -> str:
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def _rating(advisory: Advisory, entries: Iterable[AffectedPackage]) -> tuple[str, str | None, float | None]:
    """(severity, vector, score): the highest CVSS base score among the record's vectors (its
    own, then its package entries'), else its database's word, else "unknown"."""
    entries = tuple(entries)
    best: tuple[float, str] | None = None
    for kind, vector in advisory.severity + tuple(item for entry in entries for item in entry.severity):
        score = _cvss_score(kind, vector)
        if score is not None and (best is None or score > best[0]):
            best = (score, vector)
    if best is not None:
        return _band(best[0]), best[1], best[0]
    for word in (advisory.database_severity, *(entry.database_severity for entry in entries)):
        if word and word.lower() in _DATABASE_WORDS:
            return _DATABASE_WORDS[word.lower()], None, None
    return "unknown", None, None


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def severity_at_least(severity: str, threshold: str) -> bool:
    """Whether a finding of ``severity`` meets a gate at ``threshold`` (low, medium, high or
    critical). ``low`` means every finding, "unknown" included: a severity the database does
    not give cannot be shown to be below low. Higher thresholds need a known severity."""
    if threshold not in THRESHOLDS:
        raise UsageError(f"unknown severity threshold {threshold!r}; expected {', '.join(THRESHOLDS)}")
    if threshold == "low":
        return True
    return _severity_rank(severity) >= SEVERITIES.index(threshold)


def findings_at_or_above(result: ScanResult, threshold: str) -> tuple[Finding, ...]:
    """The active (not ignored) findings whose severity meets ``threshold``."""
    return tuple(f for f in result.active if severity_at_least(f.vulnerability.severity, threshold))


# --- the scan ------------------------------------------------------------------------------------


def _natural(text: str) -> tuple[tuple[int, Any], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part)


def _id_key(identifier: str) -> tuple[Any, ...]:
    upper = identifier.upper()
    ranks = [index for index, prefix in enumerate(_ID_PREFERENCE) if upper.startswith(prefix)]
    return (ranks[0] if ranks else len(_ID_PREFERENCE), _natural(identifier))


def _alias_groups(advisories: Sequence[Advisory]) -> list[list[Advisory]]:
    """The advisories joined by aliases, in either direction and transitively (OSV: aliases
    are symmetric and transitive), each group in id-preference order."""
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for advisory in advisories:
        for alias in advisory.aliases:
            a, b = find(advisory.id.upper()), find(alias.upper())
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[str, list[Advisory]] = {}
    for advisory in advisories:
        groups.setdefault(find(advisory.id.upper()), []).append(advisory)
    ordered = [sorted(group, key=lambda a: _id_key(a.id)) for group in groups.values()]
    return sorted(ordered, key=lambda group: _id_key(group[0].id))


def _vulnerability(group: Sequence[Advisory], name: str) -> Vulnerability:
    """One vulnerability for an alias group: the id of its preferred record (PYSEC, then GHSA,
    then any other; the lowest number first), every other id as an alias, the worst rating."""
    chosen = group[0]
    ids = {advisory.id for advisory in group} | {alias for advisory in group for alias in advisory.aliases}
    seen = {chosen.id.upper()}
    aliases = []
    for identifier in sorted(ids):
        if identifier.upper() not in seen:
            seen.add(identifier.upper())
            aliases.append(identifier)
    ratings = [_rating(advisory, advisory.entries_for(name)) for advisory in group]
    # The worst rating; on a tie the preferred record's (max keeps the first of equals).
    severity, vector, score = max(ratings, key=lambda r: (_severity_rank(r[0]), -1.0 if r[2] is None else r[2]))
    references = dict.fromkeys(url for advisory in group for url in advisory.references)
    return Vulnerability(
        id=chosen.id,
        aliases=tuple(aliases),
        summary=next((a.summary for a in group if a.summary), ""),
        details=next((a.details for a in group if a.details), ""),
        severity=severity,
        cvss_vector=vector,
        cvss_score=score,
        published=chosen.published,
        modified=chosen.modified,
        references=tuple(references),
    )


def _sorted_fixes(fixes: Iterable[Event]) -> tuple[str, ...]:
    """The fixed versions as written, lowest first, one per PEP 440 version."""
    by_version: dict[Version, str] = {}
    for event in fixes:
        assert event.version is not None
        known = by_version.get(event.version)
        if known is None or event.text < known:
            by_version[event.version] = event.text
    return tuple(by_version[version] for version in sorted(by_version))


def scan(
    inventory: Inventory,
    database: OsvDatabase,
    *,
    ignores: Sequence[Ignore] = (),
    now: datetime | None = None,
) -> ScanResult:
    """Match every component of the inventory (the project itself, the root, is not looked up:
    it is the code under test, not a dependency) against the database; apply the ignores."""
    from .vex import ignore_applies, ignore_expired

    now = _aware(now)
    live = [ignore for ignore in ignores if not ignore_expired(ignore, now)]
    expired = tuple(ignore for ignore in ignores if ignore_expired(ignore, now))
    used: set[int] = set()
    findings: list[Finding] = []
    problems: list[str] = []
    for component in inventory.components:
        name = canonicalize_name(component.name)
        version = _installed(component.version)
        if version is None:
            problems.append(
                f"{name} {component.version}: not a PEP 440 version; not matched against any advisory"
            )
            continue
        hits: list[Advisory] = []
        fixes: dict[str, list[Event]] = {}
        for advisory in database.advisories_for(name, now=now):
            hit, found = _affected_fixes(advisory, name, version)
            if hit:
                hits.append(advisory)
                fixes[advisory.id] = found
        for group in _alias_groups(hits):
            vulnerability = _vulnerability(group, name)
            ignored = None
            for index, ignore in enumerate(live):
                if ignore_applies(ignore, name, vulnerability):
                    used.add(index)
                    ignored = ignored or ignore  # the first in file order speaks
            findings.append(
                Finding(
                    component=name,
                    version=component.version,
                    bom_ref=component.bom_ref,
                    vulnerability=vulnerability,
                    fixed_versions=_sorted_fixes(fix for advisory in group for fix in fixes[advisory.id]),
                    ignored=ignored,
                )
            )
    findings.sort(key=lambda f: (f.component, f.vulnerability.id, f.version, f.bom_ref))
    return ScanResult(
        findings=tuple(findings),
        database=database.info_at(now),
        scanned=len(inventory.components),
        expired_ignores=expired,
        unused_ignores=tuple(ignore for index, ignore in enumerate(live) if index not in used),
        problems=tuple(problems),
    )
