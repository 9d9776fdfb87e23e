from __future__ import annotations

import csv
import io
import json
import re
import uuid as uuid_module
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_enterprise.compliance.export import (
    CSV_COLUMNS,
    FORMATS,
    export,
    format_from_suffix,
    render_csv,
    render_json,
    render_markdown,
    write_xlsx,
)
from pytest_enterprise.compliance.oscal import (
    assessment_results,
    control_token,
    control_tokens,
    dumps,
)
from pytest_enterprise.compliance.result import (
    ATTESTED,
    ERROR,
    FAILED,
    NOT_APPLICABLE,
    NOT_REVIEWED,
    NOT_TESTED,
    PASSED,
    STATES,
    WAIVED,
    ComplianceResult,
    ControlResult,
    FrameworkResult,
)
from pytest_enterprise.errors import EXIT_USAGE, UsageError

SCHEMAS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "schemas"
OSCAL_SCHEMA = SCHEMAS / "oscal_assessment-results_schema-1.0.6.json"
TOKEN_PATTERN = r"^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$"

RUN = {
    "id": "6f1c1d3e-8a2b-4c5d-9e0f-1a2b3c4d5e6f",
    "started_at": "2026-11-26T09:00:00.000Z",
    "finished_at": "2026-11-26T09:05:00.000Z",
    "git_commit": "0123456789abcdef0123456789abcdef01234567",
}
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
FORMULA_TITLE = '=HYPERLINK("http://evil.example","click") | backups'

WAIVER = {
    "control": "CC6.2",
    "justification": "Legacy SSO | migration planned for Q1",
    "approver": "bob",
    "expires": "2027-01-31",
    "run": True,
    "status": "active",
    "source": "waivers.yaml:3",
    "framework": "soc2",
    "control_id": "CC6.2",
}
EXPIRED_WAIVER = {
    **WAIVER,
    "control": "CC6.3",
    "control_id": "CC6.3",
    "justification": "Role review postponed",
    "expires": "2026-01-31",
    "status": "expired",
    "source": "waivers.yaml:9",
}
ATTESTATION = {
    "control": "CC1.1",
    "status": "compliant",
    "justification": "Every employee signed the code of conduct",
    "evidence": "evidence/code of conduct.pdf",
    "evidence_path": "/repo/evidence/code of conduct.pdf",
    "evidence_sha256": SHA,
    "expires": "2027-06-30T23:59:59.999Z",
    "attested_by": "alice",
    "recorded_at": "2026-11-01T12:00:00.000Z",
    "origin": "file",
    "source": "attestations.yaml:5",
    "state": "active",
    "framework": "soc2",
    "control_id": "CC1.1",
}
EXPIRED_ATTESTATION = {
    **ATTESTATION,
    "control": "CC1.2",
    "control_id": "CC1.2",
    "justification": "Board minutes reviewed",
    "evidence": "https://wiki.example/board minutes",
    "evidence_path": None,
    "evidence_sha256": None,
    "expires": "2026-06-30T23:59:59.999Z",
    "source": "attestations.yaml:12",
    "state": "expired",
}
# A waiver for a control that is not in scope: listed, never silently dropped.
LOOSE_WAIVER = {**WAIVER, "control": "A1.3", "control_id": "A1.3", "source": "waivers.yaml:20"}


def _test(name: str, outcome: str, *refs: str, na: str | None = None) -> dict[str, Any]:
    return {
        "nodeid": f"tests/test_controls.py::{name}",
        "outcome": outcome,
        "duration_s": 0.012,
        "started_at": "2026-11-26T09:00:01.000Z",
        "run_id": RUN["id"],
        "git_commit": RUN["git_commit"],
        "refs": list(refs),
        "na": na,
    }


def _control(cid: str, title: str, state: str, reason: str, tests=(), **extra: Any) -> ControlResult:
    family = cid.split(".")[0]
    return ControlResult("soc2-type2", cid, title, family, state, reason, tests=list(tests), **extra)


