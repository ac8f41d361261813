"""The owner's tasks, chat-free: each kind is raised once by the transition (or import) that calls for it, shown,
answered once under a version check (a second tap is stale), with its evidence entry; assigning an over-payment or
a credit note moves the money through the state machine; the daily check is idempotent; /status writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from dunning.invoice_states import Instalment, PaymentReceived, Promise, StartPlan
from dunning.penalties import builtin_rate_table
from services import tasks
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import OutboxDelivery
from storage.db import read_session, write_session
from storage.invoice_status import apply_to_invoice
from storage.models import EvidenceEntry, Invoice, OwnerTask, Payment, PaymentPlan, PlanInstalment, Reminder
from storage.owner_tasks import raise_credit_note_task
from storage.reminders import ReminderView, record_payment
from tests.factories import make_business, make_client, make_invoice
from tests.integration.delivery_helpers import make_draft

TODAY = date(2026, 11, 24)  # a Tuesday
DUE = date(2026, 10, 15)


class _Drafter:
    """Every draft renders (the drafts' own rendering is tested with their feature)."""

    def draft(self, session: Session, view: ReminderView, *, today: date) -> Any:
        return make_draft()


@dataclass
class World:
    engine: Engine
    ctx: BusinessContext
    client_id: int
    first: int  # F-1, 1 200,00 €
    second: int  # F-2, 500,00 €, same client
    other: int  # F-3 of another client


@pytest.fixture
def world(engine: Engine) -> World:
    """Two open invoices of one client and one of another, overdue since 15/10/2026; today is 24/11/2026."""
    with write_session(engine) as s:
        biz = make_business(s)
        client = make_client(s, biz, name="Boulangerie Martin SARL")
        first = make_invoice(s, client, due=DUE, amount="1200.00", number="F-1")
        second = make_invoice(s, client, due=DUE, amount="500.00", number="F-2")
        other = make_invoice(s, make_client(s, biz, name="Garage Ouest"), due=DUE, amount="80.00", number="F-3")
        ids = (biz.id, client.id, first.id, second.id, other.id)
    biz_id, client_id, first_id, second_id, other_id = ids
    assert biz_id and client_id and first_id and second_id and other_id
    ctx = BusinessContext(engine=engine, business_id=biz_id, owner_ids=frozenset({111}),
                          clock=Clock(ZoneInfo("Europe/Paris"), TODAY), rate_table=builtin_rate_table(),
                          drafter=_Drafter(), delivery=OutboxDelivery(None))  # fmt: skip
    return World(engine, ctx, client_id, first_id, second_id, other_id)


def _invoice(w: World, invoice_id: int) -> Invoice:
    with read_session(w.engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        return inv


def _kinds(w: World) -> list[str]:
    with read_session(w.engine) as s:
        return list(s.exec(select(EvidenceEntry.kind).order_by(col(EvidenceEntry.seq))).all())


def _tasks(w: World) -> list[OwnerTask]:
    with read_session(w.engine) as s:
        return list(s.exec(select(OwnerTask).order_by(col(OwnerTask.id))).all())


def _pay(w: World, invoice_id: int, amount: str | None, on: date) -> None:
    with write_session(w.engine) as s:
        record_payment(s, business_id=w.ctx.business_id, invoice_ids=[invoice_id],
                       amount=None if amount is None else Decimal(amount), paid_on=on, actor="owner:1")  # fmt: skip


def _overpay(w: World, invoice_id: int, amount: str, on: date = date(2026, 10, 10)) -> None:
    """Money received on an invoice beyond its balance (as a bank statement records it), before it was due."""
    with write_session(w.engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        apply_to_invoice(s, inv, PaymentReceived(Decimal(amount), on), actor="system")


def test_a_late_payment_raises_one_task_answered_once(world: World) -> None:
    """F-1 paid in full after its due date: one late_payment task (not raised again by a second look); Ne pas
    réclamer closes it with its evidence entry; the same tap again is stale and writes nothing."""
    _pay(world, world.first, None, date(2026, 11, 20))
    cards, total = tasks.open_tasks(world.ctx)
    assert total == 1 and cards[0].view.kind == "late_payment" and cards[0].view.number == "F-1"
    assert cards[0].view.payload["days_late"] == 36
    view = cards[0].view
    done = tasks.act(world.ctx, view.task_id, view.version, "skip", actor="owner:1")
    assert done.ok and done.card is not None and done.card.view.state == "dismissed"
    assert done.card.view.outcome == "skipped"
    entries = _kinds(world)
    again = tasks.act(world.ctx, view.task_id, view.version, "skip", actor="owner:1")
    assert again.status == "stale" and _kinds(world) == entries
    assert entries[-1] == "task_handled" and tasks.open_tasks(world.ctx) == ([], 0)


def test_an_action_a_task_does_not_take_is_refused(world: World) -> None:
    """A late-payment task does not take "refunded"; an unknown id is unknown: nothing changes."""
    _pay(world, world.first, None, date(2026, 11, 20))
    view = tasks.open_tasks(world.ctx)[0][0].view
    assert tasks.act(world.ctx, view.task_id, view.version, "refunded", actor="o").status == "unknown"
    assert tasks.act(world.ctx, 99_999, 0, "skip", actor="o").status == "unknown"
    assert _tasks(world)[0].state == "open"


def test_claim_penalties_proposes_the_claim_draft(world: World) -> None:
    """Réclamer les pénalités: the penalty-claim draft is proposed (its reminder id comes back to show its card),
    the task is done with the reminder id in its evidence entry."""
    _pay(world, world.first, None, date(2026, 11, 20))
    view = tasks.open_tasks(world.ctx)[0][0].view
    done = tasks.act(world.ctx, view.task_id, view.version, "claim", actor="owner:1")
    assert done.ok and done.reminder_id is not None, done.message
    with read_session(world.engine) as s:
        reminder = s.get(Reminder, done.reminder_id)
        assert reminder is not None and reminder.kind == "penalty_claim" and reminder.state == "pending"
        entry = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "task_handled")).one()
    assert '"outcome":"claimed"' in entry.payload and f'"reminder_id":{done.reminder_id}' in entry.payload


def test_an_overpayment_assigned_moves_the_money(world: World) -> None:
    """F-2 paid 700 € for 500 €: 200 € over-paid, one task; Affecter without an invoice lists F-1 (same client,
    not F-3); F-1 chosen: F-2 holds nothing over-paid, F-1 has 200 € paid through the machine (payment row,
    payment_recorded from F-2), overpayment_assigned logged; a second tap is stale."""
    _overpay(world, world.second, "700.00")
    assert _invoice(world, world.second).amount_overpaid == Decimal("200.00")
    cards, total = tasks.open_tasks(world.ctx)
    assert total == 1 and cards[0].view.kind == "overpayment" and cards[0].view.amount() == Decimal("200.00")
    assert [c.number for c in cards[0].candidates] == ["F-1"]
    view = cards[0].view
    choose = tasks.act(world.ctx, view.task_id, view.version, "assign", actor="owner:1")
    assert choose.status == "choose" and _tasks(world)[0].state == "open"
    foreign = tasks.act(world.ctx, view.task_id, view.version, "assign", actor="owner:1", arg=world.other)
    assert foreign.status == "invalid" and _invoice(world, world.other).amount_paid == 0
    done = tasks.act(world.ctx, view.task_id, view.version, "assign", actor="owner:1", arg=world.first)
    assert done.ok, done.message
    source, target = _invoice(world, world.second), _invoice(world, world.first)
    assert source.amount_overpaid == 0 and source.state == "paid" and source.amount_paid == Decimal("500.00")
    assert target.amount_paid == Decimal("200.00") and target.state == "partially_paid"
    with read_session(world.engine) as s:
        moved = s.exec(select(Payment).where(Payment.invoice_id == world.first)).one()
        assert moved.amount == Decimal("200.00") and moved.note == "trop-perçu F-2"
        assigned = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "overpayment_assigned")).one()
        assert assigned.invoice_id == world.second and '"to_invoice":"F-1"' in assigned.payload
        paid = s.exec(select(EvidenceEntry).where(EvidenceEntry.invoice_id == world.first)).all()
        assert [e.kind for e in paid] == ["payment_recorded"] and '"from_invoice":"F-2"' in paid[0].payload
    assert tasks.act(world.ctx, view.task_id, view.version, "assign", actor="o", arg=world.first).status == "stale"
    assert _invoice(world, world.first).amount_paid == Decimal("200.00")


