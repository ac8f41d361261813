"""Payment plans, pure: the suggested schedule, the owner's schedule checked, one schedule split over invoices."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.invoice_states import (
    IllegalTransition,
    Instalment,
    InvoiceStatus,
    StartPlan,
    State,
    apply,
)
from dunning.plans import (
    ScheduleError,
    allocate_plan,
    check_schedule,
    first_due,
    next_instalment,
    plan_progress,
    suggest_schedule,
)

D = Decimal
Plan = tuple[list[tuple[int, Decimal]], tuple[Instalment, ...]]
TODAY = date(2026, 11, 30)


def test_suggestion_starts_next_month_and_sums_to_the_balance() -> None:
    """Three instalments of 1 000,00: from the same day next month (30 Dec, then the 30th or the month's end)."""
    plan = suggest_schedule(D("1000.00"), 3, TODAY)
    assert [i.due for i in plan] == [date(2026, 12, 30), date(2027, 1, 30), date(2027, 2, 28)]
    assert [i.amount for i in plan] == [D("333.33"), D("333.33"), D("333.34")]
    assert first_due(date(2027, 1, 31)) == date(2027, 2, 28)


@pytest.mark.parametrize("count", [1, 13, 0])
def test_suggestion_refuses_a_count_out_of_range(count: int) -> None:
    """A plan has 2 to 12 instalments."""
    with pytest.raises(ScheduleError) as err:
        suggest_schedule(D("100.00"), count, TODAY)
    assert err.value.key == "plan.err.count"


def test_suggestion_refuses_a_balance_too_small() -> None:
    """0,05 cannot be paid in 12 instalments of at least one cent."""
    with pytest.raises(ScheduleError) as err:
        suggest_schedule(D("0.05"), 12, TODAY)
    assert err.value.key == "plan.err.too_small"


def _i(day: str, amount: str) -> Instalment:
    return Instalment(date.fromisoformat(day), D(amount))


@pytest.mark.parametrize(
    ("schedule", "key"),
    [
        ([_i("2027-01-15", "1000.00")], "plan.err.count"),
        ([_i("2027-01-15", "100.00")] * 13, "plan.err.count"),
        ([_i("2027-01-15", "0"), _i("2027-02-15", "1000.00")], "plan.err.amount"),
        ([_i("2027-01-15", "-5"), _i("2027-02-15", "1005.00")], "plan.err.amount"),
        ([_i("2027-01-15", "500.005"), _i("2027-02-15", "499.995")], "plan.err.cents"),
        ([_i("2026-11-30", "500.00"), _i("2027-02-15", "500.00")], "plan.err.past"),
        ([_i("2027-02-15", "500.00"), _i("2027-01-15", "500.00")], "plan.err.order"),
        ([_i("2027-01-15", "500.00"), _i("2027-01-15", "500.00")], "plan.err.order"),
        ([_i("2027-01-15", "500.00"), _i("2027-02-15", "400.00")], "plan.err.total"),
    ],
)
def test_a_typed_schedule_is_refused_with_its_reason(schedule: list[Instalment], key: str) -> None:
    """Each fault of an owner's schedule has its own message: count, amount, cents, date, order, total."""
    with pytest.raises(ScheduleError) as err:
        check_schedule(schedule, D("1000.00"), TODAY)
    assert err.value.key == key


def test_a_good_schedule_passes_as_typed() -> None:
    """Uneven amounts on any increasing dates after today are fine when they add up to the balance."""
    schedule = [_i("2026-12-01", "100.00"), _i("2027-03-10", "899.99"), _i("2027-03-11", "0.01")]
    assert check_schedule(schedule, D("1000.00"), TODAY) == tuple(schedule)


def test_allocation_fills_the_oldest_invoice_first_and_splits_an_instalment() -> None:
    """300 + 700 paid in 4 × 250: the oldest gets 250 and 50, the other 200, 250 and 250."""
    schedule = suggest_schedule(D("1000.00"), 4, TODAY)
    parts = allocate_plan([(7, D("300.00")), (3, D("700.00"))], schedule)
    assert [i.amount for i in parts[7]] == [D("250.00"), D("50.00")]
    assert [i.due for i in parts[7]] == [schedule[0].due, schedule[1].due]
    assert [i.amount for i in parts[3]] == [D("200.00"), D("250.00"), D("250.00")]
    assert parts[3][0].due == schedule[1].due


def test_allocation_refuses_a_schedule_that_does_not_add_up() -> None:
    """The parts must account for every cent: a schedule off by one cent is a programming error."""
    with pytest.raises(ValueError, match="adds up"):
        allocate_plan([(1, D("100.00"))], [_i("2027-01-01", "50.00"), _i("2027-02-01", "49.99")])


@st.composite
def _plans(draw: st.DrawFn) -> Plan:
    cents = draw(st.lists(st.integers(2, 500_000), min_size=1, max_size=6))
    balances = [(100 + n, D(c).scaleb(-2)) for n, c in enumerate(cents)]
    total = sum(cents)
    count = draw(st.integers(2, min(12, total)))
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=count - 1, max_size=count - 1)))
    amounts = [D(b - a).scaleb(-2) for a, b in pairwise([0, *cuts, total])]
    gaps = draw(st.lists(st.integers(1, 60), min_size=count, max_size=count))
    dues, day = [], TODAY
    for gap in gaps:
        day += timedelta(days=gap)
        dues.append(day)
    return balances, tuple(Instalment(d, a) for d, a in zip(dues, amounts, strict=True))


