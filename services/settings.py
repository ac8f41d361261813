"""Settings the owner changes from the chat that are not simple fields: the ECB rate of a half-year (`/taux`).

The rates an owner adds are kept per business (`Business.rates_toml`, the RATES_FILE format, [ecb] lines), written
to the evidence log, and used at once by the drafts of that business. Values are checked by the same rules as
RATES_FILE (`dunning.penalties.parse_rate_table`), so a rate accepted here is a rate the next start-up accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from dunning.penalties import RateTable, RateTableError, half_year_of, parse_rate_table
from storage.businesses import business_row, update_business
from storage.db import write_session
from storage.evidence import record

if TYPE_CHECKING:
    from services.core import Services

_HALF_YEAR = re.compile(r"^(\d{4})-H([12])$")
# A rate as an owner types it: "2,15", "2.15", "2,15 %", "-0,5" (the ECB rate was negative in 2014-2022).
_RATE = re.compile(r"^([+-]?\d{1,3}(?:[.,]\d{1,4})?)\s*%?$")
#: The earliest half-year accepted: L441-10's "ECB + 10 points" rule dates from 2008; older claims are time-barred.
EARLIEST_YEAR = 2008


@dataclass(frozen=True, slots=True)
class RateLine:
    """One half-year as /taux lists it: its ECB rate, or None when it is not in the table."""

    half_year: str
    ecb: Decimal | None


def _shift(label: str, halves: int) -> str:
    """The half-year `halves` half-years after `label` (negative: before)."""
    m = _HALF_YEAR.match(label)
    assert m is not None
    index = int(m[1]) * 2 + int(m[2]) - 1 + halves
    return f"{index // 2}-H{index % 2 + 1}"


def parse_half_year(text: str, today: date) -> str:
    """A half-year label such as "2026-H2" (also "2026-h2"); raise InputError on anything else or out of range."""
    from services.core import InputError

    label = text.strip().upper()
    m = _HALF_YEAR.match(label)
    if not m:
        raise InputError("rates.bad_half_year", text=text.strip()[:20])
    # The rate of a half-year is known a few days before it starts: the next one may be added, not later ones.
    latest = _shift(half_year_of(today), 1)
    if int(m[1]) < EARLIEST_YEAR or label > latest:
        raise InputError("rates.out_of_range", half_year=label, latest=latest, earliest=f"{EARLIEST_YEAR}-H1")
    return label


def parse_rate_value(text: str, half_year: str) -> Decimal:
    """A rate in percent ("2,15"); raise InputError when it is not a number or not plausible (RATES_FILE's rules)."""
    from services.core import InputError

    m = _RATE.match(text.strip())
    if not m:
        raise InputError("rates.bad_value", text=text.strip()[:20])
    value = Decimal(m[1].replace(",", "."))  # _RATE matched: always a valid number
    try:
        parse_rate_table(_toml({half_year: value}), "/taux")
    except RateTableError:
        raise InputError("rates.implausible", text=text.strip()[:20]) from None
    return value


def _toml(ecb: dict[str, Decimal], legal: dict[str, Decimal] | None = None) -> str:
    """The RATES_FILE format of these rates (sorted by half-year, one line each)."""
    lines = ["[ecb]", *(f'"{k}" = {v}' for k, v in sorted(ecb.items()))]
    if legal:
        lines += ["", "[legal]", *(f'"{k}" = {v}' for k, v in sorted(legal.items()))]
    return "\n".join(lines) + "\n"


def set_rate(services: Services, half_year_text: str, value_text: str, *, actor: str) -> tuple[str, Decimal]:
    """Store the ECB rate of a half-year for the business, log it, and use it at once; return (half-year, rate).

    Raise InputError (nothing written) on a bad half-year, a non-number or an implausible rate.
    """
    half_year = parse_half_year(half_year_text, services.today())
    value = parse_rate_value(value_text, half_year)
    with write_session(services.engine) as session:
        business = business_row(session, business_id=services.business_id)
        stored = parse_rate_table(business.rates_toml, "rates") if business.rates_toml else RateTable()
        ecb, legal = dict(stored.ecb), dict(stored.legal)
        old = services.rate_table.ecb.get(half_year)
        ecb[half_year] = value
        update_business(session, business_id=services.business_id, rates_toml=_toml(ecb, legal))
        record(session, actor=actor, kind="settings_changed", business_id=services.business_id,
               payload={"field": "rate", "table": "ecb", "half_year": half_year, "value": str(value),
                        "old": None if old is None else str(old), "source": "chat"})  # fmt: skip
    services.use_rate_table(services.rate_table.merged(RateTable({half_year: value}, {})))
    return half_year, value


def recent_rates(rates: RateTable, today: date, count: int = 4) -> list[RateLine]:
    """The ECB rates of the last `count` half-years (the current one last), None where missing."""
    current = half_year_of(today)
    labels = [_shift(current, -n) for n in range(count - 1, -1, -1)]
    return [RateLine(label, rates.ecb.get(label)) for label in labels]
