"""The draft context of a message outside the ladder (reminder.kind != "ladder"): a penalty claim counts each
invoice's penalties up to the day it was paid; a plan's schedule and a missed instalment's reminder carry the plan's
instalments. Called by `services.drafts.draft_context`, so the drafter, the card and the send path are unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

from dunning.penalties import InvoicePenalties, RateTable, builtin_rate_table
from messages.context import DraftContext, InvoiceLine, ScheduleLine
from services.drafts import _lines, claims_of
from storage.clients import ClientRow
from storage.db import Session
from storage.drafting import DraftMaterial, InstalmentLine, PaymentLine, plan_instalments
from storage.invoices import InvoiceRow

ZERO = Decimal("0.00")


def paid_on_of(payments: Sequence[PaymentLine], fallback: date) -> date:
    """The day an invoice was settled: its latest dated payment (`fallback` when it has none)."""
    return max((day for day, _ in payments), default=fallback)


def late_payment_claims(
    invoices: Sequence[InvoiceRow],
    client: ClientRow,
    payments: Mapping[int, Sequence[PaymentLine]],
    today: date,
    rates: RateTable,
) -> dict[int, tuple[date, InvoicePenalties]]:
    """What can be claimed on invoices paid late, by invoice id: the day each was paid (its latest payment) and its
    penalties and indemnity counted up to that day, by the same `claims_of` (dunning.penalties) as the formal
    notice. The penalty-claim e-mail and `services.extra_drafts.claim_penalties` both read their figures here."""
    out = {}
    for inv in invoices:
        paid_on = paid_on_of(payments.get(inv.id, ()), today)
        out[inv.id] = (paid_on, claims_of([inv], client, payments, paid_on, rates)[inv.id])
    return out


def outside_ladder(
    session: Session,
    ctx: DraftContext,
    material: DraftMaterial,
    *,
    business_id: int,
    reminder_id: int,
    rate_table: RateTable | None,
) -> DraftContext:
    """`ctx` (built as for any reminder) completed for its kind; LookupError when a plan message has no plan."""
    if material.step == "penalty_claim":
        rates = rate_table if rate_table is not None else builtin_rate_table()
        lines: list[InvoiceLine] = []
        missing: str | None = None
        for inv in sorted(material.invoices, key=lambda i: (i.due_date, i.number)):
            paid_on = paid_on_of(material.payments.get(inv.id, ()), ctx.today)
            (line,), gap = _lines([inv], material.client, material.payments, paid_on, rates)
            lines.append(line)
            missing = missing or gap
        return replace(ctx, invoices=tuple(lines), rates_missing=missing)
    if material.step in ("plan_schedule", "plan_reminder"):
        schedule = schedule_lines(
            plan_instalments(session, business_id=business_id, reminder_id=reminder_id),
            today=ctx.today,
            lang=ctx.client_language,
        )
        if not schedule:
            raise LookupError("aucune échéance pour ce message / no instalment for this message")
        return replace(ctx, schedule=schedule)
    return ctx


def schedule_lines(parts: Sequence[InstalmentLine], *, today: date, lang: str) -> tuple[ScheduleLine, ...]:
    """The plan's instalments as messages show them: the parts of one instalment (split over two invoices) merged;
    an instalment is missed once its date has passed and it is not fully paid."""
    by_seq: dict[int, list[InstalmentLine]] = {}
    for part in parts:
        by_seq.setdefault(part.seq, []).append(part)
    joiner = " et " if lang == "fr" else " and "
    out = []
    for seq, group in sorted(by_seq.items()):
        amount = sum((p.amount for p in group), ZERO)
        paid = sum((p.paid for p in group), ZERO)
        due = min(p.due_date for p in group)
        out.append(
            ScheduleLine(
                seq=seq,
                due_date=due,
                amount=amount,
                paid=paid,
                missed=due < today and paid < amount,
                invoices=joiner.join(p.invoice_number for p in group),
            )
        )
    return tuple(out)
