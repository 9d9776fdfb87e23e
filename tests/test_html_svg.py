"""The dashboard's SVG charts: well-formed, accessible, class-styled (no style attributes),
and drawn where the numbers say. Expected pixels are worked out here from the layout (plot
area 60..W-44 by 20..H-30) and the axis's own tick labels, not with the module's helpers."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from pytest_enterprise.report.html import svg

SVG = "http://www.w3.org/2000/svg"
NASTY = 'x<&">\'y'
GEOMETRY = ("x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height")

# The plot area of a default control chart (720 x 260).
LEFT, RIGHT, TOP, BOTTOM = 60.0, 676.0, 20.0, 230.0


def tag(element: ET.Element) -> str:
    return element.tag.removeprefix(f"{{{SVG}}}")


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def parse(markup: Markup | None) -> ET.Element:
    assert isinstance(markup, Markup)
    root = ET.fromstring(str(markup))
    assert tag(root) == "svg"
    return root


def elements(root: ET.Element, name: str, cls: str | None = None) -> list[ET.Element]:
    return [e for e in root.iter(f"{{{SVG}}}{name}") if cls is None or cls in classes(e)]


def vertices(polyline: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in polyline.get("points", "").split())]


def y_on_steps(polyline: ET.Element, x: float) -> float:
    """The y of a step line's horizontal piece over ``x``."""
    found = [
        y0 for (x0, y0), (x1, y1) in zip(vertices(polyline), vertices(polyline)[1:]) if y0 == y1 and x0 <= x <= x1
    ]
    assert found, (x, polyline.get("points"))
    return found[0]


def point(run_id: str, value: Any, *, center: Any = 0.1, lcl: Any = 0.0, ucl: Any = 0.3, rules: Any = (),
          started_at: str | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "run_id": run_id, "started_at": started_at, "value": value, "center": center,
        "lcl": lcl, "ucl": ucl, "rules": list(rules), "extra": "ignored",
    }  # fmt: skip


def chart(*points: dict[str, Any], kind: str = "p", center: float | None = 0.1) -> dict[str, Any]:
    return {"title": "failed fraction", "kind": kind, "center": center, "points": list(points), "signals": []}


def y_ticks(root: ET.Element, percent: bool = False) -> list[tuple[float, float]]:
    """(value, y) of each left-axis tick label, read back from its text."""
    ticks = []
    for text in elements(root, "text", "tick"):
        if text.get("x") != "54":  # the y axis's labels, right-aligned left of the plot
            continue
        label = text.text or ""
        value = float(label.rstrip("%")) / (100 if label.endswith("%") else 1)
        ticks.append((value, float(text.get("y", "nan"))))
    assert len(ticks) >= 2
    return ticks


def expected_y(root: ET.Element, value: float) -> float:
    """Pixel y of ``value`` by the linear map through the lowest and highest ticks."""
    ticks = y_ticks(root)
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    return y0 + (value - v0) * (y1 - y0) / (v1 - v0)


def test_one_circle_per_valued_point_in_run_order() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.1), point("b", 0.2), point("c", None), point("d", 0.05), point("e", 0.15)),
        chart_id="c",
    ))  # fmt: skip
    circles = elements(root, "circle")
    assert [c.get("data-run") for c in circles] == ["a", "b", "d", "e"]
    assert all("point" in classes(c) for c in circles)
    xs = [float(c.get("cx", "nan")) for c in circles]
    band = (RIGHT - LEFT) / 5  # five runs, the one without a value keeps its place
    assert xs == pytest.approx([LEFT + (i + 0.5) * band for i in (0, 1, 3, 4)], abs=0.005)
    assert [tag(child) for child in circles[0]] == ["title"]


