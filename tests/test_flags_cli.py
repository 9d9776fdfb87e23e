"""``enterprise flags ...``: listing, showing, audited changes, evaluation, experiments, the log."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main
from pytest_enterprise.flags.bucketing import bucket
from pytest_enterprise.flags.flagfile import load_flag_file
from pytest_enterprise.flags.manager import FlagManager

CONFIG = """
feature_flags:
  config_file: flags.yaml
telemetry:
  history_path: .enterprise/history.db
"""

FLAGS = """
flags:
  new_ui:
    description: the new interface
    status: rollout
    strategy: percentage
    rollout_percentage: 25
    owner: web-team
  checkout:
    status: ab_test
  beta:
    status: enabled
    strategy: user_list
    users: [u9]
    groups: [staff]
  legacy_search:
    status: disabled
profiles:
  production:
    new_ui:
      rollout_percentage: 10
      owner: ops
"""

ACTOR = "alice"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENTERPRISE_ACTOR", ACTOR)  # who every change is by, unless --actor
    (tmp_path / "enterprise-config.yaml").write_text(CONFIG)
    (tmp_path / "flags.yaml").write_text(textwrap.dedent(FLAGS).lstrip())
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def change(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    """A flags command that changes something (by $ENTERPRISE_ACTOR)."""
    return run_cli(capsys, "flags", *arguments)


def log_events(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[dict]:
    code, out, _ = run_cli(capsys, "flags", "log", *arguments, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["chain_intact"] is True and data["problems"] == []
    return data["events"]


def refused(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    """Run, expect exit 2 with a one-line error and no traceback; return stderr."""
    code, out, err = run_cli(capsys, *arguments)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.startswith("enterprise: error: ")
    assert err.count("\n") == 1, err
    return err


# -- list and show --------------------------------------------------------------------------


def test_list_text_shows_every_flag_as_development_sees_it(project, capsys):
    code, out, err = run_cli(capsys, "flags", "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"{project / 'flags.yaml'} (development): 4 flags"
    assert "development overrides" in lines[1]
    new_ui = next(line for line in lines if line.startswith("new_ui"))
    assert new_ui.split() == ["new_ui", "rollout", "percentage", "25%", "on/off", "web-team"]
    assert "control/treatment" in next(line for line in lines if line.startswith("checkout"))
    assert next(line for line in lines if line.startswith("legacy_search")).split()[1] == "disabled"


def test_list_json(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "list", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["environment"] == "development"
    assert data["file"] == str(project / "flags.yaml")
    assert list(data["flags"]) == ["new_ui", "checkout", "beta", "legacy_search"]
    assert data["flags"]["new_ui"] == {
        "description": "the new interface",
        "status": "rollout",
        "strategy": "percentage",
        "rollout_percentage": 25.0,
        "owner": "web-team",
    }
    assert data["flags"]["beta"]["users"] == ["u9"] and data["flags"]["beta"]["groups"] == ["staff"]


def test_list_with_the_production_profile_names_the_overridden_fields(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "list", "--environment", "production")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("(production): 4 flags")
    assert lines[1].rstrip().endswith("production overrides")
    new_ui = next(line for line in lines if line.startswith("new_ui"))
    assert "10%" in new_ui and "ops" in new_ui and "25%" not in new_ui
    assert new_ui.rstrip().endswith("rollout_percentage, owner")
    beta = next(line for line in lines if line.startswith("beta"))
    assert "rollout_percentage" not in beta  # only the overridden flag names fields

    code, out, _ = run_cli(capsys, "flags", "list", "--environment", "production", "--format", "json")
    data = json.loads(out)
    assert data["environment"] == "production"
    assert data["flags"]["new_ui"]["rollout_percentage"] == 10.0 and data["flags"]["new_ui"]["owner"] == "ops"


def test_list_follows_enterprise_env(project, capsys, monkeypatch):
    monkeypatch.setenv("ENTERPRISE_ENV", "production")
    code, out, _ = run_cli(capsys, "flags", "list", "--format", "json")
    assert code == 0 and json.loads(out)["flags"]["new_ui"]["rollout_percentage"] == 10.0


def test_show_json_with_profile_and_recent_changes(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "show", "new_ui", "--format", "json", "--environment", "production")
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "new_ui" and data["environment"] == "production"
    assert data["definition"]["rollout_percentage"] == 10.0
    assert data["values"] == ["on", "off"]
    assert data["overridden_in_profile"] == ["rollout_percentage", "owner"]
    assert data["recent_changes"] == []

    assert change(capsys, "update", "new_ui", "--rollout", "50", "--reason", "ramp")[0] == 0
    code, out, _ = run_cli(capsys, "flags", "show", "new_ui", "--format", "json")
    data = json.loads(out)
    assert data["environment"] == "development" and data["overridden_in_profile"] == []
    assert data["definition"]["rollout_percentage"] == 50.0
    [event] = data["recent_changes"]
    assert (event["actor"], event["action"], event["flag"], event["reason"]) == (ACTOR, "update", "new_ui", "ramp")
    assert (event["before"]["rollout_percentage"], event["after"]["rollout_percentage"]) == (25.0, 50.0)

    code, out, _ = run_cli(capsys, "flags", "show", "checkout", "--format", "json")
    assert json.loads(out)["values"] == ["control", "treatment"]


def test_show_text(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "show", "new_ui", "--environment", "production")
    assert code == 0
    assert out.startswith("new_ui (production)\n")
    assert "  rollout_percentage: 10.0" in out and "  values: on, off" in out
    assert "  profile production overrides: rollout_percentage, owner" in out


# -- create ---------------------------------------------------------------------------------


def test_create_writes_the_flag_and_an_audit_event(project, capsys):
    code, out, err = change(
        capsys, "create", "dark_mode", "--status", "rollout", "--strategy", "percentage", "--rollout", "25",
        "--owner", "ux", "--tags", "ui, theme", "--reason", "new theme",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"dark_mode: create by {ACTOR}: ")
    assert "rollout_percentage unset -> 25.0" in out and 'status unset -> "rollout"' in out

    flag = load_flag_file(project / "flags.yaml").flags()["dark_mode"]
    assert (flag.status.value, flag.strategy.value, flag.rollout_percentage) == ("rollout", "percentage", 25.0)
    assert flag.owner == "ux" and flag.tags == ("ui", "theme")
    assert list(load_flag_file(project / "flags.yaml").flags())[-1] == "dark_mode"  # a new flag goes last

    [event] = log_events(capsys)
    assert (event["actor"], event["action"], event["flag"], event["reason"]) == (ACTOR, "create", "dark_mode", "new theme")
    assert event["before"] is None
    assert event["after"] == {
        "status": "rollout",
        "strategy": "percentage",
        "rollout_percentage": 25.0,
        "owner": "ux",
        "tags": ["ui", "theme"],
    }


def test_create_into_a_file_that_does_not_exist_yet(project, capsys):
    code, out, err = change(capsys, "create", "solo", "--status", "enabled", "--file", "new.yaml")
    assert code == 0, err
    assert list(load_flag_file(project / "new.yaml").flags()) == ["solo"]
    assert load_flag_file(project / "new.yaml").flags()["solo"].status.value == "enabled"
    assert "solo" not in load_flag_file(project / "flags.yaml").flags()  # the configured file is untouched
    [event] = log_events(capsys, "solo")
    assert event["action"] == "create" and event["after"] == {"status": "enabled"}


def test_create_an_existing_flag_is_refused(project, capsys):
    before = (project / "flags.yaml").read_bytes()
    err = refused(capsys, "flags", "create", "new_ui")
    assert "flag 'new_ui' already exists" in err and "enterprise flags update new_ui" in err
    assert (project / "flags.yaml").read_bytes() == before


# -- update, enable, disable -----------------------------------------------------------------


def test_update_changes_the_file_and_logs_before_and_after(project, capsys):
    code, out, err = change(capsys, "update", "new_ui", "--rollout", "50", "--reason", "ramp")
    assert code == 0, err
    assert out == f"new_ui: update by {ACTOR}: rollout_percentage 25.0 -> 50.0\n"  # development: no profile note
    assert load_flag_file(project / "flags.yaml").flags()["new_ui"].rollout_percentage == 50.0
    # the profile is left as it was: production still gets its 10 %
    assert load_flag_file(project / "flags.yaml").flags("production")["new_ui"].rollout_percentage == 10.0

    [event] = log_events(capsys, "new_ui")
    assert (event["actor"], event["action"], event["reason"]) == (ACTOR, "update", "ramp")
    assert event["before"]["rollout_percentage"] == 25.0 and event["after"]["rollout_percentage"] == 50.0
    assert {k: v for k, v in event["before"].items() if k != "rollout_percentage"} == {
        k: v for k, v in event["after"].items() if k != "rollout_percentage"
    }

    code, out, _ = run_cli(capsys, "flags", "log")
    assert code == 0
    assert f"{ACTOR} update new_ui: ramp" in out and out.endswith("audit chain: intact\n")


def test_update_of_a_field_the_active_profile_overrides_says_so(project, capsys, monkeypatch):
    monkeypatch.setenv("ENTERPRISE_ENV", "production")
    code, out, err = change(capsys, "update", "new_ui", "--rollout", "50", "--description", "v2")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"new_ui: update by {ACTOR}: ")
    assert "rollout_percentage 25.0 -> 50.0" in lines[0] and 'description "the new interface" -> "v2"' in lines[0]
    assert lines[1] == "note: profile 'production' overrides rollout_percentage; production still sees its own value"
    assert len(lines) == 2


def test_update_lists_and_variants(project, capsys):
    code, _, err = change(capsys, "update", "beta", "--users", "u1,u2", "--groups", "qa")
    assert code == 0, err
    flag = load_flag_file(project / "flags.yaml").flags()["beta"]
    assert flag.users == ("u1", "u2") and flag.groups == ("qa",)
    code, _, err = change(capsys, "update", "checkout", "--variant", "a:1", "--variant", "b:3")
    assert code == 0, err
    flag = load_flag_file(project / "flags.yaml").flags()["checkout"]
    assert [(v.name, v.weight) for v in flag.variants] == [("a", 1), ("b", 3)]


def test_disable_and_enable(project, capsys):
    code, out, _ = change(capsys, "disable", "beta", "--reason", "incident 42")
    assert code == 0 and out == f'beta: disable by {ACTOR}: status "enabled" -> "disabled"\n'
    assert not load_flag_file(project / "flags.yaml").flags()["beta"].serving
    code, out, _ = change(capsys, "enable", "beta")
    assert code == 0 and out == f'beta: enable by {ACTOR}: status "disabled" -> "enabled"\n'
    assert load_flag_file(project / "flags.yaml").flags()["beta"].status.value == "enabled"
    events = log_events(capsys, "beta")
    assert [(e["action"], e["before"]["status"], e["after"]["status"], e["reason"]) for e in events] == [
        ("disable", "enabled", "disabled", "incident 42"),
        ("enable", "disabled", "enabled", None),
    ]


def test_disabling_an_ab_test_changes_only_its_status(project, capsys):
    code, out, _ = change(capsys, "disable", "checkout")
    assert code == 0 and out == f'checkout: disable by {ACTOR}: status "ab_test" -> "disabled"\n'
    [event] = log_events(capsys, "checkout")
    assert {k: v for k, v in event["before"].items() if k != "status"} == {
        k: v for k, v in event["after"].items() if k != "status"
    }


def test_enable_after_disable_resumes_the_previous_status(project, capsys):
    assert change(capsys, "disable", "checkout")[0] == 0
    code, out, _ = change(capsys, "enable", "checkout")
    assert code == 0 and '"disabled" -> "ab_test"' in out
    from pytest_enterprise.flags.flagfile import load_flag_file

    assert load_flag_file(project / "flags.yaml").flags()["checkout"].status.value == "ab_test"


def test_enable_on_a_serving_flag_is_unchanged_and_not_logged(project, capsys):
    before = (project / "flags.yaml").read_bytes()
    for name in ("beta", "new_ui"):  # enabled, and a rollout (which already serves)
        code, out, _ = change(capsys, "enable", name)
        assert code == 0 and out == f"{name}: unchanged\n"
    assert (project / "flags.yaml").read_bytes() == before
    assert log_events(capsys) == []
    assert load_flag_file(project / "flags.yaml").flags()["new_ui"].status.value == "rollout"


# -- refusals ---------------------------------------------------------------------------------


def test_update_with_nothing_to_change(project, capsys):
    err = refused(capsys, "flags", "update", "new_ui")
    assert "nothing to change" in err


def test_unknown_flag_suggests_the_close_one(project, capsys):
    for arguments in (("update", "new_iu", "--rollout", "5"), ("show", "new_iu"),
                      ("evaluate", "new_iu", "--user", "u1"), ("disable", "new_iu")):  # fmt: skip
        err = refused(capsys, "flags", *arguments)
        assert "unknown flag 'new_iu'" in err and "did you mean 'new_ui'?" in err
    assert log_events(capsys) == []


@pytest.mark.parametrize(
    "arguments, message",
    [
        (("--rollout", "150"), "flag 'new_ui': rollout_percentage: must be between 0 and 100, got 150"),
        (("--status", "enabeld"), "flag 'new_ui': status: unknown value 'enabeld'"),
        (("--strategy", "everyone"), "flag 'new_ui': strategy: unknown value 'everyone'"),
        (("--expires", "soon"), "flag 'new_ui': expires_at:"),
        (("--prerequisite", "nope"), "flag 'new_ui': prerequisites[0]: unknown flag 'nope'"),
        (("--variant", "a:x"), "--variant 'a:x': the weight after ':' must be a number"),
    ],
)
def test_invalid_values_are_refused_and_the_file_is_untouched(project, capsys, arguments, message):
    before = (project / "flags.yaml").read_bytes()
    err = refused(capsys, "flags", "update", "new_ui", *arguments)
    assert message in err
    if arguments[0] == "--status":
        assert "did you mean 'enabled'?" in err
    assert (project / "flags.yaml").read_bytes() == before
    assert log_events(capsys) == []


def test_no_flag_file_configured(project, capsys):
    (project / "enterprise-config.yaml").write_text("telemetry:\n  history_path: .enterprise/history.db\n")
    for arguments in (("list",), ("show", "new_ui"), ("evaluate", "new_ui"), ("update", "new_ui", "--rollout", "5")):
        err = refused(capsys, "flags", *arguments)
        assert "feature_flags.config_file" in err and "--file" in err


def test_a_malformed_flag_file_is_located_by_line(project, capsys):
    (project / "flags.yaml").write_text("flags:\n  a:\n    status: enabled\n    rollout_percentage: 150\n")
    before = (project / "flags.yaml").read_bytes()
    for arguments in (("list",), ("update", "a", "--rollout", "5"), ("evaluate", "a")):
        err = refused(capsys, "flags", *arguments)
        assert "flags.yaml:4: flags.a.rollout_percentage: must be between 0 and 100" in err
    (project / "flags.yaml").write_text("flags:\n  a:\n    status: enabled\n  bad: [unclosed\n")
    err = refused(capsys, "flags", "list")
    assert "flags.yaml:" in err
    (project / "flags.yaml").write_bytes(before)
    assert log_events(capsys) == []


# -- the change and its audit event go together ----------------------------------------------


@pytest.mark.parametrize("store", ["blocked", "corrupt"])
def test_an_unrecordable_change_is_undone(project, capsys, store):
    if store == "blocked":
        (project / "not-a-folder").write_text("a regular file\n")
        path = project / "not-a-folder" / "history.db"  # SQLite cannot create it
    else:
        path = project / "corrupt.db"
        path.write_bytes(b"this is not an SQLite database\n" * 10)
    before = (project / "flags.yaml").read_bytes()
    code, out, err = change(capsys, "update", "new_ui", "--rollout", "50", "--store", str(path))
    assert code != 0 and "Traceback" not in err and "history store" in err
    assert out == ""  # nothing claims the change happened
    assert (project / "flags.yaml").read_bytes() == before

    code, _, err = change(capsys, "create", "fresh", "--file", "fresh.yaml", "--store", str(path))
    assert code != 0 and "Traceback" not in err
    assert not (project / "fresh.yaml").exists()  # the file it created is gone again


# -- evaluate -----------------------------------------------------------------------------------


def test_evaluate_explains_the_bucket(project, capsys):
    user_bucket = bucket("u1", "new_ui")
    included = user_bucket <= 25
    code, out, _ = run_cli(capsys, "flags", "evaluate", "new_ui", "--user", "u1")
    assert code == 0
    state = "on" if included else "off"
    assert out.splitlines()[0] == f"new_ui for user 'u1' (development): {state}, value '{state}'"
    relation = "<=" if included else ">"
    assert out.splitlines()[1] == f"  why: 25% percentage rollout: the user's bucket {user_bucket} {relation} 25"

    code, out, _ = run_cli(capsys, "flags", "evaluate", "new_ui", "--user", "u1", "--format", "json",
                           "--environment", "production")  # fmt: skip
    answer = json.loads(out)
    assert answer["flag"] == "new_ui" and answer["user"] == "u1" and answer["environment"] == "production"
    assert answer["enabled"] is (user_bucket <= 10)
    assert answer["value"] == ("on" if user_bucket <= 10 else "off")
    assert f"the user's bucket {user_bucket} " in answer["reason"] and "10%" in answer["reason"]


def test_evaluate_both_sides_of_the_rollout(project, capsys):
    users = [f"user-{i}" for i in range(200)]
    inside = next(u for u in users if bucket(u, "new_ui") <= 25)
    outside = next(u for u in users if bucket(u, "new_ui") > 25)
    for user, enabled in ((inside, True), (outside, False)):
        code, out, _ = run_cli(capsys, "flags", "evaluate", "new_ui", "--user", user, "--format", "json")
        answer = json.loads(out)
        assert answer["enabled"] is enabled
        assert f"bucket {bucket(user, 'new_ui')} {'<=' if enabled else '>'} 25" in answer["reason"]


def test_evaluate_a_disabled_flag_names_the_kill_switch(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "evaluate", "legacy_search", "--user", "u1", "--format", "json")
    answer = json.loads(out)
    assert code == 0 and answer["enabled"] is False and answer["value"] == "off"
    assert "kill switch" in answer["reason"]


def test_evaluate_a_user_list_by_group(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "evaluate", "beta", "--user", "u1", "--group", "staff", "--format", "json")
    answer = json.loads(out)
    assert code == 0 and answer["enabled"] is True and answer["reason"] == "listed user or group"
    code, out, _ = run_cli(capsys, "flags", "evaluate", "beta", "--user", "u1", "--group", "sales", "--group", "hr")
    assert code == 0 and ": off, value 'off'" in out and "neither the user nor their groups are listed" in out
    code, out, _ = run_cli(capsys, "flags", "evaluate", "beta", "--user", "u9")
    assert ": on, value 'on'" in out


def test_evaluate_without_a_user(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "evaluate", "new_ui")
    assert code == 0 and "new_ui for no user (development): off" in out and "without a user id" in out


# -- experiment ---------------------------------------------------------------------------------


def test_experiment_reads_back_what_was_tracked(project, capsys):
    flags = load_flag_file(project / "flags.yaml").flags("development")
    manager = FlagManager(flags.values(), store_path=project / ".enterprise" / "history.db")
    exposures: Counter[str] = Counter()
    conversions: Counter[str] = Counter()
    for index in range(300):
        user = f"user-{index}"
        variant = manager.track("checkout", user)
        assert variant in ("control", "treatment")
        exposures[variant] += 1
        if index % 4 == 0:
            assert manager.track("checkout", user, "purchase") == variant
            conversions[variant] += 1
    manager.flush()
    assert set(exposures) == {"control", "treatment"}

    code, out, err = run_cli(capsys, "flags", "experiment", "checkout", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["flag"] == "checkout" and report["control"] == "control"
    variants = {v["name"]: v for v in report["variants"]}
    assert list(variants) == ["control", "treatment"]
    for name in ("control", "treatment"):
        assert variants[name]["exposures"] == exposures[name]
        purchase = variants[name]["metrics"]["purchase"]
        assert (purchase["successes"], purchase["n"]) == (conversions[name], exposures[name])
    [comparison] = report["comparisons"]
    assert (comparison["metric"], comparison["variant"], comparison["control"]) == ("purchase", "treatment", "control")
    assert comparison["control_n"] == exposures["control"] and comparison["treatment_n"] == exposures["treatment"]
    assert 0 <= comparison["p_value"] <= 1

    code, out, _ = run_cli(capsys, "flags", "experiment", "checkout")
    assert code == 0 and "Experiment 'checkout'" in out and "treatment vs control" in out

    code, _, err = run_cli(capsys, "flags", "experiment", "checkout", "--output", "report.json", "--format", "json")
    assert code == 0 and "wrote" in err
    assert json.loads((project / "report.json").read_text())["variants"] == report["variants"]


# -- log ------------------------------------------------------------------------------------------


def test_log_detects_a_tampered_event(project, capsys):
    assert change(capsys, "disable", "beta")[0] == 0
    assert change(capsys, "update", "new_ui", "--rollout", "30")[0] == 0
    code, out, _ = run_cli(capsys, "flags", "log")
    assert code == 0 and out.endswith("audit chain: intact\n")
    code, out, _ = run_cli(capsys, "flags", "log", "beta")
    assert code == 0 and "disable beta" in out and "new_ui" not in out

    with closing(sqlite3.connect(project / ".enterprise" / "history.db")) as connection, connection:
        connection.execute("UPDATE audit_events SET actor = 'mallory' WHERE subject = 'beta'")

    code, out, err = run_cli(capsys, "flags", "log")
    assert code == 1 and "Traceback" not in err
    assert "audit chain BROKEN" in out and "event 1" in out and "content does not match its hash" in out
    code, out, _ = run_cli(capsys, "flags", "log", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["chain_intact"] is False and data["problems"]


def test_log_takes_file_like_every_flags_command(project, capsys):
    assert change(capsys, "disable", "beta")[0] == 0
    assert change(capsys, "create", "promo", "--file", "other.yaml", "--status", "enabled")[0] == 0
    code, out, err = run_cli(capsys, "flags", "log", "--file", "other.yaml")
    assert code == 0 and err == ""
    assert "disable beta (not in other.yaml)" in out and "create promo\n" in out
    code, out, _ = run_cli(capsys, "flags", "log", "--file", "flags.yaml", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["flag_file"] == "flags.yaml"
    assert [(e["flag"], e["in_file"]) for e in data["events"]] == [("beta", True), ("promo", False)]
    code, _, err = run_cli(capsys, "flags", "log", "--file", "missing.yaml")
    assert code == 2 and "missing.yaml" in err and "Traceback" not in err


def test_log_of_an_empty_store(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "log")
    assert code == 0 and out == "no flag changes recorded\naudit chain: intact\n"


# -- the actor ----------------------------------------------------------------------------------


def test_actor_option_overrides_enterprise_actor(project, capsys):
    code, out, _ = run_cli(capsys, "flags", "disable", "beta", "--actor", "bob")
    assert code == 0 and out.startswith("beta: disable by bob: ")
    assert change(capsys, "enable", "beta")[0] == 0
    assert [e["actor"] for e in log_events(capsys)] == ["bob", ACTOR]


# -- concurrent edits and links -----------------------------------------------------------------

_CREATOR = """
import sys
from pytest_enterprise.cli.main import main
prefix, count = sys.argv[1], int(sys.argv[2])
sys.stdin.readline()  # every creator starts at once
codes = [main(["flags", "create", f"{prefix}_{i}", "--reason", "parallel"]) for i in range(count)]
sys.exit(max(codes))
"""


def test_concurrent_creates_are_all_in_the_file_and_the_log(project, capsys):
    """Twenty pairs of concurrent ``flags create``: two processes create twenty flags each, at
    the same time. Without the edit lock, one's save overwrote the other's (flags lost, every
    command exit 0, every one audited)."""
    count = 20
    creators = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATOR, prefix, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        for prefix in ("left", "right")
    ]
    for creator in creators:
        creator.stdin.write("go\n")
        creator.stdin.flush()
    for creator in creators:
        out, err = creator.communicate(timeout=120)
        assert creator.returncode == 0, err
        assert "Traceback" not in err
    created = {f"{prefix}_{i}" for prefix in ("left", "right") for i in range(count)}
    in_file = set(load_flag_file(project / "flags.yaml").flags(None))
    audited = [event["flag"] for event in log_events(capsys) if event["action"] == "create"]
    assert created <= in_file, f"{len(created - in_file)} created flags missing from flags.yaml"
    assert sorted(audited) == sorted(created)  # each audited once, and the file agrees
    assert in_file - created == {"new_ui", "checkout", "beta", "legacy_search"}
    assert (project / ".flags.yaml.lock").exists()  # the sidecar lock stays, documented


def test_update_through_a_symlink_changes_the_target_and_keeps_the_link(project, capsys):
    shared = project / "shared"
    shared.mkdir()
    (project / "flags.yaml").rename(shared / "flags.yaml")
    (project / "flags.yaml").symlink_to(Path("shared") / "flags.yaml")
    (shared / "flags.yaml").chmod(0o640)
    code, _, err = change(capsys, "update", "new_ui", "--rollout", "50")
    assert code == 0, err
    assert (project / "flags.yaml").is_symlink()
    assert load_flag_file(shared / "flags.yaml").flags(None)["new_ui"].rollout_percentage == 50
    assert (shared / "flags.yaml").stat().st_mode & 0o777 == 0o640  # the target's mode is kept
    assert sorted(p.name for p in shared.iterdir()) == [".flags.yaml.lock", "flags.yaml"]  # lock beside the target
