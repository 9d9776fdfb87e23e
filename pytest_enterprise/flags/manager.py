"""FlagManager: evaluates flags, applies changes with an audit trail, guards canaries and
records A/B events.

Evaluation is built for the hot path. Each flag is *compiled* into an ``_Entry`` when it is
set: a flag whose answer cannot depend on the user or the time (enabled for all users,
disabled, or overridden in a test) gets a constant ``static`` answer, so ``is_enabled`` is one
dict lookup, one counter and one attribute read. Other flags get a ``decide`` closure
specialised for their strategy; percentage decisions are cached per user id. The precedence:

1. an override (``override()``, the ``feature_flags`` fixture, a flag-variant test);
2. the kill switch: status ``disabled`` is off before any targeting;
3. the ``start_date``/``end_date`` window;
4. prerequisites, each evaluated for the same user;
5. the strategy: all users, percentage, user list (or group), gradual ramp, or canary.

Without a user id, a percentage-based strategy includes nobody below 100 %: a bucket needs an
identity, and a random answer would make tests flaky.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mmh3

from ..audit import AuditLog, MemoryAuditLog, default_actor, make_event
from ..errors import UsageError
from ..timeutil import format_timestamp, utc_now
from .bucketing import VARIANT_SEED, bucket
from .model import (
    FeatureFlag,
    FlagFieldError,
    FlagStatus,
    FlagType,
    RolloutStrategy,
    did_you_mean,
    prerequisite_cycle,
    prerequisite_problem,
)

if TYPE_CHECKING:
    from ..store.location import StoreLocation

__all__ = [
    "FlagManager",
    "UnknownFlagError",
    "UnknownFlagWarning",
    "check_prerequisites",
    "majority_value",
    "previous_serving_status",
]

log = logging.getLogger("pytest_enterprise.flags")

CACHE_LIMIT = 65_536  # per flag; the cache is dropped whole when full (cheaper than LRU)
FLUSH_EVERY = 1_000  # A/B events buffered before a write to the store
EXPOSURE = "exposure"


class UnknownFlagError(UsageError):
    """A flag name that the manager does not know, where a known one is required."""


class UnknownFlagWarning(UserWarning):
    """A flag was evaluated that is neither defined nor declared; its default was served."""


def check_prerequisites(flags: Mapping[str, FeatureFlag]) -> None:
    """Every prerequisite names a known flag (and its variants), and none leads back to where
    it started; else a ``FlagFieldError`` at the first broken one."""
    problem = prerequisite_problem(flags)
    if problem is not None:
        name, index, inner, text = problem
        raise FlagFieldError(name, ("prerequisites", index) + (() if inner == "flag" else (inner,)), text)
    cycle = prerequisite_cycle(flags)
    if cycle is not None:
        raise FlagFieldError(cycle[0], ("prerequisites",), f"prerequisites form a cycle: {' -> '.join(cycle)}")


class _Entry:
    """A compiled flag plus its evaluation counters."""

    __slots__ = ("calls", "decide", "flag", "on", "prior_calls", "prior_on", "static", "values")

    def __init__(self, flag: FeatureFlag | None) -> None:
        self.flag = flag  # None: only declared by code (a decorator), not defined
        self.static: bool | None = None
        self.decide: Callable[[Any, Any], bool] = _never
        self.calls = 0
        self.on = 0  # dynamic evaluations that were on
        self.prior_calls = 0  # totals of the entries this one replaced
        self.prior_on = 0
        self.values: dict[str, int] = {}  # get_variant answers

    def totals(self) -> tuple[int, int]:
        on = self.on + (self.calls if self.static else 0)
        return self.prior_calls + self.calls, self.prior_on + on


def _never(user_id: Any, context: Any) -> bool:
    return False


class FlagManager:
    """Holds flags and answers for them. Thread-safe for evaluation; counters are best effort
    under concurrent threads."""

    def __init__(
        self,
        flags: Iterable[FeatureFlag] = (),
        *,
        clock: Callable[[], datetime] = utc_now,
        audit: AuditLog | None = None,
        store_path: str | Path | StoreLocation | None = None,
        actor: str | None = None,
    ) -> None:
        self.clock = clock
        self.audit: AuditLog = audit if audit is not None else MemoryAuditLog()
        # Where A/B events go: a SQLite file, a postgresql:// URL or a StoreLocation (None:
        # kept in memory). Kept as given; open_store reads each of them.
        self.store_path = store_path
        self.actor = actor
        self._lock = threading.RLock()  # changes only; evaluation reads without it
        self._flags: dict[str, FeatureFlag] = {}
        self._entries: dict[str, _Entry] = {}
        self._declared: dict[str, tuple[str, bool]] = {}  # name -> (description, default)
        # Flags created by code in this process (create_flag), not loaded from a file: a test
        # run keeps those a conftest made before the run loaded its flag file.
        self.created: set[str] = set()
        self._overrides: dict[str, str] = {}
        self._warned: set[str] = set()
        self._windows: dict[str, deque[tuple[datetime, bool]]] = {}
        self._outcomes: dict[tuple[str, str], list[int]] = {}  # (flag, variant) -> [ok, failed]
        self._pending: list[tuple[Any, ...]] = []  # A/B events not yet in the store
        self._memory_events: list[tuple[Any, ...]] = []  # A/B events without a store
        self._loader: Callable[[FlagManager], None] | None = None
        # Names of serving flags with a canary guard; mutated in place, never rebound, so
        # decorators may hold it and ask ``name in guarded`` on their hot path.
        self.guarded: set[str] = set()
        self.trip_note: str | None = None  # appended to the reason of a canary auto-disable
        self.trips: dict[str, str] = {}  # flag -> why its canary guard disabled it
        self._errors: dict[str, int] = {}
        self.set_flags(flags)

    # -- loading --------------------------------------------------------------------------

    def set_flags(self, flags: Iterable[FeatureFlag]) -> None:
        """Replace every flag at once (loading a file is not a change, so it is not audited).
        Counters, declarations and overrides are kept; a declared flag that ``flags`` does not
        define is defined from its declaration (see ``declare``)."""
        new = {flag.name: flag for flag in flags}
        for name in self._declared.keys() - new.keys():
            new[name] = self._declared_flag(name)
        check_prerequisites(new)
        with self._lock:
            self._loader = None
            self._flags = new
            for name in list(self._entries):
                if name not in new and name not in self._declared:
                    del self._entries[name]
            for name in sorted(set(new) | set(self._declared)):
                self._recompile(name)

    def load_lazily(self, loader: Callable[[FlagManager], None]) -> None:
        """Call ``loader(self)`` once, at the first question about a flag it may define."""
        with self._lock:
            self._loader = loader
            for name in self._declared:
                if self.defined_by_declaration(name):
                    # Defined only by its declaration: the load may define it, so its next
                    # evaluation must miss, and load.
                    self._flags = {key: flag for key, flag in self._flags.items() if key != name}
                    self._entries.pop(name, None)

    def _ensure_loaded(self) -> bool:
        loader, self._loader = self._loader, None
        if loader is None:
            return False
        loader(self)
        return True

    # -- evaluation (hot path) ------------------------------------------------------------

    def is_enabled(
        self, name: str, user_id: Any = None, context: Mapping[str, Any] | None = None,
        *, default: bool = False,
    ) -> bool:  # fmt: skip
        """Whether flag ``name`` is on for ``user_id`` (and ``context``: ``groups``)."""
        entry = self._entries.get(name)
        if entry is None:
            return self._unknown(name, default, user_id, context)
        entry.calls += 1
        static = entry.static
        if static is None:
            if entry.decide(user_id, context):
                entry.on += 1
                return True
            return False
        return static

    def get_variant(
        self, name: str, user_id: Any = None, context: Mapping[str, Any] | None = None
    ) -> str:
        """``on``/``off`` for a boolean flag; otherwise the user's variant. A user the flag does
        not include (or no user at all) gets the first variant, the control."""
        entry = self._entries.get(name)
        if entry is None:
            if self._ensure_loaded():
                return self.get_variant(name, user_id, context)
            return "on" if self._unknown(name, False, user_id, context) else "off"
        entry.calls += 1
        value = self._variant(entry, user_id, context)
        if entry.static is None and entry.flag is not None and value != entry.flag.off_value:
            entry.on += 1
        entry.values[value] = entry.values.get(value, 0) + 1
        return value

    def _variant(self, entry: _Entry, user_id: Any, context: Any) -> str:
        flag = entry.flag
        if flag is None:  # declared only
            return "on" if entry.static else "off"
        override = self._overrides.get(flag.name)
        if override is not None:
            return override
        included = entry.static if entry.static is not None else entry.decide(user_id, context)
        if not included:
            return flag.off_value
        if flag.type is FlagType.BOOLEAN:
            return "on"
        if user_id is None:
            return flag.variants[0].name
        return _weighted_variant(flag, str(user_id))

    def _unknown(self, name: str, default: bool, user_id: Any, context: Any) -> bool:
        if self._ensure_loaded():
            return self.is_enabled(name, user_id, context, default=default)
        if name not in self._warned:
            self._warned.add(name)
            warnings.warn(
                f"pytest-enterprise: unknown feature flag {name!r}{did_you_mean(name, self._flags)};"
                f" serving its default ({default})",
                UnknownFlagWarning,
                stacklevel=_caller_level(),
            )
        return default

    def _includes(self, name: str, user_id: Any, context: Any) -> bool:
        """``is_enabled`` without counting, for prerequisites and A/B tracking."""
        entry = self._entries[name]
        return entry.static if entry.static is not None else entry.decide(user_id, context)

    # -- compiling ------------------------------------------------------------------------

    def _recompile(self, name: str) -> None:
        flag = self._flags.get(name)
        old = self._entries.get(name)
        entry = _Entry(flag)
        if old is not None:
            entry.prior_calls, entry.prior_on = old.totals()
            entry.values = old.values
        override = self._overrides.get(name)
        if flag is None:
            entry.static = self._declared[name][1] if override is None else override == "on"
        elif override is not None:
            entry.static = override != flag.off_value or flag.type is FlagType.VARIANT
        elif not flag.serving:
            entry.static = False
        elif _is_static(flag):
            entry.static = True
        else:
            entry.decide = self._decider(flag)
        self._entries[name] = entry
        if flag is not None and flag.canary is not None and flag.serving:
            self.guarded.add(name)
        else:
            self.guarded.discard(name)

    def _decider(self, flag: FeatureFlag) -> Callable[[Any, Any], bool]:
        target = self._targeting(flag)
        if not (flag.start_date or flag.end_date or flag.prerequisites):
            return target
        clock, start, end = self.clock, flag.start_date, flag.end_date
        prerequisites = flag.prerequisites
        includes, variant = self._includes, self._variant
        entries = self._entries

        def decide(user_id: Any, context: Any) -> bool:
            if start is not None or end is not None:
                now = clock()
                if (start is not None and now < start) or (end is not None and now >= end):
                    return False
            for prerequisite in prerequisites:
                if not includes(prerequisite.flag, user_id, context):
                    return False
                wanted = prerequisite.variants
                if wanted and variant(entries[prerequisite.flag], user_id, context) not in wanted:
                    return False
            return target(user_id, context)

        return decide

    def _targeting(self, flag: FeatureFlag) -> Callable[[Any, Any], bool]:
        strategy = flag.strategy
        if strategy is RolloutStrategy.ALL_USERS:
            return _always
        if strategy is RolloutStrategy.USER_LIST:
            users, groups = frozenset(flag.users), frozenset(flag.groups)

            def listed(user_id: Any, context: Any) -> bool:
                if user_id is not None and str(user_id) in users:
                    return True
                return bool(groups) and not groups.isdisjoint(_groups_of(context))

            return listed
        group = flag.bucket_group or flag.name
        cache: dict[Any, int] = {}

        def bucket_of(user_id: Any) -> int:
            found = cache.get(user_id)
            if found is None:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                found = cache[user_id] = bucket(str(user_id), group)
            return found

        if strategy is RolloutStrategy.GRADUAL:
            ramp, to_percentage, clock = flag.gradual, flag.rollout_percentage, self.clock
            assert ramp is not None

            def ramping(user_id: Any, context: Any) -> bool:
                percentage = ramp.percentage_at(clock(), to_percentage)
                if percentage >= 100:
                    return True
                return user_id is not None and percentage > 0 and bucket_of(user_id) <= percentage

            return ramping
        percentage = flag.rollout_percentage  # PERCENTAGE and CANARY
        if percentage >= 100:
            return _always
        if percentage <= 0:
            return _never
        decided: dict[Any, bool] = {}
        prefix = f"{group}:"
        murmur = mmh3.hash

        def rolled_out(user_id: Any, context: Any) -> bool:
            hit = decided.get(user_id)
            if hit is None:
                if user_id is None:
                    return False
                if len(decided) >= CACHE_LIMIT:
                    decided.clear()
                # bucket(), inlined: this is the uncached hot path.
                # As bytes: mmh3 given a str with a lone surrogate crashes (bucketing.bucket).
                key = (prefix + str(user_id)).encode("utf-8", "surrogatepass")
                hit = decided[user_id] = murmur(key, 0, False) % 100 + 1 <= percentage
            return hit

        return rolled_out

    # -- overrides ------------------------------------------------------------------------

    def set_override(self, name: str, value: bool | str) -> None:
        """Serve ``value`` for ``name`` to everyone until ``clear_override``: True/False or
        on/off for a boolean flag, a variant name otherwise. Not a change, so not audited."""
        if self._loader is not None:
            self._ensure_loaded()
        with self._lock:
            self._overrides[name] = self._override_value(name, value)
            self._recompile(name)

    def clear_override(self, name: str) -> None:
        with self._lock:
            if self._overrides.pop(name, None) is not None and (
                name in self._flags or name in self._declared
            ):
                self._recompile(name)

    @contextmanager
    def override(self, name: str, value: bool | str) -> Iterator[None]:
        """``with manager.override("new_ui", True): ...``; the previous state comes back."""
        previous = self._overrides.get(name)
        self.set_override(name, value)
        try:
            yield
        finally:
            if previous is None:
                self.clear_override(name)
            else:
                self.set_override(name, previous)

    def overrides(self) -> dict[str, str]:
        return dict(self._overrides)

    def _override_value(self, name: str, value: bool | str) -> str:
        flag = self._flags.get(name)
        if flag is None and name not in self._declared:
            raise UnknownFlagError(f"cannot override unknown flag {name!r}{did_you_mean(name, self._flags)}")
        choices = flag.variant_names if flag is not None else ("on", "off")
        if isinstance(value, bool):
            if flag is not None and flag.type is FlagType.VARIANT:
                raise UsageError(
                    f"flag {name!r} has variants {', '.join(choices)}; override it with one of them"
                )
            return "on" if value else "off"
        if value not in choices:
            raise UsageError(f"flag {name!r} has no variant {value!r}; choose {', '.join(choices)}")
        return value

    # -- reading flags --------------------------------------------------------------------

    def get_flag(self, name: str) -> FeatureFlag:
        if self._loader is not None:
            self._ensure_loaded()
        flag = self._flags.get(name)
        if flag is None:
            raise UnknownFlagError(f"unknown flag {name!r}{did_you_mean(name, self._flags)}")
        return flag

    @property
    def flags(self) -> dict[str, FeatureFlag]:
        """A snapshot of the defined flags, by name."""
        if self._loader is not None:
            self._ensure_loaded()
        return dict(self._flags)

    def declare(self, name: str, description: str = "", default: bool = False) -> None:
        """Code declares a flag it uses (``@enterprise_feature`` does). Unless a flag file
        defines it, the declaration defines it: status ``enabled`` (``default=True``) or
        ``disabled`` (``default=False``), strategy ``all_users``, and ``description``. It then
        serves ``default`` to everyone, and ``get_flag``, ``update_flag``, ``enable`` and the
        metrics treat it as any other flag. Defining it this way is not a change, so it is not
        audited; the first ``update_flag`` is, with the declared flag as its before."""
        with self._lock:
            self._declared[name] = (description, default)
            # While a lazy load is pending, leave the name undefined: its first evaluation
            # must miss, so that it triggers the load that may define it.
            if self._loader is None and (name not in self._flags or name not in self._entries):
                self._flags = {**self._flags, name: self._declared_flag(name)}
                self._recompile(name)

    def defined_by_declaration(self, name: str) -> bool:
        """Whether flag ``name`` is defined only by a ``declare`` (no file, no change)."""
        return name in self._declared and self._flags.get(name) == self._declared_flag(name)

    def _declared_flag(self, name: str) -> FeatureFlag:
        description, default = self._declared[name]
        return FeatureFlag(
            name=name,
            description=description,
            status=FlagStatus.ENABLED if default else FlagStatus.DISABLED,
            strategy=RolloutStrategy.ALL_USERS,
        )

    def declared_default(self, name: str) -> bool | None:
        found = self._declared.get(name)
        return None if found is None else found[1]

    # -- changes (audited) ----------------------------------------------------------------

    def create_flag(
        self, name: str, description: str = "", *, actor: str | None = None,
        reason: str | None = None, **fields: Any,
    ) -> FeatureFlag:  # fmt: skip
        """Define a new flag; ``fields`` are FeatureFlag fields (``rollout_strategy`` too)."""
        if "rollout_strategy" in fields:
            fields["strategy"] = fields.pop("rollout_strategy")
        if self._loader is not None:
            self._ensure_loaded()
        existing = self._flags.get(name)
        if existing is not None and not self.defined_by_declaration(name):
            raise UsageError(f"flag {name!r} already exists; use update_flag to change it")
        flag = FeatureFlag(name=name, description=description, **fields)
        # A flag only declared by code may be created: the declaration is its "before".
        self._apply(existing, flag, "create", actor, reason)
        return flag

    def update_flag(
        self, name: str, *, actor: str | None = None, reason: str | None = None,
        action: str = "update", **changes: Any,
    ) -> FeatureFlag:  # fmt: skip
        """Change fields of flag ``name``; validated, audited, effective at once."""
        before = self.get_flag(name)
        after = before.changed(**changes)
        if after != before:
            self._apply(before, after, action, actor, reason)
        return after

    def enable(
        self, name: str, *, actor: str | None = None, reason: str | None = None,
        status: FlagStatus | str | None = None,
    ) -> FeatureFlag:  # fmt: skip
        """Switch a disabled flag back on, to ``status``, else to the status it had before it
        was last disabled (a rollout resumes as a rollout), else ``enabled``. A flag that
        already serves is left alone."""
        flag = self.get_flag(name)
        if flag.serving:
            return flag
        if status is None:
            status = previous_serving_status(self.audit.events("flag", name)) or FlagStatus.ENABLED
        return self.update_flag(name, status=status, actor=actor, reason=reason, action="enable")

    def disable(self, name: str, *, actor: str | None = None, reason: str | None = None) -> FeatureFlag:
        return self.update_flag(name, status=FlagStatus.DISABLED, actor=actor, reason=reason, action="disable")

    def delete_flag(self, name: str, *, actor: str | None = None, reason: str | None = None) -> None:
        before = self.get_flag(name)
        dependants = [f.name for f in self._flags.values() if any(p.flag == name for p in f.prerequisites)]
        if dependants:
            raise UsageError(f"flag {name!r} is a prerequisite of {', '.join(sorted(dependants))}")
        self._apply(before, None, "delete", actor, reason)

    def _apply(
        self, before: FeatureFlag | None, after: FeatureFlag | None, action: str,
        actor: str | None, reason: str | None,
    ) -> None:  # fmt: skip
        name = (after or before).name  # type: ignore[union-attr]
        with self._lock:
            candidate = dict(self._flags)
            if after is None:
                candidate.pop(name, None)
            else:
                candidate[name] = after
            check_prerequisites(candidate)
            # Audit first: a change that cannot be recorded does not happen.
            self.audit.record(
                make_event(
                    "flag", name, action,
                    before=before.to_dict() if before else None,
                    after=after.to_dict() if after else None,
                    actor=actor or self.actor or default_actor(),
                    reason=reason,
                    now=self.clock(),
                )
            )  # fmt: skip
            self._flags = candidate
            if action == "create":
                self.created.add(name)
            elif after is None:
                self.created.discard(name)
            if after is None and name not in self._declared:
                self._entries.pop(name, None)
            else:
                self._recompile(name)
            for other in candidate.values():  # dependants read the new answer
                if any(p.flag == name for p in other.prerequisites):
                    self._recompile(other.name)
            self._windows.pop(name, None)

    def audit_events(self, name: str | None = None) -> list[Any]:
        return self.audit.events("flag", name)

    # -- canary guard ---------------------------------------------------------------------

    def record_outcome(self, name: str, variant: str, ok: bool) -> bool:
        """Count one outcome of code run under ``variant`` of flag ``name``. For a flag with
        a canary guard, returns True when this outcome tripped the guard and disabled it."""
        flag = self.get_flag(name)
        counts = self._outcomes.setdefault((name, variant), [0, 0])
        counts[0 if ok else 1] += 1
        guard = flag.canary
        if guard is None or not flag.serving or variant == flag.off_value:
            return False
        now = self.clock()
        window = self._windows.get(name)
        if window is None or window.maxlen != guard.window:
            window = self._windows[name] = deque(window or (), maxlen=guard.window)
        window.append((now, bool(ok)))
        if guard.window_seconds is not None:
            while window and (now - window[0][0]).total_seconds() > guard.window_seconds:
                window.popleft()
        total = len(window)
        failures = sum(1 for _, passed in window if not passed)
        if total < guard.min_outcomes or failures / total <= guard.error_threshold:
            return False
        span = f" within {guard.window_seconds:g} s" if guard.window_seconds is not None else ""
        reason = (
            f"canary guard: {failures} of the last {total} outcomes of variant {variant!r}"
            f"{span} failed ({failures / total:.1%}), above the threshold of "
            f"{guard.error_threshold:.1%}"
        )
        self.trips[name] = reason
        log.warning("flag %r auto-disabled: %s", name, reason)
        self.update_flag(
            name, status=FlagStatus.DISABLED, actor="pytest-enterprise canary guard",
            reason=f"{reason} ({self.trip_note})" if self.trip_note else reason,
            action="auto-disable",
        )  # fmt: skip
        return True

    def record_error(self, name: str, error: BaseException) -> None:
        """Count an exception raised by the code a flag turned on (see ``enterprise_feature``);
        a defined boolean flag also gets a failed ``on`` outcome, which feeds its canary."""
        self._errors[name] = self._errors.get(name, 0) + 1
        log.warning("feature %r raised %s: %s", name, type(error).__name__, error)
        flag = self._flags.get(name)
        if flag is not None and flag.type is FlagType.BOOLEAN:
            self.record_outcome(name, "on", False)

    def outcome_counts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """``(flag, variant) -> (ok, failed)`` of every recorded outcome."""
        return {key: (ok, failed) for key, (ok, failed) in self._outcomes.items()}

    # -- metrics --------------------------------------------------------------------------

    def evaluation_counts(self) -> dict[str, dict[str, Any]]:
        """Per flag: ``calls``, how many were ``on`` (included), and get_variant answers."""
        counts = {}
        for name, entry in self._entries.items():
            calls, on = entry.totals()
            if calls:
                counts[name] = {"calls": calls, "on": on, "values": dict(entry.values)}
        return counts

    def get_metrics_summary(self) -> dict[str, Any]:
        """``total_flags``, ``enabled_flags`` (those not disabled), and per flag its status,
        strategy, calls and on/off counts; plus unknown flags that were asked for."""
        flags = self.flags
        counts = self.evaluation_counts()
        per_flag = {}
        for name in sorted(set(flags) | set(counts)):
            flag = flags.get(name)
            seen = counts.get(name, {"calls": 0, "on": 0, "values": {}})
            per_flag[name] = {
                "status": flag.status.value if flag else "declared",
                "strategy": flag.strategy.value if flag else None,
                "calls": seen["calls"],
                "on": seen["on"],
                "off": seen["calls"] - seen["on"],
                "variants": seen["values"],
                "errors": self._errors.get(name, 0),
            }
        return {
            "total_flags": len(flags),
            "enabled_flags": sum(1 for flag in flags.values() if flag.serving),
            "flag_calls": {name: data["calls"] for name, data in per_flag.items()},
            "flags": per_flag,
            "unknown_flags": sorted(self._warned),
        }

    # -- A/B experiments ------------------------------------------------------------------

    def track(self, name: str, user_id: Any, metric: str = EXPOSURE, value: float | None = None) -> str | None:
        """Record an A/B event for ``user_id``: an exposure, a conversion (``value`` None) or
        a numeric ``value`` of ``metric``. Returns the user's variant, or None when the flag
        does not include the user in its experiment (nothing is recorded then)."""
        flag = self.get_flag(name)
        if user_id is None:
            raise UsageError(f"track({name!r}, ...) needs a user_id: experiments compare users")
        if not isinstance(metric, str) or not metric:
            raise UsageError(f"track({name!r}, ...): metric must be a non-empty name")
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UsageError(f"track({name!r}, {metric!r}): value must be a finite number, got {value!r}")
            if metric == EXPOSURE:
                raise UsageError(f"track({name!r}): {EXPOSURE!r} takes no value")
        entry = self._entries[name]
        if flag.type is FlagType.VARIANT and not self._includes(name, user_id, None):
            return None
        variant = self._variant(entry, user_id, None)
        event = (name, variant, str(user_id), metric, None if value is None else float(value))
        stamped = event + (format_timestamp(self.clock()),)
        with self._lock:
            if self.store_path is None:
                self._memory_events.append(stamped)
            else:
                self._pending.append(stamped)
                if len(self._pending) >= FLUSH_EVERY:
                    self.flush()
        return variant

    def flush(self) -> int:
        """Write buffered A/B events to the store; returns how many."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending or self.store_path is None:
            return 0
        from ..store import open_store

        try:
            with open_store(self.store_path, clock=self.clock) as store:
                return store.record_experiment_events(pending)
        except BaseException:
            with self._lock:  # keep them for the next attempt
                self._pending[:0] = pending
            raise

    def experiment_events(self, name: str) -> list[tuple[str, str, str, float | None]]:
        """``(variant, user_id, metric, value)`` of the flag's experiment, oldest first."""
        self.flush()
        if self.store_path is None:
            return [event[1:5] for event in self._memory_events if event[0] == name]
        from ..store import open_store

        with open_store(self.store_path, clock=self.clock) as store:
            return store.experiment_events(name)

    def experiment_results(self, name: str, **options: Any) -> Any:
        """The statistics of the flag's experiment (``flags.experiment.ExperimentReport``);
        ``options`` go to ``analyze_experiment`` (alpha, correction, minimum_detectable_effect,
        power, confidence)."""
        from .experiment import analyze_experiment
        from .experiment_data import experiment_data

        data = experiment_data(self.get_flag(name), self.experiment_events(name))
        return analyze_experiment(data, **options)


