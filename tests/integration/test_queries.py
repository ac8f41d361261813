"""The status figures (storage.queries) on SQLite and PostgreSQL: totals, aging, debtors, week ahead, recovered."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from storage.db import read_session, write_session
from storage.demo import ensure_demo
from storage.models import Business, Payment
from storage.queries import bucket_of, status_summary
from storage.reminders import refresh_due
from tests.factories import make_business, make_client, make_invoice

TODAY = date(2026, 11, 24)  # a Tuesday


def _summary(engine: Engine, business_id: int, today: date = TODAY):  # type: ignore[no-untyped-def]
    with read_session(engine) as session:
        return status_summary(session, business_id=business_id, today=today)


def test_bucket_boundaries() -> None:
    """Days overdue 1-30, 31-60, 61-90 and 91+ fall in the four documented buckets."""
    assert [bucket_of(d) for d in (1, 30, 31, 60, 61, 90, 91, 400)] == [
        "0-30",
        "0-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        ">90",
        ">90",
    ]


def test_totals_and_aging(engine: Engine) -> None:
    """Open and overdue totals count balances of open, promised and disputed invoices; aging uses days overdue."""
    with write_session(engine) as s:
        biz = make_business(s)
        c = make_client(s, biz)
        make_invoice(s, c, due=TODAY, amount="100.00")  # due today: open, not overdue
        make_invoice(s, c, due=TODAY + timedelta(days=10), amount="200.00")
        make_invoice(s, c, due=TODAY - timedelta(days=30), amount="300.00", amount_paid=Decimal("50.00"))
        make_invoice(s, c, due=TODAY - timedelta(days=31), amount="400.00", state="promised")
        make_invoice(s, c, due=TODAY - timedelta(days=90), amount="500.00", state="disputed")
        make_invoice(s, c, due=TODAY - timedelta(days=91), amount="600.00")
        make_invoice(s, c, due=TODAY - timedelta(days=5), amount="700.00", state="paid", amount_paid=Decimal("700"))
        make_invoice(s, c, due=TODAY - timedelta(days=5), amount="800.00", state="written_off")
        bid = biz.id
    assert bid is not None
    summary = _summary(engine, bid)
    assert summary.open_total == Decimal("2050.00")
    assert summary.overdue_total == Decimal("1750.00")
    assert (summary.open_count, summary.overdue_count, summary.promised_count, summary.disputed_count) == (6, 4, 1, 1)
    assert {b.label: (b.count, b.amount) for b in summary.aging} == {
        "0-30": (1, Decimal("250.00")),
        "31-60": (1, Decimal("400.00")),
        "61-90": (1, Decimal("500.00")),
        ">90": (1, Decimal("600.00")),
    }
    data = summary.to_json()
    assert data["open_total"] == "2050.00" and data["overdue_total"] == "1750.00"
    assert data["aging"]["0-30"] == {"count": 1, "amount": "250.00"}


def test_top_debtors(engine: Engine) -> None:
    """The five clients owing most past due come first, with their oldest delay; not-yet-due money is ignored."""
    with write_session(engine) as s:
        biz = make_business(s)
        for n in range(7):
            c = make_client(s, biz, name=f"Client {n}")
            make_invoice(s, c, due=TODAY - timedelta(days=10 + n), amount=f"{(n + 1) * 100}.00")
            make_invoice(s, c, due=TODAY + timedelta(days=5), amount="99999.00")
        bid = biz.id
    assert bid is not None
    top = _summary(engine, bid).top_debtors
    assert [(d.name, d.overdue_amount, d.oldest_days_overdue) for d in top] == [
        ("Client 6", Decimal("700.00"), 16),
        ("Client 5", Decimal("600.00"), 15),
        ("Client 4", Decimal("500.00"), 14),
        ("Client 3", Decimal("400.00"), 13),
        ("Client 2", Decimal("300.00"), 12),
    ]


def test_upcoming_lists_steps_first_due_in_the_week(engine: Engine) -> None:
    """A reminder_1 falling in 3 days is listed on that day; a step already due today is not (it is in the digest)."""
    with write_session(engine) as s:
        biz = make_business(s)
        soon = make_client(s, biz, name="Bientôt SARL")
        make_invoice(s, soon, due=TODAY - timedelta(days=4), number="F-SOON")  # J+7 = Friday 27
        now = make_client(s, biz, name="Maintenant SAS")
        make_invoice(s, now, due=TODAY - timedelta(days=10), number="F-NOW")  # reminder_1 due today
        later = make_client(s, biz, name="Plus tard SA")
        make_invoice(s, later, due=TODAY + timedelta(days=30), number="F-LATER")
        bid = biz.id
    assert bid is not None
    upcoming = _summary(engine, bid).upcoming
    assert [(u.day, u.client_name, u.step, u.invoices) for u in upcoming] == [
        (date(2026, 11, 27), "Bientôt SARL", "reminder_1", ("F-SOON",))
    ]


def test_recovered_this_month(engine: Engine) -> None:
    """Payments dated from the 1st of the month to today are summed; earlier and later ones are not."""
    with write_session(engine) as s:
        biz = make_business(s)
        c = make_client(s, biz)
        inv = make_invoice(s, c, due=TODAY - timedelta(days=40), amount="1000.00")
        assert inv.id is not None
        for amount, day in (("100.10", date(2026, 11, 1)), ("200.20", TODAY), ("400", date(2026, 10, 31))):
            s.add(Payment(invoice_id=inv.id, amount=Decimal(amount), paid_on=day))
        s.add(Payment(invoice_id=inv.id, amount=Decimal("5"), paid_on=TODAY + timedelta(days=1)))
        bid = biz.id
    assert bid is not None
    summary = _summary(engine, bid)
    assert summary.recovered_this_month == Decimal("300.30")
    assert summary.to_json()["recovered_this_month"] == "300.30"


def test_next_actions_list_pending_reminders_and_disputes(engine: Engine) -> None:
    """Pending reminders (with their total), lapsed promises and disputes are the owner's next actions."""
    with write_session(engine) as s:
        biz = make_business(s)
        c = make_client(s, biz, name="Retard SARL")
        make_invoice(s, c, due=TODAY - timedelta(days=10), amount="120.00")
        d = make_client(s, biz, name="Litige SAS")
        make_invoice(s, d, due=TODAY - timedelta(days=10), amount="80.00", state="disputed", number="F-LIT")
        refresh_due(s, business=biz, today=TODAY)
        # Added after the refresh: the digest would turn a lapsed promise into a reminder.
        p = make_client(s, biz, name="Promesse SA")
        make_invoice(
            s, p, due=TODAY - timedelta(days=20), amount="50", state="promised", promised_until=TODAY - timedelta(1)
        )
        bid = biz.id
    assert bid is not None
    actions = [(a.kind, a.client_name, a.amount) for a in _summary(engine, bid).next_actions]
    assert ("pending_reminder", "Retard SARL", Decimal("120.00")) in actions
    assert ("disputed", "Litige SAS", Decimal("80.00")) in actions
    assert ("promise_due", "Promesse SA", Decimal("50.00")) in actions
    assert actions[0][0] == "pending_reminder"


def test_demo_shows_every_step_and_is_created_once(engine: Engine) -> None:
    """The demo data gives a digest with all four default steps and every aging bucket; a second call adds nothing."""
    with write_session(engine) as s:
        biz = make_business(s)
    assert ensure_demo(engine, biz, TODAY) is True
    assert ensure_demo(engine, biz, TODAY) is False
    with write_session(engine) as s:
        business = s.get(Business, biz.id)
        assert business is not None
        views = refresh_due(s, business=business, today=TODAY)
    assert {v.step for v in views} == {"pre_reminder", "reminder_1", "reminder_2", "formal_notice"}
    assert biz.id is not None
    summary = _summary(engine, biz.id)
    assert all(b.count > 0 for b in summary.aging)
    assert summary.upcoming and summary.recovered_this_month > 0
