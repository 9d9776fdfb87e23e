"""What only the PostgreSQL store has to prove, on a real server: many writers at once lose
nothing and never fork a hash chain; a writer killed mid-transaction leaves no partial run; a
lost connection is regained, and a server that stays away is one line after the busy
timeout; reads of an empty database make nothing; rights the role lacks are exit 3.

(The behaviour both engines share is tested once for both, by the parametrized store tests.)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from urllib.parse import urlsplit

import pytest

from postgres import ADMIN_URL, fresh_database, raw_sql
from pytest_enterprise.audit import make_event, verify_chain
from pytest_enterprise.errors import EXIT_PERMISSION, PermissionDeniedError, StoreError
from pytest_enterprise.model import Attempt, Phase, RunInfo, RunRecord, TestResult
from pytest_enterprise.store import SCHEMA_VERSION, TelemetryEvent, open_store
from pytest_enterprise.store import postgres_schema
from pytest_enterprise.store.location import parse_location
from pytest_enterprise.store.postgres_connection import connect, ensure_schema
from pytest_enterprise.store.sqlite import ControlStatusChange


@pytest.fixture
def url():
    yield from fresh_database()


def record(run_id: str, tests: int = 20, failing: int = 3, started: str = "2026-01-01T00:00:00Z") -> RunRecord:
    """A run of ``tests`` tests whose first ``failing`` failed once and passed on rerun."""
    ok = [Phase("setup", "passed", 0.001), Phase("call", "passed", 0.01), Phase("teardown", "passed", 0.001)]
    results = [
        TestResult(f"t.py::test_{n}", [Attempt(1, "failed", [Phase("call", "failed", 0.02)]), Attempt(2, "passed", ok)])
        if n < failing else TestResult(f"t.py::test_{n}", [Attempt(1, "passed", ok)])
        for n in range(tests)
    ]  # fmt: skip
    return RunRecord(run=RunInfo(id=run_id, started_at=started), tests=results)


def tables(url: str) -> set[str]:
    return {name for (name,) in raw_sql(url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}


def test_the_postgresql_schema_is_at_the_sqlite_schema_version():
    assert postgres_schema.SCHEMA_VERSION == SCHEMA_VERSION


def test_reads_of_an_empty_database_make_nothing(url):
    with open_store(url) as store:
        assert not store.exists()
        assert store.recent_runs() == [] and store.latest_run() is None and store.events("p") == []
        assert store.audit_events() == [] and store.tests_in_runs(["a"]) == {} and store.purge(30) == 0
    assert tables(url) == set()
    with open_store(url) as store:
        store.record_events("p", [TelemetryEvent("2026-01-01T00:00:00Z", "unit", True)])
        assert store.exists()


def test_a_nul_in_stored_text_is_kept_as_the_replacement_character(url):
    run = record("nul", tests=2, failing=1)
    run.tests[0].nodeid = "t.py::test[\x00]"
    with open_store(url) as store:
        store.save_run(run, None)
        store.record_events("p", [TelemetryEvent("2026-01-01T00:00:00Z", "defect", message="a\x00b")])
        assert store.events("p")[0].message == "a\ufffdb"
        assert [row.outcome for row in store.attempt_history("t.py::test[\ufffd]")] == ["failed", "passed"]
        assert store.load_run("nul").tests[0].nodeid == "t.py::test[\x00]"  # the report keeps it exactly


def test_a_role_that_may_only_read_reads_and_a_write_is_exit_3(url):
    import psycopg

    with open_store(url) as store:
        store.save_run(record("r1"), None)
    role = f"reader_{os.getpid()}_{time.monotonic_ns() % 10**6}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-secret'")
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        owner.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    parts = urlsplit(url)
    reader = f"postgresql://{role}:reader-secret@{parts.hostname}:{parts.port}{parts.path}"
    with open_store(reader) as store:
        assert [run.id for run in store.recent_runs()] == ["r1"]
        with pytest.raises(PermissionDeniedError) as raised:
            store.save_run(record("r2"), None)
    message = str(raised.value)
    assert raised.value.exit_code == EXIT_PERMISSION and "\n" not in message
    assert "reader-secret" not in message and f"{role}:***@" in message and "saving run r2" in message


# --------------------------------------------------------------------------- migrations


def test_a_new_migration_step_runs_once_even_with_runners_starting_together(url):
    location = parse_location(url, None)  # type: ignore[arg-type]
    with connect(location) as connection:
        assert ensure_schema(connection, location) == SCHEMA_VERSION
    step = (("ALTER TABLE runs ADD COLUMN added_later TEXT",),)
    results, errors = [], []

    def runner():
        try:
            with connect(location) as connection:
                results.append(ensure_schema(connection, location, migrations=step))
        except Exception as error:  # collected: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [SCHEMA_VERSION + 1] * 4
    assert raw_sql(url, "SELECT value FROM store_meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION + 1),)]
    assert raw_sql(url, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'added_later'") == [(1,)]
    # The code without the step now meets a newer store: refused, untouched.
    with connect(location) as connection, pytest.raises(StoreError, match="newer than this pytest-enterprise"):
        ensure_schema(connection, location)


# --------------------------------------------------------------------------- many writers

FLEET_WRITER = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, {tests!r})
    from test_store_postgres import record
    from pytest_enterprise.audit import make_event
    from pytest_enterprise.store import open_store
    from pytest_enterprise.store.sqlite import ControlStatusChange

    url, writer, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.001)
    with open_store(url) as store:
        for n in range(5):
            store.save_run(record(f"w{{writer}}-{{n}}", started=f"2026-01-01T00:{{n:02d}}:{{writer:02d}}Z"), None)
            store.record_audit_event(make_event("flag", f"f{{writer}}", "update", before=None, after={{"n": n}}, actor="ci"))
            store.record_control_status(ControlStatusChange(
                "soc2", f"CC{{writer}}.{{n}}", "compliant", None, "", None, None, None, "ci", "2026-01-01T00:00:00.000000Z"))
    """
).format(tests=os.path.dirname(__file__))


