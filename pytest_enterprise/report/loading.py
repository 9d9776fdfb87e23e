"""Reading a JSON report file back: one loader for every command that takes reports as input
(``enterprise merge``, ``enterprise history import``, ``enterprise telemetry report --input``).

Every way a file can be wrong is one ``InputError`` naming the file (and the key, for a schema
violation), so the CLI prints one line and exits 2 before anything is written or stored.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .json_report import TOOL_NAME


@dataclass
class ReportFile:
    """A report as read from ``path``: its exact bytes, their SHA-256 and the parsed document."""

    path: Path
    raw: bytes
    sha256: str
    data: dict[str, Any]


def read_bytes(path: Path) -> bytes:
    from ..files import read_bytes as read_input

    return read_input(path, what="report file")


def parse_json(path: Path, raw: bytes) -> Any:
    try:
        with no_gc():
            return json.loads(raw)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not valid JSON: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise InputError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON: nested too deeply") from None
    except ValueError as error:  # an integer too long to convert
        raise InputError(f"{path}: not valid JSON: {str(error).splitlines()[0]}") from None


def read_json(path: Path) -> Any:
    return parse_json(path, read_bytes(path))


def load_report(path: str | Path, raw: bytes | None = None) -> ReportFile:
    """A pytest-enterprise run report, checked against report.schema.json (``raw``: the
    file's bytes, when the caller has read them already)."""
    from .validation import report_violation

    path = Path(path)
    if raw is None:
        raw = read_bytes(path)
    data = parse_json(path, raw)
    tool = data.get("tool") if isinstance(data, dict) else None
    if not isinstance(tool, dict) or tool.get("name") != TOOL_NAME or not isinstance(data.get("run"), dict):
        raise InputError(f"{path}: not a pytest-enterprise run report (no tool.name {TOOL_NAME!r} and run section)")
    violation = report_violation(data)
    if violation is not None:
        raise InputError(f"{path}: does not match the report schema at {violation}")
    return ReportFile(path, raw, hashlib.sha256(raw).hexdigest(), data)


@contextmanager
def no_gc() -> Iterator[None]:
    """Parsing a report makes millions of objects and no cycles; the cyclic collector would
    walk them all again and again (a third of the time for a 10,000-test report)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()