def test_golden_coordinates_of_an_individuals_chart() -> None:
    points = [point(f"r{i}", v, center=20.0, lcl=0.0, ucl=40.0) for i, v in enumerate([10.0, 20.0, 30.0])]
    root = parse(svg.control_chart(chart(*points, kind="individuals", center=20.0), chart_id="i"))
    assert [text.text for text in elements(root, "text", "tick") if text.get("x") == "54"] == [
        "0", "10", "20", "30", "40",
    ]  # fmt: skip
    band = (RIGHT - LEFT) / 3
    for index, (circle, value) in enumerate(zip(elements(root, "circle"), [10.0, 20.0, 30.0])):
        assert float(circle.get("cx", "nan")) == round(LEFT + (index + 0.5) * band, 2)
        assert float(circle.get("cy", "nan")) == round(BOTTOM - value / 40.0 * (BOTTOM - TOP), 2)
    (center,) = elements(root, "polyline", "center")
    assert vertices(center) == [(LEFT, 125.0), (RIGHT, 125.0)]
    ucl, lcl = elements(root, "polyline", "limit")
    assert vertices(ucl) == [(LEFT, TOP), (RIGHT, TOP)]
    assert vertices(lcl) == [(LEFT, BOTTOM), (RIGHT, BOTTOM)]


def test_flagged_points_have_the_signal_class_and_a_label() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.1), point("b", 0.29, rules=[5, 1]), point("c", 0.2, rules=[1]), point("d", 0.1)),
        chart_id="c",
    ))  # fmt: skip
    circles = {c.get("data-run"): c for c in elements(root, "circle")}
    assert "signal" in classes(circles["b"]) and circles["b"].get("data-rules") == "1 5"
    assert "signal" in classes(circles["c"]) and circles["c"].get("data-rules") == "1"
    assert "signal" not in classes(circles["a"]) and circles["a"].get("data-rules") is None
    labels = elements(root, "text", "signal-label")
    assert [label.text for label in labels] == ["rules 1, 5", "rule 1"]
    assert [label.get("x") for label in labels] == [circles["b"].get("cx"), circles["c"].get("cx")]
    assert "rules 1, 5" in (circles["b"].find(f"{{{SVG}}}title").text or "")
    desc = root.find(f"{{{SVG}}}desc").text or ""
    assert "2 points flagged: run b rules 1, 5; run c rule 1" in desc


def test_the_spc_modules_rule_ids_are_numbered_as_nelson_rules() -> None:
    root = parse(svg.control_chart(chart(point("a", 0.1, rules=["we-2of3", "nelson-1"]), point("b", 0.1)), chart_id="c"))
    (flagged,) = elements(root, "circle", "signal")
    assert flagged.get("data-rules") == "1 5"
    assert [t.text for t in elements(root, "text", "signal-label")] == ["rules 1, 5"]


def test_this_run_is_the_named_run_or_else_the_newest_valued_point() -> None:
    points = chart(point("a", 0.1), point("b", 0.2), point("c", None))
    newest = parse(svg.control_chart(points, chart_id="c"))
    assert [c.get("data-run") for c in elements(newest, "circle", "this-run")] == ["b"]
    named = parse(svg.control_chart(points, chart_id="c", this_run="a"))
    assert [c.get("data-run") for c in elements(named, "circle", "this-run")] == ["a"]
    assert "this run 0.1 (run a)" in (named.find(f"{{{SVG}}}desc").text or "")
    assert "(this run)" in (elements(named, "circle", "this-run")[0].find(f"{{{SVG}}}title").text or "")
    absent = parse(svg.control_chart(points, chart_id="c", this_run="zzz"))
    assert elements(absent, "circle", "this-run") == []


def test_a_missing_value_breaks_the_line() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.1), point("b", 0.2), point("c", None), point("d", 0.05), point("e", 0.15)),
        chart_id="c",
    ))  # fmt: skip
    series = elements(root, "polyline", "series")
    assert len(series) == 2
    circles = {c.get("data-run"): (float(c.get("cx", "nan")), float(c.get("cy", "nan"))) for c in elements(root, "circle")}
    assert vertices(series[0]) == [circles["a"], circles["b"]]
    assert vertices(series[1]) == [circles["d"], circles["e"]]
    # Nowhere a drop to zero: no vertex on the bottom of the plot.
    assert all(y != BOTTOM for line in series for _, y in vertices(line))


