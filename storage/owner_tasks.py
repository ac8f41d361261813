"""The owner's tasks: questions raised by an invoice's transition (an over-payment, a late payment whose penalties
can be claimed, a broken promise, a missed instalment) or by an import (a credit note whose invoice is unknown),
kept in `owner_task` until the owner answers them.

Raising is idempotent: each question has a dedupe key (unique per business), so the same transition seen twice, or
the daily check run twice, raises it once. Handling locks the task and checks the version its card showed (a
second tap is stale), then closes it with its evidence entry in the caller's transaction. The money moves that
some answers make (assigning an over-payment or a credit note) live in `storage.task_actions`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from dunning.invoice_states import Card, CardKind, Transition
from storage.evidence import record
from storage.models import Client, Invoice, OwnerTask
from storage.types import utcnow

log = logging.getLogger(__name__)

#: An imported credit note whose invoice is unknown (not a state machine card: it has no invoice yet).
CREDIT_NOTE = "credit_note"
OPEN = "open"
DONE = "done"
DISMISSED = "dismissed"


class TaskError(Exception):
    """A task cannot be handled as asked; the message says why."""


class UnknownTaskError(TaskError):
    """No task with that id in this business."""


class StaleTaskError(TaskError):
    """The task changed since its card was shown (already handled)."""


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as a card shows it: its question (`kind`, `payload`), the client and invoice it is about."""

    task_id: int
    kind: str
    version: int
    state: str
    outcome: str | None
    client_id: int | None
    client_name: str
    invoice_id: int | None
    number: str
    currency: str
    payload: Mapping[str, Any]
    created_at: datetime

    @property
    def is_open(self) -> bool:
        """True while the owner has not answered."""
        return self.state == OPEN

    def amount(self, key: str = "amount") -> Decimal:
        """A money value of the payload (zero when absent)."""
        return Decimal(str(self.payload.get(key) or "0.00"))


def dedupe_key(invoice_id: int, card: Card, transition: Transition) -> str:
    """The key that makes a card raised twice one task: per invoice, and per promise date, instalment, or running
    total of what was over-paid."""
    match card.kind:
        case CardKind.LATE_PAYMENT:
            return f"late_payment:{invoice_id}"
        case CardKind.PROMISE_BROKEN:
            return f"promise_broken:{invoice_id}:{card.payload.get('until')}"
        case CardKind.INSTALMENT_MISSED:
            return f"instalment_missed:{invoice_id}:{card.payload.get('number')}"
        case CardKind.OVERPAYMENT:
            return f"overpayment:{invoice_id}:{transition.status.amount_overpaid}"
    return f"{card.kind.value}:{invoice_id}"  # pragma: no cover - every CardKind is listed above


def raise_tasks(session: Session, inv: Invoice, transition: Transition, *, actor: str) -> list[int]:
    """One open task per card of `transition` on `inv` (a card already raised is not raised again); their ids.

    The transition's own evidence entry lists the cards: raising writes no entry of its own."""
    if inv.id is None:
        session.flush()
    assert inv.id is not None
    ids = []
    for card in transition.cards:
        payload = {"number": inv.number, **card.payload}
        task_id = _insert(
            session,
            business_id=inv.business_id,
            kind=card.kind.value,
            key=dedupe_key(inv.id, card, transition),
            client_id=inv.client_id,
            invoice_id=inv.id,
            payload=payload,
        )
        if task_id is not None:
            ids.append(task_id)
            log.info("task %s raised on invoice %s by %s (%s)", card.kind.value, inv.number, actor, task_id)
    return ids


def raise_credit_note_task(
    session: Session,
    *,
    business_id: int,
    client_id: int | None,
    number: str,
    amount: Decimal,
    currency: str,
    issued_on: date,
    referenced: str | None,
    buyer_name: str,
    file: str,
    sha256: str,
    actor: str,
) -> int | None:
    """A credit note whose invoice is unknown, for the owner to assign (None when it was already raised); its
    evidence entry `credit_note_to_assign` in the same transaction."""
    payload = {
        "number": number,
        "amount": str(amount),
        "currency": currency,
        "issued_on": issued_on.isoformat(),
        "referenced": referenced,
        "buyer": buyer_name,
        "file": file,
        "sha256": sha256,
    }
    task_id = _insert(session, business_id=business_id, kind=CREDIT_NOTE, key=f"credit_note:{number}"[:128],
                      client_id=client_id, invoice_id=None, payload=payload)  # fmt: skip
    if task_id is not None:
        record(session, actor=actor, kind="credit_note_to_assign", business_id=business_id, client_id=client_id,
               payload={**payload, "task_id": task_id})  # fmt: skip
    return task_id


