"""Atomic file output: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import EnterpriseError, InputError, PermissionDeniedError


@contextmanager
def atomic_writer(path: str | os.PathLike[str], *, binary: bool = False) -> Iterator[IO[Any]]:
    """Yield a text (or binary) file that replaces ``path`` only when the block finishes
    without error.

    The data goes to a temp file in the same folder, is fsynced, then ``os.replace``d over the
    target; on any error the temp file is removed and the target is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except PermissionError as exc:
        raise PermissionDeniedError(f"{target}: cannot write here ({exc.strerror})") from None
    try:
        opened = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        with opened as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_writer``)."""
    with atomic_writer(path) as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_writer``)."""
    with atomic_writer(path, binary=True) as handle:
        handle.write(data)
    return Path(path)


def read_bytes(
    path: str | os.PathLike[str], what: str = "file", error: type[EnterpriseError] = InputError
) -> bytes:
    """The bytes of an input file; each way it can be unreadable is one ``error`` naming the
    file and ``what`` it should be (permission problems are ``PermissionDeniedError``, exit 3)."""
    file = Path(path)
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise error(f"{file}: {what} not found") from None
    except IsADirectoryError:
        raise error(f"{file}: is a directory, expected a {what}") from None
    except PermissionError:
        raise PermissionDeniedError(f"{file}: permission denied reading the {what}") from None
    except OSError as problem:
        raise error(f"{file}: cannot read the {what}: {problem.strerror}") from None
