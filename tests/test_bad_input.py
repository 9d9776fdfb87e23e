"""The bad-input sweep: every malformed input a user can hand the tool, through the real command.

Each case runs ``enterprise ...`` (``main()`` in-process) or pytest (pytester) on one broken input
and asserts what docs/cli.md promises: the documented exit code (2 input, 3 permission), no
traceback, one error line naming the file (and the line and key where there are any), and nothing
on disk changed. Cases that a bug fix owned by another point of issue 10 will make pass are strict
xfails naming that point.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_enterprise.cli.main import main

CONFIG = "enterprise-config.yaml"


# --- the harness -------------------------------------------------------------------------------


@dataclass
class Case:
    """One bad input: the files to lay out, the command, and what the user must see."""

    id: str
    files: dict[str, bytes | str]  # relative path -> content; a path ending in "/" is a folder
    argv: list[str]
    code: int = 2
    names: tuple[str, ...] = ()  # fragments the one error line must contain (file, line, key)
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[Path], None] | None = None  # extra setup (a store, a zip, a key pair)
    xfail: str | None = None


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a hash of its bytes: "nothing changed".

    An empty edit-lock sidecar (``.NAME.lock``, see files.edit_lock) is left in place on purpose
    and holds no data, so it is not a change."""
    state = {}
    for path in sorted(root.rglob("*")):
        if path.name.startswith(".") and path.name.endswith(".lock") and path.stat().st_size == 0:
            continue
        relative = str(path.relative_to(root))
        state[relative] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def lay_out(root: Path, files: dict[str, bytes | str]) -> None:
    for relative, content in files.items():
        path = root / relative
        if relative.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse; none of the cases below should get here
        code = exit_.code if isinstance(exit_.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, names: tuple[str, ...]) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    (line,) = lines
    assert line.startswith("enterprise: error: "), line
    for name in names:
        assert name in line, (name, line)
    return line


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("ENTERPRISE_"):
            monkeypatch.delenv(name)
    return tmp_path


# --- inputs used by several cases --------------------------------------------------------------

FLAGS = "flags:\n  new_ui:\n    status: enabled\n"
CATALOG_CONFIG = "compliance:\n  enabled: true\n  custom_frameworks: [hipaa.yaml]\n"
CATALOG_OK = (
    "framework: hipaa\nname: HIPAA\nversion: '2013'\ncontrols:\n"
    "  - id: '164.312'\n    title: Access control\n    family: Technical\n"
)
WAIVERS_CONFIG = "compliance:\n  enabled: true\n  waivers_file: waivers.yaml\n"
ATTESTATIONS_CONFIG = "compliance:\n  enabled: true\n  attestations_file: attestations.yaml\n"
OSV_OK = (
    "id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package:\n    name: demo\n"
    "    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n"
)
# Nine levels of nine aliases: 9**9 (387 million) strings if aliases were expanded.
BILLION_LAUGHS = "telemetry:\n  stages: [&a [lol, lol, lol, lol, lol, lol, lol, lol, lol], " + ", ".join(
    f"&{name} [{', '.join([f'*{previous}'] * 9)}]" for previous, name in zip("abcdefgh", "bcdefghi")
) + "]\n"


def _keypair(root: Path) -> None:
    assert main(["security", "keygen", "--out", str(root / "ci")]) == 0


def _signed_envelope(root: Path) -> dict:
    from pytest_enterprise.supply_chain.dsse import sign_envelope
    from pytest_enterprise.supply_chain.keys import load_private_key

    statement = {"_type": "https://in-toto.io/Statement/v1", "subject": [{"name": "a", "digest": {"sha256": "é"}}],
                 "predicateType": "x", "predicate": {}}
    return sign_envelope(json.dumps(statement).encode(), "application/vnd.in-toto+json", [load_private_key(root / "ci.key")])


