"""Feature-flag evaluation speed, with openfeature-sdk's ``InMemoryProvider`` as the anchor.

Targets (issue: feature-flag speed), per call:

* ``FlagManager.is_enabled`` on an ENABLED or a DISABLED flag: <= 0.2 µs;
* a PERCENTAGE flag with a user id: <= 0.5 µs cached (the same user every call, or a warm set
  of 1,000 users), <= 2 µs uncached (a user id not seen before on every call);
* ``@enterprise_feature``: <= 0.5 µs over a plain call of the same function;
* each check above at least 10x faster than openfeature-sdk's ``InMemoryProvider`` in the same
  run: a static check against ``get_boolean_value("flag", False)``, a percentage check against
  the same call with an ``EvaluationContext`` that carries a targeting key.

How. A case is one call statement. One round of a case runs it ``CALLS`` times (``ANCHOR_CALLS``
for openfeature): a generated ``for`` loop over tuples of ``UNROLL`` user ids whose body is the
statement written out ``UNROLL`` times, as ``timeit`` does. The empty loop is the same ``for``
over the same tuples with ``pass`` as its body. All cases run interleaved, one round of each
per pass, the starting case moving by one every pass, so a change in the machine's load hits
every case alike. A case's per-call cost is the median over passes of (its round / its calls
- the empty loop's round / its calls), the empty loop of the same pass. The decorator's
overhead is the median over passes of (decorated round - plain round) / ``CALLS``.

Each round is timed twice: with this process's CPU time (``time.process_time``, 1 ns
resolution here), which the targets and ratios use, and with the wall clock, shown beside it.
On the shared benchmark machine, the wall clock also counts time the scheduler gives other
processes, which is no cost of the code measured; rounds are kept short (0.1-3 ms, about a
time slice or less) so that most of them run unpreempted and the two clocks mostly agree.
pytest-benchmark's table shows the gross CPU time per call of every round
(``_harness.replay``), so the empty loop's row is what the net figures subtract.

The calls are written as user code writes them: ``m.is_enabled("on")`` with the manager in a
local variable and the flag name a literal. User ids are strings (``"user-0000042"``).

Uncached: the ids come from a pool of 264,000 distinct ids (4x the manager's per-flag cache,
``CACHE_LIMIT``, rounded up to whole rounds), walked in order, pass after pass. A cached id is
one of the last ``CACHE_LIMIT`` ids evaluated, and the next id in the walk was last evaluated
264,000 calls earlier, so every call misses; an extra round that counts ``bucket`` calls
checks this. The cost of clearing the full cache every ``CACHE_LIMIT`` misses is included.

The openfeature anchor is set up in its favour: the ``EvaluationContext`` is built once, not
per call, and the flag is static (no ``context_evaluator``), so the provider does the least
work it can. Knob: ``BENCH_FLAG_ROUNDS``, the number of passes (default 500).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import median
from time import perf_counter, process_time
from typing import Any

import _harness as h
import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider.in_memory_provider import InMemoryFlag, InMemoryProvider

from pytest_enterprise.flags import manager as manager_module
from pytest_enterprise.flags.decorators import enterprise_feature
from pytest_enterprise.flags.manager import CACHE_LIMIT, FlagManager

UNROLL = 20
CALLS = 2_000  # per round, our cases: rounds of 0.1-3 ms
ANCHOR_CALLS = 100  # per round, openfeature (about 14 µs a call here)
ROUNDS = h.env_int("BENCH_FLAG_ROUNDS", 500)
WARMUP = 5  # passes before the recorded ones
STATIC_LIMIT_US = 0.2
CACHED_LIMIT_US = 0.5
UNCACHED_LIMIT_US = 2.0
DECORATOR_LIMIT_US = 0.5
RATIO = 10  # our checks must be at least this many times faster than openfeature

POOL = -(-4 * CACHE_LIMIT // CALLS) * CALLS  # fresh ids: > 4x the cache, whole rounds
WARM_USERS = 1_000
TABLE = "feature flags, median µs per call, net of the empty loop: CPU time, wall time"
GROUP = "flags: CPU time per call, gross (the empty loop is subtracted from the others)"


# --------------------------------------------------------------------------------------------
# Loops and cases


def _compile(statement: str) -> Callable[[Sequence[tuple[str, ...]], Any, Any], None]:
    """``run(groups, m, c)``: for each tuple of ``UNROLL`` ids in ``groups``, ``statement``
    once per id (``{u}`` is the id); an empty statement gives the empty loop."""
    names = [f"u{i}" for i in range(UNROLL)]
    body = [f"        {statement.format(u=name)}" for name in names] if statement else ["        pass"]
    source = f"def run(groups, m, c):\n    for {', '.join(names)} in groups:\n" + "\n".join(body) + "\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<bench_flags: {statement or 'empty loop'}>", "exec"), namespace)
    return namespace["run"]


def _groups(ids: Sequence[str], calls: int) -> tuple[tuple[str, ...], ...]:
    """``calls`` ids in tuples of ``UNROLL``, cycling through ``ids``."""
    flat = [ids[i % len(ids)] for i in range(calls)]
    return tuple(tuple(flat[i : i + UNROLL]) for i in range(0, calls, UNROLL))


def _user(number: int) -> str:
    return f"user-{number:07d}"


ONE_USER = _groups([_user(1)], CALLS)


@dataclass
class Case:
    """One measured statement, what it runs against, and its rounds."""

    label: str
    statement: str
    m: Any = None  # the manager, the openfeature client or the function called
    c: Any = None  # the openfeature evaluation context
    groups: Callable[[], tuple[tuple[str, ...], ...]] = lambda: ONE_USER
    calls: int = CALLS
    cpu: list[float] = field(default_factory=list)  # seconds per round
    wall: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run = _compile(self.statement)

    def one_round(self, record: bool = True) -> None:
        groups = self.groups()
        cpu, wall = process_time(), perf_counter()
        self.run(groups, self.m, self.c)
        wall, cpu = perf_counter() - wall, process_time() - cpu
        if record:
            self.cpu.append(cpu)
            self.wall.append(wall)


class _FreshIds:
    """Successive rounds of ids, none evaluated within the last ``CACHE_LIMIT`` calls."""

    def __init__(self) -> None:
        ids = [_user(number) for number in range(POOL)]
        self.rounds = [_groups(ids[start : start + CALLS], CALLS) for start in range(0, POOL, CALLS)]
        self.next = 0

    def __call__(self) -> tuple[tuple[str, ...], ...]:
        groups = self.rounds[self.next % len(self.rounds)]
        self.next += 1
        return groups


def _manager() -> FlagManager:
    manager = FlagManager()
    manager.create_flag("on", status="enabled")
    manager.create_flag("off", status="disabled")
    manager.create_flag("pct", status="rollout", strategy="percentage", rollout_percentage=50)
    manager.create_flag("deco", status="enabled")
    assert (manager._entries["on"].static, manager._entries["off"].static) == (True, False)
    assert manager._entries["pct"].static is None  # a real per-user decision
    return manager


def _feature(user_id: Any = None) -> Any:
    return user_id


def _cases() -> dict[str, Case]:
    api.set_provider(InMemoryProvider({"flag": InMemoryFlag("on", {"on": True, "off": False})}))
    client = api.get_client()
    context = EvaluationContext(targeting_key=_user(1))
    assert client.get_boolean_value("flag", False) is True
    assert client.get_boolean_value("flag", False, context) is True
    anchor_groups = _groups([_user(1)], ANCHOR_CALLS)
    # Each case gets its own manager: no case warms another's cache or counters.
    warm = [_user(number) for number in range(WARM_USERS)]
    warm_groups = _groups(warm, CALLS)
    warm_manager = _manager()
    for user in warm:
        warm_manager.is_enabled("pct", user)
    decorated = enterprise_feature("deco", manager=_manager())(_feature)
    assert decorated(user_id=_user(1)) == _user(1)  # the flag is on: the feature itself runs
    cases = [
        Case("empty loop (subtracted; gross)", ""),
        Case('openfeature get_boolean_value("flag", False)', "m.get_boolean_value('flag', False)",
             m=client, groups=lambda: anchor_groups, calls=ANCHOR_CALLS),
        Case('openfeature get_boolean_value("flag", False, ctx)', "m.get_boolean_value('flag', False, c)",
             m=client, c=context, groups=lambda: anchor_groups, calls=ANCHOR_CALLS),
        Case('is_enabled("on"), ENABLED', "m.is_enabled('on')", m=_manager()),
        Case('is_enabled("off"), DISABLED', "m.is_enabled('off')", m=_manager()),
        Case('is_enabled("on", user_id), ENABLED', "m.is_enabled('on', {u})", m=_manager()),
        Case('is_enabled("pct", user_id), 50 %, same user', "m.is_enabled('pct', {u})", m=_manager()),
        Case('is_enabled("pct", user_id), 50 %, warm 1,000 users', "m.is_enabled('pct', {u})",
             m=warm_manager, groups=lambda: warm_groups),
        Case('is_enabled("pct", user_id), 50 %, fresh user every call', "m.is_enabled('pct', {u})",
             m=_manager(), groups=_FreshIds()),
        Case("plain call f(user_id=u)", "m(user_id={u})", m=_feature),
        Case('@enterprise_feature("deco") f(user_id=u), ENABLED', "m(user_id={u})", m=decorated),
    ]  # fmt: skip
    return {case.label: case for case in cases}


EMPTY = "empty loop (subtracted; gross)"
ANCHOR_STATIC = 'openfeature get_boolean_value("flag", False)'
ANCHOR_TARGETED = 'openfeature get_boolean_value("flag", False, ctx)'
FRESH = 'is_enabled("pct", user_id), 50 %, fresh user every call'
PLAIN = "plain call f(user_id=u)"
DECORATED = '@enterprise_feature("deco") f(user_id=u), ENABLED'


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    """Every case, measured interleaved: ``WARMUP`` + ``ROUNDS`` passes, one round of each
    case per pass, the starting case rotating."""
    measured = _cases()
    order = list(measured.values())
    for number in range(WARMUP + ROUNDS):
        shift = number % len(order)
        for case in [*order[shift:], *order[:shift]]:
            case.one_round(record=number >= WARMUP)
    return measured


# --------------------------------------------------------------------------------------------
# Per-call figures and checks


@dataclass(frozen=True)
class Per:
    """Median µs per call: CPU time (checked) and wall time (shown)."""

    cpu: float
    wall: float


def _per_call(case: Case, minus: Case) -> Per:
    """Median over passes of (``case``'s round / its calls - ``minus``'s round / its calls)."""

    def paired(mine: list[float], theirs: list[float]) -> float:
        pairs = zip(mine, theirs, strict=True)
        return median((a / case.calls - b / minus.calls) * 1e6 for a, b in pairs)

    return Per(paired(case.cpu, minus.cpu), paired(case.wall, minus.wall))


def _net(cases: dict[str, Case], label: str) -> Per:
    return _per_call(cases[label], cases[EMPTY])


def _show(benchmark: Any, cases: dict[str, Case], label: str, net: Per | None) -> None:
    """Replay the case's gross CPU time per call into the table; record the net figures."""
    case = cases[label]
    h.replay(benchmark, [seconds / case.calls for seconds in case.cpu])
    benchmark.extra_info.update(
        calls_per_round=case.calls, unit="seconds of CPU time per call, gross",
        wall_us_per_call_gross=round(median(case.wall) / case.calls * 1e6, 4),
    )  # fmt: skip
    if net is not None:
        benchmark.extra_info.update(net_us_per_call_cpu=round(net.cpu, 4), net_us_per_call_wall=round(net.wall, 4))
        _record(label, net)


