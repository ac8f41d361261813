"""The invoice state machine: every transition by example, and random event sequences that never break the books."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.invoice_states import (
    CardKind,
    CreditNote,
    DayPassed,
    Dispute,
    EndPlan,
    Event,
    EvidenceKind,
    IllegalTransition,
    Instalment,
    InvalidStatus,
    InvoiceStatus,
    PaymentReceived,
    Promise,
    Reopen,
    ResolveDispute,
    StartPlan,
    State,
    Transition,
    WriteOff,
    apply,
    chased,
    equal_instalments,
    late_claim,
)

D = Decimal
DUE = date(2026, 3, 31)
TODAY = date(2026, 3, 1)


def _new(amount: str = "1000.00", *, consumer: bool = False) -> InvoiceStatus:
    return InvoiceStatus.new(D(amount), DUE, consumer=consumer)


def _do(status: InvoiceStatus, *events: Event) -> Transition:
    """Apply the events in turn; the last transition."""
    transition = None
    for event in events:
        transition = apply(status, event)
        assert transition is not None, event
        status = transition.status
    assert transition is not None
    return transition


def _plan(amount: str, count: int = 2) -> StartPlan:
    return StartPlan(tuple(equal_instalments(D(amount), count, date(2026, 4, 15))), TODAY)


# --- payments ------------------------------------------------------------------------------------------------


def test_partial_payment_makes_the_invoice_partially_paid() -> None:
    """A payment below the balance: partially paid, the rest still chased, one payment_recorded entry."""
    t = _do(_new(), PaymentReceived(D("400.00"), TODAY))
    assert t.status.state is State.PARTIALLY_PAID
    assert t.status.balance == D("600.00")
    assert t.kind is EvidenceKind.PAYMENT_RECORDED
    assert t.payload["from"] == "open" and t.payload["to"] == "partially_paid" and t.payload["balance"] == "600.00"
    assert t.cards == ()
    assert chased(t.status, TODAY)


def test_payment_of_the_balance_on_time_pays_the_invoice_with_no_claim() -> None:
    """Paid in full on the due date: paid, out of the ladder, nothing to claim."""
    t = _do(_new(), PaymentReceived(D("1000.00"), DUE))
    assert t.status.state is State.PAID and t.status.balance == 0
    assert not chased(t.status, DUE)
    assert not late_claim(t.status)
    assert t.cards == ()


def test_late_payment_keeps_penalties_claimable_and_raises_a_card() -> None:
    """Paid ten days late: penalties and indemnity stay claimable; the card offers to claim them."""
    t = _do(_new(), PaymentReceived(D("300.00"), DUE), PaymentReceived(D("700.00"), DUE + timedelta(days=10)))
    assert t.status.state is State.PAID
    assert late_claim(t.status)
    assert [c.kind for c in t.cards] == [CardKind.LATE_PAYMENT]
    assert t.cards[0].payload["days_late"] == 10


def test_a_consumer_paying_late_has_nothing_to_claim() -> None:
    """The commercial penalties and the indemnity never apply to a consumer."""
    t = _do(_new(consumer=True), PaymentReceived(D("1000.00"), DUE + timedelta(days=10)))
    assert t.status.state is State.PAID
    assert not late_claim(t.status)
    assert t.cards == ()


def test_overpayment_is_flagged_never_absorbed() -> None:
    """12 EUR too much: the invoice is paid, the excess is kept apart and raises a card."""
    t = _do(_new(), PaymentReceived(D("1012.00"), TODAY))
    assert t.status.state is State.PAID
    assert t.status.amount_paid == D("1000.00") and t.status.amount_overpaid == D("12.00")
    assert t.payload["overpaid"] == "12.00"
    assert [c.kind for c in t.cards] == [CardKind.OVERPAYMENT]
    assert t.cards[0].payload["amount"] == "12.00"


def test_a_second_payment_on_a_paid_invoice_is_all_overpayment() -> None:
    """The client paid twice: the invoice stays paid and the whole second payment is flagged."""
    t = _do(_new(), PaymentReceived(D("1000.00"), TODAY), PaymentReceived(D("1000.00"), TODAY))
    assert t.status.state is State.PAID
    assert t.status.amount_overpaid == D("1000.00")
    assert [c.kind for c in t.cards] == [CardKind.OVERPAYMENT]


def test_payment_on_a_written_off_invoice_asks_to_reopen_it() -> None:
    """Money on a written-off invoice is refused until the owner reopens it (which puts it back in the ladder)."""
    written_off = _do(_new(), WriteOff()).status
    with pytest.raises(IllegalTransition, match="reopen it first"):
        apply(written_off, PaymentReceived(D("10.00"), TODAY))


@pytest.mark.parametrize("amount", ["0", "-5.00", "10.001", "NaN"])
def test_payment_amount_must_be_positive_cents(amount: str) -> None:
    """Zero, negative, sub-cent or not-a-number payments are refused with the amount in the message."""
    with pytest.raises(IllegalTransition, match="positive amount in cents"):
        apply(_new(), PaymentReceived(D(amount), TODAY))


# --- credit notes --------------------------------------------------------------------------------------------


def test_partial_credit_note_lowers_the_balance_and_stays_open() -> None:
    """A credit note is not a payment: the invoice stays open with a lower balance."""
    t = _do(_new(), CreditNote(D("200.00"), TODAY))
    assert t.status.state is State.OPEN and t.status.balance == D("800.00")
    assert t.kind is EvidenceKind.CREDIT_NOTE_RECORDED
    assert t.payload["amount"] == "200.00"


def test_credit_note_for_the_whole_balance_cancels_the_invoice() -> None:
    """Nothing paid and a credit note for all of it: cancelled, out of the ladder, nothing claimable."""
    t = _do(_new(), CreditNote(D("1000.00"), DUE + timedelta(days=40)))
    assert t.status.state is State.CANCELLED
    assert not chased(t.status, DUE + timedelta(days=40)) and not late_claim(t.status)


def test_credit_note_settling_a_partly_paid_invoice_leaves_it_paid() -> None:
    """Part paid, the rest credited: paid (the money received stays visible), not cancelled."""
    t = _do(_new(), PaymentReceived(D("600.00"), TODAY), CreditNote(D("400.00"), TODAY))
    assert t.status.state is State.PAID
    assert t.status.amount_paid == D("600.00") and t.status.amount_credited == D("400.00")


def test_credit_note_above_the_balance_is_refused() -> None:
    """A credit note larger than what is owed is an error, named with both figures."""
    with pytest.raises(IllegalTransition, match=r"1000\.01 is more than the balance of 1000\.00"):
        apply(_new(), CreditNote(D("1000.01"), TODAY))


def test_credit_note_during_a_plan_shortens_the_last_instalments() -> None:
    """The plan still adds up to the balance: the credit is taken from the last instalments."""
    planned = _do(_new("900.00"), _plan("900.00", 3)).status
    t = _do(planned, CreditNote(D("400.00"), TODAY))
    assert t.status.state is State.PAYMENT_PLAN
    assert [i.amount for i in t.status.plan] == [D("300.00"), D("200.00")]


# --- disputes ------------------------------------------------------------------------------------------------


def test_dispute_stops_the_ladder_and_keeps_its_reason() -> None:
    """A disputed invoice is not chased; the reason is logged."""
    t = _do(_new(), Dispute("  prestation non conforme "))
    assert t.status.state is State.DISPUTED and t.status.dispute_reason == "prestation non conforme"
    assert t.kind is EvidenceKind.DISPUTE_OPENED and t.payload["reason"] == "prestation non conforme"
    assert not chased(t.status, DUE + timedelta(days=30))


def test_resolved_dispute_goes_back_by_balance() -> None:
    """Resolved: back to partially paid when money was received before, chased again."""
    t = _do(_new(), PaymentReceived(D("100.00"), TODAY), Dispute("quantité"), ResolveDispute())
    assert t.status.state is State.PARTIALLY_PAID and t.status.dispute_reason is None
    assert t.kind is EvidenceKind.DISPUTE_CLOSED and t.payload["outcome"] == "resolved"
    assert chased(t.status, TODAY)


def test_disputed_invoice_can_be_written_off() -> None:
    """The other way out of a dispute: the balance is written off."""
    t = _do(_new(), Dispute("litige"), WriteOff())
    assert t.status.state is State.WRITTEN_OFF and t.status.amount_written_off == D("1000.00")
    assert t.payload["from"] == "disputed"


def test_dispute_needs_a_reason_and_cannot_be_opened_twice() -> None:
    """An empty reason, and a second dispute, are refused."""
    with pytest.raises(IllegalTransition, match="needs a reason"):
        apply(_new(), Dispute("   "))
    disputed = _do(_new(), Dispute("litige")).status
    with pytest.raises(IllegalTransition, match="already disputed"):
        apply(disputed, Dispute("autre"))


def test_dispute_during_a_plan_drops_the_plan() -> None:
    """Contesting the invoice ends the plan: the dispute is what the owner deals with now."""
    t = _do(_new(), _plan("1000.00"), Dispute("litige"))
    assert t.status.state is State.DISPUTED and t.status.plan == ()


# --- write-off and reopening ---------------------------------------------------------------------------------


def test_write_off_and_reopen_restore_the_balance() -> None:
    """Written off, then reopened by the owner: the same balance is owed and chased again."""
    paid_part = _do(_new(), PaymentReceived(D("250.00"), TODAY)).status
    off = _do(paid_part, WriteOff())
    assert off.kind is EvidenceKind.WRITTEN_OFF and off.payload["amount"] == "750.00"
    assert off.status.balance == 0 and not chased(off.status, TODAY)
    back = _do(off.status, Reopen())
    assert back.kind is EvidenceKind.REOPENED
    assert back.status.state is State.PARTIALLY_PAID and back.status.balance == D("750.00")


def test_only_a_written_off_invoice_reopens() -> None:
    """Reopening an open invoice is refused, naming the state."""
    with pytest.raises(IllegalTransition, match="cannot reopen: the invoice is open"):
        apply(_new(), Reopen())


# --- promises ------------------------------------------------------------------------------------------------


def test_promise_pauses_the_ladder_until_its_date() -> None:
    """Promised for 15 April: not chased through that day, chased (broken) from the day after."""
    until = date(2026, 4, 15)
    t = _do(_new(), Promise(until, TODAY))
    assert t.status.state is State.PROMISED and t.kind is EvidenceKind.PROMISE_RECORDED
    assert t.payload["until"] == "2026-04-15" and t.payload["previous"] is None
    assert not chased(t.status, until)
    assert chased(t.status, until + timedelta(days=1))
    assert apply(t.status, DayPassed(until)) is None


def test_broken_promise_goes_back_to_chasing_with_a_card() -> None:
    """The day after the promised date, unpaid: chased again, flagged, and the owner gets a card."""
    until = date(2026, 4, 15)
    t = _do(_new(), Promise(until, TODAY), DayPassed(until + timedelta(days=1)))
    assert t.status.state is State.OPEN and t.status.broken_promise == until
    assert t.kind is EvidenceKind.PROMISE_BROKEN
    assert [c.kind for c in t.cards] == [CardKind.PROMISE_BROKEN]


def test_kept_promise_is_paid() -> None:
    """Paid before the promised date: paid, and the tick has nothing to do."""
    t = _do(_new(), Promise(date(2026, 4, 15), TODAY), PaymentReceived(D("1000.00"), date(2026, 4, 10)))
    assert t.status.state is State.PAID and t.status.promised_until is None
    assert late_claim(t.status)  # paid on 10 April, due 31 March
    assert apply(t.status, DayPassed(date(2026, 5, 1))) is None


def test_new_promise_replaces_the_previous_one() -> None:
    """A second promise moves the date; the log keeps the previous one."""
    t = _do(_new(), Promise(date(2026, 4, 15), TODAY), Promise(date(2026, 4, 30), TODAY))
    assert t.status.promised_until == date(2026, 4, 30) and t.payload["previous"] == "2026-04-15"


def test_promise_in_the_past_or_on_a_disputed_invoice_is_refused() -> None:
    """A date already gone, and a promise on a contested invoice, are refused."""
    with pytest.raises(IllegalTransition, match="in the past"):
        apply(_new(), Promise(TODAY - timedelta(days=1), TODAY))
    disputed = _do(_new(), Dispute("litige")).status
    with pytest.raises(IllegalTransition, match="cannot record a promise to pay: the invoice is disputed"):
        apply(disputed, Promise(date(2026, 4, 15), TODAY))


# --- payment plans -------------------------------------------------------------------------------------------


def test_plan_takes_the_invoice_out_of_the_ladder() -> None:
    """Three instalments summing to the balance: in a plan, not chased, the schedule logged."""
    t = _do(_new(), _plan("1000.00", 3))
    assert t.status.state is State.PAYMENT_PLAN and t.kind is EvidenceKind.PLAN_STARTED
    assert t.payload["instalments"][0] == {"due": "2026-04-15", "amount": "333.33"}
    assert not chased(t.status, date(2026, 5, 1))


def test_paid_instalments_are_not_missed() -> None:
    """The first instalment paid on time: the day after its date has nothing to report."""
    t = _do(_new(), _plan("1000.00"), PaymentReceived(D("500.00"), date(2026, 4, 15)))
    assert t.status.state is State.PAYMENT_PLAN and t.status.plan_paid == D("500.00")
    assert apply(t.status, DayPassed(date(2026, 4, 16))) is None


def test_missed_instalment_raises_one_card_once() -> None:
    """Unpaid the day after its date: one card; the next day does not repeat it; the plan keeps running."""
    planned = _do(_new(), _plan("1000.00", 3)).status
    assert apply(planned, DayPassed(date(2026, 4, 15))) is None
    t = _do(planned, DayPassed(date(2026, 4, 16)))
    assert t.kind is EvidenceKind.PLAN_INSTALMENT_MISSED
    assert [(c.kind, c.payload["number"]) for c in t.cards] == [(CardKind.INSTALMENT_MISSED, 1)]
    assert t.cards[0].payload["amount"] == "333.33" and t.cards[0].payload["balance"] == "1000.00"
    assert t.status.state is State.PAYMENT_PLAN and t.status.plan_missed == 1
    assert apply(t.status, DayPassed(date(2026, 4, 17))) is None


def test_plan_payments_cover_instalments_in_order() -> None:
    """400 paid on a 3 x 333.33 plan covers the first only; both later dates passed: the second and third missed."""
    planned = _do(_new(), _plan("1000.00", 3), PaymentReceived(D("400.00"), date(2026, 4, 10))).status
    t = _do(planned, DayPassed(date(2026, 6, 20)))
    assert [c.payload["number"] for c in t.cards] == [2, 3]
    assert t.payload["instalments"][0] == {"number": 2, "due": "2026-05-15", "amount": "333.33"}
    assert t.status.plan_missed == 3


def test_ending_the_plan_resumes_the_ladder() -> None:
    """The owner ends the plan after a miss: partially paid, chased again."""
    t = _do(_new(), _plan("1000.00"), PaymentReceived(D("100.00"), TODAY), EndPlan())
    assert t.status.state is State.PARTIALLY_PAID and t.status.plan == ()
    assert t.kind is EvidenceKind.PLAN_ENDED and t.payload["plan_paid"] == "100.00"
    assert chased(t.status, TODAY)


def test_last_instalment_paid_closes_the_plan() -> None:
    """Every instalment paid: the invoice is paid and the plan is gone."""
    t = _do(_new(), _plan("1000.00"), PaymentReceived(D("500.00"), TODAY), PaymentReceived(D("500.00"), TODAY))
    assert t.status.state is State.PAID and t.status.plan == ()


@pytest.mark.parametrize(
    ("instalments", "message"),
    [
        (((date(2026, 4, 15), "1000.00"),), "at least two instalments"),
        (((date(2026, 4, 15), "500.00"), (date(2026, 4, 15), "500.00")), "each after the previous one"),
        (((date(2026, 2, 15), "500.00"), (date(2026, 4, 15), "500.00")), "is in the past"),
        (((date(2026, 4, 15), "500.00"), (date(2026, 5, 15), "400.00")), "add up to 900.00, not to the balance"),
        (((date(2026, 4, 15), "1000.00"), (date(2026, 5, 15), "0.00")), "positive amount in cents"),
    ],
)
def test_bad_plans_are_refused(instalments: tuple[tuple[date, str], ...], message: str) -> None:
    """One instalment, dates out of order or past, a wrong total, a nil instalment: each refused with a reason."""
    event = StartPlan(tuple(Instalment(d, D(a)) for d, a in instalments), TODAY)
    with pytest.raises(IllegalTransition, match=message):
        apply(_new(), event)


def test_plan_events_outside_a_plan_are_refused() -> None:
    """Ending a plan that does not exist names the state."""
    with pytest.raises(IllegalTransition, match="cannot end a payment plan: the invoice is open"):
        apply(_new(), EndPlan())


# --- closed invoices and invalid statuses --------------------------------------------------------------------


@pytest.mark.parametrize("event", [WriteOff(), CreditNote(D("1.00"), TODAY), Dispute("x"), ResolveDispute()])
def test_nothing_but_money_applies_to_a_paid_invoice(event: Event) -> None:
    """A paid invoice cannot be written off, credited, disputed or resolved."""
    paid = _do(_new(), PaymentReceived(D("1000.00"), TODAY)).status
    with pytest.raises(IllegalTransition, match="paid"):
        apply(paid, event)


def test_inconsistent_statuses_cannot_be_built() -> None:
    """A storage row that contradicts itself fails loudly instead of feeding the machine."""
    with pytest.raises(InvalidStatus, match="balance"):
        InvoiceStatus(State.PAID, D("100.00"), DUE, amount_paid=D("50.00"))
    with pytest.raises(InvalidStatus, match="partially paid"):
        InvoiceStatus(State.OPEN, D("100.00"), DUE, amount_paid=D("50.00"))
    with pytest.raises(InvalidStatus, match="promised date"):
        InvoiceStatus(State.PROMISED, D("100.00"), DUE)
    with pytest.raises(InvalidStatus, match="exceed the amount"):
        InvoiceStatus(State.OPEN, D("100.00"), DUE, amount_credited=D("150.00"))
    with pytest.raises(ValueError, match="'settled' is not a valid State"):
        InvoiceStatus("settled", D("100.00"), DUE)  # type: ignore[arg-type]


def test_a_stored_state_text_becomes_the_state() -> None:
    """A row's text state is read as the enum, so the machine treats it like any other status."""
    status = InvoiceStatus("partially_paid", D("100.00"), DUE, amount_paid=D("10.00"))  # type: ignore[arg-type]
    assert status.state is State.PARTIALLY_PAID
    assert _do(status, WriteOff()).status.amount_written_off == D("90.00")


