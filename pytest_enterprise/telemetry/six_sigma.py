"""The user guide's import path: ``from pytest_enterprise.telemetry.six_sigma import
SixSigmaTelemetry``. The code lives in ``pytest_enterprise.quality.telemetry``."""

from __future__ import annotations

from ..quality.telemetry import MetricsSnapshot, SixSigmaTelemetry, snapshot_from_events

__all__ = ["MetricsSnapshot", "SixSigmaTelemetry", "snapshot_from_events"]
