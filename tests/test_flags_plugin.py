"""Feature flags in real pytest runs: variant parametrization, the fixture, the report section,
the canary guard fed by test outcomes, and xdist."""

from __future__ import annotations

import json
import sqlite3

import pytest

from pytest_enterprise.plugin import MARKERS

FLAGS = """\
flags:
  new_ui_design:
    status: rollout
    strategy: percentage
    rollout_percentage: 25
    owner: web
  checkout:
    status: ab_test
    variants:
      - {name: classic, weight: 1}
      - {name: express, weight: 3}
  dark_mode:
    status: enabled
  legacy_export:
    status: enabled
    expires_at: 2020-01-01
  canary_search:
    status: rollout
    strategy: canary
    rollout_percentage: 5
    canary: {error_threshold: 0.2, window: 10, min_outcomes: 4}
profiles:
  production:
    new_ui_design:
      rollout_percentage: 60
"""

SUITE = """\
import pytest
from pytest_enterprise.flags.feature_flags import flag_manager


@pytest.mark.flags("new_ui_design")
def test_ui(request):
    expected = request.node.callspec.id.endswith("=on")
    assert flag_manager.is_enabled("new_ui_design", user_id="anyone") is expected


@pytest.mark.flags("new_ui_design", "checkout")
def test_checkout():
    assert flag_manager.get_variant("checkout", user_id="u") in ("classic", "express")


@pytest.mark.flags("checkout", "new_ui_design", "dark_mode", combine="pairwise")
def test_pairwise():
    pass


def test_dark_mode_is_always_on():
    for user in range(3):
        assert flag_manager.is_enabled("dark_mode", user_id=str(user))


def test_fixture_overrides_for_one_test(feature_flags):
    feature_flags.set("dark_mode", False)
    assert not flag_manager.is_enabled("dark_mode")


def test_after_the_fixture_the_flag_is_back():
    assert flag_manager.is_enabled("dark_mode")


@pytest.mark.flags("canary_search")
@pytest.mark.parametrize("case", range(4))
def test_search(case):
    if flag_manager.is_enabled("canary_search", user_id="x") and case > 0:
        raise AssertionError("new search is broken")
"""


@pytest.fixture
def project(pytester):
    pytester.makefile(".yaml", flags=FLAGS)
    pytester.makefile(
        ".yaml",
        **{"enterprise-config": "feature_flags:\n  enabled: true\n  config_file: flags.yaml\n"},
    )
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def test_the_flags_marker_is_registered():
    assert any(line.startswith("flags(") for line in MARKERS)


def test_variants_get_readable_ids_and_isolated_combinations(project):
    result = project.runpytest("--collect-only", "-q", "-p", "no:randomly")
    ids = [line for line in result.outlines if "::" in line]
    assert "test_suite.py::test_ui[new_ui_design=on]" in ids
    assert "test_suite.py::test_ui[new_ui_design=off]" in ids
    # Isolated: each flag through its values, the other at its production default
    # (new_ui_design is on at 60% in production; checkout serves its heaviest variant).
    checkout = sorted(i.split("[")[1] for i in ids if "test_checkout" in i)
    assert checkout == [
        "new_ui_design=off,checkout=express]",
        "new_ui_design=on,checkout=classic]",
        "new_ui_design=on,checkout=express]",
    ]
    pairwise = [i for i in ids if "test_pairwise" in i]
    assert 4 <= len(pairwise) < 8  # fewer than the 8 of the full product, every pair covered
    assert "test_suite.py::test_search[canary_search=on-0]" in ids or "test_suite.py::test_search[0-canary_search=on]" in ids


def flags_section_of_a_run(run_enterprise, workers):
    run = run_enterprise("-p", "no:randomly", workers=workers)
    run.result.assert_outcomes(passed=17, failed=3)
    section = run.report["flags"]
    flags = section["flags"]
    assert flags["new_ui_design"]["variants"]["on"]["passed"] >= 1
    assert flags["checkout"]["values"] == ["classic", "express"]
    assert flags["canary_search"]["variants"] == {
        "on": {"tests": 4, "passed": 1, "failed": 3},
        "off": {"tests": 4, "passed": 4},
    }
    kinds = {(w["flag"], w["kind"]) for w in section["warnings"]}
    assert ("legacy_export", "stale") in kinds
    assert ("legacy_export", "untested-variant") in kinds  # never evaluated, never tested
    assert ("canary_search", "canary-tripped") in kinds
    test = run.test("test_ui[new_ui_design=on]")
    assert test["markers"]["flags"] == {"new_ui_design": "on"}
    return section


