"""Reading a report the plugin wrote back into its run record, without parsing or building
its tests one by one, with the same result as ``json.loads`` + ``report_violation`` +
``record_from_report``.

A report of 10,000 tests is 5 MB of JSON in which almost every test reads the same but for its
nodeid and durations (the writer, ``report_chunks``, makes them so: see ``test_encoder.py``).
The general path parses every test into dicts, checks every value against the schema, and
builds the record from the dicts: about 50 µs a test. Here, on the file's bytes (the writer
writes ASCII only; any other byte sends the file the general way):

* the tests array is cut into one piece per test with ``bytes.split`` on ``},{"nodeid":"``
  (in valid JSON that only occurs between tests: a quote inside a string is escaped), each
  piece into its **nodeid** (up to the first quote) and its **tail** (the rest of its text),
  and each tail into its **head** (up to its first ``"duration``) and what follows, all by
  ``map(bytes.partition)``: in C, no Python code per test;
* the tests are grouped by head (a stable sort in C). The first test of a group is parsed,
  checked against the schema and built the general way, and only if its text is exactly the
  compact JSON of what it parses to (one attempt, no markers, no subtests) does it become the
  group's **template**: its literal text with a JSON number (the schema's non-negative number)
  in each hole, the attempt's ``duration_s`` and its phases' durations;
* the distinct texts of a group, one per line, are matched against the template's anchored
  line pattern by one ``findall``, which gives every hole's text: column by column, ``float``
  reads them and one comparison of joined texts tells whether they are what the writer writes
  (below). Tests of a group that do not fit its template (another number of phases: a
  template of their own; another message: the general way) are found one by one.

Holes cannot change how the rest of the text parses (a nodeid has no quote, backslash or
control character, checked for all nodeids at once; a hole is a JSON number), so a test that
fits a template is valid and means what the template says with its own values.

Anything else (a test with reruns, markers or subtests, escapes in its nodeid, a test that fits
no template) is parsed and checked on its own, the general way, from its own start (if it holds
the separator it spans several pieces). Whatever this cannot follow exactly (whitespace between
tests, the tests are not the report's last key, a test that is not valid JSON or breaks the
schema, ...) makes ``read_record`` return None, and the caller reads the file the general way,
which gives the usual one-line error. So this is only ever faster, never more lenient:
tests/test_merge.py compares it with the general path.

The tests are not built at all until something asks for them: the record's ``tests`` is a
``PackedTests``, a sequence that builds the ``TestResult`` objects on first use, and that a
shards merge reads without building them: nodeids (``nodeids``), what ``analyze_counted`` needs
(``counted``: each template once, with how many tests fit it) and the report text
(``text_pieces``: the part's own bytes for each test whose text is exactly what
``report_chunks`` would write for it: its nodeid printable ASCII, its numbers their own
``repr``, its ``duration_s`` the rounded sum of its phases). Numbers of the forms ``repr``
gives (``_REPR_FORM``: what the recorder's microsecond durations always are) are their own
``repr`` without calling it; only others are compared with ``repr`` itself.
"""

from __future__ import annotations

import json
import re
import struct
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain, groupby, repeat
from operator import itemgetter
from typing import Any

from ..model import Attempt, RunRecord, TestResult
from .json_report import _ENCODER, TOOL_NAME, record_from_report, result_section
from .validation import Check, SchemaViolation, compile_schema

__all__ = ["FastRecord", "PackedTests", "read_record"]

# JSON number that the schema's "minimum": 0 allows, of a sane length (longer ones, or -0,
# go the general way, which reproduces json's own handling of them).
_NUMBER = rb"(?:0|[1-9][0-9]{0,20})(?:\.[0-9]{1,30})?(?:[eE][-+]?[0-9]{1,3})?"
_HOLE = re.compile(r'"duration(_s)?":')  # only when learning a template
_HOLE_MARK = b'"duration'  # where a test's head ends and its holes begin
_FIRST = b'{"nodeid":"'
_SEPARATOR = b'},{"nodeid":"'  # between two tests, and (in valid JSON) nowhere else
_TEMPLATE_LIMIT = 4096
_PACKERS = {count: struct.Struct(f"<{count}d") for count in range(0, 9)}
_DECODER = json.JSONDecoder()
_PROBE_RUN = {"id": "", "started_at": ""}


