"""The owner's answers to tasks that move money or state, and the daily check that raises tasks, each in the
caller's transaction with its evidence entries.

- An over-payment refunded leaves the invoice's `amount_overpaid` (the money went back); kept as the client's
  credit, it stays; assigned to another open invoice of the same client, it leaves the source invoice and is
  recorded on the target as a payment through the state machine (dated on the day it was received; what exceeds
  the target's balance is flagged again there).
- A credit note whose invoice was unknown is applied to the invoice the owner chose (CreditNote event), or ignored.
- The daily check ticks the promised invoices (a promise past its date is broken on the ladder's follow-up day, the
  business day after the promised date, as the ladder follows it up) and those in a payment plan (missed
  instalments), through the state machine: each raises its task once.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, col, select

from dunning.calendar import next_business_day
from dunning.invoice_states import CreditNote, IllegalTransition, InvalidStatus, PaymentReceived, State
from storage.invoice_status import apply_to_invoice, invoice_status, pass_day
from storage.models import Invoice, OwnerTask, Payment
from storage.owner_tasks import TaskError, close_task
from storage.reminders import settle_reminders

log = logging.getLogger(__name__)

#: The invoices an over-payment or a credit note may be assigned to: money is still owed and expected.
ASSIGNABLE_STATES = (
    State.OPEN.value,
    State.PARTIALLY_PAID.value,
    State.PROMISED.value,
    State.PAYMENT_PLAN.value,
)
#: The note of the Payment row of an over-payment moved from another invoice.
MOVED_PREFIX = "trop-perçu "
#: As storage.einvoices.CREDIT_NOTE_PREFIX: the Payment row of a credit note (it makes a second application a no-op).
CREDIT_NOTE_PREFIX = "avoir "
_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Candidate:
    """An invoice a task's money may go to."""

    invoice_id: int
    number: str
    balance: Decimal
    currency: str


def candidates(
    session: Session, *, business_id: int, client_id: int | None, exclude: int | None, limit: int = 8
) -> list[Candidate]:
    """The client's invoices still owed (oldest due first) that a task's money may go to (not `exclude`, its own)."""
    if client_id is None:
        return []
    rows = session.exec(
        select(Invoice)
        .where(
            Invoice.business_id == business_id,
            Invoice.client_id == client_id,
            col(Invoice.state).in_(ASSIGNABLE_STATES),
            col(Invoice.amount) > col(Invoice.amount_paid),
        )
        .order_by(col(Invoice.due_date), col(Invoice.id))
    ).all()
    found = [
        Candidate(inv.id, inv.number, inv.balance, inv.currency)  # type: ignore[arg-type]
        for inv in rows
        if inv.id != exclude
    ]
    return found[:limit]


def _source(session: Session, task: OwnerTask) -> Invoice:
    inv = session.get(Invoice, task.invoice_id) if task.invoice_id is not None else None
    if inv is None or inv.business_id != task.business_id:
        raise TaskError("the task's invoice is gone")
    return inv


def _excess(task_amount: Decimal, source: Invoice) -> Decimal:
    """What of the task's over-payment the invoice still holds."""
    amount = min(task_amount, source.amount_overpaid)
    if amount <= 0:
        raise TaskError(f"invoice {source.number} holds no over-payment any more")
    return amount


def refund_overpayment(session: Session, task: OwnerTask, amount: Decimal, *, actor: str) -> Decimal:
    """Remboursé: the excess went back to the client; it leaves the invoice. Returns the amount."""
    source = _source(session, task)
    moved = _excess(amount, source)
    _lower_overpaid(session, source, moved)
    close_task(session, task, outcome="refunded", actor=actor, kind="overpayment_refunded",
               details={"number": source.number, "amount": str(moved)})  # fmt: skip
    return moved


def keep_overpayment(session: Session, task: OwnerTask, amount: Decimal, *, actor: str) -> None:
    """Garder en avoir: the excess stays on the invoice as the client's credit."""
    source = _source(session, task)
    close_task(session, task, outcome="kept", actor=actor, kind="overpayment_kept",
               details={"number": source.number, "amount": str(amount)})  # fmt: skip


def assign_overpayment(
    session: Session, task: OwnerTask, amount: Decimal, paid_on: date, target_id: int, *, actor: str
) -> tuple[str, Decimal]:
    """Affecter: the excess leaves its invoice and pays another open invoice of the same client (a payment through
    the state machine, dated `paid_on`, the day the money came). Returns (target number, amount moved)."""
    source = _source(session, task)
    target = _target(session, task, target_id)
    if target.currency != source.currency:
        raise TaskError(f"invoice {target.number} is in {target.currency}, not {source.currency}")
    moved = _excess(amount, source)
    _lower_overpaid(session, source, moved)
    session.add(Payment(invoice_id=target_id, amount=moved, paid_on=paid_on,
                        note=f"{MOVED_PREFIX}{source.number}"[:500]))  # fmt: skip
    try:
        apply_to_invoice(session, target, PaymentReceived(moved, paid_on), actor=actor,
                         details={"from_invoice": source.number, "task_id": task.id})  # fmt: skip
    except (IllegalTransition, InvalidStatus) as exc:
        raise TaskError(f"invoice {target.number}: {exc}") from exc
    settled = target.balance <= 0
    settle_reminders(session, paid_ids=[target_id] if settled else [], partly_ids=[] if settled else [target_id],
                     actor=actor, reason="paid")  # fmt: skip
    close_task(session, task, outcome="assigned", actor=actor, kind="overpayment_assigned",
               details={"number": source.number, "amount": str(moved), "to_invoice": target.number})  # fmt: skip
    return target.number, moved


