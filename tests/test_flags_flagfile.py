"""The flag file: YAML and JSON reading, profiles, one-line located errors, and saving."""

from __future__ import annotations

import json
import os
import tempfile
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_enterprise.config import ENVIRONMENTS
from pytest_enterprise.errors import InputError, OutputError, PermissionDeniedError
from pytest_enterprise.flags.flagfile import FlagFile, load_flag_file, new_flag_file
from pytest_enterprise.flags.model import (
    CanaryGuard,
    FeatureFlag,
    FlagFieldError,
    FlagStatus,
    FlagType,
    GradualRamp,
    Prerequisite,
    RolloutStrategy,
    Variant,
)

UTC = timezone.utc
ALL_ENVIRONMENTS = (None, *ENVIRONMENTS)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path, kind: type[Exception] = InputError) -> str:
    with pytest.raises(kind) as caught:
        load_flag_file(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


GOOD_YAML = """
flags:
  new_ui_design:
    description: New user interface design
    status: rollout            # a comment
    strategy: percentage
    rollout_percentage: 25
    owner: web-team
    tags: [ui]
    expires_at: 2027-03-01
  checkout_experiment:
    status: ab_test
  dark_mode:
  payments_v2:
    status: enabled
    rollout_strategy: user_list
    users: [alice, bob]
    prerequisites: [new_ui_design, {flag: checkout_experiment, variants: [treatment]}]
profiles:
  production:
    new_ui_design:
      rollout_percentage: 10
    payments_v2:
      rollout_strategy: percentage
      rollout_percentage: 5
  staging:
    dark_mode: {status: enabled}
"""

GOOD_JSON = """
{
  "flags": {
    "new_ui_design": {
      "description": "New user interface design",
      "status": "rollout",
      "strategy": "percentage",
      "rollout_percentage": 25,
      "owner": "web-team",
      "tags": ["ui"],
      "expires_at": "2027-03-01"
    },
    "checkout_experiment": {"status": "ab_test"},
    "dark_mode": null,
    "payments_v2": {
      "status": "enabled",
      "rollout_strategy": "user_list",
      "users": ["alice", "bob"],
      "prerequisites": ["new_ui_design", {"flag": "checkout_experiment", "variants": ["treatment"]}]
    }
  },
  "profiles": {
    "production": {
      "new_ui_design": {"rollout_percentage": 10},
      "payments_v2": {"rollout_strategy": "percentage", "rollout_percentage": 5}
    },
    "staging": {"dark_mode": {"status": "enabled"}}
  }
}
"""


# --- reading good files ------------------------------------------------------------------------


def test_yaml_and_json_give_the_same_flags(tmp_path: Path) -> None:
    from_yaml = load_flag_file(write(tmp_path, "flags.yaml", GOOD_YAML))
    from_json = load_flag_file(write(tmp_path, "flags.json", GOOD_JSON))
    for environment in ALL_ENVIRONMENTS:
        assert from_yaml.flags(environment) == from_json.flags(environment)
    flags = from_yaml.flags()
    assert list(flags) == ["new_ui_design", "checkout_experiment", "dark_mode", "payments_v2"]
    ui = flags["new_ui_design"]
    assert ui.status is FlagStatus.ROLLOUT and ui.strategy is RolloutStrategy.PERCENTAGE
    assert ui.rollout_percentage == 25.0 and ui.tags == ("ui",) and ui.owner == "web-team"
    assert ui.expires_at == datetime(2027, 3, 1, tzinfo=UTC)
    experiment = flags["checkout_experiment"]
    assert experiment.type is FlagType.VARIANT
    assert [(v.name, v.weight) for v in experiment.variants] == [("control", 50), ("treatment", 50)]
    dark = flags["dark_mode"]  # an empty entry: all defaults, a disabled boolean flag
    assert dark == FeatureFlag("dark_mode") and not dark.serving and dark.type is FlagType.BOOLEAN
    payments = flags["payments_v2"]
    assert payments.strategy is RolloutStrategy.USER_LIST and payments.users == ("alice", "bob")
    assert payments.prerequisites == (
        Prerequisite("new_ui_design"),
        Prerequisite("checkout_experiment", ("treatment",)),
    )


def test_profiles_override_field_by_field_per_environment(tmp_path: Path) -> None:
    flag_file = load_flag_file(write(tmp_path, "flags.yaml", GOOD_YAML))
    base = flag_file.flags()
    production = flag_file.flags("production")
    assert production["new_ui_design"].rollout_percentage == 10.0
    assert production["new_ui_design"].tags == ("ui",)  # the rest of the base is kept
    assert production["payments_v2"].strategy is RolloutStrategy.PERCENTAGE
    assert production["payments_v2"].rollout_percentage == 5.0
    assert production["dark_mode"] == base["dark_mode"]
    assert flag_file.flags("staging")["dark_mode"].status is FlagStatus.ENABLED
    assert flag_file.flags("staging")["new_ui_design"] == base["new_ui_design"]
    assert flag_file.flags("development") == base == flag_file.flags("testing")  # no profile
    assert flag_file.overridden_fields("new_ui_design", "production") == ("rollout_percentage",)
    # aliases are reported by the field's own name
    assert flag_file.overridden_fields("payments_v2", "production") == (
        "strategy",
        "rollout_percentage",
    )
    assert flag_file.overridden_fields("new_ui_design", "staging") == ()
    assert flag_file.overridden_fields("dark_mode", "development") == ()
    with pytest.raises(
        InputError, match=r"unknown environment 'prod'; did you mean 'production'\?"
    ):
        flag_file.flags("prod")
    with pytest.raises(
        InputError, match=r"flags.new_ui: no such flag \(did you mean 'new_ui_design'\?\)"
    ):
        flag_file.overridden_fields("new_ui", "production")


@pytest.mark.parametrize("name", ["flags.yaml", "flags.json"])
@pytest.mark.parametrize("text", ["", "   \n", None])
def test_an_empty_file_or_empty_flags_means_no_flags(
    tmp_path: Path, name: str, text: str | None
) -> None:
    if text is None:
        text = '{"flags": null}' if name.endswith(".json") else "flags:\n# all commented out\n"
    flag_file = load_flag_file(write(tmp_path, name, text))
    assert flag_file.flags() == {} and flag_file.profiles == {}
    assert flag_file.to_data() == {"flags": {}}


def test_strings_are_coerced_to_the_enums(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          a: {status: ENABLED, strategy: All-Users}
          b: {status: Ab-Test}
          c: {status: " deprecated ", rollout_strategy: user-list, users: [x]}
        """,
    )
    flags = load_flag_file(path).flags()
    assert (
        flags["a"].status is FlagStatus.ENABLED and flags["a"].strategy is RolloutStrategy.ALL_USERS
    )
    assert flags["b"].status is FlagStatus.AB_TEST
    assert (
        flags["c"].status is FlagStatus.DEPRECATED
        and flags["c"].strategy is RolloutStrategy.USER_LIST
    )


def test_json_values_keep_their_json_meaning(tmp_path: Path) -> None:
    # 1e1 is a number in JSON (PyYAML would read it as text); \u escapes and a BOM are fine
    path = tmp_path / "flags.json"
    path.write_bytes(
        b'\xef\xbb\xbf{"flags": {"a": {"rollout_percentage": 1e1, "strategy": "percentage",'
        b' "description": "caf\\u00e9"}}}'
    )
    flag = load_flag_file(path).flags()["a"]
    assert flag.rollout_percentage == 10.0 and flag.description == "café"


def test_time_fields_accept_dates_and_timestamps(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          a:
            start_date: 2026-01-01 10:00:00
            end_date: "2026-02-01T12:00:00+02:00"
            expires_at: 2027-03-01
        """,
    )
    flag = load_flag_file(path).flags()["a"]
    assert flag.start_date == datetime(2026, 1, 1, 10, tzinfo=UTC)  # naive: UTC
    assert flag.end_date == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert flag.expires_at == datetime(2027, 3, 1, tzinfo=UTC)


# --- bad files: one line, file:line, the flag and the field -------------------------------------

BAD_YAML = [
    # (file text, line, message start after "file:line: ", a fragment of the problem)
    ("flags:\n  a: [1,\n", None, "invalid YAML", ""),
    ("- a\n- b\n", 1, "expected a mapping with the keys 'flags' and 'profiles', got a list", ""),
    (
        "flags: {}\nflag:\n  a: {}\n",
        2,
        "flag: unknown top-level key 'flag'; did you mean 'flags'?",
        "",
    ),
    ("flags: [a, b]\n", 1, "flags: expected a mapping of flag names to flags, got a list", ""),
    (
        "flags:\n  a: {}\n  b: enabled\n",
        3,
        "flags.b: expected a mapping of fields",
        "got string 'enabled'",
    ),
    ("flags:\n  1: {}\n", 2, "flags: a flag name must be text, got integer 1", ""),
    ("flags:\n  -bad: {}\n", 2, "flags.-bad: bad flag name", ""),
    (
        "flags:\n  a:\n    status: enabled\n    statsu: enabled\n",
        4,
        "flags.a.statsu: unknown field",
        "did you mean 'status'?",
    ),
    (
        "flags:\n  a:\n    status: on_fire\n",
        3,
        "flags.a.status: unknown value 'on_fire'",
        "expected one of enabled",
    ),
    (
        "flags:\n  a:\n    strategy: percentag\n",
        3,
        "flags.a.strategy: unknown value 'percentag'",
        "did you mean 'percentage'?",
    ),
    (
        "flags:\n  a:\n    rollout_strategy: canery\n",
        3,
        "flags.a.rollout_strategy: unknown value 'canery'",
        "did you mean 'canary'?",
    ),
    (
        "flags:\n  a:\n    rollout_percentage: 150\n",
        3,
        "flags.a.rollout_percentage: must be between 0 and 100, got 150",
        "",
    ),
    (
        "flags:\n  a:\n    rollout_percentage: -1\n",
        3,
        "flags.a.rollout_percentage: must be between 0 and 100, got -1",
        "",
    ),
    (
        "flags:\n  a:\n    rollout_percentage: fifty\n",
        3,
        "flags.a.rollout_percentage: expected a number from 0 to 100",
        "fifty",
    ),
    (
        "flags:\n  a:\n    rollout_percentage: true\n",
        3,
        "flags.a.rollout_percentage: expected a number from 0 to 100",
        "boolean true",
    ),
    (
        "flags:\n  a:\n    status: ab_test\n    variants:\n      - blue\n      - blue\n",
        6,
        "flags.a.variants[1].name: variant 'blue' is declared twice",
        "",
    ),
    ("flags:\n  a:\n    tags: [ui, 3]\n", 3, "flags.a.tags[1]: expected non-empty text", ""),
    (
        "flags:\n  a:\n    status: enabled\n    strategy: canary\n    canary:\n      window: 0\n",
        6,
        "flags.a.canary.window: must be at least 1, got 0",
        "",
    ),
    (
        "flags:\n  a:\n    expires_at: someday\n",
        3,
        "flags.a.expires_at: expected an RFC 3339 time or a date",
        "someday",
    ),
    (
        "flags:\n  a: {}\nprofiles:\n  prod:\n    a: {}\n",
        4,
        "profiles.prod: unknown environment 'prod'; did you mean 'production'?",
        "",
    ),
    (
        "flags:\n  a: {}\nprofiles: [production]\n",
        3,
        "profiles: expected a mapping of environments to overrides",
        "",
    ),
    (
        "flags:\n  checkout: {}\nprofiles:\n  staging:\n    chekout:\n      status: enabled\n",
        5,
        "profiles.staging.chekout: no flag 'chekout' under 'flags' (did you mean 'checkout'?)",
        "",
    ),
    (
        "flags:\n  a: {}\nprofiles:\n  staging:\n    a: enabled\n",
        5,
        "profiles.staging.a: expected a mapping of the fields to override",
        "",
    ),
    (
        "flags:\n  a:\n    rollout_percentage: 50\nprofiles:\n  production:\n    a:\n      status: enabled\n      rollout_percentage: 150\n",
        8,
        "profiles.production.a.rollout_percentage: must be between 0 and 100, got 150",
        "",
    ),
    (
        "flags:\n  a: {}\nprofiles:\n  testing:\n    a:\n      rollout_strategy: everyone\n",
        6,
        "profiles.testing.a.rollout_strategy: unknown value 'everyone'",
        "",
    ),
    (
        "flags:\n  a: {}\nprofiles:\n  testing:\n    a:\n      colour: red\n",
        6,
        "profiles.testing.a.colour: unknown field",
        "",
    ),
    (
        "flags:\n  payments: {}\n  a:\n    prerequisites:\n      - paymets\n",
        5,
        "flags.a.prerequisites[0]: unknown flag 'paymets'",
        "did you mean 'payments'?",
    ),
    (
        "flags:\n  b: {}\n  a:\n    prerequisites:\n      - b\n      - flag: c\n",
        6,
        "flags.a.prerequisites[1].flag: unknown flag 'c'",
        "",
    ),
    (
        "flags:\n  b: {status: ab_test}\n  a:\n    prerequisites:\n      - flag: b\n        variants: [treatmnt]\n",
        6,
        "flags.a.prerequisites[0].variants: flag 'b' has no variant 'treatmnt'",
        "its variants: control, treatment",
    ),
    (
        "flags:\n  a:\n    prerequisites: [b]\n  b:\n    prerequisites: [c]\n  c:\n    prerequisites: [a]\n",
        3,
        "flags.a.prerequisites[0]: prerequisite cycle: a -> b -> c -> a",
        "",
    ),
    (
        "flags:\n  a: {}\n  b:\n    prerequisites: [a]\nprofiles:\n  staging:\n    a:\n      prerequisites: [b]\n",
        8,
        "profiles.staging.a.prerequisites[0]: prerequisite cycle: a -> b -> a",
        "",
    ),
    ("flags:\n  a: {}\n  a: {}\n", 3, "flags.a: duplicate key", ""),
]


@pytest.mark.parametrize(("text", "line", "message", "fragment"), BAD_YAML)
def test_a_bad_yaml_file_fails_with_one_located_line(
    tmp_path: Path, text: str, line: int | None, message: str, fragment: str
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(text, encoding="utf-8")
    error = error_of(path)
    if line is None:
        assert error.startswith(f"{path}:") and message in error
    else:
        assert error.startswith(f"{path}:{line}: {message}"), error
    assert fragment in error


BAD_JSON = [
    ('{"flags": {"a": {,}}}', ":1:18: invalid JSON: Expecting property name"),
    (
        '{\n  "flags": {\n    "a": {"status": "enabled"}\n    "b": {}\n  }\n}',
        ":4:5: invalid JSON: Expecting ',' delimiter",
    ),
    ('["a"]', ":1: expected a mapping with the keys 'flags' and 'profiles', got a list"),
    (
        '{"flags": {}, "profile": {}}',
        ":1: profile: unknown top-level key 'profile'; did you mean 'profiles'?",
    ),
    (
        '{\n  "flags": {\n    "a": {\n      "rollout_percentage": 150\n    }\n  }\n}',
        ":4: flags.a.rollout_percentage: must be between 0 and 100, got 150",
    ),
    (
        '{\n  "flags": {\n    "a": {\n      "rollout_percentage": "fifty"\n    }\n  }\n}',
        ":4: flags.a.rollout_percentage: expected a number from 0 to 100",
    ),
    ('{\n  "flags": {\n    "a": true\n  }\n}', ":3: flags.a: expected a mapping of fields"),
    (
        '{\n  "flags": {"a": {}},\n  "profiles": {\n    "production": {\n      "a": {"status": "sometimes"}\n    }\n  }\n}',
        ":5: profiles.production.a.status: unknown value 'sometimes'",
    ),
    ('{\n  "flags": {\n    "a": {},\n    "a": {}\n  }\n}', ":4: flags.a: duplicate key"),
    ('{"flags": {"a": {"rollout_percentage": NaN}}}', ": invalid JSON: NaN is not a JSON value"),
    # tab indentation: fine for JSON, but PyYAML cannot compose it, so there is no line
    (
        '{\n\t"flags": {\n\t\t"a": {"rollout_percentage": 150}\n\t}\n}',
        ": flags.a.rollout_percentage: must be between 0 and 100, got 150",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_JSON)
def test_a_bad_json_file_fails_with_one_located_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "flags.json"
    path.write_text(text, encoding="utf-8")
    assert error_of(path).startswith(f"{path}{expected}")


def test_an_error_only_the_profile_causes_names_the_profile(tmp_path: Path) -> None:
    # The base is valid; the production override of rollout_percentage puts the (not
    # overridden) ramp start above it.
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          ramp:
            status: rollout
            strategy: gradual
            rollout_percentage: 50
            gradual: {start: 2026-01-01, end: 2026-02-01, from_percentage: 20}
        profiles:
          production:
            ramp:
              rollout_percentage: 10
        """,
    )
    error = error_of(path)
    assert error.startswith(
        f"{path}:9: profiles.production.ramp.gradual.from_percentage: 20 is above"
    )
    assert error.endswith("(with the production profile applied)")


def test_a_profile_variant_change_breaks_a_prerequisite(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          exp: {status: ab_test}
          a:
            prerequisites: [{flag: exp, variants: [treatment]}]
        profiles:
          staging:
            exp:
              variants: [red, blue]
        """,
    )
    error = error_of(path)
    assert error.startswith(
        f"{path}:6: profiles.staging.a.prerequisites[0].variants: flag 'exp' has no variant"
    )


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert error_of(missing) == f"{missing}: flag file not found"
    missing_json = tmp_path / "missing.json"
    assert error_of(missing_json) == f"{missing_json}: flag file not found"
    for name in ("folder.yaml", "folder.json"):
        (tmp_path / name).mkdir()
        assert (
            error_of(tmp_path / name) == f"{tmp_path / name}: is a directory, expected a flag file"
        )
    for name in ("latin1.yaml", "latin1.json"):
        path = tmp_path / name
        path.write_bytes(b'{"flags":\n {"caf\xe9": {}}}\n')
        assert error_of(path) == f"{path}:2: not UTF-8 text (byte 16)"
    other = write(tmp_path, "flags.toml", "")
    assert error_of(other) == f"{other}: a flag file must end in .yaml, .yml or .json, not '.toml'"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
@pytest.mark.parametrize("name", ["flags.yaml", "flags.json"])
def test_an_unreadable_file_is_a_permission_error(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, "")
    path.chmod(0)
    try:
        message = error_of(path, PermissionDeniedError)
    finally:
        path.chmod(0o600)
    assert message == f"{path}: permission denied reading the flag file"


# --- changing and saving -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["saved.yaml", "saved.json"])
def test_save_then_load_round_trips(tmp_path: Path, name: str) -> None:
    original = load_flag_file(write(tmp_path, "flags.yaml", GOOD_YAML))
    saved = original.save(tmp_path / name)
    assert saved == tmp_path / name and original.path == tmp_path / "flags.yaml"
    again = load_flag_file(saved)
    for environment in ALL_ENVIRONMENTS:
        assert again.flags(environment) == original.flags(environment)
    assert again.to_data() == original.to_data()
    text = saved.read_text(encoding="utf-8")
    assert "# a comment" not in text  # comments are not kept
    assert text.endswith("\n")
    if name.endswith(".json"):
        assert json.loads(text) == original.to_data() and text.startswith('{\n  "flags": {')
    else:  # file order, keys as written, dates as text
        assert text.startswith(
            "flags:\n  new_ui_design:\n    description: New user interface design\n"
        )
        assert "expires_at: '2027-03-01'" in text
    assert original.save(tmp_path / name).read_text(encoding="utf-8") == text  # deterministic


def test_put_and_remove(tmp_path: Path) -> None:
    flag_file = load_flag_file(write(tmp_path, "flags.yaml", GOOD_YAML))
    changed = flag_file.flags()["new_ui_design"].changed(rollout_percentage=50, owner="ux")
    flag_file.put(changed)
    assert flag_file.flags()["new_ui_design"] == changed
    assert list(flag_file.base)[0] == "new_ui_design"  # keeps its place
    assert flag_file.flags("production")["new_ui_design"].rollout_percentage == 10.0  # profile kept
    assert flag_file.flags("production")["new_ui_design"].owner == "ux"
    new = FeatureFlag(
        "search_v3", status="enabled", expires_at=datetime(2027, 1, 1, 12, tzinfo=UTC)
    )
    flag_file.put(new)
    assert list(flag_file.base)[-1] == "search_v3"
    assert flag_file.base["search_v3"] == new.to_dict()
    assert flag_file.base["search_v3"]["expires_at"] == "2027-01-01T12:00:00Z"

    # payments_v2 needs new_ui_design and checkout_experiment
    with pytest.raises(
        InputError,
        match=r"flags.payments_v2.prerequisites\[0\]: flag 'payments_v2' needs 'new_ui_design'",
    ):
        flag_file.remove("new_ui_design")
    with pytest.raises(InputError, match=r"no such flag \(did you mean 'dark_mode'\?\)"):
        flag_file.remove("dark_mod")
    flag_file.remove("payments_v2")
    assert "payments_v2" not in flag_file.base
    assert "payments_v2" not in flag_file.profiles["production"]
    flag_file.remove("dark_mode")
    assert "staging" not in flag_file.profiles  # emptied by the removal
    flag_file.remove("new_ui_design")
    assert flag_file.profiles == {}
    saved = load_flag_file(flag_file.save())
    assert list(saved.flags()) == ["checkout_experiment", "search_v3"]
    assert saved.flags()["search_v3"] == new


def test_a_put_the_profiles_cannot_take_changes_nothing(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          a: {status: enabled, rollout_percentage: 50}
        profiles:
          staging:
            a:
              gradual: {start: 2026-01-01, end: 2026-02-01, from_percentage: 40}
        """,
    )
    flag_file = load_flag_file(path)
    before = (dict(flag_file.base), flag_file.flags("staging"))
    with pytest.raises(InputError) as caught:
        flag_file.put(FeatureFlag("a", status="enabled", rollout_percentage=30))
    assert str(caught.value).startswith(
        f"{path}:6: profiles.staging.a.gradual.from_percentage: 40 is above"
    )
    assert (flag_file.base, flag_file.flags("staging")) == before
    with pytest.raises(InputError, match=r"prerequisites\[0\]: unknown flag 'nope'"):
        flag_file.put(FeatureFlag("b", prerequisites=("nope",)))
    assert list(flag_file.base) == ["a"]


def test_new_flag_file_saves_at_its_path(tmp_path: Path) -> None:
    flag_file = new_flag_file(tmp_path / "sub" / "flags.json")
    assert flag_file == FlagFile(tmp_path / "sub" / "flags.json", {}, {})
    flag_file.put(FeatureFlag("a", status="ab_test"))
    assert flag_file.save() == tmp_path / "sub" / "flags.json"
    written = json.loads((tmp_path / "sub" / "flags.json").read_text(encoding="utf-8"))
    assert written == {"flags": {"a": FeatureFlag("a", status="ab_test").to_dict()}}
    assert load_flag_file(tmp_path / "sub" / "flags.json").flags() == flag_file.flags()
    with pytest.raises(ValueError, match="needs a path"):
        FlagFile(None).save()
    with pytest.raises(InputError, match="must end in .yaml, .yml or .json"):
        new_flag_file(tmp_path / "flags.txt")


@pytest.mark.parametrize("name", ["flags.yaml", "flags.json"])
def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = write(tmp_path, name, "")
    flag_file = load_flag_file(path)
    flag_file.put(FeatureFlag("a", status="enabled"))
    flag_file.save()
    first = path.read_text(encoding="utf-8")
    assert load_flag_file(path).flags() == flag_file.flags()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temp file left

    flag_file.put(FeatureFlag("b"))
    monkeypatch.setattr(yaml, "safe_dump", _boom)
    monkeypatch.setattr(json, "dumps", _boom)
    with pytest.raises(RuntimeError, match="boom"):
        flag_file.save()
    assert path.read_text(encoding="utf-8") == first
    monkeypatch.undo()

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError, match="cannot write the flag file: no space left on the device"):
        flag_file.save()
    assert path.read_text(encoding="utf-8") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    monkeypatch.undo()
    flag_file.save()
    assert list(load_flag_file(path).flags()) == ["a", "b"]


def _boom(*args: object, **kwargs: object) -> str:
    raise RuntimeError("boom")


def test_saving_refuses_a_file_that_would_not_load(tmp_path: Path) -> None:
    flag_file = new_flag_file(tmp_path / "flags.yaml")
    flag_file.base["a"] = {"rollout_percentage": 150}  # changed behind put()'s back
    with pytest.raises(InputError, match=r"flags.a.rollout_percentage: must be between 0 and 100"):
        flag_file.save()
    assert not (tmp_path / "flags.yaml").exists()


def test_a_payload_json_cannot_hold_is_an_error_when_saving_json(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "flags.yaml",
        """
        flags:
          a:
            variants: [{name: x, payload: {launch: 2027-01-01}}]
        """,
    )
    flag_file = load_flag_file(path)
    assert flag_file.flags()["a"].variants[0].payload == {"launch": datetime(2027, 1, 1).date()}
    again = load_flag_file(flag_file.save(tmp_path / "copy.yaml"))  # YAML keeps the date
    assert again.flags() == flag_file.flags()
    with pytest.raises(InputError, match=r"copy.json: cannot save the flag file as JSON: .*date"):
        flag_file.save(tmp_path / "copy.json")
    assert not (tmp_path / "copy.json").exists()


# --- round trip property ------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9_.:-]{0,6}", fullmatch=True)
WORDS = st.lists(st.text(min_size=1, max_size=6), max_size=3)
MOMENTS = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
)
PAYLOADS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
PERCENT = st.floats(0, 100, allow_nan=False) | st.integers(0, 100)


@st.composite
def valid_flags(draw: st.DrawFn, name: str, earlier: list[str]) -> FeatureFlag:
    status = draw(st.sampled_from(FlagStatus))
    strategy = draw(st.sampled_from(RolloutStrategy))
    percentage = draw(PERCENT)
    fields: dict = {
        "description": draw(st.text(max_size=12)),
        "status": status,
        "strategy": strategy,
        "rollout_percentage": percentage,
        "users": tuple(draw(WORDS)),
        "tags": tuple(draw(WORDS)),
        "owner": draw(st.none() | st.text(max_size=8)),
        "expires_at": draw(st.none() | MOMENTS),
        "bucket_group": draw(st.none() | NAMES),
    }
    if draw(st.booleans()):
        start = draw(MOMENTS)
        fields["start_date"] = start
        fields["end_date"] = start + draw(
            st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400))
        )
    if draw(st.booleans()):
        names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
        weights = st.integers(1, 100) | st.floats(0.5, 100, allow_nan=False)
        fields["variants"] = tuple(Variant(n, draw(weights), draw(PAYLOADS)) for n in names)
    if strategy is RolloutStrategy.GRADUAL:
        start = draw(MOMENTS)
        fields["gradual"] = GradualRamp(
            start,
            start + timedelta(days=draw(st.integers(1, 90))),
            draw(st.floats(0, float(percentage))),
        )
    if strategy is RolloutStrategy.CANARY and draw(st.booleans()):
        window = draw(st.integers(1, 500))
        fields["canary"] = CanaryGuard(
            draw(st.floats(0, 1)),
            window,
            draw(st.integers(1, window)),
            draw(st.none() | st.floats(0, 1e6)),
        )
    if earlier:
        fields["prerequisites"] = tuple(
            Prerequisite(n)
            for n in draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
        )
    try:
        return FeatureFlag(name, **fields)
    except FlagFieldError:
        assume(False)
        raise


OVERRIDES = st.fixed_dictionaries(
    {},
    optional={
        "rollout_percentage": PERCENT,
        "status": st.sampled_from([s.value.upper() for s in FlagStatus]),
        "description": st.text(max_size=8),
        "tags": WORDS,
    },
)


@st.composite
def flag_files(draw: st.DrawFn) -> tuple[list[FeatureFlag], dict]:
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    flags = [draw(valid_flags(name, names[:index])) for index, name in enumerate(names)]
    profiles = {}
    for environment in draw(st.lists(st.sampled_from(ENVIRONMENTS), max_size=2, unique=True)):
        chosen = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        profiles[environment] = {name: draw(OVERRIDES) for name in chosen}
    return flags, profiles


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(flag_files())
def test_any_valid_flag_file_round_trips_through_yaml_and_json(
    case: tuple[list[FeatureFlag], dict],
) -> None:
    flags, profiles = case
    with tempfile.TemporaryDirectory() as folder:
        original = new_flag_file(Path(folder) / "flags.yaml")
        for flag in flags:
            original.put(flag)
        assert original.flags() == {flag.name: flag for flag in flags}  # to_dict round-trips
        original.profiles = profiles
        try:
            expected = {
                environment: original.flags(environment) for environment in ALL_ENVIRONMENTS
            }
        except InputError:  # an override that does not fit its flag (say, below a ramp's start)
            assume(False)
        for name in ("flags.yaml", "flags.json"):
            again = load_flag_file(original.save(Path(folder) / name))
            for environment in ALL_ENVIRONMENTS:
                assert again.flags(environment) == expected[environment]
