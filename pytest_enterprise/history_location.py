"""Where the run history is kept, decided the same way by every entry point: the plugin,
each ``enterprise`` command, ``ComplianceMatrix`` and the project's flag manager.

The first that is given wins:

1. an explicit location on the command line (``--enterprise-history``, the CLI's ``--store``),
   taken from the invocation directory like ``--junitxml``;
2. ``history.url`` (``ENTERPRISE_HISTORY_URL`` included): a ``postgresql://`` URL shared by
   many runners, or a SQLite file;
3. ``telemetry.history_path``: the SQLite file, the default.

Config paths are taken from the config file's folder, else from ``base`` (pytest's rootdir,
the CLI's current directory). The result names its store by ``display``, never by the raw
URL, which holds the password; nothing here connects or imports a database driver.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import EnterpriseConfig
    from .store.location import StoreLocation

__all__ = ["config_base", "history_location", "option_location", "parse_where"]


def config_base(settings: EnterpriseConfig, base: Path) -> Path:
    """The folder the config's relative paths are taken from: the config file's, else ``base``."""
    return settings.source.parent if settings.source is not None else base


def history_location(
    settings: EnterpriseConfig,
    base: Path,
    override: str | os.PathLike[str] | StoreLocation | None = None,
    *,
    invocation_dir: Path | None = None,
    option: str | None = None,
) -> StoreLocation:
    """The history store of ``settings``, unless ``override`` (a command-line value) names
    another. A relative ``override`` is taken from ``invocation_dir``, else kept relative to
    the current directory; an empty one means "the configured store" (``merge --store``).
    A scheme that is neither a file nor PostgreSQL is one ``ConfigError`` line (exit 2)
    without the password, starting with ``option`` (the option's name) when given."""
    if override is not None and override != "":
        return option_location(override, option, invocation_dir)
    folder = config_base(settings, base)
    if settings.history.url is not None:
        return parse_where(settings.history.url, folder)
    return parse_where(settings.telemetry.history_path, folder)


def option_location(
    value: str | os.PathLike[str] | StoreLocation, option: str | None, invocation_dir: Path | None = None
) -> StoreLocation:
    """The store a command-line option names (a relative path from ``invocation_dir``, else
    kept relative); when it names none, one ``ConfigError`` line that starts with ``option``."""
    try:
        return parse_where(value, invocation_dir or Path())
    except ConfigError as error:
        raise ConfigError(f"{option}: {error}" if option else str(error)) from None


def parse_where(where: str | os.PathLike[str] | StoreLocation, base: Path) -> StoreLocation:
    """``where`` as a ``StoreLocation`` (one given is kept): the Python API's ``store_path``
    arguments take a path, a URL or a location alike."""
    from .store.location import StoreLocation, parse_location

    if isinstance(where, StoreLocation):
        return where
    return parse_location(where, base)
