"""Bank statements in: read a statement, skip the lines an earlier import already recorded, match the new credits to
the open invoices and record the sure matches as payments, in one transaction.

All or nothing: a file that cannot be read gets one error naming the file and the problem, and nothing is written.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from dunning.matching import CreditLine, match
from services.context import BusinessContext
from services.statements import Statement, StatementError, StatementLine, read_statement
from services.statements.common import check_size
from storage.db import read_session
from storage.payments_in import (
    PaymentsSummary,
    StaleMatchError,
    known_line_ids,
    open_invoices_for_matching,
    record_statement,
)

log = logging.getLogger(__name__)

#: Matching is done again when an invoice changed between the match and the write (an owner's tap meanwhile).
MAX_ATTEMPTS = 3


def _load(data: bytes | Path, name: str) -> bytes:
    """The statement's bytes; a file is read only once its size is checked (StatementError if it cannot be)."""
    if isinstance(data, bytes):
        return data
    check_size(data, name)
    try:
        return data.read_bytes()
    except OSError as exc:
        raise StatementError(name, f"cannot be read ({exc.strerror})", code="unreadable") from None


def _credit(line: StatementLine) -> CreditLine:
    """What the matcher needs of a statement line."""
    return CreditLine(line.line_id, line.booking_date, line.amount, line.currency, line.counterparty, line.remittance)


def import_statement(
    engine: Engine,
    business_id: int,
    data: bytes | Path,
    name: str,
    *,
    actor: str,
    dry_run: bool = False,
    profile: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> PaymentsSummary:
    """Read the statement `data` (its bytes, or its path: the size is checked before it is read; `name` is how the
    owner knows it), match its new credits and record the sure ones (unless `dry_run`): the summary of what was
    recorded, what the owner confirms, what matched nothing, or the error.

    `profile` forces a CSV bank profile and `columns` names a generic CSV's columns (see `read_statement`).
    """
    try:
        source = _load(data, name)
        statement = read_statement(source, name, profile=profile, columns=columns)
    except StatementError as exc:
        return PaymentsSummary(
            file_name=name, error=exc.problem, error_line=exc.line, error_code=exc.code, dry_run=dry_run
        )
    sha256 = hashlib.sha256(source).hexdigest()
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return _record(engine, business_id, statement, sha256, actor=actor, dry_run=dry_run)
        except StaleMatchError:
            continue
    return _record(engine, business_id, statement, sha256, actor=actor, dry_run=dry_run)


def _record(
    engine: Engine, business_id: int, statement: Statement, sha256: str, *, actor: str, dry_run: bool
) -> PaymentsSummary:
    """One match of the statement's new lines against the open invoices, and its recording."""
    lines = (*statement.credits, *statement.foreign)
    with read_session(engine) as session:
        known = known_line_ids(session, business_id, (line.line_id for line in lines))
        invoices = open_invoices_for_matching(session, business_id)
    new = [line for line in lines if line.line_id not in known]
    if not new:
        summary = PaymentsSummary(file_name=statement.file, dry_run=dry_run)
    else:
        summary = record_statement(
            engine,
            business_id=business_id,
            lines=new,
            result=match(map(_credit, new), invoices),
            actor=actor,
            file_name=statement.file,
            file_sha256=sha256,
            dry_run=dry_run,
        )
    return replace(summary, format=statement.format, lines_known=len(known), debits=statement.debits)


def propose_thanks(ctx: BusinessContext, summary: PaymentsSummary, *, actor: str) -> PaymentsSummary:
    """After an import: a "merci pour votre règlement" draft (services.extra_drafts.thank, to approve like any
    reminder) for each client whose invoices are now all settled, covering the invoices this import paid off.
    A dry run, or a summary with no settled client, proposes nothing. A draft that cannot be rendered is left out
    (nothing kept; logged), the others are proposed."""
    from services.extra_drafts import thank

    if summary.dry_run or not summary.ok or not summary.settled_clients:
        return summary
    drafted: list[int] = []
    for client in summary.settled_clients:
        if not client.invoice_ids:
            continue
        draft = thank(ctx, client.client_id, client.invoice_ids, actor=actor)
        if draft.ok and draft.reminder_id is not None:
            drafted.append(draft.reminder_id)
        else:
            log.warning("no thanks drafted for client %s: %s", client.client_id, draft.error)
    return replace(summary, thanks=tuple(drafted))
