"""Where the history is kept: ``--enterprise-history`` / ``--store`` > ``history.url`` (and
``ENTERPRISE_HISTORY_URL``) > ``telemetry.history_path``, resolved the same way by the plugin,
the CLI and the Python API; a bad location is one line, exit 2; a password is never shown."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from pytest_enterprise.audit import StoreAuditLog
from pytest_enterprise.cli.main import main
from pytest_enterprise.config import EnterpriseConfig
from pytest_enterprise.errors import ConfigError
from pytest_enterprise.history_location import history_location, parse_where
from pytest_enterprise.store.location import POSTGRESQL, SQLITE, parse_location


PASSWORD = "s3cret"
# Port 1 on loopback refuses at once: a PostgreSQL store that cannot be reached.
UNREACHABLE = f"postgresql://u:{PASSWORD}@127.0.0.1:1/db"
BAD_SCHEME = f"mysql://u:{PASSWORD}@db.example/history"
TRIVIAL = "def test_ok():\n    pass\n"


@pytest.fixture(autouse=True)
def _no_history_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENTERPRISE_HISTORY_URL", "ENTERPRISE_CONFIG", "ENTERPRISE_ENV"):
        monkeypatch.delenv(name, raising=False)


def settings(url: str | None = None, env: dict[str, str] | None = None, source: Path | None = None) -> EnterpriseConfig:
    data = {"history": {"url": url}} if url is not None else {}
    config = EnterpriseConfig.from_mapping(data, env=env or {})
    config.source = source
    return config


# --- the resolver ----------------------------------------------------------------------------


def test_the_default_is_telemetry_history_path_from_base(tmp_path: Path):
    location = history_location(settings(), tmp_path)
    assert location.engine == SQLITE and location.path == tmp_path / ".enterprise" / "history.db"
    assert location.display == str(tmp_path / ".enterprise" / "history.db")


def test_config_paths_are_taken_from_the_config_files_folder(tmp_path: Path):
    source = tmp_path / "ci" / "enterprise-config.yaml"
    assert history_location(settings(source=source), tmp_path).path == tmp_path / "ci" / ".enterprise" / "history.db"
    assert history_location(settings("shared.db", source=source), tmp_path).path == tmp_path / "ci" / "shared.db"


def test_history_url_beats_history_path():
    location = history_location(settings(UNREACHABLE), Path("/project"))
    assert location.engine == POSTGRESQL and location.url == UNREACHABLE
    assert PASSWORD not in location.display and location.display == "postgresql://u:***@127.0.0.1:1/db"


def test_the_environment_variable_beats_the_files_url(tmp_path: Path):
    config = tmp_path / "enterprise-config.yaml"
    config.write_text("history:\n  url: postgresql://file@db/history\n")
    loaded = EnterpriseConfig.from_file(config, env={"ENTERPRISE_HISTORY_URL": "postgresql://env@db/history"})
    assert history_location(loaded, tmp_path).url == "postgresql://env@db/history"
    # An empty variable means null: back to the SQLite default.
    cleared = EnterpriseConfig.from_file(config, env={"ENTERPRISE_HISTORY_URL": ""})
    assert history_location(cleared, tmp_path).path == tmp_path / ".enterprise" / "history.db"


def test_the_command_line_beats_everything(tmp_path: Path):
    configured = settings(env={"ENTERPRISE_HISTORY_URL": UNREACHABLE})
    assert history_location(configured, tmp_path, "mine.db", invocation_dir=tmp_path / "cwd").path == tmp_path / "cwd" / "mine.db"
    assert history_location(configured, tmp_path, "postgres://o@h/d").url == "postgres://o@h/d"
    # Without an invocation directory a relative path stays relative (to the current one).
    assert history_location(configured, tmp_path, "mine.db").display == "mine.db"
    # merge's bare --store: the configured store.
    assert history_location(configured, tmp_path, "").url == UNREACHABLE
    given = parse_location("/abs/given.db", tmp_path)
    assert history_location(configured, tmp_path, given) is given


def test_sqlite_urls_are_files(tmp_path: Path):
    assert history_location(settings(), tmp_path, "sqlite:///var/h.db").path == Path("/var/h.db")


@pytest.mark.parametrize("value", [BAD_SCHEME, f"https://u:{PASSWORD}@host/x", "sqlite://[x"])
def test_a_bad_override_is_one_line_naming_the_option_without_the_password(tmp_path: Path, value: str):
    with pytest.raises(ConfigError) as raised:
        history_location(settings(), tmp_path, value, option="--store")
    message = str(raised.value)
    assert message.startswith("--store: history URL ") and "\n" not in message
    assert PASSWORD not in message


def test_parse_where_turns_a_malformed_url_into_a_config_error():
    with pytest.raises(ConfigError, match="is not a valid URL"):
        parse_where("sqlite://[x", Path())


# --- the config ------------------------------------------------------------------------------


def test_the_config_masks_the_urls_password():
    loaded = settings(env={"ENTERPRISE_HISTORY_URL": f"postgresql://u:{PASSWORD}@db/h?sslpassword=k3y"})
    assert PASSWORD not in repr(loaded) and "k3y" not in repr(loaded)
    assert PASSWORD not in repr(loaded.history)
    assert PASSWORD not in json.dumps(loaded.to_dict())
    assert loaded.to_dict()["history"]["url"].startswith("postgresql://***@db/h")
    assert PASSWORD in loaded.to_dict(mask_secrets=False)["history"]["url"]
    assert loaded.history.url == f"postgresql://u:{PASSWORD}@db/h?sslpassword=k3y"


def test_a_bad_scheme_in_the_file_names_file_line_and_key(tmp_path: Path):
    config = tmp_path / "enterprise-config.yaml"
    config.write_text(f"telemetry:\n  enabled: true\nhistory:\n  url: {BAD_SCHEME}\n")
    with pytest.raises(ConfigError) as raised:
        EnterpriseConfig.from_file(config, env={})
    message = str(raised.value)
    assert message.startswith(f"{config}:4: history.url: history URL mysql://u:***@db.example/history: scheme 'mysql'")
    assert PASSWORD not in message and "\n" not in message


def test_a_bad_scheme_in_the_environment_names_the_variable():
    with pytest.raises(ConfigError) as raised:
        settings(env={"ENTERPRISE_HISTORY_URL": BAD_SCHEME})
    assert str(raised.value).startswith("ENTERPRISE_HISTORY_URL: history.url: history URL mysql://u:***@")
    assert PASSWORD not in str(raised.value)


# --- pytest ----------------------------------------------------------------------------------


def _output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def _assert_one_line_exit_2(result: pytest.RunResult, starts: str) -> None:
    assert result.ret == 2
    output = _output(result)
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert PASSWORD not in output
    (line,) = [line for line in output.splitlines() if "pytest-enterprise:" in line]
    assert line.startswith(f"Exit: pytest-enterprise: {starts}"), line


def test_pytest_bad_scheme_in_the_config_file(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    pytester.makefile(".yaml", **{"enterprise-config": f"telemetry:\n  enabled: true\nhistory:\n  url: {BAD_SCHEME}\n"})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    _assert_one_line_exit_2(result, f"{pytester.path / 'enterprise-config.yaml'}:4: history.url: ")


def test_pytest_bad_scheme_in_the_environment(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    pytester.makepyfile(TRIVIAL)
    monkeypatch.setenv("ENTERPRISE_HISTORY_URL", BAD_SCHEME)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--enterprise-report")
    _assert_one_line_exit_2(result, "ENTERPRISE_HISTORY_URL: history.url: ")


def test_pytest_bad_scheme_on_the_command_line(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--enterprise-report", f"--enterprise-history={BAD_SCHEME}")
    _assert_one_line_exit_2(result, "--enterprise-history: history URL mysql://u:***@db.example/history: ")
    assert not (pytester.path / ".enterprise").exists()


def test_pytest_sqlite_path_on_the_command_line_is_used(pytester: pytest.Pytester, run_enterprise, monkeypatch, capsys):
    pytester.makepyfile(TRIVIAL)
    # The option beats both history.url and telemetry.history_path.
    monkeypatch.setenv("ENTERPRISE_HISTORY_URL", UNREACHABLE)
    pytester.makefile(".yaml", **{"enterprise-config": "telemetry:\n  history_path: configured.db\n"})
    run = run_enterprise("--enterprise-history=runs/mine.db")
    assert run.result.ret == 0, _output(run.result)
    store = pytester.path / "runs" / "mine.db"
    assert store.is_file() and not (pytester.path / "configured.db").exists()
    assert run.report["history"] == {"enabled": True, "path": str(store), "saved": True, "error": None}
    code, out, _ = _cli(capsys, "history", "list", "--format", "json", "--store", str(store))
    assert code == 0 and [run["id"] for run in json.loads(out)] == [run.report["run"]["id"]]


def test_pytest_unreachable_postgresql_still_writes_the_report(pytester: pytest.Pytester, run_enterprise):
    """The store's failure is a problem of the run (exit 2), never a traceback; the report is
    written and says the history was not saved; the password is nowhere."""
    pytester.makepyfile(TRIVIAL)
    run = run_enterprise(f"--enterprise-history={UNREACHABLE}")
    output = _output(run.result)
    assert run.result.ret == 2, output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    history = run.report["history"]
    assert history["enabled"] is True and history["saved"] is False
    assert history["path"] == "postgresql://u:***@127.0.0.1:1/db"
    assert history["error"] and "postgresql://u:***@127.0.0.1:1/db" in history["error"]
    assert "history not saved" in output
    assert PASSWORD not in output
    assert PASSWORD not in run.report_path.read_text()  # run.args are redacted too


@pytest.fixture
def password_url() -> Iterator[str]:
    """A fresh database on the test PostgreSQL server (tests/postgres.py; skips without one),
    owned by a role that logs in with ``PASSWORD``: the URL holds a password to leak."""
    import psycopg
    from postgres import ADMIN_URL, fresh_database

    role = f"enterprise_wire_{uuid.uuid4().hex[:8]}"
    for url in fresh_database():  # skips without a server; drops the database afterwards
        parts = urlsplit(url)
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}'")
            admin.execute(f'ALTER DATABASE "{parts.path[1:]}" OWNER TO "{role}"')
        yield urlunsplit(parts._replace(netloc=f"{role}:{PASSWORD}@{parts.hostname}:{parts.port}"))
    # The loop has ended: fresh_database dropped the database, and with it all the role owned.
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_a_shared_postgresql_store_end_to_end(pytester: pytest.Pytester, run_enterprise, password_url, capsys):
    """A run saves to the database; the CLI reads it back through --store; purge audits the
    store by its display; the password is in no output, report or audit row."""
    shown = password_url.replace(f":{PASSWORD}@", ":***@")
    pytester.makepyfile(TRIVIAL)
    run = run_enterprise(f"--enterprise-history={password_url}")
    assert run.result.ret == 0, _output(run.result)
    assert run.report["history"] == {"enabled": True, "path": shown, "saved": True, "error": None}
    code, out, _ = _cli(capsys, "history", "list", "--format", "json", "--store", password_url)
    assert code == 0 and [listed["id"] for listed in json.loads(out)] == [run.report["run"]["id"]]
    code, out, err = _cli(capsys, "history", "purge", "--older-than", "0", "--store", password_url)
    assert code == 0 and out.endswith(f"from {shown}\n")
    (purge,) = StoreAuditLog(password_url).events("history")
    assert (purge.subject, purge.action) == (shown, "purge")
    everything = _output(run.result) + run.report_path.read_text() + out + err + repr(purge)
    assert PASSWORD not in everything


def _imports_after(pytester: pytest.Pytester, *args: str) -> set[str]:
    """Which of psycopg and our store package a pytest run in a fresh interpreter imported."""
    code = (
        "import sys, pytest\n"
        f"pytest.main({list(args)!r} + ['-q', '-p', 'no:cacheprovider'])\n"
        "print('IMPORTED', sorted(m for m in sys.modules if m.split('.')[0] == 'psycopg' or m.startswith('pytest_enterprise.store')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=pytester.path, capture_output=True, text=True, timeout=120)
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED")]
    return set(ast.literal_eval(line.split(" ", 1)[1]))


def test_nothing_new_is_imported_when_the_plugin_is_off(pytester: pytest.Pytester):
    pytester.makepyfile(TRIVIAL)
    assert _imports_after(pytester, "-p", "no:enterprise", f"--enterprise-history={UNREACHABLE}") == set()
    # Installed but not enabled: the option alone enables nothing and connects to nothing.
    assert _imports_after(pytester, f"--enterprise-history={UNREACHABLE}") == set()
    pytester.makefile(".yaml", **{"enterprise-config": f"history:\n  url: {UNREACHABLE}\n"})
    # A config file that leaves the plugin off: the URL is checked, psycopg is not imported.
    assert not {name for name in _imports_after(pytester) if name.startswith("psycopg")}


# --- the CLI ---------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()  # only this command's output
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "list"],
        ["telemetry", "status"],
        ["telemetry", "spc"],
        ["compliance", "log"],
        ["flags", "log"],
    ],
)
def test_cli_bad_store_scheme_is_one_line_exit_2(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, *argv, "--store", BAD_SCHEME)
    assert code == 2
    assert out == "" and PASSWORD not in err and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("enterprise: error: --store: history URL mysql://u:***@db.example/history: scheme 'mysql'")


def test_cli_bad_scheme_in_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENTERPRISE_HISTORY_URL", BAD_SCHEME)
    code, out, err = _cli(capsys, "history", "list")
    assert code == 2 and PASSWORD not in out + err
    (line,) = err.splitlines()
    assert line.startswith("enterprise: error: ENTERPRISE_HISTORY_URL: history.url: ")


def test_cli_store_precedence(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "enterprise-config.yaml").write_text("telemetry:\n  history_path: configured.db\n")
    assert _cli(capsys, "history", "list")[1] == f"no runs stored in {tmp_path / 'configured.db'}\n"
    monkeypatch.setenv("ENTERPRISE_HISTORY_URL", "from-env.db")
    assert _cli(capsys, "history", "list")[1] == f"no runs stored in {tmp_path / 'from-env.db'}\n"
    assert _cli(capsys, "history", "list", "--store", "option.db")[1] == "no runs stored in option.db\n"
    assert not list(tmp_path.glob("*.db"))  # reading creates nothing


def test_cli_records_through_a_sqlite_url(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "h.db"
    code, out, _ = _cli(capsys, "telemetry", "record", "--unit", "--passed", "--store", f"sqlite://{store}")
    assert code == 0 and out == f"recorded unit for process 'quality_gates' in {store}\n"
    assert store.is_file()


def test_cli_unreachable_postgresql_is_one_line_without_the_password(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = _cli(capsys, "history", "list", "--store", UNREACHABLE)
    assert code == 2, err
    assert PASSWORD not in out + err and "Traceback" not in err
    (line,) = err.splitlines()
    assert line.startswith("enterprise: error: ") and "postgresql://u:***@127.0.0.1:1/db" in line


@pytest.mark.parametrize(("option", "value"), [("--from", BAD_SCHEME), ("--to", BAD_SCHEME), ("--from", "sqlite://[x")])
def test_cli_copy_names_the_option_of_a_bad_store(tmp_path, monkeypatch, capsys, option, value):
    monkeypatch.chdir(tmp_path)
    where = {"--from": "a.db", "--to": "b.db", option: value}
    code, out, err = _cli(capsys, "history", "copy", "--from", where["--from"], "--to", where["--to"])
    assert code == 2 and out == "" and PASSWORD not in err
    (line,) = err.splitlines()
    assert line.startswith(f"enterprise: error: {option}: history URL ")


def test_the_cli_writers_and_readers_work_on_a_shared_postgresql_store(password_url, tmp_path, monkeypatch, capsys):
    """The commands that write to the store besides a run (telemetry events, manual
    compliance statuses, flag changes) and those that read them back, through
    ENTERPRISE_HISTORY_URL; the password in no output."""
    from pytest_enterprise.audit import verify_chain
    from pytest_enterprise.store import open_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ENTERPRISE_HISTORY_URL", password_url)
    said = ""
    for argv in (
        ["telemetry", "record", "--process", "svc", "--unit", "--passed"],
        ["telemetry", "record", "--process", "svc", "--defect", "timeout", "--severity", "high"],
        ["telemetry", "status", "--process", "svc"],
        ["compliance", "update", "--control", "CC6.1", "--status", "compliant", "--notes", "MFA on"],
        ["compliance", "log"],
        ["flags", "create", "new_ui", "--rollout", "10", "--actor", "alice", "--file", "flags.yaml"],
        ["flags", "update", "new_ui", "--rollout", "50", "--actor", "alice", "--file", "flags.yaml"],
        ["flags", "log", "--file", "flags.yaml"],
    ):
        code, out, err = _cli(capsys, *argv)
        assert code == 0, (argv, out, err)
        said += out + err
    assert PASSWORD not in said and "CC6.1" in said and "new_ui" in said
    with open_store(password_url) as store:
        assert [event.kind for event in store.events("svc")] == ["unit", "defect"]
        assert [(c.control_id, c.status) for c in store.control_statuses()] == [("CC6.1", "compliant")]
        flag_events = store.audit_events("flag", "new_ui")
        assert [event.action for event in flag_events] == ["create", "update"]
        assert verify_chain(store.audit_events()) == [] and verify_chain(store.control_status_log(), "change") == []


def test_a_postgresql_url_without_psycopg_installed_is_one_line_saying_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed: import fails
    code, out, err = _cli(capsys, "history", "list", "--store", UNREACHABLE)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "pip install 'pytest-enterprise[postgres]'" in err and PASSWORD not in err