@pytest.mark.parametrize("missing", [None, float("nan"), float("inf"), float("-inf"), "0.2"])
def test_nan_inf_and_non_numbers_are_missing_values(missing: Any) -> None:
    root = parse(svg.control_chart(chart(point("a", 0.1), point("b", missing), point("c", 0.2)), chart_id="c"))
    assert [c.get("data-run") for c in elements(root, "circle")] == ["a", "c"]
    assert elements(root, "polyline", "series") == []  # two single points: nothing to join


def test_limits_vary_per_point_as_steps_through_their_values() -> None:
    ucls = [0.30, 0.24, 0.27, 0.21, 0.33]
    lcls = [0.02, 0.05, 0.0, 0.07, 0.01]
    values = [0.30, 0.1, 0.27, 0.12, 0.33]  # a, c and e sit exactly on their own UCL
    root = parse(svg.control_chart(
        chart(*(point(f"r{i}", v, lcl=lo, ucl=hi) for i, (v, lo, hi) in enumerate(zip(values, lcls, ucls)))),
        chart_id="c",
    ))  # fmt: skip
    ucl, lcl = elements(root, "polyline", "limit")
    circles = elements(root, "circle")
    for circle, value, high, low in zip(circles, values, ucls, lcls):
        x, y = float(circle.get("cx", "nan")), float(circle.get("cy", "nan"))
        assert y == pytest.approx(expected_y(root, value), abs=0.02)
        assert y_on_steps(ucl, x) == pytest.approx(expected_y(root, high), abs=0.02)
        assert y_on_steps(lcl, x) == pytest.approx(expected_y(root, low), abs=0.02)
        if value == high:
            assert y == y_on_steps(ucl, x)
    # Each step spans its run's band: the vertices' x are the band edges.
    band = (RIGHT - LEFT) / 5
    assert sorted({x for x, _ in vertices(ucl)}) == pytest.approx([LEFT + i * band for i in range(6)], abs=0.005)
    labels = {t.text: float(t.get("y", "nan")) for t in elements(root, "text", "limit-label")}
    assert labels == {"UCL": vertices(ucl)[-1][1], "LCL": vertices(lcl)[-1][1]}


def test_a_missing_limit_leaves_a_gap_and_no_lcl_draws_none() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.1, lcl=None), point("b", 0.2, lcl=None, ucl=None), point("c", 0.1, lcl=None)),
        chart_id="c",
    ))  # fmt: skip
    limits = elements(root, "polyline", "limit")
    assert len(limits) == 2  # the UCL in two pieces around run b, no LCL at all
    assert [t.text for t in elements(root, "text", "limit-label")] == ["UCL"]


def test_a_negative_lcl_is_drawn_on_the_floor_of_the_visible_range() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.1, lcl=-0.2), point("b", 0.2, lcl=-0.1), kind="individuals"), chart_id="c"
    ))  # fmt: skip
    assert y_ticks(root)[0] == (0.0, BOTTOM)  # the axis does not go below zero for a fraction
    lcl = elements(root, "polyline", "limit")[1]
    assert {y for _, y in vertices(lcl)} == {BOTTOM}


def test_equal_values_and_a_single_point() -> None:
    flat = parse(svg.control_chart(chart(*(point(f"r{i}", 0.25, center=0.25, lcl=0.25, ucl=0.25) for i in range(4))),
                                   chart_id="c"))  # fmt: skip
    ys = {float(c.get("cy", "nan")) for c in elements(flat, "circle")}
    assert len(ys) == 1 and TOP < ys.pop() < BOTTOM
    single = parse(svg.control_chart(chart(point("only", 0.0, center=0.0, lcl=0.0, ucl=0.0)), chart_id="c"))
    (circle,) = elements(single, "circle")
    assert float(circle.get("cx", "nan")) == (LEFT + RIGHT) / 2
    assert classes(circle) == {"point", "this-run"}
    assert elements(single, "polyline", "series") == []


