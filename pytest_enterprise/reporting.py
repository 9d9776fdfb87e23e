"""End of a run on the controller: analyze, gate, store and write the report.

Every step that can fail for a reason outside the tests (an unwritable folder, a corrupt
store) is caught here and turned into a one-line problem and an exit status, so the run's
other evidence is still written and the user never sees a traceback.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from . import environment
from .config import EnterpriseConfig
from .errors import EXIT_GATE_FAILED, EXIT_OK, EnterpriseError
from .files import atomic_writer
from .gates import configured_gates, evaluate
from .history_location import config_base, history_location
from .model import RunRecord
from .quality.metrics import analyze_run
from .report.json_report import report_chunks, report_header, result_section

REPORT_FILENAME = "enterprise-report.json"
HTML_FILENAME = "enterprise-report.html"
_TESTS_FAILED = int(pytest.ExitCode.TESTS_FAILED)
_INTERRUPTED = int(pytest.ExitCode.INTERRUPTED)


@dataclass
class SessionOutcome:
    """What the controller computed at session finish, for the terminal summary."""

    quality: Any
    gates: list[Any]
    report_path: Path | None
    problems: list[str] = field(default_factory=list)
    compliance: dict[str, Any] | None = None  # the report's compliance section, when assessed
    flags: dict[str, Any] | None = None  # the report's flags section, when flags are on
    supply_chain: dict[str, Any] | None = None  # the report's supply_chain section
    run: Any = None  # model.RunInfo: collection errors, interruption, evidence gaps
    trends: Any = None  # trends.RunTrends: SPC and flaky history, when history is kept
    flaky_ignored: int = 0  # known-flaky failures the gates left out (telemetry.flaky_gate_exempt)
    html_path: Path | None = None  # the dashboard, when asked for and written


def finish_run(
    config: pytest.Config,
    settings: EnterpriseConfig,
    record: RunRecord,
    compliance: Any = None,
    flags: Any = None,
    supply_chain: Any = None,
    interruption: Callable[[], str | None] | None = None,
) -> SessionOutcome:
    """``compliance`` is the run's ``ComplianceContext`` when frameworks are assessed;
    ``flags`` the run's ``FlagsRun`` when feature flags are on; ``supply_chain`` the
    ``Plan`` of artifacts to emit; ``interruption`` says why the run counts as interrupted
    when a signal was held back while we finish (None: none came)."""
    _add_environment(record)
    telemetry = settings.telemetry
    quality = analyze_run(record, thresholds=telemetry.quality_thresholds)
    quality_data = quality.to_dict()
    gates = configured_gates(
        telemetry,
        dpmo_option=config.getoption("enterprise_dpmo_fail_above"),
        rty_option=config.getoption("enterprise_rty_fail_under"),
    )
    problems: list[str] = []
    trends = _run_trends(config, settings, record, quality, problems) if _history_enabled(config, settings) else None
    gate_quality, flaky_ignored = _gate_quality(record, quality_data, trends, telemetry)
    gate_results = evaluate(gates, gate_quality)
    if flaky_ignored:
        note = f"{flaky_ignored} failure{'s' if flaky_ignored != 1 else ''} of known-flaky tests left out (telemetry.flaky_gate_exempt)"
        gate_results = [replace(result, detail=note) for result in gate_results]
    if trends is not None and telemetry.spc_gate:
        gate_results.append(_spc_gate(trends))
    compliance_data = None
    if compliance is not None:
        compliance_data, compliance_gates = _assess_compliance(config, settings, record, compliance, problems)
        gate_results += compliance_gates
    if any(result.failed for result in gate_results):
        record.run.exit_status = _worse(record.run.exit_status, EXIT_GATE_FAILED)
    flags_data = _flags_section(settings, config, record, flags, problems) if flags is not None else None
    outcome = SessionOutcome(
        quality=quality,
        gates=gate_results,
        report_path=None,
        problems=problems,
        compliance=compliance_data,
        flags=flags_data,
        run=record.run,
        trends=trends,
        flaky_ignored=flaky_ignored,
    )
    artifacts = None
    if supply_chain is not None:
        artifact_dir = _artifact_dir(config, settings)
        artifacts = _supply_chain_artifacts(config, record, supply_chain, artifact_dir, outcome)
    late = interruption() if interruption is not None else None
    if late is not None:
        _mark_interrupted(record, late)
    _write_evidence(config, settings, record, quality_data, outcome)
    if artifacts is not None:
        _supply_chain_provenance(record, supply_chain, artifacts, artifact_dir, outcome)
    config.hook.pytest_enterprise_run_finished(config=config, record=record, quality=quality)
    late = interruption() if interruption is not None else None
    if late is not None and not record.run.interrupted:
        # The signal came while the evidence was being written: write it again, marked (the
        # history store replaces a run saved again under the same id, so it stays one row),
        # and sign the provenance again, as its subjects include the report.
        _mark_interrupted(record, late)
        _write_evidence(config, settings, record, quality_data, outcome)
        if artifacts is not None:
            _supply_chain_provenance(record, supply_chain, artifacts, artifact_dir, outcome)
    _log_finish(record, quality_data, outcome)
    return outcome


def _log_finish(record: RunRecord, quality: dict[str, Any], outcome: SessionOutcome) -> None:
    """One INFO record per run, and a WARNING per problem, for logging.file_logging and
    structured_logging (pytest_enterprise/logs.py)."""
    import logging

    from .logs import configured

    if not configured():
        return
    log = logging.getLogger("pytest_enterprise.run")
    log.info(
        "run %s finished: %s units, %s defects, exit status %s, report %s",
        record.run.id, quality.get("units"), quality.get("defects"), record.run.exit_status, outcome.report_path,
    )  # fmt: skip
    for problem in outcome.problems:
        log.warning("run %s: %s", record.run.id, problem)


def _artifact_dir(config: pytest.Config, settings: EnterpriseConfig) -> Path:
    path = _report_path(config, settings)
    if path is not None:
        return path.parent
    return _resolve(settings, config, settings.telemetry.output_dir)


def _supply_chain_artifacts(
    config: pytest.Config, record: RunRecord, plan: Any, output_dir: Path, outcome: SessionOutcome
) -> Any:
    """SBOM and scan before the report is written, so the report can describe them; None
    when their folder cannot be made (said as a problem, with its exit status)."""
    from .files import make_folder
    from .supply_chain.pipeline import assess_provenance, produce_artifacts

    try:
        make_folder(output_dir, what="folder for the supply-chain artifacts")
    except EnterpriseError as error:
        outcome.problems.append(f"supply chain: nothing written: {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
        return None
    artifacts = produce_artifacts(plan, project_root=config.rootpath, output_dir=output_dir)
    assess_provenance(plan, artifacts)
    outcome.supply_chain = artifacts.section(output_dir, provenance_planned=plan.provenance)
    _supply_chain_status(record, artifacts, outcome)
    return artifacts


def _supply_chain_provenance(
    record: RunRecord, plan: Any, artifacts: Any, output_dir: Path, outcome: SessionOutcome
) -> None:
    """Signed provenance last: its subjects are every file the run wrote, the report too."""
    from .supply_chain.pipeline import RunFacts, produce_provenance
    from .timeutil import parse_timestamp

    if not plan.provenance or artifacts.slsa is None:
        return
    problems_before, failures_before = len(artifacts.problems), len(artifacts.gate_failures)
    tests = record.tests
    facts = RunFacts(
        invocation_id=record.run.id,
        # From the plugin's configure time (run.started_at) until produce_provenance signs,
        # after the SBOM, scan and report are written: the whole build step (docs/provenance.md).
        started_on=parse_timestamp(record.run.started_at),
        finished_on=None,
        arguments=tuple(record.run.args),
        git=None if record.run.git is None else {"commit": record.run.git.commit, "branch": record.run.git.branch},
        # Each test in one list: a test that passed only on a rerun is "warned" (flaky).
        passed=tuple(t.nodeid for t in tests if t.is_unit and t.first_pass),
        warned=tuple(t.nodeid for t in tests if t.is_unit and t.final_pass and not t.first_pass),
        failed=tuple(t.nodeid for t in tests if t.is_unit and not t.final_pass),
    )
    subjects = list(artifacts.files.values())
    if outcome.report_path is not None:
        subjects.append(outcome.report_path)
    produce_provenance(plan, artifacts, subjects=subjects, facts=facts, output_dir=output_dir, assessed=True)
    new = artifacts.problems[problems_before:] + artifacts.gate_failures[failures_before:]
    if new:
        outcome.problems.extend(f"supply chain: {line}" for line in new)
        record.run.exit_status = _worse(record.run.exit_status, artifacts.exit_code)


def _supply_chain_status(record: RunRecord, artifacts: Any, outcome: SessionOutcome) -> None:
    for line in artifacts.problems:
        outcome.problems.append(f"supply chain: {line}")
    for line in artifacts.gate_failures:
        outcome.problems.append(f"supply chain gate FAILED: {line}")
    if artifacts.problems or artifacts.gate_failures:
        record.run.exit_status = _worse(record.run.exit_status, artifacts.exit_code)


def _write_evidence(
    config: pytest.Config,
    settings: EnterpriseConfig,
    record: RunRecord,
    quality: dict[str, Any],
    outcome: SessionOutcome,
) -> None:
    """Write the JSON report and append the run to the history store, from one streamed pass."""
    telemetry = settings.telemetry
    history: dict[str, Any] = {"enabled": False, "path": None, "saved": False, "error": None}
    store_it = _history_enabled(config, settings)
    if store_it:
        location = run_history_location(config, settings)
        # Optimistic: the stored report says it was stored; corrected below if that fails.
        # "path" names the store as every message does: a file, or a URL without its password.
        history.update(enabled=True, path=location.display, saved=True)
    header = report_header(record, quality, outcome.gates, history)
    if outcome.compliance is not None:
        header["compliance"] = outcome.compliance
    if outcome.flags is not None:
        header["flags"] = outcome.flags
    if outcome.supply_chain is not None:
        header["supply_chain"] = outcome.supply_chain
    if outcome.trends is not None:
        header["spc"] = outcome.trends.spc_section()
        header["flaky"] = outcome.trends.flaky_section(telemetry.flaky_gate_exempt, outcome.flaky_ignored)
    config.hook.pytest_enterprise_extend_report(config=config, report=header)

    report_path = _report_path(config, settings)
    try:
        compressed = _stream_report(header, record, report_path, compress=store_it)
    except EnterpriseError as error:
        outcome.problems.append(f"report not written: {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
        report_path = None
        compressed = _stream_report(header, record, None, compress=store_it)
    if store_it:
        try:
            _save_history(location, record, quality, settings, compressed)
        except EnterpriseError as error:
            history.update(saved=False, error=str(error))
            outcome.problems.append(f"history not saved: {error}")
            record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
            header["run"]["exit_status"] = record.run.exit_status
            if report_path is not None:  # rare: say so in the file too
                try:
                    _stream_report(header, record, report_path, compress=False)
                except EnterpriseError as again:  # the first copy stays, as atomic writes do
                    outcome.problems.append(f"report not updated: {again}")
    outcome.report_path = report_path
    html_path = _html_path(config, settings, report_path)
    if html_path is not None:
        folder = report_path.parent if report_path is not None else html_path.parent
        _write_dashboard(html_path, header, record, outcome, folder)


def _html_path(config: pytest.Config, settings: EnterpriseConfig, report_path: Path | None) -> Path | None:
    """Where the dashboard goes, when asked for: ``--enterprise-html=FILE``, else beside the
    JSON report (or in ``telemetry.output_dir`` when no JSON report is written)."""
    option = config.getoption("enterprise_html")
    if option is None and not settings.telemetry.html:
        return None
    if option:
        return config.invocation_params.dir / option
    folder = report_path.parent if report_path is not None else _resolve(settings, config, settings.telemetry.output_dir)
    return folder / HTML_FILENAME


def _write_dashboard(
    path: Path, header: dict[str, Any], record: RunRecord, outcome: SessionOutcome, folder: Path
) -> None:
    """The dashboard from the report as written, with its series' charts when there is
    history. A failure to write it is a problem of the run, like the JSON report's."""
    from .report.html.render import write_dashboard
    from .trends import dashboard_history

    report = {**header, "tests": [result_section(test) for test in record.tests]}
    history = dashboard_history(outcome.trends.spc) if outcome.trends is not None else None
    try:
        write_dashboard(path, report, history, folder, during_run=True)
    except EnterpriseError as error:
        outcome.problems.append(f"dashboard not written: {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
        return
    outcome.html_path = path


def _history_enabled(config: pytest.Config, settings: EnterpriseConfig) -> bool:
    return settings.telemetry.store_history and not config.getoption("enterprise_no_history")


def _run_trends(
    config: pytest.Config, settings: EnterpriseConfig, record: RunRecord, quality: Any, problems: list[str]
) -> Any:
    """SPC and flaky history of this run from the store, before the run joins it; None (and
    a problem) when the store cannot be read."""
    from .store import open_store
    from .trends import run_trends

    try:
        with open_store(run_history_location(config, settings)) as store:
            return run_trends(store, record, quality, settings.telemetry)
    except EnterpriseError as error:
        problems.append(f"history not analysed (SPC, flaky tests): {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
        return None


def _gate_quality(
    record: RunRecord, quality: dict[str, Any], trends: Any, telemetry: Any
) -> tuple[dict[str, Any], int]:
    """The numbers the gates judge: the run's, or with ``flaky_gate_exempt`` the run's without
    the failures of known-flaky tests (and how many were left out)."""
    if not telemetry.flaky_gate_exempt or trends is None or not trends.flaky_failures:
        return quality, 0
    exempt = {verdict.nodeid for verdict in trends.flaky_failures}
    kept = replace(record, tests=[test for test in record.tests if test.nodeid not in exempt])
    return analyze_run(kept, thresholds=telemetry.quality_thresholds).to_dict(), len(exempt)


def _spc_gate(trends: Any) -> Any:
    from .gates import Gate, GateResult
    from .quality.control import CHART_TITLES, GATE_CHARTS, INSUFFICIENT

    gate = Gate("spc_signals", "SPC", 0, "above", "telemetry.spc_gate")
    if trends.spc.limits.state == INSUFFICIENT:
        return GateResult(gate, None, "no data", trends.spc.summary(trends.run_id))
    signals = trends.spc.signals_at(trends.run_id, GATE_CHARTS)
    detail = ", ".join(f"{signal.rule} on the {CHART_TITLES[name]} chart" for name, signal in signals)
    return GateResult(gate, float(len(signals)), "failed" if signals else "passed", detail or None)


def _assess_compliance(
    config: pytest.Config,
    settings: EnterpriseConfig,
    record: RunRecord,
    context: Any,
    problems: list[str],
) -> tuple[dict[str, Any], list[Any]]:
    """Roll the run up into control states, with the manual statuses kept in the store."""
    from .compliance.context import run_facts
    from .compliance.gates import compliance_gates
    from .store import open_store

    manual: list[Any] = []
    try:
        with open_store(run_history_location(config, settings)) as store:
            manual = context.manual_statuses(store.control_statuses())
    except EnterpriseError as error:
        problems.append(f"manual compliance statuses not read: {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
    result = context.roll_up(record.tests, run=run_facts(record), manual=manual)
    return result.to_dict(), compliance_gates(settings.compliance, result)


def _flags_section(
    settings: EnterpriseConfig, config: pytest.Config, record: RunRecord, flags: Any, problems: list[str]
) -> dict[str, Any]:
    """Outcomes per flag and variant, and warnings; canary guards judge the tests that ran
    their flag on, recording any trip in the project's audit log."""
    from .audit import StoreAuditLog
    from .flags.report import flags_section

    audit = StoreAuditLog(run_history_location(config, settings))
    try:
        return flags_section(flags, record, audit)
    except EnterpriseError as error:
        problems.append(f"flags: {error}")
        record.run.exit_status = _worse(record.run.exit_status, error.exit_code)
        return flags_section(flags, record, None)


def _worse(current: int | None, candidate: int) -> int:
    """Raise a clean or test-failure exit status to ``candidate``; keep pytest's own others."""
    current = EXIT_OK if current is None else current
    if current in (EXIT_OK, _TESTS_FAILED) and candidate > current:
        return candidate
    return current


def _mark_interrupted(record: RunRecord, reason: str) -> None:
    """pytest's interrupted status (2), unless the run already ended worse."""
    run = record.run
    run.interrupted = True
    run.interrupt_reason = run.interrupt_reason or reason
    if run.exit_status in (None, EXIT_OK, _TESTS_FAILED):
        run.exit_status = _INTERRUPTED


def _add_environment(record: RunRecord) -> None:
    run = record.run
    run.python = environment.python_description()
    run.platform = environment.platform_description()
    run.ci_job_url = environment.ci_job_url()
    run.environment = environment.environment_name()


def _resolve(settings: EnterpriseConfig, config: pytest.Config, configured: str) -> Path:
    """Paths from config are relative to the config file's folder, else to rootdir."""
    return (config_base(settings, config.rootpath) / configured).resolve()


def run_history_location(config: pytest.Config, settings: EnterpriseConfig) -> Any:
    """The run's history store (a ``StoreLocation``): ``--enterprise-history`` (from the
    invocation directory, as ``--junitxml``), else ``history.url``, else
    ``telemetry.history_path``. Pure, so each step of the run's end asks again."""
    return history_location(
        settings,
        config.rootpath,
        config.getoption("enterprise_history"),
        invocation_dir=config.invocation_params.dir,
        option="--enterprise-history",
    )


def _report_path(config: pytest.Config, settings: EnterpriseConfig) -> Path | None:
    invocation_dir = config.invocation_params.dir
    explicit_file = config.getoption("enterprise_json")
    if explicit_file:
        return invocation_dir / explicit_file
    explicit_dir = config.getoption("enterprise_output")
    if explicit_dir:
        return invocation_dir / explicit_dir / REPORT_FILENAME
    if not settings.telemetry.auto_generate_reports:
        return None
    return _resolve(settings, config, settings.telemetry.output_dir) / REPORT_FILENAME


def _stream_report(
    header: dict[str, Any], record: RunRecord, path: Path | None, *, compress: bool
) -> bytes | None:
    """Write the report to ``path`` (if any) and return it zlib-compressed (if asked)."""
    compressor = zlib.compressobj(1) if compress else None
    pieces: list[bytes] = []
    with atomic_writer(path) if path is not None else nullcontext() as handle:
        for chunk in report_chunks(header, record.tests):
            if handle is not None:
                handle.write(chunk)
            if compressor is not None:
                pieces.append(compressor.compress(chunk.encode("utf-8")))
        if handle is not None:
            handle.write("\n")
    if compressor is None:
        return None
    pieces.append(compressor.flush())
    return b"".join(pieces)


def _save_history(
    location: Any, record: RunRecord, quality: dict[str, Any], settings: EnterpriseConfig, report_zlib: bytes | None
) -> None:
    from .store import open_store

    telemetry = settings.telemetry
    with open_store(location) as store:
        store.save_run(record, quality, detailed=telemetry.store_detailed_metrics, report_zlib=report_zlib)
        store.purge(telemetry.retention_days)
