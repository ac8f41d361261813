"""The ✅ Envoyer button: approve the reminder and deliver its e-mail, then show the card's new state."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import (
    Context,
    actor,
    answer,
    button,
    check_button,
    lang,
    refuse_button,
    services_of,
    show_card,
)
from bot.i18n import t


async def on_send(update: Update, context: Context) -> None:
    """Answer at once, deliver (the version check in storage makes a double tap harmless), edit the card."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    _, rid, version = parsed
    code = lang(update, context)
    await answer(update, t("cb.sending", code))
    outcome = await services_of(context).send(rid, version, actor=actor(update), lang=code)
    if outcome.status == "failed" and update.effective_chat is not None:
        await update.effective_chat.send_message(outcome.message)
    await show_card(update, context, rid, outcome.card)


async def on_outbox(update: Update, context: Context) -> None:
    """Envoyer maintenant (outside the sending window), Renvoyer or ✅ Bien parti (outcome unknown).

    Checked by the service, not here: a release only wakes the sender (it never waits for SMTP), so a stale or
    forged button hears "déjà traité" or "non reconnu", never "envoi en cours".
    """
    parsed = button(update)
    if parsed is None:
        await refuse_button(update, context)
        return
    action, rid, version = parsed
    code, who, services = lang(update, context), actor(update), services_of(context)
    if action == "ok":
        outcome = services.confirm_sent(rid, version, actor=who, lang=code)
    else:
        outcome = await services.release(rid, version, actor=who, lang=code, resend=action == "resend")
    await answer(update, outcome.message or None)
    await show_card(update, context, rid, outcome.card)


HANDLERS = [
    CallbackQueryHandler(on_send, pattern=r"^r1:send:"),
    CallbackQueryHandler(on_outbox, pattern=r"^r1:(now|resend|ok):"),
]
