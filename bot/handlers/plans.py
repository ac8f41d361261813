"""📅 Échéancier on a reminder's card: the plan card (count of instalments), ✏️ Modifier (the owner types the
schedule), 📧 Préparer l'e-mail (the plan is proposed and its schedule e-mail's card comes under it)."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.handlers.common import (
    PENDING_KEY,
    Context,
    actor,
    answer,
    edit_card,
    forget,
    lang,
    markup,
    refuse_button,
    register_card,
    reply,
    services_of,
    show_card,
)
from bot.i18n import t
from bot.plan_cards import example, parse_callback, prepare, render_suggestion
from bot.presenter import Presenter, text
from messages.formatting import format_amount
from services import plans
from services.core import InputError
from services.plans import PlanSuggestion

#: The conversation state waiting for the typed schedule (unique across features).
STATE = 80
KIND = "plan"


def _suggest(presenter: Presenter, rid: int, version: int, count: int) -> PlanSuggestion:
    return plans.suggest(presenter.core.ctx, rid, version, count=count or None)


async def _not_current(update: Update, context: Context, s: PlanSuggestion, code: str) -> bool:
    """Answer a tap on a card that moved on (and show the reminder's card as it is); True when it did."""
    if s.status == "unknown":
        await answer(update, t("cb.unknown", code))
        return True
    if s.status == "stale":
        await answer(update, t("cb.already", code))
        presenter = services_of(context)
        if update.callback_query is not None and update.callback_query.message is not None:
            await edit_card(context, update.callback_query.message.chat.id, update.callback_query.message.message_id,
                            render_suggestion(s, code))  # fmt: skip
        await show_card(update, context, s.reminder_id, presenter.card(s.reminder_id, code), everywhere=False)
        return True
    return False


async def _show_prepared(update: Update, context: Context, where: tuple[int, int] | None, done: object) -> None:
    """After a proposal: the plan card without buttons, then the schedule e-mail's card as a new message."""
    from bot.plan_cards import Prepared

    assert isinstance(done, Prepared)
    code, presenter = lang(update, context), services_of(context)
    if where is not None and done.plan_card is not None:
        await edit_card(context, where[0], where[1], done.plan_card)
    await reply(update, done.message)
    if done.reminder_id is None:
        return
    card = presenter.card(done.reminder_id, code)
    if card is not None:
        sent = await reply(update, card.text, reply_markup=markup(card))
        if sent is not None:
            register_card(presenter, done.reminder_id, sent)


async def on_button(update: Update, context: Context) -> None:
    """📅 Échéancier (a new plan card), a count (the card redrawn), Préparer l'e-mail (the plan proposed)."""
    query = update.callback_query
    parsed = parse_callback(query.data if query else None)
    if parsed is None or query is None or query.message is None:
        await refuse_button(update, context)
        return
    action, rid, version, count = parsed
    code, presenter = lang(update, context), services_of(context)
    s = await asyncio.to_thread(_suggest, presenter, rid, version, count)
    if await _not_current(update, context, s, code):
        return
    here = (query.message.chat.id, query.message.message_id)
    if action == "prep" and s.ok:
        done = await asyncio.to_thread(prepare, presenter, s, s.schedule, actor=actor(update), lang=code)
        await answer(update, None if done.ok else done.message, alert=not done.ok)
        if done.ok:
            await _show_prepared(update, context, here, done)
        return
    await answer(update)
    card = render_suggestion(s, code)
    if action == "open":
        await reply(update, card.text, reply_markup=markup(card))
    else:
        await edit_card(context, here[0], here[1], card)


async def on_edit(update: Update, context: Context) -> int:
    """✏️ Modifier: ask for the schedule, one instalment per line."""
    query = update.callback_query
    parsed = parse_callback(query.data if query else None)
    if parsed is None or query is None or query.message is None:
        await refuse_button(update, context)
        return ConversationHandler.END
    _, rid, version, count = parsed
    code, presenter = lang(update, context), services_of(context)
    s = await asyncio.to_thread(_suggest, presenter, rid, version, count)
    if await _not_current(update, context, s, code):
        return ConversationHandler.END
    await answer(update)
    if not s.ok:
        await reply(update, text(s.message, code))
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[PENDING_KEY] = (KIND, rid, version, query.message.chat.id, query.message.message_id, count)
    await reply(update, t("plan.ask", code, example=example(s), total=format_amount(s.total, s.currency, code)))
    return STATE


async def on_schedule(update: Update, context: Context) -> int:
    """The typed schedule: checked (a fault is explained and the question stays open), then proposed."""
    code, presenter = lang(update, context), services_of(context)
    data = context.user_data.get(PENDING_KEY) if context.user_data is not None else None
    if not data or data[0] != KIND or update.message is None or update.message.text is None:
        return ConversationHandler.END
    _, rid, version, chat_id, message_id, count = data
    s = await asyncio.to_thread(_suggest, presenter, rid, version, count)
    if not s.ok:
        forget(context)
        await reply(update, text(s.message, code))
        return ConversationHandler.END
    try:
        schedule = plans.parse_schedule(update.message.text, s.total, presenter.today())
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return STATE
    done = await asyncio.to_thread(prepare, presenter, s, schedule, actor=actor(update), lang=code)
    if not done.ok:
        await reply(update, done.message)  # the card moved on, or the e-mail could not be drafted
        return _end(context)
    forget(context)
    await _show_prepared(update, context, (chat_id, message_id), done)
    return ConversationHandler.END


def _end(context: Context) -> int:
    forget(context)
    return ConversationHandler.END


ENTRY = CallbackQueryHandler(on_edit, pattern=r"^pl1:edit:")
STATES = {STATE: [MessageHandler(filters.TEXT & ~filters.COMMAND, on_schedule)]}
HANDLERS = [CallbackQueryHandler(on_button, pattern=r"^pl1:")]
