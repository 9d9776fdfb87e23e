"""Supply-chain speed targets (issue: supply chain).

* The SBOM of this project's own test environment takes <= 0.5x the wall time of
  ``cyclonedx-py environment`` on the same environment, measured in the same run (both as
  command-line runs, interleaved, so machine load hits both alike).
* Scanning 200 packages against the full PyPA OSV snapshot, database load included, <= 1 s.
* The CycloneDX validator's import cost is never paid on the default path: producing an SBOM
  imports neither ``cyclonedx.validation`` nor ``jsonschema``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _harness as h
import pytest

from pytest_enterprise.supply_chain.model import Component, Inventory

ROUNDS = h.env_int("BENCH_SBOM_ROUNDS", 5)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OSV = SHARED / "osv-pypa"
REPO = Path(__file__).resolve().parents[1]


def _ours(out: Path) -> list[str]:
    return [sys.executable, "-m", "pytest_enterprise.cli.main", "security", "sbom", "--project", str(REPO), "--output", str(out)]


def _theirs(out: Path) -> list[str]:
    return [shutil.which("cyclonedx-py") or "cyclonedx-py", "environment", "--output-file", str(out), sys.executable]


@pytest.mark.benchmark(group="supply chain: SBOM of this environment (s), ours", timer=h.REPLAY)
def test_sbom_against_cyclonedx_py(benchmark, tmp_path: Path) -> None:
    if shutil.which("cyclonedx-py") is None:
        pytest.skip("cyclonedx-py (cyclonedx-bom, in the bench extra) is not installed")
    ours, theirs = [], []
    for round_number in range(ROUNDS):
        for name, command, times in (("ours", _ours, ours), ("theirs", _theirs, theirs)):
            out = tmp_path / f"{name}-{round_number}.json"
            measured = h.run_measured(command(out), REPO, tmp_path / f"{name}-{round_number}.log")
            assert measured.returncode == 0, measured.output
            times.append(measured.wall_s)
    ours_doc = json.loads((tmp_path / "ours-0.json").read_text())
    theirs_doc = json.loads((tmp_path / "theirs-0.json").read_text())
    h.replay(benchmark, ours)
    print(f"\n  cyclonedx-py environment rounds (s): {', '.join(f'{t:.2f}' for t in theirs)}")
    ratio = h.median(ours) / h.median(theirs)
    print(f"\n  SBOM: ours {h.median(ours):.3f} s ({len(ours_doc['components'])} components),"
          f" cyclonedx-py {h.median(theirs):.3f} s ({len(theirs_doc['components'])} components), ratio {ratio:.3f}")  # fmt: skip
    h.check("SBOM wall time / cyclonedx-py environment, medians", ratio, 0.5, "x")


def _inventory_of_snapshot(count: int) -> Inventory:
    """``count`` real package names of the snapshot, each at version 0.0.1 (old, so the
    ranges starting at 0 match and the scan does real work)."""
    names = sorted(path.name for path in (OSV / "vulns").iterdir() if path.is_dir())[:count]
    components = tuple(
        Component(name=name, display_name=name, version="0.0.1", purl=f"pkg:pypi/{name}@0.0.1", bom_ref=f"pkg:pypi/{name}@0.0.1")
        for name in names
    )
    return Inventory(components=components)


@pytest.mark.benchmark(group="supply chain: load the OSV snapshot and scan 200 packages (s)", timer=h.REPLAY)
def test_scan_200_packages_with_database_load(benchmark) -> None:
    if not OSV.is_dir():
        pytest.skip(f"the PyPA OSV snapshot is not at {OSV}")
    from pytest_enterprise.supply_chain.osv import OsvDatabase, scan

    inventory = _inventory_of_snapshot(200)
    durations = []
    findings = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = scan(inventory, OsvDatabase.load(OSV))
        durations.append(time.perf_counter() - start)
        findings = len(result.findings)
    h.replay(benchmark, durations)
    print(f"\n  scan: 200 packages, {findings} findings, median {h.median(durations):.3f} s")
    assert findings > 0
    h.check("load the PyPA snapshot and scan 200 packages, median", h.median(durations), 1.0, "s")


@pytest.mark.benchmark(group="supply chain: validator modules on the default path", timer=h.REPLAY)
def test_the_default_sbom_path_never_imports_the_validator(benchmark, tmp_path: Path) -> None:
    probe = (
        "import sys, json\n"
        "from pytest_enterprise.supply_chain.inventory import collect_inventory\n"
        "from pytest_enterprise.supply_chain.sbom import render_sbom\n"
        "render_sbom(collect_inventory(), 'cyclonedx-json')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('cyclonedx.validation', 'jsonschema')))))\n"
    )
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path)
    h.replay(benchmark, [time.perf_counter() - start])
    loaded = json.loads(done.stdout)
    h.check("validator modules imported on the default SBOM path", len(loaded), 0, "modules")