def _record(label: str, per: Per) -> None:
    h.RESULTS.setdefault(TABLE, []).append(f"{label:<58} {per.cpu:8.3f} {per.wall:8.3f}")


def _assert_all(checks: list[h.Check]) -> None:
    """Record every check first, so that a missed one does not hide the others."""
    h.CHECKS.extend(checks)
    missed = [check.describe() for check in checks if not check.met]
    assert not missed, "\n".join(missed)


def _limit(name: str, net: Per, limit: float) -> h.Check:
    return h.Check(f"flags: {name}, median CPU time (wall {net.wall:.3f} µs)", net.cpu, limit, "µs")


def _ratio(cases: dict[str, Case], name: str, net: Per, anchor_label: str) -> h.Check:
    anchor = _net(cases, anchor_label)
    return h.Check(
        f"flags: {name}: {anchor.cpu / net.cpu:.0f}x faster than {anchor_label} ({anchor.cpu:.2f} µs;"
        f" wall {anchor.wall / net.wall:.0f}x); CPU time ours / theirs",
        net.cpu / anchor.cpu, 1 / RATIO, "x",
    )  # fmt: skip


MARK = pytest.mark.benchmark(group=GROUP, timer=h.REPLAY)


# --------------------------------------------------------------------------------------------
# Reference rows: the empty loop and the openfeature anchor


