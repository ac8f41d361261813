"""Owner-facing renderings other than cards, shared by the chat and the terminal: the dashboard, an import report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.cards import h, step_label
from bot.i18n import CATALOGUES, t
from dunning.states import InvoiceState
from messages.formatting import format_amount
from services.imports import ImportReport

if TYPE_CHECKING:
    from datetime import date

    from services.einvoice_import import EInvoiceReport
    from services.plans import PlanFacts
    from storage.calls import CallRecord
    from storage.clients import ClientRow
    from storage.invoices import InvoiceRow
    from storage.letters import AwaitingLetter
    from storage.payments_in import LineView, PaymentsSummary
    from storage.queries import StatusSummary
    from storage.reminders import ReminderView

MAX_ERRORS = 20
#: Invoices listed by /factures and /client at most (the rest are counted).
MAX_LINES = 40


def render_status(summary: StatusSummary, lang: str) -> str:
    """The /status text (HTML): totals, aging, top debtors, the next 7 days, recovered this month."""
    lines = [t("status.title", lang, day=summary.today.strftime("%d/%m/%Y"))]
    lines.append(
        t(
            "status.totals",
            lang,
            open=format_amount(summary.open_total),
            open_count=summary.open_count,
            overdue=format_amount(summary.overdue_total),
            overdue_count=summary.overdue_count,
        )
    )
    lines.append(render_state_counts(summary.state_counts, lang))
    lines.append(t("status.recovered", lang, amount=format_amount(summary.recovered_this_month)))
    if summary.letters_awaiting:
        lines += ["", *render_letters(summary.letters_awaiting, lang)]
    for action in (a for a in summary.next_actions if a.kind == "uncertain_send"):
        step = h(step_label(action.detail, lang))
        amount = format_amount(action.amount)
        lines.append(t("status.uncertain", lang, client=h(action.client_name), step=step, amount=amount))
    lines.append("")
    lines.append(t("status.aging", lang))
    for bucket in summary.aging:
        amount = format_amount(bucket.amount)
        lines.append(t("status.bucket", lang, label=bucket.label, amount=amount, count=bucket.count))
    lines.append("")
    lines.append(t("status.top", lang))
    if not summary.top_debtors:
        lines.append(t("status.none", lang))
    for rank, debtor in enumerate(summary.top_debtors, start=1):
        lines.append(
            t(
                "status.debtor",
                lang,
                rank=rank,
                name=h(debtor.name),
                amount=format_amount(debtor.overdue_amount),
                invoices=debtor.invoices,
                days=debtor.oldest_days_overdue,
            )
        )
    lines.append("")
    lines.append(t("status.upcoming", lang))
    if not summary.upcoming:
        lines.append(t("status.none", lang))
    for item in summary.upcoming[:15]:
        lines.append(
            t(
                "status.upcoming_line",
                lang,
                day=item.day.strftime("%d/%m"),
                client=h(item.client_name),
                step=h(step_label(item.step, lang)),
                amount=format_amount(item.amount),
            )
        )
    return "\n".join(lines)[:4096]


def render_import(report: ImportReport | EInvoiceReport, lang: str) -> str:
    """The /import answer (HTML): counts, or the errors with their line numbers; an e-invoice's own summary."""
    if not isinstance(report, ImportReport):
        return render_einvoice_import(report, lang)
    name = h(report.filename)
    if report.ok:
        return t(
            "import.ok",
            lang,
            filename=name,
            rows=report.rows,
            created=report.invoices_created,
            updated=report.invoices_updated,
            unchanged=report.invoices_unchanged,
            clients=report.clients_created,
        )
    lines = [t("import.errors", lang, filename=name, count=len(report.errors))]
    for err in report.errors[:MAX_ERRORS]:
        column = f" ({h(err.column)})" if err.column else ""
        lines.append(t("import.error_line", lang, line=err.line, column=column, reason=h(err.reason)))
    if len(report.errors) > MAX_ERRORS:
        lines.append(t("import.more_errors", lang, count=len(report.errors) - MAX_ERRORS))
    return "\n".join(lines)[:4096]


