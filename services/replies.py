"""Clients' answers by e-mail, chat-free: a received message read (messages.inbound), linked and kept
(storage.received), then shown to the owner until handled. While a reply waits, the ladder holds that client.

For the chat adapters (the reply cards): `open_replies`, `reply`, `handle`, `open_bounces`, `new_client_email`,
`clients_awaiting_owner`. For the mailbox watcher (services.mailbox): `ingest`.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from messages.addresses import InvalidAddressError, normalize_email
from messages.inbound import parse_inbound
from services.context import BusinessContext
from storage.clients import client_row
from storage.db import Session, read_session, write_session
from storage.invoices import invoice_row
from storage.received import (
    LinkIndex,
    ReceivedRow,
    StaleReceivedError,
    failing_emails,
    find_link,
    handle_received,
    invoices_of,
    link_index,
    open_received,
    received_row,
    replace_client_email,
    store_received,
)
from storage.received import clients_awaiting_owner as _awaiting

log = logging.getLogger(__name__)

__all__ = [
    "HANDLE_OUTCOMES",
    "Handled",
    "Ingested",
    "InvalidAddressError",
    "InvoiceRef",
    "LinkIndex",
    "ReplyView",
    "clients_awaiting_owner",
    "handle",
    "ingest",
    "linking_index",
    "new_client_email",
    "open_bounces",
    "open_replies",
    "proposed_dispute_reason",
    "proposed_promise_date",
    "received_folder",
    "reply",
    "worth_reading",
]

#: What the owner may answer to a reply or a bounce card ("nothing" is 👌 Rien à faire; the others are recorded
#: by the cards after their own action succeeded: paid, promise, dispute, answered, new_address).
HANDLE_OUTCOMES = frozenset({"nothing", "paid", "promise", "dispute", "answered", "new_address", "noted"})


@dataclass(frozen=True, slots=True)
class InvoiceRef:
    """An invoice a message is about, as a card lists it."""

    invoice_id: int
    number: str
    balance: Decimal
    currency: str
    state: str
    due_date: date


@dataclass(frozen=True, slots=True)
class ReplyView:
    """A received message as a card shows it; `version` ties its buttons to this state of it."""

    received_id: int
    version: int
    kind: str  # reply | auto_reply | bounce
    state: str  # open | handled | noted
    outcome: str | None
    client_id: int
    client_name: str
    client_emails: tuple[str, ...]
    failing_emails: tuple[str, ...]
    reminder_id: int | None
    message_id: str  # the message's Message-ID: ↩️ Répondre answers it (In-Reply-To / References)
    sender: str
    subject: str
    received_at: datetime
    text: str  # a reply's own text; a bounce: the server's reason (plain text: escape it to show it)
    attachments: tuple[str, ...]
    invoices: tuple[InvoiceRef, ...]
    #: A date found in the text ("le 15", "15/12", "15 décembre", "fin du mois"), for 🤝 Promesse; None: none found.
    promise_date: date | None
    #: The text proposed as the reason of ⚖️ Litige (one line, at most 300 characters).
    dispute_reason: str

    @property
    def total(self) -> Decimal:
        """What the client still owes on the invoices of this message."""
        return sum((i.balance for i in self.invoices), Decimal("0.00"))


@dataclass(frozen=True, slots=True)
class Ingested:
    """What became of one received message."""

    status: Literal["stored", "duplicate", "unlinked"]
    kind: str
    message_id: str
    received_id: int | None = None
    client_id: int | None = None
    linked_by: str | None = None


@dataclass(frozen=True, slots=True)
class Handled:
    """The owner's answer to a reply or bounce card: done (the new view), stale (already handled or changed:
    the current view when there is one) or unknown."""

    status: Literal["done", "stale", "unknown", "invalid"]
    view: ReplyView | None = None
    detail: str = ""


# --- the mailbox's side ----------------------------------------------------------------------------------------


def received_folder(ctx: BusinessContext) -> Path:
    """Where the business's received messages are kept: DATA_DIR/received/<business id>/<sha256>.eml."""
    return Path(ctx.data_dir) / "received" / str(ctx.business_id)


def worth_reading(ctx: BusinessContext, headers: bytes, index: LinkIndex | None = None) -> bool:
    """From its headers alone: could the message be linked (a delivery report, or a reference, sender or subject
    that ties it to the business)? The watcher fetches the body of those only, so a mailbox of thousands of other
    messages costs one header read each. With `index` (many messages to sort), no database query at all."""
    msg = parse_inbound(headers)
    if msg.kind == "bounce":
        return True
    if index is not None:
        return index.may_link(msg.in_reply_to, msg.sender, msg.subject)
    with read_session(ctx.engine) as session:
        link = find_link(
            session, business_id=ctx.business_id, references=msg.in_reply_to, sender=msg.sender, subject=msg.subject
        )
    return link is not None


