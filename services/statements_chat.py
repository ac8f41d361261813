"""Bank statements from the chat, chat-free: a file told apart from an invoice import by its content, and the
doubtful lines the owner settles one card at a time (this invoice, another one, or none).

A doubtful line's candidates are worked out again against today's open invoices (an invoice paid meanwhile is no
longer offered); every decision is checked against the stored line in its transaction, so a second tap is stale.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sqlalchemy import Engine

from dunning.matching import CreditLine, Doubtful, OpenInvoice, Sure, match
from services.statements import StatementError, detect_format
from services.statements.csv_banks import profile_of
from storage.db import read_session, write_session
from storage.payments_in import (
    Candidate,
    LineHandledError,
    LineUnknownError,
    LineView,
    confirm_doubtful_line,
    doubtful_rows,
    ignore_doubtful_line,
    open_invoices_for_matching,
    stored_line,
)

#: The invoices a card offers: the best one, then up to five others ("🔎 Autre facture").
MAX_OFFERED = 6
#: The doubtful lines shown after an import or on request, one card each.
MAX_CARDS = 20
_ZERO = Decimal("0.00")
_CAMT = re.compile(rb"camt\.05\d\.\d{3}\.\d{2}")


def is_statement(data: bytes, name: str) -> bool:
    """True when the file is a bank statement (CAMT.05x XML, OFX, or a CSV whose header is a known bank's export),
    told by its content; an invoice CSV or an e-invoice is not one."""
    head = data[:65536]
    kind = detect_format(head)
    if kind == "ofx":
        return True
    if kind == "camt":
        return _CAMT.search(head) is not None
    try:
        profile_of(data, name)
    except StatementError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class DoubtCard:
    """A stored doubtful line (`row_id`: its database id) and the invoices it may pay, the likeliest first."""

    row_id: int
    line: LineView
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class LineDecision:
    """What a tap on a doubtful line's card did: `line` is the line as shown (None when unknown); `number`, `amount`
    and `excess` describe a payment recorded (`excess`: what it brought beyond the balance, flagged)."""

    status: Literal["done", "stale", "unknown"]
    action: Literal["confirmed", "ignored", "none"]
    line: LineView | None = None
    number: str = ""
    amount: Decimal = _ZERO
    excess: Decimal = _ZERO

    @property
    def ok(self) -> bool:
        """True when the decision was recorded."""
        return self.status == "done"


def _offered(line: LineView, invoices: list[OpenInvoice]) -> tuple[Candidate, ...]:
    """The invoices a line may pay: what the matcher finds for it alone, then other open invoices of its currency
    (the exact amount first, then the oldest due), at most MAX_OFFERED."""
    credit = CreditLine(line.line_id, line.booking_date, line.amount, line.currency, line.counterparty, line.remittance)
    outcome = match([credit], invoices).outcomes[0]
    if isinstance(outcome, Sure):
        best: tuple[int, ...] = tuple(a.invoice_id for a in outcome.allocations)
    elif isinstance(outcome, Doubtful):
        best = outcome.candidates
    else:
        best = ()
    by_id = {inv.invoice_id: inv for inv in invoices if inv.currency == line.currency}
    others = sorted(
        (inv for inv in by_id.values() if inv.invoice_id not in best),
        key=lambda inv: (inv.balance != line.amount, inv.due_date, inv.invoice_id),
    )
    chosen = [by_id[i] for i in best if i in by_id] + others
    return tuple(Candidate(inv.invoice_id, inv.number, inv.client_name, inv.balance) for inv in chosen[:MAX_OFFERED])


def doubtful_cards(
    engine: Engine, business_id: int, *, limit: int = MAX_CARDS, line_ids: Collection[str] | None = None
) -> tuple[list[DoubtCard], int]:
    """The lines waiting for the owner (those of `line_ids` when given; at most `limit`, oldest first) with today's
    candidates, and how many wait."""
    with read_session(engine) as session:
        rows = doubtful_rows(session, business_id)
        if line_ids is not None:
            wanted = set(line_ids)
            rows = [(row_id, view) for row_id, view in rows if view.line_id in wanted]
        invoices = open_invoices_for_matching(session, business_id) if rows else []
    return [DoubtCard(row_id, view, _offered(view, invoices)) for row_id, view in rows[:limit]], len(rows)


def doubtful_card(engine: Engine, business_id: int, row_id: int) -> DoubtCard | None:
    """One line's card with today's candidates, or None when it is unknown or no longer doubtful."""
    with read_session(engine) as session:
        found = stored_line(session, business_id, row_id)
        if found is None or found[0].outcome != "doubtful":
            return None
        invoices = open_invoices_for_matching(session, business_id)
    return DoubtCard(row_id, found[1], _offered(found[1], invoices))


def _line_of(engine: Engine, business_id: int, row_id: int) -> LineView | None:
    """The stored line as shown on its card (None when unknown)."""
    with read_session(engine) as session:
        found = stored_line(session, business_id, row_id)
        return None if found is None else found[1]


def confirm_line(engine: Engine, business_id: int, row_id: int, invoice_id: int, *, actor: str) -> LineDecision:
    """✅ Oui (or an invoice chosen among the others): the line recorded as a payment on that invoice."""
    try:
        with write_session(engine) as session:
            done = confirm_doubtful_line(
                session, business_id=business_id, row_id=row_id, invoice_id=invoice_id, actor=actor
            )
            line = stored_line(session, business_id, row_id)
    except LineUnknownError:
        return LineDecision("unknown", "none", _line_of(engine, business_id, row_id))
    except LineHandledError:
        return LineDecision("stale", "none", _line_of(engine, business_id, row_id))
    assert line is not None
    return LineDecision("done", "confirmed", line[1], done.payment.number, done.payment.amount, done.excess)


def ignore_line(engine: Engine, business_id: int, row_id: int, *, actor: str) -> LineDecision:
    """🚫 Ignorer: the line pays none of the business's invoices; nothing is recorded but the decision."""
    try:
        with write_session(engine) as session:
            view = ignore_doubtful_line(session, business_id=business_id, row_id=row_id, actor=actor)
    except LineUnknownError:
        return LineDecision("unknown", "none")
    except LineHandledError:
        return LineDecision("stale", "none", _line_of(engine, business_id, row_id))
    return LineDecision("done", "ignored", view)
