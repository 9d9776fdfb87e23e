"""Charts as inline SVG for the self-contained HTML dashboard: control charts, trends, Pareto.

Pure functions from plain data to a ``markupsafe.Markup`` string. The page runs under a
Content-Security-Policy of ``default-src 'none'`` with hashed inline ``<style>``: a ``style``
attribute would be blocked, so nothing here sets one, nor any colour. Every element carries
a class instead (listed in ``CSS_CLASSES``) and the page's stylesheet colours it, in dark
and light mode alike.

Each chart is an ``<svg role="img">`` labelled by its ``<title>`` and a ``<desc>`` that says
in words what the chart shows, for screen readers and for anyone who cannot see the plot.
Each data point is a ``<circle class="point">`` with ``data-run`` (and ``data-rules`` when a
run rule flagged it) and a ``<title>`` tooltip. Output is deterministic: the same input gives
the same string, coordinates rounded to two decimals.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"

#: Every class these charts use, for whoever writes the stylesheet.
CSS_CLASSES = (
    "chart",  # the <svg> root
    "grid",  # horizontal lines at the y ticks
    "axis",  # the x and y axis lines
    "tick",  # tick labels on either axis, and the x axis's run or date labels
    "center",  # the center line of a control chart
    "limit",  # UCL and LCL lines
    "limit-label",  # their "UCL" / "LCL" labels
    "series",  # the line through the values
    "point",  # every data point
    "signal",  # a point a run rule flagged (with "point")
    "signal-label",  # the visible "rule 1" text next to a flagged point
    "this-run",  # the run the page is about, or else the newest point (with "point")
    "category",  # a Pareto category's group (bar, labels, tooltip)
    "bar",  # a Pareto bar
    "bar-label",  # a Pareto bar's count
    "category-label",  # a Pareto category's name under its bar
    "cumulative",  # the Pareto chart's cumulative-percent line
)

# Margins of the plot area inside the viewBox. The left one holds the y tick labels, the
# right one the "UCL"/"LCL" labels (or the Pareto chart's percent axis), the top one a
# signal label above a point at the very top, the bottom one the x axis labels.
_LEFT = 60
_RIGHT = 44
_TOP = 20
_BOTTOM = 30
_MIN_WIDTH = 200
_MIN_HEIGHT = 100
# About the width of one label character at the stylesheet's small chart font, to decide
# how much of a label fits under a bar.
_CHAR_WIDTH = 6.5
# Flagged runs named in a control chart's description; the rest are counted.
_DESC_SIGNALS = 5

# The spc module's rule ids, numbered as Nelson's eight rules (the Western Electric
# 2-of-3 and 4-of-5 rules are Nelson's 5 and 6), so a label reads "rules 1, 5".
_RULE_NUMBERS = {
    "nelson-1": 1,
    "nelson-2": 2,
    "nelson-3": 3,
    "nelson-4": 4,
    "we-2of3": 5,
    "we-4of5": 6,
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class _Point:
    run_id: str
    started_at: str | None
    value: float | None
    center: float | None = None
    lcl: float | None = None
    ucl: float | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Frame:
    """The plot area inside a ``width`` × ``height`` viewBox."""

    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float

    @classmethod
    def of(cls, width: int, height: int, left: float = _LEFT, right: float = _RIGHT) -> _Frame:
        width, height = max(int(width), _MIN_WIDTH), max(int(height), _MIN_HEIGHT)
        return cls(width, height, left, width - right, _TOP, height - _BOTTOM)

    def band(self, count: int) -> float:
        return (self.right - self.left) / count

    def x(self, index: int, count: int) -> float:
        """The middle of the ``index``-th of ``count`` equal bands across the plot."""
        return self.left + (index + 0.5) * self.band(count)


class _Axis:
    """A linear map of values onto pixel y, from ``lo`` at the bottom to ``hi`` at the top."""

    __slots__ = ("lo", "hi", "ticks", "step", "top", "bottom", "_half_lo", "_per_half", "_height")

    def __init__(self, lo: float, hi: float, ticks: tuple[float, ...], step: float, top: float, bottom: float) -> None:
        self.lo, self.hi, self.ticks, self.step, self.top, self.bottom = lo, hi, ticks, step, top, bottom
        # Halves, so that a range from -1e308 to 1e308 does not overflow to inf; halving a
        # float is exact, so the map equals (value - lo) / (hi - lo) wherever that is finite.
        self._half_lo = lo * 0.5
        self._per_half = 1.0 / (hi * 0.5 - self._half_lo)
        self._height = bottom - top

    def y(self, value: float) -> float:
        fraction = (value * 0.5 - self._half_lo) * self._per_half
        if fraction < 0.0:  # a value outside the range sits on its edge
            fraction = 0.0
        elif fraction > 1.0:
            fraction = 1.0
        return self.bottom - fraction * self._height


def _fit_axis(lo: float, hi: float, top: float, bottom: float, *, floor_zero: bool, min_step: float = 0.0) -> _Axis:
    """An axis over at least ``lo``..``hi`` with round ticks; ``floor_zero`` keeps it above 0."""
    if floor_zero:
        lo = max(lo, 0.0)
        hi = max(hi, lo)
    if hi - lo <= max(abs(lo), abs(hi)) * 1e-9 or hi - lo < 1e-200:
        # All values (nearly) equal: a range of zero would divide by zero, so pad it.
        middle = lo / 2 + hi / 2
        pad = abs(middle) * 0.1 if abs(middle) > 1e-200 else 1.0
        lo, hi = max(middle - pad, -sys.float_info.max), min(middle + pad, sys.float_info.max)
    if floor_zero:
        lo = max(lo, 0.0)
    raw = hi / 4 - lo / 4  # four or five ticks; divided first so it cannot overflow
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next((m * magnitude for m in (1.0, 2.0, 2.5, 5.0) if raw <= m * magnitude * (1 + 1e-9)), 10 * magnitude)
    step = max(step, min_step)
    first, last = math.floor(lo / step), math.ceil(hi / step)
    snapped_lo, snapped_hi = first * step, last * step
    if math.isfinite(snapped_lo) and math.isfinite(snapped_hi):
        lo, hi = snapped_lo, snapped_hi
        ticks = tuple((first + i) * step for i in range(last - first + 1))
    else:  # beyond the float range once rounded out: keep the bounds, tick inside them
        ticks = tuple(t for t in ((first + i) * step for i in range(1, last - first)) if lo <= t <= hi)
    return _Axis(lo, hi, ticks, step, top, bottom)


def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, not a number, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        return None
    return number if math.isfinite(number) else None


def _n(value: float) -> str:
    """A coordinate, rounded to 2 decimals without trailing zeros (and never "-0")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")  # the format rounds, correctly
    return "0" if text == "-0" else text


