"""French (and English) formatting of amounts, dates and rates for everything the client and the owner read.

Spaces: every space inside a formatted amount or rate is a NO-BREAK SPACE (U+00A0), both as the thousands
separator and before the currency sign: "1 234,56 €". Babel's French locale uses a NARROW no-break space
(U+202F) as the thousands separator; we replace it with U+00A0 because U+202F is missing from Windows-1252 (the
encoding of the PDF letter's core fonts) and from many e-mail and SMS fonts, and one kind of space everywhere
keeps comparisons and tests simple.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.dates import format_date as _babel_date
from babel.numbers import format_currency as _babel_currency
from babel.numbers import format_decimal as _babel_decimal

#: The no-break space used inside amounts and rates.
NBSP = "\u00a0"
_NNBSP = "\u202f"
_CENT = Decimal("0.01")

#: Babel locales used for each client language.
LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def _locale(lang: str) -> str:
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"unsupported language {lang!r}, expected one of {sorted(LOCALES)}") from None


@lru_cache(maxsize=8192)
def format_amount(amount: Decimal, currency: str = "EUR", lang: str = "fr") -> str:
    """`Decimal("1234.56")` -> "1 234,56 €" (fr) or "€1,234.56" (en), rounded half up to the cent."""
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    value = Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    text = _babel_currency(value, currency, locale=_locale(lang))
    return text.replace(_NNBSP, NBSP)


@lru_cache(maxsize=4096)
def format_date(day: date, lang: str = "fr") -> str:
    """`date(2026, 11, 24)` -> "24 novembre 2026" (fr, with "1er" for the first of the month) or "24 November 2026"."""
    text = _babel_date(day, "d MMMM y", locale=_locale(lang))
    if lang == "fr" and day.day == 1:
        # French typography writes the first day of a month as an ordinal: "1er mars 2026".
        text = "1er" + text[1:]
    return text


def format_short_date(day: date) -> str:
    """`date(2026, 11, 24)` -> "24/11"."""
    return f"{day.day:02d}/{day.month:02d}"


@lru_cache(maxsize=1024)
def format_rate(rate: Decimal, lang: str = "fr") -> str:
    """A percentage: `Decimal("13.15")` -> "13,15 %" (fr) or "13.15%" (en)."""
    text = _babel_decimal(Decimal(rate), "0.00##", locale=_locale(lang))
    return f"{text}{NBSP}%" if lang == "fr" else f"{text}%"
