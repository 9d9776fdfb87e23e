"""in-toto statements (SLSA provenance v1, test result v0.1), builder detection, SLSA levels."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pytest_enterprise import __version__
from pytest_enterprise.errors import EXIT_GATE_FAILED, InputError, UsageError
from pytest_enterprise.supply_chain.dsse import (
    PAYLOAD_TYPE,
    read_envelope,
    verify_envelope,
)
from pytest_enterprise.supply_chain.model import Component, Inventory
from pytest_enterprise.supply_chain.provenance import (
    BUILD_TYPE,
    LEVEL_FIELD,
    LOCAL_BUILDER_ID,
    SLSA_LEVELS,
    BuildFacts,
    Invocation,
    SlsaLevelError,
    assess_slsa_level,
    build_provenance_statement,
    build_test_result_statement,
    detect_builder,
    file_subject,
    highest_attainable_level,
    sign_statement,
    statement_bytes,
    write_envelope,
)

START = datetime(2026, 11, 26, 8, 0, 0, 123000, tzinfo=timezone.utc)
INVOCATION = Invocation(
    invocation_id="run-7f3c",
    started_on=START,
    finished_on=START + timedelta(seconds=61, milliseconds=500),
    arguments=("-q", "tests/", "--enterprise-report"),
    environment={"CI": "true", "GITHUB_RUN_ID": "42"},
)
GIT = {"commit": "d20ace7968ba43c0219f62d71334c1095bab1602", "branch": "main", "remote": "https://github.com/acme/shop.git", "dirty": False}
SHA_A = "a" * 64
SHA_B = "b" * 64


def _component(name: str, version: str, scope: str = "runtime", install: str = "registry") -> Component:
    purl = f"pkg:pypi/{name}@{version}"
    return Component(name=name, display_name=name, version=version, purl=purl, bom_ref=purl, scope=scope, install=install)


INVENTORY = Inventory(
    components=(_component("idna", "3.7"), _component("pytest", "8.4.1", scope="test")),
    root=_component("shop", "1.2.0", scope="root", install="editable"),
    python="CPython 3.11.7",
    platform="linux-x86_64",
)


def _statement(**overrides):
    arguments = dict(
        subjects=[{"name": "sbom.cdx.json", "digest": {"sha256": SHA_B}}, {"name": "report.json", "digest": {"sha256": SHA_A}}],
        invocation=INVOCATION,
        inventory=INVENTORY,
        git=GIT,
        builder_id=LOCAL_BUILDER_ID,
    )
    arguments.update(overrides)
    return build_provenance_statement(**arguments)


# --------------------------------------------------------------------------- subjects


def test_file_subject_digest_is_the_files_sha256(tmp_path):
    path = tmp_path / "report.json"
    path.write_bytes(b'{"ok": true}\n' * 100_000)  # > one read chunk
    assert file_subject(path) == {"name": "report.json", "digest": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}}
    assert file_subject(path, "out/report.json")["name"] == "out/report.json"
    with pytest.raises(InputError, match="missing.json: no such file to attest"):
        file_subject(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory"):
        file_subject(tmp_path)


def test_statement_subjects_recompute_from_the_files(tmp_path):
    for name, text in (("b.json", "two"), ("a.json", "one"), ("c.xml", "three")):
        (tmp_path / name).write_text(text)
    subjects = [file_subject(tmp_path / name) for name in ("c.xml", "a.json", "b.json")]
    statement = _statement(subjects=subjects)
    assert [s["name"] for s in statement["subject"]] == ["a.json", "b.json", "c.xml"]
    for subject in statement["subject"]:
        digest = hashlib.sha256((tmp_path / subject["name"]).read_bytes()).hexdigest()
        assert subject == {"name": subject["name"], "digest": {"sha256": digest}}


# --------------------------------------------------------------------------- provenance


def test_provenance_statement_field_by_field():
    statement = _statement(slsa_level=1)
    assert list(statement) == ["_type", "subject", "predicateType", "predicate"]
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"] == [
        {"name": "report.json", "digest": {"sha256": SHA_A}},
        {"name": "sbom.cdx.json", "digest": {"sha256": SHA_B}},
    ]
    predicate = statement["predicate"]
    assert list(predicate) == ["buildDefinition", "runDetails"]

    definition = predicate["buildDefinition"]
    assert definition["buildType"] == BUILD_TYPE == "urn:pytest-enterprise:build-type:pytest-run:v1"
    assert definition["externalParameters"] == {"pytest_args": ["-q", "tests/", "--enterprise-report"]}
    assert definition["internalParameters"] == {
        "python": "CPython 3.11.7",
        "platform": "linux-x86_64",
        "environment": {"CI": "true", "GITHUB_RUN_ID": "42"},
    }
    assert definition["resolvedDependencies"] == [
        {
            "name": "source",
            "uri": "git+https://github.com/acme/shop.git@refs/heads/main",
            "digest": {"gitCommit": "d20ace7968ba43c0219f62d71334c1095bab1602"},
            "annotations": {"branch": "main", "dirty": False},
        },
        {"uri": "pkg:pypi/idna@3.7", "name": "idna", "annotations": {"scope": "runtime", "install": "registry"}},
        {"uri": "pkg:pypi/pytest@8.4.1", "name": "pytest", "annotations": {"scope": "test", "install": "registry"}},
        {"uri": "pkg:pypi/shop@1.2.0", "name": "shop", "annotations": {"scope": "root", "install": "editable"}},
    ]

    run = predicate["runDetails"]
    assert run["builder"] == {"id": "urn:pytest-enterprise:builder:local", "version": {"pytest-enterprise": __version__}}
    assert run["metadata"] == {
        "invocationId": "run-7f3c",
        "startedOn": "2026-11-26T08:00:00.123Z",
        "finishedOn": "2026-11-26T08:01:01.623Z",
        LEVEL_FIELD: 1,
    }
    assert LEVEL_FIELD == "pytestenterprise_slsaBuildLevel"


def test_provenance_without_inventory_git_or_level():
    statement = _statement(inventory=None, git=None, invocation=Invocation("r", START, START, ()))
    definition = statement["predicate"]["buildDefinition"]
    assert definition["externalParameters"] == {"pytest_args": []}
    assert definition["internalParameters"] == {}
    assert definition["resolvedDependencies"] == []
    assert LEVEL_FIELD not in statement["predicate"]["runDetails"]["metadata"]


def test_naive_datetimes_are_utc_and_written_with_z():
    naive = Invocation("r", datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 6), ())
    metadata = _statement(invocation=naive)["predicate"]["runDetails"]["metadata"]
    assert (metadata["startedOn"], metadata["finishedOn"]) == ("2026-01-02T03:04:05.000Z", "2026-01-02T03:04:06.000Z")


def test_output_is_deterministic_whatever_the_input_order():
    first = _statement()
    shuffled = _statement(
        subjects=list(reversed(_statement()["subject"])),
        inventory=Inventory(components=tuple(reversed(INVENTORY.components)), root=INVENTORY.root, python=INVENTORY.python, platform=INVENTORY.platform),
        invocation=Invocation(INVOCATION.invocation_id, INVOCATION.started_on, INVOCATION.finished_on, INVOCATION.arguments, {"GITHUB_RUN_ID": "42", "CI": "true"}),
    )
    assert statement_bytes(first) == statement_bytes(shuffled) == statement_bytes(_statement())
    text = statement_bytes(first).decode()
    assert " " not in text.replace("CPython 3.11.7", "") and json.loads(text) == first


@pytest.mark.parametrize(
    ("git", "expected"),
    [
        (
            {"commit": "abc", "remote": "https://x-access-token:SECRET@github.com/acme/shop.git", "dirty": True},
            {"name": "source", "uri": "git+https://github.com/acme/shop.git@abc", "digest": {"gitCommit": "abc"}, "annotations": {"dirty": True}},
        ),
        (
            {"commit": "abc", "branch": "dev", "remote": "git@github.com:acme/shop.git"},
            {"name": "source", "uri": "git+ssh://github.com/acme/shop.git@refs/heads/dev", "digest": {"gitCommit": "abc"}, "annotations": {"branch": "dev"}},
        ),
        ({"commit": "abc", "branch": None, "dirty": None}, {"name": "source", "digest": {"gitCommit": "abc"}}),
        ({"branch": "main"}, None),
        ({}, None),
    ],
)
def test_git_source_dependency(git, expected):
    dependencies = _statement(inventory=None, git=git)["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert dependencies == ([expected] if expected else [])
    assert "SECRET" not in json.dumps(dependencies)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subjects": []}, "needs at least one subject"),
        ({"subjects": [{"name": "a"}]}, r"subject 0 needs a digest such as \{'sha256': '<hex>'\}"),
        ({"subjects": [{"name": "a", "digest": {"sha256": ""}}]}, "subject 0 needs a digest"),
        ({"subjects": [{"name": "a", "digest": {"sha256": SHA_A}}, {"name": "a", "digest": {"sha256": SHA_B}}]}, "two subjects are named 'a'"),
        ({"builder_id": " "}, "needs a builder id"),
        ({"invocation": Invocation("r", START, START - timedelta(seconds=1), ())}, "invocation 'r' finished .* before it started"),
        ({"slsa_level": 2}, "cannot state SLSA Build level 2: pytest-enterprise can achieve at most Build L1"),
        ({"slsa_level": 4}, "cannot state SLSA Build level 4"),
        ({"slsa_level": True}, "cannot state SLSA Build level True"),
    ],
)
def test_provenance_refuses_bad_input(overrides, message):
    with pytest.raises(UsageError, match=message):
        _statement(**overrides)


# --------------------------------------------------------------------------- test result


def test_test_result_statement():
    statement = build_test_result_statement(
        subjects=[{"name": "report.json", "digest": {"sha256": SHA_A}}],
        result="WARNED",
        passed=["tests/test_b.py::test_2", "tests/test_a.py::test_1", "tests/test_a.py::test_1"],
        warned=["tests/test_c.py::test_3"],
        failed=[],
        configuration=[{"name": "enterprise-config.yaml", "digest": {"sha256": SHA_B}}],
        url="https://github.com/acme/shop/actions/runs/42",
    )
    assert statement == {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "report.json", "digest": {"sha256": SHA_A}}],
        "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
        "predicate": {
            "result": "WARNED",
            "configuration": [{"name": "enterprise-config.yaml", "digest": {"sha256": SHA_B}}],
            "passedTests": ["tests/test_a.py::test_1", "tests/test_b.py::test_2"],
            "warnedTests": ["tests/test_c.py::test_3"],
            "failedTests": [],
            "url": "https://github.com/acme/shop/actions/runs/42",
        },
    }
    minimal = build_test_result_statement(subjects=statement["subject"], result="FAILED", passed=[], warned=[], failed=["t"])
    assert minimal["predicate"] == {"result": "FAILED", "configuration": [], "passedTests": [], "warnedTests": [], "failedTests": ["t"]}


@pytest.mark.parametrize(
    ("result", "warned", "failed", "message"),
    [
        ("OK", [], [], "test result must be one of PASSED, WARNED, FAILED, got 'OK'"),
        ("PASSED", [], ["t"], "test result PASSED contradicts 1 failed and 0 warned tests"),
        ("PASSED", ["t"], [], "test result PASSED contradicts 0 failed and 1 warned tests"),
        ("WARNED", [], ["t"], "test result WARNED contradicts 1 failed tests"),
    ],
)
def test_test_result_must_agree_with_the_tests(result, warned, failed, message):
    with pytest.raises(UsageError, match=message):
        build_test_result_statement(subjects=[{"digest": {"sha256": SHA_A}}], result=result, passed=["p"], warned=warned, failed=failed)


def test_test_result_configuration_must_be_resource_descriptors():
    with pytest.raises(UsageError, match="configuration 0 must be a resource descriptor"):
        build_test_result_statement(subjects=[{"digest": {"sha256": SHA_A}}], result="PASSED", passed=[], warned=[], failed=[], configuration=[{"name": "x"}])


# --------------------------------------------------------------------------- builder


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ("urn:pytest-enterprise:builder:local", None)),
        ({"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "github-hosted"}, ("urn:pytest-enterprise:builder:github-actions:github-hosted", "github-actions")),
        ({"GITHUB_ACTIONS": "true", "RUNNER_ENVIRONMENT": "self-hosted"}, ("urn:pytest-enterprise:builder:github-actions:self-hosted", "github-actions")),
        ({"GITHUB_ACTIONS": "true"}, ("urn:pytest-enterprise:builder:github-actions", "github-actions")),
        ({"GITHUB_ACTIONS": "false"}, ("urn:pytest-enterprise:builder:local", None)),
        ({"GITLAB_CI": "true", "CI": "true"}, ("urn:pytest-enterprise:builder:gitlab-ci", "gitlab-ci")),
        ({"TF_BUILD": "True"}, ("urn:pytest-enterprise:builder:azure-pipelines", "azure-pipelines")),
        ({"JENKINS_URL": "https://jenkins.example/"}, ("urn:pytest-enterprise:builder:jenkins", "jenkins")),
        ({"CIRCLECI": "true"}, ("urn:pytest-enterprise:builder:circleci", "circleci")),
        ({"CI": "1"}, ("urn:pytest-enterprise:builder:ci", "ci")),
        ({"CI": "false"}, ("urn:pytest-enterprise:builder:local", None)),
    ],
)
def test_detect_builder(env, expected):
    assert detect_builder(env) == expected


# --------------------------------------------------------------------------- SLSA levels


def test_slsa_levels_table():
    assert sorted(SLSA_LEVELS) == [1, 2, 3, 4]
    assert SLSA_LEVELS[1].requirements == ("Provenance exists",)
    assert SLSA_LEVELS[4].summary == "Not defined by SLSA v1.0"


def test_level_1_with_a_local_key_is_met():
    assessment = assess_slsa_level(1, BuildFacts(signed=True, key_held_locally=True, hosted_platform=None, subjects=3))
    assert (assessment.requested, assessment.achieved, assessment.met, assessment.unmet) == (1, 1, True, ())
    assessment.raise_if_unmet()
    assert assessment.to_dict() == {"spec": "SLSA v1.0 Build track", "requested": 1, "achieved": 1, "met": True, "unmet": []}


def test_level_1_needs_a_subject():
    assessment = assess_slsa_level(1, BuildFacts(signed=True, subjects=0))
    assert assessment.achieved == 0 and not assessment.met
    assert [str(gap) for gap in assessment.unmet] == ["L1 Provenance exists: no output file is identified by a digest"]


def test_level_2_is_refused_even_on_ci_and_names_what_is_missing():
    facts = BuildFacts(signed=True, key_held_locally=True, hosted_platform="github-actions", key_source="$ENTERPRISE_SIGNING_KEY")
    assessment = assess_slsa_level(2, facts)
    assert (assessment.achieved, assessment.met) == (1, False)
    assert [(gap.level, gap.requirement) for gap in assessment.unmet] == [
        (2, "Provenance is authentic: signing key"),
        (2, "Provenance is authentic: generated by the platform"),
    ]
    assert assessment.refusal() == (
        "SLSA Build L2 requested, but this run achieves Build L1; unmet: "
        "L2 Provenance is authentic: signing key: the signing key (from $ENTERPRISE_SIGNING_KEY) is readable by the "
        "build's own steps, not only by the build platform; "
        "L2 Provenance is authentic: generated by the platform: pytest-enterprise runs as a build step (a tenant), so "
        "its provenance is not generated by the build platform's control plane"
    )
    with pytest.raises(SlsaLevelError) as caught:
        assessment.raise_if_unmet()
    assert caught.value.exit_code == EXIT_GATE_FAILED and str(caught.value) == assessment.refusal()


def test_level_2_on_a_workstation_also_lacks_hosting_and_unsigned_lacks_a_signature():
    requirements = [g.requirement + ": " + g.reason for g in assess_slsa_level(2, BuildFacts(signed=False)).unmet]
    assert requirements[:2] == [
        "Hosted: no hosted build platform (CI) was detected; this looks like a workstation",
        "Provenance is authentic: signing key: the provenance is not signed",
    ]
    # SLSA Build L1 itself asks for no signature.
    assert assess_slsa_level(1, BuildFacts(signed=False)).met


def test_no_facts_reach_level_2():
    best = BuildFacts(signed=True, key_held_locally=False, hosted_platform="gitlab-ci", subjects=1)
    assessment = assess_slsa_level(2, best)
    assert assessment.achieved == 1 == highest_attainable_level()
    assert [g.requirement for g in assessment.unmet] == ["Provenance is authentic: generated by the platform"]


def test_levels_3_and_4_are_refused_with_every_unmet_requirement():
    facts = BuildFacts(signed=True, hosted_platform="github-actions")
    three = assess_slsa_level(3, facts)
    assert [(g.level, g.requirement) for g in three.unmet] == [
        (2, "Provenance is authentic: signing key"),
        (2, "Provenance is authentic: generated by the platform"),
        (3, "Provenance is unforgeable"),
        (3, "Isolated"),
    ]
    four = assess_slsa_level(4, facts)
    assert four.unmet[:-1] == three.unmet
    assert str(four.unmet[-1]) == (
        "L4 Defined by SLSA v1.0: SLSA v1.0 has Build levels 1-3 only; the 'SLSA 4' of the v0.1 draft is not part of it"
    )
    assert four.refusal().startswith("SLSA Build L4 requested, but this run achieves Build L1; unmet: L2 ")


@pytest.mark.parametrize("requested", [0, 5, True, "2"])
def test_requested_level_must_be_1_to_4(requested):
    with pytest.raises(UsageError, match="SLSA level must be 1, 2, 3 or 4"):
        assess_slsa_level(requested, BuildFacts(signed=True))


def test_the_level_written_equals_the_achieved_one():
    for requested in (1, 2, 3, 4):
        assessment = assess_slsa_level(requested, BuildFacts(signed=True, hosted_platform="github-actions"))
        statement = _statement(slsa_level=assessment)
        assert statement["predicate"]["runDetails"]["metadata"][LEVEL_FIELD] == assessment.achieved == 1


# --------------------------------------------------------------------------- signing and files


def test_signed_statement_round_trip_through_a_file(tmp_path):
    key = Ed25519PrivateKey.generate()
    statement = _statement(slsa_level=1)
    envelope = sign_statement(statement, [key])
    assert envelope["payloadType"] == PAYLOAD_TYPE
    path = write_envelope(tmp_path / "out" / "provenance.intoto.json", envelope)
    text = path.read_text()
    assert text.endswith("}\n") and text.count("\n") == 1
    assert list(json.loads(text)) == sorted(envelope)
    assert sorted(p.name for p in path.parent.iterdir()) == ["provenance.intoto.json"]
    verified = verify_envelope(read_envelope(path), [key.public_key()])
    assert verified.json() == statement
    assert sign_statement(statement, [key]) == envelope  # deterministic end to end
