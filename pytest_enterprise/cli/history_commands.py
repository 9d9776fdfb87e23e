"""``enterprise history list | show RUN | import REPORT.json | purge --older-than DAYS |
copy --from WHERE --to WHERE``: the runs kept in the history store (docs/history.md)."""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from datetime import timedelta
from typing import Any

from ..errors import InputError, StoreError, UsageError
from .common import add_config_option, add_store_option, load_config, open_store, require

FORMATS = ("text", "json")


def add_parser(groups: Any) -> None:
    history = groups.add_parser("history", allow_abbrev=False, help="the runs kept in the history store")
    commands = history.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", allow_abbrev=False, help="stored runs, newest first")
    listing.add_argument("--process", help="only runs of this process")
    listing.add_argument("--limit", type=int, default=20, help="runs to list (default 20)")
    listing.add_argument("--format", choices=FORMATS, default="text")
    _common(listing, list_command)

    show = commands.add_parser("show", allow_abbrev=False, help="one stored run (json: its report exactly)")
    show.add_argument("run", metavar="RUN", help="the run id (see history list)")
    show.add_argument("--format", choices=FORMATS, default="text")
    _common(show, show_command)

    importing = commands.add_parser("import", allow_abbrev=False, help="store a run from its enterprise-report.json")
    importing.add_argument("report", metavar="REPORT", help="an enterprise-report.json (or a merged report)")
    importing.add_argument("--replace", action="store_true", help="replace a stored run with the same id")
    _common(importing, import_command)

    purge = commands.add_parser("purge", allow_abbrev=False, help="delete runs and events older than DAYS")
    purge.add_argument("--older-than", required=True, type=int, metavar="DAYS", help="age in days (0: everything before now)")
    purge.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    _common(purge, purge_command)

    copying = commands.add_parser(
        "copy", allow_abbrev=False, help="copy runs and their evidence from one store to another (SQLite or PostgreSQL)"
    )
    copying.add_argument("--from", dest="source", required=True, metavar="WHERE", help="a SQLite file or a postgresql:// URL")
    copying.add_argument("--to", dest="destination", required=True, metavar="WHERE", help="a SQLite file or a postgresql:// URL")
    copying.add_argument("--replace", action="store_true", help="replace the runs already there (default: skip them)")
    copying.add_argument(
        "--skip-diverged-chains", action="store_true",
        help="when a hash chain (audit log, manual statuses) of the destination is not a beginning of the source's,"
        " leave it as it is and copy everything else (default: copy nothing)",
    )  # fmt: skip
    copying.add_argument("--dry-run", action="store_true", help="say what would be copied, copy nothing")
    add_config_option(copying)
    copying.set_defaults(handler=copy_command)


def _common(parser: argparse.ArgumentParser, handler: Any) -> None:
    add_store_option(parser)
    add_config_option(parser)
    parser.set_defaults(handler=handler)


def list_command(options: argparse.Namespace, extra: list[str]) -> int:
    require(options.limit >= 1, "--limit must be at least 1")
    config = load_config(options)
    with open_store(options, config) as store:
        runs = store.recent_runs(options.process, limit=options.limit)
        where = store.display
    if options.format == "json":
        print(json.dumps([_summary_dict(run) for run in runs], indent=2))
        return 0
    if not runs:
        which = f" of process {options.process!r}" if options.process else ""
        print(f"no runs{which} stored in {where}")
        return 0
    from tabulate import tabulate

    rows = [
        (run.id, run.started_at, run.process, run.git_branch or "", run.environment or "", _number(run.units),
         _number(run.defects), _dpmo(run.dpmo), _number(run.exit_status))
        for run in runs
    ]  # fmt: skip
    headers = ("id", "started", "process", "branch", "environment", "units", "defects", "DPMO", "exit")
    print(tabulate(rows, headers=headers, disable_numparse=True))
    return 0


def show_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..report.json_report import dumps_report

    config = load_config(options)
    with open_store(options, config) as store:
        report = store.load_report(options.run)
    if not isinstance(report, dict) or not isinstance(report.get("run"), dict):
        raise StoreError(f"history store: run {options.run!r} is not a run report; purge it or move the store aside")
    if options.format == "json":
        print(dumps_report(report))
        return 0
    from ..report.text import render_text

    try:
        print(render_text(report), end="")
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise StoreError(f"history store: run {options.run!r} cannot be shown ({type(error).__name__}: {error})") from None
    return 0


