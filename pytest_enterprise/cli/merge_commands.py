"""``enterprise merge REPORT.json... --output merged.json``: one run from CI shards or from
the environments of a tox run (docs/merge.md)."""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path
from typing import Any

from ..errors import EXIT_GATE_FAILED, EXIT_OK, UsageError
from .common import add_config_option, history_location, load_config


def add_parser(groups: Any) -> None:
    from ..merge.parts import AUTO, MODES

    merge = groups.add_parser(
        "merge",
        allow_abbrev=False,
        help="merge the JSON reports of CI shards or tox environments into one run",
        description="Merge enterprise-report.json files of one suite's shards (each test in one part) or of"
        " several environments (each environment a stage) into one run; every metric is recomputed.",
    )
    merge.add_argument("reports", nargs="+", metavar="REPORT", help="enterprise-report.json of each part")
    merge.add_argument("--output", required=True, metavar="FILE", help="the merged report (written atomically)")
    merge.add_argument("--mode", choices=MODES, default=AUTO, help="default auto: environments when the parts' tox environment or Python differ")
    merge.add_argument(
        "--store",
        nargs="?",
        const="",
        metavar="URL_OR_PATH",
        help="also save the merged run in the history store: a postgresql:// URL or a SQLite file"
        " (default: history.url, else telemetry.history_path)",
    )
    add_config_option(merge)
    merge.set_defaults(handler=merge_command)


def merge_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..gates import configured_gates, evaluate
    from ..merge.parts import choose_mode, read_parts
    from ..merge.runs import merge_parts
    from ..quality.metrics import analyze_counted, analyze_run
    from ..report.fast_read import PackedTests
    from ..report.loading import no_gc

    if len(options.reports) < 2:
        raise UsageError("merge needs at least two reports; one part is already a run")
    config = load_config(options)
    paths = [Path(report) for report in options.reports]
    duplicates = sorted({str(path) for path in paths if paths.count(path) > 1})
    if duplicates:
        raise UsageError(f"{duplicates[0]} is given more than once")
    # One part at a time: each report's parsed JSON is dropped once its run record is built.
    # The collector stays off while the records are built: millions of objects, no cycles.
    with no_gc():
        parts = read_parts(paths)
    mode, why = choose_mode(parts, options.mode)
    merged = merge_parts(parts, mode)
    record = merged.record
    thresholds = config.telemetry.quality_thresholds
    if isinstance(record.tests, PackedTests):  # counted per template, no test built
        quality = analyze_counted(record, record.tests.counted(), thresholds=thresholds).to_dict()
    else:
        quality = analyze_run(record, thresholds=thresholds).to_dict()
    gates = evaluate(configured_gates(config.telemetry), quality)
    if any(gate.failed for gate in gates) and record.run.exit_status in (None, 0, 1):
        record.run.exit_status = EXIT_GATE_FAILED
    store = history_location(options, config) if options.store is not None else None
    header = _header(options, config, parts, merged, quality, gates, why, store)
    pieces = _report_pieces(header, merged, parts)
    if store is not None:
        _save(store, merged, quality, pieces, parts)
    _write(options.output, pieces)
    _summary(merged, quality, gates, why, options.output, store)
    return EXIT_GATE_FAILED if any(gate.failed for gate in gates) else EXIT_OK


def _header(
    options: argparse.Namespace, config: Any, parts: list[Any], merged: Any, quality: dict[str, Any],
    gates: list[Any], why: str, store: Any,
) -> dict[str, Any]:
    from ..merge.sections import merge_compliance, merge_flags, note_unmerged
    from ..report.json_report import report_header

    history = {"enabled": store is not None, "path": None if store is None else store.display, "saved": store is not None, "error": None}
    header = report_header(merged.record, quality, gates, history)
    notes = merged.notes
    compliance = merge_compliance(
        parts, merged.record, lambda frameworks: _compliance_context(config, frameworks),
        lambda context: _manual_statuses(options, config, context), notes,
    )  # fmt: skip
    if compliance is not None:
        header["compliance"] = compliance
    flags = merge_flags(parts, notes)
    if flags is not None:
        header["flags"] = flags
    note_unmerged(parts, notes)
    header["merge"] = {
        "mode": merged.mode,
        "chosen": why,
        "parts": [_part_entry(part) for part in parts],
        "notes": notes,
    }
    return header


