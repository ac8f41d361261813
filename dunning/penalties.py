"""Late-payment penalties and the fixed recovery indemnity (art. L441-10 and D441-5 Code de commerce).

Pure: plain values in, plain values out; `today` is an argument. The rate table ships as data
(`dunning/rates_data.py`); an owner's additions are read from their file by `services.rates` and merged here.

How the computation works, and the choices it makes. `invoice_penalties` is THE computation: every document
that states a figure (e-mails, the HTML table, the PDF letter, the evidence dossier and its JSON) takes it from there.

- Days late: penalties run from the day after the due date through `today` inclusive, so an invoice due on
  1 March 2025 is 45 days late on 15 April 2025 (``(today - due_date).days``). An invoice whose balance was
  already nil at the end of its due date was paid on time: no penalty and no indemnity.
- Rate: per half-year, the ECB main refinancing rate in force on 1 January (H1) or 1 July (H2) + 10 points
  (+ 8 points for a public buyer), or the client's contractual rate. The law does not allow a contractual rate
  below 3 times the legal interest rate: in a half-year where it is below that floor, the clause is set aside and
  the statutory rate applies to that half-year (`PenaltyResult.set_aside` names them).
- Missing rate: a half-year missing from the table (its ECB rate, or its legal rate when a contractual rate must
  be checked against the floor) raises `MissingRateError` naming it ("2026-H2"); `invoice_penalties` turns it into
  "not computed" (`penalty is None`), never a guess. The indemnity does not depend on a rate and stays due.
- Base: the unpaid balance. A balance event ``(day, balance)`` says what is owed from `day` on; a payment
  received on day P therefore reduces the base for day P itself (that day's penalty is on what is still owed at
  the end of it). Part of the paid amount with no dated payment (an amount marked paid at import) is treated as
  paid from the start: its date is unknown, and this can only lower the claim, never inflate it.
- Amount per day: base x rate / 100 / 365 (also in leap years, as the law's formula is written), summed
  exactly over every (half-year, balance) segment, then rounded to the cent, half up, once at the end.
- Indemnity: 40 EUR per late invoice for a business client, due from the first day late and never reduced by
  partial payments (even if the invoice is paid in full since). Never for a consumer.
- Consumer: the commercial penalties of L441-10 do not apply to a consumer; interest at the legal rate only runs
  after a formal notice (art. 1231-6 Code civil) and is not computed here, so penalties and indemnity are 0.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal("0")
DAYS_PER_YEAR = Decimal(365)
#: Points added to the ECB rate: 10 by default, 8 for public buyers (art. L441-10 II; L2192-13 CCP).
DEFAULT_MARGIN = Decimal("10")
PUBLIC_BUYER_MARGIN = Decimal("8")
#: A contractual rate may not be below this multiple of the legal interest rate.
MIN_LEGAL_MULTIPLE = Decimal(3)
#: The fixed recovery indemnity per late invoice (art. D441-5).
RECOVERY_INDEMNITY = Decimal("40.00")

_HALF_YEAR = re.compile(r"^(\d{4})-H([12])$")


class PenaltyError(ValueError):
    """The penalties cannot be computed as asked."""


class MissingRateError(PenaltyError):
    """A half-year is missing from the rate table; `half_year` names it, e.g. "2026-H2"."""

    def __init__(self, half_year: str, table: str = "ecb") -> None:
        what = "ECB main refinancing rate" if table == "ecb" else "legal interest rate"
        super().__init__(
            f"the {what} for {half_year} is missing from the rate table; add it under [{table}] "
            f'as "{half_year}" = <percent> in your rates file'
        )
        self.half_year = half_year
        self.table = table


class RateTableError(PenaltyError):
    """A rate file is malformed."""


def half_year_of(day: date) -> str:
    """The half-year label of `day`: "2025-H1" (January-June) or "2025-H2" (July-December)."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def _half_year_end(day: date) -> date:
    return date(day.year, 6, 30) if day.month <= 6 else date(day.year, 12, 31)


