"""Pieces every command group needs: the loaded config, the history store, output files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import EnterpriseConfig
from ..errors import UsageError


def load_config(options: argparse.Namespace) -> EnterpriseConfig:
    config = EnterpriseConfig.load(options.config, rootdir=Path.cwd())
    from ..history_location import config_base

    config.logging.apply(config_base(config, Path.cwd()) / config.telemetry.output_dir)
    return config


REPORT_SUFFIX_FORMATS = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


def report_format(options: argparse.Namespace) -> str:
    """``--format``, else the one ``--output``'s suffix implies, else text."""
    if options.format:
        return options.format
    return REPORT_SUFFIX_FORMATS.get(Path(options.output or "").suffix.lower(), "text")


def history_location(options: argparse.Namespace, config: EnterpriseConfig):  # -> StoreLocation
    """The store the command reads or writes: ``--store`` (a path relative to the current
    directory, or a URL), else ``history.url``, else ``telemetry.history_path``."""
    from ..history_location import history_location as resolve

    return resolve(config, Path.cwd(), getattr(options, "store", None), option="--store")


def open_store(options: argparse.Namespace, config: EnterpriseConfig):  # -> HistoryStore
    """The command's store, not yet opened: print it by its ``display``, never its URL."""
    from ..store import open_store as open_location

    return open_location(history_location(options, config))


def add_config_option(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """``--config`` works before or after the command; SUPPRESS keeps a subcommand's absent
    option from overwriting the top-level one."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="enterprise-config.yaml to use (default: $ENTERPRISE_CONFIG, else ./enterprise-config.yaml)",
    )


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="URL_OR_PATH",
        help="history store: a postgresql:// URL or a SQLite file (default: history.url, else telemetry.history_path)",
    )


def emit(text: str, output: str | None) -> None:
    """Print ``text``, or write it atomically to ``output`` and say where."""
    if output is None:
        sys.stdout.write(text)
        return
    from ..files import write_text_atomic

    path = write_text_atomic(output, text)
    print(f"wrote {path}", file=sys.stderr)


def series_filter(options: argparse.Namespace) -> dict[str, str | None]:
    """``--branch``/``--env`` as the store's ``same`` filter: only the options given, and ""
    for the runs without one (None)."""
    given = (("branch", options.branch), ("environment", options.environment))
    return {key: value or None for key, value in given if value is not None}


def require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)
