"""What the drafts outside the ladder (services.extra_drafts) check before proposing: an invoice's late claim, a
payment plan's client, invoices and schedule e-mail, a client's settled invoices. Reads, plus tying a proposed plan
to its schedule e-mail, all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from dunning.invoice_states import InvalidStatus, late_claim
from storage.invoice_status import invoice_status
from storage.models import Client, Invoice, PaymentPlan, PlanInstalment, Reminder
from storage.types import utcnow


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """One invoice as the drafts outside the ladder need it."""

    invoice_id: int
    client_id: int
    number: str
    state: str
    consumer: bool
    claimable: bool  # paid after its due date, by a business: penalties and indemnity can be claimed
    plan_id: int | None


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """A payment plan: its client, state, schedule e-mail and the invoices its instalments pay."""

    plan_id: int
    client_id: int
    state: str
    reminder_id: int | None
    invoice_ids: tuple[int, ...]


def invoice_facts(session: Session, *, business_id: int, invoice_id: int) -> InvoiceFacts | None:
    """The invoice `invoice_id` of this business, or None. `claimable` is dunning.invoice_states.late_claim."""
    inv = session.get(Invoice, invoice_id)
    if inv is None or inv.business_id != business_id or inv.id is None:
        return None
    client = session.get(Client, inv.client_id)
    try:
        claimable = late_claim(invoice_status(session, inv))
    except (InvalidStatus, ValueError):
        claimable = False
    return InvoiceFacts(
        invoice_id=inv.id,
        client_id=inv.client_id,
        number=inv.number,
        state=inv.state,
        consumer=client is not None and client.is_consumer,
        claimable=claimable,
        plan_id=inv.plan_id,
    )


def plan_facts(session: Session, *, business_id: int, plan_id: int) -> PlanFacts | None:
    """The plan `plan_id` of this business, or None."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or plan.business_id != business_id or plan.id is None:
        return None
    ids = session.exec(select(PlanInstalment.invoice_id).where(PlanInstalment.plan_id == plan_id).distinct()).all()
    return PlanFacts(plan.id, plan.client_id, plan.state, plan.reminder_id, tuple(sorted(ids)))


def tie_plan_reminder(session: Session, *, business_id: int, plan_id: int, reminder_id: int) -> None:
    """Make `reminder_id` the schedule e-mail of the proposed plan (its template lists that plan's instalments)."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or plan.business_id != business_id:
        raise LookupError(f"unknown plan {plan_id}")
    if plan.reminder_id != reminder_id:
        plan.reminder_id = reminder_id
        plan.updated_at = utcnow()
        session.add(plan)
        session.flush()


def plan_of_schedule(session: Session, *, business_id: int, reminder_id: int) -> int | None:
    """The plan whose schedule e-mail is `reminder_id`, or None."""
    found: int | None = session.exec(
        select(PaymentPlan.id).where(PaymentPlan.reminder_id == reminder_id, PaymentPlan.business_id == business_id)
    ).first()
    return found


def client_exists(session: Session, *, business_id: int, client_id: int) -> bool:
    """True when `client_id` is a client of this business."""
    client = session.get(Client, client_id)
    return client is not None and client.business_id == business_id


def client_invoice_ids(session: Session, *, business_id: int, client_id: int, invoice_ids: Sequence[int]) -> list[int]:
    """Those of `invoice_ids` that are this client's invoices in this business."""
    if not invoice_ids:
        return []
    found = session.exec(
        select(Invoice.id).where(
            col(Invoice.id).in_(list(invoice_ids)),
            Invoice.business_id == business_id,
            Invoice.client_id == client_id,
        )
    ).all()
    return [i for i in found if i is not None]


def reminder_state(session: Session, *, business_id: int, reminder_id: int) -> tuple[str, int] | None:
    """The state and version of this business's reminder, or None."""
    r = session.get(Reminder, reminder_id)
    if r is None or r.business_id != business_id:
        return None
    return r.state, r.version
