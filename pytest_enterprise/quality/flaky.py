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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .sigma import proportion_ci

FLAKY = "flaky"
STABLE = "stable"  # never changed its outcome without a code change we can see
INSUFFICIENT = "insufficient data"

DEFAULT_MIN_RUNS = 5
DEFAULT_FLIP_THRESHOLD = 0.1
DEFAULT_OUTAGE_THRESHOLD = 0.8


@dataclass(frozen=True)
class Observation:
    """One test in one run."""

    run_id: str
    started_at: str  # RFC 3339; runs are ordered by it
    commit: str | None
    dirty: bool | None  # None: unknown, treated as not clean
    passed_first: bool  # its first attempt produced no defect
    passed_final: bool  # its last attempt produced no defect
    reruns: int = 0  # attempts after the first
    rerun_seconds: float = 0.0  # time spent in the attempts before the last one


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
    flip_rate: float | None
    flip_rate_ci95: tuple[float, float] | None
    failure_probability: float | None
    failure_probability_ci95: tuple[float, float] | None
    first_seen: str | None
    last_seen: str | None
    rerun_seconds: float
    runs_needed: int = 0  # more runs before a flip-rate verdict can be given


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
    """The verdict on one test from its observations (any order)."""
    if min_runs < 2:
        raise ValueError(f"min_runs must be at least 2, got {min_runs}")
    history = sorted(observations, key=lambda o: (o.started_at, o.run_id))
    kept = [o for o in history if o.run_id not in outages]
    left_out = len(history) - len(kept)
    runs = len(kept)
    failures = sum(not o.passed_first for o in kept)
    reruns_passed = sum(1 for o in kept if not o.passed_first and o.passed_final and o.reruns > 0)
    # Across runs, by first attempts: a rerun within one run is evidence of the first kind,
    # not counted again here.
    outcomes_by_commit: dict[str, set[bool]] = {}
    for o in kept:
        if o.commit and o.dirty is False:
            outcomes_by_commit.setdefault(o.commit, set()).add(o.passed_first)
    same_commit = tuple(sorted(c for c, seen in outcomes_by_commit.items() if len(seen) == 2))
    flips = sum(1 for a, b in zip(kept, kept[1:]) if a.passed_first != b.passed_first)
    flip_rate = flip_ci = None
    if runs >= 2:
        flip_rate = flips / (runs - 1)
        flip_ci = proportion_ci(flips, runs - 1)
    failure_probability = failure_ci = None
    if runs:
        failure_probability = failures / runs
        failure_ci = proportion_ci(failures, runs)
    evidence = []
    if reruns_passed:
        evidence.append(f"passed on a rerun in {reruns_passed} of {runs} runs")
    if same_commit:
        evidence.append(f"passed and failed on the same clean commit ({len(same_commit)} commits)")
    runs_needed = max(0, min_runs - runs)
    if not runs_needed and flip_ci is not None and flip_ci[0] > flip_threshold:
        evidence.append(
            f"changed outcome in {flips} of {runs - 1} consecutive runs"
            f" (95% interval {flip_ci[0]:.0%}-{flip_ci[1]:.0%})"
        )
    if evidence:
        verdict = FLAKY
    elif runs_needed:
        verdict = INSUFFICIENT
    else:
        verdict = STABLE
    return Verdict(
        nodeid=nodeid,
        verdict=verdict,
        evidence=tuple(evidence),
        runs=runs,
        outage_runs=left_out,
        failures=failures,
        reruns_passed=reruns_passed,
        same_commit=same_commit,
        flips=flips,
        flip_rate=flip_rate,
        flip_rate_ci95=flip_ci,
        failure_probability=failure_probability,
        failure_probability_ci95=failure_ci,
        first_seen=kept[0].started_at if kept else None,
        last_seen=kept[-1].started_at if kept else None,
        rerun_seconds=sum(o.rerun_seconds for o in kept),
        runs_needed=runs_needed if verdict == INSUFFICIENT else 0,
    )


def ranked(verdicts: Sequence[Verdict]) -> list[Verdict]:
    """Flaky tests first, strongest evidence first; then the rest by failures."""

    def key(v: Verdict) -> tuple[object, ...]:
        low = v.flip_rate_ci95[0] if v.flip_rate_ci95 else 0.0
        return (v.verdict != FLAKY, -(v.reruns_passed + len(v.same_commit)), -low, -v.failures, v.nodeid)

    return sorted(verdicts, key=key)
