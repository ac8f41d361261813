"""Drafting and delivering a reminder's e-mail, behind two small Protocols the use cases depend on.

`Drafter` renders a reminder's e-mail (templates, then the owner's edits); `Delivery` approves a reminder at the
version the owner saw and hands its e-mail on: to the outbox and the SMTP server (`OutboxDelivery`) or to a
`.eml` file (`services.eml.EmlDelivery`, terminal mode and installs without SMTP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

from dunning.penalties import RateTable
from dunning.states import ReminderState
from messages.delivery import SmtpConfig
from messages.mime import DraftLike
from messages.render import Renderer
from services.drafts import draft_context
from storage.db import Engine, Session, write_session
from storage.plans import activate_for_reminder
from storage.reminders import ReminderView, StaleReminderError, bump, lock_awaiting


class Drafter(Protocol):
    """Renders the e-mail of a reminder, the owner's edits applied."""

    def draft(self, session: Session, view: ReminderView, *, today: date) -> DraftLike: ...


class TemplateDrafter:
    """The drafts of messages/ (Jinja templates, the owner's TEMPLATES_DIR first)."""

    def __init__(self, renderer: Renderer, *, rate_table: RateTable) -> None:
        self.renderer = renderer
        self.rate_table = rate_table

    def check(self) -> None:
        """Fail now, naming file and line, if a template is broken (never at send time)."""
        self.renderer.check()

    def draft(self, session: Session, view: ReminderView, *, today: date) -> DraftLike:
        """The reminder's e-mail as the templates write it, then the owner's edits."""
        ctx = draft_context(session, reminder_id=view.reminder_id, today=today, rate_table=self.rate_table,
                            business_id=view.business_id)  # fmt: skip
        draft = self.renderer.render_draft(ctx)
        if view.edited_subject is not None or view.edited_body is not None:
            draft = draft.with_edits(view.edited_subject, view.edited_body)
        if view.kind == "reply":
            # The owner's answer to a client's e-mail: In-Reply-To / References set to their message.
            from services.reply_actions import with_reply_headers

            return with_reply_headers(session, view, draft)
        return draft


@dataclass(frozen=True, slots=True)
class SendRequest:
    """What the owner approved: one reminder at the version shown on the card, and its e-mail."""

    reminder_id: int
    expected_version: int
    business_id: int
    draft: DraftLike
    mail_from: str
    reply_to: str | None
    recipients: tuple[str, ...]
    actor: str
    now: datetime
    not_before: datetime
    #: The business day of the approval (a payment plan whose schedule e-mail this is starts that day).
    today: date | None = None

    @property
    def day(self) -> date:
        """The business day of the approval (the date of `now` when the caller gave none)."""
        return self.today if self.today is not None else self.now.date()


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What became of an approved reminder: sent, waiting for the sending window, failed, unknown, or stale."""

    status: Literal["sent", "scheduled", "queued", "failed", "unknown", "stale"]
    recipients: tuple[str, ...] = ()
    sent_at: datetime | None = None
    not_before: datetime | None = None
    reason: str = ""
    path: str | None = None  # where a file delivery wrote the message


class Delivery(Protocol):
    """Approves a reminder (version-checked, at most once) and delivers its e-mail."""

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport: ...


class OutboxDelivery:
    """The real path: queue in the outbox (same transaction as the approval and its evidence entry), then hand the
    e-mail to the sender job, which talks SMTP off the tap's path.

    A chat adapter runs a sender job and registers its wake-up with `attach_sender`: a tap then never waits for an
    SMTP server (a slow one takes seconds per message), and the job reports every outcome on the cards and to the
    owners. Without a sender job in the process (terminal mode, scripts) nobody else would send the message, so
    `send` delivers the business's due rows itself and reports this reminder's outcome.
    """

    def __init__(self, config: SmtpConfig | None) -> None:
        self.config = config
        self._wake: Callable[[], None] | None = None

    def attach_sender(self, wake: Callable[[], None] | None) -> None:
        """Register the sender job's wake-up (None: detach, deliver in the caller again)."""
        self._wake = wake

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        """Queue, wake the sender and answer "queued" (or "scheduled" for the sending window) at once."""
        from messages.mime import HeaderInjectionError, InvalidAddressError

        try:
            # In a thread: building the MIME message and the write transaction must not hold up other taps either.
            await asyncio.to_thread(self._queue, engine, request)
        except StaleReminderError:
            return DeliveryReport("stale")
        except (HeaderInjectionError, InvalidAddressError) as exc:
            return DeliveryReport("failed", reason=str(exc))
        if request.not_before > request.now:
            return DeliveryReport("scheduled", request.recipients, not_before=request.not_before)
        if self._wake is not None:
            self._wake()
            return DeliveryReport("queued", request.recipients, not_before=request.not_before)
        results = await self.dispatch(engine, request.business_id, request.now)
        for result in results:
            if result.reminder_id != request.reminder_id:
                continue
            if result.outcome == "sent":
                return DeliveryReport("sent", result.recipients, sent_at=result.sent_at, reason=result.reply)
            if result.outcome == "retry":
                return DeliveryReport("queued", result.recipients, not_before=result.next_attempt, reason=result.reply)
            return DeliveryReport(result.outcome, result.recipients, reason=result.reply)
        return DeliveryReport("queued", request.recipients, not_before=request.not_before)

    @staticmethod
    def _queue(engine: Engine, request: SendRequest) -> None:
        from services.outbox import queue_reminder

        with write_session(engine) as session:
            queue_reminder(
                session,
                reminder_id=request.reminder_id,
                expected_version=request.expected_version,
                draft=request.draft,
                mail_from=request.mail_from,
                reply_to=request.reply_to,
                recipients=list(request.recipients),
                actor=request.actor,
                not_before=request.not_before,
                business_id=request.business_id,
            )
            start_plan(session, request)

    async def dispatch(self, engine: Engine, business_id: int, now: datetime) -> list[Any]:
        """Something became due now (Envoyer maintenant, Renvoyer): wake the sender job and return at once, or,
        without one, deliver the business's due rows here and return their outcomes."""
        from services.outbox import deliver_due

        if self._wake is not None:
            self._wake()
            return []
        if self.config is None:
            return []
        return await deliver_due(engine, self.config, business_id=business_id, now=now, limit=10)


def approve_and_mark_sent(session: Session, request: SendRequest, *, how: str, evidence: dict[str, Any]) -> None:
    """For deliveries that complete at once (files, tests): check the card's version, mark the reminder sent."""
    reminder = lock_awaiting(session, request.reminder_id, request.business_id, request.expected_version)
    bump(
        session,
        reminder,
        state=ReminderState.SENT,
        sent_at=request.now,
        sent_to=how,
        actor=request.actor,
        kind="email_delivered",
        payload={
            "subject": request.draft.subject,
            "text": request.draft.text,
            "recipients": list(request.recipients),
            **evidence,
        },
    )
    start_plan(session, request)


def start_plan(session: Session, request: SendRequest) -> None:
    """A payment plan's schedule e-mail approved: the plan starts in the same transaction (storage.plans), or the
    approval is refused as stale when its invoices changed since the proposal. Other reminders: nothing happens."""
    activate_for_reminder(session, business_id=request.business_id, reminder_id=request.reminder_id,
                          today=request.day, actor=request.actor)  # fmt: skip
