"""The roll-up rules of docs/compliance.md, one by one, and the three labelled numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_enterprise.compliance.catalog import Catalog, Control
from pytest_enterprise.compliance.evidence_files import Attestation, Waiver
from pytest_enterprise.compliance.result import STATES
from pytest_enterprise.compliance.rollup import Resolved, ScopedCatalog, decide, roll_up
from pytest_enterprise.model import Attempt, TestResult

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

P, F, E, S = "passed", "failed", "error", "skipped"


# --- decide(): each precedence rule on its own ----------------------------------------------


def test_rule_9_no_evidence_is_not_tested_never_passed():
    assert decide([]).state == "not_tested"


def test_rule_1_an_active_waiver_wins_and_keeps_what_the_tests_said():
    decision = decide([(F, None)], waived=True)
    assert decision.state == "waived" and decision.test_state == "failed"
    assert decide([], waived=True).test_state is None


def test_rule_2_any_failed_test_fails_the_control():
    assert decide([(P, None), (F, None), (E, None)]).state == "failed"


def test_rule_2_a_failed_test_beats_a_compliant_attestation():
    assert decide([(F, None)], manual_status="compliant").state == "failed"


def test_rule_3_an_error_without_failures_is_error():
    assert decide([(P, None), (E, None)]).state == "error"


def test_rule_4_manual_non_compliance_beats_passing_tests():
    assert decide([(P, None)], manual_status="non_compliant").state == "failed"
    assert decide([(P, None)], manual_status="partially_compliant").state == "failed"


def test_rule_5_a_passing_test_passes_and_skips_alongside_do_not_hide_it():
    decision = decide([(P, None), (S, None)])
    assert decision.state == "passed"
    assert "1 skipped" in decision.reason


def test_rule_5_passing_tests_win_over_a_not_applicable_attestation():
    assert decide([(P, None)], manual_status="not_applicable").state == "passed"


def test_rule_6_attestations_decide_when_no_test_ran():
    assert decide([], manual_status="compliant").state == "attested"
    assert decide([(S, None)], manual_status="compliant").state == "attested"
    assert decide([], manual_status="not_applicable").state == "not_applicable"


def test_rule_7_passing_na_tests_make_the_control_not_applicable():
    assert decide([(P, "no card data")]).state == "not_applicable"


def test_rule_7_a_failing_na_test_refutes_the_claim():
    assert decide([(F, "no card data")]).state == "failed"


def test_rule_7_ordinary_evidence_wins_over_na_evidence():
    assert decide([(P, "reason"), (P, None)]).state == "passed"


def test_rule_8_all_skipped_is_not_reviewed():
    assert decide([(S, None), (S, None)]).state == "not_reviewed"


@given(
    st.lists(st.tuples(st.sampled_from([P, F, E, S]), st.sampled_from([None, "na"])), max_size=6),
    st.booleans(),
    st.sampled_from([None, "compliant", "non_compliant", "partially_compliant", "not_applicable"]),
)
def test_no_evidence_of_compliance_never_yields_passed_or_attested(outcomes, waived, manual):
    state = decide(outcomes, waived=waived, manual_status=manual).state
    assert state in STATES
    if state == "passed":
        assert any(outcome == P and na is None for outcome, na in outcomes)
    if state == "attested":
        assert manual == "compliant"
    if any(outcome == F for outcome, _ in outcomes) and not waived:
        assert state == "failed"


# --- roll_up(): tests, waivers, attestations into frameworks --------------------------------


def catalog(framework="demo", ids=("C1", "C2", "C3", "C4")) -> Catalog:
    controls = {cid: Control(id=cid, title=f"title {cid}", family="F") for cid in ids}
    controls["OLD"] = Control(id="OLD", title="old", family="F", status="withdrawn", replaced_by=("C1",))
    return Catalog(framework=framework, name="Demo", version="1", source="tests", controls=controls)


def result(nodeid, outcome, *controls, na=None, started_at="2026-11-26T10:00:00.000Z"):
    attempt = Attempt(number=1, outcome=outcome)
    entries = [[framework, cid, cid, na] for framework, cid in controls]
    return TestResult(nodeid=nodeid, attempts=[attempt], markers={"controls": entries}, started_at=started_at)


def waiver(expires, run=True) -> Waiver:
    return Waiver(control="C3", justification="vendor fix due", approver="CISO", expires=expires, run=run, source="w.yaml:2")


def attestation(status="compliant", expires=None) -> Attestation:
    return Attestation(
        control="C4", status=status, justification="policy signed", evidence="https://example.org/p",
        evidence_path=None, evidence_sha256=None, expires=expires, attested_by="bob",
    )


def test_rolls_a_run_up_into_states_and_labelled_ratios():
    tests = [
        result("t::a", "passed", ("demo", "C1")),
        result("t::b", "failed", ("demo", "C2")),
        result("t::c", "passed", ("demo", "C3")),
        result("t::d", "passed", ("other", "X1")),
    ]
    rolled = roll_up(
        tests,
        [ScopedCatalog("demo", catalog())],
        now=NOW,
        generated_at="2026-11-26T12:00:00.000Z",
        run={"id": "run-1", "git_commit": "abc"},
        waivers=[Resolved("demo", "C3", waiver(NOW + timedelta(days=1)))],
        attestations=[Resolved("demo", "C4", attestation())],
    )
    framework = rolled.frameworks[0]
    states = {control.id: control.state for control in framework.controls}
    assert states == {"C1": "passed", "C2": "failed", "C3": "waived", "C4": "attested"}
    assert "OLD" not in states  # withdrawn entries are never in scope
    data = framework.to_dict()
    assert data["percent_compliant"] == {**data["percent_compliant"], "value": 66.67, "numerator": 2, "denominator": 3}
    assert data["coverage"]["value"] == 100.0
    assert data["overall_status"]["numerator"] == 2 and data["overall_status"]["denominator"] == 4
    assert all(data[name]["label"] for name in ("percent_compliant", "coverage", "overall_status"))
    evidence = framework.controls[0].tests[0]
    assert evidence == {
        "nodeid": "t::a", "outcome": "passed", "duration_s": 0.0, "started_at": "2026-11-26T10:00:00.000Z",
        "run_id": "run-1", "git_commit": "abc", "refs": ["C1"], "na": None,
    }
    assert rolled.unscoped == [{"ref": "other:X1", "nodeid": "t::d"}]
    assert framework.controls[2].test_state == "passed"  # visible under the waiver


def test_no_tests_at_all_gives_no_data_never_a_percentage():
    rolled = roll_up([], [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x")
    data = rolled.frameworks[0].to_dict()
    assert data["counts"]["not_tested"] == 4
    assert data["percent_compliant"]["value"] is None
    assert data["coverage"]["value"] == 0.0
    assert data["overall_status"]["value"] == 0.0


@pytest.mark.parametrize("days, state", [(1, "waived"), (-1, "passed")])
def test_an_expired_waiver_is_ignored_and_reported(days, state):
    rolled = roll_up(
        [result("t::c", "passed", ("demo", "C3"))],
        [ScopedCatalog("demo", catalog())],
        now=NOW,
        generated_at="x",
        waivers=[Resolved("demo", "C3", waiver(NOW + timedelta(days=days)))],
    )
    control = rolled.frameworks[0].controls[2]
    assert control.state == state
    if days < 0:
        assert control.waiver is None
        assert control.expired and control.expired[0]["status"] == "expired"
        assert "expired" in control.reason
        assert rolled.waivers[0]["status"] == "expired"


def test_an_expired_attestation_leaves_the_control_not_tested():
    rolled = roll_up(
        [], [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x",
        attestations=[Resolved("demo", "C4", attestation(expires=NOW - timedelta(seconds=1)))],
    )
    control = rolled.frameworks[0].controls[3]
    assert control.state == "not_tested" and control.expired


def test_the_first_active_attestation_wins_so_manual_statuses_go_first():
    manual = Resolved("demo", "C4", attestation("non_compliant"))
    from_file = Resolved("demo", "C4", attestation("compliant"))
    rolled = roll_up([], [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x", attestations=[manual, from_file])
    assert rolled.frameworks[0].controls[3].state == "failed"


def test_xfail_counts_as_a_known_failure_of_the_control():
    rolled = roll_up([result("t::x", "xfailed", ("demo", "C1"))], [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x")
    control = rolled.frameworks[0].controls[0]
    assert control.state == "failed" and control.test_state == "failed"
    # It says what happened: the test was an expected failure, not "1 of 1 tests failed".
    assert control.reason == "1 of 1 tests xfailed (known defect)"


def test_the_reason_counts_failures_and_xfails_apart():
    tests = [
        result("t::a", "failed", ("demo", "C1")),
        result("t::b", "xfailed", ("demo", "C1")),
        result("t::c", "passed", ("demo", "C1")),
    ]
    rolled = roll_up(tests, [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x")
    control = rolled.frameworks[0].controls[0]
    assert (control.state, control.reason) == ("failed", "1 of 3 tests failed, 1 xfailed (known defect)")
    assert [t["outcome"] for t in control.tests] == ["failed", "xfailed", "passed"]


def test_one_test_naming_a_control_twice_is_one_piece_of_evidence():
    test = result("t::a", "passed", ("demo", "C1"))
    test.markers["controls"].append(["demo", "C1", "C1(a)", None])
    rolled = roll_up([test], [ScopedCatalog("demo", catalog())], now=NOW, generated_at="x")
    evidence = rolled.frameworks[0].controls[0].tests
    assert len(evidence) == 1 and evidence[0]["refs"] == ["C1", "C1(a)"]


@given(st.floats(min_value=1e9, max_value=4e9, allow_nan=False))
def test_evidence_start_times_are_formatted_exactly_as_rfc3339_does(epoch):
    from pytest_enterprise.recorder import _timestamp
    from pytest_enterprise.timeutil import rfc3339

    assert _timestamp(epoch) == rfc3339(datetime.fromtimestamp(epoch, timezone.utc))
