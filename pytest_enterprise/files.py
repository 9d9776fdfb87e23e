"""Files the tool writes and edits: atomic output, honest modes, one-line errors, edit locks.

The conventions (docs/design.md, "Files"):

* **Atomic.** A regular file is written to a temp file in its own folder, fsynced, then
  ``os.replace``d over the target: a reader sees the old file or the new one, never half.
* **Modes.** A new file gets ``0666 & ~umask``, like any file a shell creates; we never read
  the umask (reading it means setting it, which races other threads): the temp file is created
  with mode 0666 and the kernel applies the umask. Overwriting a regular file keeps its
  permission bits (and, where allowed, as root always, its owner and group). ``private=True``
  makes a file 0600 (less whatever the umask removes), new or not.
* **What is at the path.** A symlink is written through: the temp file goes beside the link's
  final target, which is replaced; the link stays. A character or block device or a FIFO is
  written directly (``/dev/null``, ``/dev/stdout``); so is a path that names this process's own
  standard output or error, even when that is a regular file (``--output /dev/stdout >> log``
  appends to the log, it does not replace it). Anything else (a folder, a socket) is never
  replaced: that is an error.
* **Errors.** Every OS error on an output path is one ``EnterpriseError`` line naming the path
  and the problem: exit 3 for permission denied or a read-only file system, 2 otherwise.
* **Edits.** ``edit_lock`` serialises the read-modify-write of a file the CLI edits.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import EnterpriseError, InputError, OutputError, PermissionDeniedError

NEW_FILE_MODE = 0o666  # less the umask, applied by the kernel at creation
PRIVATE_MODE = 0o600

#: How long ``edit_lock`` waits for another edit of the same file before giving up.
EDIT_LOCK_TIMEOUT_S = 30.0

_PERMISSION_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)
_DIRECT_KINDS = (stat.S_ISCHR, stat.S_ISBLK, stat.S_ISFIFO)
# Room left in a 255-byte file name for the temp file's prefix and random suffix.
_TEMP_NAME_KEEP = 200


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, binary: bool = False, private: bool = False, what: str = "file"
) -> Iterator[IO[Any]]:
    """Yield a text (or binary) file whose content replaces ``path`` only when the block
    finishes without error (see the module docstring for symlinks, devices and modes).

    On any error the temp file is removed and the target is left as it was. An ``OSError``
    on the output (creating, writing, syncing, replacing) becomes one ``EnterpriseError``
    naming ``path`` and ``what`` it is; an ``OSError`` that names another file, raised by the
    block itself, passes through unchanged.
    """
    given = Path(path)
    output = _resolve_output(given, what)
    if output.direct:
        with _direct_writer(given, output, binary=binary, what=what) as handle:
            yield handle
        return
    target, status = output.target, output.status
    if status is None:
        _make_parent(given, target, what)
    fd, temp_name = _create_temp(target, given, private=private, what=what)
    try:
        try:
            if status is not None:
                _keep_owner_and_mode(fd, status, private=private)
            opened = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        except BaseException:
            os.close(fd)
            raise
        with opened as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException as problem:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        if _ours(problem, temp_name):
            raise output_error(given, problem, what) from None  # type: ignore[arg-type]
        raise


def write_text_atomic(
    path: str | os.PathLike[str], text: str, *, private: bool = False, what: str = "file"
) -> Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_writer``); returns ``path``."""
    with atomic_writer(path, private=private, what=what) as handle:
        handle.write(text)
    return Path(path)


def write_bytes_atomic(
    path: str | os.PathLike[str], data: bytes, *, private: bool = False, what: str = "file"
) -> Path:
    """Write ``data`` to ``path`` atomically (see ``atomic_writer``); returns ``path``."""
    with atomic_writer(path, binary=True, private=private, what=what) as handle:
        handle.write(data)
    return Path(path)


def make_folder(path: str | os.PathLike[str], *, what: str = "folder") -> Path:
    """``mkdir -p path``; each way it can fail is one ``EnterpriseError`` naming it."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # exists, and is not a folder (or a link to one)
        raise OutputError(f"{folder}: cannot create the {what}: a file of that name is in the way") from None
    except OSError as problem:
        raise output_error(folder / "_", problem, what, verb="create", shown=folder) from None
    return folder


def _make_parent(given: Path, target: Path, what: str) -> None:
    """Create the folder a new file goes in; errors name the file the user asked for."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{given}: cannot write the {what}: {os_problem(target, _not_a_folder())}") from None
    except OSError as problem:
        raise output_error(given, problem, what) from None