def test_percent_formatting() -> None:
    root = parse(svg.control_chart(
        chart(point("a", 0.087), point("b", 0.125, rules=[1])), chart_id="c", percent=True
    ))  # fmt: skip
    ticks = [t.text or "" for t in elements(root, "text", "tick") if t.get("x") == "54"]
    assert all(label == "0" or label.endswith("%") for label in ticks)
    assert "10%" in ticks
    titles = [c.find(f"{{{SVG}}}title").text or "" for c in elements(root, "circle")]
    assert titles[0].endswith(": 8.7% (UCL 30%, LCL 0%)")
    desc = root.find(f"{{{SVG}}}desc").text or ""
    assert "center 10%" in desc and "latest 12.5% (run b)" in desc
    plain = parse(svg.control_chart(chart(point("a", 0.087), point("b", 0.125)), chart_id="c"))
    assert ": 0.087 (UCL 0.3, LCL 0)" in (elements(plain, "circle")[0].find(f"{{{SVG}}}title").text or "")


def test_accessibility_wiring_and_a_sanitised_chart_id() -> None:
    markup = svg.control_chart(chart(point("abcdefghijklmnop", 0.2, rules=[1]), point("b", 0.1)), chart_id='spc <x>"1')
    root = parse(markup)
    assert root.get("role") == "img" and root.get("class") == "chart"
    assert root.get("viewBox") == "0 0 720 260"
    assert root.get("aria-labelledby") == "spc--x--1-title spc--x--1-desc"
    assert root.find(f"{{{SVG}}}title").get("id") == "spc--x--1-title"
    assert root.find(f"{{{SVG}}}desc").get("id") == "spc--x--1-desc"
    assert root.find(f"{{{SVG}}}desc").text == (
        "2 runs; center 0.1; UCL 0.3; LCL 0; latest 0.1 (run b); 1 point flagged: run abcdefgh… rule 1"
    )


def test_text_is_escaped() -> None:
    markup = svg.control_chart(
        {"title": NASTY, "kind": NASTY, "center": 0.1,
         "points": [point(NASTY, 0.1, started_at=NASTY, rules=[NASTY]), point("b", 0.2)]},
        chart_id="c",
    )  # fmt: skip
    assert "&lt;&amp;&#34;&gt;" in str(markup) and NASTY not in str(markup)
    root = parse(markup)
    (first, _) = elements(root, "circle")
    assert first.get("data-run") == NASTY
    assert NASTY in (first.find(f"{{{SVG}}}title").text or "")
    assert NASTY in (root.find(f"{{{SVG}}}title").text or "")
    trend = svg.line_chart([(NASTY, NASTY, 1.0)], chart_id="t", title=NASTY, unit=NASTY)
    assert elements(parse(trend), "circle")[0].get("data-run") == NASTY
    pareto = svg.pareto_chart([{"category": NASTY, "count": 3, "percent": 100.0, "cumulative_percent": 100.0}], chart_id="p")
    assert elements(parse(pareto), "g", "category")[0].get("data-category") == NASTY


def test_no_style_attributes_and_no_colours() -> None:
    outputs = [
        svg.control_chart(chart(point("a", 0.1, rules=[1]), point("b", None), point("c", 0.2)), chart_id="c"),
        svg.line_chart([("a", None, 1.0), ("b", None, 2.0)], chart_id="l", title="t"),
        svg.pareto_chart([{"category": "a", "count": 2, "percent": 100.0, "cumulative_percent": 100.0}], chart_id="p"),
    ]
    for markup in outputs:
        text = str(markup)
        assert "style=" not in text and "fill=" not in text and "stroke=" not in text
        for element in parse(markup).iter():
            assert "style" not in element.attrib


