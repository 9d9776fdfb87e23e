"""Every row of the outcome table, counted the same with and without xdist."""

from __future__ import annotations

import re

import pytest

XDIST = pytest.mark.parametrize("workers", [0, 2], ids=["n0", "n2"])

OUTCOME_SUITE = """
import pytest

def test_passes():
    pass

def test_fails():
    assert 1 == 2

@pytest.fixture
def broken_setup():
    raise RuntimeError("no database")

def test_setup_error(broken_setup):
    pass

@pytest.fixture
def broken_teardown():
    yield
    raise OSError("cleanup failed")

def test_teardown_error(broken_teardown):
    pass

def test_skipped():
    pytest.skip("not on this platform")

def test_deselected_by_k():
    pass

@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert 0

@pytest.mark.xfail(reason="maybe fixed")
def test_xpass():
    pass

@pytest.mark.xfail(strict=True, reason="must fail")
def test_xpass_strict():
    pass

@pytest.mark.flaky(reruns=2)
def test_flaky(request):
    counter = request.config.rootpath / "flaky.count"
    runs = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(runs + 1))
    assert runs >= 1, "first attempt fails"
"""


@pytest.fixture
def outcome_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_outcomes=OUTCOME_SUITE)


@XDIST
def test_each_outcome_row(outcome_suite, run_enterprise, workers):
    run = run_enterprise("-k", "not deselected", workers=workers)
    assert run.result.ret == 1
    expected = {
        "test_passes": ("passed", True, False, None),
        "test_fails": ("failed", True, True, "failure"),
        "test_setup_error": ("error", True, True, "error"),
        "test_teardown_error": ("error", True, True, "error"),
        "test_skipped": ("skipped", False, False, None),
        "test_xfail": ("xfailed", False, False, None),
        "test_xpass": ("xpassed", True, False, None),
        "test_xpass_strict": ("failed", True, True, "xpass-strict"),
        "test_flaky": ("passed", True, False, None),
    }
    for name, (outcome, unit, defect, category) in expected.items():
        test = run.test(name)
        assert (test["outcome"], test["unit"], test["defect"], test["category"]) == (
            outcome,
            unit,
            defect,
            category,
        ), name
    assert run.test("test_fails")["exception_type"] == "AssertionError"
    assert run.test("test_setup_error")["exception_type"] == "RuntimeError"
    assert run.test("test_teardown_error")["exception_type"] == "OSError"
    flaky = run.test("test_flaky")
    assert [a["outcome"] for a in flaky["attempts"]] == ["failed", "passed"]
    assert flaky["flaky"] is True

    quality = run.quality
    assert quality["units"] == 7
    assert quality["defects"] == 4
    assert quality["fpy"] == pytest.approx(100 * 2 / 7)  # passes and xpass only
    assert quality["final_yield"] == pytest.approx(100 * 3 / 7)  # flaky rework recovered
    assert quality["dpmo"] == pytest.approx(4 / 7 * 1e6)
    assert quality["skipped"] == 1 and quality["xfailed"] == 1 and quality["xpassed"] == 1
    assert quality["deselected"] == 1
    assert quality["flaky"] == 1
    assert {entry["category"] for entry in quality["pareto"]} == {
        "failure: AssertionError",
        "error: RuntimeError",
        "error: OSError",
        "xpass-strict",
    }
    assert run.report["run"]["xdist_workers"] == workers


def test_xdist_numbers_equal_single_process(outcome_suite, run_enterprise):
    single = run_enterprise("-k", "not deselected")
    distributed = run_enterprise("-k", "not deselected", workers=2)

    def comparable(run):
        tests = {
            t["nodeid"]: (t["outcome"], t["category"], t["exception_type"], [a["outcome"] for a in t["attempts"]])
            for t in run.report["tests"]
        }
        return run.quality, tests

    assert comparable(single) == comparable(distributed)


