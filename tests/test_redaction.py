"""Issue 10 point 13: secrets never reach what a run writes (report, history, SBOM, signed
provenance, terminal). The rules are in pytest_enterprise/redact.py and docs/redaction.md."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

# Imported before pytester snapshots sys.modules (see test_supply_plugin.py).
from cryptography.hazmat.primitives import serialization  # noqa: F401
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401

from pytest_enterprise.environment import ci_job_url
from pytest_enterprise.redact import MASK, redact_args, redact_mapping, redact_text
from pytest_enterprise.supply_chain.keys import generate_keypair


@pytest.mark.parametrize(
    ("given_args", "expected"),
    [
        (["--api-token=S", "-q"], ["--api-token=***", "-q"]),
        (["--API-TOKEN", "S", "tests"], ["--API-TOKEN", "***", "tests"]),
        (["--db-password=S"], ["--db-password=***"]),
        (["--client-secret", "S"], ["--client-secret", "***"]),
        (["--enterprise-key", "keys/ci.key"], ["--enterprise-key", "***"]),  # the spec: a path too
        (["--token", "-x"], ["--token", "-x"]),  # the option took no value
        (["--index-url=https://u:S@pypi.example/simple"], ["--index-url=https://***@pypi.example/simple"]),
        (["https://S@github.com/o/r.git"], ["https://***@github.com/o/r.git"]),
        (["--url=https://h.example/x?access_token=S&page=2"], ["--url=https://h.example/x?access_token=***&page=2"]),
        (["-k", "token and not slow", "tests/test_tokens.py"], ["-k", "token and not slow", "tests/test_tokens.py"]),
        (["--maxfail=2", "-p", "no:cacheprovider"], ["--maxfail=2", "-p", "no:cacheprovider"]),
    ],
)
def test_redact_args(given_args, expected):
    assert redact_args(given_args) == expected


_word = st.sampled_from(["token", "Password", "SECRET", "key", "passwd", "credential"])
_part = st.text(alphabet="abcxyz-_", max_size=6)
_secret = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8, max_size=20)


@given(before=_part, word=_word, after=_part, secret=_secret, two_words=st.booleans())
def test_no_secret_option_value_survives(before, word, after, secret, two_words):
    option = f"--{before}{word}{after}"
    args = ["-q", option, secret] if two_words else ["-q", f"{option}={secret}"]
    assert secret not in " ".join(redact_args(args))


@given(user=_secret, password=_secret, scheme=st.sampled_from(["https", "http", "git+https", "ssh"]))
def test_no_url_credentials_survive(user, password, scheme):
    text = f"see {scheme}://{user}:{password}@host.example:8443/path?q=1 and more"
    redacted = redact_text(text)
    assert user not in redacted and password not in redacted
    assert redacted == f"see {scheme}://***@host.example:8443/path?q=1 and more"


def test_redact_text_leaves_ordinary_text_alone():
    assert redact_text("https://host/a@b and mail me@example.org") == "https://host/a@b and mail me@example.org"


def test_redact_mapping():
    assert redact_mapping({"GITHUB_TOKEN": "S", "AWS_SECRET_ACCESS_KEY": "S", "URL": "https://u:S@h/", "N": "1"}) == {
        "GITHUB_TOKEN": MASK, "AWS_SECRET_ACCESS_KEY": MASK, "URL": "https://***@h/", "N": "1",
    }  # fmt: skip


def test_ci_job_url_loses_its_credentials():
    assert ci_job_url({"CI_JOB_URL": "https://ci:S@gitlab.example/g/p/-/jobs/7"}) == "https://***@gitlab.example/g/p/-/jobs/7"
    assert ci_job_url({"BUILD_URL": "https://jenkins.example/job/1/"}) == "https://jenkins.example/job/1/"


SECRETS = {
    "argument": "ARGSECRET0123456789",
    "two-word argument": "TWOWORDSECRET98765",
    "CI URL": "CIURLSECRET4242",
    "builder id": "BUILDERSECRET777",
}


def test_planted_secrets_reach_no_written_file_nor_the_terminal(pytester, run_enterprise, monkeypatch):
    # One run, -n 0: the arguments, CI URL and builder id are read on the controller only.
    pytester.makeconftest(
        """
def pytest_addoption(parser):
    parser.addoption("--api-token")
    parser.addoption("--db-password")
"""
    )
    pytester.makepyfile(test_one="def test_ok():\n    pass\n")
    pytester.makefile(".toml", pyproject='[project]\nname = "shop"\nversion = "2.0"\n')
    generate_keypair(pytester.path / "ci")
    pytester.makefile(
        ".yaml",
        **{"enterprise-config": "security:\n  signing_key: ci.key\n"
           f"  builder_id: https://builder:{SECRETS['builder id']}@builder.example/b\n"},
    )  # fmt: skip
    inputs = {path for path in pytester.path.rglob("*")}
    monkeypatch.setenv("CI_JOB_URL", f"https://ci-user:{SECRETS['CI URL']}@ci.example/jobs/1")
    run = run_enterprise(
        "--enterprise-sbom", "--enterprise-provenance",
        f"--api-token={SECRETS['argument']}", "--db-password", SECRETS["two-word argument"],
    )  # fmt: skip
    assert run.result.ret == 0, run.result.stdout.str()
    assert run.report["run"]["pytest_args"].count("--api-token=***") == 1
    assert run.report["run"]["ci_job_url"] == "https://***@ci.example/jobs/1"

    written = {path: path.read_bytes() for path in pytester.path.rglob("*") if path.is_file() and path not in inputs}
    history = [path for path in written if "history" in path.name]
    assert history, sorted(map(str, written))
    envelope = json.loads((pytester.path / "provenance.intoto.json").read_text())
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicate"]["runDetails"]["builder"]["id"] == "https://***@builder.example/b"
    assert "--api-token=***" in statement["predicate"]["buildDefinition"]["externalParameters"]["pytest_args"]
    written["provenance payload"] = base64.b64decode(envelope["payload"])  # the envelope holds it in base64
    written["terminal"] = (run.result.stdout.str() + run.result.stderr.str()).encode()
    for where, secret in SECRETS.items():
        leaks = sorted(str(name) for name, data in written.items() if secret.encode() in data)
        assert leaks == [], f"the {where} secret leaked into {leaks}"