def previous_serving_status(events: Iterable[Any]) -> str | None:
    """The status a flag had before its latest switch to disabled, from its audit events."""
    import json

    for event in reversed(list(events)):
        after = json.loads(event.after_json) if event.after_json else {}
        before = json.loads(event.before_json) if event.before_json else {}
        if after.get("status") == FlagStatus.DISABLED.value and before.get("status"):
            return None if before["status"] == FlagStatus.DISABLED.value else before["status"]
    return None


def _caller_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package (the
    user's line), however many of our frames (a lazy load, a decorator, a ``with``) sit in
    between. Runs once per unknown flag name."""
    level, frame = 2, sys._getframe(2)
    while frame is not None and (
        frame.f_globals.get("__name__", "").startswith("pytest_enterprise.flags.")
        or frame.f_globals.get("__name__") == "contextlib"  # conditional_execution's with
    ):
        frame = frame.f_back
        level += 1
    return level


def _always(user_id: Any, context: Any) -> bool:
    return True


def _is_static(flag: FeatureFlag) -> bool:
    """Whether a serving flag answers the same for every user at every time."""
    if flag.start_date or flag.end_date or flag.prerequisites:
        return False
    strategy = flag.strategy
    if strategy is RolloutStrategy.ALL_USERS:
        return True
    if strategy in (RolloutStrategy.PERCENTAGE, RolloutStrategy.CANARY):
        return flag.rollout_percentage >= 100
    return False


def _groups_of(context: Any) -> Iterable[str]:
    if not context:
        return ()
    groups = context.get("groups")
    if groups is None:
        group = context.get("group")
        return () if group is None else (str(group),)
    return (groups,) if isinstance(groups, str) else [str(g) for g in groups]


def _weighted_variant(flag: FeatureFlag, user_id: str) -> str:
    """Unleash's variant assignment: a bucket in 1..total weight, with the variant seed, walked
    through the cumulative weights. Weights that are not whole numbers are scaled to 1/10,000."""
    weights = [variant.weight for variant in flag.variants]
    if not all(float(weight).is_integer() for weight in weights):
        total = sum(weights)
        weights = [round(weight / total * 10_000) for weight in weights]
    total = int(sum(weights))
    target = bucket(user_id, flag.bucket_group or flag.name, buckets=total, seed=VARIANT_SEED)
    reached = 0.0
    for variant, weight in zip(flag.variants, weights):
        reached += weight
        if reached >= target:
            return variant.name
    return flag.variants[-1].name  # unreachable: the walk ends at the total


def majority_value(flag: FeatureFlag, flags: Mapping[str, FeatureFlag], now: datetime) -> str:
    """The value most users get from ``flag`` at ``now``: its production default when
    ``flags`` are the production profile's. A rollout counts as on from 50 %; a user list
    includes a minority; a variant flag serves its heaviest variant (the first, on ties)."""
    if not flag.serving:
        return flag.off_value
    if (flag.start_date and now < flag.start_date) or (flag.end_date and now >= flag.end_date):
        return flag.off_value
    for prerequisite in flag.prerequisites:
        value = majority_value(flags[prerequisite.flag], flags, now)
        required = prerequisite.flag
        if value == flags[required].off_value and flags[required].type is FlagType.BOOLEAN:
            return flag.off_value
        if prerequisite.variants and value not in prerequisite.variants:
            return flag.off_value
    strategy = flag.strategy
    if strategy is RolloutStrategy.ALL_USERS:
        share = 100.0
    elif strategy is RolloutStrategy.USER_LIST:
        share = 0.0
    elif strategy is RolloutStrategy.GRADUAL:
        assert flag.gradual is not None
        share = flag.gradual.percentage_at(now, flag.rollout_percentage)
    else:
        share = flag.rollout_percentage
    if share < 50:
        return flag.off_value
    if flag.type is FlagType.BOOLEAN:
        return "on"
    heaviest = max(variant.weight for variant in flag.variants)
    return next(variant.name for variant in flag.variants if variant.weight == heaviest)
