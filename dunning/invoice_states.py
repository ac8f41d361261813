"""Every state an invoice can be in, and the one pure function that moves it: an event in, a new status out.

`apply(status, event)` returns a `Transition`: the new status, the evidence-log entry to write with it (every
change is one entry, written in the same transaction as the state), and the owner's cards to raise. An event
that does not fit the state raises `IllegalTransition` and changes nothing (statuses are immutable).

The choices it makes:
- Open or partially paid is decided by the balance: partially paid once any payment was received. A credit note
  is not a payment: it lowers the balance and leaves an unpaid invoice open.
- Over-payment: what exceeds the balance is never absorbed; it is kept in `amount_overpaid` and raises a card.
  Money received on a paid or cancelled invoice is all over-payment (the client paid twice). Money received on a
  written-off invoice is refused: the owner reopens it first, which puts it back in the ladder.
- A credit note may not exceed the balance. One that settles it cancels the invoice when nothing was paid, and
  settles it as paid otherwise (the money received stays visible). During a payment plan it shortens the plan
  from its last instalment, so the plan still sums to what is owed.
- A promise is broken the day after its date with a balance left: the invoice is chased again and a card asks
  the owner (the ladder itself waits for a business day). A plan's instalment is missed the day after its date
  when the payments received during the plan do not cover it; each missed instalment raises one card, and the
  plan runs until the owner ends it (its end resumes the ladder).
- `late_claim`: an invoice paid after its due date keeps its penalties and the 40 EUR indemnity claimable
  (art. L441-10 and D441-5 Code de commerce), never for a consumer; the payment that settles it late raises a card.
Display names live in the chat catalogues; the ids here are stable (stored, logged).
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any, NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MIN_INSTALMENTS = 2
MAX_INSTALMENTS = 12


class State(StrEnum):
    """Where an invoice stands (stable ids, stored as text: at most 16 characters)."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    DISPUTED = "disputed"
    PROMISED = "promised"
    PAYMENT_PLAN = "payment_plan"
    WRITTEN_OFF = "written_off"
    CANCELLED = "cancelled"


#: Nothing is owed any more: no event but a payment (over-payment) or a reopening applies.
CLOSED_STATES = frozenset({State.PAID, State.WRITTEN_OFF, State.CANCELLED})
#: The states a promise or a plan may start from (a plan may be renegotiated).
_PROMISABLE = frozenset({State.OPEN, State.PARTIALLY_PAID, State.PROMISED})
_PLANNABLE = _PROMISABLE | {State.PAYMENT_PLAN}


class EvidenceKind(StrEnum):
    """The evidence-log kind of each transition (the existing kinds of storage are kept)."""

    PAYMENT_RECORDED = "payment_recorded"
    CREDIT_NOTE_RECORDED = "credit_note_recorded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"
    WRITTEN_OFF = "written_off"
    REOPENED = "reopened"
    PROMISE_RECORDED = "promise_recorded"
    PROMISE_BROKEN = "promise_broken"
    PLAN_STARTED = "plan_started"
    PLAN_INSTALMENT_MISSED = "plan_instalment_missed"
    PLAN_ENDED = "plan_ended"


class CardKind(StrEnum):
    """What the owner is asked about after a transition."""

    OVERPAYMENT = "overpayment"  # refund or assign the excess
    PROMISE_BROKEN = "promise_broken"  # the ladder resumes; call the client?
    INSTALMENT_MISSED = "instalment_missed"  # remind, or end the plan and resume the ladder
    LATE_PAYMENT = "late_payment"  # paid late: claim the penalties and the indemnity in one tap


class IllegalTransition(ValueError):
    """An event that does not fit the invoice's state. The message (English) is for logs; the owner reads the
    catalogue message `illegal.<code>` with `values` (the state as a `State`, amounts as Decimal, dates as date)
    and the invoice's `number`, which the storage bridge fills in."""

    def __init__(self, message: str, code: str, **values: Any) -> None:
        super().__init__(message)
        self.code = code
        self.values = values
        self.number: str | None = None


