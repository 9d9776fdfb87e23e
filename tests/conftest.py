from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Imported once, before any in-process pytester run: pytester restores sys.modules after an
# inline run, and numpy (under scipy) cannot be loaded a second time in one process, so a
# first import inside an inline run would break every later test that needs scipy.
import scipy.special  # noqa: F401

try:
    # Likewise psycopg: imported afresh after a pytester run restored sys.modules, it no longer
    # matches the exception classes its C extension raises, so ``except psycopg.Error`` misses.
    import psycopg  # noqa: F401
except ImportError:  # the PostgreSQL cases skip, saying why
    pass

REPORT = "report.json"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class EnterpriseRun:
    """A finished pytester run and the JSON report it wrote."""

    def __init__(self, result: pytest.RunResult, report_path: Path) -> None:
        self.result = result
        self.report_path = report_path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads(self.report_path.read_text())

    @property
    def quality(self) -> dict[str, Any]:
        return self.report["quality"]

    def test(self, name: str) -> dict[str, Any]:
        matches = [t for t in self.report["tests"] if t["nodeid"].endswith(name)]
        assert len(matches) == 1, (name, [t["nodeid"] for t in self.report["tests"]])
        return matches[0]


@pytest.fixture
def run_enterprise(pytester: pytest.Pytester):
    """Run pytest with the plugin enabled; ``workers`` > 0 runs xdist in a subprocess."""

    def run(*args: str, workers: int = 0) -> EnterpriseRun:
        report_path = pytester.path / REPORT
        if report_path.exists():
            report_path.unlink()
        for counter in pytester.path.glob("*.count"):
            counter.unlink()
        base = ["--enterprise-report", "--enterprise-json", str(report_path), "-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error"]
        if workers:
            result = pytester.runpytest_subprocess(*base, "-n", str(workers), *args)
        else:
            result = pytester.runpytest_subprocess(*base, *args)
        return EnterpriseRun(result, report_path)

    return run


@pytest.fixture(params=["sqlite", "postgresql"])
def store_where(request, tmp_path):
    """Where a store lives, once per engine: a SQLite file, or a fresh database on the test
    PostgreSQL server (the PostgreSQL case skips, saying why, without one)."""
    from postgres import store_location

    yield from store_location(request.param, tmp_path)
