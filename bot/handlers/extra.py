"""Drafts outside the ladder (thanks, penalty claim, plan schedule, plan reminder) in Telegram: the 🗑 Ne pas envoyer
button (Envoyer and Modifier are the usual card buttons), and the thanks cards shown after a bank statement."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import (
    Context,
    actor,
    answer,
    check_button,
    lang,
    markup,
    register_card,
    reply,
    services_of,
    show_card,
)


async def on_drop(update: Update, context: Context) -> None:
    """🗑 Ne pas envoyer: the draft is cancelled (its version checked), every card of it shows so."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    _, rid, version = parsed
    code = lang(update, context)
    outcome = await asyncio.to_thread(services_of(context).drop, rid, version, actor=actor(update), lang=code)
    await answer(update, outcome.message or None)
    await show_card(update, context, rid, outcome.card)


async def show_drafts(update: Update, context: Context, reminder_ids: Sequence[int]) -> None:
    """One card per draft (the thanks proposed by a statement import), each registered so later taps update it."""
    code, services = lang(update, context), services_of(context)
    for rid in reminder_ids:
        card = await asyncio.to_thread(services.card, rid, code)
        if card is None:
            continue
        message = await reply(update, card.text, reply_markup=markup(card))
        if message is not None:
            register_card(services, rid, message)


HANDLERS = [CallbackQueryHandler(on_drop, pattern=r"^r1:drop:")]
