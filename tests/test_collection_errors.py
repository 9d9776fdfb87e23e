"""A module that fails to collect is counted, named, and marks the run's evidence incomplete."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.model import RunInfo, RunRecord, evidence_gaps
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.recorder import Recorder, describe_collection_error
from pytest_enterprise.report.json_report import build_report, record_from_report

GOOD = """
def test_one():
    pass

def test_two():
    pass
"""
BROKEN = "def test_x(:\n"


def _suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_good=GOOD, test_syntax=BROKEN)


def _validate(report: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from pytest_enterprise.report.json_report import load_schema

    jsonschema.Draft202012Validator(load_schema()).validate(report)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_collection_error_is_a_unit_with_a_defect_and_fails_the_gate(pytester, run_enterprise, workers):
    _suite(pytester)
    run = run_enterprise("--continue-on-collection-errors", "--enterprise-dpmo-fail-above", "1", workers=workers)
    run.result.assert_outcomes(passed=2, errors=1)  # what pytest itself says
    assert run.result.ret == 1
    report = run.report
    _validate(report)
    quality = report["quality"]
    assert (quality["units"], quality["defects"]) == (3, 1)
    assert [(p["category"], p["count"]) for p in quality["pareto"]] == [("collection: SyntaxError", 1)]
    module = run.test("test_syntax.py")
    assert (module["outcome"], module["unit"], module["defect"], module["category"]) == ("error", True, True, "collection")
    assert module["attempts"][0]["phases"][0]["when"] == "collect"
    assert report["run"]["collection_errors"] == [{"nodeid": "test_syntax.py", "message": "SyntaxError: invalid syntax"}]
    assert report["run"]["evidence_complete"] is False
    assert report["run"]["evidence_gaps"] == ["1 module failed to collect (test_syntax.py)"]
    stages = {s["name"]: (s["units"], s["first_pass"]) for s in quality["stages"]}
    assert stages["collect"] == (3, 2) and stages["setup"] == (2, 2)
    assert quality["rty"] == pytest.approx(200 / 3)  # collection is a stage: RTY falls with FPY
    assert report["gates"][0]["status"] == "failed"
    run.result.stdout.fnmatch_lines([
        "1 collection error: test_syntax.py — counted as a defect",
        "*DPMO gate FAILED*",
    ])


@pytest.mark.parametrize("workers", [0, 2])
def test_an_interrupted_collection_is_still_recorded(pytester, run_enterprise, workers):
    _suite(pytester)
    run = run_enterprise("--enterprise-dpmo-fail-above", "1", workers=workers)
    report = run.report
    _validate(report)
    # pytest decides what an interrupted collection means; the record follows it.
    assert report["run"]["exit_status"] == run.result.ret
    assert report["run"]["collection_errors"][0]["nodeid"] == "test_syntax.py"
    assert report["run"]["evidence_complete"] is False
    assert run.test("test_syntax.py")["category"] == "collection"
    assert report["quality"]["defects"] == 1
    if workers == 0:
        assert run.result.ret == 2  # "Interrupted: 1 error during collection": the gate keeps it
        assert report["run"]["interrupted"] is True
        assert report["run"]["interrupt_reason"] == "1 error during collection"
        assert report["quality"]["units"] == 1
        run.result.stdout.fnmatch_lines(["run interrupted (1 error during collection)*"])
    else:
        # xdist runs the tests that did collect anyway: the module plus what ran.
        assert report["quality"]["units"] == 1 + run.result.parseoutcomes().get("passed", 0)


def test_compliance_says_the_evidence_is_incomplete(pytester, run_enterprise):
    pytester.makepyfile(
        test_access="""
        import pytest

        @pytest.mark.control("CC6.1")
        def test_mfa():
            pass
        """,
        test_broken="import pytest\n\n@pytest.mark.control('CC6.2')\ndef test_offboarding(:\n",
    )
    pytester.makefile(".yaml", **{"enterprise-config": "compliance:\n  enabled: true\n  frameworks: [soc2-type2]\n"})
    run = run_enterprise("--continue-on-collection-errors")
    report = run.report
    _validate(report)
    assert report["compliance"]["run"]["uncollected"] == ["test_broken.py"]
    (framework,) = report["compliance"]["frameworks"]
    assert framework["evidence_complete"] is False
    assert framework["notes"] == ["evidence incomplete: 1 module failed to collect (test_broken.py)"]
    controls = {c["id"]: c for c in framework["controls"]}
    assert controls["CC6.1"]["state"] == "passed"
    assert controls["CC6.1"]["reason"] == "1 of 1 tests passed; evidence incomplete: 1 module failed to collect (test_broken.py)"
    # CC6.2's only test is in the module that did not collect: not tested, and why.
    assert controls["CC6.2"]["state"] == "not_tested"
    assert controls["CC6.2"]["reason"].startswith("evidence incomplete: 1 module failed to collect (test_broken.py)")
    run.result.stdout.fnmatch_lines(["evidence incomplete: 1 module failed to collect (test_broken.py): passed and not_tested*"])


def _collect_report(nodeid: str, text: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, longrepr=text, failed=True, duration=0.25)


IMPORT_ERROR = """ImportError while importing test module '/x/tests/test_imp.py'.
Hint: make sure your test modules/packages have valid Python names.
Traceback:
tests/test_imp.py:1: in <module>
    import nope
