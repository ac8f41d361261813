"""The owner's tasks in Slack: `/relance taches` lists the questions Relance asks (one card each), the digest shows
them after the reminders, an action that raised some (Payée, a statement or an e-invoice shared) shows them at
once; their `t1:` buttons act like Telegram's, checked against the stored task, the card updated in place (a second
click hears "Déjà traité.")."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

from bot.i18n import t
from bot.slack.actions import Click, ephemeral, run_click, update_message
from bot.slack.blocks import card_message, fallback_text, from_card_text, text_message
from bot.task_cards import ANSWERS, parse_callback, render_list, render_outcome, render_task
from services import tasks

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

TASK_BUTTON = re.compile(r"^t1:")


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The task cards' buttons (`t1:`)."""

    async def on_task_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then answer the task and show it in place."""
        await ack()
        await run_click(ctx, body, task_button)

    app.action(TASK_BUTTON)(on_task_button)


def last_id(ctx: SlackContext) -> int:
    """The latest task's id before an action: the ones it raises come after it."""
    return tasks.last_id(ctx.presenter.ctx)


async def post_tasks(ctx: SlackContext, channel: str, lang: str, *, after_id: int = 0, quiet: bool = True) -> None:
    """The open tasks (those raised after `after_id`) as cards in a DM; `quiet`: nothing when there is none."""
    cards, total = await asyncio.to_thread(tasks.open_tasks, ctx.presenter.ctx, after_id=after_id)
    if not total and quiet:
        return
    header, rendered = render_list(cards, total, lang)
    await ctx.client.chat_postMessage(channel=channel, **text_message(header, lang))
    for _, card in rendered:
        await ctx.client.chat_postMessage(channel=channel, text=fallback_text(card.text),
                                          blocks=from_card_text(card, lang))  # fmt: skip


async def task_button(ctx: SlackContext, click: Click, data: str) -> None:
    """A task's button: the card updated in place; a draft it made comes as its own card; a refusal is told."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, task_id, version, invoice_id = parsed
    presenter, code = ctx.presenter, click.lang
    said = ""
    if action in ("pick", "back"):
        found = await asyncio.to_thread(tasks.task, presenter.ctx, task_id)
        if found is None:
            await ephemeral(ctx, click, t("cb.unknown", code))
            return
        stale = not found.view.is_open or found.view.version != version
        said = t("cb.already", code) if stale else ""
        card = render_task(found, code, choose=action == "pick" and not stale)
    else:
        outcome = await asyncio.to_thread(tasks.act, presenter.ctx, task_id, version, ANSWERS[action],
                                          actor=ctx.actor(click.user_id), arg=invoice_id)  # fmt: skip
        said, shown = render_outcome(outcome, code)
        said = "" if outcome.ok or outcome.status == "choose" else said  # done: the card itself says what was done
        if outcome.reminder_id is not None:
            parts = await asyncio.to_thread(presenter.card_parts, outcome.reminder_id, code)
            if parts is not None:
                answer = await ctx.client.chat_postMessage(channel=click.channel, **card_message(parts, code))
                await asyncio.to_thread(presenter.register_cards,
                                        [(outcome.reminder_id, str(answer["channel"]), str(answer["ts"]))])  # fmt: skip
        if shown is None:
            if said:
                await ephemeral(ctx, click, said)
            return
        card = shown
    await update_message(ctx, click.channel, click.ts, text=fallback_text(card.text), blocks=from_card_text(card, code))
    if said:
        await ephemeral(ctx, click, said)
