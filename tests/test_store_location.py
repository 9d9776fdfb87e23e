"""Where a history store lives, and how it is named in output: never with its password."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_enterprise.errors import ConfigError
from pytest_enterprise.store.location import POSTGRESQL, SQLITE, display_url, parse_location

BASE = Path("/project")


def test_a_path_is_a_sqlite_file_relative_to_the_config():
    assert parse_location(".enterprise/history.db", BASE).path == BASE / ".enterprise/history.db"
    assert parse_location("/var/h.db", BASE).path == Path("/var/h.db")
    location = parse_location("sqlite:///var/h.db", BASE)
    assert (location.engine, location.path, location.display) == (SQLITE, Path("/var/h.db"), "/var/h.db")


def test_a_postgresql_url_keeps_its_password_for_the_driver_only():
    location = parse_location("postgresql://ci:s3cret@db.example:5432/history?sslmode=require", BASE)
    assert location.engine == POSTGRESQL
    assert location.url == "postgresql://ci:s3cret@db.example:5432/history?sslmode=require"
    assert location.display == "postgresql://ci:***@db.example:5432/history?sslmode=require"
    assert "s3cret" not in repr(location)
    assert parse_location("postgres://db/h", BASE).display == "postgres://db/h"


def test_secret_query_parameters_are_hidden_too():
    shown = display_url("postgresql://db/h?user=ci&password=s3cret&sslpassword=k3y&sslmode=verify-full")
    assert shown == "postgresql://db/h?user=ci&password=***&sslpassword=***&sslmode=verify-full"


@pytest.mark.parametrize("value", ["mysql://u:s3cret@db/h", "http://u:s3cret@host/x", "sqlite://relative/h.db"])
def test_other_schemes_are_one_line_without_the_password(value):
    with pytest.raises(ConfigError) as raised:
        parse_location(value, BASE)
    message = str(raised.value)
    assert "s3cret" not in message and "\n" not in message and "history URL" in message


@given(
    user=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    password=st.text(st.characters(blacklist_categories=("Cs",)), min_size=4, max_size=20),
    host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
)
def test_no_password_survives_in_the_display(user, password, host):
    url = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}/db?password={quote(password, safe='')}"
    location = parse_location(url, BASE)
    assert location.url == url
    assert location.display == f"postgresql://{quote(user, safe='')}:***@{host}/db?password=***"


def test_a_malformed_sqlite_url_is_a_config_error():
    with pytest.raises(ConfigError, match=r"history URL sqlite://\*\*\* is not a valid URL"):
        parse_location("sqlite://[x", Path("/"))
