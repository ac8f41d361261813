"""The ✏️ Modifier button: the owner's reply replaces the body (a first line `Objet: …` the subject)."""

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
    forget,
    lang,
    pending,
    reply,
    services_of,
    show_card,
)
from bot.presenter import text
from services.core import InputError, parse_edit

ASK_TEXT = 30


async def ask_text(update: Update, context: Context) -> int:
    """Ask for the new text."""
    return await ask(update, context, "edit", "ask.edit", ASK_TEXT)


async def on_text(update: Update, context: Context) -> int:
    """The new text: check it, save it, show the new draft with Envoyer / Annuler."""
    code = lang(update, context)
    about = pending(context, "edit")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    rid, version, _, _ = about
    try:
        edit = parse_edit(update.message.text)
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        if exc.key == "edit.too_long":
            # Telegram apps split a long text into several messages: close the question so that the parts that
            # follow are not taken, one by one, as the new draft.
            forget(context)
            return ConversationHandler.END
        return ASK_TEXT
    outcome = services_of(context).edit(rid, version, edit=edit, actor=actor(update), lang=code)
    return await finish(update, context, outcome, new_card=outcome.ok)


async def on_undo(update: Update, context: Context) -> None:
    """Annuler after an edit: the drafted text comes back."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    _, rid, version = parsed
    code = lang(update, context)
    outcome = services_of(context).undo_edit(rid, version, actor=actor(update), lang=code)
    await answer(update, outcome.message)
    await show_card(update, context, rid, outcome.card)


HANDLERS = [CallbackQueryHandler(on_undo, pattern=r"^r1:undo:")]
ENTRY = CallbackQueryHandler(ask_text, pattern=r"^r1:edit:")
STATES = {ASK_TEXT: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_text)]}
