"""French and English formatting of amounts, dates and rates (messages.formatting)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.formatting import NBSP, format_amount, format_amount_babel, format_date, format_rate, format_short_date


def test_french_amount_uses_no_break_spaces() -> None:
    """1234.56 € is "1 234,56 €" with U+00A0 as thousands separator and before the sign (documented choice)."""
    assert format_amount(Decimal("1234.56")) == f"1{NBSP}234,56{NBSP}€"
    assert "\u202f" not in format_amount(Decimal("1234567.89"))


def test_english_amount() -> None:
    """English amounts are "€1,234.56"."""
    assert format_amount(Decimal("1234.56"), lang="en") == "€1,234.56"


def test_rounding_half_up_to_the_cent() -> None:
    """0.005 becomes 0,01 € and 2.675 becomes 2,68 € (half up, not half even)."""
    assert format_amount(Decimal("0.005")) == f"0,01{NBSP}€"
    assert format_amount(Decimal("2.675")) == f"2,68{NBSP}€"


def test_negative_amount() -> None:
    """A credit note shows a minus sign in Babel's position."""
    assert format_amount(Decimal("-1234.5")) == f"-1{NBSP}234,50{NBSP}€"


def test_float_is_refused() -> None:
    """Money is Decimal: a float is a TypeError."""
    with pytest.raises(TypeError):
        format_amount(1.5)  # type: ignore[arg-type]


def test_unknown_language_is_refused() -> None:
    """Only fr and en are supported."""
    with pytest.raises(ValueError, match="de"):
        format_amount(Decimal(1), lang="de")


@given(
    value=st.decimals(min_value=Decimal("-10000000"), max_value=Decimal("10000000"), places=3),
    currency=st.sampled_from(["EUR", "USD", "GBP", "CHF"]),
    lang=st.sampled_from(["fr", "en"]),
)
def test_fast_formatter_matches_babel(value: Decimal, currency: str, lang: str) -> None:
    """The cached fast formatter writes exactly what Babel writes, for any amount, currency and language."""
    assert format_amount(value, currency, lang) == format_amount_babel(value, currency, lang)


def test_dates() -> None:
    """Long dates in words ("1er" for the first of the month in French), short dates as dd/mm."""
    assert format_date(date(2026, 11, 24)) == "24 novembre 2026"
    assert format_date(date(2026, 3, 1)) == "1er mars 2026"
    assert format_date(date(2026, 11, 24), "en") == "24 November 2026"
    assert format_short_date(date(2026, 11, 4)) == "04/11"


def test_rates() -> None:
    """Rates: "13,15 %" in French (no-break space), "13.15%" in English."""
    assert format_rate(Decimal("13.15")) == f"13,15{NBSP}%"
    assert format_rate(Decimal("12"), "en") == "12.00%"
