"""Waiver and attestation files: parsing, expiry, evidence hashing, and one-line errors."""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_enterprise.compliance.evidence_files import (
    ATTESTATION_STATUSES,
    Attestation,
    Waiver,
    evidence_digest,
    load_attestations,
    load_waivers,
    normalize_status,
)
from pytest_enterprise.errors import ConfigError

UTC = timezone.utc


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(loader, path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        loader(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def at(path: Path, line: int) -> str:
    return f"{path}:{line}: "


# --- waivers -------------------------------------------------------------------------------------

WAIVERS = """
waivers:
  - control: CC6.1
    justification: Vendor MFA rollout scheduled for Q1
    approver: Jane Doe (CISO)
    expires: 2027-01-31
    run: false
  - control: "iso27001:A.5.15"
    justification: Access review moved to the new IdP
    approver: Sam
    expires: "2027-03-01T12:30:00+02:00"
"""


def test_valid_waiver_file(tmp_path: Path) -> None:
    path = write(tmp_path, "waivers.yaml", WAIVERS)
    before = path.read_bytes()
    first, second = load_waivers(path)
    assert first == Waiver(
        control="CC6.1",
        justification="Vendor MFA rollout scheduled for Q1",
        approver="Jane Doe (CISO)",
        expires=datetime(2027, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
        run=False,
        source=f"{path}:2",
    )
    assert second.control == "iso27001:A.5.15"
    assert second.run is True
    assert second.expires == datetime(2027, 3, 1, 10, 30, tzinfo=UTC)
    assert second.expires.utcoffset() == timedelta(0)
    assert second.source == f"{path}:7"
    assert path.read_bytes() == before  # never rewritten


def test_waiver_to_dict(tmp_path: Path) -> None:
    first, second = load_waivers(write(tmp_path, "waivers.yaml", WAIVERS))
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert first.to_dict(now) == {
        "control": "CC6.1",
        "justification": "Vendor MFA rollout scheduled for Q1",
        "approver": "Jane Doe (CISO)",
        "expires": "2027-01-31",
        "run": False,
        "status": "active",
        "source": first.source,
    }
    assert second.to_dict(now)["expires"] == "2027-03-01T10:30:00.000Z"
    assert second.to_dict(datetime(2028, 1, 1, tzinfo=UTC))["status"] == "expired"


@pytest.mark.parametrize(
    "written",
    ["2027-01-31", '"2027-01-31"', "'2027-01-31'"],
    ids=["yaml-date", "quoted-date", "single-quoted-date"],
)
def test_a_date_expires_at_the_end_of_that_day(tmp_path: Path, written: str) -> None:
    path = write(
        tmp_path,
        "waivers.yaml",
        f"""
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: {written}
        """,
    )
    (waiver,) = load_waivers(path)
    assert waiver.is_active(datetime(2027, 1, 31, 0, 0, tzinfo=UTC))
    assert waiver.is_active(datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC))
    assert not waiver.is_active(datetime(2027, 2, 1, 0, 0, tzinfo=UTC))
    assert not waiver.is_active(datetime(2027, 2, 1, 12, 0, tzinfo=UTC))
    assert waiver.to_dict(datetime(2027, 1, 31, 18, tzinfo=UTC))["status"] == "active"
    assert waiver.to_dict(datetime(2027, 2, 1, tzinfo=UTC))["status"] == "expired"


def test_timestamp_expiry_and_other_time_zones(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "waivers.yaml",
        """
        waivers:
          - control: A
            justification: j
            approver: a
            expires: 2027-01-31T10:00:00Z
          - control: B
            justification: j
            approver: a
            expires: 2027-01-31 10:00:00
        """,
    )
    first, second = load_waivers(path)
    assert first.expires == second.expires == datetime(2027, 1, 31, 10, tzinfo=UTC)
    # a `now` in another zone is compared as the same instant
    plus_two = timezone(timedelta(hours=2))
    assert first.is_active(datetime(2027, 1, 31, 11, 59, tzinfo=plus_two))
    assert not first.is_active(datetime(2027, 1, 31, 12, 0, tzinfo=plus_two))
    assert not first.is_active(datetime(2027, 1, 31, 10, 0))  # naive means UTC


@pytest.mark.parametrize(
    "text",
    ["", "# nothing yet\n", "waivers: []\n", "waivers:\n"],
    ids=["empty", "comment-only", "empty-list", "null-list"],
)
def test_no_waivers(tmp_path: Path, text: str) -> None:
    assert load_waivers(write(tmp_path, "waivers.yaml", text)) == []


# Each case: the file, the line the error must name, and the text that must follow it.
WAIVER_ERRORS = {
    "not-a-mapping": ("- a\n- b\n", 1, "expected a mapping with a 'waivers' list"),
    "missing-top-key": ("other: 1\n", 1, "other: unknown key 'other'"),
    "top-key-typo": ("waiver: []\n", 1, "waiver: unknown key 'waiver'; did you mean 'waivers'?"),
    "not-a-list": ("waivers:\n  control: CC6.1\n", 1, "waivers: expected a list of entries"),
    "entry-not-mapping": ("waivers:\n  - CC6.1\n", 2, "waivers[0]: expected a mapping with keys"),
    "unknown-key": (
        """
        waivers:
          - control: CC6.1
            justification: j
            aprover: a
            expires: 2027-01-31
        """,
        4,
        "waivers[0].aprover: unknown key 'aprover'; did you mean 'approver'?",
    ),
    "missing-key": (
        """
        waivers:
          - control: CC6.1
            justification: j
            expires: 2027-01-31
        """,
        2,
        "waivers[0]: missing required key approver",
    ),
    "missing-expires": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
        """,
        2,
        "waivers[0]: missing required key expires",
    ),
    "empty-justification": (
        """
        waivers:
          - control: CC6.1
            justification: "  "
            approver: a
            expires: 2027-01-31
        """,
        3,
        "waivers[0].justification: expected a non-empty string, got string '  '",
    ),
    "null-approver": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver:
            expires: 2027-01-31
        """,
        4,
        "waivers[0].approver: expected a non-empty string, got null",
    ),
    "numeric-control": (
        """
        waivers:
          - control: 1.1
            justification: j
            approver: a
            expires: 2027-01-31
        """,
        2,
        "waivers[0].control: expected a non-empty string, got number 1.1 (quote it)",
    ),
    "bad-expires": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: next year
        """,
        5,
        "waivers[0].expires: expected a date (2027-01-31) or an RFC 3339 timestamp",
    ),
    "impossible-date-string": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: "2027-02-30"
        """,
        5,
        "waivers[0].expires: expected a date",
    ),
    "integer-expires": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: 20270131
        """,
        5,
        "waivers[0].expires: expected a date (2027-01-31) or an RFC 3339 timestamp "
        "(2027-01-31T12:00:00Z), got integer 20270131",
    ),
    "run-not-bool": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: 2027-01-31
            run: "no"
        """,
        6,
        "waivers[0].run: expected true or false, got string 'no'",
    ),
    "duplicate-control": (
        """
        waivers:
          - control: CC6.1
            justification: j
            approver: a
            expires: 2027-01-31
          - control: CC7.2
            justification: j
            approver: a
            expires: 2027-01-31
          - control: CC6.1
            justification: again
            approver: b
            expires: 2027-05-31
        """,
        10,
        "waivers[2].control: a second waiver for control 'CC6.1' (the first is at line 2)",
    ),
    "invalid-yaml": ("waivers:\n  - control: [CC6.1\n", 3, "invalid YAML"),
    "duplicate-yaml-key": (
        """
        waivers:
          - control: CC6.1
            control: CC6.2
        """,
        3,
        "waivers[0].control: duplicate key",
    ),
}


