"""The ✏️ Modifier button: the owner's reply replaces the body (a first line `Objet: …` the subject)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import Context, Question, actor, answer, check_button, lang, services_of, show_card
from services.core import parse_edit

QUESTION = Question(
    kind="edit",
    pattern=r"^r1:edit:",
    prompt="ask.edit",
    state=30,
    parse=lambda typed, _services: parse_edit(typed),
    apply=lambda services, rid, version, edit, who, code: services.edit(rid, version, edit=edit, actor=who, lang=code),
    # Telegram apps split a long text into several messages: close the question so that the parts that follow are
    # not taken, one by one, as the new draft.
    closes_on=frozenset({"edit.too_long"}),
    # The new draft, with Envoyer / Annuler, under the owner's reply.
    new_card=True,
)


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
ENTRY = QUESTION.entry
STATES = QUESTION.states
