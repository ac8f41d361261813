"""The use cases of one business, chat-free: the day's digest, every reminder action (send, release, snooze, pay,
dispute, promise, edit, undo), the queries behind /status, /factures and /client, disputes and settings changes.

Each public method opens one session (one transaction for a change, with its evidence entry) and returns plain
results: an `Outcome` whose message is a catalogue key with its values (`Msg`) and whose card is the data a card
shows (`CardState`). The chat adapters (bot/presenter.py for Telegram and the terminal) turn them into text and
buttons in the owner's language.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

# A second claim of the day's digest (another process was first) fails with the unique constraint, at flush.
from sqlalchemy.exc import IntegrityError

from dunning.calendar import next_business_day
from dunning.ladder import Channel
from dunning.states import InvoiceState, ReminderState
from messages.mime import DraftLike
from messages.render import InvoicePdfError, TemplateError
from services.calls import CallInfo, call_info, card_channel, reached_call
from services.context import BusinessContext
from services.delivery import DeliveryReport, SendRequest
from services.digest import digest_due
from services.drafts import draft_context
from storage import cards as card_store
from storage import workers
from storage.businesses import BusinessRow, business_row, update_business
from storage.calls import NO_ANSWER, REACHED, CallRecord, called_version, calls_of, is_call, lock_called, log_call
from storage.cards import OutboxState
from storage.clients import ClientRow, client_row, clients_named
from storage.db import Engine, Session, read_session, write_session
from storage.digests import (
    DigestFacts,
    all_digest_facts,
    cards_shown,
    claim_digest,
    digest_claimed,
    digest_facts,
    mark_delivered,
    missed_digest,
    seal_digest,
    take_over_digest,
    try_claim_lock,
    uncertain_reminders,
    undelivered_digest,
    undelivered_digests,
)
from storage.evidence import head_hash, record
from storage.invoices import (
    InvoiceRow,
    balance_of,
    client_invoices,
    dispute_version,
    disputed_invoices,
    invoice_by_number,
    invoice_with_client,
    latest_client_invoice,
    open_invoices,
    outstanding_totals,
)
from storage.reminders import (
    ActionError,
    ReminderView,
    StaleReminderError,
    UnknownReminderError,
    business_ladder,
    client_reminders,
    close_dispute,
    edit_draft,
    invoice_ids_of,
    lock_awaiting,
    open_dispute,
    pending_views,
    record_payment,
    record_promise,
    refresh_due,
    reminder_version,
    reminder_view,
    snooze,
    undo_edit,
)
from storage.task_actions import daily_check as tasks_daily_check
from storage.types import utcnow

if TYPE_CHECKING:
    from dunning.penalties import RateTable
    from services.einvoice_import import EInvoiceReport
    from services.imports import ImportReport
    from services.letters import LetterFacts, LetterOutcome
    from services.settings import RateLine
    from services.statements_chat import DoubtCard, LineDecision
    from storage.letters import AwaitingLetter
    from storage.payments_in import PaymentsSummary
    from storage.queries import StatusSummary

log = logging.getLogger(__name__)

#: The longest body the owner may type in an edit (a card must still fit in one Telegram message).
MAX_EDIT_BODY = 3000
MAX_SUBJECT = 200
MAX_REASON = 500
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
_AWAITING = (ReminderState.PENDING, ReminderState.FAILED)
#: Invoices still chased: after a call, the card offers Promesse / Litige / Payée while one of them is.
_CHASED = (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID)
_SUBJECT_LINE = re.compile(r"^\s*(objet|subject)\s*:\s*(.*)$", re.IGNORECASE)


# --- results --------------------------------------------------------------------------------------------------


class Msg:
    """A message for the owner: a catalogue key and its values (Decimal amounts, dates, plain strings)."""

    __slots__ = ("key", "values")

    def __init__(self, key: str, **values: Any) -> None:
        self.key = key
        self.values = values

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.key, self.values) == (other.key, other.values)

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, {self.values!r})"


@dataclass(frozen=True, slots=True)
class DraftFailure:
    """A draft that could not be rendered: what is wrong (template file and line). Nothing can be sent."""

    reason: str


@dataclass(frozen=True, slots=True)
class CardState:
    """What a reminder's card shows: the reminder, its draft (None once handled), a note, which buttons."""

    view: ReminderView
    draft: DraftLike | DraftFailure | None
    note: Msg | None
    keyboard: str
    tz: ZoneInfo
    today: date
    #: A formal notice's registered letter (services.letters.LetterFacts), None when none was posted (or read).
    letter: Any = None
    #: How the step reaches the client (dunning.ladder.Channel value), and the call card's data when it is a call.
    channel: str = "email"
    call: CallInfo | None = None


@dataclass(frozen=True, slots=True)
class DisputeLine:
    """A disputed invoice as /litiges lists it; `version` ties its buttons to this very dispute."""

    invoice_id: int
    number: str
    client_name: str
    balance: Decimal
    currency: str
    reason: str
    version: int
    state: str


@dataclass
class Outcome:
    """The result of an owner action: what to answer, and the card (or dispute line) to show now."""

    status: Literal["done", "stale", "unknown", "invalid", "failed"]
    message: Msg | None = None
    card: CardState | None = None
    reminder_id: int | None = None
    path: str | None = None
    dispute: DisputeLine | None = None

    @property
    def ok(self) -> bool:
        """True when the action was carried out."""
        return self.status == "done"


@dataclass
class DigestData:
    """Everything a digest shows, read in one transaction."""

    day: date
    views: list[ReminderView]
    drafts: dict[int, DraftLike | DraftFailure]
    open_total: Decimal
    overdue_total: Decimal
    head: str
    paused: bool
    tz: ZoneInfo
    #: Cards of the e-mails whose outcome is uncertain: listed in every digest until the owner decides.
    uncertain: list[CardState] = field(default_factory=list)
    #: Each reminder's channel (when not an e-mail), and the call card's data of those to be called.
    channels: dict[int, str] = field(default_factory=dict)
    calls: dict[int, CallInfo] = field(default_factory=dict)
    #: The registered letter of each formal notice that has one (services.letters.LetterFacts), for its card.
    letters: dict[int, Any] = field(default_factory=dict)
    #: The day of the previous digest when it could not go out (claimed, never delivered): said atop this one.
    missed: date | None = None
    #: A digest taken up after its process died: the (reminder id, chat id) of the cards that reached a chat
    #: before, not shown there again.
    shown: frozenset[tuple[int, str]] = frozenset()


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

    @property
    def msg(self) -> Msg:
        """The owner-facing explanation, as a catalogue message."""
        return Msg(self.key, **self.values)


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
    from services.imports import parse_amount

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


