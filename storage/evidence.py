"""The append-only, hash-chained evidence log: every step of a claim, provable in court."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.models import EvidenceEntry
from storage.types import utcnow

GENESIS_HASH = "0" * 64
# Any constant works: it only has to be the same for every writer of the log.
_PG_LOCK_KEY = 0x52454C41


def canonical_json(entry: dict[str, Any]) -> str:
    """The canonical JSON form that is hashed: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_body(
    *,
    seq: int,
    created_at: datetime,
    actor: str,
    kind: str,
    business_id: int | None,
    client_id: int | None,
    invoice_id: int | None,
    reminder_id: int | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """The fields of an entry that its hash covers."""
    return {
        "seq": seq,
        "created_at": created_at.isoformat(),
        "actor": actor,
        "kind": kind,
        "business_id": business_id,
        "client_id": client_id,
        "invoice_id": invoice_id,
        "reminder_id": reminder_id,
        "payload": payload,
    }


def chain_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """SHA-256 of the previous hash followed by the entry's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def _last(session: Session) -> tuple[int, str]:
    row = session.exec(
        select(EvidenceEntry.seq, EvidenceEntry.hash).order_by(col(EvidenceEntry.seq).desc()).limit(1)
    ).first()
    return (int(row[0] or 0), row[1]) if row else (0, GENESIS_HASH)


def record(
    session: Session,
    *,
    actor: str,
    kind: str,
    payload: dict[str, Any],
    business_id: int | None = None,
    client_id: int | None = None,
    invoice_id: int | None = None,
    reminder_id: int | None = None,
) -> EvidenceEntry:
    """Append one entry in the caller's transaction (the caller commits it together with the change it records)."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Serialise appends across processes until this transaction ends.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last_seq, prev_hash = _last(session)
    created_at = utcnow()
    # Round-trip the payload through JSON so what is hashed is exactly what is stored.
    payload = json.loads(canonical_json(payload))
    body = entry_body(
        seq=last_seq + 1,
        created_at=created_at,
        actor=actor,
        kind=kind,
        business_id=business_id,
        client_id=client_id,
        invoice_id=invoice_id,
        reminder_id=reminder_id,
        payload=payload,
    )
    entry = EvidenceEntry(
        seq=last_seq + 1,
        created_at=created_at,
        actor=actor,
        kind=kind,
        business_id=business_id,
        client_id=client_id,
        invoice_id=invoice_id,
        reminder_id=reminder_id,
        payload=canonical_json(payload),
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, body),
    )
    session.add(entry)
    session.flush()
    return entry
