"""The outbox queue: approved e-mails waiting for delivery, each step a committed state change with its evidence entry.

States of a row: queued -> sending -> sent | failed | unknown (and sending -> queued again after a 4xx reply).
`claim_next` marks a row `sending` and commits before the caller opens the SMTP conversation, so a crash can never
lead to an automatic second delivery: a row found in `sending` later is `unknown` and waits for the owner's word.

Persistence only: the message arrives already built (services.outbox builds it with messages.mime) and the SMTP
conversation happens elsewhere; this module stores the bytes, hands rows out and writes down what became of them.
Every function takes `business_id` explicitly and returns frozen dataclasses, never the table rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dunning.states import ReminderState
from storage import workers
from storage.db import read_session, write_session
from storage.evidence import record
from storage.models import EvidenceEntry, Outbox, Reminder, ReminderInvoice
from storage.reminders import StaleReminderError, bump
from storage.types import utcnow

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "STALE_SENDING_AFTER",
    "AlreadyQueuedError",
    "AttachmentFacts",
    "Claim",
    "DeliveryResult",
    "NotUncertainError",
    "OutboxError",
    "OutboxItem",
    "OutboxRowState",
    "QueuedMessage",
    "SmtpVerdict",
    "attachment_facts",
    "claim_next",
    "confirm_left",
    "enqueue",
    "for_reminder",
    "mark_reported",
    "mark_unknown",
    "pending_unknown",
    "record_outcome",
    "recover_unknown_at_startup",
    "reminder_business",
    "resend_unknown",
    "unreported",
]

#: The states of an outbox row (storage.cards.OutboxState is the slim view of a row a card shows).
OutboxRowState = Literal["queued", "sending", "sent", "failed", "unknown"]
#: What the transport made of one attempt: accepted, deferred (4xx, nothing sent), refused (5xx), or no telling.
SmtpVerdict = Literal["sent", "retry", "failed", "unknown"]

#: Wait before the 2nd, 3rd, 4th and 5th try after a 4xx reply (about 1 min, 5 min, 30 min, 2 h).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = 5
#: A row still `sending` this long after its claim belongs to a sender that died: its outcome is unknown.
STALE_SENDING_AFTER = timedelta(minutes=15)
SYSTEM_ACTOR = "system"
_QUEUEABLE = (ReminderState.PENDING, ReminderState.FAILED)
#: The outcomes the chats are told of (a card edited, the owners warned), once each (`mark_reported`).
_TOLD_STATES = ("sent", "failed", "unknown")
#: The reply `mark_unknown` writes for a sender that stopped mid-way (no SMTP answer tells when the message left).
_INTERRUPTED_REPLY = "sender stopped while sending: outcome unknown"
#: Entries after which a row waits in the queue: the claim that sent it came after the latest of them.
_QUEUE_KINDS = ("email_queued", "email_resend_requested", "send_now_requested", "smtp_deferred")


class OutboxError(Exception):
    """An outbox operation was refused; the message says why.

    A reminder that is no longer waiting for approval is not an outbox error but the one StaleReminderError of
    storage.reminders, so every caller handles a stale card the same way whatever refused it.
    """


class AlreadyQueuedError(StaleReminderError):
    """This reminder already has its e-mail in the outbox (a second tap, another process, an old card)."""


class NotUncertainError(OutboxError):
    """Sending again (or confirming) was asked for a message whose outcome is not unknown (any more)."""


@dataclass(frozen=True, slots=True)
class AttachmentFacts:
    """What the evidence log keeps of an attachment: its name, type, size and digest (the bytes are in the message)."""

    filename: str
    mime_type: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """An approved e-mail, built by the caller: the exact bytes for the server and the facts the evidence keeps."""

    message_id: str
    mail_from: str  # as written in the From header ("Atelier Dupont <factures@...>")
    envelope_from: str  # the bare MAIL FROM address
    reply_to: str | None
    recipients: tuple[str, ...]  # the normalised RCPT TO addresses, stored as they are sent
    subject: str
    text: str
    html: str | None
    attachments: tuple[AttachmentFacts, ...]
    raw: bytes  # 7-bit MIME (quoted-printable and base64 parts)
    built_at: datetime  # its Date header


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One outbox row as its callers see it."""

    id: int
    business_id: int
    reminder_id: int
    state: str
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    subject: str
    raw_message: bytes
    attempts: int
    not_before: datetime
    last_reply: str | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """A row handed to one sender, already committed as `sending`: what to put on the wire."""

    outbox_id: int
    reminder_id: int
    business_id: int
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one outbox row, for the adapters (edit the card, tell the owner about failures)."""

    outbox_id: int
    reminder_id: int
    business_id: int
    outcome: SmtpVerdict
    reply: str  # the server's reply line, or why there was none
    message_id: str
    recipients: tuple[str, ...]
    attempts: int
    sent_at: datetime | None = None
    next_attempt: datetime | None = None
    #: The SMTP server could not be reached at all (no reply): the row waits in the queue, the try not counted.
    unreachable: bool = False


def _for_update(session: Session, stmt: Any, **kw: Any) -> Any:
    # SQLite has no row locks: the BEGIN IMMEDIATE of write_session already serialises writers.
    return stmt.with_for_update(**kw) if session.get_bind().dialect.name == "postgresql" else stmt


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _split(recipients: str) -> tuple[str, ...]:
    return tuple(r for r in recipients.split(",") if r)


def _item(outbox: Outbox) -> OutboxItem:
    assert outbox.id is not None
    return OutboxItem(
        id=outbox.id,
        business_id=outbox.business_id,
        reminder_id=outbox.reminder_id,
        state=outbox.state,
        message_id=outbox.message_id,
        mail_from=outbox.mail_from,
        recipients=_split(outbox.recipients),
        subject=outbox.subject,
        raw_message=bytes(outbox.raw_message),  # PostgreSQL hands back a memoryview
        attempts=outbox.attempts,
        not_before=outbox.not_before,
        last_reply=outbox.last_reply,
        sent_at=outbox.sent_at,
        created_at=outbox.created_at,
        updated_at=outbox.updated_at,
    )


def _row(session: Session, business_id: int, outbox_id: int) -> Outbox | None:
    """The business's row, locked for this transaction (another business's id reads as no row at all)."""
    stmt = select(Outbox).where(Outbox.id == outbox_id, Outbox.business_id == business_id)
    return session.exec(_for_update(session, stmt)).first()


def _set_reminder(session: Session, reminder_id: int, state: ReminderState, **extra: Any) -> Reminder | None:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        return None
    return bump(session, reminder, state=state, **extra)


def _single_invoice(session: Session, reminder_id: int) -> int | None:
    ids = session.exec(
        select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == reminder_id).limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None


def _record(
    session: Session, *, actor: str, kind: str, business_id: int, reminder_id: int, payload: dict[str, Any]
) -> None:
    """Log an outbox event in the caller's transaction, naming its reminder and, when the reminder covers a
    single invoice, that invoice."""
    record(
        session,
        actor=actor,
        kind=kind,
        business_id=business_id,
        reminder_id=reminder_id,
        invoice_id=_single_invoice(session, reminder_id),
        payload=payload,
    )


# --- queueing ------------------------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    business_id: int,
    reminder_id: int,
    expected_version: int | None,
    message: QueuedMessage,
    actor: str,
    not_before: datetime,
) -> OutboxItem:
    """Approve a reminder of `business_id`: put its built e-mail in the outbox, in the caller's transaction.

    Raises StaleReminderError (no such reminder in this business, not waiting for approval, another version) or
    AlreadyQueuedError. The reminder becomes "approved" and the exact text approved goes to the evidence log.
    """
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    stmt = select(Reminder).where(Reminder.id == reminder_id, Reminder.business_id == business_id)
    reminder = session.exec(_for_update(session, stmt)).first()
    if reminder is None:
        raise StaleReminderError(f"reminder {reminder_id} does not exist")
    existing = session.exec(select(Outbox).where(Outbox.reminder_id == reminder_id)).first()
    requeue = existing is not None and existing.state == "failed" and reminder.state == ReminderState.FAILED
    if existing is not None and not requeue:
        raise AlreadyQueuedError(f"reminder {reminder_id} is already in the outbox ({existing.state})")
    if reminder.state not in _QUEUEABLE:
        raise StaleReminderError(f"reminder {reminder_id} is {reminder.state}")
    if expected_version is not None and reminder.version != expected_version:
        raise StaleReminderError(f"reminder {reminder_id} changed (version {reminder.version})")

    now = message.built_at
    fields: dict[str, Any] = {
        "state": "queued",
        "message_id": message.message_id,
        "mail_from": message.envelope_from,
        "recipients": ",".join(message.recipients),
        "subject": message.subject[:300],
        "raw_message": message.raw,
        "attempts": 0,
        "not_before": not_before,
        "last_reply": None,
        "sent_at": None,
        "updated_at": now,
    }
    if existing is not None:
        outbox = existing
        for key, value in fields.items():
            setattr(outbox, key, value)
    else:
        outbox = Outbox(business_id=business_id, reminder_id=reminder_id, created_at=now, **fields)
    session.add(outbox)
    try:
        session.flush()
    except IntegrityError as exc:
        # Only reachable when the caller's transaction does not serialise writers (see write_session).
        raise AlreadyQueuedError(f"reminder {reminder_id} is already in the outbox") from exc

    previous_state = reminder.state
    invoice_ids = sorted(
        session.exec(select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == reminder_id)).all()
    )
    bump(
        session,
        reminder,
        state=ReminderState.APPROVED,
        at=now,
        actor=actor,
        kind="email_queued",
        invoice_id=invoice_ids[0] if len(invoice_ids) == 1 else None,
        payload={
            "outbox_id": outbox.id,
            "invoice_ids": invoice_ids,
            "previous_state": str(previous_state),
            "requeued_after_failure": requeue,
            "message_id": message.message_id,
            "mail_from": message.mail_from,
            "reply_to": message.reply_to,
            "recipients": list(message.recipients),
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "attachments": [
                {"filename": a.filename, "mime_type": a.mime_type, "size": a.size, "sha256": a.sha256}
                for a in message.attachments
            ],
            "not_before": not_before,
            "raw_sha256": _sha256(message.raw),
            # The message is 7-bit (quoted-printable and base64 parts): the exact bytes handed to the server.
            "raw_message": message.raw.decode("ascii"),
        },
    )
    return _item(outbox)


def attachment_facts(filename: str, mime_type: str, content: bytes) -> AttachmentFacts:
    """The evidence facts of one attachment's bytes."""
    return AttachmentFacts(filename=filename, mime_type=mime_type, size=len(content), sha256=_sha256(content))


