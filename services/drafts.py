"""Build message contexts from the database: the reminder (or one invoice), its client, the business, payments
and late-payment penalties; and render previews of any step in any format.

Reads only, through the repositories of `storage.drafting` (plain dataclasses, `business_id` explicit). The
owner's edits to a reminder are applied by the caller with `Draft.with_edits`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from dunning.ladder import FORMAL_NOTICE, PRE_REMINDER, Ladder, step_channel, step_tone
from dunning.penalties import InvoicePenalties, RateTable, builtin_rate_table, invoice_penalties
from dunning.policy import InvoiceSnapshot, next_step
from dunning.states import InvoiceState
from messages.context import LANGUAGES, DraftContext, InvoiceLine, Sender
from messages.render import Renderer, default_renderer
from storage.businesses import BusinessRow, business_row
from storage.clients import ClientRow, client_row
from storage.db import Session
from storage.drafting import DraftMaterial, PaymentLine, last_sent, payments_of, reminder_material, reminder_owner
from storage.invoices import InvoiceRow, invoice_by_number
from storage.letters import letter_of, notice_deadline_of
from storage.reminders import EXTRA_KINDS, business_ladder

FORMATS = ("text", "html", "sms", "call", "letter")
_SUBJECT_LABEL = {"fr": "Objet :", "en": "Subject:"}


def sender_of(business: BusinessRow) -> Sender:
    """The sender block of `business`."""
    return Sender(
        name=business.name,
        address=business.address,
        siren=business.siren,
        iban=business.iban,
        bic=business.bic,
        phone=business.phone,
        email=business.email,
        reply_to=business.reply_to,
        formal_notice_days=business.formal_notice_days or 8,
    )


def claims_of(
    invoices: Sequence[InvoiceRow],
    client: ClientRow,
    payments: Mapping[int, Sequence[PaymentLine]],
    today: date,
    rates: RateTable,
) -> dict[int, InvoicePenalties]:
    """Penalties, indemnity and total of each invoice (by id) at `today`, from its payments (by invoice id): the
    figures every document states.

    The one bridge from the stored invoices to `dunning.penalties.invoice_penalties`: the drafts (e-mails,
    letter) and the evidence dossier both call it, so they cannot disagree.
    """
    contractual = Decimal(client.contractual_rate) if client.contractual_rate is not None else None
    return {
        inv.id: invoice_penalties(
            amount=inv.amount,
            amount_paid=inv.amount_paid,
            payments=list(payments.get(inv.id, ())),
            due_date=inv.due_date,
            today=today,
            rate_table=rates,
            contractual_rate=contractual,
            is_consumer=client.is_consumer,
        )
        for inv in invoices
    }


def _lines(
    invoices: Sequence[InvoiceRow],
    client: ClientRow,
    payments: Mapping[int, Sequence[PaymentLine]],
    today: date,
    rates: RateTable,
) -> tuple[tuple[InvoiceLine, ...], str | None]:
    claims = claims_of(invoices, client, payments, today, rates)
    missing: str | None = None
    lines = []
    for inv in sorted(invoices, key=lambda i: (i.due_date, i.number)):
        claim = claims[inv.id]
        if claim.penalty is None:
            # No figure rather than a guess: the templates then state the rule without an amount.
            missing = missing or claim.missing_half_year
        lines.append(
            InvoiceLine(
                number=inv.number,
                issue_date=inv.issue_date,
                due_date=inv.due_date,
                amount=inv.amount,
                amount_paid=inv.amount_paid,
                balance=claim.balance,
                currency=inv.currency,
                days_overdue=max(0, (today - inv.due_date).days),
                penalties=claim.penalty if claim.penalty is not None else Decimal("0.00"),
                indemnity=claim.indemnity,
                penalty_segments=claim.segments,
                pdf_path=inv.pdf_path,
                pdf_sha256=inv.pdf_sha256,
            )
        )
    return tuple(lines), missing


def _context(
    material: DraftMaterial,
    *,
    today: date,
    lang: str | None,
    sender: Sender | None,
    rate_table: RateTable | None,
) -> DraftContext:
    business, client, invoices, payments, step = (
        material.business,
        material.client,
        material.invoices,
        material.payments,
        material.step,
    )
    if not invoices:
        raise LookupError("aucune facture à relancer / no invoice to chase")
    lines, missing = _lines(
        invoices, client, payments, today, rate_table if rate_table is not None else builtin_rate_table()
    )
    promised = [i.promised_until for i in invoices if i.state == InvoiceState.PROMISED and i.promised_until]
    broken = [d for d in promised if d < today]
    language = lang if lang in LANGUAGES else (client.language if client.language in LANGUAGES else "fr")
    way = step_way(business, client, step)
    return DraftContext(
        sender=sender or sender_of(business),
        client_name=client.name,
        step=step,
        invoices=lines,
        today=today,
        client_language=language,
        client_profile=client.profile,
        is_consumer=client.is_consumer,
        client_email=(client.email_list or [""])[0],
        client_address=client.address,
        client_notes=client.notes,
        promise_broken=bool(broken) or step == "promise_broken",
        promised_date=max(broken) if broken else (max(promised) if promised else None),
        payment_plan_offered=step == "payment_plan_offer",
        rates_missing=missing,
        contractual_rate=Decimal(client.contractual_rate) if client.contractual_rate is not None else None,
        channel=way[0],
        step_tone=way[1],
    )


def step_way(business: BusinessRow, client: ClientRow, step: str) -> tuple[str, str]:
    """The channel and tone of `step` for this client, from the business's ladder (a key account's first overdue
    step is a call: dunning.ladder.step_channel); a message outside the ladder is an e-mail with no step tone."""
    ladder = business_ladder(business)
    tone = step_tone(ladder, step)
    return step_channel(ladder, step, client.profile).value, tone.value if tone else ""


def draft_context(
    session: Session,
    *,
    reminder_id: int,
    today: date,
    sender: Sender | None = None,
    rate_table: RateTable | None = None,
    lang: str | None = None,
    business_id: int | None = None,
) -> DraftContext:
    """The context of reminder `reminder_id` of business `business_id`: its step, its client and every invoice it
    covers, at `today`. A reminder of another business is unknown (LookupError).

    Without `business_id` (the older call, from callers that checked the reminder against their business), the
    reminder's own business is used.
    """
    unknown = LookupError(f"rappel inconnu : {reminder_id} / unknown reminder: {reminder_id}")
    if business_id is None:
        business_id = reminder_owner(session, reminder_id)
        if business_id is None:
            raise unknown
    material = reminder_material(session, business_id=business_id, reminder_id=reminder_id)
    if material is None:
        raise unknown
    context = _context(material, today=today, lang=lang, sender=sender, rate_table=rate_table)
    if material.step == FORMAL_NOTICE:
        # The deadline runs from the registered letter's first presentation when known (storage.letters).
        letter = letter_of(session, business_id=business_id, reminder_id=reminder_id)
        deadline = notice_deadline_of(letter, today=today, days=context.sender.formal_notice_days)
        context = replace(context, deadline=deadline)
    if material.step in EXTRA_KINDS:
        from services.extra_context import outside_ladder

        context = outside_ladder(session, context, material, business_id=business_id, reminder_id=reminder_id,
                                 rate_table=rate_table)  # fmt: skip
    return context


def find_invoice(session: Session, *, business_id: int, invoice_number: str) -> InvoiceRow:
    """The invoice numbered `invoice_number`, or LookupError with a French/English message."""
    invoice = invoice_by_number(session, business_id=business_id, number=invoice_number.strip())
    if invoice is None:
        raise LookupError(f"facture inconnue : {invoice_number} / unknown invoice: {invoice_number}")
    return invoice


def _last_sent(session: Session, invoice: InvoiceRow, tz: str) -> tuple[str | None, date | None]:
    last = last_sent(session, business_id=invoice.business_id, invoice_id=invoice.id)
    if last is None:
        return None, None
    on = last.sent_at.astimezone(ZoneInfo(tz)).date() if last.sent_at is not None else last.planned_date
    return last.step, on


def todays_step(
    session: Session,
    invoice: InvoiceRow,
    client: ClientRow,
    ladder: Ladder,
    today: date,
    *,
    tz: str = "Europe/Paris",
) -> str:
    """The step the ladder proposes today for `invoice`; when nothing is due today, the step matching its age
    (the latest step whose offset has passed, or the first one before the due date)."""
    last_step, last_on = _last_sent(session, invoice, tz)
    snapshot = InvoiceSnapshot(
        invoice_id=invoice.id,
        client_id=client.id,
        due_date=invoice.due_date,
        balance=invoice.balance,
        state=invoice.state,
        profile=client.profile,
        last_step=last_step,
        last_sent_on=last_on,
        promised_until=invoice.promised_until,
    )
    due = next_step(snapshot, today, ladder)
    if due is not None:
        return due.step.name
    if invoice.balance <= 0:
        return "payment_thanks"
    days = (today - invoice.due_date).days
    steps = ladder.for_profile(client.profile).steps
    passed = [s for s in steps if s.offset_days <= days and (s.offset_days < 0) == (days < 0)]
    if passed:
        return passed[-1].name
    return steps[0].name if steps else PRE_REMINDER


def invoice_context(
    session: Session,
    *,
    business_id: int,
    invoice_number: str,
    today: date,
    step: str | None = None,
    lang: str | None = None,
    sender: Sender | None = None,
    rate_table: RateTable | None = None,
) -> DraftContext:
    """The context of one invoice at `step` (default: the step the ladder proposes today)."""
    invoice = find_invoice(session, business_id=business_id, invoice_number=invoice_number)
    client = client_row(session, business_id=business_id, client_id=invoice.client_id)
    business = business_row(session, business_id=business_id)
    assert client is not None  # foreign key, and an invoice's client is of its business
    chosen = step or todays_step(session, invoice, client, business_ladder(business), today, tz=business.timezone)
    material = DraftMaterial(
        step=chosen,
        business=business,
        client=client,
        invoices=(invoice,),
        payments=payments_of(session, business_id=business_id, invoice_ids=[invoice.id]),
    )
    return _context(material, today=today, lang=lang, sender=sender, rate_table=rate_table)


def render_preview(
    session: Session,
    *,
    business_id: int,
    invoice_number: str,
    today: date,
    step: str | None = None,
    lang: str | None = None,
    fmt: str = "text",
    renderer: Renderer | None = None,
    rate_table: RateTable | None = None,
) -> str | bytes:
    """What `step` would say about an invoice: "text" (subject + body), "html", "sms", "call" (phone script) as
    text, or "letter" as the formal-notice PDF bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format inconnu : {fmt} / unknown format: {fmt} (text, html, sms, call, letter)")
    if lang is not None and lang not in LANGUAGES:
        raise ValueError(f"langue inconnue : {lang} / unknown language: {lang} (fr, en)")
    ctx = invoice_context(
        session,
        business_id=business_id,
        invoice_number=invoice_number,
        today=today,
        step=step,
        lang=lang,
        rate_table=rate_table,
    )
    r = renderer or default_renderer()
    if fmt == "letter":
        from messages.letter import render_formal_notice_pdf

        return render_formal_notice_pdf(ctx, r)
    if fmt == "sms":
        return r.render_sms(ctx) + "\n"
    if fmt == "call":
        return r.render_call_script(ctx)
    draft = r.render_email(ctx)
    if fmt == "html":
        return draft.html
    return f"{_SUBJECT_LABEL[ctx.client_language]} {draft.subject}\n\n{draft.text}"
