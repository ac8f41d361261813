"""The morning digest: a header, then one card per reminder (and the uncertain sends); `/digest` on demand; Voir la
suite / Retour.

The JobQueue only wakes the bot, at start and every minute; services decide whether the day's digest is due (see
services.digest), so a bot paused or asleep at the digest time sends it as soon as it runs again, once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.cards import split_message
from bot.handlers.common import (
    Context,
    answer,
    chat_lang,
    check_button,
    lang,
    markup,
    reply,
    services_of,
    show_card,
)
from bot.presenter import Presenter
from services.core import DigestData

log = logging.getLogger(__name__)


#: How often the bot checks whether the day's digest is due.
TICK = timedelta(minutes=1)


async def send_digest(context: Context, services: Presenter, chat_ids: list[int], *, claim: bool) -> bool:
    """Build the digest (the day's one, if due and not yet sent, when `claim`) and send it to each chat; False when
    there is nothing to send."""
    data = services.digest_if_due() if claim else services.digest(claim=False)
    if data is None:
        return False
    await _deliver(context, services, chat_ids, data)
    return True


async def _deliver(context: Context, services: Presenter, chat_ids: list[int], data: DigestData) -> None:
    """The digest's header and cards to each chat; the cards are remembered so later changes edit them."""
    shown: list[tuple[int, str, str]] = []
    for chat_id in chat_ids:
        header, cards = services.render_digest(data, chat_lang(context, chat_id))
        try:
            await context.bot.send_message(chat_id, header)
            for reminder_id, card in cards:
                message = await context.bot.send_message(chat_id, card.text, reply_markup=markup(card))
                shown.append((reminder_id, str(chat_id), str(message.message_id)))
        except TelegramError as exc:
            # One owner who blocked the bot must not stop the digest of the others.
            log.warning("digest to chat %s failed: %s", chat_id, exc)
    services.register_cards(shown)


async def digest_job(context: Context) -> None:
    """The check at start and every minute: the day's digest to every owner once it is due, at most once a day."""
    services = services_of(context)
    if await send_digest(context, services, sorted(services.owner_ids), claim=True):
        log.info("digest sent for %s", services.today())


async def on_digest(update: Update, context: Context) -> None:
    """/digest: today's cards on demand, in this chat."""
    lang(update, context)
    if update.effective_chat is None:
        return
    await send_digest(context, services_of(context), [update.effective_chat.id], claim=False)


async def on_card_nav(update: Update, context: Context) -> None:
    """Voir la suite, Retour (main buttons), the call script (key accounts), the letter PDF (formal notice)."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, _ = parsed
    code = lang(update, context)
    services = services_of(context)
    await answer(update)
    if action == "back":
        await show_card(update, context, rid, services.card(rid, code), everywhere=False)
        return
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


def schedule(application: Application, services: Presenter) -> None:
    """Wake the bot every minute, on the minute, to check whether the day's digest is due.

    Not a daily timer: a timer missed by more than the scheduler's grace (a paused or suspended process, a busy
    loop) would skip the day silently. The digest time is read from the database at each check, so a change in
    /parametres needs no new job.
    """
    del services  # the check reads the business through the services at each tick
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is required"
    for job in queue.get_jobs_by_name("digest"):
        job.schedule_removal()
    now = datetime.now().astimezone()
    first = now.replace(second=1, microsecond=0) + TICK
    # A tick that comes late still runs (no grace limit), and ticks missed while asleep run once, not in a burst.
    queue.run_repeating(digest_job, interval=TICK, first=first, name="digest",
                        job_kwargs={"misfire_grace_time": None, "coalesce": True})  # fmt: skip


def catch_up(application: Application, services: Presenter) -> None:
    """The check at start-up: if the bot was down at the digest time, the day's digest goes out now (once)."""
    del services
    assert application.job_queue is not None
    application.job_queue.run_once(digest_job, when=1, name="digest-catch-up")


HANDLERS = [
    CommandHandler("digest", on_digest),
    CallbackQueryHandler(on_card_nav, pattern=r"^r1:(more|back|call|pdf):"),
]
