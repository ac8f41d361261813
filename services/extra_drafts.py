"""Messages drafted outside the ladder (reminder.kind != "ladder"), approved like any reminder: a thanks for a
payment, the claim of the penalties of an invoice paid late, a payment plan's schedule and the reminder of a missed
instalment. Each call proposes (or finds) the pending draft and renders it in the same transaction: a draft that
cannot be rendered is not kept (fail closed) and the caller gets the reason. The card, send, edit and full text of
these drafts go through services.core like any reminder's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from dunning.states import InvoiceState, ReminderState
from messages.render import InvoicePdfError, TemplateError
from services.context import BusinessContext
from services.core import Msg
from services.extra_context import late_payment_claims
from storage.clients import client_row
from storage.db import Session, read_session, write_session
from storage.drafting import payments_of
from storage.extra_drafts import (
    client_exists,
    client_invoice_ids,
    invoice_facts,
    plan_facts,
    reminder_state,
    tie_plan_reminder,
)
from storage.invoices import invoice_row
from storage.reminders import ActionError, propose_outside_ladder, reminder_view

_WAITING = (ReminderState.PENDING, ReminderState.FAILED, ReminderState.SNOOZED)


@dataclass(frozen=True, slots=True)
class ExtraDraft:
    """A draft outside the ladder waiting for the owner (its reminder id and version: what its card's buttons
    carry), or why none was made (`error`, nothing kept). `amount` is what a penalty claim asks for (penalties and
    indemnities; None when a rate is missing and the penalties could not be counted)."""

    reminder_id: int | None = None
    version: int | None = None
    error: Msg | None = None
    amount: Decimal | None = None

    @property
    def ok(self) -> bool:
        """True when a draft is waiting for the owner."""
        return self.error is None and self.reminder_id is not None


class _Refused(Exception):
    """Nothing is proposed; `msg` says why (the transaction is rolled back)."""

    def __init__(self, msg: Msg) -> None:
        super().__init__(msg.key)
        self.msg = msg


def _propose(
    ctx: BusinessContext,
    *,
    kind: str,
    actor: str,
    target: Callable[[Session], tuple[int, list[int]]],
    after: Callable[[Session, int], None] | None = None,
) -> ExtraDraft:
    """Propose a `kind` draft of the client and invoices `target` finds (or refuses), then render it; everything in
    one transaction, rolled back when anything refuses or the draft does not render."""
    today = ctx.clock.today()
    try:
        with write_session(ctx.engine) as session:
            client_id, invoice_ids = target(session)
            rid = propose_outside_ladder(session, business_id=ctx.business_id, client_id=client_id, kind=kind,
                                         invoice_ids=invoice_ids, today=today, actor=actor)  # fmt: skip
            if after is not None:
                after(session, rid)
            view = reminder_view(session, rid, today)
            assert view is not None
            try:
                ctx.drafter.draft(session, view, today=today)
            except Exception as exc:  # fail closed: a draft that does not render is not proposed
                known = isinstance(exc, (TemplateError, InvoicePdfError))
                reason = str(exc) if known else f"{type(exc).__name__}: {exc}"
                raise _Refused(Msg("draft.broken", reason=reason)) from exc
            return ExtraDraft(rid, view.version)
    except _Refused as exc:
        return ExtraDraft(error=exc.msg)
    except ActionError as exc:
        from services.refusals import refusal

        return ExtraDraft(error=refusal(exc))  # a state machine's refusal in the catalogue's words


def claim_penalties(ctx: BusinessContext, invoice_id: int, *, actor: str) -> ExtraDraft:
    """The penalty-claim draft of an invoice paid after its due date (never a consumer's): its late-payment penalties
    counted up to the day it was paid and the 40 EUR indemnity, by the same computation as the formal notice."""

    def target(session: Session) -> tuple[int, list[int]]:
        facts = invoice_facts(session, business_id=ctx.business_id, invoice_id=invoice_id)
        if facts is None:
            raise _Refused(Msg("extra.unknown_invoice"))
        if facts.consumer:
            raise _Refused(Msg("extra.consumer", number=facts.number))
        if not facts.claimable:
            raise _Refused(Msg("extra.not_claimable", number=facts.number))
        return facts.client_id, [facts.invoice_id]

    draft = _propose(ctx, kind="penalty_claim", actor=actor, target=target)
    if not draft.ok:
        return draft
    return ExtraDraft(draft.reminder_id, draft.version, amount=claimed_amount(ctx, invoice_id))


def claimed_amount(ctx: BusinessContext, invoice_id: int) -> Decimal | None:
    """What the penalty claim of an invoice asks for: its penalties up to its payment day plus the indemnity
    (services.extra_context.late_payment_claims); None when the penalties could not be counted (a rate missing)."""
    with read_session(ctx.engine) as session:
        inv = invoice_row(session, business_id=ctx.business_id, invoice_id=invoice_id)
        if inv is None:
            return None
        client = client_row(session, business_id=ctx.business_id, client_id=inv.client_id)
        assert client is not None
        payments = payments_of(session, business_id=ctx.business_id, invoice_ids=[invoice_id])
    _, claim = late_payment_claims([inv], client, payments, ctx.clock.today(), ctx.rate_table)[invoice_id]
    return None if claim.penalty is None else claim.penalty + claim.indemnity


def thank(ctx: BusinessContext, client_id: int, invoice_ids: Sequence[int], *, actor: str) -> ExtraDraft:
    """The "merci pour votre règlement" draft of a client for the invoices they have paid."""

    def target(session: Session) -> tuple[int, list[int]]:
        if not client_exists(session, business_id=ctx.business_id, client_id=client_id):
            raise _Refused(Msg("extra.unknown_client"))
        ids = client_invoice_ids(session, business_id=ctx.business_id, client_id=client_id, invoice_ids=invoice_ids)
        if not ids or len(ids) != len(set(invoice_ids)):
            raise _Refused(Msg("extra.unknown_invoice"))
        return client_id, ids

    return _propose(ctx, kind="thanks", actor=actor, target=target)


def remind_instalment(ctx: BusinessContext, invoice_id: int, *, actor: str) -> ExtraDraft:
    """The reminder of a missed instalment of the active plan the invoice follows: what was due, when, what is late
    (it covers every invoice of the plan still in it)."""

    def target(session: Session) -> tuple[int, list[int]]:
        facts = invoice_facts(session, business_id=ctx.business_id, invoice_id=invoice_id)
        if facts is None:
            raise _Refused(Msg("extra.unknown_invoice"))
        plan = (
            plan_facts(session, business_id=ctx.business_id, plan_id=facts.plan_id)
            if facts.plan_id is not None
            else None
        )
        if plan is None or plan.state != "active" or facts.state != InvoiceState.PAYMENT_PLAN:
            raise _Refused(Msg("extra.no_plan", number=facts.number))
        in_plan = [
            i
            for i in plan.invoice_ids
            if (f := invoice_facts(session, business_id=ctx.business_id, invoice_id=i)) is not None
            and f.state == InvoiceState.PAYMENT_PLAN
            and f.plan_id == plan.plan_id
        ]
        return plan.client_id, in_plan or [facts.invoice_id]

    return _propose(ctx, kind="plan_reminder", actor=actor, target=target)


def draft_plan_schedule(ctx: BusinessContext, plan_id: int, *, actor: str) -> ExtraDraft:
    """The schedule e-mail of a proposed payment plan, listing its instalments; the plan is tied to it (approving
    it starts the plan: services.plans). A second call returns the same pending draft."""

    def target(session: Session) -> tuple[int, list[int]]:
        plan = plan_facts(session, business_id=ctx.business_id, plan_id=plan_id)
        if plan is None:
            raise _Refused(Msg("extra.unknown_plan"))
        if plan.state != "proposed":
            raise _Refused(Msg("extra.plan_not_proposed"))
        if not plan.invoice_ids:
            raise _Refused(Msg("extra.unknown_plan"))
        if plan.reminder_id is not None:
            found = reminder_state(session, business_id=ctx.business_id, reminder_id=plan.reminder_id)
            if found is not None and found[0] not in _WAITING:
                raise _Refused(Msg("extra.plan_not_proposed"))
        return plan.client_id, list(plan.invoice_ids)

    def after(session: Session, reminder_id: int) -> None:
        from storage.extra_drafts import plan_of_schedule

        other = plan_of_schedule(session, business_id=ctx.business_id, reminder_id=reminder_id)
        if other is not None and other != plan_id:
            # The client's schedule e-mail of today belongs to another plan: one schedule e-mail per client a day.
            raise _Refused(Msg("extra.plan_same_day"))
        tie_plan_reminder(session, business_id=ctx.business_id, plan_id=plan_id, reminder_id=reminder_id)

    return _propose(ctx, kind="plan_schedule", actor=actor, target=target, after=after)
