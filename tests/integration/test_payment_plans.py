"""Payment plans end to end below the chat: suggested from a card, proposed, started exactly once by approving the
schedule e-mail, paid during the plan, paid off, ended by the owner (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dunning.invoice_states import Instalment
from dunning.penalties import builtin_rate_table
from services import plans
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import OutboxDelivery
from storage.db import read_session, write_session
from storage.models import EvidenceEntry, Invoice, Outbox, PaymentPlan, PlanInstalment, Reminder
from storage.plans import create_plan, plan_view, set_plan_reminder
from storage.reminders import ReminderView, propose_outside_ladder, record_payment
from tests.bot_harness import RecordingDelivery
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.delivery_helpers import make_draft

TODAY = date(2026, 11, 24)
D = Decimal
ACTOR = "owner:111"


class _Drafter:
    def draft(self, session: Session, view: ReminderView, *, today: date) -> Any:
        return make_draft()


@dataclass
class World:
    engine: Engine
    ctx: BusinessContext
    services: Services
    client_id: int
    older: int  # F-OLD, 300,00, due 1 Oct
    newer: int  # F-NEW, 700,00, due 1 Nov
    reminder_id: int  # the ladder's card covering both


def _world(engine: Engine, delivery: Any) -> World:
    with write_session(engine) as s:
        biz = make_business(s)
        client = make_client(s, biz, name="Durand SARL")
        older = make_invoice(s, client, due=date(2026, 10, 1), amount="300.00", number="F-OLD")
        newer = make_invoice(s, client, due=date(2026, 11, 1), amount="700.00", number="F-NEW")
        reminder = make_reminder(s, client, [older, newer], planned_date=TODAY)
        ids = (biz.id, client.id, older.id, newer.id, reminder.id)
    biz_id, client_id, older_id, newer_id, rid = ids
    assert biz_id and client_id and older_id and newer_id and rid
    ctx = BusinessContext(engine=engine, business_id=biz_id, owner_ids=frozenset({111}),
                          clock=Clock(ZoneInfo("Europe/Paris"), TODAY), rate_table=builtin_rate_table(),
                          drafter=_Drafter(), delivery=delivery, mail_from="factures@atelier.example")  # fmt: skip
    return World(engine, ctx, Services(ctx), client_id, older_id, newer_id, rid)


@pytest.fixture
def world(engine: Engine) -> World:
    """A client with two overdue invoices (300 and 700) on one pending reminder; e-mails go to the outbox."""
    return _world(engine, OutboxDelivery(None))


def _propose(w: World, schedule: tuple[Instalment, ...]) -> tuple[int, int]:
    """The proposal as services.plans.propose stores it: the plan, then its schedule e-mail (a pending reminder)."""
    with write_session(w.engine) as s:
        plan_id = create_plan(s, business_id=w.ctx.business_id, client_id=w.client_id,
                              invoice_ids=[w.newer, w.older], schedule=schedule, today=TODAY, actor=ACTOR)  # fmt: skip
        rid = propose_outside_ladder(s, business_id=w.ctx.business_id, client_id=w.client_id, kind="plan_schedule",
                                     invoice_ids=[w.older, w.newer], today=TODAY, actor=ACTOR)  # fmt: skip
        set_plan_reminder(s, business_id=w.ctx.business_id, plan_id=plan_id, reminder_id=rid)
    return plan_id, rid


def _version(engine: Engine, rid: int) -> int:
    with read_session(engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        return reminder.version


def _invoice(engine: Engine, invoice_id: int) -> Invoice:
    with read_session(engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        s.expunge(inv)
        return inv


def _kinds(engine: Engine) -> list[str]:
    with read_session(engine) as s:
        return [e.kind for e in s.exec(select(EvidenceEntry).order_by(col(EvidenceEntry.seq))).all()]


def test_suggestion_is_equal_monthly_instalments_of_the_cards_balance(world: World) -> None:
    """The card's two invoices (1 000,00) in 3 instalments from 24 Dec; 4 on request; a stale card gets none."""
    version = _version(world.engine, world.reminder_id)
    got = plans.suggest(world.ctx, world.reminder_id, version)
    assert got.ok and got.total == D("1000.00") and got.count == 3
    assert [i.number for i in got.invoices] == ["F-OLD", "F-NEW"]
    assert got.schedule[0] == Instalment(date(2026, 12, 24), D("333.33"))
    assert sum(i.amount for i in got.schedule) == D("1000.00")
    assert len(plans.suggest(world.ctx, world.reminder_id, version, count=4).schedule) == 4
    assert plans.suggest(world.ctx, world.reminder_id, version, count=13).status == "invalid"
    assert plans.suggest(world.ctx, world.reminder_id, version + 1).status == "stale"
    assert plans.suggest(world.ctx, 999_999, 0).status == "unknown"


