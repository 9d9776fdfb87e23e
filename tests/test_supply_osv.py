"""The offline OSV database and scan (supply_chain.osv) and the ignore file (supply_chain.vex)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from packaging.version import Version

from pytest_enterprise.errors import (
    ConfigError,
    InputError,
    PermissionDeniedError,
    UsageError,
)
from pytest_enterprise.supply_chain import osv as osv_module
from pytest_enterprise.supply_chain.model import (
    Component,
    Ignore,
    Inventory,
    ScanResult,
)
from pytest_enterprise.supply_chain.osv import (
    Event,
    OsvDatabase,
    Range,
    findings_at_or_above,
    scan,
    severity_at_least,
)
from pytest_enterprise.supply_chain.vex import load_ignores

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PYPA = SHARED / "osv-pypa"
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def component(name: str, version: str) -> Component:
    purl = f"pkg:pypi/{name}@{version}"
    return Component(name=name, display_name=name, version=version, purl=purl, bom_ref=purl)


def inventory(*pairs: tuple[str, str]) -> Inventory:
    return Inventory(components=tuple(component(name, version) for name, version in pairs))


def write(folder: Path, relative: str, text: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def record(
    vid: str,
    package: str = "demo",
    *,
    events: str = "",
    versions: str = "",
    extra: str = "",
    ranges: str | None = None,
) -> str:
    """An OSV record in PyPA's YAML style; ``events`` are YAML lines like ``- fixed: 1.0``."""
    if ranges is None:
        ranges = "  ranges:\n  - type: ECOSYSTEM\n    events:\n" + "".join(
            f"    {line.strip()}\n" for line in events.strip().splitlines()
        ) if events.strip() else ""
    listed = "  versions:\n" + "".join(f"  {line.strip()}\n" for line in versions.strip().splitlines()) if versions.strip() else ""
    return (
        f"id: {vid}\nmodified: '2024-01-01T00:00:00Z'\ndetails: A test advisory.\n"
        f"affected:\n- package:\n    name: {package}\n    ecosystem: PyPI\n{ranges}{listed}{textwrap.dedent(extra)}"
    )


def database(tmp_path: Path, records: dict[str, str], **options) -> OsvDatabase:
    folder = tmp_path / "db"
    for relative, text in records.items():
        write(folder, relative, text)
    return OsvDatabase.load(folder, **options)


def found(db: OsvDatabase, name: str, version: str, **options) -> dict[str, tuple[str, ...]]:
    """{vulnerability id: fixed versions} for one installed package."""
    result = scan(inventory((name, version)), db, now=NOW, **options)
    return {f.vulnerability.id: f.fixed_versions for f in result.findings}


# --- the OSV range algorithm -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "affected"),
    [("0.9", False), ("1.0", True), ("1.4.9", True), ("1.5", False), ("2.0", False)],
)
def test_introduced_and_fixed(tmp_path, installed, affected):
    db = database(tmp_path, {"demo/PYSEC-1.yaml": record("PYSEC-1", events="- introduced: '1.0'\n- fixed: '1.5'")})
    assert found(db, "demo", installed) == ({"PYSEC-1": ("1.5",)} if affected else {})


@pytest.mark.parametrize("installed", ["0.0.1", "0.1.dev0", "0a1", "1.0rc1"])
def test_introduced_zero_is_before_every_version(tmp_path, installed):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '0'\n- fixed: '1.0'")})
    assert found(db, "demo", installed) == {"PYSEC-1": ("1.0",)}


@pytest.mark.parametrize(
    ("installed", "affected"),
    [("0.9", False), ("1.0", True), ("1.2", True), ("1.2.0", True), ("1.2.post1", False), ("1.3", False)],
)
def test_last_affected_is_inclusive(tmp_path, installed, affected):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '1.0'\n- last_affected: '1.2'")})
    assert found(db, "demo", installed) == ({"PYSEC-1": ()} if affected else {})


def test_last_affected_equal_to_introduced_is_exactly_that_version(tmp_path):
    # Written fix-first on purpose: events are sorted, introduced first on a tie.
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- last_affected: '1.1'\n- introduced: '1.1'")})
    assert [bool(found(db, "demo", v)) for v in ("1.0", "1.1", "1.1.1")] == [False, True, False]


@pytest.mark.parametrize(("installed", "affected"), [("1.9", True), ("2.0rc1", True), ("2.0", False), ("3.0", False)])
def test_limit_is_an_exclusive_upper_bound(tmp_path, installed, affected):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '0'\n- limit: '2.0'")})
    assert bool(found(db, "demo", installed)) is affected


def test_star_limit_is_infinity(tmp_path):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '1.0'\n- limit: '*'")})
    assert found(db, "demo", "99.0") == {"PYSEC-1": ()}
    assert found(db, "demo", "0.9") == {}


@pytest.mark.parametrize(
    ("installed", "fixed"),
    [("0.9", None), ("1.0.1", ("1.0.2",)), ("2.0", None), ("3.1", ("3.2.5",)), ("3.2.5", None), ("4.0", ("4.0.1",))],
)
def test_multiple_intervals_and_ranges(tmp_path, installed, fixed):
    ranges = (
        "  ranges:\n"
        "  - type: ECOSYSTEM\n    events:\n"
        "    - introduced: 1.0\n    - fixed: 1.0.2\n    - introduced: 3.0\n    - fixed: 3.2.5\n"
        "  - type: ECOSYSTEM\n    events:\n    - introduced: '4.0'\n    - fixed: 4.0.1\n"
        "  - type: GIT\n    repo: https://example.invalid/repo\n    events:\n    - introduced: '0'\n"
    )
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", ranges=ranges)})
    assert found(db, "demo", installed) == ({} if fixed is None else {"PYSEC-1": fixed})