def _e(text: Any) -> str:
    """``text`` escaped for XML, with the characters XML 1.0 forbids (a test name's ANSI colour
    codes, say) replaced by U+FFFD so the SVG stays well-formed."""
    return str(escape(_XML_FORBIDDEN.sub("\ufffd", str(text))))


def _safe_id(chart_id: str) -> str:
    """``chart_id`` reduced to [A-Za-z0-9_-], fit for an element id; "chart" if nothing is left."""
    return _ID_UNSAFE.sub("-", chart_id) or "chart"


def _number(value: float, percent: bool = False, unit: str = "") -> str:
    """A value as a tooltip or the description says it: 5 significant digits, or thousands."""
    if percent:
        value, unit = value * 100, "%"
    text = f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:.5g}"
    if unit == "%":
        return text + "%"
    return f"{text} {unit}" if unit else text


def _tick_labels(ticks: Sequence[float], step: float, percent: bool, unit: str) -> list[str]:
    """Compact, distinct labels for evenly spaced ticks: "0", "2.5%", "1.5k", "20M"."""
    scale = 100.0 if percent else 1.0
    suffix = "%" if percent else (unit if len(unit) <= 3 else "")
    largest = max((abs(t) * scale for t in ticks), default=0.0)
    if 0 < largest < 1e-4 or largest >= 1e15:  # too small or large for fixed point to stay short
        return [f"{t * scale:.3g}{suffix}" for t in ticks]
    divisor, letter = 1.0, ""
    if not percent:
        for size, name in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
            if largest >= size * 10:  # "9000", but "12k"
                divisor, letter = size, name
                break
    scaled_step = step * scale / divisor
    # Enough decimals to tell neighbouring ticks apart: one for a step of 0.5, two for 0.25.
    decimals = max(0, -math.floor(math.log10(scaled_step) + 1e-9))
    if abs(round(scaled_step, decimals) - scaled_step) > scaled_step * 1e-6:
        decimals += 1
    labels = []
    for tick in ticks:
        text = f"{tick * scale / divisor:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if text in ("-0", "0"):
            labels.append("0")
        else:
            labels.append(f"{text}{letter}{suffix}")
    return labels


