"""Bank statements in, the database step: which statement lines are already known, the open invoices to match them
against, and a matched statement recorded in one transaction (its lines, the payments, reminders withdrawn, the
evidence).

Reading the file and matching live in `services.payments` (with `services.statements` and `dunning.matching`); this
module only reads and writes. A payment is recorded exactly as a tap on "Payée" records it (`record_payment`), and
says which statement line it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from dunning.invoice_states import Instalment, State
from dunning.matching import Doubtful, MatchResult, OpenInvoice, Sure, Unmatched, UnmatchedReason
from dunning.plans import next_instalment
from dunning.states import InvoiceState, ReminderState
from storage.db import write_session
from storage.evidence import record
from storage.invoices import OUTSTANDING_STATES
from storage.models import Client, Invoice, PlanInstalment, Reminder, ReminderInvoice, StatementLineRecord
from storage.reminders import record_payment
from storage.task_actions import record_overpayment

#: Invoices a bank credit may pay: still owed something and neither disputed nor written off (an instalment of a
#: payment plan is paid like any payment: the state machine counts it towards the plan).
MATCHABLE_STATES = (
    InvoiceState.OPEN.value,
    InvoiceState.PROMISED.value,
    State.PARTIALLY_PAID.value,
    State.PAYMENT_PLAN.value,
)
#: Line ids per look-up (well under SQLite's bound-parameter limit).
LOOKUP = 500
_WAITING = (ReminderState.PENDING, ReminderState.SNOOZED, ReminderState.FAILED)
_ZERO = Decimal("0.00")


class LineOutcome(StrEnum):
    """What became of a statement line, as stored."""

    RECORDED = "recorded"  # recorded as payments
    DOUBTFUL = "doubtful"  # the owner confirms which invoice it pays
    UNMATCHED = "unmatched"  # pays nothing known (or is in another currency)
    OVERPAID = "overpaid"  # recorded up to the balances, the excess flagged to the owner
    IGNORED = "ignored"  # a doubtful line the owner said pays none of their invoices


class StaleMatchError(Exception):
    """The invoices or the known lines changed between matching and recording: match again."""


class StatementLineLike(Protocol):
    """What is stored of a statement line: `services.statements.StatementLine` as read (no copy)."""

    @property
    def line_id(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def booking_date(self) -> date: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def counterparty(self) -> str: ...
    @property
    def remittance(self) -> str: ...


@dataclass(frozen=True, slots=True)
class LineView:
    """A statement line as the owner is told about it."""

    line_id: str
    booking_date: date
    amount: Decimal
    currency: str
    counterparty: str
    remittance: str


@dataclass(frozen=True, slots=True)
class RecordedPayment:
    """A payment recorded from a statement line on one invoice."""

    line_id: str
    booking_date: date
    invoice_id: int
    number: str
    client_name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Candidate:
    """An invoice a doubtful line may pay."""

    invoice_id: int
    number: str
    client_name: str
    balance: Decimal


@dataclass(frozen=True, slots=True)
class DoubtfulLine:
    """A line the owner confirms ("C'est la facture … ?"), with its candidates, oldest due date first."""

    line: LineView
    reason: str  # dunning.matching.DoubtReason
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class OverPayment:
    """A line that brings more than the invoices it pays owe: recorded up to their balances, the excess flagged."""

    line: LineView
    excess: Decimal
    numbers: tuple[str, ...]  # the invoices it paid (none when they were already paid)


@dataclass(frozen=True, slots=True)
class SettledClient:
    """A client whose invoices are all paid now (a "merci pour votre règlement" is due)."""

    client_id: int
    name: str
    invoice_ids: tuple[int, ...] = ()  # the client's invoices this import paid off


@dataclass(frozen=True, slots=True)
class PaymentsSummary:
    """What a statement import did (or, in a dry run, would do), or why it wrote nothing (`error`)."""

    file_name: str
    format: str = ""
    payments: tuple[RecordedPayment, ...] = ()
    doubtful: tuple[DoubtfulLine, ...] = ()
    unmatched: tuple[LineView, ...] = ()
    foreign: tuple[LineView, ...] = ()  # in a currency no invoice it could pay is in
    overpaid: tuple[OverPayment, ...] = ()
    paid_invoices: tuple[str, ...] = ()  # numbers of the invoices now paid in full
    reminders_cancelled: int = 0
    settled_clients: tuple[SettledClient, ...] = ()
    lines_known: int = 0  # lines of an earlier import, skipped
    dry_run: bool = False
    error: str = ""  # the problem with the file (named by file_name); nothing was written
    error_line: int | None = None  # the line of the file it is on, when known
    error_code: str = ""  # services.statements.StatementError.code
    debits: int = 0  # debit lines of the statement, skipped
    thanks: tuple[int, ...] = ()  # the "merci" drafts proposed to the settled clients (services.payments)

    @property
    def ok(self) -> bool:
        """True when the statement was read (and, unless a dry run, recorded)."""
        return not self.error

    @property
    def total(self) -> Decimal:
        """The sum of the payments recorded."""
        return sum((p.amount for p in self.payments), _ZERO)


def known_line_ids(session: Session, business_id: int, line_ids: Iterable[str]) -> set[str]:
    """The line ids among `line_ids` already stored for the business (from an earlier import)."""
    ids = list(dict.fromkeys(line_ids))
    known: set[str] = set()
    for i in range(0, len(ids), LOOKUP):
        known.update(
            session.exec(
                select(StatementLineRecord.line_id).where(
                    StatementLineRecord.business_id == business_id,
                    col(StatementLineRecord.line_id).in_(ids[i : i + LOOKUP]),
                )
            ).all()
        )
    return known


def open_invoices_for_matching(session: Session, business_id: int) -> list[OpenInvoice]:
    """The business's invoices a credit may pay (open, promised, partially paid, with a balance), with their client;
    an invoice in a payment plan also expects its next instalment (`plan_instalments`)."""
    it, ct = Invoice.__table__, Client.__table__  # type: ignore[attr-defined]
    rows = (
        session.connection()
        .execute(
            core_select(
                it.c.id,
                it.c.number,
                it.c.client_id,
                ct.c.name,
                it.c.amount,
                it.c.amount_paid,
                it.c.currency,
                it.c.due_date,
                it.c.state,
                it.c.plan_id,
                it.c.plan_paid,
            )
            .join(ct, ct.c.id == it.c.client_id)
            .where(it.c.business_id == business_id, it.c.state.in_(MATCHABLE_STATES), it.c.amount > it.c.amount_paid)
        )
        .all()
    )
    planned = {r[0]: (r[9], r[10]) for r in rows if r[8] == State.PAYMENT_PLAN.value and r[9] is not None}
    instalments = plan_instalments(session, planned)
    return [
        OpenInvoice(inv_id, number, client_id, name, amount - paid, currency, due, instalments.get(inv_id))
        for inv_id, number, client_id, name, amount, paid, currency, due, *_ in rows
    ]  # fmt: skip


def plan_instalments(session: Session, planned: Mapping[int, tuple[int, Decimal]]) -> dict[int, Decimal]:
    """The instalment a bank credit is expected to bring on invoices in a plan (`planned`: invoice id -> (plan id,
    plan_paid)): its next one not covered (dunning.plans.next_instalment), on the invoices of each plan whose next
    instalment comes first (a later invoice's part of a later instalment is not expected yet)."""
    parts: dict[int, list[Instalment]] = defaultdict(list)
    pt = PlanInstalment.__table__  # type: ignore[attr-defined]
    ids = sorted(planned)
    for i in range(0, len(ids), LOOKUP):
        for invoice_id, plan_id, due, amount in session.connection().execute(
            core_select(pt.c.invoice_id, pt.c.plan_id, pt.c.due_date, pt.c.amount)
            .where(pt.c.invoice_id.in_(ids[i : i + LOOKUP]))
            .order_by(pt.c.invoice_id, pt.c.seq)
        ):
            if planned[invoice_id][0] == plan_id:
                parts[invoice_id].append(Instalment(due, amount))
    nexts = {i: nxt for i, own in parts.items() if (nxt := next_instalment(own, planned[i][1])) is not None}
    first: dict[int, date] = {}
    for invoice_id, nxt in nexts.items():
        plan_id = planned[invoice_id][0]
        first[plan_id] = min(first.get(plan_id, nxt.due), nxt.due)
    return {i: nxt.amount for i, nxt in nexts.items() if nxt.due == first[planned[i][0]]}


def _outcome(item: Sure | Doubtful | Unmatched) -> LineOutcome:
    """What is stored of a line's match."""
    if isinstance(item, Sure):
        return LineOutcome.OVERPAID if item.overpaid > 0 else LineOutcome.RECORDED
    return LineOutcome.DOUBTFUL if isinstance(item, Doubtful) else LineOutcome.UNMATCHED


def _view(line: StatementLineLike) -> LineView:
    """A line as the summary shows it."""
    return LineView(line.line_id, line.booking_date, line.amount, line.currency, line.counterparty, line.remittance)


def _invoices_by_id(session: Session, business_id: int, ids: Iterable[int]) -> dict[int, tuple[Invoice, str]]:
    """The invoices and their client's name, locked for this transaction on PostgreSQL."""
    wanted = sorted(set(ids))
    found: dict[int, tuple[Invoice, str]] = {}
    for i in range(0, len(wanted), LOOKUP):
        stmt = (
            select(Invoice, Client.name)
            .join(Client, col(Client.id) == col(Invoice.client_id))
            .where(Invoice.business_id == business_id, col(Invoice.id).in_(wanted[i : i + LOOKUP]))
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(of=Invoice)
        for inv, name in session.exec(stmt).all():
            assert inv.id is not None
            found[inv.id] = (inv, name)
    return found


def _check_fresh(
    session: Session, business_id: int, lines: Sequence[StatementLineLike], result: MatchResult
) -> dict[int, tuple[Invoice, str]]:
    """The invoices the result names, once checked that nothing changed since the match (else StaleMatchError)."""
    if known_line_ids(session, business_id, (line.line_id for line in lines)):
        raise StaleMatchError("some lines were recorded meanwhile")
    allocated: dict[int, Decimal] = defaultdict(lambda: _ZERO)
    for sure in result.sure:
        for allocation in sure.allocations:
            allocated[allocation.invoice_id] += allocation.amount
    named = {c for d in result.doubtful for c in d.candidates}
    invoices = _invoices_by_id(session, business_id, {*allocated, *named})
    for invoice_id, amount in allocated.items():
        inv = invoices.get(invoice_id)
        if (
            inv is None
            or inv[0].state not in MATCHABLE_STATES
            or inv[0].balance != result.balances[invoice_id] + amount
        ):
            raise StaleMatchError(f"invoice {invoice_id} changed")
    return invoices


def record_statement(
    engine: Engine,
    *,
    business_id: int,
    lines: Sequence[StatementLineLike],
    result: MatchResult,
    actor: str,
    file_name: str,
    file_sha256: str,
    dry_run: bool = False,
) -> PaymentsSummary:
    """Record a matched statement in one transaction and say what it did.

    Every new line is stored with its outcome; each sure allocation becomes a payment dated on the booking date
    (`record_payment`: paid invoices leave their reminders, partly paid ones make their cards stale), pointing at its
    line; an over-payment is recorded up to the balances and its excess reported; doubtful and unmatched lines are
    only stored. One `statement_imported` evidence entry sums it up. `lines` are the new lines only (the caller
    skips those of `known_line_ids`): when one was stored meanwhile, or an invoice changed since `result` was
    computed, StaleMatchError is raised and nothing is written. A dry run does it all, then rolls back.
    """
    by_id = {line.line_id: line for line in lines}
    with write_session(engine) as session:
        invoices = _check_fresh(session, business_id, list(by_id.values()), result)
        waiting = _waiting_reminder_ids(session, result.settled)
        rows: dict[str, StatementLineRecord] = {}
        for item in result.outcomes:
            line = by_id[item.line.line_id]
            if line.line_id in rows or (isinstance(item, Unmatched) and item.reason == UnmatchedReason.DUPLICATE_LINE):
                continue
            rows[line.line_id] = StatementLineRecord(
                business_id=business_id,
                line_id=line.line_id,
                file_name=file_name[:255],
                account=line.account[:64],
                booking_date=line.booking_date,
                amount=line.amount,
                currency=line.currency,
                counterparty=line.counterparty[:200],
                remittance=line.remittance[:500],
                outcome=_outcome(item).value,
            )
        session.add_all(rows.values())
        session.flush()  # one batched insert; the ids are needed by the payments
        stored = {line_id: row.id for line_id, row in rows.items() if row.id is not None}
        payments: list[RecordedPayment] = []
        overpaid: list[OverPayment] = []
        for sure in result.sure:
            line = by_id[sure.line.line_id]
            for invoice_id, amount in sure.allocations:
                note = f"relevé {file_name} · ligne {line.line_id[:16]}"[:500]
                for payment in record_payment(
                    session,
                    business_id=business_id,
                    invoice_ids=[invoice_id],
                    amount=amount,
                    paid_on=line.booking_date,
                    actor=actor,
                    note=note,
                ):
                    payment.statement_line_id = stored[line.line_id]
                    session.add(payment)
                inv, name = invoices[invoice_id]
                payments.append(RecordedPayment(line.line_id, line.booking_date, invoice_id, inv.number, name, amount))
            if sure.overpaid > 0:
                numbers = tuple(invoices[a.invoice_id][0].number for a in sure.allocations)
                if sure.allocations:
                    # Kept apart on the last invoice paid, through the state machine: the owner's task to refund,
                    # assign or keep it (storage.owner_tasks).
                    record_overpayment(session, invoices[sure.allocations[-1].invoice_id][0], sure.overpaid,
                                       line.booking_date, actor=actor, details={"line_id": line.line_id})  # fmt: skip
                overpaid.append(OverPayment(_view(line), sure.overpaid, numbers))
        session.flush()
        paid = [invoices[i] for i in result.settled if i in invoices]
        summary = PaymentsSummary(
            file_name=file_name,
            payments=tuple(payments),
            doubtful=tuple(
                DoubtfulLine(
                    _view(by_id[d.line.line_id]),
                    d.reason.value,
                    tuple(
                        Candidate(i, invoices[i][0].number, invoices[i][1], invoices[i][0].balance)
                        for i in d.candidates
                    ),
                )
                for d in result.doubtful
            ),
            unmatched=tuple(
                _view(by_id[u.line.line_id]) for u in result.unmatched if u.reason == UnmatchedReason.NO_MATCH
            ),
            foreign=tuple(
                _view(by_id[u.line.line_id]) for u in result.unmatched if u.reason == UnmatchedReason.OTHER_CURRENCY
            ),
            overpaid=tuple(overpaid),
            paid_invoices=tuple(inv.number for inv, _ in paid),
            reminders_cancelled=_cancelled(session, waiting),
            settled_clients=_settled_clients(session, business_id, paid),
            dry_run=dry_run,
        )
        _record_evidence(session, business_id, actor, file_sha256, len(stored), summary)
        if dry_run:
            session.rollback()
    return summary


def _waiting_reminder_ids(session: Session, invoice_ids: Sequence[int]) -> set[int]:
    """The reminders still waiting for the owner that hold any of these invoices."""
    if not invoice_ids:
        return set()
    rows = session.exec(
        select(Reminder.id)
        .join(ReminderInvoice, col(Reminder.id) == col(ReminderInvoice.reminder_id))
        .where(col(ReminderInvoice.invoice_id).in_(list(invoice_ids)), col(Reminder.state).in_(_WAITING))
    ).all()
    return {r for r in rows if r is not None}


def _cancelled(session: Session, reminder_ids: set[int]) -> int:
    """How many of these reminders are cancelled now."""
    if not reminder_ids:
        return 0
    rows = session.exec(
        select(Reminder.id).where(col(Reminder.id).in_(sorted(reminder_ids)), Reminder.state == ReminderState.CANCELLED)
    ).all()
    return len(rows)


def _settled_clients(
    session: Session, business_id: int, paid: Sequence[tuple[Invoice, str]]
) -> tuple[SettledClient, ...]:
    """The clients of the invoices just paid off who owe nothing more (no outstanding invoice with a balance)."""
    names = {inv.client_id: name for inv, name in paid}
    if not names:
        return ()
    settled: dict[int, list[int]] = {}
    for inv, _ in paid:
        if inv.id is not None:
            settled.setdefault(inv.client_id, []).append(inv.id)
    owing = set(
        session.exec(
            select(Invoice.client_id).where(
                Invoice.business_id == business_id,
                col(Invoice.client_id).in_(sorted(names)),
                col(Invoice.state).in_([*OUTSTANDING_STATES, State.PARTIALLY_PAID.value]),
                col(Invoice.amount) > col(Invoice.amount_paid),
            )
        ).all()
    )
    return tuple(SettledClient(c, names[c], tuple(settled.get(c, ()))) for c in sorted(names) if c not in owing)


def _record_evidence(
    session: Session, business_id: int, actor: str, file_sha256: str, stored: int, summary: PaymentsSummary
) -> None:
    """The `statement_imported` entry: the file, its counts and total, the over-payments flagged."""
    record(
        session,
        actor=actor,
        kind="statement_imported",
        business_id=business_id,
        payload={
            "file": summary.file_name,
            "sha256": file_sha256,
            "lines": stored,
            "payments": len(summary.payments),
            "total": str(summary.total),
            "doubtful": len(summary.doubtful),
            "unmatched": len(summary.unmatched),
            "foreign": len(summary.foreign),
            "overpaid": [{"line_id": o.line.line_id, "excess": str(o.excess)} for o in summary.overpaid],
            "paid": list(summary.paid_invoices),
            "reminders_cancelled": summary.reminders_cancelled,
        },
    )


# --- doubtful lines, settled by the owner one by one ---------------------------------------------------------------


class LineUnknownError(Exception):
    """No such statement line, or no such invoice, in this business (a forged or mixed-up button)."""


class LineHandledError(Exception):
    """The line was confirmed or ignored already, or the invoice has nothing left to pay: a stale button."""


@dataclass(frozen=True, slots=True)
class ConfirmedLine:
    """A doubtful line recorded as a payment on the invoice the owner chose; `excess` is flagged, never kept."""

    payment: RecordedPayment
    excess: Decimal


def doubtful_rows(session: Session, business_id: int) -> list[tuple[int, LineView]]:
    """The business's stored lines still waiting for the owner (outcome "doubtful"), oldest booking first."""
    rows = session.exec(
        select(StatementLineRecord)
        .where(StatementLineRecord.business_id == business_id, StatementLineRecord.outcome == LineOutcome.DOUBTFUL)
        .order_by(col(StatementLineRecord.booking_date), col(StatementLineRecord.id))
    ).all()
    return [(row.id, _view(row)) for row in rows if row.id is not None]


def stored_line(session: Session, business_id: int, row_id: int) -> tuple[StatementLineRecord, LineView] | None:
    """A stored line of the business by its row id (None for another business's or an unknown one)."""
    row = session.get(StatementLineRecord, row_id)
    if row is None or row.business_id != business_id:
        return None
    return row, _view(row)


def _doubtful_row(session: Session, business_id: int, row_id: int) -> StatementLineRecord:
    """The line, still doubtful (LineUnknownError, LineHandledError otherwise)."""
    found = stored_line(session, business_id, row_id)
    if found is None:
        raise LineUnknownError(f"no statement line {row_id}")
    if found[0].outcome != LineOutcome.DOUBTFUL:
        raise LineHandledError(f"statement line {row_id} is {found[0].outcome} already")
    return found[0]


def confirm_doubtful_line(
    session: Session, *, business_id: int, row_id: int, invoice_id: int, actor: str
) -> ConfirmedLine:
    """Record a doubtful line as a payment on `invoice_id`, as `record_statement` records a sure match: dated on
    the booking date, pointing at its line, up to the balance (any excess flagged, the line "overpaid"); the line
    becomes "recorded". In the caller's transaction, with a `statement_line_confirmed` evidence entry."""
    row = _doubtful_row(session, business_id, row_id)
    found = _invoices_by_id(session, business_id, [invoice_id]).get(invoice_id)
    if found is None:
        raise LineUnknownError(f"no invoice {invoice_id}")
    inv, client_name = found
    if inv.state not in MATCHABLE_STATES or inv.balance <= 0 or inv.currency != row.currency:
        raise LineHandledError(f"invoice {invoice_id} cannot take this payment")
    amount = min(row.amount, inv.balance)
    excess = row.amount - amount
    note = f"relevé {row.file_name} · ligne {row.line_id[:16]}"[:500]
    for payment in record_payment(
        session, business_id=business_id, invoice_ids=[invoice_id], amount=amount, paid_on=row.booking_date,
        actor=actor, note=note,
    ):  # fmt: skip
        payment.statement_line_id = row_id
        session.add(payment)
    record_overpayment(session, inv, excess, row.booking_date, actor=actor, details={"line_id": row.line_id})
    row.outcome = (LineOutcome.OVERPAID if excess > 0 else LineOutcome.RECORDED).value
    session.add(row)
    record(
        session,
        actor=actor,
        kind="statement_line_confirmed",
        business_id=business_id,
        client_id=inv.client_id,
        invoice_id=invoice_id,
        payload={"line_id": row.line_id, "amount": str(amount), "excess": str(excess), "number": inv.number},
    )
    paid = RecordedPayment(row.line_id, row.booking_date, invoice_id, inv.number, client_name, amount)
    return ConfirmedLine(paid, excess)


def ignore_doubtful_line(session: Session, *, business_id: int, row_id: int, actor: str) -> LineView:
    """Mark a doubtful line "ignored" (it pays none of the business's invoices), with its evidence entry."""
    row = _doubtful_row(session, business_id, row_id)
    row.outcome = LineOutcome.IGNORED.value
    session.add(row)
    record(
        session,
        actor=actor,
        kind="statement_line_ignored",
        business_id=business_id,
        payload={"line_id": row.line_id, "amount": str(row.amount), "day": row.booking_date.isoformat()},
    )
    return _view(row)
