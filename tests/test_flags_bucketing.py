"""Percentage bucketing agrees with Unleash's client specification, and is monotonic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_enterprise.flags.bucketing import bucket, in_rollout

SPEC = Path(__file__).resolve().parents[2] / "shared" / "data" / "unleash-client-spec" / "specifications"


def user_id_cases():
    """The userId-stickiness cases of the gradual- and flexible-rollout specifications."""
    if not SPEC.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"Unleash client spec not found at {SPEC}"))]
    cases = []
    for name in ("03-gradual-rollout-user-id-strategy.json", "10-flexible-rollout-strategy.json"):
        spec = json.loads((SPEC / name).read_text(encoding="utf-8"))
        features = {feature["name"]: feature for feature in spec["state"]["features"]}
        for test in spec["tests"]:
            feature = features[test["toggleName"]]
            user = test["context"].get("userId")
            strategies = feature["strategies"]
            if user is None or len(strategies) != 1 or strategies[0].get("constraints"):
                continue
            strategy = strategies[0]
            parameters = strategy["parameters"]
            if strategy["name"] == "gradualRolloutUserId":
                percentage = parameters["percentage"]
            elif strategy["name"] == "flexibleRollout" and parameters.get("stickiness") in ("userId", "default"):
                percentage = parameters["rollout"]
            else:
                continue
            group = parameters.get("groupId") or feature["name"]
            cases.append(pytest.param(
                (user, group, float(percentage), feature["enabled"] and test["expectedResult"]),
                id=f"{name[:2]}-{test['description']}",
            ))  # fmt: skip
    assert len(cases) >= 8  # the vectors are there: never pass on an empty list
    return cases


@pytest.mark.parametrize("case", user_id_cases())
def test_agrees_with_the_unleash_client_specification(case):
    user, group, percentage, expected = case
    assert in_rollout(user, group, percentage) is expected


@given(st.text(max_size=20), st.text(max_size=20), st.integers(0, 100), st.integers(0, 100))
def test_rollouts_are_monotonic(user, group, low, high):
    low, high = sorted((low, high))
    if in_rollout(user, group, low):
        assert in_rollout(user, group, high)


@given(st.text(max_size=20), st.text(max_size=20))
def test_buckets_are_1_to_100_and_the_edges_hold(user, group):
    assert 1 <= bucket(user, group) <= 100
    assert in_rollout(user, group, 100) and not in_rollout(user, group, 0)


def test_a_percentage_rollout_takes_about_that_share_of_users():
    share = sum(in_rollout(str(user), "checkout", 25) for user in range(20_000)) / 20_000
    assert 0.24 < share < 0.26  # binomial sd 0.3 %: a 3-sigma band


def test_an_identifier_with_a_lone_surrogate_is_bucketed_not_a_crash():
    # mmh3 given such a str kills the interpreter (segfault); we hash its bytes instead.
    from pytest_enterprise.flags.bucketing import bucket

    assert 1 <= bucket("user-\udcff", "group") <= 100
    assert bucket("user-1", "group") == bucket("user-1", "group")  # valid text: unchanged buckets