def linking_index(ctx: BusinessContext) -> LinkIndex:
    """The business's LinkIndex, for sorting a large batch of messages by their headers."""
    with read_session(ctx.engine) as session:
        return link_index(session, business_id=ctx.business_id)


def ingest(ctx: BusinessContext, raw: bytes, *, actor: str = "system") -> Ingested:
    """Read, link and keep one raw message (idempotent by Message-ID). Linked to nothing: ignored, not stored."""
    msg = parse_inbound(raw)
    with write_session(ctx.engine) as session:
        link = find_link(
            session,
            business_id=ctx.business_id,
            references=[*msg.in_reply_to, *msg.original_ids],
            sender=msg.sender,
            subject=msg.subject,
            failed_recipients=msg.failed_recipients,
        )
        if link is None:
            return Ingested("unlinked", msg.kind, msg.message_id)
        stored = store_received(
            session,
            business_id=ctx.business_id,
            link=link,
            message_id=msg.message_id,
            sender=msg.sender,
            subject=msg.subject,
            sent_at=msg.date,
            kind=msg.kind,
            text=msg.bounce_reason if msg.kind == "bounce" else msg.text,
            attachments=msg.attachments,
            raw=raw,
            folder=received_folder(ctx),
            actor=actor,
            bounce=(msg.failed_recipients, msg.bounce_reason) if msg.kind == "bounce" else None,
        )
    if stored is None:
        return Ingested("duplicate", msg.kind, msg.message_id, client_id=link.client_id, linked_by=link.by)
    return Ingested("stored", msg.kind, msg.message_id, stored.id, link.client_id, link.by)


# --- the owner's side ------------------------------------------------------------------------------------------


def _view(session: Session, ctx: BusinessContext, row: ReceivedRow) -> ReplyView:
    client = client_row(session, business_id=ctx.business_id, client_id=row.client_id)
    assert client is not None
    failing = tuple(failing_emails(session, business_id=ctx.business_id, client_id=row.client_id))
    ids = invoices_of(
        session, business_id=ctx.business_id, client_id=row.client_id, reminder_id=row.reminder_id, subject=row.subject
    )
    refs = []
    for invoice_id in ids:
        inv = invoice_row(session, business_id=ctx.business_id, invoice_id=invoice_id)
        if inv is not None:
            refs.append(InvoiceRef(inv.id, inv.number, inv.balance, inv.currency, inv.state, inv.due_date))
    today = ctx.clock.today()
    is_reply = row.kind == "reply"
    return ReplyView(
        received_id=row.id,
        version=row.version,
        kind=row.kind,
        state=row.state,
        outcome=row.outcome,
        client_id=row.client_id,
        client_name=client.name,
        client_emails=tuple(client.email_list),
        failing_emails=failing,
        reminder_id=row.reminder_id,
        message_id=row.message_id,
        sender=row.sender,
        subject=row.subject,
        received_at=row.received_at,
        text=row.text,
        attachments=row.attachments,
        invoices=tuple(refs),
        promise_date=proposed_promise_date(row.text, today) if is_reply else None,
        dispute_reason=proposed_dispute_reason(row.text) if is_reply else "",
    )


def open_replies(ctx: BusinessContext) -> list[ReplyView]:
    """Replies waiting for the owner, oldest first."""
    with read_session(ctx.engine) as session:
        return [_view(session, ctx, r) for r in open_received(session, business_id=ctx.business_id)]


def open_bounces(ctx: BusinessContext) -> list[ReplyView]:
    """Bounces waiting for the owner's new address for the client (`failing_emails` says which failed)."""
    with read_session(ctx.engine) as session:
        rows = open_received(session, business_id=ctx.business_id, kinds=("bounce",))
        return [_view(session, ctx, r) for r in rows]


def reply(ctx: BusinessContext, reply_id: int) -> ReplyView | None:
    """One received message of the business (any kind, any state), or None."""
    with read_session(ctx.engine) as session:
        row = received_row(session, business_id=ctx.business_id, received_id=reply_id)
        return _view(session, ctx, row) if row is not None else None