def test_lowest_fix_per_affecting_range_across_records_and_ranges(tmp_path):
    ranges = (
        "  ranges:\n"
        "  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: '2.0'\n    - fixed: '1.5'\n"
        "  - type: ECOSYSTEM\n    events:\n    - introduced: '1.0'\n    - fixed: '1.8'\n"
    )
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", ranges=ranges)})
    assert found(db, "demo", "1.2") == {"PYSEC-1": ("1.5", "1.8")}


@pytest.mark.parametrize(("installed", "affected"), [("1.1", True), ("2.0.0", True), ("2", True), ("1.2", False)])
def test_versions_list_matches_as_pep_440(tmp_path, installed, affected):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", versions="- '1.1'\n- '2.0'\n- not-a-version")})
    assert bool(found(db, "demo", installed)) is affected


def test_versions_list_match_takes_fixes_from_the_ranges(tmp_path):
    # 1.7 is listed (an inconsistent record) but outside the range: the fix above it is named.
    db = database(
        tmp_path,
        {"r.yaml": record("PYSEC-1", events="- introduced: '1.0'\n- fixed: '1.5'\n- introduced: '1.8'\n- fixed: '1.9'", versions="- '1.7'")},
    )
    assert found(db, "demo", "1.7") == {"PYSEC-1": ("1.9",)}


@pytest.mark.parametrize(
    ("installed", "affected"),
    [("1.0rc1", False), ("1.0", True), ("1.0.post1", True), ("1.1.dev0", True), ("1.1rc1", True), ("1.1", False)],
)
def test_pre_and_post_releases_compare_as_pep_440(tmp_path, installed, affected):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '1.0'\n- fixed: '1.1'")})
    assert bool(found(db, "demo", installed)) is affected


@pytest.mark.parametrize(
    ("installed", "affected"),
    [("1.0+ubuntu1", True), ("2.0+cu118", True), ("1.5+local", False), ("1.4.9+local.7", True)],
)
def test_local_versions_match_as_their_public_version(tmp_path, installed, affected):
    db = database(
        tmp_path,
        {
            "a.yaml": record("PYSEC-1", events="- introduced: '0'\n- last_affected: '1.0'"),
            "b.yaml": record("PYSEC-2", versions="- '2.0'"),
            "c.yaml": record("PYSEC-3", events="- introduced: '1.1'\n- fixed: '1.5'"),
        },
    )
    assert bool(found(db, "demo", installed)) is affected


def test_invalid_installed_version_is_reported_not_matched(tmp_path):
    db = database(tmp_path, {"r.yaml": record("PYSEC-1", events="- introduced: '0'")})
    result = scan(inventory(("demo", "1.0-final-x"), ("demo2", "1.0")), db, now=NOW)
    assert result.findings == ()
    assert result.problems == ("demo 1.0-final-x: not a PEP 440 version; not matched against any advisory",)
    assert result.scanned == 2


def test_names_are_canonical_and_other_ecosystems_ignored(tmp_path):
    text = record("PYSEC-1", package="Foo_Bar.baz", events="- introduced: '0'") + (
        "- package:\n    name: demo\n    ecosystem: npm\n  ranges:\n"
        "  - type: SEMVER\n    events:\n    - introduced: '0'\n"
    )
    db = database(tmp_path, {"r.yaml": text})
    assert found(db, "foo-bar-baz", "1.0") == {"PYSEC-1": ()}
    assert found(db, "demo", "1.0") == {}
    assert [a.id for a in db.advisories_for("FOO.bar_baz")] == ["PYSEC-1"]


@settings(max_examples=200, deadline=None)
@given(
    bounds=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6, unique=True),
    probe=st.integers(min_value=0, max_value=31),
    shuffle=st.randoms(use_true_random=False),
)
def test_range_walk_equals_interval_membership(bounds, probe, shuffle):
    """introduced/fixed pairs in any written order mean the union of [introduced, fixed)."""
    bounds.sort()
    events = [
        Event("introduced" if index % 2 == 0 else "fixed", f"{bound}.0", Version(f"{bound}.0"))
        for index, bound in enumerate(bounds)
    ]
    shuffle.shuffle(events)
    walked = Range(events=tuple(sorted(events, key=osv_module._event_order))).affects(Version(f"{probe}.0"))
    pairs = [(bounds[i], bounds[i + 1] if i + 1 < len(bounds) else 10**6) for i in range(0, len(bounds), 2)]
    assert walked == any(low <= probe < high for low, high in pairs)


# --- records: YAML quirks, JSON, withdrawn, malformed --------------------------------------------


def test_yaml_versions_stay_exactly_as_written(tmp_path):
    # Unquoted, `2.10` is the float 2.1 to a default YAML loader: the fix would be "2.1".
    text = "id: PYSEC-1\naffected:\n- package: {name: demo, ecosystem: PyPI}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 2.10\n  versions:\n  - 2.9\n  - 2.1\n"
    db = database(tmp_path, {"r.yaml": text})
    assert found(db, "demo", "2.9") == {"PYSEC-1": ("2.10",)}
    assert found(db, "demo", "2.10") == {}
    assert found(db, "demo", "2.1") == {"PYSEC-1": ("2.10",)}
    (advisory,) = db.advisories_for("demo")
    assert advisory.affected[0].versions == ("2.9", "2.1")
    assert advisory.affected[0].ranges[0].events[-1].text == "2.10"


def test_json_records_keep_numbers_as_written(tmp_path):
    data = {
        "id": "GHSA-xxxx-yyyy-zzzz",
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"name": "demo", "ecosystem": "PyPI"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "__F__"}]}]}],
    }
    folder = tmp_path / "db"
    folder.mkdir()
    (folder / "GHSA-xxxx-yyyy-zzzz.json").write_text(json.dumps(data).replace('"__F__"', "2.10"))
    db = OsvDatabase.load(folder)
    assert found(db, "demo", "2.9") == {"GHSA-xxxx-yyyy-zzzz": ("2.10",)}


