"""The guide's helpers: ``@enterprise_feature`` and ``conditional_execution``.

Both take the manager to ask (default: the project's ``flag_manager``) and never swallow an
error: an exception raised while a flag is on is counted on the flag (and feeds its canary
guard), then re-raised, unless the decorator was told to fall back on errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from ..errors import UsageError
from .manager import FlagManager

__all__ = ["FeatureDisabledError", "conditional_execution", "enterprise_feature"]

F = TypeVar("F", bound=Callable[..., Any])


class FeatureDisabledError(UsageError):
    """A feature's flag is off for this call and the feature has no fallback."""


def _project_manager() -> FlagManager:
    from .feature_flags import flag_manager

    return flag_manager


def enterprise_feature(
    name: str,
    description: str = "",
    default: bool = False,
    *,
    fallback_on_error: bool = False,
    manager: FlagManager | None = None,
) -> Callable[[F], F]:
    """Run the decorated function when flag ``name`` is on for the call's ``user_id`` keyword
    argument, else its ``.fallback``. Until the flag is defined it serves ``default``.

    With ``fallback_on_error=True``, an exception from the feature is recorded and logged, and
    the fallback answers instead; otherwise the exception propagates (still recorded).
    """
    flags = manager if manager is not None else _project_manager()
    flags.declare(name, description, default)

    def decorate(func: F) -> F:
        is_enabled = flags.is_enabled
        guarded = flags.guarded
        # The manager mutates this dict in place and never rebinds it. Reading a flag's
        # constant answer here, as is_enabled would, saves a call on the common path.
        entries = flags._entries
        fallback: list[Callable[..., Any]] = []  # a cell the .fallback decorator fills

        def recover(error: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            flags.record_error(name, error)
            if fallback_on_error and fallback:
                return fallback[0](*args, **kwargs)
            raise error

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            entry = entries.get(name)
            if entry is not None and entry.static is not None:
                entry.calls += 1
                enabled = entry.static
            else:
                enabled = is_enabled(name, kwargs.get("user_id"))
            if enabled:
                try:
                    result = func(*args, **kwargs)
                except Exception as error:
                    return recover(error, args, kwargs)
                if name in guarded:
                    flags.record_outcome(name, "on", True)
                return result
            if fallback:
                return fallback[0](*args, **kwargs)
            raise FeatureDisabledError(
                f"feature {name!r} is off for this call and {func.__qualname__} has no fallback;"
                f" add one with @{func.__name__}.fallback"
            )

        def set_fallback(alternative: Callable[..., Any]) -> Callable[..., Any]:
            fallback[:] = [alternative]
            return alternative

        wrapper.fallback = set_fallback  # type: ignore[attr-defined]
        wrapper.flag_name = name  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def conditional_execution(
    name: str,
    user_id: Any = None,
    context: Mapping[str, Any] | None = None,
    *,
    manager: FlagManager | None = None,
) -> Iterator[bool]:
    """``with conditional_execution("beta", user_id=u) as enabled: ...``. An exception from
    the block while the flag is on is recorded on the flag, then propagates."""
    flags = manager if manager is not None else _project_manager()
    enabled = flags.is_enabled(name, user_id, context)
    try:
        yield enabled
    except Exception as error:
        if enabled:
            flags.record_error(name, error)
        raise
    if enabled and name in flags.guarded:
        flags.record_outcome(name, "on", True)
