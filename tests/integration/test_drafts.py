"""Contexts and previews built from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine

from services.drafts import draft_context, invoice_context, render_preview
from services.rates import load_rate_table
from storage.db import read_session, write_session
from storage.models import Payment, Reminder
from tests.factories import make_business, make_client, make_invoice, make_reminder

TODAY_2025 = date(2025, 4, 15)  # a Tuesday; rates of 2025-H1 are in the table
NBSP = "\u00a0"


def _seed(engine: Engine, **client_kw: object) -> tuple[int, int]:
    """A business, a client with two invoices (one partly paid) and a reminder covering both."""
    with write_session(engine) as s:
        business = make_business(s, formal_notice_days=10, reply_to="relances@atelier.example")
        client = make_client(s, business, name="Garage des Alpes", **client_kw)
        a = make_invoice(s, client, due=date(2025, 3, 1), amount="10000.00", number="F-2025-001")
        b = make_invoice(s, client, due=date(2025, 3, 20), amount="1000.00", number="F-2025-002")
        b.amount_paid = Decimal("400.00")
        s.add(Payment(invoice_id=b.id, amount=Decimal("400.00"), paid_on=date(2025, 4, 1)))
        reminder = make_reminder(s, client, [a, b], step="reminder_2", planned_date=TODAY_2025)
        assert business.id is not None and reminder.id is not None
        return business.id, reminder.id


def test_draft_context_from_a_reminder(engine: Engine) -> None:
    """The reminder's context has its step, the client, both invoices, the penalties and the business sender."""
    _, reminder_id = _seed(engine)
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=TODAY_2025)
    assert ctx.step == "reminder_2"
    assert ctx.client_name == "Garage des Alpes"
    assert [i.number for i in ctx.invoices] == ["F-2025-001", "F-2025-002"]
    first, second = ctx.invoices
    assert first.days_overdue == 45 and first.penalties == Decimal("162.12")  # the reference case
    assert first.indemnity == Decimal("40.00")
    # 1 000 € for 11 days (21-31 March) then 600 € for 15 days (from the 1 April payment) at 13.15 %
    expected = (Decimal(1000) * 11 + Decimal(600) * 15) * Decimal("13.15") / 100 / 365
    assert second.penalties == expected.quantize(Decimal("0.01"))
    assert second.remaining == Decimal("600.00") and second.indemnity == Decimal("40.00")
    assert ctx.sender.name == "Atelier Dupont SARL" and ctx.sender.siren == "123456789"
    assert ctx.sender.contact_email == "relances@atelier.example"
    assert ctx.deadline == date(2025, 4, 25)  # formal_notice_days = 10
    assert ctx.rates_missing is None


def test_consumer_client_gets_no_penalties(engine: Engine) -> None:
    """A client flagged consumer owes no commercial penalties and no indemnity."""
    _, reminder_id = _seed(engine, is_consumer=True)
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=TODAY_2025)
    assert ctx.is_consumer and ctx.total_penalties == 0 and ctx.total_indemnity == 0


def test_contractual_rate_is_used(engine: Engine) -> None:
    """The client's lawful contractual rate (12 %) replaces the statutory one: 10 000 x 12 % x 45 / 365 = 147.95."""
    _, reminder_id = _seed(engine, contractual_rate=Decimal("12.000"))
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=TODAY_2025)
    assert ctx.invoices[0].penalties == Decimal("147.95")


def test_unlawful_contractual_rate_falls_back_to_statutory(engine: Engine) -> None:
    """A contractual rate below 3x the legal rate is void: the statutory 13.15 % applies (162.12)."""
    _, reminder_id = _seed(engine, contractual_rate=Decimal("5.000"))
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=TODAY_2025)
    assert ctx.invoices[0].penalties == Decimal("162.12")


