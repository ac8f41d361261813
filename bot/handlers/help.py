"""/start, /aide (/help), and the answers to unknown commands and unexpected text."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.handlers.common import Context, cancel_nothing, lang, refuse_button, reply, services_of
from bot.i18n import t


async def on_start(update: Update, context: Context) -> None:
    """What the bot does and the first steps."""
    code = lang(update, context)
    await reply(update, t("start", code, digest_time=services_of(context).settings.DIGEST_TIME))


async def on_help(update: Update, context: Context) -> None:
    """Every command and button."""
    await reply(update, t("help", lang(update, context)))


async def on_unknown_command(update: Update, context: Context) -> None:
    """A command the bot does not know."""
    await reply(update, t("unknown_command", lang(update, context)))


async def on_text(update: Update, context: Context) -> None:
    """Text when no question is open."""
    await reply(update, t("unknown_text", lang(update, context)))


HANDLERS = [
    CommandHandler("start", on_start),
    CommandHandler(["aide", "help"], on_help),
]
#: Last resort handlers, wired after every feature.
FALLBACKS = [
    CommandHandler(["annuler", "cancel"], cancel_nothing),
    MessageHandler(filters.COMMAND, on_unknown_command),
    MessageHandler(filters.TEXT, on_text),
]
#: Any button press no feature matched (forged data, another bot's keyboard): answered, never acted on.
BUTTON_FALLBACK = CallbackQueryHandler(refuse_button)
