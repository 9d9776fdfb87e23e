"""DSSE envelopes and Ed25519 keys: the PAE encoding, signing, verification rules, key files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pytest_enterprise.errors import (
    EXIT_GATE_FAILED,
    EXIT_USAGE,
    InputError,
    UsageError,
)
from pytest_enterprise.supply_chain.dsse import (
    PAYLOAD_TYPE,
    VerificationError,
    pae,
    read_envelope,
    sign_envelope,
    verify_envelope,
)
from pytest_enterprise.supply_chain.keys import (
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    resolve_signing_key,
)

POSIX = os.name == "posix"


@pytest.fixture(scope="module")
def alice():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def bob():
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def mallory():
    return Ed25519PrivateKey.generate()


STATEMENT = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []}).encode()


# --------------------------------------------------------------------------- PAE


def test_pae_matches_the_dsse_spec_vector():
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_lengths_are_utf8_byte_lengths():
    payload_type = "application/vnd.\u00fcber+json"  # 25 characters, 26 bytes
    body = "h\u00e9llo \u2603".encode()  # 7 characters, 10 bytes
    assert len(payload_type) == 25 and len(body) == 10
    assert pae(payload_type, body) == b"DSSEv1 26 " + payload_type.encode() + b" 10 " + body


def test_pae_is_unambiguous_where_spaces_move():
    assert pae("a b", b"c") != pae("a", b"b c")
    assert pae("", b"") == b"DSSEv1 0  0 "


# --------------------------------------------------------------------------- sign / verify


def test_round_trip(alice):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    assert set(envelope) == {"payloadType", "payload", "signatures"}
    assert envelope["payloadType"] == PAYLOAD_TYPE
    assert base64.b64decode(envelope["payload"], validate=True) == STATEMENT
    [signature] = envelope["signatures"]
    raw = alice.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signature["keyid"] == hashlib.sha256(raw).hexdigest() == key_id(alice)
    assert len(base64.b64decode(signature["sig"], validate=True)) == 64

    verified = verify_envelope(envelope, [alice.public_key()])
    assert verified.payload == STATEMENT and verified.payload_type == PAYLOAD_TYPE
    assert verified.signers == (key_id(alice),)
    assert verified.json()["_type"] == "https://in-toto.io/Statement/v1"
    # As text and as bytes too, and deterministic (Ed25519 signatures are).
    assert verify_envelope(json.dumps(envelope), [alice.public_key()]).payload == STATEMENT
    assert verify_envelope(json.dumps(envelope).encode(), [alice.public_key()]).payload == STATEMENT
    assert sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice]) == envelope


def test_tampered_payload_fails(alice):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    envelope["payload"] = base64.b64encode(STATEMENT.replace(b"[]", b"[1]")).decode()
    with pytest.raises(VerificationError) as caught:
        verify_envelope(envelope, [alice.public_key()])
    assert caught.value.exit_code == EXIT_GATE_FAILED
    assert str(caught.value) == (
        "envelope verification failed: 0 valid signatures from distinct trusted keys, 1 required"
        " (1 signature in the envelope)"
    )


def test_edited_payload_type_fails_on_the_signature_and_says_so(alice):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    envelope["payloadType"] = "application/vnd.other+json"
    with pytest.raises(VerificationError, match=r"0 valid signatures from distinct trusted keys, 1 required") as caught:
        verify_envelope(envelope, [alice.public_key()])
    # The signature is the reason; the message also names the unexpected type.
    assert "its payloadType 'application/vnd.other+json' is not the expected 'application/vnd.in-toto+json' either" in str(
        caught.value
    )


def test_payload_type_resigned_by_an_attacker_key_fails(alice, mallory):
    forged = sign_envelope(STATEMENT, "application/vnd.other+json", [mallory])
    with pytest.raises(VerificationError, match="0 valid signatures") as caught:
        verify_envelope(forged, [alice.public_key()])
    assert "not the expected" in str(caught.value)
    # Even with the expected type, the attacker's key is not trusted.
    with pytest.raises(VerificationError, match="0 valid signatures"):
        verify_envelope(sign_envelope(STATEMENT, PAYLOAD_TYPE, [mallory]), [alice.public_key()])


def test_validly_signed_but_unexpected_type_fails_after_the_signatures(alice):
    envelope = sign_envelope(STATEMENT, "application/vnd.other+json", [alice])
    with pytest.raises(VerificationError) as caught:
        verify_envelope(envelope, [alice.public_key()])
    assert str(caught.value) == (
        "envelope verification failed: validly signed, but its payloadType 'application/vnd.other+json'"
        " is not the expected 'application/vnd.in-toto+json'"
    )
    assert verify_envelope(envelope, [alice.public_key()], expected_payload_type="application/vnd.other+json")


def test_a_duplicated_signature_counts_once(alice, bob):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    envelope["signatures"] = envelope["signatures"] * 2  # replayed, and with another keyid
    envelope["signatures"][1] = dict(envelope["signatures"][1], keyid=key_id(bob))
    with pytest.raises(VerificationError) as caught:
        verify_envelope(envelope, [alice.public_key(), bob.public_key()], threshold=2)
    assert "1 valid signature from distinct trusted keys, 2 required (2 signatures in the envelope)" in str(caught.value)
    # Signing twice with one key yields one signature.
    assert len(sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice, alice])["signatures"]) == 1


def test_the_same_trusted_key_twice_cannot_make_a_threshold_of_two(alice):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    with pytest.raises(UsageError, match="threshold is 2 but only 1 distinct trusted key were given"):
        verify_envelope(envelope, [alice.public_key(), alice.public_key()], threshold=2)


def test_two_distinct_trusted_keys_meet_threshold_two(alice, bob, mallory):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [bob, alice])
    verified = verify_envelope(envelope, [mallory.public_key(), alice.public_key(), bob.public_key()], threshold=2)
    assert verified.signers == tuple(sorted((key_id(alice), key_id(bob))))
    # keyid is an unauthenticated hint: swapping or dropping it changes nothing.
    first, second = envelope["signatures"]
    envelope["signatures"] = [{"sig": first["sig"]}, dict(second, keyid="not-a-key")]
    assert verify_envelope(envelope, [alice.public_key(), bob.public_key()], threshold=2).signers == verified.signers
    with pytest.raises(VerificationError, match="2 valid signatures from distinct trusted keys, 3 required"):
        verify_envelope(envelope, [alice.public_key(), bob.public_key(), mallory.public_key()], threshold=3)


def test_an_untrusted_key_fails(alice, mallory):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [mallory])
    with pytest.raises(VerificationError, match="0 valid signatures from distinct trusted keys, 1 required"):
        verify_envelope(envelope, [alice.public_key()])


def test_url_safe_and_unpadded_base64_are_accepted(alice):
    payload = b"\xfb\xef\xbe\xff" + STATEMENT  # encodes to '+', '/' in the standard alphabet
    payload += b" " * (1 + (len(payload) % 3 == 2))  # a length that base64 must pad
    envelope = sign_envelope(payload, PAYLOAD_TYPE, [alice])
    signature = base64.b64decode(envelope["signatures"][0]["sig"])
    url_safe = dict(envelope, payload=base64.urlsafe_b64encode(payload).decode())
    url_safe["signatures"] = [{"sig": base64.urlsafe_b64encode(signature).decode().rstrip("=")}]
    assert "-" in url_safe["payload"] or "_" in url_safe["payload"]
    assert verify_envelope(url_safe, [alice.public_key()]).payload == payload
    unpadded = dict(envelope, payload=envelope["payload"].rstrip("="))
    assert unpadded["payload"] != envelope["payload"]
    assert verify_envelope(unpadded, [alice.public_key()]).payload == payload


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        (b"{not json", "the envelope is not JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"\xff\xfe", "the envelope is not UTF-8 text"),
        ("[1, 2]", "the envelope must be a JSON object, got list"),
        ({"payloadType": PAYLOAD_TYPE, "signatures": []}, "the envelope has no 'payload' field"),
        ({"payload": "", "signatures": []}, "the envelope has no 'payloadType' field"),
        ({"payloadType": PAYLOAD_TYPE, "payload": ""}, "the envelope has no 'signatures' field"),
        ({"payloadType": PAYLOAD_TYPE, "payload": 5, "signatures": []}, "the envelope's 'payload' must be a string, got int"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": {}}, "the envelope's 'signatures' must be a list, got dict"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "@@@@", "signatures": []}, "the envelope's payload is not base64 (standard or URL-safe)"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "ab+_", "signatures": []}, "the envelope's payload is not base64 (standard or URL-safe)"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "abcde", "signatures": []}, "the envelope's payload is not base64: wrong length or padding"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": [{"sig": "!"}]}, "the envelope's signatures[0].sig is not base64 (standard or URL-safe)"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": [{}]}, "the envelope's signatures[0] has no 'sig' string"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": ["x"]}, "the envelope's signatures[0] must be an object, got str"),
        ({"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": [{"sig": "", "keyid": 1}]}, "the envelope's signatures[0].keyid must be a string"),
    ],
)
def test_malformed_envelopes_are_input_errors(alice, envelope, message):
    with pytest.raises(InputError) as caught:
        verify_envelope(envelope, [alice.public_key()])
    assert str(caught.value) == message
    assert caught.value.exit_code == EXIT_USAGE


def test_no_signatures_is_a_verification_failure(alice):
    envelope = {"payloadType": PAYLOAD_TYPE, "payload": "", "signatures": []}
    with pytest.raises(VerificationError, match=r"0 valid signatures .* \(0 signatures in the envelope\)"):
        verify_envelope(envelope, [alice.public_key()])


@pytest.mark.parametrize("threshold", [0, -1, True, 1.5])
def test_threshold_must_be_a_positive_integer(alice, threshold):
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice])
    with pytest.raises(UsageError, match="threshold must be a whole number of at least 1"):
        verify_envelope(envelope, [alice.public_key()], threshold=threshold)


def test_signing_and_verifying_need_keys(alice):
    with pytest.raises(UsageError, match="at least one private key"):
        sign_envelope(STATEMENT, PAYLOAD_TYPE, [])
    with pytest.raises(UsageError, match="non-empty string"):
        sign_envelope(STATEMENT, "", [alice])
    with pytest.raises(UsageError, match="at least one trusted public key"):
        verify_envelope(sign_envelope(STATEMENT, PAYLOAD_TYPE, [alice]), [])


def test_a_non_json_payload_is_reported_by_json(alice):
    verified = verify_envelope(sign_envelope(b"\xff", PAYLOAD_TYPE, [alice]), [alice.public_key()])
    with pytest.raises(InputError, match="the signed payload is not UTF-8 JSON"):
        verified.json()


def test_read_envelope(tmp_path):
    with pytest.raises(InputError, match="envelope file not found"):
        read_envelope(tmp_path / "missing.json")
    (tmp_path / "e.json").write_bytes(b"{}")
    assert read_envelope(tmp_path / "e.json") == b"{}"


# --------------------------------------------------------------------------- keys


def test_generate_keypair_writes_pem_files_and_loads_back(tmp_path):
    private_path, public_path = generate_keypair(tmp_path / "keys" / "release")
    assert (private_path.name, public_path.name) == ("release.key", "release.pub")
    assert private_path.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    assert public_path.read_text().startswith("-----BEGIN PUBLIC KEY-----\n")
    if POSIX:
        assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in private_path.parent.iterdir()) == ["release.key", "release.pub"]  # no temp files

    notes: list[str] = []
    private = load_private_key(private_path, notes)
    public = load_public_key(public_path)
    assert notes == [] and key_id(private) == key_id(public)
    envelope = sign_envelope(STATEMENT, PAYLOAD_TYPE, [private])
    assert verify_envelope(envelope, [public]).signers == (key_id(public),)


def test_generate_keypair_refuses_to_overwrite(tmp_path):
    private_path, public_path = generate_keypair(tmp_path / "k")
    before = private_path.read_bytes(), public_path.read_bytes()
    with pytest.raises(UsageError, match=r"k\.key already exists; refusing to overwrite a key"):
        generate_keypair(tmp_path / "k")
    assert (private_path.read_bytes(), public_path.read_bytes()) == before
    # A lone .pub also blocks, and no .key is left behind.
    (tmp_path / "other.pub").write_text("mine")
    with pytest.raises(UsageError, match=r"other\.pub already exists"):
        generate_keypair(tmp_path / "other")
    assert not (tmp_path / "other.key").exists()


def _pem(key, private: bool) -> bytes:
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_other_key_types_are_refused_clearly(tmp_path):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "ec.key").write_bytes(_pem(ec_key, True))
    (tmp_path / "rsa.key").write_bytes(_pem(rsa_key, True))
    (tmp_path / "rsa.pub").write_bytes(_pem(rsa_key, False))
    with pytest.raises(InputError, match=r"ec\.key: an EC private key; pytest-enterprise signs with Ed25519 only$"):
        load_private_key(tmp_path / "ec.key")
    with pytest.raises(InputError, match=r"rsa\.key: an RSA private key; pytest-enterprise signs with Ed25519 only$"):
        load_private_key(tmp_path / "rsa.key")
    with pytest.raises(InputError, match=r"rsa\.pub: an RSA public key; pytest-enterprise verifies Ed25519 only$"):
        load_public_key(tmp_path / "rsa.pub")


def test_key_files_that_are_not_usable(tmp_path, alice):
    with pytest.raises(InputError, match="missing.key: private key file not found"):
        load_private_key(tmp_path / "missing.key")
    with pytest.raises(InputError, match="missing.pub: public key file not found"):
        load_public_key(tmp_path / "missing.pub")
    (tmp_path / "junk.key").write_text("hello")
    with pytest.raises(InputError, match=r"junk\.key: not a PEM file"):
        load_private_key(tmp_path / "junk.key")
    (tmp_path / "bad.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(InputError, match=r"bad\.key: not a readable PEM private key \("):
        load_private_key(tmp_path / "bad.key")
    (tmp_path / "a.pub").write_bytes(_pem(alice, False))
    (tmp_path / "a.key").write_bytes(_pem(alice, True))
    with pytest.raises(InputError, match=r"a\.pub: holds a public key; signing needs the private key"):
        load_private_key(tmp_path / "a.pub")
    with pytest.raises(InputError, match=r"a\.key: holds a private key; verification needs the public key"):
        load_public_key(tmp_path / "a.key")
    encrypted = alice.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (tmp_path / "enc.key").write_bytes(encrypted)
    with pytest.raises(InputError, match=r"enc\.key: the private key is encrypted"):
        load_private_key(tmp_path / "enc.key")


@pytest.mark.skipif(not POSIX, reason="POSIX file modes")
def test_a_readable_private_key_loads_with_a_note(tmp_path):
    private_path, _ = generate_keypair(tmp_path / "k")
    private_path.chmod(0o644)
    notes: list[str] = []
    assert key_id(load_private_key(private_path, notes))
    assert notes == [f"{private_path}: the private key is readable by group or others (mode 0644); run: chmod 600 {private_path}"]


def test_resolve_signing_key_order(tmp_path):
    env = {"ENTERPRISE_SIGNING_KEY": "/env/k.key"}
    assert str(resolve_signing_key("cli.key", "/cfg/k.key", env)) == "cli.key"
    assert str(resolve_signing_key(None, "/cfg/k.key", env)) == "/cfg/k.key"
    assert str(resolve_signing_key(None, None, env)) == "/env/k.key"
    assert resolve_signing_key(None, None, {}) is None
    assert resolve_signing_key(None, None, {"ENTERPRISE_SIGNING_KEY": ""}) is None
    with pytest.raises(UsageError, match="--key: needs the path"):
        resolve_signing_key("", None, {})
    with pytest.raises(UsageError, match=r"\$ENTERPRISE_SIGNING_KEY holds key text, not a path"):
        resolve_signing_key(None, None, {"ENTERPRISE_SIGNING_KEY": "-----BEGIN PRIVATE KEY-----\nMC4..."})


def test_generate_keypair_without_hard_links(tmp_path, monkeypatch):
    def no_links(source, target):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    private_path, public_path = generate_keypair(tmp_path / "k")
    if POSIX:
        assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key", "k.pub"]
    assert key_id(load_private_key(private_path)) == key_id(load_public_key(public_path))
    with pytest.raises(UsageError, match="already exists"):
        generate_keypair(tmp_path / "k")