def _payment_msg(owed: Decimal, amount: Decimal | None) -> Msg:
    """What a recorded payment says: the amount paid (all that was owed when `amount` is None), and what is left."""
    paid = owed if amount is None else amount
    left = owed - paid
    return Msg("pay.saved", amount=paid, left=left) if left > 0 else Msg("pay.saved_full", amount=paid)


# --- the services ---------------------------------------------------------------------------------------------


#: Rendered drafts kept per process (each a few kilobytes): enough for a busy morning's cards in every language.
_DRAFT_CACHE_SIZE = 512


def digest_overview(engine: Engine, since: date) -> tuple[dict[int, DigestFacts], dict[int, date]]:
    """The digest facts of every business and their undelivered digests since `since`, in a few queries: the
    minute's check then asks only the businesses that may have something (`Services.may_have_digest`)."""
    with read_session(engine) as session:
        return all_digest_facts(session), undelivered_digests(session, since=since)


class Services:
    """The use cases of one business (its context: database, clock, policy, identity, drafter, delivery)."""

    def __init__(self, ctx: BusinessContext) -> None:
        self.ctx = ctx
        self.engine = ctx.engine
        self.business_id = ctx.business_id
        self.owner_ids = ctx.owner_ids
        self.tz = ctx.tz
        self.delivery = ctx.delivery
        self.drafter = ctx.drafter
        self.rate_table = ctx.rate_table
        self._drafts: OrderedDict[tuple[ReminderView, date], DraftLike] = OrderedDict()  # see _draft

    # --- clock ---

    def today(self) -> date:
        """The business day (the one function every use case asks)."""
        return self.ctx.clock.today()

    def now(self) -> datetime:
        """The current moment, aware, UTC."""
        return self.ctx.clock.now()

    def is_owner(self, user_id: int | None) -> bool:
        """True for the business's owners."""
        return user_id is not None and user_id in self.owner_ids

    # --- digest ---

    def digest(self, *, claim: bool, day: date | None = None) -> DigestData | None:
        """Materialise today's reminders and read the digest; with `claim`, at most once a day (None if done).

        `day` is the day the digest was found due for (a check at 23:59:59 must not claim the next day's)."""
        day = day if day is not None else self.today()
        try:
            with write_session(self.engine) as session:
                business = business_row(session, business_id=self.business_id)
                run_id: int | None = None
                missed: date | None = None
                if claim:
                    if not try_claim_lock(session, business_id=self.business_id):
                        return None  # another process is preparing it right now (never waited for)
                    if digest_claimed(session, business_id=self.business_id, day=day):
                        return None
                    missed = missed_digest(session, business_id=self.business_id, before=day)
                    holder = workers.ensure_lease(self.engine)  # a restart knows whether this process still lives
                    run_id = claim_digest(session, business_id=self.business_id, day=day, holder=holder)
                views: list[ReminderView] = []
                if not business.paused:
                    views = refresh_due(session, business=business, today=day, ladder=business_ladder(business))
                # --- owner tasks --- broken promises and missed instalments, through the state machine, before the
                # digest shows its tasks; after the ladder, which follows a broken promise up as such.
                tasks_daily_check(session, business_id=self.business_id, today=day)
                drafts = {v.reminder_id: self._draft(session, v, day) for v in views}
                ways = {v.reminder_id: self._way(session, v) for v in views}
                # Registered letters: a formal notice's card offers the letter's buttons as it stands.
                letters = {v.reminder_id: f for v in views if (f := self._letter_facts(session, v)) is not None}
                open_total, overdue_total = outstanding_totals(session, business_id=self.business_id, day=day)
                if claim:
                    record(
                        session,
                        actor="system",
                        kind="digest_sent",
                        business_id=self.business_id,
                        payload={"day": day, "reminders": [v.reminder_id for v in views]},
                    )
                head = head_hash(session, business_id=self.business_id)
                if run_id is not None:
                    seal_digest(session, business_id=self.business_id, run_id=run_id, head_hash=head)
                uncertain = [
                    c
                    for r in uncertain_reminders(session, business_id=self.business_id)
                    if (c := self._card(session, r))
                ]
                return DigestData(day, views, drafts, open_total, overdue_total, head, business.paused, self.tz,
                                  uncertain=uncertain,
                                  channels={r: w[0].value for r, w in ways.items() if w[0] != Channel.EMAIL},
                                  calls={r: w[1] for r, w in ways.items() if w[1] is not None},
                                  letters=letters, missed=missed)  # fmt: skip
        except IntegrityError:
            # Another process claimed today's digest first.
            return None

    def digest_due_at_start(self, now_local: datetime) -> bool:
        """True when the digest of `now_local`'s day should go out now (see services.digest.digest_due)."""
        return self.digest_due(now_local) is not None

    def may_have_digest(self, facts: DigestFacts | None, undelivered: date | None) -> bool:
        """From the facts read for every business at once (`digest_overview`): whether `digest_if_due` can find
        anything for this business now (due, or today's undelivered digest to take up); False skips its reads."""
        if facts is None:
            return True  # a business added since the overview was read: ask it
        return self.digest_due(facts=facts) is not None or undelivered == self.today()

    def digest_due(self, now_local: datetime | None = None, *, facts: DigestFacts | None = None) -> date | None:
        """The day whose digest should go out now (None: nothing to send), by the business's clock and digest time."""
        if self.ctx.clock.fixed:
            # A fixed "today" makes the wall clock fictional: that day counts as past its digest time.
            now_local = datetime.combine(self.today(), time(23, 59, 59), tzinfo=self.tz)
        elif now_local is None:
            now_local = self.ctx.clock.local_now()
        if facts is None:
            with read_session(self.engine) as session:
                facts = digest_facts(session, business_id=self.business_id)
        due = digest_due(now_local, facts.digest_time, facts.last_digest_day, facts.needs_owner)
        return now_local.date() if due else None

    def digest_delivered(self, day: date) -> None:
        """The digest of `day` reached every chat: the next one will not report it as missed."""
        with write_session(self.engine) as session:
            mark_delivered(session, business_id=self.business_id, day=day, at=self.now())

    def digest_deadline(self, day: date) -> datetime | None:
        """Until when the digest of `day` may still go out: the end of the business's sending window that day, or the
        end of the day when the digest comes after it (a late digest time, a restart in the evening); None with a
        fixed "today", whose wall clock is fictional."""
        if self.ctx.clock.fixed:
            return None
        with read_session(self.engine) as session:
            business = business_row(session, business_id=self.business_id)
        end = datetime.combine(day, time.fromisoformat(business.send_window_end), tzinfo=self.tz)
        if end <= self.ctx.clock.local_now():
            end = datetime.combine(day, time(23, 59, 59), tzinfo=self.tz)
        return end

    def digest_if_due(self) -> DigestData | None:
        """The scheduled check (at start and every minute): the day's digest, claimed once, when it is due."""
        day = self.digest_due()
        return self.resume_digest() if day is None else self.digest(claim=True, day=day)

    def resume_digest(self, day: date | None = None) -> DigestData | None:
        """Today's digest when the process that claimed it died before it reached every chat (kill -9, a crash, a
        host lost): taken over by exactly one process, with the cards that never reached a chat (those that did are
        not shown twice). None when there is nothing to take up: not claimed, delivered, or its claimer still lives
        (a live process whose delivery failed leaves it to the next digest's "missed" line)."""
        day = day if day is not None else self.today()
        with read_session(self.engine) as session:
            found = undelivered_digest(session, business_id=self.business_id, day=day)
        if found is None or workers.alive(self.engine, found[1]):
            return None
        deadline = self.digest_deadline(day)
        if deadline is not None and deadline <= self.now():
            return None  # too late today: the next digest reports it
        holder = workers.ensure_lease(self.engine)
        with write_session(self.engine) as session:
            taken = take_over_digest(
                session, business_id=self.business_id, run_id=found[0], previous=found[1], holder=holder
            )
        if not taken:
            return None  # another process took it up first
        log.info("taking up the digest of %s claimed by a process that stopped (%s)", day, found[1])
        data = self.digest(claim=False, day=day)
        assert data is not None  # only a claim returns None
        with read_session(self.engine) as session:
            shown = cards_shown(session, business_id=self.business_id, reminder_ids=[v.reminder_id for v in data.views])
        if data.views and {rid for rid, _ in shown} >= {v.reminder_id for v in data.views}:
            self.digest_delivered(day)  # every card went out before the stop: only the record was missing
            return None
        return replace(data, shown=frozenset(shown))

    def register_cards(self, shown: Sequence[tuple[int, str, str]], *, channel: str = "telegram") -> None:
        """Remember which chat message shows which reminder: (reminder_id, chat_id, message_id) in `channel`; the
        ids are the adapter's own, as text (Telegram's numbers, Slack's channel id and message ts)."""
        if not shown:
            return
        with write_session(self.engine) as session:
            wanted = {reminder_id for reminder_id, _, _ in shown}
            ours = card_store.business_reminders(session, business_id=self.business_id, reminder_ids=wanted)
            for reminder_id, chat_id, message_id in shown:
                if reminder_id not in ours:
                    # Fail closed: a card of another business's reminder (forged or mixed-up id) is never stored.
                    log.warning("card of reminder %s not stored: not a reminder of business %s", reminder_id,
                                self.business_id)  # fmt: skip
                    continue
                card_store.add_card(session, business_id=self.business_id, channel=channel, reminder_id=reminder_id,
                                    chat_id=chat_id, message_id=message_id)  # fmt: skip

    def cards_of(self, reminder_id: int, *, channel: str = "telegram") -> list[tuple[str, str]]:
        """The (chat_id, message_id) of every card of this business showing a reminder in `channel`."""
        with read_session(self.engine) as session:
            return card_store.cards_of(session, business_id=self.business_id, channel=channel, reminder_id=reminder_id)

    def pending(self) -> list[ReminderView]:
        """The reminders waiting for the owner (no refresh)."""
        with read_session(self.engine) as session:
            return pending_views(session, self.business_id, self.today())

    # --- cards ---

    def card(self, reminder_id: int, *, keyboard: str = "main", note: Msg | None = None) -> CardState | None:
        """The current card of a reminder (None if unknown)."""
        with read_session(self.engine) as session:
            return self._card(session, reminder_id, keyboard=keyboard, note=note)

    def current(self, reminder_id: int, version: int) -> Literal["current", "stale", "unknown"]:
        """Whether a card's button (reminder id and version) still matches the database."""
        with read_session(self.engine) as session:
            found = reminder_version(session, business_id=self.business_id, reminder_id=reminder_id)
        if found is None:
            return "unknown"
        current_version, state = found
        if current_version != version or state not in _AWAITING:
            if current_version == version and state == ReminderState.SENT:
                # A completed call's card offers Promesse / Litige / Payée from what the client said.
                with read_session(self.engine) as session:
                    called = called_version(session, business_id=self.business_id, reminder_id=reminder_id)
                if called == version:
                    return "current"
            return "stale"
        return "current"

    def full_text(self, reminder_id: int) -> str | None:
        """The whole drafted message (subject and body) of a reminder, plain text."""
        with read_session(self.engine) as session:
            view = self._view(session, reminder_id, self.today())
            if view is None:
                return None
            draft = self._draft(session, view, self.today())
            if isinstance(draft, DraftFailure):
                return None
            return f"{draft.subject}\n\n{draft.text}"

    def call_script(self, reminder_id: int) -> str | None:
        """The phone-call script of a reminder (key accounts are called before any e-mail)."""
        renderer = getattr(self.drafter, "renderer", None)
        if renderer is None:
            return None

        with read_session(self.engine) as session:
            view = self._view(session, reminder_id, self.today())
            if view is None:
                return None
            ctx = draft_context(session, reminder_id=reminder_id, today=self.today(), rate_table=self.rate_table,
                                business_id=self.business_id)  # fmt: skip
            script: str = renderer.render_call_script(ctx)
            return script

    def letter_pdf(self, reminder_id: int) -> tuple[str, bytes] | None:
        """The formal-notice letter (file name, PDF) of a reminder, for printing or registered mail."""
        with read_session(self.engine) as session:
            view = self._view(session, reminder_id, self.today())
            if view is None:
                return None
            draft = self._draft(session, view, self.today())
        if isinstance(draft, DraftFailure):
            return None
        for attachment in draft.attachments:
            if attachment.mime_type == "application/pdf":
                return attachment.filename, bytes(attachment.content)
        return None

    # --- actions ---

    async def send(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """Approve and deliver a reminder's e-mail (never twice: the version and the outbox guard it)."""
        day = self.today()
        with read_session(self.engine) as session:
            view = self._view(session, reminder_id, day)
            if view is None:
                return Outcome("unknown", Msg("cb.unknown"))
            if view.version != version or not view.awaiting_owner:
                return self._stale(session, reminder_id)
            if not view.client_emails:
                return Outcome("failed", Msg("send.no_email"), reminder_id=reminder_id)
            business = business_row(session, business_id=self.business_id)
            mail_from = self.ctx.mail_from or business.email or getattr(self.delivery, "default_sender", "")
            if not mail_from:
                return Outcome("failed", Msg("send.no_sender"), reminder_id=reminder_id)
            draft = self._draft(session, view, day)
            if isinstance(draft, DraftFailure):
                # Fail closed: nothing is sent when the draft cannot be rendered as the templates say.
                card = self._card(session, reminder_id)
                return Outcome("failed", Msg("draft.broken", reason=draft.reason), card, reminder_id)
        now = self.now()
        request = SendRequest(
            reminder_id=reminder_id,
            expected_version=version,
            business_id=self.business_id,
            draft=draft,
            mail_from=mail_from,
            reply_to=self.ctx.reply_to or business.reply_to or None,
            recipients=view.client_emails,
            actor=actor,
            now=now,
            not_before=self._not_before(business, now),
            today=day,
        )
        try:
            report = await self.delivery.send(self.engine, request)
        except (StaleReminderError, UnknownReminderError):
            report = DeliveryReport("stale")
        with read_session(self.engine) as session:
            if report.status == "stale":
                return self._stale(session, reminder_id)
            if report.status == "failed":
                card = self._card(session, reminder_id, note=Msg("card.failed", reason=report.reason))
                return Outcome("failed", Msg("send.failed", reason=report.reason), card, reminder_id)
            note = None
            if report.status == "scheduled" and report.not_before is not None:
                local = report.not_before.astimezone(self.tz)
                note = Msg("state.scheduled", day=local.strftime("%d/%m"), time=local.strftime("%H:%M"))
            elif report.status == "unknown":
                note = Msg("state.unknown")
            card = self._card(session, reminder_id, note=note)
            message = Msg("cb.done") if report.status == "sent" else (note or Msg("state.queued"))
            return Outcome("done", message, card, reminder_id, path=report.path)

    async def release(self, reminder_id: int, version: int, *, actor: str, resend: bool) -> Outcome:
        """Send now an e-mail waiting for the sending window, or (`resend`) one whose outcome is unknown."""
        from services.outbox import OutboxError, resend_unknown

        now = self.now()
        try:
            with write_session(self.engine) as session:
                found = reminder_version(session, business_id=self.business_id, reminder_id=reminder_id)
                if found is None:
                    return Outcome("unknown", Msg("cb.unknown"))
                outbox = self._outbox(session, reminder_id)
                wanted = "unknown" if resend else "queued"
                if found[0] != version or outbox is None or outbox.state != wanted:
                    return self._stale(session, reminder_id)
                if resend:
                    resend_unknown(session, outbox.id, actor, business_id=self.business_id)
                else:
                    card_store.send_now(session, business_id=self.business_id, reminder_id=reminder_id,
                                        outbox_id=outbox.id, now=now, actor=actor)  # fmt: skip
        except OutboxError:
            with read_session(self.engine) as session:
                return self._stale(session, reminder_id)
        dispatch = getattr(self.delivery, "dispatch", None)
        if dispatch is not None:  # wakes the sender job (never SMTP on the tap's path), or delivers without one
            await dispatch(self.engine, self.business_id, now)
        with read_session(self.engine) as session:
            return Outcome("done", Msg("cb.sending"), self._card(session, reminder_id), reminder_id)

    def confirm_sent(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """✅ Bien parti on an uncertain send: the owner checked it left; it counts as sent then, the ladder goes on."""
        from services.outbox import NotUncertainError, confirm_left

        try:
            with write_session(self.engine) as session:
                found = reminder_version(session, business_id=self.business_id, reminder_id=reminder_id)
                if found is None:
                    return Outcome("unknown", Msg("cb.unknown"))
                outbox = self._outbox(session, reminder_id)
                if found[0] != version or outbox is None or outbox.state != "unknown":
                    return self._stale(session, reminder_id)
                confirm_left(session, outbox.id, actor, business_id=self.business_id)
        except NotUncertainError:
            with read_session(self.engine) as session:
                return self._stale(session, reminder_id)
        with read_session(self.engine) as session:
            return Outcome("done", Msg("confirm.done"), self._card(session, reminder_id), reminder_id)

    def snooze(self, reminder_id: int, version: int, *, actor: str, days: int = 0,
               until: date | None = None) -> Outcome:  # fmt: skip
        """Put a reminder off by `days` (to the next business day) or until a date."""
        day = self.today()
        target = until if until is not None else next_business_day(day + timedelta(days=days))
        return self._act(
            reminder_id,
            version,
            lambda s: snooze(
                s,
                reminder_id=reminder_id,
                business_id=self.business_id,
                until=target,
                today=day,
                actor=actor,
                expected_version=version,
            ),
            Msg("snooze.saved", day=target.strftime("%d/%m/%Y")),
        )

    def pay(self, reminder_id: int, version: int, *, actor: str, amount: Decimal | None = None) -> Outcome:
        """Record a payment of the reminder's invoices: in full, or a partial amount (oldest invoice first)."""
        day = self.today()
        message: list[Msg] = []

        def apply(session: Session) -> None:
            ids = self._awaiting_invoices(session, reminder_id, version)
            owed = balance_of(session, business_id=self.business_id, invoice_ids=ids)
            if amount is not None and amount > owed:
                raise InputError("amount.too_much", owed=owed)
            record_payment(session, business_id=self.business_id, invoice_ids=ids, amount=amount, paid_on=day,
                           actor=actor)  # fmt: skip
            message.append(_payment_msg(owed, amount))

        outcome = self._act(reminder_id, version, apply, None)
        if outcome.ok and message:
            outcome.message = message[0]
        return outcome

    def dispute(self, reminder_id: int, version: int, *, reason: str, actor: str) -> Outcome:
        """Put the reminder's invoices in dispute: they leave the ladder until the owner closes it."""
        return self._act(
            reminder_id,
            version,
            lambda s: open_dispute(
                s,
                business_id=self.business_id,
                invoice_ids=self._awaiting_invoices(s, reminder_id, version),
                reason=reason,
                actor=actor,
            ),
            Msg("dispute.saved"),
        )

    def promise(self, reminder_id: int, version: int, *, until: date, actor: str) -> Outcome:
        """Record the client's promise to pay by `until`: reminders pause until then."""
        day = self.today()
        return self._act(
            reminder_id,
            version,
            lambda s: record_promise(
                s,
                business_id=self.business_id,
                invoice_ids=self._awaiting_invoices(s, reminder_id, version),
                until=until,
                today=day,
                actor=actor,
            ),
            Msg("promise.saved", day=until.strftime("%d/%m/%Y")),
        )

    def edit(self, reminder_id: int, version: int, *, edit: ParsedEdit, actor: str) -> Outcome:
        """Replace the drafted text (and the subject when given); the card then offers Envoyer / Annuler."""
        outcome = self._act(
            reminder_id,
            version,
            lambda s: edit_draft(
                s,
                reminder_id=reminder_id,
                business_id=self.business_id,
                subject=edit.subject,
                body=edit.body,
                actor=actor,
                expected_version=version,
            ),
            Msg("edit.saved"),
            keyboard="edited",
        )
        return outcome

    def undo_edit(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """Drop the owner's edits: the drafted text of the templates comes back."""

        def apply(session: Session) -> None:
            undo_edit(
                session, reminder_id=reminder_id, business_id=self.business_id, actor=actor, expected_version=version
            )

        return self._act(reminder_id, version, apply, Msg("edit.undone"))

    # --- commands ---

    def status(self) -> StatusSummary:
        """The dashboard figures for today."""
        from storage.queries import status_summary

        with read_session(self.engine) as session:
            business = business_row(session, business_id=self.business_id)
            return status_summary(
                session, business_id=self.business_id, today=self.today(), ladder=business_ladder(business)
            )

    def open_invoices(self, client_filter: str = "") -> list[tuple[InvoiceRow, str]]:
        """Open, promised and disputed invoices with their client's name, oldest due first (optionally filtered)."""
        with read_session(self.engine) as session:
            return open_invoices(session, business_id=self.business_id, client_filter=client_filter)

    def find_clients(self, text: str) -> list[ClientRow]:
        """Clients whose name contains `text` (case-insensitive); an exact match alone when there is one."""
        needle = text.strip().lower()
        with read_session(self.engine) as session:
            found = clients_named(session, business_id=self.business_id, text=needle, limit=20)
        exact = [c for c in found if c.name.lower() == needle]
        return exact or found

    def client_file(self, client_id: int) -> tuple[ClientRow, list[InvoiceRow], list[ReminderView]] | None:
        """A client, their invoices (by due date) and their reminders (newest first, at most 20)."""
        with read_session(self.engine) as session:
            client = client_row(session, business_id=self.business_id, client_id=client_id)
            if client is None:
                return None
            invoices = client_invoices(session, business_id=self.business_id, client_id=client_id)
            reminders = client_reminders(session, business_id=self.business_id, client_id=client_id,
                                         today=self.today(), limit=20)  # fmt: skip
            return client, invoices, reminders

    def pay_invoice(self, number: str, amount: Decimal | None, *, actor: str) -> Outcome:
        """Record a payment on an invoice by its number (`/payee`)."""
        try:
            with write_session(self.engine) as session:
                inv = invoice_by_number(session, business_id=self.business_id, number=number)
                if inv is None:
                    return Outcome("invalid", Msg("paid.unknown", number=number))
                owed = inv.balance
                if owed <= 0:
                    return Outcome("invalid", Msg("paid.nothing", number=number, state=InvoiceState(inv.state)))
                if amount is not None and amount > owed:
                    return Outcome("invalid", Msg("amount.too_much", owed=owed))
                record_payment(
                    session, business_id=self.business_id, invoice_ids=[inv.id], amount=amount, paid_on=self.today(),
                    actor=actor,
                )  # fmt: skip
        except ActionError as exc:
            from services.refusals import refusal

            return Outcome("failed", refusal(exc))
        return Outcome("done", _payment_msg(owed, amount))

    def import_file(self, data: bytes, filename: str, *, actor: str) -> ImportReport | EInvoiceReport:
        """The same all-or-nothing import as the CLI: a CSV, or an e-invoice (PDF or XML) told by its content."""
        from pathlib import Path

        from services.einvoice_import import import_file

        return import_file(
            self.engine,
            business_id=self.business_id,
            data=data,
            filename=filename,
            actor=actor,
            document_store=Path(self.ctx.data_dir) / "invoices" / str(self.business_id),
            business_siren=self.business().siren,
            business_vat=self.business().vat_number,
            today=self.today(),
            rate_table=self.rate_table,
        )

    def business(self) -> BusinessRow:
        """The business as stored now (settings shown in /parametres)."""
        with read_session(self.engine) as session:
            return business_row(session, business_id=self.business_id)

    def set_paused(self, paused: bool, *, actor: str) -> None:
        """Pause or resume everything (no digest, no sending)."""
        with write_session(self.engine) as session:
            update_business(session, business_id=self.business_id, paused=paused)
            record(session, actor=actor, kind="settings_changed", business_id=self.business_id,
                   payload={"paused": paused})  # fmt: skip

    def set_digest_time(self, value: str, *, actor: str) -> str:
        """Change the digest time (HH:MM); raise InputError on a bad value."""
        m = re.fullmatch(r"\s*([01]?\d|2[0-3])[:hH]([0-5]\d)\s*", value)
        if not m:
            raise InputError("settings.bad_time", text=value.strip()[:20])
        text = f"{int(m[1]):02d}:{m[2]}"
        with write_session(self.engine) as session:
            update_business(session, business_id=self.business_id, digest_time=text)
            record(session, actor=actor, kind="settings_changed", business_id=self.business_id,
                   payload={"digest_time": text})  # fmt: skip
        return text

    def set_rate(self, half_year: str, value: str, *, actor: str) -> tuple[str, Decimal]:
        """Add (or correct) the ECB rate of a half-year for this business, logged, used at once (services/settings)."""
        from services.settings import set_rate

        return set_rate(self, half_year, value, actor=actor)

    def recent_rates(self, count: int = 4) -> list[RateLine]:
        """The ECB rates of the last `count` half-years, None where missing (services.settings.RateLine)."""
        from services.settings import recent_rates

        return recent_rates(self.rate_table, self.today(), count)

    def use_rate_table(self, rates: RateTable) -> None:
        """Use `rates` from now on: context, drafter and the draft cache (drafts state penalty figures)."""
        self.rate_table = self.ctx.rate_table = rates
        if hasattr(self.drafter, "rate_table"):  # a test's drafter may have no rates
            setattr(self.drafter, "rate_table", rates)  # noqa: B010 - not part of the Drafter protocol
        self._drafts.clear()

    def evidence_zip(self, number: str) -> bytes:
        """The evidence ZIP of an invoice of this business (ExportError when it cannot be built), read-only."""
        import tempfile
        from pathlib import Path

        from services.export import build_evidence_zip

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "preuves.zip"
            build_evidence_zip(self.engine, business_id=self.business_id, invoice_number=number, today=self.today(),
                               out_path=target, rate_table=self.rate_table)  # fmt: skip
            return target.read_bytes()

    # --- disputes ---

    def disputes(self, *, limit: int = 50) -> tuple[list[DisputeLine], int]:
        """The disputed invoices (oldest due first, at most `limit`) and how many there are in all."""
        with read_session(self.engine) as session:
            rows = disputed_invoices(session, business_id=self.business_id)
            lines = [self._dispute_line(session, inv, name) for inv, name in rows[:limit]]
            return lines, len(rows)

    def dispute_line(self, invoice_id: int) -> DisputeLine | None:
        """One invoice as /litiges shows it (whatever its state now), or None if it is not this business's."""
        with read_session(self.engine) as session:
            found = invoice_with_client(session, business_id=self.business_id, invoice_id=invoice_id)
            return self._dispute_line(session, *found) if found is not None else None

    def close_dispute(
        self, invoice_id: int, version: int, *, outcome: Literal["resolved", "written_off"], actor: str
    ) -> Outcome:
        """Close the dispute a /litiges button was shown for: back to the ladder ("resolved") or written off.

        The invoice must still be in that same dispute (`version`), checked in the closing transaction, so a second
        tap, or a tap after /reprendre, changes nothing and says "déjà traité".
        """
        with write_session(self.engine) as session:
            found = invoice_with_client(session, business_id=self.business_id, invoice_id=invoice_id)
            if found is None:
                return Outcome("unknown", Msg("cb.unknown"))
            inv, name = found
            if inv.state != InvoiceState.DISPUTED or self._dispute_version(session, invoice_id) != version:
                return Outcome("stale", Msg("cb.already"), dispute=self._dispute_line(session, inv, name))
            line = self._dispute_line(session, inv, name)
            close_dispute(session, business_id=self.business_id, invoice_id=invoice_id, actor=actor, outcome=outcome)
        key = "disputes.resumed" if outcome == "resolved" else "disputes.written_off"
        message = Msg(key, number=line.number)
        return Outcome("done", message, dispute=line)

    def resume_invoice(self, number: str, *, actor: str) -> Outcome:
        """`/reprendre NUMERO`: close the invoice's dispute as resolved; its reminders start again."""
        with write_session(self.engine) as session:
            inv = invoice_by_number(session, business_id=self.business_id, number=number)
            if inv is None:
                return Outcome("invalid", Msg("paid.unknown", number=number))
            if inv.state != InvoiceState.DISPUTED:
                return Outcome("invalid", Msg("resume.not_disputed", number=number, state=InvoiceState(inv.state)))
            close_dispute(session, business_id=self.business_id, invoice_id=inv.id, actor=actor, outcome="resolved")
        return Outcome("done", Msg("disputes.resumed", number=number))

    def invoice_id_by_number(self, number: str) -> int | None:
        """The id of an invoice of this business by its number."""
        with read_session(self.engine) as session:
            inv = invoice_by_number(session, business_id=self.business_id, number=number)
            return inv.id if inv is not None else None

    # --- bank statements ---

    def is_statement(self, data: bytes, filename: str) -> bool:
        """True when an uploaded file is a bank statement (CAMT, OFX, a known bank's CSV), not an invoice import."""
        from services.statements_chat import is_statement

        return is_statement(data, filename)

    def import_statement(self, data: bytes, filename: str, *, actor: str) -> PaymentsSummary:
        """Read a bank statement, record its sure payments, keep its doubtful lines for the owner (all or nothing);
        then a "merci" draft for each client now all paid up (summary.thanks)."""
        from services.payments import import_statement, propose_thanks

        summary = import_statement(self.engine, self.business_id, data, filename, actor=actor)
        return propose_thanks(self.ctx, summary, actor=actor)

    def doubtful_lines(
        self, *, limit: int = 20, line_ids: Collection[str] | None = None
    ) -> tuple[list[DoubtCard], int]:
        """The statement lines waiting for the owner (those of `line_ids` when given), with today's candidate
        invoices, and how many wait."""
        from services.statements_chat import doubtful_cards

        return doubtful_cards(self.engine, self.business_id, limit=limit, line_ids=line_ids)

    def doubtful_line(self, row_id: int) -> DoubtCard | None:
        """One waiting statement line with today's candidates (None when unknown or already settled)."""
        from services.statements_chat import doubtful_card

        return doubtful_card(self.engine, self.business_id, row_id)

    def confirm_line(self, row_id: int, invoice_id: int, *, actor: str) -> LineDecision:
        """A doubtful statement line recorded as a payment on the invoice the owner chose."""
        from services.statements_chat import confirm_line

        return confirm_line(self.engine, self.business_id, row_id, invoice_id, actor=actor)

    def ignore_line(self, row_id: int, *, actor: str) -> LineDecision:
        """A doubtful statement line the owner says pays none of their invoices."""
        from services.statements_chat import ignore_line

        return ignore_line(self.engine, self.business_id, row_id, actor=actor)

    # --- internals ---

    def _dispute_version(self, session: Session, invoice_id: int) -> int:
        """The evidence sequence number of the invoice's latest dispute_opened entry (0 when there is none)."""
        return dispute_version(session, business_id=self.business_id, invoice_id=invoice_id)

    def _dispute_line(self, session: Session, inv: InvoiceRow, client_name: str) -> DisputeLine:
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

    def _draft(self, session: Session, view: ReminderView, day: date) -> DraftLike | DraftFailure:
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
        except Exception as exc:
            # Fail closed: the card shows what is wrong (TemplateError names the file and the line) and offers no
            # way to send; never a generic text in place of the owner's templates.
            log.exception("draft of reminder %s could not be rendered", view.reminder_id)
            return DraftFailure(
                str(exc) if isinstance(exc, (TemplateError, InvoicePdfError)) else f"{type(exc).__name__}: {exc}"
            )
        self._drafts[key] = draft
        if len(self._drafts) > _DRAFT_CACHE_SIZE:
            self._drafts.popitem(last=False)
        return draft

    def _not_before(self, business: BusinessRow, now: datetime) -> datetime:
        """When an approved e-mail may leave: now, or the next opening of the sending window."""
        from dunning.windows import next_send_time

        if self.ctx.clock.fixed:
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

    def _note(self, session: Session, view: ReminderView, outbox: OutboxState | None) -> Msg | None:
        """The state line of a card that no longer waits for the owner (`outbox`: its e-mail, if queued)."""
        state = view.state
        if state == ReminderState.SENT and is_call(view.sent_to):
            return self._call_note(session, view)
        if state == ReminderState.SENT and view.sent_at is not None:
            local = view.sent_at.astimezone(self.tz)
            return Msg(
                "state.sent",
                day=local.strftime("%d/%m"),
                time=local.strftime("%H:%M"),
                to=view.sent_to or "",
            )
        if state == ReminderState.SNOOZED and view.snoozed_until is not None:
            return Msg("state.snoozed", day=view.snoozed_until.strftime("%d/%m/%Y"))
        if state in (ReminderState.APPROVED, ReminderState.SENDING):
            if outbox is not None and outbox.state == "unknown":
                return Msg("state.unknown")
            if outbox is not None and outbox.state == "queued" and outbox.not_before > utcnow():
                local = outbox.not_before.astimezone(self.tz)
                return Msg("state.scheduled", day=local.strftime("%d/%m"), time=local.strftime("%H:%M"))
            return Msg("state.queued")
        if state == ReminderState.CANCELLED:
            return self._cancel_note(session, view)
        if state in _AWAITING:
            return None
        return Msg("state.other", state=state)

    def _outbox(self, session: Session, reminder_id: int) -> OutboxState | None:
        return card_store.outbox_state(session, business_id=self.business_id, reminder_id=reminder_id)

    @staticmethod
    def _outbox_keyboard(view: ReminderView, outbox: OutboxState | None) -> str:
        """Buttons of an approved card: send now (waiting for the window) or send again (outcome unknown)."""
        if view.state not in (ReminderState.APPROVED, ReminderState.SENDING):
            return "none"
        if outbox is None:
            return "none"
        if outbox.state == "unknown":
            return "unknown"
        if outbox.state == "queued" and outbox.not_before > utcnow():
            return "scheduled"
        return "none"

    def _cancel_note(self, session: Session, view: ReminderView) -> Msg:
        if view.is_extra and view.invoices:
            return Msg("state.dropped")  # Ne pas envoyer (a dropped draft outside the ladder keeps its invoices)
        # Cancelled reminders lose their invoice links; the client's invoices tell what happened.
        inv = latest_client_invoice(session, business_id=self.business_id, client_id=view.client_id)
        if inv is not None:
            if inv.state == InvoiceState.DISPUTED:
                return Msg("state.disputed", reason=inv.dispute_reason or "")
            if inv.state == InvoiceState.PROMISED and inv.promised_until is not None:
                return Msg("state.promised", day=inv.promised_until.strftime("%d/%m/%Y"))
            if inv.state == InvoiceState.PAID:
                return Msg("state.paid")
            if inv.state == InvoiceState.PAYMENT_PLAN:
                return Msg("state.plan")  # a payment plan started: its schedule e-mail replaced this reminder
        return Msg("state.cancelled")

    def _card(
        self, session: Session, reminder_id: int, *, keyboard: str = "main", note: Msg | None = None
    ) -> CardState | None:
        day = self.today()
        view = self._view(session, reminder_id, day)
        if view is None:
            return None
        # One read of the outbox serves the note and the buttons of an approved card.
        in_outbox = view.state in (ReminderState.APPROVED, ReminderState.SENDING)
        outbox = self._outbox(session, reminder_id) if in_outbox else None
        letter = self._letter_facts(session, view)
        state_note = self._note(session, view, outbox)
        if state_note is not None:
            kind = self._outbox_keyboard(view, outbox)
            if view.state == ReminderState.SENT and is_call(view.sent_to):
                kind = "called" if any(i.state in _CHASED for i in view.invoices) else "none"
                if kind == "called" and keyboard == "paid":
                    kind = keyboard  # Payée on the call's card: the full / partial choice
            return CardState(view, None, note or state_note, kind, self.tz, day, letter)
        draft = self._draft(session, view, day)
        if isinstance(draft, DraftFailure):
            # Fail closed: the card says what is wrong and offers no way to send.
            return CardState(view, draft, note, "broken", self.tz, day, letter)
        channel, call = self._way(session, view)
        if call is not None and keyboard == "main":
            keyboard = "call"
        return CardState(view, draft, note, keyboard, self.tz, day, letter, channel=channel.value, call=call)

    def _letter_facts(self, session: Session, view: ReminderView) -> LetterFacts | None:
        """A formal notice's registered letter, for its card (registered letters, services.letters)."""
        if view.step != "formal_notice":
            return None
        from services.letters import facts
        from storage.letters import letter_of

        row = letter_of(session, business_id=self.business_id, reminder_id=view.reminder_id)
        return None if row is None else facts(row, self._notice_days(session))

    def _notice_days(self, session: Session) -> int:
        return business_row(session, business_id=self.business_id).formal_notice_days or 8

    def _view(self, session: Session, reminder_id: int, day: date) -> ReminderView | None:
        """The reminder as of `day`, or None when it is unknown or another business's (forged or mixed-up id)."""
        view = reminder_view(session, reminder_id, day)
        return view if view is not None and view.business_id == self.business_id else None

    def _stale(self, session: Session, reminder_id: int) -> Outcome:
        return Outcome("stale", Msg("cb.already"), self._card(session, reminder_id), reminder_id)

    def _awaiting_invoices(self, session: Session, reminder_id: int, version: int) -> list[int]:
        """Lock the reminder (still awaiting, at `version`, of this business: else it raises) and return its
        invoices, in that order, so a stale card changes nothing."""
        try:
            lock_awaiting(session, reminder_id, self.business_id, version)
        except StaleReminderError:
            # The card of a completed call offers Promesse / Litige / Payée once (lock_called moves its version on).
            lock_called(session, business_id=self.business_id, reminder_id=reminder_id, expected_version=version)
        return invoice_ids_of(session, reminder_id)

    def _act(
        self,
        reminder_id: int,
        version: int,
        apply: Callable[[Session], object],
        message: Msg | None,
        *,
        keyboard: str = "main",
    ) -> Outcome:
        """Run one change in one transaction; stale, unknown and refused changes leave everything as it was."""
        try:
            with write_session(self.engine) as session:
                apply(session)
                session.flush()
                card = self._card(session, reminder_id, keyboard=keyboard)
            return Outcome("done", message, card, reminder_id)
        except UnknownReminderError:
            return Outcome("unknown", Msg("cb.unknown"))
        except StaleReminderError:
            with read_session(self.engine) as session:
                return self._stale(session, reminder_id)
        except InputError as exc:
            return Outcome("invalid", exc.msg, reminder_id=reminder_id)
        except ActionError as exc:
            from services.refusals import refusal

            return Outcome("failed", refusal(exc), reminder_id=reminder_id)

    # --- registered letters (LRAR) ---

    def letter(self, reminder_id: int) -> LetterFacts | None:
        """The registered letter of a formal notice (None when none was posted)."""
        from services import letters

        return letters.letter(self.ctx, reminder_id)

    def letter_current(self, reminder_id: int, version: int) -> Literal["current", "stale", "unknown"]:
        """Whether a letter button (notice id, letter version, 0 before posting) still matches the database."""
        from services import letters

        return letters.current(self.ctx, reminder_id, version)

    def letters_awaiting(self, client_id: int | None = None) -> list[AwaitingLetter]:
        """Formal notices whose registered letter waits for its acknowledgment (a client's, or all)."""
        from services import letters

        return letters.awaiting(self.ctx, client_id)

    def letter_sent(self, reminder_id: int, version: int, *, tracking: str, sent_on: date, actor: str) -> Outcome:
        """✉️ LRAR envoyée: the tracking number and the posting date."""
        from services import letters

        return self._letter_outcome(
            letters.record_posting(self.ctx, reminder_id, version, tracking_number=tracking, sent_on=sent_on,
                                   actor=actor)
        )  # fmt: skip

    def letter_presented(self, reminder_id: int, version: int, *, presented_on: date, actor: str) -> Outcome:
        """La Poste's first presentation of the letter (from its tracking): the deadline runs from that day."""
        from services import letters

        return self._letter_outcome(
            letters.record_presentation(self.ctx, reminder_id, version, presented_on=presented_on, actor=actor)
        )

    def letter_received(
        self, reminder_id: int, version: int, *, received_on: date, proof: bytes | None, actor: str
    ) -> Outcome:
        """📬 AR reçu: the date of receipt and the scan of the signed acknowledgment (photo or PDF), if any."""
        from services import letters

        return self._letter_outcome(
            letters.record_receipt(self.ctx, reminder_id, version, received_on=received_on, proof=proof, actor=actor)
        )

    def letter_back(self, reminder_id: int, version: int, *, outcome: str, on: date, actor: str) -> Outcome:
        """Pli non réclamé (`unclaimed`, first presented on `on`) or Retourné (`returned`, back on `on`)."""
        from services import letters

        return self._letter_outcome(letters.record_return(self.ctx, reminder_id, version, outcome=outcome, on=on,
                                                          actor=actor))  # fmt: skip

    def _letter_outcome(self, result: LetterOutcome) -> Outcome:
        """A letter action's result with the formal notice's card as it is now (its draft states the deadline)."""
        if result.status == "unknown":
            return Outcome("unknown", result.message)
        if result.ok:
            self._drafts.clear()  # the letter and the e-mail state the deadline, which may have moved
        return Outcome(result.status, result.message, self.card(result.reminder_id), result.reminder_id)

    # --- calls (issue 11 §2: phone calls and channels) ---

    def call_done(self, reminder_id: int, version: int, *, note: str, actor: str) -> Outcome:
        """📞 Appel fait: the client was reached; the one-line outcome is logged and the step is done (the ladder
        moves on); the card then offers Promesse / Litige / Payée from what was said."""
        phone = self._phone_of(reminder_id)
        return self._act(
            reminder_id,
            version,
            lambda s: log_call(
                s,
                business_id=self.business_id,
                reminder_id=reminder_id,
                expected_version=version,
                outcome=REACHED,
                note=note,
                phone=phone,
                actor=actor,
                now=self.now(),
            ),
            Msg("call.saved"),
        )

    def call_no_answer(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """Pas de réponse: the attempt is logged; the call card stays (the step is not done)."""
        phone = self._phone_of(reminder_id)
        return self._act(
            reminder_id,
            version,
            lambda s: log_call(
                s,
                business_id=self.business_id,
                reminder_id=reminder_id,
                expected_version=version,
                outcome=NO_ANSWER,
                note="",
                phone=phone,
                actor=actor,
            ),
            Msg("call.no_answer_saved"),
        )

    def call_email_instead(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """Envoyer plutôt l'e-mail: the call card becomes the e-mail card of the same step."""
        from storage.calls import choose_email

        return self._act(
            reminder_id,
            version,
            lambda s: choose_email(
                s, business_id=self.business_id, reminder_id=reminder_id, expected_version=version, actor=actor
            ),
            Msg("call.email_chosen"),
        )

    def last_call(self, client_id: int) -> CallRecord | None:
        """The client's latest logged call (for /client), None when never called."""
        from storage.calls import last_call

        with read_session(self.engine) as session:
            found = last_call(session, business_id=self.business_id, client_id=client_id)
        return None if found is None else replace(found, at=found.at.astimezone(self.tz))

    def _phone_of(self, reminder_id: int) -> str:
        with read_session(self.engine) as session:
            view = self._view(session, reminder_id, self.today())
        return view.client_phone.strip() if view is not None else ""

    def _way(self, session: Session, view: ReminderView) -> tuple[Channel, CallInfo | None]:
        """How a waiting reminder reaches its client, and its call card's data when that is a call."""
        if not view.awaiting_owner:
            return Channel.EMAIL, None
        channel = card_channel(session, business_id=self.business_id, view=view)
        if channel != Channel.PHONE:
            return channel, None
        script = self._script(session, view)
        return channel, call_info(session, business_id=self.business_id, view=view, script=script, tz=self.tz)

    def _script(self, session: Session, view: ReminderView) -> str | None:
        """The call script of a reminder, None when it cannot be rendered (the card says so)."""
        renderer = getattr(self.drafter, "renderer", None)
        if renderer is None:
            return None
        try:
            ctx = draft_context(session, reminder_id=view.reminder_id, today=self.today(), rate_table=self.rate_table,
                                business_id=self.business_id)  # fmt: skip
            script: str = renderer.render_call_script(ctx)
        except Exception:
            log.exception("call script of reminder %s could not be rendered", view.reminder_id)
            return None
        return script

    def _call_note(self, session: Session, view: ReminderView) -> Msg:
        """The state line of a reminder done by a call: when, and what the client said."""
        done = reached_call(calls_of(session, business_id=self.business_id, reminder_id=view.reminder_id))
        at = (done.at if done is not None else view.sent_at or utcnow()).astimezone(self.tz)
        return Msg("call.state_done", day=at.strftime("%d/%m"), time=at.strftime("%H:%M"),
                   note=done.note if done is not None else "")  # fmt: skip

    # --- drafts outside the ladder (thanks, penalty claim, plan schedule, plan reminder) ---

    def drop(self, reminder_id: int, version: int, *, actor: str) -> Outcome:
        """🗑 Ne pas envoyer: the draft outside the ladder is cancelled (version checked, evidence written)."""
        from storage.plans import cancel_for_reminder
        from storage.reminders import drop_extra_draft

        def apply(session: Session) -> None:
            drop_extra_draft(session, reminder_id=reminder_id, business_id=self.business_id, actor=actor,
                             expected_version=version)  # fmt: skip
            # A payment plan's schedule e-mail dropped: the plan it proposed is given up with it.
            cancel_for_reminder(session, business_id=self.business_id, reminder_id=reminder_id, today=self.today(),
                                actor=actor)  # fmt: skip

        return self._act(reminder_id, version, apply, Msg("drop.done"))
