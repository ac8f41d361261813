"""Messages received from clients (replies, automatic answers, bounces): how one is linked to a reminder, a client
or an invoice, how it is kept (raw .eml on disk, its SHA-256 in an `email_received` evidence entry, one row per
business and Message-ID), what a bounce changes, and the replies that wait for the owner.

Every function takes `business_id` explicitly and returns frozen dataclasses, never the table rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from dunning.states import InvoiceState, ReminderState
from storage.dossier import EvidenceRow
from storage.evidence import record
from storage.models import Client, EvidenceEntry, Invoice, Outbox, ReceivedEmail, Reminder, ReminderInvoice
from storage.reminders import bump
from storage.types import utcnow

__all__ = [
    "Link",
    "LinkIndex",
    "ReceivedRow",
    "StaleReceivedError",
    "clients_awaiting_owner",
    "failing_emails",
    "find_link",
    "handle_received",
    "invoices_of",
    "link_index",
    "open_received",
    "received_for_invoice",
    "received_row",
    "replace_client_email",
    "store_received",
]

#: Invoices a reply may be about: every state where money is still expected.
_OPEN_STATES = (
    InvoiceState.OPEN,
    InvoiceState.PARTIALLY_PAID,
    InvoiceState.PROMISED,
    InvoiceState.DISPUTED,
    InvoiceState.PAYMENT_PLAN,
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


class StaleReceivedError(Exception):
    """The message was already handled, or the card showed another version."""


@dataclass(frozen=True, slots=True)
class Link:
    """What a received message was tied to, and by which of its features."""

    client_id: int
    reminder_id: int | None
    invoice_ids: tuple[int, ...]
    by: str  # in_reply_to | original_message | sender | failed_recipient | subject


@dataclass(frozen=True, slots=True)
class ReceivedRow:
    """One received message as stored."""

    id: int
    business_id: int
    client_id: int
    reminder_id: int | None
    message_id: str
    sender: str
    subject: str
    received_at: datetime
    kind: str
    text: str
    attachments: tuple[str, ...]
    raw_path: str
    raw_sha256: str
    state: str
    outcome: str | None
    version: int
    created_at: datetime


def _row(r: ReceivedEmail) -> ReceivedRow:
    assert r.id is not None
    try:
        names = tuple(str(n) for n in json.loads(r.attachments or "[]"))
    except ValueError:
        names = ()
    return ReceivedRow(
        r.id, r.business_id, r.client_id, r.reminder_id, r.message_id, r.sender, r.subject, r.received_at, r.kind,
        r.text, names, r.raw_path, r.raw_sha256, r.state, r.outcome, r.version, r.created_at,
    )  # fmt: skip


# --- linking -------------------------------------------------------------------------------------------------


def invoices_of(
    session: Session, *, business_id: int, client_id: int, reminder_id: int | None, subject: str
) -> list[int]:
    """The invoices a message is about: the reminder's when it answers one; else those whose number is in the
    subject; else every invoice of the client still waiting for money. One computation, used when the message is
    stored and whenever it is shown."""
    if reminder_id is not None:
        ids = session.exec(select(ReminderInvoice.invoice_id).where(ReminderInvoice.reminder_id == reminder_id)).all()
        if ids:
            return sorted(ids)
    in_subject = _invoices_named(session, business_id, subject, client_id=client_id)
    if in_subject:
        return sorted(i for i, _ in in_subject)
    open_ids = session.exec(
        select(Invoice.id).where(
            Invoice.business_id == business_id,
            Invoice.client_id == client_id,
            col(Invoice.state).in_([s.value for s in _OPEN_STATES]),
        )
    ).all()
    return sorted(i for i in open_ids if i is not None)


def _invoices_named(
    session: Session, business_id: int, subject: str, *, client_id: int | None = None
) -> list[tuple[int, int]]:
    """(invoice id, client id) of the business's invoices whose number appears as a word of `subject`."""
    tokens = {t for t in _TOKEN.findall(subject) if any(ch.isdigit() for ch in t)}
    if not tokens:
        return []
    stmt = select(Invoice.id, Invoice.client_id).where(
        Invoice.business_id == business_id, col(Invoice.number).in_(sorted(tokens))
    )
    if client_id is not None:
        stmt = stmt.where(Invoice.client_id == client_id)
    return [(i, c) for i, c in session.exec(stmt).all() if i is not None]


def _clients_with_address(session: Session, business_id: int, address: str) -> list[int]:
    address = address.strip().lower()
    if not address:
        return []
    rows = session.exec(
        select(Client.id, Client.emails).where(
            Client.business_id == business_id, func.lower(Client.emails).contains(address)
        )
    ).all()
    return [cid for cid, emails in rows if cid is not None and address in _addresses(emails)]


