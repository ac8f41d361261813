"""Migrations: a fresh database is built by Alembic alone, and the result matches the SQLModel tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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


def test_a_database_one_migration_behind_is_brought_to_the_head(db_url: str) -> None:
    """The quick start-up path reads the newest revision from the files (the one Alembic calls head): a database at
    the revision before it still goes through Alembic and ends at the head."""
    from storage.db import _newest_revision

    head = _head()
    assert _newest_revision() == head
    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    previous = ScriptDirectory.from_config(cfg).get_revision(head).down_revision
    assert isinstance(previous, str)
    from alembic import command

    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, previous)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
    engine.dispose()


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


def _insert(engine: Engine, table_name: str, **values: object) -> int:
    """A row as the reflected (older) schema holds it: columns not given get a blank of their type."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    blank: dict[type, object] = {
        sa.String: "",
        sa.Integer: 0,
        sa.Boolean: False,
        sa.DateTime: datetime.now(UTC),
        sa.Date: date(2026, 1, 1),
    }
    row = dict(values)
    for col in table.columns:
        if col.name in row or col.nullable or col.primary_key:
            continue
        row[col.name] = next(v for t, v in blank.items() if isinstance(col.type, t))
    with engine.begin() as conn:
        return int(conn.execute(sa.insert(table).values(row).returning(table.c.id)).scalar_one())


def test_0011_gives_each_invoice_its_state_and_figures(empty_url: str) -> None:
    """0011: an open invoice with money received becomes partially paid (its last payment day kept); a credit note
    is counted apart (an invoice only credited stays open, one credited in full with nothing paid is cancelled); a
    written-off invoice records what it gave up; an unpaid and a paid invoice keep their state."""
    engine = make_engine(empty_url, migrate=False)
    try:
        upgrade(engine, "0010")
        (business_id,) = _businesses(engine, "default")
        client_id = _insert(engine, "client", business_id=business_id, name="Dupont")
        for number, state, paid_cents, payments in (
            ("F-1", "open", 30000, [(10000, "", date(2026, 5, 2)), (20000, "", date(2026, 6, 3))]),
            ("F-2", "open", 5000, [(5000, "avoir AV-1", date(2026, 5, 2))]),
            ("F-3", "open", 0, []),
            ("F-4", "paid", 120000, [(120000, "", date(2026, 5, 2))]),
            ("F-5", "paid", 120000, [(120000, "avoir AV-2", date(2026, 5, 2))]),
            ("F-6", "written_off", 20000, [(20000, "", date(2026, 5, 2))]),
        ):
            inv = _insert(
                engine,
                "invoice",
                business_id=business_id,
                client_id=client_id,
                number=number,
                amount=120000,
                amount_paid=paid_cents,
                state=state,
            )
            for cents, note, day in payments:
                _insert(engine, "payment", invoice_id=inv, amount=cents, note=note, paid_on=day)
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT number, state, last_paid_on, amount_credited, amount_written_off FROM invoice")
            ).all()
        got = {
            number: (state, str(last) if last else None, credited, lost) for number, state, last, credited, lost in rows
        }
        assert got == {
            "F-1": ("partially_paid", "2026-06-03", 0, 0),
            "F-2": ("open", None, 5000, 0),
            "F-3": ("open", None, 0, 0),
            "F-4": ("paid", "2026-05-02", 0, 0),
            "F-5": ("cancelled", None, 120000, 0),
            "F-6": ("written_off", "2026-05-02", 0, 100000),
        }
    finally:
        engine.dispose()


def test_0014_dates_the_invoices_already_stored(empty_url: str) -> None:
    """0014: each invoice already stored gets the policy's next action date (its history of steps sent counted, a
    promise dated the day after, a paid invoice none), the very dates storage.schedule keeps from then on."""
    from sqlmodel import Session

    from storage.schedule import mismatches

    engine = make_engine(empty_url, migrate=False)
    try:
        upgrade(engine, "0013")
        business_id = _insert(engine, "business", slug="default", name="Atelier", timezone="Europe/Paris")
        client_id = _insert(engine, "client", business_id=business_id, name="Dupont", profile="standard")
        fresh = _insert(engine, "invoice", business_id=business_id, client_id=client_id, number="F-1",
                        due_date=date(2026, 12, 10), amount=120000, state="open")  # fmt: skip
        chased = _insert(engine, "invoice", business_id=business_id, client_id=client_id, number="F-2",
                         due_date=date(2026, 10, 1), amount=50000, state="open")  # fmt: skip
        promised = _insert(engine, "invoice", business_id=business_id, client_id=client_id, number="F-3",
                           due_date=date(2026, 10, 1), amount=50000, state="promised",
                           promised_until=date(2026, 12, 4))  # fmt: skip
        paid = _insert(engine, "invoice", business_id=business_id, client_id=client_id, number="F-4",
                       due_date=date(2026, 10, 1), amount=50000, amount_paid=50000, state="paid")  # fmt: skip
        reminder = _insert(engine, "reminder", business_id=business_id, client_id=client_id, step="reminder_1",
                           planned_date=date(2026, 11, 20), state="sent", kind="ladder",
                           sent_at=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # fmt: skip
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO reminderinvoice (reminder_id, invoice_id, step) VALUES (:r, :i, 'reminder_1')"),
                {"r": reminder, "i": chased},
            )
        upgrade(engine)
        with engine.connect() as conn:
            got = dict(conn.execute(text("SELECT id, next_action_on FROM invoice")).all())
        assert {k: (date.fromisoformat(v) if isinstance(v, str) else v) for k, v in got.items()} == {
            fresh: date(2026, 12, 7),  # pre-reminder 3 days before, on the Monday
            chased: date(2026, 11, 27),  # reminder_2 waits 7 days after reminder_1 was sent
            promised: date(2026, 12, 5),
            paid: None,
        }
        with Session(engine) as session:
            assert mismatches(session, business_id) == (3, [])
    finally:
        engine.dispose()
