"""``enterprise merge``: shards and environments give the metrics of one run; bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml  # noqa: F401  (before any pytester: see below)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_enterprise.cli.main import main
from pytest_enterprise.report.fast_read import _REPR_FORM
from pytest_enterprise.report.json_report import load_schema

_REPR_FORM_MATCH = re.compile(_REPR_FORM).fullmatch

SUITE_A = """
import pytest

def test_one():
    pass

def test_fails():
    assert 0

@pytest.mark.parametrize("n", range(4))
def test_param(n):
    pass

@pytest.fixture
def broken():
    raise RuntimeError("setup")

def test_setup_error(broken):
    pass

@pytest.mark.skip
def test_skipped():
    pass
"""
SUITE_B = """
import pytest

def test_two():
    pass

@pytest.mark.xfail(strict=True)
def test_xpass_strict():
    pass

def test_three():
    pass
"""
SHARDS = ("test_one or test_fails", "test_param or test_setup_error or test_skipped", "test_suite_b")
BASE = ("--enterprise-report", "--enterprise-no-history", "-p", "no:cacheprovider", "-p", "no:benchmark")


@pytest.fixture(scope="module")
def made_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[Any, Path]:
    """Reports already made in this module, by what made them: each distinct pytest run of the
    suite happens once per module, and the tests that need it get a copy."""
    cache: dict[Any, Path] = {"folder": tmp_path_factory.mktemp("merge-reports")}
    return cache


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, made_reports: dict[Any, Path]) -> pytest.Pytester:
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV", "TOX_ENV_NAME"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_suite_a=SUITE_A, test_suite_b=SUITE_B)
    monkeypatch.chdir(pytester.path)
    pytester.made_reports = made_reports  # type: ignore[attr-defined]
    return pytester


def run(pytester: pytest.Pytester, name: str, *args: str, workers: int = 0) -> Path:
    """The report of the suite run with ``args`` (under $TOX_ENV_NAME as now set), as ``name``.

    Runs with xdist workers run in a subprocess (``-n`` needs one); the others in-process,
    the same plugin code without a new interpreter. A run made before in this module is
    copied, not run again: its report is the same but for the run's id and times."""
    made = pytester.made_reports  # type: ignore[attr-defined]
    key = (args, workers, os.environ.get("TOX_ENV_NAME"))
    path = pytester.path / name
    if key not in made:
        if workers:
            result = pytester.runpytest_subprocess(*BASE, f"--enterprise-json={path}", "-n", str(workers), *args)
        else:
            result = pytester.runpytest_inprocess(*BASE, f"--enterprise-json={path}", *args)
        assert path.is_file(), str(result.outlines[-20:])
        made[key] = made["folder"] / f"{len(made)}.json"
        shutil.copyfile(path, made[key])
    else:
        shutil.copyfile(made[key], path)
    return path


def merge(*arguments: str) -> int:
    return main(["merge", *arguments])


@pytest.mark.parametrize("workers", [0, 2])
def test_three_shards_merge_to_the_metrics_of_one_run(suite, capsys, workers):
    # The whole suite in one run, without xdist: the metrics do not depend on the workers, and
    # the shards run with -n 2 (in subprocesses) prove that parts made under xdist merge too.
    whole = json.loads(run(suite, "whole.json").read_text())
    shards = [str(run(suite, f"shard{i}.json", "-k", expression, workers=workers)) for i, expression in enumerate(SHARDS)]
    assert merge(*shards, "--output", "merged.json") == 0
    merged = json.loads((suite.path / "merged.json").read_text())
    assert merged["quality"] == whole["quality"]
    assert merged["quality"]["units"] == 10 and merged["quality"]["defects"] == 3
    assert sorted(t["nodeid"] for t in merged["tests"]) == sorted(t["nodeid"] for t in whole["tests"])
    assert merged["run"]["deselected"] == 0  # every test ran in some shard
    assert merged["merge"]["mode"] == "shards"
    assert [part["tests"] for part in merged["merge"]["parts"]] == [2, 6, 3]
    assert merged["run"]["exit_status"] == 1
    assert "shards (auto" in capsys.readouterr().out


