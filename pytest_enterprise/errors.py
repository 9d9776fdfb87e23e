"""User-facing errors.

Every mistake a user can make (bad config, bad input file, unusable store) is an
``EnterpriseError`` carrying the exit code the CLI and the pytest plugin report. Anything
else escaping to the user is a bug.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_PERMISSION = 3


class EnterpriseError(Exception):
    """Base of all user-facing errors; ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_USAGE


class ConfigError(EnterpriseError):
    """The configuration file, an ``ENTERPRISE_*`` variable or an option is invalid."""


class UsageError(EnterpriseError):
    """A command was called with arguments that do not fit together."""


class StoreError(EnterpriseError):
    """The history store cannot be used: corrupt, foreign, or from a newer version."""


class InputError(EnterpriseError):
    """An input file (report, catalog, flag file, OSV record) is malformed."""


class OutputError(EnterpriseError):
    """An output file or folder cannot be written: a file where a folder should be, a name
    too long, a full disk, something at the path that must not be replaced."""


class PermissionDeniedError(EnterpriseError):
    """A file or directory the tool must write or read is not accessible."""

    exit_code = EXIT_PERMISSION
