"""The history store: runs, their tests and telemetry events in one SQLite file."""

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
    "TelemetryEvent",
    "format_timestamp",
    "parse_timestamp",
    "utc_now",
]
