"""Telegram webhook mode (`relance run --webhook https://host/path`): an aiohttp server that takes Telegram's updates
on the URL's path and feeds them to the PTB application's update queue, and serves /healthz beside it.

We serve it ourselves rather than with PTB's `Updater.start_webhook` (tornado): that server compares the secret token
with `!=` and reads the whole body (up to tornado's 100 MB default) before its handler runs. Here, as in Slack's HTTP
mode (bot/slack/http.py), a request passes only with `X-Telegram-Bot-Api-Secret-Token` equal to WEBHOOK_SECRET
(compared in constant time, checked before the body is touched: else 403); a body over MAX_BODY is refused with 413,
on its Content-Length before any byte of it is read, or as soon as a chunked body grows past it. Only then is the
update parsed and queued.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Bot, Update

from bot.health import PATH as HEALTH_PATH
from bot.health import Health
from bot.logs import Summarized

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)
#: Refused requests: the first of each minute logged, the rest summed up (a flood is one line a minute).
refusals = Summarized(log)

#: Telegram's updates are a few kilobytes; anything far larger is refused unread.
MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(url: str) -> str:
    """The path of the public webhook URL, where the server takes the updates (the reverse proxy keeps it)."""
    return urlsplit(url).path or "/"


def secret_matches(expected: str, given: str | None) -> bool:
    """Whether the request's secret header is WEBHOOK_SECRET, in time independent of where they differ."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


async def read_capped(request: web.Request, limit: int = MAX_BODY) -> bytes | None:
    """The raw body, or None as soon as it grows past `limit` (whatever Content-Length claimed)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(status: int) -> web.Response:
    from aiohttp import web  # only when a server runs: not loaded at every start

    response = web.Response(status=status)
    # Close the connection instead of reading the rest of the body to keep it alive (aiohttp's lingering).
    response.force_close()
    return response


class TelegramWebhook:
    """The webhook's request handler: secret, size, then the update into PTB's queue."""

    def __init__(self, bot: Bot, queue: asyncio.Queue[object], secret: str) -> None:
        self.bot = bot
        self.queue = queue
        self._secret = secret
        self.refused = 0

    def _refusal(self, request: web.Request) -> web.Response | None:
        """The answer to a request refused on its headers alone (403 no or wrong secret, 413 announced too large)."""
        if not secret_matches(self._secret, request.headers.get(SECRET_HEADER)):
            # Forged or misrouted: refused before the body is read, and never logged with the header's value.
            self.refused += 1
            refusals(logging.INFO, "Telegram webhook request refused: %s secret token",
                     "wrong" if SECRET_HEADER in request.headers else "no")  # fmt: skip
            return _refuse(403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            refusals(logging.WARNING, "Telegram webhook request refused: body of %s bytes announced",
                     request.content_length)  # fmt: skip
            return _refuse(413)
        return None

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """`Expect: 100-continue`: a request refused on its headers is answered before the client sends its body;
        otherwise aiohttp's usual 100 Continue."""
        from aiohttp import HttpVersion11, web  # only when a server runs: not loaded at every start

        refused = self._refusal(request)
        if refused is not None:
            return refused
        if request.version != HttpVersion11 or request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed()
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # as aiohttp's own handler: the interim answer is not the response
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """POST <path>: 200 once queued; 403 without the secret, 413 too large, 400 not an update."""
        from aiohttp import web  # only when a server runs: not loaded at every start

        refused = self._refusal(request)
        if refused is not None:
            return refused
        body = await read_capped(request)
        if body is None:
            refusals(logging.WARNING, "Telegram webhook request refused: body over %s bytes", MAX_BODY)
            return _refuse(413)
        try:
            data: Any = json.loads(body)
            update = Update.de_json(data, self.bot) if isinstance(data, dict) else None
        except (ValueError, TypeError, KeyError):
            update = None
        if update is None:
            refusals(logging.WARNING, "Telegram webhook request refused: not an update")
            return web.Response(status=400)
        await self.queue.put(update)
        return web.Response(status=200)


def webhook_application(webhook: TelegramWebhook, path: str, health: Health | None) -> web.Application:
    """POST <path> for Telegram, and GET /healthz when given the process's health."""
    from aiohttp import web  # only when a server runs: not loaded at every start

    # aiohttp's own cap as a second fence; the handler reads at most MAX_BODY + one chunk itself.
    application = web.Application(client_max_size=MAX_BODY)
    application.router.add_post(path, webhook.handle, expect_handler=webhook.expect)
    if health is not None and path != HEALTH_PATH:
        application.router.add_get(HEALTH_PATH, health.handle)
    return application


@dataclass(frozen=True)
class WebhookConfig:
    """Webhook mode's settings: the public URL given to Telegram, where the server listens, the shared secret."""

    url: str
    listen: str
    port: int
    secret: str = field(repr=False)

    @property
    def path(self) -> str:
        """Where the server takes the updates."""
        return webhook_path(self.url)
