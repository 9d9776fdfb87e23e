"""What the dashboard shows, from a JSON report and (optionally) the history of its series.

Pure functions over plain dicts: the report is the one the plugin writes (or ``enterprise
merge``, or ``telemetry report`` builds from the store), so the page shows the numbers every
other view shows. ``history`` is ``SeriesControl.to_dict()`` of the run's series (what
``enterprise telemetry spc --format json`` prints for it), or None when there is none.

Every text a person reads goes through ``redact_text`` on its way here (the report is already
redacted when written; a report edited by hand, or one from an older version, may not be).
The tests travel once, as rows of plain values in one gzip-compressed, base64-encoded JSON
array (``tests_blob``) that the page decodes; the static parts are rendered here.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ...redact import redact_text
from ..summary import fixed_text, interval_text, level_text, percent_text, quality_rows, sigma_interval_text, sigma_text

# The columns of a test row, in the order the page's script reads them (dashboard.js: COLUMNS).
TEST_COLUMNS = (
    "nodeid", "outcome", "duration", "stage", "markers", "controls", "flags", "environment", "worker",
    "attempts", "category", "exception", "message", "flaky", "details",
)  # fmt: skip

# Control states from best to worst, for the heat map's order and its legend.
CONTROL_STATES = ("passed", "attested", "waived", "not_applicable", "not_reviewed", "not_tested", "error", "failed")


def dashboard_view(report: Mapping[str, Any], history: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template needs, as plain values (texts already redacted)."""
    quality = report.get("quality") or {}
    run = report.get("run") or {}
    tests = report.get("tests") or []
    return {
        "title": _title(report),
        "run": _run(run, report),
        "cards": _cards(quality, report.get("spc")),
        "quality_rows": quality_rows(quality) if quality else [],
        "gates": [_gate(gate) for gate in report.get("gates") or []],
        "stages": quality.get("stages") or [],
        "pareto": quality.get("pareto") or [],
        "spc": _spc(report.get("spc"), history),
        "flaky": _flaky(report.get("flaky")),
        "compliance": _compliance(report.get("compliance")),
        "flags": _flags(report.get("flags")),
        "supply_chain": _supply_chain(report.get("supply_chain")),
        "merge": report.get("merge"),
        "tests": _test_summary(tests),
        "tests_blob": tests_blob(tests, run.get("environment")),
        "test_columns": TEST_COLUMNS,
    }


def _title(report: Mapping[str, Any]) -> str:
    run = report.get("run") or {}
    process = run.get("process") or report.get("process_name") or "pytest"
    return redact_text(f"{process}: quality report")


