"""EnterpriseConfig: discovery, profiles, ENTERPRISE_* overrides, and one-line errors."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_enterprise import config as config_module
from pytest_enterprise.config import (
    CONFIG_FILENAME,
    EnterpriseConfig,
    TelemetryConfig,
    find_config_file,
    looks_secret,
    mask_secrets,
    reserved_settings,
)
from pytest_enterprise.errors import (
    EXIT_PERMISSION,
    EXIT_USAGE,
    ConfigError,
    PermissionDeniedError,
)

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"


@pytest.fixture
def write(tmp_path):
    """Write a config file (dedented) and return its path."""

    def write(text: str, name: str = CONFIG_FILENAME) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def load_text(write, text: str, env: dict[str, str] | None = None) -> EnterpriseConfig:
    return EnterpriseConfig.from_file(write(text), env=env or {})


def error_of(write, text: str, env: dict[str, str] | None = None) -> str:
    path = write(text)
    with pytest.raises(ConfigError) as caught:
        EnterpriseConfig.from_file(path, env=env or {})
    return str(caught.value).replace(str(path), "FILE")


# --- defaults and discovery ------------------------------------------------------------------


def test_no_file_means_all_defaults(tmp_path):
    loaded = EnterpriseConfig.load(rootdir=tmp_path, env={})

    assert loaded.source is None
    assert loaded.environment == "development"
    assert loaded.to_dict() == EnterpriseConfig().to_dict()
    telemetry = loaded.telemetry
    assert telemetry.enabled is False
    assert telemetry.dpmo_threshold is None and telemetry.rty_threshold is None
    assert telemetry.output_dir == "enterprise-reports"
    assert telemetry.history_path == ".enterprise/history.db"
    assert telemetry.retention_days == 30
    assert telemetry.opportunities_per_unit == 1
    assert telemetry.stages is None
    assert telemetry.quality_thresholds == {"Excellent": 5.0, "Good": 4.0, "Fair": 3.0}
    assert loaded.security.sbom_format == "cyclonedx-json" and loaded.security.slsa_level == 1
    assert loaded.compliance.frameworks == []
    assert loaded.logging.level == "INFO"


def test_defaults_are_not_shared_between_instances():
    first, second = EnterpriseConfig(), EnterpriseConfig()
    first.telemetry.quality_thresholds["Excellent"] = 6.0
    first.compliance.frameworks.append("gdpr")

    assert second.telemetry.quality_thresholds["Excellent"] == 5.0
    assert second.compliance.frameworks == []


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "telemetry:\n"])
def test_an_empty_file_or_section_means_defaults(write, text):
    path = write(text)
    loaded = EnterpriseConfig.from_file(path, env={})

    assert loaded.source == path
    assert loaded.to_dict() == EnterpriseConfig().to_dict()


def test_precedence_is_explicit_then_env_var_then_rootdir(tmp_path, write):
    write("telemetry: {process_name: rootdir}\n")
    named = write("telemetry: {process_name: env}\n", "elsewhere/from-env.yaml")
    explicit = write("telemetry: {process_name: explicit}\n", "explicit.yaml")
    env = {"ENTERPRISE_CONFIG": str(named)}

    def process(**kwargs):
        return EnterpriseConfig.load(rootdir=tmp_path, **kwargs).telemetry.process_name

    assert process(explicit=explicit, env=env) == "explicit"
    assert process(env=env) == "env"
    assert process(env={}) == "rootdir"
    assert EnterpriseConfig.load(rootdir=tmp_path, env={}).source == tmp_path / CONFIG_FILENAME


def test_find_config_file_defaults_to_the_current_directory(tmp_path, monkeypatch, write):
    monkeypatch.chdir(tmp_path)
    assert find_config_file(None, env={}) is None

    write("{}\n")

    assert find_config_file(None, env={}) == Path.cwd() / CONFIG_FILENAME
    assert find_config_file(None, env={"ENTERPRISE_CONFIG": ""}) == Path.cwd() / CONFIG_FILENAME


def test_a_named_file_that_is_missing_is_an_error(tmp_path):
    missing = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as explicit:
        EnterpriseConfig.load(missing, rootdir=tmp_path, env={})
    with pytest.raises(ConfigError) as from_env:
        EnterpriseConfig.load(rootdir=tmp_path, env={"ENTERPRISE_CONFIG": str(missing)})
    with pytest.raises(ConfigError) as directory:
        EnterpriseConfig.load(tmp_path, env={})

    assert str(explicit.value) == f"{missing}: config file not found"
    assert explicit.value.exit_code == EXIT_USAGE
    assert str(from_env.value) == f"ENTERPRISE_CONFIG: {missing}: config file not found"
    assert str(directory.value) == f"{tmp_path}: is a directory"


def test_from_environment_variables_reads_the_current_directory(tmp_path, monkeypatch, write):
    write("telemetry: {enabled: true}\n")
    other = write("telemetry: {process_name: other}\n", "other.yaml")
    monkeypatch.chdir(tmp_path)

    assert EnterpriseConfig.from_environment_variables({}).telemetry.enabled is True
    named = EnterpriseConfig.from_environment_variables({"ENTERPRISE_CONFIG": str(other)})
    assert named.telemetry.process_name == "other" and named.telemetry.enabled is False


def test_env_none_means_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("ENTERPRISE_TELEMETRY_RETENTION_DAYS", "9")

    assert EnterpriseConfig.load(rootdir=tmp_path).telemetry.retention_days == 9


# --- the user's guide ------------------------------------------------------------------------

GUIDE_QUICK_START = """\
environment: production
telemetry:
  enabled: true
  dpmo_threshold: 6210.0
  auto_generate_reports: true