def test_typed_schedule_is_parsed_and_checked() -> None:
    """Lines "15/01/2027 500,00" become instalments; a bad line or a wrong total is named in the error."""
    got = plans.parse_schedule("15/01/2027 400,00\n15.02.27 ; 600", D("1000.00"), TODAY)
    assert got == (Instalment(date(2027, 1, 15), D("400.00")), Instalment(date(2027, 2, 15), D("600.00")))
    with pytest.raises(plans.InputError) as bad_date:
        plans.parse_schedule("15/13/2027 400,00\n15/02/2027 600,00", D("1000.00"), TODAY)
    assert bad_date.value.key == "plan.err.line_date" and bad_date.value.values["number"] == 1
    with pytest.raises(plans.InputError) as bad_total:
        plans.parse_schedule("15/01/2027 400,00\n15/02/2027 500,00", D("1000.00"), TODAY)
    assert bad_total.value.key == "plan.err.total" and bad_total.value.values["gap"] == D("100.00")
    assert plans.schedule_text(got) == "15/01/2027 400,00\n15/02/2027 600,00"


async def test_plan_starts_when_its_schedule_email_is_queued_and_only_then(world: World) -> None:
    """Proposed: the invoices stay in the ladder. Approving the schedule e-mail starts the plan in the same
    transaction (each invoice in payment_plan with its part, the ladder's card withdrawn); a second tap changes
    nothing."""
    schedule = (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00")))
    plan_id, rid = _propose(world, schedule)
    assert _invoice(world.engine, world.older).state == "open"
    version = _version(world.engine, rid)
    outcome = await world.services.send(rid, version, actor=ACTOR)
    assert outcome.ok, outcome
    older, newer = _invoice(world.engine, world.older), _invoice(world.engine, world.newer)
    assert (older.state, older.plan_id, newer.state, newer.plan_id) == (
        "payment_plan",
        plan_id,
        "payment_plan",
        plan_id,
    )
    with read_session(world.engine) as s:
        view = plan_view(s, business_id=world.ctx.business_id, plan_id=plan_id)
        assert view is not None and view.state == "active" and view.started_on == TODAY
        # 300 + 700 over 400 + 600: the first instalment is split between the two invoices.
        assert [(p.seq, p.number, p.amount) for p in view.parts] == [
            (1, "F-OLD", D("300.00")), (1, "F-NEW", D("100.00")), (2, "F-NEW", D("600.00"))
        ]  # fmt: skip
        assert view.schedule == schedule
        ladder = s.get(Reminder, world.reminder_id)
        assert ladder is not None and ladder.state == "cancelled"
        assert s.exec(select(Outbox).where(Outbox.reminder_id == rid)).one().state == "queued"
    kinds = _kinds(world.engine)
    assert kinds.count("plan_started") == 2 and kinds.index("email_queued") < kinds.index("plan_started")
    again = await world.services.send(rid, version, actor=ACTOR)
    assert again.status == "stale"
    assert _kinds(world.engine).count("plan_started") == 2


async def test_plan_starts_with_a_delivery_that_sends_at_once(engine: Engine) -> None:
    """A delivery that marks the e-mail sent at once (files, tests) starts the plan the same way."""
    w = _world(engine, RecordingDelivery())
    plan_id, rid = _propose(
        w, (Instalment(date(2026, 12, 24), D("500.00")), Instalment(date(2027, 1, 24), D("500.00")))
    )
    assert (await w.services.send(rid, _version(engine, rid), actor=ACTOR)).ok
    assert _invoice(engine, w.newer).plan_id == plan_id
    facts = plans.plan_facts(w.ctx, plan_id)
    assert facts is not None and facts.state == "active" and facts.progress.next_due == date(2026, 12, 24)


async def test_a_payment_during_the_plan_counts_towards_it_and_paying_off_ends_it(world: World) -> None:
    """A payment on a plan invoice stays in the plan (plan_paid); the last one pays both off and ends the plan."""
    plan_id, rid = _propose(
        world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00")))
    )
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    with write_session(world.engine) as s:
        record_payment(s, business_id=world.ctx.business_id, invoice_ids=[world.newer], amount=D("100.00"),
                       paid_on=date(2026, 12, 20), actor=ACTOR)  # fmt: skip
    newer = _invoice(world.engine, world.newer)
    assert (newer.state, newer.plan_paid, newer.balance) == ("payment_plan", D("100.00"), D("600.00"))
    facts = plans.plan_facts(world.ctx, plan_id)
    assert facts is not None and facts.progress.paid == D("100.00") and facts.progress.next_amount == D("300.00")
    with write_session(world.engine) as s:
        record_payment(s, business_id=world.ctx.business_id, invoice_ids=[world.older], amount=None,
                       paid_on=date(2026, 12, 22), actor=ACTOR)  # fmt: skip
    older = _invoice(world.engine, world.older)
    assert (older.state, older.plan_id) == ("paid", None)
    facts = plans.plan_facts(world.ctx, plan_id)
    assert facts is not None and facts.state == "active" and facts.progress.paid == D("400.00")
    assert facts.progress.instalments_paid == 1 and facts.progress.next_due == date(2027, 1, 24)
    with write_session(world.engine) as s:
        record_payment(s, business_id=world.ctx.business_id, invoice_ids=[world.newer], amount=None,
                       paid_on=date(2027, 1, 20), actor=ACTOR)  # fmt: skip
    with read_session(world.engine) as s:
        plan = s.get(PaymentPlan, plan_id)
        assert plan is not None and (plan.state, plan.ended_on) == ("ended", date(2027, 1, 20))
        closed = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "plan_closed")).one()
        assert json.loads(closed.payload)["reason"] == "invoice_paid"


