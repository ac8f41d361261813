"""The morning digest: a header, then one card per reminder (and the uncertain sends); `/digest` on demand; Voir la
suite / Retour.

The runtime's scheduler (bot/runtime.py) checks at start and every minute whether the day's digest is due and hands
it to the Telegram adapter, which sends it with `deliver`; `/digest` shows today's cards without claiming the day's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.cards import split_message
from bot.handlers import tasks
from bot.handlers.common import (
    HEAD,
    LANGS_KEY,
    Context,
    answer,
    answer_reading,
    check_button,
    headed,
    lang,
    markup,
    reply,
    services_of,
    show_card,
)
from bot.presenter import Presenter
from bot.ratelimit import bulk
from services.core import DigestData

log = logging.getLogger(__name__)


async def deliver(
    bot: Bot,
    services: Presenter,
    chat_ids: list[int],
    data: DigestData,
    langs: Mapping[int, str],
    heads: Mapping[int, str | None] | None = None,
) -> None:
    """The digest's header and cards to each chat (in its owner's language, French by default); each card is
    remembered as soon as the chat took it, so later changes edit it and a digest taken up after a crash does not
    show it again (`data.shown`). `heads`: the business's head line per chat (owners of several)."""

    async def to_chat(chat_id: int) -> None:
        header, cards = services.render_digest(data, langs.get(chat_id, "fr"))
        head = (heads or {}).get(chat_id)
        try:
            await bot.send_message(chat_id, headed(header, head) if head else header)
            for reminder_id, card in cards:
                if (reminder_id, str(chat_id)) in data.shown:
                    continue
                text = headed(card.text, head) if head else card.text
                message = await bot.send_message(chat_id, text, reply_markup=markup(card))
                shown = [(reminder_id, str(chat_id), str(message.message_id))]
                await asyncio.to_thread(services.register_cards, shown)
        except TelegramError as exc:
            # One owner who blocked the bot must not stop the digest of the others.
            log.warning("digest to chat %s failed: %s", chat_id, exc)

    async def follow_up(chat_id: int) -> None:
        # The owner's tasks (questions Relance asks) after the reminders, then the clients' replies and bounces
        # still waiting for the owner (replies by e-mail). Each chat runs in its own task: HEAD is set for it only.
        from bot.handlers import replies

        HEAD.set((heads or {}).get(chat_id))
        await tasks.send_tasks(bot, services, chat_id, langs.get(chat_id, "fr"))
        await replies.send_replies(bot, services, chat_id, langs.get(chat_id, "fr"))

    # Every chat at once, each in order: the rate limiter (bot/ratelimit.py) paces them, one message a second per
    # chat and ~30 a second overall, and as bulk they let the owners' taps go first.
    with bulk():
        await asyncio.gather(*(to_chat(chat_id) for chat_id in chat_ids))
        await asyncio.gather(*(asyncio.ensure_future(follow_up(chat_id)) for chat_id in chat_ids))


async def on_digest(update: Update, context: Context) -> None:
    """/digest: today's cards on demand, in this chat (the day's scheduled digest is not claimed)."""
    lang(update, context)
    if update.effective_chat is None:
        return
    services = services_of(context)
    data = services.digest(claim=False)
    if data is not None:
        await deliver(context.bot, services, [update.effective_chat.id], data, context.bot_data.get(LANGS_KEY, {}))


async def on_card_nav(update: Update, context: Context) -> None:
    """Voir la suite, Retour (main buttons), the call script (key accounts), the letter PDF (formal notice)."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, _ = parsed
    code = lang(update, context)
    services = services_of(context)
    if action == "back":
        card = await answer_reading(update, None, lambda: services.card(rid, code))
        await show_card(update, context, rid, card, everywhere=False)
        return
    await answer(update)
    if action == "call":
        script = await asyncio.to_thread(services.call_script, rid)
        for part in split_message(script or ""):
            if part.strip():
                await reply(update, part, parse_mode=None)
        return
    if action == "pdf":
        letter = await asyncio.to_thread(services.letter_pdf, rid)
        if letter is not None and update.effective_chat is not None:
            await update.effective_chat.send_document(letter[1], filename=letter[0])
        return
    full = services.full_text(rid)
    if full is not None:
        for part in split_message(full):
            # Plain text: the draft is the client's message, not HTML for Telegram.
            await reply(update, part, parse_mode=None)


HANDLERS = [
    CommandHandler("digest", on_digest),
    CallbackQueryHandler(on_card_nav, pattern=r"^r1:(more|back|call|pdf):"),
]
