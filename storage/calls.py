"""Phone calls of the ladder: each attempt and outcome in the evidence log (`call_logged`), a completed call as the
step done, the owner's choice of the e-mail instead, and the calls read back for cards, /client and the dossier.

A completed call ("reached") marks the reminder sent, `sent_to` = "tel:<number>": the ladder's history counts it as
the step done (the next step follows after the ladder's interval), exactly like an e-mail that left. An attempt
without an answer changes only the reminder's version: the card stays, the step is not done.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from dunning.states import ReminderState
from storage.models import EvidenceEntry, Reminder
from storage.reminders import (
    StaleReminderError,
    UnknownReminderError,
    bump,
    invoice_ids_of,
    lock_awaiting,
)
from storage.types import utcnow

#: `sent_to` of a reminder done by a phone call.
CALLED_PREFIX = "tel:"
REACHED = "reached"
NO_ANSWER = "no_answer"
OUTCOMES = (REACHED, NO_ANSWER)
#: Evidence kinds.
CALL_LOGGED = "call_logged"
CHANNEL_CHANGED = "channel_changed"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call as the evidence log holds it: when, its outcome (reached, no_answer), the owner's note, the step."""

    at: datetime
    outcome: str
    note: str
    step: str
    reminder_id: int | None
    phone: str = ""


def is_call(sent_to: str | None) -> bool:
    """True for the `sent_to` of a reminder done by a phone call."""
    return bool(sent_to) and str(sent_to).startswith(CALLED_PREFIX)


def log_call(
    session: Session,
    *,
    business_id: int,
    reminder_id: int,
    expected_version: int,
    outcome: str,
    note: str,
    phone: str,
    actor: str,
    now: datetime | None = None,
) -> Reminder:
    """Log a call of a reminder waiting for the owner, at the version the card showed: `call_logged` (outcome,
    note, step, number, invoices); "reached" also marks the reminder sent by phone (the step is done), in the same
    transaction; "no_answer" leaves it waiting (its version moves on)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown call outcome {outcome!r}")
    reminder = lock_awaiting(session, reminder_id, business_id, expected_version)
    payload: dict[str, Any] = {
        "outcome": outcome,
        "note": note,
        "step": reminder.step,
        "phone": phone,
        "invoices": sorted(invoice_ids_of(session, reminder_id)),
    }
    # The first invoice (lowest id) is named on the entry itself: its dossier keeps the call even if the
    # reminder is later withdrawn from it (a payment, a promise); the others find it through the reminder.
    first = payload["invoices"][0] if payload["invoices"] else None
    bump(session, reminder, actor=actor, kind=CALL_LOGGED, payload=payload, invoice_id=first)
    if outcome == REACHED:
        previous = reminder.state
        bump(
            session,
            reminder,
            state=ReminderState.SENT,
            sent_at=now or utcnow(),
            sent_to=f"{CALLED_PREFIX}{phone}",
            actor=actor,
            kind="reminder_state",
            payload={"from": previous, "to": str(ReminderState.SENT), "reason": "called"},
        )
    return reminder


def choose_email(session: Session, *, business_id: int, reminder_id: int, expected_version: int, actor: str) -> None:
    """ "Envoyer plutôt l'e-mail": the reminder's card becomes the e-mail card of the same step (`channel_changed`)."""
    reminder = lock_awaiting(session, reminder_id, business_id, expected_version)
    bump(session, reminder, actor=actor, kind=CHANNEL_CHANGED,
         payload={"from": "phone", "to": "email", "step": reminder.step})  # fmt: skip


def email_chosen(session: Session, *, business_id: int, reminder_id: int) -> bool:
    """True when the owner chose the e-mail instead of the call for this reminder."""
    found = session.exec(
        select(EvidenceEntry.seq).where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.reminder_id == reminder_id,
            EvidenceEntry.kind == CHANNEL_CHANGED,
        )
    ).first()
    return found is not None


def lock_called(session: Session, *, business_id: int, reminder_id: int, expected_version: int) -> Reminder:
    """The reminder of a completed call at the version its card showed, locked, its version moved on (the card's
    Promesse / Litige / Payée act once); else StaleReminderError or UnknownReminderError."""
    stmt = select(Reminder).where(Reminder.id == reminder_id, Reminder.business_id == business_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    reminder = session.exec(stmt).first()
    if reminder is None:
        raise UnknownReminderError(f"reminder {reminder_id} not found")
    if reminder.version != expected_version or reminder.state != ReminderState.SENT or not is_call(reminder.sent_to):
        raise StaleReminderError(f"reminder {reminder_id} is not a completed call at version {expected_version}")
    bump(session, reminder)
    return reminder


def called_version(session: Session, *, business_id: int, reminder_id: int) -> int | None:
    """The version of a reminder done by a phone call (None for any other reminder)."""
    row = session.exec(
        select(Reminder.version, Reminder.state, Reminder.sent_to).where(
            Reminder.id == reminder_id, Reminder.business_id == business_id
        )
    ).first()
    if row is None or row[1] != ReminderState.SENT or not is_call(row[2]):
        return None
    return int(row[0])


def _record(entry: EvidenceEntry) -> CallRecord:
    data = json.loads(entry.payload)
    at = entry.created_at if entry.created_at.tzinfo else entry.created_at.replace(tzinfo=UTC)
    return CallRecord(at, str(data.get("outcome", "")), str(data.get("note", "")), str(data.get("step", "")),
                      entry.reminder_id, str(data.get("phone", "")))  # fmt: skip


def calls_of(session: Session, *, business_id: int, reminder_id: int) -> list[CallRecord]:
    """The calls logged on a reminder, oldest first."""
    entries = session.exec(
        select(EvidenceEntry)
        .where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.reminder_id == reminder_id,
            EvidenceEntry.kind == CALL_LOGGED,
        )
        .order_by(col(EvidenceEntry.chain_seq))
    ).all()
    return [_record(e) for e in entries]


def last_call(session: Session, *, business_id: int, client_id: int) -> CallRecord | None:
    """The client's latest logged call (attempt or conversation), None when they were never called."""
    entry = session.exec(
        select(EvidenceEntry)
        .where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.client_id == client_id,
            EvidenceEntry.kind == CALL_LOGGED,
        )
        .order_by(col(EvidenceEntry.chain_seq).desc())
        .limit(1)
    ).first()
    return _record(entry) if entry is not None else None


__all__ = [
    "CALLED_PREFIX",
    "CALL_LOGGED",
    "CHANNEL_CHANGED",
    "NO_ANSWER",
    "REACHED",
    "CallRecord",
    "called_version",
    "calls_of",
    "choose_email",
    "email_chosen",
    "is_call",
    "last_call",
    "lock_called",
    "log_call",
]