def test_withdrawn_records_are_skipped_and_counted(tmp_path):
    db = database(
        tmp_path,
        {
            "a.yaml": record("PYSEC-1", events="- introduced: '0'", extra="withdrawn: '2025-01-01T00:00:00Z'\n"),
            "b.yaml": record("PYSEC-2", events="- introduced: '0'", extra="withdrawn: '2030-01-01T00:00:00Z'\n"),
            "c.yaml": record("PYSEC-3", events="- introduced: '0'"),
        },
    )
    result = scan(inventory(("demo", "1.0")), db, now=NOW)
    assert [f.vulnerability.id for f in result.findings] == ["PYSEC-2", "PYSEC-3"]  # 2 not yet withdrawn
    assert (result.database.records, result.database.withdrawn) == (3, 1)
    later = scan(inventory(("demo", "1.0")), db, now=datetime(2031, 1, 1, tzinfo=timezone.utc))
    assert [f.vulnerability.id for f in later.findings] == ["PYSEC-3"]
    assert later.database.withdrawn == 2


MALFORMED = {
    "bad-yaml.yaml": ("id: PYSEC-9\naffected: [\n", "invalid YAML: line 3"),
    "list.yaml": ("- id: PYSEC-9\n", "not an OSV record: expected a mapping, got a list"),
    "no-id.yaml": ("modified: '2024-01-01T00:00:00Z'\naffected:\n- package: {name: demo, ecosystem: PyPI}\n", "missing id"),
    "bad-version.yaml": (record("PYSEC-10", events="- introduced: '0'\n- fixed: '2019-09-12'"), "affected[0].ranges[0].events[1].fixed: not a PEP 440 version"),
    "two-keys.yaml": (record("PYSEC-11", ranges="  ranges:\n  - type: ECOSYSTEM\n    events:\n    - {introduced: '0', fixed: '1.0'}\n"), "affected[0].ranges[0].events[0]: expected one of introduced, fixed, last_affected, limit, got a mapping"),
    "no-introduced.yaml": (record("PYSEC-12", events="- fixed: '1.0'"), "affected[0].ranges[0].events: no introduced event (OSV requires one)"),
    "bad-json.json": ('{"id": "PYSEC-13", ', "invalid JSON: line 1 column 20"),
    "binary.yaml": (None, "not UTF-8 text (line 1, byte 0)"),
    "recursive.yaml": ("id: PYSEC-14\naffected: &a [*a]\n", "invalid YAML: recursive alias"),
    "complex-key.yaml": ("id: PYSEC-15\n? [name]\n: demo\n", "invalid YAML: line 2: a mapping key must be a scalar"),
    "bad-withdrawn.yaml": ("id: PYSEC-16\nwithdrawn: yesterday\n", "withdrawn: expected an RFC 3339 timestamp, got a string of 9 characters"),
    "bad-aliases.yaml": ("id: PYSEC-17\naliases: CVE-1\nname: demo\n", "aliases: expected a list of strings, got a string of 5 characters"),
    "empty.json": ("", "invalid JSON: line 1 column 1"),
}


def write_malformed(folder: Path) -> None:
    for relative, (text, _) in MALFORMED.items():
        if text is None:
            (folder / relative).write_bytes(b"\xff\xfename: demo\n")
        else:
            write(folder, relative, text)


def test_malformed_records_are_skipped_and_listed(tmp_path):
    folder = tmp_path / "db"
    write_malformed(folder)
    write(folder, "good.yaml", record("PYSEC-1", events="- introduced: '0'"))
    db = OsvDatabase.load(folder, eager=True)
    skipped = dict(db.info.skipped)
    assert sorted(skipped) == sorted(MALFORMED)
    for relative, (_, reason) in MALFORMED.items():
        assert skipped[relative].startswith(reason), (relative, skipped[relative])
        assert "\n" not in skipped[relative]
    assert db.info.records == len(MALFORMED) + 1
    assert found(db, "demo", "1.0") == {"PYSEC-1": ()}


def test_lazy_load_lists_the_malformed_records_a_scan_reads(tmp_path):
    db = database(
        tmp_path,
        {
            "demo/PYSEC-1.yaml": record("PYSEC-1", events="- introduced: '0'\n- fixed: '2019-09-12'"),
            "other/PYSEC-2.yaml": record("PYSEC-2", package="other", events="- introduced: '0'\n- fixed: 'x y'"),
        },
    )
    result = scan(inventory(("demo", "1.0")), db, now=NOW)
    assert result.findings == ()
    assert [path for path, _ in result.database.skipped] == ["demo/PYSEC-1.yaml"]  # other not scanned
    assert [path for path, _ in OsvDatabase.load(tmp_path / "db", eager=True).info.skipped] == [
        "demo/PYSEC-1.yaml",
        "other/PYSEC-2.yaml",
    ]


@pytest.mark.parametrize(
    "package_lines",
    [
        "- package:\n    name:\n      demo\n    ecosystem: PyPI\n",  # the name on its own line
        "- package:\n    ? name\n    : demo\n    ecosystem: PyPI\n",  # a complex key
        '- package: {"name": "de\\x6do", ecosystem: PyPI}\n',  # an escape
    ],
)
def test_records_whose_names_the_text_scan_cannot_read_are_still_found(tmp_path, package_lines):
    text = f"id: PYSEC-1\ncredits:\n- name: someone\naffected:\n{package_lines}  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n"
    db = database(tmp_path, {"r.yaml": text})
    assert found(db, "demo", "1.0") == {"PYSEC-1": ()}


