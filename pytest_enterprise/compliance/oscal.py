"""OSCAL 1.0.6 assessment results from a compliance roll-up.

``assessment_results(result)`` maps the plain dict of ``ComplianceResult.to_dict()`` to an
``{"assessment-results": ...}`` document. It is a pure function: every UUID is
``uuid5(UUID_NAMESPACE, f"{run_id}/{kind}/{key}")`` and every list keeps the roll-up's order, so
the same roll-up always gives the same document, and ``dumps`` the same bytes. ``dumps`` indents
the document but writes each observation, finding, risk, resource and property on one line:
readable, diff-friendly, and fast for ten thousand tests.

Mapping
-------
- ``import-ap``: ``#<uuid>`` of the first ``back-matter`` resource, which describes the plan:
  pytest-enterprise writes no separate plan; the plan is the test run (run id, commit) and its
  compliance markers, over the frameworks in scope. Every ``#uuid`` href and every ``*-uuid``
  field of the document names an object defined in it.
- ``metadata``: ``last-modified`` is the roll-up's ``generated_at``; the tool is a party
  (organization ``pytest-enterprise``) and, inside the result, a component of type ``software``
  used by the assessment platform ``pytest``; people who attested controls are parties too.
- One ``results`` entry spans the run (its start and end, else ``generated_at``).
  ``reviewed-controls`` has one ``control-selections`` entry per framework that lists **every**
  in-scope control, with or without evidence.
- Control ids become OSCAL tokens: lowercased, each run of characters other than ``a-z``,
  ``0-9``, ``.``, ``-`` and ``_`` replaced by ``_``, with a leading ``_`` when the id does not
  start with a letter (``CC6.1`` -> ``cc6.1``, ``PR.AA-01`` -> ``pr.aa-01``,
  ``Art.32(1)(a)`` -> ``art.32_1_a``). When two ids of one framework map to the same token,
  each of them gets ``_`` plus 8 hex digits of the SHA-256 of the original id. The original id
  is kept in the ``control-id`` property of each finding and in the selection's remarks.
  A finding targets the control's objective: ``objective-id`` ``<token>_obj``.
- Observations: one per test result (run id and node id; a test that evidences several controls
  is observed once), method ``TEST``, collected when the test started, subject the system under
  test; its description and props carry node id, outcome, duration, control refs and any
  ``na`` reason. A test has no ``relevant-evidence``: there is no file to point at. One
  observation per active attestation, method ``EXAMINE``, by the person who attested; its
  ``relevant-evidence`` points at a ``back-matter`` resource for the evidence file, whose
  ``rlinks`` carry the file's SHA-256. Expired waivers and attestations are no evidence: the
  finding's remarks say they were ignored.
- Findings: one per in-scope control that has any evidence, i.e. every state but
  ``not_tested``, linked to the observations of its tests and attestation:

  ================ ================= ======= ============================================
  control state    status.state      reason  notes
  ================ ================= ======= ============================================
  passed           satisfied         pass
  attested         satisfied         pass    the attestation is an EXAMINE observation
  failed, error    not-satisfied     fail
  not_reviewed     not-satisfied     other   every test was skipped: nothing was verified
  waived           not-satisfied     other   a waiver accepts a risk, it does not evidence
                                             compliance; the finding links a risk with
                                             status ``deviation-approved``
  not_applicable   not-satisfied     other   OSCAL has no "not applicable" finding status,
                                             and "satisfied" would claim evidence we do not
                                             have; the target's ``implementation-status``
                                             is ``not-applicable`` and says why
  not_tested       (no finding)              no evidence, so nothing to find; the control
                                             is still listed in ``reviewed-controls``
  ================ ================= ======= ============================================

  A control is never ``satisfied`` unless its state is ``passed`` or ``attested``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from ..timeutil import parse_timestamp, rfc3339
from .result import (
    ATTESTED,
    ERROR,
    FAILED,
    NOT_APPLICABLE,
    NOT_REVIEWED,
    NOT_TESTED,
    PASSED,
    WAIVED,
)

OSCAL_VERSION = "1.0.6"
# Namespace of our own property names (OSCAL wants non-OSCAL props in a namespace of their own).
NS = "https://pytest-enterprise.invalid/ns/oscal"
# uuid5(NAMESPACE_URL, NS), fixed here so UUIDs never change between releases.
UUID_NAMESPACE = uuid.UUID("49730273-24d1-543a-b01c-d219f0f1f49c")

_FINDING_STATUS = {
    PASSED: ("satisfied", "pass"),
    ATTESTED: ("satisfied", "pass"),
    FAILED: ("not-satisfied", "fail"),
    ERROR: ("not-satisfied", "fail"),
    NOT_REVIEWED: ("not-satisfied", "other"),
    WAIVED: ("not-satisfied", "other"),
    NOT_APPLICABLE: ("not-satisfied", "other"),
}

_NOT_TOKEN_CHARS = re.compile(r"[^a-z0-9._-]+")
_UTC_TIMESTAMP = re.compile(r"(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_HREF_SAFE = "/:?#[]@!$&'()*+,;=%~"


def control_token(control_id: str) -> str:
    """The OSCAL token for one control id (see the module docstring); never empty."""
    token = _NOT_TOKEN_CHARS.sub("_", str(control_id).lower()).strip("_")
    if not token or not ("a" <= token[0] <= "z"):
        token = "_" + token
    return token


def control_tokens(control_ids: Iterable[str]) -> dict[str, str]:
    """Tokens for the ids of one framework, made unique without depending on their order."""
    ids = list(dict.fromkeys(control_ids))
    tokens = {control_id: control_token(control_id) for control_id in ids}
    seen: dict[str, int] = {}
    for token in tokens.values():
        seen[token] = seen.get(token, 0) + 1
    for control_id, token in tokens.items():
        if seen[token] > 1:
            digest = hashlib.sha256(control_id.encode("utf-8")).hexdigest()[:8]
            tokens[control_id] = f"{token}_{digest}"
    return tokens


def _one_line(value: Any) -> str:
    """A StringDatatype value: no leading, trailing or repeated whitespace, no line breaks."""
    return " ".join(str(value).split())


def _prop(name: str, value: Any) -> dict[str, str] | None:
    text = _one_line(value) if value is not None else ""
    return {"name": name, "ns": NS, "value": text} if text else None


def _props(*pairs: tuple[str, Any]) -> list[dict[str, str]]:
    return [p for p in (_prop(name, value) for name, value in pairs) if p is not None]


def _href(target: str) -> str:
    return quote(target.strip(), safe=_HREF_SAFE)


def _timestamp(text: Any, fallback: str) -> str:
    """An RFC 3339 UTC timestamp the schema accepts; ``fallback`` when missing or unreadable."""
    if not text:
        return fallback
    if isinstance(text, str) and _UTC_TIMESTAMP.fullmatch(text):
        try:  # already in the form rfc3339() writes: only check the calendar (one per test)
            datetime.fromisoformat(text[:-1])
            return text
        except ValueError:
            pass
    try:
        return rfc3339(parse_timestamp(str(text)))
    except ValueError:
        return fallback


def _with(record: dict[str, Any], key: str, value: Any) -> None:
    """Set an optional field only when it has content (OSCAL arrays need at least one item)."""
    if value:
        record[key] = value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _ratio_text(ratio: dict[str, Any]) -> str:
    counts = f"({ratio.get('numerator', 0)}/{ratio.get('denominator', 0)})"
    value = ratio.get("value")
    return f"no data {counts}" if value is None else f"{value:.2f}% {counts}"


class _Builder:
    """Accumulates one document; a fresh builder per call keeps the function pure."""

    def __init__(self, result: dict[str, Any], tool_version: str, import_ap_href: str | None) -> None:
        self.result = result
        self.tool_version = _one_line(tool_version or "")
        self.import_ap_href = import_ap_href
        self.generated_at = _timestamp(result.get("generated_at"), "1970-01-01T00:00:00.000Z")
        run = result.get("run") or {}
        self.run_id = str(run.get("id") or "")
        self.run_key = self.run_id or f"no-run@{self.generated_at}"
        self.git_commit = run.get("git_commit")
        self.start = _timestamp(run.get("started_at"), self.generated_at)
        self.end = _timestamp(run.get("finished_at"), self.generated_at)
        if self.end < self.start:  # same format and zone, so text order is time order
            self.end = self.start
        self.tool_party = self.uuid("party", "pytest-enterprise")
        self.tool_component = self.uuid("component", "pytest-enterprise")
        self.system_component = self.uuid("component", "system-under-test")
        self.tool_origin = [{"actors": [{"type": "tool", "actor-uuid": self.tool_component}]}]
        self.system_subject = [
            {"subject-uuid": self.system_component, "type": "component", "title": "System under test"}
        ]
        self.observations: list[dict[str, Any]] = []
        self.test_observations: dict[tuple[str, str], str] = {}
        self.attestation_observations: dict[tuple[Any, ...], str] = {}
        self.people: dict[str, str] = {}  # attested_by -> party uuid
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}
        self.resource_labels: dict[tuple[str, str], list[str]] = {}
        self.risks: list[dict[str, Any]] = []
        self.findings: list[dict[str, Any]] = []

    def uuid(self, kind: str, key: str) -> str:
        return str(uuid.uuid5(UUID_NAMESPACE, f"{self.run_key}/{kind}/{key}"))

    # -- observations ------------------------------------------------------------------------

    def test_observation(self, test: dict[str, Any]) -> str:
        nodeid = str(test.get("nodeid", ""))
        run_id = str(test.get("run_id") or self.run_id)
        key = (run_id, nodeid)
        known = self.test_observations.get(key)
        if known is not None:
            return known
        uid = self.uuid("observation", f"test/{run_id}/{nodeid}")
        self.test_observations[key] = uid
        outcome = _one_line(test.get("outcome") or "unknown")
        description = f"pytest node {nodeid} {outcome}."
        props = [{"name": "outcome", "ns": NS, "value": outcome}]
        duration = test.get("duration_s")
        if duration is not None:
            props.append({"name": "duration-seconds", "ns": NS, "value": f"{float(duration):.6f}"})
        # The run and commit are the result's; say them only where a test differs.
        if run_id and run_id != self.run_id:
            props.append({"name": "run-id", "ns": NS, "value": _one_line(run_id)})
        commit = test.get("git_commit")
        if commit and commit != self.git_commit:
            props.append({"name": "git-commit", "ns": NS, "value": _one_line(commit)})
        na = _one_line(test.get("na") or "")
        if na:
            description += f" Not applicable: {na}."
            props.append({"name": "not-applicable-reason", "ns": NS, "value": na})
        for ref in test.get("refs") or ():
            ref = _one_line(ref)
            if ref:
                props.append({"name": "control-ref", "ns": NS, "value": ref})
        observation: dict[str, Any] = {
            "uuid": uid,
            "title": nodeid,
            "description": description,
            "props": props,
            "methods": ["TEST"],
            "types": ["control-objective"],
            "origins": self.tool_origin,
            "subjects": self.system_subject,
            "collected": _timestamp(test.get("started_at"), self.start),
        }
        self.observations.append(observation)
        return uid

    def person(self, name: str) -> str:
        name = _one_line(name)
        if name not in self.people:
            self.people[name] = self.uuid("party", f"person/{name}")
        return self.people[name]

    def evidence_resource(self, attestation: dict[str, Any], label: str) -> str | None:
        evidence = _one_line(attestation.get("evidence") or "")
        if not evidence:
            return None
        sha = str(attestation.get("evidence_sha256") or "").lower()
        key = (evidence, sha)
        resource = self.resources.get(key)
        if resource is None:
            rlink: dict[str, Any] = {"href": _href(evidence)}
            if sha:
                rlink["hashes"] = [{"algorithm": "SHA-256", "value": sha}]
            resource = {
                "uuid": self.uuid("resource", f"{evidence}#{sha}"),
                "title": evidence,
                "description": "",
                "props": [{"name": "type", "value": "evidence"}],
                "rlinks": [rlink],
            }
            self.resources[key] = resource
            self.resource_labels[key] = []
        labels = self.resource_labels[key]
        if label not in labels:
            labels.append(label)
            resource["description"] = f"Evidence for the attestation of {', '.join(labels)}."
        return str(resource["uuid"])

    def attestation_observation(self, attestation: dict[str, Any], label: str) -> str:
        key = (
            attestation.get("framework"),
            attestation.get("control_id") or attestation.get("control"),
            attestation.get("source"),
            attestation.get("recorded_at"),
        )
        known = self.attestation_observations.get(key)
        if known is not None:
            return known
        uid = self.uuid("observation", "attestation/" + "/".join(str(k) for k in key))
        self.attestation_observations[key] = uid
        status = attestation.get("status", "unknown")
        evidence = attestation.get("evidence")
        sha = attestation.get("evidence_sha256")
        description = f"Manual attestation that {label} is {status}"
        if attestation.get("attested_by"):
            description += f", by {_one_line(attestation['attested_by'])}"
        description += f": {_one_line(attestation.get('justification') or 'no justification given')}"
        observation: dict[str, Any] = {"uuid": uid, "title": f"Attestation of {label}", "description": description}
        _with(
            observation,
            "props",
            _props(
                ("attestation-status", status),
                ("attested-by", attestation.get("attested_by")),
                ("expires", attestation.get("expires")),
                ("origin", attestation.get("origin")),
                ("source", attestation.get("source")),
            ),
        )
        observation["methods"] = ["EXAMINE"]
        observation["types"] = ["control-objective"]
        if attestation.get("attested_by"):
            actor = {"type": "party", "actor-uuid": self.person(attestation["attested_by"])}
            observation["origins"] = [{"actors": [actor]}]
        else:
            observation["origins"] = self.tool_origin
        observation["subjects"] = self.system_subject
        resource = self.evidence_resource(attestation, label) if evidence else None
        if resource is not None:
            text = f"Evidence file {_one_line(evidence)}"
            text += f" (SHA-256 {sha})." if sha else " (no checksum recorded)."
            observation["relevant-evidence"] = [{"href": f"#{resource}", "description": text}]
        observation["collected"] = _timestamp(attestation.get("recorded_at"), self.generated_at)
        self.observations.append(observation)
        return uid

    # -- findings ----------------------------------------------------------------------------

    def waiver_risk(self, framework: dict[str, Any], control: dict[str, Any]) -> str:
        waiver = control.get("waiver") or {}
        label = f"{framework['framework']} {control['id']}"
        uid = self.uuid("risk", f"{framework['framework']}/{control['id']}")
        statement = (
            f"{label} is waived until {waiver.get('expires', 'an unknown date')}, approved by "
            f"{_one_line(waiver.get('approver') or 'nobody recorded')}. "
            f"Without the waiver its tests say: {control.get('test_state') or 'no tests'}."
        )
        self.risks.append(
            {
                "uuid": uid,
                "title": f"Waived control {label}",
                "description": _one_line(waiver.get("justification") or "No justification recorded."),
                "statement": statement,
                "props": _props(
                    ("framework", framework["framework"]),
                    ("control-id", control["id"]),
                    ("approver", waiver.get("approver")),
                    ("expires", waiver.get("expires")),
                    ("source", waiver.get("source")),
                ),
                "status": "deviation-approved",
                "origins": self.tool_origin,
            }
        )
        return uid

    def finding(self, framework: dict[str, Any], control: dict[str, Any], token: str) -> None:
        state = control.get("state", NOT_TESTED)
        status_reason = _FINDING_STATUS.get(state)
        if status_reason is None:  # not_tested, or a state this module does not know
            return
        status_state, reason = status_reason
        fw_id = framework["framework"]
        label = f"{fw_id} {control['id']}"
        related = [self.test_observation(test) for test in control.get("tests") or ()]
        attestation = control.get("attestation")
        if attestation and attestation.get("state", "active") == "active":
            related.append(self.attestation_observation(attestation, label))
        remarks = []
        if state == NOT_REVIEWED:
            remarks.append("Every test of this control was skipped, so nothing was verified.")
        elif state == WAIVED:
            remarks.append(
                "Waived: a waiver accepts a risk, it is not evidence of compliance; see the "
                "related risk."
            )
        elif state == NOT_APPLICABLE:
            remarks.append(
                "Not applicable. OSCAL has no such finding status and 'satisfied' would claim "
                "evidence there is none of; see implementation-status."
            )
        for old in control.get("expired") or ():
            kind = "waiver" if "approver" in old else "attestation"
            remarks.append(
                f"An expired {kind} (expired {old.get('expires', 'on an unknown date')}, "
                f"{old.get('source', 'unknown source')}) no longer applies; the control was "
                "evaluated without it."
            )
        status: dict[str, Any] = {"state": status_state, "reason": reason}
        if control.get("reason"):
            status["remarks"] = str(control["reason"])
        target: dict[str, Any] = {
            "type": "objective-id",
            "target-id": f"{token}_obj",
            "title": f"{control['id']}: {control['title']}" if control.get("title") else control["id"],
            "props": _props(("control-id", control["id"]), ("framework", fw_id)),
            "status": status,
        }
        if state == NOT_APPLICABLE:
            target["implementation-status"] = {
                "state": "not-applicable",
                "remarks": str(control.get("reason") or "Marked not applicable."),
            }
        finding: dict[str, Any] = {
            "uuid": self.uuid("finding", f"{fw_id}/{control['id']}"),
            "title": f"{label}: {state}",
            "description": f"{label} ({control.get('title') or 'untitled'}): {state}; "
            f"{control.get('reason') or 'no reason recorded'}.",
            "props": _props(
                ("framework", fw_id),
                ("catalog", framework.get("catalog")),
                ("control-id", control["id"]),
                ("control-state", state),
                ("test-state", control.get("test_state")),
            ),
            "origins": self.tool_origin,
            "target": target,
        }
        _with(finding, "related-observations", [{"observation-uuid": u} for u in dict.fromkeys(related)])
        if state == WAIVED:
            finding["related-risks"] = [{"risk-uuid": self.waiver_risk(framework, control)}]
        _with(finding, "remarks", " ".join(remarks))
        self.findings.append(finding)

    # -- document ----------------------------------------------------------------------------

    def plan_resource(self) -> dict[str, Any]:
        """The back-matter resource ``import-ap`` points at: what the plan of this assessment
        was. There is no separate plan document; the plan is the test suite as it ran."""
        frameworks = self.result.get("frameworks") or []
        scope = ", ".join(
            f"{fw['framework']} ({fw.get('catalog') or fw['framework']} {fw.get('version') or 'unknown version'})"
            for fw in frameworks
        )
        run = f"run {self.run_id}" if self.run_id else "no stored run"
        if self.git_commit:
            run += f" at commit {self.git_commit}"
        description = (
            "pytest-enterprise writes no separate assessment plan. The plan of this assessment "
            f"is the pytest test suite as it ran ({run}): each test marked with "
            "@pytest.mark.control is an assessment activity for the controls it names, and "
            "the waivers, attestations and manual statuses of the project's compliance files "
            "and history store are examined as recorded. Controls in scope: every assessable "
            f"control of {scope or 'no framework'}."
        )
        plan: dict[str, Any] = {
            "uuid": self.uuid("resource", "assessment-plan"),
            "title": "Assessment plan: the pytest run and its compliance markers",
            "description": _one_line(description),
        }
        props = _props(
            ("run-id", self.run_id),
            ("git-commit", self.git_commit),
            *(("framework", fw["framework"]) for fw in frameworks),
        )
        _with(plan, "props", props)
        return plan

    def selection(self, framework: dict[str, Any], tokens: dict[str, str]) -> dict[str, Any]:
        controls = framework.get("controls") or []
        renamed = [f"{cid} -> {tok}" for cid, tok in tokens.items() if tok != cid.lower()]
        untested = [tokens[c["id"]] for c in controls if c.get("state") == NOT_TESTED]
        remarks = [
            "Control ids are the catalog ids lowercased as OSCAL tokens"
            + (f"; further changed: {', '.join(renamed)}." if renamed else ".")
        ]
        if untested:
            remarks.append(
                f"{_plural(len(untested), 'control')} without evidence (not tested, no finding): "
                f"{', '.join(untested)}."
            )
        selection: dict[str, Any] = {
            "description": f"{framework.get('name') or framework['framework']} "
            f"({framework['framework']}, version {framework.get('version') or 'unknown'}): "
            f"{_plural(len(controls), 'in-scope control')}.",
            "props": _props(
                ("framework", framework["framework"]),
                ("catalog", framework.get("catalog")),
                ("catalog-version", framework.get("version")),
                *(
                    (name.replace("_", "-"), _ratio_text(framework[name]))
                    for name in ("percent_compliant", "coverage", "overall_status")
                    if isinstance(framework.get(name), dict)
                ),
            ),
        }
        _with(selection, "include-controls", [{"control-id": tokens[c["id"]]} for c in controls])
        selection["remarks"] = " ".join(remarks)
        return selection

    def build(self) -> dict[str, Any]:
        selections = []
        for framework in self.result.get("frameworks") or []:
            controls = framework.get("controls") or []
            tokens = control_tokens(c["id"] for c in controls)
            selections.append(self.selection(framework, tokens))
            for control in controls:
                self.finding(framework, control, tokens[control["id"]])
        if not selections:  # the schema wants one selection; selecting nothing says it plainly
            selections.append({"description": "No framework is in scope."})

        tool_props = _props(("version", self.tool_version))
        tool_party: dict[str, Any] = {
            "uuid": self.tool_party,
            "type": "organization",
            "name": "pytest-enterprise",
        }
        _with(tool_party, "props", tool_props)
        parties = [tool_party] + [
            {"uuid": uid, "type": "person", "name": name} for name, uid in self.people.items()
        ]
        metadata: dict[str, Any] = {
            "title": "pytest-enterprise compliance assessment results",
            "last-modified": self.generated_at,
            "version": self.generated_at,
            "oscal-version": OSCAL_VERSION,
            "props": _props(("run-id", self.run_id), ("git-commit", self.git_commit)),
            "parties": parties,
        }
        if not metadata["props"]:
            del metadata["props"]

        tool_component: dict[str, Any] = {
            "uuid": self.tool_component,
            "type": "software",
            "title": "pytest-enterprise",
            "description": "The pytest plugin that ran the tests and rolled up the evidence.",
            "status": {"state": "operational"},
        }
        _with(tool_component, "props", tool_props)
        system: dict[str, Any] = {
            "uuid": self.system_component,
            "type": "this-system",
            "title": "System under test",
            "description": "The code base the test suite ran against"
            + (f", at commit {self.git_commit}." if self.git_commit else "."),
            "status": {"state": "operational"},
        }
        _with(system, "props", _props(("git-commit", self.git_commit)))

        frameworks = self.result.get("frameworks") or []
        summary = "; ".join(
            f"{fw['framework']}: "
            + ", ".join(
                f"{name.replace('_', ' ')} {_ratio_text(fw[name])}"
                for name in ("percent_compliant", "coverage", "overall_status")
                if isinstance(fw.get(name), dict)
            )
            for fw in frameworks
        )
        result: dict[str, Any] = {
            "uuid": self.uuid("result", "pytest"),
            "title": "pytest compliance evidence",
            "description": "Test results and manual attestations rolled up to controls by "
            "pytest-enterprise (rules: "
            f"{self.result.get('rules') or 'docs/compliance.md'}).",
            "start": self.start,
            "end": self.end,
            "props": _props(("run-id", self.run_id), ("git-commit", self.git_commit)),
            "local-definitions": {
                "components": [system],
                "assessment-assets": {
                    "components": [tool_component],
                    "assessment-platforms": [
                        {
                            "uuid": self.uuid("platform", "pytest"),
                            "title": "pytest",
                            "uses-components": [{"component-uuid": self.tool_component}],
                        }
                    ],
                },
            },
            "reviewed-controls": {"control-selections": selections},
        }
        if not result["props"]:
            del result["props"]
        _with(result, "observations", self.observations)
        _with(result, "risks", self.risks)
        _with(result, "findings", self.findings)
        unscoped = self.result.get("unscoped") or []
        remarks = [summary + "." if summary else "No framework is in scope."]
        if unscoped:
            refs = sorted({str(item.get("ref")) for item in unscoped})
            remarks.append(
                f"{_plural(len(unscoped), 'test reference')} to frameworks not in scope, not "
                f"assessed here: {', '.join(refs)}."
            )
        result["remarks"] = " ".join(remarks)

        resources = list(self.resources.values())
        if self.import_ap_href is None:  # the plan is described here, in the back-matter
            plan = self.plan_resource()
            resources.insert(0, plan)
            import_ap = {
                "href": f"#{plan['uuid']}",
                "remarks": "pytest-enterprise writes no separate assessment plan: the plan is the "
                "test suite and its compliance markers, described by the back-matter resource "
                "this points at.",
            }
        else:
            import_ap = {"href": self.import_ap_href}
        document: dict[str, Any] = {
            "uuid": self.uuid("document", self.generated_at),
            "metadata": metadata,
            "import-ap": import_ap,
            "results": [result],
        }
        _with(document, "back-matter", {"resources": resources} if resources else None)
        return {"assessment-results": document}


def assessment_results(
    result: dict[str, Any], *, tool_version: str = "", import_ap_href: str | None = None
) -> dict[str, Any]:
    """The OSCAL 1.0.6 assessment-results document for one compliance roll-up.

    ``import-ap`` points at a back-matter resource that describes the plan (the test run and
    its compliance markers), so every reference in the document resolves inside it; pass
    ``import_ap_href`` to point at an assessment plan of your own instead.
    """
    return _Builder(result, tool_version, import_ap_href).build()


# Records that come by the thousand (one per test) go one per line: still readable and
# diff-friendly, and written by json's C encoder, where indent= would use the slow Python one.
_RECORD_LISTS = frozenset({"observations", "findings", "risks", "include-controls", "resources", "props"})
_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_SCALAR = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def dumps(document: dict[str, Any]) -> str:
    """The document as JSON text: indented by two, records one per line, final newline."""
    out: list[str] = []
    _write(document, 0, out)
    out.append("\n")
    return "".join(out)


def _write(value: Any, level: int, out: list[str], flat: bool = False) -> None:
    pad = "  " * (level + 1)
    if isinstance(value, dict) and value:
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append(("," if index else "") + "\n" + pad + _SCALAR.encode(key) + ": ")
            _write(item, level + 1, out, key in _RECORD_LISTS)
        out.append("\n" + "  " * level + "}")
    elif isinstance(value, list) and value:
        out.append("[")
        for index, item in enumerate(value):
            out.append(("," if index else "") + "\n" + pad)
            if flat:
                out.append(_COMPACT.encode(item))
            else:
                _write(item, level + 1, out)
        out.append("\n" + "  " * level + "]")
    else:
        out.append(_SCALAR.encode(value))
