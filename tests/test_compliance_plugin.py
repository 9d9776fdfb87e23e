"""``@pytest.mark.control`` in real pytest runs: marks, roll-up, gates, waivers, xdist."""

from __future__ import annotations

import pytest

from pytest_enterprise.compliance.markers import MARKER_HELP
from pytest_enterprise.plugin import MARKERS

SUITE = """
import pytest

pytestmark = pytest.mark.control("gdpr:Art.32(1)(a)")

@pytest.mark.control("CC6.1", "iso27001:A.5.15")
def test_mfa():
    pass

@pytest.mark.control("CC6.2")
def test_offboarding():
    assert False, "account still active"

@pytest.mark.control("CC6.3", na="no shared accounts exist")
def test_no_shared_accounts():
    pass

@pytest.mark.control("CC7.1")
@pytest.mark.skip(reason="scanner offline")
def test_scan():
    pass

@pytest.mark.control("CC8.1")
class TestChanges:
    def test_review(self):
        pass

    @pytest.mark.parametrize("n", [1, 2])
    def test_pipeline(self, n):
        pass
"""

CONFIG = """
compliance:
  enabled: true
  frameworks: [soc2-type2, iso27001, gdpr]
"""


def states(report, framework):
    section = next(f for f in report["compliance"]["frameworks"] if f["framework"] == framework)
    return {c["id"]: c["state"] for c in section["controls"] if c["state"] != "not_tested"}, section


def test_marker_help_is_registered_with_pytest():
    assert MARKER_HELP in MARKERS


@pytest.mark.parametrize("workers", [0, 2])
def test_a_run_rolls_up_into_control_states(pytester, run_enterprise, workers):
    pytester.makepyfile(test_access=SUITE)
    pytester.makefile(".yaml", **{"enterprise-config": CONFIG})
    run = run_enterprise(workers=workers)
    report = run.report
    soc2, section = states(report, "soc2-type2")
    assert soc2 == {"CC6.1": "passed", "CC6.2": "failed", "CC6.3": "not_applicable", "CC7.1": "not_reviewed", "CC8.1": "passed"}
    assert section["in_scope"] == 61 and section["counts"]["not_tested"] == 56
    assert section["percent_compliant"]["numerator"] == 2 and section["percent_compliant"]["denominator"] == 4
    iso, _ = states(report, "iso27001")
    assert iso == {"A.5.15": "passed"}
    gdpr, gdpr_section = states(report, "gdpr")
    assert gdpr == {"Art.32": "failed"}  # the module mark ties every test to it
    art32 = next(c for c in gdpr_section["controls"] if c["id"] == "Art.32")
    assert len(art32["tests"]) == 7 and art32["tests"][0]["refs"] == ["Art.32(1)(a)"]
    cc81 = next(c for c in section["controls"] if c["id"] == "CC8.1")
    assert [t["nodeid"].split("::", 1)[1] for t in cc81["tests"]] == [  # sorted: same under xdist
        "TestChanges::test_pipeline[1]", "TestChanges::test_pipeline[2]", "TestChanges::test_review"
    ]
    evidence = cc81["tests"][0]
    assert evidence["run_id"] == report["run"]["id"]
    assert evidence["started_at"].endswith("Z") and evidence["duration_s"] >= 0
    assert run.test("test_mfa")["markers"]["controls"] == [  # closest mark first, as pytest iterates
        ["soc2", "CC6.1", "CC6.1", None], ["iso27001", "A.5.15", "A.5.15", None], ["gdpr", "Art.32", "Art.32(1)(a)", None]
    ]
    run.result.stdout.fnmatch_lines(["*pytest-enterprise compliance*", "soc2-type2*", "*CC6.2*failed*"])
    if workers == 0:
        import jsonschema

        from pytest_enterprise.report.json_report import load_schema

        jsonschema.Draft202012Validator(load_schema()).validate(report)


