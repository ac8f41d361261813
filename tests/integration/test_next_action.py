"""invoice.next_action_on kept right by every writer, and the indexed morning scan (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from dunning.invoice_states import Instalment
from dunning.ladder import DEFAULT_LADDER
from dunning.policy import DueReminder, InvoiceSnapshot, next_action_date
from dunning.states import ReminderState
from storage.businesses import update_business
from storage.db import read_session, write_session
from storage.importer import ImportedClient, write_import
from storage.models import Client, Invoice, PaymentPlan, PlanInstalment, Reminder
from storage.plans import activate_for_reminder, create_plan, end_plan, set_plan_reminder
from storage.reminders import (
    close_dispute,
    due_today,
    mark_reminder_sent_manually,
    open_dispute,
    record_payment,
    record_promise,
    snooze,
)
from storage.schedule import mismatches
from storage.task_actions import daily_check
from tests.factories import make_business, make_client, make_invoice, make_reminder

TODAY = date(2026, 11, 24)  # a Tuesday
ACTOR = "owner:111"


def stored(engine: Engine, invoice_id: int) -> date | None:
    """The invoice's stored next action date."""
    with read_session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        return inv.next_action_on


def assert_consistent(engine: Engine, business_id: int, *, some: bool = True) -> None:
    """Every stored date of the business is the policy's recomputation (and, with `some`, there was one to check)."""
    with read_session(engine) as s:
        checked, wrong = mismatches(s, business_id)
    assert checked > 0 or not some
    assert wrong == []


@dataclass
class Book:
    business_id: int
    client_id: int
    invoice_id: int  # F-1: 1 000,00 due 2 November (reminder_1 due), untouched by the others
    other_id: int  # F-2: 500,00 due 10 December (pre-reminder ahead)


def _book(engine: Engine) -> Book:
    with write_session(engine) as s:
        biz = make_business(s)
        client = make_client(s, biz)
        inv = make_invoice(s, client, due=date(2026, 11, 2), amount="1000.00", number="F-1")
        other = make_invoice(s, client, due=date(2026, 12, 10), amount="500.00", number="F-2")
        assert biz.id and client.id and inv.id and other.id
        return Book(biz.id, client.id, inv.id, other.id)


def test_created_invoice_gets_the_policys_date(engine: Engine) -> None:
    """An invoice created through the ORM is dated in its own transaction, as the policy says."""
    book = _book(engine)
    expected = next_action_date(InvoiceSnapshot(0, 0, date(2026, 11, 2), Decimal("1000.00")), DEFAULT_LADDER)
    assert expected is not None and stored(engine, book.invoice_id) == expected
    assert stored(engine, book.other_id) is not None
    assert_consistent(engine, book.business_id)


def test_payments_partial_and_full(engine: Engine) -> None:
    """A partial payment keeps the invoice dated; a full one clears the date (nothing more will happen)."""
    book = _book(engine)
    with write_session(engine) as s:
        record_payment(
            s, business_id=book.business_id, invoice_ids=[book.invoice_id], amount=Decimal("100.00"),
            paid_on=TODAY, actor=ACTOR,
        )  # fmt: skip
    assert stored(engine, book.invoice_id) is not None
    assert_consistent(engine, book.business_id)
    with write_session(engine) as s:
        record_payment(
            s, business_id=book.business_id, invoice_ids=[book.invoice_id], amount=None, paid_on=TODAY, actor=ACTOR
        )
        s.flush()
        loaded = s.get(Invoice, book.invoice_id)
        assert loaded is not None and loaded.next_action_on is None  # the session's own object sees it at once
        assert not s.dirty  # without being marked changed
    assert stored(engine, book.invoice_id) is None
    assert_consistent(engine, book.business_id)


def test_dispute_opened_and_closed(engine: Engine) -> None:
    """A disputed invoice has no date; closing the dispute dates it again."""
    book = _book(engine)
    before = stored(engine, book.invoice_id)
    with write_session(engine) as s:
        open_dispute(s, business_id=book.business_id, invoice_ids=[book.invoice_id], reason="Livraison", actor=ACTOR)
    assert stored(engine, book.invoice_id) is None
    with write_session(engine) as s:
        close_dispute(s, business_id=book.business_id, invoice_id=book.invoice_id, actor=ACTOR)
    assert stored(engine, book.invoice_id) == before
    assert_consistent(engine, book.business_id)


