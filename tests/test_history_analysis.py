"""Quality over time from the store: the history queries, the series' control state (stages,
limits, baselines), flaky verdicts from stored runs, and both at the end of a pytest run."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from pytest_enterprise.errors import StoreError
from pytest_enterprise.model import Attempt, GitInfo, OpportunityDefinition, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality import control, flaky
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.store import HistoryStore, open_store
from pytest_enterprise.store.series import BaselineRow, SeriesRun
from pytest_enterprise.store.sqlite import MIGRATIONS

from postgres import raw_sql

TRIVIAL = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"


def passed(nodeid: str) -> TestResult:
    """Passed at once, as the recorder records it: the store packs such a test."""
    phases = [Phase("setup", "passed", 0.001), Phase("call", "passed", 0.01), Phase("teardown", "passed", 0.001)]
    return TestResult(nodeid, [Attempt(1, "passed", phases)])


def outcomes(nodeid: str, *results: str) -> TestResult:
    return TestResult(
        nodeid,
        [Attempt(i + 1, o, [Phase("call", o if o != "error" else "failed", 0.5)], category=None) for i, o in enumerate(results)],
    )


def run_record(
    run_id: str, started_at: str, tests: list[TestResult], *, branch: str | None = None,
    environment: str | None = None, commit: str | None = None, dirty: bool | None = False,
    per_unit: int = 1, interrupted: bool = False, duration: float = 10.0, process: str = "pytest",
) -> RunRecord:  # fmt: skip
    git = GitInfo(commit=commit, branch=branch, dirty=dirty) if (branch or commit) else None
    run = RunInfo(id=run_id, started_at=started_at, duration_s=duration, git=git, environment=environment,
                  interrupted=interrupted, process=process)  # fmt: skip
    return RunRecord(run=run, tests=tests, opportunity_definition=OpportunityDefinition(per_unit=per_unit))


def save(store: HistoryStore, record: RunRecord) -> None:
    store.save_run(record, analyze_run(record).to_dict())


def suite(failures: int, size: int = 100, name: str = "t.py::test_") -> list[TestResult]:
    return [
        outcomes(f"{name}{i}", "failed") if i < failures else passed(f"{name}{i}") for i in range(size)
    ]


def at(minute: int) -> str:
    return f"2026-11-01T{minute // 60:02d}:{minute % 60:02d}:00.000000Z"


@pytest.fixture
def store(store_where):
    with open_store(store_where) as store:
        yield store


# --------------------------------------------------------------------------- store queries


def test_series_runs_are_oldest_first_and_filter_one_series_including_none(store):
    save(store, run_record("a", at(1), suite(3), branch="main"))
    save(store, run_record("b", at(2), suite(5), branch="main", environment="py311"))
    save(store, run_record("c", at(3), suite(0)))
    save(store, run_record("d", at(4), suite(7), branch="main"))
    assert [r.id for r in store.series_runs("pytest")] == ["a", "b", "c", "d"]
    main = store.series_runs("pytest", same={"branch": "main", "environment": None})
    assert [r.id for r in main] == ["a", "d"]
    assert [r.failed_units for r in main] == [3, 7] and main[0].units == 100
    assert [r.id for r in store.series_runs("pytest", same={"branch": None, "environment": None})] == ["c"]
    assert [r.id for r in store.series_runs("pytest", same={"branch": "main"})] == ["a", "b", "d"]
    assert [r.id for r in store.series_runs("pytest", limit=2)] == ["c", "d"]
    assert store.series_runs("other") == []
    assert main[0].opportunity_definition == "1 per test unless @pytest.mark.opportunities(n) says otherwise"


def test_failed_units_come_back_exactly_from_the_stored_yield(store):
    for units in (1, 3, 7, 997, 12_345):
        for failures in sorted({0, 1, units // 3, units - 1, units}):
            save(store, run_record(f"r{units}-{failures}", at(1), suite(failures, units)))
            (row,) = [r for r in store.series_runs("pytest") if r.id == f"r{units}-{failures}"]
            assert row.failed_units == failures


def test_a_v6_store_gets_the_opportunity_definition_of_its_runs_at_migration(tmp_path):
    path = tmp_path / "history.db"
    with HistoryStore(path) as store:
        save(store, run_record("old", at(1), suite(2)))
    conn = sqlite3.connect(path)
    with conn:  # back to v6: the column as an older store has it (absent), then the version
        conn.execute("DROP TABLE spc_baselines")
        conn.execute("DROP INDEX runs_series")
        conn.execute("ALTER TABLE run_tests DROP COLUMN nodeid_index")
        conn.execute("ALTER TABLE runs DROP COLUMN opportunity_definition")
        conn.execute("PRAGMA user_version = 6")
    conn.close()
    with HistoryStore(path) as store:
        (row,) = store.series_runs("pytest")
        assert row.opportunity_definition.startswith("1 per test")
        assert store.spc_baselines("pytest") == []
    assert len(MIGRATIONS) == 7


def test_tests_in_runs_finds_failed_and_rerun_tests_and_their_packed_passes(store):
    save(store, run_record("a", at(1), [passed("t::x"), outcomes("t::y", "failed"), passed("t::z")]))
    save(store, run_record("b", at(2), [outcomes("t::x", "failed", "passed"), passed("t::y"), passed("t::z")]))
    save(store, run_record("c", at(3), [passed("t::x"), passed("t::y"), outcomes("t::s", "skipped")]))
    found = store.tests_in_runs(["a", "b", "c"])
    assert set(found) == {"t::x", "t::y"}  # t::z always passed at once; t::s only skipped
    by_run = {e.run_id: e for e in found["t::x"]}
    assert by_run["a"].outcomes == ("passed",) and by_run["b"].outcomes == ("failed", "passed")
    assert by_run["b"].rerun_seconds == pytest.approx(0.5) and by_run["a"].rerun_seconds == 0
    assert {e.run_id: e.outcomes for e in found["t::y"]} == {"a": ("failed",), "b": ("passed",), "c": ("passed",)}
    assert set(store.tests_in_runs(["c"], ["t::z", "t::nope"])) == set()  # t::z is not in c
    assert [e.run_id for e in store.tests_in_runs(["a", "b"], ["t::z"])["t::z"]] in (["a", "b"], ["b", "a"])
    assert store.tests_in_runs([]) == {}


def test_a_row_stored_before_the_index_is_read_by_its_node_ids(store, store_where):
    save(store, run_record("a", at(1), [passed("t::x"), passed("t::é"), outcomes("t::y", "failed")]))
    indexed = store.tests_in_runs(["a"], ["t::x", "t::é", "t::nope"])
    raw_sql(store_where, "UPDATE run_tests SET nodeid_index = NULL")
    assert store.tests_in_runs(["a"], ["t::x", "t::é", "t::nope"]) == indexed
    assert set(indexed) == {"t::x", "t::é"}


@pytest.mark.parametrize("damage", ["nodeid_index = ?", "nodeid_index = NULL, nodeids_zlib = ?"])
def test_a_damaged_packed_row_is_a_store_error_naming_the_run(store, store_where, damage):
    save(store, run_record("a", at(1), [passed("t::x"), outcomes("t::y", "failed")]))
    raw_sql(store_where, f"UPDATE run_tests SET {damage}", (b"\x00",))
    assert raw_sql(store_where, "SELECT COUNT(*) FROM run_tests") == [(1,)]
    with pytest.raises(StoreError, match="run 'a' cannot be read back"):
        store.tests_in_runs(["a"])


def test_a_baseline_change_is_stored_with_its_audit_event(store):
    from pytest_enterprise.audit import make_event, verify_chain

    row = BaselineRow("pytest", "main", None, "freeze", ("a", "b"), at(5), "alice", "after the fix")
    event = store.record_spc_baseline(row, make_event("spc-baseline", "pytest", "freeze", before=None, after={"runs": 2}, actor="alice"))
    assert store.spc_baselines("pytest") == [row] and store.spc_baselines("other") == []
    assert store.audit_events("spc-baseline") == [event] and verify_chain(store.audit_events()) == []


# --------------------------------------------------------------------------- control state of a series


def series(failures: list[int], *, size: int = 1000, start: int = 0, **changes) -> list[SeriesRun]:
    return [
        SeriesRun(f"r{start + i}", at(start + i), None, None, None, None, size, f, f / size * 1e6, 60.0 + (i % 3),
                  "1 per test", False)  # fmt: skip
        for i, f in enumerate(failures)
    ]


STABLE = [10, 12, 9, 11, 10, 13, 8, 10, 11, 9, 12, 10, 11, 9, 10, 12, 8, 11, 10, 9, 11, 10, 12, 9, 10]


def test_too_few_runs_say_how_many_more_are_needed():
    state = control.control_series("pytest", None, None, series(STABLE[:7]))
    assert state.limits.state == control.INSUFFICIENT and state.limits.runs_needed == 3 and not state.charts
    assert state.summary() == "3 more runs needed before control limits (7 comparable in series pytest, stage 1)"


def test_trial_limits_until_the_baseline_then_frozen_on_the_first_runs():
    trial = control.control_series("pytest", None, None, series(STABLE[:15]))
    assert trial.limits.state == control.TRIAL and len(trial.limits.run_ids) == 15
    p_bar = sum(STABLE[:15]) / 15000
    assert trial.charts[control.DEFECT_FRACTION].center == pytest.approx(p_bar)
    frozen = control.control_series("pytest", None, None, series(STABLE))
    assert frozen.limits.state == control.FROZEN and frozen.limits.run_ids == tuple(f"r{i}" for i in range(20))
    chart = frozen.charts[control.DEFECT_FRACTION]
    assert chart.center == pytest.approx(sum(STABLE[:20]) / 20000)  # the later 5 runs do not move it
    assert len(chart.points) == 25
    point = chart.points[0]
    assert point.ucl == pytest.approx(chart.center + 3 * (chart.center * (1 - chart.center) / 1000) ** 0.5)


def test_a_stable_history_is_in_control_and_one_shifted_run_is_flagged_exactly():
    stable = control.control_series("pytest", None, None, series(STABLE))
    assert stable.signals() == [] and stable.summary() == (
        "in control over 25 runs (p chart, frozen limits; series pytest, stage 1)"
    )
    shifted = control.control_series("pytest", None, None, series([*STABLE, 40]))
    assert [(name, s.rule) for name, s in shifted.signals_at("r25")] == [
        (control.DEFECT_FRACTION, "nelson-1"), (control.DPMO, "nelson-1")
    ]
    assert [(name, s.rule, s.at) for name, s in shifted.signals_at_any()] == [
        (control.DEFECT_FRACTION, "nelson-1", 25), (control.DPMO, "nelson-1", 25)
    ]
    assert shifted.summary("r25").startswith("signal nelson-1 (one point beyond 3σ) on the failed fraction chart at this run and 1 more")
    assert shifted.summary("r24").startswith("no signal at this run; 2 signals in this stage")


def test_overdispersed_runs_get_a_laney_chart_with_its_sigma_z():
    wide = [10, 30, 5, 40, 12, 25, 3, 35, 20, 8, 28, 15, 33, 6, 22, 18, 38, 4, 26, 11]
    state = control.control_series("pytest", None, None, series(wide))
    chart = state.charts[control.DEFECT_FRACTION]
    assert chart.kind == "laney-p'" and chart.sigma_z > 1 and chart.dispersion_p_value < 0.05
    assert state.summary().endswith("(p′ chart, frozen limits; series pytest, stage 1)")


def test_a_new_opportunity_definition_starts_a_new_stage():
    runs = series(STABLE[:12]) + [replace(r, opportunity_definition="3 per test") for r in series(STABLE[:4], start=12)]
    state = control.control_series("pytest", None, None, runs)
    assert state.stage.number == 2 and len(state.stage.runs) == 4
    assert state.stage.reason == "opportunity definition changed to '3 per test'"
    assert state.limits.runs_needed == 6


def test_interrupted_and_empty_runs_are_left_out_and_listed():
    runs = series(STABLE[:12])
    runs[3] = replace(runs[3], interrupted=True)
    runs[5] = replace(runs[5], units=0, failed_units=0)
    state = control.control_series("pytest", None, None, runs)
    assert state.stage.excluded == [("r3", "interrupted: not every test ran"), ("r5", "no units")]
    assert len(state.charts[control.DEFECT_FRACTION].points) == 10


def test_an_explicit_baseline_freezes_the_limits_on_its_runs_and_a_reset_starts_over():
    runs = series(STABLE + [30, 31, 29, 30, 32, 30, 31, 29, 30, 31], size=1000)
    newer = tuple(r.id for r in runs[25:35])
    freeze = BaselineRow("pytest", None, None, "freeze", newer, at(40), "alice")
    state = control.control_series("pytest", None, None, runs, [freeze])
    assert state.limits.state == control.FROZEN and state.limits.run_ids == newer
    assert state.limits.source.startswith("frozen on 10 runs by alice")
    assert state.charts[control.DEFECT_FRACTION].center == pytest.approx(303 / 10000)
    other_series = BaselineRow("pytest", "main", None, "freeze", newer[:2], at(40), "bob")
    assert control.control_series("pytest", None, None, runs, [other_series]).limits.run_ids[:2] == ("r0", "r1")
    reset = BaselineRow("pytest", None, None, "reset", (), at(30) .replace("00.000000Z", "30.000000Z"), "alice")
    after = control.control_series("pytest", None, None, runs, [freeze, reset])
    assert after.stage.number == 2 and after.stage.reason.startswith("limits reset at")
    assert [r.id for r in after.stage.runs] == [f"r{i}" for i in range(31, 35)]
    assert after.limits.state == control.INSUFFICIENT and after.limits.runs_needed == 6


def test_series_json_lists_every_point_with_its_run_time_limits_and_rules():
    state = control.control_series("pytest", "main", "py311", [replace(r, branch="main", environment="py311") for r in series([*STABLE, 40])])
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    chart = data["charts"]["defect_fraction"]
    last = chart["points"][-1]
    assert last["run_id"] == "r25" and last["started_at"] == at(25) and last["rules"] == ["nelson-1"]
    assert last["value"] == 0.04 and last["ucl"] < 0.04 and set(last) == {"run_id", "started_at", "value", "center", "lcl", "ucl", "rules"}
    assert chart["signals"] == [{"rule": "nelson-1", "description": "one point beyond 3σ", "runs": ["r25"]}]
    assert data["limits"]["state"] == "frozen" and data["branch"] == "main" and data["environment"] == "py311"
    assert set(data["charts"]) == {"defect_fraction", "dpmo", "dpmo_moving_range", "duration", "duration_moving_range"}


# --------------------------------------------------------------------------- flaky verdicts from stored runs


def test_flaky_analysis_of_stored_runs_ranks_the_alternating_test(store):
    for i in range(10):
        tests = [passed(f"t::ok{n}") for n in range(8)]
        tests.append(outcomes("t::alternating", "failed" if i % 2 else "passed"))
        tests.append(outcomes("t::broken", "failed" if i >= 5 else "passed"))
        tests.append(outcomes("t::rerun", "failed", "passed") if i == 3 else passed("t::rerun"))
        save(store, run_record(f"r{i}", at(i), tests, commit=f"c{i}"))
    # An outage: nearly everything failed.
    save(store, run_record("outage", at(20), [outcomes(f"t::ok{n}", "error") for n in range(8)] + [outcomes("t::alternating", "error")], commit="c20"))
    runs = store.series_runs("pytest")
    found = store.tests_in_runs([r.id for r in runs])
    analysis = flaky.analyze(runs, found)
    assert analysis == flaky.analyze(runs, dict(found))  # packed runs as runs, or as entries: alike
    assert set(found.packed_runs) == {f"r{i}" for i in range(10)} and found.not_packed["t::rerun"] == {"r3"}
    verdicts = {v.nodeid: v for v in analysis.verdicts}
    assert analysis.outages == ("outage",)
    assert verdicts["t::alternating"].verdict == flaky.FLAKY and verdicts["t::alternating"].outage_runs == 1
    assert verdicts["t::broken"].verdict == flaky.STABLE and verdicts["t::broken"].flips == 1
    assert verdicts["t::rerun"].verdict == flaky.FLAKY and verdicts["t::rerun"].reruns_passed == 1
    assert verdicts["t::rerun"].runs == 10  # nine packed passes and one rerun
    assert [v.nodeid for v in analysis.flaky] == ["t::rerun", "t::alternating"]
    assert flaky.history_label(verdicts["t::alternating"]).startswith("failed 5 of 10 runs; flip rate 100%")


def test_flips_and_commits_are_compared_within_one_branch_and_environment(store):
    # Broken on a feature branch, fine on main, runs interleaved: no flip within either branch.
    for i in range(12):
        branch = "feature" if i % 2 else "main"
        save(store, run_record(f"r{i}", at(i), [outcomes("t::x", "failed" if branch == "feature" else "passed")],
                               branch=branch, commit=branch))  # fmt: skip
    # Fails on one Python, passes on another, at one commit: not flaky either.
    for i in range(12):
        env = "py310" if i % 2 else "py311"
        save(store, run_record(f"e{i}", at(30 + i), [outcomes("t::y", "failed" if env == "py310" else "passed")],
                               commit="one", environment=env))  # fmt: skip
    runs = store.series_runs("pytest")
    verdicts = {v.nodeid: v for v in flaky.analyze(runs, store.tests_in_runs([r.id for r in runs])).verdicts}
    assert verdicts["t::x"].flips == 0 and verdicts["t::x"].verdict == flaky.STABLE
    assert verdicts["t::y"].flips == 0 and verdicts["t::y"].same_commit == () and verdicts["t::y"].verdict == flaky.STABLE
    # The same commit passing and failing in one environment is evidence, whatever the branch.
    mixed = [o._replace(environment=None) for o in flaky.observations(runs, store.tests_in_runs([r.id for r in runs]))["t::y"]]
    assert flaky.assess("t::y", mixed).same_commit == ("one",)


# --------------------------------------------------------------------------- at the end of a pytest run


def seed(pytester: pytest.Pytester, runs: int, tests, *, failures=lambda i: 0) -> None:
    """``runs`` earlier runs of the project's own process in its store (no git, no tox)."""
    with HistoryStore(pytester.path / ".enterprise" / "history.db") as store:
        for i in range(runs):
            # Durations near a pytester run's (a fraction of a second), so that chart is quiet.
            save(store, run_record(f"seed-{i}", at(i), tests(i), duration=[0.2, 3.0, 1.0][i % 3]))


