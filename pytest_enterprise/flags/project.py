"""Binds a FlagManager to a project: its flag file, environment, audit log and store.

Paths in the config are relative to the config file's folder (else to ``root``). The audit
log and the A/B events go to the project's history store (``history.url``, else
``telemetry.history_path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import EnterpriseConfig
from ..history_location import config_base, history_location
from .manager import FlagManager

if TYPE_CHECKING:
    from ..store.location import StoreLocation

__all__ = ["configure_manager", "flag_file_path", "project_history_location"]


def _base(settings: EnterpriseConfig, root: Path | None) -> Path:
    return config_base(settings, root if root is not None else Path.cwd())


def flag_file_path(settings: EnterpriseConfig, root: Path | None = None) -> Path | None:
    configured = settings.feature_flags.config_file
    return None if not configured else _base(settings, root) / configured


def project_history_location(settings: EnterpriseConfig, root: Path | None = None) -> StoreLocation:
    return history_location(settings, root if root is not None else Path.cwd())


def configure_manager(
    manager: FlagManager,
    settings: EnterpriseConfig,
    *,
    root: Path | None = None,
    flag_file: Path | None = None,
    environment: str | None = None,
    persistent: bool = True,
) -> Any:
    """Load the project's flags into ``manager`` (profile of ``environment``, default the
    config's). When ``persistent``, its audit log and A/B events go to the project's store;
    a test session passes False, so tests that change flags or track events leave the
    project's records alone. Returns the ``FlagFile`` read, or None when there is none."""
    from ..audit import MemoryAuditLog, StoreAuditLog
    from .flagfile import load_flag_file

    if persistent:
        history = project_history_location(settings, root)
        manager.audit = StoreAuditLog(history, clock=manager.clock)
        manager.store_path = history
    else:
        manager.audit = MemoryAuditLog()
        manager.store_path = None
    path = flag_file if flag_file is not None else flag_file_path(settings, root)
    if path is None:
        manager.set_flags(())
        return None
    loaded = load_flag_file(path)
    manager.set_flags(loaded.flags(environment or settings.environment).values())
    return loaded
