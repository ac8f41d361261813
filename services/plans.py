"""Payment plans (échéancier), chat-free: the plan suggested from a reminder's card, the schedule the owner typed,
the proposal (a proposed plan and its schedule e-mail to approve like any reminder), the end of a plan, and what a
plan looks like on /client, /factures and the cards.

The plan becomes active when its schedule e-mail is approved (services.delivery.start_plan, in the approval's
transaction); until then the invoices stay in the ladder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from dunning.invoice_states import Instalment
from dunning.plans import PlanProgress, ScheduleError, check_schedule, plan_progress, suggest_schedule
from services.context import BusinessContext
from services.core import InputError, Msg, Outcome, parse_owner_amount
from storage.db import read_session, write_session
from storage.plans import (
    PLANNABLE_STATES,
    PlanError,
    PlanView,
    cancel_proposal,
    client_plans,
    create_plan,
    plan_of_invoice,
    plan_view,
    set_plan_reminder,
)
from storage.plans import end_plan as end_stored_plan
from storage.reminders import ReminderView, reminder_view

#: The count of instalments suggested first, and the choices a card offers.
DEFAULT_COUNT = 3
COUNT_CHOICES = (2, 3, 4, 6, 12)
#: The most lines a typed schedule may have (more is refused by the count check anyway).
_MAX_LINES = 24
_LINE = re.compile(r"^\s*(\S+)\s*[;:|]?\s*(.+?)\s*$")
_DAY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

Status = Literal["done", "stale", "unknown", "invalid", "failed"]


@dataclass(frozen=True, slots=True)
class PlanInvoiceLine:
    """An invoice a plan would pay: its number and balance."""

    invoice_id: int
    number: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class PlanSuggestion:
    """The plan a reminder's card suggests: equal monthly instalments of its invoices' balance (or why not)."""

    status: Status
    message: Msg | None = None
    reminder_id: int = 0
    version: int = 0
    client_name: str = ""
    currency: str = "EUR"
    invoices: tuple[PlanInvoiceLine, ...] = ()
    count: int = DEFAULT_COUNT
    schedule: tuple[Instalment, ...] = ()

    @property
    def total(self) -> Decimal:
        """The balance the plan pays."""
        return sum((i.balance for i in self.invoices), Decimal("0.00"))

    @property
    def ok(self) -> bool:
        """True when a plan can be proposed from this card."""
        return self.status == "done"


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    """A proposal's result: the plan and its schedule e-mail (a reminder whose card the chat shows), or why not."""

    status: Status
    message: Msg | None = None
    plan_id: int | None = None
    reminder_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when the plan was proposed and its e-mail drafted."""
        return self.status == "done"


@dataclass(frozen=True, slots=True)
class PlanFacts:
    """A plan as the owner's screens show it: its invoices, schedule and progress (paid, next due, late)."""

    plan_id: int
    state: str
    started_on: date | None
    currency: str
    numbers: tuple[str, ...]
    invoice_ids: tuple[int, ...]
    schedule: tuple[Instalment, ...]
    progress: PlanProgress


# --- reading ------------------------------------------------------------------------------------------------


def paid_on_plan(view: PlanView) -> Decimal:
    """What was paid on a plan since it started: each invoice still in it counts what it received during the plan;
    an invoice paid off counts its whole part; one that left otherwise (cancelled, disputed...) counts nothing."""
    total = Decimal("0.00")
    for inv in view.invoices:
        if inv.in_plan:
            total += inv.plan_paid
        elif inv.state == "paid":
            total += sum((p.amount for p in view.parts if p.invoice_id == inv.invoice_id), Decimal("0.00"))
    return total


def facts_of(view: PlanView, today: date) -> PlanFacts:
    """The facts of a stored plan on `today` (one computation: dunning.plans.plan_progress)."""
    return PlanFacts(
        plan_id=view.plan_id,
        state=view.state,
        started_on=view.started_on,
        currency=view.currency,
        numbers=tuple(i.number for i in view.invoices),
        invoice_ids=tuple(i.invoice_id for i in view.invoices),
        schedule=view.schedule,
        progress=plan_progress(view.schedule, paid_on_plan(view), today),
    )