def hundred(i: int) -> list[TestResult]:
    return suite([2, 3, 1, 2, 4, 2, 3, 1, 2, 3, 2, 1][i % 12], 100, "seed.py::test_")


def validate_report(report) -> None:
    import jsonschema

    from pytest_enterprise.report.json_report import load_schema

    jsonschema.validate(report, load_schema())


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("TOX_ENV_NAME", raising=False)


def test_a_run_with_history_prints_one_spc_line_and_writes_the_sections(pytester, run_enterprise, clean_env):
    pytester.makepyfile(TRIVIAL)
    first = run_enterprise()
    assert "SPC: 9 more runs needed before control limits (1 comparable in series pytest, stage 1)" in first.result.stdout.str()
    seed(pytester, 12, hundred)
    result = run_enterprise()
    result.result.stdout.fnmatch_lines(["SPC: in control over 14 runs (p chart, trial limits; series pytest, stage 1)"])
    spc = result.report["spc"]
    validate_report(result.report)
    assert spc["limits"]["state"] == "trial" and len(spc["limits"]["runs"]) == 14 and spc["signals"] == []
    assert spc["series"] == {"process": "pytest", "branch": None, "environment": None}
    assert spc["this_run"]["defect_fraction"]["value"] == 0 and spc["this_run"]["defect_fraction"]["kind"] == "p"
    assert result.report["flaky"]["failures_with_flaky_history"] == []


