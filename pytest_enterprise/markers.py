"""The markers pytest-enterprise understands, and the facts they give about one test item.

Marker facts are read once per item at collection time, never per report, and turned into
plain builtins so they can ride on a report from an xdist worker to the controller.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .model import SEVERITIES

_WANTED = frozenset({"severity", "opportunities"})



def item_meta(item: Any, stages: list[str] | None) -> dict[str, Any] | None:
    """Marker facts of one item, or None when it carries none of ours (the common case).

    One pass over the item's markers, closest first, as ``get_closest_marker`` would see them.
    """
    closest: dict[str, Any] = {}
    wanted = _WANTED.union(stages) if stages else _WANTED
    for mark in item.iter_markers():
        if mark.name in wanted and mark.name not in closest:
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