def plan_facts(ctx: BusinessContext, plan_id: int) -> PlanFacts | None:
    """A plan of the business as the screens show it, or None."""
    with read_session(ctx.engine) as session:
        view = plan_view(session, business_id=ctx.business_id, plan_id=plan_id)
    return None if view is None else facts_of(view, ctx.clock.today())


def invoice_plan(ctx: BusinessContext, invoice_id: int) -> PlanFacts | None:
    """The plan an invoice follows now, or None."""
    with read_session(ctx.engine) as session:
        view = plan_of_invoice(session, business_id=ctx.business_id, invoice_id=invoice_id)
    return None if view is None else facts_of(view, ctx.clock.today())


def active_plans(ctx: BusinessContext, client_id: int) -> list[PlanFacts]:
    """The client's running plans, newest first (what /client shows)."""
    with read_session(ctx.engine) as session:
        views = client_plans(session, business_id=ctx.business_id, client_id=client_id, states=("active",))
    today = ctx.clock.today()
    return [facts_of(v, today) for v in views]


def plans_by_invoice(ctx: BusinessContext, invoice_ids: Iterable[int]) -> dict[int, PlanFacts]:
    """The running plan of each of these invoices that follows one (what /factures shows beside them)."""
    out: dict[int, PlanFacts] = {}
    today = ctx.clock.today()
    with read_session(ctx.engine) as session:
        seen: dict[int, PlanFacts] = {}
        for invoice_id in invoice_ids:
            view = plan_of_invoice(session, business_id=ctx.business_id, invoice_id=invoice_id)
            if view is None or view.state != "active":
                continue
            facts = seen.setdefault(view.plan_id, facts_of(view, today))
            out[invoice_id] = facts
    return out


# --- suggesting and proposing -------------------------------------------------------------------------------


def _current_view(ctx: BusinessContext, reminder_id: int, version: int) -> tuple[Status, ReminderView | None]:
    with read_session(ctx.engine) as session:
        view = reminder_view(session, reminder_id, ctx.clock.today())
    if view is None or view.business_id != ctx.business_id:
        return "unknown", None
    if view.version != version or not view.awaiting_owner:
        return "stale", view
    return "done", view


def _plannable(view: ReminderView) -> tuple[PlanInvoiceLine, ...]:
    return tuple(
        PlanInvoiceLine(i.invoice_id, i.number, i.balance)
        for i in sorted(view.invoices, key=lambda i: (i.due_date, i.invoice_id))
        if i.state in PLANNABLE_STATES and i.balance > 0
    )


def suggest(ctx: BusinessContext, reminder_id: int, version: int, *, count: int | None = None) -> PlanSuggestion:
    """Equal monthly instalments (2 to 12, DEFAULT_COUNT unless told) of the balance of the card's invoices, the
    first on the same day next month; "stale" when the card moved on, "invalid" with the reason otherwise."""
    status, view = _current_view(ctx, reminder_id, version)
    if view is None:
        return PlanSuggestion("unknown", Msg("cb.unknown"))
    if status != "done":
        return PlanSuggestion("stale", Msg("cb.already"), reminder_id, version)
    invoices = _plannable(view)
    chosen = DEFAULT_COUNT if count is None else count
    base = PlanSuggestion("done", None, reminder_id, version, view.client_name,
                          view.invoices[0].currency if view.invoices else "EUR", invoices, chosen)  # fmt: skip
    if not invoices:
        return PlanSuggestion("invalid", Msg("plan.nothing"), reminder_id, version, view.client_name)
    try:
        schedule = suggest_schedule(base.total, chosen, ctx.clock.today())
    except ScheduleError as exc:
        return PlanSuggestion("invalid", Msg(exc.key, **exc.values), reminder_id, version, view.client_name,
                              base.currency, invoices, chosen)  # fmt: skip
    return PlanSuggestion("done", None, reminder_id, version, view.client_name, base.currency, invoices, chosen,
                          schedule)  # fmt: skip


