"""``enterprise``: one command line for every capability.

Each command group lives in its own module and adds itself to the parser with ``add_parser``.
User errors become one line on stderr and the documented exit code; a traceback is a bug.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import EXIT_USAGE, EnterpriseError
from . import (
    compliance_commands,
    flags_commands,
    history_commands,
    merge_commands,
    security_commands,
    telemetry_commands,
    test_commands,
)
from .common import add_config_option

GROUPS = (
    telemetry_commands,
    compliance_commands,
    flags_commands,
    history_commands,
    security_commands,
    test_commands,
    merge_commands,
)

EPILOG = """exit status: 0 ok; 1 a gate failed or findings above threshold;
2 usage, config or input error; 3 permission denied"""


def build_parser() -> argparse.ArgumentParser:
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
    for group in GROUPS:
        group.add_parser(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    options, extra = parser.parse_known_args(arguments)
    if extra and not getattr(options, "accepts_extra_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(options.handler(options, extra) or 0)
    except EnterpriseError as error:
        print(f"enterprise: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("enterprise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
