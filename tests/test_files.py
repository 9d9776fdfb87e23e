"""Files that must not surprise: modes, what is at the path, and one-line errors on outputs.

The CLI cases run ``enterprise compliance export`` on a stored run; the pytest cases run the
plugin with a report path that cannot be written, and check the run is still stored.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main
from pytest_enterprise.errors import EnterpriseError, OutputError, PermissionDeniedError
from pytest_enterprise.files import atomic_writer, edit_lock, write_bytes_atomic, write_text_atomic
from pytest_enterprise.model import Attempt, RunInfo, RunRecord, TestResult
from pytest_enterprise.store.sqlite import HistoryStore

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes, FIFOs and devices")
root_only = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0, reason="making a device node or giving a file away needs root"
)
LONG_NAME = "n" * 300 + ".json"


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- point 9: modes --------------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027], ids=oct)
def test_a_new_file_gets_0666_less_the_umask(tmp_path, mask):
    with umask(mask):
        text = write_text_atomic(tmp_path / "r.json", "{}\n")
        data = write_bytes_atomic(tmp_path / "deep" / "r.bin", b"\0")
    assert mode(text) == mode(data) == 0o666 & ~mask


@posix_only
@pytest.mark.parametrize("existing", [0o644, 0o640, 0o664, 0o600, 0o755], ids=oct)
def test_overwriting_keeps_the_files_mode_whatever_the_umask(tmp_path, existing):
    target = tmp_path / "r.json"
    target.write_text("old")
    target.chmod(existing)
    with umask(0o077):
        write_text_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == existing
    assert only(tmp_path) == ["r.json"]


@posix_only
def test_a_private_file_is_0600_new_or_overwritten(tmp_path):
    with umask(0o002):
        fresh = write_text_atomic(tmp_path / "secret", "s", private=True)
        assert mode(fresh) == 0o600
        wide = tmp_path / "was-public"
        wide.write_text("p")
        wide.chmod(0o644)
        write_bytes_atomic(wide, b"s", private=True)
    assert mode(wide) == 0o600  # a secret never keeps a wider mode


@root_only
def test_as_root_overwriting_keeps_owner_and_group(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    os.chown(target, 4321, 8765)
    target.chmod(0o640)
    write_text_atomic(target, "new")
    status = target.stat()
    assert (status.st_uid, status.st_gid, mode(target)) == (4321, 8765, 0o640)


@posix_only
def test_the_cli_output_honours_the_umask(project, capsys):
    with umask(0o022):
        code, _, err = run_cli(capsys, "compliance", "export", "--format", "json", "--output", "x.json")
    assert code == 0, err
    assert mode(project / "x.json") == 0o644  # was 0600 whatever the umask


@posix_only
def test_a_private_key_stays_0600_under_a_permissive_umask(tmp_path):
    pytest.importorskip("cryptography")
    from pytest_enterprise.supply_chain.keys import generate_keypair

    with umask(0):
        private, public = generate_keypair(tmp_path / "signing")
    assert mode(private) == 0o600
    assert mode(public) & 0o077 != 0o077  # the public half is readable by others, the key not


# --- point 10: what is at the path -------------------------------------------------------------


@posix_only
def test_a_symlink_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "r.json").write_text("old")
    (real / "r.json").chmod(0o640)
    link = tmp_path / "r.json"
    link.symlink_to(real / "r.json")
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real / "r.json")
    assert (real / "r.json").read_text() == "new" and mode(real / "r.json") == 0o640
    assert only(real) == ["r.json"] and only(tmp_path) == ["r.json", "real"]


@posix_only
def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "r.json"
    link.symlink_to(tmp_path / "made" / "here.json")
    write_text_atomic(link, "new")
    assert link.is_symlink() and (tmp_path / "made" / "here.json").read_text() == "new"


@posix_only
def test_a_fifo_is_written_directly(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    write_text_atomic(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and only(tmp_path) == ["pipe"]


@root_only
def test_a_character_device_is_written_directly(tmp_path):
    """A node of our own for /dev/null (1:3): a regression must not replace the real one."""
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    before = null.stat()
    write_text_atomic(null, "discarded")
    after = null.stat()
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert only(tmp_path) == ["null"]


@root_only
def test_export_to_a_full_device_is_one_line_and_the_device_stays(project, capsys):
    """As root, ``--output /dev/full`` used to replace the device with a regular file. A node
    of our own (the same device, 1:7) is used, so a regression cannot harm the real one."""
    full = project / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    code, out, err = run_cli(capsys, "compliance", "export", "--format", "json", "--output", str(full))
    assert code == 2 and out == ""
    assert err == f"enterprise: error: {full}: cannot write the file: no space left on the device\n"
    assert stat.S_ISCHR(full.stat().st_mode) and full.stat().st_rdev == os.makedev(1, 7)


def _export_to_stdout(project: Path, stdout) -> subprocess.CompletedProcess:
    """``compliance export --output PATH`` where PATH is a link to /dev/stdout (itself a link
    to /proc/self/fd/1): the same resolution as ``--output /dev/stdout``, without any risk of a
    regression replacing the real /dev/stdout."""
    (project / "out.json").symlink_to("/dev/stdout")
    return subprocess.run(
        [sys.executable, "-m", "pytest_enterprise.cli.main", "compliance", "export", "--format", "json", "--output", "out.json"],
        stdout=stdout, stderr=subprocess.PIPE, text=True, env=_env(), timeout=60, cwd=project,
    )  # fmt: skip


@posix_only
def test_export_to_dev_stdout_through_a_pipe(project):
    result = _export_to_stdout(project, subprocess.PIPE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frameworks"]
    assert (project / "out.json").is_symlink()


@posix_only
def test_dev_stdout_redirected_to_a_file_is_appended_not_replaced(project):
    """``--output /dev/stdout >> log``: the log keeps what it had (replacing the file that
    stdout points at would throw the log away)."""
    log = project / "log.txt"
    log.write_text("earlier lines\n")
    with open(log, "a") as handle:
        result = _export_to_stdout(project, handle)
    assert result.returncode == 0, result.stderr
    first, rest = log.read_text().split("\n", 1)
    assert first == "earlier lines" and json.loads(rest)["frameworks"]


@posix_only
def test_a_socket_or_a_folder_is_never_replaced(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    path = tmp_path / "s"
    try:
        server.bind(str(path))
        with pytest.raises(OutputError, match=r"s: cannot write the file: it is a socket, not a regular file"):
            write_text_atomic(path, "x")
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        server.close()
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match=r"d: cannot write the file: it is a folder$"):
        write_text_atomic(tmp_path / "d", "x")
    assert (tmp_path / "d").is_dir()


# --- point 12: OS errors on output paths -------------------------------------------------------


def _cases(root: Path) -> dict[str, tuple[str, str]]:
    """Each unwritable output: (path, the problem the one line must give)."""
    (root / "afile").write_text("a file, not a folder\n")
    (root / "afolder").mkdir(exist_ok=True)
    return {
        "file as folder": (str(root / "afile" / "out.json"), f"{root / 'afile'} is a file, not a folder"),
        "file deeper": (str(root / "afile" / "sub" / "out.json"), f"{root / 'afile'} is a file, not a folder"),
        "folder as file": (str(root / "afolder"), "it is a folder"),
        "name too long": (str(root / LONG_NAME), "the name is too long for the file system"),  # as a folder too
        "missing parent under /proc": ("/proc/no-such-process/out.json", "the folder /proc/no-such-process does not exist and cannot be created"),
    }


CASES = ["file as folder", "file deeper", "folder as file", "name too long", "missing parent under /proc"]


@posix_only
@pytest.mark.parametrize("case", CASES)
def test_cli_output_errors_are_one_line(project, capsys, case):
    path, problem = _cases(project)[case]
    for arguments in (
        ("compliance", "export", "--format", "json", "--output", path),
        ("compliance", "report", "--format", "json", "--output", path),  # common.emit
    ):
        code, out, err = run_cli(capsys, *arguments)
        assert (code, out) == (2, ""), err
        assert err == f"enterprise: error: {path}: cannot write the file: {problem}\n"


@pytest.mark.parametrize(
    ("code", "exit_code", "problem"),
    [
        (errno.EACCES, 3, "permission denied"),
        (errno.EROFS, 3, "read-only file system"),
        (errno.ENOSPC, 2, "no space left on the device"),
        (errno.EIO, 2, os.strerror(errno.EIO)),
    ],
)
def test_errors_while_replacing_are_one_line_with_their_exit_code(tmp_path, monkeypatch, code, exit_code, problem):
    target = tmp_path / "r.json"
    target.write_text("old")

    def failing_replace(source, destination):
        raise OSError(code, os.strerror(code), str(source), None, str(destination))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(EnterpriseError) as raised:
        write_text_atomic(target, "new", what="report")
    assert str(raised.value) == f"{target}: cannot write the report: {problem}"
    assert raised.value.exit_code == exit_code
    assert isinstance(raised.value, PermissionDeniedError) == (exit_code == 3)
    assert target.read_text() == "old" and only(tmp_path) == ["r.json"]


def test_an_error_the_block_raises_about_another_file_passes_through(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_writer(tmp_path / "r.json") as handle:
            handle.write("partial")
            (tmp_path / "missing-input").read_text()
    assert only(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_cli_permission_denied_is_exit_3(project, capsys):
    locked = project / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = run_cli(capsys, "compliance", "export", "--format", "json", "--output", str(locked / "x.json"))
    assert code == 3 and err == f"enterprise: error: {locked / 'x.json'}: cannot write the file: permission denied\n"


@posix_only
@pytest.mark.parametrize(
    ("case", "option"),
    [("file as folder", "--enterprise-json"), ("name too long", "--enterprise-output")],
)
def test_inside_pytest_an_unwritable_report_is_one_line_exit_2_and_the_run_is_stored(pytester, case, option):
    """Every case goes through the same writer as the CLI cases above; two are enough to
    show the plugin's side: one line, exit 2, and the run still in the history."""
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    value, problem = _cases(pytester.path)[case]
    path = f"{value}/enterprise-report.json" if option == "--enterprise-output" else value
    args = ["--enterprise-report", f"{option}={value}", "-p", "no:cacheprovider", "-p", "no:randomly"]
    result = pytester.runpytest(*args)  # in-process: the same plugin code as a subprocess, faster
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, output  # the documented code, not 1 as if a test had failed
    assert f"pytest-enterprise: report not written: {path}: cannot write the file: {problem}" in output
    assert "Traceback" not in output and "2 passed" in output
    with HistoryStore(pytester.path / ".enterprise" / "history.db") as store:
        runs = store.recent_runs()
    assert len(runs) == 1 and runs[0].exit_status == 2