def _rule_tokens(rules: Any) -> tuple[str, ...]:
    """A point's rules as short tokens, numbers first in order: ("1", "5")."""
    if not isinstance(rules, (list, tuple)):
        return ()
    numbers: set[int] = set()
    names: list[str] = []
    for rule in rules:
        if isinstance(rule, bool):
            continue
        if isinstance(rule, int):
            numbers.add(rule)
        elif isinstance(rule, str) and rule in _RULE_NUMBERS:
            numbers.add(_RULE_NUMBERS[rule])
        elif isinstance(rule, str) and rule.strip():
            token = re.sub(r"\s+", "-", rule.strip())  # data-rules is a space-separated list
            if token not in names:
                names.append(token)
    return tuple(str(n) for n in sorted(numbers)) + tuple(names)


def _rules_text(tokens: Sequence[str]) -> str:
    return ("rule " if len(tokens) == 1 else "rules ") + ", ".join(tokens)


def _short_run(run_id: str) -> str:
    return run_id if len(run_id) <= 12 else run_id[:8] + "…"


def _date(started_at: str | None) -> str | None:
    match = _DATE.match(started_at) if started_at else None
    return match.group(0) if match else None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _open_svg(cid: str, frame: _Frame, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="{SVG_NS}" role="img" aria-labelledby="{cid}-title {cid}-desc"'
        f' viewBox="0 0 {frame.width} {frame.height}" class="chart">',
        f'<title id="{cid}-title">{_e(title)}</title>',
        f'<desc id="{cid}-desc">{_e(desc)}</desc>',
    ]


def _y_axis(out: list[str], frame: _Frame, axis: _Axis, labels: Sequence[str], *, right: bool = False) -> None:
    """Tick labels (and, on the left axis, grid lines) at the axis's ticks."""
    for tick, label in zip(axis.ticks, labels):
        y = _n(axis.y(tick))
        if right:
            out.append(f'<text class="tick" x="{_n(frame.right + 6)}" y="{y}" dy="0.32em">{_e(label)}</text>')
        else:
            out.append(f'<line class="grid" x1="{_n(frame.left)}" y1="{y}" x2="{_n(frame.right)}" y2="{y}"/>')
            out.append(
                f'<text class="tick" x="{_n(frame.left - 6)}" y="{y}" dy="0.32em" text-anchor="end">{_e(label)}</text>'
            )


def _axis_lines(out: list[str], frame: _Frame) -> None:
    left, right, top, bottom = _n(frame.left), _n(frame.right), _n(frame.top), _n(frame.bottom)
    out.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>')
    out.append(f'<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>')


def _step_lines(edges: Sequence[str], axis: _Axis, values: Sequence[float | None]) -> list[tuple[list[str], float]]:
    """Per-point levels as horizontal steps across each point's band (``edges``: the bands'
    n + 1 boundaries, formatted), broken where a level is missing: the "x,y" vertices of
    each piece, and the y where it ends."""
    pieces: list[tuple[list[str], float]] = []
    vertices: list[str] = []
    last_y = 0.0
    for index, value in enumerate(values):
        if value is None:
            if vertices:
                pieces.append((vertices, last_y))
                vertices = []
            continue
        y = axis.y(value)
        if vertices and y == last_y:
            vertices[-1] = f"{edges[index + 1]},{_n(y)}"  # the same level: stretch the last step
        else:
            y_text = _n(y)
            vertices += [f"{edges[index]},{y_text}", f"{edges[index + 1]},{y_text}"]
        last_y = y
    if vertices:
        pieces.append((vertices, last_y))
    return pieces