def test_duplicate_ids_keep_the_latest_modified(tmp_path):
    older = record("PYSEC-1", events="- introduced: '0'\n- fixed: '1.0'")
    newer = record("PYSEC-1", events="- introduced: '0'\n- fixed: '2.0'").replace("2024-01-01", "2024-06-01")
    db = database(tmp_path, {"a/PYSEC-1.yaml": newer, "b/PYSEC-1.json": json.dumps(_yaml_to_json(older))})
    result = scan(inventory(("demo", "1.5")), db, now=NOW)
    assert [(f.vulnerability.id, f.fixed_versions) for f in result.findings] == [("PYSEC-1", ("2.0",))]
    assert dict(result.database.skipped) == {"b/PYSEC-1.json": "a second record of PYSEC-1; a/PYSEC-1.yaml is used (modified later)"}


def _yaml_to_json(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)


# --- aliases and severity ------------------------------------------------------------------------

GHSA_RECORD = """
id: GHSA-aaaa-bbbb-cccc
modified: '2024-01-01T00:00:00Z'
summary: Remote code execution in demo
aliases: [PYSEC-2099-1]
severity:
- type: CVSS_V3
  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
affected:
- package: {name: demo, ecosystem: PyPI}
  ranges:
  - type: ECOSYSTEM
    events: [{introduced: '0'}, {fixed: '1.2'}]
references:
- {type: ADVISORY, url: 'https://example.invalid/ghsa'}
"""


def test_aliases_group_records_into_one_vulnerability(tmp_path):
    db = database(
        tmp_path,
        {
            "demo/PYSEC-2099-1.yaml": record("PYSEC-2099-1", events="- introduced: '0'\n- fixed: '1.1'", extra="aliases: [CVE-2099-1, GHSA-aaaa-bbbb-cccc]\n"),
            "ghsa/GHSA-aaaa-bbbb-cccc.yaml": GHSA_RECORD,
            # Joined only through the CVE (aliases are transitive), and a separate advisory.
            "other/GHSA-dddd.yaml": record("GHSA-dddd-eeee-ffff", events="- introduced: '0'", extra="aliases: [CVE-2099-1]\n"),
            "demo/PYSEC-2099-2.yaml": record("PYSEC-2099-2", events="- introduced: '0'", extra="aliases: [CVE-2099-2]\n"),
        },
    )
    result = scan(inventory(("demo", "1.0")), db, now=NOW)
    assert [f.vulnerability.id for f in result.findings] == ["PYSEC-2099-1", "PYSEC-2099-2"]
    first = result.findings[0]
    assert first.vulnerability.aliases == ("CVE-2099-1", "GHSA-aaaa-bbbb-cccc", "GHSA-dddd-eeee-ffff")
    assert first.fixed_versions == ("1.1", "1.2")  # each record's lowest fix above 1.0
    assert first.vulnerability.summary == "Remote code execution in demo"  # PYSEC has none
    assert (first.vulnerability.severity, first.vulnerability.cvss_score) == ("critical", 9.8)
    assert first.vulnerability.references == ("https://example.invalid/ghsa",)
    assert result.findings[1].vulnerability.aliases == ("CVE-2099-2",)


def test_a_ghsa_only_group_keeps_the_lowest_ghsa_id(tmp_path):
    db = database(
        tmp_path,
        {
            "a.yaml": record("GHSA-zzzz", events="- introduced: '0'", extra="aliases: [GHSA-aaaa, CVE-1]\n"),
            "b.yaml": record("GHSA-aaaa", events="- introduced: '0'"),
            "c.yaml": record("CVE-1", events="- introduced: '0'"),
        },
    )
    result = scan(inventory(("demo", "1.0")), db, now=NOW)
    assert [(f.vulnerability.id, f.vulnerability.aliases) for f in result.findings] == [("GHSA-aaaa", ("CVE-1", "GHSA-zzzz"))]


def test_only_matching_records_join_a_group(tmp_path):
    db = database(
        tmp_path,
        {
            "a.yaml": record("PYSEC-1", events="- introduced: '0'\n- fixed: '1.0'", extra="aliases: [GHSA-aaaa]\n"),
            "b.yaml": record("GHSA-aaaa", events="- introduced: '0'\n- fixed: '3.0'"),
        },
    )
    assert found(db, "demo", "2.0") == {"GHSA-aaaa": ("3.0",)}


@pytest.mark.parametrize(
    ("severity_yaml", "expected"),
    [
        ("severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\n", ("critical", 9.8)),
        ("severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N\n", ("high", 8.1)),
        ("severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N\n", ("medium", 4.2)),
        ("severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N\n", ("low", 1.8)),
        ("severity:\n- type: CVSS_V4\n  score: CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N\n", ("medium", 5.1)),
        ("database_specific:\n  severity: MODERATE\n", ("medium", None)),
        ("database_specific:\n  severity: CRITICAL\n", ("critical", None)),
        ("severity:\n- type: CVSS_V3\n  score: not-a-vector\ndatabase_specific:\n  severity: LOW\n", ("low", None)),
        ("severity:\n- type: CVSS_V2\n  score: AV:N/AC:L/Au:N/C:C/I:C/A:C\n", ("unknown", None)),
        ("", ("unknown", None)),
    ],
)
def test_severity(tmp_path, severity_yaml, expected):
    db = database(tmp_path, {"r.yaml": record("GHSA-1", events="- introduced: '0'", extra=severity_yaml)})
    (finding,) = scan(inventory(("demo", "1.0")), db, now=NOW).findings
    vulnerability = finding.vulnerability
    assert (vulnerability.severity, vulnerability.cvss_score) == expected
    assert (vulnerability.cvss_vector is None) == (expected[1] is None)


def test_the_highest_cvss_score_of_a_record_wins(tmp_path):
    severity = (
        "severity:\n- type: CVSS_V3\n  score: CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N\n"
        "- type: CVSS_V3\n  score: CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N\n"
    )
    db = database(tmp_path, {"r.yaml": record("GHSA-1", events="- introduced: '0'", extra=severity)})
    (finding,) = scan(inventory(("demo", "1.0")), db, now=NOW).findings
    assert finding.vulnerability.cvss_vector == "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N"


# --- loading: layouts, fingerprint, errors -------------------------------------------------------


