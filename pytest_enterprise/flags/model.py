"""The feature-flag model: plain, frozen, validated values.

A ``FeatureFlag`` is immutable: every change is a new flag built with ``FeatureFlag.changed``,
so the manager can record the exact before and after of each change in the audit log.
Validation happens once, when a flag is built, and every problem names the flag and the field,
e.g. ``flag 'new_ui': rollout_percentage: must be between 0 and 100, got 150``. Strings from
files and the CLI (``"enabled"``, ``"ab-test"``) are coerced to the enums, or refused with the
accepted values listed.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timezone
from enum import Enum
from typing import Any

from ..config import describe_value as _describe
from ..errors import InputError
from ..timeutil import parse_timestamp

__all__ = [
    "CanaryGuard",
    "FeatureFlag",
    "FlagFieldError",
    "FlagStatus",
    "FlagType",
    "GradualRamp",
    "Prerequisite",
    "RolloutStrategy",
    "Variant",
    "did_you_mean",
    "prerequisite_cycle",
    "prerequisite_problem",
]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
DEFAULT_AB_VARIANTS = (("control", 50), ("treatment", 50))
#: Other names accepted for fields in files and ``from_dict`` (the guide's, and plain words).
FIELD_ALIASES = {"rollout_strategy": "strategy", "user_list": "users", "flag_type": "type"}


class FlagFieldError(InputError):
    """A flag field has a bad value. ``field`` is a tuple path inside the flag's mapping."""

    def __init__(self, flag: str, field_path: tuple[Any, ...], problem: str) -> None:
        self.flag = flag
        self.field_path = field_path
        self.problem = problem
        where = _dotted(field_path)
        super().__init__(f"flag {flag!r}: {where + ': ' if where else ''}{problem}")


