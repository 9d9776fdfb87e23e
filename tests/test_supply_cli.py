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
