"""What the owner does with a client's e-mail, chat-free (the reply and bounce cards of both chats call these).

Each action closes the received message (storage.received.handle_received: version-checked, evidence
`reply_handled`) in the SAME transaction as what it records — the payment, the promise, the dispute, the answer's
draft — so a second tap, or a tap in the other chat, changes nothing and hears "Déjà traité.", and a refused
action (nothing left to pay, a date in the past) leaves the message open with nothing half-done.

↩️ Répondre drafts the owner's answer as a message outside the ladder (kind "reply": storage.reminders
.propose_outside_ladder), its subject "Re: <their subject>", its body the owner's text; it leaves only when the
owner approves it, through the outbox (at most once), with In-Reply-To and References set to the client's message
(`with_reply_headers`, applied by the drafter).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Literal

from messages.addresses import InvalidAddressError
from messages.mime import DraftLike
from messages.render import Draft, one_line
from services.context import BusinessContext
from services.core import InputError, Msg, parse_reason
from services.replies import ReplyView, new_client_email, reply
from storage.db import Session, write_session
from storage.received import StaleReceivedError, handle_received, invoices_of, open_received, received_row
from storage.reminders import (
    ActionError,
    ReminderView,
    edit_draft,
    open_dispute,
    propose_outside_ladder,
    record_payment,
    record_promise,
)
from storage.reply_drafts import link_reply_draft, reply_source

log = logging.getLogger(__name__)

__all__ = [
    "MAX_ANSWER",
    "ReplyOutcome",
    "answer",
    "dispute",
    "new_address",
    "nothing",
    "paid",
    "parse_answer",
    "promise",
    "reply_subject",
    "with_reply_headers",
]

#: What an action records besides closing the message: (session, client id, invoice ids) -> drafts it made.
Work = Callable[[Session, int, list[int]], list[int]]
#: The longest answer the owner may type (an e-mail, not a letter), in both chats.
MAX_ANSWER = 3000  # Slack's limit for a text input too
#: A subject that already says it answers something ("Re:", "RE :", "Réf", "AW:", "TR:" are left as they are).
_ANSWER_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What a tap on a reply or bounce card did.

    `status`: done (the message is closed; `view` is it now), stale (already handled or changed: `view` is it now),
    unknown (no such message of this business), invalid (the owner's value was refused: `message` says why, the card
    stays as it was), failed (the action was refused: nothing changed). `reminder_id`: a draft to show as its own
    card (the answer of ↩️ Répondre; the failed reminder to send again after a new address).
    """

    status: Literal["done", "stale", "unknown", "invalid", "failed"]
    view: ReplyView | None = None
    message: Msg | None = None
    reminder_ids: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the action was carried out."""
        return self.status == "done"


def reply_subject(subject: str) -> str:
    """The subject of an answer: "Re: <their subject>" (theirs kept when it already starts with Re:)."""
    clean = one_line(subject or "")
    if _ANSWER_PREFIX.match(clean):
        return clean
    return one_line(f"Re: {clean}" if clean else "Re:")


def parse_answer(typed: str) -> str:
    """The owner's answer as it will leave: trimmed, not empty, at most MAX_ANSWER characters (InputError)."""
    body = (typed or "").replace("\r\n", "\n").strip()
    if not body:
        raise InputError("replies.answer_empty")
    if len(body) > MAX_ANSWER:
        raise InputError("replies.answer_too_long", limit=MAX_ANSWER, length=len(body))
    return body


# --- the actions ----------------------------------------------------------------------------------------------