def build_result() -> dict[str, Any]:
    soc2 = FrameworkResult(
        framework="soc2-type2",
        catalog="soc2",
        name="SOC 2 Trust Services Criteria",
        version="2017",
        controls=[
            _control("CC1.1", "Integrity and Ethics", ATTESTED, "attested compliant by alice", attestation=ATTESTATION),
            _control(
                "CC1.2",
                "Board Oversight",
                NOT_TESTED,
                "no evidence; 1 expired waiver or attestation ignored",
                expired=[EXPIRED_ATTESTATION],
            ),
            _control(
                "CC6.1",
                "Logical Access Security",
                PASSED,
                "2 of 2 tests passed",
                [_test("test_mfa", "passed", "CC6.1"), _test("test_mfa[totp]", "passed", "CC6.1")],
                test_state=PASSED,
            ),
            _control(
                "CC6.2",
                "User Registration",
                WAIVED,
                "waived by bob until 2027-01-31 (tests alone: failed)",
                [_test("test_password_policy", "failed", "CC6.2"), _test("test_mfa", "passed", "CC6.2")],
                test_state=FAILED,
                waiver=WAIVER,
            ),
            _control(
                "CC6.3",
                "Role-Based Access",
                FAILED,
                "1 of 1 tests failed; 1 expired waiver or attestation ignored",
                [_test("test_rbac", "failed", "CC6.3")],
                test_state=FAILED,
                expired=[EXPIRED_WAIVER],
            ),
            _control(
                "CC7.1",
                "Monitoring",
                ERROR,
                "1 of 1 tests errored in setup or teardown",
                [_test("test_monitoring", "error", "CC7.1")],
                test_state=ERROR,
            ),
            _control(
                "CC7.2",
                "Anomaly Detection",
                NOT_REVIEWED,
                "all 1 tests were skipped",
                [_test("test_alerts", "skipped", "CC7.2")],
                test_state=NOT_REVIEWED,
            ),
            _control(
                "CC8.1",
                "Change Management",
                NOT_APPLICABLE,
                "1 not-applicable tests passed",
                [_test("test_change_management", "passed", "CC8.1", na="no production deploys from this repo")],
                test_state=NOT_APPLICABLE,
            ),
            _control(
                "A1.2",
                FORMULA_TITLE,
                PASSED,
                "1 of 1 tests passed",
                [_test("test_backups", "passed", "A1.2")],
                test_state=PASSED,
            ),
            _control("PI1.3", "@SUM(A1:A9)", NOT_TESTED, "no test, waiver or attestation evidence"),
        ],
    )
    gdpr = FrameworkResult(
        framework="gdpr",
        catalog="gdpr",
        name="General Data Protection Regulation",
        version="2016/679",
        controls=[
            ControlResult("gdpr", "Art.5", "Principles relating to processing", "Chapter II", NOT_TESTED, "no evidence"),
            ControlResult("gdpr", "Art.32", "Security of processing", "Chapter IV", NOT_TESTED, "no evidence"),
        ],
    )
    return ComplianceResult(
        generated_at="2026-11-26T10:00:00.000Z",
        run=dict(RUN),
        frameworks=[soc2, gdpr],
        waivers=[WAIVER, EXPIRED_WAIVER, LOOSE_WAIVER],
        attestations=[ATTESTATION, EXPIRED_ATTESTATION],
        unscoped=[{"ref": "iso27001:A.5.15", "nodeid": "tests/test_controls.py::test_mfa"}],
    ).to_dict()


@pytest.fixture
def result() -> dict[str, Any]:
    return build_result()


def _controls(result: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(fw, c) for fw in result["frameworks"] for c in fw["controls"]]


def test_fixture_covers_every_state(result):
    assert {c["state"] for _, c in _controls(result)} == set(STATES)
    soc2, gdpr = result["frameworks"]
    assert soc2["percent_compliant"]["value"] is not None
    assert gdpr["percent_compliant"]["value"] is None  # nothing assessed: no data


# -- format_from_suffix and export ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("c.json", "json"),
        ("c.CSV", "csv"),
        ("c.xlsx", "xlsx"),
        ("c.md", "md"),
        ("c.markdown", "md"),
        ("c.oscal.json", "json"),
    ],
)
def test_format_from_suffix(name, fmt):
    assert format_from_suffix(Path(name)) == fmt


@pytest.mark.parametrize(("name", "named"), [("c.txt", "'.txt'"), ("compliance", "no suffix")])
def test_format_from_suffix_rejects_unknown(name, named):
    with pytest.raises(UsageError) as caught:
        format_from_suffix(Path(name))
    message = str(caught.value)
    assert named in message and ".xlsx" in message and "--format oscal" in message
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_writes_each_format(result, tmp_path, fmt):
    suffix = {"md": ".md", "oscal": ".json"}.get(fmt, f".{fmt}")
    target = tmp_path / "out" / f"compliance{suffix}"
    written = export(result, target, fmt, tool_version="1.2.3")
    assert written == target and target.stat().st_size > 0
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left
    if fmt == "oscal":
        document = json.loads(target.read_text(encoding="utf-8"))
        assert document["assessment-results"]["metadata"]["parties"][0]["props"][0]["value"] == "1.2.3"


