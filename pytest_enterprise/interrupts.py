"""Signals on the controller, so that an interrupted run is still recorded as interrupted.

Two jobs (docs/telemetry.md, "Interrupts"):

* SIGTERM, when nobody else handles it, becomes a ``KeyboardInterrupt``: pytest then finishes
  the session as it does for Ctrl-C (exit status 2) and the run is recorded as interrupted,
  instead of the process dying with no record.
* From the end of the test loop until the run's evidence is written, SIGINT and SIGTERM are
  remembered instead of raised, so the report and the history row are written whole and say
  ``interrupted``. A second signal in that window raises ``KeyboardInterrupt`` at once: a user
  who presses Ctrl-C twice wants out, even of a write that hangs.

Python runs signal handlers in the main thread only, so off it this does nothing.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

# The previous handler is restored only if ours is still installed: someone who replaced it
# after us keeps theirs.


class Signals:
    def __init__(self) -> None:
        self.terminated = False  # SIGTERM turned into a KeyboardInterrupt
        self.deferred: str | None = None  # name of the first signal held back while deferring
        self._deferring = False
        self._previous_term: Any = None
        self._previous_int: Any = None
        self._term_installed = False
        self._int_installed = False

    def install(self) -> None:
        """Handle SIGTERM, only if its handler is still the default one."""
        if not _main_thread() or self._term_installed:
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # someone (a CI runner, another plugin) handles it: leave theirs alone
        self._previous_term = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._term_installed = True

    def defer(self) -> None:
        """From now until ``stop_deferring``, hold SIGINT (and our SIGTERM) back."""
        if self._deferring or not _main_thread():
            return
        self._deferring = True
        self._previous_int = signal.signal(signal.SIGINT, self._on_sigint)
        self._int_installed = True

    def stop_deferring(self) -> None:
        self._deferring = False
        if self._int_installed:
            self._int_installed = False
            if signal.getsignal(signal.SIGINT) == self._on_sigint:
                signal.signal(signal.SIGINT, self._previous_int)

    def close(self) -> None:
        """Put back every handler we installed (at unconfigure)."""
        self.stop_deferring()
        if self._term_installed:
            self._term_installed = False
            if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
                signal.signal(signal.SIGTERM, self._previous_term)

    def pending(self) -> str | None:
        """Why the run counts as interrupted because of a held-back signal, if one came."""
        if self.deferred is None:
            return None
        return f"{self.deferred} during session finish"

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self._hold("SIGINT")

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if self._deferring:
            self._hold("SIGTERM")
            return
        self.terminated = True
        raise KeyboardInterrupt("SIGTERM")

    def _hold(self, name: str) -> None:
        if self.deferred is not None:
            raise KeyboardInterrupt(name)  # the second one: stop waiting
        self.deferred = name


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
