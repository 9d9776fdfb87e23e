"""Quality over time: the store's history fed to the pure analyses (``quality/control.py``,
``quality/flaky.py``), for the CLI and for the end of a pytest run.

An adapter: it reads through the store's interface (no SQL here) and hands plain rows on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import DEFECT_OUTCOMES
from .quality import control, flaky
from .store.series import SeriesRun, TestInRun
from .timeutil import format_timestamp, parse_timestamp
from .utf8 import utf8_safe

#: The newest runs a finishing run's charts plot: far more than the longest run rule (14
#: points) looks back, and the cost stays flat however long the stage grows.
RUN_CHART_POINTS = 100


def spc_settings(telemetry: Any) -> dict[str, Any]:
    return {
        "baseline_runs": telemetry.spc_baseline_runs,
        "min_runs": min(telemetry.spc_min_runs, telemetry.spc_baseline_runs),
        "rules": tuple(telemetry.spc_rules),
    }


def flaky_settings(telemetry: Any) -> dict[str, Any]:
    return {
        "min_runs": telemetry.flaky_min_runs,
        "flip_threshold": telemetry.flaky_flip_threshold,
        "outage_threshold": telemetry.flaky_outage_threshold,
    }


def process_series(
    store: Any, process: str, telemetry: Any, *, same: dict[str, str | None] | None = None
) -> list[control.SeriesControl]:
    """The control state of every series of ``process``; ``same`` keeps to one branch and/or
    environment, as the store's filter does."""
    baselines = store.spc_baselines(process)
    return [
        control.control_series(process, branch, environment, series, baselines, **spc_settings(telemetry))
        for (branch, environment), series in control.split_series(store.series_runs(process, same=same)).items()
    ]


def process_flaky(
    store: Any, process: str, telemetry: Any, *, runs: int | None = None, same: dict[str, str | None] | None = None
) -> flaky.FlakyAnalysis:
    """Flaky verdicts over the newest ``runs`` (default ``telemetry.flaky_window``) of ``process``
    (with ``same``, of one branch and/or environment)."""
    window = store.series_runs(process, same=same, limit=runs or telemetry.flaky_window)
    tests = store.tests_in_runs([run.id for run in window])
    return flaky.analyze(window, tests, **flaky_settings(telemetry))


# --------------------------------------------------------------------------- end of a pytest run


def current_run(record: Any, quality: Any) -> SeriesRun:
    """The run being finished, as the store will give it back once saved."""
    run = record.run
    git = run.git
    failed = None
    if quality.units and quality.final_yield is not None:
        failed = round(quality.units * (100.0 - quality.final_yield) / 100.0)
    return SeriesRun(
        id=run.id,
        # The store's spelling of the instant, so it sorts with the stored runs.
        started_at=format_timestamp(parse_timestamp(run.started_at)),
        branch=git.branch if git else None,
        environment=run.environment,
        commit=git.commit if git else None,
        dirty=git.dirty if git else None,
        units=quality.units,
        failed_units=failed,
        dpmo=quality.dpmo,
        duration_s=run.duration_s,
        opportunity_definition=quality.opportunity_definition,
        interrupted=run.interrupted,
    )


@dataclass
class RunTrends:
    """What history says about the run being finished: its SPC and its flaky failures."""

    spc: control.SeriesControl
    run_id: str
    flaky_failures: list[flaky.Verdict] = field(default_factory=list)
    other_failures: int = 0  # failed first without a flaky verdict
    history_runs: int = 0  # runs of history the flaky verdicts read
    outage: bool = False  # this run is an outage: no flaky verdicts drawn from it

    @property
    def new_signals(self) -> list[tuple[str, Any]]:
        return self.spc.signals_at(self.run_id)

    def summary(self) -> str:
        """The SPC verdict on this run; a run the charts leave out says so first."""
        why = dict(self.spc.stage.excluded).get(self.run_id)
        if why is not None:
            return f"this run is not charted ({why}); the series: {self.spc.summary()}"
        return self.spc.summary(self.run_id)

    def spc_line(self) -> str:
        return "SPC: " + self.summary()

    def spc_section(self) -> dict[str, Any]:
        data = {
            "summary": self.summary(),
            "series": {"process": self.spc.process, "branch": self.spc.branch, "environment": self.spc.environment},
            **self.spc.outline(),  # not to_dict(): a run's report needs no chart of every point
            "signals": [
                {"chart": name, "rule": s.rule, "description": control.RULE_DESCRIPTIONS[s.rule],
                 "runs": [self.spc.charts[name].points[i].label for i in s.points]}
                for name, s in self.new_signals
            ],  # fmt: skip
            "this_run": {},
        }
        for name, chart in self.spc.charts.items():
            point = chart.points[-1] if chart.points and chart.points[-1].label == self.run_id else None
            if point is not None:
                data["this_run"][name] = {
                    "kind": chart.kind, "value": point.value, "center": point.center,
                    "lcl": point.lcl, "ucl": point.ucl, "sigma_z": chart.sigma_z,
                }  # fmt: skip
        return data

    def flaky_section(self, gate_exempt: bool, ignored: int) -> dict[str, Any]:
        return {
            "history_runs": self.history_runs,
            "this_run_is_outage": self.outage,
            "failures_with_flaky_history": [flaky.verdict_dict(v) for v in self.flaky_failures],
            "failures_without_flaky_history": self.other_failures,
            "gate_exempt": gate_exempt,
            "ignored_by_gates": ignored,
        }


