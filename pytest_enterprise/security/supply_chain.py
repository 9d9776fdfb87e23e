"""The user guide's import path: ``from pytest_enterprise.security.supply_chain import
SupplyChainSecurity, SecurityLevel``. The code lives in ``pytest_enterprise.supply_chain``."""

from __future__ import annotations

from . import *  # noqa: F403
from . import __all__  # noqa: F401
