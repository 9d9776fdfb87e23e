"""Supply-chain artifacts from real pytest runs: SBOM, scan and signed provenance at session
end, the report's section, gates, and xdist."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

# Imported before pytester snapshots sys.modules: its restore would drop cryptography's Python
# modules while the Rust extension stays loaded, and the re-imported classes would not match.
from cryptography.hazmat.primitives import serialization  # noqa: F401
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401

from pytest_enterprise.supply_chain.keys import generate_keypair

SUITE = """
def test_ok():
    pass

def test_also_ok():
    pass
"""

# Every installed pluggy is affected: introduced at 0 and never fixed.
PLUGGY_RECORD = """\
id: PYSEC-2099-1
modified: "2024-01-01T00:00:00Z"
aliases: [CVE-2099-0001]
summary: A made-up advisory for the test
affected:
  - package: {ecosystem: PyPI, name: pluggy}
    ranges:
      - type: ECOSYSTEM
        events: [{introduced: "0"}]
severity:
  - type: CVSS_V3
    score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
"""


@pytest.fixture
def project(pytester):
    pytester.makepyfile(test_suite=SUITE)
    pytester.makefile(".toml", pyproject='[project]\nname = "shop"\nversion = "2.0"\ndependencies = ["pluggy"]\n')
    osv = pytester.path / "osv" / "pluggy"
    osv.mkdir(parents=True)
    (osv / "PYSEC-2099-1.yaml").write_text(PLUGGY_RECORD)
    private, public = generate_keypair(pytester.path / "ci")
    pytester.path.joinpath("public.pem").write_bytes(public.read_bytes())
    return pytester


def out_dir(project) -> Path:
    return project.path  # the folder of the JSON report (run_enterprise passes --enterprise-json)


@pytest.mark.parametrize("workers", [0, 2])
def test_sbom_scan_and_provenance_at_session_end(project, run_enterprise, monkeypatch, workers):
    project.makefile(".yaml", **{"enterprise-config": "security:\n  vulnerability_db: osv\n  signing_key: ci.key\n"})
    run = run_enterprise("--enterprise-sbom", "--enterprise-scan", "--enterprise-provenance", workers=workers)
    run.result.assert_outcomes(passed=2)
    assert run.result.ret == 0
    section = run.report["supply_chain"]
    assert section["root"] == "pkg:pypi/shop@2.0"
    assert section["files"]["sbom-cyclonedx-json"] == "sbom.cdx.json"
    assert section["vulnerabilities"]["ids"] == ["PYSEC-2099-1"]
    assert section["vulnerabilities"]["counts"]["critical"] == 1
    assert section["slsa"]["achieved"] == 1 and section["slsa"]["met"] is True
    sbom = json.loads((out_dir(project) / "sbom.cdx.json").read_text())
    assert sbom["metadata"]["component"]["name"] == "shop"
    assert [v["id"] for v in sbom["vulnerabilities"]] == ["PYSEC-2099-1"]
    # The provenance covers the report itself, and verifies against the public key.
    from pytest_enterprise.supply_chain.verify import verify_file

    outcome = verify_file(out_dir(project) / "provenance.intoto.json", [project.path / "public.pem"], artifacts=out_dir(project))
    assert outcome.failures == []
    assert {s["name"] for s in outcome.subjects} == {"sbom.cdx.json", "vulnerabilities.json", run.report_path.name}
    _assert_times_cover_the_build_step(run, out_dir(project))
    statement = json.loads(__import__("base64").b64decode(json.loads((out_dir(project) / "provenance.intoto.json").read_text())["payload"]))
    database = [d for d in statement["predicate"]["buildDefinition"]["resolvedDependencies"] if d.get("name") == "osv-database"]
    assert database and database[0]["digest"]["sha256"] == section["vulnerabilities"]["database_fingerprint"]
    result = verify_file(out_dir(project) / "test-result.intoto.json", [project.path / "public.pem"])
    assert result.failures == [] and result.predicate_type == "https://in-toto.io/attestation/test-result/v0.1"


def _assert_times_cover_the_build_step(run, folder: Path) -> None:
    """Issue 10 point 8: from the plugin's configure time until every subject is written."""
    import base64
    import os
    from datetime import datetime, timezone

    from pytest_enterprise.timeutil import parse_timestamp

    envelope = json.loads((folder / "provenance.intoto.json").read_text())
    metadata = json.loads(base64.b64decode(envelope["payload"]))["predicate"]["runDetails"]["metadata"]
    started, finished = parse_timestamp(metadata["startedOn"]), parse_timestamp(metadata["finishedOn"])
    assert started <= parse_timestamp(run.report["run"]["started_at"])
    for name in ("sbom.cdx.json", "vulnerabilities.json", run.report_path.name):
        written = datetime.fromtimestamp(os.stat(folder / name).st_mtime, timezone.utc)
        assert finished >= written, name
    assert finished >= parse_timestamp(run.report["run"]["finished_at"])


