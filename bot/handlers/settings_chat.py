"""/parametres (/settings): the digest time and pausing everything."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.handlers.common import Context, actor, answer, lang, reply, services_of
from bot.i18n import t
from bot.presenter import text
from services.core import InputError

_PAUSE = "s1:pause"
_RESUME = "s1:resume"


def _panel(context: Context, code: str) -> tuple[str, InlineKeyboardMarkup]:
    business = services_of(context).business()
    state = t("settings.paused" if business.paused else "settings.running", code)
    text = t("settings.title", code, digest_time=business.digest_time, state=state)
    button = (
        InlineKeyboardButton(t("settings.resume", code), callback_data=_RESUME)
        if business.paused
        else InlineKeyboardButton(t("settings.pause", code), callback_data=_PAUSE)
    )
    return text, InlineKeyboardMarkup([[button]])


async def on_settings(update: Update, context: Context) -> None:
    """Show the settings; `/parametres heure 07:45` changes the digest time."""
    code = lang(update, context)
    args = context.args or []
    services = services_of(context)
    if args and args[0].lower() in ("heure", "time") and len(args) >= 2:
        try:
            value = services.set_digest_time(args[1], actor=actor(update))
        except InputError as exc:
            await reply(update, text(exc.msg, code))
            return
        # No job to move: the runtime's digest check reads the digest time from the database every minute.
        await reply(update, t("settings.time_set", code, digest_time=value))
        return
    panel, keyboard = _panel(context, code)
    await reply(update, panel, reply_markup=keyboard)


async def on_toggle(update: Update, context: Context) -> None:
    """Pause or resume everything."""
    code = lang(update, context)
    query = update.callback_query
    assert query is not None
    paused = query.data == _PAUSE
    services_of(context).set_paused(paused, actor=actor(update))
    await answer(update, t("settings.now_paused" if paused else "settings.now_running", code))
    text, keyboard = _panel(context, code)
    await query.edit_message_text(text, reply_markup=keyboard)


HANDLERS = [
    CommandHandler(["parametres", "settings"], on_settings),
    CallbackQueryHandler(on_toggle, pattern=r"^s1:(pause|resume)$"),
]
