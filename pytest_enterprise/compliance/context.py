"""Everything a compliance roll-up needs, loaded from config: catalogs, scope, waivers, attestations.

Built once per pytest run or CLI command. Each part loads lazily on first use, so a run whose
tests carry no ``control`` mark and that has compliance switched off reads no catalog at all.
Every problem in a named file is a ``ConfigError`` naming the file, line and key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError
from ..timeutil import parse_timestamp, rfc3339, utc_now
from .result import ComplianceResult
from .rollup import Resolved, ScopedCatalog, roll_up

ALL_BUILTIN = ("soc2", "iso27001", "nist-csf", "gdpr")


class ComplianceContext:
    """Compliance inputs of one project: ``settings`` is the ``compliance`` config section."""

    def __init__(self, settings: Any, base: Path, frameworks: Sequence[str] | None = None) -> None:
        self.settings = settings
        self.base = base  # the config file's folder: relative paths start here
        self._frameworks_override = list(frameworks) if frameworks else None

    @cached_property
    def custom_catalogs(self) -> list[Any]:
        from .catalog import BUILTIN_FRAMEWORKS, FRAMEWORK_ALIASES, load_catalog_file

        catalogs: dict[str, Any] = {}
        for index, name in enumerate(self.settings.custom_frameworks):
            catalog = load_catalog_file(self.base / name)
            where = f"compliance.custom_frameworks[{index}] ({name})"
            if catalog.framework in BUILTIN_FRAMEWORKS or catalog.framework in FRAMEWORK_ALIASES:
                raise ConfigError(f"{where}: framework id {catalog.framework!r} is built in; pick another id")
            if catalog.framework in catalogs:
                raise ConfigError(f"{where}: framework id {catalog.framework!r} is defined twice")
            catalogs[catalog.framework] = catalog
        return list(catalogs.values())

    @cached_property
    def catalogs(self) -> list[Any]:
        """Every catalog a control mark may name: the built-in ones and the custom ones."""
        from .catalog import builtin_catalog

        return [builtin_catalog(name) for name in ALL_BUILTIN] + self.custom_catalogs

    @cached_property
    def resolver(self) -> Any:
        from .catalog import ControlResolver

        return ControlResolver(self.catalogs)

    @cached_property
    def scope(self) -> list[ScopedCatalog]:
        """The frameworks assessed: ``--enterprise-frameworks``, else config, else all built in."""
        from .catalog import builtin_catalog, framework_name

        custom = {catalog.framework: catalog for catalog in self.custom_catalogs}
        if self._frameworks_override is not None:
            names, where = self._frameworks_override, "--enterprise-frameworks"
        elif self.settings.frameworks or custom:
            names, where = list(self.settings.frameworks) + list(custom), "compliance.frameworks"
        else:
            names, where = list(ALL_BUILTIN), "compliance.frameworks"
        scope, seen = [], set()
        for name in names:
            catalog = custom.get(name)
            if catalog is None:
                try:
                    catalog = builtin_catalog(name)
                except ConfigError:
                    known = ", ".join([*ALL_BUILTIN, "soc2-type2", *custom])
                    raise ConfigError(f"{where}: unknown framework {name!r}; known: {known}") from None
            if catalog.framework in seen:
                continue  # soc2 and soc2-type2 are one catalog: assess it once
            seen.add(catalog.framework)
            # A built-in framework is printed by one name whichever alias the config used.
            scope.append(ScopedCatalog(name if name in custom else framework_name(name), catalog))
        return scope

    @cached_property
    def waivers(self) -> list[Resolved]:
        from .evidence_files import load_waivers

        path = self.settings.waivers_file
        return self._resolve_all(load_waivers(self.base / path)) if path else []

    @cached_property
    def attestations(self) -> list[Resolved]:
        from .evidence_files import load_attestations

        path = self.settings.attestations_file
        return self._resolve_all(load_attestations(self.base / path)) if path else []

    def load_files(self) -> None:
        """Read and check every named file now, so a mistake stops the run before tests run."""
        _ = self.scope, self.waivers, self.attestations

    def skipped_controls(self, now: datetime | None = None) -> dict[tuple[str, str], Any]:
        """Controls whose active waiver says ``run: false``: their tests need not run."""
        now = now or utc_now()
        return {
            (waiver.framework, waiver.control_id): waiver.item
            for waiver in self.waivers
            if not waiver.item.run and waiver.item.is_active(now)
        }

    def manual_statuses(self, changes: Iterable[Any]) -> list[Resolved]:
        """Manual statuses from the store (``ControlStatusChange``) as attestations."""
        from .catalog import framework_name
        from .evidence_files import Attestation

        resolved = []
        for change in changes:
            if change.status == "not_assessed":
                continue  # clears an earlier manual status
            attestation = Attestation(
                control=f"{framework_name(change.framework)}:{change.control_id}",
                status=change.status,
                justification=change.notes,
                evidence=change.evidence or "",
                evidence_path=None,
                evidence_sha256=change.evidence_sha256,
                expires=parse_timestamp(change.expires_at) if change.expires_at else None,
                attested_by=change.actor,
                recorded_at=parse_timestamp(change.recorded_at),
                origin="manual",
                source="history store",
            )
            resolved.append(Resolved(change.framework, change.control_id, attestation))
        return resolved

    def roll_up(
        self,
        tests: Iterable[Any],
        *,
        run: dict[str, Any] | None,
        manual: Sequence[Resolved] = (),
        now: datetime | None = None,
    ) -> ComplianceResult:
        now = now or utc_now()
        return roll_up(
            tests,
            self.scope,
            now=now,
            generated_at=rfc3339(now),
            run=run,
            waivers=self.waivers,
            attestations=[*manual, *self.attestations],
        )

    def _resolve_all(self, items: Iterable[Any]) -> list[Resolved]:
        resolved = []
        for item in items:
            try:
                ref = self.resolver.resolve(item.control)
            except InputError as error:
                raise ConfigError(f"{item.source}: control: {error}") from None
            resolved.append(Resolved(ref.framework, ref.control_id, item))
        return resolved


def run_facts(record: Any) -> dict[str, Any]:
    """The run a compliance result is evidence of, as plain data."""
    from ..model import evidence_gaps

    run = record.run
    gaps = evidence_gaps(run)
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "git_commit": run.git.commit if run.git else None,
        "evidence_complete": not gaps,
        "evidence_gaps": gaps,
        "uncollected": [error["nodeid"] for error in run.collection_errors],
    }
