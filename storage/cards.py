"""What a reminder's card needs besides the reminder: the chat messages showing it (per business, channel and
chat), the state of its e-mail in the outbox, and the one outbox change a card button makes (send now)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.evidence import record
from storage.models import Card, Outbox, Reminder


@dataclass(frozen=True, slots=True)
class OutboxState:
    """A reminder's e-mail in the outbox: its row, its state (queued, sending, sent, failed, unknown) and when it
    may leave."""

    id: int
    reminder_id: int
    state: str
    not_before: datetime


def business_reminders(session: Session, *, business_id: int, reminder_ids: Iterable[int]) -> set[int]:
    """Those of `reminder_ids` that are reminders of this business."""
    wanted = set(reminder_ids)
    found = session.exec(
        select(Reminder.id).where(Reminder.business_id == business_id, col(Reminder.id).in_(wanted))
    ).all()
    return {rid for rid in found if rid is not None}


def add_card(
    session: Session, *, business_id: int, channel: str, reminder_id: int, chat_id: str, message_id: str
) -> None:
    """Remember that a chat message of `channel` shows a reminder of this business (the caller checked it is)."""
    session.add(
        Card(business_id=business_id, channel=channel, reminder_id=reminder_id, chat_id=chat_id, message_id=message_id)
    )


def cards_of(session: Session, *, business_id: int, channel: str, reminder_id: int) -> list[tuple[str, str]]:
    """The (chat_id, message_id) of every card of this business showing the reminder in `channel`, oldest first."""
    rows = session.exec(
        select(Card.chat_id, Card.message_id)
        .where(Card.business_id == business_id, Card.channel == channel, Card.reminder_id == reminder_id)
        .order_by(col(Card.id))
    ).all()
    return [(chat_id, message_id) for chat_id, message_id in rows]


def outbox_state(session: Session, *, business_id: int, reminder_id: int) -> OutboxState | None:
    """The reminder's e-mail in the outbox, or None when it was never queued."""
    row = session.exec(
        select(Outbox.id, Outbox.state, Outbox.not_before).where(
            Outbox.business_id == business_id, Outbox.reminder_id == reminder_id
        )
    ).first()
    if row is None:
        return None
    outbox_id, state, not_before = row
    assert outbox_id is not None
    return OutboxState(outbox_id, reminder_id, state, not_before)


def send_now(
    session: Session, *, business_id: int, reminder_id: int, outbox_id: int, now: datetime, actor: str
) -> None:
    """Envoyer maintenant: the queued e-mail may leave at once (not waiting for the sending window); logged."""
    outbox = session.get(Outbox, outbox_id)
    if outbox is None or outbox.business_id != business_id or outbox.reminder_id != reminder_id:
        raise LookupError(f"outbox row {outbox_id} is not reminder {reminder_id}'s")
    outbox.not_before = now
    outbox.updated_at = now
    session.add(outbox)
    record(session, actor=actor, kind="send_now_requested", business_id=business_id, reminder_id=reminder_id,
           payload={"outbox_id": outbox_id})  # fmt: skip