def _not_a_folder() -> OSError:
    return NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))


def output_error(
    path: str | os.PathLike[str],
    problem: OSError,
    what: str = "file",
    *,
    verb: str = "write",
    shown: str | os.PathLike[str] | None = None,
) -> EnterpriseError:
    """The one line an ``OSError`` on output ``path`` becomes: ``PATH: cannot write the WHAT:
    reason`` (``shown`` instead of ``path`` at the start, if given). Permission problems (a
    read-only file system too) are exit 3, the rest exit 2."""
    reason = os_problem(Path(path), problem)
    message = f"{path if shown is None else shown}: cannot {verb} the {what}: {reason}"
    if problem.errno in _PERMISSION_ERRNOS:
        return PermissionDeniedError(message)
    return OutputError(message)


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


@contextmanager
def edit_lock(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    timeout: float = EDIT_LOCK_TIMEOUT_S,
    create_folder: bool = False,
) -> Iterator[None]:
    """Hold an exclusive lock on editing ``path`` for the block: a read-modify-write inside
    it cannot interleave with another one, in this process or another.

    The lock is ``flock`` on a sidecar file ``.NAME.lock`` beside the file's final target (so
    two symlinks to one file share it), created 0666 less the umask and left in place:
    deleting a lock file lets a third process lock a new one while the second still holds the
    old. The file itself is not locked, because saving replaces it with a new inode. Waits up to
    ``timeout`` seconds, then one ``EnterpriseError`` saying how long it waited. Where
    ``fcntl`` does not exist (Windows) edits are not serialised, and a warning says so once.

    When the file's folder does not exist, it is made only with ``create_folder`` (the edit
    creates the file); otherwise there is nothing to edit and nothing is locked, so a command
    that fails on the missing file leaves no folder behind.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        _warn_unlocked(what)
        yield
        return
    output = _resolve_output(Path(path), what)
    target = output.target
    if output.status is None and not target.parent.is_dir():
        if not create_folder:
            yield
            return
        _make_parent(Path(path), target, what)
    lock_path = target.with_name(f".{target.name[:_TEMP_NAME_KEEP]}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), NEW_FILE_MODE)
    except OSError as problem:
        raise output_error(lock_path, problem, f"lock file of the {what}", verb="create") from None
    try:
        started = time.monotonic()
        pause = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise OutputError(
                        f"{path}: another command has been editing the {what} for {waited:.1f} s"
                        f" (lock {lock_path}); retry when it has finished"
                    ) from None
                time.sleep(min(pause, timeout - waited))
                pause = min(pause * 2, 0.1)
            except OSError as problem:  # e.g. a file system without locks
                raise output_error(lock_path, problem, f"lock file of the {what}", verb="lock") from None
        yield
    finally:
        os.close(fd)  # releases the lock


# --- internals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Output:
    """Where to write for a given path, and how."""

    target: Path  # the final target, symlinks followed (or the path as given, see below)
    status: os.stat_result | None  # what is there now; None: nothing
    stream: int | None = None  # 1 or 2: the path is this process's stdout or stderr

    @property
    def direct(self) -> bool:
        return self.stream is not None or (self.status is not None and not stat.S_ISREG(self.status.st_mode))


def _resolve_output(given: Path, what: str) -> _Output:
    """Where to write for ``given``; refuses what must not be replaced."""
    try:
        status = os.stat(given)
    except FileNotFoundError:
        return _Output(Path(os.path.realpath(given)), None)
    except OSError as problem:
        raise output_error(given, problem, what) from None
    mode = status.st_mode
    if stat.S_ISDIR(mode):
        raise OutputError(f"{given}: cannot write the {what}: it is a folder")
    if not stat.S_ISREG(mode) and not any(kind(mode) for kind in _DIRECT_KINDS):
        raise OutputError(f"{given}: cannot write the {what}: it is a {_kind(mode)}, not a regular file; left as it is")
    stream = _standard_stream(status)
    if stream is not None:  # our own stdout or stderr, maybe redirected to a file: never replaced
        return _Output(given, status, stream)
    target = Path(os.path.realpath(given))
    try:
        same = _same_file(os.stat(target), status)
    except OSError:
        same = False
    # A magic link (/proc/self/fd/N to a pipe) that realpath cannot follow: use it as given.
    return _Output(target if same else given, status)


def _standard_stream(status: os.stat_result) -> int | None:
    for fd in (1, 2):
        try:
            if _same_file(os.fstat(fd), status):
                return fd
        except OSError:
            continue
    return None


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


@contextmanager
def _direct_writer(given: Path, output: _Output, *, binary: bool, what: str) -> Iterator[IO[Any]]:
    """Write straight into a device, a FIFO or a standard stream: there is nothing to replace
    and nothing to undo, and fsync means nothing for most of them."""
    try:
        if output.stream is not None:
            (sys.stdout if output.stream == 1 else sys.stderr).flush()  # keep our output in order
            fd = os.dup(output.stream)
        else:
            fd = os.open(given, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as problem:
        raise output_error(given, problem, what) from None
    try:
        opened = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    except BaseException:
        os.close(fd)
        raise
    try:
        with opened as handle:
            yield handle
            handle.flush()
    except OSError as problem:
        if problem.filename is None:
            raise output_error(given, problem, what) from None
        raise


def _create_temp(target: Path, given: Path, *, private: bool, what: str) -> tuple[int, str]:
    """A new, empty temp file beside ``target``, created with the mode the result should have
    (the kernel applies the umask), so it is never wider than that, even for a moment."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    mode = PRIVATE_MODE if private else NEW_FILE_MODE
    stem = target.name[:_TEMP_NAME_KEEP]
    for _ in range(100):
        temp_name = str(target.with_name(f".{stem}.{secrets.token_hex(4)}.tmp"))
        try:
            return os.open(temp_name, flags, mode), temp_name
        except FileExistsError:
            continue
        except OSError as problem:
            raise output_error(given, problem, what) from None
    raise OutputError(f"{given}: cannot write the {what}: no free temporary name in {target.parent}")


