"""Read-only figures for the owner: totals, aging of overdue invoices, top debtors, the week ahead, money recovered.

Definitions (also in the README, "Command line"):
- an invoice is *outstanding* when its state is open, promised or disputed and its balance (amount - paid) is > 0;
  `open_total` is the sum of those balances;
- it is *overdue* when it is outstanding and its due date is before `today`; `days_overdue` = today - due date;
- aging buckets hold overdue invoices only, by days overdue: "0-30" (1 to 30 days), "31-60", "61-90", ">90";
- `upcoming` lists, for each of the 7 days after `today`, the steps that first become due that day (computed with
  the pure policy on today's data, assuming nothing is sent or paid meanwhile), one line per client and day at the
  highest step; steps already due today are in the digest, not here;
- `recovered_this_month` is the sum of payments dated from the first of today's month to `today`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, func, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from dunning.ladder import Ladder
from dunning.policy import next_step
from dunning.states import InvoiceState, ReminderState
from storage.einvoices import CREDIT_NOTE_PREFIX
from storage.invoices import OUTSTANDING_STATES
from storage.letters import AwaitingLetter, awaiting_receipt
from storage.models import Business, Client, Invoice, Outbox, Payment, Reminder, ReminderInvoice
from storage.reminders import business_ladder, invoice_snapshots

BUCKETS = ("0-30", "31-60", "61-90", ">90")
_OUTSTANDING = tuple(s.value for s in OUTSTANDING_STATES)
_ZERO = Decimal("0.00")


def bucket_of(days_overdue: int) -> str:
    """The aging bucket of an invoice `days_overdue` days past its due date (>= 1)."""
    if days_overdue <= 30:
        return "0-30"
    if days_overdue <= 60:
        return "31-60"
    if days_overdue <= 90:
        return "61-90"
    return ">90"


@dataclass(frozen=True, slots=True)
class AgingBucket:
    """Overdue invoices whose days overdue fall in one range."""

    label: str
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Debtor:
    """A client and what they owe past due."""

    client_id: int
    name: str
    overdue_amount: Decimal
    invoices: int
    oldest_days_overdue: int


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A reminder step that becomes due on a coming day for a client."""

    day: date
    client_id: int
    client_name: str
    step: str
    invoices: tuple[str, ...]  # invoice numbers
    amount: Decimal


@dataclass(frozen=True, slots=True)
class NextAction:
    """Something the owner should look at: `kind` is uncertain_send, pending_reminder, promise_due or disputed."""

    kind: str
    client_name: str
    detail: str  # a step name, an invoice number: data, not prose (the renderer words it)
    amount: Decimal


