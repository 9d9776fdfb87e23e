"""What the history store holds about one person, and erasing it (GDPR Art. 15 and 17):
``enterprise privacy export --user ID`` and ``privacy erase --user ID`` (docs/privacy.md).

The store keeps a person's identifier in one place: the events of A/B experiments
(``experiment_events.user_id``, recorded by ``FlagManager.track``). Test runs, telemetry
events, flag definitions and the audit log name CI actors and test ids, not the users of the
application under test.

An erasure is audited in the same transaction as the deletion. The audit event names the
person by ``user_reference``, a SHA-256 of the identifier, never the identifier itself: an
auditor who is given the identifier can check that its erasure was done, but the log does not
keep it. That reference is pseudonymous, not anonymous: whoever can guess an identifier can
test it against the log.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .audit import make_event
from .store import HistoryStore
from .timeutil import format_timestamp, utc_now

__all__ = ["erase_user", "export_user", "user_reference"]

EXPORT_SCHEMA = "pytest-enterprise privacy export 1"


def user_reference(user_id: str) -> str:
    return "sha256:" + hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()


def export_user(store: HistoryStore, user_id: str) -> dict[str, Any]:
    """Everything the store holds about ``user_id``, as JSON-ready data."""
    events = [
        {"flag": flag, "variant": variant, "metric": metric, "value": value, "recorded_at": recorded_at}
        for flag, variant, _, metric, value, recorded_at in store.user_experiment_events(user_id)
    ]
    return {
        "schema": EXPORT_SCHEMA,
        "user_id": user_id,
        "store": store.display,
        "exported_at": format_timestamp(utc_now()),
        "experiment_events": events,
        "held_elsewhere_in_the_store": "nothing: runs, telemetry events, flags and the audit log hold no user identifiers",
    }


def erase_user(store: HistoryStore, user_id: str, *, actor: str | None = None, reason: str | None = None) -> int:
    """Delete what the store holds about ``user_id``; returns how many rows went."""
    reference = user_reference(user_id)
    erased, _ = store.erase_user(
        user_id,
        lambda rows: make_event(
            "privacy", reference, "erase", before=None, after={"experiment_events": rows}, actor=actor, reason=reason
        ),
    )
    return erased