def reminder_business(session: Session, reminder_id: int) -> int | None:
    """The business a reminder belongs to (for callers that hold a reminder id checked against their business)."""
    reminder = session.get(Reminder, reminder_id)
    return None if reminder is None else reminder.business_id


# --- delivery ------------------------------------------------------------------------------------------------


def claim_next(
    engine: Engine, business_id: int, now: datetime, *, checkpoint: Callable[[str], None] | None = None
) -> Claim | None:
    """Take the business's next row due at `now`: mark it `sending` and commit, before any byte goes to the SMTP
    server. Safe from several processes at once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a
    time). `checkpoint("before_commit")` lets the crash tests kill the sender inside the transaction."""
    with write_session(engine) as session:
        stmt = (
            select(Outbox)
            .where(Outbox.business_id == business_id, Outbox.state == "queued", col(Outbox.not_before) <= now)
            .order_by(col(Outbox.not_before), col(Outbox.id))
            .limit(1)
        )
        outbox = session.exec(_for_update(session, stmt, skip_locked=True)).first()
        if outbox is None:
            return None
        outbox.state = "sending"
        outbox.claimed_by = workers.ensure_lease(engine)  # a restart, or another process, knows whether we live
        outbox.attempts += 1
        outbox.updated_at = utcnow()
        session.add(outbox)
        _set_reminder(session, outbox.reminder_id, ReminderState.SENDING)
        session.flush()
        if checkpoint is not None:
            checkpoint("before_commit")
        assert outbox.id is not None
        claim = Claim(
            outbox_id=outbox.id,
            reminder_id=outbox.reminder_id,
            business_id=outbox.business_id,
            message_id=outbox.message_id,
            mail_from=outbox.mail_from,
            recipients=_split(outbox.recipients),
            raw=bytes(outbox.raw_message),
            attempts=outbox.attempts,
        )
    return claim


