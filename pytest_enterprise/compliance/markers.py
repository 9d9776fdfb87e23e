"""``@pytest.mark.control``: reads the controls a test evidences into plain data.

Runs at collection, on the process that collects (an xdist worker, or the only process), so the
controller only ever sees builtins: ``[framework, control_id, ref, na_reason]`` per control.
Marks on the module (``pytestmark``), class and function all apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..errors import InputError

MARKER_HELP = (
    "control(*ids, na=None): tie this test to compliance controls, e.g. 'CC6.1', "
    "'iso27001:A.5.15', 'Art.32(1)(a)'; na='reason' records not-applicable evidence "
    "(pytest-enterprise)."
)

ControlEntry = list[Any]  # [framework, control_id, ref, na reason or None]


class ControlMarks:
    """Resolves ``control`` marks of items; catalogs load on the first mark seen, not before."""

    def __init__(self, resolver_factory: Callable[[], Any]) -> None:
        self._resolver_factory = resolver_factory
        self._resolver: Any = None
        self._cache: dict[tuple[tuple[Any, ...], Any], list[ControlEntry]] = {}

    def entries(self, item: Any, marks: Iterable[Any] | None = None) -> list[ControlEntry] | None:
        """The controls ``item`` evidences, or None when it carries no ``control`` mark.

        ``marks`` are its ``control`` marks, closest first, when the caller has them already
        (``markers.MarksByParent``); else they are read from the item.
        Raises ``InputError`` naming the test and the mark for an unknown, withdrawn or
        malformed control reference.
        """
        entries: list[ControlEntry] = []
        seen: set[tuple[str, str, str]] = set()
        found = False
        for mark in item.iter_markers("control") if marks is None else marks:
            found = True
            for entry in self._mark_entries(item.nodeid, mark):
                key = (entry[0], entry[1], entry[2])
                if key not in seen:
                    seen.add(key)
                    entries.append(entry)
        return entries if found else None

    def _mark_entries(self, nodeid: str, mark: Any) -> list[ControlEntry]:
        try:
            key = (mark.args, tuple(sorted(mark.kwargs.items())))
            hash(key)
        except TypeError:
            key = None  # unhashable arguments: resolve (and most likely reject) every time
        if key is not None and key in self._cache:
            return self._cache[key]
        try:
            entries = self._resolve(mark)
        except InputError as error:
            raise InputError(f"{nodeid}: {_shown(mark)}: {error}") from None
        if key is not None:
            self._cache[key] = entries
        return entries

    def _resolve(self, mark: Any) -> list[ControlEntry]:
        unknown = set(mark.kwargs) - {"na"}
        if unknown:
            raise InputError(f"unknown argument {sorted(unknown)[0]!r}; the only keyword is na='reason'")
        na = mark.kwargs.get("na")
        if na is not None and (not isinstance(na, str) or not na.strip()):
            raise InputError("na= must be a non-empty reason, e.g. na='no card data stored'")
        if not mark.args:
            raise InputError("name at least one control ID")
        if self._resolver is None:
            self._resolver = self._resolver_factory()
        entries = []
        for text in mark.args:
            if not isinstance(text, str):
                raise InputError(f"control IDs are strings, got {type(text).__name__} {text!r}")
            ref = self._resolver.resolve(text)
            entries.append([ref.framework, ref.control_id, ref.ref, na])
        return entries


def _shown(mark: Any) -> str:
    arguments = [repr(arg) for arg in mark.args]
    arguments += [f"{name}={value!r}" for name, value in mark.kwargs.items()]
    return f"@pytest.mark.control({', '.join(arguments)})"