def test_export_format_from_suffix(result, tmp_path):
    assert json.loads(export(result, tmp_path / "c.json").read_text(encoding="utf-8")) == result
    assert export(result, tmp_path / "c.markdown").read_text(encoding="utf-8").startswith("# Compliance")
    with pytest.raises(UsageError, match="'.pdf'"):
        export(result, tmp_path / "c.pdf")
    with pytest.raises(UsageError, match="unknown export format 'html'"):
        export(result, tmp_path / "c.json", "html")
    assert not any(tmp_path.glob("c.pdf*"))


# -- JSON -----------------------------------------------------------------------------------------


def test_render_json(result):
    text = render_json(result)
    assert text.endswith("}\n") and json.loads(text) == result
    assert text.startswith('{\n  "generated_at"')  # indented, keys in the roll-up's order
    with pytest.raises(ValueError):
        render_json({**result, "bad": float("nan")})


# -- CSV ------------------------------------------------------------------------------------------


def _csv_rows(result: dict[str, Any]) -> list[dict[str, str]]:
    text = render_csv(result)
    assert "\r" not in text
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_one_row_per_control(result):
    rows = _csv_rows(result)
    assert len(rows) == len(_controls(result))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_id = {row["control_id"]: row for row in rows}
    cc61 = by_id["CC6.1"]
    assert cc61["framework"] == "soc2-type2" and cc61["state"] == "passed"
    assert (cc61["tests"], cc61["tests_passed"], cc61["tests_failed"]) == ("2", "2", "0")
    assert cc61["test_nodeids"] == "tests/test_controls.py::test_mfa; tests/test_controls.py::test_mfa[totp]"
    assert (by_id["CC6.2"]["waiver_approver"], by_id["CC6.2"]["waiver_expires"]) == ("bob", "2027-01-31")
    assert by_id["CC6.2"]["tests_failed"] == "1"
    assert by_id["CC1.1"]["attestation_status"] == "compliant"
    assert by_id["CC1.1"]["attestation_evidence"] == "evidence/code of conduct.pdf"
    assert by_id["CC1.1"]["evidence_sha256"] == SHA
    assert "waiver expired 2026-01-31" in by_id["CC6.3"]["expired"]
    assert by_id["Art.32"]["framework"] == "gdpr" and by_id["Art.32"]["waiver_approver"] == ""


def test_csv_guards_against_formula_injection(result):
    by_id = {row["control_id"]: row for row in _csv_rows(result)}
    assert by_id["A1.2"]["title"] == "'" + FORMULA_TITLE
    assert by_id["PI1.3"]["title"] == "'@SUM(A1:A9)"
    assert by_id["CC6.1"]["title"] == "Logical Access Security"  # ordinary text untouched
    for prefix in "=+-@":
        control = {"id": f"{prefix}1", "title": f"{prefix}cmd", "reason": f"{prefix}x", "state": PASSED}
        doc = {"frameworks": [{"framework": "x", "controls": [control]}]}
        (row,) = _csv_rows(doc)
        assert row["title"] == f"'{prefix}cmd" and row["control_id"] == f"'{prefix}1"


# -- Markdown -------------------------------------------------------------------------------------


def test_markdown_summary(result):
    text = render_markdown(result)
    soc2 = result["frameworks"][0]
    ratio = soc2["percent_compliant"]
    assert f"| % compliant | {ratio['value']:.2f}% ({ratio['numerator']}/{ratio['denominator']}) |" in text
    assert "| % compliant | no data (0/0) |" in text  # gdpr: nothing assessed
    assert "0.00%" not in text.split("## General Data Protection Regulation")[1].split("| Coverage")[0]
    assert ratio["label"] in text
    assert "**10 controls in scope:** 2 passed · 1 failed · 1 error · 1 not_reviewed" in text
    assert "**2 controls not tested**" in text and "<details><summary>" in text and "- PI1.3 — @SUM(A1:A9)" in text
    # Evidence table: only controls with evidence; user text escaped.
    controls = text.split("### Controls with evidence")[1].split("**2 controls not tested**")[0]
    assert "| CC6.1 |" in controls and "| PI1.3 |" not in controls
    assert "click\") \\| backups" in controls
    assert "not applicable: no production deploys from this repo" in controls
    assert "(2 passed, 0 failed, 0 skipped): `tests/test_controls.py::test_mfa`, `tests/test_controls.py::test_mfa[totp]` |" in controls
    # Waivers and attestations, expired ones included.
    assert "Legacy SSO \\| migration planned for Q1" in text
    assert "| CC6.3 | expired (control evaluated normally) | bob | 2026-01-31 |" in text
    assert f"| CC1.1 | compliant | active | evidence/code of conduct.pdf | {SHA} | alice |" in text
    assert "| CC1.2 | compliant | expired (control evaluated normally) |" in text
    # Nothing silently dropped.
    assert "## Not matched to an in-scope control" in text and "| A1.3 |" in text
    assert "iso27001:A.5.15 (1 test)" in text
    assert text.endswith("\n") and "\n\n\n" not in text


