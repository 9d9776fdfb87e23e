"""Flaky-test detection over a test's history of runs: pure functions over plain data.

A test is flaky when the same code gives it different outcomes. Three kinds of evidence are
counted separately, because they differ in strength:

1. **passed on a rerun** within one run (pytest-rerunfailures): the same process, the same
   code, failed then passed;
2. **passed and failed on the same commit** with a clean work tree, in different runs;
3. **flip rate**: how often its first-attempt outcome changed from one run to the next,
   flips / (runs − 1), with a 95 % Clopper–Pearson interval. A test that broke on one commit and
   stayed broken flips once; one that alternates flips every run. A flip-rate verdict needs
   ``min_runs`` runs and a lower bound above ``flip_threshold``.

Evidence of kind 1 or 2 is a verdict on its own: each is a direct observation of one code
giving two outcomes. Runs where most tests failed (an outage: the database was down, the
runner ran out of disk) say nothing about one test, so they are left out and counted.

The estimate of the failure probability (first-attempt failures / runs, with its interval)
is reported for every test, flaky or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from ..model import DEFECT_OUTCOMES, UNIT_OUTCOMES
from .sigma import proportion_ci

FLAKY = "flaky"
STABLE = "stable"  # never changed its outcome without a code change we can see
INSUFFICIENT = "insufficient data"

DEFAULT_MIN_RUNS = 5
DEFAULT_FLIP_THRESHOLD = 0.1
DEFAULT_OUTAGE_THRESHOLD = 0.8


class Observation(NamedTuple):
    """One test in one run. A named tuple: an analysis of a long history makes many."""

    run_id: str
    started_at: str  # RFC 3339; runs are ordered by it
    commit: str | None
    dirty: bool | None  # None: unknown, treated as not clean
    passed_first: bool  # its first attempt produced no defect
    passed_final: bool  # its last attempt produced no defect
    reruns: int = 0  # attempts after the first
    rerun_seconds: float = 0.0  # time spent in the attempts before the last one
    branch: str | None = None
    environment: str | None = None  # tox env or CI job: outcomes are compared within one


@dataclass(frozen=True)
class Verdict:
    nodeid: str
    verdict: str  # FLAKY, STABLE or INSUFFICIENT
    evidence: tuple[str, ...]  # why, in words; empty unless flaky
    runs: int  # runs counted (outages left out)
    outage_runs: int  # runs left out because most tests failed in them
    failures: int  # runs whose first attempt failed
    reruns_passed: int  # runs where it failed first and passed on a rerun
    same_commit: tuple[str, ...]  # clean commits on which it both passed and failed
    flips: int
    pairs: int  # consecutive runs within one branch and environment: the flips' denominator
    first_seen: str | None
    last_seen: str | None
    rerun_seconds: float
    runs_needed: int = 0  # more runs before a flip-rate verdict can be given

    @property
    def flip_rate(self) -> float | None:
        return self.flips / self.pairs if self.pairs else None

    @cached_property
    def flip_rate_ci95(self) -> tuple[float, float] | None:
        # Computed when asked: a history of hundreds of failing tests needs few of them.
        return proportion_ci(self.flips, self.pairs) if self.pairs else None

    @property
    def failure_probability(self) -> float | None:
        return self.failures / self.runs if self.runs else None

    @cached_property
    def failure_probability_ci95(self) -> tuple[float, float] | None:
        return proportion_ci(self.failures, self.runs) if self.runs else None


def outage_runs(failed_fraction: Mapping[str, float], threshold: float = DEFAULT_OUTAGE_THRESHOLD) -> set[str]:
    """The runs in which at least ``threshold`` of the units failed (run id -> fraction)."""
    if not 0 < threshold <= 1:
        raise ValueError(f"outage threshold must be in (0, 1], got {threshold}")
    return {run_id for run_id, fraction in failed_fraction.items() if fraction >= threshold}


def assess(
    nodeid: str,
    observations: Iterable[Observation],
    outages: set[str] | frozenset[str] = frozenset(),
    *,
    min_runs: int = DEFAULT_MIN_RUNS,
    flip_threshold: float = DEFAULT_FLIP_THRESHOLD,
) -> Verdict:
    """The verdict on one test from its observations (any order).

    The definition, observation by observation. ``analyze`` gives the same verdicts over
    many tests and runs with bit sets (tests/test_history_analysis.py checks they agree).
    """
    _check_min_runs(min_runs)
    history = sorted(observations, key=lambda o: (o.started_at, o.run_id))
    kept = [o for o in history if o.run_id not in outages]
    failures = sum(not o.passed_first for o in kept)
    reruns_passed = sum(1 for o in kept if not o.passed_first and o.passed_final and o.reruns > 0)
    # Across runs, by first attempts: a rerun within one run is evidence of the first kind,
    # not counted again here.
    # Like with like: a test may pass on one Python and fail on another, or fail on a branch
    # that broke it, without being flaky. So commits and flips are compared within one
    # environment, and flips within one branch too.
    outcomes_by_commit: dict[tuple[str, str | None], set[bool]] = {}
    series: dict[tuple[str | None, str | None], list[bool]] = {}
    for o in kept:
        if o.commit and o.dirty is False:
            outcomes_by_commit.setdefault((o.commit, o.environment), set()).add(o.passed_first)
        series.setdefault((o.branch, o.environment), []).append(o.passed_first)
    same_commit = {c for (c, _), seen in outcomes_by_commit.items() if len(seen) == 2}
    flips = sum(a != b for outcomes in series.values() for a, b in zip(outcomes, outcomes[1:]))
    return _verdict(
        nodeid, runs=len(kept), left_out=len(history) - len(kept), failures=failures,
        reruns_passed=reruns_passed, same_commit=same_commit, flips=flips,
        pairs=len(kept) - len(series),  # consecutive runs within a series
        first_seen=kept[0].started_at if kept else None, last_seen=kept[-1].started_at if kept else None,
        rerun_seconds=sum(o.rerun_seconds for o in kept), min_runs=min_runs, flip_threshold=flip_threshold,
    )  # fmt: skip


def _check_min_runs(min_runs: int) -> None:
    if min_runs < 2:
        raise ValueError(f"min_runs must be at least 2, got {min_runs}")


def _verdict(
    nodeid: str, *, runs: int, left_out: int, failures: int, reruns_passed: int, same_commit: set[str],
    flips: int, pairs: int, first_seen: str | None, last_seen: str | None, rerun_seconds: float,
    min_runs: int, flip_threshold: float,
) -> Verdict:  # fmt: skip
    """The verdict from a test's counts: one rule for ``assess`` and ``analyze``."""
    evidence = []
    if reruns_passed:
        evidence.append(f"passed on a rerun in {reruns_passed} of {runs} runs")
    if same_commit:
        evidence.append(f"passed and failed on the same clean commit ({len(same_commit)} commits)")
    runs_needed = max(0, min_runs - runs)
    # The interval's lower bound is below the rate, so a rate at or under the threshold cannot
    # be evidence: its interval is computed only when it could be.
    flip_ci = None
    if not runs_needed and pairs and flips / pairs > flip_threshold:
        flip_ci = proportion_ci(flips, pairs)
        low, high = flip_ci
        if low > flip_threshold:
            evidence.append(f"changed outcome in {flips} of {pairs} consecutive runs (95% interval {low:.0%}-{high:.0%})")
    if evidence:
        verdict = FLAKY
    elif runs_needed:
        verdict = INSUFFICIENT
    else:
        verdict = STABLE
    result = Verdict(
        nodeid=nodeid, verdict=verdict, evidence=tuple(evidence), runs=runs, outage_runs=left_out,
        failures=failures, reruns_passed=reruns_passed, same_commit=tuple(sorted(same_commit)), flips=flips,
        pairs=pairs, first_seen=first_seen, last_seen=last_seen, rerun_seconds=rerun_seconds,
        runs_needed=runs_needed if verdict == INSUFFICIENT else 0,
    )  # fmt: skip
    if flip_ci is not None:
        result.__dict__["flip_rate_ci95"] = flip_ci  # cached_property's own cache: not computed twice
    return result


