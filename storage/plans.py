"""Payment plans (échéancier) in storage: a plan proposed with its schedule split over its invoices, activated in the
transaction that approves its schedule e-mail, ended by the owner or by itself once nothing is left to pay.

Life of a plan: `create_plan` stores it "proposed" (an earlier proposal for the same client is cancelled), its
schedule e-mail is drafted as a reminder (`set_plan_reminder`); approving that e-mail runs `activate_for_reminder`
in the same transaction: StartPlan on each invoice (storage.invoice_status), the invoices leave the ladder and the
plan is "active". `end_plan` (EndPlan on each invoice) resumes the ladder; an invoice leaving its plan otherwise
(paid off, cancelled...) is let go by storage.invoice_status, which ends the plan when no invoice is left in it.
Every change writes its evidence entry in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlmodel import Session, col, select

from dunning.invoice_states import EndPlan, IllegalTransition, Instalment, InvalidStatus, StartPlan, State
from dunning.plans import allocate_plan
from storage.evidence import record
from storage.invoice_status import apply_to_invoice
from storage.models import Invoice, PaymentPlan, PlanInstalment
from storage.reminders import StaleReminderError, settle_reminders
from storage.types import utcnow

#: The invoice states a plan may be proposed for (the ones the ladder chases, and a promise to renegotiate).
PLANNABLE_STATES = (State.OPEN.value, State.PARTIALLY_PAID.value, State.PROMISED.value)
_ZERO = Decimal("0.00")


class PlanError(Exception):
    """A plan action that cannot be carried out; `key` is the catalogue message (with `values`)."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class PlanNoLongerFits(StaleReminderError):
    """The schedule e-mail of a plan cannot be approved: its invoices changed since it was drafted."""


@dataclass(frozen=True, slots=True)
class PlanPart:
    """One invoice's part of one instalment of the schedule."""

    seq: int
    invoice_id: int
    number: str
    due_date: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PlanInvoice:
    """An invoice of a plan as it stands now (`in_plan`: still following this plan)."""

    invoice_id: int
    number: str
    state: str
    balance: Decimal
    plan_paid: Decimal
    currency: str
    in_plan: bool


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan: its state, the client's schedule (one line per date), each invoice's parts and its invoices."""

    plan_id: int
    business_id: int
    client_id: int
    state: str
    reminder_id: int | None
    started_on: date | None
    ended_on: date | None
    schedule: tuple[Instalment, ...]
    parts: tuple[PlanPart, ...]
    invoices: tuple[PlanInvoice, ...]

    @property
    def total(self) -> Decimal:
        """What the schedule adds up to (less any credit note since)."""
        return sum((i.amount for i in self.schedule), _ZERO)

    @property
    def currency(self) -> str:
        """The invoices' currency."""
        return self.invoices[0].currency if self.invoices else "EUR"


# --- reading -------------------------------------------------------------------------------------------------