def test_missing_half_year_is_flagged_not_guessed(engine: Engine) -> None:
    """In November 2026 (2026-H2 not in the table) penalties are left out and the half-year is named."""
    _, reminder_id = _seed(engine)
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=date(2026, 11, 24))
    assert ctx.rates_missing == "2026-H2"
    assert ctx.total_penalties == 0
    assert ctx.total_indemnity == Decimal("80.00")


def test_extended_rate_table_is_used(engine: Engine) -> None:
    """With the owner's 2025-H2..2026-H2 rates, November 2026 penalties are computed."""
    table = load_rate_table(extra_text='[ecb]\n"2026-H2" = 2.15\n')
    _, reminder_id = _seed(engine)
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=date(2026, 11, 24), rate_table=table)
    assert ctx.rates_missing is None and ctx.total_penalties > 0


def test_imported_paid_amount_without_payment_rows(engine: Engine) -> None:
    """An amount_paid with no Payment row (from an import) lowers the base from the start, never inflating it."""
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(s, business)
        make_invoice(s, client, due=date(2025, 3, 1), amount="10000.00", number="F-X", amount_paid=Decimal("5000"))
        assert business.id is not None
        business_id = business.id
    with read_session(engine) as s:
        ctx = invoice_context(s, business_id=business_id, invoice_number="F-X", today=TODAY_2025, step="reminder_2")
    assert ctx.invoices[0].penalties == Decimal("81.06")  # 5 000 x 13.15 % x 45 / 365 = 81.06


def test_promise_broken_is_detected(engine: Engine) -> None:
    """A promised invoice whose date has passed sets promise_broken with the promised date."""
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(s, business)
        inv = make_invoice(s, client, due=date(2025, 3, 1), number="F-P", state="promised")
        inv.promised_until = date(2025, 4, 10)
        reminder = make_reminder(s, client, [inv], step="reminder_1", planned_date=TODAY_2025)
        reminder_id = reminder.id
    assert reminder_id is not None
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=TODAY_2025)
    assert ctx.promise_broken and ctx.promised_date == date(2025, 4, 10)


def test_unknown_invoice_and_reminder_are_clear_errors(engine: Engine) -> None:
    """An unknown invoice number or reminder id raises LookupError with a French and English message."""
    business_id, _ = _seed(engine)
    with read_session(engine) as s:
        with pytest.raises(LookupError, match="facture inconnue : NOPE / unknown invoice: NOPE"):
            render_preview(s, business_id=business_id, invoice_number="NOPE", today=TODAY_2025)
        with pytest.raises(LookupError, match="unknown reminder"):
            draft_context(s, reminder_id=999_999, today=TODAY_2025)


def test_invoice_of_another_business_is_not_found(engine: Engine) -> None:
    """A number that exists only for another business is unknown here."""
    _seed(engine)
    with write_session(engine) as s:
        other = make_business(s)
        other_id = other.id
    assert other_id is not None
    with read_session(engine) as s, pytest.raises(LookupError):
        invoice_context(s, business_id=other_id, invoice_number="F-2025-001", today=TODAY_2025)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 2, 26), "pre_reminder"),  # J-3
        (date(2025, 3, 10), "reminder_1"),  # J+9, nothing sent yet
        (date(2025, 4, 15), "reminder_1"),  # 45 days late but never reminded: the ladder starts at reminder_1
    ],
)
def test_preview_picks_todays_step(engine: Engine, today: date, expected: str) -> None:
    """Without --step, the preview uses the step the ladder proposes today, never skipping one."""
    business_id, _ = _seed(engine)
    with read_session(engine) as s:
        ctx = invoice_context(s, business_id=business_id, invoice_number="F-2025-001", today=today)
    assert ctx.step == expected


def test_preview_after_reminder_1_was_sent(engine: Engine) -> None:
    """After reminder_1 was sent on 10 March, the preview of 15 April proposes reminder_2."""
    business_id, reminder_id = _seed(engine)
    with write_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        reminder.step, reminder.state = "reminder_1", "sent"
        reminder.sent_at = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
        from sqlmodel import select

        from storage.models import ReminderInvoice

        for link in s.exec(select(ReminderInvoice).where(ReminderInvoice.reminder_id == reminder_id)):
            link.step = "reminder_1"
            s.add(link)
        s.add(reminder)
    with read_session(engine) as s:
        ctx = invoice_context(s, business_id=business_id, invoice_number="F-2025-001", today=TODAY_2025)
    assert ctx.step == "reminder_2"