@pytest.mark.parametrize("case", sorted(WAIVER_ERRORS))
def test_waiver_file_errors(tmp_path: Path, case: str) -> None:
    text, line, expected = WAIVER_ERRORS[case]
    path = write(tmp_path, "waivers.yaml", text)
    message = error_of(load_waivers, path)
    assert message.startswith(at(path, line)), message
    assert expected in message, message


def test_missing_top_level_key_in_a_mapping_file(tmp_path: Path) -> None:
    path = write(tmp_path, "waivers.yaml", "{}\n")
    message = error_of(load_waivers, path)
    assert message.startswith(at(path, 1))
    assert "missing the top-level key 'waivers'" in message


def test_missing_waiver_file(tmp_path: Path) -> None:
    message = error_of(load_waivers, tmp_path / "nope.yaml")
    assert "nope.yaml" in message and "not found" in message


def test_a_second_waiver_for_a_different_spelling_is_not_a_duplicate(tmp_path: Path) -> None:
    # control refs are resolved by the caller; here only identical strings clash
    path = write(
        tmp_path,
        "waivers.yaml",
        """
        waivers:
          - {control: A.5.15, justification: j, approver: a, expires: 2027-01-31}
          - {control: "iso27001:A.5.15", justification: j, approver: a, expires: 2027-01-31}
        """,
    )
    assert [w.control for w in load_waivers(path)] == ["A.5.15", "iso27001:A.5.15"]


