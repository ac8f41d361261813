"""The owner's tasks, chat-free: the questions Relance asks after a transition or an import (an over-payment, a late
payment's penalties, a broken promise, a missed instalment, a credit note with no known invoice), listed, shown one
by one with the invoices their money may go to, and answered under a version check (a second tap is stale).

`daily_check` ticks the promised invoices and those in a payment plan (storage.task_actions); the digest runs it
before it is built. Reading (open_tasks, task) changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.context import BusinessContext
from services.core import Msg
from services.plans import end_plan
from storage.db import read_session, write_session
from storage.invoices import invoice_row
from storage.owner_tasks import (
    CREDIT_NOTE,
    StaleTaskError,
    TaskError,
    TaskView,
    UnknownTaskError,
    close_task,
    last_task_id,
    lock_task,
    task_view,
    view_of,
)
from storage.owner_tasks import open_tasks as stored_open_tasks
from storage.task_actions import (
    Candidate,
    assign_credit_note,
    assign_overpayment,
    candidates,
    keep_overpayment,
    refund_overpayment,
)
from storage.task_actions import daily_check as stored_daily_check

log = logging.getLogger(__name__)

#: The answers each kind of task takes (the chat's buttons map onto these).
ACTIONS: dict[str, frozenset[str]] = {
    "overpayment": frozenset({"refunded", "assign", "keep"}),
    "late_payment": frozenset({"claim", "skip"}),
    "promise_broken": frozenset({"ok"}),
    "instalment_missed": frozenset({"remind", "end"}),
    CREDIT_NOTE: frozenset({"assign", "ignore"}),
}
#: The most tasks shown at once (digest, /taches); the rest are counted.
MAX_SHOWN = 20


@dataclass(frozen=True, slots=True)
class TaskCard:
    """A task and the client's invoices its money may go to (over-payment, credit note)."""

    view: TaskView
    candidates: tuple[Candidate, ...] = ()


