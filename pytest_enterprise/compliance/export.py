"""Exports of a compliance roll-up: JSON, CSV, XLSX, Markdown and OSCAL.

Every export is a pure function of the plain dict of ``ComplianceResult.to_dict()``, so the
files can never disagree with each other or with the JSON report. A ratio whose value is
``None`` has no data (nothing to divide by) and is shown as "no data", never as 0% or 100%.

Text that comes from users (catalog titles, reasons, justifications, node ids) is made safe
for each format: CSV cells that a spreadsheet would run as a formula get a leading apostrophe,
XLSX cells are always written as text, never as formulas, and Markdown cells escape ``|``,
HTML and line breaks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..files import write_bytes_atomic, write_text_atomic
from ..timeutil import parse_timestamp
from ..utf8 import utf8_safe
from .result import NOT_TESTED, STATES

FORMATS = ("json", "csv", "xlsx", "md", "oscal")
_SUFFIXES = {".json": "json", ".csv": "csv", ".xlsx": "xlsx", ".md": "md", ".markdown": "md"}
RATIOS = (
    ("percent_compliant", "% compliant"),
    ("coverage", "Coverage"),
    ("overall_status", "Overall status"),
)
# Test outcomes counted per control, as the roll-up weighs them (rollup.py): an xfail is a known
# defect, so it counts as failed; errors and crashes count as failed too.
_PASSED_OUTCOMES = frozenset({"passed", "xpassed"})
_FAILED_OUTCOMES = frozenset({"failed", "error", "crashed", "xfailed"})
_SKIPPED_OUTCOMES = frozenset({"skipped"})


def format_from_suffix(path: Path) -> str:
    """The export format that ``path``'s suffix names; a ``UsageError`` when it names none."""
    suffix = Path(path).suffix.lower()
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        named = f"suffix {suffix!r}" if suffix else "no suffix"
        raise UsageError(
            f"{path}: cannot tell the export format from {named}; use one of .json, .csv, "
            ".xlsx, .md (or .markdown), or pass --format with one of "
            f"{', '.join(FORMATS)} (OSCAL is JSON too, so it always needs --format oscal)"
        )
    return fmt


# -- shared helpers ----------------------------------------------------------------------------


def _ratio_text(ratio: dict[str, Any] | None) -> str:
    """``80.00% (4/5)``, or ``no data (0/0)`` when there is nothing to divide by."""
    ratio = ratio or {}
    counts = f"({ratio.get('numerator', 0)}/{ratio.get('denominator', 0)})"
    value = ratio.get("value")
    return f"no data {counts}" if value is None else f"{value:.2f}% {counts}"


def _outcome_counts(tests: Iterable[dict[str, Any]]) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for test in tests:
        outcome = test.get("outcome")
        if outcome in _PASSED_OUTCOMES:
            passed += 1
        elif outcome in _FAILED_OUTCOMES:
            failed += 1
        elif outcome in _SKIPPED_OUTCOMES:
            skipped += 1
    return passed, failed, skipped


def _is_waiver(record: dict[str, Any]) -> bool:
    return "approver" in record


def _record_key(record: dict[str, Any]) -> tuple[Any, ...]:
    """Identity of a waiver or attestation, to list each once wherever it was attached."""
    return (
        "waiver" if _is_waiver(record) else "attestation",
        record.get("framework"),
        record.get("control_id") or record.get("control"),
        record.get("source"),
        record.get("expires"),
        record.get("recorded_at"),
    )


def _validity(record: dict[str, Any]) -> str:
    """``active`` or ``expired``: waivers call it ``status``, attestations ``state``."""
    value = record.get("status") if _is_waiver(record) else record.get("state")
    return str(value or "active")


def _expired_text(records: Iterable[dict[str, Any]]) -> str:
    return "; ".join(
        f"{'waiver' if _is_waiver(r) else 'attestation'} expired {r.get('expires') or '?'}"
        + (f" ({r['source']})" if r.get("source") else "")
        for r in records
    )


