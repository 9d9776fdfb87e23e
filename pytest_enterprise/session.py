"""The enabled plugin: collect on workers, count on the controller, report at the end.

Follows pytest-cov's controller/worker split. On an xdist worker, ``WorkerEnricher`` only
attaches marker facts (plain builtins) to the setup report of each test. On the controller, or
without xdist, ``EnterpriseSession`` feeds every report to the ``Recorder`` and, at session
finish, runs the analyzers and writes the views.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from .config import EnterpriseConfig
from .errors import EnterpriseError
from .history_location import config_base
from .markers import MarksByParent, item_meta, wanted_marks
from .model import OpportunityDefinition, RunInfo, RunRecord
from .plugin import SESSION_PLUGIN_NAME
from .recorder import META_ATTRIBUTE, Recorder
from .timeutil import rfc3339, utc_now

FLAG_VALUES = "enterprise_flag_values"  # flags.pytest_plugin.PARAM, kept here to stay light

_DESELECTED_KEY = "enterprise_deselected"
FLAGS_PLUGIN_NAME = "enterprise-flags"


def register(config: pytest.Config) -> None:
    """Load the configuration and register the session plugin when the run enables it."""
    settings = EnterpriseConfig.load(
        config.getoption("enterprise_config"), rootdir=config.rootpath
    )
    settings.logging.apply(config_base(settings, config.rootpath) / settings.telemetry.output_dir)
    for stage in settings.telemetry.stages or ():
        config.addinivalue_line("markers", f"{stage}: RTY stage '{stage}' (pytest-enterprise).")
    flags = _flags_run(config, settings)
    supply_chain = _supply_chain_plan(config, settings)
    if not (config.getoption("enterprise_report") or settings.telemetry.enabled or supply_chain):
        return
    if flags is None:
        _watch_flag_markers(config, settings)
    compliance = _compliance_context(config, settings)
    if hasattr(config, "workerinput"):
        plugin: object = WorkerEnricher(settings, compliance)
    else:
        from .reporting import run_history_location

        run_history_location(config, settings)  # a bad --enterprise-history stops the run now, not at its end
        plugin = EnterpriseSession(config, settings, compliance, flags, supply_chain)
    config.pluginmanager.register(plugin, SESSION_PLUGIN_NAME)


def _supply_chain_plan(config: pytest.Config, settings: EnterpriseConfig) -> Any:
    """What the controller emits at session end, or None when nothing is asked for."""
    switches = {
        name: config.getoption(f"enterprise_{name}") for name in ("sbom", "scan", "provenance")
    }
    if not (settings.security.enabled or any(switches.values())):
        return None
    if hasattr(config, "workerinput"):
        return True  # workers only need to know the session is on
    from .supply_chain.pipeline import plan_from_config

    base = settings.source.parent if settings.source is not None else config.rootpath
    return plan_from_config(settings, base, **switches)


def _flags_run(config: pytest.Config, settings: EnterpriseConfig) -> Any:
    """Load the run's flags into the project's ``flag_manager`` and register the flags
    plugin, when feature flags are on; None otherwise."""
    option = config.getoption("enterprise_flags")
    if not (option or settings.feature_flags.enabled):
        return None
    from pathlib import Path

    from .flags.feature_flags import flag_manager
    from .flags.pytest_plugin import FlagsPlugin, FlagsRun

    flag_file = Path(config.invocation_params.dir, option) if option else None
    run = FlagsRun(flag_manager, settings, config.rootpath, flag_file)
    config.pluginmanager.register(FlagsPlugin(run), FLAGS_PLUGIN_NAME)
    return run


def _watch_flag_markers(config: pytest.Config, settings: EnterpriseConfig) -> None:
    """Feature flags are off but the plugin is on: ``@pytest.mark.flags`` still runs each value
    of the flags ``flag_manager`` knows. Nothing is loaded until a marked test is collected,
    and the report has no flags section."""
    from pathlib import Path

    from .flags.pytest_plugin import FlagsPlugin

    def make_run() -> Any:
        from .flags.feature_flags import flag_manager
        from .flags.pytest_plugin import FlagsRun

        return FlagsRun(flag_manager, settings, Path(config.rootpath), None)

    config.pluginmanager.register(FlagsPlugin(make_run=make_run), FLAGS_PLUGIN_NAME)


def _compliance_context(config: pytest.Config, settings: EnterpriseConfig) -> ComplianceRun:
    """Compliance inputs of the run; their files are read now when compliance is on."""
    from .compliance.context import ComplianceContext

    option = config.getoption("enterprise_frameworks")
    frameworks = [name.strip() for name in option.split(",") if name.strip()] if option else None
    base = settings.source.parent if settings.source is not None else config.rootpath
    context = ComplianceContext(settings.compliance, base, frameworks)
    enabled = bool(frameworks) or settings.compliance.enabled
    if enabled:
        context.load_files()
    return ComplianceRun(context, enabled)


class ComplianceRun:
    """The compliance side of a run: ``enabled`` when its frameworks are assessed.

    Control marks are checked whenever the plugin is on, so an unknown ID never passes quietly.
    """

    def __init__(self, context: Any, enabled: bool) -> None:
        from .compliance.markers import ControlMarks

        self.context = context
        self.enabled = enabled
        self.marks = ControlMarks(lambda: context.resolver)
        self.entries: dict[str, list[Any]] = {}  # nodeid -> control entries


class _Collector:
    """Reads marker facts once per collected item."""

    def __init__(self, settings: EnterpriseConfig, compliance: ComplianceRun) -> None:
        self.settings = settings
        self.compliance = compliance
        self.recorder = Recorder()
        self.deselected = 0

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        """Control marks are checked as their items are collected, so a bad one is a
        collection error of its own module, shown as pytest shows any other."""
        report = yield
        if report.passed and report.result:
            problems = []
            control_marks = MarksByParent(("control",))
            for node in report.result:
                if isinstance(node, pytest.Item):
                    marks = control_marks(node)
                    if not marks:
                        continue
                    try:
                        entries = self.compliance.marks.entries(node, marks)
                    except EnterpriseError as error:
                        problems.append(f"pytest-enterprise: {error}")
                        continue
                    if entries is not None:
                        self.compliance.entries[node.nodeid] = entries
            if problems:
                report.outcome = "failed"
                report.longrepr = "\n".join(problems)
                report.result = []
        return report

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if not self.compliance.enabled or not self.compliance.entries:
            return
        now = utc_now()
        waived = self.compliance.context.skipped_controls(now)
        if not waived:
            return
        for item in items:
            entries = self.compliance.entries.get(item.nodeid)
            keys = {(entry[0], entry[1]) for entry in entries or ()}
            # Skipped only when every control it evidences is waived: other evidence still counts.
            if keys and keys <= waived.keys():
                framework, control_id = min(keys)
                waiver = waived[(framework, control_id)].to_dict(now)
                reason = (
                    f"pytest-enterprise: {framework}:{control_id} waived by {waiver['approver']} "
                    f"until {waiver['expires']} (run: false)"
                )
                item.add_marker(pytest.mark.skip(reason=reason))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        stages = self.settings.telemetry.stages
        meta = self.recorder.meta
        controls = self.compliance.entries
        marks = wanted_marks(stages)
        # Every pytest marker of every test, for the dashboard's marker filter: only when the
        # dashboard is asked for (a test with markers takes the report writer's slower path).
        dashboard = self.settings.telemetry.html or session.config.getoption("enterprise_html", None) is not None
        try:
            for item in session.items:
                facts = item_meta(item, stages, marks(item))
                names = _marker_names(item) if dashboard else None
                if names:
                    if facts is None:
                        facts = {"markers": {}}
                    facts["markers"]["pytest"] = names
                entries = controls.get(item.nodeid)
                if entries is not None:
                    if facts is None:
                        facts = {"markers": {}}
                    facts["markers"]["controls"] = entries
                callspec = getattr(item, "callspec", None)
                values = callspec.params.get(FLAG_VALUES) if callspec is not None else None
                if values:
                    if facts is None:
                        facts = {"markers": {}}
                    facts["markers"]["flags"] = dict(values)
                if facts is not None:
                    meta[item.nodeid] = facts
        except EnterpriseError as error:
            pytest.exit(f"pytest-enterprise: {error}", returncode=error.exit_code)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)


# Markers that say how a test is called rather than what it is: left out of the filter.
_PLUMBING_MARKERS = frozenset({"parametrize", "usefixtures", "filterwarnings", "flags", "control"})


def _marker_names(item: pytest.Item) -> list[str]:
    return sorted({mark.name for mark in item.iter_markers()} - _PLUMBING_MARKERS)


class WorkerEnricher(_Collector):
    """xdist worker side: attach marker facts so the controller can count without items."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            facts = self.recorder.meta.get(report.nodeid)
            if facts is not None:
                setattr(report, META_ATTRIBUTE, facts)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        session.config.workeroutput[_DESELECTED_KEY] = self.deselected  # type: ignore[attr-defined]


