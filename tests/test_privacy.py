"""GDPR export and erasure of one user's data, on both store engines: what is held comes out
whole, an erasure deletes exactly that user's rows and is audited in the same transaction,
under a reference that is not the identifier."""

from __future__ import annotations

import json

import pytest

from postgres import raw_sql
from pytest_enterprise.audit import verify_chain
from pytest_enterprise.cli.main import main
from pytest_enterprise.privacy import erase_user, export_user, user_reference
from pytest_enterprise.store import open_store

EVENTS = [
    ("new_ui", "b", "alice@example.com", "exposure", None, "2026-11-01T10:00:00.000000Z"),
    ("new_ui", "b", "alice@example.com", "revenue", 12.5, "2026-11-01T10:05:00.000000Z"),
    ("new_ui", "a", "bob", "exposure", None, "2026-11-01T10:01:00.000000Z"),
    ("checkout", "control", "alice@example.com", "exposure", None, "2026-11-02T09:00:00.000000Z"),
]


@pytest.fixture
def store(store_where):
    with open_store(store_where) as store:
        store.record_experiment_events(EVENTS)
        yield store


def test_the_export_holds_every_event_of_the_user_and_no_other(store):
    held = export_user(store, "alice@example.com")
    assert held["user_id"] == "alice@example.com" and held["store"] == store.display
    assert [(e["flag"], e["metric"], e["value"]) for e in held["experiment_events"]] == [
        ("new_ui", "exposure", None), ("new_ui", "revenue", 12.5), ("checkout", "exposure", None),
    ]  # fmt: skip
    assert export_user(store, "nobody")["experiment_events"] == []


def test_an_erasure_deletes_exactly_the_users_rows_and_audits_it_without_the_id(store, store_where):
    assert erase_user(store, "alice@example.com", actor="dpo", reason="request 42") == 3
    assert raw_sql(store_where, "SELECT user_id FROM experiment_events") == [("bob",)]
    (event,) = store.audit_events("privacy")
    assert (event.subject, event.action, event.actor, event.reason) == (user_reference("alice@example.com"), "erase", "dpo", "request 42")
    assert json.loads(event.after_json) == {"experiment_events": 3}
    assert "alice" not in repr(store.audit_events()) and verify_chain(store.audit_events()) == []
    assert erase_user(store, "alice@example.com") == 0  # again: nothing left, and audited as such
    assert [json.loads(e.after_json) for e in store.audit_events("privacy")] == [{"experiment_events": 3}, {"experiment_events": 0}]


def test_the_reference_is_the_sha256_of_the_id():
    assert user_reference("bob") == "sha256:81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9"


def test_the_cli_exports_to_a_file_and_erases(store, store_where, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["privacy", "export", "--user", "alice@example.com", "--output", "alice.json", "--store", store_where]) == 0
    assert len(json.loads((tmp_path / "alice.json").read_text())["experiment_events"]) == 3
    assert main(["privacy", "erase", "--user", "alice@example.com", "--dry-run", "--store", store_where]) == 0
    assert "would delete 3 experiment event(s)" in capsys.readouterr().out
    assert len(store.user_experiment_events("alice@example.com")) == 3
    assert main(["privacy", "erase", "--user", "alice@example.com", "--store", store_where]) == 0
    said = capsys.readouterr().out
    assert said.startswith("deleted 3 experiment event(s)") and user_reference("alice@example.com") in said
    assert "alice@" not in said and store.user_experiment_events("alice@example.com") == []
    assert main(["privacy", "erase", "--user", "", "--store", store_where]) == 2
