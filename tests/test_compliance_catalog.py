"""Control catalogs: the four built-in frameworks, custom framework files, resolving references."""

from __future__ import annotations

import importlib.util
import re
import textwrap
import time
import xml.etree.ElementTree as ET
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_enterprise.compliance import catalog as catalog_module
from pytest_enterprise.compliance.catalog import (
    BUILTIN_FRAMEWORKS,
    FRAMEWORK_ALIASES,
    Catalog,
    Control,
    ControlRef,
    ControlResolver,
    UnknownControlError,
    WithdrawnControlError,
    builtin_catalog,
    load_catalog_file,
)
from pytest_enterprise.errors import (
    EXIT_USAGE,
    ConfigError,
    EnterpriseError,
    InputError,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
CATALOG_DATA = SHARED_DATA / "catalogs"
PACKAGE_CATALOGS = REPO / "pytest_enterprise" / "compliance" / "catalogs"
OSCAL = "{http://csrc.nist.gov/ns/oscal/1.0}"

SOC2_FAMILIES = {f"CC{n}" for n in range(1, 10)} | {"A1", "C1", "PI1"} | {f"P{n}" for n in range(1, 9)}
ISO_FAMILIES = {
    "A.5 Organizational controls": 37,
    "A.6 People controls": 8,
    "A.7 Physical controls": 14,
    "A.8 Technological controls": 34,
}
GDPR_CHAPTERS = {  # chapter title -> (first article, last article)
    "Chapter I General provisions": (1, 4),
    "Chapter II Principles": (5, 11),
    "Chapter III Rights of the data subject": (12, 23),
    "Chapter IV Controller and processor": (24, 43),
    "Chapter V Transfers of personal data to third countries or international organisations": (44, 50),
    "Chapter VI Independent supervisory authorities": (51, 59),
    "Chapter VII Cooperation and consistency": (60, 76),
    "Chapter VIII Remedies, liability and penalties": (77, 84),
    "Chapter IX Provisions relating to specific processing situations": (85, 91),
    "Chapter X Delegated acts and implementing acts": (92, 93),
    "Chapter XI Final provisions": (94, 99),
}


def reference_file(name: str) -> Path:
    """A file of ../shared/data/catalogs, or a visible skip where the checkout lacks it."""
    path = CATALOG_DATA / name
    if not path.is_file():
        pytest.skip(f"reference data not available: {path} (only in the development checkout)")
    return path


def load_build_script() -> Any:
    spec = importlib.util.spec_from_file_location("build_catalogs", REPO / "tools" / "build_catalogs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {framework: builtin_catalog(framework) for framework in BUILTIN_FRAMEWORKS}


@pytest.fixture(scope="module")
def resolver(catalogs: dict[str, Catalog]) -> ControlResolver:
    return ControlResolver(catalogs.values())


@pytest.fixture
def write(tmp_path: Path):
    """Write a custom framework file (dedented) and return its path."""

    def write(text: str, name: str = "framework.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


# --- the built-in catalogs ---------------------------------------------------------------------


def test_builtin_frameworks_are_package_data_with_a_notice() -> None:
    folder = files("pytest_enterprise.compliance") / "catalogs"
    for framework in BUILTIN_FRAMEWORKS:
        assert (folder / f"{framework}.yaml").is_file(), framework
    notice = (folder / "NOTICE.md").read_text(encoding="utf-8")
    for needle in ("strongdm/comply", "Apache-2.0", "AICPA", "ISO/IEC", "public domain", "2016/679"):
        assert needle in notice


def test_builtin_catalog_is_cached_and_accepts_aliases() -> None:
    assert builtin_catalog("soc2") is builtin_catalog("soc2")
    assert FRAMEWORK_ALIASES == {"soc2-type2": "soc2"}
    assert builtin_catalog("soc2-type2") is builtin_catalog("soc2")
    assert builtin_catalog("soc2-type2").framework == "soc2"
    assert builtin_catalog(" NIST-CSF ") is builtin_catalog("nist-csf")


@pytest.mark.parametrize("framework", ["pci-dss", "", "soc3"])
def test_unknown_builtin_framework_is_a_config_error_naming_the_known_ones(framework: str) -> None:
    with pytest.raises(ConfigError) as caught:
        builtin_catalog(framework)
    message = str(caught.value)
    assert repr(framework) in message
    for known in (*BUILTIN_FRAMEWORKS, "soc2-type2"):
        assert known in message
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("framework", BUILTIN_FRAMEWORKS)
def test_builtin_files_pass_the_custom_file_checks(framework: str, catalogs: dict[str, Catalog]) -> None:
    # The same strict validation as a user's framework file, line numbers and all.
    assert load_catalog_file(PACKAGE_CATALOGS / f"{framework}.yaml") == catalogs[framework]


@pytest.mark.parametrize("framework", BUILTIN_FRAMEWORKS)
def test_builtin_catalog_header(framework: str, catalogs: dict[str, Catalog]) -> None:
    catalog = catalogs[framework]
    assert catalog.framework == framework
    assert catalog.name and catalog.version and catalog.source
    assert list(catalog.controls) == [control.id for control in catalog.controls.values()]


def test_soc2_has_61_criteria_in_20_families(catalogs: dict[str, Catalog]) -> None:
    soc2 = catalogs["soc2"]
    assert len(soc2.controls) == 61 and len(soc2.assessable()) == 61
    assert {control.family for control in soc2.controls.values()} == SOC2_FAMILIES
    for control in soc2.controls.values():
        assert re.fullmatch(r"(CC[1-9]|A1|C1|PI1|P[1-8])\.[1-9]", control.id), control.id
        assert control.id.startswith(control.family + ".")
        assert control.title and len(control.title) <= 60  # a short name, not the criterion
    assert soc2.controls["CC6.1"].title == "Logical Access"
    assert Counter(control.family for control in soc2.controls.values())["CC6"] == 8


def test_iso27001_has_93_annex_a_controls_in_4_themes(catalogs: dict[str, Catalog]) -> None:
    iso = catalogs["iso27001"]
    assert len(iso.controls) == 93 and len(iso.assessable()) == 93
    assert Counter(control.family for control in iso.controls.values()) == ISO_FAMILIES
    expected_ids = [
        f"A.{theme}.{number}"
        for theme, count in zip((5, 6, 7, 8), ISO_FAMILIES.values())
        for number in range(1, count + 1)
    ]
    assert list(iso.controls) == expected_ids
    for control in iso.controls.values():
        assert re.fullmatch(r"A\.[5-8]\.\d+", control.id)
        assert control.family.startswith(control.id.rsplit(".", 1)[0] + " ")
        assert control.title and len(control.title) <= 80  # a title, never control text


@pytest.mark.parametrize(
    ("control_id", "title"),
    [
        ("A.5.1", "Policies for information security"),
        ("A.5.7", "Threat intelligence"),
        ("A.5.15", "Access control"),
        ("A.5.23", "Information security for use of cloud services"),
        ("A.5.37", "Documented operating procedures"),
        ("A.6.8", "Information security event reporting"),
        ("A.7.4", "Physical security monitoring"),
        ("A.7.14", "Secure disposal or re-use of equipment"),
        ("A.8.1", "User endpoint devices"),
        ("A.8.16", "Monitoring activities"),
        ("A.8.28", "Secure coding"),
        ("A.8.34", "Protection of information systems during audit testing"),
    ],
)
def test_iso27001_titles_are_the_2022_titles(control_id: str, title: str, catalogs: dict[str, Catalog]) -> None:
    assert catalogs["iso27001"].controls[control_id].title == title


def test_nist_csf_has_6_functions_22_categories_106_subcategories(catalogs: dict[str, Catalog]) -> None:
    nist = catalogs["nist-csf"]
    active = [control for control in nist.controls.values() if control.status == "active"]
    assert Counter(control.level for control in active) == {"function": 6, "category": 22, "subcategory": 106}
    assert [control.title for control in active if control.level == "function"] == [
        "Govern", "Identify", "Protect", "Detect", "Respond", "Recover",
    ]  # fmt: skip
    assert [control.id for control in nist.assessable()] == [c.id for c in active if c.level == "subcategory"]
    for control in active:
        assert control.assessable == (control.level == "subcategory"), control.id
        if control.level == "subcategory":
            assert re.fullmatch(r"(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}", control.id)
            assert control.family == control.id.split("-")[0]
            assert nist.controls[control.family].level == "category"
            assert nist.controls[control.family].status == "active"
        elif control.level == "category":
            assert re.fullmatch(r"(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}", control.id)
            assert control.family == control.id.split(".")[0]
    assert nist.controls["GV.OC"].title == "Organizational Context"
    assert nist.controls["GV.OC-01"].title == (
        "The organizational mission is understood and informs cybersecurity risk management"
    )
    for still_active in ("ID.RA-07", "ID.RA-10", "PR.IR-04"):
        assert nist.controls[still_active].in_scope


def test_nist_csf_withdrawn_ids_point_to_active_successors(catalogs: dict[str, Catalog]) -> None:
    nist = catalogs["nist-csf"]
    withdrawn = [control for control in nist.controls.values() if control.status == "withdrawn"]
    assert Counter(control.level for control in withdrawn) == {"category": 12, "subcategory": 79}
    for control in withdrawn:
        assert control.replaced_by, control.id
        for successor in control.replaced_by:
            assert nist.controls[successor].status == "active", (control.id, successor)
            assert nist.controls[successor].level in ("category", "subcategory"), (control.id, successor)
    assert {control.id for control in withdrawn if control.level == "category"} == {
        "ID.BE", "ID.GV", "ID.RM", "ID.SC", "PR.AC", "PR.IP", "PR.MA", "PR.PT", "DE.DP", "RS.RP", "RS.IM", "RC.IM",
    }  # fmt: skip
    assert nist.controls["PR.AC-01"].replaced_by == ("PR.AA-01", "PR.AA-05")
    assert nist.controls["ID.AM-06"].replaced_by == ("GV.RR-02", "GV.SC-02")
    assert nist.controls["ID.GV-03"].replaced_by == ("GV.OC-03",)
    assert nist.controls["PR.AC"].replaced_by == ("PR.AA",)


def test_gdpr_has_99_articles_in_11_chapters(catalogs: dict[str, Catalog]) -> None:
    gdpr = catalogs["gdpr"]
    assert list(gdpr.controls) == [f"Art.{number}" for number in range(1, 100)]
    for title, (first, last) in GDPR_CHAPTERS.items():
        assert {gdpr.controls[f"Art.{n}"].family for n in range(first, last + 1)} == {title}
    assert {control.family for control in gdpr.controls.values()} == set(GDPR_CHAPTERS)
    assert gdpr.controls["Art.5"].title == "Principles relating to processing of personal data"
    assert gdpr.controls["Art.32"].title == "Security of processing"
    assert gdpr.controls["Art.17"].title == "Right to erasure ('right to be forgotten')"
    assert gdpr.controls["Art.99"].title == "Entry into force and application"


# --- cross-checks against the reference data (../shared/data) ---------------------------------


def test_soc2_matches_the_comply_reference_file_without_its_descriptions(catalogs: dict[str, Catalog]) -> None:
    source = yaml.safe_load(reference_file("TSC-2017.yml").read_text(encoding="utf-8"))
    criteria = {key: value for key, value in source.items() if isinstance(value, dict)}
    soc2 = catalogs["soc2"]
    assert list(soc2.controls) == list(criteria)
    for control_id, criterion in criteria.items():
        assert soc2.controls[control_id].title == criterion["name"]
        assert soc2.controls[control_id].family == criterion["family"]
    shipped = (PACKAGE_CATALOGS / "soc2.yaml").read_text(encoding="utf-8")
    assert "description" not in shipped
    for criterion in criteria.values():  # not one AICPA paraphrase made it into the package
        assert criterion["description"].strip()[:40] not in shipped


def test_nist_csf_matches_the_oscal_reference_catalog(catalogs: dict[str, Catalog]) -> None:
    root = ET.parse(reference_file("NIST_CSF_v2.0_catalog.xml")).getroot()
    nist = catalogs["nist-csf"]
    functions = root.findall(f"{OSCAL}group")
    assert {group.get("id") for group in functions} == {
        control.id for control in nist.controls.values() if control.level == "function"
    }
    xml_ids: set[str] = set()
    for element in root.iter(f"{OSCAL}control"):
        control = nist.controls[element.get("id", "")]
        xml_ids.add(control.id)
        assert control.level == element.get("class")
        statement = element.find(f"{OSCAL}part[@name='statement']")
        text = " ".join("".join(statement.itertext()).split()) if statement is not None else ""
        if control.level == "subcategory":
            assert control.title == text, control.id
            examples = [part for part in element.findall(f"{OSCAL}part") if part.get("name") == "example"]
            assert (control.status == "active") == bool(examples), control.id
        else:
            assert control.title == " ".join(str(element.findtext(f"{OSCAL}title")).split())
            assert (control.status == "active") == bool(text), control.id
    assert xml_ids | {control.id for control in nist.controls.values() if control.level == "function"} == set(
        nist.controls
    )


def test_generated_catalogs_are_what_the_build_script_writes() -> None:
    reference_file("TSC-2017.yml")
    reference_file("NIST_CSF_v2.0_catalog.xml")
    build = load_build_script()
    outputs = dict(build.outputs(CATALOG_DATA))
    assert set(outputs) == {PACKAGE_CATALOGS / "soc2.yaml", PACKAGE_CATALOGS / "nist-csf.yaml"}
    for path, text in outputs.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} is stale: run python tools/build_catalogs.py"
    assert build.main(["--check", "--data", str(CATALOG_DATA)]) == 0


def test_build_script_refuses_a_withdrawal_mapping_that_misses_an_id(monkeypatch: pytest.MonkeyPatch) -> None:
    reference_file("NIST_CSF_v2.0_catalog.xml")
    build = load_build_script()
    mapping = dict(build.WITHDRAWN_SUBCATEGORIES)
    del mapping["PR.AC-01"]
    monkeypatch.setattr(build, "WITHDRAWN_SUBCATEGORIES", mapping)
    with pytest.raises(ValueError, match="PR.AC-01"):
        build.nist_document(CATALOG_DATA)
    monkeypatch.setattr(build, "WITHDRAWN_SUBCATEGORIES", {**mapping, "PR.AC-01": ("PR.AA-99",)})
    with pytest.raises(ValueError, match="PR.AA-99"):
        build.nist_document(CATALOG_DATA)


def test_build_script_without_reference_data_says_where_it_looked(tmp_path: Path, capsys) -> None:
    assert load_build_script().main(["--check", "--data", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err


# --- Catalog helpers ---------------------------------------------------------------------------


def test_search_is_case_insensitive_on_id_title_family_and_lists_active_first(catalogs: dict[str, Catalog]) -> None:
    nist = catalogs["nist-csf"]
    found = nist.search("ACCESS")
    assert found and all(
        "access" in f"{control.id} {control.title} {control.family}".lower() for control in found
    )
    statuses = [control.status for control in found]
    assert "withdrawn" in statuses and statuses == sorted(statuses)  # "active" < "withdrawn"
    assert [control.id for control in catalogs["iso27001"].search("a.8.2")][:2] == ["A.8.2", "A.8.20"]
    assert [control.id for control in catalogs["gdpr"].search("chapter xi")] == [f"Art.{n}" for n in range(94, 100)]
    assert catalogs["soc2"].search("no such words") == []


def test_assessable_under_lists_a_categorys_subcategories(catalogs: dict[str, Catalog]) -> None:
    nist = catalogs["nist-csf"]
    assert [control.id for control in nist.assessable_under("GV.OC")] == [f"GV.OC-0{n}" for n in range(1, 6)]
    assert len(nist.assessable_under("GV")) == 31
    assert nist.assessable_under("GV.OC-01") == []


# --- resolving references ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "framework", "control_id", "ref"),
    [
        ("CC6.1", "soc2", "CC6.1", "CC6.1"),
        ("A1.2", "soc2", "A1.2", "A1.2"),
        ("PI1.3", "soc2", "PI1.3", "PI1.3"),
        ("A.5.15", "iso27001", "A.5.15", "A.5.15"),
        ("PR.AA-01", "nist-csf", "PR.AA-01", "PR.AA-01"),
        ("Art.32", "gdpr", "Art.32", "Art.32"),
        ("  CC6.1\t", "soc2", "CC6.1", "CC6.1"),
        ("iso27001:A.5.15", "iso27001", "A.5.15", "A.5.15"),
        ("soc2-type2:CC6.1", "soc2", "CC6.1", "CC6.1"),
        ("soc2:CC6.1", "soc2", "CC6.1", "CC6.1"),
        (" ISO27001 : A.8.28 ", "iso27001", "A.8.28", "A.8.28"),
        ("SOC2-Type2:CC7.2", "soc2", "CC7.2", "CC7.2"),
        ("nist-csf:PR.AA-01", "nist-csf", "PR.AA-01", "PR.AA-01"),
        ("Art.32(1)(a)", "gdpr", "Art.32", "Art.32(1)(a)"),
        ("Art.32(1)", "gdpr", "Art.32", "Art.32(1)"),
        ("Art. 32", "gdpr", "Art.32", "Art.32"),
        ("Art 32", "gdpr", "Art.32", "Art.32"),
        ("Article 32", "gdpr", "Art.32", "Art.32"),
        ("Article 32(1)(b)", "gdpr", "Art.32", "Art.32(1)(b)"),
        ("Art. 6 (1) (f)", "gdpr", "Art.6", "Art.6(1)(f)"),
        ("gdpr:Article 5(1)(f)", "gdpr", "Art.5", "Art.5(1)(f)"),
        ("Art.83(2)(k)", "gdpr", "Art.83", "Art.83(2)(k)"),
    ],
)
def test_resolve(resolver: ControlResolver, text: str, framework: str, control_id: str, ref: str) -> None:
    assert resolver.resolve(text) == ControlRef(framework, control_id, ref)


def test_every_assessable_control_resolves_with_and_without_prefix(catalogs: dict[str, Catalog]) -> None:
    resolver = ControlResolver(catalogs.values())
    for catalog in catalogs.values():
        for control in catalog.assessable():
            expected = ControlRef(catalog.framework, control.id, control.id)
            assert resolver.resolve(control.id) == expected
            assert resolver.resolve(f"{catalog.framework}:{control.id}") == expected


def test_withdrawn_control_names_its_replacement(resolver: ControlResolver) -> None:
    with pytest.raises(WithdrawnControlError) as caught:
        resolver.resolve("PR.AC-01")
    assert str(caught.value) == "PR.AC-01 was withdrawn in NIST CSF 2.0; use PR.AA-01 or PR.AA-05 instead"
    assert isinstance(caught.value, InputError) and caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("text", "replacement"),
    [
        ("ID.GV-03", "use GV.OC-03 instead"),
        ("nist-csf:ID.SC-01", "use GV.RM-05, GV.SC-01, GV.SC-06, GV.SC-09 or GV.SC-10 instead"),
        ("ID.GV-01", "use GV.PO-01 or GV.PO-02 instead"),  # GV.PO itself is implied by its subcategories
        ("DE.DP-02", "use a subcategory of DE.AE (DE.AE-02, DE.AE-03, DE.AE-04, …) instead"),
        ("PR.AC", "use a subcategory of PR.AA (PR.AA-01, PR.AA-02, PR.AA-03, …) instead"),
        ("PR.PT", "use a subcategory of PR.AA, PR.DS, PR.PS or PR.IR instead"),
    ],
)
def test_withdrawn_messages(resolver: ControlResolver, text: str, replacement: str) -> None:
    with pytest.raises(WithdrawnControlError, match=re.escape(replacement)):
        resolver.resolve(text)


def test_a_category_is_not_assessable_and_its_subcategories_are_listed(resolver: ControlResolver) -> None:
    with pytest.raises(UnknownControlError) as caught:
        resolver.resolve("GV.OC")
    message = str(caught.value)
    assert "GV.OC" in message and "category" in message
    assert "GV.OC-01, GV.OC-02, GV.OC-03, GV.OC-04, GV.OC-05" in message


def test_a_function_lists_at_most_8_of_its_subcategories(resolver: ControlResolver) -> None:
    with pytest.raises(UnknownControlError) as caught:
        resolver.resolve("nist-csf:GV")
    message = str(caught.value)
    assert "function" in message
    listed = re.findall(r"GV\.[A-Z]{2}-\d{2}", message)
    assert len(listed) == 8 and listed[0] == "GV.OC-01"
    assert "(23 more)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CC6.10", "unknown control 'CC6.10'; closest: CC6.1, CC6.2, CC6.3"),
        ("iso27001:A.5.38", "unknown control 'A.5.38' in iso27001; closest: A.5.3, A.5.8, A.5.30"),
        ("cc6.1", "unknown control 'cc6.1'; IDs are case-sensitive: did you mean CC6.1?"),
        ("iso27001:a.5.15", "unknown control 'a.5.15' in iso27001; IDs are case-sensitive: did you mean A.5.15?"),
        ("gdpr:CC6.1", "unknown control 'CC6.1' in gdpr; no similar ID in gdpr"),
        ("Art.100", "unknown control 'Art.100'; closest: Art.10"),
        ("Art.0", "unknown control 'Art.0'"),
        ("PR.AA-1", "unknown control 'PR.AA-1'; closest: PR.AA-01"),
    ],
)
def test_unknown_control_names_the_closest_ids(resolver: ControlResolver, text: str, expected: str) -> None:
    with pytest.raises(UnknownControlError) as caught:
        resolver.resolve(text)
    assert str(caught.value).startswith(expected)


