"""Shared machinery of the pytest-enterprise benchmarks (not a benchmark itself).

* ``generate_suite`` writes a trivial test suite (``files`` x ``tests`` functions that pass) into
  a folder with its own ``pytest.ini``, so the measured runs never see this repository's config.
* ``run_measured`` runs one command from a small fresh Python process, which reports its wall
  time and, from ``getrusage(RUSAGE_CHILDREN)``, its CPU time and peak RSS (``ru_maxrss``).
* ``ReplayClock`` lets pytest-benchmark tabulate durations that were measured elsewhere (the
  interleaved subprocess rounds), through its public ``@pytest.mark.benchmark(timer=...)`` option.
* ``RESULTS`` collects the headline numbers; ``conftest.py`` prints them at the end of the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Flags every measured pytest run gets, whatever the variant. Option values that are paths
#: are always passed as ``--opt=PATH``: pytest takes a separate existing-path token for a test
#: path when it picks rootdir, which would move rootdir (and the history store) to a parent.
COMMON_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:benchmark")

#: Environment variables that would change what a measured run does; removed for every run.
_SCRUBBED_PREFIXES = ("ENTERPRISE_", "PYTEST_", "COV_CORE_")

#: Headline numbers of this benchmark session, printed by conftest.py's terminal summary.
RESULTS: dict[str, list[str]] = {}


# --------------------------------------------------------------------------------------------
# Suites


def generate_suite(root: Path, files: int, tests: int) -> Path:
    """``files`` modules of ``tests`` trivial passing tests each; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    # An ini file of its own pins rootdir here: no repo config, no addopts, no filterwarnings.
    (root / "pytest.ini").write_text("[pytest]\n")
    body = "".join(f"def test_{number:04d}():\n    pass\n\n\n" for number in range(tests))
    for index in range(files):
        (root / f"test_module_{index:03d}.py").write_text(body)
    return root


# --------------------------------------------------------------------------------------------
# Measured subprocess runs


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float  # user + system time of the run (and of processes it waited for)
    maxrss_kib: int  # peak resident set size of the run, KiB (Linux ru_maxrss unit)
    returncode: int
    output: str = field(repr=False)  # the run's terminal output, for failure messages
    started: float = 0.0  # perf_counter (CLOCK_MONOTONIC) readings around the run
    ended: float = 0.0
    instructions: int | None = None  # instructions executed, when run under cachegrind


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    env["PYTHONHASHSEED"] = "0"
    # Measured runs cache bytecode as a user's runs do. With PYTHONDONTWRITEBYTECODE (set in
    # some containers) pytest would parse, rewrite and compile every test module again in every
    # run: a per-test cost of its own (~5% of plain pytest's at 2,000 trivial tests) that
    # inflates every variant's per-test cost alike and so shrinks every ratio.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


# Runs the command in a small, fresh Python process and reports the command's resource usage
# from RUSAGE_CHILDREN. The indirection matters for peak RSS: a child started with vfork/fork
# inherits its parent's high-water RSS as the floor of its own ru_maxrss, so measured directly
# from this (large) pytest process, every run would read at least this process's RSS.
_MEASURE = """
import json, resource, subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    start = time.perf_counter()
    code = subprocess.call(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
    end = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": end - start, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "maxrss_kib": usage.ru_maxrss, "returncode": code, "started": start, "ended": end}))
"""


def run_measured(args: Sequence[str], cwd: Path, log: Path, env: Mapping[str, str] | None = None) -> Measurement:
    """Run ``args`` in ``cwd`` (output to ``log``): wall time, CPU time and peak RSS.

    With ``INSTRUCTIONS`` set (see ``count_instructions``), the run happens under Valgrind's
    cachegrind and ``instructions`` holds the number of instructions it executed.
    """
    if INSTRUCTIONS["on"]:
        args = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *args]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(log), *args],
        cwd=cwd, env={**clean_env(), **(env or {})}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    data = json.loads(done.stdout)
    output = log.read_text(errors="replace")
    counted = _I_REFS.search(output) if INSTRUCTIONS["on"] else None
    return Measurement(**data, output=output, instructions=int(counted.group(1).replace(",", "")) if counted else None)


#: Set ``INSTRUCTIONS["on"]`` to run every measured command under cachegrind (instruction
#: counts: deterministic, so one round is enough, but each run is about 40x slower).
INSTRUCTIONS = {"on": False}
_I_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def pytest_command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *COMMON_ARGS, *extra]


@dataclass(frozen=True)
class Variant:
    """One way of running the suite; only the flags differ between variants."""

    name: str
    description: str
    flags: Callable[[Path], list[str]]  # output folder -> extra pytest flags
    expected_files: Callable[[Path, Path], list[Path]] = lambda suite, out: []
    fresh_paths: Callable[[Path, Path], list[Path]] = lambda suite, out: []


def _enterprise_outputs(suite: Path, out: Path) -> list[Path]:
    return [out / "enterprise-report.json"]


