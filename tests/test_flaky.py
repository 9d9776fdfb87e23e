"""quality.flaky: verdicts on generated histories."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from pytest_enterprise.quality.flaky import (
    FLAKY,
    INSUFFICIENT,
    STABLE,
    Observation,
    assess,
    outage_runs,
    ranked,
)


def history(outcomes: str, *, commits: list[str] | None = None, dirty: bool = False, reruns: str = "") -> list[Observation]:
    """'P'/'F' per run (first attempt); 'R' in ``reruns`` at a run: failed then passed on a rerun."""
    made = []
    for index, outcome in enumerate(outcomes):
        rerun = index < len(reruns) and reruns[index] == "R"
        made.append(Observation(
            run_id=f"run-{index:03d}", started_at=f"2026-11-{1 + index // 24:02d}T{index % 24:02d}:00:00.000000Z",
            commit=(commits[index] if commits else f"c{index}"), dirty=dirty,
            passed_first=outcome == "P" and not rerun, passed_final=outcome == "P" or rerun,
            reruns=1 if rerun else 0, rerun_seconds=0.5 if rerun else 0.0,
        ))  # fmt: skip
    return made


def test_an_alternating_test_is_flaky_with_its_flip_rate_and_interval() -> None:
    verdict = assess("t::alt", history("PF" * 10))
    assert verdict.verdict == FLAKY and verdict.flips == 19 and verdict.flip_rate == 1.0
    expected = binomtest(19, 19).proportion_ci(method="exact")
    assert verdict.flip_rate_ci95 == pytest.approx((expected.low, expected.high))
    assert verdict.failures == 10 and verdict.failure_probability == 0.5
    assert "changed outcome in 19 of 19 consecutive runs" in verdict.evidence[0]


def test_an_always_failing_test_is_not_flaky() -> None:
    verdict = assess("t::broken", history("F" * 12))
    assert verdict.verdict == STABLE and verdict.flips == 0 and verdict.failure_probability == 1.0


def test_a_test_that_broke_on_one_commit_and_stayed_broken_is_not_flaky() -> None:
    verdict = assess("t::regressed", history("P" * 10 + "F" * 10))
    assert verdict.verdict == STABLE and verdict.flips == 1 and verdict.evidence == ()


def test_passing_on_a_rerun_is_evidence_on_its_own() -> None:
    verdict = assess("t::rerun", history("PPPPPPPP", reruns="...R"))
    assert verdict.verdict == FLAKY and verdict.reruns_passed == 1 and verdict.rerun_seconds == 0.5
    assert verdict.evidence == ("passed on a rerun in 1 of 8 runs",)


def test_the_same_clean_commit_passing_and_failing_is_evidence_but_a_dirty_tree_is_not() -> None:
    commits = ["abc"] * 2 + ["def"] * 4
    verdict = assess("t::same", history("PFPPPP", commits=commits))
    assert verdict.verdict == FLAKY and verdict.same_commit == ("abc",)
    assert assess("t::same", history("PFPPPP", commits=commits, dirty=True)).same_commit == ()


def test_outage_runs_are_left_out_and_counted() -> None:
    runs = history("PPPPFPPPPP")
    outages = outage_runs({"run-004": 0.93, "run-005": 0.01}, threshold=0.8)
    assert outages == {"run-004"}
    verdict = assess("t::victim", runs, outages)
    assert verdict.outage_runs == 1 and verdict.runs == 9 and verdict.failures == 0 and verdict.flips == 0
    assert verdict.verdict == STABLE
    assert assess("t::victim", runs).flips == 2  # counted, the outage would have made two flips


def test_too_few_runs_gives_no_flip_verdict_and_says_how_many_more() -> None:
    verdict = assess("t::new", history("PFP"), min_runs=5)
    assert verdict.verdict == INSUFFICIENT and verdict.runs_needed == 2 and verdict.evidence == ()
    empty = assess("t::none", [])
    assert empty.verdict == INSUFFICIENT and empty.flip_rate is None and empty.failure_probability is None


def test_order_of_observations_does_not_matter_and_ranking_puts_flaky_first() -> None:
    runs = history("PFPFPFPF")
    assert assess("t::a", list(reversed(runs))) == assess("t::a", runs)
    verdicts = [assess("t::ok", history("P" * 8)), assess("t::alt", runs), assess("t::rerun", history("P" * 8, reruns="R"))]
    assert [v.nodeid for v in ranked(verdicts)] == ["t::rerun", "t::alt", "t::ok"]


def test_bad_parameters_are_value_errors() -> None:
    with pytest.raises(ValueError, match="min_runs"):
        assess("t", [], min_runs=1)
    with pytest.raises(ValueError, match="outage threshold"):
        outage_runs({}, threshold=0)


# ---------------------------------------------------------------- analyze() equals assess()

from collections import namedtuple  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

Run = namedtuple("Run", "id started_at branch environment commit dirty units failed_units")
Entry = namedtuple("Entry", "run_id outcomes rerun_seconds")
OUTCOMES = [("passed",), ("failed",), ("error",), ("skipped",), ("xfailed",), ("failed", "passed"),
            ("failed", "failed"), ("error", "passed"), ("xpassed",), ("skipped", "passed")]


@st.composite
def histories(draw):
    count = draw(st.integers(0, 25))
    runs = [
        Run(f"r{i}", f"2026-01-01T00:00:{draw(st.integers(0, 59)):02d}Z", draw(st.sampled_from([None, "main", "dev"])),
            draw(st.sampled_from([None, "py311"])), draw(st.sampled_from([None, "c1", "c2"])),
            draw(st.sampled_from([None, True, False])), draw(st.integers(0, 10)), 0)
        for i in range(count)
    ]  # fmt: skip
    runs = [r._replace(failed_units=draw(st.integers(0, r.units))) for r in runs]
    tests = {}
    for name in ("a", "b", "c"):
        entries = []
        for run in runs:
            if draw(st.booleans()):
                outcomes = draw(st.sampled_from(OUTCOMES))
                rerun_seconds = draw(st.sampled_from([0.0, 0.5])) if len(outcomes) > 1 else 0.0  # as stored
                entries.append(Entry(run.id, outcomes, rerun_seconds))
        entries.append(Entry("unknown-run", ("failed",), 0.0))  # a run outside the window: ignored
        tests[name] = entries
    return runs, tests


@settings(max_examples=300, deadline=None)
@given(history=histories(), min_runs=st.integers(2, 6), threshold=st.sampled_from([0.0, 0.1, 0.5]))
def test_analyze_gives_the_verdicts_assess_gives(history, min_runs, threshold):
    from pytest_enterprise.quality.flaky import analyze, observations, outage_runs

    runs, tests = history
    fast = analyze(runs, tests, min_runs=min_runs, flip_threshold=threshold, outage_threshold=0.8)
    outages = outage_runs({r.id: r.failed_units / r.units for r in runs if r.units}, 0.8)
    seen = observations(runs, tests)
    slow = {name: assess(name, seen[name], outages, min_runs=min_runs, flip_threshold=threshold) for name in tests}
    assert set(fast.outages) == outages
    for verdict in fast.verdicts:
        expected = slow[verdict.nodeid]
        assert verdict == expected
        assert verdict.flip_rate_ci95 == expected.flip_rate_ci95
        assert verdict.failure_probability_ci95 == expected.failure_probability_ci95