@dataclass
class StatusSummary:
    """The owner's dashboard; money is Decimal (the JSON form writes it as strings like "1234.56")."""

    today: date
    open_total: Decimal = _ZERO
    overdue_total: Decimal = _ZERO
    open_count: int = 0
    overdue_count: int = 0
    partly_paid_count: int = 0
    promised_count: int = 0
    disputed_count: int = 0
    #: Every invoice of the business by state (each `InvoiceState` value, paid and closed ones included).
    state_counts: dict[str, int] = field(default_factory=dict)
    clients_owing: int = 0
    aging: list[AgingBucket] = field(default_factory=list)
    top_debtors: list[Debtor] = field(default_factory=list)
    upcoming: list[Upcoming] = field(default_factory=list)
    recovered_this_month: Decimal = _ZERO
    next_actions: list[NextAction] = field(default_factory=list)
    #: Formal notices whose registered letter waits for its acknowledgment of receipt (storage.letters).
    letters_awaiting: list[AwaitingLetter] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (see README, `status --json`)."""
        return {
            "today": self.today.isoformat(),
            "currency": "EUR",
            "open_total": str(self.open_total),
            "overdue_total": str(self.overdue_total),
            "counts": {
                "open": self.open_count,
                "overdue": self.overdue_count,
                "partially_paid": self.partly_paid_count,
                "promised": self.promised_count,
                "disputed": self.disputed_count,
                "clients_owing": self.clients_owing,
                "by_state": dict(self.state_counts),
            },
            "aging": {b.label: {"count": b.count, "amount": str(b.amount)} for b in self.aging},
            "top_debtors": [
                {
                    "client": d.name,
                    "amount": str(d.overdue_amount),
                    "invoices": d.invoices,
                    "oldest_days_overdue": d.oldest_days_overdue,
                }
                for d in self.top_debtors
            ],
            "upcoming": [
                {
                    "date": u.day.isoformat(),
                    "client": u.client_name,
                    "step": u.step,
                    "invoices": list(u.invoices),
                    "amount": str(u.amount),
                }
                for u in self.upcoming
            ],
            "recovered_this_month": str(self.recovered_this_month),
            "next_actions": [
                {"kind": a.kind, "client": a.client_name, "detail": a.detail, "amount": str(a.amount)}
                for a in self.next_actions
            ],
            "letters_awaiting_receipt": [
                {
                    "client": w.client_name,
                    "tracking_number": w.letter.tracking_number,
                    "sent_on": w.letter.sent_on.isoformat(),
                    "first_presented_on": w.letter.first_presented_on.isoformat()
                    if w.letter.first_presented_on
                    else None,
                    "deadline": w.deadline.isoformat(),
                }
                for w in self.letters_awaiting
            ],
        }


def status_summary(
    session: Session, *, business_id: int, today: date, ladder: Ladder | None = None, top: int = 5, days: int = 7
) -> StatusSummary:
    """The figures of the `status` command for one business on `today`."""
    business = session.get(Business, business_id)
    if business is None:
        raise LookupError(f"business {business_id} not found")
    summary = StatusSummary(today=today)
    summary.state_counts = {state.value: 0 for state in InvoiceState}
    by_state = select(Invoice.state, func.count()).where(Invoice.business_id == business_id).group_by(Invoice.state)
    for state, count in session.execute(by_state):
        summary.state_counts[state] = int(count)
    names: dict[int, str] = {
        cid: name
        for cid, name in session.execute(select(Client.id, Client.name).where(Client.business_id == business_id))
        if cid is not None
    }
    rows = session.execute(
        select(  # type: ignore[call-overload]
            Invoice.id,
            Invoice.client_id,
            Invoice.number,
            Invoice.due_date,
            Invoice.amount,
            Invoice.amount_paid,
            Invoice.state,
            Invoice.promised_until,
        ).where(Invoice.business_id == business_id, col(Invoice.state).in_(_OUTSTANDING))
    ).all()
    aging: dict[str, list[Any]] = {label: [0, _ZERO] for label in BUCKETS}
    debtors: dict[int, list[Any]] = {}
    numbers: dict[int, str] = {}
    owing: set[int] = set()
    for inv_id, client_id, number, due, amount, paid, state, promised_until in rows:
        balance = amount - paid
        if balance <= 0:
            continue
        numbers[inv_id] = number
        owing.add(client_id)
        summary.open_total += balance
        summary.open_count += 1
        if state == InvoiceState.PROMISED:
            summary.promised_count += 1
            if promised_until is not None and promised_until < today:
                summary.next_actions.append(NextAction("promise_due", names[client_id], number, balance))
        elif state == InvoiceState.DISPUTED:
            summary.disputed_count += 1
            summary.next_actions.append(NextAction("disputed", names[client_id], number, balance))
        elif state == InvoiceState.PARTIALLY_PAID:
            summary.partly_paid_count += 1
        late = (today - due).days
        if late <= 0:
            continue
        summary.overdue_total += balance
        summary.overdue_count += 1
        cell = aging[bucket_of(late)]
        cell[0] += 1
        cell[1] += balance
        d = debtors.setdefault(client_id, [_ZERO, 0, 0])
        d[0] += balance
        d[1] += 1
        d[2] = max(d[2], late)
    summary.clients_owing = len(owing)
    summary.aging = [AgingBucket(label, int(c), Decimal(a)) for label, (c, a) in aging.items()]
    ranked = sorted(debtors.items(), key=lambda kv: (-kv[1][0], -kv[1][2], names[kv[0]]))[:top]
    summary.top_debtors = [Debtor(cid, names[cid], amt, n, oldest) for cid, (amt, n, oldest) in ranked]

    # An e-mail of uncertain outcome freezes its client's ladder until the owner says whether it left: first.
    uncertain = session.execute(
        select(Reminder.client_id, Reminder.step, Reminder.id)
        .join(Outbox, col(Outbox.reminder_id) == col(Reminder.id))
        .where(Outbox.business_id == business_id, Outbox.state == "unknown")
        .order_by(col(Outbox.id))
    ).all()
    # Then the reminders waiting for the owner's decision.
    pending = session.execute(
        select(Reminder.client_id, Reminder.step, Reminder.id)
        .where(
            Reminder.business_id == business_id,
            col(Reminder.state).in_([ReminderState.PENDING.value, ReminderState.FAILED.value]),
        )
        .order_by(col(Reminder.planned_date), col(Reminder.client_id))
    ).all()
    totals: dict[int, Decimal] = {}
    if pending or uncertain:
        links = session.execute(
            select(ReminderInvoice.reminder_id, Invoice.amount, Invoice.amount_paid)  # type: ignore[call-overload]
            .join(Invoice, col(Invoice.id) == col(ReminderInvoice.invoice_id))
            .where(col(ReminderInvoice.reminder_id).in_([rid for _, _, rid in (*pending, *uncertain)]))
        )
        for rid, amount, paid in links:
            totals[rid] = totals.get(rid, _ZERO) + amount - paid
    pending_actions = [
        NextAction("pending_reminder", names.get(cid, "?"), step, totals.get(rid, _ZERO)) for cid, step, rid in pending
    ]
    uncertain_actions = [
        NextAction("uncertain_send", names.get(cid, "?"), step, totals.get(rid, _ZERO)) for cid, step, rid in uncertain
    ]
    summary.next_actions = uncertain_actions + pending_actions + summary.next_actions

    summary.upcoming = _upcoming(session, business, today, ladder or business_ladder(business), names, numbers, days)
    month_start = today.replace(day=1)
    recovered = session.execute(
        sa_select(func.coalesce(func.sum(type_coerce(Payment.amount, BigInteger)), 0))
        .join(Invoice, col(Invoice.id) == col(Payment.invoice_id))
        .where(
            col(Invoice.business_id) == business_id,
            col(Payment.paid_on) >= month_start,
            col(Payment.paid_on) <= today,
            # A credit note lowers a balance but brings no money in (storage.einvoices).
            ~col(Payment.note).startswith(CREDIT_NOTE_PREFIX),
        )
    ).scalar_one()
    # Payment.amount is stored as integer cents; the sum is taken on the raw cents (exact), then converted.
    summary.recovered_this_month = (Decimal(int(recovered)) / 100).quantize(Decimal("0.01"))
    summary.letters_awaiting = awaiting_receipt(session, business_id=business_id)
    return summary


def _upcoming(
    session: Session,
    business: Business,
    today: date,
    ladder: Ladder,
    names: dict[int, str],
    numbers: dict[int, str],
    days: int,
) -> list[Upcoming]:
    assert business.id is not None
    snapshots = invoice_snapshots(session, business.id, tz=business.timezone)
    order = {s.name: i for i, s in enumerate(ladder.steps)}
    result: list[Upcoming] = []
    for offset in range(1, days + 1):
        day = today + timedelta(days=offset)
        by_client: dict[int, list[Any]] = {}
        for snap in snapshots:
            due = next_step(snap, day, ladder)
            # Only steps that first become due that day; older ones are already in today's digest.
            if due is None or due.planned_date != day:
                continue
            by_client.setdefault(snap.client_id, []).append(due)
        for client_id in sorted(by_client, key=lambda c: names.get(c, "")):
            items = by_client[client_id]
            top = max(items, key=lambda d: order.get(d.step.name, -1))
            result.append(
                Upcoming(
                    day=day,
                    client_id=client_id,
                    client_name=names.get(client_id, "?"),
                    step=top.step.name,
                    invoices=tuple(numbers.get(d.invoice.invoice_id, "?") for d in items),
                    amount=sum((d.invoice.balance for d in items), _ZERO),
                )
            )
    return result
