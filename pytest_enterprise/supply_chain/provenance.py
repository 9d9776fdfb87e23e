"""in-toto statements about a test run, and an honest judgement of its SLSA Build level.

Two statements (in-toto Statement v1), each signed as a DSSE envelope by ``dsse``:

* SLSA provenance v1 (``https://slsa.dev/provenance/v1``): which files the run produced (by
  SHA-256), the pytest arguments, the installed distributions and the git commit it ran on,
  which builder ran it, and when.
* Test result v0.1 (``https://in-toto.io/attestation/test-result/v0.1``): PASSED, WARNED or
  FAILED, and which tests fell in each bucket.

The SLSA level a statement states is the level ``assess_slsa_level`` finds achieved, and that is
at most Build L1: pytest-enterprise runs as one of the build's own steps, so the provenance it
writes is tenant-generated and signed with a key the build steps can read, which SLSA v1.0
rules out for Build L2 and L3 whatever CI runs it. See docs/provenance.md.

Everything here is a pure function of its arguments (the clock and the environment are passed
in), so the same inputs give byte-identical statements.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .. import __version__
from ..errors import (
    EXIT_GATE_FAILED,
    EnterpriseError,
    InputError,
    PermissionDeniedError,
    UsageError,
)
from ..files import write_text_atomic
from ..redact import redact_args, redact_mapping, redact_text
from ..timeutil import rfc3339
from .model import Inventory

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "BUILD_TYPE",
    "LEVEL_FIELD",
    "LOCAL_BUILDER_ID",
    "PROVENANCE_PREDICATE_TYPE",
    "SLSA_LEVELS",
    "STATEMENT_TYPE",
    "TEST_RESULT_PREDICATE_TYPE",
    "BuildFacts",
    "Gap",
    "Invocation",
    "LevelAssessment",
    "SlsaLevel",
    "SlsaLevelError",
    "assess_slsa_level",
    "build_provenance_statement",
    "build_test_result_statement",
    "detect_builder",
    "file_subject",
    "highest_attainable_level",
    "sign_statement",
    "statement_bytes",
    "write_envelope",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PROVENANCE_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
TEST_RESULT_PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"

#: What ``buildDefinition`` means: "pytest ran with these arguments in this environment".
#: A URN, not a URL, because no web page of ours is guaranteed to stay at an address;
#: docs/provenance.md is its specification.
BUILD_TYPE = "urn:pytest-enterprise:build-type:pytest-run:v1"
#: Builder ids are "urn:pytest-enterprise:builder:<platform>[:<runner kind>]".
BUILDER_PREFIX = "urn:pytest-enterprise:builder:"
LOCAL_BUILDER_ID = BUILDER_PREFIX + "local"
#: The extension field (SLSA's ``<vendor>_<field>`` form) in ``runDetails.metadata`` that
#: states the achieved SLSA Build level. Ignoring it changes no other field's meaning.
LEVEL_FIELD = "pytestenterprise_slsaBuildLevel"

TEST_RESULTS = ("PASSED", "WARNED", "FAILED")
_CHUNK = 1 << 20


# --------------------------------------------------------------------------- subjects


def file_subject(path: str | os.PathLike[str], name: str | None = None) -> dict[str, Any]:
    """``{"name": name or the file's name, "digest": {"sha256": hex}}`` for one file."""
    file = Path(path)
    digest = hashlib.sha256()
    try:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        raise InputError(f"{file}: no such file to attest") from None
    except IsADirectoryError:
        raise InputError(f"{file}: is a directory; attest the files in it") from None
    except PermissionError as exc:
        raise PermissionDeniedError(f"{file}: cannot read it to attest it ({exc.strerror})") from None
    return {"name": name if name is not None else file.name, "digest": {"sha256": digest.hexdigest()}}


def _subjects(subjects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Checked copies sorted by name: order of discovery must not change the statement."""
    if not subjects:
        raise UsageError("a statement needs at least one subject (a file identified by its digest)")
    checked = []
    names: set[str] = set()
    for index, subject in enumerate(subjects):
        if not isinstance(subject, Mapping):
            raise UsageError(f"subject {index} must be a mapping, got {type(subject).__name__}")
        digest = subject.get("digest")
        if not isinstance(digest, Mapping) or not digest or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in digest.items()
        ):
            raise UsageError(f"subject {index} needs a digest such as {{'sha256': '<hex>'}}")
        name = subject.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise UsageError(f"subject {index}: the name must be a string")
            if name in names:
                # The Statement spec asks for unique names; a verifier matching by name would
                # otherwise pick one of two digests at random.
                raise UsageError(f"two subjects are named {name!r}; subject names must be unique")
            names.add(name)
        copy = {key: value for key, value in subject.items() if key not in ("digest", "name")}
        if name is not None:
            copy["name"] = name
        copy["digest"] = dict(sorted(digest.items()))
        checked.append(copy)
    return sorted(checked, key=lambda s: (s.get("name", ""), json.dumps(s["digest"], sort_keys=True)))


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Invocation:
    """One run of pytest, as the provenance describes it."""

    invocation_id: str  # globally unique: the run id, or the CI job URL
    started_on: datetime
    finished_on: datetime
    arguments: tuple[str, ...]  # pytest's arguments, as given
    environment: Mapping[str, str] = field(default_factory=dict)  # set by the platform, not the user


def build_provenance_statement(
    *,
    subjects: Sequence[Mapping[str, Any]],
    invocation: Invocation,
    inventory: Inventory | None,
    git: Mapping[str, Any] | None,
    builder_id: str,
    build_type: str = BUILD_TYPE,
    slsa_level: int | LevelAssessment | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An in-toto Statement v1 with a SLSA provenance v1 predicate.

    ``inputs`` are further resolved dependencies, e.g. the OSV database a scan read
    (``{"uri", "digest": {"sha256": fingerprint}}``).

    ``git`` may hold ``commit``, ``branch``, ``remote`` and ``dirty``. ``slsa_level`` is the
    level ``assess_slsa_level`` achieved (or the assessment itself); it is written as
    ``runDetails.metadata.pytestenterprise_slsaBuildLevel`` and cannot exceed what the
    assessment can ever grant, so no statement claims a level without substance.
    """
    if not isinstance(builder_id, str) or not builder_id.strip():
        raise UsageError("the provenance needs a builder id (a URI)")
    if not isinstance(build_type, str) or not build_type.strip():
        raise UsageError("the provenance needs a build type (a URI)")
    if invocation.finished_on < invocation.started_on:
        raise UsageError(
            f"invocation {invocation.invocation_id!r} finished ({rfc3339(invocation.finished_on)}) "
            f"before it started ({rfc3339(invocation.started_on)})"
        )
    level = _stated_level(slsa_level)

    internal: dict[str, Any] = {}
    if inventory is not None and inventory.python:
        internal["python"] = inventory.python
    if inventory is not None and inventory.platform:
        internal["platform"] = inventory.platform
    if invocation.environment:
        environment = {str(k): str(v) for k, v in sorted(invocation.environment.items())}
        internal["environment"] = redact_mapping(environment)

    metadata: dict[str, Any] = {
        "invocationId": str(invocation.invocation_id),
        "startedOn": rfc3339(invocation.started_on),
        # Rounded up to the millisecond the text keeps: truncating could state a finish before
        # the last subject's write (docs/provenance.md).
        "finishedOn": rfc3339(_ceil_millisecond(invocation.finished_on)),
    }
    if level is not None:
        metadata[LEVEL_FIELD] = level

    return {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(subjects),
        "predicateType": PROVENANCE_PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": build_type,
                # Redacted again here: a caller may pass arguments that never went through
                # RunInfo (docs/redaction.md); a signed statement is forever.
                "externalParameters": {"pytest_args": redact_args(str(a) for a in invocation.arguments)},
                "internalParameters": internal,
                "resolvedDependencies": _resolved_dependencies(inventory, git) + [dict(i) for i in inputs],
            },
            "runDetails": {
                "builder": {"id": redact_text(builder_id), "version": {"pytest-enterprise": __version__}},
                "metadata": metadata,
            },
        },
    }


