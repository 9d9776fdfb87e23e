"""Ed25519 signing keys for the provenance: make a pair, load either half, find the one to use.

Keys live in PEM files: the private half as unencrypted PKCS #8 (``PREFIX.key``, mode 0600),
the public half as SubjectPublicKeyInfo (``PREFIX.pub``), the formats ``openssl`` and
``cosign import-key-pair`` read. Ed25519 only: one algorithm means no algorithm confusion when
verifying, and its signatures are deterministic, so the same key and statement always give the
same envelope.

``cryptography`` is imported inside the functions, so importing this module costs nothing for
runs that never sign.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, UsageError
from ..files import make_folder, output_error, read_bytes

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "ENV_SIGNING_KEY",
    "PRIVATE_SUFFIX",
    "PUBLIC_SUFFIX",
    "generate_keypair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_of",
    "resolve_signing_key",
]

ENV_SIGNING_KEY = "ENTERPRISE_SIGNING_KEY"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key.

    Computed from the key, never read from an envelope: DSSE's ``keyid`` is an unauthenticated
    hint, so verification never trusts it (see ``dsse.verify_envelope``).
    """
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = public_key_of(key)
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def public_key_of(key: Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    if isinstance(key, Ed25519PrivateKey):
        return key.public_key()
    if isinstance(key, Ed25519PublicKey):
        return key
    raise UsageError(f"not an Ed25519 key: {type(key).__name__}")


def generate_keypair(prefix: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new key pair to ``PREFIX.key`` (private, mode 0600) and ``PREFIX.pub``.

    Refuses to replace either file: overwriting a signing key silently would orphan every
    envelope signed with it. Each file appears whole or not at all.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    base = Path(prefix)
    if not base.name or base.name in (".", ".."):
        raise UsageError(f"{prefix}: a key prefix needs a file name, e.g. keys/release")
    private_path = base.with_name(base.name + PRIVATE_SUFFIX)
    public_path = base.with_name(base.name + PUBLIC_SUFFIX)
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise UsageError(f"{path} already exists; refusing to overwrite a key (choose another prefix)")

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    _create_exclusive(private_path, private_pem, mode=0o600)
    try:
        _create_exclusive(public_path, public_pem, mode=0o644)
    except BaseException:
        # Half a pair is useless and the private half must not linger unannounced.
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path


def _create_exclusive(path: Path, data: bytes, *, mode: int) -> None:
    """Create ``path`` holding ``data``; fail if it exists.

    The bytes go to a temp file opened with ``mode`` from the start (so the private key is never
    readable by others, not even for an instant), are fsynced, then hard-linked into place:
    ``link`` fails on an existing target, so no existing file is ever replaced and no reader sees
    a partial key. Where hard links are unsupported, an ``O_EXCL`` create is the fallback.
    """
    make_folder(path.parent, what="folder for the key")
    try:
        fd, temp_name = _open_temp(path, mode)
    except OSError as exc:
        raise output_error(path, exc, "key") from None
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:  # a full disk, say: one line, and the temp file goes
            raise output_error(path, exc, "key") from None
        try:
            os.link(temp_name, path)
        except FileExistsError:
            raise UsageError(f"{path} already exists; refusing to overwrite a key (choose another prefix)") from None
        except (OSError, NotImplementedError):  # no hard links on this file system
            _write_exclusive(path, data, mode)
    finally:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass


def _open_temp(path: Path, mode: int) -> tuple[int, str]:
    # mkstemp already creates 0600; chmod only ever widens a public key to ``mode``.
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    return fd, temp_name


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    except FileExistsError:
        raise UsageError(f"{path} already exists; refusing to overwrite a key (choose another prefix)") from None
    except OSError as exc:
        raise output_error(path, exc, "key") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def load_private_key(path: str | os.PathLike[str], notes: list[str] | None = None) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at ``path``.

    When ``notes`` is given, a warning is appended to it if the file is readable by group or
    others: the key still loads (refusing would break a run over a fixable mode), but the caller
    should show the note.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    file = Path(path)
    data = _read_key_file(file, "private")
    if b"-----BEGIN" not in data:
        raise InputError(f"{file}: not a PEM file (expected '-----BEGIN PRIVATE KEY-----')")
    if b"PUBLIC KEY-----" in data and b"PRIVATE KEY-----" not in data:
        raise InputError(f"{file}: holds a public key; signing needs the private key (the .key file)")
    if b"ENCRYPTED PRIVATE KEY-----" in data:
        raise InputError(f"{file}: the private key is encrypted; pytest-enterprise reads unencrypted PKCS #8 keys")
    try:
        key = load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's signal for an encrypted key without a password
        raise InputError(f"{file}: the private key is encrypted; pytest-enterprise reads unencrypted PKCS #8 keys") from None
    except Exception as exc:  # malformed PEM or DER, unsupported algorithm: all one answer
        raise InputError(f"{file}: not a readable PEM private key ({_first_line(exc)})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{file}: {_describe(key)} private key; pytest-enterprise signs with Ed25519 only")
    if notes is not None:
        note = _permission_note(file)
        if note:
            notes.append(note)
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM (SubjectPublicKeyInfo) file at ``path``."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    file = Path(path)
    data = _read_key_file(file, "public")
    if b"-----BEGIN" not in data:
        raise InputError(f"{file}: not a PEM file (expected '-----BEGIN PUBLIC KEY-----')")
    if b"PRIVATE KEY-----" in data:
        # Refused rather than derived: a verifier that is handed private keys invites them to be
        # copied where only public keys belong.
        raise InputError(f"{file}: holds a private key; verification needs the public key (the .pub file)")
    try:
        key = load_pem_public_key(data)
    except Exception as exc:  # malformed PEM or DER, unsupported algorithm
        raise InputError(f"{file}: not a readable PEM public key ({_first_line(exc)})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{file}: {_describe(key)} public key; pytest-enterprise verifies Ed25519 only")
    return key


def _read_key_file(file: Path, half: str) -> bytes:
    return read_bytes(file, f"{half} key file")


def _permission_note(file: Path) -> str | None:
    if os.name != "posix":
        return None  # mode bits do not describe Windows ACLs
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return f"{file}: the private key is readable by group or others (mode {mode:04o}); run: chmod 600 {file}"
    return None


def _describe(key: object) -> str:
    """"an RSA", "an EC", ... for an error message; isinstance, since the concrete classes
    are private to cryptography and their names change between releases."""
    from cryptography.hazmat.primitives.asymmetric import (
        dsa,
        ec,
        ed448,
        rsa,
        x448,
        x25519,
    )

    for kinds, label in (
        ((rsa.RSAPrivateKey, rsa.RSAPublicKey), "an RSA"),
        ((ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey), "an EC"),
        ((ed448.Ed448PrivateKey, ed448.Ed448PublicKey), "an Ed448"),
        ((dsa.DSAPrivateKey, dsa.DSAPublicKey), "a DSA"),
        ((x25519.X25519PrivateKey, x25519.X25519PublicKey), "an X25519"),
        ((x448.X448PrivateKey, x448.X448PublicKey), "an X448"),
    ):
        if isinstance(key, kinds):
            return label
    return f"a {type(key).__name__}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def resolve_signing_key(
    option: str | None, configured: str | None, env: Mapping[str, str]
) -> Path | None:
    """The signing key file to use: ``--key PATH``, else ``security.signing_key`` (already
    resolved against the config file's folder by the caller), else ``$ENTERPRISE_SIGNING_KEY``;
    None when none is given. The key is not read here, so a missing file is reported by
    ``load_private_key`` when (and only if) signing happens.
    """
    if option is not None:
        if not option.strip():
            raise UsageError("--key: needs the path of a private key file")
        return Path(option).expanduser()
    if configured:
        return Path(configured).expanduser()
    value = env.get(ENV_SIGNING_KEY, "")
    if not value.strip():
        return None  # set but empty means unset, as for the ENTERPRISE_* settings
    if "-----BEGIN" in value:
        # CI secrets are often pasted as key text; say so instead of "no such file '-----BEGIN…'".
        raise UsageError(
            f"${ENV_SIGNING_KEY} holds key text, not a path; write the key to a file (mode 600) and set the variable to its path"
        )
    return Path(value).expanduser()