def test_every_class_used_is_listed_for_the_stylesheet() -> None:
    outputs = [
        svg.control_chart(chart(point("a", 0.1, rules=[1]), point("b", None), point("c", 0.2)), chart_id="c"),
        svg.line_chart([("a", None, 1.0), ("b", None, 2.0)], chart_id="l", title="t"),
        svg.pareto_chart(pareto_entries(("a", 2), ("b", 1)), chart_id="p"),
    ]
    used = {name for markup in outputs for element in parse(markup).iter() for name in classes(element)}
    assert used == set(svg.CSS_CLASSES)


def test_nothing_to_draw_gives_none() -> None:
    assert svg.control_chart(chart(), chart_id="c") is None
    assert svg.control_chart({"title": "t", "kind": "p", "center": None}, chart_id="c") is None
    assert svg.control_chart(chart(point("a", None), point("b", float("nan"))), chart_id="c") is None
    assert svg.line_chart([], chart_id="l", title="t") is None
    assert svg.line_chart([("a", None, None), ("b", None, math.inf)], chart_id="l", title="t") is None
    assert svg.pareto_chart([], chart_id="p") is None


def test_output_is_deterministic() -> None:
    data = chart(*(point(f"r{i}", (i * 37 % 11) / 40, ucl=0.3 + i / 1000, rules=[1] if i == 7 else []) for i in range(30)))
    assert svg.control_chart(data, chart_id="c") == svg.control_chart(data, chart_id="c")
    trend = [(f"r{i}", None, float(i % 7)) for i in range(30)]
    assert svg.line_chart(trend, chart_id="l", title="t") == svg.line_chart(trend, chart_id="l", title="t")


def test_coordinates_have_at_most_two_decimals() -> None:
    root = parse(svg.control_chart(chart(*(point(f"r{i}", i / 7) for i in range(7))), chart_id="c", width=701))
    numbers = [e.get(a, "") for e in root.iter() for a in GEOMETRY if a in e.attrib]
    numbers += [n for e in root.iter() if "points" in e.attrib for pair in e.get("points", "").split() for n in pair.split(",")]
    assert numbers and all(len(n.partition(".")[2]) <= 2 for n in numbers)


def test_line_chart_trend() -> None:
    markup = svg.line_chart(
        [("a", "2024-05-01T10:00:00+00:00", 10.0), ("b", None, None), ("c", None, 30.0), ("d", "2024-05-09T08:00:00", 20.0)],
        chart_id="dur", title="suite duration", unit="s",
    )  # fmt: skip
    root = parse(markup)
    assert root.get("viewBox") == "0 0 720 200"
    assert [c.get("data-run") for c in elements(root, "circle")] == ["a", "c", "d"]
    assert [c.get("data-run") for c in elements(root, "circle", "this-run")] == ["d"]
    assert len(elements(root, "polyline", "series")) == 1  # c-d; a stands alone after the gap
    assert elements(root, "polyline", "limit") == [] and elements(root, "polyline", "center") == []
    dates = [t.text for t in elements(root, "text", "tick") if t.get("text-anchor") in ("start", "middle")]
    assert dates == ["2024-05-01"]
    assert [t.text for t in elements(root, "text", "tick") if t.get("text-anchor") == "end"][-1] == "2024-05-09"
    assert (elements(root, "circle")[0].find(f"{{{SVG}}}title").text or "").endswith(": 10 s")
    for circle, value in zip(elements(root, "circle"), [10.0, 30.0, 20.0]):
        ticks = [(v, y) for v, y in y_ticks_unit(root, "s")]
        (v0, y0), (v1, y1) = ticks[0], ticks[-1]
        assert float(circle.get("cy", "nan")) == pytest.approx(y0 + (value - v0) * (y1 - y0) / (v1 - v0), abs=0.02)
    assert "4 runs from 2024-05-01 to 2024-05-09, 1 without a value; latest 20 s (run d); lowest 10 s, highest 30 s" == (
        root.find(f"{{{SVG}}}desc").text
    )


