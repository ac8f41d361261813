"""The chat-independent use cases shared by the Telegram bot and the terminal: digest, cards, actions, figures.

Each public method of `Services` opens one session (one transaction for a change, with its evidence entry) and
returns plain data or owner-facing text; the adapters (bot/handlers, bot/terminal.py) only read input and show
output. Delivery of e-mails and rendering of drafts sit behind small Protocols so tests can replace them.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import cards
from bot.cards import CardText, DisputeLine
from bot.i18n import t
from dunning.calendar import next_business_day
from dunning.states import InvoiceState, ReminderState
from messages.formatting import format_amount
from storage.db import read_session, write_session
from storage.evidence import head_hash, record
from storage.models import Business, Card, Client, DigestRun, EvidenceEntry, Invoice, Outbox, Reminder
from storage.reminders import (
    ActionError,
    ReminderView,
    StaleReminderError,
    UnknownReminderError,
    business_from_settings,
    business_ladder,
    close_dispute,
    edit_draft,
    invoice_ids_of,
    lock_awaiting,
    open_dispute,
    pending_views,
    record_payment,
    record_promise,
    refresh_due,
    reminder_view,
    snooze,
    undo_edit,
)
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.settings import Settings
    from dunning.penalties import RateTable
    from storage.importer import ImportReport
    from storage.queries import StatusSummary

log = logging.getLogger(__name__)

#: The longest body the owner may type in an edit (a card must still fit in one Telegram message).
MAX_EDIT_BODY = 3000
MAX_SUBJECT = 200
MAX_REASON = 500
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_AWAITING = (ReminderState.PENDING, ReminderState.FAILED)
_SUBJECT_LINE = re.compile(r"^\s*(objet|subject)\s*:\s*(.*)$", re.IGNORECASE)


def today_for(settings: Settings) -> date:
    """The business day: RELANCE_TODAY when set (tests, demos), else the current date in the business time zone."""
    if settings.RELANCE_TODAY is not None:
        return settings.RELANCE_TODAY
    return datetime.now(settings.tz).date()


def load_rates(settings: Settings) -> RateTable:
    """The penalty rate table: built-in, extended by RATES_FILE; a bad file is a SettingsError naming it and the field.

    Called at start-up (bot/app.py, bot/terminal.py) so that a missing or malformed file stops the program with a
    clear line, never a failed e-mail on the day a rate is first needed.
    """
    from bot.settings import SettingsError
    from dunning.penalties import RateTableError
    from storage.drafts import rate_table_for

    try:
        return rate_table_for(settings.RATES_FILE)
    except RateTableError as exc:
        raise SettingsError(f"RATES_FILE: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"RATES_FILE: cannot read {settings.RATES_FILE}: {exc.strerror or exc}") from None


def missing_half_year(rates: RateTable, today: date) -> str | None:
    """The half-year of `today` (e.g. "2026-H2") when its ECB rate is not in `rates`, else None."""
    from dunning.penalties import half_year_of

    label = half_year_of(today)
    return None if label in rates.ecb else label


# --- drafts and delivery (replaceable) -----------------------------------------------------------------------


class DraftLike(Protocol):
    """A rendered e-mail (messages.render.Draft has this shape)."""

    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def attachments(self) -> Sequence[Any]: ...


class Drafter(Protocol):
    """Renders the e-mail of a reminder, the owner's edits applied."""

    def draft(self, session: Session, view: ReminderView, *, today: date) -> DraftLike: ...


@dataclass(frozen=True, slots=True)
class PlainDraft:
    """A draft built without templates (used when no template renderer is available)."""

    subject: str
    text: str
    html: str = ""
    attachments: tuple[Any, ...] = ()


class TemplateDrafter:
    """The drafts of messages/ (Jinja templates, the owner's TEMPLATES_DIR first)."""

    def __init__(self, templates_dir: Any = None, *, rate_table: RateTable | None = None) -> None:
        from messages.render import Renderer, default_renderer

        self.renderer = Renderer(templates_dir) if templates_dir else default_renderer()
        self.rate_table = rate_table  # None: storage.drafts' fallback (RATES_FILE from the environment)

    def check(self) -> None:
        """Fail now, naming file and line, if a template is broken (never at send time)."""
        self.renderer.check()

    def draft(self, session: Session, view: ReminderView, *, today: date) -> DraftLike:
        """The reminder's e-mail as the templates write it, then the owner's edits."""
        try:
            from storage.drafts import draft_context
        except ImportError:  # the context builder is not installed: a minimal draft keeps the bot usable
            return fallback_draft(view)
        ctx = draft_context(session, reminder_id=view.reminder_id, today=today, rate_table=self.rate_table)
        draft = self.renderer.render_draft(ctx)
        if view.edited_subject is not None or view.edited_body is not None:
            draft = draft.with_edits(view.edited_subject, view.edited_body)
        return draft


