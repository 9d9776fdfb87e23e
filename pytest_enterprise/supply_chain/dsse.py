"""DSSE v1 envelopes: sign a payload with Ed25519 keys, verify against trusted public keys.

The signature covers ``PAE(payloadType, payload)``, so the payload type is authenticated along
with the body: an envelope whose type was edited fails its signatures. Verification follows the
DSSE protocol's multi-signature rule, with two deliberate strictnesses:

* ``keyid`` is never consulted. It is an unauthenticated hint; every signature is tried against
  every trusted key, so a forged or missing ``keyid`` changes nothing.
* A trusted key counts once toward the threshold, however many signatures it made (or an
  attacker copied): a threshold of 2 needs two different trusted keys.

The payload type is compared with the expected one only after the signatures pass, as the
protocol orders it, so "not signed by whom you trust" is always the first answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import (
    EXIT_GATE_FAILED,
    EnterpriseError,
    InputError,
    UsageError,
)
from ..files import read_bytes
from .keys import key_id, public_key_of

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "PAYLOAD_TYPE",
    "VerificationError",
    "VerifiedPayload",
    "pae",
    "read_envelope",
    "sign_envelope",
    "verify_envelope",
]

#: The in-toto attestation framework's payload type for a JSON Statement.
PAYLOAD_TYPE = "application/vnd.in-toto+json"


class VerificationError(EnterpriseError):
    """The envelope is well formed but not trustworthy: too few valid signatures from distinct
    trusted keys, or an unexpected payload type. A finding about the artifact (exit 1), not a
    usage mistake."""

    exit_code = EXIT_GATE_FAILED


@dataclass(frozen=True)
class VerifiedPayload:
    """What a verified envelope vouches for."""

    payload_type: str
    payload: bytes
    signers: tuple[str, ...]  # key ids (see ``keys.key_id``) of the trusted keys that signed

    def json(self) -> Any:
        """The payload parsed as JSON (an in-toto Statement, for ``PAYLOAD_TYPE``)."""
        try:
            return json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"the signed payload is not UTF-8 JSON ({exc})") from None


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding:
    ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``, LEN being the ASCII decimal byte
    length. Byte lengths, not character counts: a non-ASCII type must not shift the boundary
    between type and body, which is what makes the encoding unambiguous."""
    type_bytes = payload_type.encode("utf-8")
    body = bytes(payload)
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(body), body)