@posix_only
def test_inside_pytest_a_history_path_under_a_file_is_one_line(pytester):
    pytester.makepyfile("def test_one():\n    pass\n")
    (pytester.path / "afile").write_text("x\n")
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  history_path: afile/history.db\n"})
    result = pytester.runpytest("--enterprise-report", "--enterprise-json=r.json", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 2 and "Traceback" not in output
    history = pytester.path / "afile" / "history.db"
    assert f"history not saved: history store {history}: {pytester.path / 'afile'} is a file, not a folder" in output
    assert json.loads((pytester.path / "r.json").read_text())["history"]["saved"] is False


# --- point 11 support: the edit lock -----------------------------------------------------------


@posix_only
def test_the_edit_lock_excludes_a_second_editor_and_says_how_long_it_waited(tmp_path):
    target = tmp_path / "flags.yaml"
    target.write_text("flags: {}\n")
    with edit_lock(target, what="flag file"):
        with pytest.raises(OutputError, match=r"another command has been editing the flag file for 0\.[2-9] s"):
            with edit_lock(target, what="flag file", timeout=0.2):
                pass  # pragma: no cover - never entered
    with edit_lock(target, what="flag file", timeout=0.2):  # released: free again
        pass
    assert only(tmp_path) == [".flags.yaml.lock", "flags.yaml"]


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("ENTERPRISE_CONFIG", "ENTERPRISE_ENV", "ENTERPRISE_ACTOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "enterprise-config.yaml").write_text("compliance:\n  enabled: true\n  frameworks: [soc2-type2]\n")
    record = RunRecord(
        run=RunInfo(id="run-1", started_at="2026-11-26T10:00:00.000Z", finished_at="2026-11-26T10:00:01.000Z"),
        tests=[
            TestResult(
                nodeid="t.py::test_mfa",
                attempts=[Attempt(number=1, outcome="passed")],
                markers={"controls": [["soc2", "CC6.1", "CC6.1", None]]},
                started_at="2026-11-26T10:00:00.000Z",
            )
        ],
    )
    with HistoryStore(tmp_path / ".enterprise" / "history.db") as store:
        store.save_run(record, None)
    return tmp_path


def run_cli(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    code = main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