def test_xdist_and_single_process_give_identical_compliance(pytester, run_enterprise):
    pytester.makepyfile(test_access=SUITE)
    pytester.makefile(".yaml", **{"enterprise-config": CONFIG})

    def comparable(report):
        section = report["compliance"]
        return [
            (f["framework"], f["counts"], [(c["id"], c["state"], sorted(t["nodeid"] for t in c["tests"])) for c in f["controls"]])
            for f in section["frameworks"]
        ]

    assert comparable(run_enterprise().report) == comparable(run_enterprise(workers=2).report)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize(
    "mark, expected",
    [
        ('"CC6.10"', "unknown control 'CC6.10'; closest: CC6.1"),
        ('"PR.AC-01"', "PR.AC-01 was withdrawn in NIST CSF 2.0; use PR.AA-01 or PR.AA-05"),
        ('"CC6.1", na=""', "na= must be a non-empty reason"),
        ('"CC6.1", reason="x"', "unknown argument 'reason'"),
        ("", "name at least one control ID"),
        ("42", "control IDs are strings"),
    ],
)
def test_a_bad_control_mark_fails_collection_naming_the_test(pytester, run_enterprise, mark, expected, workers):
    pytester.makepyfile(
        test_bad=f"""
        import pytest

        @pytest.mark.control({mark})
        def test_it():
            pass
        """
    )
    run = run_enterprise(workers=workers)
    assert run.result.ret != 0
    run.result.stdout.fnmatch_lines([f"*test_bad.py::test_it: @pytest.mark.control(*): {expected}*"])
    assert "Traceback" not in run.result.stdout.str()


def test_bad_marks_are_checked_even_when_compliance_is_off(pytester, run_enterprise):
    pytester.makepyfile("import pytest\n@pytest.mark.control('A.9.9')\ndef test_it(): pass\n")
    run = run_enterprise()
    run.result.stdout.fnmatch_lines(["*unknown control 'A.9.9'*"])
    assert "compliance" not in run.report