def assign_credit_note(session: Session, task: OwnerTask, target_id: int, *, actor: str) -> tuple[str, Decimal]:
    """A credit note whose invoice was unknown, applied to the invoice the owner chose (CreditNote event, a Payment
    row noted "avoir <number>" as an import would write). Returns (invoice number, balance after)."""
    target = _target(session, task, target_id)
    payload = _payload(task)
    number = str(payload["number"])
    amount = Decimal(str(payload["amount"]))
    if str(payload.get("currency") or target.currency) != target.currency:
        raise TaskError(f"the credit note is in {payload.get('currency')}, not in {target.currency}")
    if amount > target.balance:
        raise TaskError(f"the credit note of {amount} is more than the balance of {target.number} ({target.balance})")
    issued_on = date.fromisoformat(str(payload["issued_on"]))
    session.add(Payment(invoice_id=target_id, amount=amount, paid_on=issued_on,
                        note=f"{CREDIT_NOTE_PREFIX}{number}"[:500]))  # fmt: skip
    details = {"credit_note": number, "file": payload.get("file"), "sha256": payload.get("sha256"), "task_id": task.id}
    try:
        apply_to_invoice(session, target, CreditNote(amount, issued_on), actor=actor, details=details)
    except (IllegalTransition, InvalidStatus) as exc:
        raise TaskError(f"invoice {target.number}: {exc}") from exc
    settled = target.balance <= 0
    settle_reminders(session, paid_ids=[target_id] if settled else [], partly_ids=[] if settled else [target_id],
                     actor=actor, reason="credit_note")  # fmt: skip
    task.invoice_id = target_id
    close_task(session, task, outcome="assigned", actor=actor, kind="task_handled",
               details={"credit_note": number, "amount": str(amount), "to_invoice": target.number})  # fmt: skip
    return target.number, target.balance


def _payload(task: OwnerTask) -> dict[str, object]:
    loaded = json.loads(task.payload or "{}")
    assert isinstance(loaded, dict)
    return loaded


def _target(session: Session, task: OwnerTask, target_id: int) -> Invoice:
    target = session.get(Invoice, target_id)
    if (
        target is None
        or target.business_id != task.business_id
        or target.client_id != task.client_id
        or target.id == task.invoice_id
    ):
        raise TaskError("not an invoice of this client")
    if target.state not in ASSIGNABLE_STATES or target.balance <= 0:
        raise TaskError(f"invoice {target.number} is {target.state}: nothing is owed on it")
    return target


def _lower_overpaid(session: Session, inv: Invoice, amount: Decimal) -> None:
    """Take `amount` off what the invoice holds beyond its amount (checked as the state machine would)."""
    inv.amount_overpaid -= amount
    invoice_status(session, inv)  # raises InvalidStatus on a figure that cannot be right: nothing is written
    session.add(inv)


def daily_check(session: Session, *, business_id: int, today: date, actor: str = "system") -> int:
    """DayPassed for the business's promised invoices on their follow-up day and for those in a payment plan;
    idempotent (a transition happens once, its task once). Returns how many invoices moved."""
    rows = session.exec(
        select(Invoice)
        .where(
            Invoice.business_id == business_id,
            col(Invoice.state).in_([State.PROMISED.value, State.PAYMENT_PLAN.value]),
        )
        .order_by(col(Invoice.id))
    ).all()
    moved = 0
    for inv in rows:
        if inv.state == State.PROMISED.value and (
            inv.promised_until is None or today < next_business_day(inv.promised_until + timedelta(days=1))
        ):
            continue  # the promise holds until the ladder would follow it up
        try:
            if pass_day(session, inv, today, actor=actor) is not None:
                moved += 1
        except (IllegalTransition, InvalidStatus) as exc:
            # One row that cannot be read must not stop the check of the others (nor the digest after it).
            log.warning("daily check skipped invoice %s: %s", inv.number, exc)
    return moved


def record_overpayment(session: Session, inv: Invoice, excess: Decimal, paid_on: date, *, actor: str,
                       details: dict[str, object]) -> None:  # fmt: skip
    """Money received beyond what the invoice owed (a bank credit larger than the balance): through the state
    machine, which keeps it in `amount_overpaid` and raises the over-payment task."""
    if excess <= 0:
        return
    apply_to_invoice(session, inv, PaymentReceived(excess, paid_on), actor=actor, details=dict(details))
