"""Drafts outside the ladder in Slack: the thanks cards shown after a bank statement, posted and registered like the
digest's cards (their 🗑 Ne pas envoyer button is routed by bot.slack.actions.card_button, as `r1:drop:`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.slack.blocks import card_message

if TYPE_CHECKING:
    from bot.slack.context import SlackContext


async def post_drafts(ctx: SlackContext, channel: str, reminder_ids: Sequence[int], lang: str) -> None:
    """One card per draft in `channel`, each registered so later clicks update it in place."""
    shown: list[tuple[int, str, str]] = []
    try:
        for rid in reminder_ids:
            parts = await asyncio.to_thread(ctx.presenter.card_parts, rid, lang)
            if parts is None:
                continue
            answer = await ctx.client.chat_postMessage(channel=channel, **card_message(parts, lang))
            shown.append((rid, str(answer["channel"]), str(answer["ts"])))
    finally:
        await asyncio.to_thread(ctx.presenter.register_cards, shown)