def _run(
    ctx: BusinessContext,
    reply_id: int,
    version: int,
    outcome: str,
    actor: str,
    work: Work | None,
    message: Msg | None,
) -> ReplyOutcome:
    """Close the message at `version` and do `work` in the same transaction; a refusal rolls both back."""
    made: list[int] = []
    try:
        with write_session(ctx.engine) as session:
            row = handle_received(
                session, business_id=ctx.business_id, received_id=reply_id, version=version, outcome=outcome,
                actor=actor,
            )  # fmt: skip
            if work is not None:
                ids = invoices_of(session, business_id=ctx.business_id, client_id=row.client_id,
                                  reminder_id=row.reminder_id, subject=row.subject)  # fmt: skip
                made.extend(work(session, row.client_id, ids))
    except StaleReceivedError:
        current = reply(ctx, reply_id)
        if current is None:
            return ReplyOutcome("unknown", message=Msg("cb.unknown"))
        return ReplyOutcome("stale", current, Msg("cb.already"))
    except InputError as exc:
        return ReplyOutcome("invalid", reply(ctx, reply_id), exc.msg)
    except ActionError as exc:
        from services.refusals import refusal

        return ReplyOutcome("failed", reply(ctx, reply_id), refusal(exc))
    return ReplyOutcome("done", reply(ctx, reply_id), message, tuple(made))


def _owed(session: Session, ctx: BusinessContext, invoice_ids: list[int]) -> list[int]:
    from storage.invoices import invoice_row

    rows = [invoice_row(session, business_id=ctx.business_id, invoice_id=i) for i in invoice_ids]
    return [r.id for r in rows if r is not None and r.balance > 0]


def paid(ctx: BusinessContext, reply_id: int, version: int, *, actor: str) -> ReplyOutcome:
    """💶 Payée: the message's invoices paid in full today (the same record_payment as the reminder card's Payée)."""
    day = ctx.clock.today()

    def work(session: Session, client_id: int, ids: list[int]) -> list[int]:
        owed = _owed(session, ctx, ids)
        if not owed:
            raise InputError("replies.nothing_owed")
        record_payment(session, business_id=ctx.business_id, invoice_ids=owed, amount=None, paid_on=day,
                       actor=actor)  # fmt: skip
        return []

    return _run(ctx, reply_id, version, "paid", actor, work, Msg("replies.done_paid"))


def promise(ctx: BusinessContext, reply_id: int, version: int, *, until: date, actor: str) -> ReplyOutcome:
    """🤝 Promesse: the client promised to pay by `until` (today or later); the reminders pause until then."""
    day = ctx.clock.today()
    if until < day:
        return ReplyOutcome("invalid", reply(ctx, reply_id), Msg("date.past", day=until.strftime("%d/%m/%Y")))

    def work(session: Session, client_id: int, ids: list[int]) -> list[int]:
        owed = _owed(session, ctx, ids)
        if not owed:
            raise InputError("replies.nothing_owed")
        record_promise(session, business_id=ctx.business_id, invoice_ids=owed, until=until, today=day, actor=actor)
        return []

    return _run(ctx, reply_id, version, "promise", actor, work,
                Msg("replies.done_promise", day=until.strftime("%d/%m/%Y")))  # fmt: skip


def dispute(ctx: BusinessContext, reply_id: int, version: int, *, reason: str, actor: str) -> ReplyOutcome:
    """⚖️ Litige: the invoices disputed with `reason` (the client's text as proposed, or the owner's)."""
    try:
        why = parse_reason(reason)
    except InputError as exc:
        return ReplyOutcome("invalid", reply(ctx, reply_id), exc.msg)

    def work(session: Session, client_id: int, ids: list[int]) -> list[int]:
        owed = _owed(session, ctx, ids)
        if not owed:
            raise InputError("replies.nothing_owed")
        open_dispute(session, business_id=ctx.business_id, invoice_ids=owed, reason=why, actor=actor)
        return []

    return _run(ctx, reply_id, version, "dispute", actor, work, Msg("replies.done_dispute"))


def nothing(ctx: BusinessContext, reply_id: int, version: int, *, actor: str) -> ReplyOutcome:
    """👌 Rien à faire: the message is closed; the ladder resumes for the client."""
    return _run(ctx, reply_id, version, "nothing", actor, None, Msg("replies.done_nothing"))