# --- equal instalments ---------------------------------------------------------------------------------------


def test_equal_instalments_put_the_cents_left_on_the_last() -> None:
    """100 EUR in 3: 33.33, 33.33, 33.34, monthly, the 31st clamped to each month's end."""
    got = equal_instalments(D("100.00"), 3, date(2026, 1, 31))
    assert got == [
        Instalment(date(2026, 1, 31), D("33.33")),
        Instalment(date(2026, 2, 28), D("33.33")),
        Instalment(date(2026, 3, 31), D("33.34")),
    ]


def test_equal_instalments_cross_the_year() -> None:
    """From November, the third instalment falls in January of the next year."""
    got = equal_instalments(D("90.00"), 3, date(2026, 11, 5))
    assert [i.due for i in got] == [date(2026, 11, 5), date(2026, 12, 5), date(2027, 1, 5)]


@pytest.mark.parametrize(("balance", "count"), [("100.00", 1), ("100.00", 13), ("0.05", 12), ("-10.00", 2)])
def test_equal_instalments_refuse_impossible_splits(balance: str, count: int) -> None:
    """Outside 2 to 12 instalments, a negative balance, or less than a cent each: a clear error."""
    with pytest.raises(ValueError, match=r"instalment|balance"):
        equal_instalments(D(balance), count, TODAY)


cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: D(c).scaleb(-2))


@given(balance=cents, count=st.integers(min_value=2, max_value=12), first=st.dates(date(2000, 1, 1), date(2099, 1, 1)))
def test_equal_instalments_sum_exactly_with_increasing_dates(balance: Decimal, count: int, first: date) -> None:
    """Any balance that allows a cent each, any count: exact sum, positive cents, dates strictly increasing."""
    if balance < D(count) / 100:
        with pytest.raises(ValueError):
            equal_instalments(balance, count, first)
        return
    got = equal_instalments(balance, count, first)
    assert len(got) == count and got[0].due == first
    assert sum(i.amount for i in got) == balance
    assert all(i.amount > 0 and i.amount == i.amount.quantize(D("0.01")) for i in got)
    assert all(b.due > a.due for a, b in pairwise(got))
    assert max(i.amount for i in got) - min(i.amount for i in got) < D("0.01") * count


# --- random event sequences ----------------------------------------------------------------------------------


days = st.integers(min_value=-40, max_value=200).map(lambda n: DUE + timedelta(days=n))
small = st.integers(min_value=1, max_value=150_000).map(lambda c: D(c).scaleb(-2))
Recipe = Callable[[InvoiceStatus], Event]


def _share(spec: Decimal | str, status: InvoiceStatus) -> Decimal:
    """An amount: a fixed one, or the balance, half of it, or a cent more (what makes states change)."""
    if isinstance(spec, Decimal):
        return spec
    balance = status.balance
    return {"balance": balance, "half": (balance / 2).quantize(D("0.01")), "over": balance + D("0.01")}[spec]