def handle(ctx: BusinessContext, reply_id: int, version: int, outcome: str, *, actor: str) -> Handled:
    """The owner is done with a reply or a bounce (`outcome` in HANDLE_OUTCOMES): it stops holding the ladder.
    A stale version or an already handled message changes nothing."""
    if outcome not in HANDLE_OUTCOMES:
        return Handled("invalid", detail=f"unknown outcome {outcome!r}")
    try:
        with write_session(ctx.engine) as session:
            row = handle_received(
                session,
                business_id=ctx.business_id,
                received_id=reply_id,
                version=version,
                outcome=outcome,
                actor=actor,
            )
            return Handled("done", _view(session, ctx, row))
    except StaleReceivedError:
        current = reply(ctx, reply_id)
        return Handled("stale" if current is not None else "unknown", current)


def new_client_email(ctx: BusinessContext, client_id: int, email: str, *, actor: str) -> tuple[str, str] | None:
    """The owner's new address for a client whose e-mails bounced (`/client NOM email nouvelle@adresse.fr`): it
    becomes the main address and the failing ones are dropped. (old, new) address lists; None for an unknown
    client; InvalidAddressError for a bad address (nothing changed)."""
    address = normalize_email(email)
    with write_session(ctx.engine) as session:
        return replace_client_email(
            session, business_id=ctx.business_id, client_id=client_id, email=address, actor=actor
        )


def clients_awaiting_owner(ctx: BusinessContext) -> set[int]:
    """Clients with an open reply: no further ladder step is proposed for their invoices until it is handled."""
    with read_session(ctx.engine) as session:
        return _awaiting(session, business_id=ctx.business_id)


# --- what the text proposes ------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("janvier", "janv", "january", "jan"),
            ("février", "fevrier", "févr", "fevr", "february", "feb"),
            ("mars", "march", "mar"),
            ("avril", "avr", "april", "apr"),
            ("mai", "may"),
            ("juin", "june", "jun"),
            ("juillet", "juil", "july", "jul"),
            ("août", "aout", "august", "aug"),
            ("septembre", "sept", "september", "sep"),
            ("octobre", "oct", "october"),
            ("novembre", "nov", "november"),
            ("décembre", "decembre", "déc", "dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_DAY_MONTH_NAME = re.compile(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\.?(?:\s+(\d{{4}}))?\b", re.IGNORECASE)
_NUMERIC = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?\b")
_LE_DAY = re.compile(r"\b(?:le|du|avant le|d'ici le|on the|by the)\s+(\d{1,2})(?:er|st|nd|rd|th)?\b", re.IGNORECASE)
_END_OF_MONTH = re.compile(r"\b(fin (?:du |de )?mois|fin de ce mois|end of (?:the )?month)\b", re.IGNORECASE)
_END_OF_NAMED = re.compile(rf"\bfin\s+({_MONTH_RE})\b", re.IGNORECASE)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_occurrence(today: date, month: int, day: int, year: int | None) -> date | None:
    if year is not None:
        return _safe_date(year if year >= 100 else 2000 + year, month, day)
    candidate = _safe_date(today.year, month, day)
    if candidate is not None and (today - candidate).days > 183:
        # "15 janvier" written in December is next January; "15/10" written in late November is a past date.
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def proposed_promise_date(text: str, today: date) -> date | None:
    """The first future payment date the client's text names, in French or English: "15 décembre", "15/12",
    "le 15" (this month, else next), "fin du mois" / "end of the month", "fin janvier". None when there is none
    (a date in the past is no promise)."""
    found: list[tuple[int, date]] = []
    for m in _DAY_MONTH_NAME.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        when = _next_occurrence(today, _MONTHS[m.group(2).lower()], int(m.group(1)), year)
        if when is not None:
            found.append((m.start(), when))
    for m in _NUMERIC.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        when = _next_occurrence(today, int(m.group(2)), int(m.group(1)), year)
        if when is not None:
            found.append((m.start(), when))
    for m in _END_OF_NAMED.finditer(text):
        month = _MONTHS[m.group(1).lower()]
        year = today.year if month >= today.month else today.year + 1
        found.append((m.start(), _month_end(year, month)))
    for m in _END_OF_MONTH.finditer(text):
        found.append((m.start(), _month_end(today.year, today.month)))
    taken = {start for start, _ in found}
    for m in _LE_DAY.finditer(text):
        if any(m.start() <= s <= m.end() for s in taken):
            continue
        day = int(m.group(1))
        when = _safe_date(today.year, today.month, day)
        if when is None or when < today:
            nxt = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            when = _safe_date(nxt.year, nxt.month, day)
        if when is not None:
            found.append((m.start(), when))
    future = [(start, when) for start, when in found if when >= today]
    return min(future)[1] if future else None


def proposed_dispute_reason(text: str) -> str:
    """The client's text on one line, at most 300 characters: what ⚖️ Litige proposes as the reason."""
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:299].rstrip() + "…"