def record_outcome(
    engine: Engine,
    business_id: int,
    claim: Claim,
    outcome: SmtpVerdict,
    reply: str,
    *,
    now: datetime,
    unreachable: bool = False,
) -> DeliveryResult:
    """Write what the SMTP server said about `claim`: outbox row, reminder and evidence entry, in one transaction.

    A 4xx (`retry`) puts the row back in the queue after the next RETRY_DELAYS step, or fails it after
    MAX_ATTEMPTS tries. A server that could not be reached at all (`unreachable`, nothing sent) puts it back after
    the first step without counting the try: an outage of any length never fails a message. A row turned `unknown`
    meanwhile (another process started up) still gets the real answer.
    """
    unreachable = unreachable and outcome == "retry"
    if claim.business_id != business_id:
        raise OutboxError(f"outbox row {claim.outbox_id} is not of business {business_id}")
    sent_at: datetime | None = None
    next_attempt: datetime | None = None
    with write_session(engine) as session:
        outbox = _row(session, business_id, claim.outbox_id)
        if outbox is None:
            raise OutboxError(f"outbox row {claim.outbox_id} does not exist")
        updatable = outbox.state in ("sending", "unknown")
        if outcome == "retry" and claim.attempts >= MAX_ATTEMPTS and not unreachable:
            outcome = "failed"
            reply = f"{reply} (gave up after {MAX_ATTEMPTS} tries)"
        stamp = utcnow()
        payload: dict[str, Any] = {
            "outbox_id": claim.outbox_id,
            "message_id": claim.message_id,
            "recipients": list(claim.recipients),
            "attempt": claim.attempts,
            "reply": reply,
            "raw_sha256": _sha256(claim.raw),
        }
        if updatable:
            outbox.last_reply = reply[:1000]
            outbox.updated_at = stamp
            outbox.reported_at = None  # this outcome is still to be told (mark_reported once the chats know)
            if outcome == "sent":
                sent_at = stamp
                outbox.state = "sent"
                outbox.sent_at = stamp
                _set_reminder(
                    session, claim.reminder_id, ReminderState.SENT, sent_at=stamp, sent_to=", ".join(claim.recipients)
                )
            elif outcome == "retry":
                step = 1 if unreachable else min(claim.attempts, len(RETRY_DELAYS))
                next_attempt = now + RETRY_DELAYS[step - 1]
                if unreachable:
                    outbox.attempts = max(0, claim.attempts - 1)  # nothing reached a server: not one of the tries
                    payload["unreachable"] = True
                outbox.state = "queued"
                outbox.not_before = next_attempt
                payload["next_attempt"] = next_attempt
                _set_reminder(session, claim.reminder_id, ReminderState.APPROVED)
            elif outcome == "failed":
                outbox.state = "failed"
                _set_reminder(session, claim.reminder_id, ReminderState.FAILED)
            else:
                outbox.state = "unknown"
            session.add(outbox)
        else:
            payload["note"] = f"outbox row was {outbox.state}; left unchanged"
        kind = {
            "sent": "smtp_accepted",
            "retry": "smtp_deferred",
            "failed": "smtp_failed",
            "unknown": "smtp_unknown",
        }[outcome]
        _record(
            session,
            actor=SYSTEM_ACTOR,
            kind=kind,
            business_id=business_id,
            reminder_id=claim.reminder_id,
            payload=payload,
        )
    return DeliveryResult(
        outbox_id=claim.outbox_id,
        reminder_id=claim.reminder_id,
        business_id=business_id,
        outcome=outcome,
        reply=reply,
        message_id=claim.message_id,
        recipients=claim.recipients,
        attempts=claim.attempts,
        sent_at=sent_at,
        next_attempt=next_attempt,
        unreachable=unreachable and updatable,
    )