def test_sixteen_runners_at_once_lose_nothing_and_keep_both_chains_whole(url, tmp_path):
    go = tmp_path / "go"
    writers = [
        subprocess.Popen([sys.executable, "-c", FLEET_WRITER, url, str(w), str(go)], stderr=subprocess.PIPE, text=True)
        for w in range(16)
    ]
    time.sleep(0.5)
    go.touch()
    for proc in writers:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    with open_store(url) as store:
        assert {run.id for run in store.recent_runs(limit=1000)} == {f"w{w}-{n}" for w in range(16) for n in range(5)}
        events, statuses = store.audit_events(), store.control_status_log()
        assert len(events) == len(statuses) == 80
        # Without the chain lock two writers link to the same newest row, and this fails.
        assert verify_chain(events) == [] and verify_chain(statuses, "change") == []
    assert raw_sql(url, "SELECT count(*) FROM attempts") == [(80 * 6,)]
    assert raw_sql(url, "SELECT sum(tests) FROM run_tests") == [(80 * 17,)]


def test_runners_saving_one_run_id_at_once_leave_one_whole_copy(url):
    with open_store(url) as store:
        store.save_run(record("warm-up"), None)  # the schema exists: the race is the save
    errors = []

    def save(n):
        try:
            with open_store(url) as store:
                store.save_run(record("same", tests=200, failing=n), None)
        except Exception as error:  # collected: a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (failing,) = raw_sql(url, "SELECT count(*) / 2 FROM attempts WHERE run_id = 'same'")[0]
    assert raw_sql(url, "SELECT tests FROM run_tests WHERE run_id = 'same'") == [(200 - failing,)]
    with open_store(url) as store:
        assert sum(len(t.attempts) for t in store.load_run("same").tests) == 200 + failing