def series_history(store: Any, record: Any, quality: Any, telemetry: Any) -> dict[str, Any]:
    """The charts of a run's series up to that run, the run its newest point (stored or not),
    as ``telemetry spc --format json`` prints a series: what the dashboard draws."""
    this = current_run(record, quality)
    runs = store.series_runs(record.run.process, same={"branch": this.branch, "environment": this.environment})
    earlier = [run for run in runs if run.id != this.id and run.started_at <= this.started_at]
    return dashboard_history(_run_control(store, record.run.process, this, earlier, telemetry))


def _run_control(
    store: Any, process: str, this: SeriesRun, earlier: list[SeriesRun], telemetry: Any
) -> control.SeriesControl:
    """The SPC of a run's series with the run as its newest point, plotted as a run sees it."""
    return control.control_series(
        process, this.branch, this.environment, [*earlier, this], store.spc_baselines(process),
        **spc_settings(telemetry), newest=RUN_CHART_POINTS,
    )  # fmt: skip


def dashboard_history(spc: control.SeriesControl) -> dict[str, Any]:
    """What the dashboard draws of a series: its control charts (once there are runs enough
    for limits) and the stage's newest runs as plain values, for trends drawn without limits
    before then."""
    runs = sorted(spc.runs_by_id.values(), key=lambda run: run.started_at)[-RUN_CHART_POINTS:]
    return {
        **spc.to_dict(),
        "runs": [
            {
                "run_id": run.id,
                "started_at": run.started_at,
                "failed_fraction": None if not run.units or run.failed_units is None else run.failed_units / run.units,
                "dpmo": run.dpmo,
                "duration_s": run.duration_s,
            }
            for run in runs
        ],
    }


def run_trends(store: Any, record: Any, quality: Any, telemetry: Any) -> RunTrends:
    """SPC of the run's series with the run as its newest point, and the flaky history of the
    tests that failed first in it. Reads only that series and the flaky window."""
    this = current_run(record, quality)
    process = record.run.process
    history = store.series_runs(process, same={"branch": this.branch, "environment": this.environment})
    trends = RunTrends(_run_control(store, process, this, history, telemetry), this.id)
    # First attempt a defect (TestResult.first_pass, without its per-test property calls).
    failed = [test for test in record.tests if test.attempts and test.attempts[0].outcome in DEFECT_OUTCOMES]
    if not failed:
        return trends
    settings = flaky_settings(telemetry)
    if this.units and this.failed_units is not None and this.failed_units / this.units >= settings["outage_threshold"]:
        trends.outage, trends.other_failures = True, len(failed)
        return trends
    window = store.series_runs(process, limit=telemetry.flaky_window - 1)
    tests = store.tests_in_runs([run.id for run in window], [test.nodeid for test in failed])
    for test in failed:  # this run, not stored yet
        attempts = test.attempts
        rerun_seconds = sum(attempt.duration for attempt in attempts[:-1])
        # Under the name the store knows it by (node ids that UTF-8 cannot hold are escaped).
        tests.add(utf8_safe(test.nodeid), TestInRun(this.id, tuple(attempt.outcome for attempt in attempts), rerun_seconds))
    analysis = flaky.analyze([*window, this], tests, **settings)
    trends.history_runs = len(window)
    trends.flaky_failures = analysis.flaky
    trends.other_failures = len(failed) - len(analysis.flaky)
    return trends

