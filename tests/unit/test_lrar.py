"""Registered letters (LRAR): La Poste's tracking number format, the formal notice's deadline, and the owner's input
(tracking number with its date, dates of the letter's life, the acknowledgment's scan told by its bytes)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import t
from dunning.lrar import TrackingNumberError, check_tracking_number, notice_deadline
from services.core import InputError
from services.letters import parse_letter_date, parse_posting, parse_tracking, proof_type

TODAY = date(2026, 11, 30)


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("1A12345678901", "1A12345678901"),
        ("1a 123 456 789 01", "1A12345678901"),
        ("AR123456789FR", "AR123456789FR"),
        ("rr-123-456-789-fr", "RR123456789FR"),
        ("2C123456789", "2C123456789"),  # 11 characters: the shortest domestic form
        ("1K1234567890", "1K1234567890"),
    ],
)
def test_la_poste_numbers_are_accepted_and_normalised(typed: str, number: str) -> None:
    """Domestic (prefix + 9 to 11 digits) and international S10 numbers pass, upper case, without separators."""
    assert check_tracking_number(typed) == number


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("1A1234567", "length"),  # 9 characters
        ("1A12345678901234", "length"),  # 16 characters
        ("1A1234567890X", "format"),  # a letter among the digits
        ("ABC123456789", "format"),  # a three-letter prefix
        ("AR123456789F", "format"),  # S10 without its full country code
        ("1A1234567890é", "characters"),
        ("1A12345678/01", "characters"),
    ],
)
def test_numbers_that_are_not_la_postes_are_refused_with_the_reason(typed: str, reason: str) -> None:
    """Too short, too long, letters where digits go or stray characters: TrackingNumberError saying which."""
    with pytest.raises(TrackingNumberError) as caught:
        check_tracking_number(typed)
    assert caught.value.reason == reason


def test_a_refused_number_is_explained_in_french_with_an_example() -> None:
    """The owner reads the number as typed, its length, the rule and two examples."""
    with pytest.raises(InputError) as caught:
        parse_tracking("1A 1234 567")
    said = t(caught.value.key, "fr", **caught.value.values)
    assert "« 1A1234567 » n'est pas un numéro de suivi La Poste" in said
    assert "11 à 13 caractères en tout (ici 9)" in said
    assert "1A12345678901" in said and "AR123456789FR" in said


def test_deadline_runs_from_first_presentation_when_known() -> None:
    """The notice's days are counted from the first presentation when known, else from the posting."""
    assert notice_deadline(issued_on=date(2026, 11, 28), first_presented_on=None, days=8) == date(2026, 12, 6)
    assert notice_deadline(issued_on=date(2026, 11, 28), first_presented_on=date(2026, 12, 1), days=8) == date(
        2026, 12, 9
    )
    assert notice_deadline(issued_on=date(2026, 12, 28), first_presented_on=None, days=15) == date(2027, 1, 12)


def test_posting_is_read_with_or_without_its_date() -> None:
    """`1A12345678901 28/11/2026` gives both; the number alone leaves the date to ask; spaces inside are kept."""
    assert parse_posting("1A12345678901 28/11/2026", TODAY) == ("1A12345678901", date(2026, 11, 28))
    assert parse_posting("  1A 123 456 789 01   28/11 ", TODAY) == ("1A12345678901", date(2026, 11, 28))
    assert parse_posting("AR123456789FR aujourd'hui", TODAY) == ("AR123456789FR", TODAY)
    assert parse_posting("AR123456789FR hier", TODAY) == ("AR123456789FR", date(2026, 11, 29))
    assert parse_posting("1A12345678901", TODAY) == ("1A12345678901", None)
    with pytest.raises(InputError) as caught:
        parse_posting("12345 28/11/2026", TODAY)
    assert caught.value.key == "lrar.bad_tracking"


def test_letter_dates_are_past_or_today_after_the_posting() -> None:
    """A date in the future, more than a year back, or before the posting is refused with its own message."""
    assert parse_letter_date("30/11/2026", TODAY) == TODAY
    assert parse_letter_date("2026-11-02", TODAY) == date(2026, 11, 2)
    assert parse_letter_date("28/12", TODAY) == date(2025, 12, 28)  # no year, later in the year: last year's
    for typed, key in [
        ("01/12/2026", "lrar.date_future"),
        ("01/11/2025", "lrar.date_too_old"),
        ("31/02/2026", "date.invalid"),
        ("demain", "date.invalid"),
    ]:
        with pytest.raises(InputError) as caught:
            parse_letter_date(typed, TODAY)
        assert caught.value.key == key, typed
    with pytest.raises(InputError) as caught:
        parse_letter_date("27/11/2026", TODAY, not_before=date(2026, 11, 28))
    assert caught.value.key == "lrar.date_before_sent"


def test_scans_are_told_by_their_first_bytes_not_their_name() -> None:
    """JPEG, PNG and PDF are recognised by their magic bytes; a text or an executable is none of them."""
    assert proof_type(b"\xff\xd8\xff\xe0rest") == "jpg"
    assert proof_type(b"\x89PNG\r\n\x1a\nrest") == "png"
    assert proof_type(b"%PDF-1.7\nrest") == "pdf"
    assert proof_type(b"MZ\x90\x00") is None
    assert proof_type(b"hello %PDF-") is None
