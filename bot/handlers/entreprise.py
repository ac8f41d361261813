"""/entreprise (/business): an owner of several businesses picks the one their commands and buttons are about; the
choice is remembered (bot/tenancy.py, table owner_choice). A `b1:<business id>` button naming a business the owner
does not own changes nothing."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.handlers.common import HEAD, TENANCY_KEY, Context, answer, lang, reply, services_of
from bot.i18n import t


def _name(context: Context) -> str:
    tenancy = context.bot_data.get(TENANCY_KEY)
    services = services_of(context)
    if tenancy is not None:
        return html.escape(tenancy.names.get(services.business_id, ""), quote=False)
    return html.escape(services.core.business().name, quote=False)


async def on_business(update: Update, context: Context) -> None:
    """/entreprise: the businesses the owner runs as buttons (✅ on the current one), or the only one's name."""
    code = lang(update, context)
    tenancy = context.bot_data.get(TENANCY_KEY)
    user = update.effective_user
    owned = tenancy.businesses_of(user.id) if tenancy is not None and user is not None else []
    if len(owned) < 2 or tenancy is None or user is None:
        await reply(update, t("biz.only", code, name=_name(context)))
        return
    current = tenancy.current(user.id)
    rows = [
        [InlineKeyboardButton(("✅ " if bid == current else "") + tenancy.names[bid], callback_data=f"b1:{bid}")]
        for bid in owned
    ]
    HEAD.set(None)  # the question names the current business itself
    await reply(update, t("biz.pick", code, name=_name(context)), reply_markup=InlineKeyboardMarkup(rows))


async def on_pick(update: Update, context: Context) -> None:
    """A business button: remembered when the owner owns it, else refused (nothing changes)."""
    code = lang(update, context)
    query = update.callback_query
    tenancy = context.bot_data.get(TENANCY_KEY)
    user = update.effective_user
    data = query.data if query is not None else None
    raw = data.removeprefix("b1:") if isinstance(data, str) else ""
    if tenancy is None or user is None or not raw.isdigit() or not tenancy.choose(user.id, int(raw)):
        await answer(update, t("cb.unknown", code))
        return
    name = html.escape(tenancy.names[int(raw)], quote=False)
    await answer(update, t("cb.done", code))
    HEAD.set(tenancy.head(user.id))
    assert query is not None
    await query.edit_message_text(t("biz.chosen", code, name=name))


HANDLERS = [
    CommandHandler(["entreprise", "business"], on_business),
    CallbackQueryHandler(on_pick, pattern=r"^b1:"),
]