def test_no_history_no_analysis(pytester, run_enterprise, clean_env):
    pytester.makepyfile(TRIVIAL)
    result = run_enterprise("--enterprise-no-history")
    assert "SPC" not in result.result.stdout.str() and "spc" not in result.report


def test_the_spc_gate_fails_a_run_with_a_signal(pytester, run_enterprise, clean_env):
    seed(pytester, 12, hundred)
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\n  spc_gate: true\n"})
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    assert False\n")
    result = run_enterprise()
    assert result.result.ret == 1
    result.result.stdout.fnmatch_lines([
        "SPC: signal nelson-1 (one point beyond 3σ) on the failed fraction chart at this run*",
        "SPC gate FAILED: actual 2 > limit 0 (telemetry.spc_gate): nelson-1 on the failed fraction chart, nelson-1 on the DPMO chart",
    ])
    assert result.report["spc"]["signals"][0] == {
        "chart": "defect_fraction", "rule": "nelson-1", "description": "one point beyond 3σ",
        "runs": [result.report["run"]["id"]],
    }
    assert {g["metric"]: g["status"] for g in result.report["gates"]} == {"spc_signals": "failed"}
    validate_report(result.report)


def test_the_spc_gate_says_no_data_until_there_are_limits(pytester, run_enterprise, clean_env):
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\n  spc_gate: true\n"})
    pytester.makepyfile(TRIVIAL)
    result = run_enterprise()
    assert result.result.ret == 0
    result.result.stdout.fnmatch_lines(["SPC gate not evaluated: no data (limit 0, telemetry.spc_gate): 9 more runs needed*"])


