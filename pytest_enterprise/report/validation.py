"""Checks a document against report.schema.json, fast enough for reports of many thousand tests.

The general ``jsonschema`` validator takes about 0.45 ms per test of a report (36 s for the
80,000 tests of eight 10,000-test shards), so reading reports back (``enterprise merge``,
``enterprise history import``) would spend nearly all its time there. The report schema uses a
handful of keywords; this module compiles them once into nested closures that check a value
in a few microseconds. A keyword it does not know makes compiling fail, so a schema change
that needs more cannot be silently ignored. The tests compare its verdicts with ``jsonschema``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

__all__ = ["SchemaViolation", "compile_schema", "report_violation"]

Check = Callable[[Any], None]

# Keywords that only describe: they never make a document invalid.
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description"})


class SchemaViolation(Exception):
    """``path`` is where in the document (keys and indexes), ``reason`` what is wrong there."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []

    def where(self) -> str:
        return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in self.path).lstrip(".")

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason


def _json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: ``true`` is not ``1``, but ``1`` is ``1.0``."""
    if (type(left) is bool) != (type(right) is bool):
        return False
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_json_equal(left[key], right[key]) for key in left)
    return left == right


def compile_schema(schema: Any) -> Check:
    """A function that returns None for a valid value and raises ``SchemaViolation`` else."""
    if schema is True or schema == {}:
        return lambda value: None
    if not isinstance(schema, dict):
        raise ValueError(f"unsupported schema {schema!r}")
    unknown = sorted(set(schema) - _ANNOTATIONS - set(_KEYWORDS))
    if unknown:
        raise ValueError(f"schema keyword(s) {', '.join(unknown)} not supported by report.validation")
    checks = []
    for keyword, argument in schema.items():
        if keyword not in _ANNOTATIONS:
            check = _KEYWORDS[keyword](argument, schema)
            if check is not None:
                checks.append(check)
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:  # the most common case, unrolled: this runs per value
        first, second = checks

        def check_both(value: Any) -> None:
            first(value)
            second(value)

        return check_both

    def check_all(value: Any) -> None:
        for check in checks:
            check(value)

    return check_all


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


def _type(argument: Any, schema: dict[str, Any]) -> Check:
    names = [argument] if isinstance(argument, str) else list(argument)
    # type() is exact, so a bool is never taken for an int: JSON has no such overlap.
    allowed = frozenset(kind for name in names for kind in _PYTHON_TYPES[name])
    integral_floats = "integer" in names and "number" not in names  # 1.0 is an integer in JSON
    wanted = " or ".join(names)

    def check(value: Any) -> None:
        if type(value) in allowed or (integral_floats and type(value) is float and value.is_integer()):
            return
        raise SchemaViolation(f"{_show(value)} is not of type {wanted}")

    return check


def _enum(argument: Any, schema: dict[str, Any]) -> Check:
    allowed = list(argument)
    plain = {item for item in allowed if item is None or type(item) is str}
    simple = len(plain) == len(allowed)  # strings and null: a set lookup decides

    def check(value: Any) -> None:
        if simple:
            if (value is None or type(value) is str) and value in plain:
                return
        elif any(_json_equal(value, item) for item in allowed):
            return
        raise SchemaViolation(f"{_show(value)} is not one of {allowed!r}")

    return check


def _const(argument: Any, schema: dict[str, Any]) -> Check:
    def check(value: Any) -> None:
        if not _json_equal(value, argument):
            raise SchemaViolation(f"{_show(value)} is not {argument!r}")

    return check


def _bound(keyword: str, holds: Callable[[Any, Any], bool]) -> Callable[[Any, dict[str, Any]], Check]:
    def compile_bound(limit: Any, schema: dict[str, Any]) -> Check:
        def check(value: Any) -> None:
            if type(value) in (int, float) and not holds(value, limit):
                raise SchemaViolation(f"{_show(value)} breaks {keyword} {limit}")

        return check

    return compile_bound


def _length(keyword: str, kind: type, holds: Callable[[int, int], bool]) -> Callable[[Any, dict[str, Any]], Check]:
    def compile_length(limit: int, schema: dict[str, Any]) -> Check:
        def check(value: Any) -> None:
            if type(value) is kind and not holds(len(value), limit):
                raise SchemaViolation(f"length {len(value)} breaks {keyword} {limit}")

        return check

    return compile_length


def _pattern(argument: str, schema: dict[str, Any]) -> Check:
    search = re.compile(argument).search

    def check(value: Any) -> None:
        if type(value) is str and search(value) is None:
            raise SchemaViolation(f"{_show(value)} does not match {argument!r}")

    return check


def _required(argument: list[str], schema: dict[str, Any]) -> Check:
    names = tuple(argument)

    def check(value: Any) -> None:
        if type(value) is dict:
            for name in names:
                if name not in value:
                    raise SchemaViolation(f"{name!r} is required")

    return check


# A compiled subschema: (types that make any value of theirs valid, or None; string or null
# values that are valid, or None; the full check). The first two let a container skip the call
# for the common leaf (``{"type": "string"}``, an enum of names): checking a report costs
# about one call per value, so the calls saved are most of the time.
_Compiled = tuple[frozenset[type] | None, frozenset[Any] | None, Check]


def _compiled(schema: Any) -> _Compiled:
    check = compile_schema(schema)
    if not isinstance(schema, dict):
        return None, None, check
    keys = set(schema) - _ANNOTATIONS
    types = None
    if keys == {"type"}:
        names = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if "integer" not in names or "number" in names:
            types = frozenset(kind for name in names for kind in _PYTHON_TYPES[name])
    values = None
    if keys <= {"type", "enum"} and "enum" in keys:
        allowed = schema["enum"]
        if all(item is None or type(item) is str for item in allowed) and _all_valid(check, allowed):
            values = frozenset(allowed)
    return types, values, check


def _all_valid(check: Check, values: list[Any]) -> bool:
    try:
        for value in values:
            check(value)
    except SchemaViolation:
        return False
    return True


def _check_one(compiled: _Compiled, value: Any) -> None:
    types, values, check = compiled
    if types is not None and type(value) in types:
        return
    if values is not None and (value is None or type(value) is str) and value in values:
        return
    check(value)


def _properties(argument: dict[str, Any], schema: dict[str, Any]) -> Check:
    compiled = {name: _compiled(sub) for name, sub in argument.items()}
    extra = schema.get("additionalProperties", True)
    extra_check = None if extra is True or extra is False else _compiled(extra)
    closed = extra is False

    def check(value: Any) -> None:
        if type(value) is not dict:
            return
        for name, item in value.items():
            entry = compiled.get(name)
            if entry is None:
                if closed:
                    raise SchemaViolation(f"property {name!r} is not allowed")
                if extra_check is None:
                    continue
                entry = extra_check
            types, values, check_item = entry
            if types is not None and type(item) in types:
                continue
            if values is not None and (item is None or type(item) is str) and item in values:
                continue
            try:
                check_item(item)
            except SchemaViolation as violation:
                violation.path.insert(0, name)
                raise

    return check


def _additional_properties(argument: Any, schema: dict[str, Any]) -> Check | None:
    if "properties" in schema:
        return None  # checked with the properties, which it depends on
    return _properties({}, schema)


def _items(argument: Any, schema: dict[str, Any]) -> Check:
    """``items`` and ``prefixItems`` together: the first checks the values after the prefix."""
    prefix = [_compiled(sub) for sub in schema.get("prefixItems", ())]
    rest = None if argument is None else _compiled(argument)

    def check(value: Any) -> None:
        if type(value) is not list:
            return
        for index, item in enumerate(value):
            entry = prefix[index] if index < len(prefix) else rest
            if entry is None:
                break
            try:
                _check_one(entry, item)
            except SchemaViolation as violation:
                violation.path.insert(0, index)
                raise

    return check


def _prefix_items(argument: list[Any], schema: dict[str, Any]) -> Check | None:
    return None if "items" in schema else _items(None, schema)


def _one_of(argument: list[Any], schema: dict[str, Any]) -> Check:
    compiled = [compile_schema(sub) for sub in argument]

    def check(value: Any) -> None:
        matches = 0
        for check_one in compiled:
            try:
                check_one(value)
            except SchemaViolation:
                continue
            matches += 1
        if matches != 1:
            raise SchemaViolation(
                f"{_show(value)} matches {'none' if not matches else matches} of the {len(compiled)} allowed forms"
            )

    return check


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], Check | None]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "minimum": _bound("minimum", lambda value, limit: value >= limit),
    "maximum": _bound("maximum", lambda value, limit: value <= limit),
    "minLength": _length("minLength", str, lambda size, limit: size >= limit),
    "minItems": _length("minItems", list, lambda size, limit: size >= limit),
    "maxItems": _length("maxItems", list, lambda size, limit: size <= limit),
    "pattern": _pattern,
    "required": _required,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "items": _items,
    "prefixItems": _prefix_items,
    "oneOf": _one_of,
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@lru_cache(maxsize=1)
def _report_check() -> Check:
    from .json_report import load_schema

    return compile_schema(load_schema())


def report_violation(document: Any) -> SchemaViolation | None:
    """Why ``document`` is not a valid report under report.schema.json; None when it is."""
    try:
        _report_check()(document)
    except SchemaViolation as violation:
        return violation
    except RecursionError:
        return SchemaViolation("nested too deeply")
    return None
