"""Target 2 (import half): ``import pytest_enterprise.plugin`` costs at most 5 ms.

Measured with ``python -X importtime`` in a fresh interpreter per sample. pytest is imported
first, so the plugin's number is its own cumulative time (the ``pytest_enterprise`` package
included) and excludes pytest. Also checks what a disabled run really imports: compared with a
``-p no:enterprise`` run, it may add only the entry-point module and the hookspecs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import _harness as h

LIMIT_S = 0.005
ALLOWED_WHEN_DISABLED = {"pytest_enterprise", "pytest_enterprise.plugin", "pytest_enterprise.hookspecs"}


def cumulative_us(stderr: str, module: str) -> int:
    """The cumulative microseconds of ``module`` in ``-X importtime`` output."""
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        _, _, rest = line.partition(":")
        parts = [part.strip() for part in rest.split("|")]
        if len(parts) == 3 and parts[2] == module and parts[1].isdigit():
            return int(parts[1])
    raise AssertionError(f"{module} not found in -X importtime output:\n{stderr[-2000:]}")


def import_samples(code: str, module: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True, text=True, env=h.clean_env(), check=True,
        )  # fmt: skip
        samples.append(cumulative_us(done.stderr, module) / 1e6)
    return samples


@pytest.mark.benchmark(group="import time (s)", timer=h.REPLAY)
@pytest.mark.parametrize(
    "what, code, module",
    [
        ("plugin", "import pytest; import pytest_enterprise.plugin", "pytest_enterprise.plugin"),
        # pytest_addhooks imports the hookspecs in every run, enabled or not.
        ("hookspecs", "import pytest, pytest_enterprise.plugin; import pytest_enterprise.hookspecs",
         "pytest_enterprise.hookspecs"),
    ],
    ids=["plugin", "hookspecs"],
)  # fmt: skip
def test_import_time(benchmark, what: str, code: str, module: str) -> None:
    samples = import_samples(code, module, h.env_int("BENCH_IMPORT_RUNS", 21))
    h.replay(benchmark, samples)
    value = h.median(samples)
    benchmark.extra_info.update(median_ms=round(value * 1e3, 3), samples_ms=[round(s * 1e3, 3) for s in samples])
    h.RESULTS.setdefault("import time (python -X importtime, after pytest, median)", []).append(
        f"{module:<28} {value * 1e3:6.2f} ms cumulative (min {min(samples) * 1e3:.2f}, max {max(samples) * 1e3:.2f})"
    )
    if what == "plugin":
        h.check("import pytest_enterprise.plugin", value * 1e3, LIMIT_S * 1e3, "ms")


_MODULES_SCRIPT = """
import json, sys, pytest
code = pytest.main(sys.argv[2:])
assert code == 0, code
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


@pytest.mark.benchmark(group="disabled run: modules imported")
def test_disabled_run_imports(benchmark, tmp_path: Path) -> None:
    """A run without --enterprise-report imports no more of us than the entry point."""
    suite = h.generate_suite(tmp_path / "suite", files=2, tests=5)

    def modules(*flags: str) -> set[str]:
        listing = tmp_path / "modules.json"
        subprocess.run(
            [sys.executable, "-c", _MODULES_SCRIPT, str(listing), *h.COMMON_ARGS, *flags],
            cwd=suite, env=h.clean_env(), check=True, capture_output=True,
        )  # fmt: skip
        return set(json.loads(listing.read_text()))

    added = benchmark.pedantic(lambda: modules() - modules("-p", "no:enterprise"), rounds=1)
    benchmark.extra_info["modules_added_when_disabled"] = sorted(added)
    h.RESULTS.setdefault("disabled run: modules imported beyond a -p no:enterprise run", []).append(
        ", ".join(sorted(added)) or "(none)"
    )
    unexpected = added - ALLOWED_WHEN_DISABLED
    h.check("unexpected modules imported by a disabled run", len(unexpected), 0, "modules")
