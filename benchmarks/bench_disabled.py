"""Target 2, made measurable: what the installed-but-disabled plugin costs.

The 5,000-test ratio (bench_overhead.py) has to resolve 1% on a machine whose run-to-run
noise is several percent. Two sharper measurements back it up:

* structure: in a run without ``--enterprise-report``, the plugin implements only hooks that
  pytest calls a fixed number of times per session, none per test, collector or report;
* fixed cost: baseline and disabled runs of a 10-test suite, interleaved ``BENCH_FIXED_PAIRS``
  times (default 31): the median paired difference is the whole per-run cost, and that cost
  over the 5,000-test baseline is the ratio the 5,000-test run would show without noise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import _harness as h

#: Hooks pytest calls once (or a fixed number of times) per session, never per test.
PER_SESSION_HOOKS = frozenset({
    "pytest_addhooks", "pytest_addoption", "pytest_configure", "pytest_unconfigure",
    "pytest_plugin_registered", "pytest_cmdline_main", "pytest_cmdline_parse", "pytest_load_initial_conftests",
    "pytest_sessionstart", "pytest_sessionfinish", "pytest_collection", "pytest_collection_modifyitems",
    "pytest_collection_finish", "pytest_runtestloop", "pytest_report_header",
    "pytest_report_collectionfinish", "pytest_terminal_summary", "pytest_keyboard_interrupt",
})  # fmt: skip

_HOOKS_SCRIPT = """
import json, sys, pytest

class Lister:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        pm = session.config.pluginmanager
        found = {}
        for name, plugin in pm.list_name_plugin():
            module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", "")
            if str(getattr(plugin, "__name__", module)).startswith("pytest_enterprise") or str(module).startswith("pytest_enterprise"):
                found[name] = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        with open(sys.argv[1], "w") as out:
            json.dump(found, out)

sys.exit(pytest.main(sys.argv[2:], plugins=[Lister()]))
"""


@pytest.mark.benchmark(group="disabled plugin: hooks")
def test_disabled_implements_no_per_test_hook(benchmark, tmp_path: Path) -> None:
    suite = h.generate_suite(tmp_path / "suite", files=1, tests=3)
    listing = tmp_path / "hooks.json"

    def run() -> dict[str, list[str]]:
        subprocess.run(
            [sys.executable, "-c", _HOOKS_SCRIPT, str(listing), *h.COMMON_ARGS],
            cwd=suite, env=h.clean_env(), check=True, capture_output=True,
        )  # fmt: skip
        return json.loads(listing.read_text())

    plugins = benchmark.pedantic(run, rounds=1)
    hooks = sorted({hook for names in plugins.values() for hook in names})
    benchmark.extra_info["hooks"] = plugins
    h.RESULTS.setdefault("disabled plugin: fixed cost", []).append(
        f"hooks implemented when disabled: {', '.join(hooks)} (plugins: {', '.join(plugins)})"
    )
    per_test = sorted(set(hooks) - PER_SESSION_HOOKS)
    h.check(f"per-test hooks of the disabled plugin {per_test}", len(per_test), 0, "hooks")


@pytest.mark.benchmark(group="disabled plugin: fixed cost (s), 10-test suite", timer=h.REPLAY)
def test_disabled_fixed_cost(benchmark, tmp_path_factory: pytest.TempPathFactory, overhead_matrix) -> None:
    suite = h.generate_suite(tmp_path_factory.mktemp("suite-10"), files=1, tests=10)
    work = tmp_path_factory.mktemp("fixed-cost-runs")
    variants = [h.VARIANTS["baseline"], h.VARIANTS["disabled"]]
    h.run_variant(variants[0], suite, work, 10)  # warm-up
    runs = h.interleaved_rounds(variants, suite, work, 10, h.env_int("BENCH_FIXED_PAIRS", 31))
    differences = [d.wall_s - b.wall_s for d, b in zip(runs["disabled"], runs["baseline"], strict=True)]
    h.replay(benchmark, [m.wall_s for m in runs["disabled"]])

    cost = h.median(differences)
    quartiles = h.quantiles(differences)
    base_5000 = h.median(m.wall_s for m in overhead_matrix["baseline"])
    implied = 1 + cost / base_5000
    benchmark.extra_info.update(
        pairs=len(differences), median_difference_ms=round(cost * 1e3, 2),
        difference_quartiles_ms=[round(q * 1e3, 2) for q in quartiles],
        baseline_10_tests_s=round(h.median(m.wall_s for m in runs["baseline"]), 4),
        implied_ratio_at_5000=round(implied, 4),
    )  # fmt: skip
    h.RESULTS.setdefault("disabled plugin: fixed cost", []).append(
        f"disabled - baseline, 10-test suite, {len(differences)} interleaved pairs: median {cost * 1e3:+.1f} ms"
        f" (quartiles {quartiles[0] * 1e3:+.1f} / {quartiles[2] * 1e3:+.1f} ms); over the 5,000-test"
        f" baseline ({base_5000:.2f} s) that is a ratio of {implied:.4f}"
    )
    h.check("ratio implied by the disabled plugin's fixed cost, 5,000 tests", implied, 1.01, "x")
