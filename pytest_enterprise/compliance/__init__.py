"""Compliance evidence: tests tied to controls, rolled up into a compliance matrix.

Public names load lazily, like the package's own.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ComplianceMatrix": "pytest_enterprise.compliance.matrix",
    "ComplianceFramework": "pytest_enterprise.compliance.matrix",
    "ComplianceStatus": "pytest_enterprise.compliance.matrix",
    "FrameworkReport": "pytest_enterprise.compliance.matrix",
    "ComplianceResult": "pytest_enterprise.compliance.result",
    "ControlResolver": "pytest_enterprise.compliance.catalog",
    "builtin_catalog": "pytest_enterprise.compliance.catalog",
    "load_catalog_file": "pytest_enterprise.compliance.catalog",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'pytest_enterprise.compliance' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
