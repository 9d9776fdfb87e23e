"""``SixSigmaTelemetry``: quality telemetry for any process, not only pytest runs.

A unit is one pass through the process (a quality gate run, a deployment). Every defect belongs
to a unit, so units, defects, DPMO, yields and sigma describe one process (docs/telemetry.md):

* ``record_unit_processed(passed=False)`` records a failed unit. The defects recorded after it,
  until the next unit, are that unit's; a failed unit with none recorded still has one.
* ``record_defect`` with no failed unit open (none recorded yet, or the last unit passed) is a
  failed unit of its own, e.g. an operation that raised.

Counting is thread-safe and costs well under a microsecond per call; persistence is opt-in and
batched (``flush``) so the hot path never touches SQLite. Stored events are replayed by the same
``ProcessTally`` rule, so a snapshot rebuilt from the store equals the live one.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any

from ..model import DEFAULT_SEVERITY, SEVERITIES
from ..timeutil import rfc3339, utc_now
from .metrics import QualityMetrics, compute_quality
from .sigma import DEFAULT_QUALITY_THRESHOLDS

PROCESS_STAGE = "process"
# Pareto label of the defect a failed unit carries when none was recorded against it.
UNRECORDED_DEFECT = "failed unit, no defect recorded"


@dataclass
class MetricsSnapshot(QualityMetrics):
    """Quality metrics of a process at one moment; yields are percent like everywhere else."""

    process_name: str = ""
    taken_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"process_name": self.process_name, "taken_at": self.taken_at, **super().to_dict()}


@dataclass(frozen=True)
class Defect:
    defect_type: str
    severity: str
    category: str | None


class ProcessTally:
    """Units and their defects, attributed by the rule in the module docstring.

    Not thread-safe on its own: ``SixSigmaTelemetry`` calls it under its lock.
    """

    __slots__ = (
        "defective_opportunities",
        "defects",
        "open_unit_defects",
        "opportunities_per_unit",
        "passed",
        "unrecorded",
        "units",
    )

    def __init__(self, opportunities_per_unit: int = 1) -> None:
        self.opportunities_per_unit = opportunities_per_unit
        self.units = 0
        self.passed = 0
        self.defects: Counter[Defect] = Counter()
        # Failed units with no defect recorded against them: one defect each, of unknown type.
        self.unrecorded = 0
        # Opportunities holding a defect; a unit's defects beyond its opportunities add none.
        self.defective_opportunities = 0
        # Defects recorded so far against the last unit, if it failed; None when no unit is open.
        self.open_unit_defects: int | None = None

    def unit(self, passed: bool) -> None:
        self.units += 1
        if passed:
            self.passed += 1
            self.open_unit_defects = None
        else:
            self.unrecorded += 1
            self.defective_opportunities += 1
            self.open_unit_defects = 0

    def defect(self, defect: Defect) -> None:
        self.defects[defect] += 1
        found = self.open_unit_defects
        if found is None:
            # A failed unit of its own; it does not stay open, so the next lone defect is
            # another failed unit (the guide's "record_defect when the operation raises").
            self.units += 1
            self.defective_opportunities += 1
        elif found == 0:
            self.unrecorded -= 1  # now known: it replaces the placeholder defect
            self.open_unit_defects = 1
        else:
            if found < self.opportunities_per_unit:
                self.defective_opportunities += 1
            self.open_unit_defects = found + 1

    def reset(self) -> None:
        self.__init__(self.opportunities_per_unit)  # type: ignore[misc]


class SixSigmaTelemetry:
    """Counts units and defects of one named process."""

    def __init__(
        self,
        process_name: str,
        *,
        opportunities_per_unit: int = 1,
        store: Any = None,
        thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
    ) -> None:
        if not process_name or not isinstance(process_name, str):
            raise ValueError("process_name must be a non-empty string")
        if isinstance(opportunities_per_unit, bool) or not isinstance(opportunities_per_unit, int) or opportunities_per_unit < 1:
            raise ValueError("opportunities_per_unit must be a whole number >= 1")
        self.process_name = process_name
        self.opportunities_per_unit = opportunities_per_unit
        self.thresholds = dict(thresholds)
        self._store = _open_store(store)
        self._lock = threading.Lock()
        self._tally = ProcessTally(opportunities_per_unit)
        self._count_unit = self._tally.unit  # bound once: the hot path does one call, no lookup
        # (time.time(), kind, passed, defect, message) awaiting flush(); only kept with a store.
        self._pending: list[tuple[float, str, bool | None, Defect | None, str | None]] | None = (
            [] if self._store is not None else None
        )

    def record_unit_processed(self, passed: bool = True) -> None:
        """Record one unit; a failed one takes the defects recorded after it."""
        with self._lock:
            self._count_unit(passed)
            if self._pending is not None:
                self._pending.append((time.time(), "unit", bool(passed), None, None))

    def record_defect(
        self,
        defect_type: str,
        message: str | None = None,
        *,
        severity: str = DEFAULT_SEVERITY,
        category: str | None = None,
    ) -> None:
        """Record one defect against the last unit if it failed, else as a failed unit of its own.

        ``message`` is free text, kept only when persisting.
        """
        if severity not in SEVERITIES:
            raise ValueError(f"severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
        defect = Defect(str(defect_type), severity, category)
        with self._lock:
            self._tally.defect(defect)
            if self._pending is not None:
                self._pending.append((time.time(), "defect", None, defect, message))

    def generate_metrics_snapshot(self) -> MetricsSnapshot:
        with self._lock:
            tally = self._tally
            counts = (
                tally.units,
                tally.passed,
                Counter(tally.defects),
                tally.unrecorded,
                tally.defective_opportunities,
            )
        return _snapshot(
            self.process_name, *counts, self.opportunities_per_unit, self.thresholds
        )

    def flush(self) -> int:
        """Append what was recorded since the last flush to the store; returns the count."""
        if self._store is None or self._pending is None:
            return 0
        from ..store.sqlite import TelemetryEvent

        with self._lock:
            pending, self._pending = self._pending, []
        events = [
            TelemetryEvent(
                recorded_at=rfc3339(datetime.fromtimestamp(moment, timezone.utc)),
                kind=kind,
                passed=passed,
                defect_type=defect.defect_type if defect else None,
                severity=defect.severity if defect else None,
                category=defect.category if defect else None,
                message=message,
            )
            for moment, kind, passed, defect, message in pending
        ]
        try:
            return self._store.record_events(self.process_name, events)
        except BaseException:
            with self._lock:  # keep them for the next flush rather than lose them
                self._pending[:0] = pending
            raise

    def reset(self) -> None:
        with self._lock:
            self._tally.reset()


def snapshot_from_tally(
    process_name: str,
    tally: ProcessTally,
    thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
) -> MetricsSnapshot:
    return _snapshot(
        process_name,
        tally.units,
        tally.passed,
        tally.defects,
        tally.unrecorded,
        tally.defective_opportunities,
        tally.opportunities_per_unit,
        thresholds,
    )


def _snapshot(
    process_name: str,
    units: int,
    passed: int,
    defects: Mapping[Defect, int],
    unrecorded: int,
    defective_opportunities: int,
    opportunities_per_unit: int,
    thresholds: Mapping[str, float],
) -> MetricsSnapshot:
    categories: Counter[str] = Counter()
    for defect, count in defects.items():
        categories[defect.category or defect.defect_type] += count
    categories[UNRECORDED_DEFECT] += unrecorded
    # No rework in a recorded process: a unit passes first time or not at all, so the final
    # yield, the first-pass yield and the one-stage RTY are the same number.
    metrics = compute_quality(
        units=units,
        defects=sum(defects.values()) + unrecorded,
        defective_opportunities=defective_opportunities,
        opportunities=units * opportunities_per_unit,
        first_pass=passed,
        final_pass=passed,
        stages=[(PROCESS_STAGE, units, passed)],
        categories=categories,
        thresholds=thresholds,
        opportunity_definition=(
            f"{opportunities_per_unit} per unit; a defect belongs to the last unit if it failed,"
            " else it is a failed unit of its own"
        ),
    )
    values = {f.name: getattr(metrics, f.name) for f in fields(QualityMetrics)}
    return MetricsSnapshot(**values, process_name=process_name, taken_at=rfc3339(utc_now()))


def snapshot_from_events(
    process_name: str,
    events: Iterable[Any],
    *,
    opportunities_per_unit: int = 1,
    thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
) -> MetricsSnapshot:
    """Rebuild a snapshot from stored ``TelemetryEvent`` rows, oldest first (as stored)."""
    tally = ProcessTally(opportunities_per_unit)
    for event in events:
        if event.kind == "unit":
            tally.unit(bool(event.passed))
        else:
            tally.defect(
                Defect(
                    event.defect_type or "unknown",
                    event.severity or DEFAULT_SEVERITY,
                    event.category,
                )
            )
    return snapshot_from_tally(process_name, tally, thresholds)


def _open_store(store: Any) -> Any:
    """A store object as given, else the store a path, URL or ``StoreLocation`` names."""
    if store is None or hasattr(store, "record_events"):
        return store
    from ..store import open_store

    return open_store(store)