def parse_schedule(text: str, balance: Decimal, today: date) -> tuple[Instalment, ...]:
    """The owner's schedule, one instalment a line ("15/01/2027 500,00"), checked against the balance (2 to 12
    instalments, dates after today and increasing, amounts adding up); raises InputError naming the fault."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        raise InputError("plan.err.empty")
    if len(lines) > _MAX_LINES:
        raise InputError("plan.err.count", count=len(lines), low=2, high=12)
    schedule = []
    for number, line in enumerate(lines, start=1):
        shown = line.strip()[:60]
        m = _LINE.match(line)
        if not m:
            raise InputError("plan.err.line", number=number, text=shown)
        due = _parse_day(m[1])
        if due is None:
            raise InputError("plan.err.line_date", number=number, text=shown)
        try:
            amount = parse_owner_amount(m[2])
        except InputError:
            raise InputError("plan.err.line_amount", number=number, text=shown) from None
        schedule.append(Instalment(due, amount))
    try:
        return check_schedule(schedule, balance, today)
    except ScheduleError as exc:
        raise InputError(exc.key, **exc.values) from None


def _parse_day(text: str) -> date | None:
    """15/01/2027, 15.01.27 or 2027-01-15 (the year is needed: a plan runs over months)."""
    try:
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DAY.match(text):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(year, int(m[2]), int(m[1]))
    except ValueError:
        return None
    return None


def schedule_text(schedule: Sequence[Instalment]) -> str:
    """A schedule as the owner types it, one line per instalment ("15/01/2027 500,00"): prefills an edit."""
    return "\n".join(f"{i.due.strftime('%d/%m/%Y')} {i.amount:.2f}".replace(".", ",") for i in schedule)


def propose(
    ctx: BusinessContext, reminder_id: int, version: int, instalments: Sequence[Instalment], *, actor: str
) -> PlanOutcome:
    """Propose a plan paying the card's invoices by `instalments`: the plan is stored (proposed) and its schedule
    e-mail drafted for approval (services.extra_drafts); approving that e-mail starts the plan. Nothing is kept when
    the e-mail cannot be drafted (fail closed)."""
    from services.extra_drafts import draft_plan_schedule

    status, view = _current_view(ctx, reminder_id, version)
    if view is None:
        return PlanOutcome("unknown", Msg("cb.unknown"))
    if status != "done":
        return PlanOutcome("stale", Msg("cb.already"))
    invoices = _plannable(view)
    if not invoices:
        return PlanOutcome("invalid", Msg("plan.nothing"))
    today = ctx.clock.today()
    total = sum((i.balance for i in invoices), Decimal("0.00"))
    try:
        schedule = check_schedule(instalments, total, today)
    except ScheduleError as exc:
        return PlanOutcome("invalid", Msg(exc.key, **exc.values))
    try:
        with write_session(ctx.engine) as session:
            plan_id = create_plan(session, business_id=ctx.business_id, client_id=view.client_id,
                                  invoice_ids=[i.invoice_id for i in invoices], schedule=schedule, today=today,
                                  actor=actor)  # fmt: skip
    except PlanError as exc:
        return PlanOutcome("invalid", Msg(exc.key, **exc.values))
    draft = draft_plan_schedule(ctx, plan_id, actor=actor)
    with write_session(ctx.engine) as session:
        if draft.error is not None or draft.reminder_id is None:
            cancel_proposal(session, business_id=ctx.business_id, plan_id=plan_id, today=today, actor=actor,
                            reason="draft_failed")  # fmt: skip
            return PlanOutcome("failed", draft.error or Msg("plan.draft_failed"), plan_id)
        set_plan_reminder(session, business_id=ctx.business_id, plan_id=plan_id, reminder_id=draft.reminder_id)
    return PlanOutcome("done", Msg("plan.proposed", count=len(schedule)), plan_id, draft.reminder_id)


def end_plan(ctx: BusinessContext, invoice_id: int, *, actor: str) -> Outcome:
    """End the plan the invoice follows: EndPlan on each of its invoices still in it, the ladder resumes on their
    balance. "invalid" (nothing changed) when the invoice follows no plan."""
    try:
        with write_session(ctx.engine) as session:
            view = end_stored_plan(session, business_id=ctx.business_id, invoice_id=invoice_id,
                                   today=ctx.clock.today(), actor=actor)  # fmt: skip
    except PlanError as exc:
        return Outcome("invalid", Msg(exc.key, **exc.values))
    numbers = ", ".join(i.number for i in view.invoices)
    return Outcome("done", Msg("plan.ended", numbers=numbers))
