"""The flag file: feature flags and per-environment overrides of them, in YAML or JSON.

```yaml
flags:
  new_ui_design:
    status: rollout
    strategy: percentage
    rollout_percentage: 25
profiles:
  production:
    new_ui_design:
      rollout_percentage: 10
```

``load_flag_file`` reads and validates the whole file: every flag, every profile's flags (the
base mapping updated key by key with the profile's), prerequisites that name no flag, and
prerequisite cycles. A bad file therefore fails at load, with one ``InputError`` whose message
names the file, the line and the key: ``flags.yaml:5: flags.new_ui_design.rollout_percentage:
must be between 0 and 100, got 150``. The format is chosen by the suffix: ``.yaml``/``.yml``
(read like the config file, through ``config.read_yaml_document``) or ``.json`` (values parsed
by the ``json`` module, so they keep exact JSON meaning; the text is also composed as YAML only
to learn each key's line, and errors go without a line when that fails).

A ``FlagFile`` keeps each flag's mapping as written, so saving it writes back what was read
(minus comments), and a profile always overrides the same data it was validated against.

PyYAML is imported only when a YAML file is read or written.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from ..config import ENVIRONMENTS, YamlSource, read_text, read_yaml_document
from ..config import describe_value as _describe
from ..config import dotted_path as _dotted
from ..config import one_line as _one_line
from ..config import show_value as _show
from ..errors import ConfigError, InputError
from ..files import write_text_atomic
from .model import (
    FIELD_ALIASES,
    NAME_PATTERN,
    FeatureFlag,
    FlagFieldError,
    prerequisite_cycle,
    prerequisite_problem,
)

__all__ = ["FIELD_ALIASES", "FLAG_FILE_SUFFIXES", "FlagFile", "load_flag_file", "new_flag_file"]

TOP_LEVEL_KEYS = ("flags", "profiles")
#: The suffixes a flag file may have, and the format each one means.
FLAG_FILE_SUFFIXES: Mapping[str, str] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}
WHAT = "flag file"


# --- the file --------------------------------------------------------------------------------


@dataclass
class FlagFile:
    """The flags of one file: each flag's base mapping, and each environment's overrides.

    ``base`` and ``profiles`` hold the mappings as written in the file (in file order), so
    ``to_data`` and ``save`` give them back unchanged; ``flags`` builds the validated
    ``FeatureFlag`` values from them. Change them through ``put`` and ``remove``, which keep the
    file valid.
    """

    path: Path | None
    base: dict[str, dict[str, Any]] = field(default_factory=dict)
    profiles: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _source: YamlSource | None = field(default=None, init=False, repr=False, compare=False)

    # -- reading --------------------------------------------------------------------------

    def flags(self, environment: str | None = None) -> dict[str, FeatureFlag]:
        """The flags in effect in ``environment`` (its profile applied), in file order.

        ``None`` gives the base flags; so does an environment that has no profile. An
        environment outside ``config.ENVIRONMENTS`` is an ``InputError``.
        """
        if environment is not None:
            _check_environment(environment)
        return {name: self._build(name, environment) for name in self.base}

    def overridden_fields(self, name: str, environment: str) -> tuple[str, ...]:
        """The fields of flag ``name`` that ``environment``'s profile overrides, in the order
        the profile lists them, by their canonical names (``strategy``, not
        ``rollout_strategy``); ``()`` when it overrides none."""
        self._known_flag(name)
        _check_environment(environment)
        override = self.profiles.get(environment, {}).get(name) or {}
        return tuple(FIELD_ALIASES.get(key, key) for key in override)

    def to_data(self) -> dict[str, Any]:
        """``{"flags": {...}, "profiles": {...}}`` as plain data for YAML or JSON, the
        ``profiles`` key left out when there are none. Times become RFC 3339 text (UTC, ``Z``),
        dates ``YYYY-MM-DD`` text; variant payloads are copied as they are."""
        data: dict[str, Any] = {
            "flags": {name: _plain(mapping) for name, mapping in self.base.items()}
        }
        if self.profiles:
            data["profiles"] = {
                environment: {name: _plain(override) for name, override in overrides.items()}
                for environment, overrides in self.profiles.items()
            }
        return data

    # -- changing -------------------------------------------------------------------------

    def put(self, flag: FeatureFlag) -> None:
        """Set (or replace) the base definition of ``flag.name`` to ``flag.to_dict()``.

        A new flag goes last; a replaced one keeps its place. The profiles are not touched,
        but they must still give valid flags over the new base (and prerequisites must still
        name flags, without cycles): if not, an ``InputError`` is raised and nothing changes.
        """
        if not isinstance(flag, FeatureFlag):
            raise TypeError(f"put() takes a FeatureFlag, got {type(flag).__name__}")
        base = dict(self.base)
        base[flag.name] = flag.to_dict()
        self._change(base, self.profiles, forget=[("flags", flag.name)])

    def remove(self, name: str) -> None:
        """Remove flag ``name`` and every profile's overrides of it.

        An ``InputError`` if there is no such flag, or if another flag names it as a
        prerequisite (in the base or in any profile): remove that prerequisite first.
        """
        self._known_flag(name)
        for environment in (None, *self.profiles):
            for other, flag in self.flags(environment).items():
                for index, prerequisite in enumerate(flag.prerequisites):
                    if prerequisite.flag == name:
                        raise self._prerequisite_error(
                            environment, other, index, "flag",
                            f"flag {other!r} needs {name!r}, so {name!r} cannot be removed; "
                            "remove this prerequisite first",
                        )  # fmt: skip
        base = {key: value for key, value in self.base.items() if key != name}
        profiles = {
            environment: {key: value for key, value in overrides.items() if key != name}
            for environment, overrides in self.profiles.items()
        }
        # A profile left empty by this removal goes too; one that was empty already stays.
        profiles = {
            environment: overrides
            for environment, overrides in profiles.items()
            if overrides or name not in self.profiles[environment]
        }
        forget = [("flags", name)] + [
            ("profiles", environment, name) for environment in self.profiles
        ]
        self._change(base, profiles, forget=forget)

    # -- writing --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write the file atomically to ``path`` (default: ``self.path``) and return where.

        The format follows the suffix of the target: YAML (``yaml.safe_dump``, keys in their
        order, Unicode as is) or JSON (indented by 2, with a final newline). The output is
        deterministic: flags, profiles and keys keep their order. The comments of a file that
        was loaded are NOT kept: saving writes the data only. The whole file is validated first,
        so a file that ``load_flag_file`` would refuse is never written; a failure leaves the
        old file as it was. ``self.path`` is not changed.
        """
        if path is None and self.path is None:
            raise ValueError("save() needs a path: this FlagFile has none")
        target = Path(path) if path is not None else self.path
        assert target is not None
        kind = _format_of(target)
        self._validate()
        data = self.to_data()
        if kind == "json":
            try:
                _check_json_keys(data)
                text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            except (TypeError, ValueError) as error:  # a variant payload JSON cannot hold
                raise InputError(
                    _one_line(f"{target}: cannot save the {WHAT} as JSON: {error}")
                ) from None
        else:
            import yaml  # here, not at module level: reading flags never needs to write

            try:
                text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
                if yaml.safe_load(text) != data:
                    # PyYAML writes a few characters (U+0085, NEXT LINE) unescaped when
                    # allowed Unicode, then reads them back as line breaks: escape all instead.
                    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False)
            except yaml.YAMLError as error:  # a payload object YAML cannot represent
                raise InputError(
                    _one_line(f"{target}: cannot save the {WHAT} as YAML: {error}")
                ) from None
        # Through a symlink to its target, keeping the file's mode; OS errors are one line.
        return write_text_atomic(target, text, what=WHAT)

    # -- internals ------------------------------------------------------------------------

    @property
    def _src(self) -> YamlSource:
        """Where errors point: the file's name and the line of each key read from it."""
        if self._source is None:
            self._source = YamlSource(str(self.path) if self.path is not None else f"<{WHAT}>")
        return self._source

    def _known_flag(self, name: str) -> None:
        if name not in self.base:
            raise self._error(("flags", name), f"no such flag{_hint(name, self.base)}", line=False)

    def _change(
        self,
        base: dict[str, dict[str, Any]],
        profiles: dict[str, dict[str, dict[str, Any]]],
        *,
        forget: list[tuple[Any, ...]],
    ) -> None:
        """Swap in ``base`` and ``profiles`` if the result is valid, else restore and raise."""
        old = (self.base, self.profiles, dict(self._src.lines))
        self.base, self.profiles = base, profiles
        for prefix in forget:  # those lines describe data that is gone
            for key in [key for key in self._src.lines if key[: len(prefix)] == prefix]:
                del self._src.lines[key]
        try:
            self._validate()
        except BaseException:
            self.base, self.profiles = old[0], old[1]
            self._src.lines.clear()
            self._src.lines.update(old[2])
            raise

    def _validate(self) -> None:
        """Check everything ``load_flag_file`` checks."""
        _Reader(self._src).read({"flags": self.base, "profiles": self.profiles})
        for environment in (None, *self.profiles):
            flags = {name: self._build(name, environment) for name in self.base}
            self._check_prerequisites(environment, flags)

    def _mapping(self, name: str, environment: str | None) -> dict[str, Any]:
        """The flag's base mapping, updated key by key with ``environment``'s override."""
        merged = dict(self.base[name])
        override = self.profiles.get(environment, {}).get(name) if environment else None
        for key, value in (override or {}).items():
            canonical = FIELD_ALIASES.get(key, key)
            for old in [old for old in merged if FIELD_ALIASES.get(old, old) == canonical]:
                del merged[old]
            merged[key] = value
        return merged

    def _build(self, name: str, environment: str | None) -> FeatureFlag:
        try:
            return FeatureFlag.from_dict(name, self._mapping(name, environment))
        except FlagFieldError as error:
            raise self._field_error(environment, name, error.field_path, error.problem) from None
        except (TypeError, ValueError, OverflowError) as error:
            # model.py lets a few odd values through as plain errors: an integer too large for
            # a float, unknown keys of mixed types (text and numbers) in a nested mapping.
            problem = f"invalid value ({error})"
            raise self._field_error(environment, name, (), problem) from None

    def _field_error(
        self, environment: str | None, name: str, field_path: tuple[Any, ...], problem: str
    ) -> InputError:
        """Locate a problem with field ``field_path`` of flag ``name``: at the override when
        ``environment``'s profile overrides that field, else at the base definition (when no
        profile is involved) or at the profile's entry for the flag."""
        first, rest = (field_path[0], field_path[1:]) if field_path else (None, ())
        if environment is None:
            key = _key_for(self.base.get(name, {}), first)
            path = ("flags", name) + ((key,) if first is not None else ()) + rest
            return self._error(path, problem)
        override = self.profiles.get(environment, {}).get(name) or {}
        key = _key_for(override, first) if first is not None else None
        here = ("profiles", environment, name)
        if first is not None and key in override:
            return self._error(here + (key,) + rest, problem)
        path = here + ((first,) if first is not None else ()) + rest
        return self._error(path, f"{problem} (with the {environment} profile applied)")

    def _prerequisite_error(
        self, environment: str | None, name: str, index: int, inner: str, problem: str
    ) -> InputError:
        """An error at prerequisite ``index`` of flag ``name``, at its ``inner`` key ("flag"
        or "variants") when the entry is written as a mapping."""
        override = (self.profiles.get(environment, {}).get(name) or {}) if environment else {}
        mapping = override if "prerequisites" in override else self.base.get(name, {})
        entries = mapping.get("prerequisites")
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        path: tuple[Any, ...] = ("prerequisites", index)
        if isinstance(entry, Mapping) and inner in entry:
            path += (inner,)
        return self._field_error(environment, name, path, problem)

    def _check_prerequisites(self, environment: str | None, flags: dict[str, FeatureFlag]) -> None:
        problem = prerequisite_problem(flags, _hint)
        if problem is not None:
            raise self._prerequisite_error(environment, *problem)
        cycle = prerequisite_cycle(flags)
        if cycle is None:
            return
        start = 0
        if environment is not None:  # the base has no cycle: some flag here has new prerequisites
            overrides = self.profiles.get(environment, {})
            changed = [
                i
                for i, name in enumerate(cycle[:-1])
                if "prerequisites" in (overrides.get(name) or {})
            ]
            start = changed[0] if changed else 0
        cycle = cycle[start:-1] + cycle[:start] + [cycle[start]]
        first, second = cycle[0], cycle[1]
        index = next(i for i, p in enumerate(flags[first].prerequisites) if p.flag == second)
        problem = f"prerequisite cycle: {' -> '.join(cycle)}"
        raise self._prerequisite_error(environment, first, index, "flag", problem)

    def _error(self, path: tuple[Any, ...], problem: str, *, line: bool = True) -> InputError:
        return _error(self._src, path, problem, line=line)


