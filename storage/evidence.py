"""The append-only, hash-chained evidence log: every step of a claim, provable in court.

Each business has its own chain. An entry's hash is SHA-256 of the previous entry's hash (in the same business's
chain) followed by the entry's canonical JSON:

    {"actor":..,"business_id":..,"client_id":..,"created_at":"YYYY-MM-DDTHH:MM:SS.ffffffZ","invoice_id":..,
     "kind":..,"payload":<payload canonical JSON>,"reminder_id":..,"seq":N}

where "seq" is the entry's position in its business's chain (column `chain_seq`, from 1; the column `seq` is only
the insertion order over the whole table). Keys sorted, no spaces, UTF-8, non-ASCII kept as is. The first entry's
previous hash is 64 zeros. The database refuses UPDATE, DELETE and TRUNCATE on the table (migration 0002) and any
INSERT that is not the next entry of its business's chain (0005); appends of one business are serialised (one lock
per business) so its chain never forks, while two businesses append independently.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import manager_of_class
from sqlmodel import Session

from storage.models import EvidenceEntry
from storage.types import utcnow

GENESIS_HASH = "0" * 64
_ZERO = timedelta(0)
# Any constant works: it only has to be the same for every writer of the log. The lock is the pair
# (this key, business id): one lock per chain.
_PG_LOCK_KEY = 0x52454C41
_TABLE = EvidenceEntry.__table__  # type: ignore[attr-defined]
_VERIFY_BATCH = 5000


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("evidence timestamps must be timezone-aware")
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if isinstance(value, bytes):
        raise TypeError("bytes in an evidence payload: store text (decode it) or a digest")
    # Kept for callers that pass small value objects; their str() is what gets recorded.
    return str(value)


def canonical_json(value: Any) -> str:
    """The canonical JSON form of a payload: sorted keys, no spaces, UTF-8 text, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )


def format_timestamp(moment: datetime) -> str:
    """The fixed-width UTC form of a timestamp used in the hashed text: 2026-11-24T07:42:13.123456Z."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    # isoformat is much faster than strftime (this runs once per entry when verifying a million of them).
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


# The C string encoder behind json.dumps(value, ensure_ascii=False) for a str, without its per-call overhead.
_js = json.encoder.encode_basestring


def _num(value: int | None) -> str:
    return "null" if value is None else str(int(value))


def canonical_entry(
    *,
    seq: int,
    created_at: str,
    actor: str,
    kind: str,
    business_id: int | None,
    client_id: int | None,
    invoice_id: int | None,
    reminder_id: int | None,
    payload: str,
) -> str:
    """The canonical JSON of an entry, given its stored payload text (already canonical) and formatted timestamp.

    Built by concatenation (keys in sorted order) so that verifying a million entries needs no JSON parsing;
    the result is byte-for-byte what ``canonical_json`` gives for the same entry as a dict.
    """
    return (
        '{"actor":'
        + _js(actor)
        + ',"business_id":'
        + _num(business_id)
        + ',"client_id":'
        + _num(client_id)
        + ',"created_at":'
        + _js(created_at)
        + ',"invoice_id":'
        + _num(invoice_id)
        + ',"kind":'
        + _js(kind)
        + ',"payload":'
        + payload
        + ',"reminder_id":'
        + _num(reminder_id)
        + ',"seq":'
        + str(int(seq))
        + "}"
    )


def compute_hash(prev_hash: str, canonical: str) -> str:
    """SHA-256 (hex) of the previous hash followed by the entry's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


# Built once: an append is on the path of every owner action, so it avoids rebuilding statements each time.
# Plain SQL (no compilation step); the business id is formatted in as an int, never as text from outside.
_LAST_SQL = "SELECT chain_seq, hash FROM evidence WHERE business_id = {} ORDER BY chain_seq DESC LIMIT 1"
_INSERT = insert(_TABLE)
_MANAGER = manager_of_class(EvidenceEntry)
_mappers_ready = False


def _business(business_id: int) -> int:
    # bool is an int, and a None or a str here would be a caller's bug: refuse before touching the database.
    if type(business_id) is not int or business_id <= 0:
        raise ValueError(f"evidence business_id must be a positive integer, not {business_id!r}")
    return business_id


def _last(session: Session, business_id: int) -> tuple[int, str]:
    # Straight on the transaction's connection: no autoflush of the caller's pending changes (they are flushed at
    # commit, in the same transaction), and nothing of the ORM is needed to read two columns.
    row = session.connection().exec_driver_sql(_LAST_SQL.format(_business(business_id))).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def head_hash(session: Session, *, business_id: int) -> str:
    """The hash of the business's latest entry (64 zeros when its chain is empty): the value to copy outside."""
    return _last(session, business_id)[1]