def make_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "db"
    write(folder, "vulns/demo/PYSEC-1.yaml", record("PYSEC-1", events="- introduced: '0'\n- fixed: '2.0'"))
    write(folder, "vulns/other/GHSA-1.json", json.dumps(_yaml_to_json(record("GHSA-1", package="other", events="- introduced: '1.0'"))))
    write(folder, "README.md", "not a record\n")
    write(folder, ".git/objects/x.json", "{}")
    write(folder, "vulns/.id-allocator", "abc\n")
    return folder


def zip_folder(folder: Path, target: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def test_a_zip_database_equals_the_folder_it_was_made_from(tmp_path):
    folder = make_folder(tmp_path)
    from_folder = OsvDatabase.load(folder)
    from_zip = OsvDatabase.load(zip_folder(folder, tmp_path / "db.zip"))
    assert from_zip.fingerprint == from_folder.fingerprint
    assert from_zip.info.records == from_folder.info.records == 2
    inv = inventory(("demo", "1.0"), ("other", "1.5"))
    assert scan(inv, from_zip, now=NOW).findings == scan(inv, from_folder, now=NOW).findings
    assert from_zip.info.path == str(tmp_path / "db.zip")
    # Member names are the relative paths: a zip with another top folder is another layout.
    moved = OsvDatabase.load(zip_folder(folder, tmp_path / "moved.zip", prefix="advisory-database/"))
    assert moved.fingerprint != from_folder.fingerprint


def test_fingerprint_is_stable_and_follows_every_record(tmp_path):
    folder = make_folder(tmp_path)
    first = OsvDatabase.load(folder).fingerprint
    assert len(first) == 64 and int(first, 16) >= 0
    assert OsvDatabase.load(folder).fingerprint == first
    (folder / "README.md").write_text("changed\n")  # not a record
    assert OsvDatabase.load(folder).fingerprint == first
    record_path = folder / "vulns/demo/PYSEC-1.yaml"
    record_path.write_text(record_path.read_text().replace("2.0", "2.1"))
    changed = OsvDatabase.load(folder).fingerprint
    assert changed != first
    record_path.rename(folder / "vulns/demo/PYSEC-2.yaml")  # same bytes, another path
    assert OsvDatabase.load(folder).fingerprint not in (first, changed)


def test_fingerprint_is_the_documented_digest(tmp_path):
    folder = make_folder(tmp_path)
    files = sorted(
        (path.relative_to(folder).as_posix(), hashlib.sha256(path.read_bytes()).hexdigest())
        for path in folder.rglob("*")
        if path.suffix in (".json", ".yaml") and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    digest = hashlib.sha256(b"".join(f"{rel}\0{sha}\n".encode() for rel, sha in files)).hexdigest()
    assert OsvDatabase.load(folder).fingerprint == digest


def test_load_errors_are_one_line_input_errors(tmp_path):
    with pytest.raises(InputError, match=r"missing: OSV database not found$") as error:
        OsvDatabase.load(tmp_path / "missing")
    assert error.value.exit_code == 2
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="not an OSV database: expected a folder or a .zip of OSV records"):
        OsvDatabase.load(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty", "README.md", "nothing\n")
    with pytest.raises(InputError, match=r"empty: no OSV records in the database \(expected .json, .yaml or .yml files\)"):
        OsvDatabase.load(tmp_path / "empty")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions and a non-root user")
def test_unreadable_database_is_permission_denied(tmp_path):
    folder = make_folder(tmp_path)
    locked = folder / "vulns" / "demo"
    locked.chmod(0)
    try:
        with pytest.raises(PermissionDeniedError, match="demo: permission denied reading the OSV database") as error:
            OsvDatabase.load(folder)
        assert error.value.exit_code == 3
    finally:
        locked.chmod(0o755)


def test_permission_errors_on_records_are_exit_3(tmp_path, monkeypatch):
    """The same, whoever runs the tests (root reads a chmod-0 file)."""
    folder = make_folder(tmp_path)

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(path))

    monkeypatch.setattr(osv_module, "open", refuse, raising=False)
    with pytest.raises(PermissionDeniedError, match=r"PYSEC-1.yaml: permission denied reading the OSV database$"):
        OsvDatabase.load(folder)


def test_zip_members_hidden_duplicate_and_oversized(tmp_path, monkeypatch):
    target = tmp_path / "db.zip"
    good = record("PYSEC-1", events="- introduced: '0'")
    with zipfile.ZipFile(target, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("vulns/demo/PYSEC-1.yaml", good)
        archive.writestr("__MACOSX/vulns/demo/._PYSEC-1.yaml", b"\x00\x05binary")
        archive.writestr("vulns/", b"")
        archive.writestr("vulns/demo/PYSEC-1.yaml", good.replace("'0'", "'5.0'"))
        archive.writestr("vulns/big/PYSEC-2.yaml", record("PYSEC-2", package="big", events="- introduced: '0'") + "#" * 2000)
    monkeypatch.setattr(osv_module, "MAX_RECORD_BYTES", 1000)
    db = OsvDatabase.load(target)
    assert db.info.records == 3
    assert dict(db.info.skipped) == {
        "vulns/demo/PYSEC-1.yaml": "the archive holds two members of this name; the first is used",
        "vulns/big/PYSEC-2.yaml": "larger than 1000 bytes: not an advisory",
    }
    assert found(db, "demo", "1.0") == {"PYSEC-1": ()}
    assert found(db, "big", "1.0") == {}


def test_oversized_files_are_skipped_but_fingerprinted(tmp_path, monkeypatch):
    folder = make_folder(tmp_path)
    monkeypatch.setattr(osv_module, "MAX_RECORD_BYTES", 100)
    db = OsvDatabase.load(folder)
    assert sorted(path for path, _ in db.info.skipped) == ["vulns/demo/PYSEC-1.yaml", "vulns/other/GHSA-1.json"]
    big = folder / "vulns/demo/PYSEC-1.yaml"
    big.write_text(big.read_text() + "# more\n")
    assert OsvDatabase.load(folder).fingerprint != db.fingerprint


# --- the ignore (VEX) file -----------------------------------------------------------------------


def ignores_file(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, "ignores.yaml", text)


def test_load_ignores(tmp_path):
    path = ignores_file(
        tmp_path,
        """
        ignores:
          - id: PYSEC-1
            justification: " the sandbox is never used "
            expires: 2027-01-31
          - id: cve-2099-1
            justification: only in tests
            package: Demo_Pkg
            expires: 2027-01-31T12:00:00Z
          - id: GHSA-1
            justification: accepted
            expires: "2027-02-01T00:00:00+02:00"
        """,
    )
    assert load_ignores(path) == [
        Ignore(id="PYSEC-1", justification="the sandbox is never used", expires="2027-01-31"),
        Ignore(id="cve-2099-1", justification="only in tests", expires="2027-01-31T12:00:00.000Z", package="demo-pkg"),
        Ignore(id="GHSA-1", justification="accepted", expires="2027-02-01T00:00:00+02:00"),
    ]
    assert load_ignores(ignores_file(tmp_path, "")) == []
    assert load_ignores(ignores_file(tmp_path, "ignores:\n")) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ignores:\n  - id: PYSEC-1\n", r"ignores.yaml:2: ignores\[0\].justification: missing$"),
        ("ignores:\n  - justification: x\n", r"ignores.yaml:2: ignores\[0\].id: missing$"),
        ("ignores:\n  - id: PYSEC-1\n    justification: x\n    expire: 2027-01-01\n", r"ignores.yaml:4: ignores\[0\].expire: unknown key 'expire'; did you mean 'expires'\?$"),
        ("ignores:\n  - id: PYSEC-1\n    justification: x\n    expires: soon\n", r"ignores.yaml:4: ignores\[0\].expires: expected a date \(2027-01-31\) or an RFC 3339 timestamp"),
        ("ignores:\n  - id: PYSEC-1\n    justification: x\n    expires: '2027-02-30'\n", r"ignores.yaml:4: ignores\[0\].expires: expected a date"),
        ("ignores:\n  - id: PYSEC-1\n    justification: 42\n", r"ignores.yaml:3: ignores\[0\].justification: expected a non-empty string, got integer 42 \(quote it\)$"),
        ("ignores:\n  - id: PYSEC 1\n    justification: x\n", r"ignores.yaml:2: ignores\[0\].id: 'PYSEC 1' is not an advisory id"),
        ("ignores:\n  - id: PYSEC-1\n    justification: x\n    package: 'no such/name'\n", r"ignores.yaml:4: ignores\[0\].package: 'no such/name' is not a package name$"),
        ("ignores:\n  - id: PYSEC-1\n    justification: x\n  - id: pysec-1\n    justification: y\n", r"ignores.yaml:4: ignores\[1\].id: a second ignore of pysec-1 \(the first is at line 2\)$"),
        ("ignores:\n  - just a string\n", r"ignores.yaml:2: ignores\[0\]: expected a mapping with keys id, justification, got string"),
        ("ignores: {id: x}\n", r"ignores.yaml:1: ignores: expected a list of entries, got a mapping$"),
        ("ignore:\n  - id: x\n", r"ignores.yaml:1: ignore: unknown key 'ignore'; expected 'ignores'$"),
        ("- id: x\n", r"ignores.yaml:1: expected a mapping with an 'ignores' list, got a list$"),
        ("ignores: [\n", r"ignores.yaml:2: invalid YAML"),
    ],
)
def test_bad_ignore_files_name_the_line_and_key(tmp_path, text, message):
    path = ignores_file(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as error:
        load_ignores(path)
    assert error.value.exit_code == 2
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(str(path))


def test_missing_ignore_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: ignore file not found"):
        load_ignores(tmp_path / "nope.yaml")


def ignore_scenario(tmp_path: Path) -> OsvDatabase:
    return database(
        tmp_path,
        {
            "a.yaml": record("PYSEC-1", events="- introduced: '0'\n- fixed: '9.0'", extra="aliases: [CVE-2099-1, GHSA-aaaa-bbbb-cccc]\n"),
            "b.yaml": record("PYSEC-2", events="- introduced: '0'"),
            "c.yaml": record("PYSEC-1", package="other", events="- introduced: '0'").replace("id: PYSEC-1", "id: PYSEC-3"),
        },
    )


def test_ignores_match_by_id_alias_and_package(tmp_path):
    db = ignore_scenario(tmp_path)
    by_alias = Ignore(id="ghsa-AAAA-bbbb-cccc", justification="not reachable", package="demo")
    by_id = Ignore(id="PYSEC-3", justification="vendored copy is patched", expires="2026-06-01")
    for_other_package = Ignore(id="PYSEC-2", justification="only other", package="other")
    never = Ignore(id="PYSEC-404", justification="stale")
    result = scan(inventory(("demo", "1.0"), ("other", "1.0")), db, ignores=[by_alias, by_id, for_other_package, never], now=NOW)
    state = {(f.component, f.vulnerability.id): f.ignored for f in result.findings}
    assert state == {
        ("demo", "PYSEC-1"): by_alias,
        ("demo", "PYSEC-2"): None,
        ("other", "PYSEC-3"): by_id,  # expires today: applies through the whole day
    }
    assert [f.vulnerability.id for f in result.active] == ["PYSEC-2"]
    assert result.unused_ignores == (for_other_package, never)
    assert result.expired_ignores == ()


def test_expired_ignores_do_not_apply_and_are_listed(tmp_path):
    db = ignore_scenario(tmp_path)
    expired = Ignore(id="PYSEC-2", justification="was fine", expires="2026-05-31")
    later = Ignore(id="PYSEC-2", justification="until noon", expires="2026-06-01T12:00:00Z")
    result = scan(inventory(("demo", "1.0")), db, ignores=[expired, later], now=NOW)
    (pysec2,) = [f for f in result.findings if f.vulnerability.id == "PYSEC-2"]
    assert pysec2.ignored == later
    assert result.expired_ignores == (expired,)
    after = scan(inventory(("demo", "1.0")), db, ignores=[expired, later], now=datetime(2026, 6, 2, tzinfo=timezone.utc))
    assert after.expired_ignores == (expired, later)
    assert all(f.ignored is None for f in after.findings)


def test_ignore_file_round_trip_through_a_scan(tmp_path):
    db = ignore_scenario(tmp_path)
    path = ignores_file(tmp_path, "ignores:\n  - id: CVE-2099-1\n    justification: behind a firewall\n    expires: 2027-01-31\n")
    result = scan(inventory(("demo", "1.0")), db, ignores=load_ignores(path), now=NOW)
    assert {f.vulnerability.id: f.ignored is not None for f in result.findings} == {"PYSEC-1": True, "PYSEC-2": False}


def test_an_ignore_with_an_unreadable_expiry_is_an_input_error(tmp_path):
    db = ignore_scenario(tmp_path)
    with pytest.raises(InputError, match="ignore of PYSEC-2: expires 'someday' is not a date"):
        scan(inventory(("demo", "1.0")), db, ignores=[Ignore(id="PYSEC-2", justification="x", expires="someday")], now=NOW)


# --- thresholds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "threshold", "expected"),
    [
        ("critical", "critical", True),
        ("high", "critical", False),
        ("high", "medium", True),
        ("medium", "medium", True),
        ("low", "medium", False),
        ("low", "low", True),
        ("unknown", "low", True),  # low means every finding
        ("unknown", "medium", False),
        ("bogus", "high", False),
    ],
)
def test_severity_at_least(severity, threshold, expected):
    assert severity_at_least(severity, threshold) is expected


