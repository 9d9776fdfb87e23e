"""The parts of a merge: each report file read back into its run record, and how the parts
relate (CI shards of one run, or runs of one suite in several environments)."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import RunRecord
from ..report.json_report import record_from_report
from ..report.fast_read import read_record
from ..report.loading import load_report, no_gc, read_bytes

SHARDS = "shards"
ENVIRONMENTS = "environments"
AUTO = "auto"
MODES = (AUTO, SHARDS, ENVIRONMENTS)


@dataclass
class Part:
    """One report of a merge; ``header`` is the report without its tests (those are in
    ``record``), so a part costs what its run record costs, not its parsed JSON. Read by
    ``report.fast_read``, ``record.tests`` is a ``PackedTests``: built on first use."""

    path: Path
    sha256: str
    header: dict[str, Any]
    record: RunRecord
    label: str = ""  # the environment it stands for, in an environments merge

    @property
    def environment_key(self) -> tuple[str | None, str]:
        run = self.record.run
        return run.environment, run.python


# Reading a part is independent of the others and CPU-bound (about 60 ms for a 10,000-test
# report): from this much input on, the parts are read by a few forked processes at once.
PARALLEL_BYTES = 16 * 1024 * 1024


def read_parts(paths: list[Path]) -> list[Part]:
    """The parts in ``paths``, in order; the first unreadable one raises its one-line error,
    as reading them one by one would. Read in parallel (``_workers``) when that pays."""
    workers = _workers(paths)
    if workers < 2:
        return [read_part(path) for path in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(read_part, paths))
    except (BrokenProcessPool, OSError):  # a worker killed (out of memory?), or no fork: here, then
        return [read_part(path) for path in paths]


def _workers(paths: list[Path]) -> int:
    """How many processes read the parts: one (this process) unless there are several CPUs,
    enough input for the processes' start to pay, and fork is safe (POSIX, this process has
    no other thread: forking one that has is how deadlocks are made)."""
    if len(paths) < 2 or threading.active_count() > 1:
        return 1
    cpus = _usable_cpus()
    if cpus < 2:
        return 1
    try:
        size = sum(path.stat().st_size for path in paths)
    except OSError:
        return 1  # read_part says what is wrong with which file
    return min(cpus, len(paths)) if size >= PARALLEL_BYTES else 1


def _usable_cpus() -> int:
    # Where there is no sched_getaffinity (macOS, Windows), fork is unsafe or absent anyway.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def read_part(path: str | Path) -> Part:
    """The part in ``path``: read by ``report.fast_read`` when it can follow the file exactly
    (a report as the plugin writes it), else by the general loader, which also makes the
    one-line errors. Both give the same record."""
    path = Path(path)
    raw = read_bytes(path)
    fast = read_record(raw)  # kept: its tests' text is the report's (ASCII) bytes
    if fast is not None:
        return Part(path, hashlib.sha256(raw).hexdigest(), fast.header, fast.record)
    report = load_report(path, raw)
    data = report.data
    try:
        with no_gc():
            record = record_from_report(data)
    except (KeyError, TypeError, ValueError) as error:  # the schema leaves a few things open
        raise InputError(f"{report.path}: cannot be read as a run record ({type(error).__name__}: {error})") from None
    header = {key: value for key, value in data.items() if key != "tests"}
    return Part(report.path, report.sha256, header, record)


def choose_mode(parts: list[Part], requested: str) -> tuple[str, str]:
    """The merge mode and why, in words for the user."""
    keys = {part.environment_key for part in parts}
    if requested == SHARDS:
        if len(keys) > 1:
            raise InputError(
                f"--mode shards: the parts ran in different environments ({_describe_keys(parts)});"
                " merge them with --mode environments"
            )
        return SHARDS, "shards (--mode shards)"
    if requested == ENVIRONMENTS:
        if len(keys) == 1:
            raise InputError(
                f"--mode environments: every part ran in the same environment ({_describe_keys(parts)});"
                " merge them as shards"
            )
        return ENVIRONMENTS, "environments (--mode environments)"
    if len(keys) > 1:
        return ENVIRONMENTS, f"environments (auto: the parts ran in {len(keys)} environments: {_describe_keys(parts)})"
    return SHARDS, "shards (auto: every part ran in the same environment and Python)"


def label_environments(parts: list[Part]) -> None:
    """Name each part's environment: the tox environment when that tells them apart, else the
    Python version, else both."""
    keys = {part.environment_key for part in parts}
    names = {environment for environment, _ in keys}
    pythons = {python for _, python in keys}
    for part in parts:
        environment, python = part.environment_key
        if None not in names and len(names) == len(keys):
            part.label = environment  # type: ignore[assignment]
        elif len(pythons) == len(keys):
            part.label = python or "unknown python"
        else:
            part.label = f"{environment or 'no tox env'} ({python or 'unknown python'})"


def _describe_keys(parts: list[Part]) -> str:
    seen: dict[tuple[str | None, str], list[str]] = {}
    for part in parts:
        seen.setdefault(part.environment_key, []).append(part.path.name)
    return "; ".join(
        f"{environment or 'no tox env'} / {python or 'unknown python'} in {', '.join(files)}"
        for (environment, python), files in seen.items()
    )