def test_merged_report_is_schema_valid(suite):
    jsonschema = pytest.importorskip("jsonschema")
    for name, environment in (("py310.json", "py310"), ("py311.json", "py311")):
        suite._monkeypatch.setenv("TOX_ENV_NAME", environment)
        run(suite, name)
    assert merge("py310.json", "py311.json", "--output", "env.json") == 0
    shards = [str(run(suite, f"s{i}.json", "-k", expression)) for i, expression in enumerate(SHARDS)]
    assert merge(*shards, "--output", "shards.json") == 0
    for name in ("env.json", "shards.json"):
        jsonschema.validate(json.loads((suite.path / name).read_text()), load_schema())


def test_environments_rty_is_the_product_of_their_first_pass_yields(suite, monkeypatch, capsys):
    """What tox does: the same suite in two environments, then one merge step."""
    monkeypatch.setenv("TOX_ENV_NAME", "py310")
    run(suite, "a.json")
    monkeypatch.setenv("TOX_ENV_NAME", "py311")
    run(suite, "b.json", "-k", "not test_fails")
    assert merge("b.json", "a.json", "--output", "env.json", "--store", "h.db") == 0
    report = json.loads((suite.path / "env.json").read_text())
    quality = report["quality"]
    stages = {stage["name"]: stage for stage in quality["stages"]}
    assert list(stages) == ["py310", "py311"]
    assert (stages["py310"]["units"], stages["py310"]["first_pass"]) == (10, 7)
    assert (stages["py311"]["units"], stages["py311"]["first_pass"]) == (9, 7)
    assert quality["rty"] == pytest.approx(7 / 10 * 7 / 9 * 100)
    assert quality["units"] == 19  # tests x environments
    assert report["run"]["environment"] == "py310+py311"
    assert {t["environment"] for t in report["tests"]} == {"py310", "py311"}
    assert "environments (auto" in capsys.readouterr().out
    # Stored as one run, each environment's copy of a test under its own key.
    with sqlite3.connect(suite.path / "h.db") as db:
        assert db.execute("SELECT environment, units FROM runs").fetchall() == [("py310+py311", 19)]
        keys = {row[0] for row in db.execute("SELECT nodeid FROM attempts")}
    assert "[py310] test_suite_a.py::test_setup_error" in keys and "[py311] test_suite_a.py::test_setup_error" in keys
    assert main(["history", "show", report["run"]["id"], "--store", "h.db", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == report


def test_duplicate_test_in_shards_is_an_error(suite, capsys):
    run(suite, "a.json", "-k", "test_one or test_two")
    run(suite, "b.json", "-k", "test_two")
    assert merge("a.json", "b.json", "--output", "m.json") == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "test_suite_b.py::test_two" in error and "a.json" in error and "b.json" in error
    assert not (suite.path / "m.json").exists()


def test_shards_that_each_collected_everything_count_what_none_ran_as_deselected(suite):
    run(suite, "a.json", "-k", "test_one")
    run(suite, "b.json", "-k", "test_two")
    assert merge("a.json", "b.json", "--output", "m.json") == 0
    assert json.loads((suite.path / "m.json").read_text())["run"]["deselected"] == 11 - 2


def test_forced_modes_that_do_not_fit_are_refused(suite, monkeypatch, capsys):
    run(suite, "a.json", "-k", "test_one")
    run(suite, "b.json", "-k", "test_two")
    assert merge("a.json", "b.json", "--output", "m.json", "--mode", "environments") == 2
    assert "same environment" in capsys.readouterr().err
    monkeypatch.setenv("TOX_ENV_NAME", "other")
    run(suite, "c.json", "-k", "test_three")
    assert merge("a.json", "c.json", "--output", "m.json", "--mode", "shards") == 2
    assert "different environments" in capsys.readouterr().err
    assert not (suite.path / "m.json").exists()


def _edited(path: Path, target: Path, change) -> str:
    data = json.loads(path.read_text())
    change(data)
    target.write_text(json.dumps(data))
    return str(target)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda d: "missing.json", "missing.json: report file not found"),
        (lambda d: (d / "x.json").write_text("{nope") and "x.json", "x.json:1: not valid JSON"),
        (lambda d: (d / "x.json").write_text('{"a": 1}') and "x.json", "not a pytest-enterprise run report"),
        (
            lambda d: _edited(d / "a.json", d / "x.json", lambda r: r["tests"][0].update(outcome="odd")),
            "x.json: does not match the report schema at tests[0].outcome",
        ),
        (
            lambda d: _edited(d / "a.json", d / "x.json", lambda r: r["run"].pop("python")),
            "x.json: does not match the report schema at run: 'python' is required",
        ),
        (
            lambda d: _edited(d / "b.json", d / "x.json", lambda r: r["run"].update(process="nightly")),
            "process name 'nightly' differs from 'pytest'",
        ),
        (
            lambda d: _edited(
                d / "b.json", d / "x.json", lambda r: r["run"].update(git={"commit": "f" * 40, "branch": None, "dirty": False})
            ),
            "git commit",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(suite, capsys, setup, expected):
    run(suite, "a.json", "-k", "test_one")
    run(suite, "b.json", "-k", "test_two")
    other = setup(suite.path)
    assert merge("a.json", other, "--output", "m.json", "--store", "h.db") == 2
    error = capsys.readouterr().err
    assert expected in error and error.count("\n") == 1, error
    assert not (suite.path / "m.json").exists() and not (suite.path / "h.db").exists()


def test_one_part_only_is_refused(suite, capsys):
    run(suite, "a.json")
    assert merge("a.json", "--output", "m.json") == 2
    assert "at least two reports" in capsys.readouterr().err


def test_a_section_missing_from_a_part_is_said(suite, capsys):
    run(suite, "a.json", "-k", "test_one")
    run(suite, "b.json", "-k", "test_two")
    _edited(suite.path / "b.json", suite.path / "b.json", lambda r: r.update(flags={
        "flag_file": "flags.yaml", "environment": "ci",
        "flags": {"beta": {"values": ["on", "off"], "variants": {"on": {"tests": 1, "passed": 1}}}},
        "warnings": [{"flag": "beta", "kind": "untested-variant", "message": "no test ran flag 'beta' as 'off'"}],
    }))  # fmt: skip
    assert merge("a.json", "b.json", "--output", "m.json") == 0
    out = capsys.readouterr().out
    assert "a.json: has no flags section" in out
    merged = json.loads((suite.path / "m.json").read_text())
    assert merged["flags"]["flags"]["beta"]["variants"] == {"on": {"tests": 1, "passed": 1}}
    assert any("has no flags section" in note for note in merged["merge"]["notes"])



CONTROLS = """
import pytest

@pytest.mark.control("CC6.1")
def test_mfa_login():
    pass

@pytest.mark.control("CC6.1")
def test_mfa_reset():
    pass

@pytest.mark.control("CC6.1")
def test_mfa_bypass():
    assert False, "mfa skipped for api tokens"

@pytest.mark.control("CC6.2")
def test_offboarding():
    pass

@pytest.mark.control("CC6.2")
def test_access_review():
    pass

@pytest.mark.control("CC7.1")
@pytest.mark.skip(reason="scanner offline")
def test_scan():
    pass

@pytest.mark.control("CC8.1")
def test_change_review():
    pass
"""
# The compliance runs read YAML (config, catalogs). PyYAML is imported with this module, so it is
# in every pytester snapshot: pytester drops what a test or in-process run imported, and a PyYAML
# imported again binds its C loader (kept by the interpreter) to the old node classes and then
# reads no catalog ("could not determine a constructor for the tag None").
COMPLIANCE_CONFIG = "compliance:\n  enabled: true\n  frameworks: [soc2]\n"
# CC6.1 is spread over both shards (its failing test, in the failing variant, only in shard 2);
# CC6.2 and CC7.1 are all in shard 1, CC8.1 all in shard 2.
CONTROL_SHARD_1 = "test_mfa_login or test_offboarding or test_access_review or test_scan"
CONTROL_SHARD_2 = {"passing": "test_mfa_reset or test_change_review", "failing": "test_mfa_reset or test_mfa_bypass or test_change_review"}


@pytest.fixture
def control_suite(suite: pytest.Pytester) -> pytest.Pytester:
    """The suite of control-marked tests, with compliance on for SOC 2 (and a config with it off)."""
    suite.makepyfile(test_controls=CONTROLS)
    (suite.path / "enterprise-config.yaml").write_text(COMPLIANCE_CONFIG)
    (suite.path / "no-compliance.yaml").write_text("compliance:\n  enabled: false\n")
    return suite


def _comparable_compliance(report: dict[str, Any]) -> dict[str, Any]:
    """The compliance section less what differs between two runs of the same tests: the run's
    id and times, when the section was made, and each evidence test's run, start and duration."""
    section = json.loads(json.dumps(report["compliance"]))
    section.pop("generated_at")
    for key in ("id", "started_at", "finished_at"):
        section["run"].pop(key)
    for framework in section["frameworks"]:
        for control in framework["controls"]:
            for test in control["tests"]:
                for key in ("run_id", "started_at", "duration_s"):
                    test.pop(key)
    return section


def _control_states(report: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    (framework,) = report["compliance"]["frameworks"]
    return {
        control["id"]: (control["state"], [test["nodeid"] for test in control["tests"]])
        for control in framework["controls"]
        if control["state"] != "not_tested"
    }


@pytest.mark.parametrize("variant", ["passing", "failing"])
def test_merged_compliance_is_that_of_one_run_of_all_the_tests(control_suite, variant):
    """A control's evidence is the union of its tests in every shard: the merged section is the
    one a single run of all the tests gives, states, evidence lists and counts alike."""
    second = CONTROL_SHARD_2[variant]
    whole = json.loads(run(control_suite, "whole.json", "test_controls.py", "-k", f"{CONTROL_SHARD_1} or {second}").read_text())
    shard1 = run(control_suite, "c1.json", "test_controls.py", "-k", CONTROL_SHARD_1)
    shard2 = run(control_suite, "c2.json", "test_controls.py", "-k", second)
    assert merge(str(shard1), str(shard2), "--output", "merged.json") == 0  # no gate configured
    merged = json.loads((control_suite.path / "merged.json").read_text())
    assert merged["run"]["exit_status"] == whole["run"]["exit_status"] == (0 if variant == "passing" else 1)
    assert _comparable_compliance(merged) == _comparable_compliance(whole)
    assert merged["compliance"]["run"]["id"] == merged["run"]["id"]  # evidence of the merged run
    # What the comparison covers, spelled out.
    nodeid = "test_controls.py::{}".format
    cc61 = ([nodeid("test_mfa_bypass")] if variant == "failing" else []) + [nodeid("test_mfa_login"), nodeid("test_mfa_reset")]
    expected = {  # evidence listed by node id
        "CC6.1": ("passed" if variant == "passing" else "failed", cc61),
        "CC6.2": ("passed", [nodeid("test_access_review"), nodeid("test_offboarding")]),
        "CC7.1": ("not_reviewed", [nodeid("test_scan")]),
        "CC8.1": ("passed", [nodeid("test_change_review")]),
    }
    assert _control_states(merged) == expected
    (framework,) = merged["compliance"]["frameworks"]
    passed = 3 if variant == "passing" else 2
    assert framework["counts"] == {
        "passed": passed, "failed": 3 - passed, "error": 0, "not_reviewed": 1, "not_applicable": 0,
        "waived": 0, "attested": 0, "not_tested": 61 - 4,
    }  # fmt: skip
    assert (framework["percent_compliant"]["numerator"], framework["percent_compliant"]["denominator"]) == (passed, 4)
    assert (framework["coverage"]["numerator"], framework["coverage"]["denominator"]) == (4, 61)
    assert not any("compliance" in note for note in merged["merge"]["notes"])


def test_a_control_failed_only_in_shard_2_is_failed_in_the_merge(control_suite):
    shard1 = json.loads(run(control_suite, "c1.json", "test_controls.py", "-k", CONTROL_SHARD_1).read_text())
    shard2 = json.loads(run(control_suite, "c2.json", "test_controls.py", "-k", CONTROL_SHARD_2["failing"]).read_text())
    assert _control_states(shard1)["CC6.1"] == ("passed", ["test_controls.py::test_mfa_login"])
    assert _control_states(shard2)["CC6.1"][0] == "failed"
    # Either order of the parts: shard 1's pass never hides shard 2's failure.
    for order, output in (((("c1.json", "c2.json")), "m12.json"), (("c2.json", "c1.json"), "m21.json")):
        assert merge(*order, "--output", output) == 0
        merged = json.loads((control_suite.path / output).read_text())
        (control,) = [c for c in merged["compliance"]["frameworks"][0]["controls"] if c["id"] == "CC6.1"]
        assert control["state"] == "failed" and control["reason"] == "1 of 3 tests failed"
        assert sorted(test["nodeid"] for test in control["tests"]) == [
            "test_controls.py::test_mfa_bypass", "test_controls.py::test_mfa_login", "test_controls.py::test_mfa_reset",
        ]  # fmt: skip
        assert [test["outcome"] for test in control["tests"] if test["nodeid"].endswith("bypass")] == ["failed"]


def test_a_part_without_compliance_is_named_in_the_notes(control_suite, capsys):
    """Shard 2 run with compliance off: the merge says so, names the part, and still rolls its
    tests up from the control marks its report records, so CC6.1 fails as in one run."""
    run(control_suite, "c1.json", "test_controls.py", "-k", CONTROL_SHARD_1)
    off = run(control_suite, "off.json", "test_controls.py", "-k", CONTROL_SHARD_2["failing"], "--enterprise-config=no-compliance.yaml")
    assert "compliance" not in json.loads(off.read_text())
    assert merge("c1.json", "off.json", "--output", "m.json") == 0
    out = capsys.readouterr().out
    merged = json.loads((control_suite.path / "m.json").read_text())
    notes = [note for note in merged["merge"]["notes"] if "compliance" in note]
    assert notes == [
        f"{off.name}: has no compliance section (compliance was not assessed in that run);"
        " its tests count only through what their own report records"
    ]
    assert notes[0] in out
    # Not taken as empty: its tests are evidence, the failure among them included.
    assert _control_states(merged)["CC6.1"][0] == "failed"
    assert _control_states(merged)["CC8.1"] == ("passed", ["test_controls.py::test_change_review"])


def test_tox_example_without_tox(pytester, monkeypatch, capsys):
    """What examples/tox/tox.ini does, without tox: the suite once per environment, then merge."""
    example = Path(__file__).resolve().parents[1] / "examples" / "tox"
    for name in ("pytest.ini", "test_example.py"):
        (pytester.path / name).write_text((example / name).read_text())
    monkeypatch.chdir(pytester.path)
    for environment in ("py-a", "py-b"):
        monkeypatch.setenv("TOX_ENV_NAME", environment)
        result = pytester.runpytest_inprocess(*BASE, f"--enterprise-json=reports/{environment}.json")
        assert result.ret == 0
    monkeypatch.delenv("TOX_ENV_NAME")
    command = "enterprise merge reports/py-a.json reports/py-b.json --output reports/merged.json --store reports/history.db"
    assert command in (example / "tox.ini").read_text()
    assert main(command.split()[1:]) == 0
    merged = json.loads((pytester.path / "reports" / "merged.json").read_text())
    assert merged["run"]["environment"] == "py-a+py-b" and merged["quality"]["rty"] == 100.0
    assert main(["history", "list", "--store", "reports/history.db"]) == 0
    assert "py-a+py-b" in capsys.readouterr().out


def _mixed_tests() -> list[Any]:
    """Tests of every shape the fast reader must follow or hand to the general way."""
    from pytest_enterprise.model import Attempt, Phase, TestResult

    def passed(nodeid: str, call: float, **extra: Any) -> TestResult:
        phases = [Phase("setup", "passed", 0.0001), Phase("call", "passed", call), Phase("teardown", "passed", 0.0001)]
        return TestResult(nodeid, [Attempt(1, "passed", phases)], **extra)

    failed = [Phase("setup", "passed", 0.0), Phase("call", "failed", 0.5), Phase("teardown", "passed", 0.0)]
    return [
        passed("t.py::a", 0.001), passed("t.py::b", 0.002, worker="gw1"), passed('t.py::c["q\\"]', 0.003),
        passed("t.py::é", 1e-7), passed("t.py::d", 0.25, severity="high", stage="unit"),
        passed("t.py::e", 0.1, markers={"flags": {"beta": "on"}}), passed("t.py::f", 0.1, started_at="2026-01-01T00:00:00Z"),
        TestResult("t.py::g", [Attempt(1, "failed", failed, "failure", "AssertionError", "assert 0"), Attempt(2, "passed", failed[:1])]),
        TestResult("t.py::h", [Attempt(1, "skipped", [Phase("setup", "skipped", 0.0)])]),
        passed("t.py::a2", 0.001), passed("t.py::b2", 0.002, worker="gw1"), passed("t.py::i", 0.1 + 0.2),
        TestResult("t.py::j", [Attempt(1, "failed", failed, "failure", "AssertionError", 'assert "duration": 1')]),
        TestResult("t.py::j2", [Attempt(1, "failed", failed, "failure", "AssertionError", "assert 0",
                                        details={"traceback": 'E  assert "duration": 0\n', "stdout": "out\n"})]),  # fmt: skip
        TestResult("t.py::k", [Attempt(1, "passed", [])]),
        TestResult("m.py", [Attempt(1, "error", [Phase("collect", "failed", 0.0)], "collection", "ImportError", "x")]),
    ]


def test_fast_reader_gives_the_general_paths_record(tmp_path):
    """report.fast_read against json.loads + the schema check + record_from_report: the same
    record, the same metrics counted per template, the same text written back."""
    from pytest_enterprise.merge.parts import read_part
    from pytest_enterprise.model import RunInfo, RunRecord
    from pytest_enterprise.quality.metrics import analyze_counted, analyze_run
    from pytest_enterprise.report.fast_read import PackedTests, read_record
    from pytest_enterprise.report.json_report import _ENCODER, build_report, dumps_report, record_from_report
    from pytest_enterprise.report.json_report import report_chunks, result_section
    from pytest_enterprise.report.test_encoder import TestEncoder

    record = RunRecord(RunInfo(id="r", started_at="2026-01-01T00:00:00Z", python="CPython"), _mixed_tests())
    text = dumps_report(build_report(record, analyze_run(record).to_dict(), [], None))
    marked = record_from_report(json.loads(text))
    # A marker value holding the separator between tests: the test that holds it is read the
    # general way, from its own start, and the file is still followed to its end.
    marked.tests[5].markers = {"flags": {"beta": "on"}, "x": [{"a": 1}, {"nodeid": "y"}]}
    marked_text = dumps_report(build_report(marked, analyze_run(marked).to_dict(), [], None))
    variants = [
        text,  # as the writer writes it
        json.dumps(json.loads(text), indent=1),  # whitespace: the general way
        text.replace('"duration":0.001}', '"duration":1.0e-3}'),  # a number not as the writer writes it
        # a duration_s that is not the sum's, in a test that is not the first of its shape
        re.sub(r'("t.py::b2".*?"duration_s":)0.0022,', r"\g<1>0.0023,", text),
        text.replace('"nodeid":"t.py::b2"', '"nodeid":"t.py::b\\u0032"'),  # an escape in a nodeid
        marked_text,
    ]
    for index, variant in enumerate(variants):
        assert index in (0, 5) or variant != text, index  # each variant changes something
        path = tmp_path / f"r{index}.json"
        path.write_text(variant)
        expected = record_from_report(json.loads(variant))
        part = read_part(path)
        assert part.record == expected, index
        assert part.header == {key: value for key, value in json.loads(variant).items() if key != "tests"}
        tests = part.record.tests
        if index in (0, 2, 3, 4, 5):
            assert isinstance(tests, PackedTests), index  # not handed to the general path
        if not isinstance(tests, PackedTests):
            continue
        # What the merge counts per template is analyze_run of the built tests.
        assert analyze_counted(part.record, tests.counted()) == analyze_run(expected), index
        # What the merge writes is what report_chunks writes for the same tests.
        written = b"".join(tests.text_pieces(TestEncoder(result_section, _ENCODER.encode), 3)).decode()
        general = "".join(report_chunks({}, expected.tests))[len('{,"tests":[') : -len("]}")]
        assert written == general, index
        assert list(tests.nodeids()) == [test.nodeid for test in expected.tests]
    fast = read_record(text.encode())
    assert fast is not None and fast.record.tests._blocks[0].canonical is False  # the escaped nodeids
    assert read_record(text) is not None  # given as text too
    # A test that breaks the schema: the fast reader gives up, the general path says where.
    assert read_record(text.replace('"outcome":"passed","unit"', '"outcome":"odd","unit"', 1)) is None
    assert read_record(text.replace('"duration":0.001}', '"duration":-1}')) is None
    assert read_record(text.replace('"duration":0.001}', '"duration":"1"}')) is None
    assert read_record(text.replace('"t.py::a"', '"t.py::\x01"')) is None  # a control character
    assert read_record(text.replace("\\u00e9", "é")) is None  # not ASCII: the general way
    assert read_record(text[:-3]) is None


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.from_regex(_REPR_FORM, fullmatch=True), st.integers(0, 10**12).map(lambda n: repr(n / 1e6).encode())))
def test_texts_of_a_repr_form_are_their_own_repr(text):
    """fast_read copies a test's text unchecked by ``repr`` when its numbers are of the forms
    ``_REPR_FORM`` accepts: each such text must be exactly ``repr`` of the float it reads as.
    The second source is what the recorder writes (durations to the microsecond)."""
    if _REPR_FORM_MATCH(text):
        assert repr(float(text)).encode() == text


def test_recorded_durations_are_of_a_repr_form():
    """The fast path (no ``repr`` per number) covers the durations the recorder writes:
    microseconds from 0 to a day, every magnitude."""
    values = [n / 1e6 for n in (0, 1, 9, 10, 99, 100, 999, 1000, 12345, 10**6, 123456789, 86400 * 10**6)]
    assert all(_REPR_FORM_MATCH(repr(value).encode()) for value in values)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(
    st.sampled_from(["passed", "failed", "skipped"]), st.integers(0, 3), st.sampled_from([None, "gw0", "gw1"]),
    st.sampled_from(["assert 0", "assert 1", None]),
    st.lists(st.one_of(st.integers(0, 10**9).map(lambda n: n / 1e6), st.floats(0, 1e7, allow_nan=False)), min_size=3, max_size=3),
), min_size=1, max_size=40))  # fmt: skip
def test_fast_reader_follows_any_mix_of_test_shapes(tests):
    """Random shapes, phase counts, workers, messages and durations (to the microsecond or any
    float): the fast reader gives the general path's record, metrics and text, byte for byte."""
    from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
    from pytest_enterprise.quality.metrics import analyze_counted, analyze_run
    from pytest_enterprise.report.fast_read import PackedTests, read_record
    from pytest_enterprise.report.json_report import _ENCODER, build_report, dumps_report, record_from_report
    from pytest_enterprise.report.json_report import report_chunks, result_section
    from pytest_enterprise.report.test_encoder import TestEncoder

    results = []
    for number, (outcome, phases, worker, message, durations) in enumerate(tests):
        steps = [Phase(when, outcome if when == "call" else "passed", duration)
                 for when, duration in zip(("setup", "call", "teardown"), durations)][:phases]  # fmt: skip
        category = "failure" if outcome == "failed" else None
        attempt = Attempt(1, outcome, steps, category, "AssertionError" if category else None, message if category else None)
        results.append(TestResult(f"t.py::test_{number}", [attempt], worker=worker))
    record = RunRecord(RunInfo(id="r", started_at="2026-01-01T00:00:00Z", python="CPython"), results)
    text = dumps_report(build_report(record, analyze_run(record).to_dict(), [], None))
    expected = record_from_report(json.loads(text))
    fast = read_record(text.encode())
    assert fast is not None and isinstance(fast.record.tests, PackedTests)
    assert fast.record == expected
    assert analyze_counted(fast.record, fast.record.tests.counted()) == analyze_run(expected)
    written = b"".join(fast.record.tests.text_pieces(TestEncoder(result_section, _ENCODER.encode), 7)).decode()
    assert written == "".join(report_chunks({}, expected.tests))[len('{,"tests":[') : -len("]}")]