security:
  enabled: true
  sbom_format: "cyclonedx-json"
  slsa_level: 3
  vulnerability_scanning: true
compliance:
  enabled: true
  frameworks: ["soc2-type2", "iso27001", "nist-csf"]
  auto_compliance_checks: true
feature_flags:
  enabled: true
  monitoring_enabled: true
"""

GUIDE_DEVELOPMENT = """\
environment: development
telemetry:
  store_detailed_metrics: true
  report_interval_hours: 1
security:
  vulnerability_scanning: true
  auto_security_reports: true
logging:
  level: DEBUG
  structured_logging: false
"""

GUIDE_PRODUCTION = """\
environment: production
telemetry:
  store_detailed_metrics: false  # Performance optimization
  report_interval_hours: 24
security:
  slsa_level: 3
  security_level: "critical"
compliance:
  frameworks: ["soc2-type2", "iso27001", "nist-csf", "gdpr"]
  audit_trail_enabled: true
logging:
  level: WARNING
  structured_logging: true
  file_logging: true
"""

GUIDE_MINIMAL = """\
telemetry: { enabled: true }
security: { enabled: false }
compliance: { enabled: false }
"""


def test_the_guides_quick_start_loads(write):
    loaded = load_text(write, GUIDE_QUICK_START)

    assert loaded.environment == "production"
    assert loaded.telemetry.enabled is True and loaded.telemetry.dpmo_threshold == 6210.0
    assert loaded.security.slsa_level == 3 and loaded.security.vulnerability_scanning is True
    assert loaded.compliance.frameworks == ["soc2-type2", "iso27001", "nist-csf"]
    assert loaded.feature_flags.enabled is True and loaded.feature_flags.monitoring_enabled is True
    assert loaded.logging.level == "WARNING"  # the built-in production profile


def test_the_guides_development_example_loads(write):
    loaded = load_text(write, GUIDE_DEVELOPMENT)

    assert loaded.environment == "development"
    assert loaded.telemetry.report_interval_hours == 1.0
    assert loaded.security.auto_security_reports is True
    assert loaded.logging.level == "DEBUG"


def test_the_guides_production_example_loads(write):
    loaded = load_text(write, GUIDE_PRODUCTION)

    assert loaded.telemetry.store_detailed_metrics is False
    assert loaded.telemetry.report_interval_hours == 24.0
    assert loaded.security.security_level == "critical"
    assert loaded.compliance.frameworks == ["soc2-type2", "iso27001", "nist-csf", "gdpr"]
    assert loaded.logging.level == "WARNING" and loaded.logging.file_logging is True


def test_the_guides_minimal_example_loads(write):
    loaded = load_text(write, GUIDE_MINIMAL)

    assert loaded.telemetry.enabled is True and loaded.security.enabled is False


# --- environments and profiles ---------------------------------------------------------------

PROFILED = """\
environment: staging
telemetry:
  enabled: true
  retention_days: 60
  quality_thresholds: {Excellent: 5.5}
profiles:
  staging:
    telemetry: {retention_days: 14}
  production:
    telemetry:
      retention_days: 90
      quality_thresholds: {Fair: 2.5}
    logging: {level: ERROR}
  testing:
