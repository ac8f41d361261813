"""The evidence log: hash chaining, canonical form, one transaction with the change, refusal of edits by the DB."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from storage.db import read_session, write_session
from storage.evidence import (
    GENESIS_HASH,
    canonical_json,
    entry_canonical,
    format_timestamp,
    head_hash,
    record,
    verify_chain,
)
from storage.models import EvidenceEntry
from tests.integration.evidence_helpers import add_business


def _entries(engine: Engine) -> list[EvidenceEntry]:
    with read_session(engine) as s:
        return list(s.exec(select(EvidenceEntry).order_by(EvidenceEntry.seq)).all())


@pytest.fixture
def bid(engine: Engine) -> int:
    """The id of the business whose chain the test writes."""
    return add_business(engine)


def test_entries_are_chained(engine: Engine, bid: int) -> None:
    """Each entry links to the previous hash and its hash is SHA-256(prev hash + canonical JSON)."""
    with write_session(engine) as s:
        assert head_hash(s, business_id=bid) == GENESIS_HASH
        for i in range(3):
            record(
                s, business_id=bid, actor="owner:111", kind="card_action", payload={"i": i, "montant": Decimal("12.30")}
            )
    entries = _entries(engine)
    assert [e.chain_seq for e in entries] == [1, 2, 3]
    prev = GENESIS_HASH
    for e in entries:
        assert e.prev_hash == prev
        assert e.hash == hashlib.sha256((prev + entry_canonical(e)).encode()).hexdigest()
        prev = e.hash
    with read_session(engine) as s:
        assert head_hash(s, business_id=bid) == prev
    result = verify_chain(engine, business_id=bid)
    assert result.ok and result.count == 3 and result.head_hash == prev and result.first_bad_seq is None


def test_canonical_form_is_sorted_compact_json(engine: Engine, bid: int) -> None:
    """The hashed text is exactly json.dumps(sort_keys, compact, UTF-8) of the entry's fields."""
    payload = {"z": 'é"\\\n', "a": [1, None, True], "m": Decimal("1234.56"), "when": datetime(2026, 11, 24, tzinfo=UTC)}
    with write_session(engine) as s:
        entry = record(s, business_id=bid, actor='owner:"x"é', kind="draft_edited", payload=payload, client_id=7)
    (stored,) = _entries(engine)
    as_dict = {
        "seq": stored.chain_seq,
        "created_at": format_timestamp(stored.created_at),
        "actor": stored.actor,
        "kind": stored.kind,
        "business_id": bid,
        "client_id": 7,
        "invoice_id": None,
        "reminder_id": None,
        "payload": json.loads(stored.payload),
    }
    assert entry_canonical(stored) == canonical_json(as_dict)
    assert stored.hash == entry.hash and entry.chain_seq == stored.chain_seq == 1
    assert entry_canonical(entry) == entry_canonical(stored)  # the returned object is a usable EvidenceEntry
    assert json.loads(stored.payload)["m"] == "1234.56"
    assert json.loads(stored.payload)["when"] == "2026-11-24T00:00:00.000000Z"


def test_entry_is_rolled_back_with_the_change(engine: Engine, bid: int) -> None:
    """An entry belongs to its caller's transaction: a failure after it leaves no trace."""
    with pytest.raises(RuntimeError), write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="payment_recorded", payload={"amount": "10.00"})
        raise RuntimeError("the change failed")
    assert _entries(engine) == []
    assert verify_chain(engine, business_id=bid).ok


def test_bad_payloads_are_refused(engine: Engine, bid: int) -> None:
    """NaN, naive timestamps and raw bytes cannot be hashed reproducibly: refused."""
    for payload in ({"x": float("nan")}, {"t": datetime(2026, 1, 1)}, {"b": b"raw"}):
        with pytest.raises((ValueError, TypeError)), write_session(engine) as s:
            record(s, business_id=bid, actor="system", kind="x", payload=payload)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE evidence SET kind = 'x'",
        "UPDATE evidence SET payload = '{}' WHERE chain_seq = 1",
        "DELETE FROM evidence",
    ],
)
def test_database_refuses_update_and_delete(engine: Engine, bid: int, statement: str) -> None:
    """UPDATE and DELETE on the evidence table are refused by the database itself (triggers)."""
    with write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="import", payload={})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert len(_entries(engine)) == 1 and verify_chain(engine, business_id=bid).ok


def test_database_refuses_truncate(engine: Engine, bid: int) -> None:
    """TRUNCATE is refused on PostgreSQL (statement trigger); SQLite has no TRUNCATE, only DELETE (refused)."""
    with write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="import", payload={})
    statement = "TRUNCATE evidence" if engine.dialect.name == "postgresql" else "DELETE FROM evidence WHERE 1"
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    assert len(_entries(engine)) == 1


def test_orm_delete_is_refused(engine: Engine, bid: int) -> None:
    """Deleting an entry through the ORM fails too."""
    with write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="import", payload={})
    with pytest.raises(DBAPIError), write_session(engine) as s:
        entry = s.exec(select(EvidenceEntry)).one()
        s.delete(entry)
    assert len(_entries(engine)) == 1


def test_concurrent_appends_never_fork(engine: Engine, bid: int) -> None:
    """Appends from 8 threads at once give one unbroken chain (serialised by the lock / immediate transaction)."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                with write_session(engine) as s:
                    record(s, business_id=bid, actor=f"owner:{n}", kind="card_action", payload={"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify_chain(engine, business_id=bid)
    assert result.ok and result.count == 200


def test_published_head_must_still_be_in_chain(engine: Engine, bid: int) -> None:
    """A head hash published earlier (digest footer) is checked: an unknown one makes verification fail."""
    with write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="digest_sent", payload={})
        published = head_hash(s, business_id=bid)
    with write_session(engine) as s:
        record(s, business_id=bid, actor="system", kind="digest_sent", payload={})
    assert verify_chain(engine, business_id=bid, expected_hashes=[published]).ok
    bad = verify_chain(engine, business_id=bid, expected_hashes=["ab" * 32])
    assert not bad.ok and "not found" in bad.reason


def test_concurrent_appends_keep_one_valid_chain(engine: Engine, bid: int) -> None:
    """Eight threads appending at once (each its own connection and transaction) leave one unbroken chain."""
    from concurrent.futures import ThreadPoolExecutor

    def append(worker: int) -> None:
        for i in range(25):
            with write_session(engine) as s:
                record(s, business_id=bid, actor="system", kind="digest_sent", payload={"worker": worker, "i": i})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(8)))
    result = verify_chain(engine, business_id=bid)
    assert result.ok, result.reason
    assert result.count == 200
