"""Where a history store lives: a SQLite file (a path) or a PostgreSQL database (a URL), and
how to name it in any output without its password.

Pure functions, no driver imported: the PostgreSQL engine (docs/history.md) connects with the
full URL, while every message, report and audit subject uses ``display``. libpq's other
sources of a password (``PGPASSWORD``, ``~/.pgpass``, a service file) never appear in the URL
at all, so they cannot reach an output either.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError

__all__ = ["SQLITE", "POSTGRESQL", "StoreLocation", "parse_location"]

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
MASK = "***"
# libpq's URL schemes (RFC 3986 scheme syntax otherwise: a path never starts with one).
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Connection parameters that hold a secret, wherever libpq accepts them in a URL's query.
_SECRET_PARAMETERS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class StoreLocation:
    """A parsed history location. ``url`` holds the password when one was given: pass it to
    the driver and nowhere else; ``display`` is what any output shows."""

    engine: str
    display: str
    path: Path | None = None  # the SQLite file
    url: str | None = field(default=None, repr=False)  # the PostgreSQL URL, password included


def parse_location(value: str | os.PathLike[str], base: Path) -> StoreLocation:
    """The store ``value`` names: a ``postgresql://`` (or ``postgres://``) URL, a
    ``sqlite:///absolute/path`` URL, or a file path (relative to ``base``). Any other scheme
    is a ``ConfigError`` naming it, with the password of the URL hidden."""
    text = os.fspath(value)
    scheme = _SCHEME.match(text)
    if scheme is None:
        path = (base / text) if not Path(text).is_absolute() else Path(text)
        return StoreLocation(SQLITE, str(path), path=path)
    name = scheme.group(1).lower()
    if name == "sqlite":
        try:
            parts = urlsplit(text)
        except ValueError as error:  # e.g. an unclosed IPv6 bracket
            raise ConfigError(f"history URL {display_url(text)} is not a valid URL ({error})") from None
        if parts.netloc or not parts.path.startswith("/"):
            raise ConfigError(f"history URL {display_url(text)}: a SQLite URL is sqlite:///absolute/path")
        path = Path(parts.path)
        return StoreLocation(SQLITE, str(path), path=path)
    if name not in _POSTGRES_SCHEMES:
        raise ConfigError(
            f"history URL {display_url(text)}: scheme {name!r} is not supported; give a file path (SQLite) or a"
            " postgresql:// URL"
        )  # fmt: skip
    return StoreLocation(POSTGRESQL, display_url(text), url=text)


def display_url(url: str) -> str:
    """``url`` with its password (and any secret query parameter) replaced by ``***``; the
    user, host, port and database stay, so an error still says where it went wrong."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: show nothing that could be a secret
        return f"{url.split('://', 1)[0]}://{MASK}"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if has_password else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_PARAMETERS for key, _ in pairs):
            query = urlencode([(key, MASK if key.lower() in _SECRET_PARAMETERS else item) for key, item in pairs], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))