def test_overpayment_refunded_or_kept(world: World) -> None:
    """Remboursé takes the excess off the invoice (overpayment_refunded); Garder en avoir leaves it
    (overpayment_kept); a second over-payment on the same invoice is a new task (a new running total)."""
    _overpay(world, world.second, "600.00")
    view = tasks.open_tasks(world.ctx)[0][0].view
    assert tasks.act(world.ctx, view.task_id, view.version, "refunded", actor="o").ok
    assert _invoice(world, world.second).amount_overpaid == 0
    _overpay(world, world.second, "30.00")  # paid twice: all of it is over-paid
    view = tasks.open_tasks(world.ctx)[0][0].view
    assert view.amount() == Decimal("30.00")
    assert tasks.act(world.ctx, view.task_id, view.version, "keep", actor="o").ok
    assert _invoice(world, world.second).amount_overpaid == Decimal("30.00")
    kinds = _kinds(world)
    assert kinds.count("overpayment_refunded") == 1 and kinds.count("overpayment_kept") == 1


def test_the_daily_check_breaks_a_promise_once(world: World) -> None:
    """A promise until Friday 20/11: nothing on that day; on Monday 23/11 (the ladder's follow-up day) the invoice is
    open again with promise_broken logged and one task; the check run again changes nothing; OK closes it."""
    with write_session(world.engine) as s:
        inv = s.get(Invoice, world.first)
        assert inv is not None
        apply_to_invoice(s, inv, Promise(date(2026, 11, 20), date(2026, 11, 10)), actor="owner:1")
    assert tasks.daily_check(world.ctx, date(2026, 11, 20)) == 0
    assert tasks.daily_check(world.ctx, date(2026, 11, 21)) == 0  # a Saturday: the ladder waits for Monday
    assert tasks.daily_check(world.ctx, date(2026, 11, 23)) == 1
    inv = _invoice(world, world.first)
    assert inv.state == "open" and inv.broken_promise == date(2026, 11, 20)
    entries = _kinds(world)
    assert tasks.daily_check(world.ctx, date(2026, 11, 23)) == 0 and tasks.daily_check(world.ctx, TODAY) == 0
    assert _kinds(world) == entries and entries.count("promise_broken") == 1
    (only,) = tasks.open_tasks(world.ctx)[0]
    assert only.view.kind == "promise_broken" and only.view.payload["until"] == "2026-11-20"
    assert tasks.act(world.ctx, only.view.task_id, only.view.version, "ok", actor="o").ok
    assert _tasks(world)[0].outcome == "noted"