def render_einvoice_import(report: EInvoiceReport, lang: str, *, escape: Callable[[str], str] = h) -> str:
    """What an e-invoice import read and did (HTML; `escape=str` for a terminal), or why it wrote nothing: the
    invoice, its client, amount due and due date (saying when the date is assumed), the seller when the business
    has no SIREN to check it against, or the invoice a credit note was applied to."""
    name = escape(report.filename)
    invoice, result = report.einvoice, report.result
    if not report.ok or invoice is None or result is None:
        return t("einvoice.error", lang, filename=name, reason=escape(report.error))
    amount = format_amount(invoice.amount_due, invoice.currency, lang)
    number = escape(invoice.number)
    lines: list[str] = []
    if invoice.kind == "credit_note":
        invoice_no = escape(result.applied_to or "")
        if result.status == "to_assign":
            reference = result.applied_to
            reason = (
                t("einvoice.unknown_reference", lang, reference=escape(reference))
                if reference
                else t("einvoice.no_reference", lang)
            )
            lines.append(
                t("einvoice.credit_to_assign", lang, number=number, filename=name, amount=amount, reason=reason)
            )
        elif result.status == "unchanged":
            lines.append(t("einvoice.credit_unchanged", lang, number=number, invoice=invoice_no))
        else:
            balance = format_amount(result.balance or Decimal(0), invoice.currency, lang)
            lines.append(
                t(
                    "einvoice.credit_applied",
                    lang,
                    number=number,
                    filename=name,
                    amount=amount,
                    invoice=invoice_no,
                    balance=balance,
                )
            )
    elif result.status == "unchanged":
        lines.append(t("einvoice.unchanged", lang, number=number, filename=name))
    else:
        client = escape(result.client_name or "")
        assumed = t("einvoice.assumed", lang) if invoice.due_date_assumed else ""
        due = invoice.due_date.strftime("%d/%m/%Y")
        lines.append(
            t("einvoice.invoice", lang, number=number, filename=name, client=client, amount=amount, due=due,
              assumed=assumed)
        )  # fmt: skip
        if result.matched_by == "new":
            lines.append(t("einvoice.client_new", lang, client=client))
        elif result.matched_by is not None:
            by = t(f"einvoice.by.{result.matched_by}", lang)
            lines.append(t("einvoice.client_known", lang, by=by, client=client))
    if report.show_seller and invoice.seller.name:
        lines.append(t("einvoice.seller", lang, seller=escape(invoice.seller.name)))
    if report.dry_run:
        lines.append(t("einvoice.dry_run", lang))
    return "\n".join(lines)[:4096]


def render_invoices(
    rows: list[tuple[InvoiceRow, str]],
    today: date,
    text_filter: str,
    lang: str,
    *,
    plans: Mapping[int, PlanFacts] | None = None,
) -> str:
    """The /factures answer (HTML): open invoices with their client, balance, due date, days late and state (and
    the next instalment of an invoice in a payment plan: `plans` by invoice id)."""
    from bot.plan_cards import invoice_suffix

    title = t("invoices.title", lang, filter=t("invoices.filter", lang, text=h(text_filter)) if text_filter else "")
    if not rows:
        return title + "\n" + t("invoices.none", lang)
    lines = [title]
    plans = plans or {}
    lines += [
        _invoice_line(inv, client_name, today, lang) + invoice_suffix(plans.get(inv.id), lang)
        for inv, client_name in rows[:MAX_LINES]
    ]
    if len(rows) > MAX_LINES:
        lines.append(t("invoices.more", lang, count=len(rows) - MAX_LINES))
    return "\n".join(lines)


def render_client(
    client: ClientRow,
    invoices: list[InvoiceRow],
    reminders: list[ReminderView],
    today: date,
    lang: str,
    *,
    letters: Sequence[AwaitingLetter] = (),
    last_call: CallRecord | None = None,
    plans: Sequence[PlanFacts] = (),
) -> str:
    """The /client answer (HTML): contact details (and the last call), invoices, running payment plans, formal
    notices awaiting their acknowledgment of receipt, reminder history."""
    emails, phone = h(client.emails or "—"), h(client.phone or "—")
    lines = [t("client.title", lang, name=h(client.name), emails=emails, phone=phone)]
    if last_call is not None:
        lines.append(render_last_call(last_call, lang))
    lines += ["", t("client.invoices", lang)]
    lines += [_invoice_line(inv, client.name, today, lang) for inv in invoices[:MAX_LINES]]
    if plans:
        from bot.plan_cards import plan_summary

        for plan in plans:
            lines += ["", *plan_summary(plan, lang)]
    if letters:
        lines += ["", *render_letters(letters, lang)]
    lines += ["", t("client.history", lang)]
    if not reminders:
        lines.append(t("client.no_history", lang))
    for r in reminders:
        day = r.planned_date.strftime("%d/%m/%Y")
        lines.append(t("client.history_line", lang, day=day, step=h(step_label(r.step, lang)), state=h(r.state)))
    return "\n".join(lines)[:4000]


