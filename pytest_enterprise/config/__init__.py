"""EnterpriseConfig: the settings of a run, from YAML, profiles and ``ENTERPRISE_*`` variables.

Where settings come from, lowest precedence first:

1. the defaults of the section dataclasses below;
2. the built-in profile of the active environment (``BUILTIN_PROFILES``);
3. the sections of the config file;
4. the file's ``profiles.<active environment>``;
5. ``ENTERPRISE_<SECTION>_<KEY>`` environment variables.

The section dataclasses are the schema. A field's annotation gives its type; its metadata
(``_setting``) gives its range, its allowed values, a whole-value check, and whether it is
reserved for a capability that does not read it yet. Each source is validated into a flat
*layer*, ``{(section, key): _Value}``, so merging sources is a dict update and every error can
name the file, line and key it came from, in one line.

PyYAML is imported only when a file is parsed (DESIGN §7: inert when off).
"""

from __future__ import annotations

import copy
import difflib
import itertools
import logging
import math
import os
import reprlib
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from ..errors import ConfigError, EnterpriseError

__all__ = [
    "BUILTIN_PROFILES",
    "COMPLIANCE_FRAMEWORKS",
    "CONFIG_FILENAME",
    "ENVIRONMENTS",
    "ComplianceConfig",
    "EnterpriseConfig",
    "FeatureFlagsConfig",
    "HistoryConfig",
    "LoggingConfig",
    "SecurityConfig",
    "TelemetryConfig",
    "YamlSource",
    "find_config_file",
    "looks_secret",
    "mask_secrets",
    "read_text",
    "read_yaml_document",
    "reserved_settings",
]

CONFIG_FILENAME = "enterprise-config.yaml"
ENV_PREFIX = "ENTERPRISE_"
ENV_CONFIG = "ENTERPRISE_CONFIG"
ENV_ENVIRONMENT = "ENTERPRISE_ENV"
#: ``ENTERPRISE_*`` variables that are not settings: the person acting (audit log), and the
#: path of the signing key for a CI job to pass in (``security.signing_key`` holds a path too,
#: never the key itself).
ENV_NOT_SETTINGS = ("ENTERPRISE_ACTOR", "ENTERPRISE_SIGNING_KEY")
#: ``ENTERPRISE_TEST_*`` variables belong to this project's own test suite (the PostgreSQL
#: server and the browser its CI provides), never to a setting: no section is called "test".
ENV_TEST_PREFIX = "ENTERPRISE_TEST_"

ENVIRONMENTS = ("development", "testing", "staging", "production")
DEFAULT_ENVIRONMENT = "development"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SBOM_FORMATS = ("cyclonedx-json", "spdx-json")
SECURITY_LEVELS = ("basic", "standard", "enhanced", "critical")
CYCLONEDX_VERSIONS = ("1.6", "1.5")
SEVERITY_THRESHOLDS = ("low", "medium", "high", "critical")
COMPLIANCE_FRAMEWORKS = ("soc2-type2", "soc2", "iso27001", "nist-csf", "gdpr")
QUALITY_LEVELS = ("Excellent", "Good", "Fair")  # highest first; below Fair is Poor
# The run rules of quality/spc.py (RULES), named here so loading a config imports no analysis.
SPC_RULES = ("nelson-1", "nelson-2", "nelson-3", "nelson-4", "we-2of3", "we-4of5")

SECRET_MARKERS = ("key", "token", "secret", "password")
MASK = "***"

#: Applied under the file's own values when their environment is active. Kept minimal on
#: purpose: a noisy built-in (say DEBUG logs in development) is worse than none.
BUILTIN_PROFILES: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "production": {"logging": {"level": "WARNING"}},
}

_BOOL_WORDS = {
    **dict.fromkeys(("1", "true", "yes", "on"), True),
    **dict.fromkeys(("0", "false", "no", "off"), False),
}
_BOOL_EXPECTED = "1/0, true/false, yes/no or on/off"  # in environment variables
_EXPECTED = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list of strings",
    dict: "a mapping",
}


# --- secrets -----------------------------------------------------------------------------------


