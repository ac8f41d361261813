"""Late-payment penalties: hand-computed reference cases, the rate table and the legal limits."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.penalties import (
    RECOVERY_INDEMNITY,
    BalanceEvent,
    InvoicePenalties,
    MissingRateError,
    PenaltyError,
    RateTableError,
    balance_events_from_payments,
    compute_penalties,
    half_year_of,
    invoice_penalties,
)
from services.rates import load_rate_table

TABLE = load_rate_table()
D = Decimal


def _unpaid(amount: str, due: date, today: date, **kw: object) -> object:
    return compute_penalties(
        balance_events=[(due - timedelta(days=30), D(amount))], due_date=due, today=today, rate_table=TABLE, **kw
    )


def test_reference_case_45_days_at_13_15() -> None:
    """10 000 € due 1 March 2025, unpaid on 15 April 2025: 45 days at 13.15 % = 162,12 € and 40 € indemnity."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 4, 15))
    assert result.days_late == 45
    assert result.penalty == D("162.12")
    assert result.indemnity == D("40.00")
    assert [s.rate for s in result.segments] == [D("13.15")]
    assert result.total == D("202.12")


def test_crossing_1_july_2025_switches_rate() -> None:
    """Due 15 June 2025, today 15 July 2025: 15 days at 13.15 % then 15 days at 12.15 % = 54.04 + 49.93 = 103.97."""
    result = _unpaid("10000.00", date(2025, 6, 15), date(2025, 7, 15))
    assert result.days_late == 30
    assert [(s.half_year, s.days, s.rate) for s in result.segments] == [
        ("2025-H1", 15, D("13.15")),
        ("2025-H2", 15, D("12.15")),
    ]
    # 10000 x 13.15 % x 15 / 365 = 54.0411; 10000 x 12.15 % x 15 / 365 = 49.9315; rounded once at the end.
    assert result.penalty == D("103.97")


def test_partial_payment_reduces_base_from_its_date() -> None:
    """4 000 € paid on 1 April: 30 days on 10 000 € (108.08) + 15 days on 6 000 € (32.42) = 140.51, indemnity intact."""
    events = balance_events_from_payments(D("10000.00"), [(date(2025, 4, 1), D("4000.00"))], start=date(2025, 1, 30))
    result = compute_penalties(
        balance_events=events, due_date=date(2025, 3, 1), today=date(2025, 4, 15), rate_table=TABLE
    )
    assert [(s.base, s.days) for s in result.segments] == [(D("10000.00"), 30), (D("6000.00"), 15)]
    assert result.penalty == D("140.51")
    assert result.indemnity == RECOVERY_INDEMNITY


def test_paid_in_full_late_stops_penalties_but_keeps_indemnity() -> None:
    """Paid in full on 11 March: penalties for 9 days only (32.42), and the 40 € indemnity stays due."""
    events = [BalanceEvent(date(2025, 2, 1), D("10000.00")), BalanceEvent(date(2025, 3, 11), D("0.00"))]
    result = compute_penalties(
        balance_events=events, due_date=date(2025, 3, 1), today=date(2025, 4, 15), rate_table=TABLE
    )
    assert result.penalty == D("32.42")
    assert result.indemnity == D("40.00")