def test_a_run_reports_outcomes_per_flag_and_value_the_same_under_xdist(project, run_enterprise):
    assert flags_section_of_a_run(run_enterprise, 0) == flags_section_of_a_run(run_enterprise, 2)


def test_a_flag_always_one_value_is_reported(project, run_enterprise):
    project.makepyfile(test_suite="""
from pytest_enterprise.flags.feature_flags import flag_manager

def test_dark():
    assert flag_manager.is_enabled("dark_mode")
""")
    run = run_enterprise("-p", "no:randomly")
    warnings = {w["flag"]: w for w in run.report["flags"]["warnings"] if w["kind"] == "always-one-value"}
    assert "was evaluated once and was always 'on'" in warnings["dark_mode"]["message"]


def test_the_report_section_validates_against_the_schema(project, run_enterprise):
    jsonschema = pytest.importorskip("jsonschema")
    from importlib.resources import files

    run = run_enterprise("-p", "no:randomly")
    schema = json.loads(files("pytest_enterprise.report").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(run.report, schema)


def test_a_canary_trip_is_in_the_projects_audit_log(project, run_enterprise):
    run = run_enterprise("-p", "no:randomly")
    (trip,) = [w for w in run.report["flags"]["warnings"] if w["kind"] == "canary-tripped"]
    assert "3 of the last 4 outcomes of variant 'on'" in trip["message"]
    store = project.path / ".enterprise" / "history.db"
    rows = sqlite3.connect(store).execute("SELECT action, subject, actor, reason FROM audit_events").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("auto-disable", "canary_search", "pytest-enterprise canary guard")]
    assert "the flag file is unchanged" in rows[0][3]
    assert "canary_search" in (project.path / "flags.yaml").read_text()  # not edited


def test_an_unknown_flag_in_a_marker_is_a_collection_error(project):
    project.makepyfile(test_bad="""
import pytest

@pytest.mark.flags("new_ui_desing")
def test_x():
    pass
""")
    result = project.runpytest("-p", "no:randomly", "test_bad.py")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_x*: @pytest.mark.flags('new_ui_desing'): unknown flag (did you mean 'new_ui_design'?)*"])
    assert "Traceback" not in result.stdout.str()


def test_a_broken_flag_file_stops_the_run_with_its_line(project):
    project.makefile(".yaml", flags="flags:\n  x:\n    rollout_percentage: 150\n")
    result = project.runpytest_subprocess("-p", "no:randomly")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*flags.yaml:3: flags.x.rollout_percentage: must be between 0 and 100, got 150*"])


INERT = "pytest_enterprise.flags.marker_warning.InertFlagsMarkerWarning"


def test_without_the_plugin_enabled_the_marker_runs_once_and_says_why(pytester):
    pytester.makepyfile(test_plain="""
import pytest

@pytest.mark.flags("anything")
def test_once():
    pass

@pytest.mark.flags("other")
class TestMarkedClass:
    def test_in_class(self):
        pass

def test_fixture(feature_flags):
    from pytest_enterprise.flags.feature_flags import flag_manager
    flag_manager.declare("beta", default=False)
    feature_flags.set("beta", True)
    assert flag_manager.is_enabled("beta")
""")
    args = ("-p", "no:randomly", "-p", "no:benchmark", "-p", "no:cacheprovider", "--strict-markers")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=3, warnings=2)
    result.stdout.fnmatch_lines([
        "*InertFlagsMarkerWarning: test_plain.py::test_once: @pytest.mark.flags has no effect, the test runs once:"
        " pytest-enterprise is off for this run; pass --enterprise-report*",
        "*InertFlagsMarkerWarning: test_plain.py::TestMarkedClass::test_in_class: @pytest.mark.flags has no effect*",
    ])  # fmt: skip
    assert "test_fixture: @pytest" not in result.stdout.str()
    # Under -W error the warning is an error: one line and exit 2, not an INTERNALERROR.
    strict = pytester.runpytest_subprocess(*args, "-W", "error")
    assert strict.ret == 2 and "INTERNALERROR" not in strict.stdout.str() + strict.stderr.str()
    strict.stdout.fnmatch_lines(["*pytest-enterprise: test_plain.py::test_once: @pytest.mark.flags has no effect*an error under the warning filters*"])
    # The category is specific, so it can be filtered by itself.
    quiet = pytester.runpytest_subprocess(*args, "-W", "error", "-W", f"ignore::{INERT}")
    quiet.assert_outcomes(passed=3)


