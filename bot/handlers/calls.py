"""A step to be done by phone (issue 11 §2): 📞 Appel fait asks for the outcome in one line (then the card offers
Promesse / Litige / Payée through their usual questions), 📵 Pas de réponse logs the attempt and keeps the card,
✉️ Envoyer plutôt l'e-mail turns it into the e-mail card of the same step. ⏰ Reporter is the usual snooze menu."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import Context, Question, actor, answer, check_button, lang, services_of, show_card
from services.calls import parse_call_note

QUESTION = Question(
    kind="call",
    pattern=r"^r1:cdone:",
    prompt="ask.call_outcome",
    state=130,  # unique across the questions of bot/app.py (letters use 110-115)
    parse=lambda typed, _services: parse_call_note(typed),
    apply=lambda services, rid, version, note, who, code: services.call_done(
        rid, version, note=note, actor=who, lang=code
    ),
)

ENTRY = QUESTION.entry
STATES = QUESTION.states


async def on_call_button(update: Update, context: Context) -> None:
    """Pas de réponse / Envoyer plutôt l'e-mail: checked against the card's version, done, the card redrawn."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, version = parsed
    code, who, services = lang(update, context), actor(update), services_of(context)
    if action == "cnone":
        outcome = await asyncio.to_thread(services.call_no_answer, rid, version, actor=who, lang=code)
    else:  # "cmail"
        outcome = await asyncio.to_thread(services.call_email_instead, rid, version, actor=who, lang=code)
    await answer(update, outcome.message or None)
    await show_card(update, context, rid, outcome.card)


HANDLERS = [CallbackQueryHandler(on_call_button, pattern=r"^r1:(cnone|cmail):")]