def _this_run_index(points: Sequence[_Point], this_run: str | None) -> int | None:
    if this_run is not None:
        return next((i for i, p in enumerate(points) if p.run_id == this_run and p.value is not None), None)
    return next((i for i in range(len(points) - 1, -1, -1) if points[i].value is not None), None)


def _plot(
    points: Sequence[_Point],
    *,
    cid: str,
    title: str,
    desc: str,
    frame: _Frame,
    percent: bool,
    unit: str,
    this_index: int | None,
    this_label: str,
    limits: bool,
) -> Markup:
    """The shared body of ``control_chart`` and ``line_chart``."""
    values = [p.value for p in points if p.value is not None]
    levels = values + [v for p in points for v in (p.center, p.ucl, p.lcl) if v is not None] if limits else values
    # A quantity never below zero (a fraction, a duration, DPMO) gets no axis below zero: an
    # LCL under it is unreachable and is drawn on the axis's floor instead.
    floor_zero = all(v >= 0 for v in values) and all(p.center is None or p.center >= 0 for p in points)
    axis = _fit_axis(min(levels), max(levels), frame.top, frame.bottom, floor_zero=floor_zero)
    count = len(points)
    out = _open_svg(cid, frame, title, desc)
    _y_axis(out, frame, axis, _tick_labels(axis.ticks, axis.step, percent, unit))
    _axis_lines(out, frame)
    _x_labels(out, frame, points)

    if limits:
        band = frame.band(count)
        edges = [_n(frame.left + index * band) for index in range(count + 1)]
        for name, key in (("UCL", "ucl"), ("LCL", "lcl")):
            pieces = _step_lines(edges, axis, [getattr(p, key) for p in points])
            for vertices, _ in pieces:
                out.append(f'<polyline class="limit" points="{" ".join(vertices)}"/>')
            if pieces:
                end_y = pieces[-1][1]
                out.append(
                    f'<text class="limit-label" x="{_n(frame.right + 4)}" y="{_n(end_y)}" dy="0.32em">{name}</text>'
                )
        for vertices, _ in _step_lines(edges, axis, [p.center for p in points]):
            out.append(f'<polyline class="center" points="{" ".join(vertices)}"/>')

    # Each valued point's position, worked out once for the line and the circles.
    placed = [
        (index, point, frame.x(index, count), axis.y(point.value))
        for index, point in enumerate(points)
        if point.value is not None
    ]
    where = {index: f"{_n(x)},{_n(y)}" for index, _, x, y in placed}

    # The values' line, broken at each run without a value: a gap, not a drop to zero.
    segment: list[str] = []
    previous = -2
    for index, _, _, _ in placed:
        if index != previous + 1:
            if len(segment) > 1:
                out.append(f'<polyline class="series" points="{" ".join(segment)}"/>')
            segment = []
        segment.append(where[index])
        previous = index
    if len(segment) > 1:
        out.append(f'<polyline class="series" points="{" ".join(segment)}"/>')

    labels: list[str] = []  # drawn last, over the lines and points
    last_label = None  # a run of points flagged by the same rules is labelled once, at its start
    for index, point, x, y in placed:
        cx, cy = where[index].split(",")
        classes = "point"
        attributes = f' data-run="{_e(point.run_id)}"'
        if point.rules:
            classes += " signal"
            attributes += f' data-rules="{_e(" ".join(point.rules))}"'
        radius = "3.5"
        if index == this_index:  # larger, so this run stands out even without colour
            classes += " this-run"
            radius = "5.5"
        out.append(
            f'<circle class="{classes}"{attributes} cx="{cx}" cy="{cy}" r="{radius}">'
            f"<title>{_e(_tooltip(point, percent, unit, this_label if index == this_index else None))}</title></circle>"
        )
        text = _rules_text(point.rules) if point.rules else None
        if text is not None and text != last_label:
            labels.append(_signal_label(frame, x, y, text))
        last_label = text
    out += labels
    out.append("</svg>")
    return Markup("".join(out))