@settings(max_examples=300, deadline=None)
@given(_plans())
def test_allocation_keeps_every_sum_and_the_order(plan: Plan) -> None:
    """For any invoices and schedule: each invoice's part sums to its balance, each date's parts sum to that
    instalment, dates increase within an invoice, and an older invoice never has a date after a newer one's first."""
    balances, schedule = plan
    check_schedule(schedule, sum((b for _, b in balances), D("0.00")), TODAY)
    parts = allocate_plan(balances, schedule)
    assert list(parts) == [invoice_id for invoice_id, _ in balances]
    by_date: dict[date, Decimal] = defaultdict(lambda: D("0.00"))
    for invoice_id, balance in balances:
        own = parts[invoice_id]
        assert sum((i.amount for i in own), D("0.00")) == balance
        assert all(i.amount > 0 for i in own)
        assert all(a.due < b.due for a, b in pairwise(own))
        for inst in own:
            by_date[inst.due] += inst.amount
    assert dict(by_date) == {i.due: i.amount for i in schedule}
    for (older, _), (newer, _) in pairwise(balances):
        assert parts[older][-1].due <= parts[newer][0].due
    for invoice_id, balance in balances:
        # Every part is a plan the state machine accepts (one instalment is enough for a shared plan).
        status = InvoiceStatus(State.OPEN, balance, TODAY)
        after = apply(status, StartPlan(parts[invoice_id], TODAY, shared=len(balances) > 1))
        assert after is not None and after.status.state is State.PAYMENT_PLAN


def test_a_plan_of_its_own_still_needs_two_instalments() -> None:
    """One date alone is a promise, unless the invoice shares a plan with others."""
    status = InvoiceStatus(State.OPEN, D("100.00"), TODAY)
    with pytest.raises(IllegalTransition):
        apply(status, StartPlan((_i("2027-01-01", "100.00"),), TODAY))
    shared = apply(status, StartPlan((_i("2027-01-01", "100.00"),), TODAY, shared=True))
    assert shared is not None and shared.status.plan == (_i("2027-01-01", "100.00"),)


def test_a_date_years_away_is_refused() -> None:
    """A slip of the keyboard (2207 for 2027) is caught: the last instalment is at most two years away."""
    with pytest.raises(ScheduleError) as err:
        check_schedule([_i("2027-01-15", "500.00"), _i("2207-02-15", "500.00")], D("1000.00"), TODAY)
    assert err.value.key == "plan.err.too_far"


def test_progress_counts_payments_in_order() -> None:
    """250 paid on 3 × 200 due monthly from 1 Dec: one paid, 50 towards the second; on 5 Jan the second is late
    by 150 and the third (1 Feb) is next."""
    schedule = [_i("2026-12-01", "200.00"), _i("2027-01-01", "200.00"), _i("2027-02-01", "200.00")]
    before = plan_progress(schedule, D("250.00"), date(2026, 12, 15))
    assert (before.instalments_paid, before.next_due, before.next_amount, before.overdue) == (
        1,
        date(2027, 1, 1),
        D("150.00"),
        0,
    )
    assert before.left == D("350.00")
    late = plan_progress(schedule, D("250.00"), date(2027, 1, 5))
    assert (late.overdue, late.overdue_amount, late.next_due, late.next_amount) == (
        1,
        D("150.00"),
        date(2027, 2, 1),
        D("200.00"),
    )
    done = plan_progress(schedule, D("600.00"), date(2027, 3, 1))
    assert (done.instalments_paid, done.next_due, done.left, done.overdue) == (3, None, D("0.00"), 0)


def test_next_instalment_is_the_first_not_covered_even_when_late() -> None:
    """What a bank credit is expected to bring: 250 paid on 3 × 200 leaves 150 of the second, late or not (the late
    one comes before the next in date); once all is paid, none."""
    schedule = [_i("2026-12-01", "200.00"), _i("2027-01-01", "200.00"), _i("2027-02-01", "200.00")]
    assert next_instalment(schedule, D("250.00")) == Instalment(date(2027, 1, 1), D("150.00"))
    assert next_instalment(schedule, D("0.00")) == Instalment(date(2026, 12, 1), D("200.00"))
    assert next_instalment(schedule, D("600.00")) is None


def test_an_invoice_in_a_plan_is_out_of_the_ladder() -> None:
    """The ladder's policy proposes no step for an invoice following a payment plan, however late it is."""
    from dunning.policy import InvoiceSnapshot, next_step
    from dunning.states import InvoiceState

    late = InvoiceSnapshot(1, 1, date(2026, 6, 1), D("900.00"), InvoiceState.OPEN)
    assert next_step(late, TODAY) is not None
    assert next_step(late._replace(state=InvoiceState.PAYMENT_PLAN), TODAY) is None
