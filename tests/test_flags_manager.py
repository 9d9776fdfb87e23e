"""FlagManager: evaluation precedence, rollouts, the canary guard, changes and their audit."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.errors import EnterpriseError, UsageError
from pytest_enterprise.flags.bucketing import VARIANT_SEED, bucket
from pytest_enterprise.flags.manager import (
    FlagManager,
    UnknownFlagError,
    UnknownFlagWarning,
    majority_value,
)
from pytest_enterprise.flags.model import (
    FeatureFlag,
    FlagFieldError,
    FlagStatus,
    FlagType,
    RolloutStrategy,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
USERS = [f"user-{i}" for i in range(2000)]


class FrozenClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def flag(name: str = "f", **fields) -> FeatureFlag:
    return FeatureFlag(name=name, **fields)


def share_on(manager: FlagManager, name: str) -> float:
    return sum(manager.is_enabled(name, user) for user in USERS) / len(USERS)


# --- precedence ------------------------------------------------------------------------------


def test_enabled_and_disabled_answer_everyone_the_same():
    manager = FlagManager([flag("on", status="enabled"), flag("off", status="disabled")])
    assert all(manager.is_enabled("on", user) for user in USERS[:50])
    assert not any(manager.is_enabled("off", user) for user in USERS[:50])
    assert manager.get_variant("on") == "on" and manager.get_variant("off") == "off"


def test_the_kill_switch_wins_over_targeting():
    manager = FlagManager([flag(status="disabled", strategy="user_list", users=["vip"])])
    assert not manager.is_enabled("f", "vip")


def test_percentage_matches_the_unleash_bucket_of_each_user():
    manager = FlagManager([flag(status="rollout", strategy="percentage", rollout_percentage=30)])
    for user in USERS[:300]:
        assert manager.is_enabled("f", user) is (bucket(user, "f") <= 30)
    assert 0.25 < share_on(manager, "f") < 0.35
    assert manager.is_enabled("f", None) is False  # no identity, no bucket


def test_bucket_group_decouples_the_hash_from_the_name():
    manager = FlagManager([flag(status="rollout", strategy="percentage", rollout_percentage=40, bucket_group="shared")])
    assert [manager.is_enabled("f", u) for u in USERS[:100]] == [bucket(u, "shared") <= 40 for u in USERS[:100]]


@settings(max_examples=40, deadline=None)
@given(low=st.floats(0, 100), high=st.floats(0, 100))
def test_raising_a_rollout_only_adds_users(low, high):
    low, high = sorted((low, high))
    manager = FlagManager([flag(status="rollout", strategy="percentage", rollout_percentage=low)])
    before = {user for user in USERS[:400] if manager.is_enabled("f", user)}
    manager.update_flag("f", rollout_percentage=high, actor="t")
    after = {user for user in USERS[:400] if manager.is_enabled("f", user)}
    assert before <= after


def test_user_list_and_groups():
    manager = FlagManager([flag(status="rollout", strategy="user_list", users=["ann"], groups=["beta"])])
    assert manager.is_enabled("f", "ann")
    assert not manager.is_enabled("f", "bob")
    assert manager.is_enabled("f", "bob", {"groups": ["beta", "x"]})
    assert manager.is_enabled("f", "bob", {"group": "beta"})


def test_start_and_end_dates_bound_the_flag():
    clock = FrozenClock(T0 - timedelta(days=1))
    manager = FlagManager([flag(status="enabled", start_date=T0, end_date=T0 + timedelta(days=1))], clock=clock)
    assert not manager.is_enabled("f", "u")
    clock.now = T0
    assert manager.is_enabled("f", "u")
    clock.now = T0 + timedelta(days=1)
    assert not manager.is_enabled("f", "u")


def test_gradual_ramp_follows_the_frozen_clock():
    ramp = {"start": T0, "end": T0 + timedelta(days=10), "from_percentage": 10}
    clock = FrozenClock(T0 - timedelta(days=1))
    manager = FlagManager([flag(status="rollout", strategy="gradual", rollout_percentage=60, gradual=ramp)], clock=clock)
    expected_by_day = {-1: 10, 0: 10, 5: 35, 10: 60, 20: 60}
    previous: set[str] = set()
    for day, percentage in expected_by_day.items():
        clock.now = T0 + timedelta(days=day)
        on = {user for user in USERS if manager.is_enabled("f", user)}
        assert on == {user for user in USERS if bucket(user, "f") <= percentage}
        assert previous <= on  # the ramp only adds users
        previous = on


def test_gradual_ramp_must_rise():
    with pytest.raises(FlagFieldError, match="from_percentage: 70 is above rollout_percentage 60"):
        flag(strategy="gradual", rollout_percentage=60, gradual={"start": T0, "end": T0 + timedelta(1), "from_percentage": 70})


def test_prerequisites_are_evaluated_for_the_same_user():
    flags = [
        flag("base", status="rollout", strategy="percentage", rollout_percentage=50),
        flag("child", status="enabled", prerequisites=["base"]),
        flag("exp", status="ab_test"),
        flag("treated", status="enabled", prerequisites=[{"flag": "exp", "variants": ["treatment"]}]),
    ]
    manager = FlagManager(flags)
    for user in USERS[:200]:
        assert manager.is_enabled("child", user) is manager.is_enabled("base", user)
        assert manager.is_enabled("treated", user) is (manager.get_variant("exp", user) == "treatment")


def test_prerequisite_cycles_and_unknown_prerequisites_are_refused():
    with pytest.raises(FlagFieldError, match="cycle: a -> b -> a"):
        FlagManager([flag("a", prerequisites=["b"]), flag("b", prerequisites=["a"])])
    with pytest.raises(FlagFieldError, match="unknown flag 'bse'"):
        FlagManager([flag("base"), flag("c", prerequisites=["bse"])])
    manager = FlagManager([flag("a"), flag("b", prerequisites=["a"])])
    with pytest.raises(FlagFieldError, match="cycle"):
        manager.update_flag("a", prerequisites=["b"])
    assert manager.get_flag("a").prerequisites == ()  # nothing changed
    with pytest.raises(UsageError, match="prerequisite of b"):
        manager.delete_flag("a")


# --- variants --------------------------------------------------------------------------------


def test_an_ab_test_without_variants_splits_control_and_treatment_evenly():
    manager = FlagManager([flag("exp", status="ab_test")])
    assert manager.get_flag("exp").variant_names == ("control", "treatment")
    answers = [manager.get_variant("exp", user) for user in USERS]
    assert set(answers) == {"control", "treatment"}
    assert 0.45 < answers.count("treatment") / len(answers) < 0.55
    assert answers == [manager.get_variant("exp", user) for user in USERS]  # deterministic
    assert manager.get_variant("exp") == "control"  # no user: the control


def test_variant_assignment_uses_its_own_seed_and_the_weights():
    manager = FlagManager([flag("exp", status="ab_test", variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 3}])])
    for user in USERS[:200]:
        expected = "a" if bucket(user, "exp", buckets=4, seed=VARIANT_SEED) <= 1 else "b"
        assert manager.get_variant("exp", user) == expected


def test_a_variant_flag_serves_its_control_to_users_it_excludes():
    manager = FlagManager([flag("exp", status="disabled", variants=["base", "new"])])
    assert manager.get_variant("exp", "u") == "base" and manager.get_flag("exp").type is FlagType.VARIANT


UNLEASH = SHARED_DATA / "unleash-client-spec" / "specifications"


@pytest.mark.skipif(not UNLEASH.is_dir(), reason=f"Unleash client specification not found at {UNLEASH}")
def test_variant_assignment_agrees_with_the_unleash_variant_vectors():
    spec = json.loads((UNLEASH / "08-variants.json").read_text())
    features = {feature["name"]: feature for feature in spec["state"]["features"]}
    checked = 0
    for case in spec["variantTests"]:
        feature = features.get(case["toggleName"])
        user = case["context"].get("userId")
        simple = feature and feature["enabled"] and feature.get("variants") and all(
            s["name"] == "default" for s in feature["strategies"]
        )
        overrides = feature and any(v.get("overrides") for v in feature.get("variants") or ())
        if not simple or overrides or user is None or feature.get("variants", [{}])[0].get("stickiness") not in (None, "default", "userId"):
            continue
        variants = [{"name": v["name"], "weight": v["weight"]} for v in feature["variants"]]
        manager = FlagManager([FeatureFlag(name="x", status="ab_test", variants=variants, bucket_group=feature["name"])])
        assert manager.get_variant("x", user) == case["expectedResult"]["name"], case["description"]
        checked += 1
    assert checked >= 5


# --- unknown and declared flags --------------------------------------------------------------


def test_unknown_flags_serve_the_default_and_warn_once():
    manager = FlagManager([flag("known", status="enabled")])
    with pytest.warns(UnknownFlagWarning, match="unknown feature flag 'knwn'.*did you mean 'known'"):
        assert manager.is_enabled("knwn", default=True) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert manager.is_enabled("knwn") is False  # no second warning
    assert manager.get_metrics_summary()["unknown_flags"] == ["knwn"]
    with pytest.raises(UnknownFlagError):
        manager.get_flag("knwn")


def test_a_declared_flag_serves_its_default_until_defined():
    manager = FlagManager()
    manager.declare("beta", "Beta", default=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert manager.is_enabled("beta")
    manager.create_flag("beta", status="disabled")
    assert not manager.is_enabled("beta")


def test_lazy_loading_happens_once_at_the_first_question():
    calls = []

    def loader(manager):
        calls.append(1)
        manager.set_flags([flag("late", status="enabled")])

    manager = FlagManager()
    manager.declare("late", default=False)
    manager.load_lazily(loader)
    assert manager.is_enabled("late") and manager.is_enabled("late")
    assert calls == [1]


# --- overrides -------------------------------------------------------------------------------


def test_overrides_win_and_restore():
    manager = FlagManager([flag("f", status="disabled"), flag("exp", status="ab_test")])
    with manager.override("f", True):
        assert manager.is_enabled("f", "anyone")
        with manager.override("f", "off"):
            assert not manager.is_enabled("f")
        assert manager.is_enabled("f")
    assert not manager.is_enabled("f")
    with manager.override("exp", "treatment"):
        assert {manager.get_variant("exp", u) for u in USERS[:50]} == {"treatment"}
    with pytest.raises(UsageError, match="no variant 'blue'"):
        manager.set_override("exp", "blue")
    with pytest.raises(UsageError, match="override it with one of them"):
        manager.set_override("exp", True)
    with pytest.raises(UnknownFlagError):
        manager.set_override("nope", True)


# --- changes and audit -----------------------------------------------------------------------


def test_create_and_update_validate_and_audit_before_and_after():
    clock = FrozenClock()
    manager = FlagManager(clock=clock, actor="alice")
    manager.create_flag(
        name="new_ui_design", description="New user interface design", status=FlagStatus.ROLLOUT,
        rollout_percentage=25.0, rollout_strategy=RolloutStrategy.PERCENTAGE,
    )  # fmt: skip
    manager.update_flag("new_ui_design", rollout_percentage=50.0, reason="ramp", actor="bob")
    created, updated = manager.audit_events("new_ui_design")
    assert (created.action, created.actor, created.before_json) == ("create", "alice", None)
    assert json.loads(created.after_json)["rollout_percentage"] == 25.0
    assert (updated.actor, updated.reason) == ("bob", "ramp")
    assert json.loads(updated.before_json)["rollout_percentage"] == 25.0
    assert json.loads(updated.after_json)["rollout_percentage"] == 50.0
    assert updated.recorded_at.startswith("2026-11-26T12:00:00")
    for bad, message in (
        ({"rollout_percentage": 150}, "rollout_percentage: must be between 0 and 100, got 150"),
        ({"status": "enabeld"}, "did you mean 'enabled'"),
        ({"rollout_percentage": "fifty"}, "expected a number"),
        ({"colour": "red"}, "unknown field"),
    ):
        with pytest.raises(EnterpriseError, match=message):
            manager.update_flag("new_ui_design", **bad)
    with pytest.raises(UsageError, match="already exists"):
        manager.create_flag("new_ui_design")
    assert len(manager.audit_events()) == 2  # refused changes leave no event


def test_a_change_that_cannot_be_audited_does_not_happen():
    class BrokenAudit:
        def record(self, event):
            raise UsageError("audit log unavailable")

        def events(self, kind=None, subject=None):
            return []

    manager = FlagManager([flag("f", status="enabled")], audit=BrokenAudit())
    with pytest.raises(UsageError, match="audit log unavailable"):
        manager.disable("f")
    assert manager.is_enabled("f")


def test_the_store_keeps_the_audit_log(tmp_path):
    from pytest_enterprise.audit import StoreAuditLog, verify_chain

    audit = StoreAuditLog(tmp_path / "history.db")
    manager = FlagManager([flag("f", status="enabled")], audit=audit, actor="carol")
    manager.disable("f", reason="incident")
    manager.enable("f")
    events = audit.events("flag", "f")
    assert [e.action for e in events] == ["disable", "enable"] and verify_chain(events) == []


def test_metrics_summary_counts_calls_per_flag():
    manager = FlagManager([flag("a", status="enabled"), flag("b", status="disabled"),
                           flag("p", status="rollout", strategy="percentage", rollout_percentage=50)])  # fmt: skip
    for user in USERS[:100]:
        manager.is_enabled("a", user)
        manager.is_enabled("p", user)
    manager.is_enabled("b")
    with manager.override("b", True):  # recompiling keeps the counts
        manager.is_enabled("b")
    summary = manager.get_metrics_summary()
    assert summary["total_flags"] == 3 and summary["enabled_flags"] == 2
    assert summary["flag_calls"] == {"a": 100, "b": 2, "p": 100}
    assert summary["flags"]["b"]["on"] == 1 and summary["flags"]["b"]["off"] == 1
    assert summary["flags"]["p"]["on"] == sum(bucket(u, "p") <= 50 for u in USERS[:100])


# --- canary guard ----------------------------------------------------------------------------


def canary(**guard) -> FeatureFlag:
    return flag("canary", status="rollout", strategy="canary", rollout_percentage=5, canary=guard or None)


def test_the_canary_guard_disables_the_flag_and_says_why():
    manager = FlagManager([canary(error_threshold=0.1, window=20, min_outcomes=10)], clock=FrozenClock())
    for _ in range(9):
        assert manager.record_outcome("canary", "on", False) is False  # below min_outcomes
    assert manager.get_flag("canary").serving
    assert manager.record_outcome("canary", "on", False) is True
    assert not manager.get_flag("canary").serving
    assert not any(manager.is_enabled("canary", user) for user in USERS[:200])
    (event,) = manager.audit_events("canary")
    assert event.action == "auto-disable" and event.actor == "pytest-enterprise canary guard"
    assert "10 of the last 10 outcomes of variant 'on' failed (100.0%)" in event.reason
    assert "threshold of 10.0%" in event.reason


def test_the_canary_tolerates_errors_up_to_its_threshold_and_ignores_off():
    manager = FlagManager([canary(error_threshold=0.2, window=10, min_outcomes=10)])
    for index in range(50):
        manager.record_outcome("canary", "on", index % 5 != 0)  # 20% failures: not above
        manager.record_outcome("canary", "off", False)  # the off side is not the canary's
    assert manager.get_flag("canary").serving
    assert manager.outcome_counts()[("canary", "on")] == (40, 10)


def test_the_canary_window_slides_over_time():
    clock = FrozenClock()
    manager = FlagManager([canary(error_threshold=0.5, window=100, min_outcomes=4, window_seconds=60)], clock=clock)
    for _ in range(3):
        manager.record_outcome("canary", "on", False)
    clock.now += timedelta(minutes=5)  # those failures leave the window
    for ok in (True, True, True, False):
        assert manager.record_outcome("canary", "on", ok) is False
    assert manager.get_flag("canary").serving


def test_a_canary_has_a_default_guard():
    assert canary().canary is not None and canary().canary.error_threshold == 0.05


# --- production default ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"status": "enabled"}, "on"),
        ({"status": "disabled"}, "off"),
        ({"status": "rollout", "strategy": "percentage", "rollout_percentage": 49}, "off"),
        ({"status": "rollout", "strategy": "percentage", "rollout_percentage": 50}, "on"),
        ({"status": "rollout", "strategy": "user_list", "users": ["a"]}, "off"),
        ({"status": "ab_test", "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 2}]}, "b"),
        ({"status": "disabled", "variants": ["a", "b"]}, "a"),
    ],
)
def test_majority_value(fields, expected):
    subject = flag("f", **fields)
    assert majority_value(subject, {"f": subject}, T0) == expected


# --- A/B tracking ----------------------------------------------------------------------------


def test_track_records_the_users_variant_and_only_included_users():
    manager = FlagManager([
        flag("exp", status="ab_test", strategy="percentage", rollout_percentage=50),
        flag("bool", status="rollout", strategy="percentage", rollout_percentage=30),
    ])  # fmt: skip
    for user in USERS[:100]:
        variant = manager.track("exp", user)
        if bucket(user, "exp") <= 50:
            assert variant == manager.get_variant("exp", user)
        else:
            assert variant is None
        assert manager.track("bool", user, "clicked") == ("on" if bucket(user, "bool") <= 30 else "off")
    events = manager.experiment_events("exp")
    assert len(events) == sum(bucket(u, "exp") <= 50 for u in USERS[:100])
    with pytest.raises(UsageError, match="needs a user_id"):
        manager.track("exp", None)
    with pytest.raises(UsageError, match="finite number"):
        manager.track("exp", "u", "revenue", float("nan"))


def test_tracked_events_persist_in_the_store(tmp_path):
    path = tmp_path / "history.db"
    writer = FlagManager([flag("exp", status="ab_test")], store_path=path)
    for user in USERS[:30]:
        writer.track("exp", user)
        writer.track("exp", user, "revenue", 2.5)
    assert writer.flush() == 60
    reader = FlagManager([flag("exp", status="ab_test")], store_path=path)
    events = reader.experiment_events("exp")
    assert len(events) == 60 and {e[2] for e in events} == {"exposure", "revenue"}


def test_enable_resumes_the_status_before_the_kill_switch():
    manager = FlagManager([flag("f", status="rollout", strategy="percentage", rollout_percentage=10)])
    manager.disable("f", reason="incident")
    assert manager.enable("f").status is FlagStatus.ROLLOUT
    fresh = FlagManager([flag("g", status="disabled")])
    assert fresh.enable("g").status is FlagStatus.ENABLED  # no history: plain enabled


def test_the_unknown_flag_warning_points_at_the_callers_line():
    from pytest_enterprise.flags.decorators import conditional_execution

    manager = FlagManager()
    manager.load_lazily(lambda loaded: loaded.set_flags([]))  # a lazy load adds frames between
    with pytest.warns(UnknownFlagWarning) as seen:
        manager.is_enabled("nope")
        with conditional_execution("nope_either", manager=manager):
            pass
    assert [w.filename for w in seen] == [__file__, __file__]
