"""One run record from several parts: CI shards of one run, or one suite run in several
environments (tox environments, Python versions). See docs/merge.md.

Nothing here computes a metric: the merged record goes through ``analyze_run`` like any run
(or, its tests still unbuilt, ``analyze_counted``, which gives the same numbers), so every
number is recomputed from the merged tests, never averaged over the parts.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputError
from ..model import COLLECTION, GitInfo, RunInfo, RunRecord, TestResult
from ..report.fast_read import PackedTests
from ..timeutil import parse_timestamp
from .parts import ENVIRONMENTS, Part, label_environments

# pytest's exit codes from best to worst, for the merged run's status: a part that collected
# no test (5) does not make a run whose other parts ran tests worse than clean.
_EXIT_RANK = {5: 0, 0: 1, 1: 2, 2: 3, 4: 4, 3: 5}


@dataclass
class MergedRun:
    record: RunRecord
    mode: str
    notes: list[str] = field(default_factory=list)


def merge_parts(parts: list[Part], mode: str) -> MergedRun:
    """``parts`` in command-line order; ``mode`` is ``shards`` or ``environments``."""
    notes: list[str] = []
    _check_agreement(parts)
    if mode == ENVIRONMENTS:
        label_environments(parts)
        groups: dict[str, list[Part]] = {}
        for part in parts:
            groups.setdefault(part.label, []).append(part)
        labels = sorted(groups)
        tests: list[TestResult] = []
        deselected = 0
        for label in labels:
            group_tests, group_deselected = _combine_shards(groups[label], notes)
            for test in group_tests:
                test.stage = label  # environments are the stages (DESIGN §8): RTY = ∏ their FPY
            tests += group_tests
            deselected += group_deselected
        if any(part.record.stages for part in parts):
            notes.append(
                "the parts' marker stages are replaced by the environments: in an environments merge"
                " each environment is one stage"
            )
        stages: list[str] | None = labels
        environment = "+".join(labels)
    else:
        tests, deselected = _combine_shards(parts, notes)
        stages = parts[0].record.stages
        environment = parts[0].record.run.environment
    run = _run_info(parts, environment, deselected)
    record = RunRecord(
        run=run, tests=tests, opportunity_definition=parts[0].record.opportunity_definition, stages=stages
    )
    return MergedRun(record, mode, notes)


def stored_copy(record: RunRecord, mode: str | None) -> RunRecord:
    """The record to hand the history store. In an environments merge the same test is there
    once per environment, and the store keys a run's tests on their node id, so each copy's
    node id there is qualified with its environment (``[py311] tests/test_a.py::test_x``).
    The stored report keeps the real node ids, each test with its environment."""
    if mode != ENVIRONMENTS:
        return record
    tests = []
    for test in record.tests:
        qualified = copy.copy(test)
        qualified.nodeid = f"[{test.stage}] {test.nodeid}"
        tests.append(qualified)
    return RunRecord(
        run=record.run, tests=tests, opportunity_definition=record.opportunity_definition, stages=record.stages
    )


def _check_agreement(parts: list[Part]) -> None:
    """What must be the same in every part for them to be one run."""
    first = parts[0]
    for part in parts[1:]:
        for what, mine, theirs in (
            ("process name", first.record.run.process, part.record.run.process),
            ("git commit", _commit(first), _commit(part)),
            (
                "opportunity counting",
                asdict(first.record.opportunity_definition),
                asdict(part.record.opportunity_definition),
            ),
        ):
            if mine != theirs:
                raise InputError(
                    f"{part.path}: {what} {theirs!r} differs from {mine!r} in {first.path};"
                    f" only parts of one run can be merged"
                )


def _commit(part: Part) -> str | None:
    git = part.record.run.git
    return None if git is None else git.commit


def _combine_shards(parts: list[Part], notes: list[str]) -> tuple[list[TestResult], int]:
    """The tests of parts that split one suite, and the merged count of deselected tests."""
    stages = parts[0].record.stages
    for part in parts[1:]:
        if part.record.stages != stages:
            raise InputError(
                f"{part.path}: stages {part.record.stages!r} differ from {stages!r} in {parts[0].path};"
                " shards of one run share their stages"
            )
    packed = [part.record.tests for part in parts]
    if all(isinstance(tests, PackedTests) for tests in packed):
        # Parts read by report.fast_read whose nodeids are all distinct (one set, in C): the
        # merged tests are theirs in order, still unbuilt. A repeated nodeid (an overlap, or a
        # collection error every shard saw) goes the way below, which says which or drops it.
        total = sum(map(len, packed))
        seen: set[str] = set()
        for tests in packed:
            seen.update(tests.nodeids())  # type: ignore[attr-defined]
        if len(seen) == total:
            merged = PackedTests.chain(packed)  # type: ignore[arg-type]
            return merged, _deselected(parts, total)  # type: ignore[return-value]
    where: dict[str, Part] = {}
    tests: list[TestResult] = []
    repeated_collection_errors = 0
    for part in parts:
        for test in part.record.tests:
            earlier = where.get(test.nodeid)
            if earlier is None:
                where[test.nodeid] = part
                tests.append(test)
            elif test.category == COLLECTION:
                # Every shard collects the whole suite, so a module that fails to collect fails
                # in each: one defect, as in one run of all tests.
                repeated_collection_errors += 1
            else:
                label = f" ({part.label})" if part.label else ""
                raise InputError(
                    f"test {test.nodeid} is in both {earlier.path} and {part.path}{label}; shards must not"
                    " overlap (parts from different environments merge with --mode environments)"
                )
    if repeated_collection_errors:
        notes.append(
            f"{repeated_collection_errors} collection error(s) repeated in several shards counted once"
        )
    return tests, _deselected(parts, len(tests))


def _deselected(parts: list[Part], merged_tests: int) -> int:
    """Tests collected but run by no part.

    Shards cut with ``-k`` or a splitting plugin each collect the whole suite and deselect the
    others' tests: every part then saw the same number of tests, and those none of them ran
    are the merged run's deselected ones. Parts that collected different files add up.
    """
    seen = {len(part.record.tests) + part.record.run.deselected for part in parts}
    if len(seen) == 1:
        (collected,) = seen
        if collected >= merged_tests:
            return collected - merged_tests
    return sum(part.record.run.deselected for part in parts)


def _run_info(parts: list[Part], environment: str | None, deselected: int) -> RunInfo:
    runs = [part.record.run for part in parts]
    started = min(runs, key=lambda run: parse_timestamp(run.started_at))
    finished = [run for run in runs if run.finished_at]
    latest = max(finished, key=lambda run: parse_timestamp(run.finished_at)) if len(finished) == len(runs) else None
    duration = None
    if latest is not None:
        duration = (parse_timestamp(latest.finished_at) - parse_timestamp(started.started_at)).total_seconds()
    reasons = [f"{part.path.name}: {part.record.run.interrupt_reason}" for part in parts if part.record.run.interrupt_reason]
    return RunInfo(
        id=_merged_id(parts),
        started_at=started.started_at,
        finished_at=None if latest is None else latest.finished_at,
        duration_s=duration,
        exit_status=_worst_exit(run.exit_status for run in runs),
        interrupted=any(run.interrupted for run in runs),
        args=[],  # each part's arguments are in the merge section
        python=_joined(run.python for run in runs),
        platform=_joined(run.platform for run in runs),
        git=_git(runs),
        ci_job_url=_same(run.ci_job_url for run in runs),
        workers=sum(run.workers for run in runs),
        process=runs[0].process,
        deselected=deselected,
        collection_errors=_collection_errors(runs),
        interrupt_reason="; ".join(reasons) or None,
        environment=environment,
    )


def _merged_id(parts: list[Part]) -> str:
    """The same parts always give the same id, so storing a merge again replaces it."""
    digest = hashlib.sha256("\n".join(sorted(part.sha256 for part in parts)).encode()).hexdigest()
    return str(uuid.UUID(hex=digest[:32]))


def _worst_exit(statuses: Any) -> int | None:
    known = [status for status in statuses if status is not None]
    if not known:
        return None
    return max(known, key=lambda status: _EXIT_RANK.get(status, len(_EXIT_RANK)))


def _joined(values: Any) -> str:
    distinct = list(dict.fromkeys(value for value in values if value))
    return " + ".join(distinct)


def _same(values: Any) -> Any:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


def _git(runs: list[RunInfo]) -> GitInfo | None:
    """The commit is the same in every part (checked before); a branch only when every part
    that knows one names the same; dirty when any part's checkout was."""
    if runs[0].git is None:
        return None
    branches = {run.git.branch for run in runs if run.git and run.git.branch}
    dirty_values = [run.git.dirty for run in runs if run.git]
    dirty = True if True in dirty_values else (None if None in dirty_values else False)
    return GitInfo(commit=runs[0].git.commit, branch=branches.pop() if len(branches) == 1 else None, dirty=dirty)


def _collection_errors(runs: list[RunInfo]) -> list[dict[str, Any]]:
    errors: dict[str, dict[str, Any]] = {}
    for run in runs:
        for error in run.collection_errors:
            errors.setdefault(error["nodeid"], dict(error))
    return list(errors.values())