FLAKY_MODULE = "def test_ok():\n    pass\n\ndef test_flaky():\n    assert False\n"


def flaky_history(i: int) -> list[TestResult]:
    return [passed("test_flaky_module.py::test_ok"),
            outcomes("test_flaky_module.py::test_flaky", "failed" if i % 2 else "passed")]  # fmt: skip


@pytest.mark.parametrize("exempt", [False, True])
def test_a_failure_of_a_known_flaky_test_is_labelled_still_counted_and_optionally_exempt(
    pytester, run_enterprise, clean_env, exempt
):
    seed(pytester, 10, flaky_history)
    config = "telemetry:\n  enabled: true\n  dpmo_threshold: 100000\n"
    if exempt:
        config += "  flaky_gate_exempt: true\n"
    pytester.makefile(".yaml", **{"enterprise-config": config})
    pytester.makepyfile(test_flaky_module=FLAKY_MODULE)
    result = run_enterprise()
    result.result.stdout.fnmatch_lines([
        "known flaky: test_flaky_module.py::test_flaky failed; its history: failed 6 of 11 runs;"
        " flip rate 90% (95% CI 55%-100%) (counted as a defect)"
    ])
    section = result.report["flaky"]
    validate_report(result.report)
    (verdict,) = section["failures_with_flaky_history"]
    assert verdict["nodeid"] == "test_flaky_module.py::test_flaky" and verdict["verdict"] == "flaky"
    assert result.quality["defects"] == 1  # still a defect
    assert section["gate_exempt"] is exempt and section["ignored_by_gates"] == (1 if exempt else 0)
    (gate,) = result.report["gates"]
    if exempt:
        assert gate["status"] == "passed" and gate["actual"] == 0
        assert gate["detail"] == "1 failure of known-flaky tests left out (telemetry.flaky_gate_exempt)"
        result.result.stdout.fnmatch_lines(["gates left out 1 known-flaky failure (telemetry.flaky_gate_exempt)"])
    else:
        assert gate["status"] == "failed" and gate["actual"] == 500000
    assert result.result.ret == 1  # pytest's own verdict on the failed test stands


