"""The dashboard as one self-contained HTML file: Jinja2 renders ``view.dashboard_view``; the
stylesheet and the script are inlined, and a Content-Security-Policy in the page allows
exactly those two (by their SHA-256) and nothing else: no request of any kind can leave the
page, wherever it is opened (``file://``, a CI artifact, a mail attachment).

Imported only when a dashboard is asked for (Jinja2 costs ~40 ms to import).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..summary import fixed_text
from . import svg
from .artifacts import supply_chain_details
from .view import CONTROL_STATES, dashboard_view

__all__ = ["render_dashboard", "write_dashboard"]

# The charts of a series, as the page shows them: (chart name, heading, percent scale).
CHARTS = (
    ("defect_fraction", "Failed fraction per run", True),
    ("dpmo", "DPMO per run", False),
    ("duration", "Suite duration per run (s)", False),
)


def render_dashboard(
    report: Mapping[str, Any], history: Mapping[str, Any] | None = None, folder: Path | None = None,
    *, during_run: bool = False, trusted_keys: Sequence[Path] = (),
) -> str:  # fmt: skip
    """The page for ``report`` (and the history of its series, when there is one). ``folder``
    is where the report was written: its supply-chain files are read from there (but not the
    provenance ``during_run``: the run writes it after the page), and its provenance verified
    against ``trusted_keys``."""
    view = dashboard_view(report, history)
    view["supply_chain_details"] = supply_chain_details(
        report.get("supply_chain"), folder, provenance_written=not during_run, trusted_keys=trusted_keys
    )
    run_id = view["run"]["id"]
    charts = []
    for name, heading, percent in CHARTS:
        chart = view["spc"]["charts"].get(name)
        drawn = svg.control_chart(chart, chart_id=f"chart-{name}", percent=percent, this_run=run_id) if chart else None
        if drawn is not None:
            charts.append({"name": name, "heading": heading, "svg": drawn, "signals": _signals(chart.get("signals") or [])})
    yield_points = _yield_points(view["spc"]["charts"].get("defect_fraction"))
    yield_chart = None
    if yield_points:
        yield_chart = svg.line_chart(yield_points, chart_id="chart-yield", title="Final yield per run", percent=True)
    trends = _trends(view["spc"]["trend_runs"])
    pareto = svg.pareto_chart(view["pareto"], chart_id="chart-pareto") if view["pareto"] else None
    style, script = _asset("dashboard.css"), _asset("dashboard.js")
    # Only fixed text and base64 digests: nothing to escape (and "'" must stay "'").
    policy = Markup(
        "default-src 'none'; "
        f"style-src '{_digest(style)}'; script-src '{_digest(script)}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return _template().render(
        view=view, charts=charts, yield_chart=yield_chart, trends=trends, pareto_chart=pareto, style=style, script=script,
        policy=policy, states=CONTROL_STATES,
    )  # fmt: skip


def write_dashboard(
    path: str | Path, report: Mapping[str, Any], history: Mapping[str, Any] | None = None, folder: Path | None = None,
    *, during_run: bool = False, trusted_keys: Sequence[Path] = (),
) -> Path:  # fmt: skip
    """Render and write the page atomically (through symlinks, honouring the umask)."""
    from ...files import atomic_writer

    text = render_dashboard(report, history, folder, during_run=during_run, trusted_keys=trusted_keys)
    with atomic_writer(path, what="HTML dashboard") as handle:
        handle.write(text)
    return Path(path)


# Trends drawn before there are runs enough for control limits: (key, heading, percent).
TRENDS = (
    ("failed_fraction", "Failed fraction per run (no limits yet)", True),
    ("dpmo", "DPMO per run (no limits yet)", False),
    ("duration_s", "Suite duration per run, s (no limits yet)", False),
)


def _trends(runs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    drawn = []
    for key, heading, percent in TRENDS:
        points = [(run["run_id"], run.get("started_at"), run.get(key)) for run in runs]
        chart = svg.line_chart(points, chart_id=f"trend-{key}", title=heading, percent=percent)
        if chart is not None:
            drawn.append({"name": key, "heading": heading, "svg": chart})
    return drawn


def _signals(signals: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A chart's signals, one line per rule: how often it fired and at which runs (a rule
    such as nine-in-a-row fires at every point of a long run, and each would repeat the
    others' runs)."""
    by_rule: dict[str, dict[str, Any]] = {}
    for signal in signals:
        entry = by_rule.setdefault(
            signal["rule"], {"rule": signal["rule"], "description": signal.get("description", ""), "times": 0, "runs": []}
        )
        entry["times"] += 1
        entry["runs"] += [run for run in signal.get("runs") or [] if run not in entry["runs"]]
    return list(by_rule.values())


def _yield_points(chart: Mapping[str, Any] | None) -> list[tuple[str, str | None, float | None]]:
    """Final yield per run: the p chart plots the share of units whose final attempt failed."""
    if not chart:
        return []
    return [
        (point["run_id"], point.get("started_at"), None if point.get("value") is None else 1.0 - point["value"])
        for point in chart.get("points") or []
    ]


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_bytecode_cache(),
    )
    environment.filters["number"] = _format_number
    # A gate's numbers: DPMO-sized ones whole, percentages and sigmas to two decimals.
    environment.filters["measure"] = lambda value: _format_number(value, 0 if _large(value) else 2)
    environment.filters["state_label"] = lambda state: str(state).replace("_", " ")
    return environment.get_template("dashboard.html.j2")


def _large(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 100


def _bytecode_cache() -> Any:
    """Jinja2's own cache of compiled templates (in a private 0700 folder of the system's
    temporary directory, keyed by the template's source): compiling the page's template takes
    ~0.13 s, loading it compiled ~1 ms. Where the folder cannot be made safely, no cache; a
    cache file that cannot be read or written is skipped."""
    from jinja2 import FileSystemBytecodeCache

    class QuietCache(FileSystemBytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, EOFError, ValueError):  # unreadable or from another Python: compile
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # full disk, read-only /tmp: the page is made all the same
                pass

    try:
        return QuietCache()
    except (OSError, RuntimeError):  # no private temporary folder to be had
        return None


def _format_number(value: Any, digits: int = 0) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
        return str(value)
    return fixed_text(value, digits)