def looks_secret(key: str) -> bool:
    """Whether a key's value must be masked: it names a key, token, secret or password."""
    lowered = key.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def mask_secrets(data: Any) -> Any:
    """A copy of ``data`` with the value of every secret-looking key replaced by ``MASK``, and
    the user info of every URL in a string (``history.url``'s password) too."""
    if isinstance(data, Mapping):
        return {
            key: MASK if _is_secret(key, value) else mask_secrets(value)
            for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [mask_secrets(item) for item in data]
    if isinstance(data, str) and "://" in data:
        from ..redact import redact_text  # stdlib only; the one rule every writer applies

        return redact_text(data)
    return data


def _is_secret(key: Any, value: Any) -> bool:
    return isinstance(key, str) and looks_secret(key) and value is not None


def _masked_repr(obj: Any) -> str:
    """A dataclass repr in which secret-looking values read ``'***'``."""
    parts = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        shown = MASK if _is_secret(f.name, value) else mask_secrets(value)
        parts.append(f"{f.name}={shown!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


# --- the schema --------------------------------------------------------------------------------


class _Invalid(Exception):
    """A value broke a rule. ``inner`` locates the bad part: a list index or a mapping key."""

    def __init__(self, problem: str, inner: tuple[Any, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.inner = inner


@dataclass(frozen=True)
class _Rule:
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()  # allowed values; for a mapping, its allowed keys
    check: Callable[[Any], None] | None = None  # on the final value, after all merging
    reserved_for: str | None = None


def _setting(default: Any = None, *, factory: Callable[[], Any] | None = None, **rule: Any) -> Any:
    metadata = {"rule": _Rule(**rule)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _marker_names(stages: list[str]) -> None:
    if not stages:
        raise _Invalid("list at least one stage, or leave it null for setup/call/teardown")
    for index, stage in enumerate(stages):
        if not stage.isidentifier():
            raise _Invalid(f"{stage!r} is not a valid marker name", (index,))
        if stage in stages[:index]:
            raise _Invalid(f"{stage!r} is listed twice", (index,))


def _strictly_decreasing(thresholds: dict[str, float]) -> None:
    values = [thresholds[level] for level in QUALITY_LEVELS]
    if any(higher <= lower for higher, lower in itertools.pairwise(values)):
        shown = ", ".join(f"{level} {thresholds[level]:g}" for level in QUALITY_LEVELS)
        order = " > ".join(QUALITY_LEVELS)
        raise _Invalid(f"levels must be strictly decreasing ({order}), got {shown}")


_mask = mask_secrets  # `to_dict`'s parameter shadows the function's name


class _Section:
    """Behaviour shared by the section dataclasses."""

    RESERVED_FOR: ClassVar[str | None] = None  # the capability that will read every key

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}  # type: ignore
        return _mask(data) if mask_secrets else data

    __repr__ = _masked_repr


@dataclass(repr=False)
class TelemetryConfig(_Section):
    """Six Sigma telemetry of the test run, read by the plugin, reporting and history store."""

    enabled: bool = False
    dpmo_threshold: float | None = _setting(None, minimum=0, maximum=1_000_000)
    rty_threshold: float | None = _setting(None, minimum=0, maximum=100)
    auto_generate_reports: bool = True
    output_dir: str = "enterprise-reports"
    html: bool = False  # also write the HTML dashboard beside the JSON report (docs/dashboard.md)
    history_path: str = ".enterprise/history.db"
    store_history: bool = True
    store_detailed_metrics: bool = True
    # Bounded so that "now - retention_days" stays a date (about 270 years back).
    retention_days: int = _setting(30, minimum=1, maximum=100_000)
    process_name: str = "pytest"
    # Bounded so that opportunities stay a float and an SQLite integer for any test count.
    opportunities_per_unit: int = _setting(1, minimum=1, maximum=1_000_000_000)
    subtests_as_opportunities: bool = False
    stages: list[str] | None = _setting(None, check=_marker_names)
    quality_thresholds: dict[str, float] = _setting(
        factory=lambda: {"Excellent": 5.0, "Good": 4.0, "Fair": 3.0},
        choices=QUALITY_LEVELS,
        check=_strictly_decreasing,
    )
    report_interval_hours: float | None = _setting(
        None, minimum=0, reserved_for="scheduled telemetry reports"
    )
    # Quality over time, read from the history store (docs/spc.md, docs/flaky.md).
    spc_rules: list[str] = _setting(factory=lambda: list(SPC_RULES), choices=SPC_RULES)
    spc_min_runs: int = _setting(10, minimum=2, maximum=1000)  # runs before trial limits (at most spc_baseline_runs)
    spc_baseline_runs: int = _setting(20, minimum=2, maximum=1000)  # limits frozen on the first N
    spc_gate: bool = False  # fail the run on a signal at this run
    flaky_window: int = _setting(50, minimum=2, maximum=10_000)  # runs of history read
    flaky_min_runs: int = _setting(5, minimum=2, maximum=10_000)
    flaky_flip_threshold: float = _setting(0.1, minimum=0, maximum=1)
    flaky_outage_threshold: float = _setting(0.8, minimum=0.01, maximum=1)
    flaky_gate_exempt: bool = False  # gates leave out failures of known-flaky tests


@dataclass(repr=False)
class SecurityConfig(_Section):
    """Supply-chain security: SBOM, SLSA provenance and the offline vulnerability scan. Paths
    are relative to the config file's folder."""

    enabled: bool = False  # emit the artifacts of security_level at the end of every run
    security_level: str = _setting("basic", choices=SECURITY_LEVELS)  # which artifacts
    sbom_format: str = _setting("cyclonedx-json", choices=SBOM_FORMATS)
    cyclonedx_version: str = _setting("1.6", choices=CYCLONEDX_VERSIONS)
    slsa_level: int = _setting(1, minimum=1, maximum=4)  # the level asked for; never claimed unmet
    signing_key: str | None = None  # Ed25519 private key (PEM) for the provenance
    builder_id: str | None = None  # default: from the CI environment, else a local builder
    vulnerability_scanning: bool = False  # scan in every run (needs vulnerability_db)
    vulnerability_db: str | None = None  # OSV database: a folder or .zip of JSON/YAML records
    ignore_file: str | None = None  # VEX: vulnerabilities that do not affect the project
    fail_on: str | None = _setting(None, choices=SEVERITY_THRESHOLDS)  # gate on active findings
    auto_security_reports: bool = _setting(False, reserved_for="scheduled security reports")


@dataclass(repr=False)
class ComplianceConfig(_Section):
    """Compliance evidence: which frameworks tests are mapped to and how the run is judged.

    Paths are relative to the config file's folder.
    """

    enabled: bool = False
    # Built-in frameworks in scope; empty means all four, unless custom frameworks are given.
    frameworks: list[str] = _setting(factory=list, choices=COMPLIANCE_FRAMEWORKS)
    custom_frameworks: list[str] = _setting(factory=list)  # catalog files; always in scope
    waivers_file: str | None = None
    attestations_file: str | None = None
    fail_under: float | None = _setting(None, minimum=0, maximum=100)
    fail_on_failed_control: bool = False
    auto_compliance_checks: bool = _setting(
        False, reserved_for="compliance checks beyond the tests tied to controls"
    )
    audit_trail_enabled: bool = _setting(False, reserved_for="the signed audit trail")


@dataclass(repr=False)
class FeatureFlagsConfig(_Section):
    """Feature flags: the flag file, and flag-variant test runs. Paths are relative to the
    config file's folder."""

    enabled: bool = False  # flag-variant runs and the report's flags section
    config_file: str | None = None  # the flag file, YAML or JSON
    monitoring_enabled: bool = _setting(
        False, reserved_for="flag monitoring beyond the evaluation counts, which are always kept"
    )


@dataclass(repr=False)
class LoggingConfig(_Section):
    """Logging of pytest-enterprise itself (the ``pytest_enterprise`` logger)."""

    level: str = _setting("INFO", choices=LOG_LEVELS)
    structured_logging: bool = False  # one JSON object per record, on stderr (pytest_enterprise/logs.py)
    file_logging: bool = False  # also to enterprise.log in telemetry.output_dir, rotated

    def apply(self, log_dir: Path | None = None) -> None:
        """Make these settings take effect on the ``pytest_enterprise`` logger; ``log_dir``
        is where ``file_logging`` writes (the run's or the command's output folder)."""
        from ..logs import configure  # standard library only; a file handler's module on demand

        configure(self.level, structured=self.structured_logging, log_dir=log_dir if self.file_logging else None)


def _history_url(value: str) -> None:
    """A location the history store understands: a bad scheme stops the load here, naming
    the file and line (or the variable), rather than at the end of a run."""
    # Imported only when a URL is set: the store package costs ~45 ms and imports SQLite.
    from ..history_location import parse_where

    try:
        parse_where(value, Path())
    except ConfigError as error:
        raise _Invalid(str(error)) from None


@dataclass(repr=False)
class HistoryConfig(_Section):
    """Where the run history is kept when it is not the SQLite file at
    ``telemetry.history_path``: a PostgreSQL database shared by many runners."""

    # postgresql://user:password@host:port/db (or a SQLite path / sqlite:///absolute/path);
    # its password is masked in repr() and to_dict() like any URL's user info.
    url: str | None = _setting(None, check=_history_url)


SECTIONS: Mapping[str, type[_Section]] = {
    "telemetry": TelemetryConfig,
    "security": SecurityConfig,
    "compliance": ComplianceConfig,
    "feature_flags": FeatureFlagsConfig,
    "logging": LoggingConfig,
    "history": HistoryConfig,
}
TOP_LEVEL_KEYS = ("environment", "profiles")


class _Field(NamedTuple):
    """One setting, as the loader sees it."""

    section: str
    name: str
    kind: type  # bool, int, float, str, list (of str) or dict (of str to float)
    optional: bool
    rule: _Rule

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section}_{self.name}".upper()


def _schema_of(section: str, cls: type[_Section]) -> dict[str, _Field]:
    hints = typing.get_type_hints(cls)
    schema = {}
    for f in fields(cls):  # type: ignore[arg-type]
        hint, args = hints[f.name], typing.get_args(hints[f.name])
        optional = type(None) in args
        if optional:
            (hint,) = (arg for arg in args if arg is not type(None))
        rule = f.metadata.get("rule", _Rule())
        if rule.reserved_for is None and cls.RESERVED_FOR is not None:
            rule = replace(rule, reserved_for=cls.RESERVED_FOR)
        schema[f.name] = _Field(section, f.name, typing.get_origin(hint) or hint, optional, rule)
    return schema


SCHEMA: Mapping[str, Mapping[str, _Field]] = {
    name: _schema_of(name, cls) for name, cls in SECTIONS.items()
}
_ENV_VARS = {spec.env_var: spec for section in SCHEMA.values() for spec in section.values()}
_ENVIRONMENT = _Field("", "environment", str, False, _Rule(choices=ENVIRONMENTS))


def reserved_settings() -> dict[str, str]:
    """``{"section.key": capability}`` for every setting accepted but not read yet."""
    return {
        f"{spec.section}.{spec.name}": spec.rule.reserved_for
        for section in SCHEMA.values()
        for spec in section.values()
        if spec.rule.reserved_for is not None
    }


# --- the configuration -------------------------------------------------------------------------


@dataclass(repr=False)
class EnterpriseConfig:
    """The validated settings of one run. ``source`` is the file read, if any."""

    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    compliance: ComplianceConfig = field(default_factory=ComplianceConfig)
    feature_flags: FeatureFlagsConfig = field(default_factory=FeatureFlagsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    environment: str = DEFAULT_ENVIRONMENT
    source: Path | None = None

    __repr__ = _masked_repr

    @classmethod
    def load(
        cls,
        explicit: str | Path | None = None,
        *,
        rootdir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> EnterpriseConfig:
        """Load ``explicit``, else $ENTERPRISE_CONFIG, else ``rootdir``'s file, else defaults."""
        env = os.environ if env is None else env
        path = find_config_file(rootdir, explicit, env)
        return cls.from_mapping({}, env=env) if path is None else cls.from_file(path, env=env)

    @classmethod
    def from_file(
        cls, path: str | Path, *, env: Mapping[str, str] | None = None
    ) -> EnterpriseConfig:
        """Load one YAML file, then apply the ``ENTERPRISE_*`` overrides in ``env``."""
        path = Path(path)
        data, source = _read_yaml_file(path)
        return _build(data, source, env, path.absolute())

    @classmethod
    def from_environment_variables(cls, env: Mapping[str, str] | None = None) -> EnterpriseConfig:
        """The user guide's entry point: $ENTERPRISE_CONFIG or ./enterprise-config.yaml, then
        the ``ENTERPRISE_*`` overrides."""
        return cls.load(rootdir=Path.cwd(), env=env)

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any],
        *,
        env: Mapping[str, str] | None = None,
        source_name: str = "<mapping>",
    ) -> EnterpriseConfig:
        """Validate an already parsed config; errors name ``source_name`` (no line numbers)."""
        return _build(data, _Source(source_name), env, None)

    def to_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """Plain data that ``from_mapping`` accepts back; secret-looking values masked."""
        data: dict[str, Any] = {"environment": self.environment}
        for name in SECTIONS:
            data[name] = getattr(self, name).to_dict(mask_secrets)
        return data


def find_config_file(
    rootdir: Path | None,
    explicit: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The file to load: ``explicit``, else $ENTERPRISE_CONFIG, else ``rootdir`` (default: the
    current directory) / enterprise-config.yaml. A file that was named but is missing is an
    error; a missing default file means "all defaults"."""
    env = os.environ if env is None else env
    if explicit:
        return _existing(Path(explicit), str(explicit))
    if env.get(ENV_CONFIG):
        return _existing(Path(env[ENV_CONFIG]), f"{ENV_CONFIG}: {env[ENV_CONFIG]}")
    candidate = (Path.cwd() if rootdir is None else Path(rootdir)) / CONFIG_FILENAME
    return candidate if candidate.is_file() else None


def _existing(path: Path, named: str) -> Path:
    if path.is_file():
        return path
    raise ConfigError(f"{named}: {'is a directory' if path.is_dir() else 'config file not found'}")


# --- building a config from layers -------------------------------------------------------------


class _Source:
    """Where values came from, so each error reads ``where: key: problem`` on one line."""

    def __init__(self, name: str, *, numbered: bool = True) -> None:
        self.name = name
        self.numbered = numbered  # False for a variable's one-line value: "VAR", not "VAR:1"
        self.lines: dict[tuple[Any, ...], int] = {}  # key path -> line, filled by _Builder

    def where(self, line: int | None) -> str:
        return f"{self.name}:{line}" if line and self.numbered else self.name

    def error(self, path: tuple[Any, ...], problem: str) -> ConfigError:
        located = path
        while located and located not in self.lines:  # the nearest enclosing key with a line
            located = located[:-1]
        parts = (self.where(self.lines.get(located)), _dotted(path), problem)
        return ConfigError(_one_line(": ".join(part for part in parts if part)))


YamlSource = _Source
"""Public name of the line-aware YAML source (see ``read_yaml_document``)."""


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _one_line(text: str) -> str:
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class _Value(NamedTuple):
    """A validated setting and where it came from, for checks that run after merging."""

    value: Any
    source: _Source
    path: tuple[Any, ...]


_Layer = dict[tuple[str, str], _Value]


def _build(
    data: Any, source: _Source, env: Mapping[str, str] | None, path: Path | None
) -> EnterpriseConfig:
    env = os.environ if env is None else env
    if data is None:  # an empty file
        data = {}
    if not isinstance(data, Mapping):
        problem = f"expected a mapping of sections at the top level, got {_describe(data)}"
        raise source.error((), problem)
    environment = _active_environment(data, source, env)
    profiles = _read_profiles(data.get("profiles"), source)
    builtin = BUILTIN_PROFILES.get(environment, {})
    merged = _merge(
        _defaults(),
        _read_sections(builtin, _Source(f"built-in {environment} profile"), ()),
        _read_sections(data, source, (), also_allowed=TOP_LEVEL_KEYS),
        profiles.get(environment, {}),
        _read_env(env),
    )
    for (section, key), setting in merged.items():
        _run_check(SCHEMA[section][key], setting)
    sections = {
        name: cls(**{key: merged[(name, key)].value for key in SCHEMA[name]})
        for name, cls in SECTIONS.items()
    }
    return EnterpriseConfig(**sections, environment=environment, source=path)  # type: ignore


def _run_check(spec: _Field, setting: _Value) -> None:
    if spec.rule.check is not None and setting.value is not None:
        try:
            spec.rule.check(setting.value)
        except _Invalid as invalid:
            raise setting.source.error(setting.path + invalid.inner, invalid.problem) from None


def _defaults() -> _Layer:
    source = _Source("defaults")
    return {
        (name, key): _Value(getattr(section, key), source, (name, key))
        for name, section in ((name, cls()) for name, cls in SECTIONS.items())
        for key in SCHEMA[name]
    }


def _merge(*layers: _Layer) -> _Layer:
    """Later layers win; mappings (quality_thresholds) merge key by key."""
    merged: _Layer = {}
    for layer in layers:
        for slot, new in layer.items():
            old = merged.get(slot)
            if old is not None and isinstance(old.value, dict) and isinstance(new.value, dict):
                new = new._replace(value={**old.value, **new.value})
            merged[slot] = new
    return merged


def _active_environment(data: Mapping[str, Any], source: _Source, env: Mapping[str, str]) -> str:
    """$ENTERPRISE_ENV, else the file's ``environment:``, else development."""
    from_file = data.get("environment")
    if from_file is not None:
        from_file = _validated(_ENVIRONMENT, from_file, source, ("environment",))
    if env.get(ENV_ENVIRONMENT):
        return _validated(_ENVIRONMENT, env[ENV_ENVIRONMENT].strip(), _Source(ENV_ENVIRONMENT), ())
    return from_file or DEFAULT_ENVIRONMENT


def _read_profiles(profiles: Any, source: _Source) -> dict[str, _Layer]:
    path = ("profiles",)
    _expect_mapping(profiles, source, path)
    layers = {}
    for name, body in (profiles or {}).items():
        _known(name, ENVIRONMENTS, source, path)
        layers[name] = _read_sections(body, source, path + (name,))
    return layers


def _read_sections(
    data: Any, source: _Source, path: tuple[Any, ...], also_allowed: tuple[str, ...] = ()
) -> _Layer:
    """Validate a partial config (the file's top level, or one profile) into a layer."""
    _expect_mapping(data, source, path)
    layer: _Layer = {}
    for section, body in (data or {}).items():
        _known(section, (*SCHEMA, *also_allowed), source, path)
        if section in also_allowed:
            continue
        here = path + (section,)
        _expect_mapping(body, source, here)  # null (`telemetry:` and nothing under it) is fine
        for key, value in (body or {}).items():
            _known(key, tuple(SCHEMA[section]), source, here)
            at = here + (key,)
            checked = _validated(SCHEMA[section][key], value, source, at)
            layer[(section, key)] = _Value(checked, source, at)
    return layer


def _read_env(env: Mapping[str, str]) -> _Layer:
    """The ``ENTERPRISE_<SECTION>_<KEY>`` overrides; a variable naming no setting is an error."""
    layer: _Layer = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or var in (ENV_CONFIG, ENV_ENVIRONMENT, *ENV_NOT_SETTINGS) or var.startswith(ENV_TEST_PREFIX):
            continue
        source = _Source(var)
        spec = _ENV_VARS.get(var)
        if spec is None:
            known = [*_ENV_VARS, ENV_CONFIG, ENV_ENVIRONMENT]
            raise source.error((), f"unknown setting; {_suggest(var, known)}")
        path = (spec.section, spec.name)
        try:
            value = _check_value(spec, _from_text(spec, env[var], var))
        except _Invalid as invalid:
            raise source.error(path + invalid.inner, invalid.problem) from None
        layer[path] = _Value(value, source, path)
    return layer


def _known(key: Any, allowed: tuple[str, ...], source: _Source, parent: tuple[Any, ...]) -> None:
    if not isinstance(key, str):
        raise source.error(parent, f"keys must be strings, got {_describe(key)}")
    if key not in allowed:
        raise source.error(parent + (key,), f"unknown key; {_suggest(key, allowed)}")


def _expect_mapping(value: Any, source: _Source, path: tuple[Any, ...]) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise source.error(path, f"expected a mapping, got {_describe(value)}")


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """The hint after an unknown name: the closest candidate (ignoring case), else them all."""
    by_lower = {candidate.lower(): candidate for candidate in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1)
    if close:
        return f"did you mean {by_lower[close[0]]!r}?"
    return f"expected one of {', '.join(candidates)}"


# --- validating one value ----------------------------------------------------------------------


def _validated(spec: _Field, value: Any, source: _Source, path: tuple[Any, ...]) -> Any:
    try:
        return _check_value(spec, value)
    except _Invalid as invalid:
        raise source.error(path + invalid.inner, invalid.problem) from None


def _check_value(spec: _Field, value: Any) -> Any:
    """``value`` in the field's type, or ``_Invalid`` saying what is wrong with it."""
    if value is None:
        if spec.optional:
            return None
        raise _Invalid(f"expected {_EXPECTED[spec.kind]}, got null")
    if spec.kind is list:
        if not isinstance(value, (list, tuple)):
            raise _Invalid(f"expected a list of strings, got {_describe(value)}")
        return [_check_scalar(str, item, spec.rule, (index,)) for index, item in enumerate(value)]
    if spec.kind is dict:
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected a mapping, got {_describe(value)}")
        checked = {}
        for key, number in value.items():
            if not isinstance(key, str):
                raise _Invalid(f"keys must be strings, got {_describe(key)}")
            if key not in spec.rule.choices:
                raise _Invalid(f"unknown key; {_suggest(key, spec.rule.choices)}", (key,))
            checked[key] = _check_scalar(float, number, _Rule(), (key,))
        return checked
    return _check_scalar(spec.kind, value, spec.rule)


def _check_scalar(kind: type, value: Any, rule: _Rule, inner: tuple[Any, ...] = ()) -> Any:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    fits = {
        bool: isinstance(value, bool),
        int: numeric and isinstance(value, int),
        float: numeric,
        str: isinstance(value, str),
    }[kind]
    if not fits:
        raise _Invalid(f"expected {_EXPECTED[kind]}, got {_describe(value)}", inner)
    if kind is float:
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            finite = False
        if not finite:
            raise _Invalid(f"expected a finite number, got {_describe(value)}", inner)
    if kind is str:
        if not value.strip():
            raise _Invalid("must not be empty", inner)
        _check_text(value, inner)
        if rule.choices:
            value = _choose(value, rule.choices, inner)
    _check_range(value, rule, inner)
    return float(value) if kind is float else value


def _check_text(value: str, inner: tuple[Any, ...]) -> None:
    """Strings end up in paths, JSON and SQLite: a NUL cannot be in a path, and a lone
    surrogate (from YAML's "\\ud800" or a non-UTF-8 environment variable) cannot be encoded."""
    if "\x00" in value:
        raise _Invalid("must not contain a NUL character", inner)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        char = value[error.start]
        raise _Invalid(f"not valid Unicode: lone surrogate {char!r} at character {error.start}", inner) from None


def _choose(value: str, choices: tuple[str, ...], inner: tuple[Any, ...]) -> str:
    """The choice ``value`` names, ignoring case (``debug`` is ``DEBUG``)."""
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise _Invalid(f"unknown value {_show(value)}; {_suggest(value, choices)}", inner)


def _check_range(value: Any, rule: _Rule, inner: tuple[Any, ...]) -> None:
    low, high = rule.minimum, rule.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        bounds = f"between {low} and {high}"
    else:
        bounds = f"at least {low}" if low is not None else f"at most {high}"
    raise _Invalid(f"must be {bounds}, got {_show(value)}", inner)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    for kind, noun in ((int, "integer"), (float, "number"), (str, "string")):
        if isinstance(value, kind):
            return f"{noun} {_show(value)}"
    if isinstance(value, datetime):
        return f"timestamp {value.isoformat()}"
    if isinstance(value, date):
        return f"date {value.isoformat()}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__  # bytes, set, ... from explicit YAML tags


def _show(value: Any) -> str:
    return reprlib.repr(value)  # shortened, so a huge value cannot flood the one-line message


def _from_text(spec: _Field, text: str, var: str) -> Any:
    """An environment variable's text as the field's type, to be checked like a YAML value."""
    text = text.strip()
    if not text and spec.optional:
        return None
    try:
        if spec.kind is bool:
            return _BOOL_WORDS[text.lower()]
        if spec.kind is int:
            return int(text)
        if spec.kind is float:
            return float(text)
    except (KeyError, ValueError):
        expected = _EXPECTED[spec.kind] if spec.kind is not bool else _BOOL_EXPECTED
        raise _Invalid(f"expected {expected}, got {_show(text)}") from None
    if spec.kind is list and not text.startswith("["):
        return [item.strip() for item in text.split(",") if item.strip()]
    if spec.kind in (list, dict):
        return _parse_yaml(text, var, numbered=False)[0]  # a flow list or mapping: [a, b], {a: 1}
    return text


# --- reading YAML ------------------------------------------------------------------------------

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _read_yaml_file(path: Path) -> tuple[Any, _Source]:
    return read_yaml_document(path, "config file")


def read_yaml_document(path: Path, what: str = "file") -> tuple[Any, YamlSource]:
    """One YAML file, parsed safely, and a ``YamlSource`` that knows every key's line.

    ``source.error(("waivers", 0, "expires"), "not a date")`` then gives a ``ConfigError``
    reading ``waivers.yaml:4: waivers[0].expires: not a date``. ``what`` names the file in
    messages ("waiver file", "catalog").
    """
    return _parse_yaml(read_text(path, what), str(path))


def read_text(path: Path, what: str = "file", error: type[EnterpriseError] = ConfigError) -> str:
    """A UTF-8 text file (a BOM is dropped); each way it can be unreadable is one ``error``
    naming the file (permission problems are ``PermissionDeniedError``, exit 3)."""
    from ..files import read_bytes

    raw = read_bytes(path, what, error)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = raw.count(b"\n", 0, problem.start) + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte {problem.start})") from None


def _parse_yaml(text: str, name: str, *, numbered: bool = True) -> tuple[Any, _Source]:
    """One YAML document, with SafeLoader semantics, and its source knowing every key's line."""
    import yaml  # here, not at module level: a run without a config file never imports it

    source = _Source(name, numbered=numbered)
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        _bound_depth(loader, source)
        root = loader.get_single_node()
        return (None if root is None else _Builder(loader, source).build(root, ())), source
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = ", ".join(part for part in (error.context, error.problem) if part)
        where = source.where(mark.line + 1 if mark else None)
        raise ConfigError(_one_line(f"{where}: invalid YAML: {problem}")) from None
    except yaml.YAMLError as error:  # a ReaderError: a control character in the text
        where = source.where(text.count("\n", 0, getattr(error, "position", 0)) + 1)
        problem = str(error).splitlines()[0]
        raise ConfigError(_one_line(f"{where}: invalid YAML: {problem}")) from None
    except RecursionError:
        raise ConfigError(f"{name}: invalid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


#: No file read here nests deeper than a handful of levels. Without a bound, thousands of ``[``
#: cost seconds (PyYAML's scanner rechecks every open flow level for each token) and then recurse
#: through its composer into Python's recursion limit.
MAX_YAML_DEPTH = 64


def _bound_depth(loader: Any, source: _Source) -> None:
    """Make ``loader`` refuse a document nested more than ``MAX_YAML_DEPTH`` levels deep: flow
    collections (``[[[``) as the scanner meets them, block ones as the composer builds them."""
    compose, open_flow = loader.compose_node, loader.fetch_flow_collection_start
    depth = 0

    def too_deep(line: int) -> ConfigError:
        problem = f"invalid YAML: nested more than {MAX_YAML_DEPTH} levels deep"
        return ConfigError(f"{source.where(line)}: {problem}")

    def fetch_flow_collection_start(token_class: Any) -> None:
        open_flow(token_class)
        if loader.flow_level > MAX_YAML_DEPTH:
            raise too_deep(loader.line + 1)

    def compose_node(parent: Any, index: Any) -> Any:
        nonlocal depth
        depth += 1
        try:
            if depth > MAX_YAML_DEPTH:
                raise too_deep(loader.peek_event().start_mark.line + 1)
            return compose(parent, index)
        finally:
            depth -= 1

    # PyYAML calls these through self, so the loader's own attributes take their place.
    loader.fetch_flow_collection_start = fetch_flow_collection_start
    loader.compose_node = compose_node


class _Builder:
    """Python values from a composed YAML node tree, noting the line of every path.

    Plain mappings and sequences are walked here so each key keeps its line; scalars (and
    collections under other tags, such as ``!!set``) go to SafeLoader's own constructors, and
    ``<<`` merge keys to its ``flatten_mapping``. Each node is built once, so aliases share their
    value as with ``yaml.safe_load`` and cannot blow up ("billion laughs"). Recursive aliases and
    duplicate keys are rejected: a config never needs the one, and the other silently loses a
    value.
    """

    def __init__(self, loader: Any, source: _Source) -> None:
        self.loader = loader
        self.source = source
        self.built: dict[int, Any] = {}
        self.open: set[int] = set()

    def build(self, node: Any, path: tuple[Any, ...]) -> Any:
        self.source.lines.setdefault(path, node.start_mark.line + 1)
        key = id(node)
        if key in self.open:
            raise self.source.error(path, "invalid YAML: recursive alias")
        if key not in self.built:
            self.open.add(key)
            self.built[key] = self._construct(node, path)
            self.open.discard(key)
        return self.built[key]

    def _construct(self, node: Any, path: tuple[Any, ...]) -> Any:
        if node.id == "sequence" and node.tag == _SEQ_TAG:
            return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]
        if node.id == "mapping" and node.tag == _MAP_TAG:
            return self._mapping(node, path)
        try:
            return self.loader.construct_object(node, deep=True)
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError) as error:
            # PyYAML's constructors raise plain errors for impossible dates (2023-02-30) and
            # bad explicitly tagged scalars (!!int x, !!bool maybe).
            problem = f"cannot read {_show(node.value)} as {node.tag.rsplit(':', 1)[-1]} ({error})"
            raise self.source.error(path, f"invalid YAML: {problem}") from None

    def _mapping(self, node: Any, path: tuple[Any, ...]) -> dict[Any, Any]:
        explicit = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
        self.loader.flatten_mapping(node)  # the `<<` entries now come first, explicit ones last
        first_explicit = len(node.value) - explicit
        result: dict[Any, Any] = {}
        explicit_keys: set[Any] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.build(key_node, path)
            try:
                hash(key)
            except TypeError:
                problem = f"invalid YAML: {_describe(key)} cannot be a key"
                raise self.source.error(path, problem) from None
            here = path + (key,)
            if index >= first_explicit:
                if key in explicit_keys:
                    self.source.lines[here] = key_node.start_mark.line + 1
                    raise self.source.error(here, "duplicate key")
                explicit_keys.add(key)
            self.source.lines.setdefault(here, key_node.start_mark.line + 1)
            result[key] = self.build(value_node, here)
        return result


# Shared with the other readers of YAML files (catalogs, waivers, attestations), so every
# error message describes values and key paths the same way.
describe_value = _describe
show_value = _show
dotted_path = _dotted
one_line = _one_line
