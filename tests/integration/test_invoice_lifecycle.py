"""Every state an invoice can be in, as the storage actions move it and the owner's screens name it (issue 10 §3),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.reports import render_invoices, render_status
from dunning.states import InvoiceState, ReminderState
from storage.db import read_session, write_session
from storage.invoices import open_invoices
from storage.models import Business, EvidenceEntry, Invoice, Reminder
from storage.queries import status_summary
from storage.reminders import ActionError, close_dispute, open_dispute, record_payment, record_promise, refresh_due
from tests.factories import make_business, make_client, make_invoice

TUE = date(2026, 11, 24)  # a Tuesday, not a holiday


def _one_invoice(engine: Engine, due: date) -> tuple[int, int]:
    with write_session(engine) as s:
        b = make_business(s)
        inv = make_invoice(s, make_client(s, b), due=due)
        assert b.id is not None and inv.id is not None
        return b.id, inv.id


def _refresh(engine: Engine, business_id: int, today: date) -> list[int]:
    with write_session(engine) as s:
        b = s.get(Business, business_id)
        assert b is not None
        return [v.reminder_id for v in refresh_due(s, business=b, today=today)]


def test_a_partial_payment_makes_the_invoice_partially_paid_and_still_chased(engine: Engine) -> None:
    """Part of the amount received: the invoice is partially paid, keeps its balance in the ladder (its reminder
    proposed) and remembers the day it was paid."""
    bid, inv_id = _one_invoice(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=Decimal("200.00"), paid_on=TUE, actor="x")
    with read_session(engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None
        assert (inv.state, inv.balance, inv.last_paid_on) == (InvoiceState.PARTIALLY_PAID, Decimal("1000.00"), TUE)
        summary = status_summary(s, business_id=bid, today=TUE)
        assert (summary.open_count, summary.partly_paid_count, summary.to_json()["counts"]["partially_paid"]) == (
            1,
            1,
            1,
        )
        assert "Factures par état : partiellement payée : 1" in render_status(summary, "fr")
        (row,) = open_invoices(s, business_id=bid)
        assert "reste 1\xa0000,00\xa0€ sur 1\xa0200,00\xa0€ · échéance" in render_invoices([row], TUE, "", "fr")
        assert "partiellement payée" in render_invoices([row], TUE, "", "fr")
    (rid,) = _refresh(engine, bid, TUE)
    with read_session(engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None and reminder.state == ReminderState.PENDING


def test_the_payment_of_the_rest_makes_it_paid_and_withdraws_its_reminder(engine: Engine) -> None:
    """The rest received: paid, its waiting reminder cancelled, nothing proposed any more."""
    bid, inv_id = _one_invoice(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=Decimal("200.00"), paid_on=TUE, actor="x")
    (rid,) = _refresh(engine, bid, TUE)
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=None, paid_on=TUE, actor="x")
    with read_session(engine) as s:
        inv, reminder = s.get(Invoice, inv_id), s.get(Reminder, rid)
        assert inv is not None and (inv.state, inv.balance) == (InvoiceState.PAID, Decimal("0.00"))
        assert reminder is not None and reminder.state == ReminderState.CANCELLED
        kinds = [e.kind for e in s.exec(select(EvidenceEntry).where(EvidenceEntry.invoice_id == inv_id)).all()]
        assert kinds.count("payment_recorded") == 2
    assert _refresh(engine, bid, TUE) == []


def test_a_dispute_written_off_is_written_off_and_never_chased(engine: Engine) -> None:
    """A dispute closed as a loss: the invoice is written off (its balance given up, an evidence entry written_off)
    and the ladder never proposes it again."""
    bid, inv_id = _one_invoice(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        open_dispute(s, business_id=bid, invoice_ids=[inv_id], reason="Quantité contestée", actor="x")
        close_dispute(s, business_id=bid, invoice_id=inv_id, actor="x", outcome="written_off")
    with read_session(engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.WRITTEN_OFF
        assert (inv.amount_written_off, inv.balance) == (Decimal("1200.00"), Decimal("0.00"))
        entries = s.exec(select(EvidenceEntry).where(EvidenceEntry.invoice_id == inv_id)).all()
        written = [e for e in entries if e.kind == "written_off"]
        assert len(written) == 1 and '"amount":"1200.00"' in written[0].payload.replace(" ", "")
    assert _refresh(engine, bid, TUE) == []
    assert _refresh(engine, bid, date(2027, 3, 2)) == []


def test_a_payment_after_the_due_date_leaves_the_penalties_claimable(engine: Engine) -> None:
    """The payment that settles an invoice after its due date logs the late-payment card (days late) with it."""
    bid, inv_id = _one_invoice(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=None, paid_on=TUE, actor="x")
    with read_session(engine) as s:
        (entry,) = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "payment_recorded")).all()
        assert '"days_late":14' in entry.payload.replace(" ", "") and '"late_payment"' in entry.payload


def test_a_promise_goes_through_the_machine_and_a_past_date_is_refused(engine: Engine) -> None:
    """A promise on a partially paid invoice makes it promised (evidence promise_recorded); a past date changes
    nothing."""
    bid, inv_id = _one_invoice(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=Decimal("200.00"), paid_on=TUE, actor="x")
        record_promise(s, business_id=bid, invoice_ids=[inv_id], until=date(2026, 12, 4), today=TUE, actor="x")
    with pytest.raises(ActionError), write_session(engine) as s:
        record_promise(s, business_id=bid, invoice_ids=[inv_id], until=date(2026, 11, 1), today=TUE, actor="x")
    with read_session(engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and (inv.state, inv.promised_until) == (InvoiceState.PROMISED, date(2026, 12, 4))
        kinds = [e.kind for e in s.exec(select(EvidenceEntry).where(EvidenceEntry.invoice_id == inv_id)).all()]
        assert kinds.count("promise_recorded") == 1
