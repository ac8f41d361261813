"""The 🤝 Promesse button: the promised date; reminders pause until then, then a card says if it was not kept."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.handlers.common import Context, actor, ask, finish, lang, pending, reply, services_of
from bot.presenter import text
from services.core import InputError, parse_owner_date

ASK_DATE = 50


async def ask_date(update: Update, context: Context) -> int:
    """Ask for the promised date."""
    return await ask(update, context, "promise", "ask.promise", ASK_DATE)


async def on_date(update: Update, context: Context) -> int:
    """The date: check it (today allowed: "paying today"), record the promise."""
    code = lang(update, context)
    about = pending(context, "promise")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    rid, version, _, _ = about
    services = services_of(context)
    try:
        until = parse_owner_date(update.message.text, services.today(), allow_today=True)
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return ASK_DATE
    outcome = services.promise(rid, version, until=until, actor=actor(update), lang=code)
    return await finish(update, context, outcome)


ENTRY = CallbackQueryHandler(ask_date, pattern=r"^r1:prom:")
STATES = {ASK_DATE: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_date)]}
