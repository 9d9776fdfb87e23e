"""Reading a report the plugin wrote back into its run record, 5-10x faster than
``json.loads`` + ``report_violation`` + ``record_from_report``, with the same result.

A report of 10,000 tests is 5 MB of JSON in which almost every test reads the same but for its
nodeid and durations (the writer, ``report_chunks``, makes them so: see ``test_encoder.py``).
The general path parses every test into dicts, checks every value against the schema, and
builds the record from the dicts: about 50 µs a test. Here each test is matched by one regular
expression that captures its nodeid and durations (the holes) and the rest of its text (the
key). The first test with a given key is parsed, checked against the schema and built the
general way, and only if its text is exactly the compact JSON of what it parses to does the key
become a template; every later test with that key is the template with its own nodeid and
durations. Holes cannot change how the rest of the text parses (a nodeid hole has no quote,
backslash or control character; a duration hole is a non-negative JSON number, which is what
the schema allows there), so a test that fits a template is valid and means what the template
says with its own values.

Anything else (a test with reruns, markers or subtests, escapes in its nodeid, whitespace, a
test that fits no template) is parsed and checked on its own, the general way. Whatever this
cannot follow exactly (the tests are not the report's last key, a test is not valid JSON or
breaks the schema, ...) makes ``read_record`` return None, and the caller reads the file the
general way, which gives the usual one-line error. So this is only ever faster, never more
lenient: tests/test_merge.py compares it with the general path.

Each test that fits a template also keeps its text when that text is exactly what
``report_chunks`` would write for it (its numbers are their own ``repr``, its ``duration_s``
the rounded sum of its phases): a merge that writes the test unchanged copies the text.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..model import Attempt, RunRecord, TestResult
from .json_report import _ENCODER, TOOL_NAME, record_from_report, result_section
from .validation import Check, SchemaViolation, compile_schema

__all__ = ["FastRecord", "read_record"]

# JSON number that the schema's "minimum": 0 allows, of a sane length (longer ones, or -0,
# go the general way, which reproduces json's own handling of them).
_NUMBER = r"(?:0|[1-9][0-9]{0,20})(?:\.[0-9]{1,30})?(?:[eE][-+]?[0-9]{1,3})?"
_PLAIN = r'[^"\\\x00-\x1f]*'  # the inside of a JSON string without escapes
_FLAT = r"[^\[\]{}]*"  # text without brackets: a run of "key":scalar members (checked per key)
_PHASE = r'\{"when":"(\w+)","outcome":"(\w+)","duration":(' + _NUMBER + r")\}"
_TEST = re.compile(
    r'\{"nodeid":"(' + _PLAIN + r')",(' + _FLAT + r')"markers":\{\},(' + _FLAT + r')"attempts":\[\{"number":1,'
    r'"outcome":"(\w+)","duration_s":(' + _NUMBER + r"),(" + _FLAT + r')"phases":\['
    + _PHASE + r"(?:," + _PHASE + r")?(?:," + _PHASE + r")?"
    + r'\],"subtests":\[\]\}\](' + _FLAT + r")\}"
)  # fmt: skip
# groups: 1 nodeid, 2 3 flat members, 4 attempt outcome, 5 duration_s, 6 flat members,
# 7-9 10-12 13-15 the phases (when, outcome, duration), 16 flat members after the attempts
_KEY_GROUPS = (2, 3, 4, 6, 7, 8, 10, 11, 13, 14, 16)
_MEMBERS = re.compile(
    r'(?:"\w+":(?:null|true|false|-?(?:0|[1-9][0-9]*)|"' + _PLAIN + r'"),)*(?:"\w+":(?:null|true|false|-?(?:0|[1-9][0-9]*)|"' + _PLAIN + r'"))?'
)  # fmt: skip
_PRINTABLE = re.compile(r"[ -~]*").fullmatch
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_TEMPLATE_LIMIT = 4096
_PACKERS = {count: struct.Struct(f"<{count}d") for count in (1, 2, 3)}
_DECODER = json.JSONDecoder()


@dataclass
class FastRecord:
    header: dict[str, Any]  # the report without its tests
    record: RunRecord
    # id(test) -> its text, for tests whose text is exactly what the writer makes of them
    texts: dict[int, str] = field(default_factory=dict)


class _Fallback(Exception):
    """The file is not one this reader follows exactly: read it the general way."""


@dataclass
class _Template:
    prototype: TestResult
    packer: struct.Struct
    canonical: bool  # the representative's text is what the writer makes of its test


def read_record(text: str) -> FastRecord | None:
    """The record of a report given as text, or None: then use the general path."""
    checks = _checks()
    if checks is None:
        return None
    try:
        return _read(text, *checks)
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


def _read(text: str, check_report: Check, check_test: Check) -> FastRecord:
    start = text.rfind(',"tests":[')
    if start < 0:
        raise _Fallback
    header = json.loads(text[:start] + "}")
    if type(header) is not dict or "tests" in header:
        raise _Fallback
    tool = header.get("tool")
    if type(tool) is not dict or tool.get("name") != TOOL_NAME or type(header.get("run")) is not dict:
        raise _Fallback  # the general path says what is wrong
    check_report({**header, "tests": []})
    tests: list[Any] = []
    texts: dict[int, str] = {}
    odd: list[tuple[int, Any]] = []  # (index, parsed test) of the tests read the general way
    templates: dict[tuple[str | None, ...], _Template | None] = {}
    match = _TEST.match
    position = start + len(',"tests":[')
    if text[position : position + 1] == "]":
        position += 1
    else:
        while True:
            found = match(text, position)
            template = None
            if found is not None:
                key = found.group(*_KEY_GROUPS)
                template = templates.get(key, False)
                if template is False:
                    template = _learn(templates, key, found, check_test)
            if template is None:  # the general way, for this test only
                end = _WHITESPACE.match(text, position).end()
                test, position = _DECODER.raw_decode(text, end)
                check_test(test)
                odd.append((len(tests), test))
                tests.append(None)
            else:
                test, canonical = _fill(template, found)
                tests.append(test)
                if canonical:
                    texts[id(test)] = found.group(0)
                position = found.end()
            following = text[position : position + 1]
            if following not in (",", "]"):
                position = _WHITESPACE.match(text, position).end()
                following = text[position : position + 1]
            position += 1
            if following == "]":
                break
            if following != ",":
                raise _Fallback
    position = _WHITESPACE.match(text, position).end()
    if text[position : position + 1] != "}" or text[position + 1 :].strip(" \t\n\r"):
        raise _Fallback
    record = record_from_report({**header, "tests": [test for _, test in odd]})
    for (index, _), test in zip(odd, record.tests):
        tests[index] = test
    record.tests = tests
    return FastRecord(header, record, texts)


def _learn(
    templates: dict[tuple[str | None, ...], _Template | None], key: tuple[str | None, ...], found: re.Match[str],
    check_test: Check,
) -> _Template | None:
    """The template of the tests with this key, from the first of them; None (and that test
    and those like it go the general way) when its text is not the compact JSON of its parse."""
    if len(templates) >= _TEMPLATE_LIMIT:
        return None
    template = templates[key] = _template(found, check_test)
    return template


def _template(found: re.Match[str], check_test: Check) -> _Template | None:
    flat = (found.group(2), found.group(3), found.group(6), found.group(16))
    if not all(_MEMBERS.fullmatch(members) for members in flat):
        return None
    element = found.group(0)
    parsed = json.loads(element)
    check_test(parsed)  # a violation makes the whole file go the general way, for its message
    if _ENCODER.encode(parsed) != element:
        return None
    (prototype,) = record_from_report({"run": _PROBE_RUN, "tests": [parsed]}).tests
    phases = prototype.attempts[0].phases
    holes = [found.group(index) for index in (9, 12, 15) if found.group(index) is not None]
    if parsed["nodeid"] != found.group(1) or [phase.duration for phase in phases] != [float(hole) for hole in holes]:
        return None
    canonical = _ENCODER.encode(result_section(prototype)) == element
    return _Template(prototype, _PACKERS[len(holes)], canonical)


_PROBE_RUN = {"id": "", "started_at": ""}


def _fill(template: _Template, found: re.Match[str]) -> tuple[TestResult, bool]:
    prototype = template.prototype
    first = prototype.attempts[0]
    texts = [hole for hole in found.group(9, 12, 15) if hole is not None]
    durations = [float(hole) for hole in texts]
    attempt = Attempt(first.number, first.outcome, (), first.category, first.exception_type, first.message)
    attempt._shape = first._shape
    attempt._durations = template.packer.pack(*durations)
    test = TestResult(
        found.group(1), [attempt], prototype.severity, prototype.opportunities, prototype.stage, None,
        prototype.worker, prototype.started_at,
    )  # fmt: skip
    canonical = (
        template.canonical
        and _PRINTABLE(found.group(1)) is not None  # the encoder escapes anything else
        and all(repr(value) == hole for value, hole in zip(durations, texts))
        and repr(round(sum(durations), 6)) == found.group(5)
    )
    return test, canonical
