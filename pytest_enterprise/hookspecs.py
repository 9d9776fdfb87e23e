"""Hooks that other plugins and conftest files may implement."""

from __future__ import annotations

from typing import Any

import pytest

hookspec = pytest.hookspec  # pluggy marker bound to pytest's project name


@hookspec
def pytest_enterprise_run_finished(config: pytest.Config, record: Any, quality: Any) -> None:
    """Called on the controller once a run's record and quality metrics are final.

    ``record`` is a :class:`pytest_enterprise.model.RunRecord`; ``quality`` a
    :class:`pytest_enterprise.quality.metrics.QualityMetrics`. Treat both as read-only.
    """


@hookspec
def pytest_enterprise_extend_report(config: pytest.Config, report: dict[str, Any]) -> None:
    """Add keys to the JSON report before it is written.

    Use a key of your own (e.g. ``report["my_plugin"] = {...}``); the keys of the
    pytest-enterprise report contract must not be changed.
    """
