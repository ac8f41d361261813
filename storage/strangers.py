"""Reading back the recent entries of one kind in a business's evidence log (the strangers refused today), cheaply:
newest first by primary key, in batches, never the whole table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from storage.models import EvidenceEntry

_TABLE = EvidenceEntry.__table__  # type: ignore[attr-defined]
_SEQ = _TABLE.c.seq


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def recent_entries(
    session: Session, *, business_id: int, kind: str, since: datetime, batch: int = 2000
) -> list[tuple[datetime, str]]:
    """The (created_at, payload) of this business's `kind` entries, newest first, read back until the entries of
    the log (every business's) are older than `since`; timestamps are aware (UTC).

    The log is read by primary key only (no index on kind): each batch is the `batch` entries before the last one
    seen, and filtering happens here. The last batch may reach a little past `since`; callers check each entry."""
    found: list[tuple[datetime, str]] = []
    before: int | None = None
    while True:
        query = select(_SEQ, _TABLE.c.created_at, _TABLE.c.kind, _TABLE.c.business_id, _TABLE.c.payload)
        if before is not None:
            query = query.where(_SEQ < before)
        rows = session.connection().execute(query.order_by(_SEQ.desc()).limit(batch)).all()
        for _seq, created_at, entry_kind, entry_business, payload in rows:
            if entry_kind == kind and entry_business == business_id:
                found.append((_aware(created_at), payload))
        if len(rows) < batch or _aware(rows[-1][1]) < since:
            return found
        before = int(rows[-1][0])
