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
  piece into its **nodeid** (up to the first quote) and its **tail** (the rest of its text) by
  ``map(bytes.partition)``, and each tail read before (durations rounded by the writer repeat
  a lot) gives its entry by ``map(dict.get)``: no Python code runs for such a test;
* a tail not seen before has a **head**, up to its first ``"duration``, that must be a
  template's: the first test with that head is parsed, checked against the schema and built
  the general way, and only if its text is exactly the compact JSON of what it parses to (one
  attempt, no markers, no subtests) does the head become a template; the rest of the tail must
  then match the template's literal text with a JSON number (the schema's non-negative number)
  in each hole, the attempt's ``duration_s`` and its phases' durations (one anchored pattern).

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
``repr``, its ``duration_s`` the rounded sum of its phases).
"""

from __future__ import annotations

import json
import re
import struct
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import Any

from ..model import Attempt, RunRecord, TestResult
from .json_report import _ENCODER, TOOL_NAME, record_from_report, result_section
from .validation import Check, SchemaViolation, compile_schema

__all__ = ["FastRecord", "PackedTests", "read_record"]

# JSON number that the schema's "minimum": 0 allows, of a sane length (longer ones, or -0,
# go the general way, which reproduces json's own handling of them).
_NUMBER = rb"(?:0|[1-9][0-9]{0,20})(?:\.[0-9]{1,30})?(?:[eE][-+]?[0-9]{1,3})?"
_HOLE = re.compile(r'"duration(_s)?":')  # only when learning a template
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
    """The tests whose text is ``{"nodeid":"`` + nodeid + head + rest, the rest being the
    template's literal text with a JSON number in each hole (``rest``, a compiled pattern of
    exactly that): the first hole the attempt's ``duration_s``, the others its phases'
    durations."""

    prototype: TestResult
    rest: Callable[[bytes, int, int], re.Match[bytes] | None]
    packer: struct.Struct  # the phases' durations, as Attempt keeps them
    canonical: bool  # the first test's text is what the writer makes of its test


@dataclass(eq=False, slots=True)
class _Entry:
    """One distinct rest of a template: every test with that head and rest is the
    template's prototype with its own nodeid and these durations."""

    template: _Template
    durations: bytes
    canonical: bool  # the writer writes these numbers so (given a printable ASCII nodeid)


@dataclass(eq=False)
class _Block:
    """The tests of one report: ``entries[i]`` describes ``nodeids[i]``; an entry is an
    ``_Entry`` or, for a test read the general way, the ``TestResult`` itself. The tests are
    ``data[begin:end]`` (``{...},{...}``); ``canonical`` when all of it is the writer's text."""

    data: bytes  # the report's file, ASCII (so its offsets are those of its text too)
    begin: int
    end: int
    nodeids: list[str]
    entries: list[Any]
    stops: dict[int, int]  # where each test read the general way ends in data
    canonical: bool
    odd: int = 0  # how many entries are TestResult objects (unhashable: counted apart)
    built: list[TestResult] | None = None

    def build(self) -> list[TestResult]:
        if self.built is None:
            self.built = [
                entry if type(entry) is TestResult else _make(nodeid, entry)
                for nodeid, entry in zip(self.nodeids, self.entries)
            ]
        return self.built


_TEMPLATE_OF = attrgetter("template")


