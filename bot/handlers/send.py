"""The ✅ Envoyer button: approve the reminder and deliver its e-mail, then show the card's new state."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import Context, actor, answer, button, check_button, lang, services_of, show_card
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
    if outcome.status == "failed" and outcome.card is None and update.effective_chat is not None:
        await update.effective_chat.send_message(outcome.message)
        return
    if outcome.status == "failed" and update.effective_chat is not None:
        await update.effective_chat.send_message(outcome.message)
    await show_card(update, context, rid, outcome.card)


async def on_release(update: Update, context: Context) -> None:
    """Envoyer maintenant (outside the sending window) or Renvoyer (outcome unknown): checked in the outbox."""
    parsed = button(update)
    code = lang(update, context)
    if parsed is None:
        await answer(update, t("cb.unknown", code))
        return
    action, rid, version = parsed
    # Checked first (the release only wakes the sender, it never waits for SMTP): a stale or forged button hears
    # "déjà traité" or "non reconnu", never "envoi en cours".
    outcome = await services_of(context).release(
        rid, version, actor=actor(update), lang=code, resend=action == "resend"
    )
    await answer(update, outcome.message or None)
    await show_card(update, context, rid, outcome.card)


async def on_confirm(update: Update, context: Context) -> None:
    """✅ Bien parti (outcome unknown): the owner checked it left; the service checks the card is still current."""
    parsed = button(update)
    code = lang(update, context)
    if parsed is None:
        await answer(update, t("cb.unknown", code))
        return
    _, rid, version = parsed
    outcome = services_of(context).confirm_sent(rid, version, actor=actor(update), lang=code)
    await answer(update, outcome.message or None)
    await show_card(update, context, rid, outcome.card)


HANDLERS = [
    CallbackQueryHandler(on_send, pattern=r"^r1:send:"),
    CallbackQueryHandler(on_release, pattern=r"^r1:(now|resend):"),
    CallbackQueryHandler(on_confirm, pattern=r"^r1:ok:"),
]