def _control_columns(control: dict[str, Any]) -> dict[str, Any]:
    """The per-control columns shared by the CSV and the XLSX framework sheets."""
    tests = control.get("tests") or []
    passed, failed, skipped = _outcome_counts(tests)
    waiver = control.get("waiver") or {}
    attestation = control.get("attestation") or {}
    return {
        "control_id": control.get("id"),
        "title": control.get("title"),
        "family": control.get("family"),
        "state": control.get("state"),
        "reason": control.get("reason"),
        "test_state": control.get("test_state"),
        "tests": len(tests),
        "tests_passed": passed,
        "tests_failed": failed,
        "tests_skipped": skipped,
        "test_nodeids": "; ".join(str(t.get("nodeid", "")) for t in tests),
        "waiver_approver": waiver.get("approver"),
        "waiver_expires": waiver.get("expires"),
        "waiver_status": waiver.get("status"),
        "attestation_status": attestation.get("status"),
        "attestation_evidence": attestation.get("evidence"),
        "evidence_sha256": attestation.get("evidence_sha256"),
        "attestation_expires": attestation.get("expires"),
        "expired": _expired_text(control.get("expired") or ()),
    }


def _frameworks(result: dict[str, Any], framework: str | None) -> list[dict[str, Any]]:
    frameworks = result.get("frameworks") or []
    if framework is None:
        return frameworks
    chosen = [f for f in frameworks if framework in (f.get("framework"), f.get("catalog"))]
    if not chosen:
        known = ", ".join(str(f.get("framework")) for f in frameworks) or "none"
        raise UsageError(f"framework {framework!r} is not in this compliance result (in scope: {known})")
    return chosen


# -- JSON ---------------------------------------------------------------------------------------