class InvalidStatus(ValueError):
    """A status whose figures or fields contradict its state (a storage row that cannot be right)."""


class Instalment(NamedTuple):
    """One instalment of a payment plan: `amount` expected by `due`."""

    due: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class InvoiceStatus:
    """An invoice's state and the figures that decide it; always consistent (checked on construction).

    `amount == amount_paid + amount_credited + amount_written_off + balance`. `amount_overpaid` is received money
    beyond what was owed, kept apart. During a plan, `plan_paid` is what was paid since it started and
    `plan_missed` the number of instalments already reported missed.
    """

    state: State
    amount: Decimal
    due_date: date
    amount_paid: Decimal = ZERO
    amount_credited: Decimal = ZERO
    amount_written_off: Decimal = ZERO
    amount_overpaid: Decimal = ZERO
    last_paid_on: date | None = None
    consumer: bool = False
    dispute_reason: str | None = None
    promised_until: date | None = None
    broken_promise: date | None = None  # the date of the last promise not kept, for the next reminder to say
    plan: tuple[Instalment, ...] = ()
    plan_paid: Decimal = ZERO
    plan_missed: int = 0

    def __post_init__(self) -> None:
        # A stored row gives text: make it the enum (an unknown id fails here), as states are compared by identity.
        object.__setattr__(self, "state", State(self.state))
        problems = _problems(self)
        if problems:
            raise InvalidStatus(f"invalid {self.state} invoice status: " + "; ".join(problems))

    @classmethod
    def new(cls, amount: Decimal, due_date: date, *, consumer: bool = False) -> InvoiceStatus:
        """A freshly issued invoice: open, nothing paid."""
        return cls(State.OPEN, amount, due_date, consumer=consumer)

    @property
    def balance(self) -> Decimal:
        """What is still owed."""
        return self.amount - self.amount_paid - self.amount_credited - self.amount_written_off


def _is_cents(value: Decimal) -> bool:
    return value.is_finite() and value == value.quantize(CENT)


def _problems(s: InvoiceStatus) -> list[str]:
    """What is wrong with `s` (empty when it is consistent)."""
    problems = []
    money = {
        "amount": s.amount,
        "amount_paid": s.amount_paid,
        "amount_credited": s.amount_credited,
        "amount_written_off": s.amount_written_off,
        "amount_overpaid": s.amount_overpaid,
        "plan_paid": s.plan_paid,
    }
    for name, value in money.items():
        if not _is_cents(value) or value < 0:
            problems.append(f"{name} {value} must be a non-negative amount in cents")
    if problems:
        return problems
    if s.amount == 0:
        problems.append("amount must be positive")
    if s.balance < 0:
        problems.append(f"paid, credited and written off exceed the amount {s.amount}")
    settled = s.state in CLOSED_STATES
    if settled != (s.balance == 0):
        problems.append(f"balance {s.balance} does not fit the state")
    if (s.state is State.WRITTEN_OFF) != (s.amount_written_off > 0):
        problems.append("only a written-off invoice has an amount written off")
    if s.state is State.CANCELLED and s.amount_paid > 0:
        problems.append("a cancelled invoice has nothing paid (part paid and the rest credited is paid)")
    if s.state is State.OPEN and s.amount_paid > 0:
        problems.append("an open invoice with a payment is partially paid")
    if s.state is State.PARTIALLY_PAID and s.amount_paid == 0:
        problems.append("a partially paid invoice needs a payment")
    if (s.state is State.DISPUTED) != bool(s.dispute_reason):
        problems.append("a disputed invoice, and only it, has a reason")
    if (s.state is State.PROMISED) != (s.promised_until is not None):
        problems.append("a promised invoice, and only it, has a promised date")
    if (s.state is State.PAYMENT_PLAN) != bool(s.plan):
        problems.append("an invoice in a payment plan, and only it, has instalments")
    if s.plan and sum((i.amount for i in s.plan), ZERO) - s.plan_paid != s.balance:
        problems.append("the instalments less what was paid during the plan must equal the balance")
    if not 0 <= s.plan_missed <= len(s.plan):
        problems.append("plan_missed counts instalments of the plan")
    return problems


