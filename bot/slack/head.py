"""The "🏢 <name>" head line atop every Slack message and card sent for an owner of several businesses, as Telegram
puts it atop its answers (bot/handlers/common.py `headed`): one place, the Web API client, so no answer forgets it.

The gate (bot/slack/access.py) sets HEAD for the request it lets through, the digest sets it for each owner; the
client puts it first in what chat.postMessage, chat.update and chat.postEphemeral send while it is set.
"""

from __future__ import annotations

import html
from contextvars import ContextVar
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.mrkdwn import escape

#: The head line of the request or delivery under way ("🏢 <name>", HTML-escaped as bot/tenancy.py makes it).
HEAD: ContextVar[str | None] = ContextVar("relance_slack_head", default=None)
#: The Web API methods whose messages carry the head line.
HEADED_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})
HEAD_BLOCK_ID = "relance-head"
#: Slack's limits: blocks per message, characters per section.
MAX_BLOCKS = 50
MAX_SECTION = 3000


def head_block(head: str) -> dict[str, Any]:
    """The head line as a context block (bold, escaped for mrkdwn)."""
    return {"type": "context", "block_id": HEAD_BLOCK_ID,
            "elements": [{"type": "mrkdwn", "text": f"*{escape(html.unescape(head))}*"}]}  # fmt: skip


def headed(message: dict[str, Any], head: str) -> dict[str, Any]:
    """`message` (the JSON of chat.postMessage / chat.update / chat.postEphemeral) with the head line first: a block
    before the others (or, with 50 blocks already, in front of the first section's text), and in the notification
    text."""
    plain = html.unescape(head)
    out = dict(message)
    text = out.get("text")
    blocks = out.get("blocks")
    if isinstance(blocks, list) and blocks:
        if any(isinstance(b, dict) and b.get("block_id") == HEAD_BLOCK_ID for b in blocks):
            return out  # already headed
        if len(blocks) < MAX_BLOCKS:
            out["blocks"] = [head_block(head), *blocks]
        else:
            first = blocks[0]
            inner = first.get("text") if isinstance(first, dict) and first.get("type") == "section" else None
            line = f"*{escape(plain)}*\n"
            if (
                isinstance(inner, dict)
                and inner.get("type") == "mrkdwn"
                and len(line) + len(inner["text"]) <= MAX_SECTION
            ):
                out["blocks"] = [{**first, "text": {**inner, "text": line + inner["text"]}}, *blocks[1:]]
        if isinstance(text, str) and text and not text.startswith(plain):
            out["text"] = f"{escape(plain)} · {text}"
    elif isinstance(text, str) and text and not text.startswith(f"*{escape(plain)}*"):
        out["text"] = f"*{escape(plain)}*\n{text}"
    return out


class HeadedClient(AsyncWebClient):
    """The Web API client of the Slack adapter: messages sent while HEAD is set carry the head line."""

    async def api_call(
        self, api_method: str, *, json: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncSlackResponse:
        head = HEAD.get()
        if head and json is not None and api_method in HEADED_METHODS:
            json = headed(json, head)
        return await super().api_call(api_method, json=json, **kwargs)