def render_json(result: dict[str, Any]) -> str:
    text = json.dumps(result, indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A test file name that is not UTF-8 gives node ids with lone surrogates; escape them as
        # the JSON report does (\\udcff), since UTF-8 cannot hold them.
        text = json.dumps(result, indent=2, sort_keys=False, allow_nan=False) + "\n"
    return text


# -- CSV ----------------------------------------------------------------------------------------

CSV_COLUMNS = ("framework", *_control_columns({}).keys())
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def render_csv(result: dict[str, Any]) -> str:
    """One row per (framework, control), with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for framework in result.get("frameworks") or []:
        for control in framework.get("controls") or []:
            row = {"framework": framework.get("framework"), **_control_columns(control)}
            writer.writerow([_csv_cell(row[column]) for column in CSV_COLUMNS])
    return out.getvalue()


# -- Markdown -----------------------------------------------------------------------------------

_MD_NODEIDS_SHOWN = 3


class _Markdown(str):
    """Text that is Markdown already: ``_md`` leaves it as it is."""


def _md(value: Any) -> str:
    """A Markdown table cell: one line, ``|`` escaped, no raw HTML."""
    if value is None or value == "":
        return ""
    if isinstance(value, _Markdown):
        return value
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def _md_table(headers: list[str], rows: Iterable[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


def _md_code(value: Any) -> str:
    """A code span for a table cell (node ids: ``__init__`` must not turn bold)."""
    text = " ".join(str(value).split()).replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _md_evidence(control: dict[str, Any]) -> _Markdown:
    parts = []
    tests = control.get("tests") or []
    if tests:
        passed, failed, skipped = _outcome_counts(tests)
        shown = ", ".join(_md_code(t.get("nodeid", "")) for t in tests[:_MD_NODEIDS_SHOWN])
        more = len(tests) - _MD_NODEIDS_SHOWN
        parts.append(
            f"{len(tests)} test{'s' if len(tests) != 1 else ''} ({passed} passed, {failed} failed, "
            f"{skipped} skipped): {shown}" + (f" and {more} more" if more > 0 else "")
        )
    nas = sorted({_md(t["na"]) for t in tests if t.get("na")})
    if nas:
        parts.append("not applicable: " + "; ".join(nas))
    attestation = control.get("attestation")
    if attestation:
        text = f"attestation {attestation.get('status')}"
        if attestation.get("attested_by"):
            text += f" by {attestation['attested_by']}"
        if attestation.get("evidence"):
            text += f", evidence {attestation['evidence']}"
        if attestation.get("evidence_sha256"):
            text += f" (sha256 {str(attestation['evidence_sha256'])[:12]}…)"
        parts.append(_md(text))
    waiver = control.get("waiver")
    if waiver:
        parts.append(
            _md(
                f"waiver {_validity(waiver)}, approved by {waiver.get('approver')} "
                f"until {waiver.get('expires')}"
            )
        )
    if control.get("expired"):
        parts.append(_md(_expired_text(control["expired"]) + ": evaluated without it"))
    return _Markdown("; ".join(parts))


def _md_records(records: list[dict[str, Any]], heading: str, level: str) -> list[str]:
    waivers = [r for r in records if _is_waiver(r)]
    attestations = [r for r in records if not _is_waiver(r)]
    lines: list[str] = []
    if waivers:
        lines += ["", f"{level} Waivers{heading}", ""]
        lines += _md_table(
            ["Control", "Validity", "Approver", "Expires", "Runs tests", "Justification", "Source"],
            (
                [
                    r.get("control") or r.get("control_id"),
                    _validity(r) + (" (control evaluated normally)" if _validity(r) == "expired" else ""),
                    r.get("approver"),
                    r.get("expires"),
                    "yes" if r.get("run") else "no",
                    r.get("justification"),
                    r.get("source"),
                ]
                for r in waivers
            ),
        )
    if attestations:
        lines += ["", f"{level} Attestations{heading}", ""]
        lines += _md_table(
            ["Control", "Status", "Validity", "Evidence", "SHA-256", "Attested by", "Expires", "Source"],
            (
                [
                    r.get("control") or r.get("control_id"),
                    r.get("status"),
                    _validity(r) + (" (control evaluated normally)" if _validity(r) == "expired" else ""),
                    r.get("evidence"),
                    r.get("evidence_sha256"),
                    r.get("attested_by"),
                    r.get("expires"),
                    r.get("source"),
                ]
                for r in attestations
            ),
        )
    return lines


def _attached_records(framework: dict[str, Any]) -> list[dict[str, Any]]:
    records: dict[tuple[Any, ...], dict[str, Any]] = {}
    for control in framework.get("controls") or []:
        for record in (control.get("waiver"), control.get("attestation"), *(control.get("expired") or ())):
            if record:
                records.setdefault(_record_key(record), record)
    return list(records.values())


def _md_framework(framework: dict[str, Any]) -> list[str]:
    counts = framework.get("counts") or {}
    controls = framework.get("controls") or []
    lines = [
        f"## {_md(framework.get('name') or framework.get('framework'))} "
        f"({_md(framework.get('framework'))}, version {_md(framework.get('version'))})",
        "",
    ]
    lines += _md_table(
        ["Measure", "Value", "Definition"],
        ([title, _ratio_text(framework.get(name)), (framework.get(name) or {}).get("label")] for name, title in RATIOS),
    )
    lines += [
        "",
        f"**{framework.get('in_scope', len(controls))} controls in scope:** "
        + " · ".join(f"{counts.get(state, 0)} {state}" for state in STATES),
    ]
    evidenced = [c for c in controls if c.get("state") != NOT_TESTED]
    untested = [c for c in controls if c.get("state") == NOT_TESTED]
    if evidenced:
        lines += ["", "### Controls with evidence", ""]
        lines += _md_table(
            ["Control", "Title", "State", "Reason", "Evidence"],
            ([c.get("id"), c.get("title"), c.get("state"), c.get("reason"), _md_evidence(c)] for c in evidenced),
        )
    else:
        lines += ["", "No control has evidence yet."]
    if untested:
        noun = "control" if len(untested) == 1 else "controls"
        lines += [
            "",
            f"**{len(untested)} {noun} not tested** (no test, waiver or attestation).",
            "",
            "<details><summary>Controls not tested</summary>",
            "",
        ]
        lines += [
            f"- {_md(c.get('id'))}" + (f" — {_md(c.get('title'))}" if c.get("title") else "")
            + (f" ({_md(_expired_text(c['expired']))})" if c.get("expired") else "")
            for c in untested
        ]
        lines += ["", "</details>"]
    lines += _md_records(_attached_records(framework), "", "###")
    return lines


def render_markdown(result: dict[str, Any], framework: str | None = None) -> str:
    """A Markdown summary (for CI step summaries), of all frameworks or of one."""
    run = result.get("run") or {}
    lines = ["# Compliance", ""]
    about = [f"Generated {result.get('generated_at')}"]
    if run:
        about.append(f"run {_md(run.get('id'))}")
        if run.get("git_commit"):
            about.append(f"commit {_md(str(run['git_commit'])[:12])}")
    else:
        about.append("no test run recorded")
    lines.append(" · ".join(about) + ".")
    frameworks = _frameworks(result, framework)
    if not frameworks:
        lines += ["", "No framework is in scope."]
    for fw in frameworks:
        lines += ["", *_md_framework(fw)]
    if framework is None:
        attached = {_record_key(r) for fw in frameworks for r in _attached_records(fw)}
        loose = [
            r
            for r in (*(result.get("waivers") or ()), *(result.get("attestations") or ()))
            if _record_key(r) not in attached
        ]
        if loose:
            lines += ["", "## Not matched to an in-scope control"]
            lines += _md_records(loose, " not matched to an in-scope control", "###")
        unscoped = result.get("unscoped") or []
        if unscoped:
            refs: dict[str, int] = {}
            for item in unscoped:
                refs[str(item.get("ref"))] = refs.get(str(item.get("ref")), 0) + 1
            lines += [
                "",
                "**Test references to frameworks not in scope:** "
                + ", ".join(f"{_md(ref)} ({n} test{'s' if n != 1 else ''})" for ref, n in refs.items()),
            ]
    lines += ["", f"Rules: {_md(result.get('rules') or 'docs/compliance.md')}."]
    return "\n".join(lines) + "\n"


# -- XLSX ---------------------------------------------------------------------------------------

_XLSX_PERCENT = '0.00"%"'
_XLSX_MAX_TEXT = 32767  # Excel's limit per cell
_XLSX_MAX_ROWS = 1_048_576
# Characters XML 1.0 forbids (openpyxl refuses them too).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FRAMEWORK_COLUMNS = (
    ("control_id", "Control", 12),
    ("title", "Title", 40),
    ("family", "Family", 10),
    ("state", "State", 14),
    ("reason", "Reason", 40),
    ("test_state", "Test state", 12),
    ("tests", "Tests", 7),
    ("tests_passed", "Passed", 8),
    ("tests_failed", "Failed", 8),
    ("tests_skipped", "Skipped", 8),
    ("waiver_approver", "Waiver approver", 16),
    ("waiver_expires", "Waiver expires", 14),
    ("waiver_status", "Waiver status", 13),
    ("attestation_status", "Attestation status", 18),
    ("attestation_evidence", "Attestation evidence", 30),
    ("evidence_sha256", "Evidence SHA-256", 20),
    ("attestation_expires", "Attestation expires", 14),
    ("expired", "Expired waivers / attestations", 30),
)
_EVIDENCE_COLUMNS = (
    ("Framework", 14),
    ("Control", 12),
    ("Control state", 14),
    ("Test", 60),
    ("Outcome", 10),
    ("Duration (s)", 12),
    ("Started at", 25),
    ("Run id", 38),
    ("Git commit", 42),
    ("Refs", 24),
    ("Not applicable", 30),
)
_RECORD_COLUMNS = (
    ("Kind", 12),
    ("Framework", 12),
    ("Control", 12),
    ("Status", 18),
    ("Validity", 10),
    ("Expires", 12),
    ("Approver / attested by", 22),
    ("Justification", 50),
    ("Evidence", 30),
    ("Evidence SHA-256", 20),
    ("Recorded at", 25),
    ("Origin", 8),
    ("Runs tests", 10),
    ("Source", 24),
)
_RESERVED_SHEETS = ("Summary", "Evidence", "Waivers & attestations")


def _xlsx_text(value: str) -> str:
    value = _XML_ILLEGAL.sub("\ufffd", value)
    if len(value) > _XLSX_MAX_TEXT:
        value = value[: _XLSX_MAX_TEXT - 1] + "…"
    return value


def _sheet_titles(frameworks: list[dict[str, Any]]) -> list[str]:
    """One valid, unique (Excel compares case-insensitively) sheet title per framework."""
    used = {name.lower() for name in _RESERVED_SHEETS}
    titles = []
    for index, framework in enumerate(frameworks, 1):
        base = re.sub(r"[\\/?*\[\]:]", "_", str(framework.get("framework") or f"framework {index}"))
        base = base.strip("'") or f"framework {index}"
        title, counter = base[:31], 1
        while title.lower() in used:
            counter += 1
            suffix = f" ({counter})"
            title = base[: 31 - len(suffix)] + suffix
        used.add(title.lower())
        titles.append(title)
    return titles


class _XlsxBook:
    """A write-only openpyxl workbook whose long sheets get their rows streamed in.

    openpyxl (without lxml) spends about 15 µs per cell serialising XML, too slow for ten
    thousand rows of evidence. So openpyxl writes the whole package, each data sheet with its
    styled header, widths, frozen panes and autofilter; the data rows, plain values that need no
    style, are then written straight into each sheet's ``<sheetData>``, as inline strings and
    numbers, the same markup openpyxl writes for them.
    """

    def __init__(self) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter

        self.workbook = Workbook(write_only=True)
        self.cell_class = WriteOnlyCell
        self.bold = Font(bold=True)
        self.letter = get_column_letter
        self.streamed: dict[Any, list[list[Any]]] = {}  # sheet -> rows spliced in after save

    def value(self, sheet: Any, value: Any) -> Any:
        """A value for ``sheet.append``: text stays text (never a formula or an error code)."""
        if isinstance(value, str):
            value = _xlsx_text(value)
            if value.startswith("=") or value.startswith("#"):
                cell = self.cell_class(sheet, value)
                cell.data_type = "s"
                return cell
            return value
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    def percent(self, sheet: Any, value: float | None) -> Any:
        cell = self.cell_class(sheet, value)
        if value is not None:
            cell.number_format = _XLSX_PERCENT
        return cell

    def bold_cell(self, sheet: Any, value: Any) -> Any:
        cell = self.cell_class(sheet, self.value(sheet, value))
        cell.font = self.bold
        return cell

    def sheet(
        self, title: str, columns: Iterable[tuple[str, float]], rows: int, *, freeze: str = "B2"
    ) -> Any:
        """A new sheet with a bold header row, column widths, frozen panes and an autofilter
        over the header and ``rows`` data rows."""
        columns = list(columns)
        sheet = self.workbook.create_sheet(title)
        for index, (_, width) in enumerate(columns, 1):
            sheet.column_dimensions[self.letter(index)].width = width
        sheet.freeze_panes = freeze
        sheet.auto_filter.ref = f"A1:{self.letter(len(columns))}{rows + 1}"
        sheet.append([self.bold_cell(sheet, name) for name, _ in columns])
        return sheet

    def table(
        self, title: str, columns: Iterable[tuple[str, float]], rows: list[list[Any]], *, freeze: str = "B2"
    ) -> Any:
        """A data sheet: header by openpyxl, ``rows`` streamed in on save."""
        rows = rows[: _XLSX_MAX_ROWS - 1]
        sheet = self.sheet(title, columns, len(rows), freeze=freeze)
        self.streamed[sheet] = rows
        return sheet

    def save(self, moment: tuple[int, int, int, int, int, int], created: Any) -> bytes:
        """The workbook's bytes, deterministic: fixed zip entry times and document dates."""
        from openpyxl.xml.functions import tostring

        properties = self.workbook.properties
        properties.creator = "pytest-enterprise"
        raw = io.BytesIO()
        self.workbook.save(raw)  # stamps "modified" with the wall clock: rewritten below
        properties.created = properties.modified = created
        core = tostring(properties.to_tree())
        splices = {sheet.path.lstrip("/"): rows for sheet, rows in self.streamed.items()}
        out = io.BytesIO()
        with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                data = source.read(info.filename)
                if info.filename == "docProps/core.xml":
                    data = core
                elif info.filename in splices:
                    data = self._splice(data, splices[info.filename])
                entry = zipfile.ZipInfo(info.filename, date_time=moment)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o600 << 16
                target.writestr(entry, data)
        return out.getvalue()

    def _splice(self, xml: bytes, rows: list[list[Any]]) -> bytes:
        marker = b"</sheetData>"
        at = xml.rfind(marker)
        if at < 0:  # openpyxl wrote the header row, so sheetData is never empty
            raise RuntimeError("openpyxl wrote a worksheet without </sheetData>")
        width = max((len(row) for row in rows), default=0)
        letters = [self.letter(i) for i in range(1, width + 1)]
        body = "".join(_rows_xml(rows, letters, 2)).encode("utf-8", "replace")
        return xml[:at] + body + xml[at:]


def _rows_xml(rows: list[list[Any]], letters: list[str], first: int) -> Iterator[str]:
    """``<row>`` elements: text as inline strings (never formulas), numbers as numbers."""
    texts: dict[str, str] = {}  # the same few strings (states, run id, commit) recur a lot
    for number, row in enumerate(rows, first):
        cells = []
        for letter, value in zip(letters, row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                tail = texts.get(value)
                if tail is None:
                    text = _xlsx_text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    tail = texts[value] = f'" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                cells.append(f'<c r="{letter}{number}{tail}')
            elif isinstance(value, bool):
                cells.append(f'<c r="{letter}{number}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
                cells.append(f'<c r="{letter}{number}"><v>{value!r}</v></c>')
            elif not isinstance(value, float):
                tail = _xlsx_text(str(value)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                cells.append(f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">{tail}</t></is></c>')
        yield f'<row r="{number}">{"".join(cells)}</row>'


def _zip_moment(generated_at: Any) -> tuple[tuple[int, int, int, int, int, int], Any]:
    try:
        moment = parse_timestamp(str(generated_at))
    except ValueError:
        moment = parse_timestamp("1980-01-01T00:00:00Z")
    if moment.year < 1980:  # the zip format starts in 1980
        moment = moment.replace(year=1980, month=1, day=1)
    naive = moment.replace(tzinfo=None, microsecond=0)
    stamp = (naive.year, naive.month, naive.day, naive.hour, naive.minute, naive.second)
    return stamp, naive


def write_xlsx(result: dict[str, Any], path: Path) -> Path:
    """Write the workbook: Summary, one sheet per framework, Evidence, Waivers & attestations."""
    book = _XlsxBook()
    frameworks = result.get("frameworks") or []
    run = result.get("run") or {}

    # Summary: one row per framework, then what the numbers mean.
    columns = [("Framework", 16), ("Name", 34), ("Version", 9), ("In scope", 9)]
    for _, title in RATIOS:
        columns += [(title, 15), (f"{title} (counts)", 17)]
    columns += [(state, max(9, len(state) + 2)) for state in STATES]
    summary = book.sheet("Summary", columns, len(frameworks))
    for fw in frameworks:
        row: list[Any] = [
            book.value(summary, fw.get("framework")),
            book.value(summary, fw.get("name")),
            book.value(summary, fw.get("version")),
            fw.get("in_scope"),
        ]
        for name, _ in RATIOS:
            ratio = fw.get(name) or {}
            row.append(book.percent(summary, ratio.get("value")))
            counts_text = f"{ratio.get('numerator', 0)}/{ratio.get('denominator', 0)}"
            row.append(counts_text if ratio.get("value") is not None else f"no data ({counts_text})")
        counts = fw.get("counts") or {}
        row += [counts.get(state, 0) for state in STATES]
        summary.append(row)
    summary.append([])
    summary.append([book.bold_cell(summary, "Measure"), book.bold_cell(summary, "Definition")])
    for name, title in RATIOS:
        label = next(((fw.get(name) or {}).get("label") for fw in frameworks if fw.get(name)), None)
        summary.append([title, book.value(summary, label or "")])
    summary.append(["no data", "nothing to divide by: the ratio is left blank, never 0% or 100%"])
    summary.append([])
    for name, value in (
        ("Generated at", result.get("generated_at")),
        ("Run id", run.get("id") or "no run recorded"),
        ("Git commit", run.get("git_commit")),
        ("Rules", result.get("rules")),
    ):
        summary.append([book.bold_cell(summary, name), book.value(summary, value)])

    # One sheet per framework.
    for fw, title in zip(frameworks, _sheet_titles(frameworks)):
        rows = []
        for control in fw.get("controls") or []:
            values = _control_columns(control)
            rows.append([values[key] for key, _, _ in _FRAMEWORK_COLUMNS])
        book.table(title, [(name, width) for _, name, width in _FRAMEWORK_COLUMNS], rows)

    # Evidence: one row per (framework, control, test); long, so streamed.
    evidence = []
    for fw in frameworks:
        for control in fw.get("controls") or []:
            for test in control.get("tests") or []:
                evidence.append(
                    [
                        fw.get("framework"),
                        control.get("id"),
                        control.get("state"),
                        test.get("nodeid"),
                        test.get("outcome"),
                        test.get("duration_s"),
                        test.get("started_at"),
                        test.get("run_id"),
                        test.get("git_commit"),
                        "; ".join(str(ref) for ref in test.get("refs") or ()),
                        test.get("na"),
                    ]
                )
    book.table("Evidence", _EVIDENCE_COLUMNS, evidence, freeze="D2")

    records = []
    for waiver in result.get("waivers") or []:
        records.append(
            [
                "waiver",
                waiver.get("framework"),
                waiver.get("control_id") or waiver.get("control"),
                "waived",
                _validity(waiver),
                waiver.get("expires"),
                waiver.get("approver"),
                waiver.get("justification"),
                None,
                None,
                None,
                None,
                "yes" if waiver.get("run") else "no",
                waiver.get("source"),
            ]
        )
    for attestation in result.get("attestations") or []:
        records.append(
            [
                "attestation",
                attestation.get("framework"),
                attestation.get("control_id") or attestation.get("control"),
                attestation.get("status"),
                _validity(attestation),
                attestation.get("expires"),
                attestation.get("attested_by"),
                attestation.get("justification"),
                attestation.get("evidence"),
                attestation.get("evidence_sha256"),
                attestation.get("recorded_at"),
                attestation.get("origin"),
                None,
                attestation.get("source"),
            ]
        )
    book.table("Waivers & attestations", _RECORD_COLUMNS, records, freeze="D2")

    moment, created = _zip_moment(result.get("generated_at"))
    return write_bytes_atomic(path, book.save(moment, created))


# -- any format ---------------------------------------------------------------------------------


def export(result: dict[str, Any], path: Path, fmt: str | None = None, *, tool_version: str = "") -> Path:
    """Write ``result`` to ``path`` as ``fmt`` (default: from the suffix); returns the path."""
    path = Path(path)
    fmt = fmt or format_from_suffix(path)
    if fmt == "xlsx":
        return write_xlsx(result, path)
    if fmt == "oscal":
        from .oscal import assessment_results, dumps

        text = dumps(assessment_results(result, tool_version=tool_version))
    elif fmt == "json":
        text = render_json(result)
    elif fmt == "csv":
        text = utf8_safe(render_csv(result))
    elif fmt == "md":
        text = utf8_safe(render_markdown(result))
    else:
        raise UsageError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return write_text_atomic(path, text)