def test_crashed_worker_is_a_defect(pytester, run_enterprise):
    pytester.makepyfile(
        """
        import os

        def test_before():
            pass

        def test_crash():
            os._exit(1)

        def test_after():
            pass
        """
    )
    run = run_enterprise(workers=2)
    crash = run.test("test_crash")
    assert (crash["outcome"], crash["category"], crash["unit"], crash["defect"]) == ("crashed", "crash", True, True)
    assert crash["attempts"][-1]["phases"][-1]["when"] == "crash"
    assert run.quality["units"] == 3
    assert run.quality["defects"] == 1
    assert run.quality["pareto"][0]["category"] == "crash"


@XDIST
def test_keyboard_interrupt_still_writes_report(pytester, run_enterprise, workers):
    pytester.makepyfile(
        """
        def test_first():
            pass

        def test_interrupt():
            raise KeyboardInterrupt
        """
    )
    run = run_enterprise(workers=workers)
    assert run.result.ret == 2
    assert run.report["run"]["interrupted"] is True
    assert run.report["run"]["exit_status"] == 2
    assert run.test("test_first")["outcome"] == "passed"


@pytest.mark.skipif(int(pytest.__version__.split(".")[0]) < 9, reason="subtests are built into pytest 9+")
@pytest.mark.parametrize("as_opportunities", [False, True])
def test_subtests(pytester, run_enterprise, as_opportunities):
    pytester.makepyfile(
        """
        def test_with_subtests(subtests):
            for number in range(3):
                with subtests.test(msg="check", number=number):
                    assert number != 1
        """
    )
    if as_opportunities:
        pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  subtests_as_opportunities: true\n"})
    run = run_enterprise()
    test = run.test("test_with_subtests")
    assert test["outcome"] == "failed"
    subtests = test["attempts"][0]["subtests"]
    assert [s["outcome"] for s in subtests] == ["passed", "failed", "passed"]
    # pytest 9.0 shows number=1, 9.2 number='1' (it keeps kwargs as reprs).
    assert re.search(r"\[check\] \(number='?1'?\)", subtests[1]["description"])
    assert run.quality["units"] == 1
    assert run.quality["defects"] == 1
    assert run.quality["opportunities"] == (4 if as_opportunities else 1)


def test_severity_and_opportunities_markers(pytester, run_enterprise):
    pytester.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.severity("low")

        @pytest.mark.severity("critical")
        @pytest.mark.opportunities(5)
        def test_marked():
            assert False

        def test_module_level():
            pass
        """
    )
    run = run_enterprise("--strict-markers", workers=2)
    marked = run.test("test_marked")
    assert (marked["severity"], marked["opportunities"]) == ("critical", 5)
    assert run.test("test_module_level")["severity"] == "low"
    assert run.quality["opportunities"] == 6
    assert run.quality["dpmo"] == pytest.approx(1 / 6 * 1e6)


def test_bad_marker_fails_collection_cleanly(pytester, run_enterprise):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.severity("urgent")
        def test_bad():
            pass
        """
    )
    run = run_enterprise()
    assert run.result.ret == 2
    output = run.result.stdout.str() + run.result.stderr.str()
    assert "test_bad: @pytest.mark.severity('urgent'): expected one of critical, high, medium, low" in output
    assert "Traceback" not in output


def test_marker_stages_drive_rty(pytester, run_enterprise):
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  stages: [unit, e2e]\n"})
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.unit
        def test_unit_ok():
            pass

        @pytest.mark.unit
        def test_unit_bad():
            assert 0

        @pytest.mark.e2e
        def test_e2e_ok():
            pass

        def test_unstaged():
            pass
        """
    )
    run = run_enterprise("--strict-markers")
    stages = {stage["name"]: (stage["units"], stage["first_pass"]) for stage in run.quality["stages"]}
    assert stages == {"unit": (2, 1), "e2e": (1, 1), "unstaged": (1, 1)}
    assert run.quality["rty"] == pytest.approx(50.0)
    assert run.test("test_unit_ok")["stage"] == "unit"