def _plan_for(count: int, first: date, exact: bool) -> Recipe:
    """A plan of the balance from `first` (or of a wrong total when not `exact`), agreed on `first`."""

    def make(status: InvoiceStatus) -> Event:
        total = status.balance if exact else status.balance + D("1.00")
        try:
            return StartPlan(tuple(equal_instalments(total, count, first)), first)
        except ValueError:  # nothing (or too little) owed: a plan of a made-up amount, refused by the machine
            return StartPlan(tuple(equal_instalments(D("100.00"), count, first)), first)

    return make


def _next_date_passed(status: InvoiceStatus, after: int) -> Event:
    """The tick on the day after the promised date or the next instalment (plus `after` days)."""
    if status.promised_until is not None:
        return DayPassed(status.promised_until + timedelta(days=1 + after))
    pending = status.plan[status.plan_missed :] if status.plan else ()
    return DayPassed((pending[0].due if pending else DUE) + timedelta(days=1 + after))


amounts = st.one_of(small, st.sampled_from(["balance", "half", "over"]))
recipes: st.SearchStrategy[Recipe] = st.one_of(
    st.builds(lambda a, d: lambda s: PaymentReceived(_share(a, s), d), amounts, days),
    st.builds(lambda a, d: lambda s: CreditNote(_share(a, s), d), amounts, days),
    st.sampled_from(["litige", "", "quantité"]).map(lambda r: lambda s: Dispute(r)),
    *(st.just(lambda s, e=e: e) for e in (ResolveDispute(), WriteOff(), Reopen(), EndPlan())),
    st.builds(lambda u, t: lambda s: Promise(u, t), days, days),
    st.builds(_plan_for, st.integers(min_value=2, max_value=4), days, st.booleans()),
    st.builds(lambda d: lambda s: DayPassed(d), days),
    st.integers(min_value=0, max_value=40).map(lambda n: lambda s: _next_date_passed(s, n)),
    st.just(lambda s: _next_date_passed(s, 0)),
)