def _ceil_millisecond(moment: datetime) -> datetime:
    extra = moment.microsecond % 1000
    return moment if extra == 0 else moment + timedelta(microseconds=1000 - extra)


def _stated_level(slsa_level: int | LevelAssessment | None) -> int | None:
    if slsa_level is None:
        return None
    level = slsa_level.achieved if isinstance(slsa_level, LevelAssessment) else slsa_level
    ceiling = highest_attainable_level()
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= ceiling:
        raise UsageError(
            f"cannot state SLSA Build level {level!r}: pytest-enterprise can achieve at most Build L{ceiling}"
        )
    return level


def _resolved_dependencies(inventory: Inventory | None, git: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    dependencies: list[dict[str, Any]] = []
    source = _git_dependency(git)
    if source is not None:
        dependencies.append(source)
    if inventory is not None:
        components = ((inventory.root,) if inventory.root is not None else ()) + tuple(inventory.components)
        seen: set[str] = set()
        listed = []
        for component in components:
            if component.purl in seen:
                continue
            seen.add(component.purl)
            listed.append(
                {
                    "uri": component.purl,
                    "name": component.name,
                    # Editable and local installs are mutable: the purl alone does not pin them.
                    "annotations": {"scope": component.scope, "install": component.install},
                }
            )
        dependencies.extend(sorted(listed, key=lambda d: d["uri"]))
    return dependencies


def _git_dependency(git: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not git:
        return None
    commit = git.get("commit")
    remote = git.get("remote")
    branch = git.get("branch")
    entry: dict[str, Any] = {"name": "source"}
    if remote:
        ref = f"refs/heads/{branch}" if branch else commit
        base = f"git+{redact_text(_without_credentials(str(remote)))}"
        entry["uri"] = f"{base}@{ref}" if ref else base
    if commit:
        entry["digest"] = {"gitCommit": str(commit)}
    if "uri" not in entry and "digest" not in entry:
        return None  # a ResourceDescriptor needs a uri or a digest; a branch alone is neither
    annotations = {}
    if branch:
        annotations["branch"] = str(branch)
    if git.get("dirty") is not None:
        # A dirty work tree means the commit does not fully describe what was tested.
        annotations["dirty"] = bool(git["dirty"])
    if annotations:
        entry["annotations"] = annotations
    return entry


def _without_credentials(remote: str) -> str:
    """The remote URL without user info: CI checkouts often embed a token
    (``https://x-access-token:TOKEN@github.com/...``) that must never land in a signed,
    published statement. ``user@host:path`` (scp form) becomes ``ssh://host/path``."""
    parts = urlsplit(remote)
    if parts.scheme and parts.netloc:
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    if ":" in remote and not remote.startswith("/"):
        user_host, _, path = remote.partition(":")
        host = user_host.rpartition("@")[2]
        return f"ssh://{host}/{path.lstrip('/')}"
    return remote


# --------------------------------------------------------------------------- test result


def build_test_result_statement(
    *,
    subjects: Sequence[Mapping[str, Any]],
    result: str,
    passed: Sequence[str],
    warned: Sequence[str],
    failed: Sequence[str],
    configuration: Sequence[Mapping[str, Any]] = (),
    url: str | None = None,
) -> dict[str, Any]:
    """An in-toto Statement v1 with a test-result v0.1 predicate.

    ``result`` must agree with the lists: PASSED only with no warned or failed test, WARNED only
    with no failed test (FAILED is always allowed: a run can fail for reasons other than a test,
    e.g. a quality gate). Test names are sorted, so worker scheduling does not change the bytes.
    """
    if result not in TEST_RESULTS:
        raise UsageError(f"test result must be one of {', '.join(TEST_RESULTS)}, got {result!r}")
    passed_names, warned_names, failed_names = (_names(v) for v in (passed, warned, failed))
    if result == "PASSED" and (warned_names or failed_names):
        raise UsageError(
            f"test result PASSED contradicts {len(failed_names)} failed and {len(warned_names)} warned tests"
        )
    if result == "WARNED" and failed_names:
        raise UsageError(f"test result WARNED contradicts {len(failed_names)} failed tests")
    configs = []
    for index, entry in enumerate(configuration):
        if not isinstance(entry, Mapping) or not ({"uri", "digest", "content"} & set(entry)):
            raise UsageError(f"configuration {index} must be a resource descriptor with a uri, digest or content")
        configs.append(dict(entry))
    predicate: dict[str, Any] = {
        "result": result,
        "configuration": sorted(configs, key=lambda c: json.dumps(c, sort_keys=True)),
        "passedTests": passed_names,
        "warnedTests": warned_names,
        "failedTests": failed_names,
    }
    if url:
        predicate["url"] = url
    return {
        "_type": STATEMENT_TYPE,
        "subject": _subjects(subjects),
        "predicateType": TEST_RESULT_PREDICATE_TYPE,
        "predicate": predicate,
    }


def _names(values: Sequence[str]) -> list[str]:
    if isinstance(values, str):
        raise UsageError("test names must be a list of strings, not one string")
    return sorted({str(v) for v in values})


# --------------------------------------------------------------------------- builder


#: (CI name, the variable that reveals it, the value it must have; None: any non-empty value).
_CI_SYSTEMS = (
    ("github-actions", "GITHUB_ACTIONS", "true"),
    ("gitlab-ci", "GITLAB_CI", "true"),
    ("azure-pipelines", "TF_BUILD", "true"),
    ("circleci", "CIRCLECI", "true"),
    ("buildkite", "BUILDKITE", "true"),
    ("travis-ci", "TRAVIS", "true"),
    ("bitbucket-pipelines", "BITBUCKET_BUILD_NUMBER", None),
    ("teamcity", "TEAMCITY_VERSION", None),
    ("jenkins", "JENKINS_URL", None),
)


def detect_builder(env: Mapping[str, str]) -> tuple[str, str | None]:
    """``(builder id, CI name)`` for the CI system running us; ``(LOCAL_BUILDER_ID, None)`` when
    none is detected. A configured builder id, when given, replaces the id (the caller's job).

    The id names pytest-enterprise *running inside* that CI, not the CI's own provenance
    generator: the entity a consumer must trust is this plugin and everything that can
    influence the job. GitHub's self-hosted and GitHub-hosted runners get distinct ids because
    SLSA asks for one id per mode with different security properties.
    """
    for name, variable, value in _CI_SYSTEMS:
        found = env.get(variable, "")
        if (found.lower() == value) if value is not None else bool(found.strip()):
            builder = BUILDER_PREFIX + name
            if name == "github-actions":
                runner = env.get("RUNNER_ENVIRONMENT", "").strip().lower()
                if runner in ("github-hosted", "self-hosted"):
                    builder += ":" + runner
            return builder, name
    if env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return BUILDER_PREFIX + "ci", "ci"
    return LOCAL_BUILDER_ID, None


# --------------------------------------------------------------------------- SLSA levels


@dataclass(frozen=True)
class SlsaLevel:
    title: str
    summary: str
    requirements: tuple[str, ...]  # the requirements this level adds to the ones below it


#: The SLSA v1.0 Build track, plus the "level 4" the guide's ``--level 1..4`` allows for.
SLSA_LEVELS: Mapping[int, SlsaLevel] = {
    1: SlsaLevel("Build L1", "Provenance exists", ("Provenance exists",)),
    2: SlsaLevel(
        "Build L2",
        "Signed provenance, generated by a hosted build platform",
        ("Hosted", "Provenance is authentic: signing key", "Provenance is authentic: generated by the platform"),
    ),
    3: SlsaLevel("Build L3", "Hardened build platform", ("Provenance is unforgeable", "Isolated")),
    4: SlsaLevel("Build L4", "Not defined by SLSA v1.0", ("Defined by SLSA v1.0",)),
}


@dataclass(frozen=True)
class BuildFacts:
    """What this run can establish about how its provenance was made."""

    signed: bool  # the provenance is signed
    key_held_locally: bool = True  # the signing key was read by this process (file or variable)
    hosted_platform: str | None = None  # the CI that ran us (``detect_builder``); None: a workstation
    subjects: int | None = None  # files identified by digest; None: not yet known (the statement checks)
    key_source: str | None = None  # where the key came from, for messages (e.g. "--key")


@dataclass(frozen=True)
class Gap:
    """A requirement of a level that this run does not meet, and why."""

    level: int
    requirement: str
    reason: str

    def __str__(self) -> str:
        return f"L{self.level} {self.requirement}: {self.reason}"


@dataclass(frozen=True)
class LevelAssessment:
    requested: int
    achieved: int  # the highest level all of whose requirements (and those below) are met
    unmet: tuple[Gap, ...]  # the requirements of levels up to ``requested`` that are not met

    @property
    def met(self) -> bool:
        return self.achieved >= self.requested

    def refusal(self) -> str:
        """One line: what was asked, what was reached, and every unmet requirement."""
        return (
            f"SLSA Build L{self.requested} requested, but this run achieves Build L{self.achieved}; "
            f"unmet: {'; '.join(str(gap) for gap in self.unmet)}"
        )

    def raise_if_unmet(self) -> None:
        """Raise ``SlsaLevelError`` (exit 1) with ``refusal()`` when the request is not met."""
        if not self.met:
            raise SlsaLevelError(self.refusal())

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": "SLSA v1.0 Build track",
            "requested": self.requested,
            "achieved": self.achieved,
            "met": self.met,
            "unmet": [
                {"level": gap.level, "requirement": gap.requirement, "reason": gap.reason} for gap in self.unmet
            ],
        }


class SlsaLevelError(EnterpriseError):
    """A higher SLSA level was asked for than the run achieves: a finding (exit 1)."""

    exit_code = EXIT_GATE_FAILED


def assess_slsa_level(requested: int, facts: BuildFacts) -> LevelAssessment:
    """Judge ``facts`` against each requirement of the SLSA v1.0 Build track.

    The requirements a test plugin can never meet (platform-generated provenance, a key the build
    steps cannot reach, isolation between builds) are unmet unconditionally: no fact a caller
    passes turns them on, so the achieved level is at most 1.
    """
    if isinstance(requested, bool) or not isinstance(requested, int) or requested not in SLSA_LEVELS:
        raise UsageError(f"SLSA level must be 1, 2, 3 or 4, got {requested!r}")
    gaps = _gaps(facts)
    achieved = 0
    for level in sorted(SLSA_LEVELS):
        if any(gap.level == level for gap in gaps):
            break
        achieved = level
    return LevelAssessment(
        requested=requested,
        achieved=achieved,
        unmet=tuple(gap for gap in gaps if gap.level <= requested),
    )


def highest_attainable_level() -> int:
    """The best level any facts can earn: the ceiling on what a statement may state."""
    best = BuildFacts(signed=True, key_held_locally=False, hosted_platform="any", subjects=1)
    return assess_slsa_level(max(SLSA_LEVELS), best).achieved


def _gaps(facts: BuildFacts) -> list[Gap]:
    gaps = []
    if facts.subjects is not None and facts.subjects < 1:
        gaps.append(Gap(1, "Provenance exists", "no output file is identified by a digest"))

    if not facts.hosted_platform:
        gaps.append(Gap(2, "Hosted", "no hosted build platform (CI) was detected; this looks like a workstation"))
    if not facts.signed:
        gaps.append(Gap(2, "Provenance is authentic: signing key", "the provenance is not signed"))
    elif facts.key_held_locally:
        source = f" (from {facts.key_source})" if facts.key_source else ""
        gaps.append(
            Gap(
                2,
                "Provenance is authentic: signing key",
                f"the signing key{source} is readable by the build's own steps, not only by the build platform",
            )
        )
    gaps.append(
        Gap(
            2,
            "Provenance is authentic: generated by the platform",
            "pytest-enterprise runs as a build step (a tenant), so its provenance is not generated by the "
            "build platform's control plane",
        )
    )
    gaps.append(
        Gap(
            3,
            "Provenance is unforgeable",
            "the build steps can alter every field and reach the signing key",
        )
    )
    gaps.append(
        Gap(3, "Isolated", "isolation between builds is a guarantee of the build platform that a test plugin cannot give")
    )
    gaps.append(
        Gap(
            4,
            "Defined by SLSA v1.0",
            "SLSA v1.0 has Build levels 1-3 only; the 'SLSA 4' of the v0.1 draft is not part of it",
        )
    )
    return gaps


# --------------------------------------------------------------------------- output


def statement_bytes(statement: Mapping[str, Any]) -> bytes:
    """The DSSE payload for ``statement``: UTF-8 JSON, sorted keys, no spaces, so the same
    statement always gives the same bytes (and so the same Ed25519 signature)."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_statement(statement: Mapping[str, Any], keys: Sequence[Ed25519PrivateKey]) -> dict[str, Any]:
    """``statement`` in a DSSE envelope of type ``application/vnd.in-toto+json``."""
    from .dsse import PAYLOAD_TYPE, sign_envelope

    return sign_envelope(statement_bytes(statement), PAYLOAD_TYPE, keys)


def write_envelope(path: str | os.PathLike[str], envelope: Mapping[str, Any]) -> Path:
    """Write ``envelope`` atomically as one line of JSON (sorted keys) and a newline. One line,
    so the file is also a valid one-entry ``.intoto.jsonl`` bundle."""
    text = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    return write_text_atomic(path, text)
