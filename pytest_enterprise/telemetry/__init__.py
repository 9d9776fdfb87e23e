"""The guide's import path: ``from pytest_enterprise.telemetry import SixSigmaTelemetry``."""

from ..quality.telemetry import MetricsSnapshot, SixSigmaTelemetry, snapshot_from_events

__all__ = ["MetricsSnapshot", "SixSigmaTelemetry", "snapshot_from_events"]