def _keep_owner_and_mode(fd: int, status: os.stat_result, *, private: bool) -> None:
    """Give the new file the replaced one's owner and group (when allowed: always as root, the
    group when we are in it) and its permission bits (0600 for a private file). Special bits
    (setuid, setgid, sticky) are not carried over to rewritten content."""
    if hasattr(os, "fchown"):
        current = os.fstat(fd)
        if (current.st_uid, current.st_gid) != (status.st_uid, status.st_gid):
            try:
                os.fchown(fd, status.st_uid, status.st_gid)
            except OSError:
                try:
                    os.fchown(fd, -1, status.st_gid)
                except OSError:
                    pass  # not ours to give away: the new file stays ours
    mode = PRIVATE_MODE if private else stat.S_IMODE(status.st_mode) & 0o777
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)


def _ours(problem: BaseException, temp_name: str) -> bool:
    """Is ``problem`` an OS error on the output (rather than one the caller's block raised
    about some other file)? Writes to a file object raise OSError without a file name."""
    if not isinstance(problem, OSError):
        return False
    return problem.filename in (None, temp_name)


def os_problem(path: Path, problem: OSError) -> str:
    """What ``problem`` on ``path`` means, in a few words (no path, no errno)."""
    code = problem.errno
    if code == errno.ENOTDIR:
        blocker = _file_in_the_way(path)
        return f"{blocker} is a file, not a folder" if blocker else "a parent is not a folder"
    if code == errno.EISDIR:
        return "it is a folder"
    if code == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "no space left on the device"
    if code == errno.EROFS:
        return "read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code == errno.ENOENT:
        if path.parent.is_dir():  # /proc/self/x: a folder that takes no new files
            return f"{path.parent} does not take new files ({problem.strerror})"
        return f"the folder {path.parent} does not exist and cannot be created"
    return problem.strerror or str(problem)


def _file_in_the_way(path: Path) -> Path | None:
    """The first ancestor of ``path`` that exists and is not a folder."""
    for parent in reversed(path.parents):
        try:
            if not stat.S_ISDIR(os.stat(parent).st_mode):
                return parent
        except OSError:
            return None
    return None


def _kind(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


_warned_unlocked = False


def _warn_unlocked(what: str) -> None:  # pragma: no cover - not POSIX
    global _warned_unlocked
    if not _warned_unlocked:
        _warned_unlocked = True
        print(f"enterprise: warning: no file locking on this platform; concurrent edits of the {what} are not serialised", file=sys.stderr)
