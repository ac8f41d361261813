"""Which open invoice a bank credit pays: invoice number in the remittance, then amount and name, then amount alone.

An amount is expected of an invoice when it is its balance or, for an invoice in a payment plan, its next instalment
(what is left of it), as the caller computed it (`OpenInvoice.instalment`).

Pure policy: the statement lines and the open invoices come in as plain values, the outcome goes out as plain
values; recording payments, cards and flags is the caller's. Invoices are indexed once (by number key, by
remaining balance, by remaining balance and client name), so a statement of n lines costs O(n) look-ups whatever
the number of open invoices.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import chain
from typing import NamedTuple

#: At most this many candidates are listed on a doubtful match (the card offers them, then "choose another").
MAX_CANDIDATES = 10
#: An invoice number spans at most this many letter / digit runs ("FA-2026-11-0042" is 4); longer ones are
#: indexed but only whole (never found inside a remittance text).
MAX_NUMBER_RUNS = 8
#: Counterparty names longer than this many words are cut: banks pad them with addresses and references.
MAX_NAME_WORDS = 16

_ZERO = Decimal(0)
_ACCENTS = re.compile("[\u0300-\u036f]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})
_RUNS = re.compile(r"[0-9]+|[a-z]+")
#: Apostrophes join ("L'Atelier" and "LATELIER" are one word); every other non-alphanumeric separates words.
_APOSTROPHES = re.compile("['`\u00b4\u2018\u2019\u02bc]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
#: Dotted acronyms ("S.A.R.L.", "E.U.R.L") lose their dots so that they read as one word.
_DOTTED = re.compile(r"\b(?:[a-z]\.){1,5}[a-z]\b\.?")

#: Legal-form words, French first: they come and go between an invoice, a bank and a spreadsheet, and never tell
#: two clients apart. "Spa", "Co", "Cie" stay: they are also ordinary words of a trade name.
LEGAL_FORMS = frozenset(
    {
        # France
        "sarl", "sas", "sasu", "sa", "eurl", "sci", "snc", "scs", "sca", "scop", "scp", "scm", "sel", "selarl",
        "selas", "selasu", "selafa", "selca", "ei", "eirl", "earl", "gaec", "gie", "sem", "spl", "sccv", "scea",
        # Belgium, Luxembourg, Switzerland, Germany, Austria, Netherlands, Italy, Spain
        "sprl", "srl", "scrl", "asbl", "gmbh", "ag", "kg", "ohg", "ug", "mbh", "bv", "nv", "spa", "sapa", "sl", "slu",
        # English-speaking
        "ltd", "limited", "llc", "llp", "plc", "inc", "corp",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One credit of a bank statement: what the matcher needs of it."""

    line_id: str  # the caller's identity of the line (account, booking date, amount, entry reference or hash)
    booking_date: date
    amount: Decimal
    currency: str
    counterparty: str  # the payer's name as the bank gives it
    remittance: str  # the remittance information (unstructured and structured references, joined)


@dataclass(frozen=True, slots=True)
class OpenInvoice:
    """One invoice that still has a balance to be paid."""

    invoice_id: int
    number: str
    client_id: int
    client_name: str
    balance: Decimal
    currency: str
    due_date: date
    #: In a payment plan: its next instalment not yet covered (what is left of it), also expected as a payment;
    #: only while the balance is `balance` (once a line of the statement pays the invoice, only its balance is).
    instalment: Decimal | None = None


class MatchRule(StrEnum):
    """Which rule made a match sure."""

    NUMBER = "number"  # the invoice number(s) found in the remittance information
    AMOUNT_AND_NAME = "amount_and_name"  # an expected amount, paid by a counterparty bearing the client's name
    AMOUNT = "amount"  # the only open invoice expecting exactly that amount


class DoubtReason(StrEnum):
    """Why a line needs the owner's word."""

    AMBIGUOUS_NUMBER = "ambiguous_number"  # a number in the remittance reads as two invoices' numbers
    SEVERAL_INVOICES = "several_invoices"  # more than one invoice expects the amount (and has the name)
    SEVERAL_LINES = "several_lines"  # one invoice fits, but so does another line of the statement
    OTHER_CLIENT = "other_client"  # the only invoice of that amount is not the counterparty's, a known client


