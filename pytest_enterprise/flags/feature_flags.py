"""The user guide's module: ``from pytest_enterprise.flags.feature_flags import flag_manager``.

``flag_manager`` is the project's manager. It reads nothing until first asked about a flag;
then it loads ``enterprise-config.yaml`` ($ENTERPRISE_CONFIG, else the current directory) and
the flag file it names, with the active environment's profile. Under pytest with the plugin
enabled, the session configures it from the run's config instead.
"""

from __future__ import annotations

from .decorators import FeatureDisabledError, conditional_execution, enterprise_feature
from .manager import FlagManager, UnknownFlagError, UnknownFlagWarning
from .model import FeatureFlag, FlagStatus, FlagType, RolloutStrategy, Variant

__all__ = [
    "FeatureDisabledError",
    "FeatureFlag",
    "FlagManager",
    "FlagStatus",
    "FlagType",
    "RolloutStrategy",
    "UnknownFlagError",
    "UnknownFlagWarning",
    "Variant",
    "conditional_execution",
    "enterprise_feature",
    "flag_manager",
]


def _load_project(manager: FlagManager) -> None:
    from ..config import EnterpriseConfig
    from .project import configure_manager

    configure_manager(manager, EnterpriseConfig.from_environment_variables())


flag_manager = FlagManager()
flag_manager.load_lazily(_load_project)