def _signal_label(frame: _Frame, x: float, y: float, text: str) -> str:
    # Above the point, kept inside the viewBox; anchored so it does not run off either side.
    anchor = "middle"
    width = len(text) * _CHAR_WIDTH
    if x + width / 2 > frame.width:
        anchor = "end"
    elif x - width / 2 < 0:
        anchor = "start"
    label_y = max(y - 8, 10.0)
    return f'<text class="signal-label" x="{_n(x)}" y="{_n(label_y)}" text-anchor="{anchor}">{_e(text)}</text>'


def _tooltip(point: _Point, percent: bool, unit: str, this_label: str | None) -> str:
    assert point.value is not None
    text = f"run {point.run_id}"
    if this_label:
        text += f" ({this_label})"
    if point.started_at:
        text += f", {point.started_at}"
    text += f": {_number(point.value, percent, unit)}"
    bounds = [f"{name} {_number(v, percent, unit)}" for name, v in (("UCL", point.ucl), ("LCL", point.lcl)) if v is not None]
    if bounds:
        text += f" ({', '.join(bounds)})"
    if point.rules:
        text += f"; {_rules_text(point.rules)}"
    return text


def _x_labels(out: list[str], frame: _Frame, points: Sequence[_Point]) -> None:
    """The first and last run's date under the x axis, or their run numbers without dates."""
    y = _n(frame.bottom + 18)
    count = len(points)
    if count == 1:
        label = _date(points[0].started_at) or "run 1"
        out.append(f'<text class="tick" x="{_n(frame.x(0, 1))}" y="{y}" text-anchor="middle">{_e(label)}</text>')
        return
    first = _date(points[0].started_at) or "run 1"
    last = _date(points[-1].started_at) or f"run {count}"
    out.append(f'<text class="tick" x="{_n(frame.left)}" y="{y}" text-anchor="start">{_e(first)}</text>')
    out.append(f'<text class="tick" x="{_n(frame.right)}" y="{y}" text-anchor="end">{_e(last)}</text>')


def _span_text(name: str, values: Sequence[float], percent: bool, unit: str) -> str | None:
    if not values:
        return None
    low, high = min(values), max(values)
    if low == high:
        return f"{name} {_number(low, percent, unit)}"
    return f"{name} {_number(low, percent, unit)} to {_number(high, percent, unit)}"


def _runs_text(points: Sequence[_Point]) -> str:
    missing = sum(p.value is None for p in points)
    text = f"{len(points)} run" + ("s" if len(points) != 1 else "")
    first, last = _date(points[0].started_at), _date(points[-1].started_at)
    if first and last:
        text += f" on {first}" if first == last else f" from {first} to {last}"
    if missing:
        text += f", {missing} without a value"
    return text


def _this_run_text(points: Sequence[_Point], index: int | None, label: str, percent: bool, unit: str) -> str | None:
    if index is None:
        return None
    point = points[index]
    assert point.value is not None
    return f"{label} {_number(point.value, percent, unit)} (run {_short_run(point.run_id)})"