def answer(ctx: BusinessContext, reply_id: int, version: int, *, text: str, actor: str) -> ReplyOutcome:
    """↩️ Répondre: the owner's answer drafted (kind "reply", subject "Re: <their subject>", body `text`), to be
    approved like any draft; `reminder_ids` holds the draft to show. Nothing leaves until the owner approves it."""
    try:
        body = parse_answer(text)
    except InputError as exc:
        return ReplyOutcome("invalid", reply(ctx, reply_id), exc.msg)
    day = ctx.clock.today()

    def work(session: Session, client_id: int, ids: list[int]) -> list[int]:
        row = received_row(session, business_id=ctx.business_id, received_id=reply_id)
        assert row is not None
        if not ids:
            raise InputError("replies.no_invoice")
        try:
            draft_id = propose_outside_ladder(session, business_id=ctx.business_id, client_id=client_id,
                                              kind="reply", invoice_ids=ids, today=day, actor=actor)  # fmt: skip
        except ActionError:
            # One answer per client and day (drafts outside the ladder are): today's has already left.
            raise InputError("replies.answer_same_day") from None
        earlier = reply_source(session, business_id=ctx.business_id, reminder_id=draft_id)
        if earlier is not None and earlier.received_id != reply_id:
            # Today's answer to another of the client's messages still waits for approval: never overwrite it.
            raise InputError("replies.answer_pending")
        edit_draft(session, reminder_id=draft_id, business_id=ctx.business_id, subject=reply_subject(row.subject),
                   body=body, actor=actor)  # fmt: skip
        link_reply_draft(session, business_id=ctx.business_id, client_id=client_id, reminder_id=draft_id,
                         received_id=reply_id, actor=actor)  # fmt: skip
        return [draft_id]

    return _run(ctx, reply_id, version, "answered", actor, work, Msg("replies.done_answer"))


def new_address(ctx: BusinessContext, client_id: int, email: str, *, actor: str) -> ReplyOutcome:
    """`/client NOM email nouvelle@adresse.fr`: the client's new main address (services.replies.new_client_email);
    the client's open bounce cards are closed ("new_address"), and the reminders that bounced are returned
    (`reminder_ids`) to be sent again — to the new address — when the owner approves them."""
    try:
        changed = new_client_email(ctx, client_id, email, actor=actor)
    except InvalidAddressError:
        return ReplyOutcome("invalid", message=Msg("replies.bad_address", address=email[:254]))
    if changed is None:
        return ReplyOutcome("unknown", message=Msg("cb.unknown"))
    again: list[int] = []
    with write_session(ctx.engine) as session:
        for row in open_received(session, business_id=ctx.business_id, kinds=("bounce",)):
            if row.client_id != client_id:
                continue
            handle_received(session, business_id=ctx.business_id, received_id=row.id, version=row.version,
                            outcome="new_address", actor=actor)  # fmt: skip
            if row.reminder_id is not None and row.reminder_id not in again:
                again.append(row.reminder_id)
    return ReplyOutcome("done", message=Msg("replies.address_changed", address=changed[1].split(",")[0]),
                        reminder_ids=tuple(again))  # fmt: skip


# --- the answer's headers ----------------------------------------------------------------------------------------


def _thread_of(raw_path: str) -> tuple[str, ...]:
    """The References of the client's message (its thread), read from its kept .eml (headers only)."""
    try:
        with Path(raw_path).open("rb") as fh:
            headers = BytesHeaderParser(policy=default_policy).parse(fh)
    except OSError:
        return ()
    refs = str(headers.get("References") or "")
    return tuple(dict.fromkeys(r for r in re.findall(r"<[^<>\s]+>", refs)))[-20:]


def with_reply_headers(session: Session, view: ReminderView, draft: DraftLike) -> DraftLike:
    """An answer's draft with In-Reply-To (the client's Message-ID) and References (their thread, then it); other
    drafts unchanged."""
    if view.kind != "reply" or not isinstance(draft, Draft):
        return draft
    source = reply_source(session, business_id=view.business_id, reminder_id=view.reminder_id)
    if source is None or not source.message_id.startswith("<"):
        return draft  # a message without a Message-ID of its own (its hash) cannot be answered in its thread
    refs = tuple(r for r in _thread_of(source.raw_path) if r != source.message_id)
    return replace(draft, in_reply_to=source.message_id, references=(*refs, source.message_id))