def test_consumer_owes_neither_penalties_nor_indemnity() -> None:
    """A consumer client gets no commercial penalties and never the 40 € indemnity, though days late still count."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 4, 15), is_consumer=True)
    assert result.days_late == 45
    assert result.penalty == D("0.00")
    assert result.indemnity == D("0.00")


def test_missing_half_year_names_it() -> None:
    """An invoice late in the second half of 2026 raises MissingRateError naming "2026-H2", never a guess."""
    with pytest.raises(MissingRateError, match="2026-H2") as info:
        _unpaid("500.00", date(2026, 11, 1), date(2026, 11, 22))
    assert info.value.half_year == "2026-H2"


def test_owner_can_extend_the_table() -> None:
    """Adding "2026-H2" through extra_text makes the computation possible: 1 000 € x 12 % x 21 / 365 = 6.90."""
    table = load_rate_table(extra_text='[ecb]\n"2026-H2" = 2.00\n')
    result = compute_penalties(
        balance_events=[(date(2026, 10, 1), D("1000.00"))],
        due_date=date(2026, 11, 1),
        today=date(2026, 11, 22),
        rate_table=table,
    )
    assert result.penalty == D("6.90")
    assert table.ecb_rate("2025-H1") == D("3.15")  # the built-in values are kept


def test_owner_file_overrides_and_extends(tmp_path: object) -> None:
    """A rates file given by path is merged on top of the built-in table."""
    from pathlib import Path

    path = Path(str(tmp_path)) / "rates.toml"
    path.write_text('[ecb]\n"2026-H2" = 1.90\n[legal]\n"2026-H2" = 2.50\n', encoding="utf-8")
    table = load_rate_table(path)
    assert table.penalty_rate("2026-H2") == D("11.90")
    assert table.legal_rate("2026-H2") == D("2.50")


@pytest.mark.parametrize(
    "text",
    ['[ecb]\n"2026" = 2.0\n', '[ecb]\n"2026-H2" = "two"\n', "[other]\n", '[ecb]\n"2026-H2" = 99.0\n', "[ecb\n"],
)
def test_malformed_rate_file_is_refused(text: str) -> None:
    """A bad key, a non-number, an unknown table, an absurd rate or broken TOML is a RateTableError."""
    with pytest.raises(RateTableError):
        load_rate_table(extra_text=text)


def test_contractual_rate_below_three_times_legal_rate_gives_way_to_the_statutory_rate() -> None:
    """10 % is below 3 x 3.71 % (11.13 %) in 2025-H1: set aside, the statutory 13.15 % applies (162.12)."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 4, 15), contractual_rate=D("10"))
    assert result.penalty == D("162.12")
    assert result.set_aside == ("2025-H1",) and not result.contractual
    assert [s.rate for s in result.segments] == [D("13.15")]


def test_contractual_rate_is_set_aside_only_where_below_the_floor() -> None:
    """10 % is below the floor of 2025-H1 (11.13 %) but above that of 2026-H1 (7.86 %): each half-year decides."""
    table = load_rate_table(extra_text='[legal]\n"2025-H2" = 3.16\n')
    result = compute_penalties(
        balance_events=[(date(2025, 5, 1), D("1000.00"))],
        due_date=date(2025, 6, 1),
        today=date(2026, 1, 31),
        rate_table=table,
        contractual_rate=D("10"),
    )
    # 2025-H1: 13.15 % (statutory); 2025-H2: 10 % (>= 9.48 %); 2026-H1: 10 % (>= 7.86 %).
    assert [(s.half_year, s.rate) for s in result.segments] == [
        ("2025-H1", D("13.15")),
        ("2025-H2", D("10")),
        ("2026-H1", D("10")),
    ]
    assert result.set_aside == ("2025-H1",) and result.contractual


def test_contractual_rate_is_used_when_lawful() -> None:
    """12 % (>= 11.13 %) applies instead of the ECB rate: 10 000 x 12 % x 45 / 365 = 147.95."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 4, 15), contractual_rate=D("12"))
    assert result.penalty == D("147.95")
    assert result.contractual


def test_contractual_rate_needs_the_legal_rate_of_each_half_year() -> None:
    """The legal rate of 2025-H2 is not in the table, so a contractual rate cannot be checked there: explicit error."""
    with pytest.raises(MissingRateError, match="2025-H2"):
        _unpaid("10000.00", date(2025, 6, 15), date(2025, 7, 15), contractual_rate=D("12"))


def test_public_buyer_margin_is_eight_points() -> None:
    """A public buyer pays ECB + 8 points: 10 000 x 11.15 % x 45 / 365 = 137.47."""
    assert _unpaid("10000.00", date(2025, 3, 1), date(2025, 4, 15), public_buyer=True).penalty == D("137.47")


def test_not_late_means_nothing() -> None:
    """On the due date itself nothing is owed, not even the indemnity."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 3, 1))
    assert (result.days_late, result.penalty, result.indemnity) == (0, D("0.00"), D("0.00"))


