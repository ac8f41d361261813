"""The 💶 Payée button: paid in full, or a typed partial amount (oldest invoice first)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.handlers.common import (
    Context,
    actor,
    answer,
    ask,
    check_button,
    finish,
    lang,
    pending,
    reply,
    services_of,
    show_card,
)
from bot.i18n import t
from bot.presenter import text
from services.core import InputError, parse_owner_amount

ASK_AMOUNT = 20


async def on_paid(update: Update, context: Context) -> None:
    """Show the payment choices, or record a full payment."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, version = parsed
    code = lang(update, context)
    services = services_of(context)
    if action == "pay":
        await answer(update, t("cb.choose", code))
        await show_card(update, context, rid, services.card(rid, code, keyboard="paid"), everywhere=False)
        return
    outcome = services.pay(rid, version, actor=actor(update), lang=code)
    await answer(update, outcome.message if len(outcome.message) <= 190 else t("cb.paid", code))
    await show_card(update, context, rid, outcome.card)


async def ask_amount(update: Update, context: Context) -> int:
    """`Paiement partiel`: ask for the amount."""
    return await ask(update, context, "amount", "ask.amount", ASK_AMOUNT)


async def on_amount(update: Update, context: Context) -> int:
    """The typed amount: check it, record it."""
    code = lang(update, context)
    about = pending(context, "amount")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    rid, version, _, _ = about
    try:
        amount = parse_owner_amount(update.message.text)
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return ASK_AMOUNT
    outcome = services_of(context).pay(rid, version, actor=actor(update), lang=code, amount=amount)
    if outcome.status == "invalid":
        await reply(update, outcome.message)
        return ASK_AMOUNT
    return await finish(update, context, outcome)


HANDLERS = [CallbackQueryHandler(on_paid, pattern=r"^r1:payf?:")]
ENTRY = CallbackQueryHandler(ask_amount, pattern=r"^r1:payp:")
STATES = {ASK_AMOUNT: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_amount)]}