class EnterpriseSession(_Collector):
    """Controller (or single-process) side: count, analyze, store, report, gate."""

    def __init__(
        self,
        config: pytest.Config,
        settings: EnterpriseConfig,
        compliance: ComplianceRun,
        flags: Any = None,
        supply_chain: Any = None,
    ) -> None:
        super().__init__(settings, compliance)
        self.config = config
        self.flags = flags  # flags.pytest_plugin.FlagsRun when feature flags are on
        self.supply_chain = supply_chain  # supply_chain.pipeline.Plan when artifacts are asked for
        self.started_at = utc_now()
        self.started_perf = time.perf_counter()
        self.interrupted = False
        self.worker_deselected = 0
        self.outcome: Any = None  # reporting.SessionOutcome once the session finished
        self.git_query: Any = None  # environment.GitQuery, started at session start
        self.interrupt_reason: str | None = None
        self.collection_errors: list[dict[str, Any]] = []
        from .interrupts import Signals

        self.signals = Signals()
        self.signals.install()  # SIGTERM finishes the session as interrupted (docs/telemetry.md)
        # Bound once: this is the per-report hot path.
        self.pytest_runtest_logreport = self.recorder.record

    def close(self) -> None:
        """Put back the signal handlers (called at unconfigure)."""
        self.signals.close()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A collector that failed to collect is a unit with a defect: its tests never ran, so
        # leaving it out would report a smaller, cleaner suite than the one asked for. Under
        # xdist the controller gets each worker's failed collect reports here.
        if report.failed and self.recorder.record_collection_error(report):
            nodeid = report.nodeid or "."
            message = self.recorder.tests[nodeid].attempts[0].message
            self.collection_errors.append({"nodeid": nodeid, "message": message})

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        try:
            return (yield)
        finally:
            # From the end of the tests until the evidence is written, a signal is held back
            # and recorded, so a late Ctrl-C cannot leave a half-written or unmarked run.
            self.signals.defer()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        # Every worker collects the whole suite, so each saw the same deselection.
        self.worker_deselected = max(self.worker_deselected, output.get(_DESELECTED_KEY, 0))

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.interrupted = True
        if self.signals.terminated:
            self.interrupt_reason = "SIGTERM"
        elif isinstance(excinfo.value, pytest.Session.Interrupted):
            self.interrupt_reason = str(excinfo.value)  # e.g. "1 error during collection"
        else:
            self.interrupt_reason = "KeyboardInterrupt"

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from .environment import GitQuery

        self.git_query = GitQuery(self.config.rootpath)  # answers arrive while tests run

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from .reporting import finish_run

        self.signals.defer()  # also when the test loop never ran
        try:
            record = self._run_record(int(exitstatus))
            compliance = self.compliance.context if self.compliance.enabled else None
            self.outcome = finish_run(
                self.config,
                self.settings,
                record,
                compliance,
                self.flags,
                self.supply_chain,
                interruption=self.signals.pending,
            )
            session.exitstatus = record.run.exit_status
        finally:
            self.signals.stop_deferring()
        # pytest keeps plugin objects alive through its teardown; let the results go now, or
        # every later garbage collection scans them (0.7 s at 50,000 tests).
        self.recorder.tests.clear()
        self.recorder.meta.clear()
        self.compliance.entries.clear()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome is not None:
            from .report.terminal import render_summary

            render_summary(terminalreporter, self.outcome)

    def _run_record(self, exitstatus: int) -> RunRecord:
        from .redact import redact_args

        telemetry = self.settings.telemetry
        finished = utc_now()
        interrupted = self.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        reason = self.interrupt_reason
        late = self.signals.pending()
        if late is not None:
            interrupted, reason = True, reason or late
            exitstatus = _interrupted_status(exitstatus)
        workers = _xdist_workers(self.config)
        run = RunInfo(
            id=str(uuid.uuid4()),
            started_at=rfc3339(self.started_at),
            finished_at=rfc3339(finished),
            duration_s=round(time.perf_counter() - self.started_perf, 6),
            exit_status=exitstatus,
            interrupted=interrupted,
            args=redact_args(self.config.invocation_params.args),  # before anything writes them
            workers=workers,
            git=self.git_query.result() if self.git_query is not None else None,
            process=telemetry.process_name,
            deselected=self.worker_deselected if workers else self.deselected,
            collection_errors=list(self.collection_errors),
            interrupt_reason=reason if interrupted else None,
        )
        definition = OpportunityDefinition(
            per_unit=telemetry.opportunities_per_unit,
            subtests_as_opportunities=telemetry.subtests_as_opportunities,
        )
        tests = self.recorder.results()
        if telemetry.opportunities_per_unit != 1:
            for test in tests:
                if not test.markers or "opportunities" not in test.markers:
                    test.opportunities = telemetry.opportunities_per_unit
        return RunRecord(run=run, tests=tests, opportunity_definition=definition, stages=telemetry.stages)


def _interrupted_status(exitstatus: int) -> int:
    """pytest's status for an interrupted run, unless it already reports something worse."""
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return int(pytest.ExitCode.INTERRUPTED)
    return exitstatus


def _xdist_workers(config: pytest.Config) -> int:
    if getattr(config.option, "dist", "no") == "no":
        return 0
    count = getattr(config.option, "numprocesses", 0)
    return count if isinstance(count, int) else 0

