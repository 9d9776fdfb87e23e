"""The markers pytest-enterprise understands, and the facts they give about one test item.

Marker facts are read once per item at collection time, never per report, and turned into
plain builtins so they can ride on a report from an xdist worker to the controller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import UsageError
from .model import SEVERITIES

_WANTED = frozenset({"severity", "opportunities"})



def chain_marks(node: Any, names: frozenset[str]) -> list[Any]:
    """The marks named ``names`` on ``node`` and its parents, closest first, as
    ``node.iter_markers()`` yields them, with a plain loop up the chain (a third of the cost
    of pytest's generator chain)."""
    marks = []
    while node is not None:
        # A plain loop, not extend(generator): this runs for every test function and most
        # nodes have no marks, where a generator would still be built (11k instructions a test).
        for mark in node.own_markers:
            if mark.name in names:
                marks.append(mark)
        node = node.parent
    return marks


class MarksByParent:
    """``marks(item)``: the marks named ``names`` on an item and on its parents, closest first,
    as ``item.iter_markers()`` yields them.

    Items come grouped by parent, so the marks of a parent's chain are read once while the
    parent stays the same: a suite without our marks costs a look at each item's (usually
    empty) own marks, not a walk up its chain. Use one per pass over a list of items, so that
    a mark added to a parent between passes is seen.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self._parent: Any = None
        self._inherited: list[Any] = []

    def __call__(self, item: Any) -> list[Any]:
        parent = item.parent
        if parent is not self._parent or parent is None:
            self._parent = parent
            self._inherited = chain_marks(parent, self.names)
        own = item.own_markers
        if own:
            mine = [mark for mark in own if mark.name in self.names]
            if mine:
                return mine + self._inherited
        return self._inherited


def wanted_marks(stages: list[str] | None) -> MarksByParent:
    """The reader of the marks ``item_meta`` looks at: severity, opportunities and the stages."""
    return MarksByParent(_WANTED.union(stages) if stages else _WANTED)


def item_meta(item: Any, stages: list[str] | None, marks: list[Any]) -> dict[str, Any] | None:
    """Marker facts of one item from its ``marks`` (``wanted_marks(stages)(item)``), or None
    when it carries none of ours (the common case).

    The closest mark of each name counts, as ``get_closest_marker`` would see it.
    """
    if not marks:
        return None
    closest: dict[str, Any] = {}
    for mark in marks:
        if mark.name not in closest:
            closest[mark.name] = mark
    if not closest:
        return None
    markers: dict[str, Any] = {}
    if "severity" in closest:
        markers["severity"] = _severity(item.nodeid, closest["severity"])
    if "opportunities" in closest:
        markers["opportunities"] = _opportunities(item.nodeid, closest["opportunities"])
    stage = next((s for s in stages or () if s in closest), None)
    if stage is not None:
        markers["stage"] = stage
    return {**markers, "markers": markers}


def _severity(nodeid: str, marker: Any) -> str:
    level = _single_argument(nodeid, marker, "level")
    if not isinstance(level, str) or level.lower() not in SEVERITIES:
        raise UsageError(
            f"{nodeid}: @pytest.mark.severity({level!r}): expected one of {', '.join(SEVERITIES)}"
        )
    return level.lower()


def _opportunities(nodeid: str, marker: Any) -> int:
    count = _single_argument(nodeid, marker, "n")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UsageError(
            f"{nodeid}: @pytest.mark.opportunities({count!r}): expected a whole number >= 1"
        )
    return count


def _single_argument(nodeid: str, marker: Any, keyword: str) -> Any:
    values = list(marker.args) + ([marker.kwargs[keyword]] if keyword in marker.kwargs else [])
    if len(values) != 1 or set(marker.kwargs) - {keyword}:
        raise UsageError(f"{nodeid}: @pytest.mark.{marker.name} takes exactly one argument")
    return values[0]



