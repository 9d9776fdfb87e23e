"""Roll test results, waivers and manual evidence up into control states (docs/compliance.md).

Pure: a run's tests and the resolved waivers and attestations in, a ``ComplianceResult`` out. The
pytest plugin and the ``enterprise compliance`` commands call the same function, on the live run
or on the stored one, so they cannot disagree.

Precedence, first rule that applies wins (each is tested on its own):

1. an active waiver: ``waived`` (what the tests said stays visible as ``test_state``);
2. a test tied to the control failed, crashed or is a known failure (xfail): ``failed``, and the
   reason says how many failed and how many xfailed (an xfail is not reported as a failure);
3. else a test errored in setup or teardown: ``error``;
4. an active manual status or attestation of non-compliance (or partial compliance):
   ``failed``;
5. a test passed: ``passed``;
6. an active manual status or attestation of compliance: ``attested``; of non-applicability:
   ``not_applicable``;
7. every test run for the control was marked ``na=`` and passed: ``not_applicable``;
8. tests exist but all were skipped: ``not_reviewed``;
9. nothing at all: ``not_tested``. No evidence is never ``passed``.

When the run's evidence is incomplete (a module failed to collect, or the run was interrupted),
the states stay what the collected evidence says, but every framework carries a note naming the
gaps, and every control whose state rests on tests or on their absence (``passed``,
``not_tested``, ``not_reviewed``, and ``not_applicable`` from ``na=`` tests) says in its reason
that its evidence is incomplete: the missing tests might have been tied to it.

Expired waivers and attestations are ignored by these rules and listed under ``expired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from .catalog import framework_name
from .result import (
    ATTESTED,
    ERROR,
    FAILED,
    NOT_APPLICABLE,
    NOT_REVIEWED,
    NOT_TESTED,
    PASSED,
    WAIVED,
    ComplianceResult,
    ControlResult,
    FrameworkResult,
)

# A test's final outcome as compliance evidence.
_EVIDENCE_OUTCOME = {
    "passed": PASSED,
    "xpassed": PASSED,
    "failed": FAILED,
    "crashed": FAILED,
    "xfailed": "xfailed",  # a known defect in the control is still a defect: state failed
    "error": ERROR,
    "skipped": "skipped",
}
_NON_COMPLIANT = frozenset({"non_compliant", "partially_compliant"})


class ScopedCatalog(NamedTuple):
    """A framework in scope: the name the config used and its catalog."""

    name: str
    catalog: Any  # catalog.Catalog


class Resolved(NamedTuple):
    """A waiver or attestation and the control its ``control`` field resolved to."""

    framework: str
    control_id: str
    item: Any  # evidence_files.Waiver or Attestation


class Decision(NamedTuple):
    state: str
    test_state: str | None
    reason: str


def roll_up(
    tests: Iterable[Any],
    scope: Sequence[ScopedCatalog],
    *,
    now: datetime,
    generated_at: str,
    run: dict[str, Any] | None = None,
    waivers: Sequence[Resolved] = (),
    attestations: Sequence[Resolved] = (),
) -> ComplianceResult:
    """The compliance result of one run.

    ``tests`` are ``TestResult``s whose ``markers["controls"]`` lists
    ``[framework, control_id, ref, na_reason]`` entries (see ``compliance.markers``).
    ``attestations`` are tried in order, so pass manual statuses before file attestations.
    """
    in_scope = {scoped.catalog.framework for scoped in scope}
    evidence, unscoped = _evidence_by_control(tests, in_scope, run)
    gaps = list((run or {}).get("evidence_gaps") or ())
    waiver_of = _by_control(waivers)
    attestation_of = _by_control(attestations)
    frameworks = []
    for scoped in scope:
        catalog = scoped.catalog
        controls = []
        for control in catalog.assessable():
            key = (catalog.framework, control.id)
            controls.append(
                _control_result(
                    scoped.name,
                    control,
                    evidence.get(key, ()),
                    waiver_of.get(key, ()),
                    attestation_of.get(key, ()),
                    now,
                    gaps,
                )
            )
        frameworks.append(
            FrameworkResult(
                framework=scoped.name,
                catalog=catalog.framework,
                name=catalog.name,
                version=catalog.version,
                controls=controls,
                notes=[f"evidence incomplete: {gap}" for gap in gaps],
            )
        )
    return ComplianceResult(
        generated_at=generated_at,
        run=run,
        frameworks=frameworks,
        waivers=[_described(w, now) for w in waivers],
        attestations=[_described(a, now) for a in attestations],
        unscoped=unscoped,
    )


def decide(
    outcomes: Sequence[tuple[str, str | None]],
    *,
    waived: bool = False,
    manual_status: str | None = None,
) -> Decision:
    """The state of one control from its evidence (the precedence rules in the docstring).

    ``outcomes`` holds, per test, its evidence outcome (passed, failed, xfailed, error or
    skipped) and its ``na`` reason (None for ordinary evidence).
    """
    test_state, test_reason = _test_state(outcomes)
    if waived:
        return Decision(WAIVED, test_state, "waived")
    if test_state in (FAILED, ERROR):
        return Decision(test_state, test_state, test_reason)
    if manual_status in _NON_COMPLIANT:
        return Decision(FAILED, test_state, f"manual status {manual_status}")
    if test_state == PASSED:
        return Decision(PASSED, test_state, test_reason)
    if manual_status == "compliant":
        return Decision(ATTESTED, test_state, "attested compliant")
    if manual_status == "not_applicable":
        return Decision(NOT_APPLICABLE, test_state, "attested not applicable")
    if test_state is not None:
        return Decision(test_state, test_state, test_reason)
    return Decision(NOT_TESTED, None, "no test, waiver or attestation evidence")


def _test_state(outcomes: Sequence[tuple[str, str | None]]) -> tuple[str | None, str]:
    if not outcomes:
        return None, ""
    total = len(outcomes)
    failed = sum(1 for outcome, _ in outcomes if outcome == FAILED)
    known = sum(1 for outcome, _ in outcomes if outcome == "xfailed")
    if failed or known:
        # An xfail is a known defect: the control fails, and the reason says it was expected.
        if not failed:
            return FAILED, f"{known} of {total} tests xfailed (known defect)"
        xfailed = f", {known} xfailed (known defect)" if known else ""
        return FAILED, f"{failed} of {total} tests failed{xfailed}"
    errors = sum(1 for outcome, _ in outcomes if outcome == ERROR)
    if errors:
        return ERROR, f"{errors} of {total} tests errored in setup or teardown"
    ran = [na for outcome, na in outcomes if outcome == PASSED]
    if not ran:
        return NOT_REVIEWED, f"all {total} tests were skipped"
    ordinary = sum(1 for na in ran if na is None)
    skipped = f", {total - len(ran)} skipped" if total > len(ran) else ""
    if ordinary:
        return PASSED, f"{ordinary} of {total} tests passed{skipped}"
    return NOT_APPLICABLE, f"{len(ran)} not-applicable tests passed{skipped}"


def _control_result(
    framework: str,
    control: Any,
    evidence: Sequence[dict[str, Any]],
    waivers: Sequence[Resolved],
    attestations: Sequence[Resolved],
    now: datetime,
    gaps: Sequence[str] = (),
) -> ControlResult:
    expired = [_described(r, now) for r in (*waivers, *attestations) if not r.item.is_active(now)]
    waiver_of = next((w for w in waivers if w.item.is_active(now)), None)
    attestation_of = next((a for a in attestations if a.item.is_active(now)), None)
    waiver = waiver_of.item if waiver_of is not None else None
    attestation = attestation_of.item if attestation_of is not None else None
    outcomes = [(entry["evidence"], entry["na"]) for entry in evidence]
    decision = decide(
        outcomes,
        waived=waiver is not None,
        manual_status=attestation.status if attestation is not None else None,
    )
    reason = decision.reason
    if waiver is not None:
        reason = f"waived by {waiver.approver} until {waiver.to_dict(now)['expires']}"
        if decision.test_state is not None:
            reason += f" (tests alone: {decision.test_state})"
    elif attestation is not None and reason.startswith(("attested", "manual")):
        who = f" by {attestation.attested_by}" if attestation.attested_by else ""
        reason = f"{reason}{who}: {attestation.justification}"
    if expired:
        reason += f"; {len(expired)} expired waiver or attestation ignored"
    if gaps and _rests_on_tests(decision, attestation):
        incomplete = "evidence incomplete: " + "; ".join(gaps)
        reason = f"{incomplete}; {reason}" if decision.state == NOT_TESTED else f"{reason}; {incomplete}"
    return ControlResult(
        framework=framework,
        id=control.id,
        title=control.title,
        family=control.family,
        state=decision.state,
        reason=reason,
        test_state=decision.test_state,
        tests=[_public(entry) for entry in evidence],
        waiver=_described(waiver_of, now) if waiver_of is not None else None,
        attestation=_described(attestation_of, now) if attestation_of is not None else None,
        expired=expired,
    )


def _rests_on_tests(decision: Decision, attestation: Any) -> bool:
    """Whether a control's state comes from its tests or their absence, which tests that never
    ran could change; waivers, failures and manual findings stand regardless."""
    if decision.state in (PASSED, NOT_TESTED, NOT_REVIEWED):
        return True
    return decision.state == NOT_APPLICABLE and attestation is None


def _evidence_by_control(
    tests: Iterable[Any], in_scope: set[str], run: dict[str, Any] | None
) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], list[dict[str, Any]]]:
    """One pass over the run's tests: each control's evidence entries, and refs out of scope."""
    run_id = run.get("id") if run else None
    commit = run.get("git_commit") if run else None
    evidence: dict[tuple[str, str], list[dict[str, Any]]] = {}
    unscoped: list[dict[str, Any]] = []
    for test in tests:
        markers = test.markers
        if not markers or "controls" not in markers:
            continue
        outcome = test.outcome
        grouped: dict[tuple[str, str], tuple[list[str], str | None]] = {}
        for framework, control_id, ref, na in markers["controls"]:
            if framework not in in_scope:
                unscoped.append({"ref": f"{framework_name(framework)}:{ref}", "nodeid": test.nodeid})
                continue
            refs, reason = grouped.setdefault((framework, control_id), ([], na))
            refs.append(ref)
            if na is None and reason is not None:  # ordinary evidence wins over an na= mark
                grouped[(framework, control_id)] = (refs, None)
        if not grouped:
            continue
        started = test.started_at
        duration = round(test.duration, 6)
        for key, (refs, na) in grouped.items():
            evidence.setdefault(key, []).append(
                {
                    "nodeid": test.nodeid,
                    "outcome": outcome,
                    "evidence": _EVIDENCE_OUTCOME.get(outcome, "skipped"),
                    "duration_s": duration,
                    "started_at": started,
                    "run_id": run_id,
                    "git_commit": commit,
                    "refs": refs,
                    "na": na,
                }
            )
    for entries in evidence.values():
        entries.sort(key=lambda entry: entry["nodeid"])  # arrival order differs under xdist
    unscoped.sort(key=lambda entry: (entry["nodeid"], entry["ref"]))
    return evidence, unscoped


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key != "evidence"}


def _by_control(items: Sequence[Resolved]) -> dict[tuple[str, str], list[Resolved]]:
    grouped: dict[tuple[str, str], list[Resolved]] = {}
    for resolved in items:
        grouped.setdefault((resolved.framework, resolved.control_id), []).append(resolved)
    return grouped


def _described(resolved: Resolved, now: datetime) -> dict[str, Any]:
    framework = framework_name(resolved.framework)
    return {**resolved.item.to_dict(now), "framework": framework, "control_id": resolved.control_id}