def _insert(
    session: Session,
    *,
    business_id: int,
    kind: str,
    key: str,
    client_id: int | None,
    invoice_id: int | None,
    payload: Mapping[str, Any],
) -> int | None:
    """Insert the task unless its key is already there (also when another transaction wins the race)."""
    exists = session.exec(
        select(OwnerTask.id).where(OwnerTask.business_id == business_id, OwnerTask.dedupe_key == key)
    ).first()
    if exists is not None:
        return None
    task = OwnerTask(
        business_id=business_id,
        kind=kind,
        dedupe_key=key,
        client_id=client_id,
        invoice_id=invoice_id,
        payload=json.dumps(dict(payload), sort_keys=True, default=str),
    )
    try:
        with session.begin_nested():
            session.add(task)
            session.flush()
    except IntegrityError:
        return None
    return task.id


def _view(session: Session, task: OwnerTask) -> TaskView:
    client = session.get(Client, task.client_id) if task.client_id is not None else None
    inv = session.get(Invoice, task.invoice_id) if task.invoice_id is not None else None
    payload = json.loads(task.payload or "{}")
    assert task.id is not None
    return TaskView(
        task_id=task.id,
        kind=task.kind,
        version=task.version,
        state=task.state,
        outcome=task.outcome,
        client_id=task.client_id,
        client_name=client.name if client is not None else str(payload.get("buyer") or ""),
        invoice_id=task.invoice_id,
        number=inv.number if inv is not None else str(payload.get("number") or ""),
        currency=inv.currency if inv is not None else str(payload.get("currency") or "EUR"),
        payload=payload,
        created_at=task.created_at,
    )


def open_tasks(session: Session, business_id: int, *, after_id: int = 0, limit: int = 50) -> list[TaskView]:
    """The tasks waiting for the owner, oldest first (only those raised after task `after_id` when given)."""
    rows = session.exec(
        select(OwnerTask)
        .where(OwnerTask.business_id == business_id, OwnerTask.state == OPEN, col(OwnerTask.id) > after_id)
        .order_by(col(OwnerTask.id))
        .limit(limit)
    ).all()
    return [_view(session, t) for t in rows]


def last_task_id(session: Session, business_id: int) -> int:
    """The id of the business's latest task (0 for none): what an action raised is what comes after it."""
    found = session.exec(
        select(OwnerTask.id).where(OwnerTask.business_id == business_id).order_by(col(OwnerTask.id).desc())
    ).first()
    return found or 0


def task_view(session: Session, business_id: int, task_id: int) -> TaskView | None:
    """One task of the business (None when unknown)."""
    task = session.get(OwnerTask, task_id)
    if task is None or task.business_id != business_id:
        return None
    return _view(session, task)


def view_of(session: Session, task: OwnerTask) -> TaskView:
    """The view of a loaded task."""
    return _view(session, task)


def lock_task(session: Session, *, business_id: int, task_id: int, version: int) -> OwnerTask:
    """The open task at the version its card showed, locked for the caller's transaction; UnknownTaskError,
    StaleTaskError (answered already, or another version)."""
    stmt = select(OwnerTask).where(OwnerTask.id == task_id, OwnerTask.business_id == business_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    task = session.exec(stmt).first()
    if task is None:
        raise UnknownTaskError(f"no task {task_id}")
    if task.state != OPEN or task.version != version:
        raise StaleTaskError(f"task {task_id} is {task.state} at version {task.version}")
    return task


def close_task(
    session: Session,
    task: OwnerTask,
    *,
    outcome: str,
    actor: str,
    kind: str,
    details: Mapping[str, Any] | None = None,
    dismissed: bool = False,
) -> None:
    """Mark the task answered (`outcome`: what the owner chose), its version bumped, with its evidence entry."""
    task.state = DISMISSED if dismissed else DONE
    task.outcome = outcome[:32]
    task.version += 1
    task.handled_at = utcnow()
    session.add(task)
    payload: dict[str, Any] = {"task_id": task.id, "task": task.kind, "outcome": outcome, **(details or {})}
    record(session, actor=actor, kind=kind, business_id=task.business_id, client_id=task.client_id,
           invoice_id=task.invoice_id, payload=payload)  # fmt: skip
