"""Control charts of one series of runs: which runs are compared, and against which limits.

Pure functions over plain run rows (``store.series.SeriesRun`` or anything with the same
attributes); ``spc.py`` draws the charts. DESIGN §8: only like is compared with like.

* A **series** is one process × branch × environment (tox env or CI job).
* A **stage** of a series starts at its first run, where the opportunity definition changes
  (defects per opportunity are not comparable across definitions), and after a baseline reset.
* Runs that cannot be compared are left out and listed with the reason: an interrupted run
  did not run every test, a run without units has no fraction.
* **Limits**: with fewer than ``min_runs`` runs in the stage, none are drawn and the result
  says how many runs are missing. Then trial limits, recomputed from every run of the stage,
  until the stage has ``baseline_runs`` runs: from then on the limits are frozen on its first
  ``baseline_runs`` runs, unless ``enterprise telemetry baseline freeze`` chose other runs
  (an explicit baseline, audited).
* The attribute chart is the p chart or Laney's p′, as the dispersion test over the runs the
  limits come from decides; DPMO and suite duration get XmR charts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .spc import (
    LANEY_P_CHART,
    RULE_DESCRIPTIONS,
    RULES,
    Chart,
    attribute_chart,
    laney_p_chart,
    p_chart,
    xmr_chart,
)

DEFAULT_BASELINE_RUNS = 20
DEFAULT_MIN_RUNS = 10

INSUFFICIENT = "insufficient data"
TRIAL = "trial"
FROZEN = "frozen"

# The charts of a series, in the order they are shown.
DEFECT_FRACTION = "defect_fraction"
DPMO = "dpmo"
DPMO_RANGE = "dpmo_moving_range"
DURATION = "duration"
DURATION_RANGE = "duration_moving_range"
#: The charts that judge a single run (its terminal line, report section and gate). A moving
#: range belongs to two runs and is left to ``enterprise telemetry spc``.
RUN_CHARTS = (DEFECT_FRACTION, DPMO, DURATION)
#: The charts ``telemetry.spc_gate`` fails a run on: its quality, not its speed.
GATE_CHARTS = (DEFECT_FRACTION, DPMO)
CHART_TITLES = {
    DEFECT_FRACTION: "failed fraction",
    DPMO: "DPMO",
    DPMO_RANGE: "DPMO moving range",
    DURATION: "suite duration (s)",
    DURATION_RANGE: "duration moving range (s)",
}


def series_label(process: str, branch: str | None, environment: str | None) -> str:
    """``pytest``, ``pytest, branch main, environment py311``: what a chart compares."""
    label = process
    if branch is not None:
        label += f", branch {branch}"
    if environment is not None:
        label += f", environment {environment}"
    return label


@dataclass(frozen=True)
class Stage:
    number: int  # 1 for the series' first stage
    reason: str  # why it started
    runs: list[Any]  # the comparable runs, oldest first
    excluded: list[tuple[str, str]]  # (run id, why it is left out)


@dataclass(frozen=True)
class Limits:
    state: str  # INSUFFICIENT, TRIAL or FROZEN
    run_ids: tuple[str, ...] = ()  # the runs the limits come from
    source: str = ""  # "trial", "first N runs of the stage", "frozen by ACTOR at T"
    runs_needed: int = 0


@dataclass
class SeriesControl:
    """The control state of one series' current stage."""

    process: str
    branch: str | None
    environment: str | None
    stage: Stage
    limits: Limits
    charts: dict[str, Chart] = field(default_factory=dict)
    runs_by_id: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return series_label(self.process, self.branch, self.environment)

    def signals(self) -> list[tuple[str, Any]]:
        """Every (chart name, signal), in chart order."""
        return [(name, signal) for name, chart in self.charts.items() for signal in chart.signals]

    def signals_at(self, run_id: str, charts: Iterable[str] = RUN_CHARTS) -> list[tuple[str, Any]]:
        """The signals of ``charts`` that fire at ``run_id`` (e.g. the run just finished)."""
        found = []
        for name in charts:
            chart = self.charts.get(name)
            if chart is None:
                continue
            for signal in chart.signals:
                if chart.points[signal.at].label == run_id:
                    found.append((name, signal))
        return found

    def summary(self, run_id: str | None = None) -> str:
        """One line: in control over N runs, the signals (at ``run_id`` if given), or what is missing."""
        where = f"series {self.label}, stage {self.stage.number}"
        if self.limits.state == INSUFFICIENT:
            have = len(self.stage.runs)
            return (
                f"{self.limits.runs_needed} more run{'s' if self.limits.runs_needed != 1 else ''}"
                f" needed before control limits ({have} comparable in {where})"
            )
        chart = self.charts[DEFECT_FRACTION]
        kind = "p′ chart" if chart.kind == LANEY_P_CHART else "p chart"
        limits = "trial limits" if self.limits.state == TRIAL else "frozen limits"
        context = f"({kind}, {limits}; {where})"
        everywhere = self.signals_at_any()
        if run_id is not None:
            here = self.signals_at(run_id)
            if here:
                name, first = here[0]
                more = f" and {len(here) - 1} more" if len(here) > 1 else ""
                return (
                    f"signal {first.rule} ({RULE_DESCRIPTIONS[first.rule]}) on the"
                    f" {CHART_TITLES[name]} chart at this run{more} {context}"
                )
            if everywhere:
                return f"no signal at this run; {self._earlier(everywhere)} {context}"
        if not everywhere:
            return f"in control over {self._span()} {context}"
        return f"not in control: {self._earlier(everywhere)} {context}"

    def _windowed(self) -> bool:
        return len(self.charts[DEFECT_FRACTION].points) < len(self.stage.runs)

    def _span(self) -> str:
        """``34 runs``, or ``the last 100 of 1,000 runs`` when the charts show only the newest."""
        total = len(self.stage.runs)
        if self._windowed():
            return f"the last {len(self.charts[DEFECT_FRACTION].points):,} of {total:,} runs"
        return f"{total:,} runs"

    def signals_at_any(self) -> list[tuple[str, Any]]:
        """The signals of the run-judging charts anywhere in the stage, in run order."""
        found = [(name, s) for name in RUN_CHARTS if name in self.charts for s in self.charts[name].signals]
        order = {run.id: index for index, run in enumerate(self.stage.runs)}
        return sorted(found, key=lambda item: order[self.charts[item[0]].points[item[1].at].label])

    def _earlier(self, signals: list[tuple[str, Any]]) -> str:
        name, latest = signals[-1]
        run = self.charts[name].points[latest.at].label
        noun = "signal" if len(signals) == 1 else "signals"
        where = self._span() if self._windowed() else "this stage"
        return f"{len(signals)} {noun} in {where}, the latest {latest.rule} on the {CHART_TITLES[name]} chart at run {run}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "branch": self.branch,
            "environment": self.environment,
            **self.outline(),
            "charts": {name: self._chart_dict(name, chart) for name, chart in self.charts.items()},
        }

    def outline(self) -> dict[str, Any]:
        """The stage and the limits, without the charts (what one run's report needs)."""
        return {
            "stage": {
                "number": self.stage.number,
                "reason": self.stage.reason,
                "runs": len(self.stage.runs),
                "excluded": [{"run_id": run_id, "reason": why} for run_id, why in self.stage.excluded],
            },
            "limits": {
                "state": self.limits.state,
                "source": self.limits.source,
                "runs": list(self.limits.run_ids),
                "runs_needed": self.limits.runs_needed,
            },
        }

    def _chart_dict(self, name: str, chart: Chart) -> dict[str, Any]:
        rules_at: dict[int, list[str]] = {}
        for signal in chart.signals:
            rules_at.setdefault(signal.at, []).append(signal.rule)
        return {
            "title": CHART_TITLES[name],
            "kind": chart.kind,
            "center": chart.center,
            "sigma_z": chart.sigma_z,
            "dispersion_p_value": chart.dispersion_p_value,
            "points": [
                {
                    "run_id": point.label,
                    "started_at": self.runs_by_id[point.label].started_at,
                    "value": point.value,
                    "center": point.center,
                    "lcl": point.lcl,
                    "ucl": point.ucl,
                    "rules": rules_at.get(index, []),
                }
                for index, point in enumerate(chart.points)
            ],
            "signals": [
                {
                    "rule": signal.rule,
                    "description": RULE_DESCRIPTIONS[signal.rule],
                    "runs": [chart.points[i].label for i in signal.points],
                }
                for signal in chart.signals
            ],
        }


