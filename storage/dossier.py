"""What the evidence file of one invoice is built from, read in one transaction: the invoice, its client and
business, its payments, its evidence entries (its own and those of the reminders that covered it), the state of
the e-mails they queued, and the business's chain length and head. `services.export` writes the ZIP from it.

Every function takes `business_id` explicitly and finds nothing outside that business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.businesses import BusinessRow, business_row
from storage.clients import ClientRow, client_row
from storage.drafting import PaymentLine, payments_of
from storage.evidence import head_hash
from storage.invoices import InvoiceRow, invoice_by_number
from storage.models import EvidenceEntry, Outbox, ReminderInvoice

_EVIDENCE = EvidenceEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """One evidence entry as stored; `seq` is its place in its business's chain (the number its hash covers) and
    `payload_text` the canonical JSON its hash covers."""

    seq: int
    created_at: datetime
    actor: str
    kind: str
    business_id: int | None
    client_id: int | None
    invoice_id: int | None
    reminder_id: int | None
    payload_text: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> dict[str, Any]:
        """The payload, decoded."""
        return dict(json.loads(self.payload_text))


@dataclass(frozen=True, slots=True)
class Dossier:
    """Everything stored about one invoice that its evidence file states."""

    business: BusinessRow
    client: ClientRow
    invoice: InvoiceRow
    payments: tuple[PaymentLine, ...]
    entries: tuple[EvidenceRow, ...]
    #: The outbox state of each e-mail queued in `entries`, by Message-ID (absent: no outbox row any more).
    email_states: Mapping[str, str]
    chain_total: int
    chain_head: str


def invoice_entries(session: Session, *, business_id: int, invoice_id: int) -> list[EvidenceRow]:
    """The business's evidence entries about invoice `invoice_id` or a reminder covering it, in log order."""
    reminder_ids = select(ReminderInvoice.reminder_id).where(ReminderInvoice.invoice_id == invoice_id)
    stmt = (
        select(_EVIDENCE)
        .where(
            _EVIDENCE.c.business_id == business_id,
            or_(_EVIDENCE.c.invoice_id == invoice_id, _EVIDENCE.c.reminder_id.in_(reminder_ids.scalar_subquery())),
        )
        .order_by(_EVIDENCE.c.seq)
    )
    return [
        EvidenceRow(
            r.chain_seq,
            r.created_at,
            r.actor,
            r.kind,
            r.business_id,
            r.client_id,
            r.invoice_id,
            r.reminder_id,
            r.payload,
            r.prev_hash,
            r.hash,
        )
        for r in session.execute(stmt)
    ]


def email_states(session: Session, *, business_id: int, message_ids: list[str]) -> dict[str, str]:
    """The outbox state of the business's e-mails with these Message-IDs, by Message-ID."""
    if not message_ids:
        return {}
    rows = session.execute(
        select(Outbox.message_id, Outbox.state).where(
            Outbox.business_id == business_id, col(Outbox.message_id).in_(message_ids)
        )
    )
    return {message_id: state for message_id, state in rows}


def chain_length(session: Session, *, business_id: int) -> int:
    """The number of entries in the business's evidence chain."""
    return int(
        session.execute(
            select(func.count()).select_from(_EVIDENCE).where(_EVIDENCE.c.business_id == business_id)
        ).scalar_one()
    )


def dossier(session: Session, *, business_id: int, invoice_number: str) -> Dossier | None:
    """The dossier of this business's invoice numbered `invoice_number`, or None when it has no such invoice."""
    invoice = invoice_by_number(session, business_id=business_id, number=invoice_number)
    if invoice is None:
        return None
    client = client_row(session, business_id=business_id, client_id=invoice.client_id)
    assert client is not None  # foreign key, and an invoice's client is of its business
    entries = invoice_entries(session, business_id=business_id, invoice_id=invoice.id)
    queued = [str(e.payload.get("message_id", "")) for e in entries if e.kind == "email_queued"]
    return Dossier(
        business=business_row(session, business_id=business_id),
        client=client,
        invoice=invoice,
        payments=payments_of(session, business_id=business_id, invoice_ids=[invoice.id])[invoice.id],
        entries=tuple(entries),
        email_states=email_states(session, business_id=business_id, message_ids=queued),
        chain_total=chain_length(session, business_id=business_id),
        chain_head=head_hash(session, business_id=business_id),
    )
