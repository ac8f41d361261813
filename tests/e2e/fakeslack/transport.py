"""How envelopes reach the app: the Socket Mode websocket (hello, envelopes, acks, disconnect) or signed HTTP POSTs."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from .state import APP_ID, Delivery, SlackState, SlackTimeout

log = logging.getLogger(__name__)


class DeliveryRefused(AssertionError):
    """The app answered an HTTP delivery with a status other than 200."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the app answered HTTP {status}: {body[:200]}")
        self.status, self.body = status, body


class Transport(Protocol):
    """Hands one envelope to the app and returns its acknowledgment payload."""

    async def send(self, delivery: Delivery, accepts_response_payload: bool, timeout: float) -> dict[str, Any]:
        """Deliver and wait for the ack (SlackTimeout after `timeout` seconds)."""
        ...


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: "v0=" + hex HMAC-SHA256(secret, "v0:<timestamp>:<body>")."""
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def signed_headers(body: bytes, secret: str, *, timestamp: int | None = None, content_type: str) -> dict[str, str]:
    """The headers of a signed request (pass an old `timestamp` to play a replay)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(secret, ts, body),
    }


def _ack_of(text: str) -> dict[str, Any]:
    """The acknowledgment payload of an HTTP answer: JSON, nothing, or plain text (a slash command's reply)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"text": text}
    return value if isinstance(value, dict) else {"text": text}


class SocketHub:
    """The Socket Mode side: tickets from apps.connections.open, websocket connections, envelopes and their acks."""

    PATH = "/socket-mode/link"

    def __init__(self, state: SlackState, ws_base: Callable[[], str]) -> None:
        self.state = state
        self._ws_base = ws_base
        self._tickets: set[str] = set()
        self._live: list[web.WebSocketResponse] = []
        self._all: set[web.WebSocketResponse] = set()
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connected = asyncio.Event()
        self._closing: set[asyncio.Task[None]] = set()

    def reset(self) -> None:
        """Forget connections and bind anew to the running loop (the server starts or restarts)."""
        self._live, self._all, self._acks = [], set(), {}
        self._connected = asyncio.Event()

    def url(self) -> str:
        """A fresh websocket URL (what apps.connections.open answers)."""
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return f"{self._ws_base()}{self.PATH}?ticket={ticket}&app_id={APP_ID}"

    @property
    def live(self) -> int:
        """Connections currently receiving envelopes."""
        return len(self._live)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A Socket Mode connection: hello, then read acks until the app or the emulator closes it."""
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._all.add(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._live) + 1,
            "debug_info": {"host": "fakeslack", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        await ws.send_json(hello)
        self._live.append(ws)
        self._connected.set()
        with self.state.lock:
            self.state.connections += 1
            self.state.changed()
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._on_text(msg.data)
        finally:
            self._forget(ws)
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("fake Slack: the app sent a non-JSON frame: %.200s", data)
            return
        future = self._acks.get(str(message.get("envelope_id")))
        if future is None:
            log.warning("fake Slack: acknowledgment for an unknown envelope: %.200s", data)
        elif not future.done():
            future.set_result(message.get("payload") or {})

    def _forget(self, ws: web.WebSocketResponse) -> None:
        self._all.discard(ws)
        if ws in self._live:
            self._live.remove(ws)
        if not self._live:
            self._connected.clear()

    async def send(self, delivery: Delivery, accepts_response_payload: bool, timeout: float) -> dict[str, Any]:
        """Send an envelope on the newest live connection (waiting for one) and wait for its ack."""
        deadline = time.monotonic() + timeout
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            raise SlackTimeout(f"no Socket Mode connection within {timeout}s") from None
        envelope = {
            "envelope_id": delivery.envelope_id,
            "type": delivery.type,
            "payload": delivery.payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if delivery.type == "events_api":
            envelope.update({"retry_attempt": 0, "retry_reason": ""})
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[delivery.envelope_id] = future
        try:
            delivery.sent_at = time.monotonic()
            await self._live[-1].send_json(envelope)
            return await asyncio.wait_for(future, deadline - time.monotonic())
        except TimeoutError:
            raise SlackTimeout(f"no ack of {delivery.type} {delivery.envelope_id} within {timeout}s") from None
        finally:
            del self._acks[delivery.envelope_id]

    async def disconnect(self, reason: str, grace: float) -> None:
        """Ask every live connection to reconnect ({"type": "disconnect"}), then close them after `grace` seconds."""
        leaving, self._live = self._live, []
        self._connected.clear()
        for ws in leaving:
            await ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}})
        closing = asyncio.create_task(self._close_later(leaving, grace))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def _close_later(self, leaving: list[web.WebSocketResponse], grace: float) -> None:
        await asyncio.sleep(grace)
        for ws in leaving:
            await ws.close()

    async def close(self) -> None:
        """Close every connection (server shutdown)."""
        for task in list(self._closing):
            task.cancel()
        for ws in list(self._all):
            with contextlib.suppress(Exception):
                await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)


class HttpTransport:
    """HTTP mode: signed POSTs to the app's endpoint (events as JSON, interactivity and commands as forms)."""

    def __init__(self, target_url: str, signing_secret: str) -> None:
        self.target_url = target_url
        self.signing_secret = signing_secret
        self._session: aiohttp.ClientSession | None = None

    @staticmethod
    def encode(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
        """(body, content type) of one delivery, as Slack encodes it."""
        if kind == "events_api":
            return json.dumps(payload).encode(), "application/json"
        form = {"payload": json.dumps(payload)} if kind == "interactive" else payload
        return urlencode(form).encode(), "application/x-www-form-urlencoded"

    async def post(self, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
        """POST raw bytes to the app; (status, body text)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with self._session.post(self.target_url, data=body, headers=headers, timeout=client_timeout) as answer:
            return answer.status, await answer.text()

    async def send(self, delivery: Delivery, accepts_response_payload: bool, timeout: float) -> dict[str, Any]:
        """Sign and POST the delivery; the answer's body is the acknowledgment."""
        body, content_type = self.encode(delivery.type, delivery.payload)
        headers = signed_headers(body, self.signing_secret, content_type=content_type)
        try:
            delivery.sent_at = time.monotonic()
            status, text = await self.post(body, headers, timeout)
        except TimeoutError:
            raise SlackTimeout(f"no HTTP answer to {delivery.type} within {timeout}s") from None
        if status != 200:
            raise DeliveryRefused(status, text)
        return _ack_of(text)

    async def close(self) -> None:
        """Close the HTTP client session."""
        if self._session is not None:
            await self._session.close()