# On PostgreSQL the lock and the read go in one round trip: two statements of one simple query, each with its own
# snapshot, so the read sees the entry committed by the writer that held the lock before us. The two-key form of
# the advisory lock gives each business its own lock: appends of two businesses never wait for each other.
_PG_LOCK_AND_LAST = "SELECT pg_advisory_xact_lock(" + str(_PG_LOCK_KEY) + ", {0}); " + _LAST_SQL.replace("{}", "{0}")


def _lock_and_last(session: Session, business_id: int) -> tuple[int, str]:
    """Take the business's append lock for this transaction, then read its chain's last number and hash."""
    if session.get_bind().dialect.name != "postgresql":
        # On SQLite, write_session() began with BEGIN IMMEDIATE: this transaction already holds the only write lock.
        # Should a caller append from a deferred transaction, the unique (business_id, chain_seq) and the insert
        # trigger still stop a fork (the second writer fails instead of linking to the same previous entry).
        return _last(session, business_id)
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(_PG_LOCK_AND_LAST.format(_business(business_id)))
        cursor.nextset()
        row = cursor.fetchone()
    finally:
        cursor.close()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def record(
    session: Session,
    *,
    actor: str,
    kind: str,
    business_id: int,
    payload: dict[str, Any],
    client_id: int | None = None,
    invoice_id: int | None = None,
    reminder_id: int | None = None,
) -> EvidenceEntry:
    """Append one entry to the business's chain in the caller's transaction (committed with the change it records).

    The returned entry's `seq` is None: the database assigns that insertion number; `chain_seq` is its place.
    """
    if not actor or len(actor) > 64:
        raise ValueError("evidence actor must be 1 to 64 characters")
    if not kind or len(kind) > 40:
        raise ValueError("evidence kind must be 1 to 40 characters")
    if not isinstance(payload, Mapping):
        raise TypeError("evidence payload must be a dict")
    payload_text = canonical_json(dict(payload))
    last_seq, prev_hash = _lock_and_last(session, business_id)
    seq = last_seq + 1
    created_at = utcnow()
    digest = compute_hash(
        prev_hash,
        canonical_entry(
            seq=seq,
            created_at=format_timestamp(created_at),
            actor=actor,
            kind=kind,
            business_id=business_id,
            client_id=client_id,
            invoice_id=invoice_id,
            reminder_id=reminder_id,
            payload=payload_text,
        ),
    )
    values: dict[str, Any] = {
        "chain_seq": seq,
        "created_at": created_at,
        "actor": actor,
        "kind": kind,
        "business_id": business_id,
        "client_id": client_id,
        "invoice_id": invoice_id,
        "reminder_id": reminder_id,
        "payload": payload_text,
        "prev_hash": prev_hash,
        "hash": digest,
    }
    # A Core insert: the entry is never updated, so the ORM's unit of work would only add cost.
    session.connection().execute(_INSERT, values)
    return _detached_entry(values)


def _detached_entry(values: dict[str, Any]) -> EvidenceEntry:
    """An EvidenceEntry holding `values`, not attached to the session (the row is written by the Core insert).

    Built without SQLModel's validating constructor, which cost more than the insert itself; the values were
    produced above and are already of the right types.
    """
    global _mappers_ready
    if not _mappers_ready:
        # Attribute access on an instance built this way needs configured mappers, which SQLAlchemy otherwise only
        # sets up on the first ORM query: a process whose first ORM use is an append would fail to read the entry.
        configure_mappers()
        _mappers_ready = True
    entry: EvidenceEntry = _MANAGER.new_instance()
    entry.__dict__.update(values)
    object.__setattr__(entry, "__pydantic_fields_set__", set(values))
    return entry