def load_flag_file(path: str | os.PathLike[str]) -> FlagFile:
    """Read and validate a flag file (YAML or JSON, by suffix); see the module docstring.

    Any problem is one ``InputError`` (exit code 2) naming the file, line and key; a file that
    cannot be read for lack of permission is a ``PermissionDeniedError`` (exit code 3).
    """
    path = Path(path)
    kind = _format_of(path)
    data, source = _read_json(path) if kind == "json" else _read_yaml(path)
    base, profiles = _Reader(source).read(data)
    flag_file = FlagFile(path, base, profiles)
    flag_file._source = source
    flag_file._validate()
    return flag_file


def new_flag_file(path: str | os.PathLike[str]) -> FlagFile:
    """An empty ``FlagFile`` to be saved at ``path`` (nothing is written yet)."""
    path = Path(path)
    _format_of(path)
    return FlagFile(path, {}, {})


# --- reading the structure ---------------------------------------------------------------------


class _Reader:
    """The file's shape: top-level keys, flag names, mappings where mappings belong, profile
    environments and the flags they override. Field values are the model's job."""

    def __init__(self, source: YamlSource) -> None:
        self.source = source

    def read(
        self, data: Any
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
        if data is None:  # an empty file
            return {}, {}
        if not isinstance(data, Mapping):
            problem = (
                f"expected a mapping with the keys 'flags' and 'profiles', got {_describe(data)}"
            )
            raise self.error((), problem)
        for key in data:
            self.known(key, TOP_LEVEL_KEYS, (), "top-level key")
        base = self.flags(data.get("flags"))
        return base, self.profiles(data.get("profiles"), base)

    def flags(self, value: Any) -> dict[str, dict[str, Any]]:
        path = ("flags",)
        self.mapping(value, path, "a mapping of flag names to flags")
        base: dict[str, dict[str, Any]] = {}
        for name, body in (value or {}).items():
            if not isinstance(name, str):
                problem = f"a flag name must be text, got {_describe(name)} (quote it)"
                raise self.error(path, problem, line_at=path + (name,))
            if not NAME_PATTERN.fullmatch(name):
                problem = (
                    "bad flag name: start with a letter or digit, then use letters, digits, _ . : -"
                )
                raise self.error(path + (name,), problem)
            self.mapping(
                body, path + (name,), "a mapping of fields (or nothing, for a disabled flag)"
            )
            base[name] = dict(body or {})
        return base

    def profiles(self, value: Any, base: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
        path = ("profiles",)
        self.mapping(value, path, "a mapping of environments to overrides")
        profiles: dict[str, dict[str, dict[str, Any]]] = {}
        for environment, body in (value or {}).items():
            self.known(environment, ENVIRONMENTS, path, "environment")
            here = path + (environment,)
            self.mapping(body, here, "a mapping of flag names to overrides")
            overrides: dict[str, dict[str, Any]] = {}
            for name, override in (body or {}).items():
                if name not in base:
                    hint = _hint(name, base) if isinstance(name, str) else ""
                    problem = (
                        f"no flag {_show(name)} under 'flags'{hint}; "
                        "a profile can only override a flag defined there"
                    )
                    raise self.error(here + (name,), problem)
                self.mapping(override, here + (name,), "a mapping of the fields to override")
                overrides[name] = dict(override or {})
            profiles[environment] = overrides
        return profiles

    def mapping(self, value: Any, path: tuple[Any, ...], expected: str) -> None:
        if value is not None and not isinstance(value, Mapping):
            raise self.error(path, f"expected {expected}, got {_describe(value)}")

    def known(self, key: Any, allowed: tuple[str, ...], parent: tuple[Any, ...], what: str) -> None:
        if not isinstance(key, str):
            problem = f"a {what} must be text, got {_describe(key)}"
            raise self.error(parent, problem, line_at=parent + (key,))
        if key not in allowed:
            raise self.error(
                parent + (key,), f"unknown {what} {_show(key)}; {_suggest(key, allowed)}"
            )

    def error(
        self, path: tuple[Any, ...], problem: str, *, line_at: tuple[Any, ...] | None = None
    ) -> InputError:
        return _error(self.source, path, problem, line_at=line_at)


# --- reading the text ---------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    kind = FLAG_FILE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputError(
            _one_line(
                f"{path}: a {WHAT} must end in .yaml, .yml or .json, "
                f"not {path.suffix or 'nothing'!r}"
            )
        )
    return kind


def _read_yaml(path: Path) -> tuple[Any, YamlSource]:
    try:
        return read_yaml_document(path, WHAT)
    except ConfigError as error:  # same text; flag files are input files, so InputError
        raise InputError(str(error)) from None


def _read_json(path: Path) -> tuple[Any, YamlSource]:
    text = read_text(path, WHAT, InputError)
    source = YamlSource(str(path))
    if not text.strip():  # an empty file: no flags, as with YAML
        return None, source
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        where = f"{path}:{error.lineno}:{error.colno}"
        raise InputError(_one_line(f"{where}: invalid JSON: {error.msg}")) from None
    except _DuplicateKey as duplicate:
        lines, duplicates = _json_lines(text)
        source.lines.update(lines)
        found = [at for at in duplicates if at[-1] == duplicate.key] or duplicates
        if found:
            raise _error(source, found[0], "duplicate key") from None
        raise InputError(
            _one_line(f"{path}: invalid JSON: duplicate key {_show(duplicate.key)}")
        ) from None
    except _NotJson as constant:
        raise InputError(f"{path}: invalid JSON: {constant.token} is not a JSON value") from None
    except RecursionError:
        raise InputError(f"{path}: invalid JSON: nested too deeply") from None
    except ValueError as error:  # an integer too long to convert
        raise InputError(_one_line(f"{path}: invalid JSON: {error}")) from None
    source.lines.update(_json_lines(text)[0])
    return data, source


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _NotJson(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constant(token: str) -> Any:
    raise _NotJson(token)  # NaN, Infinity, -Infinity: Python's extension, not JSON


def _json_lines(text: str) -> tuple[dict[tuple[Any, ...], int], list[tuple[Any, ...]]]:
    """The line of every key path of a JSON text, by composing it as YAML (which JSON nearly
    is), and the paths of repeated keys; ``({}, [])`` when PyYAML cannot compose it."""
    import yaml

    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        return {}, []
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[tuple[Any, ...]] = []
    pending = [(root, ())] if root is not None else []
    while pending:
        node, path = pending.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if node.id == "sequence":
            pending.extend((item, path + (index,)) for index, item in enumerate(node.value))
        elif node.id == "mapping":
            seen = set()
            for key_node, value_node in node.value:
                if key_node.id != "scalar":
                    continue
                here = path + (key_node.value,)
                if key_node.value in seen:
                    duplicates.append(here)
                    lines[here] = key_node.start_mark.line + 1
                    continue
                seen.add(key_node.value)
                lines.setdefault(here, key_node.start_mark.line + 1)
                pending.append((value_node, here))
    return lines, duplicates


# --- helpers ----------------------------------------------------------------------------------


def _error(
    source: YamlSource,
    path: tuple[Any, ...],
    problem: str,
    *,
    line_at: tuple[Any, ...] | None = None,
    line: bool = True,
) -> InputError:
    """``file:line: dotted.path: problem`` as one line, the line being that of the nearest
    enclosing key of ``line_at`` (default ``path``) that has one."""
    located = path if line_at is None else line_at
    while located and located not in source.lines:
        located = located[:-1]
    number = source.lines.get(located) if line else None
    parts = (source.where(number), _dotted(path), problem)
    return InputError(_one_line(": ".join(part for part in parts if part)))


def _hint(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a known name is close to ``name``, else nothing."""
    close = _closest(str(name), list(known))
    return f" (did you mean {close!r}?)" if close else ""


def _suggest(word: str, choices: Sequence[str]) -> str:
    close = _closest(word, choices)
    return f"did you mean {close!r}?" if close else f"expected one of {', '.join(choices)}"


def _closest(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` most likely meant, ignoring case: a close spelling, or the only
    choice that starts with it (``prod`` for ``production``)."""
    by_lower = {choice.lower(): choice for choice in choices}
    lowered = word.lower()
    close = difflib.get_close_matches(lowered, list(by_lower), n=1)
    if close:
        return by_lower[close[0]]
    starting = [
        choice for lower, choice in by_lower.items() if lowered and lower.startswith(lowered)
    ]
    return starting[0] if len(starting) == 1 else None


def _check_environment(environment: str) -> None:
    if environment not in ENVIRONMENTS:
        raise InputError(
            _one_line(
                f"unknown environment {_show(environment)}; "
                f"{_suggest(str(environment), ENVIRONMENTS)}"
            )
        )


def _key_for(mapping: Mapping[str, Any], field_name: Any) -> Any:
    """The key ``mapping`` uses for ``field_name``: itself or an alias; itself if absent."""
    if field_name in mapping:
        return field_name
    for alias, target in FIELD_ALIASES.items():
        if target == field_name and alias in mapping:
            return alias
    return field_name


def _check_json_keys(value: Any) -> None:
    """Refuse mapping keys that ``json.dumps`` would silently turn into text (``1: x`` in a
    YAML payload), so a saved JSON file loads back to the same values."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"the key {_show(key)} is not text, and JSON keys are")
            _check_json_keys(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_keys(item)


def _plain(value: Any, *, payload: bool = False) -> Any:
    """``value`` as YAML/JSON data: mappings and lists copied, enums as their values, times as
    RFC 3339 text in UTC with ``Z`` (a naive time is UTC), dates as ``YYYY-MM-DD``. Inside a
    variant's ``payload`` only the containers are copied (tuples become lists)."""
    if isinstance(value, Mapping):
        return {
            key: _plain(item, payload=payload or key == "payload") for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_plain(item, payload=payload) for item in value]
    if payload:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value