def y_ticks_unit(root: ET.Element, unit: str) -> list[tuple[float, float]]:
    return [
        (float((t.text or "").removesuffix(unit)), float(t.get("y", "nan")))
        for t in elements(root, "text", "tick")
        if t.get("text-anchor") == "end" and t.get("x") == "54"
    ]


def test_line_chart_large_values_and_percent() -> None:
    root = parse(svg.line_chart([("a", None, 120_000.0), ("b", None, 180_000.0)], chart_id="d", title="DPMO"))
    ticks = [t.text for t in elements(root, "text", "tick") if t.get("x") == "54"]
    assert ticks and all(label.endswith("k") for label in ticks)
    assert (elements(root, "circle")[1].find(f"{{{SVG}}}title").text or "").endswith(": 180,000")
    yields = parse(svg.line_chart([("a", None, 0.95), ("b", None, 0.975)], chart_id="y", title="yield", percent=True))
    assert (elements(yields, "circle")[1].find(f"{{{SVG}}}title").text or "").endswith(": 97.5%")


def pareto_entries(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    total = sum(count for _, count in pairs)
    running = 0
    entries = []
    for category, count in pairs:
        running += count
        entries.append({"category": category, "count": count, "percent": 100 * count / total,
                        "cumulative_percent": 100 * running / total})  # fmt: skip
    return entries


def test_pareto_bars_labels_and_cumulative_line() -> None:
    long_name = "AssertionError: expected the frobnicator to have been reticulated twice"
    root = parse(svg.pareto_chart(pareto_entries((long_name, 12), ("TimeoutError", 6), ("OSError", 2)), chart_id="p"))
    top, bottom = 20.0, 210.0  # the default 240-high chart
    groups = elements(root, "g", "category")
    assert [g.get("data-category") for g in groups] == [long_name, "TimeoutError", "OSError"]
    bars = elements(root, "rect", "bar")
    heights = [float(b.get("height", "nan")) for b in bars]
    assert heights[0] / heights[1] == pytest.approx(2.0, abs=0.01) and heights[0] / heights[2] == pytest.approx(6.0, abs=0.05)
    assert all(float(b.get("y", "nan")) + h == pytest.approx(bottom) for b, h in zip(bars, heights))
    assert [t.text for t in elements(root, "text", "bar-label")] == ["12", "6", "2"]
    labels = [t.text or "" for t in elements(root, "text", "category-label")]
    assert labels[0].endswith("…") and long_name.startswith(labels[0][:-1]) and len(labels[0]) < len(long_name)
    assert labels[1:] == ["TimeoutError", "OSError"]
    assert (groups[0].find(f"{{{SVG}}}title").text or "").startswith(long_name + ": 12 (60.0%), cumulative 60.0%")
    (line,) = elements(root, "polyline", "cumulative")
    assert [y for _, y in vertices(line)] == [round(bottom - c / 100 * (bottom - top), 2) for c in (60.0, 90.0, 100.0)]
    middles = [float(b.get("x", "nan")) + float(b.get("width", "nan")) / 2 for b in bars]
    assert [x for x, _ in vertices(line)] == pytest.approx(middles, abs=0.01)
    right = [t.text for t in elements(root, "text", "tick") if t.get("text-anchor") is None]
    assert right == ["0", "25%", "50%", "75%", "100%"]
    desc = root.find(f"{{{SVG}}}desc").text or ""
    assert desc.startswith("3 categories, 20 defects; largest: ") and "the first 2 cover 90.0%" in desc


def test_pareto_without_cumulative_percent_and_with_zero_counts() -> None:
    old = [{"category": "a", "count": 3, "percent": 75.0}, {"category": "b", "count": 1, "percent": 25.0}]
    root = parse(svg.pareto_chart(old, chart_id="p"))
    assert [y for _, y in vertices(elements(root, "polyline", "cumulative")[0])] == [round(210 - 0.75 * 190, 2), 20.0]
    zero = parse(svg.pareto_chart([{"category": "a", "count": 0, "percent": 0.0, "cumulative_percent": 0.0}], chart_id="p"))
    assert [b.get("height") for b in elements(zero, "rect", "bar")] == ["0"]


# --- any chart at all --------------------------------------------------------------------

numbers = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
    st.sampled_from([0.0, 0.5, 1.0, 1e-12, 1e12]),
)


