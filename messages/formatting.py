"""French (and English) formatting of amounts, dates and rates for everything the client and the owner read.

Spaces: every space inside a formatted amount or rate is a NO-BREAK SPACE (U+00A0), both as the thousands
separator and before the currency sign: "1 234,56 €". Babel's French locale uses a NARROW no-break space
(U+202F) as the thousands separator; we replace it with U+00A0 because U+202F is missing from Windows-1252 (the
encoding of the PDF letter's core fonts) and from many e-mail and SMS fonts, and one kind of space everywhere
keeps comparisons and tests simple.
"""

from __future__ import annotations

import re
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


# --- postal addresses ----------------------------------------------------------------------------------------

#: What separates the lines of an address typed on one line: a real line break, the two characters "\\n" (how
#: `.env.example` tells the owner to write COMPANY_ADDRESS, and a .env value keeps them literally), or " / " (the
#: separator of the CSV import). A slash without spaces ("12/14 rue Pasteur") is part of a line.
_ADDRESS_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]|\\r\\n|\\n|[ \t]+/[ \t]+")
#: "69003 Lyon", "F-69003 Lyon", "12 rue des Lilas 69003 Lyon": a five-digit postcode followed by the town.
_POSTCODE_TOWN = re.compile(r"(?:^|\s)(?:F-?)?\d{5}\s+(?P<town>\D.*)$", re.IGNORECASE)
#: A country on its own line after the town (France and the neighbours a small business most often writes to).
_COUNTRY_LINE = re.compile(
    r"France(?: métropolitaine)?|Belgique|Suisse|Luxembourg|Allemagne|Espagne|Italie|Royaume-Uni", re.IGNORECASE
)
#: "France" at the end of the town's line ("38000 Grenoble - France").
_FRANCE_TAIL = re.compile(r"[\s,\-–]+France(?: métropolitaine)?$", re.IGNORECASE)
#: What may follow the town on its line without being part of its name: "Cedex 03", an arrondissement ("8e").
_TOWN_SUFFIX = re.compile(r"\s+(?:cedex(?:\s+\d{1,3})?|\d{1,2}\s*(?:e|er|ème|eme))$", re.IGNORECASE)
#: The first word of a street line, so that a street without postcode is never taken for a town.
_STREET_WORD = re.compile(
    r"^(?:rue|avenue|av\.?|boulevard|bd|chemin|place|allée|allee|impasse|route|quai|cours|square|lieu-dit|"
    r"bp|cs|zi|za|zac|bâtiment|batiment|bât\.?|bat\.?|résidence|residence)\b",
    re.IGNORECASE,
)


def address_lines(text: str) -> list[str]:
    """A postal address as the lines to print, whatever way it was typed.

    Lines are separated by real line breaks, by the two characters backslash and "n" (COMPANY_ADDRESS in `.env`)
    or by " / " (the CSV import). An address typed on one single line with commas ("12 rue des Lilas, 69003
    Lyon") is split at its commas. Spaces inside a line are collapsed; blank lines are dropped.
    """
    lines = [" ".join(part.split()) for part in _ADDRESS_BREAK.split(text)]
    lines = [line for line in lines if line]
    if len(lines) == 1 and "," in lines[0]:
        # One line with commas is how an address is written in running text; a multi-line address keeps its
        # commas ("Bâtiment B, 3e étage" is one line).
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def address_town(text: str) -> str:
    """The town of a postal address, for the place line of a letter: "12 rue des Lilas\\n69003 Lyon" -> "Lyon".

    Taken from the last line that is not a country, without its postcode, "Cedex" or arrondissement; "" when no
    line names a town (the letter then starts its date line with "Le").
    """
    lines = address_lines(text)
    while lines and _COUNTRY_LINE.fullmatch(lines[-1]):
        lines.pop()
    if not lines:
        return ""
    last = _FRANCE_TAIL.sub("", lines[-1])
    match = _POSTCODE_TOWN.search(last)
    if match is not None:
        town = match.group("town")
    elif not any(char.isdigit() for char in last) and _STREET_WORD.match(last) is None:
        town = last  # "Lyon" on its own line, without postcode
    else:
        return ""
    return _town_case(_TOWN_SUFFIX.sub("", town).strip(" ,-–"))


#: Words written in lower case inside a town's name ("Boulogne-sur-Mer", "Aix-en-Provence", "Saint-Denis-lès-…").
_TOWN_PARTICLES = frozenset(
    {"sur", "sous", "en", "lès", "lez", "de", "du", "des", "la", "le", "les", "et", "aux", "au"}
)


def _town_case(town: str) -> str:
    """A town written in capitals, as La Poste asks on envelopes ("BOULOGNE-SUR-MER"), in the case a letter's
    place line uses ("Boulogne-sur-Mer"); a town already in mixed case is kept as typed."""
    if town != town.upper():
        return town
    words = re.split(r"([\s\-]+)", town.lower())
    out = []
    for index, word in enumerate(words):
        if index and word in _TOWN_PARTICLES:
            out.append(word)
        elif index and word[:2] in ("d'", "l'", "d’", "l’"):
            out.append(word[:2] + word[2:].capitalize())  # "Villeneuve-d'Ascq"
        else:
            out.append("'".join(part.capitalize() for part in word.split("'")))  # "L'Isle", "Le Havre"
    return "".join(out)
