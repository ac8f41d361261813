"""/factures [client] (/invoices), /client NOM and /payee NUMERO [montant] (/paid)."""

from __future__ import annotations

from decimal import Decimal

from telegram import Update
from telegram.ext import CommandHandler

from bot.cards import h, step_label
from bot.handlers.common import Context, actor, lang, reply, services_of
from bot.i18n import t
from bot.presenter import text
from messages.formatting import format_amount
from services.core import InputError, parse_owner_amount

MAX_LINES = 40


async def on_invoices(update: Update, context: Context) -> None:
    """The open invoices, oldest due first, optionally those of clients matching the argument."""
    code = lang(update, context)
    services = services_of(context)
    text_filter = " ".join(context.args or [])
    rows = services.open_invoices(text_filter)
    today = services.today()
    title = t("invoices.title", code, filter=t("invoices.filter", code, text=h(text_filter)) if text_filter else "")
    if not rows:
        await reply(update, title + "\n" + t("invoices.none", code))
        return
    lines = [title]
    for inv, client_name in rows[:MAX_LINES]:
        days = (today - inv.due_date).days
        lines.append(
            t(
                "invoices.line",
                code,
                number=h(inv.number),
                client=h(client_name),
                balance=format_amount(inv.balance, inv.currency),
                due=inv.due_date.strftime("%d/%m/%Y"),
                late=t("card.late", code, days=days) if days > 0 else "",
                state=t(f"invstate.{inv.state}", code),
            )
        )
    if len(rows) > MAX_LINES:
        lines.append(t("invoices.more", code, count=len(rows) - MAX_LINES))
    await reply(update, "\n".join(lines))


async def on_client(update: Update, context: Context) -> None:
    """A client's details, invoices and reminder history."""
    code = lang(update, context)
    services = services_of(context)
    name = " ".join(context.args or [])
    if not name.strip():
        await reply(update, t("client.usage", code))
        return
    found = services.find_clients(name)
    if not found:
        await reply(update, t("client.none", code, text=h(name[:100])))
        return
    if len(found) > 1:
        await reply(update, t("client.several", code, names=h(", ".join(c.name for c in found[:10]))))
        return
    file = services.client_file(found[0].id)
    if file is None:
        await reply(update, t("client.none", code, text=h(name[:100])))
        return
    client, invoices, reminders = file
    today = services.today()
    emails, phone = h(client.emails or "—"), h(client.phone or "—")
    lines = [t("client.title", code, name=h(client.name), emails=emails, phone=phone)]
    lines.append("")
    lines.append(t("client.invoices", code))
    for inv in invoices[:MAX_LINES]:
        days = (today - inv.due_date).days
        lines.append(
            t(
                "invoices.line",
                code,
                number=h(inv.number),
                client=h(client.name),
                balance=format_amount(inv.balance, inv.currency),
                due=inv.due_date.strftime("%d/%m/%Y"),
                late=t("card.late", code, days=days) if days > 0 and inv.balance > 0 else "",
                state=t(f"invstate.{inv.state}", code),
            )
        )
    lines.append("")
    lines.append(t("client.history", code))
    if not reminders:
        lines.append(t("client.no_history", code))
    for r in reminders:
        lines.append(
            t(
                "client.history_line",
                code,
                day=r.planned_date.strftime("%d/%m/%Y"),
                step=h(step_label(r.step, code)),
                state=h(r.state),
            )
        )
    await reply(update, "\n".join(lines)[:4000])


async def on_paid(update: Update, context: Context) -> None:
    """/payee NUMERO [montant]: a full or partial payment on one invoice."""
    code = lang(update, context)
    args = context.args or []
    if not args:
        await reply(update, t("paid.usage", code))
        return
    number = args[0]
    amount: Decimal | None = None
    if len(args) > 1:
        try:
            amount = parse_owner_amount(" ".join(args[1:]))
        except InputError as exc:
            await reply(update, text(exc.msg, code))
            return
    outcome = services_of(context).pay_invoice(number, amount, actor=actor(update), lang=code)
    await reply(update, outcome.message)


HANDLERS = [
    CommandHandler(["factures", "invoices"], on_invoices),
    CommandHandler("client", on_client),
    CommandHandler(["payee", "paid"], on_paid),
]
