"""The demo data set of `relance run` without Telegram: realistic French clients and invoices, created once.

Everything is placed relative to the demo's first day (the next business day from `today`), so that day's digest
shows every step of the default ladder (a pre-reminder, a first and a second reminder, a formal notice), the
status shows every aging bucket, a promise, a dispute, a payment this month and reminders coming in the week.
Deterministic: the same `today` gives the same data. Idempotent: a business that already has invoices is left as is.
All e-mail addresses use the reserved example.com / example.fr domains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func
from sqlmodel import Session, select

from dunning.calendar import next_business_day
from dunning.states import InvoiceState, ReminderState
from storage.businesses import BusinessRow
from storage.db import write_session
from storage.models import Business, Client, Invoice, Payment, Reminder, ReminderInvoice


@dataclass(frozen=True)
class _DemoClient:
    name: str
    email: str
    phone: str
    profile: str
    language: str = "fr"
    notes: str = ""
    address: str = ""


@dataclass(frozen=True)
class _DemoInvoice:
    client: int  # index in CLIENTS
    due_offset: int  # due date = anchor + due_offset
    amount: str
    term_days: int = 30  # issue date = due date - term_days
    sent: tuple[tuple[str, int], ...] = ()  # steps already sent: (step, day offset from anchor)
    paid: str = "0.00"
    state: str = InvoiceState.OPEN.value
    promised_offset: int | None = None
    dispute: str | None = None
    paid_offset: int | None = None  # day of the (last) payment, for paid_amount > 0


CLIENTS = (
    _DemoClient("Boulangerie Lemoine SARL", "compta@lemoine-boulangerie.example.fr", "01 42 00 10 01", "standard"),
    _DemoClient("Atelier Caron SAS", "factures@atelier-caron.example.fr", "04 78 00 20 02", "standard"),
    _DemoClient("Transports Girard SARL", "comptabilite@girard-transports.example.fr", "02 40 00 30 03", "late_payer"),
    _DemoClient("Hôtel des Tilleuls SAS", "direction@hotel-tilleuls.example.fr", "03 80 00 40 04", "standard"),
    _DemoClient("Cabinet Morel & Associés", "secretariat@cabinet-morel.example.fr", "05 56 00 50 05", "loyal"),
    _DemoClient(
        "Garage du Centre SARL",
        "garage.centre@example.com",
        "06 12 00 60 06",
        "in_difficulty",
        notes="Trésorerie tendue depuis l'été ; proposer un échéancier.",
    ),
    _DemoClient("Groupe Vasseur Distribution SA", "ap@vasseur.example.com", "01 55 00 70 07", "key_account"),
    _DemoClient("Studio Lumière SAS", "hello@studio-lumiere.example.com", "09 70 00 80 08", "standard", language="en"),
    _DemoClient(
        "Menuiserie Faure SARL",
        "contact@menuiserie-faure.example.fr",
        "02 99 00 90 09",
        "standard",
        address="Zone artisanale des Landes\n4 rue des Charpentiers\n35510 Cesson-Sévigné",
    ),
    _DemoClient("Imprimerie Roussel SARL", "gestion@imprimerie-roussel.example.fr", "03 20 00 11 10", "late_payer"),
)

R1, R2, FN = "reminder_1", "reminder_2", "formal_notice"

INVOICES = (
    # Today's digest: one client per step of the default ladder.
    _DemoInvoice(0, 3, "1250.00"),  # pre-reminder (due in 3 days)
    _DemoInvoice(1, -10, "3480.50"),  # reminder 1
    _DemoInvoice(1, -12, "612.00"),  # same client, grouped in the same reminder
    _DemoInvoice(3, -20, "8940.00", sent=((R1, -13),)),  # reminder 2
    _DemoInvoice(8, -40, "2150.75", sent=((R1, -33), (R2, -25))),  # formal notice
    _DemoInvoice(2, -5, "460.80"),  # late payer: reminder 1 comes sooner (J+4)
    # The week ahead.
    _DemoInvoice(4, -8, "5400.00"),  # loyal: reminder 1 at J+12, in 4 days
    _DemoInvoice(7, 5, "1980.00"),  # pre-reminder in 2 days
    _DemoInvoice(9, -1, "725.40", sent=()),  # late payer: reminder 1 at J+4, in 3 days
    # Older debts for the aging buckets.
    _DemoInvoice(6, -75, "18500.00", term_days=60, sent=((R1, -68), (R2, -60), (FN, -45))),
    _DemoInvoice(
        5,
        -120,
        "3120.00",
        sent=((R1, -113), (R2, -105), (FN, -90)),
        paid="1000.00",
        paid_offset=-50,
        state=InvoiceState.PARTIALLY_PAID.value,
    ),
    _DemoInvoice(5, -50, "1450.00", state=InvoiceState.PROMISED.value, promised_offset=6, sent=((R1, -43),)),
    _DemoInvoice(9, -35, "990.00", state=InvoiceState.DISPUTED.value, dispute="Quantité livrée contestée"),
    # Not due yet, and settled ones.
    _DemoInvoice(6, 25, "12400.00", term_days=45),
    _DemoInvoice(0, 18, "845.00"),
    _DemoInvoice(4, -15, "2300.00", paid="2300.00", state=InvoiceState.PAID.value, paid_offset=-2),
    _DemoInvoice(2, -30, "1120.00", paid="1120.00", state=InvoiceState.PAID.value, paid_offset=-20),
)


def demo_anchor(today: date) -> date:
    """The day the demo is built around: today if it is a business day, else the next one."""
    return next_business_day(today)


def ensure_demo(engine: Engine, business: Business | BusinessRow, today: date) -> bool:
    """Fill the business with the demo clients and invoices unless it already has invoices; True if created."""
    assert business.id is not None
    with write_session(engine) as session:
        count = session.exec(select(func.count()).select_from(Invoice).where(Invoice.business_id == business.id)).one()
        if count:
            return False
        _fill(session, business.id, ZoneInfo(business.timezone), demo_anchor(today))
    return True


def _fill(session: Session, business_id: int, tz: ZoneInfo, anchor: date) -> None:
    clients: list[Client] = []
    for c in CLIENTS:
        client = Client(
            business_id=business_id,
            name=c.name,
            emails=c.email,
            phone=c.phone,
            language=c.language,
            profile=c.profile,
            notes=c.notes,
            address=c.address,
        )
        session.add(client)
        clients.append(client)
    session.flush()
    year = anchor.year
    for n, spec in enumerate(INVOICES, start=1):
        client = clients[spec.client]
        assert client.id is not None
        due = anchor + timedelta(days=spec.due_offset)
        invoice = Invoice(
            business_id=business_id,
            client_id=client.id,
            number=f"F-{year}-{n:03d}",
            issue_date=due - timedelta(days=spec.term_days),
            due_date=due,
            amount=Decimal(spec.amount),
            amount_paid=Decimal(spec.paid),
            state=spec.state,
            promised_until=anchor + timedelta(days=spec.promised_offset) if spec.promised_offset is not None else None,
            dispute_reason=spec.dispute,
            last_paid_on=anchor + timedelta(days=spec.paid_offset) if spec.paid_offset is not None else None,
        )
        session.add(invoice)
        session.flush()
        assert invoice.id is not None
        if spec.paid_offset is not None and Decimal(spec.paid) > 0:
            session.add(
                Payment(
                    invoice_id=invoice.id,
                    amount=Decimal(spec.paid),
                    paid_on=anchor + timedelta(days=spec.paid_offset),
                    note="virement",
                )
            )
        for step, offset in spec.sent:
            day = anchor + timedelta(days=offset)
            sent_at = datetime.combine(day, time(9, 30), tzinfo=tz)
            reminder = Reminder(
                business_id=business_id,
                client_id=client.id,
                step=step,
                planned_date=day,
                state=ReminderState.SENT.value,
                sent_at=sent_at,
                sent_to=client.emails,
                version=3,
            )
            session.add(reminder)
            session.flush()
            assert reminder.id is not None
            session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=invoice.id, step=step))
    session.flush()
