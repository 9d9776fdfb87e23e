"""``enterprise compliance ...`` on a project's stored run, and the guide's Python example."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main
from pytest_enterprise.model import Attempt, GitInfo, RunInfo, RunRecord, TestResult
from pytest_enterprise.store.sqlite import HistoryStore

CONFIG = """
compliance:
  enabled: true
  frameworks: [soc2-type2, iso27001]
"""


def stored_test(nodeid: str, outcome: str, *controls: tuple[str, str]) -> TestResult:
    entries = [[framework, cid, cid, None] for framework, cid in controls]
    return TestResult(
        nodeid=nodeid,
        attempts=[Attempt(number=1, outcome=outcome)],
        markers={"controls": entries},
        started_at="2026-11-26T10:00:00.000Z",
    )


def save_run(project: Path, run_id: str, tests: list[TestResult], *, interrupted: bool = False, at: str = "2026-11-26T10:00:00.000Z") -> None:
    record = RunRecord(
        run=RunInfo(id=run_id, started_at=at, finished_at=at, git=GitInfo(commit="c0ffee"), interrupted=interrupted),
        tests=tests,
    )
    with HistoryStore(project / ".enterprise" / "history.db") as store:
        store.save_run(record, None)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV", "ENTERPRISE_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "enterprise-config.yaml").write_text(CONFIG)
    save_run(
        tmp_path,
        "run-1",
        [
            stored_test("t.py::test_mfa", "passed", ("soc2", "CC6.1"), ("iso27001", "A.5.15")),
            stored_test("t.py::test_offboard", "failed", ("soc2", "CC6.2")),
        ],
    )
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_shows_labelled_numbers_and_controls_needing_attention(project, capsys):
    code, out, _ = run_cli(capsys, "compliance", "status", "--framework", "soc2-type2")
    assert code == 0
    assert "run run-1" in out and "commit c0ffee" in out
    assert "50.00% (1/2)" in out  # % compliant
    assert "3.28% (2/61)" in out  # coverage
    assert "% compliant = compliant (passed or attested) / assessed" in out
    assert "CC6.2" in out and "failed" in out


def test_status_json_and_the_gates_exit_1(project, capsys):
    (project / "enterprise-config.yaml").write_text(CONFIG + "  fail_on_failed_control: true\n")
    code, out, _ = run_cli(capsys, "compliance", "status", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert [f["framework"] for f in data["frameworks"]] == ["soc2-type2", "iso27001"]
    assert data["gates"][0]["status"] == "failed" and "CC6.2" in data["gates"][0]["detail"]


def test_update_records_an_audited_manual_status_used_by_later_reports(project, capsys):
    (project / "evidence").mkdir()
    (project / "evidence" / "conduct.md").write_text("signed")
    code, out, _ = run_cli(
        capsys, "compliance", "update", "--control", "CC1.1", "--status", "Compliant",
        "--notes", "Code of conduct", "--evidence", "evidence/conduct.md", "--actor", "alice",
    )
    assert code == 0 and "soc2-type2:CC1.1: none -> compliant (by alice" in out
    code, out, _ = run_cli(capsys, "compliance", "report", "--framework", "soc2", "--format", "json")
    data = json.loads(out)
    cc11 = next(c for c in data["frameworks"][0]["controls"] if c["id"] == "CC1.1")
    assert cc11["state"] == "attested"
    assert cc11["attestation"]["evidence_sha256"] == hashlib.sha256(b"signed").hexdigest()
    assert cc11["attestation"]["attested_by"] == "alice"
    code, out, _ = run_cli(capsys, "compliance", "log", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["chain_intact"] and data["chained_at_migration"] is None
    assert [(c["actor"], c["status"]) for c in data["changes"]] == [("alice", "compliant")]


STATUS_TAMPERING = {
    "modify": ["UPDATE control_statuses SET status = 'compliant' WHERE id = 2"],
    "insert": ["UPDATE control_statuses SET id = id * 10",
               "INSERT INTO control_statuses (id, framework, control_id, status, notes, actor, recorded_at, prev_hash, hash)"
               " SELECT 15, framework, 'CC1.2', status, notes, actor, recorded_at, prev_hash, hash FROM control_statuses WHERE id = 10"],
    "delete": ["DELETE FROM control_statuses WHERE id = 2"],
    "reorder": ["UPDATE control_statuses SET id = -1 WHERE id = 1", "UPDATE control_statuses SET id = 1 WHERE id = 2",
                "UPDATE control_statuses SET id = 2 WHERE id = -1"],
}  # fmt: skip


@pytest.mark.parametrize("tampering", sorted(STATUS_TAMPERING))
def test_log_checks_the_status_chain_and_exits_1_when_a_middle_row_was_tampered(project, capsys, tampering):
    import sqlite3

    for control, state in (("CC1.1", "compliant"), ("CC1.2", "non_compliant"), ("CC1.3", "compliant")):
        assert run_cli(capsys, "compliance", "update", "--control", control, "--status", state, "--actor", "al")[0] == 0
    code, out, _ = run_cli(capsys, "compliance", "log")
    assert code == 0 and out.rstrip().endswith("status chain: intact")
    conn = sqlite3.connect(project / ".enterprise" / "history.db")
    with conn:
        for statement in STATUS_TAMPERING[tampering]:
            conn.execute(statement)
    conn.close()
    code, out, _ = run_cli(capsys, "compliance", "log")
    assert code == 1 and "status chain BROKEN: change " in out
    code, out, _ = run_cli(capsys, "compliance", "log", "--control", "CC1.3", "--format", "json")
    data = json.loads(out)  # a filtered view still checks the whole chain
    assert code == 1 and not data["chain_intact"] and data["problems"]
    assert [c["control_id"] for c in data["changes"]] == ["CC1.3"]


def test_log_says_which_changes_were_chained_at_the_upgrade(project, capsys):
    import sqlite3

    from pytest_enterprise.store.sqlite import MIGRATIONS

    db = project / ".enterprise" / "history.db"
    db.unlink()
    conn = sqlite3.connect(db)
    with conn:  # a store as release v3 left it, with two statuses and no chain
        for step in MIGRATIONS[:3]:
            for statement in step:
                conn.execute(statement)
        conn.execute("PRAGMA application_id = 0x5079456e")
        conn.execute("PRAGMA user_version = 3")
        for control in ("CC1.1", "CC1.2"):
            conn.execute(
                "INSERT INTO control_statuses (framework, control_id, status, actor, recorded_at)"
                " VALUES ('soc2', ?, 'compliant', 'old', '2026-11-20T10:00:00.000000Z')",
                (control,),
            )
    conn.close()
    code, out, _ = run_cli(capsys, "compliance", "log")
    assert code == 0 and "changes 1-2 were chained when the store was upgraded (" in out
    assert "not when recorded" in out and "status chain: intact" in out


def test_soc2_is_accepted_by_both_names_and_printed_by_one(project, capsys):
    import openpyxl

    # The config names the catalog id; the output still says soc2-type2, as the guide does.
    (project / "enterprise-config.yaml").write_text(
        "compliance:\n  enabled: true\n  frameworks: [soc2]\n  waivers_file: waivers.yaml\n"
    )
    (project / "waivers.yaml").write_text(
        "waivers:\n  - control: soc2:CC6.2\n    justification: later\n    approver: jane\n    expires: 2099-01-31\n"
    )
    outputs = []
    for name in ("soc2", "soc2-type2"):
        code, out, _ = run_cli(capsys, "compliance", "update", "--control", f"{name}:CC1.1", "--status", "compliant")
        assert code == 0 and out.startswith("soc2-type2:CC1.1: ")
        for command in (("status",), ("report",), ("report", "--format", "json"), ("log",), ("log", "--format", "json")):
            framework = ("--framework", name) if command[0] != "log" else ("--control", f"{name}:CC1.1")
            code, out, _ = run_cli(capsys, "compliance", *command, *framework)
            assert code == 0 and "soc2-type2" in out, (name, command)
            outputs.append(out)
        assert run_cli(capsys, "compliance", "export", "--framework", name, "--output", f"{name}.xlsx")[0] == 0
        book = openpyxl.load_workbook(project / f"{name}.xlsx", read_only=True)
        cells = [cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row]
        book.close()
        assert "soc2-type2" in cells and "soc2" not in cells
    # Only the catalog field and the waiver's control as written in waivers.yaml keep "soc2".
    printed = "\n".join(outputs).replace('"catalog": "soc2"', "").replace('"control": "soc2:CC6.2"', "")
    assert "soc2:" not in printed and '"soc2"' not in printed


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("--control", "CC6.10", "--status", "compliant"), "unknown control 'CC6.10'; closest: CC6.1"),
        (("--control", "CC6.1", "--status", "great"), "unknown compliance status 'great'"),
        (("--control", "CC6.1", "--status", "compliant", "--evidence", "missing.md"), "evidence file not found"),
        (("--control", "CC6.1", "--status", "compliant", "--expires", "soon"), "--expires: expected a date"),
        (("--control", "CC6.1", "--status", "compliant", "--expires", "1999-01-01"), "expires 1999-01-01T23:59:59.999Z is in the past"),
    ],
)
def test_update_refuses_bad_input_with_exit_2_and_stores_nothing(project, capsys, arguments, message):
    code, _, err = run_cli(capsys, "compliance", "update", *arguments)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with HistoryStore(project / ".enterprise" / "history.db") as store:
        assert store.control_statuses() == []


def test_update_api_refuses_an_expiry_in_the_past_but_takes_today(project):
    from datetime import datetime, timezone

    from pytest_enterprise.compliance import ComplianceMatrix
    from pytest_enterprise.errors import UsageError

    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    matrix = ComplianceMatrix(project, clock=lambda: now)
    for past in (datetime(2026, 11, 26, 11, 59), datetime(2020, 1, 1, tzinfo=timezone.utc), now):  # naive = UTC
        with pytest.raises(UsageError, match="is in the past"):
            matrix.update_control_status("CC6.1", "compliant", expires=past)
    change = matrix.update_control_status("CC6.1", "compliant", expires=datetime(2026, 11, 26, 23, 59, 59, tzinfo=timezone.utc))
    assert change.expires_at == "2026-11-26T23:59:59.000Z"
    with HistoryStore(project / ".enterprise" / "history.db") as store:
        assert len(store.control_status_log()) == 1


def test_report_to_a_file_and_markdown(project, capsys):
    code, _, err = run_cli(capsys, "compliance", "report", "--framework", "iso27001", "--output", "compliance-report.json")
    assert code == 0 and "wrote" in err
    data = json.loads((project / "compliance-report.json").read_text())
    assert data["frameworks"][0]["framework"] == "iso27001"
    code, out, _ = run_cli(capsys, "compliance", "report", "--format", "markdown")
    assert code == 0 and "|" in out


@pytest.mark.parametrize("name, fmt", [("m.xlsx", "xlsx"), ("m.csv", "csv"), ("m.json", "json"), ("m.md", "md")])
def test_export_takes_the_format_from_the_suffix(project, capsys, name, fmt):
    code, _, err = run_cli(capsys, "compliance", "export", "--output", name)
    assert code == 0 and f"({fmt})" in err
    assert (project / name).stat().st_size > 0


def test_export_oscal_and_an_unknown_suffix(project, capsys):
    code, _, _ = run_cli(capsys, "compliance", "export", "--output", "ar.json", "--format", "oscal")
    assert code == 0
    assert "assessment-results" in json.loads((project / "ar.json").read_text())
    code, _, err = run_cli(capsys, "compliance", "export", "--output", "m.pdf")
    assert code == 2 and ".pdf" in err


def test_controls_lookup_and_search(project, capsys):
    code, out, _ = run_cli(capsys, "compliance", "controls", "--framework", "nist-csf", "--search", "PR.AA")
    assert code == 0 and "PR.AA-01" in out and "6 entries" in out
    code, out, _ = run_cli(capsys, "compliance", "controls", "--framework", "nist-csf", "--all", "--format", "json")
    withdrawn = [c for c in json.loads(out) if c["status"] == "withdrawn"]
    assert withdrawn and all(c["replaced_by"] for c in withdrawn)
    code, _, err = run_cli(capsys, "compliance", "controls", "--framework", "pci")
    assert code == 2 and "unknown framework 'pci'" in err


def test_an_interrupted_latest_run_does_not_replace_the_evidence(project, capsys):
    save_run(project, "run-2", [], interrupted=True, at="2026-11-26T11:00:00.000Z")
    code, out, _ = run_cli(capsys, "compliance", "status")
    assert "run run-1" in out


def test_an_empty_store_shows_not_tested_never_passed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "compliance", "status", "--framework", "gdpr")
    assert code == 0 and "no run in the store yet" in out
    assert "no data (0/0)" in out and "99 not_tested" in out


def test_the_guides_python_example(project):
    """The user guide's example, verbatim but for the import root."""
    from pytest_enterprise.compliance import (
        ComplianceFramework,
        ComplianceMatrix,
        ComplianceStatus,
    )

    (project / "evidence").mkdir()
    (project / "evidence" / "logical-access-controls.md").write_text("MFA everywhere\n")
    project_root = Path.cwd()
    compliance = ComplianceMatrix(project_root)
    compliance.add_framework(ComplianceFramework.SOC2_TYPE2)
    compliance.add_framework(ComplianceFramework.ISO27001)
    compliance.update_control_status(
        control_id="CC6.1",
        status=ComplianceStatus.COMPLIANT,
        evidence_path=Path("evidence/logical-access-controls.md"),
        notes="Multi-factor authentication implemented",
    )
    report = compliance.generate_compliance_report(ComplianceFramework.SOC2_TYPE2)
    text = f"Overall Compliance: {report.overall_status:.1f}%"
    assert text == "Overall Compliance: 1.6%"  # CC6.1 passed (1 of 61); CC6.2 failed
    assert f"{report.compliant_controls}/{report.total_controls}" == "1/61"
    assert report.percent_compliant == 50.0 and report.assessed_controls == 2
    assert report.coverage == pytest.approx(100 * 2 / 61, abs=0.01)
    assert compliance.frameworks == ["soc2-type2", "iso27001"]
    assert not math.isnan(report.overall_status)


def test_add_framework_refuses_an_unknown_framework(project):
    from pytest_enterprise.compliance import ComplianceMatrix
    from pytest_enterprise.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown framework 'pci'"):
        ComplianceMatrix(project).add_framework("pci")
