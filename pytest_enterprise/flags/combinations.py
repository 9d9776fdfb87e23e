"""Which flag values a ``@pytest.mark.flags`` test runs with. Pure functions.

* ``isolated`` (the default): each flag through each of its values while every other flag keeps
  its production default, plus the all-defaults combination; duplicates dropped.
* ``pairwise``: every pair of values of every two flags appears in some combination (a greedy
  covering array, deterministic), plus the all-defaults combination.
* ``all``: the full cartesian product.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

__all__ = ["MODES", "combinations", "combination_id"]

MODES = ("isolated", "pairwise", "all")

Combination = dict[str, str]


def combinations(
    domains: Mapping[str, Sequence[str]], defaults: Mapping[str, str], mode: str = "isolated"
) -> list[Combination]:
    """The value combinations to run, in a stable order; ``domains`` maps each flag to its
    values, ``defaults`` to its production default (one of those values)."""
    names = list(domains)
    if mode == "all":
        rows = [dict(zip(names, values)) for values in itertools.product(*domains.values())]
    elif mode == "pairwise":
        rows = [dict(defaults)] + _pairwise(names, domains)
    elif mode == "isolated":
        rows = [{**defaults, name: value} for name in names for value in domains[name]]
        rows.append(dict(defaults))
    else:
        raise ValueError(f"unknown combination mode {mode!r}; expected one of {', '.join(MODES)}")
    unique: dict[tuple[str, ...], Combination] = {}
    for row in rows:
        ordered = {name: row[name] for name in names}
        unique.setdefault(tuple(ordered.values()), ordered)
    return list(unique.values())


def _pairwise(names: list[str], domains: Mapping[str, Sequence[str]]) -> list[Combination]:
    if len(names) < 2:
        return [{names[0]: value} for value in domains[names[0]]] if names else []
    uncovered = {
        ((a, x), (b, y))
        for a, b in itertools.combinations(names, 2)
        for x in domains[a]
        for y in domains[b]
    }
    order = {name: index for index, name in enumerate(names)}
    rows = []
    while uncovered:
        (a, x), (b, y) = min(uncovered, key=lambda pair: (order[pair[0][0]], order[pair[1][0]], pair))
        row = {a: x, b: y}
        for name in names:
            if name in row:
                continue

            def gain(value: str, name: str = name) -> int:
                return sum(
                    1
                    for other, chosen in row.items()
                    if _pair(name, value, other, chosen, order) in uncovered
                )

            row[name] = max(domains[name], key=gain)  # first best value on ties
        for first, second in itertools.combinations(names, 2):
            uncovered.discard(((first, row[first]), (second, row[second])))
        rows.append(row)
    return rows


def _pair(
    name: str, value: str, other: str, chosen: str, order: Mapping[str, int]
) -> tuple[tuple[str, str], tuple[str, str]]:
    if order[name] < order[other]:
        return ((name, value), (other, chosen))
    return ((other, chosen), (name, value))


def combination_id(combination: Mapping[str, str]) -> str:
    """``new_ui=on``, or ``a=on,b=off`` for several flags."""
    return ",".join(f"{name}={value}" for name, value in combination.items())
