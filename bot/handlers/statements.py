"""Bank statements sent to the bot: the summary of what was recorded, then one card per doubtful line (Oui / Autre
facture / Ignorer), each tap checked against the stored line (a second tap hears "Déjà traité.")."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.handlers import tasks
from bot.handlers.common import Context, actor, answer, edit_card, lang, markup, refuse_button, reply, services_of
from bot.handlers.extra import show_drafts
from bot.i18n import t
from bot.reports import render_payments


async def import_statement(update: Update, context: Context, data: bytes, name: str) -> None:
    """Import a statement the owner sent: the summary, then a card for each of its doubtful lines."""
    code = lang(update, context)
    services = services_of(context)
    before = tasks.last_id(services)
    summary = await asyncio.to_thread(services.import_statement, data, name, actor=actor(update))
    await reply(update, render_payments(summary, code))
    if summary.thanks:  # the "merci" drafts of the clients now all paid up, to approve like any reminder
        await show_drafts(update, context, summary.thanks)
    if not summary.ok or summary.dry_run:
        return
    await tasks.show_new(update, context, before)  # over-payments, late payments
    if not summary.doubtful:
        return
    ids = [d.line.line_id for d in summary.doubtful]
    from bot.statement_cards import render_doubt  # the statement readers (lxml): loaded when a statement comes

    doubts, _ = await asyncio.to_thread(services.doubtful_lines, line_ids=ids)
    for doubt in doubts:
        card = render_doubt(doubt, code)
        await reply(update, card.text, reply_markup=markup(card))


async def on_button(update: Update, context: Context) -> None:
    """Oui / an invoice chosen / Autre facture / Ignorer on a doubtful line: answered first, then the card edited."""
    from bot.statement_cards import parse_callback, render_decision, render_doubt

    query = update.callback_query
    parsed = parse_callback(query.data if query else None)
    if parsed is None or query is None:
        await refuse_button(update, context)
        return
    action, row_id, invoice_id = parsed
    code, services = lang(update, context), services_of(context)
    if action == "alt":
        doubt = await asyncio.to_thread(services.doubtful_line, row_id)
        if doubt is None:
            await answer(update, t("cb.already", code))
            return
        await answer(update)
        card = render_doubt(doubt, code, others=True)
    else:
        if action == "yes":
            decision = await asyncio.to_thread(services.confirm_line, row_id, invoice_id, actor=actor(update))
        else:
            decision = await asyncio.to_thread(services.ignore_line, row_id, actor=actor(update))
        said, shown = render_decision(decision, code)
        await answer(update, said)
        if shown is None:
            return
        card = shown
    if query.message is not None:
        await edit_card(context, query.message.chat.id, query.message.message_id, card)


async def on_transfers(update: Update, context: Context) -> None:
    """/virements (/transfers): the doubtful credits still waiting for the owner, one card each again (or none)."""
    from bot.statement_cards import render_waiting

    code = lang(update, context)
    doubts, waiting = await asyncio.to_thread(services_of(context).doubtful_lines)
    title, cards, more = render_waiting(doubts, waiting, code)
    await reply(update, title)
    for card in cards:
        await reply(update, card.text, reply_markup=markup(card))
    if more:
        await reply(update, more)


HANDLERS = [
    CallbackQueryHandler(on_button, pattern=r"^p1:"),
    CommandHandler(["virements", "transfers"], on_transfers),
]