def _check_books(status: InvoiceStatus) -> None:
    """The invariants the brief states, checked independently of the module's own validation."""
    assert status.balance >= 0
    assert status.amount_paid + status.amount_credited + status.amount_written_off + status.balance == status.amount
    if status.state not in (State.WRITTEN_OFF, State.CANCELLED):
        assert (status.state is State.PAID) == (status.balance == 0)
    else:
        assert status.balance == 0


@settings(max_examples=400)
@given(amount=small, consumer=st.booleans(), sequence=st.lists(recipes, max_size=25))
def test_random_event_sequences_keep_the_books_right(amount: Decimal, consumer: bool, sequence: list[Recipe]) -> None:
    """Whatever happens, in any order: the books balance, every change is logged, refusals change nothing."""
    status = InvoiceStatus.new(amount, DUE, consumer=consumer)
    received = D(0)
    for recipe in sequence:
        event, before = recipe(status), status
        try:
            transition = apply(status, event)
        except IllegalTransition as exc:
            assert str(exc)
            assert status == before
            continue
        if transition is None:
            assert isinstance(event, DayPassed)
            continue
        assert transition.kind in set(EvidenceKind)
        assert transition.payload["from"] == before.state and transition.payload["to"] == transition.status.state
        assert all(card.kind in set(CardKind) for card in transition.cards)
        status = transition.status
        _check_books(status)
        if isinstance(event, PaymentReceived):
            received += event.amount
            overpaid_now = status.amount_overpaid - before.amount_overpaid
            assert (overpaid_now > 0) == any(c.kind is CardKind.OVERPAYMENT for c in transition.cards)
        assert status.amount_paid + status.amount_overpaid == received
        if late_claim(status):
            assert not status.consumer and status.state is State.PAID
