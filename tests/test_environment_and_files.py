from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from pytest_enterprise.environment import ci_job_url, git_info
from pytest_enterprise.errors import PermissionDeniedError
from pytest_enterprise.files import write_text_atomic
from pytest_enterprise.timeutil import parse_timestamp, rfc3339


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/shop"}, "https://github.com/acme/shop/actions/runs/42"),
        ({"GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/shop", "GITHUB_SERVER_URL": "https://ghe.example"}, "https://ghe.example/acme/shop/actions/runs/42"),
        ({"CI_JOB_URL": "https://gitlab.example/job/1"}, "https://gitlab.example/job/1"),
        ({"BUILD_URL": "https://jenkins.example/7/"}, "https://jenkins.example/7/"),
        ({"SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/", "SYSTEM_TEAMPROJECT": "shop", "BUILD_BUILDID": "9"}, "https://dev.azure.com/acme/shop/_build/results?buildId=9"),
        ({}, None),
    ],
)
def test_ci_job_url(env, url):
    assert ci_job_url(env) == url


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info(tmp_path):
    assert git_info(tmp_path) is None
    run = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "trunk")
    (tmp_path / "a.txt").write_text("one")
    run("add", "a.txt")
    run("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "first")
    info = git_info(tmp_path)
    assert info.branch == "trunk" and len(info.commit) == 40 and info.dirty is False
    (tmp_path / "a.txt").write_text("two")
    assert git_info(tmp_path).dirty is True


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_info_never_writes_the_index(tmp_path):
    """Plain ``git status`` rewrites a stale index under .git/index.lock; a concurrent git
    command in CI then fails. Ours only reads, and still answers while another holds the lock."""
    run = lambda *args: subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (tmp_path / "a.txt").write_text("one")
    run("add", "a.txt")
    run("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "first")
    index = tmp_path / ".git" / "index"
    before = index.stat()
    os.utime(tmp_path / "a.txt", (before.st_mtime + 5, before.st_mtime + 5))  # stale stat data
    assert git_info(tmp_path).dirty is False
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    lock = tmp_path / ".git" / "index.lock"
    lock.write_text("")  # another git command is writing the index
    info = git_info(tmp_path)
    assert info is not None and len(info.commit) == 40 and info.dirty is False
    assert lock.read_text() == ""


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "deep" / "report.json"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_atomic_write_permission_denied(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(PermissionDeniedError, match="cannot write the file: permission denied"):
        write_text_atomic(locked / "report.json", "x")


def test_rfc3339_round_trip():
    from datetime import datetime, timezone

    moment = datetime(2026, 11, 26, 8, 0, 0, 123000, tzinfo=timezone.utc)
    assert rfc3339(moment) == "2026-11-26T08:00:00.123Z"
    assert parse_timestamp(rfc3339(moment)) == moment
    assert rfc3339(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"
