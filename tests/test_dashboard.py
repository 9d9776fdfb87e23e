"""The HTML dashboard without a browser: what the page holds, its policy, the options that
write it, and the CLI. tests/test_dashboard_browser.py opens the pages in chromium."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import subprocess
import sys
from html import unescape
from typing import Any

import yaml  # noqa: F401  (before any pytester: the plugin's config loader imports it)

from pytest_enterprise.cli.main import main
from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.quality.metrics import analyze_run
from pytest_enterprise.report.html.render import render_dashboard
from pytest_enterprise.report.html.view import TEST_COLUMNS
from pytest_enterprise.report.json_report import build_report

SUITE = """
import pytest

@pytest.mark.parametrize("n", range(8))
def test_alpha(n):
    pass

def test_beta_fails():
    assert 1 == 2, "beta broke"

@pytest.mark.skip(reason="not today")
def test_gamma():
    pass
"""


def synthetic_report(tests: int, *, failing_every: int = 50, **run: Any) -> dict[str, Any]:
    """A report as the plugin writes it, for ``tests`` tests (one in ``failing_every`` fails)."""
    results = []
    for number in range(tests):
        nodeid = f"tests/test_module_{number // 100:04d}.py::test_{number:06d}"
        if failing_every and number % failing_every == 1:
            phases = [Phase("setup", "passed", 0.0001), Phase("call", "failed", 0.002), Phase("teardown", "passed", 0.0001)]
            attempt = Attempt(1, "failed", phases, "failure", "AssertionError", f"assert {number} == 0")
        else:
            phases = [Phase("setup", "passed", 0.0001), Phase("call", "passed", (number % 97) / 1000), Phase("teardown", "passed", 0.0001)]
            attempt = Attempt(1, "passed", phases)
        results.append(TestResult(nodeid, [attempt]))
    info = RunInfo(id=run.pop("id", "run-1"), started_at="2026-12-01T10:00:00.000Z", python="CPython 3.11.7", **run)
    record = RunRecord(info, results)
    return build_report(record, analyze_run(record).to_dict(), [], None)


def page_parts(html: str) -> dict[str, str]:
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    blob = re.search(r'<script type="application/octet-stream" id="tests-data"[^>]*>([^<]*)</script>', html)
    assert style and len(scripts) == 1 and policy and blob
    return {"style": style.group(1), "script": scripts[0], "policy": unescape(policy.group(1)), "blob": blob.group(1)}


def rows_of(html: str) -> list[list[Any]]:
    return json.loads(gzip.decompress(base64.b64decode(page_parts(html)["blob"])))


def digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_allows_only_its_own_style_and_script():
    """default-src 'none': nothing may load; the one stylesheet and the one script run
    because the policy names their hashes (computed here independently)."""
    html = render_dashboard(synthetic_report(30))
    parts = page_parts(html)
    directives = dict(item.strip().split(" ", 1) for item in parts["policy"].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == f"'{digest(parts['style'])}'"
    assert directives["script-src"] == f"'{digest(parts['script'])}'"
    # Nothing that would load: no src attribute, no external stylesheet, no URL in the CSS.
    assert " src=" not in html and "<link" not in html and "url(" not in parts["style"]
    assert "style=" not in html.replace("<style>", "")  # inline style attributes would be blocked


def test_the_tests_travel_once_as_compressed_rows():
    report = synthetic_report(120)
    html = render_dashboard(report)
    rows = rows_of(html)
    assert len(rows) == 120 and all(len(row) == len(TEST_COLUMNS) for row in rows)
    column = TEST_COLUMNS.index
    failed = [row for row in rows if row[column("outcome")] == "failed"]
    assert [row[column("nodeid")] for row in failed] == [t["nodeid"] for t in report["tests"] if t["outcome"] == "failed"]
    assert failed[0][column("message")] == "assert 1 == 0"
    assert html.count("<tr") < 40  # the rows are drawn by the page, not written 120 times


def test_header_shows_the_reports_numbers():
    report = synthetic_report(200)
    html = render_dashboard(report)
    quality = report["quality"]
    cards = dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', html))
    assert json.loads(cards["units"]) == quality["units"] == 200
    assert json.loads(cards["defects"]) == quality["defects"]
    for metric in ("dpmo", "fpy", "final_yield", "rty", "sigma_level"):
        assert json.loads(cards[metric]) == quality[metric], metric
    assert "95% CI" in html


def test_secrets_never_reach_the_page():
    report = synthetic_report(5, ci_job_url="https://ci-user:hunter2@ci.example/job/7")
    report["run"]["pytest_args"] = ["--db=https://admin:hunter2@db.example/x"]
    report["tests"][1]["attempts"][0]["message"] = "cannot reach https://deploy:hunter2@git.example/repo"
    html = render_dashboard(report)
    assert "hunter2" not in html
    assert "hunter2" not in json.dumps(rows_of(html))
    assert "https://***@ci.example/job/7" in html


def test_a_ci_link_is_only_a_link_when_it_is_http():
    report = synthetic_report(3, ci_job_url="javascript:alert(1)")
    html = render_dashboard(report)
    assert "javascript:" not in html
    report = synthetic_report(3, ci_job_url="https://ci.example/job/7")
    assert '<a href="https://ci.example/job/7"' in render_dashboard(report)


def test_text_in_the_report_is_escaped():
    report = synthetic_report(3, environment="<script>alert(1)</script>")
    html = render_dashboard(report)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_without_history_it_says_so_instead_of_drawing_axes():
    html = render_dashboard(synthetic_report(10))
    assert "No history" in html and "<svg" not in html.split('id="process"')[1].split("</section>")[0]


def test_an_empty_run_renders():
    html = render_dashboard(synthetic_report(0))
    assert 'data-metric="units" data-value="0"' in html and rows_of(html) == []


def test_pytest_writes_the_dashboard_beside_the_json(pytester):
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_inprocess("--enterprise-report", "--enterprise-json=out/r.json", "--enterprise-html", "-p", "no:randomly")
    assert result.ret == 1
    page = pytester.path / "out" / "enterprise-report.html"
    result.stdout.fnmatch_lines([f"enterprise dashboard: {page}"])
    report = json.loads((pytester.path / "out" / "r.json").read_text())
    html = page.read_text()
    assert [row[0] for row in rows_of(html)] == [test["nodeid"] for test in report["tests"]]
    cards = dict(re.findall(r'data-metric="([a-z_]+)" data-value="([^"]*)"', html))
    assert json.loads(cards["dpmo"]) == report["quality"]["dpmo"]


def test_pytest_writes_the_dashboard_where_asked_or_by_config(pytester):
    pytester.makepyfile(SUITE)
    assert pytester.runpytest_inprocess("--enterprise-report", "--enterprise-html=dash/page.html").ret == 1
    assert (pytester.path / "dash" / "page.html").is_file()
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  enabled: true\n  html: true\n  output_dir: reports\n"})
    assert pytester.runpytest_inprocess().ret == 1
    assert (pytester.path / "reports" / "enterprise-report.html").is_file()


def test_a_dashboard_that_cannot_be_written_is_a_problem_of_the_run(pytester):
    pytester.makepyfile("def test_ok():\n    pass\n")
    (pytester.path / "taken").mkdir()
    (pytester.path / "taken" / "x").write_text("")
    result = pytester.runpytest_inprocess("--enterprise-report", "--enterprise-html=taken")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*dashboard not written*taken*"])
    assert (pytester.path / "enterprise-reports" / "enterprise-report.json").is_file()


def test_a_run_that_does_not_ask_imports_nothing_of_it(tmp_path):
    """Generating the HTML adds nothing to a run that doesn't ask for it: no Jinja2, no module."""
    (tmp_path / "test_x.py").write_text("def test_ok():\n    pass\n")
    probe = (
        "import sys, pytest\n"
        "code = pytest.main(['-q', '-p', 'no:randomly', '-p', 'no:html', '--enterprise-report', 'test_x.py'])\n"
        "loaded = [name for name in sys.modules if name.startswith(('jinja2', 'pytest_enterprise.report.html'))]\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "LOADED []" in result.stdout, result.stdout


def test_cli_writes_the_dashboard_from_a_report_from_the_store_and_from_a_run(pytester, capsys):
    pytester.makepyfile(SUITE)
    for _ in range(3):
        pytester.runpytest_inprocess("--enterprise-report", "--enterprise-json=r.json", "-p", "no:randomly")
    report = json.loads((pytester.path / "r.json").read_text())
    store = str(pytester.path / ".enterprise" / "history.db")
    assert main(["telemetry", "report", "--input", str(pytester.path / "r.json"), "--store", store, "--output", str(pytester.path / "a.html")]) == 0
    assert main(["telemetry", "report", "--store", store, "--output", str(pytester.path / "b.html")]) == 0
    assert main(["telemetry", "report", "--store", store, "--run", report["run"]["id"], "--format", "html"]) == 0
    printed = capsys.readouterr().out
    for html in ((pytester.path / "a.html").read_text(), (pytester.path / "b.html").read_text(), printed):
        assert [row[0] for row in rows_of(html)] == [test["nodeid"] for test in report["tests"]]
        assert 'data-chart="failed_fraction"' in html  # three runs of history: values, no limits yet
        assert html.count('class="point') >= 3 or html.count("data-run=") >= 3


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    """Not JSON, not a report, a report whose parts have the wrong types: one line naming the
    file (and where it breaks the schema), exit 2, nothing written."""
    broken = synthetic_report(3)
    broken["tests"][1]["attempts"] = "many"
    bad_quality = synthetic_report(3)
    bad_quality["quality"]["units"] = "many"
    inputs = {"a.json": "{not json", "b.json": '{"quality": {}, "tests": "nope"}', "c.json": json.dumps(broken),
              "d.json": json.dumps(bad_quality)}  # fmt: skip
    for name, text in inputs.items():
        (tmp_path / name).write_text(text)
        assert main(["telemetry", "report", "--input", str(tmp_path / name), "--output", str(tmp_path / "x.html")]) == 2, name
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and name in error and not (tmp_path / "x.html").exists(), error
    (tmp_path / "c.json").write_text(json.dumps(broken))
    main(["telemetry", "report", "--input", str(tmp_path / "c.json"), "--output", str(tmp_path / "x.html")])
    assert "tests[1].attempts" in capsys.readouterr().err


NOISY = """
import logging

def test_noisy():
    print("connecting to https://bob:s3cret@db.example/x")
    logging.getLogger("app").warning("disk almost full")
    values = {"a": 1}
    assert values["a"] == 2

def test_quiet():
    pass
"""


def test_a_failures_full_text_reaches_the_report_and_the_page(pytester):
    """The traceback and the captured stdout and log of a failure: in the JSON report (only for
    the failed attempt), redacted, and in the page's rows for its details."""
    pytester.makepyfile(NOISY)
    result = pytester.runpytest_inprocess("--enterprise-report", "--enterprise-json=r.json", "--enterprise-html=r.html", "-p", "no:randomly")
    assert result.ret == 1
    report = json.loads((pytester.path / "r.json").read_text())
    noisy, quiet = report["tests"]
    details = noisy["attempts"][0]["details"]
    assert set(details) == {"traceback", "stdout", "log"}
    assert 'assert values["a"] == 2' in details["traceback"] and "E       assert 1 == 2" in details["traceback"]
    assert details["stdout"] == "connecting to https://***@db.example/x\n"
    assert "disk almost full" in details["log"]
    assert "details" not in quiet["attempts"][0]  # a passing test's JSON is as it was
    html = (pytester.path / "r.html").read_text()
    assert "s3cret" not in html and "s3cret" not in (pytester.path / "r.json").read_text()
    row = rows_of(html)[0]
    attempt = row[TEST_COLUMNS.index("details")][0]
    assert attempt[4] == details


def test_long_failure_text_is_cut_to_its_start_and_end():
    from pytest_enterprise.recorder import DETAILS_LIMIT, failure_details

    class Report:
        longreprtext = "".join(f"line {number:06d}\n" for number in range(5000))  # 60,000 characters
        capstdout = ""
        capstderr = "x" * 10
        caplog = ""

    details = failure_details(Report())
    assert set(details) == {"traceback", "stderr"} and details["stderr"] == "x" * 10
    text = details["traceback"]
    head, tail = DETAILS_LIMIT // 4, DETAILS_LIMIT - DETAILS_LIMIT // 4
    cut = len(Report.longreprtext) - DETAILS_LIMIT
    assert text == Report.longreprtext[:head] + f"\n… {cut:,} characters left out …\n" + Report.longreprtext[-tail:]


def test_supply_chain_files_beside_the_report(pytester):
    """The SBOM's components by scope and licence, and the provenance's subjects with their
    SHA-256 (checked here against the files). During the run the page says the provenance is
    written after it (a provenance file already there would be an older run's)."""
    assert main(["security", "keygen", "--out", str(pytester.path / "ci")]) == 0
    pytester.makefile(".yaml", **{"enterprise-config": "security:\n  signing_key: ci.key\n"})
    pytester.makepyfile("def test_ok():\n    pass\n")
    args = ("--enterprise-report", "--enterprise-sbom", "--enterprise-provenance", "--enterprise-json=out/r.json", "--enterprise-html=out/r.html")
    assert pytester.runpytest_inprocess(*args).ret == 0
    during = (pytester.path / "out" / "r.html").read_text()
    assert "Provenance: written after this report" in during and "Components (" in during
    sbom = json.loads((pytester.path / "out" / "sbom.cdx.json").read_text())
    assert f"Components ({len(sbom['components']):,})" in during
    assert main(["telemetry", "report", "--input", str(pytester.path / "out" / "r.json"), "--output", str(pytester.path / "d.html")]) == 0
    after = (pytester.path / "d.html").read_text()
    for name in ("r.json", "sbom.cdx.json"):
        digest_hex = hashlib.sha256((pytester.path / "out" / name).read_bytes()).hexdigest()
        assert f"<code>{name}</code> sha256 <code>{digest_hex[:16]}…</code>" in after
    assert "signature was not checked" in after
    # With the trusted public key: verified; with a file changed after signing: not verified.
    report_args = ["telemetry", "report", "--input", str(pytester.path / "out" / "r.json"), "--key", str(pytester.path / "ci.pub")]
    assert main([*report_args, "--output", str(pytester.path / "v.html")]) == 0
    assert 'data-verified="true"' in (pytester.path / "v.html").read_text()
    with (pytester.path / "out" / "sbom.cdx.json").open("a") as sbom_file:
        sbom_file.write(" ")
    assert main([*report_args, "--output", str(pytester.path / "v2.html")]) == 0
    tampered = (pytester.path / "v2.html").read_text()
    assert 'data-verified="false"' in tampered and "subject sbom.cdx.json: sha256" in tampered


def test_scan_findings_worst_first_and_unreadable_files_said(tmp_path):
    from pytest_enterprise.report.html.artifacts import supply_chain_details

    finding = {"package": "p", "version": "1", "id": "X", "aliases": [], "cvss_score": None, "fixed_versions": ["2"], "state": "affected"}
    scan = {"findings": [{**finding, "id": "LOW-1", "severity": "low"}, {**finding, "id": "CRIT-1", "severity": "critical", "fixed_versions": []}]}
    (tmp_path / "v.json").write_text(json.dumps(scan))
    (tmp_path / "sbom.json").write_text("{broken")
    section = {"files": {"vulnerabilities": "v.json", "sbom-cyclonedx-json": "sbom.json"}, "provenance": None}
    details = supply_chain_details(section, tmp_path)
    assert [row["id"] for row in details["findings"]] == ["CRIT-1", "LOW-1"]
    assert details["problems"] == [f"{tmp_path / 'sbom.json'}:1: not valid JSON: Expecting property name enclosed in double quotes"]
    assert supply_chain_details(section, None) is None


def test_pytest_markers_are_recorded_only_for_the_dashboard(pytester):
    """With the dashboard asked for, each test's pytest markers (not parametrize and the like)
    are in the report and in the page's marker filter; without it the report is as before."""
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow\n    network: network\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.slow
        def test_slow():
            pass

        @pytest.mark.parametrize("x", [1, 2])
        @pytest.mark.network
        @pytest.mark.slow
        def test_net(x):
            pass

        def test_plain():
            pass
        """
    )
    assert pytester.runpytest_inprocess("--enterprise-report", "--enterprise-json=plain.json", "-p", "no:randomly").ret == 0
    plain = json.loads((pytester.path / "plain.json").read_text())
    assert [test["markers"] for test in plain["tests"]] == [{}, {}, {}, {}]
    args = ("--enterprise-report", "--enterprise-json=r.json", "--enterprise-html=r.html", "-p", "no:randomly")
    assert pytester.runpytest_inprocess(*args).ret == 0
    report = json.loads((pytester.path / "r.json").read_text())
    assert [test["markers"].get("pytest") for test in report["tests"]] == [["slow"], ["network", "slow"], ["network", "slow"], None]
    from pytest_enterprise.report.validation import report_violation

    assert report_violation(report) is None
    rows = rows_of((pytester.path / "r.html").read_text())
    assert [row[TEST_COLUMNS.index("markers")] for row in rows] == [["slow"], ["network", "slow"], ["network", "slow"], []]