def plan_view(session: Session, *, business_id: int, plan_id: int) -> PlanView | None:
    """A plan of the business, or None."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or plan.business_id != business_id or plan.id is None:
        return None
    rows = session.exec(
        select(PlanInstalment, Invoice)
        .join(Invoice, col(Invoice.id) == col(PlanInstalment.invoice_id))
        .where(PlanInstalment.plan_id == plan.id)
        .order_by(col(PlanInstalment.seq), col(Invoice.due_date), col(Invoice.id))
    ).all()
    by_seq: dict[int, list[PlanInstalment]] = defaultdict(list)
    parts: list[PlanPart] = []
    invoices: dict[int, PlanInvoice] = {}
    for part, inv in rows:
        assert inv.id is not None
        by_seq[part.seq].append(part)
        parts.append(PlanPart(part.seq, inv.id, inv.number, part.due_date, part.amount))
        if inv.id not in invoices:
            invoices[inv.id] = PlanInvoice(
                invoice_id=inv.id,
                number=inv.number,
                state=inv.state,
                balance=inv.balance,
                plan_paid=inv.plan_paid,
                currency=inv.currency,
                in_plan=inv.plan_id == plan.id and inv.state == State.PAYMENT_PLAN,
            )
    schedule = tuple(
        Instalment(found[0].due_date, sum((p.amount for p in found), _ZERO)) for _, found in sorted(by_seq.items())
    )
    ordered = sorted(invoices.values(), key=lambda i: next(p.seq for p in parts if p.invoice_id == i.invoice_id))
    return PlanView(
        plan_id=plan.id,
        business_id=plan.business_id,
        client_id=plan.client_id,
        state=plan.state,
        reminder_id=plan.reminder_id,
        started_on=plan.started_on,
        ended_on=plan.ended_on,
        schedule=schedule,
        parts=tuple(parts),
        invoices=tuple(ordered),
    )


def plan_of_invoice(session: Session, *, business_id: int, invoice_id: int) -> PlanView | None:
    """The plan an invoice follows now (None when it follows none)."""
    inv = session.get(Invoice, invoice_id)
    if inv is None or inv.business_id != business_id or inv.plan_id is None:
        return None
    return plan_view(session, business_id=business_id, plan_id=inv.plan_id)


def plan_of_reminder(session: Session, *, business_id: int, reminder_id: int) -> PlanView | None:
    """The plan whose schedule e-mail is this reminder (the latest one, should several have shared it)."""
    plan_id = session.exec(
        select(PaymentPlan.id)
        .where(PaymentPlan.business_id == business_id, PaymentPlan.reminder_id == reminder_id)
        .order_by(col(PaymentPlan.id).desc())
    ).first()
    return None if plan_id is None else plan_view(session, business_id=business_id, plan_id=plan_id)


def client_plans(session: Session, *, business_id: int, client_id: int, states: Sequence[str]) -> list[PlanView]:
    """A client's plans in `states`, newest first."""
    ids = session.exec(
        select(PaymentPlan.id)
        .where(
            PaymentPlan.business_id == business_id,
            PaymentPlan.client_id == client_id,
            col(PaymentPlan.state).in_(list(states)),
        )
        .order_by(col(PaymentPlan.id).desc())
    ).all()
    views = [plan_view(session, business_id=business_id, plan_id=i) for i in ids if i is not None]
    return [v for v in views if v is not None]


# --- changing ------------------------------------------------------------------------------------------------


def _locked_invoices(session: Session, business_id: int, invoice_ids: Sequence[int]) -> list[Invoice]:
    """The invoices, locked for this transaction, oldest due first (the order a plan pays them off)."""
    stmt = select(Invoice).where(Invoice.business_id == business_id, col(Invoice.id).in_(list(invoice_ids)))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return list(session.exec(stmt.order_by(col(Invoice.due_date), col(Invoice.id))).all())


def _close(session: Session, plan: PaymentPlan, state: str, *, day: date, actor: str, reason: str) -> None:
    """Move a plan to `state` (ended or cancelled) on `day`, logged; a cancelled proposal lets go of its e-mail (the
    same day's schedule e-mail is reused by the next proposal: it must show that one's instalments)."""
    previous = plan.state
    plan.state = state
    plan.ended_on = day
    plan.updated_at = utcnow()
    session.add(plan)
    record(
        session,
        actor=actor,
        kind="plan_closed",
        business_id=plan.business_id,
        client_id=plan.client_id,
        reminder_id=plan.reminder_id,
        payload={"plan_id": plan.id, "from": previous, "to": state, "reason": reason, "day": day.isoformat()},
    )
    if state == "cancelled":
        plan.reminder_id = None