def test_markdown_one_framework(result):
    text = render_markdown(result, framework="gdpr")
    assert "General Data Protection Regulation" in text and "SOC 2" not in text
    assert "no data (0/0)" in text and "No control has evidence yet." in text
    assert render_markdown(result, framework="soc2") == render_markdown(result, framework="soc2-type2")
    with pytest.raises(UsageError, match="'hipaa'.*soc2-type2, gdpr"):
        render_markdown(result, framework="hipaa")


def test_markdown_without_run_or_frameworks():
    text = render_markdown({"generated_at": "2026-11-26T10:00:00.000Z", "run": None, "frameworks": []})
    assert "no test run recorded" in text and "No framework is in scope." in text


# -- XLSX -----------------------------------------------------------------------------------------


@pytest.fixture
def workbook_path(result, tmp_path) -> Path:
    return write_xlsx(result, tmp_path / "compliance.xlsx")


def _sheet_rows(sheet) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_xlsx_sheets_and_summary(result, workbook_path):
    from openpyxl import load_workbook

    book = load_workbook(workbook_path)
    assert book.sheetnames == ["Summary", "soc2-type2", "gdpr", "Evidence", "Waivers & attestations"]
    summary = book["Summary"]
    header = [cell.value for cell in summary[1]]
    assert header[:6] == ["Framework", "Name", "Version", "In scope", "% compliant", "% compliant (counts)"]
    assert header[-len(STATES):] == list(STATES)
    assert all(cell.font.b for cell in summary[1])
    assert summary.freeze_panes == "B2" and summary.auto_filter.ref == f"A1:{summary.cell(1, len(header)).column_letter}3"
    soc2, gdpr = result["frameworks"]
    assert summary["A2"].value == "soc2-type2" and summary["D2"].value == 10
    assert summary["E2"].value == pytest.approx(soc2["percent_compliant"]["value"])
    assert summary["E2"].number_format == '0.00"%"'
    assert summary["F2"].value == f"{soc2['compliant']}/{soc2['assessed']}"
    assert summary["G2"].value == pytest.approx(soc2["coverage"]["value"])
    assert summary["A3"].value == "gdpr"
    assert summary["E3"].value is None and summary["F3"].value == "no data (0/0)"  # never 0%
    assert summary["G3"].value == 0.0  # coverage 0/2 is real data: 0%
    assert header.index("not_tested") >= 0 and summary.cell(2, header.index("not_tested") + 1).value == 2
    labels = [row[1] for row in _sheet_rows(summary) if row[0] in ("% compliant", "Coverage", "Overall status")]
    assert soc2["coverage"]["label"] in labels


def test_xlsx_framework_and_evidence_sheets(result, workbook_path):
    from openpyxl import load_workbook

    book = load_workbook(workbook_path)
    sheet = book["soc2-type2"]
    rows = _sheet_rows(sheet)
    assert rows[0][:4] == ("Control", "Title", "Family", "State") and len(rows) == 11
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref.endswith("11")
    assert all(cell.font.b for cell in sheet[1])
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["CC6.1"][3] == "passed" and by_id["CC6.1"][6] == 2  # numbers stay numbers
    assert by_id["CC6.2"][10:13] == ("bob", "2027-01-31", "active")
    assert by_id["CC1.1"][15] == SHA
    # A formula-looking title is text in the workbook, not a formula.
    title_cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == "A1.2")
    assert title_cell.value == FORMULA_TITLE and title_cell.data_type == "s"

    evidence = _sheet_rows(book["Evidence"])
    assert evidence[0][:5] == ("Framework", "Control", "Control state", "Test", "Outcome")
    assert len(evidence) - 1 == sum(len(c["tests"]) for _, c in _controls(result))
    na_row = next(row for row in evidence if row[1] == "CC8.1")
    assert na_row[3] == "tests/test_controls.py::test_change_management" and na_row[4] == "passed"
    assert na_row[5] == pytest.approx(0.012) and na_row[7] == RUN["id"] and na_row[8] == RUN["git_commit"]
    assert na_row[10] == "no production deploys from this repo"

    records = _sheet_rows(book["Waivers & attestations"])
    assert len(records) == 1 + 3 + 2
    assert ("waiver", "soc2", "CC6.3", "waived", "expired", "2026-01-31", "bob") == records[2][:7]
    assert records[4][:5] == ("attestation", "soc2", "CC1.1", "compliant", "active") and records[4][9] == SHA


