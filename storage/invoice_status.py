"""The bridge between a stored invoice and the pure state machine (dunning.invoice_states): read its status, apply an
event, write the new status and its evidence entry in the caller's transaction.

The `amount_paid` column holds everything that lowered the balance by payment or credit note (what the screens,
the ladder and the penalties read); `amount_credited` is the part of it that came from credit notes. The status the
machine sees splits the two.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from dunning.invoice_states import (
    DayPassed,
    EndPlan,
    Event,
    IllegalTransition,
    Instalment,
    InvoiceStatus,
    State,
    Transition,
    apply,
)
from storage.evidence import record
from storage.models import Business, Client, Invoice, PlanInstalment
from storage.owner_tasks import raise_tasks
from storage.types import utcnow

log = logging.getLogger(__name__)


def invoice_status(session: Session, inv: Invoice) -> InvoiceStatus:
    """The machine's view of `inv` (raises dunning.invoice_states.InvalidStatus for a row that cannot be right)."""
    client = session.get(Client, inv.client_id)
    return InvoiceStatus(
        state=State(inv.state),
        amount=inv.amount,
        due_date=inv.due_date,
        amount_paid=inv.amount_paid - inv.amount_credited,
        amount_credited=inv.amount_credited,
        amount_written_off=inv.amount_written_off,
        amount_overpaid=inv.amount_overpaid,
        last_paid_on=inv.last_paid_on,
        consumer=client is not None and client.is_consumer,
        # A closed dispute or a past promise may linger in its column: only the state that holds it reads it.
        dispute_reason=inv.dispute_reason if inv.state == State.DISPUTED else None,
        promised_until=inv.promised_until if inv.state == State.PROMISED else None,
        broken_promise=inv.broken_promise,
        # A payment plan (storage.plans): this invoice's part of the schedule, what was paid and missed since.
        **_plan_fields(session, inv),
    )


def _plan_fields(session: Session, inv: Invoice) -> dict[str, Any]:
    """The plan fields of the machine's status: only an invoice in a payment plan has them."""
    if inv.state != State.PAYMENT_PLAN or inv.plan_id is None:
        return {}
    rows = session.exec(
        select(PlanInstalment)
        .where(PlanInstalment.plan_id == inv.plan_id, PlanInstalment.invoice_id == inv.id)
        .order_by(col(PlanInstalment.seq))
    ).all()
    plan = tuple(Instalment(r.due_date, r.amount) for r in rows)
    return {"plan": plan, "plan_paid": inv.plan_paid, "plan_missed": inv.plan_missed}


def apply_to_invoice(
    session: Session, inv: Invoice, event: Event, *, actor: str, details: dict[str, Any] | None = None
) -> Transition:
    """Apply `event` to `inv`, write the new status and log the transition (its payload, `details` and its cards).

    Raises dunning.invoice_states.IllegalTransition (nothing written) when the event does not fit the state.
    """
    before = invoice_status(session, inv)
    try:
        transition = apply(before, event)
    except IllegalTransition as exc:
        exc.number = inv.number  # the owner's message names the invoice
        raise
    assert transition is not None  # only a DayPassed may bring nothing
    after = transition.status
    inv.state = after.state.value
    inv.amount_paid = after.amount_paid + after.amount_credited
    inv.amount_credited = after.amount_credited
    inv.amount_written_off = after.amount_written_off
    inv.amount_overpaid = after.amount_overpaid
    inv.last_paid_on = after.last_paid_on
    inv.broken_promise = after.broken_promise
    inv.plan_paid = after.plan_paid
    inv.plan_missed = after.plan_missed
    if after.dispute_reason is not None:
        inv.dispute_reason = after.dispute_reason[:500]
    if after.promised_until is not None:
        inv.promised_until = after.promised_until
    inv.updated_at = utcnow()
    session.add(inv)
    payload: dict[str, Any] = {"number": inv.number, **transition.payload, **(details or {})}
    if transition.cards:
        # The owner's questions (refund an over-payment, claim the penalties...): listed in the transition's entry
        # and raised as tasks (storage.owner_tasks: the same card raised twice is one task), shown as cards.
        payload["cards"] = [{"kind": c.kind.value, **c.payload} for c in transition.cards]
        raise_tasks(session, inv, transition, actor=actor)
    record(
        session,
        actor=actor,
        kind=transition.kind.value,
        business_id=inv.business_id,
        client_id=inv.client_id,
        invoice_id=inv.id,
        payload=payload,
    )
    _follow_plan(session, inv, event, before, after, actor=actor)
    return transition


def _follow_plan(
    session: Session, inv: Invoice, event: Event, before: InvoiceStatus, after: InvoiceStatus, *, actor: str
) -> None:
    """Keep the stored plan in step with the machine: a credit note shortens this invoice's instalments; an invoice
    leaving its plan (paid off, cancelled, disputed, ended) lets it go, and the plan ends with its last invoice."""
    if inv.plan_id is None or before.state is not State.PAYMENT_PLAN:
        return
    if after.state is State.PAYMENT_PLAN:
        if after.plan != before.plan:
            rows = session.exec(
                select(PlanInstalment)
                .where(PlanInstalment.plan_id == inv.plan_id, PlanInstalment.invoice_id == inv.id)
                .order_by(col(PlanInstalment.seq))
            ).all()
            for index, row in enumerate(rows):
                if index < len(after.plan):
                    row.amount = after.plan[index].amount
                    session.add(row)
                else:
                    session.delete(row)
        return
    plan_id = inv.plan_id
    inv.plan_id = None
    session.add(inv)
    session.flush()
    if isinstance(event, EndPlan):
        return  # storage.plans.end_plan ends the plan itself, on the owner's day
    from storage.plans import end_if_empty  # storage.plans applies its events through this module

    day = getattr(event, "on", None) or getattr(event, "today", None) or _business_today(session, inv)
    end_if_empty(session, plan_id, day=day, actor=actor, reason=f"invoice_{after.state.value}")


def _business_today(session: Session, inv: Invoice) -> date:
    business = session.get(Business, inv.business_id)
    tz = ZoneInfo(business.timezone if business is not None else "Europe/Paris")
    return utcnow().astimezone(tz).date()


def pass_day(session: Session, inv: Invoice, today: date, *, actor: str) -> Transition | None:
    """The daily tick on `inv` (a promise past its date, an instalment missed): applied and logged like any event,
    or None when nothing is due that day (nothing written)."""
    if apply(invoice_status(session, inv), DayPassed(today)) is None:
        return None
    return apply_to_invoice(session, inv, DayPassed(today), actor=actor)
