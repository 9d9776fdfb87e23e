"""The user guide's import path for supply-chain security (the code is in ``supply_chain``)."""

from __future__ import annotations

from ..supply_chain.security import (
    RISK_WEIGHTS,
    Attestation,
    AttestationError,
    SBOMFormat,
    SecurityLevel,
    SecurityReport,
    SLSALevel,
    SLSALevelUnmetError,
    SupplyChainSecurity,
    risk_score,
)

__all__ = [
    "RISK_WEIGHTS",
    "Attestation",
    "AttestationError",
    "SBOMFormat",
    "SLSALevel",
    "SLSALevelUnmetError",
    "SecurityLevel",
    "SecurityReport",
    "SupplyChainSecurity",
    "risk_score",
]
