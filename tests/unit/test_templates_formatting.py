"""Formatting of amounts, dates and rates (French and English), and the lines of a postal address."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages.formatting import (
    NBSP,
    address_lines,
    address_town,
    format_amount,
    format_amount_babel,
    format_date,
    format_rate,
    format_short_date,
)


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


# --- postal addresses ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "12 rue des Lilas\n69003 Lyon",  # a real line break
        "12 rue des Lilas\r\n69003 Lyon",
        "12 rue des Lilas\\n69003 Lyon",  # COMPANY_ADDRESS in .env: backslash and n, as .env.example says
        "12 rue des Lilas / 69003 Lyon",  # the CSV import's separator
        "12 rue des Lilas, 69003 Lyon",  # one line with a comma
        "  12 rue des  Lilas \\n\n \n  69003 Lyon  \n",  # blanks and empty lines
    ],
)
def test_address_lines_split_however_the_address_was_typed(typed: str) -> None:
    """Real line breaks, a literal backslash-n, " / " and a one-line comma list all give the same lines."""
    assert address_lines(typed) == ["12 rue des Lilas", "69003 Lyon"]


def test_address_lines_keep_what_belongs_to_a_line() -> None:
    """A slash without spaces and the commas of a multi-line address stay inside their line; blank is empty."""
    assert address_lines("12/14 rue Pasteur\nBâtiment B, 3e étage\n75008 Paris") == [
        "12/14 rue Pasteur",
        "Bâtiment B, 3e étage",
        "75008 Paris",
    ]
    assert address_lines("") == []
    assert address_lines(" \\n \n / ") == []


@pytest.mark.parametrize(
    ("address", "town"),
    [
        ("12 rue des Lilas\\n69003 Lyon", "Lyon"),
        ("12 rue des Lilas\n69003 Lyon\nFrance", "Lyon"),  # a trailing country line
        ("12 rue des Lilas, 69003 Lyon, FRANCE", "Lyon"),
        ("BP 12\n38000 Grenoble - France", "Grenoble"),  # the country at the end of the town's line
        ("1 place Bellecour\n69002 Lyon Cedex 02", "Lyon"),
        ("12/14 rue Pasteur\n75008 PARIS 8E", "Paris"),  # capitals as on an envelope, arrondissement
        ("5 rue Y\nF-13001 Marseille 1er", "Marseille"),
        ("2 rue Z\n62200 BOULOGNE-SUR-MER", "Boulogne-sur-Mer"),
        ("3 rue W\n59650 VILLENEUVE-D'ASCQ", "Villeneuve-d'Ascq"),
        ("ZA des Prés / 42000 Saint-Étienne", "Saint-Étienne"),
        ("12 rue des Lilas 69003 Lyon", "Lyon"),  # everything on one line, no separator
        ("12 rue X\nLyon", "Lyon"),  # a town without postcode
        ("10115 Berlin\nAllemagne", "Berlin"),
    ],
)
def test_address_town_is_the_town_alone(address: str, town: str) -> None:
    """The place line's town: no postcode, no country, no Cedex, no arrondissement, in the case of a sentence."""
    assert address_town(address) == town


@pytest.mark.parametrize(
    "address",
    ["", "France", "Chemin des Vignes", "Atelier Dupont / 12 rue des Lilas", "1000 Bruxelles\nBelgique"],
)
def test_address_town_is_empty_when_no_line_names_a_town(address: str) -> None:
    """Without a postcode line or a bare town name there is no place: the letter writes "Le 20 mai 2026"."""
    assert address_town(address) == ""


@given(st.lists(st.text(alphabet="ab1 ,/\\n\r\t", max_size=12), max_size=6))
def test_address_lines_are_clean_whatever_the_input(parts: list[str]) -> None:
    """No line is blank, starts or ends with a space, or holds a line break or a literal backslash-n."""
    for line in address_lines("\\n".join(parts)):
        assert line and line == line.strip()
        assert "\n" not in line and "\r" not in line and "\\n" not in line
