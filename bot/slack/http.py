"""HTTP mode (`relance run --slack-http`): one endpoint for Slack's events, interactivity and slash commands, which
checks Slack's request signature before anything else is read, parsed, queued or logged.

A request passes only with an `X-Slack-Request-Timestamp` within five minutes of now and an `X-Slack-Signature`
equal to `v0=` + hex HMAC-SHA256(signing secret, `v0:<timestamp>:<raw body>`); anything else is answered 403 (413
for a body over MAX_BODY) and goes no further. A signed request is then handed to slack-bolt as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.logs import Summarized

log = logging.getLogger(__name__)
#: Refused or dropped requests: the first of each minute logged, the rest summed up (a flood is one line a minute).
refusals = Summarized(log)

#: Where Slack posts everything (the Request URL of events, interactivity and the slash command).
PATH = "/slack/events"
#: Slack's payloads are a few kilobytes; anything far larger is refused unread.
MAX_BODY = 1024 * 1024
#: How old (or how far ahead) a request's timestamp may be: older ones are replays.
TOLERANCE_SECONDS = 5 * 60


def verify_signature(secret: str, timestamp: str | None, body: bytes, signature: str | None, now: float) -> bool:
    """True when `signature` is Slack's for `body` sent at `timestamp` (Unix seconds, within 5 minutes of `now`)."""
    if not secret or not signature or timestamp is None or not _fresh(timestamp, now):
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def _fresh(timestamp: str | None, now: float) -> bool:
    """The cheap half of the check, on the headers alone: a timestamp (Unix seconds) within the tolerance."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    return abs(now - int(timestamp)) <= TOLERANCE_SECONDS


async def _read_capped(request: web.Request) -> bytes | None:
    """The raw body, or None as soon as it grows past MAX_BODY (whatever Content-Length claimed)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class SlackHttpServer:
    """The aiohttp server of HTTP mode, in the adapter's event loop."""

    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        host: str,
        port: int,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self._secret = signing_secret
        self.host = host
        self.port = port
        self._clock = clock
        self._runner: web.AppRunner | None = None

    def web_app(self) -> web.Application:
        """The aiohttp application: POST /slack/events only."""
        # aiohttp's own cap as a second fence; our handler reads at most MAX_BODY + 1 bytes itself.
        application = web.Application(client_max_size=MAX_BODY)
        application.router.add_post(PATH, self.handle)
        return application

    async def start(self) -> None:
        """Listen on host:port (`port` 0 picks a free port, then `self.port` says which)."""
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("Slack HTTP mode listening on %s:%s%s", self.host, self.port, PATH)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Check the signature, then let bolt answer (its listeners acknowledge first)."""
        now = self._clock()
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not signature or not _fresh(timestamp, now):
            # Unsigned or replayed: refused before the body is even read.
            refusals(
                logging.INFO,
                "Slack HTTP request refused: %s",
                "unsigned" if not signature else "stale or bad timestamp",
            )
            return web.Response(status=403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413)
        body = await _read_capped(request)
        if body is None:
            return web.Response(status=413)
        if not verify_signature(self._secret, timestamp, body, signature, now):
            refusals(logging.INFO, "Slack HTTP request refused: bad signature")
            return web.Response(status=403)
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8", "replace"),
            query=request.query_string,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))
