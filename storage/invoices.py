"""The invoices of a business as the owner's screens read them (/factures, /client, /litiges, /payee, the digest's
totals), as `InvoiceRow`s. Changes of an invoice (payments, promises, disputes) are in storage.reminders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from dunning.states import InvoiceState
from storage.models import Client, EvidenceEntry, Invoice

#: Invoices that are still owed something or under discussion: what /factures lists and the digest totals.
OUTSTANDING_STATES = (
    InvoiceState.OPEN,
    InvoiceState.PARTIALLY_PAID,
    InvoiceState.PROMISED,
    InvoiceState.DISPUTED,
    InvoiceState.PAYMENT_PLAN,
)
_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """One invoice as stored; money is Decimal."""

    id: int
    business_id: int
    client_id: int
    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    amount_paid: Decimal
    amount_written_off: Decimal
    state: str
    promised_until: date | None
    dispute_reason: str | None
    pdf_path: str | None
    pdf_sha256: str | None
    created_at: datetime
    updated_at: datetime
    # An XML-only e-invoice's document (CII / UBL) and its SHA-256 at import; None for the others.
    xml_path: str | None = None
    xml_sha256: str | None = None

    @property
    def balance(self) -> Decimal:
        """What is still owed on this invoice."""
        return self.amount - self.amount_paid - self.amount_written_off


_FIELDS = tuple(f.name for f in fields(InvoiceRow))


def _row(inv: Invoice) -> InvoiceRow:
    assert inv.id is not None
    return InvoiceRow(*(getattr(inv, name) for name in _FIELDS))


def invoice_row(session: Session, *, business_id: int, invoice_id: int) -> InvoiceRow | None:
    """The invoice `invoice_id` if it is one of this business's, else None."""
    inv = session.get(Invoice, invoice_id)
    if inv is None or inv.business_id != business_id:
        return None
    return _row(inv)


def invoice_with_client(session: Session, *, business_id: int, invoice_id: int) -> tuple[InvoiceRow, str] | None:
    """The invoice `invoice_id` of this business and its client's name, else None."""
    row = invoice_row(session, business_id=business_id, invoice_id=invoice_id)
    if row is None:
        return None
    client = session.get(Client, row.client_id)
    return row, client.name if client is not None else ""


def invoice_by_number(session: Session, *, business_id: int, number: str) -> InvoiceRow | None:
    """This business's invoice numbered `number`, or None."""
    inv = session.exec(select(Invoice).where(Invoice.business_id == business_id, Invoice.number == number)).first()
    return _row(inv) if inv is not None else None


def open_invoices(session: Session, *, business_id: int, client_filter: str = "") -> list[tuple[InvoiceRow, str]]:
    """The outstanding invoices (OUTSTANDING_STATES) with their client's name, oldest due first; `client_filter`
    keeps the clients whose name contains it (case-insensitive)."""
    stmt = (
        select(Invoice, Client.name)
        .join(Client, col(Client.id) == col(Invoice.client_id))
        .where(Invoice.business_id == business_id, col(Invoice.state).in_(OUTSTANDING_STATES))
        .order_by(col(Invoice.due_date), col(Invoice.number))
    )
    if client_filter.strip():
        stmt = stmt.where(func.lower(Client.name).contains(client_filter.strip().lower()))
    return [(_row(inv), name) for inv, name in session.exec(stmt).all()]


def disputed_invoices(session: Session, *, business_id: int) -> list[tuple[InvoiceRow, str]]:
    """The disputed invoices with their client's name, oldest due first."""
    stmt = (
        select(Invoice, Client.name)
        .join(Client, col(Client.id) == col(Invoice.client_id))
        .where(Invoice.business_id == business_id, Invoice.state == InvoiceState.DISPUTED)
        .order_by(col(Invoice.due_date), col(Invoice.number))
    )
    return [(_row(inv), name) for inv, name in session.exec(stmt).all()]


def client_invoices(session: Session, *, business_id: int, client_id: int) -> list[InvoiceRow]:
    """Every invoice of a client of this business, by due date."""
    stmt = (
        select(Invoice)
        .where(Invoice.business_id == business_id, Invoice.client_id == client_id)
        .order_by(col(Invoice.due_date))
    )
    return [_row(inv) for inv in session.exec(stmt).all()]


def latest_client_invoice(session: Session, *, business_id: int, client_id: int) -> InvoiceRow | None:
    """The client's invoice changed last (what a cancelled reminder's card says happened), or None."""
    inv = session.exec(
        select(Invoice)
        .where(Invoice.business_id == business_id, Invoice.client_id == client_id)
        .order_by(col(Invoice.updated_at).desc())
        .limit(1)
    ).first()
    return _row(inv) if inv is not None else None


def balance_of(session: Session, *, business_id: int, invoice_ids: Iterable[int]) -> Decimal:
    """What is still owed on these invoices of the business, in all."""
    rows = session.exec(
        select(Invoice).where(Invoice.business_id == business_id, col(Invoice.id).in_(list(invoice_ids)))
    ).all()
    return sum((i.balance for i in rows), _ZERO)


def outstanding_totals(session: Session, *, business_id: int, day: date) -> tuple[Decimal, Decimal]:
    """The balance of the outstanding invoices, and of those among them due before `day`."""
    rows = session.exec(
        select(col(Invoice.amount), col(Invoice.amount_paid), col(Invoice.due_date)).where(
            Invoice.business_id == business_id, col(Invoice.state).in_(OUTSTANDING_STATES)
        )
    ).all()
    open_total, overdue = _ZERO, _ZERO
    for amount, paid, due in rows:
        balance = amount - paid
        if balance > 0:
            open_total += balance
            if due < day:
                overdue += balance
    return open_total, overdue


def dispute_version(session: Session, *, business_id: int, invoice_id: int) -> int:
    """The evidence sequence number of the invoice's latest dispute_opened entry (0 when there is none): it ties a
    /litiges button to that very dispute."""
    seq = session.exec(
        select(func.max(EvidenceEntry.seq)).where(
            EvidenceEntry.business_id == business_id,
            EvidenceEntry.invoice_id == invoice_id,
            EvidenceEntry.kind == "dispute_opened",
        )
    ).first()
    return int(seq or 0)


def has_invoices(session: Session) -> bool:
    """True when the database holds any invoice (whichever business): `relance run` then uses it, not the demo."""
    return session.exec(select(Invoice.id).limit(1)).first() is not None
