"""Bank statements in Slack: a statement shared in the owner's DM is summarised, then each doubtful line comes as a
card (Oui / Autre facture / Ignorer); its `p1:` buttons act like Telegram's, checked against the stored line, and
the card is updated in place (a second click hears "Déjà traité.")."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from bot.i18n import t
from bot.reports import render_payments
from bot.slack import home, tasks
from bot.slack.actions import Click, ephemeral, run_click, update_message
from bot.slack.blocks import fallback_text, from_card_text
from bot.slack.commands import post_text
from bot.slack.extra import post_drafts
from bot.statement_cards import parse_callback, render_decision, render_doubt, render_waiting

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.cards import CardText
    from bot.slack.context import SlackContext

STATEMENT_BUTTON = re.compile(r"^p1:")


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The doubtful lines' buttons (`p1:`)."""

    async def on_statement_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then settle the line and show it in place."""
        await ack()
        await run_click(ctx, body, statement_button)

    app.action(STATEMENT_BUTTON)(on_statement_button)


async def _post_card(ctx: SlackContext, channel: str, card: CardText, lang: str) -> None:
    await ctx.client.chat_postMessage(channel=channel, text=fallback_text(card.text), blocks=from_card_text(card, lang))


async def import_statement(ctx: SlackContext, user_id: str, dm: str, data: bytes, name: str) -> None:
    """Import a statement the owner shared: the summary in the DM, then a card for each of its doubtful lines."""
    lang = await ctx.lang(user_id)
    presenter = ctx.presenter
    before = await asyncio.to_thread(tasks.last_id, ctx)
    summary = await asyncio.to_thread(presenter.import_statement, data, name, actor=ctx.actor(user_id))
    await post_text(ctx, dm, render_payments(summary, lang), lang)
    if not summary.ok:
        return
    if summary.thanks:  # the "merci" drafts of the clients now all paid up, to approve like any reminder
        await post_drafts(ctx, dm, summary.thanks, lang)
    home.refresh_later(ctx, user_id)
    await tasks.post_tasks(ctx, dm, lang, after_id=before)  # over-payments, late payments
    if summary.doubtful:
        ids = [d.line.line_id for d in summary.doubtful]
        doubts, _ = await asyncio.to_thread(presenter.doubtful_lines, line_ids=ids)
        for doubt in doubts:
            await _post_card(ctx, dm, render_doubt(doubt, lang), lang)


async def post_waiting(ctx: SlackContext, dm: str, lang: str) -> None:
    """`/relance virements`: the doubtful credits still waiting for the owner, one card each again (or none)."""
    doubts, waiting = await asyncio.to_thread(ctx.presenter.doubtful_lines)
    title, cards, more = render_waiting(doubts, waiting, lang)
    await post_text(ctx, dm, title, lang)
    for card in cards:
        await _post_card(ctx, dm, card, lang)
    if more:
        await post_text(ctx, dm, more, lang)


async def statement_button(ctx: SlackContext, click: Click, data: str) -> None:
    """Oui / an invoice chosen / Autre facture / Ignorer on a doubtful line's card."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, row_id, invoice_id = parsed
    presenter, who = ctx.presenter, ctx.actor(click.user_id)
    card: CardText | None
    if action == "alt":
        doubt = await asyncio.to_thread(presenter.doubtful_line, row_id)
        if doubt is None:
            await ephemeral(ctx, click, t("cb.already", click.lang))
            return
        said, card = "", render_doubt(doubt, click.lang, others=True)
    else:
        if action == "yes":
            decision = await asyncio.to_thread(presenter.confirm_line, row_id, invoice_id, actor=who)
        else:
            decision = await asyncio.to_thread(presenter.ignore_line, row_id, actor=who)
        said, card = render_decision(decision, click.lang)
        said = "" if decision.ok else said  # done: the card itself says what was recorded
    if card is not None:
        await update_message(ctx, click.channel, click.ts, text=fallback_text(card.text),
                             blocks=from_card_text(card, click.lang))  # fmt: skip
    if said:
        await ephemeral(ctx, click, said)
