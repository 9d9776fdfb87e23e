"""Logging of pytest-enterprise itself, as ``logging`` in the config says (docs/config.md):

* ``level`` sets the ``pytest_enterprise`` logger's level;
* ``structured_logging`` writes each record as one JSON object per line (to stderr, and to
  the log file when there is one);
* ``file_logging`` writes the records to ``enterprise.log`` in the output folder
  (``telemetry.output_dir``), rotated at 5 MB with three old files kept.

Every record that reaches our handlers has the secrets policy applied to its text (message and
traceback): URL user info and secret-looking query values (``redact.redact_text``), and the
value of every secret-looking environment variable, wherever it appears. Records also
propagate to the root logger as usual (pytest's log capture, an application's handlers),
masked already, as the masking rewrites the record in place; with no handler of ours in
place, nothing is masked (docs/config.md).

Configuring again (the CLI and each pytest run configure once) replaces our handlers, never
adds a second set. Standard library only; ``logging.handlers`` is imported only for a file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from .redact import MASK, is_secret_name, redact_text

__all__ = ["LOG_FILE", "LOGGER", "configure", "configured"]

LOGGER = "pytest_enterprise"
LOG_FILE = "enterprise.log"
_MAX_BYTES = 5 * 1024 * 1024
_BACKUPS = 3
# Environment values shorter than this are not masked: "1", "true" or "no" would blank out
# ordinary words in every message.
_MIN_SECRET = 6
_OURS = "_pytest_enterprise_handler"


def configure(level: str, *, structured: bool = False, log_dir: Path | None = None) -> None:
    """Set up the ``pytest_enterprise`` logger (see the module docstring). ``log_dir`` given:
    also log to ``log_dir / LOG_FILE`` (the folder is made when the first record comes)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    for handler in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = []
    if structured:
        handlers.append(logging.StreamHandler(sys.stderr))
    if log_dir is not None:
        handlers.append(_file_handler(log_dir / LOG_FILE))
    for handler in handlers:
        setattr(handler, _OURS, True)
        handler.setFormatter(JsonFormatter() if structured else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(redact_record)
        logger.addHandler(handler)


def configured() -> bool:
    """Whether a handler of ours is in place. The records of the run's end and of each CLI
    command exist only for those handlers: without them they would reach Python's last-resort
    handler and print on stderr beside the tool's own output."""
    return any(getattr(handler, _OURS, False) for handler in logging.getLogger(LOGGER).handlers)


def _file_handler(path: Path) -> logging.Handler:
    from logging.handlers import RotatingFileHandler

    class _MakingFolder(RotatingFileHandler):
        """Makes the output folder at the first record, not when logging is configured: a
        run that logs nothing leaves no folder behind."""

        def _open(self) -> Any:
            Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            return super()._open()

    return _MakingFolder(path, maxBytes=_MAX_BYTES, backupCount=_BACKUPS, encoding="utf-8", delay=True)


def redact_record(record: logging.LogRecord) -> bool:
    """The secrets policy on one record's text, in place (a handler filter; keeps it)."""
    message = redact(record.getMessage())
    record.msg, record.args = message, None
    if record.exc_info:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_info, record.exc_text = None, redact(text)
    return True


def redact(text: str) -> str:
    text = redact_text(text)
    for value in _secret_environment_values():
        text = text.replace(value, MASK)
    return text


def _secret_environment_values() -> list[str]:
    # Longest first, so a secret containing another is masked whole.
    values = {value for name, value in os.environ.items() if is_secret_name(name) and len(value) >= _MIN_SECRET}
    return sorted(values, key=len, reverse=True)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (RFC 3339, UTC), level, logger, message, and the
    traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["traceback"] = record.exc_text
        elif record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
