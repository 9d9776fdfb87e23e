"""How the plugin behaves when off, misconfigured, gated, or handed a broken store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TRIVIAL = "def test_one():\n    pass\n\ndef test_two():\n    pass\n"


def test_inert_without_flag_or_config(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    pytester.makeconftest(
        """
        import sys

        def pytest_sessionfinish(session):
            loaded = sorted(
                name for name in ("scipy", "yaml", "tabulate", "pytest_enterprise.session",
                                  "pytest_enterprise.recorder", "pytest_enterprise.config",
                                  "pytest_enterprise.trends", "pytest_enterprise.quality.control",
                                  "pytest_enterprise.quality.flaky", "pytest_enterprise.quality.spc",
                                  "pytest_enterprise.store.sqlite", "mmh3")
                if name in sys.modules
            )
            plugin = session.config.pluginmanager.get_plugin("enterprise-session")
            print(f"\\nLOADED={loaded} SESSION_PLUGIN={plugin}")
        """
    )
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*LOADED=[[]*SESSION_PLUGIN=None*"])
    line = next(l for l in result.stdout.lines if "LOADED=" in l)
    assert "pytest_enterprise" not in line and "scipy" not in line
    assert not (pytester.path / "enterprise-reports").exists()
    assert not (pytester.path / ".enterprise").exists()


def test_markers_registered_even_when_disabled(pytester: pytest.Pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.severity("high")
        @pytest.mark.opportunities(2)
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_disabled_with_p_no_enterprise(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    result = pytester.runpytest_subprocess("-p", "no:enterprise", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    rejected = pytester.runpytest_subprocess("-p", "no:enterprise", "--enterprise-report")
    assert rejected.ret == pytest.ExitCode.USAGE_ERROR


def test_enabled_from_config_file(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\n  output_dir: out\n"})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", "-W", "error")
    assert result.ret == 0
    report = json.loads((pytester.path / "out" / "enterprise-report.json").read_text())
    assert report["quality"]["units"] == 2
    assert report["history"]["saved"] is True
    assert (pytester.path / ".enterprise" / "history.db").is_file()


def test_report_validates_against_shipped_schema(pytester: pytest.Pytester, run_enterprise):
    jsonschema = pytest.importorskip("jsonschema")
    from pytest_enterprise.report.json_report import load_schema

    pytester.makepyfile(TRIVIAL + "\ndef test_bad():\n    raise ValueError('x')\n")
    run = run_enterprise()
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(run.report, schema)
    assert run.report["schema_version"].startswith("1.")
    assert run.report["tool"]["name"] == "pytest-enterprise"


def _required_without_properties(node, path="#"):
    """Paths of schema objects whose ``required`` names a key their ``properties`` lack (strict
    validators such as ajv's strict mode refuse them)."""
    found = []
    if isinstance(node, dict):
        required = node.get("required")
        if isinstance(required, list):
            declared = node.get("properties", {})
            found += [f"{path}: {name}" for name in required if name not in declared]
        for key, value in node.items():
            found += _required_without_properties(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _required_without_properties(value, f"{path}/{index}")
    return found


def test_report_schema_declares_every_required_key_and_meets_its_meta_schema():
    jsonschema = pytest.importorskip("jsonschema")
    from pytest_enterprise.report.json_report import load_schema

    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert _required_without_properties(schema) == []
    # The walk finds what it looks for.
    assert _required_without_properties({"items": {"required": ["a", "b"], "properties": {"a": {}}}}) == ["#/items: b"]


def test_zero_defects_shows_lower_bound_not_infinity(pytester: pytest.Pytester, run_enterprise):
    pytester.makepyfile(TRIVIAL)
    run = run_enterprise()
    quality = run.quality
    assert quality["defects"] == 0
    assert quality["sigma_level"] is None
    assert quality["sigma_lower_bound"] is not None and quality["sigma_lower_bound"] > 0
    run.result.stdout.fnmatch_lines(["*Sigma demonstrated*≥*σ at 95% confidence*"])


def test_seven_passing_tests_say_what_they_demonstrate(
    pytester: pytest.Pytester, run_enterprise
):
    # Issue 10.3: this printed "Quality level Poor, from the 95% lower bound" and "[1.73, ∞] σ".
    jsonschema = pytest.importorskip("jsonschema")
    from scipy import stats

    from pytest_enterprise.cli.main import main
    from pytest_enterprise.report.json_report import load_schema

    pytester.makepyfile("import pytest\n\n@pytest.mark.parametrize('n', range(7))\ndef test_ok(n):\n    pass\n")
    run = run_enterprise()
    assert run.result.ret == 0
    output = run.result.stdout.str()
    summary = output[output.index("pytest-enterprise quality"):]
    assert "∞" not in output and "inf" not in summary.lower()
    run.result.stdout.fnmatch_lines([
        "Sigma level (estimate) * none: 0 defects in 7 units",
        "Sigma demonstrated * ≥ 1.89 σ at 95% confidence",
        "Quality level * Poor, as demonstrated at 95%; not yet demonstrable above Poor with 7 units",
        "Next level * Fair (≥ 3 σ) needs 44 units without a defect (this run: 7)",
    ])  # fmt: skip
    quality = run.quality
    jsonschema.validate(run.report, load_schema())
    bound = stats.binomtest(0, 7, alternative="less").proportion_ci(0.95).high
    assert quality["sigma_lower_bound"] == pytest.approx(stats.norm.isf(bound) + 1.5)
    assert quality["sigma_level_ci95"][1] is None  # unbounded: null in JSON, never a number
    assert quality["next_quality_level"] == {
        "name": "Fair", "threshold": 3.0, "defects_allowed": 0,
        "opportunities_needed": 44, "units_needed": 44,
    }  # fmt: skip
    # The stored run renders the same facts, in text and markdown, without ∞.
    for fmt in ("text", "markdown"):
        out = pytester.path / f"quality.{fmt}"
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(pytester.path)
            assert main(["telemetry", "report", "--format", fmt, "--output", str(out)]) == 0
        rendered = out.read_text()
        assert "∞" not in rendered and "needs 44 units without a defect" in rendered


def test_no_tests_is_no_data(pytester: pytest.Pytester, run_enterprise):
    pytester.makepyfile("def helper():\n    pass\n")
    run = run_enterprise()
    assert run.result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert run.quality["units"] == 0
    assert run.quality["dpmo"] is None and run.quality["fpy"] is None
    assert run.quality["quality_level"] == "no data"


@pytest.mark.parametrize(
    ("arguments", "config", "expected_line"),
    [
        (["--enterprise-dpmo-fail-above", "100"], None, "*DPMO gate FAILED: actual 500,000 > limit 100 (--enterprise-dpmo-fail-above)*"),
        ([], "telemetry:\n  dpmo_threshold: 6210\n", "*DPMO gate FAILED: actual 500,000 > limit 6,210 (telemetry.dpmo_threshold)*"),
        ([], "telemetry:\n  rty_threshold: 90\n", "*RTY % gate FAILED: actual 50 < limit 90 (telemetry.rty_threshold)*"),
    ],
)
def test_gate_failure_is_named(pytester, run_enterprise, arguments, config, expected_line):
    pytester.makepyfile("def test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n")
    if config:
        pytester.makefile(".yaml", **{"enterprise-config": config})
    run = run_enterprise(*arguments)
    assert run.result.ret == 1
    run.result.stdout.fnmatch_lines([expected_line])
    assert run.report["gates"][0]["status"] == "failed"


def test_gate_turns_green_run_red(pytester, run_enterprise):
    """A flaky test passes on rerun (pytest exits 0) but its rework lowers RTY below the gate."""
    pytester.makepyfile(
        """
        import pytest

        def test_ok():
            pass

        @pytest.mark.flaky(reruns=1)
        def test_flaky(request):
            counter = request.config.rootpath / "gate.count"
            first = not counter.exists()
            counter.write_text("1")
            assert not first
        """
    )
    run = run_enterprise("--enterprise-rty-fail-under", "99")
    assert run.result.ret == 1
    assert run.report["run"]["exit_status"] == 1
    run.result.stdout.fnmatch_lines(["*RTY % gate FAILED: actual 50 < limit 99*"])
    passing = run_enterprise("--enterprise-rty-fail-under", "40")
    assert passing.result.ret == 0
    passing.result.stdout.fnmatch_lines(["*RTY % gate passed*"])


def test_bad_config_is_one_line_exit_2(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\n  dpmo_treshold: 6210\n"})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 2
    output = result.stdout.str() + result.stderr.str()
    assert "enterprise-config.yaml:3: telemetry.dpmo_treshold: unknown key; did you mean 'dpmo_threshold'?" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output


def test_corrupt_store_keeps_file_and_still_writes_report(pytester: pytest.Pytester, run_enterprise):
    pytester.makepyfile(TRIVIAL)
    store = pytester.path / ".enterprise" / "history.db"
    store.parent.mkdir()
    garbage = b"this is not a database\n" * 100
    store.write_bytes(garbage)
    run = run_enterprise()
    assert run.result.ret == 2
    assert store.read_bytes() == garbage
    assert run.report["quality"]["units"] == 2
    assert run.report["history"]["saved"] is False
    assert str(store) in run.report["history"]["error"]
    output = run.result.stdout.str()
    assert "history not saved" in output and "Traceback" not in output


def test_history_rows_per_run_and_attempt(pytester: pytest.Pytester, run_enterprise):
    pytester.makepyfile(TRIVIAL + "\ndef test_bad():\n    assert 0\n")
    run_enterprise()
    run_enterprise("--enterprise-no-history")
    run_enterprise()
    with sqlite3.connect(pytester.path / ".enterprise" / "history.db") as connection:
        runs = connection.execute("select count(*) from runs").fetchone()[0]
        attempts = connection.execute("select count(*) from attempts").fetchone()[0]
        packed = connection.execute("select sum(tests) from run_tests").fetchone()[0]
    connection.close()
    # Per run: the two passing tests packed in one row, the failure as its own attempt row.
    assert (runs, attempts, packed) == (2, 2, 4)


def test_four_concurrent_runs_lose_nothing(pytester: pytest.Pytester):
    pytester.makepyfile("import pytest\n\n@pytest.mark.parametrize('n', range(50))\ndef test_many(n):\n    pass\n")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--enterprise-report"]
    processes = [
        subprocess.Popen([*command, "--enterprise-json", f"r{i}.json"], cwd=pytester.path, stdout=subprocess.DEVNULL)
        for i in range(4)
    ]
    assert [process.wait(timeout=120) for process in processes] == [0, 0, 0, 0]
    with sqlite3.connect(pytester.path / ".enterprise" / "history.db") as connection:
        runs = connection.execute("select count(*) from runs").fetchone()[0]
        tests = connection.execute("select count(*), sum(tests) from run_tests").fetchone()
        attempts = connection.execute("select count(*) from attempts").fetchone()[0]
    connection.close()
    assert (runs, tests, attempts) == (4, (4, 200), 0)


def _recorded_duration(duration: float) -> float:
    """The call phase's duration as the recorder keeps it, from a fake passed call report."""
    from types import SimpleNamespace

    from pytest_enterprise.recorder import Recorder

    recorder = Recorder()
    recorder.record(SimpleNamespace(nodeid="t.py::t", when="call", outcome="passed", duration=duration))
    (phase,) = recorder.tests["t.py::t"].attempts[0].phases
    return phase.duration


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
@settings(max_examples=300, deadline=None)
def test_durations_are_kept_to_the_microsecond(duration: float) -> None:
    kept = _recorded_duration(duration)
    assert abs(kept - round(duration, 6)) <= 1e-6 * (1 + duration * 1e-9)
    assert kept == round(kept, 6)  # a short float: at most six decimals in the report


@pytest.mark.parametrize("duration", [float("inf"), float("nan")])
def test_a_non_finite_duration_is_kept_as_it_is(duration: float) -> None:
    assert repr(_recorded_duration(duration)) == repr(duration)


def test_a_run_under_tox_records_its_environment(pytester: pytest.Pytester, run_enterprise, monkeypatch):
    from pytest_enterprise.report.json_report import record_from_report
    from pytest_enterprise.store import HistoryStore

    pytester.makepyfile(TRIVIAL)
    monkeypatch.delenv("TOX_ENV_NAME", raising=False)
    outside = run_enterprise().report
    monkeypatch.setenv("TOX_ENV_NAME", "py311")
    inside = run_enterprise().report
    assert outside["run"]["environment"] is None and inside["run"]["environment"] == "py311"
    assert record_from_report(inside).run.environment == "py311"
    with HistoryStore(pytester.path / ".enterprise" / "history.db") as store:
        assert [run.environment for run in store.recent_runs()] == ["py311", None]
        assert store.load_run(inside["run"]["id"]).run.environment == "py311"
