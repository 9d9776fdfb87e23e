"""The ignore file: VEX statements that a known vulnerability does not affect this project.

```yaml
ignores:
  - id: PYSEC-2021-66            # the advisory id or any alias (GHSA-..., CVE-...)
    justification: the sandbox is not used; templates are ours
    expires: 2027-01-31          # optional: a date (through that whole day, UTC) or RFC 3339
    package: jinja2              # optional: only for this package
```

Read through ``pytest_enterprise.config.read_yaml_document``, so every problem is a
``ConfigError`` (exit 2) whose one line names the file, the line and the key, e.g.
``ignores.yaml:4: ignores[0].justification: missing``. An ignored finding stays in the scan
result, marked not-affected with its justification; an expired entry no longer applies and is
listed; an entry that matched nothing is listed as unused.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from ..config import YamlSource, read_yaml_document
from ..config import describe_value as _describe
from ..errors import InputError
from ..timeutil import parse_timestamp, rfc3339
from .model import Ignore, Vulnerability

__all__ = ["IGNORE_KEYS", "ignore_applies", "ignore_expired", "ignore_expiry", "load_ignores"]

IGNORE_KEYS = ("id", "justification", "expires", "package")
_REQUIRED = ("id", "justification")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PACKAGE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508 names
_EXPIRES_EXPECTED = "a date (2027-01-31) or an RFC 3339 timestamp (2027-01-31T12:00:00Z)"


def load_ignores(path: str | os.PathLike[str]) -> list[Ignore]:
    """The entries of an ignore file, in file order; any problem is a ``ConfigError``."""
    data, source = read_yaml_document(Path(path), "ignore file")
    ignores: list[Ignore] = []
    first_seen: dict[tuple[str, str | None], int | None] = {}
    for index, entry in _entries(data, source):
        here = ("ignores", index)
        if not isinstance(entry, Mapping):
            keys = ", ".join(_REQUIRED)
            raise source.error(here, f"expected a mapping with keys {keys}, got {_describe(entry)}")
        for key in entry:
            if key not in IGNORE_KEYS:
                raise source.error(here + (key,), _unknown_key(key))
        for key in _REQUIRED:
            if key not in entry:
                raise source.error(here + (key,), "missing")
        identifier = _text(entry, "id", source, here)
        if any(char.isspace() for char in identifier):
            raise source.error(here + ("id",), f"{identifier!r} is not an advisory id (it holds a space)")
        package = None
        if entry.get("package") is not None:
            written = _text(entry, "package", source, here)
            if not _PACKAGE.fullmatch(written):
                raise source.error(here + ("package",), f"{written!r} is not a package name")
            package = canonicalize_name(written)
        key = (identifier.casefold(), package)
        if key in first_seen:
            earlier = first_seen[key]
            at = f"line {earlier}" if earlier else "an earlier entry"
            raise source.error(here + ("id",), f"a second ignore of {identifier} (the first is at {at})")
        first_seen[key] = source.lines.get(here)
        ignores.append(
            Ignore(
                id=identifier,
                justification=_text(entry, "justification", source, here),
                expires=_expires(entry.get("expires"), source, here),
                package=package,
            )
        )
    return ignores


def ignore_expiry(ignore: Ignore) -> datetime | None:
    """When the entry stops applying, in UTC; a date means the end of that day. None: never."""
    if ignore.expires is None:
        return None
    text = ignore.expires.strip()
    try:
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=timezone.utc)
        return parse_timestamp(text)
    except (ValueError, OverflowError):
        raise InputError(
            f"ignore of {ignore.id}: expires {ignore.expires!r} is not {_EXPIRES_EXPECTED}"
        ) from None


def ignore_expired(ignore: Ignore, now: datetime) -> bool:
    expiry = ignore_expiry(ignore)
    return expiry is not None and now > expiry


def ignore_applies(ignore: Ignore, package: str, vulnerability: Vulnerability) -> bool:
    """Whether the entry names this vulnerability (its id or any alias, in any letter case)
    and, when it is restricted to a package, this package. Expiry is the caller's concern."""
    if ignore.package is not None and canonicalize_name(ignore.package) != canonicalize_name(package):
        return False
    wanted = ignore.id.casefold()
    return any(wanted == known.casefold() for known in (vulnerability.id, *vulnerability.aliases))


# --- reading -------------------------------------------------------------------------------------


def _entries(data: Any, source: YamlSource) -> list[tuple[int, Any]]:
    if data is None:  # an empty file: nothing ignored
        return []
    if not isinstance(data, Mapping):
        raise source.error((), f"expected a mapping with an 'ignores' list, got {_describe(data)}")
    for key in data:
        if key != "ignores":
            raise source.error((key,), f"unknown key {key!r}; expected 'ignores'")
    if "ignores" not in data:
        raise source.error((), "missing the top-level key 'ignores' (a list, possibly empty)")
    entries = data["ignores"]
    if entries is None:  # `ignores:` with every entry commented out
        return []
    if not isinstance(entries, list):
        raise source.error(("ignores",), f"expected a list of entries, got {_describe(entries)}")
    return list(enumerate(entries))


def _text(entry: Mapping[str, Any], key: str, source: YamlSource, here: tuple[Any, ...]) -> str:
    value = entry.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    scalar = isinstance(value, (int, float, date)) and not isinstance(value, bool)
    hint = " (quote it)" if scalar else ""
    raise source.error(here + (key,), f"expected a non-empty string, got {_describe(value)}{hint}")


def _expires(value: Any, source: YamlSource, here: tuple[Any, ...]) -> str | None:
    """The expiry as RFC 3339 text: YAML reads ``2027-01-31`` as a date and a full timestamp as
    a datetime; a quoted string must be one of the two."""
    if value is None:
        return None
    if isinstance(value, datetime):  # before `date`: a datetime is a date too
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return rfc3339(moment)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE.fullmatch(text):
                date.fromisoformat(text)
            else:
                parse_timestamp(text)
            return text
        except ValueError:
            pass
    raise source.error(here + ("expires",), f"expected {_EXPIRES_EXPECTED}, got {_describe(value)}")


def _unknown_key(key: Any) -> str:
    close = difflib.get_close_matches(str(key), IGNORE_KEYS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; expected {', '.join(IGNORE_KEYS)}"
    return f"unknown key {key!r}{hint}"