@dataclass(frozen=True, slots=True)
class Card:
    """A question for the owner raised by a transition; `payload` holds JSON-ready values."""

    kind: CardKind
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Transition:
    """The new status, the evidence entry to write with it (kind, JSON-ready payload) and the cards to raise."""

    status: InvoiceStatus
    kind: EvidenceKind
    payload: Mapping[str, Any]
    cards: tuple[Card, ...] = ()


# --- events --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentReceived:
    """Money received on `on` (partial or more than owed)."""

    amount: Decimal
    on: date


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A credit note issued against the invoice, lowering what is owed."""

    amount: Decimal
    on: date


@dataclass(frozen=True, slots=True)
class Dispute:
    """The client contests the invoice; the ladder stops until the owner resolves it."""

    reason: str


@dataclass(frozen=True, slots=True)
class ResolveDispute:
    """The dispute is settled in the owner's favour: the invoice is chased again."""


@dataclass(frozen=True, slots=True)
class WriteOff:
    """The owner gives up the balance (a loss)."""


@dataclass(frozen=True, slots=True)
class Reopen:
    """The owner reverses a write-off: the balance is owed and chased again."""


@dataclass(frozen=True, slots=True)
class Promise:
    """The client promises to pay by `until` (recorded on `today`)."""

    until: date
    today: date


@dataclass(frozen=True, slots=True)
class StartPlan:
    """A payment plan agreed on `today`: instalments with increasing dates summing to the balance.

    `shared`: the invoice's part of a plan over several invoices (dunning.plans.allocate_plan), where one
    instalment may be all that falls on it; a plan of its own has at least two.
    """

    instalments: tuple[Instalment, ...]
    today: date
    shared: bool = False


@dataclass(frozen=True, slots=True)
class EndPlan:
    """The owner ends the payment plan: the ladder resumes on the balance."""


@dataclass(frozen=True, slots=True)
class DayPassed:
    """The daily tick: promises and instalments whose date has passed are checked."""

    today: date


Event = (
    PaymentReceived
    | CreditNote
    | Dispute
    | ResolveDispute
    | WriteOff
    | Reopen
    | Promise
    | StartPlan
    | EndPlan
    | DayPassed
)


# --- the transition function ---------------------------------------------------------------------------------


def apply(status: InvoiceStatus, event: Event) -> Transition | None:
    """The transition `event` causes on `status`; None only for a `DayPassed` with nothing due that day.

    Raises `IllegalTransition` (naming the state and the event) when the event does not fit the state.
    """
    match event:
        case PaymentReceived():
            return _payment(status, event)
        case CreditNote():
            return _credit_note(status, event)
        case Dispute():
            return _dispute(status, event)
        case ResolveDispute():
            _require(status, {State.DISPUTED}, "resolve a dispute", "resolve_dispute")
            return _transition(status, _chased_again(status), EvidenceKind.DISPUTE_CLOSED, outcome="resolved")
        case WriteOff():
            return _write_off(status)
        case Reopen():
            _require(status, {State.WRITTEN_OFF}, "reopen", "reopen")
            after = _chased_again(status, amount_written_off=ZERO)
            return _transition(status, after, EvidenceKind.REOPENED, amount=str(status.amount_written_off))
        case Promise():
            return _promise(status, event)
        case StartPlan():
            return _start_plan(status, event)
        case EndPlan():
            _require(status, {State.PAYMENT_PLAN}, "end a payment plan", "end_plan")
            return _transition(status, _chased_again(status), EvidenceKind.PLAN_ENDED, plan_paid=str(status.plan_paid))
        case DayPassed():
            return _day_passed(status, event.today)