async def test_owner_ends_the_plan_and_the_ladder_resumes(world: World) -> None:
    """end_plan on one invoice ends the whole plan: both invoices chased again, the plan ended; twice is refused."""
    plan_id, rid = _propose(
        world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00")))
    )
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    with write_session(world.engine) as s:
        record_payment(s, business_id=world.ctx.business_id, invoice_ids=[world.older], amount=D("50.00"),
                       paid_on=TODAY, actor=ACTOR)  # fmt: skip
    done = plans.end_plan(world.ctx, world.newer, actor=ACTOR)
    assert done.ok and done.message is not None and done.message.values["numbers"] == "F-OLD, F-NEW"
    older, newer = _invoice(world.engine, world.older), _invoice(world.engine, world.newer)
    assert (older.state, older.plan_id, older.plan_paid) == ("partially_paid", None, D("0.00"))
    assert (newer.state, newer.plan_id) == ("open", None)
    with read_session(world.engine) as s:
        plan = s.get(PaymentPlan, plan_id)
        assert plan is not None and (plan.state, plan.ended_on) == ("ended", TODAY)
    assert _kinds(world.engine).count("plan_ended") == 2
    assert plans.end_plan(world.ctx, world.newer, actor=ACTOR).status == "invalid"


async def test_schedule_email_of_a_plan_whose_invoice_was_paid_meanwhile_is_not_approved(world: World) -> None:
    """An invoice paid in full after the proposal: the schedule no longer fits, so its approval is refused as stale
    and nothing starts (the plan stays proposed, no e-mail queued)."""
    plan_id, rid = _propose(
        world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00")))
    )
    with write_session(world.engine) as s:
        # Paid outside the reminders' path: the schedule e-mail keeps its version.
        inv = s.get(Invoice, world.older)
        assert inv is not None
        from dunning.invoice_states import PaymentReceived
        from storage.invoice_status import apply_to_invoice

        apply_to_invoice(s, inv, PaymentReceived(D("300.00"), TODAY), actor=ACTOR)
    outcome = await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)
    assert outcome.status == "stale"
    with read_session(world.engine) as s:
        plan = s.get(PaymentPlan, plan_id)
        assert plan is not None and plan.state == "proposed"
        assert s.exec(select(Outbox).where(Outbox.reminder_id == rid)).first() is None
    assert _invoice(world.engine, world.newer).state == "open"


def test_a_new_proposal_cancels_the_earlier_one(world: World) -> None:
    """Proposing twice for the client keeps only the latest plan proposed; the earlier lets go of its e-mail."""
    first, rid = _propose(
        world, (Instalment(date(2026, 12, 24), D("500.00")), Instalment(date(2027, 1, 24), D("500.00")))
    )
    second, rid2 = _propose(
        world, (Instalment(date(2026, 12, 10), D("500.00")), Instalment(date(2027, 1, 10), D("500.00")))
    )
    assert rid2 == rid  # the same day's schedule e-mail is reused
    with read_session(world.engine) as s:
        old, new = s.get(PaymentPlan, first), s.get(PaymentPlan, second)
        assert old is not None and new is not None
        assert (old.state, old.reminder_id, new.state, new.reminder_id) == ("cancelled", None, "proposed", rid)
        assert len(s.exec(select(PlanInstalment).where(PlanInstalment.plan_id == second)).all()) == 3