PARALLEL_READ = """
import json, sys
from pathlib import Path
import pytest_enterprise.merge.parts as parts
from pytest_enterprise.errors import InputError
paths = [Path(name) for name in sys.argv[1:]]
parts.PARALLEL_BYTES, parts._usable_cpus = 0, lambda: 2  # whatever this machine has
def described(read):
    try:
        return [[part.sha256, part.header, list(part.record.tests.nodeids()), [(p.nodeid, n) for p, n in part.record.tests.counted()],
                 json.dumps([test.to_dict() if hasattr(test, "to_dict") else repr(test) for test in part.record.tests])]
                for part in read(paths)]
    except InputError as error:
        return str(error)
assert parts._workers(paths) == 2
parallel = described(parts.read_parts)
assert parts._workers(paths[:1]) == 1
print(json.dumps(parallel == described(lambda paths: [parts.read_part(path) for path in paths])), json.dumps(parallel)[:200])
"""


def test_parts_read_by_several_processes_are_the_parts_read_one_by_one(tmp_path):
    """From 16 MB of reports on, with several CPUs, the parts are read by forked processes:
    the same parts, in order, and the same first error. In a fresh process: one thread."""
    import subprocess
    import sys

    from pytest_enterprise.model import RunInfo, RunRecord
    from pytest_enterprise.quality.metrics import analyze_run
    from pytest_enterprise.report.json_report import build_report, dumps_report

    names = []
    for number, tests in enumerate((_mixed_tests()[:7], _mixed_tests()[7:], _mixed_tests())):
        record = RunRecord(RunInfo(id=f"s{number}", started_at="2026-01-01T00:00:00Z", python="CPython"), tests)
        (tmp_path / f"s{number}.json").write_text(dumps_report(build_report(record, analyze_run(record).to_dict(), [], None)))
        names.append(f"s{number}.json")
    (tmp_path / "bad.json").write_text('{"tool": ')
    for arguments, expected in ((names, "true"), ([names[0], "bad.json", names[1]], "true")):
        result = subprocess.run([sys.executable, "-c", PARALLEL_READ, *arguments], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        same, parallel = result.stdout.split(" ", 1)
        assert same == expected, result.stdout
    assert "bad.json" in parallel  # the first bad part's one-line error, as read one by one


def test_merge_on_the_fast_path_writes_what_the_general_path_writes(tmp_path, monkeypatch, capsys):
    """Shards of every test shape, merged as read by report.fast_read and as read the general
    way: the same merged report, byte for byte; a collection error every shard saw counts once."""
    import pytest_enterprise.merge.parts as parts
    from pytest_enterprise.model import RunInfo, RunRecord
    from pytest_enterprise.quality.metrics import analyze_run
    from pytest_enterprise.report.fast_read import PackedTests
    from pytest_enterprise.report.json_report import build_report, dumps_report

    monkeypatch.chdir(tmp_path)
    tests = _mixed_tests()
    plain = [dataclasses.replace(tests[index], nodeid=f"p.py::{index}") for index in (0, 1, 8, 9, 11, 14)]
    shards = [tests[:5] + tests[-1:], tests[5:10] + tests[-1:], tests[10:], plain]
    for number, shard in enumerate(shards):
        run = RunInfo(id=f"s{number}", started_at=f"2026-01-01T00:00:0{number}Z", python="CPython", deselected=1)
        record = RunRecord(run, shard)
        text = dumps_report(build_report(record, analyze_run(record).to_dict(), [], None))
        (tmp_path / f"s{number}.json").write_text(text + "\n")
    names = [f"s{number}.json" for number in range(len(shards))]
    assert parts.read_part(tmp_path / "s3.json").record.tests._blocks[0].canonical  # copied whole
    # Node ids all distinct (s2's collection error renamed): the parts' tests stay unbuilt, and
    # whole parts are copied where they can be. Else they are built and looked at one by one.
    distinct = ["s0.json", "s2.json", "s3.json"]
    chained = []
    chain = PackedTests.chain.__func__
    monkeypatch.setattr(PackedTests, "chain", classmethod(lambda cls, tests: chained.append(1) or chain(cls, tests)))
    assert merge(*names, "--output", "fast.json") == 0
    assert not chained  # a repeated nodeid: the tests one by one
    (tmp_path / "s2.json").write_text((tmp_path / "s2.json").read_text().replace(',{"nodeid":"m.py"', ',{"nodeid":"n.py"'))
    assert merge(*distinct, "--output", "fast2.json") == 0
    assert chained == [1]
    monkeypatch.setattr(parts, "read_record", lambda data: None)
    assert merge(*distinct, "--output", "general2.json") == 0
    (tmp_path / "s2.json").write_text((tmp_path / "s2.json").read_text().replace(',{"nodeid":"n.py"', ',{"nodeid":"m.py"'))
    assert merge(*names, "--output", "general.json") == 0
    assert (tmp_path / "fast.json").read_bytes() == (tmp_path / "general.json").read_bytes()
    assert (tmp_path / "fast2.json").read_bytes() == (tmp_path / "general2.json").read_bytes()
    merged = json.loads((tmp_path / "fast.json").read_text())
    assert [t["nodeid"] for t in merged["tests"]].count("m.py") == 1
    assert any("repeated in several shards" in note for note in merged["merge"]["notes"])
