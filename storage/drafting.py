"""What a draft is built from, read in one go: a reminder (or one invoice), its client, its business, the invoices
it covers and their payments, as frozen dataclasses. `services.drafts` turns them into a `DraftContext`.

Every function takes `business_id` explicitly and finds nothing outside that business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam
from sqlmodel import Session, col, select

from dunning.states import ReminderState
from storage.businesses import BusinessRow
from storage.clients import ClientRow
from storage.invoices import InvoiceRow
from storage.models import Business, Client, Invoice, Payment, PaymentPlan, PlanInstalment, Reminder, ReminderInvoice

#: One payment of an invoice: the day it was paid and the amount.
PaymentLine = tuple[date, Decimal]


def _columns(table: Any, row_class: type) -> tuple[Any, ...]:
    """The table's columns in the order of the dataclass's fields: a row is read straight into it, with no ORM
    object in between (a draft is built for every card shown)."""
    return tuple(table.c[f.name] for f in fields(row_class))


_BUSINESS_COLUMNS = _columns(Business.__table__, BusinessRow)  # type: ignore[attr-defined]
_CLIENT_COLUMNS = _columns(Client.__table__, ClientRow)  # type: ignore[attr-defined]
_INVOICE_COLUMNS = _columns(Invoice.__table__, InvoiceRow)  # type: ignore[attr-defined]


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


# Built once: a draft is read for every card shown, and these statements are executed on the connection, so
# neither building them nor the ORM's statement handling is paid again on each draft.
_PAYMENTS = (
    select(Payment.invoice_id, Payment.paid_on, Payment.amount)  # type: ignore[call-overload]
    .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
    .where(col(Payment.invoice_id).in_(bindparam("ids", expanding=True)), Invoice.business_id == bindparam("bid"))
    .order_by(col(Payment.paid_on), col(Payment.id))
)
_REMINDER_HEAD = (
    select(Reminder.step, *_CLIENT_COLUMNS, *_BUSINESS_COLUMNS)
    .join(Client, col(Client.id) == col(Reminder.client_id))
    .join(Business, col(Business.id) == col(Reminder.business_id))
    .where(
        Reminder.id == bindparam("rid"),
        Reminder.business_id == bindparam("bid"),
        Client.business_id == bindparam("bid"),
    )
)
# The reminder's invoices, each with its payments (one row per payment, or one with no payment), oldest first.
_REMINDER_INVOICES = (
    select(*_INVOICE_COLUMNS, Payment.paid_on, Payment.amount)  # type: ignore[call-overload]
    .join(ReminderInvoice, col(ReminderInvoice.invoice_id) == col(Invoice.id))
    .outerjoin(Payment, col(Payment.invoice_id) == col(Invoice.id))
    .where(ReminderInvoice.reminder_id == bindparam("rid"), Invoice.business_id == bindparam("bid"))
    .order_by(col(Invoice.id), col(Payment.paid_on), col(Payment.id))
)
_OWNER = select(Reminder.business_id).where(Reminder.id == bindparam("rid"))


def _connection(session: Session) -> Connection:
    """The session's connection, after writing what the session holds (what `session.execute` does by itself), so a
    draft read in the transaction that just changed its reminder sees the change."""
    session.flush()
    return session.connection()


def payments_of(
    session: Session, *, business_id: int, invoice_ids: Iterable[int]
) -> dict[int, tuple[PaymentLine, ...]]:
    """The payments of these invoices of the business, by invoice id, oldest first (every id is a key)."""
    ids = list(invoice_ids)
    out: dict[int, list[PaymentLine]] = {i: [] for i in ids}
    if ids:
        for invoice_id, paid_on, amount in _connection(session).execute(_PAYMENTS, {"ids": ids, "bid": business_id}):
            out[invoice_id].append((paid_on, amount))
    return {i: tuple(lines) for i, lines in out.items()}


def reminder_material(session: Session, *, business_id: int, reminder_id: int) -> DraftMaterial | None:
    """What reminder `reminder_id` of this business is drafted from; None when the business has no such reminder.

    Two queries: the reminder with its client and business, then its invoices with their payments."""
    conn = _connection(session)
    params = {"rid": reminder_id, "bid": business_id}
    head = conn.execute(_REMINDER_HEAD, params).first()
    if head is None:
        return None
    split = 1 + len(_CLIENT_COLUMNS)
    width = len(_INVOICE_COLUMNS)
    invoices: dict[int, InvoiceRow] = {}
    payments: dict[int, list[PaymentLine]] = {}
    for row in conn.execute(_REMINDER_INVOICES, params):
        invoice_id = row[0]
        if invoice_id not in invoices:
            invoices[invoice_id] = InvoiceRow(*row[:width])
            payments[invoice_id] = []
        paid_on, amount = row[width], row[width + 1]
        if paid_on is not None:
            payments[invoice_id].append((paid_on, amount))
    return DraftMaterial(
        step=head[0],
        business=BusinessRow(*head[split:]),
        client=ClientRow(*head[1:split]),
        invoices=tuple(invoices.values()),
        payments={i: tuple(lines) for i, lines in payments.items()},
    )


def reminder_owner(session: Session, reminder_id: int) -> int | None:
    """The business a reminder belongs to, or None: only for callers that checked the reminder id against their
    business and do not pass it (the older call of services.drafts.draft_context)."""
    owner: int | None = _connection(session).execute(_OWNER, {"rid": reminder_id}).scalar_one_or_none()
    return owner


def last_sent(session: Session, *, business_id: int, invoice_id: int) -> LastSent | None:
    """The latest sent step of the ladder of this business covering invoice `invoice_id`, or None (a message
    outside the ladder, a thanks or a penalty claim, is no step of it)."""
    row = session.execute(
        select(ReminderInvoice.step, Reminder.planned_date, Reminder.sent_at)  # type: ignore[call-overload]
        .join(Reminder, col(Reminder.id) == col(ReminderInvoice.reminder_id))
        .where(
            ReminderInvoice.invoice_id == invoice_id,
            Reminder.business_id == business_id,
            Reminder.state == ReminderState.SENT,
            Reminder.kind == "ladder",
        )
        .order_by(col(Reminder.sent_at).desc(), col(Reminder.id).desc())
    ).first()
    if row is None:
        return None
    step, planned, sent_at = row
    return LastSent(step=step, planned_date=planned, sent_at=sent_at)


@dataclass(frozen=True, slots=True)
class InstalmentLine:
    """One instalment of a payment plan for one invoice, with what that invoice paid towards it (its plan payments
    allocated to its instalments in order)."""

    seq: int
    due_date: date
    amount: Decimal
    paid: Decimal
    invoice_number: str


def plan_instalments(session: Session, *, business_id: int, reminder_id: int) -> list[InstalmentLine]:
    """The instalments of the payment plan a message outside the ladder is about: the plan whose schedule e-mail is
    this reminder, else the plan of the reminder's invoices (a missed instalment's reminder). Empty without a plan.

    What each invoice paid since the plan started (`invoice.plan_paid`) covers its instalments oldest first."""
    plan_id = session.exec(
        select(PaymentPlan.id).where(PaymentPlan.reminder_id == reminder_id, PaymentPlan.business_id == business_id)
    ).first()
    if plan_id is None:
        plan_id = session.exec(
            select(Invoice.plan_id)
            .join(ReminderInvoice, col(ReminderInvoice.invoice_id) == col(Invoice.id))
            .where(
                ReminderInvoice.reminder_id == reminder_id,
                Invoice.business_id == business_id,
                col(Invoice.plan_id).is_not(None),
            )
        ).first()
    if plan_id is None:
        return []
    rows = session.exec(
        select(PlanInstalment, Invoice)
        .join(Invoice, col(Invoice.id) == col(PlanInstalment.invoice_id))
        .where(PlanInstalment.plan_id == plan_id, Invoice.business_id == business_id)
        .order_by(col(PlanInstalment.invoice_id), col(PlanInstalment.seq))
    ).all()
    left: dict[int, Decimal] = {}
    out = []
    for inst, inv in rows:
        assert inv.id is not None
        available = left.get(inv.id, inv.plan_paid)
        paid = min(available, inst.amount)
        left[inv.id] = available - paid
        out.append(InstalmentLine(inst.seq, inst.due_date, inst.amount, paid, inv.number))
    return sorted(out, key=lambda line: (line.seq, line.invoice_number))