"""


def test_the_active_profile_is_deep_merged_over_the_base(write):
    loaded = load_text(write, PROFILED)

    assert loaded.environment == "staging"
    assert loaded.telemetry.retention_days == 14
    assert loaded.telemetry.enabled is True  # a sibling the profile did not touch
    assert loaded.telemetry.quality_thresholds == {"Excellent": 5.5, "Good": 4.0, "Fair": 3.0}
    assert loaded.logging.level == "INFO"


def test_enterprise_env_chooses_the_environment(write):
    production = load_text(write, PROFILED, {"ENTERPRISE_ENV": "production"})
    testing = load_text(write, PROFILED, {"ENTERPRISE_ENV": "testing"})

    assert production.environment == "production"
    assert production.telemetry.retention_days == 90
    assert production.telemetry.quality_thresholds == {"Excellent": 5.5, "Good": 4.0, "Fair": 2.5}
    assert production.logging.level == "ERROR"  # the file's profile beats the built-in one
    assert testing.environment == "testing" and testing.telemetry.retention_days == 60


def test_the_environment_defaults_to_development(write):
    assert load_text(write, "telemetry: {enabled: true}\n").environment == "development"


def test_the_builtin_production_profile_sits_under_the_files_values(write):
    def level(text, env=None):
        return load_text(write, text, env).logging.level

    production = {"ENTERPRISE_ENV": "production"}
    assert level("environment: production\n") == "WARNING"
    assert level("environment: production\nlogging: {level: INFO}\n") == "INFO"
    assert level("logging: {level: INFO}\n", production) == "INFO"
    assert level("{}\n", production) == "WARNING"
    for environment in ("development", "testing", "staging"):  # no other built-ins
        assert level(f"environment: {environment}\n") == "INFO"


def test_env_vars_beat_the_active_profile(write):
    loaded = load_text(
        write,
        PROFILED,
        {"ENTERPRISE_ENV": "production", "ENTERPRISE_TELEMETRY_RETENTION_DAYS": "5",
         "ENTERPRISE_LOGGING_LEVEL": "critical"},
    )

    assert loaded.telemetry.retention_days == 5
    assert loaded.logging.level == "CRITICAL"


# --- ENTERPRISE_* overrides ------------------------------------------------------------------


def from_env(**env: str) -> EnterpriseConfig:
    return EnterpriseConfig.from_mapping({}, env=env)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("0", False), ("true", True), ("FALSE", False), ("Yes", True), ("no", False),
     ("ON", True), ("off", False), (" true ", True)],
)
def test_boolean_variables(text, expected):
    assert from_env(ENTERPRISE_TELEMETRY_ENABLED=text).telemetry.enabled is expected


def test_number_variables_are_parsed_to_the_fields_type():
    loaded = from_env(
        ENTERPRISE_TELEMETRY_DPMO_THRESHOLD="5000",
        ENTERPRISE_TELEMETRY_RTY_THRESHOLD="97.5",
        ENTERPRISE_TELEMETRY_RETENTION_DAYS="7",
        ENTERPRISE_SECURITY_SLSA_LEVEL="2",
    )

    assert loaded.telemetry.dpmo_threshold == 5000.0
    assert isinstance(loaded.telemetry.dpmo_threshold, float)
    assert loaded.telemetry.rty_threshold == 97.5
    assert loaded.telemetry.retention_days == 7 and isinstance(loaded.telemetry.retention_days, int)
    assert loaded.security.slsa_level == 2


def test_string_variables():
    loaded = from_env(
        ENTERPRISE_TELEMETRY_PROCESS_NAME="nightly",
        ENTERPRISE_SECURITY_SBOM_FORMAT="SPDX-JSON",
        ENTERPRISE_SECURITY_VULNERABILITY_DB="/data/osv.zip",
    )

    assert loaded.telemetry.process_name == "nightly"
    assert loaded.security.sbom_format == "spdx-json"
    assert loaded.security.vulnerability_db == "/data/osv.zip"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("soc2,gdpr", ["soc2", "gdpr"]), (" soc2 , gdpr, ", ["soc2", "gdpr"]),
     ("[iso27001, 'nist-csf']", ["iso27001", "nist-csf"]), ("", []), ("[]", [])],
)
def test_list_variables_take_commas_or_a_yaml_flow_list(text, expected):
    assert from_env(ENTERPRISE_COMPLIANCE_FRAMEWORKS=text).compliance.frameworks == expected


def test_an_empty_variable_clears_an_optional_setting(write):
    loaded = load_text(
        write,
        "telemetry: {dpmo_threshold: 10, stages: [unit, e2e]}\n",
        {"ENTERPRISE_TELEMETRY_DPMO_THRESHOLD": "", "ENTERPRISE_TELEMETRY_STAGES": ""},
    )

    assert loaded.telemetry.dpmo_threshold is None and loaded.telemetry.stages is None


def test_stages_and_thresholds_from_variables():
    loaded = from_env(
        ENTERPRISE_TELEMETRY_STAGES="unit,integration,e2e",
        ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS="{Excellent: 5.5, Good: 4.5}",
    )

    assert loaded.telemetry.stages == ["unit", "integration", "e2e"]
    assert loaded.telemetry.quality_thresholds == {"Excellent": 5.5, "Good": 4.5, "Fair": 3.0}


def test_section_names_with_underscores():
    loaded = from_env(
        ENTERPRISE_FEATURE_FLAGS_ENABLED="1", ENTERPRISE_FEATURE_FLAGS_CONFIG_FILE="f.yaml"
    )

    assert loaded.feature_flags.enabled is True and loaded.feature_flags.config_file == "f.yaml"


def test_every_setting_has_exactly_one_variable():
    names = [spec.env_var for section in config_module.SCHEMA.values() for spec in section.values()]

    assert len(names) == len(set(names)) == len(config_module._ENV_VARS)
    assert not {"ENTERPRISE_CONFIG", "ENTERPRISE_ENV"} & set(names)


def test_variables_that_are_not_ours_are_ignored():
    loaded = from_env(HOME="/root", GITHUB_ENTERPRISE_URL="x", enterprise_telemetry_enabled="1")

    assert loaded.telemetry.enabled is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ENTERPRISE_TELEMETRY_DPMO_TRESHOLD": "5"},
         "ENTERPRISE_TELEMETRY_DPMO_TRESHOLD: unknown setting; "
         "did you mean 'ENTERPRISE_TELEMETRY_DPMO_THRESHOLD'?"),
        ({"ENTERPRISE_ENVIRONMENT": "production"},
         "ENTERPRISE_ENVIRONMENT: unknown setting; did you mean 'ENTERPRISE_ENV'?"),
        ({"ENTERPRISE_FEATURE_FLAG_ENABLED": "1"},
         "ENTERPRISE_FEATURE_FLAG_ENABLED: unknown setting; "
         "did you mean 'ENTERPRISE_FEATURE_FLAGS_ENABLED'?"),
        ({"ENTERPRISE_TELEMETRY_DPMO_THRESHOLD": "abc"},
         "ENTERPRISE_TELEMETRY_DPMO_THRESHOLD: telemetry.dpmo_threshold: "
         "expected a number, got 'abc'"),
        ({"ENTERPRISE_TELEMETRY_DPMO_THRESHOLD": "nan"},
         "ENTERPRISE_TELEMETRY_DPMO_THRESHOLD: telemetry.dpmo_threshold: "
         "expected a finite number, got number nan"),
        ({"ENTERPRISE_TELEMETRY_ENABLED": "maybe"},
         "ENTERPRISE_TELEMETRY_ENABLED: telemetry.enabled: "
         "expected 1/0, true/false, yes/no or on/off, got 'maybe'"),
        ({"ENTERPRISE_TELEMETRY_RETENTION_DAYS": "1.5"},
         "ENTERPRISE_TELEMETRY_RETENTION_DAYS: telemetry.retention_days: "
         "expected an integer, got '1.5'"),
        ({"ENTERPRISE_TELEMETRY_RETENTION_DAYS": "0"},
         "ENTERPRISE_TELEMETRY_RETENTION_DAYS: telemetry.retention_days: "
         "must be between 1 and 100000, got 0"),
        ({"ENTERPRISE_TELEMETRY_RTY_THRESHOLD": "150"},
         "ENTERPRISE_TELEMETRY_RTY_THRESHOLD: telemetry.rty_threshold: "
         "must be between 0 and 100, got 150.0"),
        ({"ENTERPRISE_COMPLIANCE_FRAMEWORKS": "soc2,soc3"},
         "ENTERPRISE_COMPLIANCE_FRAMEWORKS: compliance.frameworks[1]: "
         "unknown value 'soc3'; did you mean 'soc2'?"),
        ({"ENTERPRISE_COMPLIANCE_FRAMEWORKS": "[soc2,"},
         "ENTERPRISE_COMPLIANCE_FRAMEWORKS: invalid YAML: while parsing a flow node, "
         "expected the node content, but found '<stream end>'"),
        ({"ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS": "[5, 4, 3]"},
         "ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS: telemetry.quality_thresholds: "
         "expected a mapping, got a list"),
        ({"ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS": "{Good: 5.5}"},
         "ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS: telemetry.quality_thresholds: levels must be "
         "strictly decreasing (Excellent > Good > Fair), got Excellent 5, Good 5.5, Fair 3"),
        ({"ENTERPRISE_TELEMETRY_PROCESS_NAME": " "},
         "ENTERPRISE_TELEMETRY_PROCESS_NAME: telemetry.process_name: must not be empty"),
        ({"ENTERPRISE_ENV": "prod"},
         "ENTERPRISE_ENV: unknown value 'prod'; "
         "expected one of development, testing, staging, production"),
    ],
)
def test_variable_errors_name_the_variable(env, message):
    with pytest.raises(ConfigError) as caught:
        EnterpriseConfig.from_mapping({}, env=env)

    assert str(caught.value) == message


# --- errors in files -------------------------------------------------------------------------

FILE_ERRORS = [
    ("telemetry:\n  enabled: true\n  dpmo_treshold: 5\n",
     "FILE:3: telemetry.dpmo_treshold: unknown key; did you mean 'dpmo_threshold'?"),
    ("telemtry:\n  enabled: true\n",
     "FILE:1: telemtry: unknown key; did you mean 'telemetry'?"),
    ("enviroment: production\n",
     "FILE:1: enviroment: unknown key; did you mean 'environment'?"),
    ("security:\n  colour: blue\n",
     "FILE:2: security.colour: unknown key; expected one of enabled, "
     "security_level, sbom_format, cyclonedx_version, slsa_level, signing_key, builder_id, "
     "vulnerability_scanning, vulnerability_db, ignore_file, fail_on, auto_security_reports"),
    ("telemetry:\n  dpmo_threshold: abc\n",
     "FILE:2: telemetry.dpmo_threshold: expected a number, got string 'abc'"),
    ("telemetry:\n  dpmo_threshold: true\n",
     "FILE:2: telemetry.dpmo_threshold: expected a number, got boolean true"),
    ("telemetry:\n  enabled: 'yes'\n",
     "FILE:2: telemetry.enabled: expected true or false, got string 'yes'"),
    ("telemetry:\n  retention_days: 7.5\n",
     "FILE:2: telemetry.retention_days: expected an integer, got number 7.5"),
    ("telemetry:\n  output_dir: 5\n",
     "FILE:2: telemetry.output_dir: expected a string, got integer 5"),
    ("telemetry:\n  process_name:\n",
     "FILE:2: telemetry.process_name: expected a string, got null"),
    ("telemetry:\n  process_name: ''\n",
     "FILE:2: telemetry.process_name: must not be empty"),
    ("telemetry:\n  dpmo_threshold: -1\n",
     "FILE:2: telemetry.dpmo_threshold: must be between 0 and 1000000, got -1"),
    ("telemetry:\n  dpmo_threshold: .inf\n",
     "FILE:2: telemetry.dpmo_threshold: expected a finite number, got number inf"),
    ("telemetry:\n  rty_threshold: 100.5\n",
     "FILE:2: telemetry.rty_threshold: must be between 0 and 100, got 100.5"),
    ("telemetry:\n  retention_days: 0\n",
     "FILE:2: telemetry.retention_days: must be between 1 and 100000, got 0"),
    ("telemetry:\n  opportunities_per_unit: 0\n",
     "FILE:2: telemetry.opportunities_per_unit: must be between 1 and 1000000000, got 0"),
    ("security:\n  slsa_level: 5\n",
     "FILE:2: security.slsa_level: must be between 1 and 4, got 5"),
    ("environment: prodution\n",
     "FILE:1: environment: unknown value 'prodution'; did you mean 'production'?"),
    ("environment: prod\n",
     "FILE:1: environment: unknown value 'prod'; "
     "expected one of development, testing, staging, production"),
    ("logging:\n  level: VERBOSE\n",
     "FILE:2: logging.level: unknown value 'VERBOSE'; "
     "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("logging:\n  level: warn\n",
     "FILE:2: logging.level: unknown value 'warn'; did you mean 'WARNING'?"),
    ("security:\n  sbom_format: cyclonedx\n",
     "FILE:2: security.sbom_format: unknown value 'cyclonedx'; did you mean 'cyclonedx-json'?"),
    ("security:\n  security_level: paranoid\n",
     "FILE:2: security.security_level: unknown value 'paranoid'; "
     "expected one of basic, standard, enhanced, critical"),
    ("compliance:\n  frameworks:\n    - soc2\n    - soc3\n",
     "FILE:4: compliance.frameworks[1]: unknown value 'soc3'; did you mean 'soc2'?"),
    ("compliance:\n  frameworks: soc2\n",
     "FILE:2: compliance.frameworks: expected a list of strings, got string 'soc2'"),
    ("compliance:\n  fail_under: 101\n",
     "FILE:2: compliance.fail_under: must be between 0 and 100, got 101"),
    ("telemetry:\n  stages: [unit, unit]\n",
     "FILE:2: telemetry.stages[1]: 'unit' is listed twice"),
    ("telemetry:\n  stages:\n    - unit\n    - 'end to end'\n",
     "FILE:4: telemetry.stages[1]: 'end to end' is not a valid marker name"),
    ("telemetry:\n  stages: []\n",
     "FILE:2: telemetry.stages: list at least one stage, or leave it null for setup/call/teardown"),
    ("telemetry:\n  quality_thresholds:\n    Excellent: 5\n    Great: 4.5\n",
     "FILE:4: telemetry.quality_thresholds.Great: unknown key; "
     "expected one of Excellent, Good, Fair"),
    ("telemetry:\n  quality_thresholds: {Good: 5.5}\n",
     "FILE:2: telemetry.quality_thresholds: levels must be strictly decreasing "
     "(Excellent > Good > Fair), got Excellent 5, Good 5.5, Fair 3"),
    ("telemetry:\n  quality_thresholds: {Good: 5}\n",
     "FILE:2: telemetry.quality_thresholds: levels must be strictly decreasing "
     "(Excellent > Good > Fair), got Excellent 5, Good 5, Fair 3"),
    ("telemetry:\n  quality_thresholds: {Good: high}\n",
     "FILE:2: telemetry.quality_thresholds.Good: expected a number, got string 'high'"),
    ("telemetry: [enabled]\n",
     "FILE:1: telemetry: expected a mapping, got a list"),
    ("- telemetry\n",
     "FILE:1: expected a mapping of sections at the top level, got a list"),
    ("just a string\n",
     "FILE:1: expected a mapping of sections at the top level, got string 'just a string'"),
    ("1: 2\n",
     "FILE:1: keys must be strings, got integer 1"),
    ("profiles:\n  prodution:\n    logging: {level: DEBUG}\n",
     "FILE:2: profiles.prodution: unknown key; did you mean 'production'?"),
    ("profiles:\n  production:\n    environment: staging\n",
     "FILE:3: profiles.production.environment: unknown key; "
     "expected one of telemetry, security, compliance, feature_flags, logging, history"),
    ("profiles:\n  staging:\n    telemetry:\n      dpmo_threshold: x\n",
     "FILE:4: profiles.staging.telemetry.dpmo_threshold: expected a number, got string 'x'"),
    ("profiles: [production]\n",
     "FILE:1: profiles: expected a mapping, got a list"),
    ("telemetry:\n  enabled: true\n  enabled: false\n",
     "FILE:3: telemetry.enabled: duplicate key"),
    # YAML syntax and construction errors, with the line from the YAML mark
    ("telemetry:\n  enabled: true\n bad: x\n",
     "FILE:3: invalid YAML: while parsing a block mapping, expected <block end>, "
     "but found '<block mapping start>'"),
    ("telemetry: {enabled: true\n",
     "FILE:2: invalid YAML: while parsing a flow mapping, expected ',' or '}', "
     "but got '<stream end>'"),
    ("a: b: c\n",
     "FILE:1: invalid YAML: mapping values are not allowed here"),
    ("telemetry:\n  enabled: !!python/object:os.system x\n",
     "FILE:2: invalid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object:os.system'"),
    ("telemetry:\n  dpmo_threshold: 2023-02-30\n",
     "FILE:2: telemetry.dpmo_threshold: invalid YAML: cannot read '2023-02-30' as timestamp "
     "(day is out of range for month)"),
    ("telemetry: &t\n  enabled: *t\n",
     "FILE:2: telemetry.enabled: invalid YAML: recursive alias"),
    ("---\ntelemetry: {}\n---\nsecurity: {}\n",
     "FILE:3: invalid YAML: expected a single document in the stream, but found another document"),
    ("telemetry:\n  stages: " + "[" * 5000 + "\n",
     "FILE:2: invalid YAML: nested more than 64 levels deep"),
    ("telemetry:\n  process_name: a\x07b\n",
     "FILE:2: invalid YAML: unacceptable character #x0007: special characters are not allowed"),
]


@pytest.mark.parametrize(("text", "message"), FILE_ERRORS)
def test_file_errors_are_one_line_naming_file_line_and_key(write, text, message):
    assert error_of(write, text) == message


def test_errors_are_config_errors_with_the_usage_exit_code(write):
    with pytest.raises(ConfigError) as caught:
        load_text(write, "telemetry: {retention_days: 0}\n")

    assert caught.value.exit_code == EXIT_USAGE == 2


def test_mapping_errors_name_the_source(write):
    with pytest.raises(ConfigError) as caught:
        EnterpriseConfig.from_mapping(
            {"telemetry": {"dpmo_threshold": "abc"}}, env={}, source_name="cli"
        )

    assert str(caught.value) == "cli: telemetry.dpmo_threshold: expected a number, got string 'abc'"


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / CONFIG_FILENAME
    path.write_bytes(b"telemetry:\n  process_name: caf\xe9\n")

    with pytest.raises(ConfigError) as caught:
        EnterpriseConfig.from_file(path, env={})

    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 30)"


def test_an_unreadable_file_is_a_permission_error(write, monkeypatch):
    path = write("{}\n")

    def denied(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(PermissionDeniedError) as caught:
        EnterpriseConfig.from_file(path, env={})

    assert str(caught.value) == f"{path}: permission denied reading the config file"
    assert caught.value.exit_code == EXIT_PERMISSION


def test_errors_in_long_values_stay_short(write):
    message = error_of(write, f"telemetry:\n  dpmo_threshold: {'x' * 500}\n")

    assert len(message) < 120 and "\n" not in message


def test_yaml_merge_keys_and_aliases_follow_safe_loader(write):
    loaded = load_text(
        write,
        """\
        telemetry: &base
          enabled: true
          stages: &stages [unit, e2e]
        profiles:
          production:
            telemetry:
              <<: *base
              enabled: false
              stages: *stages
        """,
        {"ENTERPRISE_ENV": "production"},
    )

    assert loaded.telemetry.enabled is False
    assert loaded.telemetry.stages == ["unit", "e2e"]


def test_aliases_cannot_blow_up(write):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "telemetry:\n  stages:\n" + "".join(f"    - {line}\n" for line in lines)

    # 10**9 leaves if expanded; built once per node, so this is quick and a plain type error.
    assert error_of(write, text).startswith("FILE:3: telemetry.stages[0]: expected a string")


# --- PyYAML is lazy --------------------------------------------------------------------------


def test_importing_the_module_or_loading_without_a_file_does_not_import_yaml(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        import pytest_enterprise.config as config
        assert "yaml" not in sys.modules, "imported by the module"
        loaded = config.EnterpriseConfig.load(
            rootdir={str(tmp_path)!r}, env={{"ENTERPRISE_TELEMETRY_STAGES": "unit,e2e"}}
        )
        assert loaded.telemetry.stages == ["unit", "e2e"]
        assert "yaml" not in sys.modules, "imported by load() without a file"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


# --- secrets, repr, to_dict, logging ---------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "secret"),
    [("api_key", True), ("API_TOKEN", True), ("client_secret", True), ("db_password", True),
     ("keystore", True), ("enabled", False), ("dpmo_threshold", False), ("vulnerability_db", False), ("signing_key", True)],
)
def test_secret_looking_keys(key, secret):
    assert looks_secret(key) is secret


def test_mask_secrets_masks_nested_values_but_not_nulls():
    data = {"token": "abc", "nested": {"password": 123, "user": "me"}, "items": [{"api_key": "k"}],
            "secret": None}

    assert mask_secrets(data) == {"token": "***", "nested": {"password": "***", "user": "me"},
                                  "items": [{"api_key": "***"}], "secret": None}
    assert data["token"] == "abc"  # a copy


def test_repr_and_to_dict_mask_secret_looking_settings(monkeypatch):
    markers = (*config_module.SECRET_MARKERS, "_db")
    monkeypatch.setattr(config_module, "SECRET_MARKERS", markers)
    loaded = from_env(ENTERPRISE_SECURITY_VULNERABILITY_DB="/vault/s3cr3t-osv.zip")

    assert "s3cr3t" not in repr(loaded)
    assert "vulnerability_db='***'" in repr(loaded.security)
    assert loaded.to_dict()["security"]["vulnerability_db"] == "***"
    assert loaded.to_dict(mask_secrets=False)["security"]["vulnerability_db"] == "/vault/s3cr3t-osv.zip"
    assert loaded.security.vulnerability_db == "/vault/s3cr3t-osv.zip"


def test_repr_shows_ordinary_settings():
    assert "dpmo_threshold=6210.0" in repr(TelemetryConfig(dpmo_threshold=6210.0))


def test_to_dict_round_trips_and_is_a_copy(write):
    loaded = load_text(write, GUIDE_PRODUCTION)
    data = loaded.to_dict(mask_secrets=False)
    data["compliance"]["frameworks"].clear()

    assert loaded.compliance.frameworks  # untouched
    again = EnterpriseConfig.from_mapping(loaded.to_dict(mask_secrets=False), env={})
    assert again.to_dict() == loaded.to_dict()
    assert list(loaded.to_dict()) == ["environment", "telemetry", "security", "compliance",
                                     "feature_flags", "logging", "history"]


def test_logging_apply_sets_the_package_logger_level(write):
    logger = logging.getLogger("pytest_enterprise")
    before = logger.level
    try:
        load_text(write, "logging: {level: error}\n").logging.apply()
        assert logger.level == logging.ERROR
    finally:
        logger.setLevel(before)


# --- docs/config.md --------------------------------------------------------------------------


def test_docs_describe_every_key_and_mark_the_reserved_ones():
    docs = DOCS.read_text(encoding="utf-8")
    reserved = reserved_settings()
    for section, specs in config_module.SCHEMA.items():
        table = docs.split(f"### `{section}`", 1)[1].split("\n### ", 1)[0]
        rows = {match[1]: match[0] for match in re.finditer(r"^\| `(\w+)` \|.*$", table, re.M)}
        assert set(rows) == set(specs), section
        for key, row in rows.items():
            assert ("**reserved**" in row) == (f"{section}.{key}" in reserved), row


# --- robustness ------------------------------------------------------------------------------

SCHEMA_WORDS = sorted(
    {*config_module.SCHEMA, *(key for spec in config_module.SCHEMA.values() for key in spec),
     "environment", "profiles", "production", "staging", "Excellent", "Good", "Fair",
     "dpmo_treshold", "telemtry", "<<"}
)
YAML_FRAGMENTS = [
    *(f"{word}:" for word in SCHEMA_WORDS), "\n", "\n  ", "\n    ", " ", "- ", "[", "]", "{", "}",
    ", ", "? ", "&a ", "*a", "!!int ", "!!bool ", "!!float ", "!!set ", "!!omap ", "!!binary ",
    "!!timestamp ", "!!python/name:os.system ", "!custom ", "'", '"', "|", ">", "#", "---", "...",
    "yes", "no", "~", "null", "true", "1", "-1", "0.5", "1e400", ".nan", ".inf", "6210.0",
    "2023-02-30", "2023-01-01", "soc2", "DEBUG", "unit", "x" * 5, "é", "\t", "%YAML 1.1",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
    st.sampled_from(SCHEMA_WORDS),
)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(SCHEMA_WORDS) | st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)


def yaml_dump(tree) -> str:
    import yaml

    return yaml.safe_dump(tree, allow_unicode=True)


yaml_texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(YAML_FRAGMENTS), max_size=25).map("".join),
    trees.map(yaml_dump),
    st.dictionaries(st.sampled_from(sorted(config_module.SCHEMA)), trees, max_size=3).map(
        yaml_dump
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=yaml_texts)
def test_any_text_either_loads_or_raises_a_one_line_config_error(tmp_path_factory, text):
    path = tmp_path_factory.getbasetemp() / "fuzz-config.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        loaded = EnterpriseConfig.from_file(path, env={})
    except ConfigError as error:
        message = str(error)
        assert message.startswith(str(path)) and "\n" not in message and "\r" not in message
    else:
        assert isinstance(loaded, EnterpriseConfig)


def test_the_test_suites_own_variables_are_not_settings(monkeypatch, tmp_path):
    """ENTERPRISE_TEST_* (the PostgreSQL URL .ci/run exports) is no typo of a setting."""
    from pytest_enterprise.config import EnterpriseConfig

    monkeypatch.setenv("ENTERPRISE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    monkeypatch.setenv("ENTERPRISE_TELEMETRY_ENABLED", "true")
    assert EnterpriseConfig.load(rootdir=tmp_path).telemetry.enabled is True
