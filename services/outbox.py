"""The outbox: approved e-mails waiting for delivery, sent at most once, every step written to the evidence log.

States of a row: queued -> sending -> sent | failed | unknown (and sending -> queued again after a 4xx reply).
A row is marked `sending` and committed before the SMTP conversation starts, so a crash can never lead to an
automatic second delivery: a row found in `sending` later is `unknown` and waits for the owner's decision.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dunning.states import ReminderState
from messages.delivery import (
    DeliveryError,
    PermanentDeliveryError,
    SmtpConfig,
    SmtpReply,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    send_message,
)
from messages.mime import DraftLike, HeaderInjectionError, build_message, envelope_address, make_message_id
from storage.db import write_session
from storage.evidence import record
from storage.models import Outbox, Reminder, ReminderInvoice
from storage.reminders import StaleReminderError, bump
from storage.types import utcnow

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "AlreadyQueuedError",
    "DeliveryResult",
    "HeaderInjectionError",
    "NotUncertainError",
    "OutboxError",
    "OutboxState",
    "StaleReminderError",
    "deliver_due",
    "queue_reminder",
    "recover_unknown_at_startup",
    "resend_unknown",
]

OutboxState = Literal["queued", "sending", "sent", "failed", "unknown"]
Outcome = Literal["sent", "retry", "failed", "unknown"]

#: Wait before the 2nd, 3rd, 4th and 5th try after a 4xx reply (about 1 min, 5 min, 30 min, 2 h).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))
MAX_ATTEMPTS = 5
#: A row still `sending` this long after its claim belongs to a sender that died: its outcome is unknown.
STALE_SENDING_AFTER = timedelta(minutes=15)
SYSTEM_ACTOR = "system"
_QUEUEABLE = (ReminderState.PENDING, ReminderState.FAILED)

#: Test-only hook called at named points ("before_commit", "after_commit", "data_half", "after_reply",
#: "after_update") so crash tests can kill the sender at an exact place. None in production.
crash_hook: Callable[[str], None] | None = None


def _checkpoint(name: str) -> None:
    if crash_hook is not None:
        crash_hook(name)


class OutboxError(Exception):
    """An outbox operation was refused; the message says why.

    A reminder that is no longer waiting for approval is not an outbox error but the one StaleReminderError of
    storage.reminders, so every caller handles a stale card the same way whatever refused it.
    """


class AlreadyQueuedError(StaleReminderError):
    """This reminder already has its e-mail in the outbox (a second tap, another process, an old card)."""


class NotUncertainError(OutboxError):
    """Sending again was asked for a message whose outcome is not unknown (any more)."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What became of one outbox row, for the chat (edit the card, tell the owner about failures)."""

    outbox_id: int
    reminder_id: int
    business_id: int
    outcome: Outcome
    reply: str  # the server's reply line, or why there was none
    message_id: str
    recipients: tuple[str, ...]
    attempts: int
    sent_at: datetime | None = None
    next_attempt: datetime | None = None


