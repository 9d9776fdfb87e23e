"""``enterprise test run``: pytest with the plugin enabled and the config loaded."""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

from .common import add_config_option


def add_parser(groups: Any) -> None:
    test = groups.add_parser("test", allow_abbrev=False, help="run tests with pytest-enterprise enabled")
    commands = test.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        allow_abbrev=False,
        help="run pytest with --enterprise-report; other arguments go to pytest",
        usage="enterprise test run [--output FILE] [--verbose] [PYTEST ARGS ...]",
    )
    run.add_argument("--output", metavar="FILE", help="write the JSON report to FILE")
    run.add_argument("--verbose", action="store_true", help="pass -v to pytest")
    add_config_option(run)
    run.set_defaults(handler=run_command, accepts_extra_arguments=True)


def pytest_arguments(options: argparse.Namespace, extra: list[str]) -> list[str]:
    arguments = [argument for argument in extra if argument != "--"]
    arguments.append("--enterprise-report")
    if options.config:
        arguments += ["--enterprise-config", options.config]
    if options.output:
        arguments += ["--enterprise-json", options.output]
    if options.verbose:
        arguments.append("-v")
    return arguments


def run_command(options: argparse.Namespace, extra: list[str]) -> int:
    # A child process, not pytest.main(): this process has already imported pytest_enterprise,
    # which pytest could then not assertion-rewrite (a warning, fatal under -W error), and
    # pytest's global state (warnings filters, sys.modules) stays out of the CLI's.
    command = [sys.executable, "-m", "pytest", *pytest_arguments(options, extra)]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # the child got the same SIGINT and reports it itself
        return 2
