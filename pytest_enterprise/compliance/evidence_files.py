"""The two YAML files a compliance config names: waivers and attestations.

A *waiver* excuses a control until it expires: it names who approved it and why, and whether
the control's tests still run. An *attestation* is manual evidence for a control that no test
can check (a signed policy, a training record): a status, a justification, and a document,
either a local file (hashed, so a report pins the exact version seen) or an http(s) URL.

Both files are read through ``pytest_enterprise.config.read_yaml_document``, so every problem
is a ``ConfigError`` whose one-line message names the file, the line and the key. Nothing here
writes to, or changes, the files it reads. Control references stay plain strings: resolving
them against a catalog is the caller's job.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from ..config import YamlSource, read_yaml_document
from ..config import describe_value as _describe
from ..config import one_line as _printable
from ..config import show_value as _show
from ..errors import ConfigError
from ..timeutil import parse_timestamp, rfc3339

__all__ = [
    "ATTESTATION_STATUSES",
    "Attestation",
    "Waiver",
    "evidence_digest",
    "load_attestations",
    "load_waivers",
    "normalize_status",
]

ATTESTATION_STATUSES = ("compliant", "non_compliant", "partially_compliant", "not_applicable")

WAIVER_KEYS = ("control", "justification", "approver", "expires", "run")
WAIVER_REQUIRED = ("control", "justification", "approver", "expires")
ATTESTATION_KEYS = ("control", "status", "justification", "evidence", "expires", "attested_by")
ATTESTATION_REQUIRED = ("control", "status", "justification", "evidence", "expires")

_BLOCK = 1024 * 1024  # evidence files are hashed in 1 MiB blocks
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_EXPIRES_EXPECTED = "a date (2027-01-31) or an RFC 3339 timestamp (2027-01-31T12:00:00Z)"


# --- the records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    """An approved, time-limited exception for one control."""

    control: str
    justification: str
    approver: str
    expires: datetime  # aware UTC; a date in the file means the end of that day
    run: bool = True  # False: the control's tests are skipped while the waiver is active
    source: str = ""  # "path:line" of the entry

    def is_active(self, now: datetime) -> bool:
        return _utc(now) < self.expires

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "control": self.control,
            "justification": self.justification,
            "approver": self.approver,
            "expires": _expiry_text(self.expires),
            "run": self.run,
            "status": "active" if self.is_active(now) else "expired",
            "source": self.source,
        }


@dataclass(frozen=True)
class Attestation:
    """Manual evidence for one control, from an attestation file or the manual-status API."""

    control: str
    status: str  # one of ATTESTATION_STATUSES
    justification: str
    evidence: str  # as written: a local path or an http(s) URL
    evidence_path: Path | None  # the resolved absolute local path; None for a URL
    evidence_sha256: str | None  # hex SHA-256 of the local file; None for a URL
    expires: datetime | None  # aware UTC; required in files, optional for manual statuses
    attested_by: str | None = None
    recorded_at: datetime | None = None
    origin: str = "file"  # "file" or "manual"
    source: str = ""  # "path:line" of the entry, for a file

    def is_active(self, now: datetime) -> bool:
        return self.expires is None or _utc(now) < self.expires

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "control": self.control,
            "status": self.status,
            "justification": self.justification,
            "evidence": self.evidence,
            "evidence_path": None if self.evidence_path is None else str(self.evidence_path),
            "evidence_sha256": self.evidence_sha256,
            "expires": None if self.expires is None else rfc3339(self.expires),
            "attested_by": self.attested_by,
            "recorded_at": None if self.recorded_at is None else rfc3339(self.recorded_at),
            "origin": self.origin,
            "source": self.source,
            "state": "active" if self.is_active(now) else "expired",
        }


def _utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def _expiry_text(expires: datetime) -> str:
    """``2027-01-31`` for an end-of-day expiry (how a date is written), else RFC 3339 with Z."""
    expires = _utc(expires)
    if expires.time() == time.max:
        return expires.date().isoformat()
    return rfc3339(expires)


def normalize_status(value: Any) -> str | None:
    """The canonical attestation status for ``value`` (any case; '-' or ' ' for '_'), or None."""
    if not isinstance(value, str):
        return None
    canonical = re.sub(r"[-\s]+", "_", value.strip().lower())
    return canonical if canonical in ATTESTATION_STATUSES else None


# --- evidence ------------------------------------------------------------------------------------


class _Problem(Exception):
    """A problem with a value, placed in a ``where: problem`` message by the caller."""


def evidence_digest(reference: str, base: Path, *, where: str) -> tuple[Path | None, str | None]:
    """Where an evidence reference points and the SHA-256 of what is there.

    An http(s) URL gives ``(None, None)``: it is recorded, not fetched. Anything else is a local
    path, relative to ``base`` unless absolute, and gives ``(absolute path, hex sha256)``. A
    path that is missing, unreadable, a directory or not a regular file raises a
    ``ConfigError`` reading ``where: evidence file not found: <path> ...``.
    """
    try:
        return _digest(reference, base)
    except _Problem as problem:
        raise ConfigError(_printable(f"{where}: {problem}")) from None


def _digest(reference: Any, base: Path) -> tuple[Path | None, str | None]:
    if not isinstance(reference, str) or not reference.strip():
        got = _describe(reference)
        raise _Problem(f"evidence must be a local path or an http(s) URL, got {got}")
    reference = reference.strip()
    scheme = _URL_SCHEME.match(reference)
    if scheme:
        if scheme.group(1).lower() in ("http", "https") and len(reference) > scheme.end():
            return None, None
        raise _Problem(f"evidence must be a local path or an http(s) URL, got {_show(reference)}")
    try:
        path = (Path(base) / reference).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, an embedded NUL byte
        raise _Problem(f"evidence file not found: {reference}") from None
    return path, _sha256_of(path)


def _sha256_of(path: Path) -> str:
    # O_NONBLOCK: opening a FIFO must not hang; it is then refused as not a regular file.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise _Problem(f"evidence file not found: {path}") from None
    except IsADirectoryError:
        raise _Problem(f"evidence file not found: {path} is a directory") from None
    except PermissionError:
        reason = "cannot be read (permission denied)"
        raise _Problem(f"evidence file not found: {path} {reason}") from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or "cannot be opened"
        raise _Problem(f"evidence file not found: {path} ({reason})") from None
    digest = hashlib.sha256()
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise _Problem(f"evidence file not found: {path} is a directory")
        if not stat.S_ISREG(mode):
            raise _Problem(f"evidence file not found: {path} is not a regular file")
        while block := os.read(descriptor, _BLOCK):
            digest.update(block)
    except OSError as error:
        reason = error.strerror or "read error"
        raise _Problem(f"evidence file not found: {path} cannot be read ({reason})") from None
    finally:
        os.close(descriptor)
    return digest.hexdigest()


# --- loading -------------------------------------------------------------------------------------


def load_waivers(path: Path) -> list[Waiver]:
    """The waivers of a waiver file, in file order; any problem is a ``ConfigError``."""
    path = Path(path)
    data, source = read_yaml_document(path, "waiver file")
    waivers: list[Waiver] = []
    first_seen: dict[str, int | None] = {}
    for index, entry in _entries(data, source, "waivers"):
        reader = _Entry(source, ("waivers", index), entry, WAIVER_KEYS, WAIVER_REQUIRED)
        control = reader.text("control")
        here = source.lines.get(("waivers", index, "control"))
        if control in first_seen:
            earlier = first_seen[control]
            at = f"line {earlier}" if earlier else "an earlier entry"
            raise source.error(
                ("waivers", index, "control"),
                f"a second waiver for control {_show(control)} (the first is at {at}); "
                "keep one waiver per control",
            )
        first_seen[control] = here
        waivers.append(
            Waiver(
                control=control,
                justification=reader.text("justification"),
                approver=reader.text("approver"),
                expires=reader.expires(),
                run=reader.flag("run", default=True),
                source=reader.where,
            )
        )
    return waivers


def load_attestations(path: Path) -> list[Attestation]:
    """The attestations of an attestation file, in file order, each local evidence file hashed;
    any problem is a ``ConfigError``."""
    path = Path(path)
    data, source = read_yaml_document(path, "attestation file")
    base = path.parent
    attestations: list[Attestation] = []
    for index, entry in _entries(data, source, "attestations"):
        reader = _Entry(
            source, ("attestations", index), entry, ATTESTATION_KEYS, ATTESTATION_REQUIRED
        )
        control = reader.text("control")
        status = reader.status()
        justification = reader.text("justification")
        evidence = reader.text("evidence")
        try:
            evidence_path, sha256 = _digest(evidence, base)
        except _Problem as problem:
            raise source.error(("attestations", index, "evidence"), str(problem)) from None
        attestations.append(
            Attestation(
                control=control,
                status=status,
                justification=justification,
                evidence=evidence,
                evidence_path=evidence_path,
                evidence_sha256=sha256,
                expires=reader.expires(),
                attested_by=reader.text("attested_by", required=False),
                origin="file",
                source=reader.where,
            )
        )
    return attestations


def _entries(data: Any, source: YamlSource, top: str) -> list[tuple[int, Any]]:
    """The entries under the file's single top-level key; an empty file has none."""
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise source.error((), f"expected a mapping with a {top!r} list, got {_describe(data)}")
    for key in data:
        if key != top:
            raise source.error((key,), _unknown_key(key, (top,)))
    if top not in data:
        raise source.error((), f"missing the top-level key {top!r} (a list, possibly empty)")
    entries = data[top]
    if entries is None:  # `waivers:` with every entry commented out
        return []
    if not isinstance(entries, list):
        raise source.error((top,), f"expected a list of entries, got {_describe(entries)}")
    return list(enumerate(entries))