def _drafting_world(engine: Engine) -> World:
    """The world with the real templates: the schedule e-mail is rendered as the client will read it."""
    from messages.render import default_renderer
    from services.delivery import TemplateDrafter

    w = _world(engine, RecordingDelivery())
    w.ctx.drafter = TemplateDrafter(default_renderer(), rate_table=w.ctx.rate_table)
    w.services = Services(w.ctx)
    return w


async def test_propose_drafts_the_schedule_email_and_sending_it_starts_the_plan(engine: Engine) -> None:
    """services.plans.propose: a typed schedule that does not add up is refused (nothing stored); a good one stores
    the proposed plan and its schedule e-mail (listing the dates); a stale card proposes nothing; sending the e-mail
    starts the plan once."""
    w = _drafting_world(engine)
    version = _version(engine, w.reminder_id)
    bad = plans.propose(w.ctx, w.reminder_id, version, (Instalment(date(2026, 12, 24), D("10.00")),) * 2, actor=ACTOR)
    assert bad.status == "invalid" and bad.message is not None and bad.message.key == "plan.err.order"
    schedule = (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00")))
    assert plans.propose(w.ctx, w.reminder_id, version + 1, schedule, actor=ACTOR).status == "stale"
    with read_session(engine) as s:
        assert s.exec(select(PaymentPlan)).first() is None
    done = plans.propose(w.ctx, w.reminder_id, version, schedule, actor=ACTOR)
    assert done.ok and done.reminder_id is not None and done.plan_id is not None, done
    text = w.services.full_text(done.reminder_id)
    assert text is not None and "1re échéance" in text and "2e échéance" in text and "en 2 échéances" in text
    assert (await w.services.send(done.reminder_id, _version(engine, done.reminder_id), actor=ACTOR)).ok
    facts = plans.plan_facts(w.ctx, done.plan_id)
    assert facts is not None and facts.state == "active" and facts.numbers == ("F-OLD", "F-NEW")
    assert _kinds(engine).count("plan_started") == 2 and _kinds(engine).count("plan_proposed") == 1


async def test_the_ladder_proposes_nothing_while_the_plan_runs_and_resumes_after_it(world: World) -> None:
    """Days later the digest's refresh proposes no reminder for the plan's invoices; once the owner ends the plan,
    the next refresh chases them again."""
    from storage.models import Business
    from storage.reminders import refresh_due

    _, rid = _propose(world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00"))))
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    later = date(2026, 12, 1)
    with write_session(world.engine) as s:
        business = s.get(Business, world.ctx.business_id)
        assert business is not None
        assert refresh_due(s, business=business, today=later) == []
    assert plans.end_plan(world.ctx, world.older, actor=ACTOR).ok
    with write_session(world.engine) as s:
        business = s.get(Business, world.ctx.business_id)
        assert business is not None
        (view,) = refresh_due(s, business=business, today=later)
        assert {i.number for i in view.invoices} == {"F-OLD", "F-NEW"}


async def test_a_bank_credit_naming_a_plan_invoice_counts_towards_the_plan(world: World) -> None:
    """A statement credit of 150,00 whose remittance names the newer invoice (in the plan) by its number is recorded
    as a sure payment and counts towards the plan: the invoice stays in it with 150,00 paid during the plan."""
    from services.payments import import_statement
    from tests.samples.statements import Entry, Tx, camt053

    with write_session(world.engine) as s:
        newer = s.get(Invoice, world.newer)
        assert newer is not None
        newer.number = "F-2026-0777"  # the matcher reads numbers with digits in a remittance
        s.add(newer)
    _, rid = _propose(world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00"))))
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    paid = Tx(D("150.00"), "Durand SARL", "Echeance facture F-2026-0777")
    entry = Entry(D("150.00"), date(2026, 11, 26), reference="PLAN-1", txs=(paid,))
    summary = import_statement(world.engine, world.ctx.business_id, camt053(entries=[entry]), "releve.xml", actor=ACTOR)
    assert summary.ok and len(summary.payments) == 1, summary
    newer = _invoice(world.engine, world.newer)
    assert (newer.state, newer.plan_paid, newer.balance) == ("payment_plan", D("150.00"), D("550.00"))


async def test_a_bank_credit_of_the_next_instalment_pays_the_plan_without_a_number(world: World) -> None:
    """Schedule 150 (24/12), 150 (24/1), 700 (24/2): F-OLD (300) takes the two 150s, F-NEW (700) the last. A CAMT
    credit of 150,00 from Durand with no invoice number is F-OLD's next instalment: recorded as a sure payment on it,
    which stays in the plan with 150,00 paid; the plan shows one instalment paid and 150,00 expected on 24/1. F-NEW's
    part comes later, so only F-OLD expects an instalment."""
    from services.payments import import_statement
    from storage.payments_in import open_invoices_for_matching
    from tests.samples.statements import Entry, Tx, camt053

    schedule = (
        Instalment(date(2026, 12, 24), D("150.00")),
        Instalment(date(2027, 1, 24), D("150.00")),
        Instalment(date(2027, 2, 24), D("700.00")),
    )
    plan_id, rid = _propose(world, schedule)
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    with read_session(world.engine) as s:
        expected = {i.invoice_id: i.instalment for i in open_invoices_for_matching(s, world.ctx.business_id)}
    assert expected == {world.older: D("150.00"), world.newer: None}
    paid = Tx(D("150.00"), "DURAND SARL", "Echeance de decembre")
    entry = Entry(D("150.00"), date(2026, 12, 23), reference="ECH-1", txs=(paid,))
    summary = import_statement(world.engine, world.ctx.business_id, camt053(entries=[entry]), "releve.xml", actor=ACTOR)
    assert summary.ok and [(p.invoice_id, p.amount) for p in summary.payments] == [(world.older, D("150.00"))]
    older = _invoice(world.engine, world.older)
    assert (older.state, older.plan_paid, older.balance) == ("payment_plan", D("150.00"), D("150.00"))
    facts = plans.plan_facts(world.ctx, plan_id)
    assert facts is not None and facts.progress.paid == D("150.00")
    assert (facts.progress.instalments_paid, facts.progress.next_due, facts.progress.next_amount) == (
        1,
        date(2027, 1, 24),
        D("150.00"),
    )


async def test_a_missed_instalment_is_counted_on_the_invoice_once(world: World) -> None:
    """The day after an instalment's date with nothing paid, the daily tick reports it missed (plan_missed written
    back, one plan_instalment_missed entry); the same tick again reports nothing new."""
    from storage.invoice_status import pass_day

    _, rid = _propose(world, (Instalment(date(2026, 12, 24), D("400.00")), Instalment(date(2027, 1, 24), D("600.00"))))
    assert (await world.services.send(rid, _version(world.engine, rid), actor=ACTOR)).ok
    for _ in range(2):
        with write_session(world.engine) as s:
            for invoice_id in (world.older, world.newer):
                inv = s.get(Invoice, invoice_id)
                assert inv is not None
                pass_day(s, inv, date(2026, 12, 25), actor="system")
    older, newer = _invoice(world.engine, world.older), _invoice(world.engine, world.newer)
    # 24/12's 400,00 is split: 300,00 on F-OLD and 100,00 on F-NEW, each part missed once.
    assert (older.plan_missed, newer.plan_missed) == (1, 1)
    assert (older.state, newer.state) == ("payment_plan", "payment_plan")
    assert _kinds(world.engine).count("plan_instalment_missed") == 2
    with read_session(world.engine) as s:
        view = plan_view(s, business_id=world.ctx.business_id, plan_id=older.plan_id or 0)
        assert view is not None
    late = plans.facts_of(view, date(2026, 12, 25)).progress
    assert (late.overdue, late.overdue_amount, late.next_due) == (1, D("400.00"), date(2027, 1, 24))


def test_dropping_the_schedule_email_gives_the_proposal_up(world: World) -> None:
    """🗑 Ne pas envoyer on the schedule e-mail cancels the plan it proposed (logged); the invoices stay in the
    ladder."""
    plan_id, rid = _propose(
        world, (Instalment(date(2026, 12, 24), D("500.00")), Instalment(date(2027, 1, 24), D("500.00")))
    )
    assert world.services.drop(rid, _version(world.engine, rid), actor=ACTOR).ok
    with read_session(world.engine) as s:
        plan = s.get(PaymentPlan, plan_id)
        assert plan is not None and (plan.state, plan.reminder_id) == ("cancelled", None)
        closed = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "plan_closed")).one()
        assert json.loads(closed.payload)["reason"] == "email_dropped"
    assert _invoice(world.engine, world.older).state == "open"