def test_bad_threshold_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown severity threshold 'severe'; expected low, medium, high, critical"):
        severity_at_least("high", "severe")


def test_findings_at_or_above_skips_ignored(tmp_path):
    db = database(
        tmp_path,
        {
            "a.yaml": record("GHSA-1", events="- introduced: '0'", extra="database_specific: {severity: HIGH}\n"),
            "b.yaml": record("GHSA-2", events="- introduced: '0'", extra="database_specific: {severity: MODERATE}\n"),
            "c.yaml": record("GHSA-3", events="- introduced: '0'", extra="database_specific: {severity: CRITICAL}\n"),
            "d.yaml": record("PYSEC-4", events="- introduced: '0'"),
        },
    )
    result = scan(inventory(("demo", "1.0")), db, ignores=[Ignore(id="GHSA-3", justification="x")], now=NOW)
    assert isinstance(result, ScanResult)
    assert [f.vulnerability.id for f in findings_at_or_above(result, "high")] == ["GHSA-1"]
    assert [f.vulnerability.id for f in findings_at_or_above(result, "medium")] == ["GHSA-1", "GHSA-2"]
    assert [f.vulnerability.id for f in findings_at_or_above(result, "low")] == ["GHSA-1", "GHSA-2", "PYSEC-4"]
    assert findings_at_or_above(result, "critical") == ()