CREATED_IN_CONFTEST = """
from pytest_enterprise.flags.feature_flags import FlagStatus, flag_manager

flag_manager.create_flag("made_in_conftest", description="made by code", status=FlagStatus.ENABLED)
"""

USES_CREATED = """
import pytest
from pytest_enterprise.flags.feature_flags import flag_manager

@pytest.mark.flags("made_in_conftest")
def test_made(request):
    assert flag_manager.is_enabled("made_in_conftest") is request.node.name.endswith("=on]")
"""


@pytest.mark.parametrize("workers", [0, 2])
def test_a_flag_created_in_a_conftest_runs_each_value_under_enterprise_report(pytester, run_enterprise, workers):
    pytester.makeconftest(CREATED_IN_CONFTEST)
    pytester.makepyfile(test_made=USES_CREATED)
    run = run_enterprise("-p", "no:randomly", workers=workers)
    run.result.assert_outcomes(passed=2)
    values = sorted(t["markers"]["flags"]["made_in_conftest"] for t in run.report["tests"])
    assert values == ["off", "on"]
    assert "flags" not in run.report  # feature flags are off: the marker runs, nothing is reported


def test_a_flag_created_in_a_conftest_is_kept_over_the_flag_file(project, run_enterprise):
    project.makeconftest(CREATED_IN_CONFTEST)
    project.makepyfile(test_made=USES_CREATED + """

@pytest.mark.flags("dark_mode")
def test_from_the_file(request):
    assert flag_manager.is_enabled("dark_mode") is request.node.name.endswith("=on]")
""")
    run = run_enterprise("-p", "no:randomly", "test_made.py")
    run.result.assert_outcomes(passed=4)
    assert {"made_in_conftest", "dark_mode"} <= set(run.report["flags"]["flags"])


def test_the_option_names_the_flag_file(pytester):
    pytester.makefile(".json", myflags=json.dumps({"flags": {"beta": {"status": "enabled"}}}))
    pytester.makepyfile(test_opt="""
import pytest
from pytest_enterprise.flags.feature_flags import flag_manager

@pytest.mark.flags("beta")
def test_beta(request):
    assert flag_manager.is_enabled("beta") is request.node.name.endswith("=on]")
""")
    result = pytester.runpytest("-p", "no:randomly", "--enterprise-flags", "myflags.json", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_beta?beta=on? PASSED*", "*test_beta?beta=off? PASSED*"])


def test_fixture_overrides_are_undone_on_each_xdist_worker(project, run_enterprise):
    # loadfile keeps each file on one worker, so the later tests see what the earlier left.
    for name in ("a", "b"):
        project.makepyfile(**{f"test_fixture_{name}": """
from pytest_enterprise.flags.feature_flags import flag_manager

def test_1_override(feature_flags):
    feature_flags.set("dark_mode", False)
    feature_flags.set("checkout", "classic")
    assert not flag_manager.is_enabled("dark_mode")

def test_2_restored():
    assert flag_manager.is_enabled("dark_mode")
    assert flag_manager.overrides() == {}
"""})
    run = run_enterprise("-p", "no:randomly", "--dist", "loadfile", "test_fixture_a.py", "test_fixture_b.py", workers=2)
    run.result.assert_outcomes(passed=4)
    assert {t["worker"] for t in run.report["tests"]} == {"gw0", "gw1"}


def test_the_run_puts_the_process_flag_manager_back(project):
    from pytest_enterprise.flags.feature_flags import flag_manager

    before = flag_manager.flags if flag_manager._loader is None else None
    result = project.runpytest("-p", "no:randomly", "-p", "no:benchmark", "test_suite.py", "-k", "dark_mode")
    assert result.ret == 0
    after = flag_manager.flags if flag_manager._loader is None else None
    assert after == before and "dark_mode" not in (after or {})