def import_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..audit import make_event
    from ..merge.runs import stored_copy
    from ..quality.metrics import analyze_run
    from ..report.json_report import record_from_report
    from ..report.loading import load_report, no_gc

    config = load_config(options)
    report = load_report(options.report)
    try:
        with no_gc():
            record = record_from_report(report.data)
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"{report.path}: cannot be read as a run record ({type(error).__name__}: {error})") from None
    # The summary columns come from the same analyzer the plugin ran, not from the file's say-so.
    quality = analyze_run(record, thresholds=config.telemetry.quality_thresholds).to_dict()
    merge = report.data.get("merge") or {}
    run_id = record.run.id
    with open_store(options, config) as store:
        stored = store.has_run(run_id)
        if stored and not options.replace:
            raise UsageError(
                f"{report.path}: run {run_id} is already in {store.display}; pass --replace to replace it"
            )
        store.save_run(stored_copy(record, merge.get("mode")), quality, report_zlib=zlib.compress(report.raw, 1))
        store.record_audit_event(make_event(
            "history", run_id, "replace" if stored else "import", before=None,
            after={"path": str(report.path), "sha256": report.sha256, "tests": len(record.tests)},
        ))  # fmt: skip
        where = store.display
    print(f"{'replaced' if stored else 'imported'} run {run_id} ({len(record.tests)} tests) from {report.path} into {where}")
    return 0


def purge_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..audit import make_event
    from ..timeutil import format_timestamp, utc_now

    require(options.older_than >= 0, "--older-than must be 0 or more days")
    config = load_config(options)
    with open_store(options, config) as store:
        if options.dry_run:
            cutoff = format_timestamp(utc_now() - timedelta(days=options.older_than))
            runs, events = _older(store, cutoff)
            print(f"would delete {runs} run(s) and {events} event(s) older than {options.older_than} days from {store.display}")
            return 0
        deleted = store.purge(options.older_than)
        if deleted:
            store.record_audit_event(make_event(
                "history", store.display, "purge", before=None,
                after={"older_than_days": options.older_than, "deleted": deleted},
            ))  # fmt: skip
        print(f"deleted {deleted} record(s) (runs and events) older than {options.older_than} days from {store.display}")
    return 0


def copy_command(options: argparse.Namespace, extra: list[str]) -> int:
    from pathlib import Path

    from ..audit import make_event
    from ..history_location import option_location
    from ..store import open_store as open_location
    from ..store.copying import copy_history, same_store

    source_at = option_location(options.source, "--from", Path.cwd())
    destination_at = option_location(options.destination, "--to", Path.cwd())
    require(not same_store(source_at, destination_at), f"--from and --to name the same store, {source_at.display}")
    with open_location(source_at) as source, open_location(destination_at) as destination:
        if not source.exists():  # and a missing SQLite file stays missing
            raise StoreError(f"there is no history store at {source.display} to copy from")
        bar = None if options.dry_run or not sys.stderr.isatty() else _ProgressBar()
        try:
            counts = copy_history(source, destination, dry_run=options.dry_run, replace=options.replace,
                                  skip_diverged=options.skip_diverged_chains, progress=bar)  # fmt: skip
        finally:
            if bar is not None:
                bar.close()
        if counts.copied_anything() and not options.dry_run:
            destination.record_audit_event(make_event(
                "history", destination.display, "copy", before=None, after=counts.audit_record(source.display),
            ))  # fmt: skip
    print(f"{'would copy' if options.dry_run else 'copied'} {counts.summary()} from {source.display} to {destination.display}")
    for left in counts.left:
        print(f"not copied: the hash chain of {left}")
    return 0


class _ProgressBar:
    """The runs copied so far, on one line of the terminal, when there is more than a batch;
    the line is ended when the copy ends, however it ends."""

    shown = False

    def __call__(self, done: int, total: int) -> None:
        from ..store.copying import BATCH_RUNS, progress_text

        if total > BATCH_RUNS:
            sys.stderr.write(f"\r{progress_text(done, total)}")
            sys.stderr.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _older(store: Any, cutoff: str) -> tuple[int, int]:
    """What ``purge`` would delete: runs by start, events by record time (text order is time
    order in the store's fixed-width timestamps)."""
    from ..timeutil import parse_timestamp

    limit = parse_timestamp(cutoff)
    runs = sum(1 for run in store.recent_runs(limit=2**31 - 1) if parse_timestamp(run.started_at) < limit)
    events = sum(
        1 for process in store.processes() for event in store.events(process) if parse_timestamp(event.recorded_at) < limit
    )
    return runs, events


def _summary_dict(run: Any) -> dict[str, Any]:
    return {
        "id": run.id, "started_at": run.started_at, "finished_at": run.finished_at, "process": run.process,
        "branch": run.git_branch, "commit": run.git_commit, "environment": run.environment, "units": run.units,
        "defects": run.defects, "dpmo": run.dpmo, "rty": run.rty, "exit_status": run.exit_status,
    }  # fmt: skip


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _dpmo(value: float | None) -> str:
    return "no data" if value is None else f"{value:,.0f}"