def split_series(runs: Iterable[Any]) -> dict[tuple[str | None, str | None], list[Any]]:
    """Runs grouped by (branch, environment), each group in the given order."""
    series: dict[tuple[str | None, str | None], list[Any]] = {}
    for run in runs:
        series.setdefault((run.branch, run.environment), []).append(run)
    return series


def current_stage(runs: Sequence[Any], resets: Sequence[str] = ()) -> Stage:
    """The last stage of one series' runs (oldest first); ``resets`` are the RFC 3339 times
    its limits were reset at."""
    number, reason, start = 1, "first run of the series", 0
    definition = None
    reset_times = sorted(resets)
    next_reset = 0
    for index, run in enumerate(runs):
        while next_reset < len(reset_times) and reset_times[next_reset] <= run.started_at:
            if index > start:
                number, reason, start = number + 1, f"limits reset at {reset_times[next_reset]}", index
            next_reset += 1
        if _why_excluded(run) is not None:
            continue
        if definition is not None and run.opportunity_definition != definition:
            number, reason, start = number + 1, f"opportunity definition changed to {run.opportunity_definition!r}", index
        definition = run.opportunity_definition
    for reset in reset_times[next_reset:]:  # after the last run: a stage with no runs yet
        number, reason, start = number + 1, f"limits reset at {reset}", len(runs)
    kept, excluded = [], []
    for run in runs[start:]:
        why = _why_excluded(run)
        if why is None:
            kept.append(run)
        else:
            excluded.append((run.id, why))
    return Stage(number, reason, kept, excluded)