def _for_update(session: Session, stmt: Any, **kw: Any) -> Any:
    # SQLite has no row locks: the BEGIN IMMEDIATE of write_session already serialises writers.
    return stmt.with_for_update(**kw) if session.get_bind().dialect.name == "postgresql" else stmt


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def queue_reminder(
    session: Session,
    *,
    reminder_id: int,
    expected_version: int | None,
    draft: DraftLike,
    mail_from: str,
    reply_to: str | None,
    recipients: list[str],
    actor: str,
    not_before: datetime,
) -> Outbox:
    """Approve a reminder: build its e-mail and put it in the outbox, in the caller's transaction.

    Raises HeaderInjectionError (CR/LF in a header value), InvalidAddressError, StaleReminderError or
    AlreadyQueuedError. The reminder becomes "approved" and the exact text approved goes to the evidence log.
    """
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    # Refuse bad headers before touching the database (build_message checks them all again).
    recipients = [envelope_address(rcpt, name="recipients") for rcpt in recipients]  # normalised: stored as sent
    envelope_from = envelope_address(mail_from, name="mail_from")

    reminder = session.exec(_for_update(session, select(Reminder).where(Reminder.id == reminder_id))).first()
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

    now = utcnow()
    message_id = make_message_id(mail_from)
    raw = build_message(
        draft=draft, mail_from=mail_from, reply_to=reply_to, recipients=recipients, message_id=message_id, date=now
    )
    fields: dict[str, Any] = {
        "state": "queued",
        "message_id": message_id,
        "mail_from": envelope_from,
        "recipients": ",".join(recipients),
        "subject": draft.subject[:300],
        "raw_message": raw,
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
        outbox = Outbox(business_id=reminder.business_id, reminder_id=reminder_id, created_at=now, **fields)
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
            "message_id": message_id,
            "mail_from": mail_from,
            "reply_to": reply_to,
            "recipients": list(recipients),
            "subject": draft.subject,
            "text": draft.text,
            "html": draft.html,
            "attachments": [
                {"filename": a.filename, "mime_type": a.mime_type, "size": len(a.content), "sha256": _sha256(a.content)}
                for a in draft.attachments
            ],
            "not_before": not_before,
            "raw_sha256": _sha256(raw),
            # The message is 7-bit (quoted-printable and base64 parts): the exact bytes handed to the server.
            "raw_message": raw.decode("ascii"),
        },
    )
    return outbox


# --- delivery ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Claim:
    outbox_id: int
    reminder_id: int
    business_id: int
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int


def _set_reminder(session: Session, reminder_id: int, state: ReminderState, **extra: Any) -> Reminder | None:
    reminder = session.get(Reminder, reminder_id)
    if reminder is None:
        return None
    return bump(session, reminder, state=state, **extra)


def _claim_one(engine: Engine, business_id: int, now: datetime) -> _Claim | None:
    """Take the business's next due row: mark it `sending` and commit, before any byte goes to the SMTP server."""
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
        outbox.attempts += 1
        outbox.updated_at = utcnow()
        session.add(outbox)
        _set_reminder(session, outbox.reminder_id, ReminderState.SENDING)
        session.flush()
        _checkpoint("before_commit")
        assert outbox.id is not None
        claim = _Claim(
            outbox_id=outbox.id,
            reminder_id=outbox.reminder_id,
            business_id=outbox.business_id,
            message_id=outbox.message_id,
            mail_from=outbox.mail_from,
            recipients=tuple(r for r in outbox.recipients.split(",") if r),
            raw=bytes(outbox.raw_message),
            attempts=outbox.attempts,
        )
    return claim


def _record_outcome(engine: Engine, claim: _Claim, outcome: Outcome, reply: str, now: datetime) -> DeliveryResult:
    """Write what the SMTP server said: outbox row, reminder and evidence entry, in one transaction."""
    sent_at: datetime | None = None
    next_attempt: datetime | None = None
    with write_session(engine) as session:
        outbox = session.exec(_for_update(session, select(Outbox).where(Outbox.id == claim.outbox_id))).one()
        # A row turned `unknown` meanwhile (another process started up) still gets the real answer.
        updatable = outbox.state in ("sending", "unknown")
        if outcome == "retry" and claim.attempts >= MAX_ATTEMPTS:
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
            if outcome == "sent":
                sent_at = stamp
                outbox.state = "sent"
                outbox.sent_at = stamp
                _set_reminder(
                    session, claim.reminder_id, ReminderState.SENT, sent_at=stamp, sent_to=", ".join(claim.recipients)
                )
            elif outcome == "retry":
                next_attempt = now + RETRY_DELAYS[min(claim.attempts, len(RETRY_DELAYS)) - 1]
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
        record(
            session,
            actor=SYSTEM_ACTOR,
            kind=kind,
            business_id=claim.business_id,
            reminder_id=claim.reminder_id,
            invoice_id=_single_invoice(session, claim.reminder_id),
            payload=payload,
        )
    return DeliveryResult(
        outbox_id=claim.outbox_id,
        reminder_id=claim.reminder_id,
        business_id=claim.business_id,
        outcome=outcome,
        reply=reply,
        message_id=claim.message_id,
        recipients=claim.recipients,
        attempts=claim.attempts,
        sent_at=sent_at,
        next_attempt=next_attempt,
    )