def _make(nodeid: str, entry: _Entry) -> TestResult:
    prototype = entry.template.prototype
    first = prototype.attempts[0]
    attempt = Attempt(first.number, first.outcome, (), first.category, first.exception_type, first.message)
    attempt._shape = first._shape
    attempt._durations = entry.durations
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
        without building a test: entries are shared objects, so C-level ``Counter`` does it."""
        counts: Counter[_Template] = Counter()
        for block in self._blocks:
            if block.odd:
                for entry in block.entries:
                    if type(entry) is TestResult:
                        yield entry, 1
                    else:
                        counts[entry.template] += 1
            else:
                counts.update(map(_TEMPLATE_OF, block.entries))
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
            starts = _starts(data, block.begin, block.end, block.entries, block.stops)
            for start in range(0, len(tests), per_piece):
                batch = [
                    data[starts[index] : starts[index + 1] - 1]
                    if type(entry) is _Entry and entry.canonical else encode(tests[index]).encode("utf-8")
                    for index, entry in enumerate(block.entries[start : start + per_piece], start)
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
        block = _Block(data, begin, end, [], [], {}, True)
    else:
        if not data.startswith(_FIRST, begin) or data[end - 1 : end] != b"}":
            raise _Fallback
        block = _read_tests(data, begin, end, check_test)
    record.tests = PackedTests([block])  # type: ignore[assignment]
    return FastRecord(header, record)


def _read_tests(data: bytes, begin: int, end: int, check_test: Check) -> _Block:
    # One piece per test, then its nodeid and the rest of its text (its tail), then the entry
    # of each tail seen before: all in C (split, map), no Python code per test, no test built.
    pieces = data[begin + len(_FIRST) : end - 1].split(_SEPARATOR)
    parts = [*map(bytes.partition, pieces, repeat(b'"'))]
    nodeids = [*map(_NODEID, parts)]
    tails = [*map(_REST, parts)]
    del parts
    entries = [*map(_TAILS.get, tails)]
    odd: dict[int, tuple[int, Any]] = {}  # index -> (end, parsed test) of tests read the general way
    if None in entries:
        _read_new(data, begin, pieces, nodeids, tails, entries, odd, check_test)
    return _block(data, begin, end, nodeids, entries, odd, check_test)


_NODEID, _REST = itemgetter(0), itemgetter(2)


def _read_new(
    data: bytes, begin: int, pieces: list[bytes], nodeids: list[bytes], tails: list[bytes], entries: list[Any],
    odd: dict[int, tuple[int, Any]], check_test: Check,
) -> None:
    """The tests whose text was not seen before: by their template, else the general way.
    A test read the general way that holds the separator spans several pieces: they become
    its one entry."""
    templates: dict[Any, _Template | None] = {}
    text = ""  # the report's text, made only for a test read the general way
    spanned: list[int] = []  # pieces inside a test read the general way
    found: dict[int, tuple[int, Any]] = {}  # piece index -> (end, parsed test)
    index, position, count = 0, begin, len(pieces)  # piece ``index`` is the test at ``position``
    while index < count:
        close = position + len(_FIRST) + len(pieces[index])  # where its closing brace must be
        if entries[index] is None:
            quote = position + len(_FIRST) + len(nodeids[index])
            entries[index] = _TAILS.get(tails[index]) or _tail(templates, data, position, quote, close, check_test)
            if entries[index] is None:  # the general way, for this test only
                if not text:
                    text = data.decode("ascii")
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
        del nodeids[index], entries[index]
    for index, value in found.items():
        odd[index - sum(1 for inside in spanned if inside < index)] = value


def _block(
    data: bytes, begin: int, end: int, nodeid_bytes: list[bytes], entries: list[Any],
    odd: dict[int, tuple[int, Any]], check_test: Check,
) -> _Block:
    # Every nodeid at once, decoded and checked: none holds a quote (each ends at the first),
    # and one with an escape or a control character goes the general way (the writer
    # escapes those, so such a text is not the writer's, or not even valid JSON).
    joined = b'"'.join(nodeid_bytes).decode("ascii")
    nodeids = joined.split('"')
    if "\\" in joined or not joined.isprintable():
        starts = _starts(data, begin, end, entries, {index: stop for index, (stop, _) in odd.items()})
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
            entries[index] = test
    canonical = not odd and all(entry.canonical for entry in set(entries))
    stops = {index: stop for index, (stop, _) in odd.items()}
    return _Block(data, begin, end, nodeids, entries, stops, canonical, len(odd))


def _starts(data: bytes, begin: int, end: int, entries: list[Any], stops: dict[int, int]) -> list[int]:
    """Where each test begins in ``data``, found again as ``_read_tests`` found them, and
    ``end + 1`` after the last (only for the rare reports that need it)."""
    starts = []
    position = begin
    for index in range(len(entries)):
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


# A test's text after its nodeid -> its entry, for the first test texts read (up to a limit,
# then no more: in a report of real timings no two tests have the same durations, and only the
# lookup is then paid). An entry holds whatever report the text is in.
_TAILS: dict[bytes, _Entry] = {}
_TAILS_LIMIT = 4096


def _tail(
    templates: dict[Any, _Template | None], data: bytes, position: int, quote: int, close: int, check_test: Check
) -> _Entry | None:
    """The entry of a test text after its nodeid not seen before: its head (up to the first
    "duration) must be a template's, and its rest the template's literals with numbers in the
    holes; None sends the test the general way."""
    hole = data.find(b'"duration', quote, close)
    if hole < 0:
        return None
    # Tests with one head may differ in their number of phases (a test with none writes
    # "phases":[]): each count its own template, so which of them comes first in a file does
    # not decide which are read the general way.
    head = (data[quote + 1 : hole], data.count(b'"duration', hole, close))
    template = templates.get(head, False)
    if template is False:
        start = position + len(_FIRST)
        template = _learn(templates, head, data[start:close].decode("ascii"), quote - start, hole - start, check_test)
    if template is None:
        return None
    found = template.rest(data, hole, close)
    if found is None:
        return None
    holes = found.groups()
    durations = [*map(float, holes[1:])]
    canonical = (
        template.canonical
        # each number its own repr, and duration_s the rounded sum: as the writer writes them
        and ",".join(map(repr, durations)).encode() == b",".join(holes[1:])
        and repr(round(sum(durations), 6)).encode() == holes[0]
    )
    entry = _Entry(template, template.packer.pack(*durations), canonical)
    if len(_TAILS) < _TAILS_LIMIT:
        _TAILS[data[quote + 1 : close]] = entry
    return entry


def _learn(
    templates: dict[Any, _Template | None], head: Any, piece: str, quote: int, hole: int, check_test: Check
) -> _Template | None:
    """The template of the tests with this head (``piece[quote + 1 : hole]``), from the first
    of them (``piece``); None (and that test and those like it go the general way) when its
    text is not the compact JSON of its parse."""
    if len(templates) >= _TEMPLATE_LIMIT:
        return None
    templates[head] = None
    element = '{"nodeid":"' + piece + "}"
    try:
        parsed = json.loads(element)
    except ValueError:  # a separator inside a test: the general way finds out
        return None
    check_test(parsed)  # a violation makes the whole file go the general way, for its message
    if (
        type(parsed) is not dict
        or parsed.get("nodeid") != piece[:quote]
        or parsed.get("markers") != {}
        or len(parsed["attempts"]) != 1
        or parsed["attempts"][0].get("subtests") != []
        or _ENCODER.encode(parsed) != element
    ):
        return None
    rest = piece[hole:]
    # Every "duration in the rest is a hole: the attempt's duration_s, then one per phase.
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
    # The literals as they are, a JSON number the schema allows in each hole: one anchored
    # match per test whose text was not seen before (~1 µs; never a search through the text).
    pattern = (b"(" + _NUMBER + b")").join(re.escape(literal.encode()) for literal in literals)
    rest_pattern = re.compile(pattern).fullmatch
    template = templates[head] = _Template(prototype, rest_pattern, _PACKERS[len(phases)], canonical)
    return template


_NUMBER_PREFIX = re.compile(_NUMBER.decode()).match
