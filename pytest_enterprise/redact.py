"""Redaction of secrets before a run is written anywhere (report, history, SBOM, provenance,
terminal). Pure functions, standard library only, cheap to import: the session calls
``redact_args`` once per run.

What counts as a secret (docs/redaction.md says the same, and what this cannot catch):

* a command-line option whose name contains ``token``, ``password``, ``passwd``, ``secret``,
  ``key`` or ``credential`` (any case): ``--api-token=V`` becomes ``--api-token=***``, and in
  the two-word form ``--api-token V`` the next argument becomes ``***`` unless it starts with
  ``-`` (then the option took no value). A path given to such an option (``--enterprise-key
  key.pem``) is hidden too: the rule cannot tell a path from a secret, and hiding a path costs
  less than publishing a key;
* the user info of a URL, wherever a URL appears in a string: ``https://user:token@host/x``
  becomes ``https://***@host/x``. The whole user info goes, not only the password, because CI
  systems put the token in the user slot too (``https://TOKEN@github.com``);
* the value of a URL query parameter with a secret-looking name (``?access_token=V``);
* the value of an environment or config entry with a secret-looking name (``redact_mapping``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "MASK",
    "SECRET_WORDS",
    "is_secret_name",
    "redact_args",
    "redact_mapping",
    "redact_text",
    "redact_url",
]

MASK = "***"
SECRET_WORDS = ("token", "password", "passwd", "secret", "key", "credential")

_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)
# scheme://userinfo@ : userinfo is everything up to the last "@" before the host ends.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#@]*(?:@[^\s/?#@]*)*)@")
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;](?:[A-Za-z0-9_.-]*(?:" + "|".join(SECRET_WORDS) + r")[A-Za-z0-9_.-]*))=(?P<value>[^&#;\s]*)",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether an option, variable or config key named ``name`` holds a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """``url`` without user info or secret query values (see ``redact_text``)."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """Every URL's user info in ``text`` replaced by ``***``, and every secret-looking query
    parameter's value too; the rest of the text unchanged."""
    if "://" not in text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@" if m.group("userinfo") else m.group(0), text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('name')}={MASK}" if m.group("value") else m.group(0), text)


def redact_args(args: Iterable[str]) -> list[str]:
    """Command-line arguments with the values of secret-looking options and the user info of
    URLs replaced by ``***``."""
    result: list[str] = []
    hide_next = False
    for raw in args:
        arg = str(raw)
        if hide_next:
            hide_next = False
            if not arg.startswith("-"):
                result.append(MASK)
                continue
        if arg.startswith("--") and len(arg) > 2:
            name, equals, value = arg.partition("=")
            if is_secret_name(name):
                if equals:
                    result.append(f"{name}={MASK}")
                else:
                    result.append(arg)
                    hide_next = True
                continue
        result.append(redact_text(arg))
    return result


def redact_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """A copy with secret-looking keys' values replaced by ``***`` and URLs redacted in the
    others."""
    return {key: MASK if is_secret_name(key) else redact_text(str(value)) for key, value in mapping.items()}