def render_last_call(call: CallRecord, lang: str) -> str:
    """ "📞 Dernier appel : le 30/11 à 14:05, client joint — « paiera vendredi »" (`call.at` in the business's zone)."""
    note = f" — « {h(call.note)} »" if call.note and lang == "fr" else f" — “{h(call.note)}”" if call.note else ""
    outcome = t(f"call.outcome.{call.outcome}", lang) if call.outcome in ("reached", "no_answer") else h(call.outcome)
    return t("client.last_call", lang, day=call.at.strftime("%d/%m/%Y"), time=call.at.strftime("%H:%M"),
             outcome=outcome, note=note)  # fmt: skip


def render_letters(letters: Sequence[AwaitingLetter], lang: str) -> list[str]:
    """Formal notices whose registered letter waits for its acknowledgment: a title, then one line each (HTML)."""
    lines = [t("letters.title", lang)]
    for waiting in letters[:MAX_LINES]:
        letter = waiting.letter
        presented = letter.first_presented_on
        lines.append(
            t("letters.line", lang, client=h(waiting.client_name), number=h(letter.tracking_number),
              sent=letter.sent_on.strftime("%d/%m/%Y"),
              presented=t("letters.presented", lang, day=presented.strftime("%d/%m/%Y")) if presented else "",
              deadline=waiting.deadline.strftime("%d/%m/%Y"))
        )  # fmt: skip
    if len(letters) > MAX_LINES:
        lines.append(t("invoices.more", lang, count=len(letters) - MAX_LINES))
    return lines


def _invoice_line(inv: InvoiceRow, client_name: str, today: date, lang: str) -> str:
    """One invoice of /factures or /client: its amounts, due date (days late only while something is owed) and
    its state in words."""
    days = (today - inv.due_date).days
    return t(
        "invoices.line",
        lang,
        number=h(inv.number),
        client=h(client_name),
        balance=invoice_amounts(inv, lang),
        due=inv.due_date.strftime("%d/%m/%Y"),
        late=t("card.late", lang, days=days) if days > 0 and inv.balance > 0 else "",
        state=invoice_state(inv, lang),
    )


def invoice_amounts(inv: InvoiceRow, lang: str) -> str:
    """What is owed: the amount when untouched or settled, else what is left of it."""
    balance, amount = format_amount(inv.balance, inv.currency), format_amount(inv.amount, inv.currency)
    if inv.balance <= 0 or inv.balance == inv.amount:
        return amount
    return t("invoices.left", lang, balance=balance, amount=amount)


def invoice_state(inv: InvoiceRow, lang: str) -> str:
    """The invoice's state in words (messages.states, through the catalogue); a promise says its date."""
    if inv.state == InvoiceState.PROMISED and inv.promised_until is not None:
        return t("invstate.promised_until", lang, day=inv.promised_until.strftime("%d/%m/%Y"))
    return t(f"invstate.{inv.state}", lang)


def render_state_counts(counts: dict[str, int], lang: str) -> str:
    """/status: how many invoices are in each state (the states that have some, in the machine's order)."""
    parts = [
        t("status.state_count", lang, state=t(f"invstate.{state.value}", lang), count=counts[state.value])
        for state in InvoiceState
        if counts.get(state.value)
    ]
    return t("status.by_state", lang, counts=" · ".join(parts) if parts else t("status.none", lang))


