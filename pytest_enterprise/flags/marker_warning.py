"""``InertFlagsMarkerWarning``: a ``@pytest.mark.flags`` test ran once, not once per value.

In a module of its own, importing only pytest, so that the disabled plugin can warn without
loading the flag machinery, and so that users can filter the category by its path:
``-W ignore::pytest_enterprise.flags.marker_warning.InertFlagsMarkerWarning``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

__all__ = ["InertFlagsMarkerWarning", "warn_inert"]


class InertFlagsMarkerWarning(pytest.PytestWarning):
    """``@pytest.mark.flags`` had no effect on a test: it ran once, and the message says why."""


def warn_inert(items: Iterable[Any], reason: str) -> None:
    """One ``InertFlagsMarkerWarning`` per item (each carries the marker), naming the test
    and ``reason``.

    Under ``-W error`` (or ``filterwarnings = error``) the warning is an error; raised from a
    collection hook it would be an INTERNALERROR with a traceback, so the run stops instead
    with one line and exit status 2.
    """
    for item in items:
        warning = InertFlagsMarkerWarning(
            f"{item.nodeid}: @pytest.mark.flags has no effect, the test runs once: {reason}"
        )
        try:
            item.warn(warning)
        except InertFlagsMarkerWarning as error:
            pytest.exit(f"pytest-enterprise: {error} (an error under the warning filters)", returncode=2)