def test_xlsx_is_deterministic(result, tmp_path):
    first = write_xlsx(result, tmp_path / "a.xlsx").read_bytes()
    second = write_xlsx(result, tmp_path / "b.xlsx").read_bytes()
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 26, 10, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2026-11-26T10:00:00Z") == 2  # created and modified: no wall clock
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "b.xlsx"]


def test_xlsx_sheet_titles_are_valid_and_unique(tmp_path):
    from openpyxl import load_workbook

    long_id = "a-very-long-framework-identifier-for-testing"
    names = ["summary", long_id, long_id + "-2", "x/y:z?", "EVIDENCE", "=1+1"]
    doc = {
        "generated_at": "2026-11-26T10:00:00.000Z",
        "run": None,
        "frameworks": [
            {"framework": name, "controls": [{"id": "C1", "title": "\x1b[31mred\x1b[0m", "state": PASSED}]}
            for name in names
        ],
    }
    book = load_workbook(write_xlsx(doc, tmp_path / "t.xlsx"))
    titles = book.sheetnames[1:-2]
    assert len(titles) == len(names) and len({t.lower() for t in book.sheetnames}) == len(book.sheetnames)
    assert all(len(t) <= 31 for t in titles) and titles[3] == "x_y_z_"
    assert book[titles[0]]["B2"].value == "\ufffd[31mred\ufffd[0m"  # control characters replaced
    formula = book["Summary"]["A7"]
    assert formula.value == "=1+1" and formula.data_type == "s"  # text, not a formula


