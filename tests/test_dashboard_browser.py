"""The dashboard in a real browser (Debian's chromium through Playwright; tests/browser.py):
pages made by a real run with history, a 10,000-test report, an empty run and a merged run.
Each opens from file:// with no console error and no request, shows the JSON report's
numbers, and answers search and filters; each writes a screenshot to test-artifacts/dashboard/.
Speed is measured in benchmarks/bench_dashboard.py, not here."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # noqa: F401  (before any pytester: the plugin's config loader imports it)

from browser import launch, open_page
from pytest_enterprise.cli.main import main
from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality.metrics import analyze_run
from test_dashboard import synthetic_report

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(14))
def test_steady(n):
    pass

@pytest.mark.parametrize("n", range(6))
def test_broken_today(n):
    assert n < 0, f"case {n} broke"
"""


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def expect(locator: Any) -> Any:
    # Playwright's assertions poll from its own isolated world: the page's CSP (no eval)
    # stays on, as a person's browser has it; page.wait_for_function would need eval.
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def header_values(page: Any) -> dict[str, Any]:
    cards = page.eval_on_selector_all(".card", "cards => cards.map(c => [c.dataset.metric, c.dataset.value])")
    return {metric: json.loads(value) for metric, value in cards if value}


def visible_nodeids(page: Any) -> list[str]:
    return page.eval_on_selector_all("#tests-body tr:not(.detail) button.nodeid", "buttons => buttons.map(b => b.textContent)")


def store_history(path: Path, runs: int) -> None:
    """``runs`` earlier runs of the same suite in the store, 0 to 2 of its 20 tests failing."""
    from pytest_enterprise.store.sqlite import HistoryStore

    with HistoryStore(path) as store:
        for number in range(runs):
            failing = number % 3
            tests = [
                TestResult(f"test_history.py::test_{index}", [Attempt(1, "failed" if index < failing else "passed",
                           [Phase("call", "failed" if index < failing else "passed", 0.001)],
                           "failure" if index < failing else None)])  # fmt: skip
                for index in range(20)
            ]
            info = RunInfo(id=f"history-{number:02d}", started_at=f"2026-11-{number + 1:02d}T10:00:00.000Z", duration_s=1.0 + number % 4 / 10)
            record = RunRecord(info, tests)
            store.save_run(record, analyze_run(record).to_dict())