def test_first_day_late_owes_indemnity() -> None:
    """The day after the due date: one day of penalty (3.60) and the full indemnity."""
    result = _unpaid("10000.00", date(2025, 3, 1), date(2025, 3, 2))
    assert result.days_late == 1
    assert result.penalty == D("3.60")  # 10000 x 13.15 % / 365 = 3.6027
    assert result.indemnity == D("40.00")


def test_rounding_is_half_up_once_at_the_end() -> None:
    """456.25 € for one day at 10 % (2022-H1) is exactly 0.125 €: rounded half up to 0.13, not to even."""
    result = _unpaid("456.25", date(2022, 3, 1), date(2022, 3, 2))
    assert result.segments[0].amount == D("0.125")
    assert result.penalty == D("0.13")


def test_several_half_years_are_each_priced() -> None:
    """From December 2022 to February 2024 every half-year uses its own rate (10, 12.5, 14, 14.5 %)."""
    result = _unpaid("1000.00", date(2022, 12, 1), date(2024, 2, 1))
    assert [(s.half_year, s.rate) for s in result.segments] == [
        ("2022-H2", D("10.00")),
        ("2023-H1", D("12.50")),
        ("2023-H2", D("14.00")),
        ("2024-H1", D("14.50")),
    ]
    assert sum(s.days for s in result.segments) == result.days_late
    assert set(result.by_half_year()) == {"2022-H2", "2023-H1", "2023-H2", "2024-H1"}


def test_events_must_cover_the_first_late_day() -> None:
    """Balance events starting after the first late day are a programming error, not a silent zero."""
    with pytest.raises(PenaltyError):
        compute_penalties(
            balance_events=[(date(2025, 4, 1), D("100"))],
            due_date=date(2025, 3, 1),
            today=date(2025, 4, 15),
            rate_table=TABLE,
        )


def test_float_contractual_rate_is_refused() -> None:
    """Rates are Decimal: a float is a TypeError."""
    with pytest.raises(TypeError):
        _unpaid("100.00", date(2025, 3, 1), date(2025, 4, 15), contractual_rate=12.0)


def test_half_year_labels() -> None:
    """30 June is in H1 and 1 July in H2."""
    assert half_year_of(date(2025, 6, 30)) == "2025-H1"
    assert half_year_of(date(2025, 7, 1)) == "2025-H2"


_days = st.dates(min_value=date(2022, 1, 1), max_value=date(2026, 6, 30))
_amounts = st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2)


@given(due=_days, late=st.integers(0, 400), amount=_amounts, extra=st.integers(1, 30))
def test_penalty_grows_with_time(due: date, late: int, amount: Decimal, extra: int) -> None:
    """One more day late never lowers the penalty; days late is today minus the due date."""
    today = min(due + timedelta(days=late), date(2026, 6, 30))
    later = min(today + timedelta(days=extra), date(2026, 6, 30))
    a = _unpaid(str(amount), due, today)
    b = _unpaid(str(amount), due, later)
    assert a.days_late == max(0, (today - due).days)
    assert D(0) <= a.penalty <= b.penalty


@given(due=_days, late=st.integers(1, 300), amount=_amounts, paid_after=st.integers(0, 300), share=st.integers(1, 100))
def test_a_partial_payment_never_raises_the_penalty(
    due: date, late: int, amount: Decimal, paid_after: int, share: int
) -> None:
    """Paying part of the invoice at any date lowers or keeps the penalty, and leaves the indemnity unchanged."""
    today = min(due + timedelta(days=late), date(2026, 6, 30))
    paid = (amount * share / 100).quantize(D("0.01"))
    events = balance_events_from_payments(amount, [(due + timedelta(days=paid_after), paid)], start=due)
    with_payment = compute_penalties(balance_events=events, due_date=due, today=today, rate_table=TABLE)
    without = _unpaid(str(amount), due, today)
    assert with_payment.penalty <= without.penalty
    if paid_after == 0 and paid == amount:
        assert with_payment.indemnity == 0  # paid in full by the due date: never late
    else:
        assert with_payment.indemnity == without.indemnity


