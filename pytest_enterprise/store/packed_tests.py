"""The tests of a run that passed once, as the history store keeps them: one packed row.

Nearly every test of a run passed on its only attempt, at the default severity. As a row of
``attempts`` each of them would repeat the run id, ``passed``, ``1`` and three NULLs, and
inserting one row per test into a table with two indexes cost more than everything else the
plugin does per test (docs/performance.md). So those tests are kept together, in one row of
``run_tests`` per run: their node ids, their phase durations and their workers, packed. Any
other test (a failure, an error, a skip, a rerun, a severity marker) keeps one ``attempts`` row
per attempt, as before. Nothing is lost: ``HistoryStore.attempt_history`` reads both and
gives a packed test back as the row it would have had.

Pure functions over plain data; the SQL stays in ``sqlite.py``.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from mmh3 import hash64 as _murmur

from ..model import DEFAULT_SEVERITY, TestResult, single_pass_durations
from ..utf8 import utf8_safe

# Setup, call and teardown duration of one test: three little-endian doubles (model._pack).
_PHASES = struct.Struct("<3d")
_SEPARATOR = "\n"
# Fast and plenty: node ids of one run share long prefixes, so even level 1 packs them ~10x.
_LEVEL = 1


@dataclass(frozen=True)
class PackedTests:
    """The single-pass tests of one run, in the run's order (one ``run_tests`` row)."""

    count: int
    nodeids_zlib: bytes  # the node ids, UTF-8 (made safe), separated by "\n", zlib
    durations: bytes  # per test, its setup, call and teardown durations (_PHASES)
    workers_zlib: bytes | None  # per test its xdist worker ("" for none), as the node ids; None: no worker
    # The node ids' 64-bit hashes (nodeid_hash), sorted, little-endian: whether a test is in the row
    # is a binary search, without inflating the node ids (flaky history reads many rows).
    # None for rows stored before the index existed.
    nodeid_index: bytes | None = None


@dataclass(frozen=True)
class PackedAttempt:
    """What a packed test's ``attempts`` row would have held besides its run."""

    nodeid: str
    attempt: int
    outcome: str
    category: None
    exception_type: None
    duration: float
    severity: str
    worker: str | None


def pack_tests(tests: Iterable[TestResult]) -> tuple[PackedTests | None, list[TestResult]]:
    """Split a run's tests into the packed single-pass ones and the others, in order.

    A node id with a newline in it (possible only through an odd parametrize id) cannot be
    packed with the separator, so that test stays in ``attempts``.
    """
    nodeids: list[str] = []
    durations: list[bytes] = []
    workers: list[str | None] = []
    others: list[TestResult] = []
    for test in tests:
        packed = single_pass_durations(test)
        if packed is None or _SEPARATOR in test.nodeid:
            others.append(test)
        else:
            nodeids.append(test.nodeid)
            durations.append(packed)
            workers.append(test.worker)
    if not nodeids:
        return None, others
    has_workers = any(worker is not None for worker in workers)
    return (
        PackedTests(
            count=len(nodeids),
            nodeids_zlib=_pack_text(nodeids),
            durations=b"".join(durations),
            workers_zlib=_pack_text([worker or "" for worker in workers]) if has_workers else None,
            nodeid_index=_index(nodeids),
        ),
        others,
    )


def nodeid_hash(nodeid: str) -> int:
    """The 64-bit key of a node id in a row's index: the low half of its 128-bit MurmurHash3
    (x64). Two node ids of a 2,000-test row share one with a chance of about 1 in 10¹⁶ per
    lookup. MurmurHash3 rather than a cryptographic hash: it runs for every stored test, and
    BLAKE2b cost three times as much; node ids are not chosen to collide."""
    # Hashed as bytes: mmh3 given a str with a lone surrogate crashes the interpreter.
    try:
        data = nodeid.encode("utf-8")
    except UnicodeEncodeError:  # as the packed node ids hold it
        data = utf8_safe(nodeid).encode("utf-8")
    return _murmur(data, signed=False)[0]


def _index(nodeids: list[str]) -> bytes:
    keys = array("Q", sorted(map(nodeid_hash, nodeids)))
    if sys.byteorder == "big":  # pragma: no cover - stored little-endian everywhere
        keys.byteswap()
    return keys.tobytes()


def _pack_text(values: list[str]) -> bytes:
    # utf8_safe works character by character, so escaping the joined text once is the same as
    # escaping each value, and the separator is left alone.
    return zlib.compress(utf8_safe(_SEPARATOR.join(values)).encode("utf-8"), _LEVEL)


def _unpack_text(packed: bytes, count: int, what: str) -> list[str]:
    values = zlib.decompress(packed).decode("utf-8").split(_SEPARATOR)
    if len(values) != count:
        raise ValueError(f"{what}: {len(values)} values for {count} tests")
    return values


def find_packed(packed: PackedTests, nodeid: str) -> PackedAttempt | None:
    """The attempt of ``nodeid`` (already made UTF-8-safe) in one packed row, or None.

    Raises ValueError when the row does not hold together (the caller reports corruption).
    """
    nodeids = _unpack_text(packed.nodeids_zlib, packed.count, "node ids")
    if len(packed.durations) != packed.count * _PHASES.size:
        raise ValueError(f"durations: {len(packed.durations)} bytes for {packed.count} tests")
    try:
        index = nodeids.index(nodeid)
    except ValueError:
        return None
    worker = None
    if packed.workers_zlib is not None:
        worker = _unpack_text(packed.workers_zlib, packed.count, "workers")[index] or None
    setup, call, teardown = _PHASES.unpack_from(packed.durations, index * _PHASES.size)
    return PackedAttempt(
        nodeid=nodeid,
        attempt=1,
        outcome="passed",
        category=None,
        exception_type=None,
        # As Attempt.duration sums its phases, in the same order: the same float.
        duration=sum((setup, call, teardown)),
        severity=DEFAULT_SEVERITY,
        worker=worker,
    )



def packed_present(
    nodeids_zlib: bytes | None, count: int, wanted: dict[str, int], index: bytes | None = None,
    by_key: dict[int, str] | None = None,
) -> set[str]:
    """Which of ``wanted`` (node ids made UTF-8-safe, each with its ``nodeid_hash``) one packed
    row holds: each of them passed that run on its only attempt. Reads the row's hash index
    when it has one, else its node ids. ``by_key`` is ``wanted`` inverted, for a caller that
    asks about many rows. Raises ValueError when the row does not hold together."""
    if index is not None:
        if len(index) != count * 8:
            raise ValueError(f"node id index: {len(index)} bytes for {count} tests")
        keys = array("Q", index)
        if sys.byteorder == "big":  # pragma: no cover
            keys.byteswap()
        if len(wanted) > _SEARCHES:  # many tests: one set of the row's keys, intersected in C
            by_key = by_key or {key: nodeid for nodeid, key in wanted.items()}
            return {by_key[key] for key in by_key.keys() & set(keys)}
        found = set()
        for nodeid, key in wanted.items():
            place = bisect_left(keys, key)
            if place < count and keys[place] == key:
                found.add(nodeid)
        return found
    if nodeids_zlib is None:
        raise ValueError("neither node ids nor their index")
    nodeids = _unpack_text(nodeids_zlib, count, "node ids")
    if len(wanted) < 8:  # a C-speed scan per name beats hashing the whole run
        return {nodeid for nodeid in wanted if nodeid in nodeids}
    return set(wanted).intersection(nodeids)


# Up to this many tests are looked up by binary search; more, through a set of the row's keys.
_SEARCHES = 150  # measured: a search ~1 µs per test, the set ~165 µs per row of 2,000