def _why_excluded(run: Any) -> str | None:
    if run.interrupted:
        return "interrupted: not every test ran"
    if not run.units:
        return "no units"
    if run.failed_units is None:
        return "no yield recorded"
    return None


def control_series(
    process: str,
    branch: str | None,
    environment: str | None,
    runs: Sequence[Any],
    baselines: Sequence[Any] = (),
    *,
    baseline_runs: int = DEFAULT_BASELINE_RUNS,
    min_runs: int = DEFAULT_MIN_RUNS,
    rules: Iterable[str] = RULES,
    newest: int | None = None,
) -> SeriesControl:
    """The control state of one series (its runs oldest first). ``baselines`` are its
    ``BaselineRow``s oldest first (other series' rows are ignored). With ``newest``, the
    charts plot only the stage's newest runs (the limits still come from its baseline): what
    one run is judged on, when the stage is long."""
    if not 2 <= min_runs <= baseline_runs:
        raise ValueError(f"need 2 <= min_runs <= baseline_runs, got {min_runs} and {baseline_runs}")
    rules = tuple(rules)
    own = [b for b in baselines if (b.branch, b.environment) == (branch, environment)]
    stage = current_stage(runs, [b.recorded_at for b in own if b.action == "reset"])
    limits = _limits(stage, own, baseline_runs, min_runs)
    control = SeriesControl(process, branch, environment, stage, limits, runs_by_id={r.id: r for r in stage.runs})
    if limits.state != INSUFFICIENT:
        baseline = set(limits.run_ids)
        plotted = stage.runs[-newest:] if newest else stage.runs
        control.charts = _charts(plotted, [run for run in stage.runs if run.id in baseline], rules)
    return control


def _limits(stage: Stage, baselines: Sequence[Any], baseline_runs: int, min_runs: int) -> Limits:
    ids = [run.id for run in stage.runs]
    latest = baselines[-1] if baselines else None
    if latest is not None and latest.action == "freeze" and set(latest.run_ids) <= set(ids):
        return Limits(FROZEN, tuple(latest.run_ids), f"frozen on {len(latest.run_ids)} runs by {latest.actor} at {latest.recorded_at}")
    if len(ids) < min_runs:
        return Limits(INSUFFICIENT, runs_needed=min_runs - len(ids))
    if len(ids) < baseline_runs:
        return Limits(TRIAL, tuple(ids), f"trial: all {len(ids)} runs of the stage; frozen at {baseline_runs}")
    return Limits(FROZEN, tuple(ids[:baseline_runs]), f"the first {baseline_runs} runs of the stage")


def _charts(runs: Sequence[Any], base: Sequence[Any], rules: tuple[str, ...]) -> dict[str, Chart]:
    labels = [run.id for run in runs]
    # The baseline decides the chart and its parameters; ``runs`` are plotted against them.
    reference = attribute_chart([r.failed_units for r in base], [r.units for r in base], rules=())
    defects = [r.failed_units for r in runs]
    units = [r.units for r in runs]
    if reference.kind == LANEY_P_CHART:
        fraction = laney_p_chart(defects, units, labels, center=reference.center, sigma_z=reference.sigma_z, rules=rules)
    else:
        fraction = p_chart(defects, units, labels, center=reference.center, rules=rules)
    # The dispersion test is the baseline's: it is what chose the chart.
    charts = {DEFECT_FRACTION: replace(fraction, sigma_z=reference.sigma_z, dispersion_p_value=reference.dispersion_p_value)}
    # The pattern rules' false-alarm rates assume normal, independent points. A run's DPMO (a
    # scaled binomial count) and its duration (skewed) are far from normal: on their charts
    # only a point beyond its limits counts (DESIGN §3: the run rules are for the attribute chart).
    beyond_only = tuple(rule for rule in rules if rule == "nelson-1")
    charts.update(_xmr(DPMO, DPMO_RANGE, runs, base, "dpmo", beyond_only))
    charts.update(_xmr(DURATION, DURATION_RANGE, runs, base, "duration_s", beyond_only))
    return charts


def _xmr(
    name: str, range_name: str, runs: Sequence[Any], base: Sequence[Any], attribute: str, rules: tuple[str, ...]
) -> dict[str, Chart]:
    plotted = [run for run in runs if getattr(run, attribute) is not None]
    reference = [getattr(run, attribute) for run in base if getattr(run, attribute) is not None]
    if len(plotted) < 2 or len(reference) < 2:
        return {}
    center = sum(reference) / len(reference)
    mr_bar = sum(abs(b - a) for a, b in zip(reference, reference[1:])) / (len(reference) - 1)
    individuals, moving = xmr_chart(
        [getattr(run, attribute) for run in plotted], [run.id for run in plotted], center=center, mr_bar=mr_bar,
        rules=rules,
    )
    return {name: individuals, range_name: moving}
