"""``SixSigmaTelemetry``: quality telemetry for any process, not only pytest runs.

A unit is one pass through the process (a quality gate run, a deployment); ``record_defect``
adds a defect against the process. Counting is thread-safe and costs well under a microsecond
per call; persistence is opt-in and batched (``flush``) so the hot path never touches SQLite.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..model import DEFAULT_SEVERITY, SEVERITIES
from ..timeutil import rfc3339, utc_now
from .metrics import QualityMetrics, compute_quality
from .sigma import DEFAULT_QUALITY_THRESHOLDS

PROCESS_STAGE = "process"


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
        self._units = 0
        self._passed = 0
        self._defects: Counter[Defect] = Counter()
        # (time.time(), kind, passed, defect, message) awaiting flush(); only kept with a store.
        self._pending: list[tuple[float, str, bool | None, Defect | None, str | None]] | None = (
            [] if self._store is not None else None
        )

    def record_unit_processed(self, passed: bool = True) -> None:
        with self._lock:
            self._units += 1
            if passed:
                self._passed += 1
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
        """Record one defect. ``message`` is free text, kept only when persisting."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity {severity!r}: expected one of {', '.join(SEVERITIES)}")
        defect = Defect(str(defect_type), severity, category)
        with self._lock:
            self._defects[defect] += 1
            if self._pending is not None:
                self._pending.append((time.time(), "defect", None, defect, message))

    def generate_metrics_snapshot(self) -> MetricsSnapshot:
        with self._lock:
            units, passed, defects = self._units, self._passed, Counter(self._defects)
        return snapshot_from_counts(
            self.process_name,
            units=units,
            passed=passed,
            defects=defects,
            opportunities_per_unit=self.opportunities_per_unit,
            thresholds=self.thresholds,
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
            self._units = self._passed = 0
            self._defects.clear()


def snapshot_from_counts(
    process_name: str,
    *,
    units: int,
    passed: int,
    defects: Mapping[Defect, int],
    opportunities_per_unit: int = 1,
    thresholds: Mapping[str, float] = DEFAULT_QUALITY_THRESHOLDS,
) -> MetricsSnapshot:
    defect_count = sum(defects.values())
    categories: Counter[str] = Counter()
    for defect, count in defects.items():
        categories[defect.category or defect.defect_type] += count
    metrics = compute_quality(
        units=units,
        defects=defect_count,
        opportunities=units * opportunities_per_unit,
        first_pass=passed,
        final_pass=passed,
        stages=[(PROCESS_STAGE, units, passed)],
        categories=categories,
        thresholds=thresholds,
        opportunity_definition=f"{opportunities_per_unit} per unit recorded with record_unit_processed",
    )
    values = {f.name: getattr(metrics, f.name) for f in fields(QualityMetrics)}
    return MetricsSnapshot(**values, process_name=process_name, taken_at=rfc3339(utc_now()))


def snapshot_from_events(process_name: str, events: Iterable[Any], **options: Any) -> MetricsSnapshot:
    """Rebuild a snapshot from stored ``TelemetryEvent`` rows."""
    units = passed = 0
    defects: Counter[Defect] = Counter()
    for event in events:
        if event.kind == "unit":
            units += 1
            passed += bool(event.passed)
        else:
            defects[Defect(event.defect_type or "unknown", event.severity or DEFAULT_SEVERITY, event.category)] += 1
    return snapshot_from_counts(process_name, units=units, passed=passed, defects=defects, **options)


def _open_store(store: Any) -> Any:
    if store is None or hasattr(store, "record_events"):
        return store
    from ..store.sqlite import HistoryStore

    return HistoryStore(Path(store))
