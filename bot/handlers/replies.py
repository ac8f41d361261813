"""Clients' e-mails in Telegram: a reply or a bounce reaches every owner as a card as soon as the mailbox watcher
keeps it (`notify`), again in the morning digest and on demand (`/reponses`). The card's `m1:` buttons act through
services.reply_actions, checked against the stored message (a second tap hears "Déjà traité."); 🤝 Promesse (another
date), ⚖️ Litige (another reason) and ↩️ Répondre ask one question in the owner's chat. `/client NOM email
nouvelle@adresse.fr` gives a client whose e-mail bounced a new address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot.cards import h
from bot.handlers.common import (
    PENDING_KEY,
    Context,
    actor,
    answer,
    edit_card,
    forget,
    headed,
    lang,
    markup,
    refuse_button,
    register_card,
    reply,
    services_of,
)
from bot.i18n import t
from bot.presenter import Presenter, text
from bot.reply_cards import ASKS, parse_callback, render_list, render_reply
from services import replies, reply_actions
from services.core import InputError, parse_owner_date
from services.mailbox import Ingested, MailboxProblem
from services.replies import ReplyView
from services.reply_actions import ReplyOutcome

log = logging.getLogger(__name__)

#: The conversation state waiting for a typed date, reason or answer (unique across bot/app.py's questions).
STATE = 140
_PROMPTS = {"promt": "replies.ask_promise", "dispt": "replies.ask_dispute", "ans": "replies.ask_answer"}
#: Callback answers are shown in a small toast: longer ones go in a message.
_TOAST = 190


async def send_replies(bot: Bot, services: Presenter, chat_id: int, code: str, *, quiet: bool = True) -> None:
    """The open replies and bounces as cards in a chat; `quiet`: nothing at all when there is none."""
    views = await asyncio.to_thread(lambda: replies.open_replies(services.ctx) + replies.open_bounces(services.ctx))
    if not views and quiet:
        return
    try:
        await bot.send_message(chat_id, headed(render_list(views, code)))
        for view in views:
            card = render_reply(view, code, services.tz)
            await bot.send_message(chat_id, headed(card.text), reply_markup=markup(card))
    except TelegramError as exc:
        log.warning("replies to chat %s failed: %s", chat_id, exc)


async def notify(bot: Bot, services: Presenter, chat_ids: Iterable[int], langs: Mapping[int, str],
                 ingested: Ingested) -> None:  # fmt: skip
    """A reply or a bounce just kept by the mailbox watcher: its card to every owner at once (an automatic answer
    makes no card)."""
    if ingested.status != "stored" or ingested.received_id is None or ingested.kind == "auto_reply":
        return
    view = await asyncio.to_thread(replies.reply, services.ctx, ingested.received_id)
    if view is None or view.state != "open":
        return
    for chat_id in chat_ids:
        card = render_reply(view, langs.get(chat_id, "fr"), services.tz)
        try:
            await bot.send_message(chat_id, card.text, reply_markup=markup(card))
        except TelegramError as exc:
            log.warning("reply card to chat %s failed: %s", chat_id, exc)


async def notify_problem(bot: Bot, chat_ids: Iterable[int], langs: Mapping[int, str], problem: MailboxProblem) -> None:
    """The mailbox refused Relance's login: one message to every owner (the watcher reports it once, not at each
    retry); the server's words are not repeated (they might echo the user name)."""
    if problem.kind != "auth":
        return
    for chat_id in chat_ids:
        try:
            await bot.send_message(chat_id, t("replies.mailbox_auth", langs.get(chat_id, "fr")))
        except TelegramError as exc:
            log.warning("mailbox problem not told to chat %s: %s", chat_id, exc)


async def on_replies(update: Update, context: Context) -> None:
    """/reponses: every reply and bounce waiting for the owner, one card each (or "none")."""
    if update.effective_chat is not None:
        await send_replies(context.bot, services_of(context), update.effective_chat.id, lang(update, context),
                           quiet=False)  # fmt: skip


async def _show(update: Update, context: Context, view: ReplyView | None, code: str, *, menu: str = "main",
                note: str = "") -> None:  # fmt: skip
    query = update.callback_query
    if view is None or query is None or query.message is None:
        return
    card = render_reply(view, code, services_of(context).tz, menu=menu, note=note)
    await edit_card(context, query.message.chat.id, query.message.message_id, card)


def _stale(view: ReplyView | None, version: int) -> bool:
    return view is None or view.state != "open" or view.version != version


async def _done(update: Update, context: Context, outcome: ReplyOutcome, code: str, *, chat: tuple[int, int] | None
                ) -> None:  # fmt: skip
    """Show what a tap or an answer did: the card (closed, or as it is now), the message, a draft it made."""
    services = services_of(context)
    said = text(outcome.message, code) if outcome.message is not None else t("cb.done", code)
    if outcome.view is not None and chat is not None and outcome.status in ("done", "stale"):
        card = render_reply(outcome.view, code, services.tz, note=said if outcome.ok else "")
        await edit_card(context, chat[0], chat[1], card)
    if update.callback_query is not None and outcome.status in ("done", "stale") and len(said) <= _TOAST:
        await answer(update, said)
    else:
        await answer(update)
        await reply(update, said)
    for rid in outcome.reminder_ids:
        draft = services.card(rid, code)
        if draft is not None:
            sent = await reply(update, draft.text, reply_markup=markup(draft))
            if sent is not None:
                register_card(services, rid, sent)