def _envelope(text: str | bytes) -> Callable[[Path], None]:
    def prepare(root: Path) -> None:
        _keypair(root)
        (root / "env.json").write_bytes(text if isinstance(text, bytes) else text.encode())

    return prepare


def _store(user_version: int, application_id: int | None = None) -> Callable[[Path], None]:
    def prepare(root: Path) -> None:
        from pytest_enterprise.store.sqlite import APPLICATION_ID

        conn = sqlite3.connect(root / "h.db")
        conn.execute("CREATE TABLE t (x)")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID if application_id is None else application_id}")
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.commit()
        conn.close()

    return prepare


def _corrupt_zip(root: Path) -> None:
    with zipfile.ZipFile(root / "db.zip", "w") as archive:
        archive.writestr("vulns/demo/PYSEC-1.yaml", OSV_OK)
    data = bytearray((root / "db.zip").read_bytes())
    data[len(data) // 2 :] = b"\0" * (len(data) - len(data) // 2)  # the central directory is gone
    (root / "db.zip").write_bytes(bytes(data))


CASES = [
    # --- the config file: `enterprise telemetry status` loads it first -------------------------
    Case("config-not-utf8", {CONFIG: b"telemetry:\n  process_name: caf\xe9\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "not UTF-8")),
    Case("config-binary-garbage", {CONFIG: bytes(range(256))}, ["telemetry", "status"], names=(f"{CONFIG}:",)),
    Case("config-empty-is-defaults-but-store-missing", {CONFIG: ""}, ["telemetry", "status"], code=0),
    Case("config-top-level-list", {CONFIG: "- telemetry\n- security\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:1:", "expected a mapping")),
    Case("config-top-level-scalar", {CONFIG: "42\n"}, ["telemetry", "status"], names=(f"{CONFIG}:1:", "integer 42")),
    Case("config-tabs", {CONFIG: "telemetry:\n\tenabled: true\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "invalid YAML")),
    Case("config-duplicate-key", {CONFIG: "telemetry:\n  enabled: true\n  enabled: false\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:3:", "telemetry.enabled", "duplicate key")),
    Case("config-python-tag", {CONFIG: "telemetry: !!python/object/apply:os.system ['true']\n"},
         ["telemetry", "status"], names=(f"{CONFIG}:1:", "python/object")),
    Case("config-billion-laughs", {CONFIG: BILLION_LAUGHS}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "telemetry.stages[0]", "expected a string, got a list")),
    Case("config-deeply-nested", {CONFIG: "telemetry: " + "[" * 3000 + "]" * 3000 + "\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:1:", "nested more than 64 levels deep")),
    Case("config-is-a-directory", {"conf/": b""}, ["--config", "conf", "telemetry", "status"],
         names=("conf", "is a directory")),
    Case("config-missing", {}, ["--config", "missing.yaml", "telemetry", "status"],
         names=("missing.yaml", "not found")),
    Case("config-wrong-type", {CONFIG: "telemetry:\n  retention_days: forever\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "telemetry.retention_days", "expected an integer")),
    Case("config-huge-retention", {CONFIG: "telemetry:\n  retention_days: 99999999999\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "telemetry.retention_days", "between 1 and 100000")),
    Case("config-huge-opportunities", {CONFIG: "telemetry:\n  opportunities_per_unit: " + "9" * 400 + "\n"},
         ["telemetry", "status"], names=(f"{CONFIG}:2:", "telemetry.opportunities_per_unit")),
    Case("config-lone-surrogate", {CONFIG: 'telemetry:\n  process_name: "\\ud800"\n'}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "telemetry.process_name", "lone surrogate")),
    Case("config-nul-in-path", {CONFIG: 'telemetry:\n  history_path: "a\\0b.db"\n'}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "telemetry.history_path", "NUL")),
    Case("config-unknown-profile", {CONFIG: "profiles:\n  prodution:\n    telemetry: {enabled: true}\n"},
         ["telemetry", "status"], names=(f"{CONFIG}:2:", "profiles.prodution", "did you mean 'production'")),
    Case("config-profile-not-a-mapping", {CONFIG: "profiles:\n  production: [telemetry]\n"}, ["telemetry", "status"],
         names=(f"{CONFIG}:2:", "profiles.production", "expected a mapping")),
    Case("env-bad-boolean", {}, ["telemetry", "status"], env={"ENTERPRISE_TELEMETRY_ENABLED": "maybe"},
         names=("ENTERPRISE_TELEMETRY_ENABLED", "telemetry.enabled")),
    Case("env-unknown-setting", {}, ["telemetry", "status"], env={"ENTERPRISE_TELEMETRY_ENABLD": "1"},
         names=("ENTERPRISE_TELEMETRY_ENABLD", "did you mean")),
    Case("env-not-utf8", {}, ["telemetry", "status"], env={"ENTERPRISE_TELEMETRY_PROCESS_NAME": "caf\udce9"},
         names=("ENTERPRISE_TELEMETRY_PROCESS_NAME", "lone surrogate")),
    Case("env-bad-flow-mapping", {}, ["telemetry", "status"],
         env={"ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS": "{Excellent: 6, Excellent: 7}"},
         names=("ENTERPRISE_TELEMETRY_QUALITY_THRESHOLDS", "duplicate key")),
    # --- the flag file ---------------------------------------------------------------------------
    Case("flags-not-utf8", {"flags.yaml": b"flags:\n  caf\xe9: {}\n"}, ["flags", "list", "--file", "flags.yaml"],
         names=("flags.yaml:2:", "not UTF-8")),
    Case("flags-top-level-list", {"flags.yaml": "- new_ui\n"}, ["flags", "list", "--file", "flags.yaml"],
         names=("flags.yaml:1:",)),
    Case("flags-wrong-type", {"flags.yaml": "flags:\n  new_ui:\n    rollout_percentage: half\n"},
         ["flags", "list", "--file", "flags.yaml"], names=("flags.yaml:3:", "rollout_percentage")),
    Case("flags-duplicate-flag", {"flags.yaml": FLAGS + "  new_ui:\n    status: disabled\n"},
         ["flags", "list", "--file", "flags.yaml"], names=("flags.yaml:4:", "duplicate key")),
    Case("flags-update-of-a-broken-file-changes-nothing",
         {"flags.yaml": FLAGS + "  other:\n    status: sideways\n"},
         ["flags", "update", "new_ui", "--rollout", "50", "--file", "flags.yaml", "--store", "h.db"],
         names=("flags.yaml:5:", "status")),
    Case("flags-json-malformed", {"flags.json": '{"flags": {"new_ui": }'}, ["flags", "list", "--file", "flags.json"],
         names=("flags.json:1:",)),
    Case("flags-file-is-a-directory", {"flags.yaml/": b""}, ["flags", "list", "--file", "flags.yaml"],
         names=("flags.yaml", "directory")),
    # --- custom framework catalogs -------------------------------------------------------------
    Case("catalog-not-a-mapping", {CONFIG: CATALOG_CONFIG, "hipaa.yaml": "- 164.312\n"}, ["compliance", "status"],
         names=("hipaa.yaml:1:",)),
    Case("catalog-control-without-id", {CONFIG: CATALOG_CONFIG, "hipaa.yaml": CATALOG_OK.replace("id: '164.312'", "ident: x")},
         ["compliance", "status"], names=("hipaa.yaml:5:", "controls[0]")),
    Case("catalog-duplicate-control", {CONFIG: CATALOG_CONFIG,
                                       "hipaa.yaml": CATALOG_OK + "  - id: '164.312'\n    title: Again\n    family: T\n"},
         ["compliance", "status"], names=("hipaa.yaml:", "164.312")),
    Case("catalog-not-utf8", {CONFIG: CATALOG_CONFIG, "hipaa.yaml": CATALOG_OK.encode() + b"# \xff\n"},
         ["compliance", "status"], names=("hipaa.yaml:8:", "not UTF-8")),
    Case("catalog-missing", {CONFIG: CATALOG_CONFIG}, ["compliance", "status"], names=("hipaa.yaml", "not found")),
    # --- waivers and attestations --------------------------------------------------------------
    Case("waiver-expiry-not-a-date", {CONFIG: WAIVERS_CONFIG, "waivers.yaml":
                                      "waivers:\n  - control: CC7.1\n    justification: later\n    approver: CISO\n"
                                      "    expires: someday\n"},
         ["compliance", "status"], names=("waivers.yaml:5:", "waivers[0].expires")),
    Case("waiver-file-a-list", {CONFIG: WAIVERS_CONFIG, "waivers.yaml": "- CC7.1\n"}, ["compliance", "status"],
         names=("waivers.yaml:1:",)),
    Case("attestation-unknown-status", {CONFIG: ATTESTATIONS_CONFIG, "attestations.yaml":
                                        "attestations:\n  - control: CC1.1\n    status: sorta\n    justification: x\n"
                                        "    attested_by: me\n    evidence: e.md\n    expires: 2099-01-01\n"},
         ["compliance", "status"], names=("attestations.yaml:3:", "attestations[0].status")),
    # --- the OSV database and the ignore file --------------------------------------------------
    # A malformed record is skipped and named (docs/vulnerability-scan.md), not fatal: one bad
    # advisory among thousands must not stop the scan, nor vanish silently.
    Case("osv-record-not-yaml", {"db/vulns/pytest/PYSEC-1.yaml": "id: [unclosed\nname: pytest\n"},
         ["security", "scan", "--db", "db"], code=0, names=("skipped malformed record vulns/pytest/PYSEC-1.yaml", "invalid YAML")),
    Case("osv-record-wrong-type", {"db/vulns/pytest/PYSEC-1.json": '{"id": "PYSEC-1", "affected": "everything"}'},
         ["security", "scan", "--db", "db"], code=0, names=("skipped malformed record vulns/pytest/PYSEC-1.json", "affected")),
    Case("osv-record-not-utf8", {"db/vulns/pytest/PYSEC-1.yaml": OSV_OK.replace("demo", "pytest").encode() + b"details: \xff\n"},
         ["security", "scan", "--db", "db"], code=0, names=("skipped malformed record vulns/pytest/PYSEC-1.yaml", "UTF-8")),
    Case("osv-db-is-a-plain-file", {"db.txt": "not a database\n"}, ["security", "scan", "--db", "db.txt"],
         names=("db.txt",)),
    Case("osv-db-corrupt-zip", {}, ["security", "scan", "--db", "db.zip"], prepare=_corrupt_zip, names=("db.zip",)),
    Case("osv-db-missing", {}, ["security", "scan", "--db", "nowhere"], names=("nowhere",)),
    Case("vex-ignore-file-malformed", {"db/vulns/demo/PYSEC-1.yaml": OSV_OK, "ignore.yaml": "ignore: {PYSEC-1: yes}\n"},
         ["security", "scan", "--db", "db", "--ignore-file", "ignore.yaml"], names=("ignore.yaml:1:",)),
    # --- DSSE envelopes and keys ---------------------------------------------------------------
    Case("dsse-envelope-not-json", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope("{not json"), names=("env.json", "not JSON", "line 1")),
    Case("dsse-envelope-not-utf8", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope(b'{"payload": "\xff"}'), names=("env.json", "UTF-8")),
    Case("dsse-envelope-a-list", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope("[]"), names=("env.json", "JSON object")),
    Case("dsse-envelope-bad-base64", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope('{"payloadType": "x", "payload": "%%%", "signatures": []}'), names=("env.json", "payload", "base64")),
    Case("dsse-envelope-missing-field", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope('{"payload": "", "signatures": []}'), names=("env.json", "payloadType")),
    Case("dsse-envelope-deeply-nested", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope("[" * 100_000 + "]" * 100_000), names=("env.json", "nested too deeply")),
    Case("dsse-envelope-huge-integer", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_envelope('{"payload": ' + "9" * 5000 + "}"), names=("env.json", "digits")),
    Case("dsse-envelope-missing", {}, ["security", "verify", "env.json", "--key", "ci.pub"],
         prepare=_keypair, names=("env.json", "not found")),
    Case("dsse-key-not-pem", {"bad.pub": "hello\n"}, ["security", "verify", "env.json", "--key", "bad.pub"],
         prepare=_envelope("{}"), names=("bad.pub", "PEM")),
    Case("dsse-key-is-the-private-half", {}, ["security", "verify", "env.json", "--key", "ci.key"],
         prepare=_envelope("{}"), names=("ci.key", "private key")),
    # --- the history store ---------------------------------------------------------------------
    Case("store-corrupt", {"h.db": b"SQLite format 3\x00" + b"\xde\xad" * 2000}, ["telemetry", "status", "--store", "h.db"],
         names=("h.db",)),
    Case("store-not-sqlite", {"h.db": "just some text, not a database\n" * 40}, ["telemetry", "status", "--store", "h.db"],
         names=("h.db",)),
    Case("store-newer-schema", {}, ["telemetry", "status", "--store", "h.db"], prepare=_store(99), names=("h.db", "newer")),
    Case("store-of-another-application", {}, ["telemetry", "status", "--store", "h.db"], prepare=_store(1, 42),
         names=("h.db",)),
    Case("store-is-a-directory", {"h.db/": b""}, ["telemetry", "status", "--store", "h.db"], names=("h.db", "directory")),
    Case("store-newer-schema-refuses-writes", {}, ["compliance", "update", "--control", "CC6.1", "--status", "compliant",
                                                   "--notes", "n", "--store", "h.db"],
         prepare=_store(99), names=("h.db", "newer")),
    # --- CLI paths -----------------------------------------------------------------------------
    Case("report-input-missing", {}, ["telemetry", "report", "--input", "nope.json"], names=("nope.json", "report file not found")),
    Case("report-input-a-directory", {"r.json/": b""}, ["telemetry", "report", "--input", "r.json"],
         names=("r.json", "directory")),
    Case("report-input-not-json", {"r.json": "{oops"}, ["telemetry", "report", "--input", "r.json"], names=("r.json",)),
    Case("report-input-deeply-nested", {"r.json": "[" * 100_000 + "]" * 100_000}, ["telemetry", "report", "--input", "r.json"],
         names=("r.json", "nested too deeply")),
    Case("report-input-huge-integer", {"r.json": '{"quality": ' + "9" * 5000 + "}"}, ["telemetry", "report", "--input", "r.json"],
         names=("r.json", "digits")),
    Case("report-input-wrong-shape", {"r.json": '{"quality": 7}'}, ["telemetry", "report", "--input", "r.json"],
         names=("r.json",)),
    Case("report-input-wrong-types", {"r.json": '{"quality": {"units": "many"}}'}, ["telemetry", "report", "--input", "r.json"],
         names=("r.json", "quality")),
    # (`compliance export` of an empty store writes a valid document: the output path is the only fault.)
    Case("output-is-an-existing-directory", {"out/": b""},
         ["compliance", "export", "--format", "json", "--output", "out"], names=("out",)),
    Case("output-under-a-file", {"file": "x"},
         ["compliance", "export", "--format", "json", "--output", "file/x.json"], names=("file",)),
]


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
     for case in CASES],
)
def test_bad_input(case: Case, project: Path, capsys, monkeypatch):
    lay_out(project, case.files)
    if case.prepare is not None:
        case.prepare(project)
        capsys.readouterr()
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(project)
    code, out, err = run_cli(case.argv, capsys)
    assert "Traceback" not in out + err
    assert code == case.code, (out, err)
    if case.code == 0:
        notes = [line for line in (out + err).splitlines() if all(name in line for name in case.names)]
        assert len(notes) == 1, out + err
    else:
        assert_one_line_error(err, case.names)
    assert snapshot(project) == before


@pytest.mark.parametrize("group", ["telemetry", "compliance", "flags", "security", "test"])
def test_every_groups_help_prints(group: str, capsys):
    """`compliance --help` crashed: argparse formats help with %, and a help text began "% compliant"."""
    with pytest.raises(SystemExit) as exit_:
        main([group, "--help"])
    assert exit_.value.code == 0 and "usage: enterprise" in capsys.readouterr().out


def _wrong_values():
    from pytest_enterprise.config import SCHEMA

    wrong = {bool: "maybe", int: "'12'", float: "twelve", str: "[a, b]", list: "7", dict: "[1, 2]"}
    return [pytest.param(section, key, wrong[spec.kind], id=f"{section}.{key}")
            for section, keys in SCHEMA.items() for key, spec in keys.items()]


@pytest.mark.parametrize(("section", "key", "value"), _wrong_values())
def test_a_wrong_type_for_any_key_is_one_line_naming_file_line_and_key(project: Path, capsys, section, key, value):
    (project / CONFIG).write_text(f"# settings\n{section}:\n  {key}: {value}\n")
    before = snapshot(project)
    code, out, err = run_cli(["telemetry", "status"], capsys)
    assert code == 2 and "Traceback" not in out + err
    assert_one_line_error(err, (f"{CONFIG}:3: {section}.{key}: expected ",))
    assert snapshot(project) == before


def test_the_sweep_is_wide_enough():
    """The issue asks for at least 40 cases across every kind of input."""
    kinds = {case.id.split("-")[0] for case in CASES}
    assert len(CASES) >= 40
    assert {"config", "env", "flags", "catalog", "waiver", "osv", "dsse", "store", "report"} <= kinds


def test_a_signed_statement_with_odd_digests_is_a_failure_not_a_traceback(project: Path, capsys):
    _keypair(project)
    (project / "env.json").write_text(json.dumps(_signed_envelope(project)))
    (project / "a").write_text("x")
    code, out, err = run_cli(["security", "verify", "env.json", "--key", "ci.pub", "--artifacts", "."], capsys)
    assert code == 1 and "Traceback" not in out + err
    assert "subject a: no sha256 digest to check" in out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only files")
def test_read_only_store_is_exit_3_and_unchanged(project: Path, capsys):
    from pytest_enterprise.store.sqlite import HistoryStore

    HistoryStore(project / "h.db").close()
    with HistoryStore(project / "h.db") as store:
        store.control_statuses()
    (project / "h.db").chmod(0o444)
    project.chmod(0o555)
    try:
        before = snapshot(project)
        code, out, err = run_cli(["compliance", "update", "--control", "CC6.1", "--status", "compliant",
                                  "--notes", "n", "--store", "h.db"], capsys)
        assert code == 3 and "Traceback" not in out + err
        assert_one_line_error(err, ("h.db",))
        assert snapshot(project) == before
    finally:
        project.chmod(0o755)


# --- inside pytest -----------------------------------------------------------------------------


# Three of the five values that used to crash the run at session finish; the command-line cases
# above cover all five through the same validation. Each is a pytest subprocess, so only three.
PYTEST_CONFIG_CASES = [
    pytest.param(b"telemetry:\n  retention_days: 10000000\n", (f"{CONFIG}:2:", "telemetry.retention_days"), id="huge-retention"),
    pytest.param(b'telemetry:\n  process_name: "\\ud800"\n', (f"{CONFIG}:2:", "telemetry.process_name"), id="lone-surrogate"),
    pytest.param(b'telemetry:\n  output_dir: "a\\0b"\n', (f"{CONFIG}:2:", "telemetry.output_dir"), id="nul-output-dir"),
]


@pytest.mark.parametrize(("config", "names"), PYTEST_CONFIG_CASES)
def test_bad_config_inside_pytest_exits_2_with_one_line(pytester: pytest.Pytester, config: bytes, names):
    """These values passed validation and crashed the run at session finish (a traceback, exit 1,
    no history); now the config is refused before any test runs."""
    pytester.makepyfile(test_a="def test_a():\n    pass\n")
    (pytester.path / CONFIG).write_bytes(config)
    result = pytester.runpytest_subprocess("--enterprise-report", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == 2, output
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if "pytest-enterprise:" in line]
    assert len(lines) == 1 and all(name in lines[0] for name in names), output
    assert not (pytester.path / ".enterprise").exists()


# --- odd test names ----------------------------------------------------------------------------


def stored_nodeids(root: Path) -> list[str]:
    conn = sqlite3.connect(root / ".enterprise" / "history.db")
    try:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        nodeids = [nodeid for (nodeid,) in conn.execute("SELECT nodeid FROM attempts")]
        for (packed,) in conn.execute("SELECT nodeids_zlib FROM run_tests"):  # single-pass tests
            nodeids += zlib.decompress(packed).decode("utf-8").split("\n")
        return sorted(nodeids)
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform != "linux", reason="file names are arbitrary bytes only on Linux")
def test_odd_test_names_are_stored(pytester: pytest.Pytester):
    """A file name that is not UTF-8 crashed the history save; long, unicode and bracketed names
    must be stored exactly. One pytest run for all of them (a subprocess costs seconds)."""
    long_name = "test_" + "x" * 1000
    pytester.makepyfile(**{"test_ünïcödé": (
        "import pytest\n"
        f"def {long_name}():\n    pass\n"
        "def test_日本語():\n    pass\n"
        "@pytest.mark.parametrize('v', [pytest.param(1, id='a::b[c]'), pytest.param(2, id='[]::')])\n"
        "def test_params(v):\n    pass\n"
    )})
    with open(os.fsencode(pytester.path) + b"/test_caf\xe9.py", "wb") as handle:
        handle.write(b"def test_ok():\n    pass\n\ndef test_bad():\n    assert 0\n")
    # Not runpytest_subprocess: pytest prints the node id's raw byte, which pytester cannot decode.
    result = subprocess.run([sys.executable, "-m", "pytest", "--enterprise-report", "--enterprise-json", "r.json",
                             "-p", "no:cacheprovider"], cwd=pytester.path, capture_output=True, timeout=300)
    output = (result.stdout + result.stderr).decode("utf-8", "backslashreplace")
    assert result.returncode == 1, output  # test_bad failed: a test failure, nothing else
    assert "Traceback" not in output and "history not saved" not in output
    unicode_ids = [
        f"test_ünïcödé.py::{long_name}",
        "test_ünïcödé.py::test_日本語",
        "test_ünïcödé.py::test_params[a::b[c]]",
        "test_ünïcödé.py::test_params[[]::]",
    ]
    # The store keeps the byte 0xe9 as a backslash escape; the JSON report keeps the exact node id.
    assert stored_nodeids(pytester.path) == sorted(
        ["test_caf\\xe9.py::test_bad", "test_caf\\xe9.py::test_ok", *unicode_ids]
    )
    report = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert sorted(t["nodeid"] for t in report["tests"]) == sorted(
        ["test_caf\udce9.py::test_bad", "test_caf\udce9.py::test_ok", *unicode_ids]
    )
    store = pytester.path / ".enterprise" / "history.db"
    assert main(["telemetry", "report", "--store", str(store), "--format", "json",
                 "--output", str(pytester.path / "again.json")]) == 0
    from pytest_enterprise.store.sqlite import HistoryStore

    with HistoryStore(store) as history:  # either spelling of the node id finds its history
        assert len(history.attempt_history("test_caf\udce9.py::test_bad")) == 1
        assert len(history.attempt_history("test_caf\\xe9.py::test_bad")) == 1
