"""The database step of an e-invoice import: one invoice (or credit note) already read and checked, written in one
transaction with its client and its evidence entries.

Reading the file lives in `services.einvoice`, storing its document in `services.einvoice_import`; this module only
writes. The buyer is matched by SIREN, then VAT number, then name key (`storage.names.client_name_key`), else
created. Importing the same invoice again changes nothing; the same number with other data is refused.

A credit note is not stored as an invoice: it is recorded on the invoice it references as a payment-like adjustment
(a `Payment` whose note is "avoir <number>", which also makes it idempotent) with an evidence entry
`credit_note_recorded`; an invoice credited in full becomes paid. A credit note larger than the balance is refused;
one with no reference, or a reference to no invoice of the business, is applied to nothing and reported "to assign":
the owner's task (`credit_note`, once per credit note number) asks which of the client's invoices it credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dunning.invoice_states import CreditNote
from dunning.states import InvoiceState
from storage import evidence
from storage.db import write_session
from storage.invoice_status import apply_to_invoice
from storage.models import Client, Invoice, Payment
from storage.names import client_name_key
from storage.owner_tasks import raise_credit_note_task
from storage.reminders import settle_reminders
from storage.types import utcnow

#: The note of the Payment row that records a credit note on the invoice it references.
CREDIT_NOTE_PREFIX = "avoir "


@dataclass(frozen=True, slots=True)
class EInvoiceRecord:
    """One e-invoice as the write takes it: amounts Decimal, identifiers validated, the document already stored
    (`document_path`, `document_sha256`; `document_kind` "pdf" or "xml"), and the file it came from."""

    number: str
    kind: Literal["invoice", "credit_note"]
    issue_date: date
    due_date: date
    amount_due: Decimal
    currency: str
    buyer_name: str
    buyer_siren: str | None
    buyer_siret: str | None
    buyer_vat: str | None
    buyer_email: str | None
    buyer_address: str
    referenced_invoice: str | None
    document_kind: Literal["pdf", "xml"]
    document_path: str | None
    document_sha256: str
    file: str


MatchedBy = Literal["siren", "vat", "name", "new"]


@dataclass(frozen=True, slots=True)
class EInvoiceImportResult:
    """What the write did: "created" (a new invoice), "unchanged" (already imported), "credit_applied" (a credit
    note recorded on `applied_to`) or "to_assign" (a credit note whose invoice is unknown: applied to nothing, the
    owner's task raised)."""

    status: Literal["created", "unchanged", "credit_applied", "to_assign"]
    client_name: str | None = None
    matched_by: MatchedBy | None = None
    applied_to: str | None = None
    balance: Decimal | None = None  # of the invoice created or credited, after the write


class EInvoiceRefused(ValueError):
    """The write refused the invoice (nothing written): `code` names why, `values` fill the owner's message."""

    def __init__(self, code: Literal["number_taken", "credit_too_big", "currency"], **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


def write_einvoice(
    engine: Engine, *, business_id: int, einvoice: EInvoiceRecord, actor: str, dry_run: bool = False
) -> EInvoiceImportResult:
    """Write one e-invoice (or apply one credit note) of a business in one transaction; EInvoiceRefused, with
    nothing written, for a number already used by other data or a credit note larger than the balance. A dry run
    finds the same outcome and rolls back."""
    with write_session(engine) as session:
        if einvoice.kind == "credit_note":
            result = _apply_credit_note(session, business_id, einvoice, actor)
        else:
            result = _write_invoice(session, business_id, einvoice, actor)
        if dry_run:
            session.rollback()
        return result


def _write_invoice(session: Session, business_id: int, record: EInvoiceRecord, actor: str) -> EInvoiceImportResult:
    client, matched_by = _match_client(session, business_id, record)
    existing = session.exec(
        select(Invoice).where(Invoice.business_id == business_id, Invoice.number == record.number)
    ).first()
    if existing is not None:
        same = (
            existing.client_id == client.id
            and existing.issue_date == record.issue_date
            and existing.due_date == record.due_date
            and existing.amount == record.amount_due
            and existing.currency == record.currency
        )
        if not same:
            raise EInvoiceRefused("number_taken", number=record.number)
        return EInvoiceImportResult("unchanged", client.name, matched_by, record.number, existing.balance)
    now = utcnow()
    if matched_by == "new":
        session.add(client)
        session.flush()
    pdf = record.document_kind == "pdf"
    invoice = Invoice(
        business_id=business_id,
        client_id=client.id,  # type: ignore[arg-type]
        number=record.number,
        issue_date=record.issue_date,
        due_date=record.due_date,
        amount=record.amount_due,
        currency=record.currency,
        amount_paid=Decimal("0.00"),
        state=InvoiceState.OPEN.value if record.amount_due > 0 else InvoiceState.PAID.value,
        pdf_path=record.document_path if pdf else None,
        pdf_sha256=record.document_sha256 if pdf else None,
        document_kind=record.document_kind,
        xml_path=None if pdf else record.document_path,
        xml_sha256=None if pdf else record.document_sha256,
        created_at=now,
        updated_at=now,
    )
    session.add(invoice)
    session.flush()
    evidence.record(
        session,
        actor=actor,
        kind="einvoice_imported",
        business_id=business_id,
        client_id=client.id,
        invoice_id=invoice.id,
        payload={
            "file": record.file,
            "sha256": record.document_sha256,
            "number": record.number,
            "client": client.name,
            "client_matched_by": matched_by,
            "amount": str(record.amount_due),
            "due_date": record.due_date.isoformat(),
            "document": record.document_kind,
        },
    )
    return EInvoiceImportResult("created", client.name, matched_by, record.number, invoice.balance)


def _match_client(session: Session, business_id: int, record: EInvoiceRecord) -> tuple[Client, MatchedBy]:
    """The business's client this buyer is (by SIREN, VAT number, then name key), its blank details filled from the
    invoice; or a new client, not yet added to the session."""
    of_business = select(Client).where(Client.business_id == business_id)
    candidates: list[tuple[MatchedBy, Any, str | None]] = [
        ("siren", col(Client.siren), record.buyer_siren),
        ("vat", col(Client.vat_number), record.buyer_vat),
        ("name", col(Client.name_key), client_name_key(record.buyer_name)),
    ]
    for matched_by, column, value in candidates:
        if not value:
            continue
        client = session.exec(of_business.where(column == value).order_by(col(Client.id))).first()
        if client is not None:
            _fill_blanks(client, record)
            return client, matched_by
    client = Client(
        business_id=business_id,
        name=record.buyer_name[:200],
        name_key=client_name_key(record.buyer_name),
        emails=record.buyer_email or "",
        address=record.buyer_address,
        siren=record.buyer_siren,
        siret=record.buyer_siret,
        vat_number=record.buyer_vat,
    )
    return client, "new"


def _known_client(session: Session, business_id: int, record: EInvoiceRecord) -> Client | None:
    """The business's client this buyer is (by SIREN, VAT number, then name key), left as it is; None if new."""
    of_business = select(Client).where(Client.business_id == business_id)
    for column, value in (
        (col(Client.siren), record.buyer_siren),
        (col(Client.vat_number), record.buyer_vat),
        (col(Client.name_key), client_name_key(record.buyer_name)),
    ):
        if value:
            client = session.exec(of_business.where(column == value).order_by(col(Client.id))).first()
            if client is not None:
                return client
    return None


def _fill_blanks(client: Client, record: EInvoiceRecord) -> None:
    """Give a known client the identifiers and contact details it lacks (what the owner typed is never replaced)."""
    for attribute, value in (
        ("siren", record.buyer_siren),
        ("siret", record.buyer_siret),
        ("vat_number", record.buyer_vat),
        ("emails", record.buyer_email),
        ("address", record.buyer_address),
    ):
        if value and not getattr(client, attribute):
            setattr(client, attribute, value)


def _apply_credit_note(session: Session, business_id: int, record: EInvoiceRecord, actor: str) -> EInvoiceImportResult:
    target = None
    if record.referenced_invoice:
        target = session.exec(
            select(Invoice).where(Invoice.business_id == business_id, Invoice.number == record.referenced_invoice)
        ).first()
    if target is None:
        # Nothing is applied: the owner is asked which of the client's invoices it credits (storage.owner_tasks).
        client = _known_client(session, business_id, record)
        raise_credit_note_task(
            session,
            business_id=business_id,
            client_id=client.id if client is not None else None,
            number=record.number,
            amount=record.amount_due,
            currency=record.currency,
            issued_on=record.issue_date,
            referenced=record.referenced_invoice,
            buyer_name=record.buyer_name,
            file=record.file,
            sha256=record.document_sha256,
            actor=actor,
        )
        return EInvoiceImportResult("to_assign", record.buyer_name, applied_to=record.referenced_invoice)
    client = session.get(Client, target.client_id)
    client_name = client.name if client is not None else None
    note = f"{CREDIT_NOTE_PREFIX}{record.number}"[:500]
    done = session.exec(select(Payment).where(Payment.invoice_id == target.id, Payment.note == note)).first()
    if done is not None:
        return EInvoiceImportResult("unchanged", client_name, applied_to=target.number, balance=target.balance)
    if record.currency != target.currency:
        raise EInvoiceRefused("currency", number=target.number, currency=record.currency)
    if record.amount_due > target.balance:
        raise EInvoiceRefused("credit_too_big", number=target.number, amount=record.amount_due, balance=target.balance)
    session.add(Payment(invoice_id=target.id, amount=record.amount_due, paid_on=record.issue_date, note=note))  # type: ignore[arg-type]
    details = {
        "file": record.file,
        "sha256": record.document_sha256,
        "credit_note": record.number,
        "client": client_name,
    }
    apply_to_invoice(session, target, CreditNote(record.amount_due, record.issue_date), actor=actor, details=details)
    assert target.id is not None
    settled = target.balance <= 0
    settle_reminders(session, paid_ids=[target.id] if settled else [], partly_ids=[] if settled else [target.id],
                     actor=actor, reason="credit_note")  # fmt: skip
    return EInvoiceImportResult("credit_applied", client_name, applied_to=target.number, balance=target.balance)