def fallback_draft(view: ReminderView) -> PlainDraft:
    """A plain draft from the view alone (subject with the invoice numbers), the owner's edits applied."""
    lang = view.client_language if view.client_language in ("fr", "en") else "fr"
    numbers = ", ".join(i.number for i in view.invoices)
    lines = [
        f"{i.number} : {format_amount(i.balance, i.currency, lang)}, {i.due_date.strftime('%d/%m/%Y')}"
        for i in view.invoices
    ]
    if lang == "en":
        subject = f"Your invoice {numbers}"
        text = "Hello,\n\nMay we remind you that the following is still unpaid:\n" + "\n".join(lines) + "\n"
    else:
        subject = f"Suivi de votre facture n° {numbers}"
        text = "Bonjour,\n\nSauf erreur de notre part, il reste à régler :\n" + "\n".join(lines) + "\n"
    return PlainDraft(
        subject=view.edited_subject if view.edited_subject is not None else subject,
        text=view.edited_body if view.edited_body is not None else text,
    )


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
    """The real path: queue in the outbox (same transaction as the approval), then deliver over SMTP at once."""

    def __init__(self, settings: Settings) -> None:
        from messages.delivery import SmtpConfig

        self.config = SmtpConfig.from_settings(settings)

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        """Queue, then deliver what is due now and report this reminder's outcome."""
        from messages.mime import HeaderInjectionError, InvalidAddressError
        from storage.outbox import queue_reminder

        try:
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
                )
        except StaleReminderError:
            return DeliveryReport("stale")
        except (HeaderInjectionError, InvalidAddressError) as exc:
            return DeliveryReport("failed", reason=str(exc))
        if request.not_before > request.now:
            return DeliveryReport("scheduled", request.recipients, not_before=request.not_before)
        results = await self.deliver_now(engine, request.now)
        for result in results:
            if result.reminder_id != request.reminder_id:
                continue
            if result.outcome == "sent":
                return DeliveryReport("sent", result.recipients, sent_at=result.sent_at, reason=result.reply)
            if result.outcome == "retry":
                return DeliveryReport("queued", result.recipients, not_before=result.next_attempt, reason=result.reply)
            return DeliveryReport(result.outcome, result.recipients, reason=result.reply)
        return DeliveryReport("queued", request.recipients)

    async def deliver_now(self, engine: Engine, now: datetime) -> list[Any]:
        """Deliver what is due now (this process's share; the sender tick does the rest)."""
        from storage.outbox import deliver_due

        return await deliver_due(engine, self.config, now=now, limit=10)


def approve_and_mark_sent(session: Session, request: SendRequest, *, how: str, evidence: dict[str, Any]) -> None:
    """For deliveries that complete at once (files, tests): check the card's version, mark the reminder sent."""
    reminder = lock_awaiting(session, request.reminder_id, request.business_id, request.expected_version)
    reminder.state = ReminderState.SENT
    reminder.sent_at = request.now
    reminder.sent_to = how
    reminder.version += 1
    reminder.updated_at = utcnow()
    session.add(reminder)
    record(
        session,
        actor=request.actor,
        kind="email_delivered",
        business_id=request.business_id,
        client_id=reminder.client_id,
        reminder_id=reminder.id,
        payload={
            "subject": request.draft.subject,
            "text": request.draft.text,
            "recipients": list(request.recipients),
            **evidence,
        },
    )


# --- results --------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """The result of an owner action: what to answer, and the card to show now."""

    status: Literal["done", "stale", "unknown", "invalid", "failed"]
    message: str = ""
    card: CardText | None = None
    reminder_id: int | None = None
    path: str | None = None

    @property
    def ok(self) -> bool:
        """True when the action was carried out."""
        return self.status == "done"


@dataclass
class DigestData:
    """Everything a digest shows, read in one transaction; rendered per language by `render`."""

    day: date
    views: list[ReminderView]
    drafts: dict[int, DraftLike]
    open_total: Decimal
    overdue_total: Decimal
    head: str
    paused: bool
    tz: ZoneInfo
    notes: dict[int, str] = field(default_factory=dict)

    def render(self, lang: str) -> tuple[str, list[tuple[int, CardText]]]:
        """The header message and one card per reminder."""
        amounts = {"open": format_amount(self.open_total), "overdue": format_amount(self.overdue_total)}
        footer = t("digest.footer", lang, head=self.head)
        if self.paused:
            return t("digest.paused", lang, **amounts) + "\n" + footer, []
        if not self.views:
            return t("digest.nothing", lang, **amounts) + "\n" + footer, []
        header = t("digest.header", lang, count=len(self.views), **amounts) + "\n" + footer
        rendered = [
            (v.reminder_id, cards.render_card(v, self.drafts.get(v.reminder_id), lang=lang, tz=self.tz, today=self.day))
            for v in self.views
        ]
        return header, rendered


@dataclass(frozen=True, slots=True)
class ParsedEdit:
    """The owner's edit: an optional new subject and the new body."""

    subject: str | None
    body: str


# --- input parsing (pure) -------------------------------------------------------------------------------------


class InputError(ValueError):
    """Owner input that cannot be used; `key` and `values` give the catalogue message."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values

    def text(self, lang: str) -> str:
        """The owner-facing explanation."""
        return t(self.key, lang, **self.values)


_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{2}|\d{4}))?\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")


def parse_owner_date(text: str, today: date, *, allow_today: bool = False) -> date:
    """`05/12`, `05/12/2026`, `5.12.26` or `2026-12-05` as a date after today (within a year); raise InputError."""
    shown = text.strip()[:40]
    m = _ISO.match(text)
    try:
        if m:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        else:
            m = _DATE.match(text)
            if not m:
                raise InputError("date.invalid", text=shown)
            year = int(m[3]) if m[3] else today.year
            if m[3] and len(m[3]) == 2:
                year += 2000
            day = date(year, int(m[2]), int(m[1]))
            if not m[3] and day < today:
                # "05/01" typed in December means next January.
                day = date(year + 1, int(m[2]), int(m[1]))
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("date.invalid", text=shown) from None
    if day < today or (day == today and not allow_today):
        raise InputError("date.past", day=day.strftime("%d/%m/%Y"))
    if day > today + timedelta(days=366):
        raise InputError("date.too_far", day=day.strftime("%d/%m/%Y"))
    return day


def parse_owner_amount(text: str) -> Decimal:
    """A positive amount written the French or English way (`1 234,56`, `450.00 €`); raise InputError."""
    from storage.importer import parse_amount

    shown = text.strip()[:40]
    stripped = text.strip()
    if stripped.startswith("-"):
        raise InputError("amount.not_positive")
    try:
        amount = parse_amount(stripped)
    except ValueError:
        raise InputError("amount.invalid", text=shown) from None
    if amount <= 0:
        raise InputError("amount.not_positive")
    return amount


def parse_edit(text: str) -> ParsedEdit:
    """The owner's new text: a first line `Objet: ...` (or `Subject: ...`) replaces the subject; raise InputError."""
    body = text.replace("\r\n", "\n").strip("\n")
    subject: str | None = None
    first, _, rest = body.partition("\n")
    m = _SUBJECT_LINE.match(first)
    if m:
        subject = m[2].strip()
        body = rest.strip("\n")
        if not subject or len(subject) > MAX_SUBJECT:
            raise InputError("edit.bad_subject", limit=MAX_SUBJECT)
    if not body.strip():
        raise InputError("edit.empty")
    if len(body) > MAX_EDIT_BODY:
        raise InputError("edit.too_long", length=f"{len(body):,}".replace(",", " "), limit=MAX_EDIT_BODY)
    return ParsedEdit(subject, body)


