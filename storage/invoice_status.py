"""The bridge between a stored invoice and the pure state machine (dunning.invoice_states): read its status, apply an
event, write the new status and its evidence entry in the caller's transaction.

The `amount_paid` column holds everything that lowered the balance by payment or credit note (what the screens,
the ladder and the penalties read); `amount_credited` is the part of it that came from credit notes. The status the
machine sees splits the two.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from dunning.invoice_states import Event, InvoiceStatus, State, Transition, apply
from storage.evidence import record
from storage.models import Client, Invoice
from storage.types import utcnow

log = logging.getLogger(__name__)


def invoice_status(session: Session, inv: Invoice) -> InvoiceStatus:
    """The machine's view of `inv` (raises dunning.invoice_states.InvalidStatus for a row that cannot be right)."""
    client = session.get(Client, inv.client_id)
    return InvoiceStatus(
        state=State(inv.state),
        amount=inv.amount,
        due_date=inv.due_date,
        amount_paid=inv.amount_paid - inv.amount_credited,
        amount_credited=inv.amount_credited,
        amount_written_off=inv.amount_written_off,
        amount_overpaid=inv.amount_overpaid,
        last_paid_on=inv.last_paid_on,
        consumer=client is not None and client.is_consumer,
        # A closed dispute or a past promise may linger in its column: only the state that holds it reads it.
        dispute_reason=inv.dispute_reason if inv.state == State.DISPUTED else None,
        promised_until=inv.promised_until if inv.state == State.PROMISED else None,
        broken_promise=inv.broken_promise,
    )


def apply_to_invoice(
    session: Session, inv: Invoice, event: Event, *, actor: str, details: dict[str, Any] | None = None
) -> Transition:
    """Apply `event` to `inv`, write the new status and log the transition (its payload, `details` and its cards).

    Raises dunning.invoice_states.IllegalTransition (nothing written) when the event does not fit the state.
    """
    transition = apply(invoice_status(session, inv), event)
    assert transition is not None  # only a DayPassed may bring nothing
    after = transition.status
    inv.state = after.state.value
    inv.amount_paid = after.amount_paid + after.amount_credited
    inv.amount_credited = after.amount_credited
    inv.amount_written_off = after.amount_written_off
    inv.amount_overpaid = after.amount_overpaid
    inv.last_paid_on = after.last_paid_on
    inv.broken_promise = after.broken_promise
    if after.dispute_reason is not None:
        inv.dispute_reason = after.dispute_reason[:500]
    if after.promised_until is not None:
        inv.promised_until = after.promised_until
    inv.updated_at = utcnow()
    session.add(inv)
    payload: dict[str, Any] = {"number": inv.number, **transition.payload, **(details or {})}
    if transition.cards:
        # The chat's cards for these (claim the penalties, refund an over-payment) come later: logged for now.
        payload["cards"] = [{"kind": c.kind.value, **c.payload} for c in transition.cards]
        log.info("invoice %s %s: %s", inv.number, transition.kind.value, payload["cards"])
    record(
        session,
        actor=actor,
        kind=transition.kind.value,
        business_id=inv.business_id,
        client_id=inv.client_id,
        invoice_id=inv.id,
        payload=payload,
    )
    return transition