def _here(update: Update) -> tuple[int, int] | None:
    query = update.callback_query
    if query is None or query.message is None:
        return None
    return query.message.chat.id, query.message.message_id


async def on_button(update: Update, context: Context) -> int:
    """A reply card's button: a menu (the proposed date or reason), an action, or a question (returns its state)."""
    query = update.callback_query
    parsed = parse_callback(query.data if query else None)
    if parsed is None or query is None:
        await refuse_button(update, context)
        return ConversationHandler.END
    action, reply_id, version = parsed
    code, services = lang(update, context), services_of(context)
    view = await asyncio.to_thread(replies.reply, services.ctx, reply_id)
    if view is None:
        await answer(update, t("cb.unknown", code))
        return ConversationHandler.END
    if _stale(view, version):
        await answer(update, t("cb.already", code))
        await _show(update, context, view, code)
        return ConversationHandler.END
    if action == "proma" and view.promise_date is None:
        action = "promt"  # nothing to accept: ask for the date
    if action in ("prom", "disp", "back"):
        await answer(update, t("cb.choose", code) if action != "back" else None)
        await _show(update, context, view, code, menu=action if action != "back" else "main")
        return ConversationHandler.END
    if action in ASKS:
        await answer(update)
        here = _here(update)
        if context.user_data is not None and here is not None:
            context.user_data[PENDING_KEY] = ("m1", action, reply_id, version, here[0], here[1])
        await reply(update, t(_PROMPTS[action], code))
        return STATE
    who, ctx = actor(update), services.ctx
    if action == "pay":
        outcome = await asyncio.to_thread(reply_actions.paid, ctx, reply_id, version, actor=who)
    elif action == "proma":
        assert view.promise_date is not None
        outcome = await asyncio.to_thread(reply_actions.promise, ctx, reply_id, version, until=view.promise_date,
                                          actor=who)  # fmt: skip
    elif action == "dispa":
        outcome = await asyncio.to_thread(reply_actions.dispute, ctx, reply_id, version, reason=view.dispute_reason,
                                          actor=who)  # fmt: skip
    else:  # none
        outcome = await asyncio.to_thread(reply_actions.nothing, ctx, reply_id, version, actor=who)
    await _done(update, context, outcome, code, chat=_here(update))
    return ConversationHandler.END


def _pending(context: Context) -> tuple[str, int, int, int, int] | None:
    data = context.user_data.get(PENDING_KEY) if context.user_data is not None else None
    if not data or data[0] != "m1":
        return None
    return data[1], data[2], data[3], data[4], data[5]


async def on_answer(update: Update, context: Context) -> int:
    """The owner's typed date, reason or answer: checked (a bad one is explained, the question stays open), then
    the action on the version the button showed."""
    about = _pending(context)
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    action, reply_id, version, chat_id, message_id = about
    code, services = lang(update, context), services_of(context)
    typed, who = update.message.text, actor(update)
    if action == "promt":
        try:
            until = parse_owner_date(typed, services.today(), allow_today=True)
        except InputError as exc:
            await reply(update, text(exc.msg, code))
            return STATE
        outcome = await asyncio.to_thread(reply_actions.promise, services.ctx, reply_id, version, until=until,
                                          actor=who)  # fmt: skip
    elif action == "dispt":
        outcome = await asyncio.to_thread(reply_actions.dispute, services.ctx, reply_id, version, reason=typed,
                                          actor=who)  # fmt: skip
    else:
        outcome = await asyncio.to_thread(reply_actions.answer, services.ctx, reply_id, version, text=typed, actor=who)
    if outcome.status == "invalid":
        await reply(update, text(outcome.message, code))
        return STATE
    forget(context)
    await _done(update, context, outcome, code, chat=(chat_id, message_id))
    return ConversationHandler.END


async def set_email(update: Update, context: Context, name: str, address: str) -> None:
    """`/client NOM email nouvelle@adresse.fr`: the client's new address; the bounce cards closed, and the reminder
    that bounced shown again, ready to be sent to the new address."""
    code, services = lang(update, context), services_of(context)
    found = await asyncio.to_thread(services.find_clients, name)
    if not found:
        await reply(update, t("client.none", code, text=h(name[:100])))
        return
    if len(found) > 1:
        await reply(update, t("client.several", code, names=h(", ".join(c.name for c in found[:10]))))
        return
    outcome = await asyncio.to_thread(
        reply_actions.new_address, services.ctx, found[0].id, address, actor=actor(update)
    )
    await reply(update, text(outcome.message, code))
    if not outcome.ok:
        return
    for rid in outcome.reminder_ids:
        card = services.card(rid, code)
        if card is None or not card.buttons:
            continue
        await reply(update, t("replies.send_again", code))
        sent = await reply(update, card.text, reply_markup=markup(card))
        if sent is not None:
            register_card(services, rid, sent)


def email_args(args: list[str]) -> tuple[str, str] | None:
    """(client name, address) of `/client NOM email adresse`, or None for any other use of /client."""
    if len(args) >= 3 and args[-2].lower() in ("email", "e-mail", "courriel", "mail"):
        return " ".join(args[:-2]), args[-1]
    return None


#: The conversation entry point (the buttons) and its state (the typed answer), wired in bot/app.py.
ENTRY = CallbackQueryHandler(on_button, pattern=r"^m1:")
STATES: dict[object, list[Any]] = {STATE: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_answer)]}
HANDLERS = [CommandHandler(["reponses", "replies"], on_replies)]
