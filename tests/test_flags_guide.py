"""The user guide's feature-flag examples, run as written (under ``pytest_enterprise``), and
the decorator's error handling."""

from __future__ import annotations

import json
import logging
import textwrap

import pytest

from pytest_enterprise.flags.decorators import (
    FeatureDisabledError,
    conditional_execution,
    enterprise_feature,
)
from pytest_enterprise.flags.manager import FlagManager
from pytest_enterprise.flags.model import FeatureFlag


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project whose config names a flag file, so the guide's global manager loads it."""
    (tmp_path / "enterprise-config.yaml").write_text(
        "feature_flags:\n  enabled: true\n  config_file: flags.yaml\n"
        "telemetry:\n  history_path: .enterprise/history.db\n"
    )
    (tmp_path / "flags.yaml").write_text(
        textwrap.dedent(
            """\
            flags:
              premium_features:
                status: rollout
                strategy: user_list
                users: [user123]
              beta_features:
                status: enabled
              advanced_analysis:
                status: disabled
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENTERPRISE_CONFIG", raising=False)
    monkeypatch.setenv("ENTERPRISE_ACTOR", "guide-reader")
    return tmp_path


GUIDE_EXAMPLE = """
from pytest_enterprise.flags.feature_flags import enterprise_feature, flag_manager

def perform_advanced_analysis(code):
    return ("advanced", code)

def perform_standard_analysis(code):
    return ("standard", code)

# Define enterprise feature with decorator
@enterprise_feature("advanced_analysis", "Enhanced code analysis algorithms", default=False)
def analyze_code_advanced(code, user_id=None):
    # New enhanced analysis implementation
    return perform_advanced_analysis(code)

@analyze_code_advanced.fallback
def analyze_code_standard(code, user_id=None):
    # Original implementation as fallback
    return perform_standard_analysis(code)

premium = None
# Direct feature flag checking
if flag_manager.is_enabled("premium_features", user_id="user123"):
    # Execute premium feature logic
    premium = True

# Conditional execution context manager
from pytest_enterprise.flags.feature_flags import conditional_execution

beta = None
with conditional_execution("beta_features", user_id="user123") as enabled:
    if enabled:
        # Beta feature logic
        beta = True

from pytest_enterprise.flags.feature_flags import FlagStatus, RolloutStrategy

# Create feature flag
flag_manager.create_flag(
    name="new_ui_design",
    description="New user interface design",
    status=FlagStatus.ROLLOUT,
    rollout_percentage=25.0,
    rollout_strategy=RolloutStrategy.PERCENTAGE
)

# Update feature flag configuration
flag_manager.update_flag("new_ui_design", rollout_percentage=50.0)

# Get comprehensive metrics
metrics = flag_manager.get_metrics_summary()
print(f"Total Flags: {metrics['total_flags']}")
print(f"Enabled Flags: {metrics['enabled_flags']}")
"""


def test_the_guides_examples_run_against_the_projects_flag_file(project, capsys):
    import sys

    # A fresh global manager, as a new process would have.
    sys.modules.pop("pytest_enterprise.flags.feature_flags", None)
    namespace: dict = {}
    exec(compile(GUIDE_EXAMPLE, "guide_example.py", "exec"), namespace)
    manager = namespace["flag_manager"]
    assert namespace["analyze_code_advanced"]("x") == ("standard", "x")  # disabled: the fallback
    assert namespace["premium"] is True and namespace["beta"] is True
    assert manager.get_flag("new_ui_design").rollout_percentage == 50.0
    assert capsys.readouterr().out == "Total Flags: 4\nEnabled Flags: 3\n"
    metrics = namespace["metrics"]
    assert metrics["flag_calls"]["premium_features"] == 1 and metrics["flag_calls"]["beta_features"] == 1
    assert manager.get_metrics_summary()["flag_calls"]["advanced_analysis"] == 1
    # The changes went to the project's audit log, in its store.
    from pytest_enterprise.audit import StoreAuditLog

    events = StoreAuditLog(project / ".enterprise" / "history.db").events("flag", "new_ui_design")
    assert [(e.action, e.actor) for e in events] == [("create", "guide-reader"), ("update", "guide-reader")]
    sys.modules.pop("pytest_enterprise.flags.feature_flags", None)


def test_the_lazy_global_manager_reports_a_broken_flag_file(project):
    import sys

    (project / "flags.yaml").write_text("flags:\n  x:\n    status: enabeld\n")
    sys.modules.pop("pytest_enterprise.flags.feature_flags", None)
    from pytest_enterprise.flags.feature_flags import flag_manager

    with pytest.raises(Exception, match=r"flags.yaml:3: flags.x.status: .*did you mean 'enabled'"):
        flag_manager.is_enabled("x")
    sys.modules.pop("pytest_enterprise.flags.feature_flags", None)


def make(**fields) -> FlagManager:
    return FlagManager([FeatureFlag(name="feature", **fields)])


def test_the_decorator_routes_by_flag_and_user():
    manager = make(status="rollout", strategy="user_list", users=["vip"])

    @enterprise_feature("feature", manager=manager)
    def new(x, user_id=None):
        return "new"

    @new.fallback
    def old(x, user_id=None):
        return "old"

    assert new(1, user_id="vip") == "new" and new(1, user_id="pleb") == "old" and new(1) == "old"
    assert new.__name__ == "new" and new.flag_name == "feature"


def test_a_disabled_feature_without_fallback_says_so():
    manager = make(status="disabled")

    @enterprise_feature("feature", manager=manager)
    def new():
        return "new"

    with pytest.raises(FeatureDisabledError, match="feature 'feature' is off for this call .* no fallback"):
        new()


def test_an_error_propagates_and_is_recorded_unless_fallback_on_error(caplog):
    manager = make(status="enabled")

    @enterprise_feature("feature", manager=manager)
    def strict():
        raise ValueError("boom")

    @strict.fallback
    def strict_fallback():
        return "fallback"

    with pytest.raises(ValueError, match="boom"):
        strict()

    @enterprise_feature("feature", manager=manager, fallback_on_error=True)
    def lenient():
        raise KeyError("gone")

    @lenient.fallback
    def lenient_fallback():
        return "fallback"

    with caplog.at_level(logging.WARNING, logger="pytest_enterprise.flags"):
        assert lenient() == "fallback"
    assert "feature 'feature' raised KeyError" in caplog.text
    assert manager.get_metrics_summary()["flags"]["feature"]["errors"] == 2
    assert manager.outcome_counts()[("feature", "on")] == (0, 2)


def test_feature_errors_feed_the_canary_guard():
    manager = make(status="rollout", strategy="canary", rollout_percentage=100,
                   canary={"error_threshold": 0.25, "window": 8, "min_outcomes": 8})  # fmt: skip
    calls = iter([True] * 5 + [False] * 3)

    @enterprise_feature("feature", manager=manager, fallback_on_error=True)
    def flaky():
        if not next(calls):
            raise RuntimeError("bad release")
        return "ok"

    @flaky.fallback
    def stable():
        return "stable"

    answers = [flaky() for _ in range(8)]
    assert answers == ["ok"] * 5 + ["stable"] * 3
    assert not manager.get_flag("feature").serving  # 3/8 > 25%: auto-disabled
    assert flaky() == "stable"  # now the fallback serves without trying
    assert manager.audit_events("feature")[-1].action == "auto-disable"


def test_conditional_execution_records_errors_while_on():
    manager = make(status="enabled")
    with conditional_execution("feature", user_id="u", manager=manager) as enabled:
        assert enabled is True
    with pytest.raises(ZeroDivisionError):
        with conditional_execution("feature", manager=manager):
            1 / 0
    assert manager.get_metrics_summary()["flags"]["feature"]["errors"] == 1
    off = make(status="disabled")
    with conditional_execution("feature", manager=off) as enabled:
        assert enabled is False


def test_the_decorator_defines_its_flag_so_it_can_be_updated():
    manager = FlagManager([FeatureFlag(name="other", status="enabled")])

    @enterprise_feature("advanced_analysis", "Enhanced code analysis algorithms", default=False, manager=manager)
    def advanced(code, user_id=None):
        return "advanced"

    @advanced.fallback
    def standard(code, user_id=None):
        return "standard"

    flag = manager.get_flag("advanced_analysis")
    assert (flag.status.value, flag.strategy.value, flag.description) == ("disabled", "all_users", "Enhanced code analysis algorithms")
    assert manager.defined_by_declaration("advanced_analysis") and manager.audit_events("advanced_analysis") == []
    assert advanced("x", user_id="u1") == "standard"
    # The guide's next step: change the decorated flag. Audited, with the declaration as before.
    manager.update_flag("advanced_analysis", status="rollout", rollout_percentage=100.0, reason="go")
    assert advanced("x", user_id="u1") == "advanced"
    [event] = manager.audit_events("advanced_analysis")
    before, after = json.loads(event.before_json), json.loads(event.after_json)
    assert event.action == "update" and before["status"] == "disabled" and after["status"] == "rollout"
    assert not manager.defined_by_declaration("advanced_analysis")
    summary = manager.get_metrics_summary()
    assert summary["total_flags"] == 2 and summary["flags"]["advanced_analysis"]["status"] == "rollout"

    @enterprise_feature("on_by_default", default=True, manager=manager)
    def fresh(user_id=None):
        return "new"

    assert manager.get_flag("on_by_default").status.value == "enabled" and fresh() == "new"
    # A flag file that defines the name wins over the declaration, and loses nothing else.
    manager.set_flags([FeatureFlag(name="on_by_default", status="disabled")])
    assert manager.get_flag("on_by_default").status.value == "disabled"
    assert manager.defined_by_declaration("advanced_analysis")  # back to its declaration: the file does not define it
