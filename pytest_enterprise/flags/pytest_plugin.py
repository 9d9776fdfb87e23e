"""pytest side of feature flags: variant runs, the ``feature_flags`` fixture's object, and
the evaluation counts that workers send to the controller.

``@pytest.mark.flags("new_ui")`` parametrizes a test over the flag's values with ids such as
``test_x[new_ui=on]``. The values travel as the pseudo-argument ``enterprise_flag_values``, and
``_VariantRunner`` turns them into overrides of the project's ``flag_manager`` around each such
test (setup to teardown), so the code under test sees them wherever it asks. That runner is
registered only when some collected test has flag values: other tests pay no per-test hook.

The plugin is on whenever pytest-enterprise is: with feature flags on (``feature_flags.enabled``
or ``--enterprise-flags``) it loads the flag file at configure time and reports on the flags;
otherwise (``--enterprise-report`` alone) the marker still runs each value of the flags the
project's ``flag_manager`` knows, and the run is built only when the first marked test is
collected. Flags created by code before the run (``flag_manager.create_flag`` in a conftest)
are kept over the flag file. Where the marker cannot work, ``InertFlagsMarkerWarning`` says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..config import EnterpriseConfig
from ..errors import EnterpriseError
from ..markers import chain_marks
from .combinations import MODES, combination_id, combinations
from .marker_warning import InertFlagsMarkerWarning

if TYPE_CHECKING:  # the manager is imported when a run is built, not with this module
    from .manager import FlagManager

__all__ = ["PARAM", "FlagOverrides", "FlagsRun", "FlagsPlugin", "InertFlagsMarkerWarning", "flag_values_of"]

PARAM = "enterprise_flag_values"
COUNTS_KEY = "enterprise_flag_counts"
RUNNER_NAME = "enterprise-flag-variants"


def flag_values_of(item: Any) -> dict[str, str] | None:
    """The flag values a collected test runs with, or None."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get(PARAM)


class FlagsRun:
    """The flags of one pytest run: the manager the code under test asks, the production
    profile (for default values), and evaluation counts merged from xdist workers."""

    def __init__(self, manager: FlagManager, settings: EnterpriseConfig, root: Path, flag_file: Path | None) -> None:
        from ..timeutil import utc_now
        from .project import configure_manager

        self.manager = manager
        self.settings = settings
        self.root = root
        self.started = utc_now()
        # What the manager served before the run, put back at its end (pytester runs and
        # embedding tools share the process's flag_manager).
        self._before = (manager.flags if manager._loader is None else None, manager.audit, manager.store_path, manager._loader)
        # Flags code created before the run (a conftest's create_flag) belong to this run too:
        # they are kept over the flag file's flag of the same name, as the later, explicit act.
        created = [] if manager._loader is not None else [
            flag for name, flag in manager.flags.items() if name in manager.created
        ]
        self.flag_file = configure_manager(
            manager, settings, root=root, flag_file=flag_file, persistent=False
        )
        if created:
            kept = {flag.name: flag for flag in manager.flags.values() if not manager.defined_by_declaration(flag.name)}
            kept.update((flag.name, flag) for flag in created)
            manager.set_flags(kept.values())
        self.flag_file_path = flag_file if flag_file is not None else (
            self.flag_file.path if self.flag_file is not None else None
        )
        self.defined = manager.flags  # as loaded; flags tests create on the fly are not reported
        self.worker_counts: list[dict[str, Any]] = []

    def restore_manager(self) -> None:
        flags, audit, store_path, loader = self._before
        self.manager.set_flags(() if flags is None else flags.values())
        self.manager.audit, self.manager.store_path = audit, store_path
        if loader is not None:
            self.manager.load_lazily(loader)

    def production_flags(self) -> Mapping[str, Any]:
        if self.flag_file is not None:
            return self.flag_file.flags("production")
        return self.manager.flags

    def evaluation_counts(self) -> dict[str, dict[str, Any]]:
        """This process's counts plus every worker's, summed."""
        merged: dict[str, dict[str, Any]] = {}
        for counts in [self.manager.evaluation_counts(), *self.worker_counts]:
            for name, seen in counts.items():
                total = merged.setdefault(name, {"calls": 0, "on": 0, "values": {}})
                total["calls"] += seen["calls"]
                total["on"] += seen["on"]
                for value, count in seen["values"].items():
                    total["values"][value] = total["values"].get(value, 0) + count
        return merged


