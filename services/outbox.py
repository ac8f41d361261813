"""The outbox use case: approve a reminder (build its e-mail, queue it) and the sender job (claim, send, record).

The queue itself — rows, claims with their locks, state transitions, unknown outcomes, the owner's resend or
confirmation, the evidence entries — lives in storage.outbox; the MIME message and the SMTP conversation live in
messages. This module joins them: a row is claimed (committed `sending`) before the SMTP conversation starts, so a
crash can never lead to an automatic second delivery; a row found in `sending` later is `unknown` and waits for
the owner's decision.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

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
from storage import outbox as store
from storage.db import Engine, Session
from storage.outbox import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    STALE_SENDING_AFTER,
    AlreadyQueuedError,
    Claim,
    DeliveryResult,
    NotUncertainError,
    OutboxError,
    OutboxItem,
    OutboxRowState,
    QueuedMessage,
    SmtpVerdict,
    mark_reported,
    recover_unknown_at_startup,
    unreported,
)
from storage.reminders import StaleReminderError
from storage.types import utcnow

__all__ = [
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "AlreadyQueuedError",
    "DeliveryResult",
    "HeaderInjectionError",
    "NotUncertainError",
    "OutboxError",
    "OutboxItem",
    "OutboxRowState",
    "StaleReminderError",
    "confirm_left",
    "deliver_due",
    "mark_reported",
    "queue_reminder",
    "recover_unknown_at_startup",
    "resend_unknown",
    "unreported",
]

#: Test-only hook called at named points ("before_commit", "after_commit", "data_half", "after_reply",
#: "after_update") so crash tests can kill the sender at an exact place. None in production.
crash_hook: Callable[[str], None] | None = None


def _checkpoint(name: str) -> None:
    if crash_hook is not None:
        crash_hook(name)


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
    business_id: int | None = None,
) -> OutboxItem:
    """Approve a reminder: build its e-mail and put it in the outbox, in the caller's transaction.

    Raises HeaderInjectionError (CR/LF in a header value) or InvalidAddressError before anything is written, then
    StaleReminderError or AlreadyQueuedError (storage.outbox.enqueue). The reminder becomes "approved" and the
    exact text approved goes to the evidence log.

    `business_id` should be given (the reminder must be that business's); without it the reminder's own business
    is used, for callers that already checked the reminder against theirs.
    """
    if not_before.tzinfo is None:
        raise ValueError("not_before must be timezone-aware")
    # Every header is checked (and the message built) before the database is touched: a refusal writes nothing.
    rcpts = tuple(envelope_address(rcpt, name="recipients") for rcpt in recipients)  # normalised: stored as sent
    envelope_from = envelope_address(mail_from, name="mail_from")
    now = utcnow()
    message_id = make_message_id(mail_from)
    raw = build_message(
        draft=draft, mail_from=mail_from, reply_to=reply_to, recipients=rcpts, message_id=message_id, date=now
    )
    message = QueuedMessage(
        message_id=message_id,
        mail_from=mail_from,
        envelope_from=envelope_from,
        reply_to=reply_to,
        recipients=rcpts,
        subject=draft.subject,
        text=draft.text,
        html=draft.html,
        attachments=tuple(store.attachment_facts(a.filename, a.mime_type, a.content) for a in draft.attachments),
        raw=raw,
        built_at=now,
    )
    if business_id is None:
        business_id = store.reminder_business(session, reminder_id)
        if business_id is None:
            raise StaleReminderError(f"reminder {reminder_id} does not exist")
    return store.enqueue(
        session,
        business_id=business_id,
        reminder_id=reminder_id,
        expected_version=expected_version,
        message=message,
        actor=actor,
        not_before=not_before,
    )


# --- the sender job ------------------------------------------------------------------------------------------


async def _deliver_one(config: SmtpConfig, claim: Claim) -> tuple[SmtpVerdict, str, bool]:
    """The verdict, the reply line, and whether the server could not be used at all (nothing sent): not reached,
    or it refused the account (a wrong password is the business's settings, not this message's fault: the message
    waits in the queue without using up its tries, and the sender tells the owners once)."""
    try:
        reply: SmtpReply = await send_message(
            config, claim.raw, claim.mail_from, list(claim.recipients), checkpoint=_checkpoint
        )
    except (TemporaryDeliveryError, PermanentDeliveryError) as exc:
        if exc.account:
            return "retry", exc.line, True
        if isinstance(exc, TemporaryDeliveryError):
            return "retry", exc.line, exc.reply is None
        return "failed", exc.line, False
    except UncertainDeliveryError as exc:
        return "unknown", exc.line, False
    except DeliveryError as exc:  # a future subclass: assume the worst, never re-send on our own
        return "unknown", exc.line, False
    _checkpoint("after_reply")
    return "sent", reply.line, False


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
    each outcome is committed (so the owner hears of it even if a later message hangs). The database work runs in
    threads: a slow SMTP server or a locked row never blocks the event loop. A server that cannot be reached ends
    the round at the first row (its result says `unreachable`): the others wait in the queue, untouched.
    """
    stale = utcnow() - STALE_SENDING_AFTER
    results = await asyncio.to_thread(store.mark_unknown, engine, business_id, older_than=stale)
    if on_result is not None:
        for result in results:
            await on_result(result)
    for _ in range(limit):
        claim = await asyncio.to_thread(store.claim_next, engine, business_id, now, checkpoint=_checkpoint)
        if claim is None:
            break
        _checkpoint("after_commit")
        verdict, reply, unreachable = await _deliver_one(config, claim)
        result = await asyncio.to_thread(
            store.record_outcome, engine, business_id, claim, verdict, reply, now=now, unreachable=unreachable
        )
        _checkpoint("after_update")
        results.append(result)
        if on_result is not None:
            await on_result(result)
        if unreachable:
            break
    return results


# --- the owner's word on an uncertain send -------------------------------------------------------------------


def resend_unknown(session: Session, outbox_id: int, actor: str, *, business_id: int) -> OutboxItem:
    """The owner asked to send a message of unknown outcome again: queue it now, same Message-ID, same bytes.

    Thin wrapper of storage.outbox.resend_unknown (NotUncertainError when the row is not this business's).
    """
    return store.resend_unknown(session, business_id=business_id, outbox_id=outbox_id, actor=actor)


def confirm_left(session: Session, outbox_id: int, actor: str, *, business_id: int) -> OutboxItem:
    """The owner checked that a message of unknown outcome did leave: it counts as sent when it left.

    Thin wrapper of storage.outbox.confirm_left (NotUncertainError when the row is not this business's).
    """
    return store.confirm_left(session, business_id=business_id, outbox_id=outbox_id, actor=actor)