def test_paid_in_full_on_the_due_date_is_not_late() -> None:
    """Paid in full on the due date itself: no penalty and no indemnity on any later day."""
    events = balance_events_from_payments(D("1000.00"), [(date(2025, 3, 1), D("1000.00"))], start=date(2025, 2, 1))
    result = compute_penalties(
        balance_events=events, due_date=date(2025, 3, 1), today=date(2025, 4, 15), rate_table=TABLE
    )
    assert (result.days_late, result.penalty, result.indemnity) == (0, D("0.00"), D("0.00"))


def test_paid_in_full_the_day_after_the_due_date_is_late() -> None:
    """Paid in full the day after the due date: late by one day, so the 40 € indemnity is due (no penalty)."""
    events = balance_events_from_payments(D("1000.00"), [(date(2025, 3, 2), D("1000.00"))], start=date(2025, 2, 1))
    result = compute_penalties(
        balance_events=events, due_date=date(2025, 3, 1), today=date(2025, 4, 15), rate_table=TABLE
    )
    assert (result.penalty, result.indemnity) == (D("0.00"), D("40.00"))


def _invoice(**kw: object) -> InvoicePenalties:
    args: dict[str, object] = {
        "amount": D("10000.00"),
        "amount_paid": D("0.00"),
        "payments": [],
        "due_date": date(2025, 3, 1),
        "today": date(2025, 4, 15),
        "rate_table": TABLE,
    }
    args.update(kw)
    return invoice_penalties(**args)  # type: ignore[arg-type]


def test_amount_paid_at_import_counts_from_the_start() -> None:
    """10 000 € with 6 000 € marked paid at import (no date), on 15 April 2025: 4 000 x 13.15 % x 45 / 365 = 64.85."""
    claim = _invoice(amount_paid=D("6000.00"))
    assert claim.balance == D("4000.00") and claim.days_late == 45
    assert claim.penalty == D("64.85") and claim.indemnity == D("40.00")
    assert claim.total == D("4104.85")


def test_dated_and_undated_payments_together() -> None:
    """6 000 € paid, 2 000 € of it dated 1 April: the undated 4 000 € count from the start, so 6 000 € for 30 days
    then 4 000 € for 15 days."""
    claim = _invoice(amount_paid=D("6000.00"), payments=[(date(2025, 4, 1), D("2000.00"))])
    expected = (D(6000) * 30 + D(4000) * 15) * D("13.15") / 100 / 365
    assert claim.penalty == expected.quantize(D("0.01"))
    assert claim.balance == D("4000.00")


def test_missing_half_year_is_not_computed_but_indemnity_stays() -> None:
    """In 2026-H2 (not in the table) the penalty is None with the half-year named; the 40 € indemnity stays due."""
    claim = _invoice(due_date=date(2026, 10, 15), today=date(2026, 11, 24))
    assert claim.penalty is None and not claim.known
    assert claim.missing_half_year == "2026-H2" and claim.missing_table == "ecb"
    assert claim.indemnity == D("40.00") and claim.total == D("10040.00")


def test_missing_half_year_means_nothing_for_a_consumer() -> None:
    """A consumer owes no commercial penalty, so a missing rate does not matter: 0, 0, known."""
    claim = _invoice(due_date=date(2026, 10, 15), today=date(2026, 11, 24), is_consumer=True)
    assert (claim.penalty, claim.indemnity, claim.missing_half_year) == (D("0.00"), D("0.00"), None)
    assert claim.total == D("10000.00")


def test_contractual_rate_without_legal_rate_is_not_computed() -> None:
    """A contractual rate cannot be checked in 2025-H2 (legal rate missing): not computed, the table named."""
    claim = _invoice(due_date=date(2025, 6, 15), today=date(2025, 7, 15), contractual_rate=D("12"))
    assert claim.penalty is None and claim.missing_half_year == "2025-H2"
    assert claim.missing_table == "legal"