def _addresses(emails: str) -> list[str]:
    return [e.strip().lower() for e in emails.split(",") if e.strip()]


def _same_organisation(sender: str, addresses: Sequence[str]) -> bool:
    """The sender is one of `addresses`, or writes from the domain of one of them."""
    sender = sender.strip().lower()
    if not sender or "@" not in sender:
        return False
    domain = sender.rsplit("@", 1)[1]
    return sender in addresses or any(a.rsplit("@", 1)[-1] == domain for a in addresses if "@" in a)


def _reminder_of_message(session: Session, business_id: int, message_ids: Sequence[str]) -> tuple[int, int] | None:
    """(reminder id, client id) of the business's e-mail with one of these Message-IDs (first match wins)."""
    if not message_ids:
        return None
    rows = session.exec(
        select(Outbox.message_id, Reminder.id, Reminder.client_id)
        .join(Reminder, col(Reminder.id) == Outbox.reminder_id)
        .where(Outbox.business_id == business_id, col(Outbox.message_id).in_(list(message_ids)))
    ).all()
    by_id = {mid: (rid, cid) for mid, rid, cid in rows if rid is not None}
    for mid in message_ids:
        if mid in by_id:
            return by_id[mid]
    return None


def find_link(
    session: Session,
    *,
    business_id: int,
    references: Sequence[str],
    sender: str,
    subject: str,
    failed_recipients: Sequence[str] = (),
) -> Link | None:
    """Tie a message to the business: by In-Reply-To / References (or a bounce's original Message-ID) to the
    reminder whose e-mail Relance sent; else by the sender's (or a bounce's failing) address to the one client who
    has it; else by an invoice number in the subject. None: linked to nothing (the message is ignored)."""
    found = _reminder_of_message(session, business_id, references)
    if found is not None:
        reminder_id, client_id = found
        client = session.get(Client, client_id)
        own = _addresses(client.emails) if client is not None else []
        if failed_recipients:
            # A delivery report names the address that failed: it must be one Relance wrote to for this client.
            if any(a in own for a in failed_recipients):
                return _link(session, business_id, client_id, reminder_id, subject, "original_message")
        elif _same_organisation(sender, own):
            # A Message-ID can be copied: the answer must come from the client's addresses or their domain.
            return _link(session, business_id, client_id, reminder_id, subject, "in_reply_to")
    for address, by in [*((a, "failed_recipient") for a in failed_recipients), (sender, "sender")]:
        clients = _clients_with_address(session, business_id, address)
        if len(clients) == 1:
            return _link(session, business_id, clients[0], None, subject, by)
    named = {c for _, c in _invoices_named(session, business_id, subject)}
    if len(named) == 1:
        return _link(session, business_id, named.pop(), None, subject, "subject")
    return None


@dataclass(frozen=True, slots=True)
class LinkIndex:
    """What can tie a message to the business, in memory, to sort thousands of messages by their headers alone:
    the Message-IDs Relance sent, the clients' addresses and the invoice numbers. A hit means "read the body and
    link it properly" (find_link), never a link by itself."""

    message_ids: frozenset[str]
    addresses: frozenset[str]
    numbers: frozenset[str]

    def may_link(self, references: Sequence[str], sender: str, subject: str) -> bool:
        """True when a reference, the sender or a word of the subject is known."""
        if any(r in self.message_ids for r in references) or sender.strip().lower() in self.addresses:
            return True
        return any(t in self.numbers for t in _TOKEN.findall(subject))


def link_index(session: Session, *, business_id: int) -> LinkIndex:
    """The business's LinkIndex (three column reads)."""
    ids = session.exec(select(Outbox.message_id).where(Outbox.business_id == business_id)).all()
    emails = session.exec(select(Client.emails).where(Client.business_id == business_id)).all()
    numbers = session.exec(select(Invoice.number).where(Invoice.business_id == business_id)).all()
    addresses = {a for e in emails for a in _addresses(e)}
    return LinkIndex(frozenset(ids), frozenset(addresses), frozenset(numbers))


def _link(session: Session, business_id: int, client_id: int, reminder_id: int | None, subject: str, by: str) -> Link:
    invoice_ids = invoices_of(
        session, business_id=business_id, client_id=client_id, reminder_id=reminder_id, subject=subject
    )
    return Link(client_id, reminder_id, tuple(invoice_ids), by)


# --- storing ---------------------------------------------------------------------------------------------------