@MARK
def test_empty_loop(benchmark, cases) -> None:
    _show(benchmark, cases, EMPTY, None)
    _record(EMPTY, Per(median(cases[EMPTY].cpu) / CALLS * 1e6, median(cases[EMPTY].wall) / CALLS * 1e6))


@MARK
@pytest.mark.parametrize("label", [ANCHOR_STATIC, ANCHOR_TARGETED], ids=["plain", "targeting key"])
def test_openfeature_in_memory_provider(benchmark, cases, label: str) -> None:
    _show(benchmark, cases, label, _net(cases, label))


# --------------------------------------------------------------------------------------------
# Our checks


@MARK
@pytest.mark.parametrize(
    "label",
    ['is_enabled("on"), ENABLED', 'is_enabled("off"), DISABLED', 'is_enabled("on", user_id), ENABLED'],
    ids=["enabled", "disabled", "enabled with user_id"],
)
def test_is_enabled_static(benchmark, cases, label: str) -> None:
    net = _net(cases, label)
    _show(benchmark, cases, label, net)
    _assert_all([_limit(label, net, STATIC_LIMIT_US), _ratio(cases, label, net, ANCHOR_STATIC)])


@MARK
@pytest.mark.parametrize(
    "label",
    ['is_enabled("pct", user_id), 50 %, same user', 'is_enabled("pct", user_id), 50 %, warm 1,000 users', FRESH],
    ids=["same user", "warm set", "fresh user"],
)
def test_is_enabled_percentage(benchmark, cases, label: str, monkeypatch: pytest.MonkeyPatch) -> None:
    net = _net(cases, label)
    _show(benchmark, cases, label, net)
    if label == FRESH:
        # One more round, counting hashes: every call must be a miss. The percentage closure
        # binds mmh3.hash when the flag is compiled, so patch it, then recompile the flag.
        hashed: list[int] = []
        real_hash = manager_module.mmh3.hash

        class CountingMmh3:
            @staticmethod
            def hash(*args: Any) -> int:
                hashed.append(1)
                return real_hash(*args)

        monkeypatch.setattr(manager_module, "mmh3", CountingMmh3)
        fresh = cases[label].m
        fresh.set_flags(fresh.flags.values())
        cases[label].one_round(record=False)
        assert len(hashed) == CALLS, f"{CALLS - len(hashed)} of {CALLS} fresh ids were cached"
    limit = UNCACHED_LIMIT_US if label == FRESH else CACHED_LIMIT_US
    _assert_all([_limit(label, net, limit), _ratio(cases, label, net, ANCHOR_TARGETED)])


@MARK
def test_plain_call(benchmark, cases) -> None:
    _show(benchmark, cases, PLAIN, _net(cases, PLAIN))


@MARK
def test_enterprise_feature_overhead(benchmark, cases) -> None:
    _show(benchmark, cases, DECORATED, _net(cases, DECORATED))
    overhead = _per_call(cases[DECORATED], cases[PLAIN])
    benchmark.extra_info.update(overhead_us_cpu=round(overhead.cpu, 4), overhead_us_wall=round(overhead.wall, 4))
    _record("  overhead of @enterprise_feature over the plain call", overhead)
    _assert_all([_limit("@enterprise_feature overhead over a plain call", overhead, DECORATOR_LIMIT_US)])