def test_preview_formats(engine: Engine) -> None:
    """text has the subject line and body, html is a document, sms one short line, call a script, letter a PDF."""
    business_id, _ = _seed(engine)
    kw = {"business_id": business_id, "invoice_number": "F-2025-001", "today": TODAY_2025, "step": "formal_notice"}
    with read_session(engine) as s:
        text = render_preview(s, **kw)  # type: ignore[arg-type]
        html = render_preview(s, fmt="html", **kw)  # type: ignore[arg-type]
        sms = render_preview(s, fmt="sms", **kw)  # type: ignore[arg-type]
        call = render_preview(s, fmt="call", **kw)  # type: ignore[arg-type]
        letter = render_preview(s, fmt="letter", **kw)  # type: ignore[arg-type]
        english = render_preview(s, lang="en", **kw)  # type: ignore[arg-type]
    assert isinstance(text, str) and text.startswith("Objet : Mise en demeure de payer : facture n° F-2025-001")
    assert f"10{NBSP}202,12{NBSP}€" in text  # 10 000 + 162.12 + 40
    assert isinstance(html, str) and html.lstrip().startswith("<!DOCTYPE html>")
    assert isinstance(sms, str) and len(sms.strip()) <= 160
    assert isinstance(call, str) and "Garage des Alpes" in call
    assert isinstance(letter, bytes) and letter.startswith(b"%PDF")
    assert "L441-10" in pdfium.PdfDocument(letter)[0].get_textpage().get_text_range()
    assert isinstance(english, str) and english.startswith("Subject: Formal notice")


def test_preview_rejects_bad_format_and_language(engine: Engine) -> None:
    """An unknown format or language is a ValueError naming the allowed values."""
    business_id, _ = _seed(engine)
    with read_session(engine) as s:
        with pytest.raises(ValueError, match="text, html, sms, call, letter"):
            render_preview(s, business_id=business_id, invoice_number="F-2025-001", today=TODAY_2025, fmt="pdf")
        with pytest.raises(ValueError, match="fr, en"):
            render_preview(s, business_id=business_id, invoice_number="F-2025-001", today=TODAY_2025, lang="de")


def test_hostile_client_data_from_the_database(engine: Engine) -> None:
    """A client name with markup, Jinja syntax and an RTL override is escaped in the HTML preview."""
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(s, business, name="<script>x</script>{{ 7*7 }}\u202eAcme", notes="{{ 7*7 }}")
        make_invoice(s, client, due=date(2025, 3, 1), number="F-H")
        business_id = business.id
    assert business_id is not None
    with read_session(engine) as s:
        html = render_preview(
            s, business_id=business_id, invoice_number="F-H", today=TODAY_2025, step="reminder_1", fmt="call"
        )
    assert isinstance(html, str)
    assert "{{ 7*7 }}" in html and "49" not in html and "\u202e" not in html


def test_rates_file_extends_the_table(engine: Engine, tmp_path: object) -> None:
    """The owner's rates file (RATES_FILE, read by services.rates): with 2026-H2 added, November 2026 is computed."""
    from pathlib import Path

    rates = Path(str(tmp_path)) / "rates.toml"
    rates.write_text('[ecb]\n"2025-H2" = 2.15\n"2026-H2" = 2.15\n', encoding="utf-8")
    _, reminder_id = _seed(engine)
    with read_session(engine) as s:
        ctx = draft_context(s, reminder_id=reminder_id, today=date(2026, 11, 24), rate_table=load_rate_table(rates))
    assert ctx.rates_missing is None and ctx.total_penalties > 0