def _plan(w: World) -> None:
    """F-1 in an active plan: 600 € on 01/11 and 600 € on 01/12 (agreed 20/10)."""
    schedule = (Instalment(date(2026, 11, 1), Decimal("600.00")), Instalment(date(2026, 12, 1), Decimal("600.00")))
    with write_session(w.engine) as s:
        plan = PaymentPlan(business_id=w.ctx.business_id, client_id=w.client_id, state="active",
                           started_on=date(2026, 10, 20))  # fmt: skip
        s.add(plan)
        s.flush()
        inv = s.get(Invoice, w.first)
        assert inv is not None and plan.id is not None
        for seq, inst in enumerate(schedule, 1):
            s.add(PlanInstalment(plan_id=plan.id, invoice_id=w.first, seq=seq, due_date=inst.due, amount=inst.amount))
        apply_to_invoice(s, inv, StartPlan(schedule, date(2026, 10, 20)), actor="owner:1")
        inv.plan_id = plan.id
        s.add(inv)


def test_the_daily_check_reports_a_missed_instalment_once(world: World) -> None:
    """The 01/11 instalment unpaid: one instalment_missed task (number 1), plan_missed stored; the check again
    raises nothing more; the invoice stays in its plan."""
    _plan(world)
    assert tasks.daily_check(world.ctx, TODAY) == 1
    assert tasks.daily_check(world.ctx, TODAY) == 0
    inv = _invoice(world, world.first)
    assert inv.state == "payment_plan" and inv.plan_missed == 1
    (only,) = tasks.open_tasks(world.ctx)[0]
    assert only.view.kind == "instalment_missed" and only.view.payload["number"] == 1
    assert [t.dedupe_key for t in _tasks(world)] == [f"instalment_missed:{world.first}:1"]


