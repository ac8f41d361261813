"""Migrations: a fresh database is built by Alembic alone, and the result matches the SQLModel tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables)
from storage.db import make_engine, upgrade


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
        assert MigrationContext.configure(conn).get_current_revision() == "0004"
    again.dispose()
    assert "ix_evidence_invoice_id" in indexes and "ix_evidence_kind" not in indexes