def create_plan(
    session: Session,
    *,
    business_id: int,
    client_id: int,
    invoice_ids: Sequence[int],
    schedule: Sequence[Instalment],
    today: date,
    actor: str,
) -> int:
    """Store a proposed plan paying these invoices of the client by `schedule` (checked by dunning.plans first), its
    instalments split over the invoices oldest first; an earlier proposal for the client is cancelled. Raises
    PlanError when an invoice is not the client's, cannot be planned or the schedule does not add up."""
    invoices = _locked_invoices(session, business_id, invoice_ids)
    if not invoices or len(invoices) != len(set(invoice_ids)) or any(i.client_id != client_id for i in invoices):
        raise PlanError("plan.unknown_invoice")
    for inv in invoices:
        if inv.state not in PLANNABLE_STATES or inv.balance <= 0:
            raise PlanError("plan.not_plannable", number=inv.number)
    balances = [(inv.id, inv.balance) for inv in invoices if inv.id is not None]
    try:
        parts = allocate_plan(balances, schedule)
    except ValueError:
        total, owed = sum((i.amount for i in schedule), _ZERO), sum((b for _, b in balances), _ZERO)
        raise PlanError("plan.err.total", total=total, balance=owed, gap=owed - total) from None  # fmt: skip
    for earlier in session.exec(
        select(PaymentPlan).where(
            PaymentPlan.business_id == business_id, PaymentPlan.client_id == client_id, PaymentPlan.state == "proposed"
        )
    ).all():
        _close(session, earlier, "cancelled", day=today, actor=actor, reason="replaced")
    plan = PaymentPlan(business_id=business_id, client_id=client_id, state="proposed")
    session.add(plan)
    session.flush()
    assert plan.id is not None
    seq_of = {inst.due: seq for seq, inst in enumerate(schedule, start=1)}
    for invoice_id, own in parts.items():
        for inst in own:
            session.add(PlanInstalment(plan_id=plan.id, invoice_id=invoice_id, seq=seq_of[inst.due],
                                       due_date=inst.due, amount=inst.amount))  # fmt: skip
    session.flush()
    record(
        session,
        actor=actor,
        kind="plan_proposed",
        business_id=business_id,
        client_id=client_id,
        invoice_id=invoices[0].id if len(invoices) == 1 else None,
        payload={
            "plan_id": plan.id,
            "day": today.isoformat(),
            "invoices": [{"invoice_id": inv.id, "number": inv.number, "balance": str(inv.balance)} for inv in invoices],
            "instalments": [{"due": i.due.isoformat(), "amount": str(i.amount)} for i in schedule],
        },
    )
    return plan.id


def set_plan_reminder(session: Session, *, business_id: int, plan_id: int, reminder_id: int) -> None:
    """Tie a proposed plan to its schedule e-mail (the reminder whose approval activates it)."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or plan.business_id != business_id or plan.state != "proposed":
        raise PlanError("plan.not_proposed")
    plan.reminder_id = reminder_id
    plan.updated_at = utcnow()
    session.add(plan)


def cancel_proposal(session: Session, *, business_id: int, plan_id: int, today: date, actor: str, reason: str) -> None:
    """A proposed plan given up (its e-mail could not be drafted, or the owner chose another): cancelled."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is not None and plan.business_id == business_id and plan.state == "proposed":
        _close(session, plan, "cancelled", day=today, actor=actor, reason=reason)