# --- the real PyPA snapshot ----------------------------------------------------------------------

needs_pypa = pytest.mark.skipif(not PYPA.is_dir(), reason=f"the PyPA OSV snapshot is not at {PYPA}")

# Read from the snapshot's YAML (pypa/advisory-database @3ccb612): id -> (fixed, severity).
EXPECTED = {
    ("jinja2", "2.10"): {"PYSEC-2019-217": ("2.10.1", "unknown"), "PYSEC-2021-66": ("2.11.3", "unknown")},
    ("pyyaml", "5.3"): {"PYSEC-2020-96": ("5.3.1", "unknown"), "PYSEC-2021-142": ("5.4", "unknown")},
    ("requests", "2.19.0"): {"PYSEC-2018-28": ("2.20.0", "unknown"), "PYSEC-2023-74": ("2.31.0", "unknown")},
    ("urllib3", "1.24.1"): {
        "PYSEC-2019-132": ("1.24.3", "unknown"),
        "PYSEC-2019-133": ("1.24.2", "unknown"),
        "PYSEC-2020-148": ("1.25.9", "unknown"),
        "PYSEC-2021-108": ("1.26.5", "unknown"),
        "PYSEC-2023-192": ("1.26.17", "high"),  # CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N, 8.1
        "PYSEC-2023-207": ("1.24.2", "medium"),
        "PYSEC-2023-212": ("1.26.18", "medium"),
    },
    ("redis", "4.5.4"): {},  # PYSEC-2023-73 (introduced "0", no fix) is withdrawn
}


@pytest.fixture(scope="module")
def pypa() -> OsvDatabase:
    if not PYPA.is_dir():
        pytest.skip(f"the PyPA OSV snapshot is not at {PYPA}")
    return OsvDatabase.load(PYPA)


