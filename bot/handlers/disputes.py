"""/litiges (/disputes) and /reprendre (/resume): closing a dispute from the chat, back to the ladder or written off."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.cards import parse_dispute_callback, render_dispute
from bot.handlers.common import Context, actor, answer, edit_card, lang, markup, refuse_button, reply, services_of
from bot.i18n import t

#: At most this many dispute cards per /litiges (one message each); the rest are counted, /reprendre reaches them.
MAX_LISTED = 20


async def on_disputes(update: Update, context: Context) -> None:
    """List the disputed invoices, one message each with Reprendre / Passer en perte."""
    code = lang(update, context)
    lines, total = services_of(context).disputes(limit=MAX_LISTED)
    if not lines:
        await reply(update, t("disputes.none", code))
        return
    await reply(update, t("disputes.title", code, count=total))
    for line in lines:
        card = render_dispute(line, code)
        await reply(update, card.text, reply_markup=markup(card))
    if total > len(lines):
        await reply(update, t("disputes.more", code, count=total - len(lines)))


async def on_button(update: Update, context: Context) -> None:
    """A Reprendre / Passer en perte tap: checked against the database, answered first, then the card edited."""
    query = update.callback_query
    parsed = parse_dispute_callback(query.data if query else None)
    if parsed is None or query is None:
        await refuse_button(update, context)
        return
    action, invoice_id, version = parsed
    code = lang(update, context)
    outcome = services_of(context).close_dispute(
        invoice_id, version, outcome="resolved" if action == "res" else "written_off", actor=actor(update), lang=code
    )
    await answer(update, t("cb.done", code) if outcome.ok else outcome.message)
    if outcome.card is not None and query.message is not None:
        await edit_card(context, query.message.chat.id, query.message.message_id, outcome.card)


async def on_resume(update: Update, context: Context) -> None:
    """`/reprendre NUMERO`: close the invoice's dispute; its reminders start again."""
    code = lang(update, context)
    args = context.args or []
    if len(args) != 1:
        await reply(update, t("resume.usage", code))
        return
    number = args[0].strip()[:64]
    outcome = services_of(context).resume_invoice(number, actor=actor(update), lang=code)
    await reply(update, outcome.message)


HANDLERS = [
    CommandHandler(["litiges", "disputes"], on_disputes),
    CommandHandler(["reprendre", "resume"], on_resume),
    CallbackQueryHandler(on_button, pattern=r"^d1:"),
]