def activate_for_reminder(
    session: Session, *, business_id: int, reminder_id: int, today: date, actor: str
) -> int | None:
    """The schedule e-mail `reminder_id` is being approved: its proposed plan starts now, in the caller's transaction
    (StartPlan on each invoice, the invoices out of the ladder and of the reminders waiting, the plan active).
    Returns the plan's id, None when the reminder is no plan's schedule e-mail (or its plan already started).

    Raises PlanNoLongerFits (a StaleReminderError: the approval is rolled back) when an invoice changed since the
    proposal (paid meanwhile, disputed...).
    """
    stmt = select(PaymentPlan).where(
        PaymentPlan.business_id == business_id, PaymentPlan.reminder_id == reminder_id, PaymentPlan.state == "proposed"
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    plan = session.exec(stmt.order_by(col(PaymentPlan.id).desc())).first()
    if plan is None or plan.id is None:
        return None
    rows = session.exec(
        select(PlanInstalment).where(PlanInstalment.plan_id == plan.id).order_by(col(PlanInstalment.seq))
    ).all()
    parts: dict[int, list[Instalment]] = defaultdict(list)
    for row in rows:
        parts[row.invoice_id].append(Instalment(row.due_date, row.amount))
    invoices = _locked_invoices(session, business_id, list(parts))
    if len(invoices) != len(parts):
        raise PlanNoLongerFits(f"plan {plan.id}: an invoice is gone")
    replaced: set[int] = set()
    for inv in invoices:
        assert inv.id is not None
        if inv.plan_id is not None and inv.plan_id != plan.id:
            replaced.add(inv.plan_id)
        event = StartPlan(tuple(parts[inv.id]), today, shared=len(invoices) > 1)
        try:
            apply_to_invoice(session, inv, event, actor=actor, details={"plan_id": plan.id, "reminder_id": reminder_id})
        except (IllegalTransition, InvalidStatus) as exc:
            raise PlanNoLongerFits(f"plan {plan.id}, invoice {inv.number}: {exc}") from exc
        inv.plan_id = plan.id
        session.add(inv)
    plan.state = "active"
    plan.started_on = today
    plan.updated_at = utcnow()
    session.add(plan)
    session.flush()
    for old_id in replaced:
        end_if_empty(session, old_id, day=today, actor=actor, reason="replaced")
    # The ladder's reminders waiting with these invoices lose them (cancelled when left empty); the schedule e-mail
    # itself is being approved, so it is not among them.
    settle_reminders(session, paid_ids=[i.id for i in invoices if i.id is not None], partly_ids=[], actor=actor,
                     reason="payment_plan")  # fmt: skip
    return plan.id


def end_plan(session: Session, *, business_id: int, invoice_id: int, today: date, actor: str) -> PlanView:
    """The owner ends the plan `invoice_id` follows: EndPlan on each of its invoices still in it (the ladder resumes
    on their balance); the plan is ended. Raises PlanError when the invoice follows no plan."""
    inv = session.get(Invoice, invoice_id)
    if inv is None or inv.business_id != business_id:
        raise PlanError("plan.unknown_invoice")
    if inv.plan_id is None or inv.state != State.PAYMENT_PLAN:
        raise PlanError("plan.not_in_plan", number=inv.number)
    plan_id = inv.plan_id
    members = session.exec(select(Invoice.id).where(Invoice.plan_id == plan_id)).all()
    for member in _locked_invoices(session, business_id, [m for m in members if m is not None]):
        if member.state == State.PAYMENT_PLAN:
            apply_to_invoice(session, member, EndPlan(), actor=actor, details={"plan_id": plan_id})
    session.flush()
    end_if_empty(session, plan_id, day=today, actor=actor, reason="ended_by_owner")
    view = plan_view(session, business_id=business_id, plan_id=plan_id)
    assert view is not None
    return view


def end_if_empty(session: Session, plan_id: int, *, day: date, actor: str, reason: str) -> None:
    """End an active plan none of whose invoices follows it any more (paid off, or the last one left it)."""
    plan = session.get(PaymentPlan, plan_id)
    if plan is None or plan.state != "active":
        return
    if session.exec(select(Invoice.id).where(Invoice.plan_id == plan_id)).first() is not None:
        return
    _close(session, plan, "ended", day=day, actor=actor, reason=reason)


def cancel_for_reminder(session: Session, *, business_id: int, reminder_id: int, today: date, actor: str) -> None:
    """The owner dropped a schedule e-mail (Ne pas envoyer): the plan it proposed is given up (cancelled)."""
    for plan in session.exec(
        select(PaymentPlan).where(
            PaymentPlan.business_id == business_id,
            PaymentPlan.reminder_id == reminder_id,
            PaymentPlan.state == "proposed",
        )
    ).all():
        _close(session, plan, "cancelled", day=today, actor=actor, reason="email_dropped")