@pytest.mark.parametrize("text", ["pci:CC6.1", "soc3:CC6.1", ":CC6.1", "https://example.com"])
def test_unknown_framework_prefix_names_the_known_ones(resolver: ControlResolver, text: str) -> None:
    with pytest.raises(UnknownControlError) as caught:
        resolver.resolve(text)
    for known in (*BUILTIN_FRAMEWORKS, "soc2-type2"):
        assert known in str(caught.value)


@pytest.mark.parametrize("text", ["", "   ", "soc2:", 32, None, ["CC6.1"]])
def test_empty_or_non_text_references_are_unknown(resolver: ControlResolver, text: Any) -> None:
    with pytest.raises(UnknownControlError):
        resolver.resolve(text)


def test_an_id_in_two_catalogs_is_ambiguous_without_a_prefix(write, catalogs: dict[str, Catalog]) -> None:
    custom = load_catalog_file(
        write(
            """
            framework: internal
            name: Internal policies
            controls:
              - {id: CC6.1, title: Our own access rule, family: Access}
              - {id: POL-1, title: Passwords, family: Access}
            """
        )
    )
    resolver = ControlResolver([*catalogs.values(), custom])
    with pytest.raises(UnknownControlError) as caught:
        resolver.resolve("CC6.1")
    message = str(caught.value)
    assert "ambiguous" in message and "soc2" in message and "internal" in message and "write fw:ID" in message
    assert resolver.resolve("soc2:CC6.1") == ControlRef("soc2", "CC6.1", "CC6.1")
    assert resolver.resolve("internal:CC6.1") == ControlRef("internal", "CC6.1", "CC6.1")
    assert resolver.resolve("POL-1") == ControlRef("internal", "POL-1", "POL-1")
    assert resolver.resolve("Internal:POL-1") == ControlRef("internal", "POL-1", "POL-1")


