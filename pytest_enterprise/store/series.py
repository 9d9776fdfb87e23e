"""Plain rows the store hands to the analyses over history (SPC, flaky tests).

No SQL here: the engine modules fill these, so every engine serves the same analyses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# The columns of ``runs`` a ``SeriesRun`` is read from, in field order (final_yield becomes
# failed_units on the way).
SERIES_COLUMNS = (
    "id", "started_at", "git_branch", "environment", "git_commit", "git_dirty", "units",
    # final_yield = 100·passes/units, so this gives back the integer count of failed units.
    "CAST(ROUND(units * (100.0 - final_yield) / 100.0) AS INTEGER)",
    "dpmo", "duration_s", "opportunity_definition", "interrupted",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeriesRun:
    """What the control charts and the flaky analysis need of one stored run."""

    id: str
    started_at: str
    branch: str | None
    environment: str | None
    commit: str | None
    dirty: bool | None
    units: int | None
    failed_units: int | None  # units whose final attempt failed
    dpmo: float | None
    duration_s: float | None
    opportunity_definition: str | None
    interrupted: bool


def series_runs_from_rows(rows: list[tuple[Any, ...]]) -> list[SeriesRun]:
    """``SeriesRun``s from rows of ``SERIES_COLUMNS``. SQLite has no booleans: 0/1, and NULL
    for an unknown dirty state. One comprehension, as a finishing run reads a whole series."""
    return [
        SeriesRun(run_id, started, branch, environment, commit, None if dirty is None else dirty == 1,
                  units, failed, dpmo, duration, definition, interrupted == 1)  # fmt: skip
        for run_id, started, branch, environment, commit, dirty, units, failed, dpmo, duration, definition, interrupted in rows
    ]


@dataclass(frozen=True)
class BaselineRow:
    """One change of a series' control limits: frozen on chosen runs, or reset to trial."""

    process: str
    branch: str | None
    environment: str | None
    action: str  # "freeze" or "reset"
    run_ids: tuple[str, ...]  # the runs the limits were frozen on; empty for a reset
    recorded_at: str  # RFC 3339
    actor: str
    reason: str | None = None

    def to_row(self) -> tuple[Any, ...]:
        run_ids = json.dumps(list(self.run_ids)) if self.action == "freeze" else None
        return (self.process, self.branch, self.environment, self.action, run_ids,
                self.recorded_at, self.actor, self.reason)  # fmt: skip


BASELINE_COLUMNS = "process, branch, environment, action, run_ids_json, recorded_at, actor, reason"


def baseline_row(row: tuple[Any, ...]) -> BaselineRow:
    process, branch, environment, action, run_ids, recorded_at, actor, reason = row
    return BaselineRow(
        process, branch, environment, action, tuple(json.loads(run_ids)) if run_ids else (),
        recorded_at, actor, reason,
    )  # fmt: skip


@dataclass(frozen=True)
class TestInRun:
    """The attempts of one test in one run, in order (input for flaky analysis)."""

    __test__ = False  # not a pytest test class, despite its name

    run_id: str
    outcomes: tuple[str, ...]
    rerun_seconds: float  # time spent in the attempts before the last one


PASSED_AT_ONCE = ("passed",)


@dataclass(eq=False)  # compared as the mapping it is
class TestsInRuns(Mapping[str, list[TestInRun]]):
    """Tests' attempts across runs, as ``HistoryStore.tests_in_runs`` reads them.

    Most of a test's runs are passes at once, kept in each run's packed row. Listing each
    would cost a Python object per test and run, so they are kept as the runs whose packed
    rows were read (``packed_runs``) and, per test, the ones of those it is not in
    (``not_packed``); every other run's attempts are in ``attempts``. As a mapping it gives
    each test's full list (the packed runs as one passed attempt each), for small histories
    and tests; ``quality.flaky.analyze`` reads the parts directly.
    """

    __test__ = False

    attempts: dict[str, list[TestInRun]] = field(default_factory=dict)
    packed_runs: tuple[str, ...] = ()
    not_packed: dict[str, set[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # the tests with at least one entry

    def add(self, nodeid: str, entry: TestInRun) -> None:
        """One more run of a test (the run being finished, not stored yet)."""
        self.attempts.setdefault(nodeid, []).append(entry)
        self.names.add(nodeid)

    def packed_in(self, nodeid: str) -> list[str]:
        missing = self.not_packed.get(nodeid, ())
        return [run_id for run_id in self.packed_runs if run_id not in missing]

    def __getitem__(self, nodeid: str) -> list[TestInRun]:
        if nodeid not in self.names:
            raise KeyError(nodeid)
        passed = [TestInRun(run_id, PASSED_AT_ONCE, 0.0) for run_id in self.packed_in(nodeid)]
        return [*self.attempts.get(nodeid, ()), *passed]

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.names))

    def __len__(self) -> int:
        return len(self.names)
