"""pytest-enterprise: quality, compliance and supply-chain evidence from every pytest run.

Public names load lazily so that ``import pytest_enterprise`` (which pytest does for the
plugin entry point) stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "SixSigmaTelemetry": "pytest_enterprise.quality.telemetry",
    "MetricsSnapshot": "pytest_enterprise.quality.telemetry",
    "EnterpriseConfig": "pytest_enterprise.config",
    "EnterpriseAnalyzerIntegration": "pytest_enterprise.integration",
    "SupplyChainSecurity": "pytest_enterprise.supply_chain.security",
    "ComplianceMatrix": "pytest_enterprise.compliance.matrix",
    "EnterpriseError": "pytest_enterprise.errors",
    "RunRecord": "pytest_enterprise.model",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'pytest_enterprise' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