@dataclass(frozen=True)
class RateTable:
    """ECB rates and legal interest rates per half-year label, in percent."""

    ecb: Mapping[str, Decimal] = field(default_factory=dict)
    legal: Mapping[str, Decimal] = field(default_factory=dict)

    def ecb_rate(self, half_year: str) -> Decimal:
        """The ECB main refinancing rate of `half_year`, or MissingRateError."""
        try:
            return self.ecb[half_year]
        except KeyError:
            raise MissingRateError(half_year, "ecb") from None

    def legal_rate(self, half_year: str) -> Decimal:
        """The legal interest rate of `half_year`, or MissingRateError."""
        try:
            return self.legal[half_year]
        except KeyError:
            raise MissingRateError(half_year, "legal") from None

    def penalty_rate(self, half_year: str, *, public_buyer: bool = False) -> Decimal:
        """The default penalty rate of `half_year`: ECB rate + 10 points (+ 8 for a public buyer)."""
        return self.ecb_rate(half_year) + (PUBLIC_BUYER_MARGIN if public_buyer else DEFAULT_MARGIN)

    def merged(self, other: RateTable) -> RateTable:
        """This table extended (or corrected) by `other`."""
        return RateTable({**self.ecb, **other.ecb}, {**self.legal, **other.legal})