def test_a_framework_given_twice_is_refused(catalogs: dict[str, Catalog], write) -> None:
    twin = load_catalog_file(write("framework: soc2\nname: Twin\ncontrols: [{id: X, title: x}]\n"))
    with pytest.raises(ConfigError, match="soc2"):
        ControlResolver([catalogs["soc2"], twin])
    assert ControlResolver([catalogs["soc2"], catalogs["soc2"]]).catalogs == [catalogs["soc2"]]


def test_results_and_errors_are_cached_per_input(catalogs: dict[str, Catalog]) -> None:
    resolver = ControlResolver(catalogs.values())
    assert resolver.resolve("Art.32(1)") is resolver.resolve("Art.32(1)")
    errors = []
    for _ in range(2):
        with pytest.raises(UnknownControlError) as caught:
            resolver.resolve("CC6.10")
        errors.append(caught.value)
    assert errors[0] is not errors[1] and str(errors[0]) == str(errors[1])


def test_resolving_10000_references_is_fast(catalogs: dict[str, Catalog]) -> None:
    ids = [control.id for catalog in catalogs.values() for control in catalog.assessable()]
    distinct = [*ids[:280], "iso27001:A.5.15", "soc2-type2:CC6.1", "Art.32(1)(a)", "Article 5", *[
        "PR.AC-01", "GV.OC", "CC6.10", "cc6.1", "nope", "A.9.9",
    ]]  # fmt: skip
    refs = (distinct * (10_000 // len(distinct) + 1))[:10_000]
    best = float("inf")
    for _ in range(3):
        resolver = ControlResolver(catalogs.values())  # a cold cache each time
        started = time.perf_counter()
        for ref in refs:
            try:
                resolver.resolve(ref)
            except InputError:
                pass
        best = min(best, time.perf_counter() - started)
    assert best < 0.05, f"{best * 1000:.1f} ms for 10,000 references"


REFERENCE_LIKE = st.from_regex(
    r"\A\s?((soc2|SOC2-type2|iso27001|nist-csf|gdpr|bogus|)\s?:)?\s?"
    r"(CC[0-9]{1,2}\.[0-9]{1,2}|A\.[0-9]\.[0-9]{1,2}|[A-Z]{2}(\.[A-Z]{2}(-[0-9]{2})?)?"
    r"|(Art\.?|Article) ?[0-9]{1,3}( ?\([0-9a-z]{1,3}\)){0,3}\)?)\s?\Z"
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), REFERENCE_LIKE))
def test_resolve_raises_only_unknown_or_withdrawn(text: str) -> None:
    resolver = ControlResolver(builtin_catalog(framework) for framework in BUILTIN_FRAMEWORKS)
    try:
        ref = resolver.resolve(text)
    except (UnknownControlError, WithdrawnControlError) as error:
        assert str(error) and "\n" not in str(error)
    else:
        catalog = builtin_catalog(ref.framework)
        assert catalog.controls[ref.control_id].in_scope
        assert ref.ref.startswith(ref.control_id)


