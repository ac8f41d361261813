"""One evidence chain per business: own numbering, own head, own lock, own verification; inserts that do not
follow the chain's head are refused by the database itself."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from storage.db import read_session, write_session
from storage.evidence import GENESIS_HASH, head_hash, record, verify_all, verify_chain
from tests.integration.evidence_helpers import add_business

COLUMNS = "chain_seq, created_at, actor, kind, business_id, payload, prev_hash, hash"


def _interleave(engine: Engine, a: int, b: int, rounds: int = 10) -> None:
    for i in range(rounds):
        with write_session(engine) as s:
            record(s, business_id=a, actor="system", kind="card_action", payload={"i": i, "who": "a"})
        with write_session(engine) as s:
            record(s, business_id=b, actor="system", kind="card_action", payload={"i": i, "who": "b"})
            if i % 3 == 0:  # and sometimes both in one transaction
                record(s, business_id=a, actor="system", kind="digest_sent", payload={"i": i})


def _chain(engine: Engine, business_id: int) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {COLUMNS} FROM evidence WHERE business_id = :b ORDER BY chain_seq"), {"b": business_id}
        )
        return [dict(r) for r in rows.mappings()]


def test_two_businesses_have_separate_chains(engine: Engine) -> None:
    """Interleaved appends: each chain is numbered from 1, links only to its own entries and verifies alone."""
    a, b = add_business(engine, "alpha"), add_business(engine, "beta")
    _interleave(engine, a, b)
    chain_a, chain_b = _chain(engine, a), _chain(engine, b)
    assert [e["chain_seq"] for e in chain_a] == list(range(1, 15))
    assert [e["chain_seq"] for e in chain_b] == list(range(1, 11))
    assert chain_a[0]["prev_hash"] == chain_b[0]["prev_hash"] == GENESIS_HASH
    hashes_a = {e["hash"] for e in chain_a}
    assert not hashes_a & {e["prev_hash"] for e in chain_b}  # no entry of B links to one of A
    assert all('"who":"b"' not in str(e["payload"]) for e in chain_a)
    ra, rb = verify_chain(engine, business_id=a), verify_chain(engine, business_id=b)
    assert ra.ok and rb.ok and (ra.count, rb.count) == (14, 10)
    with read_session(engine) as s:
        assert head_hash(s, business_id=a) == ra.head_hash == chain_a[-1]["hash"]
        assert head_hash(s, business_id=b) == rb.head_hash == chain_b[-1]["hash"]
    assert ra.head_hash != rb.head_hash
    assert {k: v.ok for k, v in verify_all(engine).items()} == {a: True, b: True}


def test_tampering_in_one_chain_is_reported_for_it_only(engine: Engine) -> None:
    """An entry of A changed by someone who removed the protection: A's chain fails at it, B's still verifies."""
    a, b = add_business(engine, "alpha"), add_business(engine, "beta")
    _interleave(engine, a, b)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE evidence DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER evidence_no_update"))
        conn.execute(text("UPDATE evidence SET payload = '{}' WHERE business_id = :a AND chain_seq = 5"), {"a": a})
    bad = verify_chain(engine, business_id=a)
    assert not bad.ok and bad.first_bad_seq == 5 and bad.count == 4
    assert verify_chain(engine, business_id=b).ok
    assert {k: v.ok for k, v in verify_all(engine).items()} == {a: False, b: True}


def test_business_id_is_required(engine: Engine) -> None:
    """An entry without a valid business is refused before anything is written."""
    for wrong in (None, 0, -1, "1", True):
        with pytest.raises(ValueError, match="business_id"), write_session(engine) as s:
            record(s, business_id=wrong, actor="system", kind="x", payload={})  # type: ignore[arg-type]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM evidence")).scalar_one() == 0


def test_appends_of_two_businesses_run_concurrently(engine: Engine) -> None:
    """Eight threads on two businesses at once: both chains stay unbroken and complete."""
    a, b = add_business(engine, "alpha"), add_business(engine, "beta")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(20):
                with write_session(engine) as s:
                    record(s, business_id=(a, b)[n % 2], actor=f"owner:{n}", kind="card_action", payload={"i": i})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    results = verify_all(engine)
    assert results[a].ok and results[b].ok and results[a].count == results[b].count == 80


@pytest.mark.postgres
def test_each_business_has_its_own_lock() -> None:
    """PostgreSQL: while A's append transaction is open, B appends at once, and A's next append waits for it.

    (On SQLite the whole file has one write lock, taken by BEGIN IMMEDIATE: there is nothing per business.)
    """
    from storage.db import make_engine
    from tests.conftest import drop_postgres_database, new_postgres_database

    url, name = new_postgres_database()
    engine = make_engine(url, migrate=False)
    try:
        _own_lock(engine)
    finally:
        engine.dispose()
        drop_postgres_database(name)


def _own_lock(engine: Engine) -> None:
    a, b = add_business(engine, "alpha"), add_business(engine, "beta")
    done: dict[str, float] = {}
    with write_session(engine) as held:
        record(held, business_id=a, actor="system", kind="x", payload={})

        def append(business_id: int, name: str) -> None:
            with write_session(engine) as s:
                record(s, business_id=business_id, actor="system", kind="x", payload={})
            done[name] = time.monotonic()

        other = threading.Thread(target=append, args=(b, "b"))
        same = threading.Thread(target=append, args=(a, "a"))
        other.start()
        same.start()
        other.join(timeout=10)
        assert "b" in done  # B did not wait for A's lock
        time.sleep(0.3)
        assert "a" not in done  # a second append of A waits for the first
    same.join(timeout=10)
    assert "a" in done
    assert verify_chain(engine, business_id=a).count == 2 and verify_chain(engine, business_id=b).ok


def _forge(engine: Engine, business_id: int, chain_seq: int, prev_hash: str, digest: str, verb: str = "INSERT") -> None:
    with engine.begin() as conn:
        created = conn.execute(text("SELECT created_at FROM evidence ORDER BY seq LIMIT 1")).scalar_one()
        conn.execute(
            text(
                f"{verb} INTO evidence ({COLUMNS}) "
                "VALUES (:n, :created, 'owner:666', 'forged', :b, '{}', :prev, :hash)"
            ),
            {"n": chain_seq, "created": created, "b": business_id, "prev": prev_hash, "hash": digest},
        )


def _snapshot(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT seq, {COLUMNS} FROM evidence ORDER BY seq"))]


def test_insert_that_does_not_follow_the_head_is_refused(engine: Engine) -> None:
    """An INSERT with a reused or skipped number, or a previous hash that is not the head's, is refused."""
    a, b = add_business(engine, "alpha"), add_business(engine, "beta")
    _interleave(engine, a, b, rounds=3)
    before = _snapshot(engine)
    chain_a = _chain(engine, a)
    head_a = str(chain_a[-1]["hash"])
    nxt = len(chain_a) + 1
    for chain_seq, prev in [(1, GENESIS_HASH), (nxt - 1, head_a), (nxt + 1, head_a), (nxt, GENESIS_HASH)]:
        with pytest.raises(DBAPIError, match="append-only"):
            _forge(engine, a, chain_seq, prev, "e" * 64)
    # The head of B is not the head of A: linking A's next entry to B's chain is refused too.
    with pytest.raises(DBAPIError, match="append-only"):
        _forge(engine, a, nxt, str(_chain(engine, b)[-1]["hash"]), "e" * 64)
    assert _snapshot(engine) == before
    assert verify_chain(engine, business_id=a).ok and verify_chain(engine, business_id=b).ok