def test_the_section_validates_against_the_report_schema(project, run_enterprise):
    jsonschema = pytest.importorskip("jsonschema")
    project.makefile(".yaml", **{"enterprise-config": "security:\n  vulnerability_db: osv\n"})
    run = run_enterprise("--enterprise-sbom", "--enterprise-scan")
    schema = json.loads(files("pytest_enterprise.report").joinpath("schema/report.schema.json").read_text())
    jsonschema.validate(run.report, schema)


def test_fail_on_gates_the_run(project, run_enterprise):
    project.makefile(".yaml", **{"enterprise-config": "security:\n  enabled: true\n  security_level: standard\n"
                                 "  vulnerability_db: osv\n  fail_on: high\n"})  # fmt: skip
    run = run_enterprise()
    run.result.assert_outcomes(passed=2)
    assert run.result.ret == 1
    run.result.stdout.fnmatch_lines(["*supply chain gate FAILED: 1 vulnerabilities at or above high*pluggy PYSEC-2099-1*"])
    assert run.report["supply_chain"]["gate_failures"]


def test_asking_for_slsa_level_2_fails_and_names_the_requirements(project, run_enterprise):
    project.makefile(".yaml", **{"enterprise-config": "security:\n  signing_key: ci.key\n  slsa_level: 2\n"})
    run = run_enterprise("--enterprise-provenance")
    assert run.result.ret == 1
    assert run.report["supply_chain"]["slsa"]["achieved"] == 1
    assert "generated by the platform" in " ".join(run.report["supply_chain"]["gate_failures"]).lower() or \
        run.report["supply_chain"]["slsa"]["unmet"]


def test_a_missing_database_is_a_clear_error_and_the_sbom_is_still_written(project, run_enterprise):
    project.makefile(".yaml", **{"enterprise-config": "security:\n  vulnerability_db: nowhere\n"})
    run = run_enterprise("--enterprise-sbom", "--enterprise-scan")
    assert run.result.ret == 2
    run.result.stdout.fnmatch_lines(["*supply chain: vulnerability scan:*nowhere*"])
    assert (out_dir(project) / "sbom.cdx.json").is_file()


def test_without_a_key_the_provenance_is_skipped_with_a_note(project, run_enterprise, monkeypatch):
    monkeypatch.delenv("ENTERPRISE_SIGNING_KEY", raising=False)
    run = run_enterprise("--enterprise-provenance")
    assert run.result.ret == 0
    assert any("no signing key" in note for note in run.report["supply_chain"]["notes"])


def test_a_test_that_passed_on_a_rerun_makes_the_test_result_warned(project, run_enterprise):
    project.makepyfile(test_suite="""
from pathlib import Path

def test_flaky():
    marker = Path(__file__).with_name("flaky.count")
    first = not marker.exists()
    marker.write_text("1")
    assert not first

def test_ok():
    pass
""")
    project.makefile(".yaml", **{"enterprise-config": "security:\n  signing_key: ci.key\n"})
    run = run_enterprise("--enterprise-provenance", "-p", "rerunfailures", "--reruns", "1")
    assert run.result.ret == 0
    envelope = json.loads((project.path / "test-result.intoto.json").read_text())
    predicate = json.loads(__import__("base64").b64decode(envelope["payload"]))["predicate"]
    assert predicate["result"] == "WARNED"
    assert predicate["warnedTests"] == ["test_suite.py::test_flaky"]
    assert predicate["passedTests"] == ["test_suite.py::test_ok"] and predicate["failedTests"] == []

