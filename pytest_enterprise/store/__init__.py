"""The history store: runs, their tests and telemetry events, in a SQLite file (the default)
or a PostgreSQL database shared by many runners (docs/history.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from .location import POSTGRESQL, StoreLocation, parse_location
from .sqlite import (
    APPLICATION_ID,
    DEFAULT_HISTORY_PATH,
    SCHEMA_VERSION,
    AttemptRow,
    HistoryStore,
    RunSummary,
    TelemetryEvent,
    format_timestamp,
    parse_timestamp,
    utc_now,
)

__all__ = [
    "APPLICATION_ID",
    "DEFAULT_HISTORY_PATH",
    "SCHEMA_VERSION",
    "AttemptRow",
    "HistoryStore",
    "RunSummary",
    "StoreLocation",
    "TelemetryEvent",
    "format_timestamp",
    "open_store",
    "parse_location",
    "parse_timestamp",
    "utc_now",
]


def open_store(
    where: StoreLocation | str | os.PathLike[str],
    *,
    base: Path | None = None,
    busy_timeout: float = 30.0,
    clock: Callable[[], datetime] = utc_now,
) -> HistoryStore:
    """The history store at ``where``: a ``StoreLocation``, a ``postgresql://`` URL, or a
    SQLite file path (relative to ``base``, default the working directory). Nothing is
    opened until the first read or write; PostgreSQL's driver is imported only for a URL."""
    location = where if isinstance(where, StoreLocation) else parse_location(where, base or Path.cwd())
    if location.engine == POSTGRESQL:
        from .postgres import PostgresHistoryStore

        return PostgresHistoryStore(location, busy_timeout=busy_timeout, clock=clock)
    assert location.path is not None
    return HistoryStore(location.path, busy_timeout=busy_timeout, clock=clock)