def test_sqlite_insert_or_replace_cannot_overwrite_an_entry(sqlite_url: str) -> None:
    """SQLite: INSERT OR REPLACE over entry 1 (by number, primary key or hash) is refused and changes nothing."""
    from storage.db import make_engine

    engine = make_engine(sqlite_url)
    try:
        a = add_business(engine, "alpha")
        with write_session(engine) as s:
            for i in range(3):
                record(s, business_id=a, actor="system", kind="card_action", payload={"i": i})
        before = _snapshot(engine)
        first, head = _chain(engine, a)[0], _chain(engine, a)[-1]
        with pytest.raises(DBAPIError, match="append-only"):  # the case of the issue: entry 1 rewritten
            _forge(engine, a, 1, GENESIS_HASH, "e" * 64, verb="INSERT OR REPLACE")
        with pytest.raises(DBAPIError, match="append-only"):  # well-linked, but replacing entry 1 by its hash
            _forge(engine, a, 4, str(head["hash"]), str(first["hash"]), verb="INSERT OR REPLACE")
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:  # ... or by its primary key
            conn.execute(
                text(
                    f"INSERT OR REPLACE INTO evidence (seq, {COLUMNS}) "
                    "VALUES (1, 4, '2026-01-01 00:00:00', 'x', 'forged', :b, '{}', :prev, :hash)"
                ),
                {"b": a, "prev": head["hash"], "hash": "e" * 64},
            )
        assert _snapshot(engine) == before
        assert verify_chain(engine, business_id=a).ok
    finally:
        engine.dispose()
