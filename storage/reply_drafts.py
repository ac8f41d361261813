"""The owner's answer to a client's e-mail (↩️ Répondre on a reply card): a draft outside the ladder of kind "reply",
tied to the received message it answers by a `reply_drafted` evidence entry (written in the same transaction as
the draft), so the e-mail that leaves carries that message's Message-ID in In-Reply-To and References.

Every function takes `business_id` explicitly and returns frozen dataclasses, never the table rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.evidence import record
from storage.models import EvidenceEntry, ReceivedEmail

__all__ = ["ReplySource", "link_reply_draft", "reply_source"]

#: The evidence kind that ties an answer's draft to the message it answers.
REPLY_DRAFTED = "reply_drafted"


@dataclass(frozen=True, slots=True)
class ReplySource:
    """The client's message an answer's draft answers."""

    received_id: int
    message_id: str
    subject: str
    raw_path: str


def link_reply_draft(
    session: Session, *, business_id: int, client_id: int, reminder_id: int, received_id: int, actor: str
) -> None:
    """Tie the draft `reminder_id` to the received message it answers (evidence `reply_drafted`)."""
    received = session.get(ReceivedEmail, received_id)
    if received is None or received.business_id != business_id:
        raise LookupError(f"no received message {received_id}")
    record(
        session,
        actor=actor,
        kind=REPLY_DRAFTED,
        business_id=business_id,
        client_id=client_id,
        reminder_id=reminder_id,
        payload={"received_id": received_id, "in_reply_to": received.message_id, "subject": received.subject},
    )


def reply_source(session: Session, *, business_id: int, reminder_id: int) -> ReplySource | None:
    """The message the draft `reminder_id` answers (the latest `reply_drafted` entry of it), or None."""
    entry = session.exec(
        select(EvidenceEntry.payload)
        .where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.reminder_id == reminder_id,
            EvidenceEntry.kind == REPLY_DRAFTED,
        )
        .order_by(col(EvidenceEntry.chain_seq).desc())
    ).first()
    if entry is None:
        return None
    received_id = int(json.loads(entry).get("received_id", 0))
    received = session.get(ReceivedEmail, received_id)
    if received is None or received.business_id != business_id:
        return None
    assert received.id is not None
    return ReplySource(received.id, received.message_id, received.subject, received.raw_path)
