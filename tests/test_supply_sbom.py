"""SBOM output: CycloneDX 1.6/1.5 and SPDX 2.3 JSON from hand-built inventories."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_enterprise.errors import ConfigError, UsageError
from pytest_enterprise.supply_chain import sbom
from pytest_enterprise.supply_chain.model import (
    Component,
    DatabaseInfo,
    Dependency,
    Finding,
    Ignore,
    Inventory,
    Party,
    ScanResult,
    Vulnerability,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SPDX_SCHEMA = SHARED / "schemas" / "spdx-schema-2.3.json"
REPO_ROOT = Path(__file__).resolve().parents[1]
CREATED = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
EPOCH_ENV = {"SOURCE_DATE_EPOCH": "1714566600"}  # 2024-05-01T12:30:00Z


# --- building inventories by hand -----------------------------------------------------------


def _dependency(name: str, **fields) -> Dependency:
    return Dependency(name=name, requirement=name, specifier="", marker=None, **fields)


def _component(name: str, version: str, *, scope: str = "runtime", deps: tuple[str, ...] = (), **fields) -> Component:
    purl = fields.pop("purl", f"pkg:pypi/{name}@{version.replace('+', '%2B')}")
    return Component(
        name=name,
        display_name=fields.pop("display_name", name),
        version=version,
        purl=purl,
        bom_ref=fields.pop("bom_ref", purl),
        scope=scope,
        dependencies=tuple(_dependency(d) for d in deps),
        **fields,
    )


VCS_URL = {
    "url": "https://github.com/example/gitdep.git",
    "vcs_info": {"vcs": "git", "commit_id": "0123456789abcdef0123456789abcdef01234567", "requested_revision": "main"},
}


def make_inventory(*, root: bool = True, summary: str = "HTTP for humans") -> Inventory:
    components = (
        # runtime: the project's own requirements and what they pull in
        _component("requests", "2.32.3", deps=("idna", "certifi"), license_expression="Apache-2.0",
                   license_source="License-Expression", summary=summary, homepage="https://requests.readthedocs.io",
                   authors=(Party("Kenneth Reitz", "me@kennethreitz.org"),)),
        _component("idna", "3.7", licenses=("BSD-3-Clause",), license_source="classifier",
                   authors=(Party("Kim Davies", "kim+pypi@gumleaf.org"),),
                   maintainers=(Party("The idna (maintainers)", None), Party(None, "team@idna.example"))),
        _component("certifi", "2024.2.2", licenses=("Mozilla Public License 2.0 (MPL 2.0)",), license_source="classifier"),
        _component("nolicense", "0.1", homepage="UNKNOWN"),  # no license, and a homepage that is no URL
        _component("zope-interface", "1.0+local", display_name="zope.interface",
                   license_expression="ZPL-2.1 OR not a license"),  # '+' must be escaped in SPDX ids
        _component("gitdep", "0.3.0", install="vcs", direct_url=VCS_URL, license_expression="MIT OR Apache-2.0",
                   purl="pkg:pypi/gitdep@0.3.0?vcs_url=git%2Bhttps://github.com/example/gitdep.git%400123456789abcdef0123456789abcdef01234567",
                   shadowed=("/old/site-packages/gitdep-0.2.0.dist-info",), requested_extras=("speedups",)),
        # test scope: a subtree under pytest
        _component("pytest", "8.3.0", scope="test", deps=("pluggy", "iniconfig"), license_expression="MIT"),
        _component("pluggy", "1.5.0", scope="test", licenses=("MIT", "Apache-2.0")),
        _component("iniconfig", "2.0.0", scope="test", license_expression="MIT AND LicenseRef-Custom"),
        # installed but unrelated to the project
        _component("pip", "24.0", licenses=("MIT",)),
    )
    project = _component("myproject", "1.0.0", scope="root", deps=("requests", "gitdep", "zope-interface", "pytest"),
                         license_expression="MIT") if root else None
    return Inventory(
        components=tuple(sorted(components, key=lambda c: (c.name, c.version))),
        root=project,
        python="CPython 3.11.7",
        platform="Linux-6.1-x86_64",
    )


GHSA = Vulnerability(
    id="GHSA-9wx4-h78v-vm56",
    aliases=("CVE-2024-35195", "PYSEC-2024-60"),
    summary="Session verify=False persists",
    details="Long explanation.",
    severity="medium",
    cvss_vector="CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N",
    cvss_score=5.6,
    published="2024-05-20T20:15:00Z",
    modified="2024-06-10T18:30:00Z",
    references=("https://github.com/psf/requests/pull/6655",),
)
PYSEC = Vulnerability(id="PYSEC-2024-99", severity="critical",
                      cvss_vector="CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", cvss_score=9.3)
OTHER = Vulnerability(id="PYSEC-2023-1", summary="no score")


def make_scan() -> ScanResult:
    findings = (
        Finding(component="idna", version="3.7", bom_ref="pkg:pypi/idna@3.7", vulnerability=PYSEC,
                ignored=Ignore(id="PYSEC-2024-99", justification="code_not_reachable: we never decode punycode")),
        Finding(component="pip", version="24.0", bom_ref="pkg:pypi/pip@24.0", vulnerability=OTHER,
                ignored=Ignore(id="PYSEC-2023-1", justification="pip is not shipped", expires="2030-01-01")),
        Finding(component="requests", version="2.32.3", bom_ref="pkg:pypi/requests@2.32.3", vulnerability=GHSA,
                fixed_versions=("2.32.4",)),
    )
    return ScanResult(findings=findings, database=DatabaseInfo(path="/db", fingerprint="ab" * 32, records=3), scanned=10)


def cdx(inventory: Inventory | None = None, **options) -> dict:
    return json.loads(sbom.cyclonedx_json(inventory or make_inventory(), created=CREATED, **options))


def spdx(inventory: Inventory | None = None, **options) -> dict:
    return json.loads(sbom.spdx_json(inventory or make_inventory(), created=CREATED, **options))


def properties(element: dict) -> list[tuple[str, str]]:
    return [(p["name"], p["value"]) for p in element.get("properties", [])]


def validate_spdx(text: str, tmp_path: Path) -> list[str]:
    """Errors from the SPDX 2.3 JSON schema (when the shared data is present) and spdx-tools."""
    errors = []
    if SPDX_SCHEMA.is_file():
        import jsonschema

        schema = json.loads(SPDX_SCHEMA.read_text())
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors += [f"schema: {e.json_path}: {e.message}" for e in validator.iter_errors(json.loads(text))]
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import (
        validate_full_spdx_document,
    )

    path = tmp_path / "check.spdx.json"
    path.write_text(text, encoding="utf-8")
    errors += [f"spdx-tools: {m.validation_message}" for m in validate_full_spdx_document(parse_file(str(path)))]
    return errors


# --- CycloneDX ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec_version", ["1.6", "1.5"])
def test_cyclonedx_validates_offline(spec_version):
    text = sbom.cyclonedx_json(make_inventory(), spec_version=spec_version, scan=make_scan(), created=CREATED)
    assert sbom.validate_cyclonedx(text, spec_version) == []
    document = json.loads(text)
    assert document["specVersion"] == spec_version
    assert list(document)[:3] == ["$schema", "bomFormat", "specVersion"]


def test_cyclonedx_without_root_validates():
    text = sbom.cyclonedx_json(make_inventory(root=False), created=CREATED)
    assert sbom.validate_cyclonedx(text) == []
    assert "component" not in json.loads(text)["metadata"]


def test_validate_cyclonedx_reports_errors_one_line_each():
    document = cdx()
    document["components"][0]["type"] = "gadget"
    errors = sbom.validate_cyclonedx(json.dumps(document))
    assert errors and all("\n" not in error for error in errors)
    assert any("gadget" in error and error.startswith("$.components[0]") for error in errors)
    assert sbom.validate_cyclonedx("{not json")[0].startswith("not JSON")


def test_cyclonedx_metadata_root_and_tool():
    from pytest_enterprise import __version__

    metadata = cdx()["metadata"]
    assert metadata["component"]["type"] == "application"
    assert metadata["component"]["bom-ref"] == "pkg:pypi/myproject@1.0.0"
    assert metadata["component"]["licenses"] == [{"expression": "MIT", "acknowledgement": "declared"}]
    assert metadata["tools"]["components"] == [
        {"type": "application", "bom-ref": "pytest-enterprise-tool", "name": "pytest-enterprise", "version": __version__}
    ]
    assert metadata["timestamp"].startswith("2024-05-01T12:30:00")
    assert ("pytest-enterprise:python", "CPython 3.11.7") in properties(metadata)


def test_cyclonedx_components_fields():
    inventory = make_inventory()
    by_ref = {c["bom-ref"]: c for c in cdx(inventory)["components"]}
    assert set(by_ref) == {c.bom_ref for c in inventory.components}
    assert all(c["type"] == "library" for c in by_ref.values())

    requests = by_ref["pkg:pypi/requests@2.32.3"]
    assert requests["name"] == "requests" and requests["version"] == "2.32.3"
    assert requests["purl"] == "pkg:pypi/requests@2.32.3"
    assert requests["description"] == "HTTP for humans"
    assert requests["licenses"] == [{"expression": "Apache-2.0", "acknowledgement": "declared"}]
    assert requests["externalReferences"] == [{"type": "website", "url": "https://requests.readthedocs.io"}]

    # A classifier string that is an SPDX id becomes an id, anything else a name.
    assert by_ref["pkg:pypi/idna@3.7"]["licenses"] == [{"license": {"id": "BSD-3-Clause", "acknowledgement": "declared"}}]
    assert by_ref["pkg:pypi/certifi@2024.2.2"]["licenses"] == [
        {"license": {"name": "Mozilla Public License 2.0 (MPL 2.0)", "acknowledgement": "declared"}}
    ]
    assert "licenses" not in by_ref["pkg:pypi/nolicense@0.1"]
    assert "externalReferences" not in by_ref["pkg:pypi/nolicense@0.1"]  # "UNKNOWN" is no link

    zope = by_ref["pkg:pypi/zope-interface@1.0%2Blocal"]
    assert zope["name"] == "zope.interface" and zope["version"] == "1.0+local"
    assert zope["purl"] == "pkg:pypi/zope-interface@1.0%2Blocal"
    # Not a valid SPDX expression: kept as a named license, not claimed as an expression.
    assert zope["licenses"] == [{"license": {"name": "ZPL-2.1 OR not a license", "acknowledgement": "declared"}}]

    gitdep = next(c for c in by_ref.values() if c["name"] == "gitdep")
    assert gitdep["externalReferences"] == [{
        "type": "vcs", "url": "https://github.com/example/gitdep.git",
        "comment": "installed from git at 0123456789abcdef0123456789abcdef01234567",
    }]
    assert set(properties(gitdep)) >= {
        ("pytest-enterprise:install", "vcs"),
        ("pytest-enterprise:shadowed", "/old/site-packages/gitdep-0.2.0.dist-info"),
        ("cdx:python:package:source:vcs:commit_id", "0123456789abcdef0123456789abcdef01234567"),
        ("cdx:python:package:source:vcs:requested_revision", "main"),
        ("cdx:python:package:required-extra", "speedups"),
    }


def test_cyclonedx_test_scope_is_excluded_with_property():
    inventory = make_inventory()
    scope_of = {c.bom_ref: c.scope for c in inventory.components}
    for component in cdx(inventory)["components"]:
        expected = scope_of[component["bom-ref"]]
        assert ("pytest-enterprise:scope", expected) in properties(component)
        if expected == "test":
            assert component["scope"] == "excluded"
        else:
            assert "scope" not in component  # CycloneDX's default, "required"


def test_cyclonedx_dependency_graph_is_the_inventory_graph():
    inventory = make_inventory()
    dependencies = cdx(inventory)["dependencies"]
    refs = [entry["ref"] for entry in dependencies]
    assert sorted(refs) == sorted([inventory.root.bom_ref] + [c.bom_ref for c in inventory.components])
    edges = sorted((entry["ref"], target) for entry in dependencies for target in entry.get("dependsOn", []))
    assert edges == inventory.edges()
    # Leaves and unrelated components still have their (empty) entry.
    assert {"ref": "pkg:pypi/pip@24.0"} in dependencies
    assert {"ref": "pkg:pypi/nolicense@0.1"} in dependencies


def test_cyclonedx_root_without_dependencies_does_not_warn():
    lonely = Inventory(components=(_component("pip", "24.0"),), root=_component("solo", "1", scope="root"))
    # -W error turns the library's "incomplete graph" warning into a failure; there must be none.
    assert sbom.validate_cyclonedx(sbom.cyclonedx_json(lonely, created=CREATED)) == []


def test_cyclonedx_vulnerabilities():
    document = cdx(scan=make_scan())
    assert ("pytest-enterprise:osv-database-fingerprint", "ab" * 32) in properties(document["metadata"])
    by_id = {v["id"]: v for v in document["vulnerabilities"]}
    assert set(by_id) == {"GHSA-9wx4-h78v-vm56", "PYSEC-2024-99", "PYSEC-2023-1"}

    ghsa = by_id["GHSA-9wx4-h78v-vm56"]
    assert ghsa["source"] == {"name": "OSV", "url": "https://osv.dev/vulnerability/GHSA-9wx4-h78v-vm56"}
    assert {r["id"] for r in ghsa["references"]} == {"CVE-2024-35195", "PYSEC-2024-60"}
    assert ghsa["ratings"] == [{
        "source": {"name": "OSV", "url": "https://osv.dev/vulnerability/GHSA-9wx4-h78v-vm56"},
        "score": 5.6, "severity": "medium", "method": "CVSSv31", "vector": "AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N",
    }]
    assert ghsa["description"] == "Session verify=False persists"
    assert ghsa["detail"] == "Long explanation."
    assert "2.32.4" in ghsa["recommendation"]
    assert ghsa["affects"] == [{"ref": "pkg:pypi/requests@2.32.3", "versions": [{"version": "2.32.3", "status": "affected"}]}]
    assert ghsa["advisories"] == [{"url": "https://github.com/psf/requests/pull/6655"}]
    assert ghsa["published"].startswith("2024-05-20T20:15:00")
    assert "analysis" not in ghsa

    critical = by_id["PYSEC-2024-99"]
    assert critical["ratings"][0]["method"] == "CVSSv4"
    assert critical["analysis"] == {
        "state": "not_affected",
        "justification": "code_not_reachable",  # the ignore names the enum value itself
        "detail": "code_not_reachable: we never decode punycode",
    }
    free_text = by_id["PYSEC-2023-1"]["analysis"]
    assert free_text["state"] == "not_affected" and "justification" not in free_text
    assert free_text["detail"] == "pip is not shipped (accepted until 2030-01-01)"


def test_cyclonedx_scan_of_another_inventory_is_a_usage_error():
    stranger = Finding(component="ghost", version="1", bom_ref="pkg:pypi/ghost@1", vulnerability=OTHER)
    scan = ScanResult(findings=(stranger,), database=DatabaseInfo(path="", fingerprint="0", records=1), scanned=1)
    with pytest.raises(UsageError, match="ghost"):
        sbom.cyclonedx_json(make_inventory(), scan=scan)


def test_cyclonedx_bad_spec_version_and_serial():
    with pytest.raises(UsageError, match="1.4"):
        sbom.cyclonedx_json(make_inventory(), spec_version="1.4")
    with pytest.raises(UsageError, match="UUID"):
        sbom.cyclonedx_json(make_inventory(), serial="not-a-uuid")
    given = "urn:uuid:12345678-1234-5678-1234-567812345678"
    assert cdx(serial=given)["serialNumber"] == given


# --- SPDX -----------------------------------------------------------------------------------


@pytest.mark.parametrize("root", [True, False], ids=["root", "no-root"])
def test_spdx_validates_with_schema_and_spdx_tools(root, tmp_path):
    if not SPDX_SCHEMA.is_file():
        pytest.skip(f"shared SPDX schema absent ({SPDX_SCHEMA}); validating with spdx-tools only")
    assert validate_spdx(sbom.spdx_json(make_inventory(root=root), created=CREATED), tmp_path) == []


def test_spdx_validates_with_spdx_tools(tmp_path):
    # Runs even without the shared schema.
    assert validate_spdx(sbom.spdx_json(make_inventory(), created=CREATED), tmp_path) == []


def test_spdx_document_and_packages():
    from pytest_enterprise import __version__

    document = spdx()
    assert document["spdxVersion"] == "SPDX-2.3" and document["dataLicense"] == "CC0-1.0"
    assert document["SPDXID"] == "SPDXRef-DOCUMENT" and document["name"] == "myproject-1.0.0"
    assert document["creationInfo"]["created"] == "2024-05-01T12:30:00Z"
    assert document["creationInfo"]["creators"] == [f"Tool: pytest-enterprise-{__version__}"]
    packages = {p["name"]: p for p in document["packages"]}
    assert packages["myproject"]["primaryPackagePurpose"] == "APPLICATION"
    assert all(p["primaryPackagePurpose"] == "LIBRARY" for n, p in packages.items() if n != "myproject")
    assert all(p["filesAnalyzed"] is False and p["licenseConcluded"] == "NOASSERTION" for p in packages.values())

    zope = packages["zope.interface"]
    assert zope["SPDXID"] == "SPDXRef-Package-zope-interface-1.0-local"
    assert zope["versionInfo"] == "1.0+local"
    assert zope["externalRefs"] == [
        {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:pypi/zope-interface@1.0%2Blocal"}
    ]
    assert packages["gitdep"]["downloadLocation"] == "git+https://github.com/example/gitdep.git@0123456789abcdef0123456789abcdef01234567"
    assert packages["requests"]["downloadLocation"] == "NOASSERTION"
    assert packages["requests"]["homepage"] == "https://requests.readthedocs.io"
    assert packages["pytest"]["comment"].startswith("pytest-enterprise scope: test")
    assert "homepage" not in packages["nolicense"]


def test_spdx_declared_licenses():
    packages = {p["name"]: p for p in spdx()["packages"]}
    declared = {name: (p["licenseDeclared"], p.get("licenseComments")) for name, p in packages.items()}
    assert declared["requests"] == ("Apache-2.0", None)  # an expression
    assert declared["gitdep"] == ("MIT OR Apache-2.0", None)
    assert declared["idna"] == ("BSD-3-Clause", None)  # a lone classifier that is an SPDX id
    assert declared["nolicense"] == ("NOASSERTION", None)
    # Free text, several names (alternatives or a combination? unknown), a LicenseRef without its
    # text, an invalid expression: NOASSERTION, with the declared words kept in the comment.
    assert declared["certifi"] == (
        "NOASSERTION", "Declared in the package metadata (classifier): Mozilla Public License 2.0 (MPL 2.0)"
    )
    assert declared["pluggy"] == ("NOASSERTION", "Declared in the package metadata: MIT; Apache-2.0")
    assert declared["iniconfig"][0] == "NOASSERTION" and "LicenseRef-Custom" in declared["iniconfig"][1]
    assert declared["zope.interface"][0] == "NOASSERTION" and "not a license" in declared["zope.interface"][1]


def test_spdx_relationships():
    inventory = make_inventory()
    document = spdx(inventory)
    ids = {p["name"]: p["SPDXID"] for p in document["packages"]}
    triples = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"]) for r in document["relationships"]}
    root = ids["myproject"]
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", root) in triples
    assert [t for t in triples if t[1] == "DESCRIBES"] == [("SPDXRef-DOCUMENT", "DESCRIBES", root)]
    # The project's own test requirement: "pytest is a test dependency of myproject".
    assert (ids["pytest"], "TEST_DEPENDENCY_OF", root) in triples
    assert [t for t in triples if t[1] == "TEST_DEPENDENCY_OF"] == [(ids["pytest"], "TEST_DEPENDENCY_OF", root)]
    # What pytest pulls in is pytest's ordinary dependency, and runtime edges are DEPENDS_ON.
    assert (ids["pytest"], "DEPENDS_ON", ids["pluggy"]) in triples
    assert (root, "DEPENDS_ON", ids["requests"]) in triples
    assert (ids["requests"], "DEPENDS_ON", ids["idna"]) in triples
    # One relationship per inventory edge, plus DESCRIBES.
    assert len(triples) == len(inventory.edges()) + 1


def test_spdx_without_root_describes_every_package():
    document = spdx(make_inventory(root=False))
    described = {r["relatedSpdxElement"] for r in document["relationships"] if r["relationshipType"] == "DESCRIBES"}
    assert described == {p["SPDXID"] for p in document["packages"]}
    assert not any(r["relationshipType"] == "TEST_DEPENDENCY_OF" for r in document["relationships"])
    assert document["name"] == "python-environment"


def test_spdx_ids_stay_unique_when_name_and_version_repeat(tmp_path):
    twins = (
        _component("twin", "1.0", bom_ref="pkg:pypi/twin@1.0"),
        _component("twin", "1.0", bom_ref="pkg:pypi/twin@1.0#2", location="/elsewhere"),
    )
    text = sbom.spdx_json(Inventory(components=twins), created=CREATED)
    spdx_ids = [p["SPDXID"] for p in json.loads(text)["packages"]]
    assert len(set(spdx_ids)) == 2
    assert validate_spdx(text, tmp_path) == []


# --- reproducibility ------------------------------------------------------------------------


@pytest.mark.parametrize("format", sbom.SBOM_FORMATS)
def test_source_date_epoch_makes_output_byte_identical(format):
    first = sbom.render_sbom(make_inventory(), format, scan=make_scan() if format == "cyclonedx-json" else None, env=EPOCH_ENV)
    second = sbom.render_sbom(make_inventory(), format, scan=make_scan() if format == "cyclonedx-json" else None, env=EPOCH_ENV)
    assert first == second
    document = json.loads(first)
    if format == "cyclonedx-json":
        assert document["metadata"]["timestamp"].startswith("2024-05-01T12:30:00")
        assert uuid.UUID(document["serialNumber"].removeprefix("urn:uuid:")).version == 5
    else:
        assert document["creationInfo"]["created"] == "2024-05-01T12:30:00Z"
        assert document["documentNamespace"].startswith("https://pytest-enterprise.invalid/spdx/myproject-1.0.0-")


def test_different_content_gives_different_serial_and_namespace():
    one = make_inventory()
    other = make_inventory(summary="changed")
    cdx_one = json.loads(sbom.render_sbom(one, "cyclonedx-json", env=EPOCH_ENV))
    cdx_other = json.loads(sbom.render_sbom(other, "cyclonedx-json", env=EPOCH_ENV))
    assert cdx_one["serialNumber"] != cdx_other["serialNumber"]
    spdx_one = json.loads(sbom.render_sbom(one, "spdx-json", env=EPOCH_ENV))
    spdx_other = json.loads(sbom.render_sbom(other, "spdx-json", env=EPOCH_ENV))
    assert spdx_one["documentNamespace"] != spdx_other["documentNamespace"]
    # Another creation time is other content, too.
    later = json.loads(sbom.render_sbom(one, "spdx-json", env={"SOURCE_DATE_EPOCH": "1714566601"}))
    assert later["documentNamespace"] != spdx_one["documentNamespace"]
    given = spdx(namespace="https://example.com/spdx/fixed")
    assert given["documentNamespace"] == "https://example.com/spdx/fixed"


def test_without_source_date_epoch_created_is_now():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    document = json.loads(sbom.render_sbom(make_inventory(), "spdx-json", env={}))
    created = datetime.strptime(document["creationInfo"]["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before <= created <= datetime.now(timezone.utc)


@pytest.mark.parametrize("value", ["yesterday", "-5", "1.5"])
def test_bad_source_date_epoch_is_a_config_error(value):
    with pytest.raises(ConfigError, match="SOURCE_DATE_EPOCH") as caught:
        sbom.render_sbom(make_inventory(), "spdx-json", env={"SOURCE_DATE_EPOCH": value})
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2


# --- entry points ---------------------------------------------------------------------------


def test_bad_format_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="cyclonedx-json, spdx-json"):
        sbom.render_sbom(make_inventory(), "cyclonedx-xml")
    with pytest.raises(UsageError, match="cannot tell the SBOM format"):
        sbom.write_sbom(tmp_path / "bom.txt", make_inventory())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "format"),
    [("bom.json", "cyclonedx-json"), ("x.cdx.json", "cyclonedx-json"), ("X.CycloneDX.JSON", "cyclonedx-json"),
     ("x.spdx.json", "spdx-json"), ("x.json", None), ("x.spdx", None)],
)
def test_sbom_format_from_path(name, format):
    assert sbom.sbom_format_from_path(Path("out") / name) == format


def test_write_sbom_is_atomic_and_infers_format(tmp_path):
    target = tmp_path / "out" / "env.spdx.json"
    written = sbom.write_sbom(target, make_inventory(), env=EPOCH_ENV)
    assert written == target
    assert json.loads(target.read_text(encoding="utf-8"))["spdxVersion"] == "SPDX-2.3"
    assert sorted(p.name for p in target.parent.iterdir()) == ["env.spdx.json"]  # no temp file left

    target.write_text("old")
    with pytest.raises(UsageError):
        sbom.write_sbom(target, make_inventory(), "cyclonedx-json", spec_version="2.0", env=EPOCH_ENV)
    assert target.read_text() == "old"  # a failed render leaves the file as it was

    cyclonedx = tmp_path / "bom.json"
    sbom.write_sbom(cyclonedx, make_inventory(), "cyclonedx-json", spec_version="1.5", scan=make_scan(), env=EPOCH_ENV)
    assert json.loads(cyclonedx.read_text(encoding="utf-8"))["specVersion"] == "1.5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bom.json", "out"]


def test_default_path_does_not_import_cyclonedx():
    code = (
        "import sys\n"
        "from pytest_enterprise.supply_chain import sbom\n"
        "from pytest_enterprise.supply_chain.model import Inventory\n"
        "sbom.spdx_json(Inventory(components=()))\n"
        "sbom.sbom_format_from_path('bom.json')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cyclonedx', 'spdx_tools', 'jsonschema')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_real_environment_in_both_formats(tmp_path):
    try:
        from pytest_enterprise.supply_chain.inventory import collect_inventory
    except ImportError:
        pytest.skip("pytest_enterprise.supply_chain.inventory.collect_inventory does not exist yet")
    inventory = collect_inventory(project_root=REPO_ROOT)
    assert inventory.components
    cyclonedx = sbom.render_sbom(inventory, "cyclonedx-json", env=EPOCH_ENV)
    assert sbom.validate_cyclonedx(cyclonedx) == []
    edges = sorted(
        (entry["ref"], target) for entry in json.loads(cyclonedx)["dependencies"] for target in entry.get("dependsOn", [])
    )
    assert edges == inventory.edges()
    assert validate_spdx(sbom.render_sbom(inventory, "spdx-json", env=EPOCH_ENV), tmp_path) == []


# --- issue 10 point 6: suppliers and authors (NTIA minimum elements) ------------------------


def test_spdx_supplier_and_originator_from_the_metadata():
    packages = {p["name"]: p for p in spdx()["packages"]}
    # Maintainers supply; the authors originate. A single plain name is a Person.
    assert packages["requests"]["supplier"] == "Person: Kenneth Reitz (me@kennethreitz.org)"
    assert packages["requests"]["originator"] == "Person: Kenneth Reitz (me@kennethreitz.org)"
    # Several maintainers are one group; parentheses would break "name (email)" and go.
    assert packages["idna"]["supplier"] == "Organization: The idna maintainers, team@idna.example (team@idna.example)"
    assert packages["idna"]["originator"] == "Person: Kim Davies (kim+pypi@gumleaf.org)"
    # Nobody named: SPDX's NOASSERTION, never a made-up name; no originator then.
    assert packages["nolicense"]["supplier"] == "NOASSERTION" and "originator" not in packages["nolicense"]


@pytest.mark.parametrize("spec_version", ["1.6", "1.5"])
def test_cyclonedx_supplier_and_authors_from_the_metadata(spec_version):
    document = cdx(spec_version=spec_version)
    assert sbom.validate_cyclonedx(json.dumps(document), spec_version) == []
    components = {c["name"]: c for c in document["components"]}
    assert components["requests"]["supplier"] == {"name": "Kenneth Reitz", "contact": [{"name": "Kenneth Reitz", "email": "me@kennethreitz.org"}]}
    idna = components["idna"]
    assert idna["supplier"]["name"] == "The idna (maintainers), team@idna.example"
    assert idna["supplier"]["contact"] == [{"name": "The idna (maintainers)"}, {"email": "team@idna.example"}]
    if spec_version == "1.6":
        assert idna["authors"] == [{"name": "Kim Davies", "email": "kim+pypi@gumleaf.org"}]
        assert "author" not in idna
    else:
        assert idna["author"] == "Kim Davies" and "authors" not in idna
    assert "supplier" not in components["nolicense"] and "authors" not in components["nolicense"]


def test_ntia_minimum_elements_of_the_real_environment(tmp_path):
    """ntia-conformance-checker (an independent implementation) on the SPDX of this very
    environment, with this project as the root."""
    pytest.importorskip("ntia_conformance_checker", reason="ntia-conformance-checker is in the test extra")
    from ntia_conformance_checker import NTIAChecker

    from pytest_enterprise.supply_chain.inventory import collect_inventory

    path = tmp_path / "env.spdx.json"
    path.write_text(sbom.spdx_json(collect_inventory(project_root=REPO_ROOT)), encoding="utf-8")
    checker = NTIAChecker(str(path))
    missing = {"suppliers": checker.components_without_suppliers, "versions": checker.components_without_versions,
               "names": checker.components_without_names, "identifiers": checker.components_without_identifiers}
    assert checker.parsing_errors == [] and checker.compliant, missing
    assert checker.doc_author and checker.doc_timestamp and checker.dependency_relationships