@pytest.fixture
def vulnerable_venv(tmp_path) -> Path:
    """A real virtual environment (no pip) whose site-packages holds the metadata of the
    pinned, known-vulnerable versions of ``EXPECTED``."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    (site,) = [*venv.glob("lib/python*/site-packages"), *venv.glob("Lib/site-packages")]
    for (name, version), _ in EXPECTED.items():
        display = {"jinja2": "Jinja2", "pyyaml": "PyYAML"}.get(name, name)
        info = site / f"{display}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {display}\nVersion: {version}\n")
    return site


def check_expected(result: ScanResult) -> None:
    got: dict[tuple[str, str], dict[str, tuple[str, str]]] = {key: {} for key in EXPECTED}
    for finding in result.findings:
        fixed = ", ".join(finding.fixed_versions)
        got[(finding.component, finding.version)][finding.vulnerability.id] = (fixed, finding.vulnerability.severity)
    assert got == EXPECTED
    assert result.database.withdrawn == 10
    assert result.database.records == 2661
    assert result.database.skipped == ()
    aliases = {f.vulnerability.id: f.vulnerability.aliases for f in result.findings}
    assert aliases["PYSEC-2021-66"] == ("CVE-2020-28493", "GHSA-g3rq-g295-4j3m", "SNYK-PYTHON-JINJA2-1012994")
    (urllib3_high,) = [f for f in result.findings if f.vulnerability.id == "PYSEC-2023-192"]
    assert urllib3_high.vulnerability.cvss_score == 8.1
    assert [f.vulnerability.id for f in findings_at_or_above(result, "high")] == ["PYSEC-2023-192"]


@needs_pypa
def test_known_vulnerable_venv_against_the_pypa_snapshot(pypa, vulnerable_venv):
    for key in EXPECTED:  # the expectations were read from these files
        for vid in EXPECTED[key]:
            assert (PYPA / "vulns" / key[0] / f"{vid}.yaml").is_file()
    components = []
    for info in sorted(vulnerable_venv.glob("*.dist-info")):
        lines = dict(line.split(": ", 1) for line in (info / "METADATA").read_text().splitlines() if ": " in line)
        components.append(component(canonicalize_name(lines["Name"]), lines["Version"]))
    result = scan(Inventory(components=tuple(components)), pypa, now=NOW)
    check_expected(result)


@needs_pypa
def test_known_vulnerable_venv_through_collect_inventory(pypa, vulnerable_venv):
    inventory_module = pytest.importorskip("pytest_enterprise.supply_chain.inventory")
    if not hasattr(inventory_module, "collect_inventory"):
        pytest.skip("supply_chain.inventory has no collect_inventory yet")
    collected = inventory_module.collect_inventory(paths=[str(vulnerable_venv)])
    assert {c.name for c in collected.components} == {name for name, _ in EXPECTED}
    check_expected(scan(collected, pypa, now=NOW))


@needs_pypa
def test_lazy_parsing_finds_what_parsing_everything_finds():
    """The text scan that defers YAML parsing must not lose a record: for a spread of
    packages, a lazily loaded database scans exactly like one parsed in full."""
    names = sorted(path.name for path in (PYPA / "vulns").iterdir() if path.is_dir())[::4]
    inv = inventory(*((name, "0.0.1") for name in names), ("jinja2", "2.10"), ("django", "3.2"))
    lazy = scan(inv, OsvDatabase.load(PYPA), now=NOW)
    eager_db = OsvDatabase.load(PYPA, eager=True)
    eager = scan(inv, eager_db, now=NOW)
    assert lazy.findings == eager.findings
    assert len(lazy.findings) > 300
    assert [path for path, _ in eager_db.info.skipped] == ["vulns/binderhub/PYSEC-2021-371.yaml", "vulns/steam/PYSEC-2019-125.yaml"]


# --- issue 10 point 14: no link out of the database, no file content in a message -----------

NETRC = "machine example.com login alice password S3CRETVALUE\n"


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_link_out_of_the_database_is_not_read_nor_echoed(tmp_path):
    outside = tmp_path / "home" / ".netrc"
    outside.parent.mkdir()
    outside.write_text(NETRC)
    folder = tmp_path / "db"
    write(folder, "pip/PYSEC-1.yaml", record("PYSEC-1"))
    (folder / "pip" / "X.yaml").symlink_to(outside)
    (folder / "pip" / "alias.yaml").symlink_to("PYSEC-1.yaml")  # inside the folder: read
    (folder / "elsewhere").symlink_to(outside.parent, target_is_directory=True)
    database = OsvDatabase.load(folder, eager=True)
    skipped = dict(database.info.skipped)
    assert skipped["pip/X.yaml"] == "a symbolic link out of the database folder: not read"
    assert skipped["elsewhere"] == "a symbolic link to a folder: not followed"
    assert "pip/alias.yaml" not in skipped and database.info.records == 2
    assert "S3CRET" not in repr(database.info)


@pytest.mark.parametrize(
    "text",
    [NETRC, "password: [S3CRETVALUE\n", "id: X\naffected: S3CRETVALUE\n", '{"id": "S3CRETVALUE\\q"}',
     "id: PYSEC-1\nwithdrawn: S3CRETVALUE\n", "\tS3CRETVALUE: x\n", "*S3CRETVALUE\n", "!S3CRETVALUE x\n"],
)
def test_a_malformed_record_is_named_never_quoted(tmp_path, text):
    folder = tmp_path / "db"
    write(folder, "pip/ok.yaml", record("PYSEC-1"))
    write(folder, "pip/X.json" if text.startswith("{") else "pip/X.yaml", text)
    database = OsvDatabase.load(folder, eager=True)
    (name, reason), = [(n, r) for n, r in database.info.skipped]
    assert name.startswith("pip/X.") and reason
    assert "S3CRET" not in reason


def test_a_zip_member_with_dots_or_an_absolute_name_is_not_read(tmp_path):
    archive = tmp_path / "db.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("pip/PYSEC-1.yaml", record("PYSEC-1"))
        bundle.writestr("../PYSEC-2.yaml", record("PYSEC-2"))
        bundle.writestr("pip/../../PYSEC-3.yaml", record("PYSEC-3"))
        bundle.writestr("/abs/PYSEC-4.yaml", record("PYSEC-4"))
    database = OsvDatabase.load(archive, eager=True)
    skipped = dict(database.info.skipped)
    assert database.info.records == 1
    assert {name for name in skipped} == {"../PYSEC-2.yaml", "pip/../../PYSEC-3.yaml", "/abs/PYSEC-4.yaml"}
    assert set(skipped.values()) == {"an absolute or '..' member name: not read"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.zip"]
