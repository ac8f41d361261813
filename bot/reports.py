"""Owner-facing renderings other than cards, shared by the chat and the terminal: the dashboard, an import report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards import h, step_label
from bot.i18n import t
from messages.formatting import format_amount

if TYPE_CHECKING:
    from services.imports import ImportReport
    from storage.queries import StatusSummary

MAX_ERRORS = 20


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
    lines.append(t("status.counts", lang, promised=summary.promised_count, disputed=summary.disputed_count))
    lines.append(t("status.recovered", lang, amount=format_amount(summary.recovered_this_month)))
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


def render_import(report: ImportReport, lang: str) -> str:
    """The /import answer (HTML): counts, or the errors with their line numbers."""
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
