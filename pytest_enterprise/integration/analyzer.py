"""The user guide's import path: ``from pytest_enterprise.integration.analyzer import
EnterpriseAnalyzerIntegration``. The code lives in the package (``pytest_enterprise.integration``)."""

from __future__ import annotations

from . import DEFAULT_PROCESS, EnterpriseAnalyzerIntegration, wrap_policy_engine

__all__ = ["DEFAULT_PROCESS", "EnterpriseAnalyzerIntegration", "wrap_policy_engine"]
