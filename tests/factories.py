"""Test data factories (one module, shared by every test package)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session

from storage.models import Business, Client, Invoice, Reminder, ReminderInvoice

_seq = itertools.count(1)


def make_business(session: Session, **kw: object) -> Business:
    """A business with owners 111 and 222 and complete payment details."""
    n = next(_seq)
    fields: dict[str, object] = {
        "slug": f"biz{n}",
        "name": "Atelier Dupont SARL",
        "address": "12 rue des Lilas\n69003 Lyon",
        "siren": "123456789",
        "iban": "FR7630006000011234567890189",
        "bic": "AGRIFRPP",
        "phone": "04 72 00 00 00",
        "email": "factures@atelier-dupont.example",
        "owner_chat_ids": "111,222",
    }
    fields.update(kw)
    business = Business(**fields)  # type: ignore[arg-type]
    session.add(business)
    session.flush()
    return business


def make_client(session: Session, business: Business, **kw: object) -> Client:
    """A standard B2B client with one e-mail address."""
    n = next(_seq)
    fields: dict[str, object] = {
        "business_id": business.id,
        "name": f"Client {n} SAS",
        "emails": f"compta{n}@client{n}.example",
        "phone": "01 23 45 67 89",
    }
    fields.update(kw)
    client = Client(**fields)  # type: ignore[arg-type]
    session.add(client)
    session.flush()
    return client


def make_invoice(
    session: Session,
    client: Client,
    *,
    due: date,
    amount: str | Decimal = "1200.00",
    number: str | None = None,
    **kw: object,
) -> Invoice:
    """An open invoice issued 30 days before `due`."""
    n = next(_seq)
    fields: dict[str, object] = {
        "business_id": client.business_id,
        "client_id": client.id,
        "number": number or f"F-2026-{n:04d}",
        "issue_date": due - timedelta(days=30),
        "due_date": due,
        "amount": Decimal(amount),
    }
    fields.update(kw)
    invoice = Invoice(**fields)  # type: ignore[arg-type]
    session.add(invoice)
    session.flush()
    return invoice


def make_reminder(session: Session, client: Client, invoices: list[Invoice], **kw: object) -> Reminder:
    """A pending reminder of `client` covering `invoices` (step reminder_1, planned today)."""
    fields: dict[str, object] = {
        "business_id": client.business_id,
        "client_id": client.id,
        "step": "reminder_1",
        "planned_date": date.today(),
    }
    fields.update(kw)
    reminder = Reminder(**fields)  # type: ignore[arg-type]
    session.add(reminder)
    session.flush()
    for invoice in invoices:
        session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=invoice.id, step=reminder.step))
    session.flush()
    return reminder
