"""Sample contexts: used by `Renderer.check()` to exercise every template branch, by tests and by the bench."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from dunning.penalties import RateTable, balance_events_from_payments, builtin_rate_table, compute_penalties
from messages.context import DraftContext, InvoiceLine, ScheduleLine, Sender

SAMPLE_SENDER = Sender(
    name="Atelier Dupont SARL",
    address="12 rue des Tanneurs\n69003 Lyon",
    siren="123456789",
    iban="FR7630006000011234567890189",
    bic="AGRIFRPP",
    phone="04 78 00 00 00",
    email="compta@atelier-dupont.fr",
    reply_to="compta@atelier-dupont.fr",
    formal_notice_days=8,
    payment_link="",
)
SAMPLE_TODAY = date(2026, 5, 20)


def sample_invoice(
    number: str, amount: str, due: date, today: date, *, paid: str = "0.00", b2b: bool = True
) -> InvoiceLine:
    """An invoice line with its penalties at `today` computed from the built-in rate table (a part payment, if
    any, is dated ten days after the due date)."""
    days = max(0, (today - due).days)
    total, part = Decimal(amount), Decimal(paid)
    events = balance_events_from_payments(total, [(due + timedelta(days=10), part)] if part else [], start=due)
    result = compute_penalties(
        balance_events=events, due_date=due, today=today, rate_table=_rates(), is_consumer=not b2b
    )
    return InvoiceLine(
        number=number,
        issue_date=due - timedelta(days=30),
        due_date=due,
        amount=total,
        amount_paid=part,
        days_overdue=days,
        penalties=result.penalty,
        indemnity=result.indemnity,
        penalty_segments=result.segments,
    )


@lru_cache(maxsize=1)
def _rates() -> RateTable:
    return builtin_rate_table()


def sample_contexts(step: str, lang: str = "fr", today: date = SAMPLE_TODAY) -> list[DraftContext]:
    """A handful of contexts covering profiles, consumer/business, one/several invoices and the optional fields."""
    if step == "pre_reminder":
        dues = [today + timedelta(days=3), today + timedelta(days=5), today + timedelta(days=3)]
    else:
        late = {"reminder_1": 7, "reminder_2": 15, "formal_notice": 30}.get(step, 20)
        dues = [today - timedelta(days=late), today - timedelta(days=late + 12), today - timedelta(days=late + 30)]
    single = (sample_invoice("F-2026-042", "1234.56", dues[0], today),)
    several = (
        sample_invoice("F-2026-042", "1234.56", dues[0], today),
        sample_invoice("F-2026-037", "480.00", dues[1], today, paid="80.00"),
        sample_invoice("F-2026-021", "12500.00", dues[2], today),
    )
    consumer = (sample_invoice("F-2026-050", "89.90", dues[0], today, b2b=False),)
    contexts = [
        DraftContext(SAMPLE_SENDER, "Boulangerie Martin", step, single, today, lang, "standard"),
        DraftContext(
            SAMPLE_SENDER,
            "Garage des Alpes",
            step,
            several,
            today,
            lang,
            "loyal",
            client_address="4 avenue Foch\n38000 Grenoble",
            client_email="contact@garage-alpes.fr",
            payment_received=Decimal("400.00"),
        ),
        DraftContext(SAMPLE_SENDER, "Mme Claire Petit", step, consumer, today, lang, "late_payer", is_consumer=True),
        DraftContext(
            SAMPLE_SENDER,
            "SAS Horizon",
            step,
            several,
            today,
            lang,
            "in_difficulty",
            promise_broken=True,
            promised_date=today - timedelta(days=2),
            rates_missing="2026-H2",
            client_notes="Préfère être appelé le matin.",
        ),
        DraftContext(
            SAMPLE_SENDER,
            "Groupe Vertex",
            step,
            single,
            today,
            lang,
            "key_account",
            payment_plan_offered=True,
            plan_instalments=4,
            payment_received=Decimal("1234.56"),
        ),
    ]
    if step in ("plan_schedule", "plan_reminder"):
        # A plan's messages list its instalments: one missed and partly paid, one split over two invoices.
        schedule = sample_schedule(today)
        contexts = [replace(c, schedule=schedule) for c in contexts]
    return contexts


def sample_schedule(today: date) -> tuple[ScheduleLine, ...]:
    """Three monthly instalments around `today`: the first missed (partly paid), the second split over two
    invoices, the last to come."""
    joiner = "F-2026-042 et F-2026-037"
    return (
        ScheduleLine(1, today - timedelta(days=10), Decimal("400.00"), Decimal("150.00"), True, "F-2026-042"),
        ScheduleLine(2, today + timedelta(days=20), Decimal("400.00"), Decimal("0.00"), False, joiner),
        ScheduleLine(3, today + timedelta(days=51), Decimal("434.56"), Decimal("0.00"), False, "F-2026-037"),
    )
