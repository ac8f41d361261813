"""Materialising due reminders and the owner's actions, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from dunning.states import InvoiceState, ReminderState
from storage.db import read_session, write_session
from storage.models import EvidenceEntry, Invoice, Payment, Reminder
from storage.reminders import (
    ActionError,
    StaleReminderError,
    edit_draft,
    lock_awaiting,
    open_dispute,
    pending_views,
    record_payment,
    record_promise,
    refresh_due,
    snooze,
)
from tests.factories import make_business, make_client, make_invoice

TUE = date(2026, 11, 24)  # a Tuesday, not a holiday


def _setup(engine: Engine, *dues: date) -> tuple[int, int, list[int]]:
    with write_session(engine) as s:
        b = make_business(s)
        c = make_client(s, b)
        ids = [make_invoice(s, c, due=d).id for d in dues]
        assert b.id is not None and c.id is not None
        return b.id, c.id, [i for i in ids if i is not None]


def _refresh(engine: Engine, business_id: int, today: date) -> list[int]:
    from storage.models import Business

    with write_session(engine) as s:
        b = s.get(Business, business_id)
        assert b is not None
        return [v.reminder_id for v in refresh_due(s, business=b, today=today)]


def test_refresh_groups_client_invoices_at_highest_step_and_is_idempotent(engine: Engine) -> None:
    """Two overdue invoices of one client give one reminder at the highest step; ten refreshes change nothing."""
    bid, _, _ = _setup(engine, date(2026, 11, 10), date(2026, 10, 1))
    first = _refresh(engine, bid, TUE)
    for _ in range(9):
        assert _refresh(engine, bid, TUE) == first
    with read_session(engine) as s:
        views = pending_views(s, bid, TUE)
        assert len(views) == 1
        # Nothing was sent yet, so each invoice starts with reminder_1 (never several steps at once).
        assert views[0].step == "reminder_1"
        assert {i.step for i in views[0].invoices} == {"reminder_1"}
        assert len(views[0].invoices) == 2
        assert views[0].total == Decimal("2400.00")
        assert len(s.exec(select(Reminder)).all()) == 1


def test_snooze_hides_until_the_day_then_comes_back(engine: Engine) -> None:
    """A snoozed reminder disappears from the waiting list and comes back on its day, same id."""
    bid, _, _ = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, TUE)
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        snooze(
            s,
            reminder_id=rid,
            business_id=bid,
            until=date(2026, 11, 27),
            today=TUE,
            actor="owner:111",
            expected_version=r.version,
        )
    assert _refresh(engine, bid, date(2026, 11, 25)) == []
    assert _refresh(engine, bid, date(2026, 11, 27)) == [rid]


def test_stale_version_is_refused(engine: Engine) -> None:
    """An action carrying an old card version is refused and changes nothing."""
    bid, _, _ = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, TUE)
    with write_session(engine) as s:
        edit_draft(
            s, reminder_id=rid, business_id=bid, subject=None, body="Bonjour", actor="owner:111", expected_version=0
        )
    with pytest.raises(StaleReminderError), write_session(engine) as s:
        snooze(
            s,
            reminder_id=rid,
            business_id=bid,
            until=date(2026, 11, 30),
            today=TUE,
            actor="owner:111",
            expected_version=0,
        )
    with read_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None and r.state == ReminderState.PENDING and r.edited_body == "Bonjour"


def test_full_payment_closes_invoice_and_cancels_reminder(engine: Engine) -> None:
    """Paying in full marks the invoice paid, cancels the waiting reminder and logs the payment."""
    bid, _, (inv_id,) = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, TUE)
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv_id], amount=None, paid_on=TUE, actor="owner:111")
    with read_session(engine) as s:
        inv = s.get(Invoice, inv_id)
        r = s.get(Reminder, rid)
        assert inv is not None and inv.state == InvoiceState.PAID and inv.balance == 0
        assert r is not None and r.state == ReminderState.CANCELLED
        kinds = [e.kind for e in s.exec(select(EvidenceEntry)).all()]
        assert "payment_recorded" in kinds
    assert _refresh(engine, bid, TUE) == []


def test_partial_payment_goes_to_oldest_and_keeps_chasing(engine: Engine) -> None:
    """A partial amount pays the oldest invoice first; the rest is still chased."""
    bid, _, (newer, older) = _setup(engine, date(2026, 11, 10), date(2026, 10, 1))
    with write_session(engine) as s:
        record_payment(
            s, business_id=bid, invoice_ids=[newer, older], amount=Decimal("1500.00"), paid_on=TUE, actor="owner:111"
        )
    with read_session(engine) as s:
        o, n = s.get(Invoice, older), s.get(Invoice, newer)
        assert o is not None and n is not None
        assert o.state == InvoiceState.PAID and n.balance == Decimal("900.00")
        assert sum(p.amount for p in s.exec(select(Payment)).all()) == Decimal("1500.00")
    assert len(_refresh(engine, bid, TUE)) == 1
    with pytest.raises(ActionError), write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[newer], amount=Decimal("5000"), paid_on=TUE, actor="x")


def test_partial_payment_makes_the_cards_buttons_stale(engine: Engine) -> None:
    """A partial payment moves the waiting reminder's version on (its card showed the old balance): the same
    payment submitted again with the card's version is refused as stale; a full payment withdraws the reminder."""
    bid, _, (inv,) = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, TUE)
    with read_session(engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        shown = reminder.version
    with write_session(engine) as s:
        record_payment(s, business_id=bid, invoice_ids=[inv], amount=Decimal("100.00"), paid_on=TUE, actor="x")
    with read_session(engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None and reminder.version == shown + 1
        assert reminder.state == ReminderState.PENDING
    with pytest.raises(StaleReminderError), write_session(engine) as s:
        lock_awaiting(s, rid, bid, shown)


def test_dispute_and_promise_take_invoices_off_the_ladder(engine: Engine) -> None:
    """A disputed invoice gets no reminder; a promise pauses until its date and then is flagged as broken."""
    bid, _, (a,) = _setup(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        open_dispute(s, business_id=bid, invoice_ids=[a], reason="Livraison incomplète", actor="owner:111")
    assert _refresh(engine, bid, TUE) == []

    bid2, _, (b,) = _setup(engine, date(2026, 11, 10))
    with write_session(engine) as s:
        record_promise(s, business_id=bid2, invoice_ids=[b], until=date(2026, 11, 27), today=TUE, actor="owner:111")
    assert _refresh(engine, bid2, date(2026, 11, 27)) == []
    # 28-29 are a week-end: the follow-up comes on Monday 30.
    assert _refresh(engine, bid2, date(2026, 11, 30)) != []
    with read_session(engine) as s:
        (view,) = pending_views(s, bid2, date(2026, 11, 30))
        assert view.promise_broken


def test_after_a_send_the_next_step_waits_for_its_date(engine: Engine) -> None:
    """Once reminder_1 is sent, reminder_2 comes at J+15 and at least 7 days later, not before."""
    bid, _, _ = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, date(2026, 11, 17))
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        r.state = ReminderState.SENT
        r.sent_at = datetime(2026, 11, 17, 8, 0, tzinfo=UTC)
        s.add(r)
    assert _refresh(engine, bid, date(2026, 11, 23)) == []
    (r2,) = _refresh(engine, bid, date(2026, 11, 25))
    with read_session(engine) as s:
        (view,) = pending_views(s, bid, date(2026, 11, 25))
        assert view.reminder_id == r2 and view.step == "reminder_2"


def test_business_follows_the_settings(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """The single business takes its identity, window, weekdays and deadline from the settings, and follows changes
    when they are applied (`relance run`, `relance config apply`)."""
    from bot.business import apply_settings
    from bot.settings import load_settings

    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("COMPANY_NAME", "Atelier Martin")
    monkeypatch.setenv("SEND_WINDOW", "09:00-17:30")
    monkeypatch.setenv("PREFERRED_WEEKDAYS", "mardi,mercredi")
    monkeypatch.setenv("FORMAL_NOTICE_DAYS", "15")
    with write_session(engine) as s:
        b = apply_settings(s, load_settings(), actor="test")[0]
        assert (b.name, b.send_window_start, b.send_window_end) == ("Atelier Martin", "09:00", "17:30")
        assert (b.preferred_weekdays, b.formal_notice_days) == ("1,2", 15)
    monkeypatch.setenv("FORMAL_NOTICE_DAYS", "8")
    with write_session(engine) as s:
        again = apply_settings(s, load_settings(), actor="test")[0]
        assert again.id == b.id and again.formal_notice_days == 8


def test_undo_edit_restores_the_template_text(engine: Engine) -> None:
    """Undoing an edit clears the owner's subject and body, bumps the version and logs draft_edit_undone."""
    from storage.reminders import undo_edit

    bid, _, _ = _setup(engine, date(2026, 11, 10))
    (rid,) = _refresh(engine, bid, TUE)
    with write_session(engine) as s:
        edited = edit_draft(s, reminder_id=rid, business_id=bid, subject="Objet", body="Texte", actor="owner:111")
        version = edited.version
    with write_session(engine) as s:
        undo_edit(s, reminder_id=rid, business_id=bid, actor="owner:111", expected_version=version)
    with pytest.raises(StaleReminderError), write_session(engine) as s:
        undo_edit(s, reminder_id=rid, business_id=bid, actor="owner:111", expected_version=version)
    with read_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None and r.edited_subject is None and r.edited_body is None and r.version == version + 1
        assert [e.kind for e in s.exec(select(EvidenceEntry)).all()][-1] == "draft_edit_undone"