# --- custom framework files --------------------------------------------------------------------


def test_a_custom_framework_file_loads_with_defaults(write) -> None:
    path = write(
        """
        framework: acme-sec
        name: ACME security baseline
        version: 3
        source: internal
        controls:
          - id: ACME-1
            title: Encrypt data at rest
            family: Data
          - id: ACME-0
            title: Old encryption rule
            family: Data
            status: withdrawn
            replaced_by: [ACME-1]
          - id: ACME
            title: The whole baseline
            level: group
            assessable: false
        """
    )
    catalog = load_catalog_file(path)
    assert (catalog.framework, catalog.name, catalog.version, catalog.source) == (
        "acme-sec", "ACME security baseline", "3", "internal",
    )  # fmt: skip
    assert catalog.controls["ACME-1"] == Control("ACME-1", "Encrypt data at rest", "Data")
    assert catalog.controls["ACME-0"].replaced_by == ("ACME-1",)
    assert catalog.controls["ACME"] == Control("ACME", "The whole baseline", "", level="group", assessable=False)
    assert [control.id for control in catalog.assessable()] == ["ACME-1"]
    resolver = ControlResolver([catalog])
    assert resolver.resolve("acme-sec:ACME-1") == ControlRef("acme-sec", "ACME-1", "ACME-1")
    with pytest.raises(WithdrawnControlError, match=r"ACME-0 was withdrawn in ACME security baseline; use ACME-1"):
        resolver.resolve("ACME-0")
    with pytest.raises(UnknownControlError, match="is a group in ACME security baseline"):
        resolver.resolve("ACME")