def check_geometry(markup: Markup, width: int, height: int) -> ET.Element:
    root = parse(markup)
    assert "style=" not in str(markup)
    assert root.get("viewBox") == f"0 0 {width} {height}"
    for element in root.iter():
        values = [float(element.get(a, "nan")) for a in GEOMETRY if a in element.attrib]
        if "points" in element.attrib:
            values_xy = vertices(element)
            assert values_xy
            assert all(0 <= x <= width and 0 <= y <= height for x, y in values_xy), element.get("points")
        for name in ("x", "cx", "x1", "x2"):
            if name in element.attrib:
                assert 0 <= float(element.get(name, "nan")) <= width, (name, element.attrib)
        for name in ("y", "cy", "y1", "y2"):
            if name in element.attrib:
                assert 0 <= float(element.get(name, "nan")) <= height, (name, element.attrib)
        assert all(math.isfinite(v) and v >= 0 for v in values), element.attrib
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(numbers, numbers, numbers, numbers, st.lists(st.integers(1, 8), max_size=3)), min_size=1, max_size=200
    ),
    equal=st.booleans(),
    percent=st.booleans(),
    width=st.integers(200, 1200),
    height=st.integers(100, 500),
)
def test_any_control_chart_parses_and_stays_in_its_viewbox(
    rows: list[tuple[Any, Any, Any, Any, list[int]]], equal: bool, percent: bool, width: int, height: int
) -> None:
    points = [
        point(f"r{i}", 0.2 if equal and value is not None else value, center=center, lcl=lcl, ucl=ucl, rules=rules,
              started_at="2024-01-02T03:04:05Z" if i % 3 == 0 else None)
        for i, (value, center, lcl, ucl, rules) in enumerate(rows)
    ]  # fmt: skip
    markup = svg.control_chart(chart(*points), chart_id="any", percent=percent, width=width, height=height)
    valued = [p for p in points if isinstance(p["value"], float) and math.isfinite(p["value"])]
    if not valued:
        assert markup is None
        return
    root = check_geometry(markup, width, height)
    assert [c.get("data-run") for c in elements(root, "circle")] == [p["run_id"] for p in valued]
    assert markup == svg.control_chart(chart(*points), chart_id="any", percent=percent, width=width, height=height)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(numbers, min_size=1, max_size=200), unit=st.sampled_from(["", "s", "%", "ms"]))
def test_any_line_chart_parses_and_stays_in_its_viewbox(values: list[float | None], unit: str) -> None:
    markup = svg.line_chart([(f"r{i}", None, v) for i, v in enumerate(values)], chart_id="l", title="t", unit=unit)
    if not any(v is not None and math.isfinite(v) for v in values):
        assert markup is None
        return
    check_geometry(markup, 720, 200)


@settings(max_examples=100, deadline=None)
@given(
    entries=st.lists(
        st.fixed_dictionaries({
            "category": st.text(max_size=60),
            "count": st.one_of(st.integers(0, 10**12), st.floats(allow_nan=True, allow_infinity=True)),
            "percent": st.floats(allow_nan=True, allow_infinity=True),
            "cumulative_percent": st.floats(allow_nan=True, allow_infinity=True),
        }),
        min_size=1, max_size=60,
    )
)  # fmt: skip
def test_any_pareto_chart_parses_and_stays_in_its_viewbox(entries: list[dict[str, Any]]) -> None:
    check_geometry(svg.pareto_chart(entries, chart_id="p"), 720, 240)