def control_chart(
    chart: Mapping[str, Any],
    *,
    chart_id: str,
    percent: bool = False,
    this_run: str | None = None,
    width: int = 720,
    height: int = 260,
) -> Markup | None:
    """One chart of ``enterprise telemetry spc --format json`` as SVG, or None when no run has
    a value (the caller then says so in words rather than drawing empty axes).

    ``chart`` has a ``title``, a ``kind``, a ``center`` and ``points``, each with ``run_id``,
    ``started_at``, ``value``, ``center``, ``lcl``, ``ucl`` and ``rules``; other keys are
    ignored. Limits may differ per point (a p chart's follow each run's size) and are drawn as
    steps through each point's own values. ``percent`` shows values ×100 with "%";
    ``this_run`` marks that run's point (by default the newest).
    """
    chart_center = _finite(chart.get("center"))
    points: list[_Point] = []
    for raw in chart.get("points") or ():
        if not isinstance(raw, Mapping):
            continue
        center = _finite(raw.get("center"))
        points.append(
            _Point(
                run_id=str(raw.get("run_id") if raw.get("run_id") is not None else ""),
                started_at=_text_or_none(raw.get("started_at")),
                value=_finite(raw.get("value")),
                center=chart_center if center is None else center,
                lcl=_finite(raw.get("lcl")),
                ucl=_finite(raw.get("ucl")),
                rules=_rule_tokens(raw.get("rules")),
            )
        )
    if not any(p.value is not None for p in points):
        return None
    cid = _safe_id(chart_id)
    name = str(chart.get("title") or "control chart")
    kind = chart.get("kind")
    title = f"{name}: {kind} chart" if isinstance(kind, str) and kind else name
    this_index = _this_run_index(points, this_run)
    # The run the page is about when the caller names it; otherwise the newest with a value.
    this_label = "this run" if this_run is not None else "latest"

    facts = [_runs_text(points)]
    centers = [p.center for p in points if p.center is not None]
    if chart_center is not None:
        facts.append(f"center {_number(chart_center, percent)}")
    else:
        facts.append(_span_text("center", centers, percent, "") or "no center line")
    for label, key in (("UCL", "ucl"), ("LCL", "lcl")):
        span = _span_text(label, [getattr(p, key) for p in points if getattr(p, key) is not None], percent, "")
        if span:
            facts.append(span)
    this_text = _this_run_text(points, this_index, this_label, percent, "")
    if this_text:
        facts.append(this_text)
    flagged = [p for p in points if p.rules]
    if flagged:
        named = "; ".join(f"run {_short_run(p.run_id)} {_rules_text(p.rules)}" for p in flagged[:_DESC_SIGNALS])
        more = f"; and {len(flagged) - _DESC_SIGNALS} more" if len(flagged) > _DESC_SIGNALS else ""
        facts.append(f"{len(flagged)} point{'s' if len(flagged) != 1 else ''} flagged: {named}{more}")
    else:
        facts.append("no point flagged")
    return _plot(
        points,
        cid=cid,
        title=title,
        desc="; ".join(facts),
        frame=_Frame.of(width, height),
        percent=percent,
        unit="",
        this_index=this_index,
        this_label=this_label,
        limits=True,
    )


def line_chart(
    points: Sequence[tuple[str, str | None, float | None]],
    *,
    chart_id: str,
    title: str,
    unit: str = "",
    percent: bool = False,
    width: int = 720,
    height: int = 200,
) -> Markup | None:
    """A trend of (run_id, started_at, value) without limits (yield, DPMO, duration) as SVG,
    oldest run first; None when no run has a value. The newest valued point is this run's."""
    runs = [
        _Point(run_id=str(run_id), started_at=_text_or_none(started_at), value=_finite(value))
        for run_id, started_at, value in points
    ]
    if not any(p.value is not None for p in runs):
        return None
    this_index = _this_run_index(runs, None)
    valued = [p.value for p in runs if p.value is not None]
    facts = [_runs_text(runs)]
    this_text = _this_run_text(runs, this_index, "latest", percent, unit)
    if this_text:
        facts.append(this_text)
    if len(valued) > 1:
        facts.append(f"lowest {_number(min(valued), percent, unit)}, highest {_number(max(valued), percent, unit)}")
    return _plot(
        runs,
        cid=_safe_id(chart_id),
        title=title,
        desc="; ".join(facts),
        frame=_Frame.of(width, height),
        percent=percent,
        unit=unit,
        this_index=this_index,
        this_label="latest",
        limits=False,
    )


def _count_text(count: float) -> str:
    return f"{int(count):,}" if count.is_integer() else _number(count)


