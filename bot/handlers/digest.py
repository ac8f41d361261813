"""The morning digest: a header, then one card per reminder; `/digest` on demand; Voir la suite / Retour."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

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

log = logging.getLogger(__name__)


async def send_digest(context: Context, services: Presenter, chat_ids: list[int], *, claim: bool) -> bool:
    """Build the digest (once a day when `claim`) and send it to each chat; False when already sent today."""
    data = services.digest(claim=claim)
    if data is None:
        return False
    shown: list[tuple[int, int, int]] = []
    for chat_id in chat_ids:
        header, cards = services.render_digest(data, chat_lang(context, chat_id))
        try:
            await context.bot.send_message(chat_id, header)
            for reminder_id, card in cards:
                message = await context.bot.send_message(chat_id, card.text, reply_markup=markup(card))
                shown.append((reminder_id, chat_id, message.message_id))
        except TelegramError as exc:
            # One owner who blocked the bot must not stop the digest of the others.
            log.warning("digest to chat %s failed: %s", chat_id, exc)
    services.register_cards(shown)
    return True


async def digest_job(context: Context) -> None:
    """The daily job (and the catch-up at start-up): today's digest to every owner, at most once a day."""
    services = services_of(context)
    sent = await send_digest(context, services, sorted(services.owner_ids), claim=True)
    log.info("digest job: %s", "sent" if sent else "already sent today")


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
    """The daily digest at the business's digest time, in its time zone (the JobQueue wakes the bot)."""
    queue = application.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is required"
    for job in queue.get_jobs_by_name("digest"):
        job.schedule_removal()
    at = services.settings.digest_time.replace(tzinfo=services.tz)
    queue.run_daily(digest_job, time=at, name="digest")


def catch_up(application: Application, services: Presenter) -> None:
    """If the bot was down at digest time, send today's digest now (once: DigestRun)."""
    if services.digest_due_at_start(datetime.now(services.tz)):
        assert application.job_queue is not None
        application.job_queue.run_once(digest_job, when=1, name="digest-catch-up")


HANDLERS = [
    CommandHandler("digest", on_digest),
    CallbackQueryHandler(on_card_nav, pattern=r"^r1:(more|back|call|pdf):"),
]
