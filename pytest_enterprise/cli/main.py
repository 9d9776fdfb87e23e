"""``enterprise``: one command line for every capability.

Each command group lives in its own module and adds itself to the parser with ``add_parser``.
Only the group named on the command line is imported and built (all of them for ``--help``,
``--version`` or a name that is not a group): a command pays for its own imports only.
User errors become one line on stderr and the documented exit code; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from .. import __version__
from ..errors import EXIT_USAGE, EnterpriseError
from .common import add_config_option

# Command group -> the module that adds it (in the order --help lists them).
GROUPS = {
    "telemetry": "telemetry_commands",
    "compliance": "compliance_commands",
    "flags": "flags_commands",
    "history": "history_commands",
    "security": "security_commands",
    "test": "test_commands",
    "merge": "merge_commands",
    "privacy": "privacy_commands",
}

EPILOG = """exit status: 0 ok; 1 a gate failed or findings above threshold;
2 usage, config or input error; 3 permission denied"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every group, or of group ``only``."""
    parser = argparse.ArgumentParser(
        prog="enterprise",
        description="Quality, compliance and supply-chain evidence from pytest runs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_config_option(parser, default=None)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for name, module in GROUPS.items():
        if only is None or name == only:
            import_module(f"{__package__}.{module}").add_parser(groups)
    return parser


def chosen_group(arguments: Sequence[str]) -> str | None:
    """The command group the arguments name, or None (no group yet, an option such as --help
    first, or a name that is not a group: the full parser says what is wrong)."""
    skip = False
    for argument in arguments:
        if skip:
            skip = False
        elif argument == "--config":
            skip = True  # its value comes next
        elif not argument.startswith("--config="):
            return argument if argument in GROUPS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(chosen_group(arguments))
    options, extra = parser.parse_known_args(arguments)
    if extra and not getattr(options, "accepts_extra_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        code = int(options.handler(options, extra) or 0)
    except EnterpriseError as error:
        print(f"enterprise: error: {error}", file=sys.stderr)
        _log_command(arguments, error.exit_code, str(error))
        return error.exit_code
    except KeyboardInterrupt:
        print("enterprise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE
    _log_command(arguments, code)
    return code


def _log_command(arguments: list[str], code: int, error: str | None = None) -> None:
    """The command, its secret-looking arguments masked, and how it ended, for
    logging.file_logging and structured_logging (pytest_enterprise/logs.py)."""
    import logging

    from ..logs import configured
    from ..redact import redact_args

    if not configured():
        return
    log = logging.getLogger("pytest_enterprise.cli")
    command = " ".join(redact_args(arguments))
    if error is None:
        log.info("enterprise %s: exit %d", command, code)
    else:
        log.error("enterprise %s: exit %d: %s", command, code, error)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