def test_an_outage_run_is_not_judged_against_flaky_history(pytester, run_enterprise, clean_env):
    seed(pytester, 10, flaky_history)
    pytester.makepyfile(test_flaky_module="def test_ok():\n    assert False\n\ndef test_flaky():\n    assert False\n")
    result = run_enterprise()
    assert result.report["flaky"]["this_run_is_outage"] is True
    assert result.report["flaky"]["failures_without_flaky_history"] == 2
    result.result.stdout.fnmatch_lines(["flaky: this run is an outage (most tests failed)*"])


def test_an_interrupted_run_says_it_is_not_charted(tmp_path):
    from pytest_enterprise import trends
    from pytest_enterprise.config import EnterpriseConfig

    with HistoryStore(tmp_path / "h.db") as store:
        for i in range(12):
            save(store, run_record(f"r{i}", at(i), suite(2)))
        record = run_record("now", at(30), suite(1), interrupted=True)
        result = trends.run_trends(store, record, analyze_run(record), EnterpriseConfig().telemetry)
    assert result.spc_line().startswith(
        "SPC: this run is not charted (interrupted: not every test ran); the series: in control over 12 runs"
    )


def test_has_run_says_whether_an_id_is_stored(store):
    assert not store.has_run("a")
    save(store, run_record("a", at(1), suite(1)))
    assert store.has_run("a") and not store.has_run("b")