def _write_raw(folder: Path, raw: bytes, digest: str) -> Path:
    """The raw message under `folder`/<sha256>.eml (content-addressed: writing it twice is harmless)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / f"{digest}.eml").resolve()
    if not target.exists():
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, target)
    return target


def store_received(
    session: Session,
    *,
    business_id: int,
    link: Link,
    message_id: str,
    sender: str,
    subject: str,
    sent_at: datetime | None,
    kind: str,
    text: str,
    attachments: Sequence[str],
    raw: bytes,
    folder: Path,
    actor: str,
    bounce: tuple[Sequence[str], str] | None = None,
) -> ReceivedRow | None:
    """Keep a linked message: its raw bytes on disk, its row and its `email_received` evidence entry in the
    caller's transaction. A reply waits for the owner (open); an automatic answer is noted; a bounce (`bounce`:
    failing recipients and the server's reason) marks the client's addresses failing and the reminder's e-mail
    failed, and waits for the owner's new address (open). None when this Message-ID was already stored."""
    exists = session.exec(
        select(ReceivedEmail.id).where(ReceivedEmail.business_id == business_id, ReceivedEmail.message_id == message_id)
    ).first()
    if exists is not None:
        return None
    digest = hashlib.sha256(raw).hexdigest()
    path = _write_raw(folder, raw, digest)
    now = utcnow()
    row = ReceivedEmail(
        business_id=business_id,
        client_id=link.client_id,
        reminder_id=link.reminder_id,
        message_id=message_id[:300],
        sender=sender[:254],
        subject=subject[:300],
        received_at=sent_at or now,
        kind=kind,
        text=text,
        attachments=json.dumps(list(attachments), ensure_ascii=False),
        raw_path=str(path),
        raw_sha256=digest,
        state="noted" if kind == "auto_reply" else "open",
        created_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        return None  # stored meanwhile by another process
    _record_linked(
        session,
        actor,
        "email_received",
        business_id,
        link,
        {
            "received_id": row.id,
            "message_id": row.message_id,
            "from": row.sender,
            "subject": row.subject,
            "date": sent_at,
            "kind": kind,
            "sha256": digest,
            "size": len(raw),
            "linked_by": link.by,
            "reminder_id": link.reminder_id,
            "invoice_ids": list(link.invoice_ids),
            "attachments": list(attachments),
        },
    )
    if bounce is not None:
        _apply_bounce(session, business_id, link, row, list(bounce[0]), bounce[1], actor)
    return _row(row)


def _record_linked(
    session: Session, actor: str, kind: str, business_id: int, link: Link, payload: dict[str, Any]
) -> None:
    """The evidence entry of a received message, about the client, reminder and (only one) invoice it is linked to."""
    record(
        session,
        actor=actor,
        kind=kind,
        business_id=business_id,
        client_id=link.client_id,
        reminder_id=link.reminder_id,
        invoice_id=link.invoice_ids[0] if len(link.invoice_ids) == 1 else None,
        payload=payload,
    )


def _apply_bounce(
    session: Session,
    business_id: int,
    link: Link,
    row: ReceivedEmail,
    recipients: list[str],
    reason: str,
    actor: str,
) -> None:
    """The failing addresses (those of the client) join client.failing_emails; the reminder's e-mail, if sent,
    becomes failed with the server's reason."""
    client = session.get(Client, link.client_id)
    assert client is not None
    own = _addresses(client.emails)
    failing = _addresses(client.failing_emails)
    added = [a for a in recipients if a in own and a not in failing]
    if added:
        client.failing_emails = ",".join(failing + added)[:1000]
        session.add(client)
    reminder = session.get(Reminder, link.reminder_id) if link.reminder_id is not None else None
    outbox = (
        session.exec(select(Outbox).where(Outbox.reminder_id == reminder.id)).first() if reminder is not None else None
    )
    marked = False
    if reminder is not None and reminder.state == ReminderState.SENT:
        if outbox is not None and outbox.state == "sent":
            outbox.state = "failed"
            outbox.last_reply = f"bounce: {reason}"[:1000]
            outbox.updated_at = utcnow()
            session.add(outbox)
        bump(session, reminder, state=ReminderState.FAILED)
        marked = True
    _record_linked(
        session,
        actor,
        "email_bounced",
        business_id,
        link,
        {
            "received_id": row.id,
            "message_id": outbox.message_id if outbox is not None else None,
            "recipients": recipients,
            "failing_added": added,
            "reason": reason,
            "reminder_failed": marked,
        },
    )


# --- the owner's side ------------------------------------------------------------------------------------------


def received_row(session: Session, *, business_id: int, received_id: int) -> ReceivedRow | None:
    """The business's received message `received_id`, or None."""
    r = session.get(ReceivedEmail, received_id)
    return _row(r) if r is not None and r.business_id == business_id else None


def open_received(session: Session, *, business_id: int, kinds: Iterable[str] = ("reply",)) -> list[ReceivedRow]:
    """The messages of these kinds still waiting for the owner, oldest first."""
    rows = session.exec(
        select(ReceivedEmail)
        .where(
            ReceivedEmail.business_id == business_id,
            ReceivedEmail.state == "open",
            col(ReceivedEmail.kind).in_(list(kinds)),
        )
        .order_by(col(ReceivedEmail.received_at), col(ReceivedEmail.id))
    ).all()
    return [_row(r) for r in rows]


def failing_emails(session: Session, *, business_id: int, client_id: int) -> list[str]:
    """The client's addresses a bounce reported as failing (lower case), or nothing."""
    client = session.get(Client, client_id)
    return _addresses(client.failing_emails) if client is not None and client.business_id == business_id else []


def clients_awaiting_owner(session: Session, *, business_id: int) -> set[int]:
    """Clients with a reply the owner has not handled yet: the ladder proposes nothing for them meanwhile."""
    rows = session.exec(
        select(ReceivedEmail.client_id).where(
            ReceivedEmail.business_id == business_id, ReceivedEmail.state == "open", ReceivedEmail.kind == "reply"
        )
    ).all()
    return set(rows)


def handle_received(
    session: Session, *, business_id: int, received_id: int, version: int, outcome: str, actor: str
) -> ReceivedRow:
    """The owner handled an open message (`outcome`: what they chose); StaleReceivedError when it is no longer
    open, another business's, or at another version. Evidence `reply_handled` in the same transaction."""
    r = session.get(ReceivedEmail, received_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if r is None or r.business_id != business_id:
        raise StaleReceivedError(f"no received message {received_id}")
    if r.state != "open" or r.version != version:
        raise StaleReceivedError(f"received message {received_id} is {r.state} (version {r.version})")
    r.state = "handled"
    r.outcome = outcome[:32]
    r.version += 1
    session.add(r)
    record(
        session,
        actor=actor,
        kind="reply_handled",
        business_id=business_id,
        client_id=r.client_id,
        reminder_id=r.reminder_id,
        payload={"received_id": r.id, "message_id": r.message_id, "kind": r.kind, "outcome": outcome},
    )
    return _row(r)


def replace_client_email(
    session: Session, *, business_id: int, client_id: int, email: str, actor: str
) -> tuple[str, str] | None:
    """A new main address for the client (the owner's answer to a bounce): it comes first, the failing addresses
    are dropped from the client's list and forgotten. (old emails, new emails), or None for an unknown client."""
    client = session.get(Client, client_id)
    if client is None or client.business_id != business_id:
        return None
    email = email.strip().lower()
    failing = set(_addresses(client.failing_emails))
    kept = [e for e in (x.strip() for x in client.emails.split(",")) if e and e.lower() not in failing | {email}]
    old = client.emails
    client.emails = ",".join([email, *kept])[:1000]
    client.failing_emails = ""
    session.add(client)
    record(
        session,
        actor=actor,
        kind="client_email_changed",
        business_id=business_id,
        client_id=client_id,
        payload={"old": old, "new": client.emails, "failing_cleared": sorted(failing)},
    )
    return old, client.emails


def received_for_invoice(
    session: Session, *, business_id: int, invoice_id: int
) -> list[tuple[ReceivedRow, EvidenceRow]]:
    """The messages received about an invoice (its number among their `email_received` entry's invoices), with that
    entry, in log order: for the invoice's evidence file."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.business_id != business_id:
        return []
    entries = session.exec(
        select(EvidenceEntry)
        .where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.client_id == invoice.client_id,
            EvidenceEntry.kind == "email_received",
        )
        .order_by(col(EvidenceEntry.chain_seq))
    ).all()
    found: list[tuple[ReceivedRow, EvidenceRow]] = []
    for e in entries:
        payload: dict[str, Any] = json.loads(e.payload)
        if invoice_id not in payload.get("invoice_ids", []):
            continue
        row = received_row(session, business_id=business_id, received_id=int(payload.get("received_id", 0)))
        if row is not None:
            entry = EvidenceRow(
                e.chain_seq, e.created_at, e.actor, e.kind, e.business_id, e.client_id, e.invoice_id, e.reminder_id,
                e.payload, e.prev_hash, e.hash,
            )  # fmt: skip
            found.append((row, entry))
    return found
