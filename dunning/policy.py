"""What is due today: the next step of each unpaid invoice, grouped into one reminder per client."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import NamedTuple

from dunning.calendar import is_business_day, next_business_day, previous_business_day
from dunning.invoice_states import Instalment
from dunning.ladder import DEFAULT_LADDER, Ladder, Step
from dunning.states import InvoiceState

#: States the ladder never chases: nothing owed, under discussion, or following a payment plan (which has its own
#: follow-up); open and partially paid are chased, promised once its date has passed.
_CLOSED = frozenset(
    {
        InvoiceState.PAID,
        InvoiceState.DISPUTED,
        InvoiceState.WRITTEN_OFF,
        InvoiceState.CANCELLED,
        InvoiceState.PAYMENT_PLAN,
    }
)


class InvoiceSnapshot(NamedTuple):
    """What the policy needs to know about one invoice (plain values, read from storage by the caller).

    A NamedTuple rather than a dataclass: a million of these are built per run, and tuples build fastest.
    """

    invoice_id: int
    client_id: int
    due_date: date
    balance: Decimal
    state: str = InvoiceState.OPEN
    profile: str = "standard"
    last_step: str | None = None  # the last step actually sent for this invoice
    last_sent_on: date | None = None  # the local day it was sent
    promised_until: date | None = None
    snoozed_until: date | None = None


class DueInvoice(NamedTuple):
    """One invoice that has a step due today."""

    invoice: InvoiceSnapshot
    step: Step
    planned_date: date
    promise_broken: bool = False


@dataclass(frozen=True, slots=True)
class DueReminder:
    """One reminder to one client today, at the highest step among the invoices it covers."""

    client_id: int
    step: Step
    invoices: tuple[DueInvoice, ...]

    @property
    def total(self) -> Decimal:
        """The balance of all the invoices it covers."""
        return sum((d.invoice.balance for d in self.invoices), Decimal("0.00"))

    @property
    def promise_broken(self) -> bool:
        """True when one of the invoices had a promise to pay that was not kept."""
        return any(d.promise_broken for d in self.invoices)


def next_step(invoice: InvoiceSnapshot, today: date, ladder: Ladder = DEFAULT_LADDER) -> DueInvoice | None:
    """The step due today for `invoice`, or None.

    Rules: closed, promised-until-later and snoozed invoices get nothing; steps go in order from the one after
    the last step sent; a pre-due step (negative offset) is proposed only before the due date; a later step waits
    until its date and at least `min_interval_days` after the previous send; dates falling on a week-end or a
    French public holiday move to the next business day (a pre-due step moves to the business day before, so it
    still arrives before the due date); nothing is proposed on a non-business day.
    """
    if invoice.state in _CLOSED or invoice.balance <= 0:
        return None
    promise_broken = False
    if invoice.promised_until is not None and invoice.state == InvoiceState.PROMISED:
        # The promise is kept until the end of its day; follow up the business day after.
        if today <= invoice.promised_until or today < next_business_day(invoice.promised_until + timedelta(1)):
            return None
        promise_broken = True
    if invoice.snoozed_until is not None and today < invoice.snoozed_until:
        return None
    if not is_business_day(today):
        return None
    lad = _for_profile(ladder, invoice.profile)
    if invoice.last_step is None:
        idx = 0
    else:
        try:
            idx = lad.index(invoice.last_step) + 1
        except KeyError:
            # The ladder was edited and no longer knows this step: leave the invoice to the owner
            # rather than guess where it stands (guessing could resend an earlier, softer step).
            return None
    due = invoice.due_date
    while idx < len(lad.steps):
        step = lad.steps[idx]
        if step.offset_days < 0:
            if today >= due:
                idx += 1  # a courtesy pre-reminder makes no sense once the invoice is due
                continue
            planned = previous_business_day(due + timedelta(days=step.offset_days))
            if invoice.last_sent_on is not None:
                planned = max(planned, invoice.last_sent_on + timedelta(days=lad.min_interval_days))
            if planned <= today:
                return DueInvoice(invoice, step, planned, promise_broken)
            return None
        planned = due + timedelta(days=step.offset_days)
        if invoice.last_sent_on is not None:
            planned = max(planned, invoice.last_sent_on + timedelta(days=lad.min_interval_days))
        planned = next_business_day(planned)
        if planned <= today:
            return DueInvoice(invoice, step, planned, promise_broken)
        return None
    return None


def next_action_date(
    invoice: InvoiceSnapshot,
    ladder: Ladder = DEFAULT_LADDER,
    *,
    plan: Sequence[Instalment] = (),
    plan_paid: Decimal = Decimal("0.00"),
    plan_missed: int = 0,
) -> date | None:
    """The first day on which the policy could do something for `invoice`, or None when nothing ever will.

    Something is: `next_step` proposing a step (the ladder's next step, its business-day shift and the minimum
    interval since the last send, not before the end of a snooze), the daily check breaking a promise (the day after
    its date) or reporting a missed instalment of a payment plan (the day after the first instalment not covered by
    the plan's payments, `plan`, `plan_paid` and `plan_missed` as the state machine holds them). Storage keeps it on
    each invoice so that the morning scan reads only the invoices whose day has come.

    Never later than the true first day (a later one would miss a reminder); exact for an invoice the ladder chases
    without a snooze, a day early at most for a promise (the ladder follows it up on the business day after).
    """
    if invoice.balance <= 0:
        return None
    state = invoice.state
    if state == InvoiceState.PAYMENT_PLAN:
        return _next_instalment_check(plan, plan_paid, plan_missed)
    if state in _CLOSED:
        return None
    if state == InvoiceState.PROMISED and invoice.promised_until is not None:
        return invoice.promised_until + timedelta(days=1)  # the daily check breaks it; the ladder follows
    found = _next_ladder_date(invoice, _for_profile(ladder, invoice.profile))
    if found is not None and invoice.snoozed_until is not None and found < invoice.snoozed_until:
        found = invoice.snoozed_until
    return found


def _next_ladder_date(invoice: InvoiceSnapshot, lad: Ladder) -> date | None:
    """The first day `next_step` proposes a step (for a state the ladder chases, snooze and promise aside)."""
    if invoice.last_step is None:
        idx = 0
    else:
        try:
            idx = lad.index(invoice.last_step) + 1
        except KeyError:
            return None  # next_step leaves it to the owner
    if idx >= len(lad.steps):
        return None
    due = invoice.due_date
    earliest_after: date | None = None
    if invoice.last_sent_on is not None:
        earliest_after = invoice.last_sent_on + timedelta(days=lad.min_interval_days)
    pre: date | None = None
    step = lad.steps[idx]
    if step.offset_days < 0:
        # Before the due date this pre-due step is the one proposed (on a business day before the due date);
        # from the due date on, the pre-due steps are skipped and the first later step is the one.
        planned = previous_business_day(due + timedelta(days=step.offset_days))
        if earliest_after is not None:
            planned = max(planned, earliest_after)
        first = next_business_day(planned)
        if first < due:
            pre = first
        while idx < len(lad.steps) and lad.steps[idx].offset_days < 0:
            idx += 1
        if idx >= len(lad.steps):
            return pre
    planned = due + timedelta(days=lad.steps[idx].offset_days)
    if earliest_after is not None:
        planned = max(planned, earliest_after)
    post = next_business_day(planned)
    return post if pre is None else min(pre, post)


def _next_instalment_check(plan: Sequence[Instalment], plan_paid: Decimal, plan_missed: int) -> date | None:
    """The day after the first instalment the daily check may report missed (not yet reported, not covered)."""
    due_so_far = Decimal("0.00")
    for index, inst in enumerate(plan):
        due_so_far += inst.amount
        if index >= plan_missed and due_so_far > plan_paid:
            return inst.due + timedelta(days=1)
    return None


_profile_cache: dict[tuple[int, str], Ladder] = {}


def _for_profile(ladder: Ladder, profile: str) -> Ladder:
    key = (id(ladder), profile)
    cached = _profile_cache.get(key)
    if cached is None or cached.steps[0].name != ladder.steps[0].name:
        cached = ladder.for_profile(profile)
        if len(_profile_cache) > 256:
            _profile_cache.clear()
        _profile_cache[key] = cached
    return cached


def due_reminders(
    invoices: Iterable[InvoiceSnapshot], today: date, ladder: Ladder = DEFAULT_LADDER
) -> list[DueReminder]:
    """The reminders due `today`: one per client, covering all their invoices with a step due, at the highest
    of those steps (by position in the ladder). Sorted by client id; each reminder's invoices keep the order in
    which they were given (the storage layer orders them for display)."""
    if not is_business_day(today):
        return []
    # The caller (storage.reminders.due_today) pauses the cyclic collector around reading and deciding: a
    # process-wide switch has no place in the pure policy.
    return _due_reminders(invoices, today, ladder)


def _due_reminders(invoices: Iterable[InvoiceSnapshot], today: date, ladder: Ladder) -> list[DueReminder]:
    by_client: dict[int, list[DueInvoice]] = {}
    order = {s.name: i for i, s in enumerate(ladder.steps)}
    top: dict[int, int] = {}
    # The decision depends only on dates, states and the profile, which many invoices share: decide once per
    # distinct combination (a million invoices typically have a few thousand), then attach each invoice.
    decided: dict[tuple[object, ...], tuple[Step, date, bool, int] | None] = {}
    new = tuple.__new__
    # The fields the decision depends on (all but the ids and the balance), read in one C call.
    decision_key = itemgetter(2, 4, 5, 6, 7, 8, 9)
    for invoice in invoices:
        if invoice.balance <= 0:
            continue
        key = decision_key(invoice)
        try:
            decision = decided[key]
        except KeyError:
            found = next_step(invoice, today, ladder)
            decision = decided[key] = (
                None
                if found is None
                else (found.step, found.planned_date, found.promise_broken, order[found.step.name])
            )
        if decision is None:
            continue
        client_id = invoice.client_id
        items = by_client.get(client_id)
        if items is None:
            items = by_client[client_id] = []
            top[client_id] = decision[3]
        elif decision[3] > top[client_id]:
            top[client_id] = decision[3]
        items.append(new(DueInvoice, (invoice, decision[0], decision[1], decision[2])))
    result = []
    steps = ladder.steps
    for client_id in sorted(by_client):
        result.append(DueReminder(client_id, steps[top[client_id]], tuple(by_client[client_id])))
    return result