def test_end_the_plan_from_a_missed_instalment(world: World) -> None:
    """Terminer l'échéancier: the plan ends (the invoice is chased again) and the task is done."""
    _plan(world)
    tasks.daily_check(world.ctx, TODAY)
    view = tasks.open_tasks(world.ctx)[0][0].view
    done = tasks.act(world.ctx, view.task_id, view.version, "end", actor="owner:1")
    assert done.ok, done.message
    assert _invoice(world, world.first).state == "open" and _tasks(world)[0].outcome == "ended"


def _credit_task(w: World, amount: str = "150.00", *, client: bool = True) -> int:
    with write_session(w.engine) as s:
        task_id = raise_credit_note_task(
            s, business_id=w.ctx.business_id, client_id=w.client_id if client else None, number="AV-9",
            amount=Decimal(amount), currency="EUR", issued_on=date(2026, 11, 2), referenced="F-9999",
            buyer_name="Boulangerie Martin SARL", file="avoir.xml", sha256="0" * 64, actor="import",
        )  # fmt: skip
        assert task_id is not None
        again = raise_credit_note_task(
            s, business_id=w.ctx.business_id, client_id=w.client_id, number="AV-9", amount=Decimal(amount),
            currency="EUR", issued_on=date(2026, 11, 2), referenced="F-9999", buyer_name="x", file="avoir.xml",
            sha256="0" * 64, actor="import",
        )  # fmt: skip
        assert again is None
        return task_id


def test_a_credit_note_assigned_to_an_invoice(world: World) -> None:
    """An unknown credit note's task offers the client's open invoices; assigned to F-2 it lowers its balance by a
    CreditNote (credit_note_recorded, "avoir AV-9" payment row), once."""
    task_id = _credit_task(world)
    card = tasks.task(world.ctx, task_id)
    assert card is not None and [c.number for c in card.candidates] == ["F-1", "F-2"]
    done = tasks.act(world.ctx, task_id, 0, "assign", actor="owner:1", arg=world.second)
    assert done.ok, done.message
    inv = _invoice(world, world.second)
    assert inv.balance == Decimal("350.00") and inv.amount_credited == Decimal("150.00")
    with read_session(world.engine) as s:
        assert s.exec(select(Payment).where(Payment.note == "avoir AV-9")).one().invoice_id == world.second
    assert _kinds(world)[-2:] == ["credit_note_recorded", "task_handled"]
    assert tasks.act(world.ctx, task_id, 0, "assign", actor="o", arg=world.first).status == "stale"


def test_a_credit_note_too_big_is_refused_and_can_be_ignored(world: World) -> None:
    """A 900 € credit note on F-2 (500 € owed) is refused, nothing written; Ignorer dismisses it."""
    task_id = _credit_task(world, "900.00")
    before = _kinds(world)
    refused = tasks.act(world.ctx, task_id, 0, "assign", actor="o", arg=world.second)
    assert refused.status == "invalid" and _kinds(world) == before and _invoice(world, world.second).balance == 500
    assert tasks.act(world.ctx, task_id, 0, "ignore", actor="o").ok
    assert _tasks(world)[0].state == "dismissed"