def _dotted(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Choice(str, Enum):
    """An enum whose values are the lower-case words used in files and on the command line."""

    @classmethod
    def coerce(cls, value: Any) -> Any:
        """The member for ``value``: a member, its value or its name in any case, ``-`` or ``_``."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            for member in cls:
                if key == member.value:
                    return member
        choices = [member.value for member in cls]
        close = difflib.get_close_matches(str(value).lower(), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown value {value!r}; expected one of {', '.join(choices)}{hint}")

    def __str__(self) -> str:
        return self.value


class FlagStatus(_Choice):
    """Whether a flag serves at all. DISABLED is the kill switch, checked before targeting."""

    ENABLED = "enabled"
    DISABLED = "disabled"
    ROLLOUT = "rollout"
    AB_TEST = "ab_test"
    DEPRECATED = "deprecated"  # still serves as configured; reported so it gets removed


class RolloutStrategy(_Choice):
    """Who a serving flag is on for."""

    ALL_USERS = "all_users"
    PERCENTAGE = "percentage"
    USER_LIST = "user_list"
    GRADUAL = "gradual"  # a percentage that rises with time
    CANARY = "canary"  # a small percentage, auto-disabled when its error rate is too high


class FlagType(_Choice):
    BOOLEAN = "boolean"  # variants "on" and "off"
    VARIANT = "variant"  # named, weighted variants; the first is the control


@dataclass(frozen=True)
class Variant:
    name: str
    weight: float = 1
    payload: Any = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.payload is not None:
            data["payload"] = self.payload
        return data


@dataclass(frozen=True)
class Prerequisite:
    """Another flag that must be on (and, when ``variants`` is given, serve one of them)."""

    flag: str
    variants: tuple[str, ...] = ()

    def to_dict(self) -> Any:
        return {"flag": self.flag, "variants": list(self.variants)} if self.variants else self.flag


@dataclass(frozen=True)
class GradualRamp:
    """The percentage rises linearly from ``from_percentage`` at ``start`` to the flag's
    ``rollout_percentage`` at ``end``; before ``start`` it is ``from_percentage``."""

    start: datetime
    end: datetime
    from_percentage: float = 0.0

    def percentage_at(self, now: datetime, to_percentage: float) -> float:
        if now <= self.start:
            return self.from_percentage
        if now >= self.end:
            return to_percentage
        elapsed = (now - self.start) / (self.end - self.start)
        return self.from_percentage + (to_percentage - self.from_percentage) * elapsed

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _rfc3339(self.start),
            "end": _rfc3339(self.end),
            "from_percentage": self.from_percentage,
        }


@dataclass(frozen=True)
class CanaryGuard:
    """Auto-disable the flag when, among its ``window`` most recent outcomes (and only those of
    the last ``window_seconds``, when set), at least ``min_outcomes`` exist and the share that
    failed is above ``error_threshold``."""

    error_threshold: float = 0.05
    window: int = 100
    min_outcomes: int = 20
    window_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "error_threshold": self.error_threshold,
            "window": self.window,
            "min_outcomes": self.min_outcomes,
        }
        if self.window_seconds is not None:
            data["window_seconds"] = self.window_seconds
        return data


@dataclass(frozen=True)
class FeatureFlag:
    """One flag. Build it with keywords or ``from_dict``; either way it is validated."""

    name: str
    description: str = ""
    status: FlagStatus = FlagStatus.DISABLED
    strategy: RolloutStrategy = RolloutStrategy.ALL_USERS
    rollout_percentage: float = 100.0
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    start_date: datetime | None = None  # off before
    end_date: datetime | None = None  # off after
    owner: str | None = None
    tags: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()
    prerequisites: tuple[Prerequisite, ...] = ()
    type: FlagType | None = None  # None: VARIANT when variants are declared or AB_TEST
    expires_at: datetime | None = None  # past it, the flag is reported stale
    gradual: GradualRamp | None = None
    canary: CanaryGuard | None = None
    bucket_group: str | None = None  # hash group for bucketing; default the flag's name

    def __post_init__(self) -> None:
        _Validator(self).run()

    # -- building -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> FeatureFlag:
        """A flag from file data: ``{"status": "rollout", "rollout_percentage": 25, ...}``."""
        if not isinstance(data, Mapping):
            raise FlagFieldError(name, (), f"expected a mapping of fields, got {_describe(data)}")
        known = {f.name for f in fields(cls)} - {"name"}
        values: dict[str, Any] = {}
        for key, value in data.items():
            target = FIELD_ALIASES.get(key, key)
            if target not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise FlagFieldError(name, (key,), f"unknown field{hint}; fields: {', '.join(sorted(known))}")
            if target in values:
                raise FlagFieldError(name, (key,), f"given twice (as {target!r} too)")
            values[target] = value
        return cls(name=name, **values)

    def changed(self, **changes: Any) -> FeatureFlag:
        """A validated copy with ``changes``; ``rollout_strategy`` is accepted for ``strategy``."""
        if "rollout_strategy" in changes:
            changes["strategy"] = changes.pop("rollout_strategy")
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise FlagFieldError(self.name, (_first(unknown),), "unknown field")
        if "name" in changes and changes["name"] != self.name:
            raise FlagFieldError(self.name, ("name",), "a flag cannot be renamed; create a new one")
        return replace(self, **changes)

    # -- reading --------------------------------------------------------------------------

    @property
    def rollout_strategy(self) -> RolloutStrategy:
        """The guide's name for ``strategy``."""
        return self.strategy

    @property
    def serving(self) -> bool:
        """Whether the flag serves at all (not switched off)."""
        return self.status is not FlagStatus.DISABLED

    @property
    def variant_names(self) -> tuple[str, ...]:
        """The values a test can run the flag at: on/off, or the named variants."""
        if self.type is FlagType.BOOLEAN:
            return ("on", "off")
        return tuple(variant.name for variant in self.variants)

    @property
    def off_value(self) -> str:
        """What a user the flag does not include gets: ``off``, or the control variant."""
        return "off" if self.type is FlagType.BOOLEAN else self.variants[0].name

    def to_dict(self) -> dict[str, Any]:
        """File data: every field that differs from its default, in declaration order."""
        data: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "name":
                continue
            value = getattr(self, f.name)
            if f.name == "type" and value is _inferred_type(self.variants, self.status):
                continue
            if f.name != "status" and value == _DEFAULTS[f.name]:
                continue
            data[f.name] = _plain(value)
        return data


def _inferred_type(variants: tuple[Variant, ...], status: FlagStatus) -> FlagType:
    return FlagType.VARIANT if variants or status is FlagStatus.AB_TEST else FlagType.BOOLEAN


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _rfc3339(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _first(keys: Iterable[Any]) -> str:
    """The first of some unknown keys, whatever their types, for a stable message."""
    return sorted(map(str, keys))[0]


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _parse_moment(text: str) -> datetime | date:
    text = text.strip()
    if len(text) == 10:  # 2027-03-01
        return date.fromisoformat(text)
    return parse_timestamp(text)


class _Validator:
    """Coerces and checks each field of a just-built flag, in place (the flag is frozen, so
    through ``object.__setattr__``, the documented way for ``__post_init__``)."""

    def __init__(self, flag: FeatureFlag) -> None:
        self.flag = flag
        self.name = flag.name

    def fail(self, path: tuple[Any, ...] | str, problem: str) -> FlagFieldError:
        return FlagFieldError(self.name, (path,) if isinstance(path, str) else path, problem)

    def set(self, name: str, value: Any) -> None:
        object.__setattr__(self.flag, name, value)

    def run(self) -> None:
        flag = self.flag
        if not isinstance(flag.name, str) or not NAME_PATTERN.fullmatch(flag.name):
            raise FlagFieldError(
                str(flag.name), ("name",),
                "must start with a letter or digit and use only letters, digits, _ . : -",
            )  # fmt: skip
        self.set("description", self.text("description", flag.description, optional=False))
        self.set("owner", self.text("owner", flag.owner))
        self.set("status", self.choice("status", FlagStatus, flag.status))
        self.set("strategy", self.choice("strategy", RolloutStrategy, flag.strategy))
        self.set("rollout_percentage", self.percentage(("rollout_percentage",), flag.rollout_percentage))
        self.set("users", self.words("users", flag.users))
        self.set("groups", self.words("groups", flag.groups))
        self.set("tags", self.words("tags", flag.tags))
        for key in ("start_date", "end_date", "expires_at"):
            self.set(key, self.moment((key,), getattr(flag, key)))
        if flag.start_date and flag.end_date and flag.start_date >= flag.end_date:
            raise self.fail("end_date", "must be after start_date")
        self.set("bucket_group", self.text("bucket_group", flag.bucket_group))
        self.set("variants", self.variants(flag.variants))
        kind = _inferred_type(flag.variants, flag.status) if flag.type is None else self.choice("type", FlagType, flag.type)
        if kind is FlagType.BOOLEAN and flag.variants:
            raise self.fail("variants", "a boolean flag has no named variants; set type: variant")
        if kind is FlagType.VARIANT and not flag.variants:
            if flag.status is not FlagStatus.AB_TEST:
                raise self.fail("variants", "a variant flag needs at least one variant")
            self.set("variants", tuple(Variant(name, weight) for name, weight in DEFAULT_AB_VARIANTS))
        self.set("type", kind)
        self.set("prerequisites", self.prerequisites(flag.prerequisites))
        self.set("gradual", self.gradual(flag.gradual))
        if flag.strategy is RolloutStrategy.GRADUAL and flag.gradual is None:
            raise self.fail("gradual", "strategy gradual needs a ramp: {start, end, from_percentage}")
        self.set("canary", self.canary(flag.canary))

    def text(self, key: str, value: Any, *, optional: bool = True) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {_describe(value)}")
        return value

    def choice(self, key: str, enum: type[_Choice], value: Any) -> Any:
        try:
            return enum.coerce(value)
        except ValueError as error:
            raise self.fail(key, str(error)) from None

    def percentage(self, path: tuple[Any, ...], value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(path, f"expected a number from 0 to 100, got {_describe(value)}")
        if not _finite(value):
            raise self.fail(path, f"expected a finite number from 0 to 100, got {_describe(value)}")
        if not 0 <= value <= 100:
            raise self.fail(path, f"must be between 0 and 100, got {value:g}")
        return float(value)

    def number(self, path: tuple[Any, ...], value: Any, *, minimum: float, integer: bool = False) -> Any:
        wanted = "a whole number" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
            raise self.fail(path, f"expected {wanted}, got {_describe(value)}")
        if not _finite(value):
            raise self.fail(path, f"expected a finite number, got {_describe(value)}")
        if value < minimum:
            raise self.fail(path, f"must be at least {minimum:g}, got {value:g}")
        return value

    def words(self, key: str | tuple[Any, ...], value: Any) -> tuple[str, ...]:
        path = key if isinstance(key, tuple) else (key,)
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise self.fail(path, f"expected a list of text, got {_describe(value)}")
        items = tuple(value)
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise self.fail(path + (index,), f"expected non-empty text, got {_describe(item)}")
        return items

    def moment(self, path: tuple[Any, ...], value: Any) -> datetime | None:
        """A timezone-aware UTC datetime; a date means its midnight UTC, naive times are UTC."""
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = _parse_moment(value)
            except ValueError:
                raise self.fail(path, f"expected an RFC 3339 time or a date, got {value!r}") from None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            raise self.fail(path, f"expected an RFC 3339 time or a date, got {_describe(value)}")
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def variants(self, value: Any) -> tuple[Variant, ...]:
        if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
            raise self.fail("variants", f"expected a list of variants, got {_describe(value)}")
        result: list[Variant] = []
        for index, item in enumerate(value):
            path = ("variants", index)
            if isinstance(item, str):
                item = Variant(item)
            elif isinstance(item, Mapping):
                unknown = set(item) - {"name", "weight", "payload"}
                if unknown:
                    raise self.fail(path + (_first(unknown),), "unknown key; variants take name, weight, payload")
                if "name" not in item:
                    raise self.fail(path, "missing the variant's name")
                item = Variant(item["name"], item.get("weight", 1), item.get("payload"))
            elif not isinstance(item, Variant):
                raise self.fail(path, f"expected a variant name or mapping, got {_describe(item)}")
            if not isinstance(item.name, str) or not NAME_PATTERN.fullmatch(item.name):
                raise self.fail(path + ("name",), f"bad variant name {item.name!r}: use letters, digits, _ . : -")
            if any(seen.name == item.name for seen in result):
                raise self.fail(path + ("name",), f"variant {item.name!r} is declared twice")
            weight = self.number(path + ("weight",), item.weight, minimum=0)
            result.append(Variant(item.name, weight, item.payload))
        if result and sum(v.weight for v in result) <= 0:
            raise self.fail("variants", "the weights add up to 0; give at least one a positive weight")
        return tuple(result)

    def prerequisites(self, value: Any) -> tuple[Prerequisite, ...]:
        if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
            raise self.fail("prerequisites", f"expected a list of flag names, got {_describe(value)}")
        result = []
        for index, item in enumerate(value):
            path = ("prerequisites", index)
            if isinstance(item, str):
                item = Prerequisite(item)
            elif isinstance(item, Mapping):
                unknown = set(item) - {"flag", "variants"}
                if unknown or "flag" not in item:
                    raise self.fail(path, "expected {flag: NAME, variants: [..]}")
                variants = item.get("variants") or ()
                item = Prerequisite(item["flag"], self.words(path + ("variants",), variants))
            elif not isinstance(item, Prerequisite):
                raise self.fail(path, f"expected a flag name, got {_describe(item)}")
            if not isinstance(item.flag, str) or not item.flag:
                raise self.fail(path, "expected a flag name")
            if item.flag == self.name:
                raise self.fail(path, "a flag cannot be its own prerequisite")
            result.append(item)
        return tuple(result)

    def gradual(self, value: Any) -> GradualRamp | None:
        if value is None or isinstance(value, GradualRamp):
            ramp = value
        elif isinstance(value, Mapping):
            unknown = set(value) - {"start", "end", "from_percentage"}
            if unknown:
                raise self.fail(("gradual", _first(unknown)), "unknown key; a ramp takes start, end, from_percentage")
            for key in ("start", "end"):
                if value.get(key) is None:
                    raise self.fail(("gradual", key), "missing; the ramp needs a start and an end time")
            ramp = GradualRamp(value["start"], value["end"], value.get("from_percentage", 0.0))
        else:
            raise self.fail("gradual", f"expected a mapping {{start, end, from_percentage}}, got {_describe(value)}")
        if ramp is None:
            return None
        start = self.moment(("gradual", "start"), ramp.start)
        end = self.moment(("gradual", "end"), ramp.end)
        assert start is not None and end is not None
        if start >= end:
            raise self.fail(("gradual", "end"), "must be after the ramp's start")
        begin = self.percentage(("gradual", "from_percentage"), ramp.from_percentage)
        if begin > self.flag.rollout_percentage:
            raise self.fail(
                ("gradual", "from_percentage"),
                f"{begin:g} is above rollout_percentage {self.flag.rollout_percentage:g}; "
                "a rollout only rises, so users never leave it",
            )
        return GradualRamp(start, end, begin)

    def canary(self, value: Any) -> CanaryGuard | None:
        if value is None:
            return CanaryGuard() if self.flag.strategy is RolloutStrategy.CANARY else None
        if isinstance(value, Mapping):
            allowed = {"error_threshold", "window", "min_outcomes", "window_seconds"}
            unknown = set(value) - allowed
            if unknown:
                raise self.fail(("canary", _first(unknown)), f"unknown key; a guard takes {', '.join(sorted(allowed))}")
            value = CanaryGuard(**value)
        if not isinstance(value, CanaryGuard):
            raise self.fail("canary", f"expected a mapping, got {_describe(value)}")
        threshold = self.number(("canary", "error_threshold"), value.error_threshold, minimum=0)
        if threshold > 1:
            raise self.fail(("canary", "error_threshold"), f"is a fraction from 0 to 1, got {threshold:g}")
        window = self.number(("canary", "window"), value.window, minimum=1, integer=True)
        least = self.number(("canary", "min_outcomes"), value.min_outcomes, minimum=1, integer=True)
        if least > window:
            raise self.fail(("canary", "min_outcomes"), f"{least} is more than the window of {window}")
        seconds = value.window_seconds
        if seconds is not None:
            seconds = self.number(("canary", "window_seconds"), seconds, minimum=0)
        return CanaryGuard(float(threshold), window, least, seconds)


_DEFAULTS = {f.name: f.default for f in fields(FeatureFlag)}  # for ``to_dict``


def prerequisite_problem(
    flags: Mapping[str, FeatureFlag], hint: Callable[[str, Iterable[str]], str] | None = None
) -> tuple[str, int, str, str] | None:
    """The first prerequisite, in flag order, that names an unknown flag or variant, as
    ``(flag, index, "flag" or "variants", problem)``; ``hint`` adds a did-you-mean."""
    hint = hint or did_you_mean
    for flag in flags.values():
        for index, prerequisite in enumerate(flag.prerequisites):
            target = flags.get(prerequisite.flag)
            if target is None:
                return flag.name, index, "flag", f"unknown flag {prerequisite.flag!r}{hint(prerequisite.flag, flags)}"
            for variant in prerequisite.variants:
                if variant not in target.variant_names:
                    shown = ", ".join(target.variant_names)
                    return flag.name, index, "variants", f"flag {target.name!r} has no variant {variant!r}; its variants: {shown}"
    return None


def prerequisite_cycle(flags: Mapping[str, FeatureFlag]) -> list[str] | None:
    """A cycle ``[a, b, a]`` in the prerequisite graph, found depth first in flag order."""
    edges = {name: [p.flag for p in flag.prerequisites] for name, flag in flags.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in edges:
        if root in state:
            continue
        state[root] = 1
        path = [root]
        stack = [iter(edges[root])]
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif following in edges and state.get(following) == 1:
                return path[path.index(following) :] + [following]
            elif following in edges and following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(edges[following]))
    return None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when a known name is close to ``name``, else nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