class _Fallback(Exception):
    """The file is not one this reader follows exactly: read it the general way."""


@dataclass
class FastRecord:
    header: dict[str, Any]  # the report without its tests
    record: RunRecord  # its tests are a PackedTests


@dataclass(eq=False)
class _Template:
    """The tests whose tail (their text after the nodeid's closing quote) is the template's
    head, then its literal text with a JSON number in each hole: the first hole the attempt's
    ``duration_s``, the others its phases' durations. ``whole`` matches what follows the head
    and its first ``"duration`` in one tail; ``lines`` finds the holes' texts of every line
    of such texts joined by line ends that fits, and ``repr_lines`` of every line whose numbers
    are of the forms ``repr`` gives."""

    prototype: TestResult
    pattern: bytes  # what follows the head's "duration, a JSON number in each hole
    repr_pattern: bytes  # the same with numbers of the forms repr gives
    canonical: bool  # the first test's text is what the writer makes of its test
    holes: int  # duration_s and the phases' durations

    @property
    def packer(self) -> struct.Struct:  # the phases' durations, as Attempt keeps them
        return _PACKERS[self.holes - 1]

    def __getstate__(self) -> dict[str, Any]:  # sent between processes without its patterns
        return {key: value for key, value in vars(self).items() if key not in _COMPILED}

    # Compiled when first used (a file's templates are tried with repr_lines, most never with
    # the others). ``*lines`` are anchored to line starts and ends: on texts joined by line
    # ends, each line either fits whole or gives nothing.
    @cached_property
    def whole(self) -> Callable[[bytes], re.Match[bytes] | None]:
        return re.compile(self.pattern).fullmatch

    @cached_property
    def lines(self) -> Callable[[bytes], list[Any]]:
        return re.compile(b"^" + self.pattern + b"$", re.MULTILINE).findall

    @cached_property
    def repr_lines(self) -> Callable[[bytes], list[Any]]:
        return re.compile(b"^" + self.repr_pattern + b"$", re.MULTILINE).findall


_COMPILED = ("whole", "lines", "repr_lines")


@dataclass(eq=False)
class _Block:
    """The tests of one report: ``kinds[i]`` describes ``nodeids[i]``: a ``_Template`` (the
    test is its prototype with this nodeid and ``durations[i]``) or, for a test read the
    general way, the ``TestResult`` itself. The tests are ``data[begin:end]`` (``{...},{...}``);
    ``canonical`` when all of it is the writer's text."""

    data: bytes  # the report's file, ASCII (so its offsets are those of its text too)
    begin: int
    end: int
    nodeids: list[str]
    kinds: list[Any]
    durations: list[bytes | None]  # the phases' durations of a test that fits a template, packed
    inexact: set[int]  # tests that fit a template but whose text is not the writer's for them
    stops: dict[int, int]  # where each test read the general way ends in data
    canonical: bool
    odd: int = 0  # how many tests were read the general way
    built: list[TestResult] | None = None

    def build(self) -> list[TestResult]:
        if self.built is None:
            self.built = [
                kind if type(kind) is TestResult else _make(nodeid, kind, durations)
                for nodeid, kind, durations in zip(self.nodeids, self.kinds, self.durations)
            ]
        return self.built


def _make(nodeid: str, template: _Template, durations: bytes) -> TestResult:
    prototype = template.prototype
    first = prototype.attempts[0]
    attempt = Attempt(first.number, first.outcome, (), first.category, first.exception_type, first.message)
    attempt._shape = first._shape
    attempt._durations = durations
    attempt.details = first.details
    return TestResult(
        nodeid, [attempt], prototype.severity, prototype.opportunities, prototype.stage, None, prototype.worker,
        prototype.started_at,
    )  # fmt: skip


