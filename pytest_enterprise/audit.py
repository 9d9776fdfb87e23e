"""The project's audit log: who changed what, when, and what it was before and after.

Events live in the history store's ``audit_events`` table. The table is append-only and
hash-chained: each event's hash covers its own fields and the previous event's hash, so editing,
inserting, deleting or reordering a stored event that has a successor breaks the chain, and
``verify_chain`` says where. The manual compliance statuses (``control_statuses``) are chained
by the same two functions, ``chain_hash`` and ``verify_chain``, which work on any stored row
with ``prev_hash`` and ``hash`` fields.

What a chain cannot show, until it is anchored by signed checkpoints: removing the newest rows
(the rest is still a valid chain), or rewriting the whole table with recomputed hashes. Code
that runs without a store, such as a flag manager built in a test, keeps its events in a
``MemoryAuditLog`` instead.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import fields
from datetime import datetime
from typing import Any, Protocol

from .store.location import StoreLocation
from .store.sqlite import AuditRow
from .timeutil import format_timestamp, utc_now

__all__ = [
    "ACTOR_VARIABLE",
    "AuditLog",
    "AuditRow",
    "MemoryAuditLog",
    "StoreAuditLog",
    "chain_hash",
    "chained_content",
    "default_actor",
    "make_event",
    "verify_chain",
]

ACTOR_VARIABLE = "ENTERPRISE_ACTOR"


def default_actor() -> str:
    """$ENTERPRISE_ACTOR, else the login name."""
    explicit = os.environ.get(ACTOR_VARIABLE)
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def make_event(
    kind: str,
    subject: str,
    action: str,
    *,
    before: Any,
    after: Any,
    actor: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> AuditRow:
    """An event ready to record; ``before`` and ``after`` are JSON-ready data (or None)."""
    return AuditRow(
        recorded_at=format_timestamp(now or utc_now()),
        actor=actor or default_actor(),
        kind=kind,
        subject=subject,
        action=action,
        before_json=_json(before),
        after_json=_json(after),
        reason=reason,
    )


_CHAIN_FIELDS = frozenset({"prev_hash", "hash"})


def chained_content(row: Any) -> tuple[Any, ...]:
    """The fields of a stored row (a dataclass) that its hash covers: all but the hashes,
    in declaration order."""
    return tuple(getattr(row, f.name) for f in fields(row) if f.name not in _CHAIN_FIELDS)


def chain_hash(previous: str | None, row: Any) -> str:
    """SHA-256 over the previous hash and the row's fields, in a fixed JSON encoding.

    ``row`` is an ``AuditRow`` or a ``ControlStatusChange``: one function for every chain in
    the store, so they are computed and checked the same way.
    """
    content = [previous, *chained_content(row)]
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_chain(rows: Iterable[Any], noun: str = "event") -> list[str]:
    """Problems with a full chain read oldest first; empty when the chain is intact.

    Finds an edited row (its hash no longer matches), and a row inserted, deleted or moved
    anywhere but at the end (the next row no longer follows it). An intact answer does not
    show that no newest rows were removed, nor that the whole chain was not recomputed.
    """
    problems = []
    previous: str | None = None
    for index, row in enumerate(rows, start=1):
        if row.prev_hash != previous:
            problems.append(f"{noun} {index} ({row.recorded_at}): does not follow {noun} {index - 1}")
        if row.hash != chain_hash(row.prev_hash, row):
            problems.append(f"{noun} {index} ({row.recorded_at}): content does not match its hash")
        previous = row.hash
    return problems


class AuditLog(Protocol):
    def record(self, event: AuditRow) -> AuditRow: ...

    def events(self, kind: str | None = None, subject: str | None = None) -> list[AuditRow]: ...


class MemoryAuditLog:
    """An in-process log with the same chaining, for managers without a store."""

    def __init__(self) -> None:
        self._events: list[AuditRow] = []

    def record(self, event: AuditRow) -> AuditRow:
        from dataclasses import replace

        previous = self._events[-1].hash if self._events else None
        chained = replace(event, prev_hash=previous, hash=chain_hash(previous, event))
        self._events.append(chained)
        return chained

    def events(self, kind: str | None = None, subject: str | None = None) -> list[AuditRow]:
        return [
            event
            for event in self._events
            if (kind is None or event.kind == kind) and (subject is None or event.subject == subject)
        ]


class StoreAuditLog:
    """The audit log in the history store at ``path``: a SQLite file, a postgresql:// URL or
    a ``StoreLocation``. The store is opened per call, so a long-lived manager holds no
    connection between changes."""

    def __init__(self, path: str | os.PathLike[str] | StoreLocation, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path  # kept as given: open_store reads each kind
        self.clock = clock

    def record(self, event: AuditRow) -> AuditRow:
        from .store import open_store

        with open_store(self.path, clock=self.clock) as store:
            return store.record_audit_event(event)

    def events(self, kind: str | None = None, subject: str | None = None) -> list[AuditRow]:
        from .store import open_store

        with open_store(self.path, clock=self.clock) as store:
            return store.audit_events(kind, subject)
