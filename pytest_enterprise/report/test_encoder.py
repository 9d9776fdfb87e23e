"""The report's per-test JSON, byte for byte as the generic path writes it, 3-4x faster.

Streaming the report spends most of its time in one ``result_section`` dict and one encode
per test. Almost every test of a run looks the same but for its nodeid and durations: one
attempt, no markers, no subtests, the same phase shape. For such a test, ``TestEncoder`` keeps
the encoded section as a template with holes for the nodeid and the durations, and fills them
in. It never writes the JSON itself: each template is made by encoding ``result_section`` of a
probe copy of the test whose nodeid and durations are marker values, and checked against the
generic path on the first test that uses it. A test that doesn't fit (several attempts,
markers, subtests, a non-finite duration), or whose template could not be made or checked,
goes the generic way. So a new field in ``result_section`` needs no change here: every stored
attribute of the test and its attempt but the nodeid and the durations is part of the
template's key.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from ..model import Attempt, TestResult, _pack, _unpack

# Everything a section can depend on but the varying parts (nodeid, durations).
_TEST_KEY = attrgetter(*[name for name in TestResult.__slots__ if name not in ("nodeid", "attempts")])
_ATTEMPT_KEY = attrgetter(*[name for name in Attempt.__slots__ if name != "_durations"])
_NODEID_MARKER = "\x00pytest-enterprise nodeid\x00"
#: Templates kept at most; a run whose tests differ in more ways than this goes generic.
TEMPLATE_LIMIT = 256
_REFUSED = None  # the value kept for a key whose template could not be made


def _duration_markers(count: int) -> list[float]:
    # Values whose reprs are distinct and are no substring of one another or of their sum.
    return [float(f"{index + 1}0000{index + 1}.25") for index in range(count)]


class TestEncoder:
    """``encoder(test)`` is ``encode(section(test))``; see the module docstring."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, section: Callable[[TestResult], Any], encode: Callable[[Any], str]) -> None:
        self._section = section
        self._encode = encode
        # key -> template (see _Template) or _REFUSED
        self._templates: dict[tuple[Any, ...], _Template | None] = {}

    def __call__(self, test: TestResult) -> str:
        attempts = test.attempts
        if len(attempts) != 1 or test.markers is not None:
            return self._encode(self._section(test))
        attempt = attempts[0]
        key = (_TEST_KEY(test), _ATTEMPT_KEY(attempt))
        try:
            template = self._templates.get(key, False)
        except TypeError:  # an unhashable part (e.g. a subtests list): not a common test
            return self._encode(self._section(test))
        durations = _unpack(attempt._durations)
        total = round(sum(durations), 6)
        if not math.isfinite(total):  # the generic path raises the encoder's own error
            return self._encode(self._section(test))
        if template is False:
            template = self._learn(key, test, attempt, len(durations))
            if template is not None and not self._agrees(template, test, durations, total):
                template = self._templates[key] = _REFUSED
        if template is None:
            return self._encode(self._section(test))
        return _fill(template, self._encode(test.nodeid), total, durations)

    def _learn(self, key: tuple[Any, ...], test: TestResult, attempt: Attempt, phases: int) -> _Template | None:
        if len(self._templates) >= TEMPLATE_LIMIT:
            return None
        template = self._templates[key] = _template(self._section, self._encode, test, attempt, phases)
        return template

    def _agrees(self, template: _Template, test: TestResult, durations: list[float], total: float) -> bool:
        return _fill(template, self._encode(test.nodeid), total, durations) == self._encode(self._section(test))


# A template: the literal pieces of the section's text with a None at each hole (the odd
# indices), and the order in which the holes take the values (nodeid, total, the phases), or
# () when in that order. Filling it is a list copy, one slice assignment and one join.
_Template = tuple[list[Any], tuple[int, ...]]

# Reprs of the durations seen so far: durations rounded to microseconds repeat a lot, and a
# lookup costs a fifth of a float repr. Positive finite floats only: 0.0 and -0.0 are equal
# keys with different reprs.
_REPRS: dict[float, str] = {}
_REPRS_LIMIT = 65_536


def _repr(value: float) -> str:
    text = _REPRS.get(value)
    if text is None:
        text = value.__repr__()
        if value > 0.0:
            if len(_REPRS) >= _REPRS_LIMIT:
                _REPRS.clear()
            _REPRS[value] = text
    return text


def _fill(template: _Template, nodeid_json: str, total: float, durations: list[float]) -> str:
    parts, order = template
    values = [nodeid_json, _repr(total), *map(_repr, durations)]
    if order:
        values = [values[index] for index in order]
    text = parts.copy()
    text[1::2] = values
    return "".join(text)


def _template(
    section: Callable[[TestResult], Any], encode: Callable[[Any], str], test: TestResult, attempt: Attempt, phases: int
) -> _Template | None:
    """The template of tests like ``test``, or None when its holes can't be found exactly."""
    markers = _duration_markers(phases)
    probe_attempt = copy.copy(attempt)
    probe_attempt._durations = _pack(markers)
    probe = copy.copy(test)
    probe.nodeid = _NODEID_MARKER
    probe.attempts = [probe_attempt]
    text = encode(section(probe))
    holes = [encode(_NODEID_MARKER), repr(round(sum(markers), 6)), *map(repr, markers)]
    # Each hole must be found exactly once, and only as a whole JSON value.
    found: list[tuple[int, int]] = []
    for index, hole in enumerate(holes):
        if text.count(hole) != 1:
            return None
        at = text.index(hole)
        if text[at - 1] not in ":,[" or text[at + len(hole)] not in ",]}":
            return None
        found.append((at, index))
    found.sort()
    parts: list[Any] = []
    start = 0
    for at, index in found:
        parts += (text[start:at], None)
        start = at + len(holes[index])
    parts.append(text[start:])
    order = tuple(index for _, index in found)
    return parts, (() if order == tuple(range(len(holes))) else order)
