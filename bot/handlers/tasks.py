"""The owner's tasks in Telegram: `/taches` lists the questions Relance asks (one card each), the digest shows them
after the reminders, an action that raised some (Payée, a statement or an e-invoice imported) shows them at once;
their `t1:` buttons answer them, checked against the stored task (a second tap hears "Déjà traité.")."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.handlers.common import (
    Context,
    actor,
    answer,
    edit_card,
    headed,
    lang,
    markup,
    refuse_button,
    register_card,
    reply,
    services_of,
)
from bot.i18n import t
from bot.presenter import Presenter
from bot.task_cards import ANSWERS, parse_callback, render_list, render_outcome, render_task
from services import tasks

log = logging.getLogger(__name__)


def last_id(services: Presenter) -> int:
    """The latest task's id before an action: the ones it raises come after it."""
    return tasks.last_id(services.ctx)


async def send_tasks(bot: Bot, services: Presenter, chat_id: int, code: str, *, after_id: int = 0,
                     quiet: bool = True) -> None:  # fmt: skip
    """The open tasks (those raised after `after_id`) as cards in a chat; `quiet`: nothing when there is none."""
    cards, total = await asyncio.to_thread(tasks.open_tasks, services.ctx, after_id=after_id)
    if not total and quiet:
        return
    header, rendered = render_list(cards, total, code)
    try:
        await bot.send_message(chat_id, headed(header))
        for _, card in rendered:
            await bot.send_message(chat_id, headed(card.text), reply_markup=markup(card))
    except TelegramError as exc:
        log.warning("tasks to chat %s failed: %s", chat_id, exc)


async def show_new(update: Update, context: Context, after_id: int) -> None:
    """After an action: the tasks it raised, in this chat."""
    if update.effective_chat is not None:
        code = lang(update, context)
        await send_tasks(context.bot, services_of(context), update.effective_chat.id, code, after_id=after_id)


async def on_tasks(update: Update, context: Context) -> None:
    """/taches: every open question, one card each (or "none")."""
    if update.effective_chat is not None:
        await send_tasks(context.bot, services_of(context), update.effective_chat.id, lang(update, context),
                         quiet=False)  # fmt: skip


async def on_button(update: Update, context: Context) -> None:
    """A task's button: answered first, then the card edited; a draft it made comes as its own card."""
    query = update.callback_query
    parsed = parse_callback(query.data if query else None)
    if parsed is None or query is None:
        await refuse_button(update, context)
        return
    action, task_id, version, invoice_id = parsed
    code, services = lang(update, context), services_of(context)
    if action in ("pick", "back"):
        found = await asyncio.to_thread(tasks.task, services.ctx, task_id)
        if found is None:
            await answer(update, t("cb.unknown", code))
            return
        stale = not found.view.is_open or found.view.version != version
        await answer(update, t("cb.already", code) if stale else None)
        card = render_task(found, code, choose=action == "pick" and not stale)
    else:
        outcome = await asyncio.to_thread(tasks.act, services.ctx, task_id, version, ANSWERS[action],
                                          actor=actor(update), arg=invoice_id)  # fmt: skip
        said, shown = render_outcome(outcome, code)
        if outcome.status in ("invalid", "failed"):
            await answer(update)
            await reply(update, said)
        else:
            await answer(update, said if len(said) <= 190 else None)
        if outcome.reminder_id is not None:
            draft = services.card(outcome.reminder_id, code)
            if draft is not None:
                sent = await reply(update, draft.text, reply_markup=markup(draft))
                if sent is not None:
                    register_card(services, outcome.reminder_id, sent)
        if shown is None:
            return
        card = shown
    if query.message is not None:
        await edit_card(context, query.message.chat.id, query.message.message_id, card)


HANDLERS = [
    CommandHandler(["taches", "tasks"], on_tasks),
    CallbackQueryHandler(on_button, pattern=r"^t1:"),
]