class FlagsPlugin:
    """Registered on controller and workers alike whenever pytest-enterprise is on. Given
    ``make_run`` instead of a run, it builds the run at the first marked test."""

    def __init__(self, run: FlagsRun | None = None, make_run: Callable[[], FlagsRun] | None = None) -> None:
        self._run = run
        self._make_run = make_run
        self._parametrized = False  # a test was parametrized with flag values

    @property
    def run(self) -> FlagsRun:
        if self._run is None:
            assert self._make_run is not None
            self._run = self._make_run()
        return self._run

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        marks = chain_marks(metafunc.definition, _FLAGS)
        if not marks:
            return
        self._parametrized = True
        try:
            names, mode = _read_marks(metafunc.definition.nodeid, marks)
            rows = self._combinations(metafunc.definition.nodeid, names, mode)
        except EnterpriseError as error:
            pytest.fail(f"pytest-enterprise: {error}", pytrace=False)
        if PARAM not in metafunc.fixturenames:
            metafunc.fixturenames.append(PARAM)
        metafunc.parametrize(PARAM, rows, ids=[combination_id(row) for row in rows])

    def _combinations(self, nodeid: str, names: list[str], mode: str) -> list[dict[str, str]]:
        from ..errors import UsageError
        from .manager import majority_value
        from .model import did_you_mean

        flags = self.run.manager.flags
        production = self.run.production_flags()
        domains, defaults = {}, {}
        for name in names:
            flag = flags.get(name)
            if flag is None:
                where = self.run.flag_file_path or "a flag file (--enterprise-flags FILE) or with flag_manager.create_flag"
                raise UsageError(
                    f"{nodeid}: @pytest.mark.flags({name!r}): unknown flag{did_you_mean(name, flags)};"
                    f" define it in {where}"
                )
            domains[name] = flag.variant_names
            defaults[name] = majority_value(production.get(name, flag), production or flags, self.run.started)
        return combinations(domains, defaults, mode)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        # Only a test this plugin parametrized has flag values; the runner is registered only
        # when one of them is still selected.
        if self._parametrized and any(flag_values_of(item) for item in items):
            session.config.pluginmanager.register(_VariantRunner(self.run.manager), RUNNER_NAME)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None and self._run is not None:
            workeroutput[COUNTS_KEY] = self._run.manager.evaluation_counts()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        counts = (getattr(node, "workeroutput", None) or {}).get(COUNTS_KEY)
        if counts and self._run is not None:  # without a run here, no report reads them
            self._run.worker_counts.append(counts)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        plugin = config.pluginmanager.get_plugin(RUNNER_NAME)
        if plugin is not None:
            config.pluginmanager.unregister(plugin)
        if self._run is not None:
            self._run.restore_manager()


# Read for every test function: markers.chain_marks walks the chain more cheaply than
# iter_markers.
_FLAGS = frozenset({"flags"})


def _read_marks(nodeid: str, marks: list[pytest.Mark]) -> tuple[list[str], str]:
    """Flag names of every ``flags`` mark (closest first), and the closest ``combine``."""
    from ..errors import UsageError

    names: list[str] = []
    mode = None
    for mark in marks:
        unknown = set(mark.kwargs) - {"combine"}
        if unknown:
            raise UsageError(f"{nodeid}: @pytest.mark.flags: unknown keyword {min(unknown)!r}; it takes combine=")
        if not mark.args:
            raise UsageError(f"{nodeid}: @pytest.mark.flags() names no flag")
        for name in mark.args:
            if not isinstance(name, str):
                raise UsageError(f"{nodeid}: @pytest.mark.flags: expected flag names, got {name!r}")
            if name not in names:
                names.append(name)
        if mode is None and "combine" in mark.kwargs:
            mode = mark.kwargs["combine"]
            if mode not in MODES:
                raise UsageError(
                    f"{nodeid}: @pytest.mark.flags(combine={mode!r}): expected one of {', '.join(MODES)}"
                )
    return names, mode or "isolated"


class _VariantRunner:
    """Applies a test's flag values from its setup to the end of its teardown."""

    def __init__(self, manager: FlagManager) -> None:
        self.manager = manager

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        values = flag_values_of(item)
        if values:
            for name, value in values.items():
                self.manager.set_override(name, value)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Any:
        try:
            return (yield)
        finally:
            for name in flag_values_of(item) or ():
                self.manager.clear_override(name)


class FlagOverrides:
    """The ``feature_flags`` fixture: ``feature_flags.set("new_ui", True)`` (or a variant
    name) for the rest of the test; every override it made is undone when the test ends."""

    def __init__(self, manager: FlagManager) -> None:
        self.manager = manager
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: bool | str) -> None:
        if name not in self._saved:
            self._saved[name] = self.manager.overrides().get(name)
        self.manager.set_override(name, value)

    def is_enabled(self, name: str, user_id: Any = None, context: Any = None) -> bool:
        return self.manager.is_enabled(name, user_id, context)

    def get_variant(self, name: str, user_id: Any = None, context: Any = None) -> str:
        return self.manager.get_variant(name, user_id, context)

    def restore(self) -> None:
        for name, previous in reversed(list(self._saved.items())):
            if previous is None:
                self.manager.clear_override(name)
            else:
                self.manager.set_override(name, previous)
        self._saved.clear()