class UnmatchedReason(StrEnum):
    """Why a line matches nothing."""

    NO_MATCH = "no_match"
    OTHER_CURRENCY = "other_currency"  # no open invoice is in the line's currency (or the one it names)
    NOT_A_CREDIT = "not_a_credit"  # a zero or negative amount
    DUPLICATE_LINE = "duplicate_line"  # a second line with the same line_id in the same statement


class Allocation(NamedTuple):
    """An amount of a line recorded as paid on one invoice."""

    invoice_id: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Sure:
    """A line matched for certain: record its allocations as payments dated on its booking date.

    `overpaid` is what the line brings beyond the balances of the invoices it names: flag it to the owner (a
    duplicate payment, or one to assign by hand); it is never allocated.
    """

    line: CreditLine
    allocations: tuple[Allocation, ...]
    rule: MatchRule
    overpaid: Decimal = _ZERO


@dataclass(frozen=True, slots=True)
class Doubtful:
    """A line the owner confirms: the candidates first ("C'est la facture … ?"), oldest due date first."""

    line: CreditLine
    candidates: tuple[int, ...]  # invoice ids, at most MAX_CANDIDATES
    reason: DoubtReason


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A line that pays none of the open invoices (as far as the matcher can tell)."""

    line: CreditLine
    reason: UnmatchedReason = UnmatchedReason.NO_MATCH


Outcome = Sure | Doubtful | Unmatched


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One outcome per line, lines sorted by booking date then line id, and the balances the sure matches leave."""

    outcomes: tuple[Outcome, ...]
    balances: Mapping[int, Decimal]  # every open invoice's balance once the sure allocations are recorded

    @property
    def sure(self) -> tuple[Sure, ...]:
        """The lines to record as payments."""
        return tuple(o for o in self.outcomes if isinstance(o, Sure))

    @property
    def doubtful(self) -> tuple[Doubtful, ...]:
        """The lines to confirm, one card each."""
        return tuple(o for o in self.outcomes if isinstance(o, Doubtful))

    @property
    def unmatched(self) -> tuple[Unmatched, ...]:
        """The lines that pay nothing known."""
        return tuple(o for o in self.outcomes if isinstance(o, Unmatched))

    @property
    def overpaid(self) -> tuple[Sure, ...]:
        """The sure lines that bring more than the invoices they name owe: each one is flagged to the owner."""
        return tuple(o for o in self.sure if o.overpaid > 0)

    @property
    def settled(self) -> tuple[int, ...]:
        """The invoices the sure matches pay off, in invoice id order."""
        return tuple(sorted(i for i, balance in self.balances.items() if balance <= 0))


def _ascii_lower(text: str) -> str:
    """Accents and case dropped: "Éric Œuvre" -> "eric oeuvre"; any other non-ASCII character separates words."""
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold().translate(_LIGATURES)))


def _significant(run: str) -> str:
    """A letter run as it is, a digit run without its leading zeros ("042" -> "42", "000" -> "0")."""
    return (run.lstrip("0") or "0") if run[0].isdigit() else run


def _number_runs(text: str) -> list[str]:
    """The letter and digit runs of a text, digit runs without their leading zeros ("F-2026-042" -> f 2026 42)."""
    return [_significant(run) for run in _RUNS.findall(_ascii_lower(text))]


def normalise_number(text: str) -> str:
    """The key of an invoice number: case, spaces, dashes, dots, slashes and leading zeros of digit groups ignored.

    `F-2026-042`, `f 2026 042`, `F.2026.42` and `F/2026/0042` share the key "f202642". `F2026042` (no separator)
    keys as "f2026042": its zero cannot be told from a significant one (F-2026-402 is another invoice), so an
    invoice is also indexed under its number with every zero kept (see number_keys), which finds it there too.
    """
    return "".join(_number_runs(text))


