"""pytest entry point (``pytest11: enterprise``).

Installed but not enabled, this module is all that runs: it adds options, registers markers and
returns. The per-test machinery (``session.py``) is imported and registered only when the run
asks for it with ``--enterprise-report`` or ``telemetry.enabled: true`` in config, so a disabled
plugin costs no per-test hook and imports neither yaml nor scipy.
"""

from __future__ import annotations

import os
from typing import Any

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
    "flags(*names, combine='isolated'): run this test once per value of these feature flags "
    "(on/off, or each variant); combine='pairwise' or 'all' for combinations "
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
        "--enterprise-html",
        metavar="FILE",
        nargs="?",
        const="",
        default=None,
        help="Also write the HTML dashboard: to FILE, else enterprise-report.html beside the JSON "
        "report (or telemetry.html: true).",
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
        "--enterprise-flags",
        metavar="FILE",
        default=None,
        help="Flag file for this run (YAML or JSON); overrides feature_flags.config_file and "
        "enables flag-variant runs.",
    )
    group.addoption(
        "--enterprise-sbom",
        action="store_true",
        default=False,
        help="Write the SBOM of the tested environment into the report folder (security.sbom_format).",
    )
    group.addoption(
        "--enterprise-scan",
        action="store_true",
        default=False,
        help="Scan the tested environment against the offline OSV database (security.vulnerability_db).",
    )
    group.addoption(
        "--enterprise-provenance",
        action="store_true",
        default=False,
        help="Write signed SLSA provenance over the run's files (key: security.signing_key or "
        "$ENTERPRISE_SIGNING_KEY).",
    )
    group.addoption(
        "--enterprise-history",
        metavar="URL_OR_PATH",
        default=None,
        help="History store for this run: a postgresql:// URL or a SQLite file (overrides "
        "history.url and telemetry.history_path).",
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


FLAGS_PLUGIN_NAME = "enterprise-flags"  # session.FLAGS_PLUGIN_NAME, kept here to stay light


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the flags plugin, ``@pytest.mark.flags`` is inert: say so for each such test.
    Once per session; the flag machinery is not imported."""
    if not items or config.pluginmanager.has_plugin(FLAGS_PLUGIN_NAME):
        return
    marked = marked_items(items, "flags")
    if not marked:
        return
    from .flags.marker_warning import warn_inert

    warn_inert(
        marked,
        "pytest-enterprise is off for this run; pass --enterprise-report or --enterprise-flags FILE,"
        " or set telemetry.enabled or feature_flags.enabled in enterprise-config.yaml",
    )


def marked_items(items: list[Any], name: str) -> list[Any]:
    """The items that carry marker ``name`` on themselves or on a parent (class, module...).

    Items come grouped by parent, so a parent's answer is reused while the parent stays the
    same: a suite without the marker costs a look at each item's (usually empty) own marks.
    """

    def has(node: Any) -> bool:
        while node is not None:
            if any(mark.name == name for mark in node.own_markers):
                return True
            node = node.parent
        return False

    marked = []
    last_parent: Any = None
    parent_marked = False
    for item in items:
        parent = item.parent
        if parent is not last_parent:
            last_parent, parent_marked = parent, has(parent)
        if parent_marked or (item.own_markers and any(mark.name == name for mark in item.own_markers)):
            marked.append(item)
    return marked


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(SESSION_PLUGIN_NAME)
    if plugin is not None:
        close = getattr(plugin, "close", None)
        if close is not None:
            close()  # the session puts back the signal handlers it installed
        config.pluginmanager.unregister(plugin)


@pytest.fixture
def feature_flags() -> Any:
    """Override feature flags for one test: ``feature_flags.set("new_ui", True)``, or a
    variant name; the project's ``flag_manager`` serves it until the test ends."""
    # A fixture costs nothing until a test asks for it, so it is defined even when the
    # plugin is off: tests that use it must not depend on configuration.
    from .flags.feature_flags import flag_manager
    from .flags.pytest_plugin import FlagOverrides

    overrides = FlagOverrides(flag_manager)
    try:
        yield overrides
    finally:
        overrides.restore()


def _may_be_enabled(config: pytest.Config) -> bool:
    """Cheap test for whether loading the config could enable us; reads no file."""
    for option in (
        "enterprise_report", "enterprise_config", "enterprise_flags",
        "enterprise_sbom", "enterprise_scan", "enterprise_provenance",
    ):  # fmt: skip
        if config.getoption(option):
            return True
    for variable in (
        "ENTERPRISE_CONFIG", "ENTERPRISE_TELEMETRY_ENABLED", "ENTERPRISE_FEATURE_FLAGS_ENABLED",
        "ENTERPRISE_SECURITY_ENABLED",
    ):  # fmt: skip
        if os.environ.get(variable):
            return True
    return (config.rootpath / CONFIG_FILENAME).is_file()