def pareto_chart(
    entries: Sequence[Mapping[str, Any]],
    *,
    chart_id: str,
    title: str = "Defects by category",
    width: int = 720,
    height: int = 240,
) -> Markup | None:
    """The report's ``quality.pareto`` as SVG: a bar per category (in the given order, largest
    first) on a count axis, and the cumulative percent on a 0–100% axis at the right; None
    when there are no entries. Long category names are shortened under the bars; the full
    name is in each category's tooltip."""
    rows = [entry for entry in entries if isinstance(entry, Mapping)]
    if not rows:
        return None
    counts = [max(_finite(entry.get("count")) or 0.0, 0.0) for entry in rows]
    total = sum(counts)
    categories = [str(entry.get("category", "")) for entry in rows]
    percents: list[float] = []
    cumulative: list[float] = []
    running = 0.0
    for entry, count in zip(rows, counts):
        # Reports written before cumulative_percent existed have only percent (and counts).
        running += count
        share = _finite(entry.get("percent"))
        percents.append(share if share is not None else (100 * count / total if total else 0.0))
        given = _finite(entry.get("cumulative_percent"))
        cumulative.append(given if given is not None else (100 * running / total if total else 0.0))

    frame = _Frame.of(width, height, left=48)
    cid = _safe_id(chart_id)
    count_axis = _fit_axis(0.0, max(counts), frame.top, frame.bottom, floor_zero=True, min_step=1.0)
    percent_axis = _Axis(0.0, 100.0, (0.0, 25.0, 50.0, 75.0, 100.0), 25.0, frame.top, frame.bottom)

    top = ", ".join(f"{c} {_count_text(n)} ({p:.1f}%)" for c, n, p in zip(categories[:3], counts, percents))
    facts = [f"{len(rows)} categor{'ies' if len(rows) != 1 else 'y'}, {_count_text(total)} defects", f"largest: {top}"]
    reach = next((i for i, c in enumerate(cumulative) if c >= 80), None)
    if reach is not None and reach + 1 < len(rows):
        facts.append(f"the first {reach + 1} cover {cumulative[reach]:.1f}%")
    out = _open_svg(cid, frame, title, "; ".join(facts))
    _y_axis(out, frame, count_axis, _tick_labels(count_axis.ticks, count_axis.step, False, ""))
    _y_axis(out, frame, percent_axis, _tick_labels(percent_axis.ticks, 25.0, False, "%"), right=True)
    _axis_lines(out, frame)
    right, top, bottom = _n(frame.right), _n(frame.top), _n(frame.bottom)
    out.append(f'<line class="axis" x1="{right}" y1="{top}" x2="{right}" y2="{bottom}"/>')  # the percent axis

    count = len(rows)
    band = frame.band(count)
    fits = max(0, int(band / _CHAR_WIDTH))  # label characters that fit under one bar
    line: list[str] = []
    for index, (category, amount, share, running_share) in enumerate(zip(categories, counts, percents, cumulative)):
        x = frame.x(index, count)
        y = count_axis.y(amount)
        tooltip = f"{category}: {_count_text(amount)} ({share:.1f}%), cumulative {running_share:.1f}%"
        out.append(f'<g class="category" data-category="{_e(category)}"><title>{_e(tooltip)}</title>')
        out.append(
            f'<rect class="bar" x="{_n(x - band * 0.35)}" y="{_n(y)}" width="{_n(band * 0.7)}"'
            f' height="{_n(frame.bottom - y)}"/>'
        )
        amount_text = _count_text(amount)
        if len(amount_text) * _CHAR_WIDTH <= band:
            out.append(
                f'<text class="bar-label" x="{_n(x)}" y="{_n(max(y - 4, 10.0))}" text-anchor="middle">{_e(amount_text)}</text>'
            )
        if fits >= 2 and category:
            shown = category if len(category) <= fits else category[: fits - 1] + "…"
            out.append(
                f'<text class="category-label" x="{_n(x)}" y="{_n(frame.bottom + 16)}" text-anchor="middle">{_e(shown)}</text>'
            )
        out.append("</g>")
        line.append(f"{_n(x)},{_n(percent_axis.y(running_share))}")
    out.append(f'<polyline class="cumulative" points="{" ".join(line)}"/>')
    out.append("</svg>")
    return Markup("".join(out))
