"""Compliance speed targets (issue: compliance evidence).

* Resolving ``control`` marks and rolling up 10,000 tests tied to 300 controls adds <= 0.5 s to
  a run: measured in-process (catalog loading from cold, mark resolution, roll-up, and encoding
  the report section) and end to end (a 10,000-test suite with marks and compliance on, against
  the same suite without marks, both with ``--enterprise-report``).
* Exporting all four frameworks with that evidence to XLSX and OSCAL takes <= 2 s.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import _harness as h
import pytest

from pytest_enterprise.compliance import catalog as catalog_module
from pytest_enterprise.compliance.context import ComplianceContext
from pytest_enterprise.compliance.export import export
from pytest_enterprise.compliance.markers import ControlMarks
from pytest_enterprise.config import ComplianceConfig
from pytest_enterprise.model import Attempt, TestResult

TESTS = 10_000
CONTROLS = 300
NOW = datetime(2026, 11, 26, tzinfo=timezone.utc)


def _control_ids() -> list[str]:
    ids: list[str] = []
    for name in ("soc2", "iso27001", "nist-csf", "gdpr"):
        ids += [f"{name}:{c.id}" for c in catalog_module.builtin_catalog(name).assessable()]
    return ids[:CONTROLS]


class _Item:
    """What ControlMarks reads from a pytest item."""

    def __init__(self, nodeid: str, marks: list[object]) -> None:
        self.nodeid = nodeid
        self._marks = marks

    def iter_markers(self, name: str) -> list[object]:
        return self._marks


@pytest.fixture(scope="module")
def items() -> list[_Item]:
    ids = _control_ids()
    # Each test names two controls, as a marked suite typically does (class + function marks).
    return [
        _Item(f"test_m{i // 100:03d}.py::test_{i:05d}",
              [pytest.mark.control(ids[i % CONTROLS]).mark, pytest.mark.control(ids[(i * 7) % CONTROLS]).mark])
        for i in range(TESTS)
    ]  # fmt: skip


def _assess(items: list[_Item]) -> dict:
    """The plugin's compliance work for one run, from cold catalogs to the encoded section."""
    catalog_module._load_builtin.cache_clear()
    context = ComplianceContext(ComplianceConfig(enabled=True), Path.cwd())
    marks = ControlMarks(lambda: context.resolver)
    tests = []
    for index, item in enumerate(items):
        entries = marks.entries(item)
        outcome = "failed" if index % 97 == 0 else "passed"
        tests.append(TestResult(nodeid=item.nodeid, attempts=[Attempt(number=1, outcome=outcome)],
                                markers={"controls": entries}, started_at="2026-11-26T10:00:00.000Z"))  # fmt: skip
    result = context.roll_up(tests, run={"id": "bench", "git_commit": "c0ffee"}, now=NOW).to_dict()
    json.dumps(result, separators=(",", ":"))
    return result


def test_marks_and_roll_up_of_10000_tests(benchmark, items):
    benchmark.group = "compliance"
    result = benchmark.pedantic(_assess, args=(items,), rounds=5, iterations=1)
    assert sum(f["in_scope"] for f in result["frameworks"]) == 359
    h.check("compliance: marks + roll-up, 10,000 tests x 300 controls (median)", benchmark.stats.stats.median, 0.5, "s")


def test_export_all_frameworks_to_xlsx_and_oscal(benchmark, items, tmp_path):
    benchmark.group = "compliance"
    result = _assess(items)

    def both() -> None:
        export(result, tmp_path / "matrix.xlsx")
        export(result, tmp_path / "oscal.json", "oscal")

    benchmark.pedantic(both, rounds=3, iterations=1)
    h.check("compliance: XLSX + OSCAL export, 4 frameworks, 10,000 tests (median)", benchmark.stats.stats.median, 2.0, "s")


def _suite(root: Path, marked: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pytest.ini").write_text("[pytest]\n")
    ids = _control_ids()
    if marked:
        (root / "enterprise-config.yaml").write_text("compliance:\n  enabled: true\n")
    for module in range(100):
        lines = ["import pytest\n\n"]
        for number in range(100):
            index = module * 100 + number
            if marked:
                lines.append(f"@pytest.mark.control({ids[index % CONTROLS]!r}, {ids[(index * 7) % CONTROLS]!r})\n")
            lines.append(f"def test_{number:04d}():\n    pass\n\n\n")
        (root / f"test_module_{module:03d}.py").write_text("".join(lines))
    return root


def test_end_to_end_cost_of_compliance_in_a_10000_test_run(benchmark, tmp_path_factory):
    """What compliance adds on top of the core plugin, with pytest's own cost of the marks
    (20,000 decorators, marked items) cancelled out: (marked, enabled - marked, plugin off)
    - (plain, enabled - plain, plugin off), as a median over interleaved rounds."""
    benchmark.group = "compliance"
    suites = {"plain": _suite(tmp_path_factory.mktemp("plain"), marked=False),
              "marked": _suite(tmp_path_factory.mktemp("marked"), marked=True)}  # fmt: skip
    log = tmp_path_factory.mktemp("logs") / "run.log"
    commands = {"on": h.pytest_command("--enterprise-report", "--enterprise-no-history", "-q"),
                "off": h.pytest_command("-p", "no:enterprise", "-q")}  # fmt: skip
    variants = [(suite, mode) for suite in suites for mode in commands]
    rounds = h.env_int("BENCH_COMPLIANCE_ROUNDS", 5)
    walls: dict[tuple[str, str], list[float]] = {variant: [] for variant in variants}
    for suite, mode in variants:  # warm-up: .pyc files and page cache
        h.run_measured(commands[mode], suites[suite], log)
    for _ in range(rounds):
        for suite, mode in variants:
            measured = h.run_measured(commands[mode], suites[suite], log)
            assert measured.returncode == 0, measured.output[-2000:]
            walls[(suite, mode)].append(measured.wall_s)
    added = h.median(
        (mon - moff) - (pon - poff)
        for mon, moff, pon, poff in zip(walls[("marked", "on")], walls[("marked", "off")],
                                        walls[("plain", "on")], walls[("plain", "off")])
    )  # fmt: skip
    medians = {f"{suite}/{mode}": round(h.median(values), 3) for (suite, mode), values in walls.items()}
    benchmark.extra_info.update(medians, added_s=added)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print(f"\n10,000 tests, median wall: {medians}; compliance adds {added:.3f} s")
    h.check("compliance: added wall time end to end, 10,000 marked tests (median)", added, 0.5, "s")