BAD_FILES = [
    # (file text, line, key path in the message, problem)
    ("framework: My Policies\nname: x\ncontrols: [{id: A, title: a}]\n", 1, "framework", "not a framework id"),
    ("framework: [x]\nname: x\ncontrols: [{id: A, title: a}]\n", 1, "framework", "not a framework id"),
    ("name: x\ncontrols: [{id: A, title: a}]\n", 1, "framework", "missing"),
    ("framework: x\ncontrols: [{id: A, title: a}]\n", 1, "name", "missing"),
    ("framework: x\nname: ''\ncontrols: [{id: A, title: a}]\n", 2, "name", "non-empty string"),
    ("framework: x\nname: x\n", 1, "controls", "missing"),
    ("framework: x\nname: x\ncontrols: []\n", 3, "controls", "non-empty list"),
    ("framework: x\nname: x\ncontrols: {A: a}\n", 3, "controls", "non-empty list"),
    ("framework: x\nname: x\nversion: [1]\ncontrols: [{id: A, title: a}]\n", 3, "version", "expected a string"),
    ("framework: x\nname: x\ncontrols:\n  - just text\n", 4, "controls[0]", "expected a mapping"),
    ("framework: x\nname: x\ncontrols:\n  - title: a\n", 4, "controls[0]", "id: missing"),
    ("framework: x\nname: x\ncontrols:\n  - id: 12\n    title: a\n", 4, "controls[0].id", "non-empty string"),
    ("framework: x\nname: x\ncontrols:\n  - id: ''\n    title: a\n", 4, "controls[0].id", "non-empty string"),
    ("framework: x\nname: x\ncontrols:\n  - id: 'A 1'\n    title: a\n", 4, "controls[0].id", "whitespace"),
    ("framework: x\nname: x\ncontrols:\n  - id: 'a:b'\n    title: a\n", 4, "controls[0].id", "':'"),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n  - id: B\n    title: b\n  - id: A\n    title: c\n",
        8,
        "controls[2].id",
        "duplicate id 'A' (first at controls[0])",
    ),
    ("framework: x\nname: x\ncontrols:\n  - id: A\n", 4, "controls[0]", "title: missing"),
    ("framework: x\nname: x\ncontrols:\n  - id: A\n    title: [a]\n", 5, "controls[0].title", "expected a string"),
    ("framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    family: 3\n", 6, "controls[0].family", "string"),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    status: retired\n",
        6,
        "controls[0].status",
        "'retired' is not a status; use active or withdrawn",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    status: withdrawn\n",
        6,
        "controls[0].status",
        "name its replacement in replaced_by",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    status: withdrawn\n    replaced_by: [B]\n"
        "  - id: BB\n    title: b\n",
        7,
        "controls[0].replaced_by[0]",
        "unknown id 'B'; closest: BB",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    status: withdrawn\n    replaced_by: A\n",
        7,
        "controls[0].replaced_by",
        "expected a list of control ids",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    status: withdrawn\n    replaced_by: [A]\n",
        7,
        "controls[0].replaced_by[0]",
        "cannot replace itself",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    replaced_by: [B]\n  - id: B\n    title: b\n",
        6,
        "controls[0].replaced_by",
        "only a withdrawn control has replaced_by",
    ),
    (
        "framework: x\nname: x\ncontrols:\n  - {id: A, title: a, status: withdrawn, replaced_by: [B]}\n"
        "  - {id: B, title: b, status: withdrawn, replaced_by: [C]}\n  - {id: C, title: c}\n",
        4,
        "controls[0].replaced_by[0]",
        "'B' is itself withdrawn",
    ),
    ("framework: x\nname: x\ncontrols:\n  - id: A\n    titel: a\n", 5, "controls[0].titel", "did you mean 'title'?"),
    ("framework: x\nname: x\ncontrol: []\n", 3, "control", "did you mean 'controls'?"),
    ("framework: x\nname: x\nowner: me\ncontrols: []\n", 3, "owner", "expected one of framework, name"),
    ("framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    level: ''\n", 6, "controls[0].level", "non-empty"),
    (
        "framework: x\nname: x\ncontrols:\n  - id: A\n    title: a\n    assessable: maybe\n",
        6,
        "controls[0].assessable",
        "expected true or false",
    ),
    ("- framework: x\n", 1, "", "expected a mapping"),
    ("framework: x\nname: x\ncontrols: [\n", 4, "", "invalid YAML"),
    ("framework: x\nframework: y\nname: x\ncontrols: [{id: A, title: a}]\n", 2, "framework", "duplicate key"),
]


@pytest.mark.parametrize(("text", "line", "key", "problem"), BAD_FILES)
def test_custom_framework_file_errors_name_file_line_and_key(
    write, text: str, line: int, key: str, problem: str
) -> None:
    path = write(text)
    with pytest.raises(ConfigError) as caught:
        load_catalog_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert f": {key}: " in message if key else True, message
    assert problem in message, message
    assert "\n" not in message


def test_missing_framework_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="framework file not found"):
        load_catalog_file(tmp_path / "absent.yaml")


def test_errors_are_enterprise_errors() -> None:
    for error in (UnknownControlError, WithdrawnControlError):
        assert issubclass(error, InputError) and issubclass(error, EnterpriseError)


def test_catalog_module_imports_neither_pytest_nor_yaml_at_module_level() -> None:
    source = Path(catalog_module.__file__).read_text(encoding="utf-8")
    assert not re.search(r"^(import|from) (pytest|yaml)\b", source, re.MULTILINE)
