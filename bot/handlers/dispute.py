"""The ⚖️ Litige button: a short reason; the invoices leave the ladder until the dispute is closed."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.handlers.common import Context, actor, ask, finish, lang, pending, reply, services_of
from bot.presenter import text
from services.core import InputError, parse_reason

ASK_REASON = 40


async def ask_reason(update: Update, context: Context) -> int:
    """Ask for the reason."""
    return await ask(update, context, "dispute", "ask.dispute", ASK_REASON)


async def on_reason(update: Update, context: Context) -> int:
    """The reason: check it, open the dispute."""
    code = lang(update, context)
    about = pending(context, "dispute")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    rid, version, _, _ = about
    try:
        reason = parse_reason(update.message.text)
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return ASK_REASON
    outcome = services_of(context).dispute(rid, version, reason=reason, actor=actor(update), lang=code)
    return await finish(update, context, outcome)


ENTRY = CallbackQueryHandler(ask_reason, pattern=r"^r1:disp:")
STATES = {ASK_REASON: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_reason)]}