def number_keys(number: str) -> frozenset[str]:
    """The keys an invoice number is found under: its normalised key and its digits as written, separators dropped.

    A number without a digit has no key: a word of a remittance text is never taken for an invoice number.
    """
    return _keys_of(_RUNS.findall(_ascii_lower(number)))


def _keys_of(runs: list[str]) -> frozenset[str]:
    """number_keys of a number already cut into runs."""
    if not any(run[0].isdigit() for run in runs):
        return frozenset()
    return frozenset({"".join(map(_significant, runs)), "".join(runs)})


def _name_words(text: str) -> list[str]:
    """The words of a company name: accents, case, punctuation and legal-form words dropped."""
    text = _APOSTROPHES.sub("", _ascii_lower(text))
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)
    return [w for w in _NON_WORD.split(text) if w and w not in LEGAL_FORMS]


def normalise_name(text: str) -> str:
    """The key of a company name: "SARL L'Atelier Dupont", "L ATELIER DUPONT S.A.R.L." -> "latelierdupont".

    Accents, case, punctuation, spaces and legal-form words (LEGAL_FORMS) are ignored. Empty when nothing but
    legal forms and punctuation is left: such a key never matches.
    """
    return "".join(_name_words(text))


def _name_windows(text: str) -> set[str]:
    """The keys of every run of consecutive words of a counterparty: the client names it may contain."""
    words = _name_words(text)[:MAX_NAME_WORDS]
    return {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


@dataclass(frozen=True, slots=True)
class NumberIndex:
    """Open invoices by number key, for scanning remittance texts (built once per statement)."""

    keys: Mapping[str, tuple[int, ...]]  # number key -> invoice ids (two only when two numbers collide)
    max_runs: int  # the most letter / digit runs of an indexed number: the longest window to look up

    @classmethod
    def build(cls, invoices: Iterable[OpenInvoice]) -> NumberIndex:
        """Index each invoice under its number_keys."""
        keys: dict[str, tuple[int, ...]] = {}
        max_runs = 1
        for invoice in invoices:
            runs = _RUNS.findall(_ascii_lower(invoice.number))
            alone = (invoice.invoice_id,)  # one tuple shared by both keys: 100,000 invoices make 200,000 keys
            for key in _keys_of(runs):
                ids = keys.get(key)
                keys[key] = alone if ids is None else ids if invoice.invoice_id in ids else (*ids, invoice.invoice_id)
            max_runs = max(max_runs, min(len(runs), MAX_NUMBER_RUNS))
        return cls(keys, max_runs)


def find_numbers(remittance: str, index: NumberIndex) -> tuple[tuple[int, ...], ...]:
    """The invoice numbers a remittance text names, in the order it names them, each as the ids it reads as.

    The text is cut into letter and digit runs; at each run, the longest window of runs whose key is an indexed
    number wins and the scan resumes after it (so "F-2026-042" is not also read as an invoice "2026-042"). A run is
    never cut: "F-2026-0421" does not name F-2026-042. Each number is given once.
    """
    runs = _number_runs(remittance)
    found: list[tuple[int, ...]] = []
    i, n = 0, len(runs)
    while i < n:
        for length in range(min(index.max_runs, n - i), 0, -1):
            ids = index.keys.get("".join(runs[i : i + length]))
            if ids is not None:
                if ids not in found:
                    found.append(ids)
                i += length
                break
        else:
            i += 1
    return tuple(found)


#: Invoice ids by expected amount (balance or plan instalment); append-only (an entry whose invoice no longer expects
#: that amount is skipped on reading): a list of one id is a quarter of the size of a dict, and a balance only
#: decreases, so no id comes back.
_Buckets = dict[Decimal, list[int]]


@dataclass(slots=True)
class _Book:
    """The open invoices and their balances as the statement is matched, with the indexes kept in step."""

    invoices: dict[int, OpenInvoice] = field(default_factory=dict)
    balances: dict[int, Decimal] = field(default_factory=dict)
    name_keys: dict[int, str] = field(default_factory=dict)
    by_amount: dict[str, _Buckets] = field(default_factory=dict)  # by currency
    by_name: dict[tuple[str, str], _Buckets] = field(default_factory=dict)  # by currency and client name key
    clients_by_name: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def open(cls, invoices: Iterable[OpenInvoice]) -> _Book:
        """Index the invoices with a balance, oldest due date first (so candidates come in that order)."""
        book, keys = cls(), dict[str, str]()
        for invoice in sorted(invoices, key=lambda i: (i.due_date, i.invoice_id)):
            if invoice.invoice_id in book.invoices:
                raise ValueError(f"invoice {invoice.invoice_id} is given twice")
            if invoice.balance <= 0:
                continue
            book.invoices[invoice.invoice_id] = invoice
            key = keys.get(invoice.client_name)
            if key is None:
                key = keys[invoice.client_name] = normalise_name(invoice.client_name)
            book.name_keys[invoice.invoice_id] = key
            if key:
                book.clients_by_name.setdefault(key, set()).add(invoice.client_id)
            book.by_amount.setdefault(invoice.currency, {})
            book._place(invoice.invoice_id, invoice.balance)
            if invoice.instalment is not None and 0 < invoice.instalment < invoice.balance:
                book._file(invoice.invoice_id, invoice.instalment)
        return book

    def _place(self, invoice_id: int, balance: Decimal) -> None:
        """Record a balance and file the invoice under it (an invoice paid off is filed nowhere)."""
        self.balances[invoice_id] = balance
        if balance > 0:
            self._file(invoice_id, balance)

    def _file(self, invoice_id: int, amount: Decimal) -> None:
        """File the invoice under an amount it expects."""
        currency, key = self.invoices[invoice_id].currency, self.name_keys[invoice_id]
        self.by_amount[currency].setdefault(amount, []).append(invoice_id)
        if key:
            self.by_name.setdefault((currency, key), {}).setdefault(amount, []).append(invoice_id)

    def expects(self, invoice_id: int, amount: Decimal) -> bool:
        """Whether `amount` is the invoice's balance, or its next instalment while nothing of the statement paid it."""
        balance = self.balances[invoice_id]
        if balance == amount:
            return True
        invoice = self.invoices[invoice_id]
        return invoice.instalment == amount and balance == invoice.balance

    def allocate(self, invoice_id: int, amount: Decimal) -> None:
        """Take `amount` off an invoice's balance, filing it under the new one."""
        self._place(invoice_id, self.balances[invoice_id] - amount)

    def owing(self, buckets: _Buckets | None, amount: Decimal) -> Iterator[int]:
        """The invoices of a bucket that still expect exactly `amount`."""
        return (i for i in (buckets or {}).get(amount, ()) if self.expects(i, amount))

    def candidates(self, ids: Iterable[int]) -> tuple[int, ...]:
        """At most MAX_CANDIDATES distinct invoice ids, oldest due date first."""
        first: dict[int, None] = {}
        for invoice_id in ids:  # stops early: a bucket of a common amount can hold thousands
            first[invoice_id] = None
            if len(first) == MAX_CANDIDATES:
                break
        return tuple(sorted(first, key=lambda i: (self.invoices[i].due_date, i)))


def _by_number(line: CreditLine, found: tuple[tuple[int, ...], ...], book: _Book) -> Outcome:
    """Rule 1: allocate the line to the invoices its remittance names, in order; what is left over is overpaid."""
    ambiguous = [ids for ids in found if len(ids) > 1]
    if ambiguous:
        return Doubtful(line, book.candidates(i for ids in ambiguous for i in ids), DoubtReason.AMBIGUOUS_NUMBER)
    named = [ids[0] for ids in found if book.invoices[ids[0]].currency == line.currency]
    if not named:
        return Unmatched(line, UnmatchedReason.OTHER_CURRENCY)
    left, allocations = line.amount, []
    for invoice_id in named:
        share = min(left, book.balances[invoice_id])
        if share > 0:
            allocations.append(Allocation(invoice_id, share))
            book.allocate(invoice_id, share)
            left -= share
    return Sure(line, tuple(allocations), MatchRule.NUMBER, left)


def _resolve(
    pending: dict[int, tuple[CreditLine, tuple[int, ...]]],
    rule: MatchRule,
    book: _Book,
    outcomes: dict[int, Outcome],
    held: Iterable[int] = (),
) -> None:
    """Rules 2 and 3: sure with one candidate that no other line fits (pending, or `held` by a doubtful line)."""
    claims = Counter(i for _, candidates in pending.values() for i in candidates)
    claims.update(held)
    for position, (line, candidates) in pending.items():
        if len(candidates) > 1:
            outcomes[position] = Doubtful(line, candidates, DoubtReason.SEVERAL_INVOICES)
        elif claims[candidates[0]] > 1:
            outcomes[position] = Doubtful(line, candidates, DoubtReason.SEVERAL_LINES)
        else:
            book.allocate(candidates[0], line.amount)
            outcomes[position] = Sure(line, (Allocation(candidates[0], line.amount),), rule)


def match(lines: Iterable[CreditLine], invoices: Iterable[OpenInvoice]) -> MatchResult:
    """Match a statement's credit lines against the open invoices, rule after rule over all the lines.

    1. The invoice number(s) found in the remittance: allocated in the order named, a partial payment allowed, any
       excess flagged as overpaid. Lines are taken by booking date then line id, each consuming balances, so two
       lines never pay one invoice beyond its balance.
    2. Then an amount expected of an invoice (its exact balance, or its next plan instalment) whose client's name the
       counterparty contains.
    3. Then an amount expected of only one invoice; if the counterparty is another known client, the owner confirms.
    Rules 2 and 3 are sure only with one candidate that no other line fits; otherwise the line is doubtful, with
    the candidates. A line in a currency that no invoice has (or, by number, that its invoice has not) is unmatched.
    The result does not depend on the order of `lines` or `invoices`.
    """
    book = _Book.open(invoices)
    numbers = NumberIndex.build(book.invoices.values())
    ordered = sorted(lines, key=lambda line: (line.booking_date, line.line_id))
    outcomes: dict[int, Outcome] = {}
    seen: set[str] = set()
    rest: list[int] = []
    for position, line in enumerate(ordered):
        if line.line_id in seen:
            outcomes[position] = Unmatched(line, UnmatchedReason.DUPLICATE_LINE)
            continue
        seen.add(line.line_id)
        if line.amount <= 0:
            outcomes[position] = Unmatched(line, UnmatchedReason.NOT_A_CREDIT)
        elif found := find_numbers(line.remittance, numbers):
            outcomes[position] = _by_number(line, found, book)
        elif line.currency not in book.by_amount:
            outcomes[position] = Unmatched(line, UnmatchedReason.OTHER_CURRENCY)
        else:
            rest.append(position)

    by_name: dict[int, tuple[CreditLine, tuple[int, ...]]] = {}
    windows: dict[int, set[str]] = {}
    for position in rest:
        line = ordered[position]
        windows[position] = _name_windows(line.counterparty)
        named = (book.owing(book.by_name.get((line.currency, k)), line.amount) for k in sorted(windows[position]))
        if candidates := book.candidates(chain.from_iterable(named)):
            by_name[position] = (line, candidates)
    _resolve(by_name, MatchRule.AMOUNT_AND_NAME, book, outcomes)

    by_amount: dict[int, tuple[CreditLine, tuple[int, ...]]] = {}
    for position in rest:
        if position in outcomes:
            continue
        line = ordered[position]
        candidates = book.candidates(book.owing(book.by_amount[line.currency], line.amount))
        if not candidates:
            outcomes[position] = Unmatched(line)
            continue
        payer = {c for key in windows[position] for c in book.clients_by_name.get(key, ())}
        if len(candidates) == 1 and payer and book.invoices[candidates[0]].client_id not in payer:
            outcomes[position] = Doubtful(line, candidates, DoubtReason.OTHER_CLIENT)
        else:
            by_amount[position] = (line, candidates)
    held = (i for p in by_name if isinstance(outcomes[p], Doubtful) for i in by_name[p][1])
    _resolve(by_amount, MatchRule.AMOUNT, book, outcomes, held)
    return MatchResult(tuple(outcomes[p] for p in range(len(ordered))), book.balances)