def _require(status: InvoiceStatus, states: Set[State], action: str, code: str) -> None:
    if status.state not in states:
        allowed = ", ".join(sorted(states))
        raise IllegalTransition(
            f"cannot {action}: the invoice is {status.state} (possible when {allowed})",
            f"not_when.{code}",
            state=status.state,
        )


def _check_amount(amount: Decimal, what: str) -> None:
    if not _is_cents(amount) or amount <= 0:
        raise IllegalTransition(f"the {what} must be a positive amount in cents, got {amount}", "amount", amount=amount)


def _clean(status: InvoiceStatus, state: State, **changes: Any) -> InvoiceStatus:
    """`status` moved to `state`, dropping the dispute, promise and plan that the new state no longer holds."""
    keep_dispute = state is State.DISPUTED
    keep_promise = state is State.PROMISED
    keep_plan = state is State.PAYMENT_PLAN
    base: dict[str, Any] = {
        "dispute_reason": status.dispute_reason if keep_dispute else None,
        "promised_until": status.promised_until if keep_promise else None,
        "plan": status.plan if keep_plan else (),
        "plan_paid": status.plan_paid if keep_plan else ZERO,
        "plan_missed": status.plan_missed if keep_plan else 0,
    }
    return replace(status, state=state, **{**base, **changes})


def _chased_again(status: InvoiceStatus, **changes: Any) -> InvoiceStatus:
    """Back in the ladder: open or partially paid, by what was paid."""
    return _clean(status, State.PARTIALLY_PAID if status.amount_paid > 0 else State.OPEN, **changes)


def _transition(
    before: InvoiceStatus, after: InvoiceStatus, kind: EvidenceKind, cards: Sequence[Card] = (), **details: Any
) -> Transition:
    payload = {"from": str(before.state), "to": str(after.state), "balance": str(after.balance), **details}
    return Transition(after, kind, payload, tuple(cards))


def _payment(status: InvoiceStatus, event: PaymentReceived) -> Transition:
    _check_amount(event.amount, "payment")
    if status.state is State.WRITTEN_OFF:
        raise IllegalTransition(
            "cannot record a payment on a written_off invoice: reopen it first",
            "payment_written_off",
            state=status.state,
        )
    applied = min(event.amount, status.balance)
    excess = event.amount - applied
    changes: dict[str, Any] = {
        "amount_paid": status.amount_paid + applied,
        "amount_overpaid": status.amount_overpaid + excess,
        "last_paid_on": max(status.last_paid_on or event.on, event.on) if applied else status.last_paid_on,
    }
    state = status.state
    if state in CLOSED_STATES:
        pass  # nothing was owed: all of it is over-payment
    elif applied == status.balance:
        state = State.PAID
    elif state is State.PAYMENT_PLAN:
        changes["plan_paid"] = status.plan_paid + applied
    elif state is State.OPEN:
        state = State.PARTIALLY_PAID
    after = _clean(status, state, **changes)
    cards = []
    if excess:
        cards.append(Card(CardKind.OVERPAYMENT, {"amount": str(excess), "paid_on": event.on.isoformat()}))
    if status.state is not State.PAID and late_claim(after):
        assert after.last_paid_on is not None  # late_claim says so
        cards.append(Card(CardKind.LATE_PAYMENT, {"days_late": (after.last_paid_on - status.due_date).days}))
    return _transition(
        status,
        after,
        EvidenceKind.PAYMENT_RECORDED,
        cards,
        amount=str(event.amount),
        applied=str(applied),
        overpaid=str(excess),
        paid_on=event.on.isoformat(),
    )


