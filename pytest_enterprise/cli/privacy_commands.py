"""``enterprise privacy export --user ID | erase --user ID``: what the history store holds
about one person, and erasing it (docs/privacy.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import add_config_option, add_store_option, emit, load_config, open_store, require


def add_parser(groups: Any) -> None:
    privacy = groups.add_parser("privacy", allow_abbrev=False, help="what the store holds about a person (GDPR Art. 15, 17)")
    commands = privacy.add_subparsers(dest="command", metavar="COMMAND", required=True)

    export = commands.add_parser("export", allow_abbrev=False, help="write what the store holds about a user, as JSON")
    export.add_argument("--user", required=True, metavar="ID", help="the user id the application passed to track()")
    export.add_argument("--output", metavar="PATH", help="write to this file (atomically) instead of standard output")
    _common(export, export_command)

    erase = commands.add_parser("erase", allow_abbrev=False, help="delete what the store holds about a user (audited)")
    erase.add_argument("--user", required=True, metavar="ID", help="the user id the application passed to track()")
    erase.add_argument("--reason", help="why, for the audit log (e.g. the request's reference)")
    erase.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    _common(erase, erase_command)


def _common(parser: argparse.ArgumentParser, handler: Any) -> None:
    add_store_option(parser)
    add_config_option(parser)
    parser.set_defaults(handler=handler)


def export_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..privacy import export_user

    require(options.user != "", "--user must not be empty")
    config = load_config(options)
    with open_store(options, config) as store:
        held = export_user(store, options.user)
    emit(json.dumps(held, indent=2, ensure_ascii=False) + "\n", options.output)
    return 0


def erase_command(options: argparse.Namespace, extra: list[str]) -> int:
    from ..privacy import erase_user, user_reference

    require(options.user != "", "--user must not be empty")
    config = load_config(options)
    with open_store(options, config) as store:
        if options.dry_run:
            rows = len(store.user_experiment_events(options.user))
            print(f"would delete {rows} experiment event(s) of the user from {store.display}")
            return 0
        erased = erase_user(store, options.user, reason=options.reason)
        print(
            f"deleted {erased} experiment event(s) of the user from {store.display};"
            f" audited as privacy erase of {user_reference(options.user)}"
        )
    return 0
