"""/factures [client] (/invoices), /client NOM and /payee NUMERO [montant] (/paid)."""

from __future__ import annotations

from decimal import Decimal

from telegram import Update
from telegram.ext import CommandHandler

from bot.cards import h
from bot.handlers import replies, tasks
from bot.handlers.common import Context, actor, lang, reply, services_of
from bot.i18n import t
from bot.presenter import text
from bot.reports import render_client, render_invoices
from services import plans
from services.core import InputError, parse_owner_amount


async def on_invoices(update: Update, context: Context) -> None:
    """The open invoices, oldest due first, optionally those of clients matching the argument."""
    code = lang(update, context)
    services = services_of(context)
    text_filter = " ".join(context.args or [])
    rows = services.open_invoices(text_filter)
    shown = plans.plans_by_invoice(services.core.ctx, [inv.id for inv, _ in rows if inv.state == "payment_plan"])
    await reply(update, render_invoices(rows, services.today(), text_filter, code, plans=shown))


async def on_client(update: Update, context: Context) -> None:
    """A client's details, invoices and reminder history."""
    code = lang(update, context)
    services = services_of(context)
    name = " ".join(context.args or [])
    if not name.strip():
        await reply(update, t("client.usage", code))
        return
    new_email = replies.email_args(list(context.args or []))
    if new_email is not None:  # `/client NOM email nouvelle@adresse.fr` (replies by e-mail: after a bounce)
        await replies.set_email(update, context, *new_email)
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
    letters = services.letters_awaiting(client.id)
    last_call = services.last_call(client.id)  # phone calls: the last one, when the client was ever called
    running = plans.active_plans(services.core.ctx, client.id)  # payment plans: paid so far, next instalment
    await reply(
        update,
        render_client(
            client, invoices, reminders, services.today(), code, letters=letters, last_call=last_call, plans=running
        ),
    )


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
    before = tasks.last_id(services_of(context))
    outcome = services_of(context).pay_invoice(number, amount, actor=actor(update), lang=code)
    await reply(update, outcome.message)
    await tasks.show_new(update, context, before)  # paid late: claim the penalties?


HANDLERS = [
    CommandHandler(["factures", "invoices"], on_invoices),
    CommandHandler("client", on_client),
    CommandHandler(["payee", "paid"], on_paid),
]
