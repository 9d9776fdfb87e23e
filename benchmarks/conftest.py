"""pytest-enterprise benchmarks. Run (see docs/performance.md):

    python -m pytest benchmarks -p no:xdist --benchmark-only

The repository's ``testpaths = ["tests"]`` keeps these out of the default test run. Benchmark
files are named ``bench_*.py``; the hook below collects them without ``-o python_files=...``
(which also works). Knobs, as environment variables: ``BENCH_ROUNDS`` (interleaved rounds of
the 5,000-test suite, default 9), ``BENCH_RSS_TESTS`` (size of the RSS suite, default 50,000),
``BENCH_RSS_REPEATS`` (default 1), ``BENCH_IMPORT_RUNS`` (default 21), ``BENCH_PHASE_ROUNDS``
(default 5), ``BENCH_FINISH_TESTS`` (default 5,000), ``BENCH_FIXED_PAIRS`` (default 31), ``BENCH_FIT_SIZES``,
``BENCH_FIT_ROUNDS``, ``BENCH_INSTRUCTIONS``, ``BENCH_INSTRUCTION_SIZES`` (see bench_per_test.py).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

import pytest

import _harness as h

_MACHINE = pytest.StashKey[dict]()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    # pytest collects the file itself when it is named on the command line or matches
    # python_files (e.g. -o python_files='bench_*.py'); don't collect it twice.
    patterns = parent.config.getini("python_files")
    if parent.session.isinitpath(file_path) or any(fnmatch.fnmatch(file_path.name, p) for p in patterns):
        return None
    return pytest.Module.from_parent(parent, path=file_path)


@pytest.fixture(scope="session")
def suite_5000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h.generate_suite(tmp_path_factory.mktemp("suite-5000"), files=50, tests=100)


@pytest.fixture(scope="session")
def overhead_matrix(suite_5000: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[h.Measurement]]:
    """Every variant of the 5,000-test suite, interleaved round-robin, BENCH_ROUNDS rounds."""
    work = tmp_path_factory.mktemp("overhead-runs")
    variants = list(h.VARIANTS.values())
    # Warm-up, not recorded: writes the suite's rewritten .pyc files and warms the page cache.
    for name in ("baseline", "enterprise"):
        h.run_variant(h.VARIANTS[name], suite_5000, work, 5000)
    return h.interleaved_rounds(variants, suite_5000, work, 5000, h.env_int("BENCH_ROUNDS", 9))


def pytest_report_header(config: pytest.Config) -> list[str]:
    info = config.stash[_MACHINE] = h.machine()
    return [
        f"benchmark machine: {info['cpus']} CPUs, {info['python']}, pytest {info['pytest']},"
        f" {info['platform']}, load average at start {info['loadavg_at_start']}",
        f"benchmarked code: HEAD {info['git_head']}, pytest_enterprise sources {info['sources']}",
    ]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not h.RESULTS and not h.CHECKS:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", "pytest-enterprise performance summary")
    for title, lines in h.RESULTS.items():
        write("")
        write(f"{title}:")
        for line in lines:
            write(f"  {line}")
    if h.CHECKS:
        write("")
        write("targets:")
        for check in h.CHECKS:
            write(f"  {check.describe()}", red=not check.met, green=check.met, bold=not check.met)
    write("")
    write(f"load average at end: {os.getloadavg()}")
    started = config.stash.get(_MACHINE, None)
    if started is not None:
        head, sources = h.git_head(), h.source_fingerprint()
        write(f"benchmarked code: HEAD {started['git_head']}, sources {started['sources']}")
        if sources != started["sources"]:
            write(
                f"WARNING: pytest_enterprise sources changed during the run ({started['sources']}"
                f" -> {sources}, HEAD {started['git_head']} -> {head}): rerun before trusting"
                " these numbers",
                red=True, bold=True,
            )
