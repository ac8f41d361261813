"""The plain data a message is rendered from: who writes, to whom, about which invoices, at which step.

Everything a client or an importer controls (client name, notes, address, invoice numbers) is cleaned here:
bidirectional-override and other invisible control characters are removed and the length is capped. Escaping
is the templates' job (HTML is autoescaped); client data is only ever a template *value*, never template source.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from email.utils import parseaddr
from functools import lru_cache

from dunning.penalties import PenaltySegment
from messages.formatting import address_lines as split_address
from messages.formatting import address_town

ZERO = Decimal("0.00")

#: Steps that have built-in templates.
STEPS = (
    "pre_reminder",
    "reminder_1",
    "reminder_2",
    "formal_notice",
    "promise_broken",
    "payment_plan_offer",
    "payment_thanks",
)
LANGUAGES = ("fr", "en")

# Bidi embeddings/overrides/isolates (U+202A-U+202E, U+2066-U+2069), marks (U+200E, U+200F, U+061C), zero-width
# characters and the other C0/C1 controls except tab and newline: they can make a name display as something else.
_INVISIBLE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
#: Longest client-controlled string kept (a name of 10,000 characters would break the letter and the subject).
MAX_FIELD = 300


def clean_text(value: str, limit: int = MAX_FIELD, *, single_line: bool = False) -> str:
    """`value` without invisible or direction-changing characters, at most `limit` characters (ellipsis added)."""
    text = _INVISIBLE.sub("", value)
    if single_line:
        text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


@lru_cache(maxsize=64)
def bare_email(value: str) -> str:
    """ "compta@x.fr" from "Atelier Dupont <compta@x.fr>": a link or a letter prints the address, not the mail
    header (cached: every template asks for the sender's, and a business has one or two)."""
    return parseaddr(value)[1] or value.strip()


@dataclass(frozen=True, slots=True)
class Sender:
    """The business that writes (from the Business row or the settings)."""

    name: str
    address: str = ""
    siren: str = ""
    iban: str = ""
    bic: str = ""
    phone: str = ""
    email: str = ""
    reply_to: str = ""
    formal_notice_days: int = 8
    payment_link: str = ""

    @property
    def contact_email(self) -> str:
        """Where the client should answer: the bare address (a `mailto:` link breaks on `Name <address>`)."""
        return bare_email(self.reply_to or self.email)

    @property
    def address_lines(self) -> list[str]:
        """The postal address, one line per element (see messages.formatting.address_lines)."""
        return split_address(self.address)

    @property
    def city(self) -> str:
        """The town of the address ("69003 Lyon" -> "Lyon"), for "Fait à ..." in the letter."""
        return address_town(self.address)

    @property
    def iban_display(self) -> str:
        """The IBAN in groups of four characters, as printed on a RIB."""
        compact = self.iban.replace(" ", "").upper()
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    @property
    def siren_display(self) -> str:
        """The SIREN as "123 456 789"."""
        digits = self.siren.replace(" ", "")
        if len(digits) == 9 and digits.isdigit():
            return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
        return self.siren


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One invoice as a message shows it; `penalties` and `indemnity` are those due at the context's `today`."""

    number: str
    issue_date: date
    due_date: date
    amount: Decimal
    amount_paid: Decimal = ZERO
    balance: Decimal | None = None  # defaults to amount - amount_paid
    currency: str = "EUR"
    days_overdue: int = 0
    penalties: Decimal = ZERO
    indemnity: Decimal = ZERO
    penalty_segments: tuple[PenaltySegment, ...] = ()
    pdf_path: str | None = None
    pdf_sha256: str | None = None  # of the PDF at pdf_path, as imported: checked before it is attached

    def __post_init__(self) -> None:
        object.__setattr__(self, "number", clean_text(self.number, 64, single_line=True))
        if self.balance is None:
            object.__setattr__(self, "balance", self.amount - self.amount_paid)

    @property
    def due(self) -> Decimal:
        """What is owed on this invoice today: balance + penalties + indemnity."""
        return self.remaining + self.penalties + self.indemnity

    @property
    def remaining(self) -> Decimal:
        """The unpaid principal (typed for mypy: `balance` is always set after construction)."""
        assert self.balance is not None
        return self.balance

    @property
    def is_overdue(self) -> bool:
        """True once the due date has passed."""
        return self.days_overdue > 0


@dataclass(frozen=True, slots=True)
class ScheduleLine:
    """One instalment of a payment plan as a message shows it (an instalment split over two invoices is one line):
    its position, due date, amount, what was paid on it and whether it is missed (due date passed, not paid)."""

    seq: int
    due_date: date
    amount: Decimal
    paid: Decimal = ZERO
    missed: bool = False
    invoices: str = ""  # the invoice numbers it pays, "F-1" or "F-1 et F-2"

    @property
    def remaining(self) -> Decimal:
        """What is still expected on this instalment."""
        return max(ZERO, self.amount - self.paid)


@dataclass(frozen=True, slots=True)
class DraftContext:
    """Everything a template may use, for one message to one client covering one or more invoices."""

    sender: Sender
    client_name: str
    step: str
    invoices: tuple[InvoiceLine, ...]
    today: date
    client_language: str = "fr"
    client_profile: str = "standard"
    is_consumer: bool = False
    client_address: str = ""
    client_email: str = ""
    client_notes: str = ""  # shown to the owner only (call script), never to the client
    deadline: date | None = None  # formal notice / reminder_2 deadline; default today + sender.formal_notice_days
    promise_broken: bool = False
    promised_date: date | None = None
    payment_plan_offered: bool = False
    plan_instalments: int = 3
    payment_received: Decimal | None = None  # for payment_thanks: the amount just received
    rates_missing: str | None = None  # a half-year missing from the rate table: penalties could not be computed
    contractual_rate: Decimal | None = None  # the client's agreed penalty rate (percent), when there is one
    # The ladder step's channel (email, phone, registered_letter, email+letter) and tone (informative, friendly,
    # firm, formal); "" for a message outside the ladder. `tone` below is the client's profile, not the step's.
    channel: str = "email"
    step_tone: str = ""
    currency: str = field(default="EUR")
    # A payment plan's instalments (messages outside the ladder: plan_schedule lists them, plan_reminder names the
    # missed ones); empty for every other message.
    schedule: tuple[ScheduleLine, ...] = ()

    def __post_init__(self) -> None:
        if self.client_language not in LANGUAGES:
            object.__setattr__(self, "client_language", "fr")
        object.__setattr__(self, "client_name", clean_text(self.client_name, single_line=True))
        object.__setattr__(self, "client_address", clean_text(self.client_address, 500))
        object.__setattr__(self, "client_email", clean_text(self.client_email, 254, single_line=True))
        object.__setattr__(self, "client_notes", clean_text(self.client_notes, 2000))
        if self.deadline is None:
            object.__setattr__(self, "deadline", self.today + timedelta(days=self.sender.formal_notice_days))
        if self.invoices:
            object.__setattr__(self, "currency", self.invoices[0].currency)

    # --- totals -------------------------------------------------------------------------------------------
    @property
    def total_amount(self) -> Decimal:
        """Sum of the invoices' amounts (tax included)."""
        return sum((i.amount for i in self.invoices), ZERO)

    @property
    def total_paid(self) -> Decimal:
        """Sum already paid on these invoices."""
        return sum((i.amount_paid for i in self.invoices), ZERO)

    @property
    def total_balance(self) -> Decimal:
        """The unpaid principal."""
        return sum((i.remaining for i in self.invoices), ZERO)

    @property
    def total_penalties(self) -> Decimal:
        """Late-payment penalties to date."""
        return sum((i.penalties for i in self.invoices), ZERO)

    @property
    def total_indemnity(self) -> Decimal:
        """Recovery indemnities (40 € per late invoice, B2B only)."""
        return sum((i.indemnity for i in self.invoices), ZERO)

    @property
    def total_due(self) -> Decimal:
        """Principal + penalties + indemnities."""
        return self.total_balance + self.total_penalties + self.total_indemnity

    @property
    def max_days_overdue(self) -> int:
        """Days overdue of the oldest invoice."""
        return max((i.days_overdue for i in self.invoices), default=0)

    @property
    def overdue_invoices(self) -> tuple[InvoiceLine, ...]:
        """The invoices whose due date has passed."""
        return tuple(i for i in self.invoices if i.is_overdue)

    @property
    def invoice_numbers(self) -> str:
        """ "F-1, F-2 and F-3" style list for subjects (language-aware conjunction)."""
        numbers = [i.number for i in self.invoices]
        if len(numbers) <= 1:
            return "".join(numbers)
        last = " et " if self.client_language == "fr" else " and "
        return ", ".join(numbers[:-1]) + last + numbers[-1]

    @property
    def several(self) -> bool:
        """True when the message covers more than one invoice."""
        return len(self.invoices) > 1

    @property
    def first(self) -> InvoiceLine:
        """The (first) invoice, for single-invoice wording."""
        return self.invoices[0]

    @property
    def earliest_due_date(self) -> date:
        """The oldest due date among the invoices."""
        return min(i.due_date for i in self.invoices)

    # --- profile and step -----------------------------------------------------------------------------------
    @property
    def tone(self) -> str:
        """ "soft" for a loyal client, "firm" for a repeat late payer, else "standard"."""
        return {"loyal": "soft", "late_payer": "firm"}.get(self.client_profile, "standard")

    @property
    def prefer_call(self) -> bool:
        """True for a key account: the owner should call before any e-mail (the card proposes the script first)."""
        return self.client_profile == "key_account"

    @property
    def with_letter(self) -> bool:
        """True when a letter (PDF) goes with this step: its channel posts one, or it is the formal notice (whose
        e-mail announces the letter attached, whatever the channel)."""
        return self.channel in ("registered_letter", "email+letter") or self.step == "formal_notice"

    @property
    def formal_letter(self) -> bool:
        """True when the letter is the formal notice (mise en demeure): a formal step; else a reminder letter."""
        return self.step == "formal_notice" or self.step_tone == "formal"

    @property
    def offers_payment_plan(self) -> bool:
        """True when the message proposes a payment plan (always for a client in difficulty at reminder_2)."""
        return self.payment_plan_offered or (self.client_profile == "in_difficulty" and self.step == "reminder_2")

    @property
    def b2b(self) -> bool:
        """True for a business client: commercial penalties and the 40 € indemnity apply."""
        return not self.is_consumer

    @property
    def penalties_known(self) -> bool:
        """True when penalties could be computed for every invoice (no half-year missing from the rate table)."""
        return self.rates_missing is None

    @property
    def has_pdfs(self) -> bool:
        """True when at least one invoice PDF is known (and will be attached)."""
        return any(i.pdf_path for i in self.invoices)

    @property
    def plan_schedule(self) -> list[tuple[date, Decimal]]:
        """A proposed payment plan: `plan_instalments` monthly instalments of the balance, the first at `deadline`;
        equal amounts to the cent, the last one takes the remainder."""
        count = max(1, self.plan_instalments)
        total = self.total_balance
        share = (total / count).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        first = self.deadline or self.today
        out = []
        for k in range(count):
            month = first.month - 1 + k
            year, month = first.year + month // 12, month % 12 + 1
            day = min(first.day, calendar.monthrange(year, month)[1])
            amount = share if k < count - 1 else total - share * (count - 1)
            out.append((date(year, month, day), amount))
        return out

    @property
    def schedule_total(self) -> Decimal:
        """The sum of the plan's instalments."""
        return sum((line.amount for line in self.schedule), ZERO)

    @property
    def missed_instalments(self) -> tuple[ScheduleLine, ...]:
        """The plan's instalments whose date has passed without being paid."""
        return tuple(line for line in self.schedule if line.missed)

    @property
    def missed_total(self) -> Decimal:
        """What is late on the plan: the unpaid part of its missed instalments."""
        return sum((line.remaining for line in self.missed_instalments), ZERO)

    @property
    def next_instalments(self) -> tuple[ScheduleLine, ...]:
        """The plan's instalments still to come (not missed, not fully paid)."""
        return tuple(line for line in self.schedule if not line.missed and line.remaining > 0)

    @property
    def lang(self) -> str:
        """The client's language."""
        return self.client_language