def test_a_run_with_history(browser, pytester):
    """The run that broke six tests after twelve calm runs: its point is flagged on the SPC
    chart; the header shows the JSON report's numbers; search, filters, sorting and the
    keyboard work; light, dark and print each get a screenshot."""
    pytester.makepyfile(SUITE)
    store_history(pytester.path / ".enterprise" / "history.db", 12)
    result = pytester.runpytest_inprocess("--enterprise-report", "--enterprise-json=r.json", "--enterprise-html=run.html", "-p", "no:randomly")
    assert result.ret == 1
    report = json.loads((pytester.path / "r.json").read_text())
    opened = open_page(browser, pytester.path / "run.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == []
    values = header_values(page)
    for metric in ("units", "defects", "dpmo", "fpy", "final_yield", "rty"):
        assert values[metric] == report["quality"][metric], metric
    # The SPC chart flags this run's point, by rule 1 (one point beyond 3σ).
    run_id = report["run"]["id"]
    point = page.locator(f'[data-chart="defect_fraction"] circle[data-run="{run_id}"]')
    assert "signal" in point.get_attribute("class") and point.get_attribute("data-rules").split()[0] == "1"  # Nelson 1
    assert "nelson-1" in page.inner_text('[data-chart="defect_fraction"] .signals')
    opened.screenshot("run-with-history-light")
    # What a screen reader announces: named controls, charts as images with a name, a status.
    assert page.get_by_role("searchbox", name="Search by name").count() == 1
    for name in ("Outcome", "Marker", "Control", "Flag value", "Environment"):
        assert page.get_by_role("combobox", name=name).count() == 1, name
    assert page.get_by_role("img").count() >= 4  # the Pareto and the control charts
    assert page.get_by_role("status").inner_text().startswith("Showing 20 of 20")
    # Search by name, then a filter, then both cleared.
    assert len(visible_nodeids(page)) == 20
    page.fill("#search", "broken")
    expect(page.locator("#tests-body tr")).to_have_count(6)
    assert all("test_broken_today" in nodeid for nodeid in visible_nodeids(page))
    page.fill("#search", "")
    page.select_option("#filter-outcome", "passed")
    assert visible_nodeids(page) == [t["nodeid"] for t in report["tests"] if t["outcome"] == "passed"]
    page.select_option("#filter-outcome", "")
    # Sorting by duration, slowest first.
    page.click("#sort-duration")
    durations = page.eval_on_selector_all("#tests-body tr td.number", "cells => cells.map(c => Number(c.textContent))")
    assert durations == sorted(durations, reverse=True)
    assert page.get_attribute("#sort-duration", "aria-expanded") is None
    assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending"
    # The keyboard: a failed test's details open with Enter, and show its message.
    page.fill("#search", "broken_today[3]")
    expect(page.locator("#tests-body tr")).to_have_count(1)
    page.focus("#tests-body button.nodeid")
    page.keyboard.press("Enter")
    assert page.get_attribute("#tests-body button.nodeid", "aria-expanded") == "true"
    assert "case 3 broke" in page.inner_text("#tests-body tr.detail")
    page.keyboard.press("Enter")
    assert page.locator("#tests-body tr.detail").is_hidden()
    # Dark, and print: the filters are not printed.
    dark = open_page(browser, pytester.path / "run.html", color_scheme="dark")
    assert dark.errors == [] and dark.requests == []
    background = dark.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != page.evaluate("getComputedStyle(document.body).backgroundColor")
    dark.screenshot("run-with-history-dark")
    page.fill("#search", "")
    page.emulate_media(media="print")
    assert page.locator("#filters").is_hidden()
    opened.screenshot("run-with-history-print")


def test_ten_thousand_tests(browser, tmp_path):
    """10,000 tests open, show 200 rows at a time, and search all of them."""
    report = synthetic_report(10_000)
    (tmp_path / "big.json").write_text(json.dumps(report))
    assert main(["telemetry", "report", "--input", str(tmp_path / "big.json"), "--output", str(tmp_path / "big.html"), "--store", str(tmp_path / "none.db")]) == 0
    opened = open_page(browser, tmp_path / "big.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == []
    assert len(visible_nodeids(page)) == 200
    assert "of 10,000 matching" in page.inner_text("#tests-status")
    page.click("#more")
    assert len(visible_nodeids(page)) == 400
    # Every test whose id holds "_0042": computed here from the report, not by the page.
    expected = [t["nodeid"] for t in report["tests"] if "_0042" in t["nodeid"]]
    page.fill("#search", "_0042")
    expect(page.locator("#tests-body tr")).to_have_count(len(expected))
    assert visible_nodeids(page) == expected
    page.fill("#search", "")
    page.select_option("#filter-outcome", "failed")
    failed = [t["nodeid"] for t in report["tests"] if t["outcome"] == "failed"]
    assert re.search(rf"of {len(failed)} matching", page.inner_text("#tests-status"))
    opened.screenshot("ten-thousand-tests")


def test_an_empty_run(browser, tmp_path):
    (tmp_path / "empty.json").write_text(json.dumps(synthetic_report(0)))
    assert main(["telemetry", "report", "--input", str(tmp_path / "empty.json"), "--output", str(tmp_path / "empty.html"), "--store", str(tmp_path / "none.db")]) == 0
    opened = open_page(browser, tmp_path / "empty.html")
    assert opened.errors == [] and opened.requests == []
    assert header_values(opened.page) == {"units": 0}
    assert "0 in this run" in opened.page.inner_text("#tests-status")
    assert "No history" in opened.page.inner_text("#process")
    opened.screenshot("empty-run")


def test_a_merged_run(browser, tmp_path):
    """Two shards merged: the page of the merged report shows the merged numbers."""
    shards = []
    for number in range(2):
        report = synthetic_report(300, id=f"shard-{number}")
        for test in report["tests"]:
            test["nodeid"] = test["nodeid"].replace("tests/", f"shard{number}/")
        path = tmp_path / f"shard{number}.json"
        path.write_text(json.dumps(report))
        shards.append(str(path))
    assert main(["merge", *shards, "--output", str(tmp_path / "merged.json")]) in (0, 1)
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert main(["telemetry", "report", "--input", str(tmp_path / "merged.json"), "--output", str(tmp_path / "merged.html"), "--store", str(tmp_path / "none.db")]) == 0
    opened = open_page(browser, tmp_path / "merged.html")
    assert opened.errors == [] and opened.requests == []
    values = header_values(opened.page)
    assert values["units"] == merged["quality"]["units"] == 600
    assert values["dpmo"] == merged["quality"]["dpmo"]
    assert "of 600 matching" in opened.page.inner_text("#tests-status")
    opened.screenshot("merged-run")


def test_the_demo_projects_dashboard(browser, tmp_path):
    """The demo project (compliance, flags, a flaky test, a broken one): its page shows the
    compliance heat map with each control's evidence, the flag-value matrix and a failure's
    traceback, with no console error and no request."""
    import shutil
    import subprocess
    import sys

    demo = tmp_path / "demo"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "demo", demo, ignore=shutil.ignore_patterns(".enterprise", "enterprise-reports"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "--enterprise-html=demo.html", "--enterprise-json=demo.json"],
        cwd=demo, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-2000:]  # the demo fails its DPMO gate on purpose
    report = json.loads((demo / "demo.json").read_text())
    opened = open_page(browser, demo / "demo.html")
    page = opened.page
    assert opened.errors == [] and opened.requests == []
    # Every in-scope control of every framework is a cell in its state.
    for framework in report["compliance"]["frameworks"]:
        cells = page.locator(f'#compliance .heatmap[aria-label="Controls of {framework["name"]}"] > li')
        assert cells.count() == len(framework["controls"]), framework["framework"]
    attested = next(c for f in report["compliance"]["frameworks"] for c in f["controls"] if c["state"] == "attested")
    cell = page.locator(f'#compliance li[data-control="{attested["id"]}"]').first
    cell.locator("summary").click()
    assert "Attestation" in cell.inner_text()
    # The flags' values with the outcomes of the tests run at each.
    flags = report["flags"]["flags"]
    assert page.locator("#flags tbody tr").count() == len(flags)
    # The broken test's traceback.
    page.fill("#search", "negative")
    expect(page.locator("#tests-body tr")).to_have_count(1)
    page.click("#tests-body button.nodeid")
    assert "AssertionError" in page.inner_text("#tests-body tr.detail pre.traceback")
    opened.screenshot("demo-project")