class _Entry:
    """Typed access to one entry's keys, each error located at that key."""

    def __init__(
        self,
        source: YamlSource,
        path: tuple[Any, ...],
        entry: Any,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
    ) -> None:
        self.source = source
        self.path = path
        if not isinstance(entry, Mapping):
            problem = f"expected a mapping with keys {_listed(required)}, got {_describe(entry)}"
            raise source.error(path, problem)
        for key in entry:
            if key not in allowed:
                raise source.error(path + (key,), _unknown_key(key, allowed))
        missing = [key for key in required if key not in entry]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise source.error(path, f"missing required key{plural} {_listed(missing)}")
        self.entry = entry
        self.where = source.where(source.lines.get(path))

    def _error(self, key: str, problem: str) -> ConfigError:
        return self.source.error(self.path + (key,), problem)

    def text(self, key: str, *, required: bool = True) -> Any:
        value = self.entry.get(key)
        if value is None and not required:
            return None
        if isinstance(value, str) and value.strip():
            return value.strip()
        scalar = isinstance(value, (int, float, date)) and not isinstance(value, bool)
        hint = " (quote it)" if scalar else ""
        raise self._error(key, f"expected a non-empty string, got {_describe(value)}{hint}")

    def flag(self, key: str, *, default: bool) -> bool:
        if key not in self.entry:
            return default
        value = self.entry[key]
        if isinstance(value, bool):
            return value
        raise self._error(key, f"expected true or false, got {_describe(value)}")

    def status(self) -> str:
        value = self.entry["status"]
        canonical = normalize_status(value)
        if canonical is None:
            choices = _listed(ATTESTATION_STATUSES)
            raise self._error("status", f"expected one of {choices}, got {_describe(value)}")
        return canonical

    def expires(self) -> datetime:
        value = self.entry["expires"]
        try:
            return _expiry(value)
        except _Problem as problem:
            raise self._error("expires", str(problem)) from None


def _expiry(value: Any) -> datetime:
    """A YAML date (end of that day, UTC), a YAML timestamp or an RFC 3339 string, in UTC."""
    try:
        if isinstance(value, datetime):  # before `date`: a datetime is a date too
            return _utc(value)
        if isinstance(value, date):
            return _end_of_day(value)
        if isinstance(value, str):
            text = value.strip()
            if _DATE.fullmatch(text):
                return _end_of_day(date.fromisoformat(text))
            return parse_timestamp(text)
    except (ValueError, OverflowError):
        pass
    raise _Problem(f"expected {_EXPIRES_EXPECTED}, got {_describe(value)}")


# --- message helpers -----------------------------------------------------------------------------


def _unknown_key(key: Any, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected {_listed(allowed)}"
    return f"unknown key {_show(key)}{hint}"


def _listed(names: Any) -> str:
    return ", ".join(names)
