"""The user guide's import path: ``from pytest_enterprise.config.enterprise_config import
EnterpriseConfig``. The code lives in the package (``pytest_enterprise.config``); this module
only names it, so both paths give the same objects."""

from __future__ import annotations

from . import *  # noqa: F403
from . import __all__  # noqa: F401
