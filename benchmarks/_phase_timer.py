"""A tiny pytest plugin (``-p _phase_timer``) that timestamps the phases of one run.

Loaded with ``-p`` it is imported while pytest parses its arguments, before the entry-point
plugins load. It writes its marks (absolute ``perf_counter`` readings) as JSON to the file
named by ``$BENCH_PHASES_FILE`` at unconfigure and again at exit. The hook wrappers sit outside every other plugin's
implementations, so each phase includes pytest-enterprise's work in it (its trylast
``pytest_collection_finish`` and ``pytest_sessionfinish`` included).
"""

from __future__ import annotations

import atexit
import json
import os
import time

import pytest

# perf_counter is CLOCK_MONOTONIC on Linux, shared by all processes: marks are absolute so the
# measuring parent can place them between its own start and end readings.
_MARKS: dict[str, float] = {"plugin_imported": time.perf_counter()}


def _mark(name: str) -> None:
    _MARKS[name] = time.perf_counter()


def _write() -> None:
    target = os.environ.get("BENCH_PHASES_FILE")
    if target:
        with open(target, "w") as out:
            json.dump(_MARKS, out)


@atexit.register  # registered first, so it runs after every later-registered atexit handler
def _at_exit() -> None:
    _mark("atexit")
    _write()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    # pytest_configure is historic and cannot be wrapped; every plugin is configured by now.
    _mark("configure_end")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_collection(session):
    _mark("collection_start")
    try:
        return (yield)
    finally:
        _mark("collection_end")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session):
    _mark("runtestloop_start")
    try:
        return (yield)
    finally:
        _mark("runtestloop_end")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    _mark("sessionfinish_start")
    try:
        return (yield)
    finally:
        _mark("sessionfinish_end")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    _mark("terminal_summary_start")
    try:
        return (yield)
    finally:
        _mark("terminal_summary_end")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    _mark("unconfigure_end")
    _write()


def phases(marks: dict[str, float], started: float, ended: float) -> dict[str, float]:
    """Durations of the phases of one run (seconds); they add up to ``ended - started``.

    ``started``/``ended``: the measuring process's perf_counter around the child process.
    """
    collection = marks["collection_end"] - marks["collection_start"]
    loop = marks["runtestloop_end"] - marks["runtestloop_start"]
    finish = marks["sessionfinish_end"] - marks["sessionfinish_start"]
    summary = marks["terminal_summary_end"] - marks["terminal_summary_start"]
    inside = marks["unconfigure_end"] - marks["configure_end"]
    return {
        "interpreter start + pytest import": marks["plugin_imported"] - started,
        "plugin load + configure": marks["configure_end"] - marks["plugin_imported"],
        "collection": collection,
        "test loop": loop,
        "session finish (w/o summary)": finish - summary,
        "terminal summary": summary,
        "other, configure to unconfigure": inside - collection - loop - finish,
        "pytest teardown after unconfigure": marks["atexit"] - marks["unconfigure_end"],
        "interpreter exit": ended - marks["atexit"],
    }
