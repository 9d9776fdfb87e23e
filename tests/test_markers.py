"""markers.MarksByParent reads each parent's marks once and gives what iter_markers gives."""

from __future__ import annotations

import pytest

from pytest_enterprise.markers import MarksByParent

SOURCE = """
import pytest

pytestmark = [pytest.mark.severity("low"), pytest.mark.other]

def test_plain():
    pass

@pytest.mark.severity("high")
@pytest.mark.control("CC6.1")
def test_marked():
    pass

@pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.control("CC7.2")), 3])
def test_params(n):
    pass

@pytest.mark.control("CC1.1")
class TestOuter:
    def test_in_class(self):
        pass

    @pytest.mark.opportunities(3)
    def test_marked_in_class(self):
        pass

    class TestInner:
        pytestmark = pytest.mark.severity("critical")

        def test_nested(self):
            pass

def test_after_class():
    pass
"""


@pytest.mark.parametrize("names", [("severity", "opportunities"), ("control",), ("other", "severity"), ("absent",)])
def test_marks_by_parent_equal_iter_markers(pytester: pytest.Pytester, names) -> None:
    pytester.makeini("[pytest]\nmarkers =\n    other: a mark of someone else\n")
    items = pytester.getitems(SOURCE)
    assert len(items) == 9
    marks = MarksByParent(names)
    for item in items:
        assert marks(item) == [mark for mark in item.iter_markers() if mark.name in names], item.nodeid


def test_a_new_reader_sees_a_mark_added_to_a_parent(pytester: pytest.Pytester) -> None:
    items = pytester.getitems("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    before = MarksByParent(["severity"])
    assert before(items[0]) == []
    items[0].parent.add_marker(pytest.mark.severity("high"))
    assert [mark.args for mark in MarksByParent(["severity"])(items[1])] == [("high",)]


def test_chain_marks_equal_iter_markers(pytester: pytest.Pytester) -> None:
    from pytest_enterprise.markers import chain_marks

    def _flags_marks(item):
        return chain_marks(item, frozenset({"flags"}))

    source = SOURCE.replace('pytest.mark.other]', 'pytest.mark.flags("a")]').replace(
        '@pytest.mark.opportunities(3)', '@pytest.mark.flags("b", combine="all")\n    @pytest.mark.flags("c")'
    ).replace('pytestmark = pytest.mark.severity("critical")', 'pytestmark = [pytest.mark.flags("d")]')
    items = pytester.getitems(source)
    assert max(len(_flags_marks(item)) for item in items) == 3
    for item in items:
        assert _flags_marks(item) == list(item.iter_markers("flags")), item.nodeid