def _single_invoice(session: Session, reminder_id: int) -> int | None:
    ids = session.exec(
        select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == reminder_id).limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None


async def _deliver_one(config: SmtpConfig, claim: _Claim) -> tuple[Outcome, str]:
    try:
        reply: SmtpReply = await send_message(
            config, claim.raw, claim.mail_from, list(claim.recipients), checkpoint=_checkpoint
        )
    except TemporaryDeliveryError as exc:
        return "retry", exc.line
    except PermanentDeliveryError as exc:
        return "failed", exc.line
    except UncertainDeliveryError as exc:
        return "unknown", exc.line
    except DeliveryError as exc:  # a future subclass: assume the worst, never re-send on our own
        return "unknown", exc.line
    _checkpoint("after_reply")
    return "sent", reply.line


async def deliver_due(
    engine: Engine,
    config: SmtpConfig,
    *,
    business_id: int,
    now: datetime,
    limit: int = 50,
    on_result: Callable[[DeliveryResult], Awaitable[None]] | None = None,
) -> list[DeliveryResult]:
    """Send the business's rows due at `now`, one at a time (claim, commit, send, record); return each outcome.

    Only `business_id`'s rows are touched: each business's sender answers to that business's owners. Safe to run
    from several processes at once: a row is claimed by exactly one of them. `on_result` is awaited as soon as
    each outcome is committed (so the owner hears of it even if a later message hangs).
    """
    stale = utcnow() - STALE_SENDING_AFTER
    results = await asyncio.to_thread(_mark_unknown, engine, business_id, older_than=stale)
    if on_result is not None:
        for result in results:
            await on_result(result)
    for _ in range(limit):
        claim = await asyncio.to_thread(_claim_one, engine, business_id, now)
        if claim is None:
            break
        _checkpoint("after_commit")
        outcome, reply = await _deliver_one(config, claim)
        result = await asyncio.to_thread(_record_outcome, engine, claim, outcome, reply, now)
        _checkpoint("after_update")
        results.append(result)
        if on_result is not None:
            await on_result(result)
    return results


def _mark_unknown(engine: Engine, business_id: int, *, older_than: datetime | None) -> list[DeliveryResult]:
    """Turn the business's rows left in `sending` (by a sender that stopped mid-way) into `unknown`, with an
    evidence entry."""
    results: list[DeliveryResult] = []
    with write_session(engine) as session:
        stmt = select(Outbox).where(Outbox.business_id == business_id, Outbox.state == "sending")
        if older_than is not None:
            stmt = stmt.where(col(Outbox.updated_at) < older_than)
        rows = session.exec(_for_update(session, stmt.order_by(col(Outbox.id)), skip_locked=True)).all()
        reason = "sender stopped while sending: outcome unknown"
        for outbox in rows:
            outbox.state = "unknown"
            outbox.last_reply = reason
            outbox.updated_at = utcnow()
            session.add(outbox)
            assert outbox.id is not None
            record(
                session,
                actor=SYSTEM_ACTOR,
                kind="smtp_unknown",
                business_id=outbox.business_id,
                reminder_id=outbox.reminder_id,
                invoice_id=_single_invoice(session, outbox.reminder_id),
                payload={
                    "outbox_id": outbox.id,
                    "message_id": outbox.message_id,
                    "recipients": outbox.recipients.split(","),
                    "attempt": outbox.attempts,
                    "reply": reason,
                },
            )
            results.append(
                DeliveryResult(
                    outbox_id=outbox.id,
                    reminder_id=outbox.reminder_id,
                    business_id=outbox.business_id,
                    outcome="unknown",
                    reply=reason,
                    message_id=outbox.message_id,
                    recipients=tuple(outbox.recipients.split(",")),
                    attempts=outbox.attempts,
                )
            )
    return results