def build_rows(
    items: Iterable[Mapping[str, Any]], *, business_id: int, start_seq: int = 1, prev_hash: str = GENESIS_HASH
) -> Iterator[dict[str, Any]]:
    """Rows of one business's chain with correct chain_seq, prev_hash and hash for a bulk insert (tests, benchmarks).

    Each item has actor, kind, payload (a dict) and optionally created_at and the three other references. The
    rows must follow the chain's current head (`start_seq`, `prev_hash`): the database refuses anything else.
    """
    _business(business_id)
    seq = start_seq
    for item in items:
        created_at = item.get("created_at") or utcnow()
        payload_text = canonical_json(dict(item["payload"]))
        row = {
            "chain_seq": seq,
            "created_at": created_at,
            "actor": item["actor"],
            "kind": item["kind"],
            "business_id": business_id,
            "client_id": item.get("client_id"),
            "invoice_id": item.get("invoice_id"),
            "reminder_id": item.get("reminder_id"),
            "payload": payload_text,
            "prev_hash": prev_hash,
        }
        row["hash"] = compute_hash(prev_hash, canonical_entry(**_hashed_fields(row)))
        prev_hash = row["hash"]
        seq += 1
        yield row


def _hashed_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["chain_seq"],
        "created_at": format_timestamp(row["created_at"]),
        "actor": row["actor"],
        "kind": row["kind"],
        "business_id": row["business_id"],
        "client_id": row["client_id"],
        "invoice_id": row["invoice_id"],
        "reminder_id": row["reminder_id"],
        "payload": row["payload"],
    }


def entry_canonical(entry: EvidenceEntry | Mapping[str, Any]) -> str:
    """The canonical JSON of a stored entry (what its hash covers, after the previous hash)."""
    row = entry if isinstance(entry, Mapping) else entry.model_dump()
    return canonical_entry(**_hashed_fields(row))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of re-checking one business's whole chain (sequence numbers are its chain_seq)."""

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None
    reason: str


def verify_chain(engine: Engine, *, business_id: int, expected_hashes: Iterable[str] = ()) -> VerifyResult:
    """Recompute every hash of the business's chain in order, streaming (constant memory); report the first break.

    `expected_hashes` are head hashes published earlier (digest footers): each must still be in the chain,
    which catches a log rewritten from some point on with freshly computed hashes.
    """
    expected = {h.strip().lower() for h in expected_hashes if h.strip()}
    cols = [
        _TABLE.c.chain_seq,
        _TABLE.c.created_at,
        _TABLE.c.actor,
        _TABLE.c.kind,
        _TABLE.c.business_id,
        _TABLE.c.client_id,
        _TABLE.c.invoice_id,
        _TABLE.c.reminder_id,
        _TABLE.c.payload,
        _TABLE.c.prev_hash,
        _TABLE.c.hash,
    ]
    stmt = select(*cols).where(_TABLE.c.business_id == _business(business_id)).order_by(_TABLE.c.chain_seq)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=_VERIFY_BATCH).execute(stmt)
        try:
            found = _walk(result, expected)
        finally:
            # Close the server-side cursor now, also when the walk stops at the first bad entry.
            result.close()
    return found


def _walk(result: Iterable[Any], expected: set[str]) -> VerifyResult:
    count = 0
    running = GENESIS_HASH
    expected_seq = 1
    sha = hashlib.sha256
    for seq, created_at, actor, kind, bid, cid, iid, rid, payload, prev, stored in result:
        if seq != expected_seq:
            if seq > expected_seq:
                reason = f"entry #{expected_seq} is missing (next entry found is #{seq})"
            else:
                reason = f"entry #{seq} is out of order (expected #{expected_seq})"
            return VerifyResult(False, count, running, expected_seq, reason)
        if prev != running:
            reason = f"entry #{seq} does not link to the previous entry (deleted, inserted or reordered entries)"
            return VerifyResult(False, count, running, seq, reason)
        canonical = canonical_entry(
            seq=seq,
            created_at=format_timestamp(created_at),
            actor=actor,
            kind=kind,
            business_id=bid,
            client_id=cid,
            invoice_id=iid,
            reminder_id=rid,
            payload=payload,
        )
        digest = sha((running + canonical).encode("utf-8")).hexdigest()
        if digest != stored:
            return VerifyResult(False, count, running, seq, f"entry #{seq} was altered (its hash does not match)")
        expected.discard(digest)
        running = digest
        count += 1
        expected_seq += 1
    if expected:
        missing = ", ".join(sorted(h[:16] + "…" for h in expected))
        return VerifyResult(False, count, running, None, f"published head hash(es) not found in the chain: {missing}")
    return VerifyResult(True, count, running, None, "ok")


def verify_all(engine: Engine) -> dict[int, VerifyResult]:
    """Every business's chain verified, by business id (a business without entries has a valid empty chain)."""
    with engine.connect() as conn:
        ids = [int(i) for i in conn.exec_driver_sql("SELECT id FROM business ORDER BY id").scalars()]
    return {business_id: verify_chain(engine, business_id=business_id) for business_id in ids}
