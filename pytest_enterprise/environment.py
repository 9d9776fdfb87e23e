"""Facts about where a run happened: interpreter, platform, git checkout and CI job."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from .model import GitInfo

_GIT_TIMEOUT_S = 5


def python_description() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def platform_description() -> str:
    return f"{sys.platform}-{platform.machine()}"


_GIT_QUESTIONS = {
    "commit": ("rev-parse", "HEAD"),
    "branch": ("rev-parse", "--abbrev-ref", "HEAD"),
    "status": ("status", "--porcelain", "--untracked-files=no"),
}
# Read-only: plain ``git status`` refreshes the index and writes it back under
# ``.git/index.lock``, which makes a git command run beside the tests (in CI) fail.
_GIT_GLOBAL_OPTIONS = ("--no-optional-locks",)


class GitQuery:
    """Commit, branch and dirtiness of the checkout holding ``directory``.

    The three ``git`` commands start at once, in child processes, when the query is made, so a
    query made at session start has its answers ready at session finish: ``git status`` can
    take a while in a large work tree.
    """

    def __init__(self, directory: Path) -> None:
        self._processes = {name: _start_git(directory, args) for name, args in _GIT_QUESTIONS.items()}

    def result(self) -> GitInfo | None:
        """The answers (None outside a git checkout); waits for the commands to finish."""
        answers = {name: _git_answer(process) for name, process in self._processes.items()}
        if answers["commit"] is None:
            return None
        branch, status = answers["branch"], answers["status"]
        return GitInfo(
            commit=answers["commit"],
            branch=None if branch in (None, "HEAD") else branch,
            dirty=None if status is None else bool(status),
        )


def git_info(directory: Path) -> GitInfo | None:
    return GitQuery(directory).result()


def _start_git(directory: Path, args: tuple[str, ...]) -> subprocess.Popen[str] | None:
    try:
        return subprocess.Popen(
            ["git", *_GIT_GLOBAL_OPTIONS, *args],
            cwd=directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:  # no git, or no such directory
        return None


def _git_answer(process: subprocess.Popen[str] | None) -> str | None:
    if process is None:
        return None
    try:
        output, _ = process.communicate(timeout=_GIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return None
    return output.strip() if process.returncode == 0 else None


def environment_name(env: Mapping[str, str] | None = None) -> str | None:
    """The tox environment running us (``$TOX_ENV_NAME``, e.g. ``py311``), else None."""
    name = (os.environ if env is None else env).get("TOX_ENV_NAME", "").strip()
    return name or None


def ci_job_url(env: Mapping[str, str] | None = None) -> str | None:
    """The URL of the CI job running us, for the CI systems that expose one, without the
    credentials a URL can carry (``https://user:token@...``; see docs/redaction.md)."""
    from .redact import redact_url

    url = _ci_job_url(os.environ if env is None else env)
    return None if url is None else redact_url(url)


def _ci_job_url(env: Mapping[str, str]) -> str | None:
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    for variable in ("CI_JOB_URL", "BUILD_URL", "CIRCLE_BUILD_URL", "BUILDKITE_BUILD_URL"):
        if env.get(variable):
            return env[variable]
    if env.get("SYSTEM_COLLECTIONURI") and env.get("BUILD_BUILDID"):
        project = env.get("SYSTEM_TEAMPROJECT", "")
        return f"{env['SYSTEM_COLLECTIONURI']}{project}/_build/results?buildId={env['BUILD_BUILDID']}"
    return None
