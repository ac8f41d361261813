"""Shared fixtures: a fresh migrated database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from storage.db import make_engine

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_PG_TEMPLATE: dict[str, str] = {}


def _pg_admin_url() -> str:
    return os.environ.get("RELANCE_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("RELANCE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (RELANCE_REQUIRE_POSTGRES=1) but unavailable: {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason} (set RELANCE_TEST_POSTGRES_URL to run them)")


def _pg_template() -> str:
    """Create, once per run, a migrated template database; tests clone it (fast)."""
    if "url" in _PG_TEMPLATE:
        return _PG_TEMPLATE["url"]
    admin_url = _pg_admin_url()
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any connection error means "not available here"
        _pg_unavailable(
            f"cannot connect to {make_url(admin_url).render_as_string(hide_password=True)}: {type(exc).__name__}"
        )
    name = f"relance_tmpl_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    eng = make_engine(url)
    eng.dispose()
    admin.dispose()
    _PG_TEMPLATE["url"] = url
    _PG_TEMPLATE["name"] = name
    return url


def new_postgres_database() -> tuple[str, str]:
    """Clone the template into a new database; returns (url, name)."""
    _pg_template()
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"relance_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_PG_TEMPLATE["name"]}"'))
    admin.dispose()
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False), name


def drop_postgres_database(name: str) -> None:
    """Drop a test database, ending any connection left to it."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop the template database."""
    if "name" in _PG_TEMPLATE:
        with contextlib.suppress(Exception):  # best effort at the end of the run
            drop_postgres_database(_PG_TEMPLATE["name"])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'relance.db'}"
        return
    url, name = new_postgres_database()
    yield url
    drop_postgres_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file (for tests that are about SQLite only)."""
    return f"sqlite:///{tmp_path / 'relance.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, migrated database (SQLite and PostgreSQL)."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()
