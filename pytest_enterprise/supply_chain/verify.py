"""``enterprise security verify``: an envelope against trusted keys, then its statement, then
the files it names.

Order matters: nothing in the payload is read before the signatures pass (an unsigned claim is
not evidence), and subject digests are recomputed from the files, never taken from the
statement on trust.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EXIT_GATE_FAILED, EnterpriseError, InputError
from .dsse import PAYLOAD_TYPE, VerificationError, read_envelope, verify_envelope
from .keys import load_public_key
from .provenance import STATEMENT_TYPE, file_subject

__all__ = ["VerifyOutcome", "verify_file"]


@dataclass
class VerifyOutcome:
    envelope: str
    signers: list[str] = field(default_factory=list)  # key ids of the trusted keys that signed
    threshold: int = 1
    predicate_type: str | None = None
    subjects: list[dict[str, Any]] = field(default_factory=list)  # name, expected, actual, ok
    failures: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_GATE_FAILED if self.failures else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "envelope": self.envelope,
            "verified": not self.failures,
            "signers": self.signers,
            "threshold": self.threshold,
            "predicate_type": self.predicate_type,
            "subjects": self.subjects,
            "failures": self.failures,
        }

    def render_text(self) -> str:
        lines = [f"{self.envelope}: {'VERIFIED' if not self.failures else 'NOT VERIFIED'}"]
        if self.signers:
            lines.append(f"  signed by {len(self.signers)} trusted key(s) (threshold {self.threshold}): {', '.join(k[:16] for k in self.signers)}")
        if self.predicate_type:
            lines.append(f"  predicate: {self.predicate_type}")
        for subject in self.subjects:
            state = "ok" if subject["ok"] else ("MISSING" if subject["actual"] is None else "DIGEST MISMATCH")
            lines.append(f"  subject {subject['name']}: {state}")
        lines += [f"  failure: {failure}" for failure in self.failures]
        return "\n".join(lines) + "\n"


def verify_file(
    envelope_path: Path, public_keys: Sequence[Path], *, threshold: int = 1, artifacts: Path | None = None
) -> VerifyOutcome:
    """Verify ``envelope_path``; a broken envelope or key file raises (exit 2), a failed check
    is an outcome with failures (exit 1)."""
    outcome = VerifyOutcome(envelope=str(envelope_path), threshold=threshold)
    trusted = [load_public_key(path) for path in public_keys]
    envelope = read_envelope(envelope_path)
    try:
        verified = verify_envelope(envelope, trusted, threshold=threshold, expected_payload_type=PAYLOAD_TYPE)
    except VerificationError as error:
        outcome.failures.append(str(error))
        return outcome
    except InputError as error:  # dsse sees bytes, not a file: say which file is malformed
        raise InputError(f"{envelope_path}: {error}") from None
    outcome.signers = list(verified.signers)
    try:
        statement = verified.json()
    except EnterpriseError as error:
        outcome.failures.append(f"payload: {error}")
        return outcome
    _check_statement(statement, outcome)
    if artifacts is not None and not outcome.failures:
        _check_subjects(statement["subject"], artifacts, outcome)
    return outcome


def _check_statement(statement: Any, outcome: VerifyOutcome) -> None:
    if not isinstance(statement, dict):
        outcome.failures.append("payload is not an in-toto Statement (not a JSON object)")
        return
    if statement.get("_type") != STATEMENT_TYPE:
        outcome.failures.append(f"statement _type is {statement.get('_type')!r}, expected {STATEMENT_TYPE!r}")
    outcome.predicate_type = statement.get("predicateType")
    if not isinstance(outcome.predicate_type, str) or "predicate" not in statement:
        outcome.failures.append("statement has no predicateType and predicate")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        outcome.failures.append("statement names no subject")
        return
    for index, subject in enumerate(subjects):
        digest = subject.get("digest") if isinstance(subject, dict) else None
        if not isinstance(subject, dict) or not isinstance(subject.get("name"), str) or not isinstance(digest, dict) or not digest:
            outcome.failures.append(f"subject[{index}] needs a name and a digest")


def _check_subjects(subjects: list[dict[str, Any]], artifacts: Path, outcome: VerifyOutcome) -> None:
    root = artifacts.resolve()
    for subject in subjects:
        name, expected = subject["name"], subject["digest"].get("sha256")
        entry: dict[str, Any] = {"name": name, "expected": expected, "actual": None, "ok": False}
        outcome.subjects.append(entry)
        if not isinstance(expected, str) or not expected.isascii():
            # compare_digest takes ASCII strings only; a hex digest is one
            outcome.failures.append(f"subject {name}: no sha256 digest to check")
            continue
        if "\x00" in name:  # no file is named so, and Path.resolve would raise on it
            outcome.failures.append(f"subject {name!r}: not a file name (NUL character)")
            continue
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            outcome.failures.append(f"subject {name}: points outside {artifacts}")
        elif not path.is_file():
            outcome.failures.append(f"subject {name}: not found in {artifacts}")
        else:
            entry["actual"] = file_subject(path)["digest"]["sha256"]
            entry["ok"] = hmac.compare_digest(entry["actual"], expected)
            if not entry["ok"]:
                outcome.failures.append(f"subject {name}: sha256 {entry['actual']} does not match the statement's {expected}")