def _history(suite: Path, out: Path) -> list[Path]:
    return [suite / ".enterprise"]


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("baseline", "plain pytest, plugin unloaded (-p no:enterprise)",
                lambda out: ["-p", "no:enterprise"]),
        Variant("disabled", "plugin installed, no flag (inert)", lambda out: []),
        Variant("enterprise", "--enterprise-report, history to a fresh store (default)",
                lambda out: ["--enterprise-report", f"--enterprise-output={out}"],
                expected_files=lambda s, o: [*_enterprise_outputs(s, o), s / ".enterprise" / "history.db"],
                fresh_paths=_history),
        Variant("enterprise-no-history", "--enterprise-report --enterprise-no-history",
                lambda out: ["--enterprise-report", f"--enterprise-output={out}", "--enterprise-no-history"],
                expected_files=_enterprise_outputs, fresh_paths=_history),
        Variant("junitxml", "pytest's own --junitxml", lambda out: [f"--junitxml={out / 'junit.xml'}"],
                expected_files=lambda s, o: [o / "junit.xml"]),
        Variant("reportlog", "pytest-reportlog --report-log", lambda out: [f"--report-log={out / 'report.jsonl'}"],
                expected_files=lambda s, o: [o / "report.jsonl"]),
        Variant("pytest-html", "pytest-html --html", lambda out: [f"--html={out / 'report.html'}"],
                expected_files=lambda s, o: [o / "report.html"]),
        Variant("pytest-json-report", "pytest-json-report --json-report",
                lambda out: ["--json-report", f"--json-report-file={out / 'report.json'}"],
                expected_files=lambda s, o: [o / "report.json"]),
    )
}  # fmt: skip


def run_variant(
    variant: Variant, suite: Path, work: Path, expected_passed: int,
    extra: Sequence[str] = (), env: Mapping[str, str] | None = None,
) -> Measurement:  # fmt: skip
    """One measured run of ``suite`` under ``variant``; fails loudly on any wrong outcome."""
    out = work / variant.name
    for stale in [out, *variant.fresh_paths(suite, out)]:
        shutil.rmtree(stale, ignore_errors=True)
    out.mkdir(parents=True)
    command = pytest_command(*extra, *variant.flags(out))
    measurement = run_measured(command, suite, work / f"{variant.name}.log", env)
    # An empty suite is how the fixed cost is measured: pytest then exits 5, "no tests ran".
    summary, code = (f"{expected_passed} passed", 0) if expected_passed else ("no tests ran", 5)
    if measurement.returncode != code or summary not in measurement.output:
        raise AssertionError(
            f"variant {variant.name} did not run cleanly (exit {measurement.returncode},"
            f" expected '{summary}'):\n{measurement.output[-3000:]}"
        )
    missing = [str(p) for p in variant.expected_files(suite, out) if not p.exists()]
    if missing:
        raise AssertionError(f"variant {variant.name} wrote no {', '.join(missing)}")
    return measurement


def interleaved_rounds(
    variants: Sequence[Variant], suite: Path, work: Path, expected_passed: int, rounds: int
) -> dict[str, list[Measurement]]:
    """``rounds`` rounds of every variant, round-robin; round r starts at variant r mod n.

    Rotating the order makes a Latin square when rounds == len(variants): every variant runs
    once in every position, so neither drift nor "runs right after X" favours one of them.
    """
    results: dict[str, list[Measurement]] = {v.name: [] for v in variants}
    for number in range(rounds):
        shift = number % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            results[variant.name].append(run_variant(variant, suite, work, expected_passed))
    return results


# --------------------------------------------------------------------------------------------
# Statistics and pytest-benchmark glue


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def quantiles(values: Iterable[float]) -> list[float]:
    """The three quartile cut points."""
    return statistics.quantiles(list(values), n=4)


def paired_ratio(results: Mapping[str, list[Measurement]], name: str, base: str = "baseline",
                 attribute: str = "wall_s") -> float:
    """Median over rounds of (variant / baseline) within the same round."""
    pairs = zip(results[name], results[base], strict=True)
    return median(getattr(v, attribute) / getattr(b, attribute) for v, b in pairs)


def ratio_of_medians(results: Mapping[str, list[Measurement]], name: str, base: str = "baseline",
                     attribute: str = "wall_s") -> float:
    return median(getattr(m, attribute) for m in results[name]) / median(
        getattr(m, attribute) for m in results[base]
    )


class ReplayClock:
    """A pytest-benchmark timer that replays durations measured elsewhere.

    pytest-benchmark reads the timer once before and once after each round; ``load`` queues
    those readings so that round i lasts exactly ``durations[i]``. Pass the instance with
    ``@pytest.mark.benchmark(timer=CLOCK)`` and call ``benchmark.pedantic(noop, rounds=n)``.
    """

    __name__ = "ReplayClock"

    def __init__(self) -> None:
        self._readings: list[float] = []

    def load(self, durations: Sequence[float]) -> int:
        now, readings = 0.0, []
        for duration in durations:
            readings += [now, now + duration]
            now += duration
        self._readings = readings[::-1]
        return len(durations)

    def __call__(self) -> float:
        return self._readings.pop()


REPLAY = ReplayClock()


def replay(benchmark: Any, durations: Sequence[float]) -> None:
    """Hand ``durations`` (seconds) to pytest-benchmark as the rounds of this benchmark."""
    rounds = REPLAY.load(durations)
    benchmark.pedantic(lambda: None, rounds=rounds, iterations=1, warmup_rounds=0)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


REPO = Path(__file__).resolve().parents[1]


def source_fingerprint() -> str:
    """Hash of the product sources: the numbers belong to this exact code."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "pytest_enterprise").rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def git_head() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True, check=True)  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    import pytest

    return {
        "git_head": git_head(),
        "sources": source_fingerprint(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "pytest": pytest.__version__,
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
    }


@dataclass
class Check:
    """A target: the measured value, its limit, and whether it was met."""

    name: str
    value: float
    limit: float
    unit: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.value <= self.limit

    def describe(self) -> str:
        verdict = "MET" if self.met else "MISSED"
        return f"{verdict}: {self.name} = {self.value:.4g} {self.unit} (target <= {self.limit:g} {self.unit})"


CHECKS: list[Check] = []


def check(name: str, value: float, limit: float, unit: str) -> None:
    """Record a target check, then fail loudly when it is missed (the numbers stay recorded)."""
    result = Check(name, value, limit, unit)
    CHECKS.append(result)
    assert result.met, result.describe()
