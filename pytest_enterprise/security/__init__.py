"""The user guide's import path for supply-chain security (the code is in ``supply_chain``)."""

from __future__ import annotations

from ..supply_chain.security import (
    RISK_WEIGHTS,
    SBOMFormat,
    SecurityLevel,
    SLSALevel,
    SupplyChainSecurity,
    risk_score,
)

__all__ = ["RISK_WEIGHTS", "SBOMFormat", "SLSALevel", "SecurityLevel", "SupplyChainSecurity", "risk_score"]