class PackedTests(Sequence[TestResult]):
    """The tests of one or more reports (a shards merge chains its parts' blocks), built into
    ``TestResult`` objects on first use and kept: the same objects every time."""

    def __init__(self, blocks: list[_Block]) -> None:
        self._blocks = blocks
        self._built: list[TestResult] | None = None

    @classmethod
    def chain(cls, parts: list[PackedTests]) -> PackedTests:
        return cls([block for part in parts for block in part._blocks])

    def _list(self) -> list[TestResult]:
        if self._built is None:
            self._built = [test for block in self._blocks for test in block.build()]
        return self._built

    def __len__(self) -> int:
        return sum(len(block.nodeids) for block in self._blocks)

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __iter__(self) -> Iterator[TestResult]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, PackedTests)):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it stands for

    def __repr__(self) -> str:
        return f"PackedTests({len(self)} tests)"

    def nodeids(self) -> Iterator[str]:
        return chain.from_iterable(block.nodeids for block in self._blocks)

    def counted(self) -> Iterator[tuple[TestResult, int]]:
        """Each template's prototype with the number of tests that fit it, and each test read
        the general way with 1: what ``quality.metrics.analyze_counted`` takes. Counted
        without building a test: kinds are shared objects, so C-level ``Counter`` does it."""
        counts: Counter[_Template] = Counter()
        for block in self._blocks:
            if block.odd:
                for kind in block.kinds:
                    if type(kind) is TestResult:
                        yield kind, 1
                    else:
                        counts[kind] += 1
            else:
                counts.update(block.kinds)
        for template, count in counts.items():
            yield template.prototype, count

    def text_pieces(self, encode: Callable[[TestResult], str], per_piece: int) -> Iterator[bytes | memoryview]:
        """The tests as ``report_chunks`` writes them, ``,``-joined, in pieces of UTF-8: the
        reports' own text where it is exactly that, ``encode(test)`` for the other tests."""
        separator = b""
        for block in self._blocks:
            if not block.nodeids:
                continue
            if block.canonical:  # the whole block is the writer's text: handed on as it is
                if separator:
                    yield separator
                yield memoryview(block.data)[block.begin : block.end]  # 5 MB not copied again
                separator = b","
                continue
            data, tests = block.data, block.build()
            starts = _starts(data, block.begin, block.end, block.kinds, block.stops)
            inexact = block.inexact
            for start in range(0, len(tests), per_piece):
                batch = [
                    data[starts[index] : starts[index + 1] - 1]
                    if type(kind) is _Template and index not in inexact else encode(tests[index]).encode("utf-8")
                    for index, kind in enumerate(block.kinds[start : start + per_piece], start)
                ]  # fmt: skip
                yield separator + b",".join(batch)
                separator = b","


