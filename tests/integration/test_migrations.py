"""Migrations: a fresh database is built by Alembic alone, and the result matches the SQLModel tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import MIGRATIONS_DIR, make_engine, upgrade, write_session
from storage.evidence import GENESIS_HASH, canonical_entry, compute_hash, format_timestamp, record, verify_chain
from storage.types import UTCDateTime
from tests.conftest import drop_postgres_database


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    """Autogenerate finds no difference between the migrated database and the models (no forgotten migration)."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_migrations_are_idempotent_on_an_existing_database(db_url: str) -> None:
    """Opening an existing database again applies nothing and keeps the evidence indexes as designed."""
    first = make_engine(db_url)
    upgrade(first)
    indexes = {ix["name"] for ix in inspect(first).get_indexes("evidence")}
    first.dispose()
    again = make_engine(db_url)
    with again.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == _head()
    again.dispose()
    assert "ix_evidence_invoice_id" in indexes and "ix_evidence_kind" not in indexes


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no table at all) on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"relance_empty_{uuid.uuid4().hex[:10]}"
    admin = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    drop_postgres_database(name)


_LEGACY = sa.table(
    "evidence",
    *(sa.column(c) for c in ("seq", "actor", "kind", "business_id", "payload", "prev_hash", "hash")),
    sa.column("created_at", UTCDateTime()),
)


def _legacy_log(engine: Engine, owners: list[int]) -> None:
    """Entries as written before 0005: one chain for the whole table, numbered by the global seq."""
    prev = GENESIS_HASH
    start = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for seq, business_id in enumerate(owners, 1):
            created = start + timedelta(minutes=seq)
            fields = dict(actor="system", kind="digest_sent", business_id=business_id, payload=f'{{"n":{seq}}}')
            digest = compute_hash(
                prev,
                canonical_entry(
                    seq=seq,
                    created_at=format_timestamp(created),
                    actor="system",
                    kind="digest_sent",
                    business_id=business_id,
                    client_id=None,
                    invoice_id=None,
                    reminder_id=None,
                    payload=str(fields["payload"]),
                ),
            )
            conn.execute(sa.insert(_LEGACY).values(seq=seq, created_at=created, prev_hash=prev, hash=digest, **fields))
            prev = digest


def _businesses(engine: Engine, *slugs: str) -> list[int]:
    """Businesses as the 0004 schema holds them (reflected: the current model has later columns)."""
    table = sa.Table("business", sa.MetaData(), autoload_with=engine)
    blank = {sa.String: "", sa.Integer: 0, sa.Boolean: False}
    ids = []
    with engine.begin() as conn:
        for slug in slugs:
            values: dict[str, object] = {"slug": slug, "name": slug}
            for col in table.columns:
                if col.name in values or col.nullable or col.primary_key:
                    continue
                kind = next((v for t, v in blank.items() if isinstance(col.type, t)), None)
                values[col.name] = datetime.now(UTC) if kind is None else kind
            ids.append(int(conn.execute(sa.insert(table).values(values).returning(table.c.id)).scalar_one()))
    return ids


def test_existing_single_business_log_stays_valid_after_0005(empty_url: str) -> None:
    """A log written before per-business chains becomes its business's chain: same hashes, and appends continue."""
    engine = make_engine(empty_url, migrate=False)
    try:
        upgrade(engine, "0004")
        (business_id,) = _businesses(engine, "default")
        _legacy_log(engine, [business_id] * 5)
        upgrade(engine)
        before = verify_chain(engine, business_id=business_id)
        assert before.ok and before.count == 5
        with write_session(engine) as s:  # the global seq continues past the old entries (no key conflict)
            entry = record(s, business_id=business_id, actor="system", kind="digest_sent", payload={})
        assert entry.chain_seq == 6 and entry.prev_hash == before.head_hash
        assert verify_chain(engine, business_id=business_id).count == 6
    finally:
        engine.dispose()


def test_log_mixing_businesses_is_not_migrated(empty_url: str) -> None:
    """A single log holding two businesses cannot be split without rewriting hashes: 0005 refuses, nothing changes."""
    engine = make_engine(empty_url, migrate=False)
    try:
        upgrade(engine, "0004")
        a, b = _businesses(engine, "alpha", "beta")
        _legacy_log(engine, [a, b, a])
        with pytest.raises(RuntimeError, match="migration 0005: the evidence log mixes entries of several businesses"):
            upgrade(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0004"
            assert conn.execute(text("SELECT count(*) FROM evidence")).scalar_one() == 3
    finally:
        engine.dispose()
