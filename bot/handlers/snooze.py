"""The ⏰ Reporter button: +1 j, +3 j, +7 j or a typed date; the reminder comes back that day."""

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
from services.core import InputError, parse_owner_date

ASK_DATE = 10
_DAYS = {"snz1": 1, "snz3": 3, "snz7": 7}


async def on_snooze(update: Update, context: Context) -> None:
    """Show the snooze choices, or apply +N days."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, version = parsed
    code = lang(update, context)
    services = services_of(context)
    if action == "snz":
        await answer(update, t("cb.choose", code))
        await show_card(update, context, rid, services.card(rid, code, keyboard="snooze"), everywhere=False)
        return
    outcome = services.snooze(rid, version, actor=actor(update), lang=code, days=_DAYS[action])
    await answer(update, outcome.message)
    await show_card(update, context, rid, outcome.card)


async def ask_date(update: Update, context: Context) -> int:
    """`Autre date`: ask for the date."""
    return await ask(update, context, "snooze", "ask.snooze_date", ASK_DATE)


async def on_date(update: Update, context: Context) -> int:
    """The typed date: check it, snooze until then."""
    code = lang(update, context)
    about = pending(context, "snooze")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    rid, version, _, _ = about
    services = services_of(context)
    try:
        until = parse_owner_date(update.message.text, services.today())
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return ASK_DATE
    outcome = services.snooze(rid, version, actor=actor(update), lang=code, until=until)
    return await finish(update, context, outcome)


HANDLERS = [CallbackQueryHandler(on_snooze, pattern=r"^r1:snz[137]?:")]
ENTRY = CallbackQueryHandler(ask_date, pattern=r"^r1:snzd:")
STATES = {ASK_DATE: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_date)]}
