"""dunning.policy.next_action_date: the first day the policy could act on an invoice, and the indexed scan it allows."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.invoice_states import DayPassed, Instalment, InvoiceStatus, State, apply
from dunning.ladder import DEFAULT_LADDER, Channel, Ladder, Step, Tone
from dunning.policy import InvoiceSnapshot, due_reminders, next_action_date, next_step
from dunning.states import ClientProfile, InvoiceState

MONDAY = date(2026, 11, 23)
STATES = [s.value for s in InvoiceState]
PROFILES = [p.value for p in ClientProfile]
#: A second ladder: two pre-due steps, a long minimum interval, and profile shifts of its own.
TIGHT = Ladder(
    (
        Step("early", -10, Tone.FRIENDLY, Channel.EMAIL),
        Step("courtesy", -2, Tone.FRIENDLY, Channel.EMAIL),
        Step("first", 0, Tone.FRIENDLY, Channel.EMAIL),
        Step("second", 9, Tone.FIRM, Channel.EMAIL),
        Step("call", 20, Tone.FIRM, Channel.PHONE),
    ),
    12,
    {"late_payer": -5, "loyal": 6},
    {"in_difficulty": 20},
)
LADDERS = {"default": DEFAULT_LADDER, "tight": TIGHT}


def snap(**kw: object) -> InvoiceSnapshot:
    """An open invoice of 100.00 due on MONDAY, changed by `kw`."""
    base: dict[str, object] = {"invoice_id": 1, "client_id": 1, "due_date": MONDAY, "balance": Decimal("100.00")}
    return InvoiceSnapshot(**{**base, **kw})  # type: ignore[arg-type]


def first_day_acted(invoice: InvoiceSnapshot, ladder: Ladder, start: date, days: int) -> date | None:
    """The first day in [start, start + days) on which next_step proposes something (brute force)."""
    for n in range(days):
        day = start + timedelta(days=n)
        if next_step(invoice, day, ladder) is not None:
            return day
    return None


# --- cases ---------------------------------------------------------------------------------------------------


def test_new_invoice_acts_on_its_pre_reminder_day() -> None:
    """A new invoice's date is the day its first (pre-due) step is proposed, found by trying every day."""
    invoice = snap(due_date=date(2026, 12, 15))
    found = next_action_date(invoice)
    assert found is not None
    assert found == first_day_acted(invoice, DEFAULT_LADDER, date(2026, 11, 1), 90)
    assert found < invoice.due_date


def test_pre_due_step_pushed_past_the_due_date_gives_way_to_the_next_step() -> None:
    """A pre-due step the minimum interval pushes past the due date is never proposed: the date is the first step
    after the due date, itself held by the interval."""
    invoice = snap(due_date=MONDAY, last_step="early", last_sent_on=MONDAY - timedelta(days=3))
    found = next_action_date(invoice, TIGHT)
    assert found == MONDAY + timedelta(days=9)  # "first" (offset 0) waits 12 days after the send: Wednesday 2nd
    assert found == first_day_acted(invoice, TIGHT, MONDAY - timedelta(days=30), 90)


def test_min_interval_after_last_send_pushes_the_next_step() -> None:
    """The next step waits min_interval_days after the last send, shifted to a business day."""
    invoice = snap(due_date=date(2026, 10, 1), last_step="reminder_1", last_sent_on=date(2026, 11, 27))
    found = next_action_date(invoice)
    assert found is not None and found >= date(2026, 11, 27) + timedelta(days=DEFAULT_LADDER.min_interval_days)
    assert found == first_day_acted(invoice, DEFAULT_LADDER, date(2026, 11, 27), 60)


def test_step_falling_on_a_holiday_moves_to_the_next_business_day() -> None:
    """A step planned on 25 December (a holiday) is dated the next business day, as next_step proposes it."""
    ladder = Ladder((Step("only", 0, Tone.FRIENDLY, Channel.EMAIL),), 7)
    found = next_action_date(snap(due_date=date(2026, 12, 25)), ladder)
    assert found == date(2026, 12, 28)  # Friday 25th is Christmas, 26-27 the week-end


def test_promise_acts_the_day_after_its_date() -> None:
    """A promised invoice: the day after the promised date (the daily check breaks the promise that day)."""
    invoice = snap(state=InvoiceState.PROMISED.value, promised_until=date(2026, 12, 4))
    assert next_action_date(invoice) == date(2026, 12, 5)


def test_snooze_holds_the_date_until_its_end() -> None:
    """A snoozed invoice is not acted on before the snooze ends."""
    invoice = snap(due_date=date(2026, 10, 1), snoozed_until=date(2027, 1, 11))
    assert next_action_date(invoice) == date(2027, 1, 11)


def test_closed_exhausted_and_unknown_step_invoices_have_no_date() -> None:
    """Paid, disputed, written off, cancelled, a zero balance, a ladder run to its end, or a step the ladder no
    longer knows: nothing will happen."""
    for state in ("paid", "disputed", "written_off", "cancelled"):
        assert next_action_date(snap(state=state)) is None
    assert next_action_date(snap(balance=Decimal("0.00"))) is None
    last = DEFAULT_LADDER.steps[-1].name
    assert next_action_date(snap(last_step=last, last_sent_on=MONDAY)) is None
    assert next_action_date(snap(last_step="gone", last_sent_on=MONDAY)) is None


