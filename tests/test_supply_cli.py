"""``enterprise security ...`` end to end, in-process."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OSV = SHARED / "osv-pypa"


def run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for variable in ("ENTERPRISE_CONFIG", "ENTERPRISE_SIGNING_KEY", "GITHUB_ACTIONS", "GITLAB_CI", "CI"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo-app"\nversion = "1.2.3"\ndependencies = ["pytest"]\n')
    (tmp_path / "report.json").write_text('{"run": 1}\n')
    return tmp_path


def test_keygen_then_slsa_then_verify_with_the_files(project, capsys):
    assert run(capsys, "security", "keygen", "--out", "ci")[0] == 0
    assert stat.S_IMODE(os.stat("ci.key").st_mode) == 0o600
    code, _, err = run(capsys, "security", "slsa", "--level", "1", "--output", "out/slsa.json",
                       "--subject", "report.json", "--key", "ci.key", "--project", str(project))  # fmt: skip
    assert code == 0, err
    assert "SLSA Build L1" in err
    envelope = json.loads(Path("out/slsa.json").read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    code, out, _ = run(capsys, "security", "verify", "out/slsa.json", "--key", "ci.pub", "--artifacts", ".", "--format", "json")
    verdict = json.loads(out)
    assert code == 0 and verdict["verified"] is True
    assert [s["name"] for s in verdict["subjects"]] == ["report.json"] and verdict["subjects"][0]["ok"]
    statement = json.loads(__import__("base64").b64decode(envelope["payload"]))
    assert statement["predicate"]["runDetails"]["metadata"]["pytestenterprise_slsaBuildLevel"] == 1

    Path("report.json").write_text('{"run": 2}\n')  # the file changed after signing
    code, out, _ = run(capsys, "security", "verify", "out/slsa.json", "--key", "ci.pub", "--artifacts", ".")
    assert code == 1 and "DIGEST MISMATCH" in out


def test_a_level_above_what_can_be_proven_is_refused_and_nothing_written(project, capsys):
    run(capsys, "security", "keygen", "--out", "ci")
    code, _, err = run(capsys, "security", "slsa", "--level", "3", "--output", "slsa.json",
                       "--subject", "report.json", "--key", "ci.key")  # fmt: skip
    assert code == 1
    assert "L2" in err and "L3" in err and "unforgeable" in err.lower()
    assert not Path("slsa.json").exists()
    # Without --subject the SBOM it would cover is judged unneeded before it is written.
    before = sorted(p.name for p in project.iterdir())
    code, _, err = run(capsys, "security", "slsa", "--level", "3", "--output", "slsa.json", "--key", "ci.key")
    assert code == 1 and "unmet" in err
    assert sorted(p.name for p in project.iterdir()) == before


def test_verify_rejects_an_untrusted_key_and_a_threshold_it_cannot_meet(project, capsys):
    run(capsys, "security", "keygen", "--out", "a")
    run(capsys, "security", "keygen", "--out", "b")
    run(capsys, "security", "slsa", "--level", "1", "--output", "slsa.json", "--subject", "report.json", "--key", "a.key")
    code, out, _ = run(capsys, "security", "verify", "slsa.json", "--key", "b.pub")
    assert code == 1 and "NOT VERIFIED" in out
    code, _, err = run(capsys, "security", "verify", "slsa.json", "--key", "a.pub", "--key", "b.pub", "--threshold", "2")
    assert code == 1
    code, _, err = run(capsys, "security", "verify", "slsa.json", "--key", "a.pub", "--threshold", "2")
    assert code == 2 and "threshold" in err


def test_slsa_without_a_key_says_how_to_get_one(project, capsys):
    code, _, err = run(capsys, "security", "slsa", "--level", "1", "--output", "slsa.json", "--subject", "report.json")
    assert code == 2 and "keygen" in err


def test_keygen_never_overwrites(project, capsys):
    run(capsys, "security", "keygen", "--out", "k")
    code, _, err = run(capsys, "security", "keygen", "--out", "k")
    assert code == 2 and "k.key" in err


def test_status_names_what_is_missing(project, capsys):
    Path("enterprise-config.yaml").write_text("security:\n  signing_key: missing.key\n  vulnerability_db: osv\n")
    code, out, _ = run(capsys, "security", "status")
    assert code == 0 and "missing.key (MISSING)" in out and "osv (MISSING)" in out


def _venv_with(tmp_path: Path, packages: dict[str, str]) -> Path:
    """A real virtualenv (without pip) with hand-written installs of ``packages``."""
    import subprocess
    import sys

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    for name, version in packages.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return venv / "bin" / "python"


@pytest.mark.skipif(not OSV.is_dir(), reason=f"the PyPA OSV snapshot is not at {OSV}")
def test_scan_of_another_interpreter_against_the_real_snapshot(project, capsys, tmp_path):
    python = _venv_with(tmp_path, {"urllib3": "1.24.1", "jinja2": "2.10"})
    code, out, _ = run(capsys, "security", "scan", "--db", str(OSV), "--python", str(python), "--format", "json")
    assert code == 0
    report = json.loads(out)
    found = {(f["package"], f["id"]) for f in report["findings"]}
    assert ("urllib3", "PYSEC-2023-192") in found and any(package == "jinja2" for package, _ in found)
    assert len(report["database"]["fingerprint"]) == 64 and report["database"]["records"] > 2000
    urllib3 = next(f for f in report["findings"] if f["id"] == "PYSEC-2023-192")
    assert urllib3["fixed_versions"] == ["1.26.17"] and urllib3["severity"] == "high"
    code, _, err = run(capsys, "security", "scan", "--db", str(OSV), "--python", str(python), "--fail-on", "high")
    assert code == 1 and "at or above high" in err
    Path("vex.yaml").write_text(
        "ignores:\n"
        + "".join(
            f"  - id: {vid}\n    justification: not reachable from our code\n    expires: 2099-01-01\n"
            for vid in sorted({f["id"] for f in report["findings"]})
        )
    )
    code, out, _ = run(capsys, "security", "scan", "--db", str(OSV), "--python", str(python), "--fail-on", "low", "--ignore-file", "vex.yaml")
    assert code == 0 and "ignored: not reachable from our code" in out


def test_scan_errors_are_one_line(project, capsys):
    code, _, err = run(capsys, "security", "scan")
    assert code == 2 and "no OSV database" in err
    code, _, err = run(capsys, "security", "scan", "--db", "missing-db")
    assert code == 2 and "missing-db" in err


def test_sbom_of_another_interpreter_in_both_formats(project, capsys, tmp_path):
    python = _venv_with(tmp_path, {"requests": "2.19.0"})
    code, _, _ = run(capsys, "security", "sbom", "--python", str(python), "--output", "sbom.cdx.json", "--project", str(project))
    assert code == 0
    cdx = json.loads(Path("sbom.cdx.json").read_text())
    assert cdx["specVersion"] == "1.6" and {c["name"] for c in cdx["components"]} == {"requests"}
    assert cdx["metadata"]["component"]["name"] == "demo-app"
    code, out, _ = run(capsys, "security", "sbom", "--python", str(python), "--format", "spdx-json", "--cyclonedx-version", "1.5")
    spdx = json.loads(out)
    assert spdx["spdxVersion"] == "SPDX-2.3" and any(p["name"] == "requests" for p in spdx["packages"])


def test_report_writes_every_artifact_of_the_level(project, capsys, tmp_path):
    run(capsys, "security", "keygen", "--out", "ci")
    db = tmp_path / "osv"
    db.mkdir()
    (db / "PYSEC-2099-2.json").write_text(json.dumps({
        "id": "PYSEC-2099-2", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "pytest"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
    }))  # fmt: skip
    code, out, err = run(capsys, "security", "report", "--level", "enhanced", "--output", "artifacts",
                         "--key", "ci.key", "--db", str(db), "--format", "json")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert set(report["files"]) == {"sbom-cyclonedx-json", "vulnerabilities", "provenance", "test-result"}
    assert report["vulnerabilities_found"] == 1 and report["risk_score"] == 2  # one finding of unknown severity
    assert json.loads(Path("artifacts/security-report.json").read_text())["risk_score"] == 2
    code, out, _ = run(capsys, "security", "verify", "artifacts/provenance.intoto.json", "--key", "ci.pub", "--artifacts", "artifacts")
    assert code == 0, out


def test_report_without_a_database_has_no_risk_score(project, capsys):
    code, out, _ = run(capsys, "security", "report", "--level", "standard", "--output", "artifacts", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["risk_score"] is None and "no vulnerability scan" in report["risk_basis"]
    assert any("no OSV database" in note for note in report["notes"])
    code, out, _ = run(capsys, "security", "report", "--level", "critical", "--output", "artifacts2", "--format", "json")
    assert code == 2  # critical: a missing database or key is an error, not a note


def test_the_guides_python_api(project):
    import asyncio

    from pytest_enterprise.security import (
        AttestationError,
        SBOMFormat,
        SecurityLevel,
        SLSALevel,
        SupplyChainSecurity,
    )

    async def guide() -> dict:
        security = SupplyChainSecurity(project, SecurityLevel.ENHANCED)
        await security.sbom_generator.generate_sbom(format=SBOMFormat.CYCLONEDX_JSON, output_file=project / "sbom.json")
        with pytest.raises(AttestationError, match="no signing key.*keygen") as refused:
            await security.slsa_generator.generate_attestation(level=SLSALevel.LEVEL_1)
        report = await security.generate_comprehensive_security_report()
        return {"refused": refused.value, "report": report}

    result = asyncio.run(guide())
    assert json.loads((project / "sbom.json").read_text())["bomFormat"] == "CycloneDX"
    assert result["refused"].exit_code == 2 and "keygen" in " ".join(result["refused"].problems)
    report = result["report"]
    # The guide reads the report by attribute; the CLI and older callers by key.
    assert report.risk_score is None and report.vulnerabilities_found is None
    assert report["risk_score"] is None and "no vulnerability scan" in report.risk_basis
    assert json.loads(json.dumps(report))["security_level"] == "enhanced"
    with pytest.raises(AttributeError, match="no field 'risk'; it has"):
        report.risk


def test_the_report_object_reads_scores_by_attribute(project, capsys):
    import asyncio

    from pytest_enterprise.security import SecurityLevel, SecurityReport, SupplyChainSecurity

    db = project / "osv"
    db.mkdir()
    (db / "PYSEC-2099-3.json").write_text(json.dumps({
        "id": "PYSEC-2099-3", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "pytest"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}],
        "database_specific": {"severity": "HIGH"},
    }))  # fmt: skip
    security = SupplyChainSecurity(project, SecurityLevel.STANDARD, output_dir=project / "out")
    security.plan_options = {"database_option": str(db)}
    report = asyncio.run(security.generate_comprehensive_security_report())
    assert isinstance(report, SecurityReport)
    assert report.vulnerabilities_found == 1 == report["vulnerabilities_found"]
    assert report.risk_score == report["risk_score"] == 7  # one HIGH finding: 7 points
    assert "risk_score" in dir(report)


def test_an_unreachable_slsa_level_raises_naming_the_unmet_requirements(project, capsys):
    import asyncio

    from pytest_enterprise.errors import EnterpriseError
    from pytest_enterprise.security import SecurityLevel, SLSALevel, SLSALevelUnmetError, SupplyChainSecurity
    from pytest_enterprise.supply_chain.provenance import SlsaLevelError

    run(capsys, "security", "keygen", "--out", "ci")
    security = SupplyChainSecurity(project, SecurityLevel.ENHANCED, output_dir=project / "out")
    with pytest.raises(SLSALevelUnmetError) as refused:
        asyncio.run(security.slsa_generator.generate_attestation(level=SLSALevel.LEVEL_3, key=project / "ci.key"))
    error = refused.value
    assert isinstance(error, SlsaLevelError) and isinstance(error, EnterpriseError) and error.exit_code == 1
    assert error.requested == 3 and "\n" not in str(error)
    text = str(error)
    assert "SLSA Build L3 requested, but this run achieves Build L1" in text
    for requirement in ("L2 Hosted", "L2 Provenance is authentic: signing key", "L3 Provenance is unforgeable", "L3 Isolated"):
        assert requirement in text
    assert not (project / "out").exists() or not any((project / "out").iterdir())  # nothing written, not even the SBOM

    # Without a key the level is still refused first, and the missing key is named too.
    with pytest.raises(SLSALevelUnmetError, match="unmet: .*no signing key"):
        asyncio.run(security.slsa_generator.generate_attestation(level=SLSALevel.LEVEL_2))

    # Level 1 with a key is reachable: the attestation comes back, readable by attribute.
    attestation = asyncio.run(security.slsa_generator.generate_attestation(level=SLSALevel.LEVEL_1, key=project / "ci.key"))
    assert attestation.slsa["achieved"] == 1 and attestation.exit_code == 0
    assert Path(attestation.path).is_file() and attestation["path"] == attestation.path


# --- issue 10 point 5: a refused or failed command writes nothing; a success names each file


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _wrote(err: str) -> set[str]:
    return {line.split()[1] for line in err.splitlines() if line.startswith("wrote ")}


REFUSALS = {
    "slsa level 3, no subject": ("security", "slsa", "--level", "3", "--output", "slsa.json", "--key", "ci.key"),
    "slsa without a key": ("security", "slsa", "--level", "1", "--output", "slsa.json"),
    "slsa with a missing subject": ("security", "slsa", "--level", "1", "--output", "slsa.json", "--key", "ci.key",
                                    "--subject", "missing.json"),
    "slsa with a broken key": ("security", "slsa", "--level", "1", "--output", "slsa.json", "--key", "ci.pub"),
    "slsa under a file": ("security", "slsa", "--level", "1", "--output", "report.json/slsa.json", "--key", "ci.key"),
    "report at critical without a database": ("security", "report", "--level", "critical", "--key", "ci.key", "--output", "out"),
    "report with a broken key": ("security", "report", "--level", "enhanced", "--key", "ci.pub", "--output", "out"),
    "report with a missing database": ("security", "report", "--level", "standard", "--db", "nowhere", "--output", "out"),
    "scan with a missing database": ("security", "scan", "--db", "nowhere", "--output", "scan.json"),
    "sbom of a missing interpreter": ("security", "sbom", "--python", "/no/such/python", "--output", "x.cdx.json"),
    "keygen over an existing key": ("security", "keygen", "--out", "ci"),
    "verify a missing envelope": ("security", "verify", "missing.json", "--key", "ci.pub"),
}


@pytest.mark.parametrize("arguments", list(REFUSALS.values()), ids=list(REFUSALS))
def test_a_refused_or_failed_security_command_writes_nothing(project, capsys, arguments):
    run(capsys, "security", "keygen", "--out", "ci")
    before = _tree(project)
    code, out, err = run(capsys, *arguments)
    assert code in (1, 2), (out, err)
    assert _tree(project) == before, err
    assert not _wrote(err)
    assert [p.name for p in project.iterdir() if p.name.startswith(".enterprise-staging")] == []


def test_report_refuses_an_slsa_level_it_cannot_reach_and_writes_nothing(project, capsys):
    run(capsys, "security", "keygen", "--out", "ci")
    (project / "enterprise-config.yaml").write_text("security:\n  slsa_level: 2\n")
    before = _tree(project)
    code, _, err = run(capsys, "security", "report", "--level", "enhanced", "--key", "ci.key", "--output", "out")
    assert code == 1 and "SLSA Build L2 requested" in err and "nothing written" in err
    assert _tree(project) == before


SUCCESSES = {
    "slsa with a fresh SBOM": ("security", "slsa", "--level", "1", "--output", "slsa.json", "--key", "ci.key"),
    "slsa over a subject": ("security", "slsa", "--level", "1", "--output", "slsa.json", "--key", "ci.key", "--subject", "report.json"),
    "report at enhanced": ("security", "report", "--level", "enhanced", "--key", "ci.key", "--output", "out"),
    "sbom to a file": ("security", "sbom", "--output", "bom.spdx.json"),
    "keygen": ("security", "keygen", "--out", "other"),
}


@pytest.mark.parametrize("arguments", list(SUCCESSES.values()), ids=list(SUCCESSES))
def test_a_successful_security_command_names_every_file_it_wrote(project, capsys, arguments):
    run(capsys, "security", "keygen", "--out", "ci")
    before = _tree(project)
    code, out, err = run(capsys, *arguments)
    assert code == 0, err
    changed = {name for name, data in _tree(project).items() if before.get(name) != data}
    assert changed
    if arguments[1] == "keygen":  # one line for the pair: "wrote other.key (...) and other.pub (...)"
        assert all(name in out for name in changed)
        return
    assert {str(Path(name)) for name in _wrote(err)} == changed
    assert len(err.splitlines()) >= len(changed)


PLUGGY_RECORD = """\
id: PYSEC-2099-1
modified: "2024-01-01T00:00:00Z"
affected:
  - package: {ecosystem: PyPI, name: pluggy}
    ranges:
      - type: ECOSYSTEM
        events: [{introduced: "0"}]
severity:
  - type: CVSS_V3
    score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
"""


def test_a_vulnerability_gate_still_writes_its_evidence_and_names_it(project, capsys):
    (project / "osv" / "pluggy").mkdir(parents=True)
    (project / "osv" / "pluggy" / "PYSEC-2099-1.yaml").write_text(PLUGGY_RECORD)
    (project / "enterprise-config.yaml").write_text("security:\n  fail_on: high\n")
    code, _, err = run(capsys, "security", "scan", "--db", "osv", "--output", "scan.json", "--format", "json")
    assert code == 1 and _wrote(err) == {"scan.json"}
    code, out, err = run(capsys, "security", "report", "--level", "standard", "--db", "osv", "--output", "out")
    assert code == 1 and "FAILED: 1 vulnerabilities at or above high" in out
    assert _wrote(err) == {"out/sbom.cdx.json", "out/vulnerabilities.json", "out/security-report.json"}
    assert sorted(p.name for p in (project / "out").iterdir()) == ["sbom.cdx.json", "security-report.json", "vulnerabilities.json"]