def parse_reason(text: str) -> str:
    """A dispute reason: a few words, at most MAX_REASON characters; raise InputError."""
    reason = " ".join(text.split())
    if not reason:
        raise InputError("dispute.empty")
    if len(reason) > MAX_REASON:
        raise InputError("dispute.too_long", length=len(reason), limit=MAX_REASON)
    return reason


# --- the services ---------------------------------------------------------------------------------------------


#: Rendered drafts kept per process (each a few kilobytes): enough for a busy morning's cards in every language.
_DRAFT_CACHE_SIZE = 512


class Services:
    """The use cases of one business, over one database, with a delivery and a drafter."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        delivery: Delivery,
        drafter: Drafter | None = None,
        today: Any = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.delivery = delivery
        #: Late-payment rates: the built-in table extended by RATES_FILE (checked at start-up by `load_rates`).
        self.rate_table: RateTable = load_rates(settings)
        self.drafter: Drafter = drafter if drafter is not None else _default_drafter(settings, self.rate_table)
        self._today = today  # a callable returning the business day (tests), else today_for(settings)
        self._drafts: OrderedDict[tuple[ReminderView, date], DraftLike] = OrderedDict()  # see _draft
        with write_session(engine) as session:
            stored = session.exec(select(Business).where(Business.slug == "default")).first()
            if stored is not None and "DIGEST_TIME" not in settings.model_fields_set:
                # The owner's choice in /parametres survives restarts unless DIGEST_TIME is set explicitly.
                settings = settings.model_copy(update={"DIGEST_TIME": stored.digest_time})
                self.settings = settings
            business = business_from_settings(session, settings)
            assert business.id is not None
            self.business_id: int = business.id
            self.owner_ids: frozenset[int] = frozenset(business.owner_ids)
            self.tz = ZoneInfo(business.timezone)

    # --- clock ---

    def today(self) -> date:
        """The business day (the one function every use case asks)."""
        return self._today() if self._today is not None else today_for(self.settings)

    def now(self) -> datetime:
        """The current moment, aware, UTC."""
        return utcnow()

    def is_owner(self, user_id: int | None) -> bool:
        """True for the business's owners."""
        return user_id is not None and user_id in self.owner_ids

    # --- access ---

    def record_refusal(self, user_id: int, what: str) -> None:
        """Write the refusal of a stranger to the evidence log (no data about the business is shown)."""
        with write_session(self.engine) as session:
            record(
                session,
                actor=f"stranger:{user_id}"[:64],
                kind="access_refused",
                business_id=self.business_id,
                payload={"user_id": user_id, "update": what[:40]},
            )

    # --- digest ---

    def digest(self, *, claim: bool) -> DigestData | None:
        """Materialise today's reminders and read the digest; with `claim`, at most once a day (None if done)."""
        day = self.today()
        try:
            with write_session(self.engine) as session:
                business = self._business(session)
                if claim:
                    exists = session.exec(
                        select(DigestRun).where(DigestRun.business_id == self.business_id, DigestRun.day == day)
                    ).first()
                    if exists is not None:
                        return None
                    run = DigestRun(business_id=self.business_id, day=day)
                    session.add(run)
                    session.flush()
                views: list[ReminderView] = []
                if not business.paused:
                    views = refresh_due(session, business=business, today=day, ladder=business_ladder(business))
                drafts = {v.reminder_id: self._draft(session, v, day) for v in views}
                open_total, overdue_total = self._totals(session, day)
                if claim:
                    record(
                        session,
                        actor="system",
                        kind="digest_sent",
                        business_id=self.business_id,
                        payload={"day": day, "reminders": [v.reminder_id for v in views]},
                    )
                head = head_hash(session)
                if claim:
                    run.head_hash = head
                    session.add(run)
                return DigestData(day, views, drafts, open_total, overdue_total, head, business.paused, self.tz)
        except IntegrityError:
            # Another process claimed today's digest first.
            return None

    def digest_due_at_start(self, now_local: datetime) -> bool:
        """True when today's digest time has passed and no digest went out today (the bot was down)."""
        if self.settings.RELANCE_TODAY is None and now_local.time() < self.settings.digest_time:
            return False
        with read_session(self.engine) as session:
            run = session.exec(
                select(DigestRun).where(DigestRun.business_id == self.business_id, DigestRun.day == self.today())
            ).first()
        return run is None

    def register_cards(self, shown: Sequence[tuple[int, int, int]]) -> None:
        """Remember which chat message shows which reminder: (reminder_id, chat_id, message_id)."""
        if not shown:
            return
        with write_session(self.engine) as session:
            for reminder_id, chat_id, message_id in shown:
                session.add(Card(reminder_id=reminder_id, chat_id=chat_id, message_id=message_id))

    def cards_of(self, reminder_id: int) -> list[tuple[int, int]]:
        """The (chat_id, message_id) of every card showing a reminder."""
        with read_session(self.engine) as session:
            rows = session.exec(select(Card).where(Card.reminder_id == reminder_id).order_by(col(Card.id))).all()
            return [(c.chat_id, c.message_id) for c in rows]

    def pending(self) -> list[ReminderView]:
        """The reminders waiting for the owner (no refresh)."""
        with read_session(self.engine) as session:
            return pending_views(session, self.business_id, self.today())

    # --- cards ---

    def card(self, reminder_id: int, lang: str, *, keyboard: str = "main", note: str | None = None) -> CardText | None:
        """The current card of a reminder (None if unknown)."""
        with read_session(self.engine) as session:
            return self._card(session, reminder_id, lang, keyboard=keyboard, note=note)

    def current(self, reminder_id: int, version: int) -> Literal["current", "stale", "unknown"]:
        """Whether a card's button (reminder id and version) still matches the database."""
        with read_session(self.engine) as session:
            reminder = session.get(Reminder, reminder_id)
            if reminder is None or reminder.business_id != self.business_id:
                return "unknown"
            if reminder.version != version or reminder.state not in _AWAITING:
                return "stale"
            return "current"

    def full_text(self, reminder_id: int) -> str | None:
        """The whole drafted message (subject and body) of a reminder, plain text."""
        with read_session(self.engine) as session:
            view = reminder_view(session, reminder_id, self.today())
            if view is None or view.business_id != self.business_id:
                return None
            draft = self._draft(session, view, self.today())
            return f"{draft.subject}\n\n{draft.text}"

    def call_script(self, reminder_id: int) -> str | None:
        """The phone-call script of a reminder (key accounts are called before any e-mail)."""
        renderer = getattr(self.drafter, "renderer", None)
        if renderer is None:
            return None
        from storage.drafts import draft_context

        with read_session(self.engine) as session:
            view = reminder_view(session, reminder_id, self.today())
            if view is None or view.business_id != self.business_id:
                return None
            ctx = draft_context(session, reminder_id=reminder_id, today=self.today(), rate_table=self.rate_table)
            script: str = renderer.render_call_script(ctx)
            return script

    def letter_pdf(self, reminder_id: int) -> tuple[str, bytes] | None:
        """The formal-notice letter (file name, PDF) of a reminder, for printing or registered mail."""
        with read_session(self.engine) as session:
            view = reminder_view(session, reminder_id, self.today())
            if view is None or view.business_id != self.business_id:
                return None
            draft = self._draft(session, view, self.today())
        for attachment in draft.attachments:
            if attachment.mime_type == "application/pdf":
                return attachment.filename, bytes(attachment.content)
        return None

    # --- actions ---

    async def send(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Outcome:
        """Approve and deliver a reminder's e-mail (never twice: the version and the outbox guard it)."""
        day = self.today()
        with read_session(self.engine) as session:
            view = reminder_view(session, reminder_id, day)
            if view is None or view.business_id != self.business_id:
                return Outcome("unknown", t("cb.unknown", lang))
            if view.version != version or not view.awaiting_owner:
                return self._stale(session, reminder_id, lang)
            if not view.client_emails:
                return Outcome("failed", t("send.no_email", lang), reminder_id=reminder_id)
            business = self._business(session)
            mail_from = self.settings.MAIL_FROM or business.email or getattr(self.delivery, "default_sender", "")
            if not mail_from:
                return Outcome("failed", t("send.no_sender", lang), reminder_id=reminder_id)
            draft = self._draft(session, view, day)
        now = self.now()
        request = SendRequest(
            reminder_id=reminder_id,
            expected_version=version,
            business_id=self.business_id,
            draft=draft,
            mail_from=mail_from,
            reply_to=self.settings.MAIL_REPLY_TO or business.reply_to or None,
            recipients=view.client_emails,
            actor=actor,
            now=now,
            not_before=self._not_before(business, now),
        )
        try:
            report = await self.delivery.send(self.engine, request)
        except (StaleReminderError, UnknownReminderError):
            report = DeliveryReport("stale")
        with read_session(self.engine) as session:
            if report.status == "stale":
                return self._stale(session, reminder_id, lang)
            if report.status in ("failed",):
                card = self._card(session, reminder_id, lang, note=t("card.failed", lang, reason=_h(report.reason)))
                return Outcome("failed", t("send.failed", lang, reason=_h(report.reason)), card, reminder_id)
            note = None
            if report.status == "scheduled" and report.not_before is not None:
                local = report.not_before.astimezone(self.tz)
                note = t("state.scheduled", lang, day=local.strftime("%d/%m"), time=local.strftime("%H:%M"))
            elif report.status == "unknown":
                note = t("state.unknown", lang)
            card = self._card(session, reminder_id, lang, note=note)
            message = t("cb.done", lang) if report.status == "sent" else (note or t("state.queued", lang))
            return Outcome("done", message, card, reminder_id, path=report.path)

    async def release(self, reminder_id: int, version: int, *, actor: str, lang: str, resend: bool) -> Outcome:
        """Send now an e-mail waiting for the sending window, or (`resend`) one whose outcome is unknown."""
        now = self.now()
        try:
            with write_session(self.engine) as session:
                reminder = session.get(Reminder, reminder_id)
                if reminder is None or reminder.business_id != self.business_id:
                    return Outcome("unknown", t("cb.unknown", lang))
                outbox = self._outbox(session, reminder)
                wanted = "unknown" if resend else "queued"
                if reminder.version != version or outbox is None or outbox.state != wanted:
                    return self._stale(session, reminder_id, lang)
                assert outbox.id is not None
                if resend:
                    from storage.outbox import resend_unknown

                    resend_unknown(session, outbox.id, actor)
                else:
                    outbox.not_before = now
                    outbox.updated_at = now
                    session.add(outbox)
                    record(session, actor=actor, kind="send_now_requested", business_id=self.business_id,
                           reminder_id=reminder_id, payload={"outbox_id": outbox.id})  # fmt: skip
        except Exception as exc:
            from storage.outbox import OutboxError

            if not isinstance(exc, OutboxError):
                raise
            with read_session(self.engine) as session:
                return self._stale(session, reminder_id, lang)
        flush = getattr(self.delivery, "deliver_now", None)
        if flush is not None:
            await flush(self.engine, now)
        with read_session(self.engine) as session:
            return Outcome("done", t("cb.sending", lang), self._card(session, reminder_id, lang), reminder_id)

    def snooze(self, reminder_id: int, version: int, *, actor: str, lang: str, days: int = 0,
               until: date | None = None) -> Outcome:  # fmt: skip
        """Put a reminder off by `days` (to the next business day) or until a date."""
        day = self.today()
        target = until if until is not None else next_business_day(day + timedelta(days=days))
        return self._act(
            reminder_id,
            version,
            lang,
            lambda s: snooze(
                s,
                reminder_id=reminder_id,
                business_id=self.business_id,
                until=target,
                today=day,
                actor=actor,
                expected_version=version,
            ),
            t("snooze.saved", lang, day=target.strftime("%d/%m/%Y")),
        )

    def pay(self, reminder_id: int, version: int, *, actor: str, lang: str, amount: Decimal | None = None) -> Outcome:
        """Record a payment of the reminder's invoices: in full, or a partial amount (oldest invoice first)."""
        day = self.today()
        message: list[str] = []

        def apply(session: Session) -> None:
            lock_awaiting(session, reminder_id, self.business_id, version)
            ids = invoice_ids_of(session, reminder_id)
            owed = sum(
                (i.balance for i in session.exec(select(Invoice).where(col(Invoice.id).in_(ids))).all()),
                Decimal("0.00"),
            )
            if amount is not None and amount > owed:
                raise InputError("amount.too_much", owed=format_amount(owed))
            record_payment(session, business_id=self.business_id, invoice_ids=ids, amount=amount, paid_on=day,
                           actor=actor)  # fmt: skip
            paid = owed if amount is None else amount
            left = owed - paid
            if left > 0:
                message.append(t("pay.saved", lang, amount=format_amount(paid), left=format_amount(left)))
            else:
                message.append(t("pay.saved_full", lang, amount=format_amount(paid)))

        outcome = self._act(reminder_id, version, lang, apply, "")
        if outcome.ok and message:
            outcome.message = message[0]
        return outcome

    def dispute(self, reminder_id: int, version: int, *, reason: str, actor: str, lang: str) -> Outcome:
        """Put the reminder's invoices in dispute: they leave the ladder until the owner closes it."""
        return self._act(
            reminder_id,
            version,
            lang,
            lambda s: (
                lock_awaiting(s, reminder_id, self.business_id, version),
                open_dispute(
                    s,
                    business_id=self.business_id,
                    invoice_ids=invoice_ids_of(s, reminder_id),
                    reason=reason,
                    actor=actor,
                ),
            ),
            t("dispute.saved", lang),
        )

    def promise(self, reminder_id: int, version: int, *, until: date, actor: str, lang: str) -> Outcome:
        """Record the client's promise to pay by `until`: reminders pause until then."""
        day = self.today()
        return self._act(
            reminder_id,
            version,
            lang,
            lambda s: (
                lock_awaiting(s, reminder_id, self.business_id, version),
                record_promise(
                    s,
                    business_id=self.business_id,
                    invoice_ids=invoice_ids_of(s, reminder_id),
                    until=until,
                    today=day,
                    actor=actor,
                ),
            ),
            t("promise.saved", lang, day=until.strftime("%d/%m/%Y")),
        )

    def edit(self, reminder_id: int, version: int, *, edit: ParsedEdit, actor: str, lang: str) -> Outcome:
        """Replace the drafted text (and the subject when given); the card then offers Envoyer / Annuler."""
        outcome = self._act(
            reminder_id,
            version,
            lang,
            lambda s: edit_draft(
                s,
                reminder_id=reminder_id,
                business_id=self.business_id,
                subject=edit.subject,
                body=edit.body,
                actor=actor,
                expected_version=version,
            ),
            t("edit.saved", lang),
            keyboard="edited",
        )
        return outcome

    def undo_edit(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Outcome:
        """Drop the owner's edits: the drafted text of the templates comes back."""

        def apply(session: Session) -> None:
            undo_edit(
                session, reminder_id=reminder_id, business_id=self.business_id, actor=actor, expected_version=version
            )

        return self._act(reminder_id, version, lang, apply, t("edit.undone", lang))

    # --- commands ---

    def status(self) -> StatusSummary:
        """The dashboard figures for today."""
        from storage.queries import status_summary

        with read_session(self.engine) as session:
            business = self._business(session)
            return status_summary(
                session, business_id=self.business_id, today=self.today(), ladder=business_ladder(business)
            )

    def open_invoices(self, client_filter: str = "") -> list[tuple[Invoice, str]]:
        """Open, promised and disputed invoices with their client's name, oldest due first (optionally filtered)."""
        states = [InvoiceState.OPEN, InvoiceState.PROMISED, InvoiceState.DISPUTED]
        with read_session(self.engine) as session:
            stmt = (
                select(Invoice, Client.name)
                .join(Client, col(Client.id) == col(Invoice.client_id))
                .where(Invoice.business_id == self.business_id, col(Invoice.state).in_(states))
                .order_by(col(Invoice.due_date), col(Invoice.number))
            )
            if client_filter.strip():
                stmt = stmt.where(func.lower(Client.name).contains(client_filter.strip().lower()))
            return [(inv, name) for inv, name in session.exec(stmt).all()]

    def find_clients(self, text: str) -> list[Client]:
        """Clients whose name contains `text` (case-insensitive); an exact match alone when there is one."""
        needle = text.strip().lower()
        with read_session(self.engine) as session:
            found = list(
                session.exec(
                    select(Client)
                    .where(Client.business_id == self.business_id, func.lower(Client.name).contains(needle))
                    .order_by(col(Client.name))
                    .limit(20)
                ).all()
            )
        exact = [c for c in found if c.name.lower() == needle]
        return exact or found

    def client_file(self, client_id: int) -> tuple[Client, list[Invoice], list[Reminder]] | None:
        """A client, their invoices and their reminders (newest first)."""
        with read_session(self.engine) as session:
            client = session.get(Client, client_id)
            if client is None or client.business_id != self.business_id:
                return None
            invoices = list(
                session.exec(
                    select(Invoice).where(Invoice.client_id == client_id).order_by(col(Invoice.due_date))
                ).all()
            )
            reminders = list(
                session.exec(
                    select(Reminder)
                    .where(Reminder.client_id == client_id)
                    .order_by(col(Reminder.planned_date).desc(), col(Reminder.id).desc())
                    .limit(20)
                ).all()
            )
            return client, invoices, reminders

    def pay_invoice(self, number: str, amount: Decimal | None, *, actor: str, lang: str) -> Outcome:
        """Record a payment on an invoice by its number (`/payee`)."""
        try:
            with write_session(self.engine) as session:
                inv = session.exec(
                    select(Invoice).where(Invoice.business_id == self.business_id, Invoice.number == number)
                ).first()
                if inv is None:
                    return Outcome("invalid", t("paid.unknown", lang, number=_h(number)))
                assert inv.id is not None
                owed = inv.balance
                if owed <= 0:
                    return Outcome("invalid", t("paid.nothing", lang, number=_h(number)))
                if amount is not None and amount > owed:
                    return Outcome("invalid", t("amount.too_much", lang, owed=format_amount(owed)))
                record_payment(
                    session, business_id=self.business_id, invoice_ids=[inv.id], amount=amount, paid_on=self.today(),
                    actor=actor,
                )  # fmt: skip
                paid = owed if amount is None else amount
                left = owed - paid
        except ActionError as exc:
            return Outcome("failed", t("action.failed", lang, reason=_h(str(exc))))
        if left > 0:
            return Outcome("done", t("pay.saved", lang, amount=format_amount(paid), left=format_amount(left)))
        return Outcome("done", t("pay.saved_full", lang, amount=format_amount(paid)))

    def import_file(self, data: bytes, filename: str, *, actor: str) -> ImportReport:
        """The same all-or-nothing import as the CLI."""
        from storage.importer import import_csv

        return import_csv(
            self.engine,
            business_id=self.business_id,
            path_or_bytes=data,
            filename=filename,
            actor=actor,
            today=self.today(),
        )

    def business(self) -> Business:
        """A detached copy of the business row (settings shown in /parametres)."""
        with read_session(self.engine) as session:
            return self._business(session)

    def set_paused(self, paused: bool, *, actor: str) -> None:
        """Pause or resume everything (no digest, no sending)."""
        with write_session(self.engine) as session:
            business = self._business(session)
            business.paused = paused
            session.add(business)
            record(session, actor=actor, kind="settings_changed", business_id=self.business_id,
                   payload={"paused": paused})  # fmt: skip

    def set_digest_time(self, value: str, *, actor: str) -> str:
        """Change the digest time (HH:MM); raise InputError on a bad value."""
        m = re.fullmatch(r"\s*([01]?\d|2[0-3])[:hH]([0-5]\d)\s*", value)
        if not m:
            raise InputError("settings.bad_time", text=value.strip()[:20])
        text = f"{int(m[1]):02d}:{m[2]}"
        with write_session(self.engine) as session:
            business = self._business(session)
            business.digest_time = text
            session.add(business)
            record(session, actor=actor, kind="settings_changed", business_id=self.business_id,
                   payload={"digest_time": text})  # fmt: skip
        self.settings = self.settings.model_copy(update={"DIGEST_TIME": text})
        return text

    def evidence_zip(self, build: Any, number: str) -> bytes:
        """The evidence ZIP of an invoice, built by storage.export.build_evidence_zip in a temporary folder."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "preuves.zip"
            build(self.engine, business_id=self.business_id, invoice_number=number, today=self.today(), out_path=target,
                  rate_table=self.rate_table)  # fmt: skip
            return target.read_bytes()

    # --- disputes ---

    def disputes(self, *, limit: int = 50) -> tuple[list[DisputeLine], int]:
        """The disputed invoices (oldest due first, at most `limit`) and how many there are in all."""
        with read_session(self.engine) as session:
            stmt = (
                select(Invoice, Client.name)
                .join(Client, col(Client.id) == col(Invoice.client_id))
                .where(Invoice.business_id == self.business_id, Invoice.state == InvoiceState.DISPUTED)
                .order_by(col(Invoice.due_date), col(Invoice.number))
            )
            rows = session.exec(stmt).all()
            lines = [self._dispute_line(session, inv, name) for inv, name in rows[:limit]]
            return lines, len(rows)

    def dispute_line(self, invoice_id: int) -> DisputeLine | None:
        """One invoice as /litiges shows it (whatever its state now), or None if it is not this business's."""
        with read_session(self.engine) as session:
            inv = session.get(Invoice, invoice_id)
            if inv is None or inv.business_id != self.business_id:
                return None
            client = session.get(Client, inv.client_id)
            return self._dispute_line(session, inv, client.name if client else "")

    def close_dispute(
        self, invoice_id: int, version: int, *, outcome: Literal["resolved", "written_off"], actor: str, lang: str
    ) -> Outcome:
        """Close the dispute a /litiges button was shown for: back to the ladder ("resolved") or written off.

        The invoice must still be in that same dispute (`version`), checked in the closing transaction, so a second
        tap, or a tap after /reprendre, changes nothing and says "déjà traité".
        """
        with write_session(self.engine) as session:
            inv = session.get(Invoice, invoice_id)
            if inv is None or inv.business_id != self.business_id:
                return Outcome("unknown", t("cb.unknown", lang))
            client = session.get(Client, inv.client_id)
            name = client.name if client else ""
            if inv.state != InvoiceState.DISPUTED or self._dispute_version(session, invoice_id) != version:
                return Outcome(
                    "stale", t("cb.already", lang), cards.render_dispute(self._dispute_line(session, inv, name), lang)
                )
            line = self._dispute_line(session, inv, name)
            close_dispute(session, business_id=self.business_id, invoice_id=invoice_id, actor=actor, outcome=outcome)
        key = "disputes.resumed" if outcome == "resolved" else "disputes.written_off"
        message = t(key, lang, number=_h(line.number))
        return Outcome("done", message, cards.render_dispute(line, lang, note=message))

    def resume_invoice(self, number: str, *, actor: str, lang: str) -> Outcome:
        """`/reprendre NUMERO`: close the invoice's dispute as resolved; its reminders start again."""
        with write_session(self.engine) as session:
            inv = session.exec(
                select(Invoice).where(Invoice.business_id == self.business_id, Invoice.number == number)
            ).first()
            if inv is None or inv.id is None:
                return Outcome("invalid", t("paid.unknown", lang, number=_h(number)))
            if inv.state != InvoiceState.DISPUTED:
                return Outcome("invalid", t("resume.not_disputed", lang, number=_h(number)))
            close_dispute(session, business_id=self.business_id, invoice_id=inv.id, actor=actor, outcome="resolved")
        return Outcome("done", t("disputes.resumed", lang, number=_h(number)))

    def invoice_id_by_number(self, number: str) -> int | None:
        """The id of an invoice of this business by its number."""
        with read_session(self.engine) as session:
            inv = session.exec(
                select(Invoice).where(Invoice.business_id == self.business_id, Invoice.number == number)
            ).first()
            return inv.id if inv is not None else None

    # --- internals ---

    def _dispute_version(self, session: Session, invoice_id: int) -> int:
        """The evidence sequence number of the invoice's latest dispute_opened entry (0 when there is none)."""
        seq = session.exec(
            select(func.max(EvidenceEntry.seq)).where(
                EvidenceEntry.invoice_id == invoice_id, EvidenceEntry.kind == "dispute_opened"
            )
        ).first()
        return int(seq or 0)

    def _dispute_line(self, session: Session, inv: Invoice, client_name: str) -> DisputeLine:
        assert inv.id is not None
        return DisputeLine(
            invoice_id=inv.id,
            number=inv.number,
            client_name=client_name,
            balance=inv.balance,
            currency=inv.currency,
            reason=inv.dispute_reason or "",
            version=self._dispute_version(session, inv.id),
            state=inv.state,
        )

    def _business(self, session: Session) -> Business:
        business = session.get(Business, self.business_id)
        assert business is not None
        return business

    def _draft(self, session: Session, view: ReminderView, day: date) -> DraftLike:
        # The view holds everything a draft depends on that can change while the bot runs (the reminder's version,
        # state and edits, the client's name, addresses, language and profile, each invoice's amounts, payments,
        # state and step); sender, templates and rates are fixed at start-up. So (view, day) keys the rendered
        # draft: a card redrawn without any change (menus, stale taps) costs no template rendering.
        key = (view, day)
        cached = self._drafts.get(key)
        if cached is not None:
            self._drafts.move_to_end(key)
            return cached
        try:
            draft = self.drafter.draft(session, view, today=day)
        except Exception:  # a draft that cannot be rendered must not hide the card
            log.exception("draft of reminder %s could not be rendered", view.reminder_id)
            return fallback_draft(view)
        self._drafts[key] = draft
        if len(self._drafts) > _DRAFT_CACHE_SIZE:
            self._drafts.popitem(last=False)
        return draft

    def _totals(self, session: Session, day: date) -> tuple[Decimal, Decimal]:
        rows = session.exec(
            select(Invoice).where(
                Invoice.business_id == self.business_id,
                col(Invoice.state).in_([InvoiceState.OPEN, InvoiceState.PROMISED, InvoiceState.DISPUTED]),
            )
        ).all()
        open_total = sum((i.balance for i in rows if i.balance > 0), Decimal("0.00"))
        overdue = sum((i.balance for i in rows if i.balance > 0 and i.due_date < day), Decimal("0.00"))
        return open_total, overdue

    def _not_before(self, business: Business, now: datetime) -> datetime:
        """When an approved e-mail may leave: now, or the next opening of the sending window."""
        from dunning.windows import next_send_time

        if self.settings.RELANCE_TODAY is not None:
            # A fixed "today" (tests, demos) makes the wall clock fictional: windows would hold mail for no reason.
            return now
        weekdays = frozenset(int(d) for d in business.preferred_weekdays.split(",") if d.strip().isdigit())
        result = next_send_time(
            now,
            tz=business.timezone,
            window_start=time.fromisoformat(business.send_window_start),
            window_end=time.fromisoformat(business.send_window_end),
            preferred_weekdays=weekdays,
        )
        return result.astimezone(UTC)

    def _note(self, session: Session, reminder: Reminder, lang: str) -> str | None:
        """The state line of a card that no longer waits for the owner."""
        state = reminder.state
        if state == ReminderState.SENT and reminder.sent_at is not None:
            local = reminder.sent_at.astimezone(self.tz)
            return t(
                "state.sent",
                lang,
                day=local.strftime("%d/%m"),
                time=local.strftime("%H:%M"),
                to=_h(reminder.sent_to or ""),
            )
        if state == ReminderState.SNOOZED and reminder.snoozed_until is not None:
            return t("state.snoozed", lang, day=reminder.snoozed_until.strftime("%d/%m/%Y"))
        if state in (ReminderState.APPROVED, ReminderState.SENDING):
            outbox = self._outbox(session, reminder)
            if outbox is not None and outbox.state == "unknown":
                return t("state.unknown", lang)
            if outbox is not None and outbox.state == "queued" and outbox.not_before > utcnow():
                local = outbox.not_before.astimezone(self.tz)
                return t("state.scheduled", lang, day=local.strftime("%d/%m"), time=local.strftime("%H:%M"))
            return t("state.queued", lang)
        if state == ReminderState.CANCELLED:
            return self._cancel_note(session, reminder, lang)
        if state in _AWAITING:
            return None
        return t("state.other", lang, state=_h(state))

    def _outbox(self, session: Session, reminder: Reminder) -> Outbox | None:
        return session.exec(select(Outbox).where(Outbox.reminder_id == reminder.id)).first()

    def _outbox_keyboard(self, session: Session, reminder: Reminder) -> str:
        """Buttons of an approved card: send now (waiting for the window) or send again (outcome unknown)."""
        if reminder.state not in (ReminderState.APPROVED, ReminderState.SENDING):
            return "none"
        outbox = self._outbox(session, reminder)
        if outbox is None:
            return "none"
        if outbox.state == "unknown":
            return "unknown"
        if outbox.state == "queued" and outbox.not_before > utcnow():
            return "scheduled"
        return "none"

    def _cancel_note(self, session: Session, reminder: Reminder, lang: str) -> str:
        # Cancelled reminders lose their invoice links; the client's invoices tell what happened.
        invoices = session.exec(
            select(Invoice)
            .where(Invoice.client_id == reminder.client_id)
            .order_by(col(Invoice.updated_at).desc())
            .limit(1)
        ).all()
        for inv in invoices:
            if inv.state == InvoiceState.DISPUTED:
                return t("state.disputed", lang, reason=_h(inv.dispute_reason or ""))
            if inv.state == InvoiceState.PROMISED and inv.promised_until is not None:
                return t("state.promised", lang, day=inv.promised_until.strftime("%d/%m/%Y"))
            if inv.state == InvoiceState.PAID:
                return t("state.paid", lang)
        return t("state.cancelled", lang)

    def _card(
        self, session: Session, reminder_id: int, lang: str, *, keyboard: str = "main", note: str | None = None
    ) -> CardText | None:
        day = self.today()
        view = reminder_view(session, reminder_id, day)
        if view is None or view.business_id != self.business_id:
            return None
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        state_note = self._note(session, reminder, lang)
        if state_note is not None:
            kind = self._outbox_keyboard(session, reminder)
            return cards.render_card(view, None, lang=lang, tz=self.tz, today=day, note=note or state_note,
                                     keyboard=kind)  # fmt: skip
        return cards.render_card(view, self._draft(session, view, day), lang=lang, tz=self.tz, today=day, note=note,
                                 keyboard=keyboard)  # fmt: skip

    def _stale(self, session: Session, reminder_id: int, lang: str) -> Outcome:
        return Outcome("stale", t("cb.already", lang), self._card(session, reminder_id, lang), reminder_id)

    def _act(
        self, reminder_id: int, version: int, lang: str, apply: Any, message: str, *, keyboard: str = "main"
    ) -> Outcome:
        """Run one change in one transaction; stale, unknown and refused changes leave everything as it was."""
        try:
            with write_session(self.engine) as session:
                apply(session)
                session.flush()
                card = self._card(session, reminder_id, lang, keyboard=keyboard)
            return Outcome("done", message, card, reminder_id)
        except UnknownReminderError:
            return Outcome("unknown", t("cb.unknown", lang))
        except StaleReminderError:
            with read_session(self.engine) as session:
                return self._stale(session, reminder_id, lang)
        except InputError as exc:
            return Outcome("invalid", exc.text(lang), reminder_id=reminder_id)
        except ActionError as exc:
            return Outcome("failed", t("action.failed", lang, reason=_h(str(exc))), reminder_id=reminder_id)


def _h(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _default_drafter(settings: Settings, rate_table: RateTable) -> Drafter:
    try:
        return TemplateDrafter(settings.TEMPLATES_DIR, rate_table=rate_table)
    except ImportError:
        return _FallbackDrafter()


class _FallbackDrafter:
    def draft(self, session: Session, view: ReminderView, *, today: date) -> DraftLike:
        return fallback_draft(view)