def recover_unknown_at_startup(engine: Engine, business_id: int) -> list[DeliveryResult]:
    """At start-up, the business's rows found in `sending` were interrupted: mark them `unknown` (never re-sent on
    our own). Another business's rows belong to its own sender, which may be running right now."""
    return _mark_unknown(engine, business_id, older_than=None)


def resend_unknown(session: Session, outbox_id: int, actor: str) -> Outbox:
    """The owner asked to send a message of unknown outcome again: queue it now, same Message-ID, same bytes."""
    outbox = session.exec(_for_update(session, select(Outbox).where(Outbox.id == outbox_id))).first()
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
    record(
        session,
        actor=actor,
        kind="email_resend_requested",
        business_id=outbox.business_id,
        reminder_id=outbox.reminder_id,
        invoice_id=_single_invoice(session, outbox.reminder_id),
        payload={"outbox_id": outbox_id, "message_id": outbox.message_id, "last_reply": outbox.last_reply},
    )
    return outbox


def pending_unknown(session: Session, business_id: int | None = None) -> Sequence[Outbox]:
    """Rows whose outcome is unknown (the chat shows them as "statut incertain" with a button to send again)."""
    stmt = select(Outbox).where(Outbox.state == "unknown")
    if business_id is not None:
        stmt = stmt.where(Outbox.business_id == business_id)
    return session.exec(stmt.order_by(col(Outbox.id))).all()


# --- the owner's word on an uncertain send -------------------------------------------------------------------

#: The reply `_mark_unknown` writes for a sender that stopped mid-way (no SMTP answer tells when the message left).
_INTERRUPTED_REPLY = "sender stopped while sending: outcome unknown"
#: Entries after which a row waits in the queue: the claim that sent it came after the latest of them.
_QUEUE_KINDS = ("email_queued", "email_resend_requested", "send_now_requested", "smtp_deferred")


def _left_at(session: Session, outbox: Outbox) -> tuple[datetime, str]:
    """When a message of uncertain outcome left, and how we know: the end of its SMTP conversation when the server's
    answer was uncertain, else (the sender stopped) the earliest moment its last claim could have happened."""
    import json

    from storage.models import EvidenceEntry

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


def confirm_left(session: Session, outbox_id: int, actor: str) -> Outbox:
    """The owner checked (their sent mail, the client) that a message of unknown outcome did leave: the row is
    `sent` and its reminder counts as sent when the message left, so the ladder goes on from that day.

    Raises NotUncertainError when the row's outcome is no longer unknown (a second tap, a late SMTP answer).
    """
    outbox = session.exec(_for_update(session, select(Outbox).where(Outbox.id == outbox_id))).first()
    if outbox is None:
        raise NotUncertainError(f"outbox row {outbox_id} does not exist")
    if outbox.state != "unknown":
        raise NotUncertainError(f"outbox row {outbox_id} is {outbox.state}")
    left_at, basis = _left_at(session, outbox)
    recipients = [r for r in outbox.recipients.split(",") if r]
    outbox.state = "sent"
    outbox.sent_at = left_at
    outbox.updated_at = utcnow()
    session.add(outbox)
    _set_reminder(session, outbox.reminder_id, ReminderState.SENT, sent_at=left_at, sent_to=", ".join(recipients))
    record(
        session,
        actor=actor,
        kind="smtp_confirmed_by_owner",
        business_id=outbox.business_id,
        reminder_id=outbox.reminder_id,
        invoice_id=_single_invoice(session, outbox.reminder_id),
        payload={
            "outbox_id": outbox_id,
            "message_id": outbox.message_id,
            "recipients": recipients,
            "left_at": left_at,
            "left_at_basis": basis,
            "last_reply": outbox.last_reply,
        },
    )
    return outbox