# --- attestations --------------------------------------------------------------------------------


def attestation_file(folder: Path, evidence: str, *, extra: str = "") -> Path:
    return write(
        folder,
        "attestations.yaml",
        f"""
        attestations:
          - control: CC1.1
            status: compliant
            justification: Code of conduct signed by all staff
            evidence: {evidence}
            expires: 2027-06-30
        {extra}""",
    )


def test_valid_attestation_file(tmp_path: Path) -> None:
    evidence = tmp_path / "evidence" / "code-of-conduct.pdf"
    evidence.parent.mkdir()
    evidence.write_bytes(b"%PDF-1.7 signed" * 1000)
    path = write(
        tmp_path,
        "attestations.yaml",
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: Code of conduct signed by all staff
            evidence: evidence/code-of-conduct.pdf
            expires: 2027-06-30
            attested_by: Bob (HR)
          - control: "gdpr:Art.32"
            status: Non-Compliant
            justification: Encryption at rest is pending
            evidence: https://wiki.example.com/security/encryption
            expires: "2027-06-30T08:00:00Z"
        """,
    )
    before = path.read_bytes()
    first, second = load_attestations(path)
    assert first == Attestation(
        control="CC1.1",
        status="compliant",
        justification="Code of conduct signed by all staff",
        evidence="evidence/code-of-conduct.pdf",
        evidence_path=evidence.resolve(),
        evidence_sha256=hashlib.sha256(evidence.read_bytes()).hexdigest(),
        expires=datetime(2027, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        attested_by="Bob (HR)",
        recorded_at=None,
        origin="file",
        source=f"{path}:2",
    )
    assert first.evidence_path is not None and first.evidence_path.is_absolute()
    assert second.status == "non_compliant"
    assert second.evidence_path is None and second.evidence_sha256 is None
    assert second.attested_by is None
    assert second.source == f"{path}:8"
    assert path.read_bytes() == before


def test_attestation_to_dict_and_expiry(tmp_path: Path) -> None:
    (tmp_path / "policy.txt").write_text("policy")
    (attestation,) = load_attestations(attestation_file(tmp_path, "policy.txt"))
    on_the_day = datetime(2027, 6, 30, 22, tzinfo=UTC)
    data = attestation.to_dict(on_the_day)
    assert data == {
        "control": "CC1.1",
        "status": "compliant",
        "justification": "Code of conduct signed by all staff",
        "evidence": "policy.txt",
        "evidence_path": str((tmp_path / "policy.txt").resolve()),
        "evidence_sha256": hashlib.sha256(b"policy").hexdigest(),
        "expires": "2027-06-30T23:59:59.999Z",
        "attested_by": None,
        "recorded_at": None,
        "origin": "file",
        "source": attestation.source,
        "state": "active",
    }
    assert attestation.is_active(on_the_day)
    assert not attestation.is_active(datetime(2027, 7, 1, tzinfo=UTC))
    assert attestation.to_dict(datetime(2027, 7, 1, tzinfo=UTC))["state"] == "expired"


def test_manual_attestation_without_expiry_never_expires() -> None:
    recorded = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    manual = Attestation(
        control="CC1.1",
        status="not_applicable",
        justification="No physical offices",
        evidence="https://example.com/remote-only",
        evidence_path=None,
        evidence_sha256=None,
        expires=None,
        recorded_at=recorded,
        origin="manual",
    )
    assert manual.is_active(datetime(9999, 1, 1, tzinfo=UTC))
    data = manual.to_dict(datetime(2030, 1, 1, tzinfo=UTC))
    assert data["expires"] is None
    assert data["recorded_at"] == "2026-01-02T03:04:05.000Z"
    assert data["origin"] == "manual" and data["state"] == "active"


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("compliant", "compliant"),
        ("COMPLIANT", "compliant"),
        ("Non-Compliant", "non_compliant"),
        ("partially compliant", "partially_compliant"),
        ("Not_Applicable", "not_applicable"),
    ],
)
def test_status_is_coerced(tmp_path: Path, written: str, canonical: str) -> None:
    path = write(
        tmp_path,
        "attestations.yaml",
        f"""
        attestations:
          - control: CC1.1
            status: {written}
            justification: j
            evidence: https://example.com/e
            expires: 2027-06-30
        """,
    )
    (attestation,) = load_attestations(path)
    assert attestation.status == canonical
    assert canonical in ATTESTATION_STATUSES
    assert normalize_status(written) == canonical


def test_normalize_status_rejects_others() -> None:
    assert normalize_status("passed") is None
    assert normalize_status(None) is None
    assert normalize_status(True) is None


@pytest.mark.parametrize(
    "url", ["https://example.com/evidence.pdf", "http://intranet/policy", "HTTPS://Example.com/x"]
)
def test_url_evidence_is_not_hashed(tmp_path: Path, url: str) -> None:
    (attestation,) = load_attestations(attestation_file(tmp_path, url))
    assert attestation.evidence == url
    assert attestation.evidence_path is None and attestation.evidence_sha256 is None
    assert evidence_digest(url, tmp_path, where="api") == (None, None)


def test_evidence_digest_of_local_files(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    payload = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB blocks and a partial one
    big.write_bytes(payload)
    expected = hashlib.sha256(payload).hexdigest()
    assert evidence_digest("big.bin", tmp_path, where="api") == (big.resolve(), expected)
    # an absolute reference ignores the base folder
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    assert evidence_digest(str(big), elsewhere, where="api") == (big.resolve(), expected)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert evidence_digest("empty.txt", tmp_path, where="api")[1] == hashlib.sha256().hexdigest()


def test_evidence_is_relative_to_the_attestation_file_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "compliance"
    folder.mkdir()
    (folder / "doc.txt").write_text("here")
    (tmp_path / "doc.txt").write_text("not here")
    monkeypatch.chdir(tmp_path)
    (attestation,) = load_attestations(attestation_file(folder, "doc.txt"))
    assert attestation.evidence_path == (folder / "doc.txt").resolve()
    assert attestation.evidence_sha256 == hashlib.sha256(b"here").hexdigest()


def test_missing_evidence_file(tmp_path: Path) -> None:
    path = attestation_file(tmp_path, "evidence/missing.pdf")
    message = error_of(load_attestations, path)
    assert message.startswith(at(path, 5) + "attestations[0].evidence: evidence file not found: ")
    assert str((tmp_path / "evidence" / "missing.pdf").resolve()) in message


def test_evidence_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "evidence").mkdir()
    path = attestation_file(tmp_path, "evidence")
    message = error_of(load_attestations, path)
    assert message.startswith(at(path, 5) + "attestations[0].evidence: evidence file not found: ")
    assert "directory" in message


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_evidence_that_is_a_pipe_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ConfigError, match=r"^api: evidence file not found: .*not a regular file"):
        evidence_digest("pipe", tmp_path, where="api")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file"
)
def test_unreadable_evidence_file(tmp_path: Path) -> None:
    secret = tmp_path / "locked.txt"
    secret.write_text("x")
    secret.chmod(0)
    try:
        with pytest.raises(ConfigError, match=r"^api: evidence file not found: .*permission"):
            evidence_digest("locked.txt", tmp_path, where="api")
    finally:
        secret.chmod(0o600)


def test_unreadable_evidence_file_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked.txt").write_text("x")

    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", refuse)
    path = attestation_file(tmp_path, "locked.txt")
    message = error_of(load_attestations, path)
    assert message.startswith(at(path, 5) + "attestations[0].evidence: evidence file not found: ")
    assert message.endswith("locked.txt cannot be read (permission denied)")


@pytest.mark.parametrize(
    "reference", ["ftp://example.com/x", "file:///etc/passwd", "https://", "  "]
)
def test_evidence_digest_rejects_other_references(tmp_path: Path, reference: str) -> None:
    with pytest.raises(ConfigError, match=r"^manual CC1\.1: evidence must be a local path or"):
        evidence_digest(reference, tmp_path, where="manual CC1.1")


def test_evidence_digest_missing_file_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        evidence_digest("gone.pdf", tmp_path, where="attest CC1.1")
    missing = tmp_path.resolve() / "gone.pdf"
    assert str(caught.value) == f"attest CC1.1: evidence file not found: {missing}"


ATTESTATION_ERRORS = {
    "top-key-missing": ("waivers: []\n", 1, "waivers: unknown key 'waivers'"),
    "not-a-list": ("attestations: {}\n", 1, "attestations: expected a list of entries"),
    "bad-status": (
        """
        attestations:
          - control: CC1.1
            status: passed
            justification: j
            evidence: https://example.com
            expires: 2027-06-30
        """,
        3,
        "attestations[0].status: expected one of compliant, non_compliant, "
        "partially_compliant, not_applicable, got string 'passed'",
    ),
    "status-not-string": (
        """
        attestations:
          - control: CC1.1
            status: true
            justification: j
            evidence: https://example.com
            expires: 2027-06-30
        """,
        3,
        "attestations[0].status: expected one of compliant",
    ),
    "missing-expires": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
        """,
        2,
        "attestations[0]: missing required key expires",
    ),
    "missing-several": (
        """
        attestations:
          - control: CC1.1
        """,
        2,
        "attestations[0]: missing required keys status, justification, evidence, expires",
    ),
    "unknown-key": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
            expires: 2027-06-30
            attested: Bob
        """,
        7,
        "attestations[0].attested: unknown key 'attested'; did you mean 'attested_by'?",
    ),
    "empty-attested-by": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
            expires: 2027-06-30
            attested_by: ""
        """,
        7,
        "attestations[0].attested_by: expected a non-empty string",
    ),
    "empty-evidence": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: ""
            expires: 2027-06-30
        """,
        5,
        "attestations[0].evidence: expected a non-empty string",
    ),
    "bad-expires": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
            expires: [2027]
        """,
        6,
        "attestations[0].expires: expected a date",
    ),
    "bad-timestamp": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
            expires: "2027-13-01T00:00:00Z"
        """,
        6,
        "attestations[0].expires: expected a date",
    ),
    "second-entry": (
        """
        attestations:
          - control: CC1.1
            status: compliant
            justification: j
            evidence: https://example.com
            expires: 2027-06-30
          - control: CC1.2
            status: compliant
            justification: j
            evidence: ftp://example.com/x
            expires: 2027-06-30
        """,
        10,
        "attestations[1].evidence: evidence must be a local path or an http(s) URL",
    ),
}


@pytest.mark.parametrize("case", sorted(ATTESTATION_ERRORS))
def test_attestation_file_errors(tmp_path: Path, case: str) -> None:
    text, line, expected = ATTESTATION_ERRORS[case]
    path = write(tmp_path, "attestations.yaml", text)
    message = error_of(load_attestations, path)
    assert message.startswith(at(path, line)), message
    assert expected in message, message


@pytest.mark.parametrize("text", ["", "attestations: []\n", "attestations:\n"])
def test_no_attestations(tmp_path: Path, text: str) -> None:
    assert load_attestations(write(tmp_path, "attestations.yaml", text)) == []


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_bytes(b"waivers:\n  - control: \xff\n")
    message = error_of(load_waivers, path)
    assert message.startswith(at(path, 2)) and "UTF-8" in message


# --- robustness ----------------------------------------------------------------------------------

_KEYS = st.sampled_from(
    [*sorted({"control", "justification", "approver", "expires", "run", "status", "evidence",
              "attested_by", "waivers", "attestations", "aprover", "<<"}), "1", "? x", "&a k"]
)
_VALUES = st.one_of(
    st.sampled_from(
        [
            "CC6.1", "2027-01-31", '"2027-01-31"', "2027-02-30", "2027-01-31T10:00:00Z",
            '"2027-01-31T25:00:00Z"', '"0001-01-01T00:00:00+05:00"', '"9999-12-31T23:59:59-05:00"',
            "true", "no", "null", "~", "[]", "{}", "[a, b]", "{a: 1}", "compliant",
            "Non-Compliant", "https://example.com/x", "ftp://x", "evidence.txt", "missing.pdf",
            ".", "..", "/", '"\\0"', "*a", "&a x", "!!int x", "!!binary aGk=", "!!set {a}",
            "!!timestamp 2027-01-31", "!!python/object:os.system x", "1e400", "-.inf", "0x1F",
            "'", '"', "|\n  block", ">-\n  folded", "- - -", "::", "%YAML 1.1",
        ]
    ),
    st.text(max_size=12),
)
_LINE = st.tuples(st.integers(0, 6), st.sampled_from(["", "- "]), _KEYS, _VALUES).map(
    lambda part: f"{'  ' * part[0]}{part[1]}{part[2]}: {part[3]}"
)
_SCALARS = st.sampled_from(
    [
        "CC6.1", "2027-01-31", "2027-01-31T10:00:00Z", '"2027-02-30"', "2027-01-31 10:00:00",
        "true", "false", "null", "Non-Compliant", "compliant", "passed", "evidence.txt", "sub",
        "missing.pdf", "https://example.com/x", "ftp://x", "/", '""', "[1]", "{a: 1}", "12",
        '"0001-01-01T00:00:00+05:00"', "x", "Jane Doe (CISO)",
    ]
)
_GOOD = {
    "control": ["CC6.1", "iso27001:A.5.15", "CC6.1", "A1.2"],
    "justification": ["Because", "Vendor rollout"],
    "approver": ["Jane Doe (CISO)"],
    "expires": ["2027-01-31", "2027-01-31T10:00:00Z", '"2027-01-31"'],
    "run": ["true", "false"],
    "status": ["compliant", "Non-Compliant", "not applicable"],
    "evidence": ["evidence.txt", "https://example.com/x"],
    "attested_by": ["Bob (HR)"],
}
_FIELDS = {
    "waivers": ("control", "justification", "approver", "expires", "run"),
    "attestations": ("control", "status", "justification", "evidence", "expires", "attested_by"),
}


def _entry(keys: tuple[str, ...]) -> st.SearchStrategy[str]:
    """A mostly well-formed entry: each key usually present, its value usually valid."""
    one = [
        st.tuples(
            st.sampled_from([key] * 8 + [None, key.capitalize()]),
            st.one_of(st.sampled_from(_GOOD[key]), _SCALARS),
        )
        for key in keys
    ]
    return st.tuples(*one).map(
        lambda pairs: "  - "
        + "\n    ".join(f"{key}: {value}" for key, value in pairs if key is not None)
    )


_DOCUMENT = st.sampled_from(sorted(_FIELDS)).flatmap(
    lambda top: st.lists(_entry(_FIELDS[top]), max_size=3).map(
        lambda entries: f"{top}:\n" + "\n".join(entries)
    )
)
_YAMLISH = st.one_of(
    _DOCUMENT,
    st.lists(_LINE, max_size=12).map("\n".join),
    st.lists(_LINE, max_size=8).map(lambda lines: "waivers:\n" + "\n".join(lines)),
    st.lists(_LINE, max_size=8).map(lambda lines: "attestations:\n  -\n" + "\n".join(lines)),
    st.text(max_size=200),
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("yamlish")
    (folder / "evidence.txt").write_text("evidence")
    (folder / "sub").mkdir()
    return folder


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_YAMLISH)
def test_any_text_gives_a_config_error_or_entries(scratch: Path, text: str) -> None:
    path = scratch / "input.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for loader in (load_waivers, load_attestations):
        try:
            entries = loader(path)
        except ConfigError as error:
            message = str(error)
            assert "\n" not in message
            assert message.startswith(str(path))
        else:
            assert isinstance(entries, list)


@settings(max_examples=100, deadline=None)
@given(reference=st.text(max_size=40))
def test_any_evidence_reference_gives_a_config_error_or_a_digest(
    scratch: Path, reference: str
) -> None:
    try:
        where, digest = evidence_digest(reference, scratch, where="api")
    except ConfigError as error:
        assert str(error).startswith("api: ")
    else:
        assert (where is None) == (digest is None)
        if digest is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", digest)


def test_waiver_dates_are_plain_dates_in_to_dict(tmp_path: Path) -> None:
    waiver = Waiver(
        control="X",
        justification="j",
        approver="a",
        expires=datetime.combine(date(2030, 5, 1), datetime.max.time(), tzinfo=UTC),
    )
    assert waiver.to_dict(datetime(2030, 1, 1, tzinfo=UTC))["expires"] == "2030-05-01"
