"""The dunning policy: table tests for the default ladder and property tests for its invariants."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dunning.calendar import is_business_day, next_business_day
from dunning.ladder import DEFAULT_LADDER
from dunning.policy import InvoiceSnapshot, due_reminders, next_step
from dunning.states import InvoiceState

DUE = date(2026, 11, 10)  # a Tuesday


def inv(**kw: object) -> InvoiceSnapshot:
    """An open invoice of client 1, due on DUE, owing 1 000 €."""
    fields: dict[str, object] = {"invoice_id": 1, "client_id": 1, "due_date": DUE, "balance": Decimal("1000.00")}
    fields.update(kw)
    return InvoiceSnapshot(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("today", "last", "last_on", "expected"),
    [
        (date(2026, 11, 6), None, None, "pre_reminder"),  # J-4 (Friday): the J-3 Saturday moves back to Friday
        (date(2026, 11, 5), None, None, None),  # too early
        (date(2026, 11, 9), None, None, "pre_reminder"),  # still before the due date
        (date(2026, 11, 10), None, None, None),  # due day: pre-reminder no longer, reminder_1 not yet
        (date(2026, 11, 17), None, None, "reminder_1"),  # J+7
        (date(2026, 11, 17), "pre_reminder", date(2026, 11, 6), "reminder_1"),
        (date(2026, 11, 25), "reminder_1", date(2026, 11, 17), "reminder_2"),  # J+15
        (date(2026, 11, 24), "reminder_1", date(2026, 11, 17), None),  # J+14: too early
        (date(2026, 12, 10), "reminder_2", date(2026, 11, 25), "formal_notice"),  # J+30
        (date(2027, 3, 1), "formal_notice", date(2026, 12, 10), None),  # after the ladder: the owner decides
    ],
)
def test_default_ladder_table(today: date, last: str | None, last_on: date | None, expected: str | None) -> None:
    """The default ladder proposes the expected step on each day."""
    due = next_step(inv(last_step=last, last_sent_on=last_on), today)
    assert (due.step.name if due else None) == expected


def test_late_import_starts_with_reminder_1_not_the_formal_notice() -> None:
    """An invoice imported 40 days late gets reminder_1 first, then each step at least 7 days apart."""
    today = next_business_day(DUE + timedelta(days=40))
    first = next_step(inv(), today)
    assert first is not None and first.step.name == "reminder_1"
    # Sent today: the next step is not proposed before 7 days have passed, even though J+15 is long gone.
    assert next_step(inv(last_step="reminder_1", last_sent_on=today), today + timedelta(days=6)) is None
    later = next_business_day(today + timedelta(days=7))
    second = next_step(inv(last_step="reminder_1", last_sent_on=today), later)
    assert second is not None and second.step.name == "reminder_2"


def test_weekend_and_holidays_move_to_next_business_day() -> None:
    """A step falling on a holiday (11 November) or a week-end is proposed on the next business day."""
    # Due 4 Nov 2026: J+7 is Wednesday 11 November (Armistice), so reminder_1 comes on Thursday 12.
    invoice = inv(due_date=date(2026, 11, 4))
    assert next_step(invoice, date(2026, 11, 11)) is None
    due = next_step(invoice, date(2026, 11, 12))
    assert due is not None and due.step.name == "reminder_1" and due.planned_date == date(2026, 11, 12)
    assert due_reminders([invoice], date(2026, 11, 14)) == []  # a Saturday: nothing at all


@pytest.mark.parametrize("state", [InvoiceState.PAID, InvoiceState.DISPUTED, InvoiceState.WRITTEN_OFF])
def test_closed_invoices_get_nothing(state: InvoiceState) -> None:
    """Paid, disputed and written-off invoices are never reminded."""
    assert next_step(inv(state=state), date(2026, 11, 17)) is None


def test_promise_pauses_until_its_date_then_is_followed_up() -> None:
    """A promise pauses reminders through its day; the next business day the step comes back, flagged broken."""
    promised = inv(state=InvoiceState.PROMISED, promised_until=date(2026, 11, 20))  # a Friday
    assert next_step(promised, date(2026, 11, 20)) is None
    due = next_step(promised, date(2026, 11, 23))
    assert due is not None and due.promise_broken and due.step.name == "reminder_1"


def test_snooze_pauses() -> None:
    """A snoozed invoice is not proposed before the snooze date."""
    assert next_step(inv(snoozed_until=date(2026, 11, 20)), date(2026, 11, 17)) is None
    assert next_step(inv(snoozed_until=date(2026, 11, 20)), date(2026, 11, 20)) is not None


def test_profiles_shift_the_ladder() -> None:
    """A loyal client is chased later, a repeat late payer sooner."""
    day = date(2026, 11, 13)  # J+3
    assert next_step(inv(profile="late_payer"), day) is None
    assert next_step(inv(profile="late_payer"), date(2026, 11, 16)) is not None  # J+4 >= 7-3
    assert next_step(inv(profile="loyal"), date(2026, 11, 17)) is None  # J+7 < 7+5
    assert next_step(inv(profile="loyal"), date(2026, 11, 23)) is not None  # J+13 (J+12 is a Sunday)


def test_one_reminder_per_client_at_highest_step() -> None:
    """Several due invoices of one client give one reminder, at the highest of their steps."""
    today = date(2026, 11, 25)
    invoices = [
        inv(invoice_id=1),  # reminder_1 due (nothing sent yet)
        inv(invoice_id=2, last_step="reminder_1", last_sent_on=date(2026, 11, 17)),  # reminder_2 due
        inv(invoice_id=3, client_id=2),
    ]
    result = due_reminders(invoices, today)
    assert [(r.client_id, r.step.name, len(r.invoices)) for r in result] == [(1, "reminder_2", 2), (2, "reminder_1", 1)]
    assert result[0].total == Decimal("2000.00")


# --- properties ---------------------------------------------------------------------------------------------

step_names = [s.name for s in DEFAULT_LADDER.steps]
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
snapshots = st.builds(
    InvoiceSnapshot,
    invoice_id=st.integers(1, 50),
    client_id=st.integers(1, 5),
    due_date=days,
    balance=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    state=st.sampled_from([s.value for s in InvoiceState]),
    profile=st.sampled_from(["standard", "loyal", "late_payer", "key_account", "in_difficulty"]),
    last_step=st.one_of(st.none(), st.sampled_from(step_names)),
    last_sent_on=st.one_of(st.none(), days),
    promised_until=st.one_of(st.none(), days),
    snoozed_until=st.one_of(st.none(), days),
)


@settings(max_examples=400, deadline=None)
@given(invoice=snapshots, today=days)
def test_property_next_step_never_skips_and_respects_rules(invoice: InvoiceSnapshot, today: date) -> None:
    """Whatever the input: one step at most, the one right after the last sent (only the pre-reminder may be
    passed over, and only once due), never on a non-business day, never for closed/snoozed/promised invoices,
    never before the minimum interval."""
    due = next_step(invoice, today)
    if due is None:
        return
    assert is_business_day(today)
    assert invoice.state in (InvoiceState.OPEN, InvoiceState.PARTIALLY_PAID, InvoiceState.PROMISED)
    assert invoice.snoozed_until is None or today >= invoice.snoozed_until
    if invoice.state == InvoiceState.PROMISED and invoice.promised_until is not None:
        assert today > invoice.promised_until and due.promise_broken
    expected_index = 0 if invoice.last_step is None else step_names.index(invoice.last_step) + 1
    got_index = step_names.index(due.step.name)
    if got_index != expected_index:
        assert expected_index == 0 and got_index == 1 and today >= invoice.due_date  # pre-reminder passed over
    if due.step.name == "pre_reminder":
        assert today < invoice.due_date
    if invoice.last_sent_on is not None:
        interval = DEFAULT_LADDER.for_profile(invoice.profile).min_interval_days
        assert today >= invoice.last_sent_on + timedelta(days=interval)
    assert due.planned_date <= today


@settings(max_examples=200, deadline=None)
@given(invoices=st.lists(snapshots, max_size=20, unique_by=lambda s: s.invoice_id), today=days)
def test_property_one_reminder_per_client_at_highest_step(invoices: list[InvoiceSnapshot], today: date) -> None:
    """due_reminders gives at most one reminder per client, covering exactly the invoices with a step due,
    at the highest of their steps."""
    result = due_reminders(invoices, today)
    clients = [r.client_id for r in result]
    assert len(clients) == len(set(clients))
    for reminder in result:
        expected = [i for i in invoices if i.client_id == reminder.client_id and next_step(i, today) is not None]
        assert {d.invoice.invoice_id for d in reminder.invoices} == {i.invoice_id for i in expected}
        top = max(step_names.index(d.step.name) for d in reminder.invoices)
        assert step_names.index(reminder.step.name) == top


@settings(max_examples=100, deadline=None)
@given(invoice=snapshots, start=days)
def test_property_walking_the_calendar_climbs_one_step_at_a_time(invoice: InvoiceSnapshot, start: date) -> None:
    """Sending every proposed step as it comes, day after day, climbs the ladder in order with no gaps."""
    current = InvoiceSnapshot(
        invoice_id=1, client_id=1, due_date=invoice.due_date, balance=Decimal("10.00"), profile=invoice.profile
    )
    sent: list[str] = []
    day = invoice.due_date - timedelta(days=10 - start.toordinal() % 60)
    for _ in range(200):
        due = next_step(current, day)
        if due is not None:
            sent.append(due.step.name)
            current = InvoiceSnapshot(
                invoice_id=1,
                client_id=1,
                due_date=current.due_date,
                balance=current.balance,
                profile=current.profile,
                last_step=due.step.name,
                last_sent_on=day,
            )
        day += timedelta(days=1)
    assert sent == step_names[len(step_names) - len(sent) :] and sent[-1] == "formal_notice"
    assert sent[0] in ("pre_reminder", "reminder_1")
