"""pytest entry point (``pytest11: enterprise``).

Installed but not enabled, this module is all that runs: it adds options, registers markers and
returns. The per-test machinery (``session.py``) is imported and registered only when the run
asks for it with ``--enterprise-report`` or ``telemetry.enabled: true`` in config, so a disabled
plugin costs no per-test hook and imports neither yaml nor scipy.
"""

from __future__ import annotations

import os

import pytest

CONFIG_FILENAME = "enterprise-config.yaml"
SESSION_PLUGIN_NAME = "enterprise-session"

MARKERS = (
    "severity(level): defect severity of this test: critical, high, medium or low "
    "(pytest-enterprise).",
    "opportunities(n): number of defect opportunities this test stands for (pytest-enterprise).",
    # Kept in step with compliance.markers.MARKER_HELP (tested); not imported, to stay light.
    "control(*ids, na=None): tie this test to compliance controls, e.g. 'CC6.1', "
    "'iso27001:A.5.15', 'Art.32(1)(a)'; na='reason' records not-applicable evidence "
    "(pytest-enterprise).",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("enterprise", "pytest-enterprise quality telemetry")
    group.addoption(
        "--enterprise-report",
        action="store_true",
        default=False,
        help="Enable pytest-enterprise for this run: quality metrics, JSON report, history.",
    )
    group.addoption(
        "--enterprise-output",
        metavar="DIR",
        default=None,
        help="Folder for enterprise-report.json (default: telemetry.output_dir, "
        "'enterprise-reports').",
    )
    group.addoption(
        "--enterprise-json",
        metavar="FILE",
        default=None,
        help="Write the JSON report to exactly this file instead.",
    )
    group.addoption(
        "--enterprise-config",
        metavar="PATH",
        default=None,
        help=f"Config file (default: $ENTERPRISE_CONFIG, else {CONFIG_FILENAME} in rootdir).",
    )
    group.addoption(
        "--enterprise-dpmo-fail-above",
        metavar="N",
        type=float,
        default=None,
        help="Fail the run when its DPMO is above N (overrides telemetry.dpmo_threshold).",
    )
    group.addoption(
        "--enterprise-rty-fail-under",
        metavar="PCT",
        type=float,
        default=None,
        help="Fail the run when its RTY in percent is below PCT (overrides "
        "telemetry.rty_threshold).",
    )
    group.addoption(
        "--enterprise-frameworks",
        metavar="LIST",
        default=None,
        help="Assess these compliance frameworks in this run, comma-separated (soc2-type2, "
        "iso27001, nist-csf, gdpr or a custom id); overrides compliance.frameworks and "
        "enables compliance.",
    )
    group.addoption(
        "--enterprise-no-history",
        action="store_true",
        default=False,
        help="Do not append this run to the history store.",
    )


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    if not _may_be_enabled(config):
        return
    from .errors import EnterpriseError
    from .session import register

    try:
        register(config)
    except EnterpriseError as error:
        pytest.exit(f"pytest-enterprise: {error}", returncode=error.exit_code)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin)


def _may_be_enabled(config: pytest.Config) -> bool:
    """Cheap test for whether loading the config could enable us; reads no file."""
    if config.getoption("enterprise_report") or config.getoption("enterprise_config"):
        return True
    if os.environ.get("ENTERPRISE_CONFIG") or os.environ.get("ENTERPRISE_TELEMETRY_ENABLED"):
        return True
    return (config.rootpath / CONFIG_FILENAME).is_file()