def read_record(data: bytes | str) -> FastRecord | None:
    """The record of a report given as its file's bytes (or its text), or None: then use the
    general path. Only ASCII is followed (the writer escapes everything else), so that an
    offset in the bytes is one in the text too."""
    checks = _checks()
    if checks is None:
        return None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if not data.isascii():
        return None
    try:
        return _read(data, *checks)
    except (_Fallback, SchemaViolation, ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None


@lru_cache(maxsize=1)
def _checks() -> tuple[Check, Check] | None:
    """The report's check for the header (tests left empty) and the check of one test; None
    when the tests' schema is more than a list of items checked one by one."""
    from .json_report import load_schema

    schema = load_schema()
    tests = schema.get("properties", {}).get("tests")
    if not isinstance(tests, dict) or set(tests) - {"type", "items", "description"} or tests.get("type") != "array":
        return None
    return compile_schema(schema), compile_schema(tests["items"])


def _read(data: bytes, check_report: Check, check_test: Check) -> FastRecord:
    start = data.rfind(b',"tests":[')
    if start < 0:
        raise _Fallback
    header = json.loads(data[:start] + b"}")
    if type(header) is not dict or "tests" in header:
        raise _Fallback
    tool = header.get("tool")
    if type(tool) is not dict or tool.get("name") != TOOL_NAME or type(header.get("run")) is not dict:
        raise _Fallback  # the general path says what is wrong
    check_report({**header, "tests": []})
    begin = start + len(b',"tests":[')
    end = data.rfind(b"]")  # the tests array must close the report: "]}" and line ends
    if end < begin or data[end + 1 :].strip(b" \t\n\r") != b"}":
        raise _Fallback
    record = record_from_report({**header, "tests": []})
    if begin == end:
        block = _Block(data, begin, end, [], [], [], set(), {}, True)
    else:
        if not data.startswith(_FIRST, begin) or data[end - 1 : end] != b"}":
            raise _Fallback
        block = _read_tests(data, begin, end, check_test)
    record.tests = PackedTests([block])  # type: ignore[assignment]
    return FastRecord(header, record)


def _read_tests(data: bytes, begin: int, end: int, check_test: Check) -> _Block:
    # One piece per test, then its nodeid and the rest of its text (its tail): all in C
    # (split, map). Then the tests of each template at once, the rest one by one.
    if data.find(b"\n", begin, end) >= 0:
        raise _Fallback  # whitespace between tokens: not the writer's text (_fit needs none)
    pieces = data[begin + len(_FIRST) : end - 1].split(_SEPARATOR)
    parts = [*map(bytes.partition, pieces, repeat(b'"'))]
    nodeids = [*map(_NODEID, parts)]
    tails = [*map(_REST, parts)]
    del parts
    kinds: list[Any] = [None] * len(pieces)
    durations: list[bytes | None] = [None] * len(pieces)
    inexact: set[int] = set()
    _fit_templates(nodeids, tails, kinds, durations, inexact, check_test)
    del tails
    odd: dict[int, tuple[int, Any]] = {}  # index -> (end, parsed test) of tests read the general way
    if None in kinds:
        _read_odd(data, begin, pieces, nodeids, kinds, durations, inexact, odd, check_test)
    return _block(data, begin, end, nodeids, kinds, durations, inexact, odd, check_test)


_NODEID, _REST = itemgetter(0), itemgetter(2)


def _fit_templates(
    nodeids: list[bytes], tails: list[bytes], kinds: list[Any], durations: list[bytes | None], inexact: set[int],
    check_test: Check,
) -> None:
    """Sets ``kinds[i]`` (and ``durations[i]``) of each test that fits a template. Tests are
    grouped by their head (up to the first ``"duration``); the first of a group makes its
    template, and all of the group is matched against it at once. Tests of a group with
    another number of durations than its first (a test with no phases among tests with
    three) get the template of their own first."""
    # Each tail cut at its first "duration: its head, and the text after (the holes' part).
    cuts = [*map(bytes.partition, tails, repeat(_HOLE_MARK))]
    heads = [*map(_NODEID, cuts)]
    afters = [*map(_REST, cuts)]
    del cuts
    # Grouped by head in C: sorted (stably, so a group's first is its first test), then cut
    # where the head changes.
    order = sorted(range(len(heads)), key=heads.__getitem__)
    groups = [[*group] for _, group in groupby(order, heads.__getitem__)]
    if len(groups) > _TEMPLATE_LIMIT:
        return  # not a report of a few shapes of test: all of it the general way
    for indices in groups:
        # A test with no "duration at all has no template: it goes the general way.
        template = _learn(nodeids[indices[0]], tails[indices[0]], check_test) if afters[indices[0]] else None
        others = _fit(template, indices, afters, kinds, durations, inexact) if template else indices[1:]
        by_count: dict[int, list[int]] = {}
        for index in others:
            by_count.setdefault(afters[index].count(_HOLE_MARK), []).append(index)
        for count, indices in by_count.items():
            if template is None or count + 1 != template.holes:
                first = _learn(nodeids[indices[0]], tails[indices[0]], check_test) if afters[indices[0]] else None
                if first is not None:
                    _fit(first, indices, afters, kinds, durations, inexact)


def _fit(
    template: _Template, indices: list[int], afters: list[bytes], kinds: list[Any], durations: list[bytes | None],
    inexact: set[int],
) -> list[int]:
    """Sets the kind and durations of the tests ``indices`` that fit ``template``, and gives
    the others. Each distinct text is read once (tests often repeat their durations)."""
    texts = [*map(afters.__getitem__, indices)]
    unique = [*dict.fromkeys(texts)]
    fitting, columns, forms = _holes(template, unique)
    if not fitting:
        return indices
    phases = [[*map(float, column)] for column in columns[1:]]
    packed = [*map(template.packer.pack, *phases)] if phases else [b""] * len(fitting)
    if template.canonical and _as_written(columns, phases, forms):
        unexact: set[int] = set()
    else:  # which of them are not as the writer writes them (rare: hand-edited files)
        unexact = {
            position for position, texts_, values in zip(range(len(fitting)), zip(*columns), zip(*phases) if phases else repeat(()))
            if not (template.canonical and _as_written([(text,) for text in texts_], [[value] for value in values], False))
        }  # fmt: skip
    if len(fitting) == len(unique):  # every test fits (the rule)
        if len(unique) < len(texts):  # tests repeat a text: each gets its text's durations
            where = dict(zip(unique, range(len(unique))))
            positions = [*map(where.__getitem__, texts)]
            packed = [*map(packed.__getitem__, positions)]
            unexact = {index for index, position in enumerate(positions) if position in unexact} if unexact else unexact
        _scatter(kinds, indices, repeat(template))
        _scatter(durations, indices, packed)
        inexact.update(indices[position] for position in unexact)
        return []
    where = {unique[at]: position for position, at in enumerate(fitting)}
    chosen = [(index, where.get(text)) for index, text in zip(indices, texts)]
    fits = [(index, position) for index, position in chosen if position is not None]
    _scatter(kinds, [index for index, _ in fits], repeat(template))
    _scatter(durations, [index for index, _ in fits], (packed[position] for _, position in fits))
    inexact.update(index for index, position in fits if position in unexact)
    return [index for index, position in chosen if position is None]


def _holes(template: _Template, texts: list[bytes]) -> tuple[list[int], list[tuple[bytes, ...]], bool]:
    """Which of ``texts`` fit ``template`` (their positions), the texts of their holes
    (columns: duration_s, then each phase's), and whether all those are of the forms ``repr``
    gives. At once where all fit: the texts one per line (none holds a line end:
    ``_read_tests`` checks), each line matched by the template's line pattern, first with
    numbers of repr's forms, else any; else one by one."""
    joined = b"\n".join(texts)
    for lines, forms in ((template.repr_lines, True), (template.lines, False)):
        rows = lines(joined)  # the holes' texts of every line that fits
        if len(rows) == len(texts):
            if template.holes == 1:  # findall gives a single group's text, not a tuple of one
                rows = [(row,) for row in rows]
            return [*range(len(texts))], [*zip(*rows)], forms
    found = [*map(template.whole, texts)]
    fitting = [position for position, match in enumerate(found) if match is not None]
    return fitting, [*zip(*(found[position].groups() for position in fitting))], False


def _scatter(target: list[Any], indices: list[int], values: Any) -> None:
    deque(map(target.__setitem__, indices, values), maxlen=0)  # in C


def _as_written(columns: list[tuple[bytes, ...]], phases: list[list[float]], forms: bool) -> bool:
    """Whether the holes' texts (``columns``: duration_s, then each phase's) are what the
    writer writes for their values: each phase duration its own ``repr``, and ``duration_s``
    the rounded sum of the phases. In C, column by column. A column of texts of the forms
    ``repr`` gives (``_REPR_FORM``; all of them with ``forms``) holds each value's repr, so
    comparing values is comparing texts; any other is compared with ``repr`` itself."""
    for texts, values in zip(columns[1:], phases):
        if not (forms or _REPR_FORMS(b",".join(texts))) and b",".join(texts) != ",".join(map(repr, values)).encode():
            return False
    if not phases:  # duration_s is then the int 0
        return all(text == b"0" for text in columns[0])
    sums = [*map(round, map(sum, zip(*phases)), repeat(6))]
    if forms or _REPR_FORMS(b",".join(columns[0])):
        return [*map(float, columns[0])] == sums
    return b",".join(columns[0]) == ",".join(map(repr, sums)).encode()


# Float texts that are their own repr: at most 15 significant digits (so the shortest text
# that reads back as the same float is that text), no trailing zero, and repr's notation for
# the value: positional from 1e-4 (here below 1e6), else an exponent of two digits.
# tests/test_merge.py checks the claim with hypothesis.
_REPR_FORM = (
    rb"(?:[1-9][0-9]{0,5}\.(?:0|[0-9]{0,8}[1-9])"  # 1 <= value < 1e6
    rb"|0\.(?:0|0{0,3}[1-9](?:[0-9]{0,13}[1-9])?)"  # 0, or 1e-4 <= value < 1
    rb"|[1-9](?:\.[0-9]{0,13}[1-9])?e-(?:0[5-9]|[1-9][0-9]))"  # 1e-99 <= value < 1e-4
)
_REPR_FORMS = re.compile(b"(?:" + _REPR_FORM + b",)*" + _REPR_FORM).fullmatch  # a ","-joined column


def _read_odd(
    data: bytes, begin: int, pieces: list[bytes], nodeids: list[bytes], kinds: list[Any],
    durations: list[bytes | None], inexact: set[int], odd: dict[int, tuple[int, Any]], check_test: Check,
) -> None:
    """The tests that fit no template, the general way. One that holds the separator spans
    several pieces: they become its one test."""
    text = data.decode("ascii")
    spanned: list[int] = []  # pieces inside a test read the general way
    found: dict[int, tuple[int, Any]] = {}  # piece index -> (end, parsed test)
    index, position, count = 0, begin, len(pieces)  # piece ``index`` is the test at ``position``
    while index < count:
        close = position + len(_FIRST) + len(pieces[index])  # where its closing brace must be
        if kinds[index] is None:
            test, stop = _DECODER.raw_decode(text, position)
            check_test(test)
            found[index] = (stop, test)
            following = index + 1
            while stop > close + 1 and following < count:  # a separator inside it
                spanned.append(following)
                close += len(_SEPARATOR) + len(pieces[following])
                following += 1
            if stop != close + 1:
                raise _Fallback
            index = following - 1
        index += 1
        position = close + 2
    for index in reversed(spanned):
        del nodeids[index], kinds[index], durations[index]
    if spanned:
        shifted = {index - bisect_left(spanned, index) for index in inexact if index not in spanned}
        inexact.clear()
        inexact.update(shifted)
    for index, value in found.items():
        odd[index - bisect_left(spanned, index)] = value


def _block(
    data: bytes, begin: int, end: int, nodeid_bytes: list[bytes], kinds: list[Any], durations: list[bytes | None],
    inexact: set[int], odd: dict[int, tuple[int, Any]], check_test: Check,
) -> _Block:
    # Every nodeid at once, decoded and checked: none holds a quote (each ends at the first),
    # and one with an escape or a control character goes the general way (the writer
    # escapes those, so such a text is not the writer's, or not even valid JSON).
    joined = b'"'.join(nodeid_bytes).decode("ascii")
    nodeids = joined.split('"')
    if "\\" in joined or not joined.isprintable():
        starts = _starts(data, begin, end, kinds, {index: stop for index, (stop, _) in odd.items()})
        text = data.decode("ascii")
        for index, nodeid in enumerate(nodeids):
            if index not in odd and not _plain(nodeid):
                test, stop = _DECODER.raw_decode(text, starts[index])
                if stop != starts[index + 1] - 1:
                    raise _Fallback
                check_test(test)
                odd[index] = (stop, test)
    if odd:
        indices = sorted(odd)
        record = record_from_report({"run": _PROBE_RUN, "tests": [odd[index][1] for index in indices]})
        for index, test in zip(indices, record.tests):
            nodeids[index] = test.nodeid
            kinds[index] = test
            durations[index] = None
    stops = {index: stop for index, (stop, _) in odd.items()}
    canonical = not odd and not inexact
    return _Block(data, begin, end, nodeids, kinds, durations, inexact, stops, canonical, len(odd))


def _starts(data: bytes, begin: int, end: int, kinds: list[Any], stops: dict[int, int]) -> list[int]:
    """Where each test begins in ``data``, found again as ``_read_tests`` found them, and
    ``end + 1`` after the last (only for the rare reports that need it)."""
    starts = []
    position = begin
    for index in range(len(kinds)):
        starts.append(position)
        stop = stops.get(index)
        if stop is None:  # a test that fit a template ends before the next separator
            close = data.find(_SEPARATOR, data.find(b'"', position + len(_FIRST)), end)
            stop = end if close < 0 else close + 1
        position = stop + 1
    starts.append(position)
    return starts


def _plain(nodeid: str) -> bool:
    return "\\" not in nodeid and nodeid.isprintable()


def _learn(nodeid: bytes, tail: bytes, check_test: Check) -> _Template | None:
    """The template of the tests like this one (its nodeid and tail), or None (and it and
    those like it go the general way) when its text is not the compact JSON of its parse.
    Its patterns match what follows the tail's head and first ``"duration``."""
    piece = (nodeid + b'"' + tail).decode("ascii")
    element = '{"nodeid":"' + piece + "}"
    try:
        parsed = json.loads(element)
    except ValueError:  # a separator inside a test: the general way finds out
        return None
    check_test(parsed)  # a violation makes the whole file go the general way, for its message
    if (
        type(parsed) is not dict
        or parsed.get("nodeid") != piece[: len(nodeid)]
        or parsed.get("markers") != {}
        or len(parsed["attempts"]) != 1
        or parsed["attempts"][0].get("subtests") != []
        or _ENCODER.encode(parsed) != element
    ):
        return None
    rest = piece[len(nodeid) + 1 :]
    # Every "duration in the tail is a hole: the attempt's duration_s, then one per phase.
    found = list(_HOLE.finditer(rest))
    phases = parsed["attempts"][0]["phases"]
    if rest.count('"duration') != len(found) or len(found) != 1 + len(phases) or len(phases) >= len(_PACKERS):
        return None
    if [bool(match.group(1)) for match in found] != [True] + [False] * len(phases):
        return None
    literals, holes, position = [], [], 0
    for match, following in zip(found, found[1:] + [None]):
        literals.append(rest[position : match.end()])
        stop = len(rest) if following is None else following.start()
        number = _NUMBER_PREFIX(rest, match.end(), stop)
        if number is None or rest[number.end()] not in ",}":
            return None
        holes.append(number.group())
        position = number.end()
    literals.append(rest[position:])
    (prototype,) = record_from_report({"run": _PROBE_RUN, "tests": [parsed]}).tests
    attempt = parsed["attempts"][0]
    if [float(hole) for hole in holes] != [float(attempt["duration_s"]), *(float(p["duration"]) for p in phases)]:
        return None
    canonical = _ENCODER.encode(result_section(prototype)) == element
    # The head (up to the first "duration) is the group's own, compared whole: the patterns
    # start after it.
    mark = _HOLE_MARK.decode()
    literals[0] = literals[0][literals[0].index(mark) + len(mark) :]
    pattern, repr_pattern = (
        (b"(" + number + b")").join(re.escape(literal.encode()) for literal in literals) for number in (_NUMBER, _REPR_FORM)
    )  # fmt: skip
    return _Template(prototype, pattern, repr_pattern, canonical, len(holes))


_NUMBER_PREFIX = re.compile(_NUMBER.decode()).match