@dataclass
class TaskOutcome:
    """What an answer did: the message, the task as it is now, and the draft to show (a penalty claim, an
    instalment reminder) or the invoices to choose among (`status` "choose": nothing changed yet)."""

    status: Literal["done", "stale", "unknown", "invalid", "failed", "choose"]
    message: Msg | None = None
    card: TaskCard | None = None
    reminder_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when the answer was recorded."""
        return self.status == "done"


def daily_check(ctx: BusinessContext, today: date, *, actor: str = "system") -> int:
    """DayPassed on the promised and payment-plan invoices (broken promises, missed instalments raise their tasks
    once); how many invoices moved. Idempotent."""
    with write_session(ctx.engine) as session:
        return stored_daily_check(session, business_id=ctx.business_id, today=today, actor=actor)


def open_tasks(ctx: BusinessContext, *, after_id: int = 0, limit: int = MAX_SHOWN) -> tuple[list[TaskCard], int]:
    """The tasks waiting for the owner, oldest first (those raised after task `after_id` when given), and how many
    wait in all."""
    with read_session(ctx.engine) as session:
        views = stored_open_tasks(session, ctx.business_id, after_id=after_id, limit=10_000)
        shown = [_card(session, ctx.business_id, v) for v in views[:limit]]
    return shown, len(views)


def last_id(ctx: BusinessContext) -> int:
    """The latest task's id: an action's new tasks are those after it."""
    with read_session(ctx.engine) as session:
        return last_task_id(session, ctx.business_id)


def task(ctx: BusinessContext, task_id: int) -> TaskCard | None:
    """One task of the business with its candidates (None when unknown)."""
    with read_session(ctx.engine) as session:
        view = task_view(session, ctx.business_id, task_id)
        return None if view is None else _card(session, ctx.business_id, view)


def _card(session: Any, business_id: int, view: TaskView) -> TaskCard:
    if view.kind not in ("overpayment", CREDIT_NOTE) or not view.is_open:
        return TaskCard(view)
    found = candidates(session, business_id=business_id, client_id=view.client_id, exclude=view.invoice_id)
    return TaskCard(view, tuple(found))


def act(
    ctx: BusinessContext, task_id: int, version: int, action: str, *, actor: str, arg: int | None = None
) -> TaskOutcome:
    """The owner's answer to a task, at the version its card showed (see ACTIONS); `arg` is the invoice chosen for
    "assign" (without it, the outcome lists the invoices to choose among and nothing changes)."""
    current = task(ctx, task_id)
    if current is None:
        return TaskOutcome("unknown", Msg("cb.unknown"))
    view = current.view
    if not view.is_open or view.version != version:
        return TaskOutcome("stale", Msg("cb.already"), current)
    if action not in ACTIONS.get(view.kind, frozenset()):
        return TaskOutcome("unknown", Msg("cb.unknown"), current)
    if action == "assign" and arg is None:
        if not current.candidates:
            return TaskOutcome("invalid", Msg("tasks.no_candidate"), current)
        return TaskOutcome("choose", None, current)
    if action in ("claim", "remind", "end"):
        return _outside(ctx, view, action, actor=actor)
    try:
        with write_session(ctx.engine) as session:
            row = lock_task(session, business_id=ctx.business_id, task_id=task_id, version=version)
            message = _answer(session, row, view, action, arg, actor=actor)
            done = TaskCard(view_of(session, row))
    except UnknownTaskError:
        return TaskOutcome("unknown", Msg("cb.unknown"))
    except StaleTaskError:
        return TaskOutcome("stale", Msg("cb.already"), task(ctx, task_id))
    except TaskError as exc:
        from services.refusals import illegal_transition, refusal

        # The state machine's refusals in the catalogue's words (the state named); the others as the task says.
        said = refusal(exc) if illegal_transition(exc) else Msg("tasks.refused", reason=str(exc))
        return TaskOutcome("invalid", said, task(ctx, task_id))
    return TaskOutcome("done", message, done)


def _answer(session: Any, row: Any, view: TaskView, action: str, arg: int | None, *, actor: str) -> Msg:
    """Carry out an answer that stays inside Relance's storage, in the caller's transaction; its message."""
    amount = view.amount()
    if view.kind == "overpayment":
        if action == "refunded":
            moved = refund_overpayment(session, row, amount, actor=actor)
            return Msg("tasks.done.refunded", amount=moved, number=view.number)
        if action == "keep":
            keep_overpayment(session, row, amount, actor=actor)
            return Msg("tasks.done.kept", amount=amount, client=view.client_name)
        assert arg is not None
        paid_on = date.fromisoformat(str(view.payload.get("paid_on") or view.created_at.date().isoformat()))
        target, moved = assign_overpayment(session, row, amount, paid_on, arg, actor=actor)
        return Msg("tasks.done.assigned", amount=moved, number=target)
    if view.kind == CREDIT_NOTE:
        if action == "ignore":
            close_task(session, row, outcome="ignored", actor=actor, kind="task_handled",
                       details={"credit_note": view.number}, dismissed=True)  # fmt: skip
            return Msg("tasks.done.credit_ignored", number=view.number)
        assert arg is not None
        target, balance = assign_credit_note(session, row, arg, actor=actor)
        return Msg("tasks.done.credit_assigned", number=view.number, invoice=target, balance=balance)
    outcome = {"skip": "skipped", "ok": "noted"}[action]
    close_task(session, row, outcome=outcome, actor=actor, kind="task_handled", details={"number": view.number},
               dismissed=action == "skip")  # fmt: skip
    return Msg(f"tasks.done.{outcome}")


def _outside(ctx: BusinessContext, view: TaskView, action: str, *, actor: str) -> TaskOutcome:
    """Réclamer les pénalités / Relancer (a draft outside the ladder) / Terminer l'échéancier: the other feature's
    service acts, then the task is closed (a draft proposed twice the same day is one draft: a repeated tap is
    harmless)."""
    assert view.invoice_id is not None
    reminder_id: int | None = None
    if action == "end":
        ended = end_plan(ctx, view.invoice_id, actor=actor)
        if not ended.ok and _in_plan(ctx, view.invoice_id):
            return TaskOutcome("failed", ended.message or Msg("tasks.failed"), TaskCard(view))
        # Ended now, or already (from another of its invoices' cards, or paid off): the question is answered.
        message = Msg("tasks.done.ended", number=view.number)
    else:
        # Imported here: the drafts outside the ladder are their own feature, loaded when a task first asks for one.
        from services.extra_drafts import claim_penalties, remind_instalment

        make = claim_penalties if action == "claim" else remind_instalment
        draft = make(ctx, view.invoice_id, actor=actor)
        if draft.error is not None or draft.reminder_id is None:
            return TaskOutcome("failed", draft.error or Msg("tasks.failed"), TaskCard(view))
        reminder_id = draft.reminder_id
        message = Msg("tasks.done.claimed" if action == "claim" else "tasks.done.reminded", number=view.number)
    outcome = {"claim": "claimed", "remind": "reminded", "end": "ended"}[action]
    try:
        with write_session(ctx.engine) as session:
            row = lock_task(session, business_id=ctx.business_id, task_id=view.task_id, version=view.version)
            details: dict[str, Any] = {"number": view.number}
            if reminder_id is not None:
                details["reminder_id"] = reminder_id
            close_task(session, row, outcome=outcome, actor=actor, kind="task_handled", details=details)
            done = TaskCard(view_of(session, row))
    except TaskError:
        # Answered meanwhile (a double tap): the draft is the same one, show it.
        return TaskOutcome("stale", Msg("cb.already"), task(ctx, view.task_id), reminder_id)
    return TaskOutcome("done", message, done, reminder_id)


def _in_plan(ctx: BusinessContext, invoice_id: int) -> bool:
    """Whether the invoice still follows a payment plan."""
    with read_session(ctx.engine) as session:
        row = invoice_row(session, business_id=ctx.business_id, invoice_id=invoice_id)
    return row is not None and row.state == "payment_plan"