def mark_unknown(engine: Engine, business_id: int, *, older_than: datetime | None) -> list[DeliveryResult]:
    """Turn the business's rows left in `sending` by a process that died (storage/workers.py: its lease is gone),
    or claimed before `older_than` (a sender stuck that long), into `unknown`, each with an evidence entry: a sender
    stopped mid-way, so nobody knows whether the server got the message. A row a live process is sending is left
    alone, whichever process asks."""
    results: list[DeliveryResult] = []
    # First a plain read (every tick of every business asks; usually nothing is in `sending`, or only live
    # processes' rows): the write transaction and its row locks are taken only when there is something to mark.
    with read_session(engine) as session:
        found = session.exec(
            select(Outbox.id, Outbox.claimed_by, Outbox.updated_at).where(
                Outbox.business_id == business_id, Outbox.state == "sending"
            )
        ).all()
    verdicts: dict[str | None, bool] = {}
    for _, holder, _ in found:
        if holder not in verdicts:
            verdicts[holder] = workers.alive(engine, holder)
    wanted = {
        row_id: holder
        for row_id, holder, updated_at in found
        if not verdicts[holder] or (older_than is not None and updated_at < older_than)
    }
    if not wanted:
        return results
    with write_session(engine) as session:
        stmt = select(Outbox).where(col(Outbox.id).in_(list(wanted)), Outbox.state == "sending")
        locked = session.exec(_for_update(session, stmt.order_by(col(Outbox.id)), skip_locked=True)).all()
        # Still claimed by the process judged dead (not claimed again by a live one since the read).
        rows = [outbox for outbox in locked if outbox.claimed_by == wanted[outbox.id or 0]]
        for outbox in rows:
            outbox.state = "unknown"
            outbox.last_reply = _INTERRUPTED_REPLY
            outbox.updated_at = utcnow()
            outbox.reported_at = None
            session.add(outbox)
            assert outbox.id is not None
            recipients = _split(outbox.recipients)
            _record(
                session,
                actor=SYSTEM_ACTOR,
                kind="smtp_unknown",
                business_id=business_id,
                reminder_id=outbox.reminder_id,
                payload={
                    "outbox_id": outbox.id,
                    "message_id": outbox.message_id,
                    "recipients": list(recipients),
                    "attempt": outbox.attempts,
                    "reply": _INTERRUPTED_REPLY,
                },
            )
            results.append(
                DeliveryResult(
                    outbox_id=outbox.id,
                    reminder_id=outbox.reminder_id,
                    business_id=business_id,
                    outcome="unknown",
                    reply=_INTERRUPTED_REPLY,
                    message_id=outbox.message_id,
                    recipients=recipients,
                    attempts=outbox.attempts,
                )
            )
    return results