def ranked(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Flaky tests first, strongest evidence first; then the rest by failures."""

    def key(v: Verdict) -> tuple[object, ...]:
        flaky = v.verdict == FLAKY
        low = v.flip_rate_ci95[0] if flaky and v.flip_rate_ci95 else 0.0  # intervals only where they rank
        return (not flaky, -(v.reruns_passed + len(v.same_commit)), -low, -v.failures, -(v.flip_rate or 0.0), v.nodeid)

    return sorted(verdicts, key=key)


def verdict_dict(v: Verdict) -> dict[str, object]:
    """A verdict as JSON-ready data (the report's and ``telemetry flaky``'s form)."""
    return {
        "nodeid": v.nodeid,
        "verdict": v.verdict,
        "evidence": list(v.evidence),
        "label": history_label(v),
        "runs": v.runs,
        "outage_runs": v.outage_runs,
        "failures": v.failures,
        "reruns_passed": v.reruns_passed,
        "same_commit": list(v.same_commit),
        "flips": v.flips,
        "flip_rate": v.flip_rate,
        "flip_rate_ci95": None if v.flip_rate_ci95 is None else list(v.flip_rate_ci95),
        "failure_probability": v.failure_probability,
        "failure_probability_ci95": None if v.failure_probability_ci95 is None else list(v.failure_probability_ci95),
        "first_seen": v.first_seen,
        "last_seen": v.last_seen,
        "rerun_seconds": v.rerun_seconds,
        "runs_needed": v.runs_needed,
    }


def history_label(v: Verdict) -> str:
    """What a test's history says, in a few words: "failed 7 of 120 runs; passed and failed on
    unchanged commit 3f2a…"."""
    parts = [f"failed {v.failures} of {v.runs} runs"]
    if v.reruns_passed:
        parts.append(f"passed on a rerun in {v.reruns_passed}")
    if v.same_commit:
        more = f" and {len(v.same_commit) - 1} more" if len(v.same_commit) > 1 else ""
        parts.append(f"passed and failed on unchanged commit {v.same_commit[0][:12]}{more}")
    if v.flip_rate is not None and v.flip_rate_ci95 is not None and v.flips:
        low, high = v.flip_rate_ci95
        parts.append(f"flip rate {v.flip_rate:.0%} (95% CI {low:.0%}-{high:.0%})")
    if v.outage_runs:
        parts.append(f"{v.outage_runs} outage run{'s' if v.outage_runs != 1 else ''} left out")
    return "; ".join(parts)


@dataclass(frozen=True)
class FlakyAnalysis:
    """Verdicts over a window of runs, ranked (``ranked``), and the runs left out."""

    runs: int  # runs in the window
    outages: tuple[str, ...]  # run ids left out as outages
    verdicts: list[Verdict]

    @property
    def flaky(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.verdict == FLAKY]


def observations(runs: Sequence[Any], tests: Mapping[str, Sequence[Any]]) -> dict[str, list[Observation]]:
    """Each test's observations from stored rows: ``runs`` have id, started_at, commit, dirty,
    branch and environment (``store.series.SeriesRun``); ``tests`` map a node id to its
    ``TestInRun``s (run_id, outcomes of its attempts in order, rerun_seconds). A run in which
    the test was not a unit (skipped, xfailed) is no observation of it."""
    by_id = {run.id: run for run in runs}
    found: dict[str, list[Observation]] = {}
    passed_at_once = ("passed",)
    for nodeid, entries in tests.items():
        kept = found[nodeid] = []
        for entry in entries:
            run = by_id.get(entry.run_id)
            if run is None:
                continue
            outcomes = entry.outcomes
            if outcomes == passed_at_once:  # nearly every entry: no questions to ask
                first = final = True
            elif any(outcome in UNIT_OUTCOMES for outcome in outcomes):
                first, final = outcomes[0] not in DEFECT_OUTCOMES, outcomes[-1] not in DEFECT_OUTCOMES
            else:
                continue  # skipped or xfailed throughout: no observation of the test
            kept.append(
                Observation(run.id, run.started_at, run.commit, run.dirty, first, final, len(outcomes) - 1,
                            entry.rerun_seconds, run.branch, run.environment)  # fmt: skip
            )
    return found


def analyze(
    runs: Sequence[Any],
    tests: Mapping[str, Sequence[Any]],
    *,
    min_runs: int = DEFAULT_MIN_RUNS,
    flip_threshold: float = DEFAULT_FLIP_THRESHOLD,
    outage_threshold: float = DEFAULT_OUTAGE_THRESHOLD,
) -> FlakyAnalysis:
    """Ranked verdicts of ``tests`` over ``runs`` (see ``observations`` for their shape); runs
    where at least ``outage_threshold`` of the units failed are left out as outages.

    The verdicts are ``assess``'s, computed with one bit per run: a test's history over a
    thousand runs is a few integers (the runs it ran in, the runs its first attempt failed),
    and flips and same-commit conflicts are found from its failures, which are few.
    """
    _check_min_runs(min_runs)
    order = sorted(runs, key=lambda run: (run.started_at, run.id))
    position = {run.id: index for index, run in enumerate(order)}
    fractions = {run.id: run.failed_units / run.units for run in order if run.units and run.failed_units is not None}
    outages = outage_runs(fractions, outage_threshold)
    outage_mask = _mask(position[run_id] for run_id in outages)
    series_masks: dict[tuple[str | None, str | None], int] = {}
    commit_masks: dict[tuple[str, str | None], int] = {}
    commit_of: dict[int, tuple[str, str | None]] = {}
    for index, run in enumerate(order):
        bit = 1 << index
        key = (run.branch, run.environment)
        series_masks[key] = series_masks.get(key, 0) | bit
        if run.commit and run.dirty is False:
            commit = (run.commit, run.environment)
            commit_masks[commit] = commit_masks.get(commit, 0) | bit
            commit_of[index] = commit
    # ``store.series.TestsInRuns`` keeps the passes at once as runs, not entries: a test is in
    # every packed run but those listed for it.
    packed_runs = getattr(tests, "packed_runs", None)
    packed_all = _mask(position[run_id] for run_id in packed_runs or () if run_id in position)
    verdicts = []
    for nodeid in tests:
        if packed_runs is None:
            entries, present = tests[nodeid], 0
        else:
            entries = tests.attempts.get(nodeid, ())  # type: ignore[attr-defined]
            missing = tests.not_packed.get(nodeid)  # type: ignore[attr-defined]
            present = packed_all & ~_mask(position[r] for r in missing if r in position) if missing else packed_all
        failed = rerun_passes = 0
        rerun_seconds: dict[int, float] = {}
        for entry in entries:
            index = position.get(entry.run_id)
            if index is None:
                continue
            outcomes = entry.outcomes
            if outcomes == _PASSED_AT_ONCE:
                present |= 1 << index
                continue
            if not any(outcome in UNIT_OUTCOMES for outcome in outcomes):
                continue  # skipped or xfailed throughout: no observation of the test
            bit = 1 << index
            present |= bit
            if outcomes[0] in DEFECT_OUTCOMES:
                failed |= bit
                if len(outcomes) > 1 and outcomes[-1] not in DEFECT_OUTCOMES:
                    rerun_passes |= bit
            if entry.rerun_seconds:
                rerun_seconds[index] = entry.rerun_seconds
        kept = present & ~outage_mask
        failed &= kept
        passed = kept & ~failed
        flips = pairs = 0
        for mask in series_masks.values():
            in_series = kept & mask
            if in_series:
                pairs += in_series.bit_count() - 1
                flips += _changes(in_series, failed & mask, passed & mask)
        same_commit = set()
        for index in _bits(failed):
            commit = commit_of.get(index)
            if commit is not None and commit[0] not in same_commit and passed & commit_masks[commit]:
                same_commit.add(commit[0])
        verdicts.append(
            _verdict(
                nodeid, runs=kept.bit_count(), left_out=(present & outage_mask).bit_count(),
                failures=failed.bit_count(), reruns_passed=(rerun_passes & kept).bit_count(),
                same_commit=same_commit, flips=flips, pairs=pairs,
                first_seen=order[_lowest(kept)].started_at if kept else None,
                last_seen=order[kept.bit_length() - 1].started_at if kept else None,
                rerun_seconds=sum(seconds for index, seconds in rerun_seconds.items() if kept >> index & 1),
                min_runs=min_runs, flip_threshold=flip_threshold,
            )  # fmt: skip
        )
    return FlakyAnalysis(len(order), tuple(run.id for run in order if run.id in outages), ranked(verdicts))


_PASSED_AT_ONCE = ("passed",)


def _mask(indexes: Iterable[int]) -> int:
    mask = 0
    for index in indexes:
        mask |= 1 << index
    return mask


def _bits(mask: int) -> Iterator[int]:
    """The indexes of the set bits, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _lowest(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _changes(members: int, failed: int, passed: int) -> int:
    """How often the outcome changes between consecutive members (set bits of ``members``,
    each in ``failed`` or ``passed``). Each change pairs a failure with a pass, so it is
    counted once from the side that has fewer members: each of them looks at its neighbours."""
    side, other = (failed, passed) if failed.bit_count() <= passed.bit_count() else (passed, failed)
    changes = 0
    for index in _bits(side):
        before = members & ((1 << index) - 1)
        if before and other >> (before.bit_length() - 1) & 1:
            changes += 1
        after = members >> (index + 1)
        if after and other >> (index + 1 + _lowest(after)) & 1:
            changes += 1
    return changes
