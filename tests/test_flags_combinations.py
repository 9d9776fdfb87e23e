"""Which flag values a ``@pytest.mark.flags`` test runs with: isolated, pairwise and all."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.flags.combinations import MODES, combination_id, combinations


def key(row: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(row.items())


# -- isolated -------------------------------------------------------------------------------------


def test_isolated_single_flag_is_each_value_in_order():
    assert combinations({"new_ui": ["on", "off"]}, {"new_ui": "off"}) == [{"new_ui": "on"}, {"new_ui": "off"}]
    rows = combinations({"checkout": ["control", "a", "b"]}, {"checkout": "b"}, "isolated")
    assert rows == [{"checkout": "control"}, {"checkout": "a"}, {"checkout": "b"}]


def test_isolated_several_flags_vary_one_at_a_time_from_the_defaults():
    domains = {"a": ["on", "off"], "b": ["x", "y", "z"], "c": ["on", "off"]}
    defaults = {"a": "off", "b": "y", "c": "on"}
    rows = combinations(domains, defaults)
    assert rows == [
        {"a": "on", "b": "y", "c": "on"},
        {"a": "off", "b": "y", "c": "on"},  # the all-defaults row, first met here
        {"a": "off", "b": "x", "c": "on"},
        {"a": "off", "b": "z", "c": "on"},
        {"a": "off", "b": "y", "c": "off"},
    ]
    assert defaults in rows
    assert len({key(row) for row in rows}) == len(rows)
    for row in rows:
        assert list(row) == list(domains)  # keys in the domains' order
        assert sum(row[name] != defaults[name] for name in domains) <= 1
    expected = {key({**defaults, name: value}) for name in domains for value in domains[name]}
    assert {key(row) for row in rows} == expected


def test_isolated_keys_follow_the_domains_not_the_defaults():
    rows = combinations({"b": ["1", "2"], "a": ["x", "y"]}, {"a": "x", "b": "1"})
    assert all(list(row) == ["b", "a"] for row in rows)


# -- all ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "domains",
    [
        {"a": ["on", "off"]},
        {"a": ["on", "off"], "b": ["x", "y", "z"]},
        {"a": ["on", "off"], "b": ["x", "y", "z"], "c": ["1", "2"], "d": ["p", "q", "r", "s"]},
    ],
)
def test_all_is_the_cartesian_product(domains):
    defaults = {name: values[-1] for name, values in domains.items()}
    rows = combinations(domains, defaults, "all")
    expected = [dict(zip(domains, values)) for values in itertools.product(*domains.values())]
    assert rows == expected


# -- pairwise -------------------------------------------------------------------------------------


@st.composite
def flag_domains(draw):
    count = draw(st.integers(min_value=2, max_value=5))
    names = draw(st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=count, max_size=count, unique=True))
    domains = {}
    defaults = {}
    for name in names:
        size = draw(st.integers(min_value=2, max_value=4))
        values = draw(st.lists(st.sampled_from(["on", "off", "control", "a", "b", "c", "v1", "v2"]),
                               min_size=size, max_size=size, unique=True))  # fmt: skip
        domains[name] = values
        defaults[name] = draw(st.sampled_from(values))
    return domains, defaults


@settings(max_examples=50, deadline=None, database=None)
@given(flag_domains())
def test_pairwise_covers_every_pair(case):
    domains, defaults = case
    rows = combinations(domains, defaults, "pairwise")
    names = list(domains)
    for row in rows:
        assert list(row) == names
        assert all(row[name] in domains[name] for name in names)
    for first, second in itertools.combinations(names, 2):
        covered = {(row[first], row[second]) for row in rows}
        assert covered == set(itertools.product(domains[first], domains[second])), (first, second)
    assert {name: defaults[name] for name in names} in rows
    assert len({key(row) for row in rows}) == len(rows)
    cartesian = 1
    for values in domains.values():
        cartesian *= len(values)
    assert len(rows) <= cartesian
    # deterministic: the same input gives the same rows, also from equal but fresh objects
    assert combinations({n: list(v) for n, v in domains.items()}, dict(defaults), "pairwise") == rows


def test_pairwise_is_smaller_than_the_product_for_many_flags():
    domains = {f"f{i}": ["on", "off"] for i in range(6)}
    defaults = {name: "off" for name in domains}
    rows = combinations(domains, defaults, "pairwise")
    assert defaults in rows
    assert len(rows) < 2**6 // 4


def test_pairwise_single_flag_is_each_value():
    rows = combinations({"a": ["x", "y", "z"]}, {"a": "y"}, "pairwise")
    assert sorted(row["a"] for row in rows) == ["x", "y", "z"] and len(rows) == 3


# -- ids and modes --------------------------------------------------------------------------------


def test_combination_id():
    assert combination_id({"new_ui": "on"}) == "new_ui=on"
    assert combination_id({"a": "on", "b": "off"}) == "a=on,b=off"
    assert combination_id({"b": "treatment", "a": "off"}) == "b=treatment,a=off"  # the row's order
    assert combination_id({}) == ""


def test_unknown_mode_is_a_value_error():
    assert MODES == ("isolated", "pairwise", "all")
    with pytest.raises(ValueError, match=r"unknown combination mode 'every'; expected one of isolated, pairwise, all"):
        combinations({"a": ["on", "off"]}, {"a": "off"}, "every")