E   ModuleNotFoundError: No module named 'nope'"""

SYNTAX_ERROR = """lib/python.py:507: in importtestmodule
    mod = import_path(
E     File "/x/tests/test_syntax.py", line 1
E       def test_x(:
E                  ^
E   SyntaxError: invalid syntax"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (IMPORT_ERROR, ("ModuleNotFoundError: No module named 'nope'", "ModuleNotFoundError")),
        (SYNTAX_ERROR, ("SyntaxError: invalid syntax", "SyntaxError")),
        ("pytest-enterprise: unknown control 'XX'\nmore", ("pytest-enterprise: unknown control 'XX'", None)),
        ("", (None, None)),
    ],
)
def test_the_message_is_the_exception_line(text, expected):
    assert describe_collection_error(text) == expected


def test_each_collector_counts_once_and_survives_the_round_trip():
    assert evidence_gaps(RunInfo(id="clean", started_at="2026-12-03T10:00:00.000Z")) == []
    recorder = Recorder()
    assert recorder.record_collection_error(_collect_report("tests/test_imp.py", IMPORT_ERROR))
    # xdist: the second worker reports the same module again.
    assert not recorder.record_collection_error(_collect_report("tests/test_imp.py", IMPORT_ERROR))
    run = RunInfo(
        id="r1",
        started_at="2026-12-03T10:00:00.000Z",
        collection_errors=[{"nodeid": "tests/test_imp.py", "message": "ModuleNotFoundError: No module named 'nope'"}],
    )
    record = RunRecord(run=run, tests=recorder.results())
    quality = analyze_run(record)
    assert (quality.units, quality.defects, quality.fpy) == (1, 1, 0.0)
    back = record_from_report(build_report(record, quality.to_dict(), []))
    assert back.run.collection_errors == run.collection_errors
    assert evidence_gaps(back.run) == ["1 module failed to collect (tests/test_imp.py)"]
    (test,) = back.tests
    assert (test.nodeid, test.outcome, test.category, test.is_unit, test.final_pass) == (
        "tests/test_imp.py", "error", "collection", True, False,
    )
    assert analyze_run(back).to_dict() == quality.to_dict()


def test_the_history_store_keeps_them(tmp_path):
    from pytest_enterprise.store.sqlite import HistoryStore

    recorder = Recorder()
    recorder.record_collection_error(_collect_report("tests/test_imp.py", IMPORT_ERROR))
    run = RunInfo(
        id="r2",
        started_at="2026-12-03T10:00:00.000Z",
        finished_at="2026-12-03T10:00:01.000Z",
        collection_errors=[{"nodeid": "tests/test_imp.py", "message": "x"}],
        interrupted=True,
        interrupt_reason="1 error during collection",
    )
    record = RunRecord(run=run, tests=recorder.results())
    with HistoryStore(tmp_path / "h.db") as store:
        store.save_run(record, analyze_run(record).to_dict())
        back = store.load_run("r2")
    assert back.run.collection_errors == [{"nodeid": "tests/test_imp.py", "message": "x"}]
    assert back.run.interrupt_reason == "1 error during collection"
    assert back.tests[0].category == "collection"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_collection_error_text_gives_one_short_line(text):
    message, exception_type = describe_collection_error(text)
    assert message is None or ("\n" not in message and 0 < len(message) <= 300)
    assert exception_type is None or (message is not None and message.startswith(exception_type))