def _run(run: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    git = run.get("git") or {}
    return {
        "id": run.get("id"),
        "started_at": run.get("started_at"),
        "duration_s": run.get("duration_s"),
        "exit_status": run.get("exit_status"),
        "interrupted": run.get("interrupted"),
        "python": run.get("python"),
        "platform": run.get("platform"),
        "environment": _text(run.get("environment")),
        "workers": run.get("xdist_workers"),
        "commit": _text(git.get("commit")),
        "branch": _text(git.get("branch")),
        "dirty": git.get("dirty"),
        "ci_url": _safe_url(run.get("ci_job_url")),
        "args": " ".join(redact_text(str(arg)) for arg in run.get("pytest_args") or []),
        "collection_errors": [
            _text(error.get("nodeid") if isinstance(error, Mapping) else error) for error in run.get("collection_errors") or []
        ],
        "evidence_gaps": [_text(gap) for gap in run.get("evidence_gaps") or []],
        "history": report.get("history"),
    }


def _cards(quality: Mapping[str, Any], spc: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The header: each metric's value for the eye, its exact value for machines
    (``data-value``; the browser tests compare it with the JSON report) and its interval."""
    if not quality.get("units"):
        return [_card("units", "Units", quality.get("units") or 0, f"{quality.get('units') or 0:,}", None)]
    cards = [
        _card("units", "Units", quality["units"], f"{quality['units']:,}", None),
        _card("defects", "Defects", quality["defects"], f"{quality['defects']:,}", None),
        _card("dpmo", "DPMO", quality.get("dpmo"), fixed_text(quality.get("dpmo"), 0), _ci(interval_text(quality.get("dpmo_ci95"), 0))),
        _card("fpy", "First-pass yield", quality.get("fpy"), percent_text(quality.get("fpy")),
              _ci(interval_text(quality.get("fpy_ci95"), 2, "%"))),  # fmt: skip
        _card("final_yield", "Final yield", quality.get("final_yield"), percent_text(quality.get("final_yield")),
              _ci(interval_text(quality.get("final_yield_ci95"), 2, "%"))),  # fmt: skip
        _card("rty", "RTY", quality.get("rty"), percent_text(quality.get("rty")), None),
        _card("sigma_level", "Sigma", quality.get("sigma_level"), sigma_text(quality),
              _ci(sigma_interval_text(quality.get("sigma_level_ci95")))),  # fmt: skip
        _card("quality_level", "Quality level", quality.get("quality_level"), level_text(quality), None),
    ]
    baseline = _baseline(spc)
    if baseline:
        cards.append(_card("baseline", "Against the baseline", None, baseline, None))
    return cards


def _card(metric: str, label: str, value: Any, text: str, interval: str | None) -> dict[str, Any]:
    exact = "" if value is None else json.dumps(value)
    return {"metric": metric, "label": label, "value": exact, "text": text, "interval": interval}


def _baseline(spc: Mapping[str, Any] | None) -> str | None:
    """This run against its series' center line: the change a reader asks about first."""
    if not spc:
        return None
    limits = spc.get("limits") or {}
    point = (spc.get("this_run") or {}).get("dpmo") or {}
    if limits.get("state") in (None, "none") or point.get("value") is None or point.get("center") is None:
        needed = limits.get("runs_needed")
        return f"no limits yet: {needed} more run(s) needed" if needed else None
    value, center = point["value"], point["center"]
    change = value - center
    word = "above" if change > 0 else "below" if change < 0 else "at"
    state = "frozen baseline" if limits.get("state") == "frozen" else "trial limits"
    if word == "at":
        return f"DPMO {value:,.0f}, at the center line ({state})"
    return f"DPMO {value:,.0f}, {abs(change):,.0f} {word} the center line {center:,.0f} ({state})"


def _gate(gate: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "label": _text(gate.get("label") or gate.get("metric")),
        "status": gate.get("status"),
        "actual": gate.get("actual"),
        "limit": gate.get("limit"),
        "fail_when": gate.get("fail_when"),
        "source": _text(gate.get("source")),
    }


def _spc(spc: Mapping[str, Any] | None, history: Mapping[str, Any] | None) -> dict[str, Any]:
    """The run's SPC summary, and the charts of its series when there is history."""
    charts = (history or {}).get("charts") or {}
    points = len((charts.get("defect_fraction") or {}).get("points") or [])
    runs = (history or {}).get("runs") or []
    return {
        "summary": _text((spc or {}).get("summary") or (history or {}).get("summary")),
        "signals": (spc or {}).get("signals") or [],
        "limits": (spc or history or {}).get("limits"),
        "charts": charts if points else {},
        # Before there are runs enough for limits: the values alone, once there are two.
        "trend_runs": runs if not points and len(runs) >= 2 else [],
    }


def _flaky(flaky: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not flaky:
        return None
    rows = [
        {
            "nodeid": _text(entry.get("nodeid")),
            "verdict": entry.get("verdict"),
            "label": _text(entry.get("label")),
            "evidence": [_text(item) for item in entry.get("evidence") or []],
            "flip_rate": entry.get("flip_rate"),
            "flip_rate_ci95": entry.get("flip_rate_ci95"),
            "failure_probability": entry.get("failure_probability"),
            "failure_probability_ci95": entry.get("failure_probability_ci95"),
        }
        for entry in flaky.get("failures_with_flaky_history") or []
    ]
    return {"history_runs": flaky.get("history_runs"), "outage": flaky.get("this_run_is_outage"), "rows": rows}


def _compliance(compliance: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Per framework: its counts and every in-scope control as a heat-map cell."""
    if not compliance:
        return []
    frameworks = []
    for framework in compliance.get("frameworks") or []:
        controls = [
            {
                "id": _text(control.get("id")),
                "title": _text(control.get("title")),
                "family": _text(control.get("family")),
                "state": control.get("state") or "not_tested",
                "reason": _text(control.get("reason")),
                "tests": [
                    _text(test.get("nodeid") if isinstance(test, Mapping) else test) for test in control.get("tests") or []
                ],
                "waiver": _waiver(control.get("waiver")),
                "attestation": _attestation(control.get("attestation")),
            }
            for control in framework.get("controls") or []
        ]
        frameworks.append({
            "id": _text(framework.get("framework")),
            "name": _text(framework.get("name") or framework.get("framework")),
            "version": _text(framework.get("version")),
            "counts": {state: (framework.get("counts") or {}).get(state, 0) for state in CONTROL_STATES},
            "percent_compliant": framework.get("percent_compliant"),
            "coverage": framework.get("coverage"),
            "evidence_complete": framework.get("evidence_complete"),
            "notes": [_text(note) for note in framework.get("notes") or []],
            "controls": controls,
        })  # fmt: skip
    return frameworks


def _waiver(waiver: Any) -> dict[str, Any] | None:
    if not isinstance(waiver, Mapping):
        return None
    return {key: _text(waiver.get(key)) for key in ("justification", "approver", "expires", "status")}


def _attestation(attestation: Any) -> dict[str, Any] | None:
    if not isinstance(attestation, Mapping):
        return None
    keys = ("status", "justification", "evidence", "expires", "attested_by", "evidence_sha256")
    return {key: _text(attestation.get(key)) for key in keys}


def _flags(flags: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each flag with the outcomes of the tests run at each of its values."""
    if not flags:
        return []
    rows = []
    for name, flag in sorted((flags.get("flags") or {}).items()):
        variants = flag.get("variants") or {}
        rows.append({
            "name": _text(name),
            "status": _text(flag.get("status")),
            "strategy": _text(flag.get("strategy")),
            "owner": _text(flag.get("owner")),
            "expires_at": _text(flag.get("expires_at")),
            "values": [
                {"value": _text(value), "tests": (variants.get(value) or {}).get("tests", 0),
                 "passed": (variants.get(value) or {}).get("passed", 0)}  # fmt: skip
                for value in flag.get("values") or sorted(variants)
            ],
        })  # fmt: skip
    return rows


def _supply_chain(section: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not section:
        return None
    vulnerabilities = section.get("vulnerabilities") or None
    return {
        "components": section.get("components"),
        "test_components": section.get("test_components"),
        "root": _text(section.get("root")),
        "files": {role: _text(path) for role, path in (section.get("files") or {}).items()},
        "vulnerabilities": None if vulnerabilities is None else {
            "database": _text(vulnerabilities.get("database")),
            "scanned_packages": vulnerabilities.get("scanned_packages"),
            "counts": vulnerabilities.get("counts") or {},
            "ids": [_text(identifier) for identifier in vulnerabilities.get("ids") or []],
        },
        "provenance": section.get("provenance"),
        "notes": [_text(note) for note in section.get("notes") or []],
        "problems": [_text(problem) for problem in section.get("problems") or []],
        "gate_failures": [_text(failure) for failure in section.get("gate_failures") or []],
    }  # fmt: skip


def _test_summary(tests: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    outcomes: Counter[str] = Counter()
    count = 0
    for test in tests:
        outcomes[test.get("outcome") or "unknown"] += 1
        count += 1
    return {"count": count, "outcomes": dict(sorted(outcomes.items()))}


def test_row(test: Mapping[str, Any], environment: str | None) -> list[Any]:
    """One test as the page's table reads it (``TEST_COLUMNS``). Runs once per test: the
    common test (one attempt, no markers, passed) takes the short way through."""
    attempts = test.get("attempts") or ()
    if len(attempts) == 1:
        last = attempts[0]
        duration = last.get("duration_s") or 0.0
        details = None if last.get("outcome") == "passed" else _details(attempts)
    else:
        last = attempts[-1] if attempts else {}
        duration = sum(attempt.get("duration_s") or 0.0 for attempt in attempts)
        details = _details(attempts)
    markers = test.get("markers")
    tags, controls, flags = _marker_columns(markers) if markers else ((), (), ())
    nodeid = str(test.get("nodeid", ""))
    message = last.get("message")
    return [
        redact_text(nodeid) if "://" in nodeid else nodeid,
        test.get("outcome"),
        round(duration, 6) if math.isfinite(duration) else None,
        test.get("stage"),
        tags,
        controls,
        flags,
        redact_text(test.get("environment") or environment or ""),
        test.get("worker"),
        len(attempts),
        test.get("category"),
        _text(test.get("exception_type")),
        None if message is None else redact_text(str(message)),
        bool(test.get("flaky")),
        details,
    ]


def _marker_columns(markers: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """A test's markers as the filter offers them: plain ones (``stage=unit`` and its pytest
    markers), the controls it evidences, and its flag values (``name=value``)."""
    tags = sorted(f"{key}={value}" for key, value in markers.items() if key not in _LISTED and type(value) in _PLAIN)
    names = markers.get("pytest")
    if names:
        tags += [redact_text(str(name)) for name in names]
    entries = markers.get("controls")
    controls = sorted({str(entry[1]) for entry in entries if len(entry) > 1}) if entries else []
    values = markers.get("flags")
    flags = [redact_text(f"{name}={value}") for name, value in sorted(values.items())] if values else []
    return tags, controls, flags


# Markers with columns or lists of their own, and the value types a plain marker has.
_LISTED = frozenset({"controls", "flags", "pytest"})
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _details(attempts: list[Mapping[str, Any]]) -> list[list[Any]] | None:
    """Each attempt of a test that did not simply pass: number, outcome, message, phases, and
    the failure's full text (traceback, captured stdout, stderr, log) when it was recorded."""
    return [
        [
            attempt.get("number"),
            attempt.get("outcome"),
            _text(attempt.get("message")),
            [[phase.get("when"), phase.get("outcome"), phase.get("duration")] for phase in attempt.get("phases") or []],
            {key: redact_text(str(text)) for key, text in (attempt.get("details") or {}).items()} or None,
        ]
        for attempt in attempts
    ]


def tests_blob(tests: Iterable[Mapping[str, Any]], environment: str | None) -> str:
    """The tests' rows as one gzip-compressed, base64-encoded JSON array: sent once and
    compactly, decoded by the page (``DecompressionStream``), never 10,000 rendered rows."""
    rows = [test_row(test, environment) for test in tests]
    raw = json.dumps(rows, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")


def _text(value: Any) -> str | None:
    return None if value is None else redact_text(str(value))


def _safe_url(url: Any) -> str | None:
    """A CI link, only when it is http(s): a ``javascript:`` URL in a report must not become
    a link anyone can click."""
    if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
        return None
    return redact_text(url)


def _ci(text: str) -> str | None:
    # The intervals as every other view writes them (report/summary.py), named for a card.
    return f"95% CI {text}" if text else None