def test_payment_plan_acts_the_day_after_the_first_uncovered_instalment() -> None:
    """A plan: the day after the first instalment not covered by what was paid and not yet reported missed."""
    plan = (
        Instalment(date(2026, 12, 1), Decimal("40.00")),
        Instalment(date(2027, 1, 1), Decimal("30.00")),
        Instalment(date(2027, 2, 1), Decimal("30.00")),
    )
    planned = snap(state=InvoiceState.PAYMENT_PLAN.value)
    assert next_action_date(planned, plan=plan) == date(2026, 12, 2)
    assert next_action_date(planned, plan=plan, plan_paid=Decimal("40.00")) == date(2027, 1, 2)
    assert next_action_date(planned, plan=plan, plan_missed=2) == date(2027, 2, 2)
    assert next_action_date(planned, plan=plan, plan_missed=3) is None


# --- properties ----------------------------------------------------------------------------------------------

days = st.integers(min_value=-150, max_value=150).map(lambda n: MONDAY + timedelta(days=n))
optional_days = st.none() | days


@st.composite
def snapshots(draw: st.DrawFn, ladder: Ladder, invoice_id: int = 1, client_id: int = 1) -> InvoiceSnapshot:
    """Any invoice the scan may meet: any state, balance, profile, history, promise and snooze."""
    names = [s.name for s in ladder.steps]
    last_step = draw(st.none() | st.sampled_from([*names, "gone"]))
    return InvoiceSnapshot(
        invoice_id=invoice_id,
        client_id=client_id,
        due_date=draw(days),
        balance=draw(st.sampled_from([Decimal("0.00"), Decimal("12.50"), Decimal("1000.00")])),
        state=draw(st.sampled_from(STATES)),
        profile=draw(st.sampled_from(PROFILES)),
        last_step=last_step,
        last_sent_on=None if last_step is None else draw(days),
        promised_until=draw(optional_days),
        snoozed_until=draw(optional_days),
    )


@settings(max_examples=400, deadline=None)
@given(data=st.data(), ladder_name=st.sampled_from(sorted(LADDERS)), today=days)
def test_never_later_than_a_step_proposed(data: st.DataObject, ladder_name: str, today: date) -> None:
    """Whenever next_step proposes a step on a day, the invoice's next action date is that day or earlier."""
    ladder = LADDERS[ladder_name]
    invoice = data.draw(snapshots(ladder))
    if next_step(invoice, today, ladder) is not None:
        found = next_action_date(invoice, ladder)
        assert found is not None and found <= today


@settings(max_examples=150, deadline=None)
@given(data=st.data(), ladder_name=st.sampled_from(sorted(LADDERS)))
def test_exact_for_a_chased_invoice(data: st.DataObject, ladder_name: str) -> None:
    """For an open or partially paid invoice without snooze, the date is the very day next_step first proposes a
    step (so the scan reads no invoice before its day)."""
    ladder = LADDERS[ladder_name]
    invoice = data.draw(snapshots(ladder))._replace(
        state=data.draw(st.sampled_from(["open", "partially_paid"])), snoozed_until=None
    )
    found = next_action_date(invoice, ladder)
    start = invoice.due_date - timedelta(days=40)
    end = max(invoice.due_date, invoice.last_sent_on or invoice.due_date) + timedelta(days=60)
    assert found == first_day_acted(invoice, ladder, start, (end - start).days)


@st.composite
def plans(draw: st.DrawFn) -> InvoiceStatus:
    """An invoice in a payment plan: 1 to 5 instalments, part paid, some already reported missed."""
    count = draw(st.integers(min_value=1, max_value=5))
    first = draw(days)
    gaps = draw(st.lists(st.integers(min_value=1, max_value=40), min_size=count - 1, max_size=count - 1))
    dues = [first]
    for gap in gaps:
        dues.append(dues[-1] + timedelta(days=gap))
    amounts = [Decimal(draw(st.integers(min_value=1, max_value=5000))) / 100 for _ in dues]
    total = sum(amounts, Decimal("0.00"))
    paid = Decimal(draw(st.integers(min_value=0, max_value=int(total * 100) - 1))) / 100
    return InvoiceStatus(
        State.PAYMENT_PLAN,
        total,
        first - timedelta(days=30),
        amount_paid=paid,
        plan=tuple(Instalment(d, a) for d, a in zip(dues, amounts, strict=True)),
        plan_paid=paid,
        plan_missed=draw(st.integers(min_value=0, max_value=count)),
    )


@settings(max_examples=300, deadline=None)
@given(status=plans(), today=days)
def test_plan_date_is_the_first_day_an_instalment_is_missed(status: InvoiceStatus, today: date) -> None:
    """The state machine reports a missed instalment on a day only from the plan's next action date on, and does
    on that very day."""
    invoice = snap(state="payment_plan", balance=status.balance)
    found = next_action_date(invoice, plan=status.plan, plan_paid=status.plan_paid, plan_missed=status.plan_missed)
    if apply(status, DayPassed(today)) is not None:
        assert found is not None and found <= today
    if found is not None:
        assert apply(status, DayPassed(found)) is not None


@st.composite
def books(draw: st.DrawFn, ladder: Ladder) -> list[InvoiceSnapshot]:
    """A business's open book: up to 40 invoices over up to 8 clients."""
    count = draw(st.integers(min_value=0, max_value=40))
    return [
        draw(snapshots(ladder, invoice_id=i, client_id=draw(st.integers(min_value=1, max_value=8))))
        for i in range(1, count + 1)
    ]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), ladder_name=st.sampled_from(sorted(LADDERS)), today=days)
def test_indexed_scan_gives_the_reminders_of_the_full_scan(data: st.DataObject, ladder_name: str, today: date) -> None:
    """On any book and day, deciding over only the invoices whose next action date has come gives exactly the
    reminders (clients, steps, invoices, planned dates, broken promises) of deciding over every invoice."""
    ladder = LADDERS[ladder_name]
    book = data.draw(books(ladder))
    indexed = [s for s in book if (d := next_action_date(s, ladder)) is not None and d <= today]
    assert due_reminders(indexed, today, ladder) == due_reminders(book, today, ladder)