def _part_entry(part: Any) -> dict[str, Any]:
    run = part.record.run
    entry = {
        "path": str(part.path),
        "sha256": part.sha256,
        "run_id": run.id,
        "environment": run.environment,
        "python": run.python,
        "tests": len(part.record.tests),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "exit_status": run.exit_status,
        "pytest_args": list(run.args),
    }
    if part.label:
        entry["stage"] = part.label
    return entry


def _compliance_context(config: Any, frameworks: list[str]) -> Any:
    from ..compliance.context import ComplianceContext

    base = config.source.parent if config.source is not None else Path.cwd()
    return ComplianceContext(config.compliance, base, frameworks or None)


def _manual_statuses(options: argparse.Namespace, config: Any, context: Any) -> list[Any]:
    """The manual statuses the plugin would have used: from the configured store, read only."""
    from ..store import open_store

    with open_store(history_location(options, config)) as store:
        return context.manual_statuses(store.control_statuses())


def _report_pieces(header: dict[str, Any], merged: Any, parts: list[Any]) -> list[bytes]:
    """The merged report's UTF-8 text, in pieces (the last one its final line end)."""
    from ..merge.parts import ENVIRONMENTS
    from ..report.fast_read import PackedTests
    from ..report.json_report import report_chunks, result_section

    tests = merged.record.tests
    if merged.mode == ENVIRONMENTS:

        def section(test: Any) -> dict[str, Any]:
            return {**result_section(test), "environment": test.stage}

        chunks = report_chunks(header, tests, section)
    elif isinstance(tests, PackedTests):
        # A shards merge writes each test as it was: where a part's text of a test is exactly
        # what report_chunks makes of it (report.fast_read checked that), the text is copied.
        return [*_chunks_from_texts(header, tests), b"\n"]
    else:
        chunks = report_chunks(header, tests)
    return [chunk.encode("utf-8") for chunk in chunks] + [b"\n"]


def _chunks_from_texts(header: dict[str, Any], tests: Any) -> Any:
    """``report_chunks(header, tests)``, the same text (as UTF-8), taking each test's from
    the parts' files."""
    from ..report.json_report import _ENCODER, _TESTS_PER_PIECE, result_section
    from ..report.test_encoder import TestEncoder

    head = _ENCODER.encode(header)
    yield (head[:-1] + ',"tests":[').encode("utf-8")
    yield from tests.text_pieces(TestEncoder(result_section, _ENCODER.encode), _TESTS_PER_PIECE)
    yield b"]}"


def _save(location: Any, merged: Any, quality: dict[str, Any], pieces: list[bytes], parts: list[Any]) -> None:
    from ..audit import make_event
    from ..merge.runs import stored_copy
    from ..store import open_store

    compressor = zlib.compressobj(1)
    report_zlib = b"".join(compressor.compress(piece) for piece in pieces[:-1]) + compressor.flush()
    run_id = merged.record.run.id
    with open_store(location) as store:
        store.save_run(stored_copy(merged.record, merged.mode), quality, report_zlib=report_zlib)
        store.record_audit_event(make_event(
            "history", run_id, "merge", before=None,
            after={"mode": merged.mode, "parts": [{"path": str(part.path), "sha256": part.sha256} for part in parts]},
        ))  # fmt: skip


def _write(output: str, pieces: list[bytes]) -> None:
    from ..files import atomic_writer

    with atomic_writer(output, binary=True, what="merged report") as handle:
        for piece in pieces:
            handle.write(piece)


def _summary(merged: Any, quality: dict[str, Any], gates: list[Any], why: str, output: str, store: Any) -> None:
    from ..report.summary import sigma_text

    run = merged.record.run
    print(f"merged {why}")
    for stage in quality["stages"] if merged.mode == "environments" else []:
        fpy = "no data" if stage["fpy"] is None else f"{stage['fpy']:.2f} %"
        print(f"  {stage['name']}: {stage['units']} units, FPY {fpy}")
    rty = "no data" if quality["rty"] is None else f"{quality['rty']:.2f} %"
    dpmo = "no data" if quality["dpmo"] is None else f"{quality['dpmo']:,.0f}"
    print(
        f"run {run.id}: {quality['units']} units, {quality['defects']} defects, DPMO {dpmo},"
        f" sigma {sigma_text(quality)}, RTY {rty}, exit status {run.exit_status}"
    )
    for note in merged.notes:
        print(f"note: {note}")
    for gate in gates:
        print(gate.describe())
    print(f"wrote {output}")
    if store is not None:
        print(f"stored run {run.id} in {store.display}")