def test_disabled_plugin_ignores_control_marks_under_strict_markers(pytester):
    pytester.makepyfile("import pytest\n@pytest.mark.control('NOT-A-CONTROL')\ndef test_it(): pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=1)


def test_frameworks_option_enables_compliance_and_sets_scope(pytester, run_enterprise):
    pytester.makepyfile(test_access=SUITE)
    run = run_enterprise("--enterprise-frameworks", "iso27001")
    assert [f["framework"] for f in run.report["compliance"]["frameworks"]] == ["iso27001"]
    assert {u["ref"] for u in run.report["compliance"]["unscoped"]} >= {"soc2-type2:CC6.1", "gdpr:Art.32(1)(a)"}


def test_an_unknown_framework_is_a_config_error(pytester, run_enterprise):
    pytester.makepyfile("def test_it(): pass\n")
    run = run_enterprise("--enterprise-frameworks", "hipaa")
    assert run.result.ret == 2
    run.result.stderr.fnmatch_lines(["*--enterprise-frameworks: unknown framework 'hipaa'; known: *"])


@pytest.mark.parametrize(
    "settings, gate_line",
    [
        ("fail_on_failed_control: true", "*failed controls gate FAILED*soc2-type2 CC6.2 (failed)*gdpr Art.32 (failed)*"),
        ("fail_under: 80", "*soc2-type2 % compliant gate FAILED: actual 50 < limit 80*CC6.2*"),
    ],
)
def test_compliance_gates_fail_the_run_naming_the_controls(pytester, run_enterprise, settings, gate_line):
    pytester.makepyfile(test_access=SUITE.replace('assert False, "account still active"', "pass").replace(
        "def test_mfa():\n    pass", "def test_mfa():\n    pass\n\n@pytest.mark.control('CC6.2')\ndef test_more():\n    assert False"
    ))
    pytester.makefile(".yaml", **{"enterprise-config": CONFIG + f"  {settings}\n"})
    run = run_enterprise()
    assert run.result.ret == 1
    run.result.stdout.fnmatch_lines([gate_line])
    gates = [g for g in run.report["gates"] if g["source"].startswith("compliance.")]
    assert gates and any(g["status"] == "failed" and g.get("detail") for g in gates)


def test_a_gate_on_no_assessed_controls_fails_rather_than_passing_on_nothing(pytester, run_enterprise):
    pytester.makepyfile("def test_plain(): pass\n")
    pytester.makefile(".yaml", **{"enterprise-config": CONFIG + "  fail_under: 10\n"})
    run = run_enterprise()
    assert run.result.ret == 1
    run.result.stdout.fnmatch_lines(["*% compliant gate FAILED: no data*no control was assessed*"])


def test_waivers_and_attestations_from_files(pytester, run_enterprise):
    pytester.makepyfile(
        test_access=SUITE,
        test_release="""
        import pytest

        @pytest.mark.control("CC8.1")
        def test_release_only():
            pass
        """,
    )
    (pytester.path / "evidence").mkdir()
    (pytester.path / "evidence" / "conduct.md").write_text("signed\n")
    pytester.makefile(
        ".yaml",
        waivers="""
        waivers:
          - control: CC6.2
            justification: offboarding automation ships in Q1
            approver: Jane Doe (CISO)
            expires: 2999-01-31
          - control: CC8.1
            justification: change pipeline under rebuild
            approver: Jane Doe (CISO)
            expires: 2999-01-31
            run: false
          - control: CC7.1
            justification: old
            approver: Jane
            expires: 2001-01-01
        """,
        attestations="""
        attestations:
          - control: CC1.1
            status: compliant
            justification: code of conduct signed by all staff
            evidence: evidence/conduct.md
            expires: 2999-06-30
        """,
    )
    pytester.makefile(
        ".yaml",
        **{"enterprise-config": CONFIG + "  waivers_file: waivers.yaml\n  attestations_file: attestations.yaml\n"},
    )
    run = run_enterprise()
    soc2, section = states(run.report, "soc2-type2")
    assert soc2["CC6.2"] == "waived" and soc2["CC8.1"] == "waived" and soc2["CC1.1"] == "attested"
    assert soc2["CC7.1"] == "not_reviewed"  # the expired waiver is ignored...
    cc71 = next(c for c in section["controls"] if c["id"] == "CC7.1")
    assert cc71["expired"][0]["status"] == "expired"  # ...and reported
    cc62 = next(c for c in section["controls"] if c["id"] == "CC6.2")
    assert cc62["test_state"] == "failed" and "Jane Doe" in cc62["reason"]
    cc81 = {t["nodeid"]: t["outcome"] for t in next(c for c in section["controls"] if c["id"] == "CC8.1")["tests"]}
    # run: false skips a test only when every control it evidences is waived.
    assert cc81["test_release.py::test_release_only"] == "skipped"
    assert cc81["test_access.py::TestChanges::test_review"] == "passed"  # also evidences gdpr Art.32
    attested = run.report["compliance"]["attestations"][0]
    import hashlib

    assert attested["evidence_sha256"] == hashlib.sha256(b"signed\n").hexdigest()
    assert len(run.report["compliance"]["waivers"]) == 3


def test_a_waiver_naming_an_unknown_control_stops_the_run(pytester, run_enterprise):
    pytester.makepyfile("def test_it(): pass\n")
    pytester.makefile(".yaml", waivers="waivers:\n  - control: CC99.1\n    justification: j\n    approver: a\n    expires: 2999-01-01\n")
    pytester.makefile(".yaml", **{"enterprise-config": CONFIG + "  waivers_file: waivers.yaml\n"})
    run = run_enterprise()
    assert run.result.ret == 2
    assert "waivers.yaml:2: control: unknown control 'CC99.1'" in run.result.stdout.str() + run.result.stderr.str()