def parse_rate_table(text: str, source: str) -> RateTable:
    """A rate table from TOML text ([ecb] and [legal] tables of half-year keys); RateTableError names `source`."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise RateTableError(f"{source}: {exc}") from None
    unknown = set(data) - {"ecb", "legal"}
    if unknown:
        raise RateTableError(f"{source}: unknown table(s) {sorted(unknown)}, expected [ecb] and [legal]")
    tables: dict[str, dict[str, Decimal]] = {}
    for name in ("ecb", "legal"):
        raw: Any = data.get(name, {})
        if not isinstance(raw, dict):
            raise RateTableError(f"{source}: [{name}] must be a table")
        parsed = {}
        for key, value in raw.items():
            if not _HALF_YEAR.match(key):
                raise RateTableError(f'{source}: [{name}] key "{key}" must be a half-year such as "2026-H2"')
            if isinstance(value, bool) or not isinstance(value, Decimal | int):
                raise RateTableError(f"{source}: [{name}] {key} must be a number of percent such as 2.15")
            rate = Decimal(value)
            if not Decimal(-5) <= rate <= Decimal(50):
                raise RateTableError(f"{source}: [{name}] {key} = {rate} is not a plausible rate in percent")
            parsed[key] = rate
        tables[name] = parsed
    return RateTable(tables["ecb"], tables["legal"])


@lru_cache(maxsize=1)
def builtin_rate_table() -> RateTable:
    """The shipped rate table (dunning/rates_data.py)."""
    from dunning.rates_data import BUILTIN_RATES_TOML

    return parse_rate_table(BUILTIN_RATES_TOML, "built-in rate table")


class BalanceEvent(NamedTuple):
    """From `day` on (inclusive), `balance` is owed on the invoice."""

    day: date
    balance: Decimal


def balance_events_from_payments(
    amount: Decimal, payments: Iterable[tuple[date, Decimal]], *, start: date = date.min
) -> list[BalanceEvent]:
    """Balance events for an invoice of `amount` and its payments `(paid_on, amount)`, in date order."""
    events = [BalanceEvent(start, Decimal(amount))]
    balance = Decimal(amount)
    for day, paid in sorted(payments, key=lambda p: p[0]):
        balance -= Decimal(paid)
        events.append(BalanceEvent(day, max(balance, ZERO)))
    return events


@dataclass(frozen=True, slots=True)
class PenaltySegment:
    """A run of days with the same half-year and the same unpaid balance."""

    half_year: str
    start: date  # first late day of the run
    end: date  # last late day of the run (inclusive)
    base: Decimal
    rate: Decimal  # percent per year
    amount: Decimal  # unrounded

    @property
    def days(self) -> int:
        """Number of days in the run."""
        return (self.end - self.start).days + 1


@dataclass(frozen=True, slots=True)
class PenaltyResult:
    """Penalties on one invoice at `today`."""

    days_late: int
    penalty: Decimal  # rounded half up to the cent
    indemnity: Decimal
    segments: tuple[PenaltySegment, ...] = ()
    contractual: bool = False  # the contractual rate applied to at least one half-year
    set_aside: tuple[str, ...] = ()  # half-years where the contractual rate was below the floor (statutory rate)

    @property
    def total(self) -> Decimal:
        """Penalty plus indemnity."""
        return self.penalty + self.indemnity

    def by_half_year(self) -> dict[str, Decimal]:
        """The unrounded penalty of each half-year, in date order."""
        out: dict[str, Decimal] = {}
        for seg in self.segments:
            out[seg.half_year] = out.get(seg.half_year, ZERO) + seg.amount
        return out


NO_PENALTY = PenaltyResult(0, Decimal("0.00"), Decimal("0.00"))


def _balance_on(events: list[BalanceEvent], day: date) -> Decimal:
    balance = ZERO
    for event in events:
        if event.day > day:
            break
        balance = event.balance
    return balance


def _days_late(events: list[BalanceEvent], due_date: date, today: date) -> int:
    """Days late at `today`; 0 when not yet due or when nothing was owed on the day after the due date."""
    days_late = max(0, (today - due_date).days)
    if days_late == 0:
        return 0
    first_late = due_date + timedelta(days=1)
    if not events or events[0].day > first_late:
        raise PenaltyError("balance_events must say what was owed on the day after the due date")
    # Nothing owed at the end of the due date: the invoice was paid on time and was never late (a payment on
    # the day after still makes it late: the indemnity is due, though that day's penalty is on a nil balance).
    owed = _balance_on(events, due_date) if events[0].day <= due_date else events[0].balance
    return days_late if owed > 0 else 0


def compute_penalties(
    *,
    balance_events: Iterable[BalanceEvent | tuple[date, Decimal]],
    due_date: date,
    today: date,
    rate_table: RateTable,
    contractual_rate: Decimal | None = None,
    is_consumer: bool = False,
    public_buyer: bool = False,
) -> PenaltyResult:
    """Penalties and indemnity on one invoice at `today` from its balance events (see the module docstring).
    Documents use `invoice_penalties`, which builds the events the same way for everyone.

    `balance_events` say what is owed from each day on; the first one must start on or before the day after
    the due date (e.g. ``[(issue_date, amount), (payment_day, remaining), ...]``).
    """
    if isinstance(contractual_rate, float):
        raise TypeError("rates are Decimal, never float")
    events = sorted((BalanceEvent(d, Decimal(b)) for d, b in balance_events), key=lambda e: e.day)
    days_late = _days_late(events, due_date, today)
    if days_late == 0:
        return NO_PENALTY
    first_late = due_date + timedelta(days=1)
    if is_consumer:
        return PenaltyResult(days_late, Decimal("0.00"), Decimal("0.00"))

    # Cut the late period at half-year boundaries and at every balance change.
    cuts = {first_late, today + timedelta(days=1)}
    cuts.update(e.day for e in events if first_late < e.day <= today)
    day = first_late
    while True:
        day = _half_year_end(day) + timedelta(days=1)
        if day > today:
            break
        cuts.add(day)
    bounds = sorted(cuts)

    rates: dict[str, Decimal] = {}
    set_aside: list[str] = []
    segments = []
    for start, stop in itertools.pairwise(bounds):
        half = half_year_of(start)
        if half not in rates:
            rates[half] = _rate_of(half, rate_table, contractual_rate, public_buyer, set_aside)
        rate = rates[half]
        base = _balance_on(events, start)
        days = (stop - start).days
        amount = base * rate * days / (100 * DAYS_PER_YEAR) if base > 0 else ZERO
        segments.append(PenaltySegment(half, start, stop - timedelta(days=1), base, rate, amount))

    penalty = sum((s.amount for s in segments), ZERO).quantize(CENT, rounding=ROUND_HALF_UP)
    contractual = contractual_rate is not None and len(set_aside) < len(rates)
    return PenaltyResult(days_late, penalty, RECOVERY_INDEMNITY, tuple(segments), contractual, tuple(set_aside))


def _rate_of(
    half: str, table: RateTable, contractual_rate: Decimal | None, public_buyer: bool, set_aside: list[str]
) -> Decimal:
    """The rate of `half`: the contractual rate when it respects the legal floor there, else the statutory one."""
    if contractual_rate is not None:
        rate = Decimal(contractual_rate)
        if rate >= MIN_LEGAL_MULTIPLE * table.legal_rate(half):
            return rate
        # The law forbids a contractual rate below the floor: the clause cannot be applied in this half-year,
        # and the default rule of L441-10 (ECB + 10 points) governs instead.
        set_aside.append(half)
    return table.penalty_rate(half, public_buyer=public_buyer)


@dataclass(frozen=True, slots=True)
class InvoicePenalties:
    """What one invoice owes at `today`: the single source of every penalty, indemnity and total shown anywhere.

    `penalty` is None when it could not be computed (`missing_half_year` names the half-year missing from the
    rate table): documents then state the rule without a figure, and `total` leaves the penalties out.
    """

    balance: Decimal  # unpaid principal
    days_late: int
    penalty: Decimal | None
    indemnity: Decimal
    segments: tuple[PenaltySegment, ...] = ()
    contractual: bool = False
    set_aside: tuple[str, ...] = ()
    missing_half_year: str | None = None
    missing_table: str | None = None  # "ecb" or "legal"

    @property
    def known(self) -> bool:
        """True when the penalties were computed."""
        return self.penalty is not None

    @property
    def total(self) -> Decimal:
        """Principal + penalties (when known) + indemnity."""
        return self.balance + (self.penalty if self.penalty is not None else ZERO) + self.indemnity


def invoice_penalties(
    *,
    amount: Decimal,
    amount_paid: Decimal,
    payments: Iterable[tuple[date, Decimal]],
    due_date: date,
    today: date,
    rate_table: RateTable,
    contractual_rate: Decimal | None = None,
    is_consumer: bool = False,
    public_buyer: bool = False,
) -> InvoicePenalties:
    """Penalties, indemnity and total of one invoice at `today` from plain values (see the module docstring).

    `amount_paid` is everything paid so far; `payments` are the dated ones `(paid_on, amount)`. What `amount_paid`
    holds beyond the dated payments has no known date and counts as paid from the start.
    """
    amount, amount_paid = Decimal(amount), Decimal(amount_paid)
    dated = [(day, Decimal(paid)) for day, paid in payments]
    undated = max(ZERO, amount_paid - sum((paid for _, paid in dated), ZERO))
    # date.min: the opening balance must precede every dated payment, even one made before the invoice date.
    events = balance_events_from_payments(amount - undated, dated, start=date.min)
    balance = amount - amount_paid
    try:
        result = compute_penalties(
            balance_events=events,
            due_date=due_date,
            today=today,
            rate_table=rate_table,
            contractual_rate=contractual_rate,
            is_consumer=is_consumer,
            public_buyer=public_buyer,
        )
    except MissingRateError as exc:
        # No figure rather than a guess; the indemnity does not depend on a rate and stays due.
        days_late = _days_late(events, due_date, today)
        indemnity = RECOVERY_INDEMNITY if days_late > 0 and not is_consumer else Decimal("0.00")
        return InvoicePenalties(
            balance, days_late, None, indemnity, missing_half_year=exc.half_year, missing_table=exc.table
        )
    return InvoicePenalties(
        balance,
        result.days_late,
        result.penalty,
        result.indemnity,
        result.segments,
        result.contractual,
        result.set_aside,
    )