def sign_envelope(payload: bytes, payload_type: str, keys: Sequence[Ed25519PrivateKey]) -> dict[str, Any]:
    """A DSSE envelope over ``payload`` with one signature per distinct key (standard base64).

    Ed25519 is deterministic, so the same payload, type and keys give the same envelope."""
    if not isinstance(payload_type, str) or not payload_type:
        raise UsageError("a DSSE payload type must be a non-empty string")
    if not keys:
        raise UsageError("signing needs at least one private key")
    message = pae(payload_type, payload)
    signatures = []
    seen: set[str] = set()
    for key in keys:
        identifier = key_id(key)
        if identifier in seen:
            continue  # a second signature by the same key adds nothing a verifier may count
        seen.add(identifier)
        signatures.append({"keyid": identifier, "sig": _b64(key.sign(message))})
    return {"payloadType": payload_type, "payload": _b64(bytes(payload)), "signatures": signatures}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def read_envelope(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an envelope file, for ``verify_envelope``."""
    return read_bytes(path, "envelope file")


def verify_envelope(
    envelope: Mapping[str, Any] | bytes | str,
    trusted: Sequence[Ed25519PublicKey],
    *,
    threshold: int = 1,
    expected_payload_type: str = PAYLOAD_TYPE,
) -> VerifiedPayload:
    """Check ``envelope`` against ``trusted`` keys; return what it vouches for.

    Raises ``InputError`` when the envelope cannot be decoded (bad JSON or base64, missing or
    mistyped fields), ``UsageError`` for an impossible threshold, and ``VerificationError``
    when fewer than ``threshold`` distinct trusted keys signed it, or when it was properly
    signed but carries another payload type than ``expected_payload_type``.
    """
    from cryptography.exceptions import InvalidSignature

    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise UsageError(f"the signature threshold must be a whole number of at least 1, got {threshold!r}")
    keys = _distinct_keys(trusted)
    if not keys:
        raise UsageError("verification needs at least one trusted public key")
    if threshold > len(keys):
        raise UsageError(
            f"the signature threshold is {threshold} but only {len(keys)} distinct trusted "
            f"key{'' if len(keys) == 1 else 's'} were given; it could never be met"
        )
    payload_type, payload, signatures = _decode(envelope)

    message = pae(payload_type, payload)
    accepted: set[str] = set()
    for signature in signatures:
        for identifier, key in keys.items():
            if identifier in accepted:
                continue  # each trusted key counts once, however many signatures repeat it
            try:
                key.verify(signature, message)
            except InvalidSignature:
                continue
            accepted.add(identifier)
            break
    if len(accepted) < threshold:
        found = len(accepted)
        detail = (
            f"envelope verification failed: {found} valid signature{'' if found == 1 else 's'} "
            f"from distinct trusted keys, {threshold} required"
            f" ({len(signatures)} signature{'' if len(signatures) == 1 else 's'} in the envelope)"
        )
        if payload_type != expected_payload_type:
            # Not the reason for the rejection (the signatures are), but it explains a common one:
            # the signatures cover the type, so an edited type invalidates them.
            detail += f"; its payloadType {payload_type!r} is not the expected {expected_payload_type!r} either"
        raise VerificationError(detail)
    if payload_type != expected_payload_type:
        raise VerificationError(
            f"envelope verification failed: validly signed, but its payloadType {payload_type!r} "
            f"is not the expected {expected_payload_type!r}"
        )
    return VerifiedPayload(payload_type=payload_type, payload=payload, signers=tuple(sorted(accepted)))


def _distinct_keys(trusted: Sequence[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    # The same key passed twice (say, from two files) is still one key toward the threshold.
    keys: dict[str, Ed25519PublicKey] = {}
    for key in trusted:
        public = public_key_of(key)
        keys.setdefault(key_id(public), public)
    return keys


def _decode(envelope: Mapping[str, Any] | bytes | str) -> tuple[str, bytes, list[bytes]]:
    if isinstance(envelope, (bytes, bytearray)):
        try:
            envelope = bytes(envelope).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("the envelope is not UTF-8 text") from None
    if isinstance(envelope, str):
        try:
            envelope = json.loads(envelope)
        except json.JSONDecodeError as exc:
            raise InputError(f"the envelope is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        except RecursionError:
            raise InputError("the envelope is not JSON that can be read: nested too deeply") from None
        except ValueError as exc:  # an integer too long to convert
            raise InputError(f"the envelope is not JSON that can be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(envelope, Mapping):
        raise InputError(f"the envelope must be a JSON object, got {type(envelope).__name__}")
    payload_type = _field(envelope, "payloadType", str)
    payload = _b64decode(_field(envelope, "payload", str), "payload")
    raw_signatures = _field(envelope, "signatures", list)
    signatures = []
    for index, entry in enumerate(raw_signatures):
        where = f"signatures[{index}]"
        if not isinstance(entry, Mapping):
            raise InputError(f"the envelope's {where} must be an object, got {type(entry).__name__}")
        sig = entry.get("sig")
        if not isinstance(sig, str):
            raise InputError(f"the envelope's {where} has no 'sig' string")
        if "keyid" in entry and not isinstance(entry["keyid"], str):
            raise InputError(f"the envelope's {where}.keyid must be a string")
        signatures.append(_b64decode(sig, f"{where}.sig"))
    return payload_type, payload, signatures


def _field(envelope: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in envelope:
        raise InputError(f"the envelope has no {name!r} field")
    value = envelope[name]
    if not isinstance(value, kind):
        expected = "a string" if kind is str else "a list"
        raise InputError(f"the envelope's {name!r} must be {expected}, got {type(value).__name__}")
    return value


_STANDARD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def _b64decode(text: str, where: str) -> bytes:
    """Standard or URL-safe base64, padded or not: DSSE verifiers must accept either alphabet,
    and unpadded output is common from URL-safe encoders. Mixing the alphabets is refused."""
    if _STANDARD.fullmatch(text):
        altchars = None
    elif _URL_SAFE.fullmatch(text):
        altchars = b"-_"
    else:
        raise InputError(f"the envelope's {where} is not base64 (standard or URL-safe)")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1 or (text != stripped and len(text) % 4):
        raise InputError(f"the envelope's {where} is not base64: wrong length or padding")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return base64.b64decode(padded, altchars=altchars, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputError(f"the envelope's {where} is not base64 ({exc})") from None
