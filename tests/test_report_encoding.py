"""The streamed report (templated per-test JSON) is byte for byte the generic encoding."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, Subtest, TestResult
from pytest_enterprise.report import test_encoder
from pytest_enterprise.report.json_report import _ENCODER, build_report, dumps_report, report_chunks, report_header, result_section
from pytest_enterprise.report.test_encoder import TestEncoder

RUN = RunInfo(id="r", started_at="2025-01-31T12:00:00.000000Z")
OK = ("setup", "passed"), ("call", "passed"), ("teardown", "passed")


def _streamed(record: RunRecord) -> str:
    return "".join(report_chunks(report_header(record, {}, [], None), record.tests))


def _generic(record: RunRecord) -> str:
    return dumps_report(build_report(record, {}, [], None))


def _test(nodeid: str, durations=(0.001, 0.5, 0.002), shape=OK, **fields) -> TestResult:
    phases = [Phase(when, outcome, d) for (when, outcome), d in zip(shape, durations)]
    attempt_fields = {k: fields.pop(k) for k in ("category", "exception_type", "message", "subtests") if k in fields}
    outcome = fields.pop("outcome", "passed")
    return TestResult(nodeid, [Attempt(1, outcome, phases, **attempt_fields)], **fields)


def test_common_tests_take_a_template_and_match_the_generic_text() -> None:
    tests = [_test(f"t.py::test_{i}[a\"%s\\\u00e9-{i}]", (i * 1e-6, 0.1 + i, 3.0)) for i in range(50)]
    tests += [_test("t.py::test_w", worker="gw1"), _test("t.py::test_sev", severity="high")]
    encoder = TestEncoder(result_section, _ENCODER.encode)
    assert [encoder(t) for t in tests] == [_ENCODER.encode(result_section(t)) for t in tests]
    # One template per distinct shape of test (plain, on gw1, severity high), all checked good.
    assert len(encoder._templates) == 3 and None not in encoder._templates.values()
    record = RunRecord(run=RUN, tests=tests)
    assert _streamed(record) == _generic(record)
    json.loads(_streamed(record))


def test_tests_that_are_not_common_go_the_generic_way() -> None:
    tests = [
        _test("t.py::test_marked", markers={"severity": "high"}, severity="high"),
        _test("t.py::test_sub", subtests=[Subtest("[x]", "passed")]),
        _test("t.py::test_failed", outcome="failed", shape=(("setup", "passed"), ("call", "failed")),
              durations=(0.0, 0.25), category="failure", exception_type="ValueError", message="boom 100%"),
        TestResult("t.py::test_rerun", [Attempt(1, "failed", [Phase("call", "failed", 0.1)], category="failure"),
                                        Attempt(2, "passed", [Phase("call", "passed", 0.1)])]),
        TestResult("t.py::test_empty", []),
        _test("t.py::test_controls", started_at="2025-01-31T12:00:01.000Z"),
    ]  # fmt: skip
    record = RunRecord(run=RUN, tests=tests)
    assert _streamed(record) == _generic(record)


def test_a_non_finite_duration_fails_as_the_encoder_does() -> None:
    record = RunRecord(run=RUN, tests=[_test("t.py::test_x", (0.0, float("inf"), 0.0))])
    with pytest.raises(ValueError, match="Out of range float"):
        _streamed(record)


def test_a_field_derived_from_the_varying_parts_is_never_templated_wrongly() -> None:
    """A future field computed from the nodeid or the durations must not be frozen into a
    template: the probe finds the nodeid twice, or the first test's check disagrees."""

    def section(test: TestResult) -> dict:
        data = result_section(test)
        data["file"] = test.nodeid.partition("::")[0]
        data["slow"] = test.attempts[0].duration > 1
        return data

    tests = [_test("a.py::test_1", (0.0, 0.1, 0.0)), _test("b.py::test_2", (0.0, 2.0, 0.0)),
             _test("b.py::test_3", (0.0, 0.5, 0.0))]  # fmt: skip
    encoder = TestEncoder(section, _ENCODER.encode)
    assert [encoder(t) for t in tests] == [_ENCODER.encode(section(t)) for t in tests]


def test_templates_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(test_encoder, "TEMPLATE_LIMIT", 2)
    encoder = TestEncoder(result_section, _ENCODER.encode)
    tests = [_test(f"t.py::test_{i}", worker=f"gw{i}") for i in range(5)]
    assert [encoder(t) for t in tests] == [_ENCODER.encode(result_section(t)) for t in tests]
    assert len(encoder._templates) == 2


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_DURATION = st.one_of(st.sampled_from([0.0, -0.0, 1e-06, 0.0001]),
                      st.floats(0, 1e6, allow_nan=False, allow_infinity=False).map(lambda d: round(d, 6)))  # fmt: skip
_SHAPE = st.sampled_from([OK, OK[:2], (("setup", "skipped"),), (("setup", "passed"), ("call", "failed"), ("teardown", "passed")),
                          (("crash", "failed"),)])  # fmt: skip


@st.composite
def _tests(draw) -> TestResult:
    shape = draw(_SHAPE)
    durations = draw(st.lists(_DURATION, min_size=len(shape), max_size=len(shape)))
    return _test(
        draw(st.sampled_from(["t.py::test_a", "t.py::C::test_b[1-x]"])) + draw(_TEXT),
        durations,
        shape,
        outcome=draw(st.sampled_from(["passed", "failed", "skipped", "xfailed", "xpassed"])),
        severity=draw(st.sampled_from(["medium", "high"])),
        worker=draw(st.sampled_from([None, "gw0"])),
        category=draw(st.sampled_from([None, "failure"])),
        message=draw(st.one_of(st.none(), _TEXT)),
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(_tests(), max_size=25))
def test_streamed_report_equals_the_generic_encoding(tests: list[TestResult]) -> None:
    record = RunRecord(run=RUN, tests=tests)
    assert _streamed(record) == _generic(record)


@pytest.mark.parametrize("count", [0, 1, 255, 256, 257, 513])
def test_tests_streamed_in_batches_join_to_the_generic_text(count: int) -> None:
    record = RunRecord(run=RUN, tests=[_test(f"t.py::test_{i}") for i in range(count)])
    pieces = list(report_chunks(report_header(record, {}, [], None), record.tests))
    assert "".join(pieces) == _generic(record)
    assert len(pieces) == 2 + -(-count // 256)  # header, one piece per 256 tests, closing


def test_cached_duration_reprs_are_the_reprs(monkeypatch) -> None:
    """The repr cache keeps positive floats only (0.0 and -0.0 are equal keys) and stays bounded."""
    monkeypatch.setattr(test_encoder, "_REPRS", {})
    monkeypatch.setattr(test_encoder, "_REPRS_LIMIT", 3)
    values = [0.0, -0.0, 1e-06, 0.0001, 0.0001, 1e-06, 123456.5, 5e-324, -0.0, 0.0, 2.5, 3.5, 2.5]
    tests = [_test(f"t.py::test_{i}", (value, value, 0.1)) for i, value in enumerate(values)]
    record = RunRecord(run=RUN, tests=tests)
    assert _streamed(record) == _generic(record)
    assert '"duration":-0.0' in _streamed(record)
    assert len(test_encoder._REPRS) <= 3 and all(key > 0 for key in test_encoder._REPRS)
