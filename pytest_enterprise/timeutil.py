"""One clock for the whole tool: RFC 3339 UTC timestamps with ``Z``, injectable in tests."""

from __future__ import annotations

import re
from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def rfc3339(moment: datetime) -> str:
    """``2026-11-26T08:00:00.123Z`` (milliseconds, for reports); naive datetimes are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def format_timestamp(moment: datetime) -> str:
    """``2025-01-31T12:00:00.000000Z``: fixed width, so stored text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# datetime.fromisoformat() on Python 3.10 accepts neither "Z" nor 1-5 fraction digits.
_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?"
)


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 timestamp into an aware UTC datetime (no offset = UTC)."""
    match = _TIMESTAMP.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    date, clock, fraction, offset = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    if offset is None or offset in "Zz":
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return datetime.fromisoformat(f"{date}T{clock}.{fraction}{offset}").astimezone(timezone.utc)