def _credit_note(status: InvoiceStatus, event: CreditNote) -> Transition:
    _check_amount(event.amount, "credit note")
    if status.state in CLOSED_STATES:
        raise IllegalTransition(
            f"cannot apply a credit note to a {status.state} invoice: nothing is owed",
            "credit_closed",
            state=status.state,
        )
    if event.amount > status.balance:
        raise IllegalTransition(
            f"the credit note of {event.amount} is more than the balance of {status.balance}",
            "credit_too_much",
            amount=event.amount,
            balance=status.balance,
        )
    changes: dict[str, Any] = {"amount_credited": status.amount_credited + event.amount}
    state = status.state
    if event.amount == status.balance:
        state = State.PAID if status.amount_paid > 0 else State.CANCELLED
    elif state is State.PAYMENT_PLAN:
        plan = _shorten(status.plan, event.amount)
        changes.update(plan=plan, plan_missed=min(status.plan_missed, len(plan)))
    after = _clean(status, state, **changes)
    return _transition(
        status, after, EvidenceKind.CREDIT_NOTE_RECORDED, amount=str(event.amount), issued_on=event.on.isoformat()
    )


def _shorten(plan: tuple[Instalment, ...], cut: Decimal) -> tuple[Instalment, ...]:
    """`plan` less `cut`, taken from the last instalments (the ones furthest from being paid)."""
    kept = list(plan)
    while cut > 0:
        last = kept.pop()
        if last.amount > cut:
            kept.append(last._replace(amount=last.amount - cut))
        cut -= min(cut, last.amount)
    return tuple(kept)


def _dispute(status: InvoiceStatus, event: Dispute) -> Transition:
    reason = event.reason.strip()
    if not reason:
        raise IllegalTransition("a dispute needs a reason", "dispute_reason")
    if status.state is State.DISPUTED:
        raise IllegalTransition(
            "the invoice is already disputed; resolve the dispute or write the invoice off", "already_disputed"
        )
    _require(status, _PLANNABLE, "open a dispute", "open_dispute")
    after = _clean(status, State.DISPUTED, dispute_reason=reason)
    return _transition(status, after, EvidenceKind.DISPUTE_OPENED, reason=reason)


def _write_off(status: InvoiceStatus) -> Transition:
    if status.state in CLOSED_STATES:
        raise IllegalTransition(
            f"cannot write off a {status.state} invoice: nothing is owed", "write_off_closed", state=status.state
        )
    after = _clean(status, State.WRITTEN_OFF, amount_written_off=status.balance)
    return _transition(status, after, EvidenceKind.WRITTEN_OFF, amount=str(status.balance))


def _promise(status: InvoiceStatus, event: Promise) -> Transition:
    _require(status, _PROMISABLE, "record a promise to pay", "promise")
    if event.until < event.today:
        raise IllegalTransition(
            f"the promised date {event.until.isoformat()} is in the past", "promise_past", until=event.until
        )
    after = _clean(status, State.PROMISED, promised_until=event.until, broken_promise=None)
    previous = status.promised_until.isoformat() if status.promised_until else None
    return _transition(status, after, EvidenceKind.PROMISE_RECORDED, until=event.until.isoformat(), previous=previous)


def _start_plan(status: InvoiceStatus, event: StartPlan) -> Transition:
    _require(status, _PLANNABLE, "start a payment plan", "start_plan")
    plan = event.instalments
    if len(plan) < (1 if event.shared else MIN_INSTALMENTS):
        raise IllegalTransition(
            "a payment plan has at least two instalments (one date is a promise to pay)", "plan_short"
        )
    for inst in plan:
        _check_amount(inst.amount, f"instalment of {inst.due.isoformat()}")
    if plan[0].due < event.today:
        raise IllegalTransition(
            f"the first instalment {plan[0].due.isoformat()} is in the past", "plan_past", due=plan[0].due
        )
    if any(b.due <= a.due for a, b in pairwise(plan)):
        raise IllegalTransition(
            "the instalment dates must follow each other, each after the previous one", "plan_order"
        )
    total = sum((i.amount for i in plan), ZERO)
    if total != status.balance:
        raise IllegalTransition(
            f"the instalments add up to {total}, not to the balance of {status.balance}",
            "plan_total",
            total=total,
            balance=status.balance,
        )
    after = _clean(status, State.PAYMENT_PLAN, plan=plan, plan_paid=ZERO, plan_missed=0, broken_promise=None)
    schedule = [{"due": i.due.isoformat(), "amount": str(i.amount)} for i in plan]
    return _transition(status, after, EvidenceKind.PLAN_STARTED, instalments=schedule)


