"""Payment plans (échéancier), pure: the suggested schedule, the check of a schedule the owner typed, and the
split of one schedule over the several invoices it pays.

A schedule is one list of instalments for the client (what their e-mail shows); each invoice of the plan gets its
own part of it (what the state machine follows per invoice): the oldest invoice is paid off first, so an instalment
may be split between the end of one invoice and the start of the next.
Refusals are `ScheduleError`s carrying a catalogue key and its values (the chat catalogues word them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from dunning.invoice_states import (
    CENT,
    MAX_INSTALMENTS,
    MIN_INSTALMENTS,
    ZERO,
    Instalment,
    equal_instalments,
    months_after,
)

__all__ = [
    "MAX_INSTALMENTS",
    "MIN_INSTALMENTS",
    "PlanProgress",
    "ScheduleError",
    "allocate_plan",
    "check_schedule",
    "first_due",
    "next_instalment",
    "plan_progress",
    "suggest_schedule",
]


#: The last instalment comes at most this long after the proposal (a typing slip like 2207 is refused).
MAX_SPAN = timedelta(days=2 * 366)


class ScheduleError(ValueError):
    """A schedule that cannot be proposed: `key` (catalogue key) and `values` say why."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def first_due(today: date) -> date:
    """The first instalment's date of a suggested plan: the same day next month (the month's last day if shorter)."""
    return months_after(today, 1)


def suggest_schedule(balance: Decimal, count: int, today: date) -> tuple[Instalment, ...]:
    """`count` equal monthly instalments of `balance` from the same day next month (cents left over on the last).

    Raises ScheduleError when the count is out of range or the balance too small for that many instalments.
    """
    if not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
        raise ScheduleError("plan.err.count", count=count, low=MIN_INSTALMENTS, high=MAX_INSTALMENTS)
    try:
        return tuple(equal_instalments(balance, count, first_due(today)))
    except ValueError:
        raise ScheduleError("plan.err.too_small", balance=balance, count=count) from None


def check_schedule(schedule: Sequence[Instalment], balance: Decimal, today: date) -> tuple[Instalment, ...]:
    """`schedule` if the owner may propose it for `balance` on `today`, else ScheduleError naming the first fault:
    2 to 12 instalments, each date after today and after the previous one, each amount positive in cents, adding
    up exactly to the balance."""
    if not MIN_INSTALMENTS <= len(schedule) <= MAX_INSTALMENTS:
        raise ScheduleError("plan.err.count", count=len(schedule), low=MIN_INSTALMENTS, high=MAX_INSTALMENTS)
    for number, inst in enumerate(schedule, start=1):
        if not inst.amount.is_finite() or inst.amount <= 0:
            raise ScheduleError("plan.err.amount", number=number, amount=inst.amount)
        if inst.amount != inst.amount.quantize(CENT):
            raise ScheduleError("plan.err.cents", number=number, amount=inst.amount)
        if inst.due <= today:
            raise ScheduleError("plan.err.past", number=number, day=inst.due)
        if inst.due > today + MAX_SPAN:
            raise ScheduleError("plan.err.too_far", number=number, day=inst.due)
    for number, (before, after) in enumerate(pairwise(schedule), start=2):
        if after.due <= before.due:
            raise ScheduleError("plan.err.order", number=number, day=after.due, previous=before.due)
    total = sum((i.amount for i in schedule), ZERO)
    if total != balance:
        raise ScheduleError("plan.err.total", total=total, balance=balance, gap=balance - total)
    return tuple(schedule)


def allocate_plan(
    balances: Sequence[tuple[int, Decimal]], schedule: Sequence[Instalment]
) -> dict[int, tuple[Instalment, ...]]:
    """Each invoice's part of `schedule`: `balances` are (invoice id, balance) in the order they are paid off
    (oldest first); the instalments fill the first invoice, then the next, an instalment split where an invoice's
    balance ends. Every invoice's part adds up to its balance; the parts of one date add up to that instalment.

    Raises ValueError when the schedule does not add up to the balances (check_schedule first).
    """
    if any(balance <= 0 for _, balance in balances):
        raise ValueError("every invoice of a plan has a positive balance")
    if len({invoice_id for invoice_id, _ in balances}) != len(balances):
        raise ValueError("an invoice appears twice")
    owed = sum((balance for _, balance in balances), ZERO)
    total = sum((i.amount for i in schedule), ZERO)
    if owed != total:
        raise ValueError(f"the schedule adds up to {total}, the invoices to {owed}")
    parts: dict[int, tuple[Instalment, ...]] = {}
    index, left = 0, schedule[0].amount if schedule else ZERO
    for invoice_id, balance in balances:
        own: list[Instalment] = []
        need = balance
        while need > 0:
            take = min(need, left)
            own.append(Instalment(schedule[index].due, take))
            need -= take
            left -= take
            if left == 0 and index + 1 < len(schedule):
                index += 1
                left = schedule[index].amount
        parts[invoice_id] = tuple(own)
    return parts


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """Where a plan stands: what was paid on it, what is left, the next instalment expected (what is left of it) and
    the instalments past their date not covered. Payments cover the instalments in order."""

    total: Decimal
    paid: Decimal
    instalments: int
    instalments_paid: int
    next_due: date | None
    next_amount: Decimal
    overdue: int
    overdue_amount: Decimal

    @property
    def left(self) -> Decimal:
        """What is still expected on the plan."""
        return max(ZERO, self.total - self.paid)


def plan_progress(schedule: Sequence[Instalment], paid: Decimal, today: date) -> PlanProgress:
    """The progress of `schedule` on `today` with `paid` received on it (the one computation every screen shows)."""
    covered = paid
    done, overdue, overdue_amount = 0, 0, ZERO
    next_due: date | None = None
    next_amount = ZERO
    for inst in schedule:
        on_it = min(covered, inst.amount)
        covered -= on_it
        rest = inst.amount - on_it
        if rest == 0:
            done += 1
            continue
        if inst.due < today:
            overdue += 1
            overdue_amount += rest
        elif next_due is None:
            next_due, next_amount = inst.due, rest
    return PlanProgress(
        total=sum((i.amount for i in schedule), ZERO),
        paid=paid,
        instalments=len(schedule),
        instalments_paid=done,
        next_due=next_due,
        next_amount=next_amount,
        overdue=overdue,
        overdue_amount=overdue_amount,
    )


def next_instalment(schedule: Sequence[Instalment], paid: Decimal) -> Instalment | None:
    """The first instalment `paid` does not cover, with what is left of it, whatever its date (None when all are):
    plan_progress's next instalment counting none as past (what a bank credit paying the plan is expected to be)."""
    progress = plan_progress(schedule, paid, date.min)
    return None if progress.next_due is None else Instalment(progress.next_due, progress.next_amount)