def test_status_writes_nothing_and_the_digest_runs_the_check(world: World) -> None:
    """/status with a promise past its follow-up day writes nothing (no evidence, no task); the digest then runs
    the daily check: the promise is broken and its task is waiting."""
    with write_session(world.engine) as s:
        inv = s.get(Invoice, world.second)
        assert inv is not None
        apply_to_invoice(s, inv, Promise(date(2026, 11, 20), date(2026, 11, 10)), actor="owner:1")

    def counts() -> tuple[int, int]:
        with read_session(world.engine) as s:
            return (int(s.exec(select(func.count()).select_from(EvidenceEntry)).one()),
                    int(s.exec(select(func.count()).select_from(OwnerTask)).one()))  # fmt: skip

    services = Services(world.ctx)
    before = counts()
    services.status()
    tasks.open_tasks(world.ctx)
    assert counts() == before
    services.digest(claim=False)
    assert _invoice(world, world.second).state == "open"
    assert [t.kind for t in _tasks(world)] == ["promise_broken"]


def test_the_same_card_seen_twice_is_one_task(world: World) -> None:
    """raise_tasks given the same transition twice (a replay, a retried job) keeps one task per dedupe key."""
    from dunning.invoice_states import apply as machine_apply
    from storage.invoice_status import invoice_status
    from storage.owner_tasks import raise_tasks

    with write_session(world.engine) as s:
        inv = s.get(Invoice, world.second)
        assert inv is not None
        transition = machine_apply(invoice_status(s, inv), PaymentReceived(Decimal("650.00"), date(2026, 11, 2)))
        assert transition is not None and {c.kind.value for c in transition.cards} == {"overpayment", "late_payment"}
        first = raise_tasks(s, inv, transition, actor="system")
        again = raise_tasks(s, inv, transition, actor="system")
    assert len(first) == 2 and again == []
    assert sorted(t.dedupe_key for t in _tasks(world)) == [
        f"late_payment:{world.second}",
        f"overpayment:{world.second}:150.00",
    ]


def test_a_statement_line_paying_too_much_raises_the_overpayment_task(engine: Engine) -> None:
    """A doubtful 75,50 € bank credit confirmed on an invoice owing 70 €: the 5,50 € excess is kept on that invoice
    (amount_overpaid) through the state machine and one over-payment task asks the owner."""
    from services.statements_chat import confirm_line, doubtful_cards
    from storage.models import Business
    from tests.integration.test_statements_chat import DUE as STATEMENT_DUE
    from tests.integration.test_statements_chat import seed_doubtful

    bid, _ = seed_doubtful(engine)
    with write_session(engine) as s:
        business = s.get(Business, bid)
        assert business is not None
        small = make_invoice(s, make_client(s, business, name="Menuiserie Sud"), due=STATEMENT_DUE, amount="70.00",
                             number="FA-80")  # fmt: skip
        small_id = small.id
    assert small_id is not None
    row_id = doubtful_cards(engine, bid)[0][0].row_id
    assert confirm_line(engine, bid, row_id, small_id, actor="owner").excess == Decimal("5.50")
    with read_session(engine) as s:
        inv = s.get(Invoice, small_id)
        assert inv is not None and inv.amount_overpaid == Decimal("5.50") and inv.amount_paid == Decimal("70.00")
        found = s.exec(select(OwnerTask).where(OwnerTask.kind == "overpayment")).all()
    assert [(t.invoice_id, t.dedupe_key) for t in found] == [(small_id, f"overpayment:{small_id}:5.50")]


def test_ending_a_plan_already_ended_answers_the_task(world: World) -> None:
    """After Terminer l'échéancier, another missed-instalment card of the same invoice (its second instalment,
    raised before the plan ended) is answered by Terminer too: the plan is over, nothing fails."""
    _plan(world)
    tasks.daily_check(world.ctx, date(2026, 12, 2))  # both instalments missed: two tasks
    first, second = tasks.open_tasks(world.ctx)[0]
    assert tasks.act(world.ctx, first.view.task_id, first.view.version, "end", actor="o").ok
    again = tasks.act(world.ctx, second.view.task_id, second.view.version, "end", actor="o")
    assert again.ok and _invoice(world, world.first).state == "open"
    assert [t.outcome for t in _tasks(world)] == ["ended", "ended"]
