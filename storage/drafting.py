"""What a draft is built from, read in one go: a reminder (or one invoice), its client, its business, the invoices
it covers and their payments, as frozen dataclasses. `services.drafts` turns them into a `DraftContext`.

Every function takes `business_id` explicitly and finds nothing outside that business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from dunning.states import ReminderState
from storage.businesses import BusinessRow, business_row
from storage.clients import ClientRow, client_row
from storage.invoices import InvoiceRow
from storage.models import Invoice, Payment, Reminder, ReminderInvoice

#: One payment of an invoice: the day it was paid and the amount.
PaymentLine = tuple[date, Decimal]

_INVOICE_FIELDS = tuple(f.name for f in fields(InvoiceRow))


def _invoice_row(inv: Invoice) -> InvoiceRow:
    return InvoiceRow(*(getattr(inv, name) for name in _INVOICE_FIELDS))


@dataclass(frozen=True, slots=True)
class DraftMaterial:
    """A reminder's step, business, client and invoices, with each invoice's payments (by invoice id, oldest
    first)."""

    step: str
    business: BusinessRow
    client: ClientRow
    invoices: tuple[InvoiceRow, ...]
    payments: Mapping[int, tuple[PaymentLine, ...]]


@dataclass(frozen=True, slots=True)
class LastSent:
    """The latest sent reminder covering an invoice: that invoice's step in it, its planned day and when it left."""

    step: str
    planned_date: date
    sent_at: datetime | None


def payments_of(
    session: Session, *, business_id: int, invoice_ids: Iterable[int]
) -> dict[int, tuple[PaymentLine, ...]]:
    """The payments of these invoices of the business, by invoice id, oldest first (every id is a key)."""
    ids = list(invoice_ids)
    out: dict[int, list[PaymentLine]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            select(Payment.invoice_id, Payment.paid_on, Payment.amount)  # type: ignore[call-overload]
            .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
            .where(col(Payment.invoice_id).in_(ids), Invoice.business_id == business_id)
            .order_by(col(Payment.paid_on), col(Payment.id))
        )
        for invoice_id, paid_on, amount in rows:
            out[invoice_id].append((paid_on, amount))
    return {i: tuple(lines) for i, lines in out.items()}


def reminder_material(session: Session, *, business_id: int, reminder_id: int) -> DraftMaterial | None:
    """What reminder `reminder_id` of this business is drafted from; None when the business has no such reminder."""
    reminder = session.get(Reminder, reminder_id)
    if reminder is None or reminder.business_id != business_id:
        return None
    client = client_row(session, business_id=business_id, client_id=reminder.client_id)
    assert client is not None  # foreign key, and a reminder's client is of its business
    invoices = tuple(
        _invoice_row(inv)
        for inv in session.exec(
            select(Invoice)
            .join(ReminderInvoice, col(ReminderInvoice.invoice_id) == col(Invoice.id))
            .where(ReminderInvoice.reminder_id == reminder_id, Invoice.business_id == business_id)
        )
    )
    return DraftMaterial(
        step=reminder.step,
        business=business_row(session, business_id=business_id),
        client=client,
        invoices=invoices,
        payments=payments_of(session, business_id=business_id, invoice_ids=[i.id for i in invoices]),
    )


def last_sent(session: Session, *, business_id: int, invoice_id: int) -> LastSent | None:
    """The latest sent reminder of this business covering invoice `invoice_id`, or None."""
    row = session.execute(
        select(ReminderInvoice.step, Reminder.planned_date, Reminder.sent_at)  # type: ignore[call-overload]
        .join(Reminder, col(Reminder.id) == col(ReminderInvoice.reminder_id))
        .where(
            ReminderInvoice.invoice_id == invoice_id,
            Reminder.business_id == business_id,
            Reminder.state == ReminderState.SENT,
        )
        .order_by(col(Reminder.sent_at).desc(), col(Reminder.id).desc())
    ).first()
    if row is None:
        return None
    step, planned, sent_at = row
    return LastSent(step=step, planned_date=planned, sent_at=sent_at)