def _day_passed(status: InvoiceStatus, today: date) -> Transition | None:
    if status.state is State.PROMISED and status.promised_until is not None and today > status.promised_until:
        until = status.promised_until
        after = _chased_again(status, broken_promise=until)
        card = Card(CardKind.PROMISE_BROKEN, {"until": until.isoformat(), "balance": str(status.balance)})
        return _transition(status, after, EvidenceKind.PROMISE_BROKEN, [card], until=until.isoformat())
    if status.state is State.PAYMENT_PLAN:
        missed = _missed_instalments(status, today)
        if missed:
            after = replace(status, plan_missed=missed[-1] + 1)
            described = [
                {"number": i + 1, "due": status.plan[i].due.isoformat(), "amount": str(status.plan[i].amount)}
                for i in missed
            ]
            cards = [Card(CardKind.INSTALMENT_MISSED, {**d, "balance": str(status.balance)}) for d in described]
            return _transition(status, after, EvidenceKind.PLAN_INSTALMENT_MISSED, cards, instalments=described)
    return None


def _missed_instalments(status: InvoiceStatus, today: date) -> list[int]:
    """Indexes of the instalments past their date, not covered by the plan's payments and not yet reported."""
    missed = []
    due_so_far = ZERO
    for index, inst in enumerate(status.plan):
        due_so_far += inst.amount
        if inst.due >= today:
            break
        if index >= status.plan_missed and due_so_far > status.plan_paid:
            missed.append(index)
    return missed


# --- derived -------------------------------------------------------------------------------------------------


def chased(status: InvoiceStatus, today: date) -> bool:
    """Whether the reminder ladder applies to the invoice on `today` (a promise past its date counts as broken)."""
    if status.state is State.PROMISED:
        return status.promised_until is not None and today > status.promised_until
    return status.state in (State.OPEN, State.PARTIALLY_PAID)


def late_claim(status: InvoiceStatus) -> bool:
    """Whether a paid invoice was paid after its due date: its penalties and the indemnity remain claimable."""
    return (
        status.state is State.PAID
        and not status.consumer
        and status.last_paid_on is not None
        and status.last_paid_on > status.due_date
    )


def equal_instalments(balance: Decimal, count: int, first: date) -> list[Instalment]:
    """`count` monthly instalments from `first` summing exactly to `balance`; the cents left over go on the last.

    Later dates keep the day of month of `first`, moved to the month's last day where it has fewer days.
    """
    if not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
        raise ValueError(f"a plan has {MIN_INSTALMENTS} to {MAX_INSTALMENTS} instalments, not {count}")
    if not _is_cents(balance) or balance <= 0:
        raise ValueError(f"the balance must be a positive amount in cents, got {balance}")
    share = (balance / count).quantize(CENT, rounding=ROUND_DOWN)
    if share == 0:
        raise ValueError(f"{balance} cannot be split into {count} instalments of at least 0.01")
    amounts = [share] * (count - 1) + [balance - share * (count - 1)]
    return [Instalment(_months_after(first, k), amount) for k, amount in enumerate(amounts)]


def months_after(first: date, months: int) -> date:
    """The date `months` months after `first`, on the same day of month (the month's last day where it is shorter)."""
    return _months_after(first, months)


def _months_after(first: date, months: int) -> date:
    years, month0 = divmod(first.month - 1 + months, 12)
    year = first.year + years
    return date(year, month0 + 1, min(first.day, monthrange(year, month0 + 1)[1]))
