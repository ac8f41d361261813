"""Tampering with a 100,000-entry chain (one byte changed, an entry deleted, inserted, reordered) is always found."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from storage.evidence import _TABLE, build_rows, canonical_entry, compute_hash, format_timestamp, verify_chain
from tests.conftest import drop_postgres_database, new_postgres_database
from tests.integration.evidence_helpers import add_business

N = 100_000
COLUMNS = (
    "chain_seq, created_at, actor, kind, business_id, client_id, invoice_id, reminder_id, payload, prev_hash, hash"
)
# Where to tamper: the edges, the middle, and seeded random places.
POSITIONS = [1, 2, N // 2, N - 1, N, *random.Random(42).sample(range(3, N - 1), 3)]


def _items(n: int) -> Iterator[dict[str, Any]]:
    start = datetime(2026, 1, 5, 7, 30, tzinfo=UTC)
    kinds = ("digest_sent", "card_action", "email_queued", "smtp_accepted", "payment_recorded")
    for i in range(n):
        yield {
            "actor": "system" if i % 3 else "owner:111",
            "kind": kinds[i % len(kinds)],
            "created_at": start + timedelta(seconds=37 * i, microseconds=i % 997),
            "client_id": i % 50 + 1,
            "invoice_id": i % 400 + 1,
            "reminder_id": i % 900 + 1 if i % 2 else None,
            "payload": {"n": i, "text": f"Suivi de votre facture n° F-2026-{i % 400:04d}", "montant": "1234.56"},
        }


def fill_chain(engine: Engine, n: int) -> int:
    """Bulk-insert `n` entries of one business with correct hashes (executemany in batches); returns its id."""
    business_id = add_business(engine)
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in build_rows(_items(n), business_id=business_id):
            batch.append(row)
            if len(batch) == 10_000:
                conn.execute(insert(_TABLE), batch)
                batch = []
        if batch:
            conn.execute(insert(_TABLE), batch)
    return business_id


@dataclass
class ChainCopies:
    """Makes fresh copies of a database holding a valid 100,000-entry chain, with the edit triggers removed."""

    make: Callable[[], tuple[Engine, Callable[[], None]]]
    dialect: str
    business_id: int


def _pg_admin() -> Engine:
    import os

    from tests.conftest import DEFAULT_PG_URL

    return create_engine(os.environ.get("RELANCE_TEST_POSTGRES_URL", DEFAULT_PG_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def chain(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainCopies]:
    """A base database with the chain, built once per backend; each trial gets its own copy."""
    if request.param == "sqlite":
        base = tmp_path_factory.mktemp("chain") / "base.db"
        engine = make_engine(f"sqlite:///{base}")
        business_id = fill_chain(engine, N)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()

        def make_sqlite() -> tuple[Engine, Callable[[], None]]:
            copy = base.with_name(f"t{uuid.uuid4().hex[:8]}.db")
            shutil.copyfile(base, copy)
            eng = make_engine(f"sqlite:///{copy}", migrate=False)
            with eng.begin() as conn:
                conn.exec_driver_sql("DROP TRIGGER evidence_no_update")
                conn.exec_driver_sql("DROP TRIGGER evidence_no_delete")
                conn.exec_driver_sql("DROP TRIGGER evidence_append_only_insert")

            def done() -> None:
                eng.dispose()
                Path(copy).unlink(missing_ok=True)

            return eng, done

        yield ChainCopies(make_sqlite, "sqlite", business_id)
        return

    url, name = new_postgres_database()
    engine = make_engine(url, migrate=False)
    business_id = fill_chain(engine, N)
    engine.dispose()
    admin = _pg_admin()

    def make_pg() -> tuple[Engine, Callable[[], None]]:
        clone = f"relance_tamper_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{clone}" TEMPLATE "{name}"'))
        eng = make_engine(make_url(url).set(database=clone).render_as_string(hide_password=False), migrate=False)
        with eng.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE evidence DISABLE TRIGGER USER")

        def done() -> None:
            eng.dispose()
            drop_postgres_database(clone)

        return eng, done

    yield ChainCopies(make_pg, "postgres", business_id)
    admin.dispose()
    drop_postgres_database(name)


def _row(conn: Connection, seq: int) -> dict[str, Any]:
    return dict(conn.execute(text(f"SELECT {COLUMNS} FROM evidence WHERE chain_seq = :s"), {"s": seq}).mappings().one())


def _flip(value: str, at: int) -> str:
    """`value` with one character changed (one byte for ASCII text)."""
    ch = value[at]
    return value[:at] + ("1" if ch != "1" else "2") + value[at + 1 :]


def _trial(chain: ChainCopies, tamper: Callable[[Connection], None]) -> tuple[bool, int | None]:
    engine, done = chain.make()
    try:
        with engine.begin() as conn:
            tamper(conn)
        result = verify_chain(engine, business_id=chain.business_id)
        return result.ok, result.first_bad_seq
    finally:
        done()


def test_untouched_chain_verifies(chain: ChainCopies) -> None:
    """The bulk-built chain of 100,000 entries is valid (so every failure below comes from the tampering)."""
    engine, done = chain.make()
    try:
        result = verify_chain(engine, business_id=chain.business_id)
    finally:
        done()
    assert result.ok and result.count == N


FIELDS = ["payload", "actor", "kind", "created_at", "prev_hash", "hash", "invoice_id", "client_id"]


def test_one_changed_byte_is_found(chain: ChainCopies) -> None:
    """Changing one byte of any field of any entry is detected at that entry."""
    found = []
    assert len(POSITIONS) >= len(FIELDS)  # every field is tampered with at least once
    for i, seq in enumerate(POSITIONS):
        for field in (FIELDS[i % len(FIELDS)],):

            def tamper(conn: Connection, seq: int = seq, field: str = field) -> None:
                row = _row(conn, seq)
                value = row[field]
                if field == "created_at":
                    new: Any = value + timedelta(microseconds=1) if isinstance(value, datetime) else value
                    if not isinstance(value, datetime):  # SQLite keeps the text form
                        new = _flip(value, len(value) - 1)
                elif isinstance(value, int):
                    new = value + 1
                else:
                    new = _flip(value, len(value) // 2)
                assert new != value
                conn.execute(text(f"UPDATE evidence SET {field} = :v WHERE chain_seq = :s"), {"v": new, "s": seq})

            found.append((field, seq, _trial(chain, tamper)))
    assert [(f, s, r) for f, s, r in found if r != (False, s)] == []


def test_deleted_entry_is_found(chain: ChainCopies) -> None:
    """Deleting any entry (first, middle, last excepted: see below) is detected at its place."""
    for seq in POSITIONS:
        if seq == N:
            continue  # removing the newest entry is only visible against a published head hash (next test)
        ok, bad = _trial(
            chain, lambda conn, seq=seq: conn.execute(text("DELETE FROM evidence WHERE chain_seq = :s"), {"s": seq})
        )
        assert (ok, bad) == (False, seq)


def test_deleted_newest_entry_is_found_against_published_head(chain: ChainCopies) -> None:
    """Cutting off the end of the log is found when the last published head hash is given."""
    engine, done = chain.make()
    try:
        with engine.begin() as conn:
            published = _row(conn, N)["hash"]
            conn.execute(text("DELETE FROM evidence WHERE chain_seq = :s"), {"s": N})
        result = verify_chain(engine, business_id=chain.business_id, expected_hashes=[published])
    finally:
        done()
    assert not result.ok and result.count == N - 1


def _shift_up(conn: Connection, seq: int) -> None:
    # Two steps, so the unique (business_id, chain_seq) never sees two rows with the same number.
    conn.execute(text("UPDATE evidence SET chain_seq = -chain_seq - 1 WHERE chain_seq >= :s"), {"s": seq})
    conn.execute(text("UPDATE evidence SET chain_seq = -chain_seq WHERE chain_seq < 0"))


def test_inserted_entry_is_found(chain: ChainCopies) -> None:
    """An entry slipped into the chain, even with a correctly computed hash of its own, breaks the next link."""
    for seq in (1, N // 2, N, POSITIONS[-1]):

        def tamper(conn: Connection, seq: int = seq) -> None:
            prev = _row(conn, seq - 1)["hash"] if seq > 1 else "0" * 64
            _shift_up(conn, seq)
            created = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
            payload = '{"forged":true}'
            canonical = canonical_entry(
                seq=seq,
                created_at=format_timestamp(created),
                actor="owner:111",
                kind="email_queued",
                business_id=chain.business_id,
                client_id=1,
                invoice_id=1,
                reminder_id=None,
                payload=payload,
            )
            forged = {
                "chain_seq": seq,
                "created_at": created.replace(tzinfo=None) if chain.dialect == "sqlite" else created,
                "actor": "owner:111",
                "kind": "email_queued",
                "business_id": chain.business_id,
                "client_id": 1,
                "invoice_id": 1,
                "reminder_id": None,
                "payload": payload,
                "prev_hash": prev,
                "hash": compute_hash(prev, canonical),
            }
            conn.execute(
                text(
                    f"INSERT INTO evidence ({COLUMNS}) VALUES (:chain_seq, :created_at, :actor, :kind, :business_id, "
                    ":client_id, :invoice_id, :reminder_id, :payload, :prev_hash, :hash)"
                ),
                forged,
            )

        assert _trial(chain, tamper) == (False, seq + 1)


def test_reordered_entries_are_found(chain: ChainCopies) -> None:
    """Swapping two entries (neighbours or far apart) is detected at the first of them."""
    rng = random.Random(7)
    pairs = [(p, p + 1) for p in POSITIONS if p < N] + [(p, rng.randrange(p + 1, N + 1)) for p in POSITIONS if p < N]
    for a, b in pairs:

        def tamper(conn: Connection, a: int = a, b: int = b) -> None:
            conn.execute(text("UPDATE evidence SET chain_seq = -1 WHERE chain_seq = :a"), {"a": a})
            conn.execute(text("UPDATE evidence SET chain_seq = :a WHERE chain_seq = :b"), {"a": a, "b": b})
            conn.execute(text("UPDATE evidence SET chain_seq = :b WHERE chain_seq = -1"), {"b": b})

        assert _trial(chain, tamper) == (False, a)