def test_promise_recorded_then_broken_by_the_daily_check(engine: Engine) -> None:
    """A promise dates the invoice the day after its date; the daily check breaking it dates the ladder's step."""
    book = _book(engine)
    until = date(2026, 12, 4)
    with write_session(engine) as s:
        record_promise(
            s, business_id=book.business_id, invoice_ids=[book.invoice_id], until=until, today=TODAY, actor=ACTOR
        )
    assert stored(engine, book.invoice_id) == until + timedelta(days=1)
    with write_session(engine) as s:
        assert daily_check(s, business_id=book.business_id, today=date(2026, 12, 7)) == 1
    back = stored(engine, book.invoice_id)
    assert back is not None and back != until + timedelta(days=1)
    assert_consistent(engine, book.business_id)


def test_reminder_sent_moves_the_date_and_snooze_keeps_it(engine: Engine) -> None:
    """A snoozed reminder leaves the dates alone; a ladder reminder sent moves its invoices to the next step."""
    book = _book(engine)
    before = stored(engine, book.invoice_id)
    with write_session(engine) as s:
        client = s.get(Client, book.client_id)
        inv = s.get(Invoice, book.invoice_id)
        assert client is not None and inv is not None
        rid = make_reminder(s, client, [inv], planned_date=TODAY).id
    assert rid is not None
    with write_session(engine) as s:
        snooze(s, reminder_id=rid, business_id=book.business_id, until=TODAY + timedelta(days=3), today=TODAY,
               actor=ACTOR)  # fmt: skip
    assert stored(engine, book.invoice_id) == before
    with write_session(engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        reminder.state = ReminderState.PENDING.value  # its snooze ended
        s.add(reminder)
    with write_session(engine) as s:
        mark_reminder_sent_manually(s, reminder_id=rid, business_id=book.business_id, actor=ACTOR, how="téléphone")
    after = stored(engine, book.invoice_id)
    assert after is not None and before is not None and after > before
    assert_consistent(engine, book.business_id)


def test_payment_plan_started_and_ended(engine: Engine) -> None:
    """A plan dates its invoice the day after its first instalment; ending the plan dates the ladder's step again."""
    book = _book(engine)
    ladder_date = stored(engine, book.invoice_id)
    schedule = [Instalment(date(2026, 12, 15), Decimal("500.00")), Instalment(date(2027, 1, 15), Decimal("500.00"))]
    with write_session(engine) as s:
        plan_id = create_plan(
            s, business_id=book.business_id, client_id=book.client_id, invoice_ids=[book.invoice_id],
            schedule=schedule, today=TODAY, actor=ACTOR,
        )  # fmt: skip
        client = s.get(Client, book.client_id)
        assert client is not None
        email = make_reminder(s, client, [], step="plan_schedule", kind="plan_schedule", planned_date=TODAY)
        assert email.id is not None
        set_plan_reminder(s, business_id=book.business_id, plan_id=plan_id, reminder_id=email.id)
        assert activate_for_reminder(s, business_id=book.business_id, reminder_id=email.id, today=TODAY, actor=ACTOR)
    assert stored(engine, book.invoice_id) == date(2026, 12, 16)
    assert_consistent(engine, book.business_id)
    with write_session(engine) as s:
        record_payment(s, business_id=book.business_id, invoice_ids=[book.invoice_id], amount=Decimal("500.00"),
                       paid_on=TODAY, actor=ACTOR)  # fmt: skip
    assert stored(engine, book.invoice_id) == date(2027, 1, 16)
    with write_session(engine) as s:
        end_plan(s, business_id=book.business_id, invoice_id=book.invoice_id, today=TODAY, actor=ACTOR)
    assert stored(engine, book.invoice_id) == ladder_date
    assert_consistent(engine, book.business_id)


def test_profile_and_ladder_changes_redate_the_invoices(engine: Engine) -> None:
    """A business's new ladder and a client's new profile recompute the dates of the invoices they govern."""
    book = _book(engine)
    toml = '[[steps]]\nname = "only"\noffset_days = 60\ntone = "firm"\n'
    with write_session(engine) as s:
        update_business(s, business_id=book.business_id, ladder_toml=toml)
    assert stored(engine, book.invoice_id) == date(2027, 1, 4)  # 2 Nov + 60 is New Year's Day: the Monday after
    with write_session(engine) as s:
        client = s.get(Client, book.client_id)
        assert client is not None
        client.profile = "loyal"  # later steps come 5 days later
        s.add(client)
    assert stored(engine, book.invoice_id) == date(2027, 1, 6)
    assert_consistent(engine, book.business_id)


@dataclass
class Row:
    number: str
    client_key: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str = "EUR"
    paid_amount: Decimal | None = None
    pdf_path: str | None = None
    pdf_sha256: str | None = None


def test_csv_import_dates_new_and_changed_invoices(engine: Engine) -> None:
    """The CSV import's bulk writes date new invoices, re-date changed ones and those of clients whose profile
    changed, and clear the date of an invoice imported as paid."""
    with write_session(engine) as s:
        biz = make_business(s)
        business_id = biz.id
    assert business_id is not None
    source = {"file": "factures.csv", "sha256": "0" * 64}
    clients = [ImportedClient(key="dupont", name="Dupont SA"), ImportedClient(key="martin", name="Martin SARL")]
    rows = [
        Row("I-1", "dupont", date(2026, 10, 1), date(2026, 11, 2), Decimal("100.00")),
        Row("I-2", "martin", date(2026, 11, 1), date(2026, 12, 10), Decimal("200.00")),
        Row("I-3", "martin", date(2026, 10, 1), date(2026, 11, 5), Decimal("300.00")),
    ]
    write_import(engine, business_id=business_id, clients=clients, invoices=rows, source=source, actor=ACTOR)
    assert_consistent(engine, business_id)
    with read_session(engine) as s:
        dates = {i.number: i.next_action_on for i in s.exec(select(Invoice).where(Invoice.business_id == business_id))}
    assert all(dates.values())
    rows[0].due_date = date(2026, 11, 20)
    rows[2].paid_amount = Decimal("300.00")
    clients[1].profile = "late_payer"
    write_import(engine, business_id=business_id, clients=clients, invoices=rows, source=source, actor=ACTOR,
                 today=TODAY)  # fmt: skip
    assert_consistent(engine, business_id)
    with read_session(engine) as s:
        again = {i.number: i.next_action_on for i in s.exec(select(Invoice).where(Invoice.business_id == business_id))}
    assert again["I-1"] != dates["I-1"]
    assert again["I-3"] is None


def test_indexed_scan_reads_only_the_dated_invoices(engine: Engine) -> None:
    """The morning scan does not see an invoice whose stored date is still ahead (it reads the index, not the book),
    while the full scan does: the stored date is what decides the read."""
    book = _book(engine)
    with write_session(engine) as s:
        s.get(Invoice, book.invoice_id)
        s.connection().exec_driver_sql(f"UPDATE invoice SET next_action_on = '2027-06-01' WHERE id = {book.invoice_id}")
    with read_session(engine) as s:
        indexed = due_today(s, book.business_id, TODAY)
        full = due_today(s, book.business_id, TODAY, full_scan=True)
    assert [d.invoice.invoice_id for r in full for d in r.invoices] == [book.invoice_id]
    assert indexed == []


# --- property: the indexed scan and the full scan agree on random books --------------------------------------

offsets = st.integers(min_value=-90, max_value=60)


@st.composite
def book_specs(draw: st.DrawFn) -> list[dict[str, object]]:
    """Up to 12 invoices over 4 clients: states, balances, steps sent, promises, plans, snoozed reminders."""
    specs = []
    for n in range(draw(st.integers(min_value=1, max_value=12))):
        kind = draw(st.sampled_from(["open", "open", "partial", "promised", "plan", "paid", "disputed"]))
        specs.append(
            {
                "n": n,
                "client": draw(st.integers(min_value=0, max_value=3)),
                "due": TODAY + timedelta(days=draw(offsets)),
                "kind": kind,
                "sent": draw(st.none() | st.sampled_from(["pre_reminder", "reminder_1", "reminder_2"])),
                "sent_ago": draw(st.integers(min_value=0, max_value=40)),
                "promised": TODAY + timedelta(days=draw(st.integers(min_value=-10, max_value=20))),
                "snoozed": draw(st.booleans()),
                "profile": draw(st.sampled_from(["standard", "loyal", "late_payer"])),
            }
        )
    return specs


def _build(session: Session, specs: list[dict[str, object]]) -> int:
    biz = make_business(session)
    clients = [make_client(session, biz, profile=p) for p in ("standard", "loyal", "late_payer", "in_difficulty")]
    for spec in specs:
        client = clients[int(spec["client"])]  # type: ignore[call-overload]
        due = spec["due"]
        assert isinstance(due, date)
        kind = spec["kind"]
        fields: dict[str, object] = {}
        if kind == "partial":
            fields = {"amount_paid": Decimal("100.00"), "state": "partially_paid"}
        elif kind == "promised":
            fields = {"state": "promised", "promised_until": spec["promised"]}
        elif kind == "paid":
            fields = {"amount_paid": Decimal("1200.00"), "state": "paid"}
        elif kind == "disputed":
            fields = {"state": "disputed", "dispute_reason": "Quantité"}
        inv = make_invoice(session, client, due=due, **fields)
        if kind == "plan":
            plan = PaymentPlan(business_id=biz.id, client_id=client.id, state="active", started_on=TODAY)
            session.add(plan)
            session.flush()
            inv.state, inv.plan_id = "payment_plan", plan.id
            session.add(inv)
            session.add(PlanInstalment(plan_id=plan.id, invoice_id=inv.id, seq=1, due_date=due, amount=inv.amount))
        if spec["sent"] is not None:
            sent_at = datetime.combine(TODAY - timedelta(days=int(spec["sent_ago"])), datetime.min.time(), UTC)  # type: ignore[call-overload]
            make_reminder(session, client, [inv], step=spec["sent"], state="sent", sent_at=sent_at,
                          planned_date=TODAY - timedelta(days=int(spec["sent_ago"]) + 100 * int(spec["n"])))  # type: ignore[call-overload]  # fmt: skip
        if spec["snoozed"]:
            make_reminder(session, client, [inv], step="reminder_9", state="snoozed", snoozed_until=TODAY,
                          planned_date=TODAY - timedelta(days=1 + int(spec["n"])))  # type: ignore[call-overload]  # fmt: skip
    session.flush()
    assert biz.id is not None
    return biz.id


def _same_order(due: list[DueReminder]) -> list[DueReminder]:
    """The reminders with their invoices by id (each scan reads the rows in its own order; the cards sort them)."""
    return [replace(r, invoices=tuple(sorted(r.invoices, key=lambda d: d.invoice.invoice_id))) for r in due]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=book_specs(), days_ahead=st.lists(st.integers(min_value=-5, max_value=60), min_size=3, max_size=3))