# -- OSCAL ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oscal_validator():
    if not OSCAL_SCHEMA.is_file():
        pytest.skip(f"OSCAL schema not found at {OSCAL_SCHEMA} (shared test data is not checked out)")
    import regex
    from jsonschema import Draft7Validator, ValidationError, validators

    schema = json.loads(OSCAL_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"

    def pattern(validator, expected, instance, _schema):
        # The schema's patterns use \p{L} and \p{N}, which Python's re does not know.
        if validator.is_type(instance, "string") and regex.search(expected, instance) is None:
            yield ValidationError(f"{instance!r} does not match {expected!r}")

    validator_class = validators.extend(Draft7Validator, {"pattern": pattern})
    return validator_class(schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def _validate(validator, document: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _results(document: dict[str, Any]) -> dict[str, Any]:
    (results,) = document["assessment-results"]["results"]
    return results


def _prop(record: dict[str, Any], name: str) -> str | None:
    return next((p["value"] for p in record.get("props", ()) if p["name"] == name), None)


def test_oscal_validates_against_schema(result, oscal_validator):
    _validate(oscal_validator, assessment_results(result, tool_version="0.1.0"))


def test_oscal_validates_for_edge_cases(oscal_validator):
    empty = {"generated_at": "2026-11-26T10:00:00.000Z", "run": None, "frameworks": []}
    _validate(oscal_validator, assessment_results(empty))
    odd = {
        "generated_at": "2026-11-26T10:00:00.000Z",
        "run": {"id": "r", "started_at": "not a time", "finished_at": None, "git_commit": None},
        "frameworks": [
            {
                "framework": "custom",
                "controls": [
                    {"id": "1.2 (a)", "title": " spaced\ntitle ", "state": PASSED, "reason": "",
                     "tests": [{"nodeid": "t.py::test[a  b]", "outcome": "passed", "refs": ["  1.2 (a) "], "na": " ",
                                "started_at": "2026-02-30T10:00:00.000Z", "duration_s": 0}]},
                    {"id": "Art.32(1)(a)", "title": "", "state": NOT_APPLICABLE, "reason": "attested not applicable",
                     "attestation": {**ATTESTATION, "status": "not_applicable", "attested_by": None, "evidence": "a b/ü.md"}},
                    {"id": "ART.32(1)(A)", "title": "x", "state": WAIVED, "reason": "waived", "waiver": {**WAIVER, "approver": ""}},
                ],
            }
        ],
    }
    document = assessment_results(odd)
    _validate(oscal_validator, document)
    tokens = [c["control-id"] for c in _results(document)["reviewed-controls"]["control-selections"][0]["include-controls"]]
    assert tokens[0] == "_1.2_a" and len(set(tokens)) == 3  # the two Art.32 spellings stay distinct


def test_oscal_is_deterministic(result):
    first = assessment_results(result, tool_version="1.0")
    assert first == assessment_results(build_result(), tool_version="1.0")
    assert dumps(first) == dumps(assessment_results(result, tool_version="1.0"))
    other = assessment_results({**result, "run": {**RUN, "id": "another-run"}}, tool_version="1.0")
    assert other["assessment-results"]["uuid"] != first["assessment-results"]["uuid"]


def test_oscal_json_text(result):
    document = assessment_results(result)
    text = dumps(document)
    assert json.loads(text) == document and text.endswith("}\n")
    observations = _results(document)["observations"]
    lines = text.splitlines()
    # One observation per line, indented inside the document.
    assert sum(1 for line in lines if line.lstrip().startswith('{"uuid":"') and '"methods":' in line) == len(observations)
    assert lines[1] == '  "assessment-results": {'


def test_oscal_metadata_and_result(result):
    document = assessment_results(result, tool_version="2.0", import_ap_href="plans/ap.json")
    root = document["assessment-results"]
    metadata = root["metadata"]
    assert metadata["last-modified"] == result["generated_at"] and metadata["oscal-version"] == "1.0.6"
    assert metadata["parties"][0]["name"] == "pytest-enterprise" and _prop(metadata["parties"][0], "version") == "2.0"
    assert [p["name"] for p in metadata["parties"][1:]] == ["alice"]
    assert root["import-ap"]["href"] == "plans/ap.json"
    results = _results(document)
    assert (results["start"], results["end"]) == (RUN["started_at"], RUN["finished_at"])
    assert _prop(results, "git-commit") == RUN["git_commit"]
    assert "iso27001:A.5.15" in results["remarks"]


def test_oscal_reviews_every_in_scope_control(result):
    selections = _results(assessment_results(result))["reviewed-controls"]["control-selections"]
    assert [_prop(s, "framework") for s in selections] == ["soc2-type2", "gdpr"]
    for selection, framework in zip(selections, result["frameworks"]):
        assert [c["control-id"] for c in selection["include-controls"]] == [control_token(c["id"]) for c in framework["controls"]]
    assert selections[1]["include-controls"] == [{"control-id": "art.5"}, {"control-id": "art.32"}]
    assert "no data (0/0)" in _prop(selections[1], "percent-compliant")


def test_oscal_observations(result):
    results = _results(assessment_results(result))
    observations = results["observations"]
    tests = {t["nodeid"] for _, c in _controls(result) for t in c["tests"]}
    attestations = [c for _, c in _controls(result) if c["attestation"]]
    assert len(observations) == len(tests) + len(attestations)  # test_mfa evidences two controls, observed once
    by_title = {o["title"]: o for o in observations}
    mfa = by_title["tests/test_controls.py::test_mfa"]
    assert mfa["methods"] == ["TEST"] and mfa["collected"] == "2026-11-26T09:00:01.000Z"
    assert "tests/test_controls.py::test_mfa" in mfa["description"] and "passed" in mfa["description"]
    na = by_title["tests/test_controls.py::test_change_management"]
    assert _prop(na, "not-applicable-reason") == "no production deploys from this repo"
    attestation = by_title["Attestation of soc2-type2 CC1.1"]
    assert attestation["methods"] == ["EXAMINE"] and attestation["collected"] == ATTESTATION["recorded_at"]
    assert attestation["origins"][0]["actors"][0]["type"] == "party"


def test_oscal_findings_never_claim_satisfied_without_evidence(result):
    findings = _results(assessment_results(result))["findings"]
    states = {(_prop(f, "framework"), _prop(f, "control-id")): f for f in findings}
    evidenced = {(fw["framework"], c["id"]): c for fw, c in _controls(result) if c["state"] != NOT_TESTED}
    assert set(states) == set(evidenced)  # not_tested controls get no finding
    for key, finding in states.items():
        control = evidenced[key]
        status = finding["target"]["status"]["state"]
        assert finding["target"]["type"] == "objective-id"
        assert finding["target"]["target-id"] == control_token(control["id"]) + "_obj"
        if control["state"] in (PASSED, ATTESTED):
            assert status == "satisfied"
        else:
            assert status == "not-satisfied", control["state"]
    assert states[("soc2-type2", "CC8.1")]["target"]["implementation-status"]["state"] == "not-applicable"
    assert states[("soc2-type2", "CC6.3")]["target"]["status"]["reason"] == "fail"
    assert "expired waiver" in states[("soc2-type2", "CC6.3")]["remarks"]


def test_oscal_links_findings_observations_and_risks(result):
    results = _results(assessment_results(result))
    observation_ids = {o["uuid"]: o for o in results["observations"]}
    findings = {_prop(f, "control-id"): f for f in results["findings"]}
    linked = [observation_ids[r["observation-uuid"]]["title"] for r in findings["CC6.2"]["related-observations"]]
    assert linked == ["tests/test_controls.py::test_password_policy", "tests/test_controls.py::test_mfa"]
    assert "related-observations" in findings["CC1.1"]
    (risk,) = results["risks"]
    assert findings["CC6.2"]["related-risks"] == [{"risk-uuid": risk["uuid"]}]
    assert risk["status"] == "deviation-approved" and _prop(risk, "approver") == "bob"


def test_oscal_evidence_resources_carry_hashes(result):
    document = assessment_results(result)
    _plan, resource = document["assessment-results"]["back-matter"]["resources"]
    assert resource["rlinks"] == [
        {"href": "evidence/code%20of%20conduct.pdf", "hashes": [{"algorithm": "SHA-256", "value": SHA}]}
    ]
    attestation = next(o for o in _results(document)["observations"] if o["methods"] == ["EXAMINE"])
    assert attestation["relevant-evidence"][0]["href"] == f"#{resource['uuid']}"


def test_oscal_without_evidence_files_has_only_the_plan_in_back_matter(result):
    for _, control in _controls(result):
        control["attestation"] = None
    root = assessment_results(result)["assessment-results"]
    (plan,) = root["back-matter"]["resources"]
    assert root["import-ap"]["href"] == f"#{plan['uuid']}" and "rlinks" not in plan


def test_oscal_import_ap_names_the_plan_resource_describing_the_run(result):
    root = assessment_results(result)["assessment-results"]
    plan, *evidence = root["back-matter"]["resources"]
    assert root["import-ap"]["href"] == f"#{plan['uuid']}" != "#assessment-plan"
    assert _prop(plan, "run-id") == RUN["id"] and _prop(plan, "git-commit") == RUN["git_commit"]
    assert [p["value"] for p in plan["props"] if p["name"] == "framework"] == ["soc2-type2", "gdpr"]
    assert f"run {RUN['id']}" in plan["description"] and "@pytest.mark.control" in plan["description"]
    assert len(evidence) == 1  # the attestation's evidence file is still there, after the plan
    # A plan of one's own replaces it.
    own = assessment_results(result, import_ap_href="plans/ap.json")["assessment-results"]
    assert own["import-ap"] == {"href": "plans/ap.json"}
    assert all(r["uuid"] != plan["uuid"] for r in own["back-matter"]["resources"])


# What each kind of *-uuid field refers to, as the OSCAL 1.0.6 model defines it.
_REFERENCE_KINDS = {
    "observation-uuid": {"observations"},
    "risk-uuid": {"risks"},
    "finding-uuid": {"findings"},
    "party-uuid": {"parties"},
    "component-uuid": {"components"},
    "responsible-party-uuid": {"parties"},
    "location-uuid": {"locations"},
    "task-uuid": {"tasks"},
    "response-uuid": {"remediations"},
}
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def oscal_reference_problems(document: dict[str, Any]) -> list[str]:
    """Every internal reference of an assessment-results document that does not resolve.

    Walks the whole document. Definitions: every object with a ``uuid``, by the list it is in.
    References: every ``*-uuid`` field (typed where OSCAL types it: actors and subjects by
    their ``type``), every ``#fragment`` href (a back-matter resource), any other UUID-shaped
    string but the run id, ``import-ap`` (must be internal here), and each finding's ``target-id`` (an
    objective of a control listed in ``reviewed-controls``).
    """
    defined: dict[str, str] = {}
    references: list[tuple[str, str, set[str] | None]] = []  # (where, uuid, allowed kinds)
    hrefs: list[tuple[str, str]] = []
    strings: list[tuple[str, str]] = []

    def walk(node: Any, path: str, container: str) -> None:
        if isinstance(node, dict):
            if "uuid" in node:
                assert node["uuid"] not in defined, f"{path}: uuid {node['uuid']} defined twice"
                defined[node["uuid"]] = container
            for key, value in node.items():
                where = f"{path}/{key}"
                if key.endswith("-uuid") and key != "uuid":
                    kinds = _REFERENCE_KINDS.get(key)
                    if key == "actor-uuid":
                        kinds = {"tool": {"components"}, "party": {"parties"}}.get(node.get("type"), {"?"})
                    elif key == "subject-uuid":
                        kinds = {"component": {"components"}, "party": {"parties"}}.get(node.get("type"), {"?"})
                    references.append((where, value, kinds))
                elif key == "href":
                    hrefs.append((where, value))
                elif key != "uuid":
                    walk(value, where, key if isinstance(value, list) else container)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}/{index}", container)
        elif isinstance(node, str):
            strings.extend((path, found) for found in _UUID_TEXT.findall(node))

    root = document["assessment-results"]
    walk(root, "", "document")
    problems = []
    for where, target, kinds in references:
        if target not in defined:
            problems.append(f"{where}: {target} is not defined in the document")
        elif kinds is not None and defined[target] not in kinds:
            problems.append(f"{where}: {target} is a {defined[target]} entry, expected one of {sorted(kinds)}")
    resources = {uid for uid, kind in defined.items() if kind == "resources"}
    for where, href in hrefs:
        if href.startswith("#") and href[1:] not in resources:
            problems.append(f"{where}: {href} names no back-matter resource")
    if not root["import-ap"]["href"].startswith("#"):
        problems.append(f"/import-ap/href: {root['import-ap']['href']} is outside the document")
    # The run id is a UUID too, but a value (of the run-id props and texts), not a reference.
    run_ids = {p["value"] for p in root["metadata"].get("props", ()) if p["name"] == "run-id"}
    for where, text in strings:
        if text not in defined and text not in run_ids:
            problems.append(f"{where}: mentions {text}, which is not defined in the document")
    for result in root["results"]:
        included = {
            control["control-id"]
            for selection in result["reviewed-controls"]["control-selections"]
            for control in selection.get("include-controls", ())
        }
        for index, finding in enumerate(result.get("findings", ())):
            target = finding["target"]["target-id"]
            if not (target.endswith("_obj") and target[: -len("_obj")] in included):
                problems.append(f"/results/findings/{index}: target {target} is no reviewed control's objective")
    return problems


def test_oscal_every_internal_reference_resolves(result, oscal_validator):
    document = assessment_results(result, tool_version="0.1.0")
    assert oscal_reference_problems(document) == []
    _validate(oscal_validator, document)
    results = _results(document)
    # The walk saw every kind of link this document has (else the check proves little).
    text = json.dumps(document)
    for key in ("actor-uuid", "subject-uuid", "component-uuid", "observation-uuid", "risk-uuid", '"href": "#'):
        assert key in text, key
    assert results["risks"] and results["findings"] and document["assessment-results"]["metadata"]["parties"][1:]


def test_oscal_references_resolve_for_edge_cases(oscal_validator):
    empty = {"generated_at": "2026-11-26T10:00:00.000Z", "run": None, "frameworks": []}
    document = assessment_results(empty)
    assert oscal_reference_problems(document) == []
    _validate(oscal_validator, document)


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda root: root["import-ap"].update(href="#assessment-plan"), "names no back-matter resource"),
        (lambda root: root["back-matter"]["resources"].pop(), "names no back-matter resource"),
        (lambda root: root["results"][0]["observations"].pop(0), "is not defined"),
        (lambda root: root["results"][0]["risks"][0].update(uuid=str(uuid_module.uuid4())), "is not defined"),
        (lambda root: root["metadata"]["parties"].pop(), "is not defined"),
        (lambda root: root["results"][0]["findings"][0]["origins"][0]["actors"][0].update(type="party"), "is a components entry"),
        (lambda root: root["results"][0]["findings"][0]["target"].update({"target-id": "zz9_obj"}), "no reviewed control"),
        (lambda root: root["results"][0].update(remarks=f"see {uuid_module.uuid4()}"), "mentions"),
    ],
)
def test_the_reference_check_finds_each_kind_of_dangling_reference(result, break_it, message):
    document = assessment_results(result)
    break_it(document["assessment-results"])
    problems = oscal_reference_problems(document)
    assert problems and any(message in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("control_id", "token"),
    [
        ("CC6.1", "cc6.1"),
        ("A.5.15", "a.5.15"),
        ("PR.AA-01", "pr.aa-01"),
        ("Art.32", "art.32"),
        ("Art.32(1)(a)", "art.32_1_a"),
        ("1.2", "_1.2"),
        ("", "_"),
    ],
)
def test_control_token(control_id, token):
    assert control_token(control_id) == token


@given(st.lists(st.text(max_size=12), max_size=8))
def test_control_tokens_are_valid_and_distinct(ids):
    import regex

    tokens = control_tokens(ids)
    assert set(tokens) == set(ids)
    assert len(set(tokens.values())) == len(tokens)
    assert all(regex.search(TOKEN_PATTERN, token) for token in tokens.values())
    assert control_tokens(reversed(ids)) == tokens  # independent of order