def mark_reported(engine: Engine, business_id: int, outbox_id: int) -> None:
    """The chats were told of the row's last outcome (cards edited, owners warned): no process tells it again."""
    with write_session(engine) as session:
        outbox = _row(session, business_id, outbox_id)
        if outbox is not None and outbox.state in _TOLD_STATES and outbox.reported_at is None:
            outbox.reported_at = utcnow()
            session.add(outbox)


def unreported(engine: Engine, business_id: int) -> list[DeliveryResult]:
    """The outcomes recorded by a process that died before telling the chats (kill -9 between the two): each as the
    result it would have reported, for the caller to tell now. A live process's own are left to it."""
    with read_session(engine) as session:
        rows = session.exec(
            select(Outbox)
            .where(
                Outbox.business_id == business_id,
                col(Outbox.state).in_(_TOLD_STATES),
                col(Outbox.reported_at).is_(None),
            )
            .order_by(col(Outbox.id))
        ).all()
    verdicts: dict[str | None, bool] = {}
    results: list[DeliveryResult] = []
    for outbox in rows:
        if outbox.claimed_by not in verdicts:
            verdicts[outbox.claimed_by] = workers.alive(engine, outbox.claimed_by)
        if verdicts[outbox.claimed_by]:
            continue
        assert outbox.id is not None
        results.append(
            DeliveryResult(
                outbox_id=outbox.id,
                reminder_id=outbox.reminder_id,
                business_id=business_id,
                outcome=cast(SmtpVerdict, outbox.state),
                reply=outbox.last_reply or "",
                message_id=outbox.message_id,
                recipients=_split(outbox.recipients),
                attempts=outbox.attempts,
                sent_at=outbox.sent_at,
            )
        )
    return results


def recover_unknown_at_startup(engine: Engine, business_id: int) -> list[DeliveryResult]:
    """At start-up, the business's rows found in `sending` by a process that is gone (the one we replace, killed
    or stopped mid-way) were interrupted: mark them `unknown` (never re-sent on our own). A row another live worker
    is sending right now is its own."""
    return mark_unknown(engine, business_id, older_than=None)


# --- the owner's word ----------------------------------------------------------------------------------------