def render_payments(summary: PaymentsSummary, lang: str, *, escape: Callable[[str], str] = h) -> str:
    """What a bank statement import recorded (HTML; `escape=str` for a terminal), or why it wrote nothing: the
    payments and their total, invoices now paid, reminders cancelled, payments to confirm with their candidates,
    over-payments to refund or assign, lines in another currency or matching nothing, clients now all paid up."""
    name = escape(summary.file_name)
    if not summary.ok:
        where = t("payments.error_line", lang, line=summary.error_line) if summary.error_line else ""
        reason = escape(summary.error)
        if f"payments.reason.{summary.error_code}" in CATALOGUES["fr"]:
            worded = t(f"payments.reason.{summary.error_code}", lang)
            reason = t("payments.reason", lang, reason=worded, detail=reason)
        return t("payments.error", lang, filename=name, where=where, reason=reason)

    def amount(value: Decimal, currency: str = "EUR") -> str:
        return format_amount(value, currency, lang)

    def payer(line: LineView) -> str:
        return escape(line.counterparty or t("payments.unknown_payer", lang))

    def day(value: date) -> str:
        return value.strftime("%d/%m/%Y")

    lines = [t("payments.title", lang, filename=name, format=escape(summary.format))]
    if summary.payments:
        key = "payments.recorded_dry" if summary.dry_run else "payments.recorded"
        lines.append(t(key, lang, count=len(summary.payments), total=amount(summary.total)))
        for p in summary.payments[:MAX_LINES]:
            lines.append(
                t("payments.line", lang, number=escape(p.number), client=escape(p.client_name), amount=amount(p.amount),
                  day=day(p.booking_date))
            )  # fmt: skip
        if len(summary.payments) > MAX_LINES:
            lines.append(t("invoices.more", lang, count=len(summary.payments) - MAX_LINES))
    if summary.paid_invoices:
        lines.append(t("payments.paid", lang, numbers=_listed([escape(n) for n in summary.paid_invoices], lang)))
    if summary.reminders_cancelled:
        lines.append(t("payments.cancelled", lang, count=summary.reminders_cancelled))
    for over in summary.overpaid[:MAX_LINES]:
        numbers = ", ".join(over.numbers) or t("payments.no_invoice", lang)
        lines.append(
            t("payments.overpaid", lang, excess=amount(over.excess, over.line.currency),
              amount=amount(over.line.amount, over.line.currency),
              day=day(over.line.booking_date), payer=payer(over.line), numbers=escape(numbers))
        )  # fmt: skip
    if summary.doubtful:
        lines.append(t("payments.to_confirm", lang, count=len(summary.doubtful)))
        for doubt in summary.doubtful[:MAX_LINES]:
            candidates = f" {t('payments.or', lang)} ".join(escape(c.number) for c in doubt.candidates)
            lines.append(
                t("payments.doubtful_line", lang, amount=amount(doubt.line.amount, doubt.line.currency),
                  day=day(doubt.line.booking_date),
                  payer=payer(doubt.line), candidates=candidates)
            )  # fmt: skip
        if len(summary.doubtful) > MAX_LINES:
            lines.append(t("invoices.more", lang, count=len(summary.doubtful) - MAX_LINES))
    if summary.foreign:
        foreign = _listed([f"{amount(f.amount, f.currency)} ({day(f.booking_date)})" for f in summary.foreign], lang)
        lines.append(t("payments.foreign", lang, count=len(summary.foreign), lines=foreign))
    if summary.unmatched:
        lines.append(t("payments.unmatched", lang, count=len(summary.unmatched)))
    if summary.lines_known:
        lines.append(t("payments.known", lang, count=summary.lines_known))
    if not (summary.payments or summary.overpaid or summary.doubtful or summary.foreign or summary.unmatched):
        lines.append(t("payments.nothing_new", lang))
    if summary.settled_clients:
        clients = _listed([escape(c.name) for c in summary.settled_clients], lang)
        lines.append(t("payments.settled", lang, clients=clients))
    if summary.thanks:
        lines.append(t("payments.thanks", lang, count=len(summary.thanks)))
    if summary.dry_run:
        lines.append(t("payments.dry_run", lang))
    return "\n".join(lines)[:4096]


def _listed(items: list[str], lang: str) -> str:
    """Items joined by commas, at most MAX_LINES of them (the others counted), so a long statement's summary fits."""
    shown = ", ".join(items[:MAX_LINES])
    return shown + t("payments.and_more", lang, count=len(items) - MAX_LINES) if len(items) > MAX_LINES else shown
