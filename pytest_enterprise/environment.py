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


def git_info(directory: Path) -> GitInfo | None:
    """Commit, branch and dirtiness of the checkout holding ``directory``; None outside git."""
    commit = _git(directory, "rev-parse", "HEAD")
    if commit is None:
        return None
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return GitInfo(
        commit=commit,
        branch=None if branch in (None, "HEAD") else branch,
        dirty=None if status is None else bool(status),
    )


def _git(directory: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def ci_job_url(env: Mapping[str, str] | None = None) -> str | None:
    """The URL of the CI job running us, for the CI systems that expose one."""
    env = os.environ if env is None else env
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
