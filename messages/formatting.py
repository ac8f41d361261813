"""French (and English) formatting of amounts, dates and rates for everything the client and the owner read.

Spaces: every space inside a formatted amount or rate is a NO-BREAK SPACE (U+00A0), both as the thousands
separator and before the currency sign: "1 234,56 €". Babel's French locale uses a NARROW no-break space
(U+202F) as the thousands separator; we replace it with U+00A0 because U+202F is missing from Windows-1252 (the
encoding of the PDF letter's core fonts) and from many e-mail and SMS fonts, and one kind of space everywhere
keeps comparisons and tests simple.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class _MoneyPattern:
    """How Babel writes amounts of one currency in one language, learnt once from a sample."""

    prefix: str
    suffix: str
    neg_prefix: str
    neg_suffix: str
    group: str
    decimal: str
    digits: int


_SAMPLE = Decimal("1234567.89")


def _affixes(text: str) -> tuple[str, str, str]:
    first = next(i for i, c in enumerate(text) if c.isdigit())
    last = max(i for i, c in enumerate(text) if c.isdigit())
    return text[:first], text[last + 1 :], text[first : last + 1]


@lru_cache(maxsize=64)
def _money_pattern(currency: str, lang: str) -> _MoneyPattern:
    locale = _locale(lang)
    positive = _babel_currency(_SAMPLE, currency, locale=locale).replace(_NNBSP, NBSP)
    negative = _babel_currency(-_SAMPLE, currency, locale=locale).replace(_NNBSP, NBSP)
    prefix, suffix, number = _affixes(positive)
    neg_prefix, neg_suffix, _ = _affixes(negative)
    # number is "1<g>234<g>567<d>89" or "1<g>234<g>568" (currencies without decimals)
    group = number[1]
    rest = number[len("1") + len(group) + 3 + len(group) + 3 :]
    decimal, digits = (rest[0], len(rest) - 1) if rest else ("", 0)
    return _MoneyPattern(prefix, suffix, neg_prefix, neg_suffix, group, decimal, digits)


@lru_cache(maxsize=8192)
def format_amount(amount: Decimal, currency: str = "EUR", lang: str = "fr") -> str:
    """`Decimal("1234.56")` -> "1 234,56 €" (fr) or "€1,234.56" (en), rounded half up to the cent.

    Same output as Babel's `format_currency` (a test checks it), learnt once per currency and language and then
    applied with plain string formatting: rendering thousands of drafts per second depends on it.
    """
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    pattern = _money_pattern(currency, lang)
    value = Decimal(amount).quantize(Decimal(1).scaleb(-pattern.digits), rounding=ROUND_HALF_UP)
    body = f"{abs(value):,.{pattern.digits}f}".replace(",", "\x00").replace(".", pattern.decimal)
    body = body.replace("\x00", pattern.group)
    if value < 0:
        return f"{pattern.neg_prefix}{body}{pattern.neg_suffix}"
    return f"{pattern.prefix}{body}{pattern.suffix}"


def format_amount_babel(amount: Decimal, currency: str = "EUR", lang: str = "fr") -> str:
    """The reference: Babel's own formatting (narrow spaces replaced, no "-0,00 €"), for tests."""
    value = Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP)
    value = abs(value) if value == 0 else value
    return _babel_currency(value, currency, locale=_locale(lang)).replace(_NNBSP, NBSP)


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