KILLED_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_store_postgres import record
    from pytest_enterprise.store import open_store

    with open_store(sys.argv[1]) as store:
        for n in range(1000):
            store.save_run(record(f"k{{n}}", tests=4000, failing=2000), None)
    """
).format(tests=os.path.dirname(__file__))


def test_a_runner_killed_in_the_middle_of_its_write_leaves_no_partial_run(url):
    with open_store(url) as store:
        store.save_run(record("before"), None)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, url], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        in_transaction = []
        while not in_transaction and time.monotonic() < deadline:  # its second run, mid-write
            in_transaction = raw_sql(
                url,
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND xact_start IS NOT NULL AND application_name LIKE 'pytest-enterprise%'"
                " AND EXISTS (SELECT 1 FROM runs WHERE id = 'k0')",
            )
        assert in_transaction, "the writer never got to a second run"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=30)
    deadline = time.monotonic() + 30  # the server notices the closed socket and rolls back
    while raw_sql(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = ?", in_transaction[0]) != [(0,)]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runs = [run_id for (run_id,) in raw_sql(url, "SELECT id FROM runs WHERE id LIKE 'k%'")]
    assert runs, "not one run of the writer was stored"
    for run_id in runs:  # every stored run is whole: 2000 reruns (4000 rows) and 2000 packed
        assert raw_sql(url, "SELECT count(*) FROM attempts WHERE run_id = ?", (run_id,)) == [(4000,)]
        assert raw_sql(url, "SELECT tests FROM run_tests WHERE run_id = ?", (run_id,)) == [(2000,)]
    with open_store(url) as store:  # and the store takes the next run as usual
        store.save_run(record("after"), None)
        assert {"before", "after"} <= {run.id for run in store.recent_runs(limit=100)}


# --------------------------------------------------------------------------- a lost server


class Proxy:
    """A TCP relay to the test server, standing in for the network path to it: stopping it
    drops every connection and refuses new ones, as a restarting server does, without
    disturbing the shared server itself."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._sockets.clear()
        self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def proxied(url):
    """The test database through a relay, with a password in the URL (the server trusts the
    user, so any password works, and none may appear in a message)."""
    parts = urlsplit(url)
    proxy = Proxy((parts.hostname, parts.port))
    proxy.start()
    try:
        yield proxy, f"postgresql://postgres:pw-s3cret@127.0.0.1:{proxy.port}{parts.path}"
    finally:
        proxy.stop()


def test_a_dropped_connection_is_regained_and_the_write_done(proxied):
    proxy, url = proxied
    with open_store(url) as store:
        store.save_run(record("r1"), None)
        proxy.stop()  # the server restarts: the store's connection is gone
        proxy.start()
        store.save_run(record("r2"), None)
        assert {run.id for run in store.recent_runs()} == {"r1", "r2"}


def test_a_server_that_stays_away_is_one_line_after_the_busy_timeout_and_nothing_half_done(proxied):
    proxy, url = proxied
    with open_store(url, busy_timeout=1.0) as store:
        store.save_run(record("r1"), None)
        proxy.stop()
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            store.save_run(record("r2"), None)
        waited = time.monotonic() - started
        message = str(raised.value)
        assert "\n" not in message and "pw-s3cret" not in message and "postgres:***@" in message
        assert "saving run r2" in message and "gave up after" in message
        assert 0.5 < waited < 5
        proxy.start()  # back again: the same store object goes on
        store.save_run(record("r3"), None)
        assert {run.id for run in store.recent_runs()} == {"r1", "r3"}


def test_a_read_after_the_connection_dropped_is_asked_again_on_a_new_one(proxied):
    proxy, url = proxied
    with open_store(url) as store:
        store.save_run(record("r1"), None)
        proxy.stop()
        proxy.start()
        assert [run.id for run in store.recent_runs()] == ["r1"]
        proxy.stop()  # and while it stays away, one line
        with pytest.raises(StoreError) as raised:
            store.recent_runs()
        assert "\n" not in str(raised.value) and "pw-s3cret" not in str(raised.value)