def resend_unknown(session: Session, *, business_id: int, outbox_id: int, actor: str) -> OutboxItem:
    """The owner asked to send a message of unknown outcome again: queue it now, same Message-ID, same bytes.

    Raises NotUncertainError when the row is not (or no longer) unknown, or is not this business's.
    """
    outbox = _row(session, business_id, outbox_id)
    if outbox is None:
        raise NotUncertainError(f"outbox row {outbox_id} does not exist")
    if outbox.state != "unknown":
        raise NotUncertainError(f"outbox row {outbox_id} is {outbox.state}")
    now = utcnow()
    outbox.state = "queued"
    outbox.not_before = now
    outbox.attempts = 0
    outbox.updated_at = now
    session.add(outbox)
    _set_reminder(session, outbox.reminder_id, ReminderState.APPROVED)
    _record(
        session,
        actor=actor,
        kind="email_resend_requested",
        business_id=business_id,
        reminder_id=outbox.reminder_id,
        payload={"outbox_id": outbox_id, "message_id": outbox.message_id, "last_reply": outbox.last_reply},
    )
    return _item(outbox)


def _left_at(session: Session, outbox: Outbox) -> tuple[datetime, str]:
    """When a message of uncertain outcome left, and how we know: the end of its SMTP conversation when the server's
    answer was uncertain, else (the sender stopped) the earliest moment its last claim could have happened."""
    entries = session.exec(
        select(EvidenceEntry)
        .where(
            EvidenceEntry.business_id == outbox.business_id,
            EvidenceEntry.reminder_id == outbox.reminder_id,
            col(EvidenceEntry.kind).in_(("smtp_unknown", *_QUEUE_KINDS)),
        )
        .order_by(col(EvidenceEntry.seq))
    ).all()
    last_queued: datetime | None = None
    last_unknown: EvidenceEntry | None = None
    for entry in entries:
        if entry.kind == "smtp_unknown":
            last_unknown = entry
        else:
            last_queued = entry.created_at
            last_unknown = None  # an uncertain answer before a new try says nothing about the last one
    if last_unknown is not None and json.loads(last_unknown.payload).get("reply") != _INTERRUPTED_REPLY:
        return last_unknown.created_at, "smtp_conversation"
    earliest = outbox.not_before if last_queued is None else max(outbox.not_before, last_queued)
    return earliest, "earliest_claim"


def confirm_left(session: Session, *, business_id: int, outbox_id: int, actor: str) -> OutboxItem:
    """The owner checked (their sent mail, the client) that a message of unknown outcome did leave: the row is
    `sent` and its reminder counts as sent when the message left, so the ladder goes on from that day.

    Raises NotUncertainError when the row's outcome is no longer unknown (a second tap, a late SMTP answer) or the
    row is not this business's.
    """
    outbox = _row(session, business_id, outbox_id)
    if outbox is None:
        raise NotUncertainError(f"outbox row {outbox_id} does not exist")
    if outbox.state != "unknown":
        raise NotUncertainError(f"outbox row {outbox_id} is {outbox.state}")
    left_at, basis = _left_at(session, outbox)
    recipients = list(_split(outbox.recipients))
    outbox.reported_at = utcnow()  # the owner said so: nothing to tell
    outbox.state = "sent"
    outbox.sent_at = left_at
    outbox.updated_at = utcnow()
    session.add(outbox)
    _set_reminder(session, outbox.reminder_id, ReminderState.SENT, sent_at=left_at, sent_to=", ".join(recipients))
    _record(
        session,
        actor=actor,
        kind="smtp_confirmed_by_owner",
        business_id=business_id,
        reminder_id=outbox.reminder_id,
        payload={
            "outbox_id": outbox_id,
            "message_id": outbox.message_id,
            "recipients": recipients,
            "left_at": left_at,
            "left_at_basis": basis,
            "last_reply": outbox.last_reply,
        },
    )
    return _item(outbox)


# --- reading -------------------------------------------------------------------------------------------------


def for_reminder(session: Session, business_id: int, reminder_id: int) -> OutboxItem | None:
    """The outbox row of one of the business's reminders, if it was ever approved."""
    outbox = session.exec(
        select(Outbox).where(Outbox.reminder_id == reminder_id, Outbox.business_id == business_id)
    ).first()
    return None if outbox is None else _item(outbox)


def pending_unknown(session: Session, business_id: int) -> list[OutboxItem]:
    """The business's rows whose outcome is unknown (shown as "statut incertain" with a button to send again)."""
    stmt = select(Outbox).where(Outbox.business_id == business_id, Outbox.state == "unknown")
    return [_item(row) for row in session.exec(stmt.order_by(col(Outbox.id))).all()]