def test_indexed_scan_equals_full_scan_on_random_books(
    engine: Engine, specs: list[dict[str, object]], days_ahead: list[int]
) -> None:
    """On random stored books (states, steps sent, promises, plans, snoozed reminders) and random days, the scan of
    the invoices whose stored date has come gives exactly the reminders of the scan of every invoice."""
    if engine.dialect.name == "postgresql" and len(specs) > 6:
        specs = specs[:6]  # each example is a new business: keep PostgreSQL's share short
    with write_session(engine) as s:
        business_id = _build(s, specs)
    with read_session(engine) as s:
        for ahead in days_ahead:
            day = TODAY + timedelta(days=ahead)
            assert _same_order(due_today(s, business_id, day)) == _same_order(
                due_today(s, business_id, day, full_scan=True)
            )
    assert_consistent(engine, business_id, some=False)  # a book may hold only paid invoices


def test_relance_verify_reports_and_fixes_a_wrong_schedule(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`relance verify` recomputes the dates: all right, it says so; one changed behind its back (a restore from an
    older copy, a hand edit), it exits 1 naming the invoice; --fix-schedule writes the policy's date back."""
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    with write_session(engine) as s:
        biz = make_business(s, slug="default")
        client = make_client(s, biz)
        inv = make_invoice(s, client, due=date(2026, 11, 2), number="F-9")
        invoice_id = inv.id
    right = stored(engine, invoice_id)  # type: ignore[arg-type]
    runner = CliRunner()
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "schedule OK: 1 invoices" in result.output
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE invoice SET next_action_on = NULL WHERE id = {invoice_id}")
    result = runner.invoke(app, ["verify", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["schedule"]["wrong"] == [
        {"number": "F-9", "stored": None, "expected": right.isoformat() if right else None}
    ]
    result = runner.invoke(app, ["verify", "--fix-schedule"])
    assert result.exit_code == 0 and "schedule FIXED: 1 of 1" in result.output
    assert stored(engine, invoice_id) == right  # type: ignore[arg-type]
