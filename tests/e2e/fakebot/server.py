"""The fake Telegram Bot API server: /bot<token>/<method>, /file/bot<token>/<path> and the /_test/ control API."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .account import FakeBotAccount
from .httpserver import HttpServer, Request, Response
from .limits import FloodLimits
from .models import TelegramError

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456:TEST-token"
_TOKEN = r"(?P<token>[^/]+)"
_API = re.compile(rf"^/bot{_TOKEN}/(?P<method>[A-Za-z]+)/?$")
_FILE = re.compile(rf"^/file/bot{_TOKEN}/(?P<path>.+)$")
_CONTROL = re.compile(rf"^/_test/bot{_TOKEN}/(?P<action>[a-z_]+)$")


def _error(code: int, description: str) -> Response:
    return Response.json({"ok": False, "error_code": code, "description": description}, code)


class FakeTelegram:
    """A fake Bot API server on 127.0.0.1 (port 0 picks a free one); one or more bot accounts, keyed by token.

    Run it in the current event loop (`await start()` / `await close()`) or in its own thread
    (`start_in_thread()` / `stop()`), which suits synchronous callers and a bot in another process alike.
    """

    def __init__(self, *, port: int = 0, limits: FloodLimits | None = None) -> None:
        self.lock = threading.RLock()
        #: Telegram's flood limits (30 messages/s, 1/s per chat), enforced with 429s when given.
        self.limits = limits
        self.loop: asyncio.AbstractEventLoop | None = None
        self._http = HttpServer(self._handle, "127.0.0.1", port)
        self._bots: dict[str, FakeBotAccount] = {}
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def add_bot(
        self, token: str = DEFAULT_TOKEN, *, username: str = "relance_test_bot", first_name: str = "Relance"
    ) -> FakeBotAccount:
        """Create a bot account reachable with `token`."""
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError("a token looks like 123456:ABC-def")
        with self.lock:
            account = FakeBotAccount(self, token, username, first_name)
            self._bots[token] = account
            return account

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return self._http.port

    @property
    def url(self) -> str:
        """The base URL, the value of TELEGRAM_API_URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen, serving in the running event loop."""
        self.loop = asyncio.get_running_loop()
        await self._http.start()
        log.info("fake Bot API listening on %s", self.url)

    async def close(self) -> None:
        """Stop serving and end open connections."""
        await self._http.close()

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start_in_thread(self, timeout: float = 5.0) -> None:
        """Serve in a background thread with its own event loop; returns once it listens."""
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            try:
                await self.start()
                self._stopped = asyncio.Event()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            await self._stopped.wait()
            await self.close()

        self._thread = threading.Thread(target=asyncio.run, args=(main(),), name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the fake Bot API server did not start")
        if failure:
            raise failure[0]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the background thread started by `start_in_thread`."""
        if self._thread is None or self.loop is None or self._stopped is None:
            return
        self.loop.call_soon_threadsafe(self._stopped.set)
        self._thread.join(timeout)
        self._thread = None

    # ------------------------------------------------------------------ routing

    async def _handle(self, request: Request) -> Response:
        match = _API.match(request.path)
        if match:
            return await self._api(request, match["token"], match["method"])
        match = _FILE.match(request.path)
        if match:
            account = self._bots.get(match["token"])
            if account is None:
                return _error(401, "Unauthorized")
            content = account.download(match["path"])
            if content is None:
                return _error(404, "Not Found")
            return Response(200, content, "application/octet-stream")
        match = _CONTROL.match(request.path)
        if match:
            return self._control(request, match["token"], match["action"])
        log.warning("fake Bot API: no route for %s %s", request.method, request.path)
        return _error(404, "Not Found")

    async def _api(self, request: Request, token: str, method: str) -> Response:
        account = self._bots.get(token)
        if account is None:
            return _error(401, "Unauthorized")
        if self.limits is not None:
            retry_after = self.limits.check(method, request.params.get("chat_id"))
            if retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
                account.record(method, request.params, request.files, 429, description)
                return Response.json(
                    {"ok": False, "error_code": 429, "description": description,
                     "parameters": {"retry_after": retry_after}},
                    429,
                )  # fmt: skip
        try:
            result = await account.call(method, request.params, request.files)
        except TelegramError as exc:
            account.record(method, request.params, request.files, exc.error_code, exc.description)
            if exc.error_code not in (404, 409):
                log.warning("fake Bot API: %s refused: %s", method, exc.description)
            return _error(exc.error_code, exc.description)
        account.record(method, request.params, request.files, 200, None)
        return Response.json({"ok": True, "result": result})

    # ------------------------------------------------------------------ control API (plays the users)

    def _control(self, request: Request, token: str, action: str) -> Response:
        account = self._bots.get(token)
        if account is None:
            return _error(401, "Unauthorized")
        p: dict[str, Any] = request.params
        try:
            result: Any
            if action == "chat":
                account.add_chat(
                    int(p["user_id"]),
                    first_name=str(p.get("first_name") or "Owner"),
                    language_code=str(p.get("language_code") or "fr"),
                )
                result = True
            elif action == "message":
                result = account.send_text(
                    int(p["user_id"]), str(p["text"]), language_code=str(p.get("language_code") or "fr")
                ).view()
            elif action == "document":
                result = account.upload_document(
                    int(p["user_id"]),
                    str(p["file_name"]),
                    base64.b64decode(str(p["content_base64"])),
                    mime_type=str(p.get("mime_type") or "application/octet-stream"),
                    caption=p.get("caption"),
                ).view()
            elif action == "tap":
                user_id = p.get("user_id")
                result = account.tap(
                    int(p["chat_id"]),
                    int(p["message_id"]),
                    str(p["data"]),
                    user_id=None if user_id is None else int(user_id),
                ).view()
            elif action == "tap_state":
                result = account.tap_state(str(p["id"])).view()
            elif action == "history":
                result = [m.view() for m in account.history(int(p["chat_id"]))]
            elif action == "calls":
                result = [
                    {"method": c.method, "status": c.status, "description": c.description} for c in account.calls()
                ]
            elif action == "state":
                result = {
                    "polling": account.is_polling,
                    "pending_updates": account.pending_updates(),
                    "webhook": account.webhook_url,
                }
            else:
                return _error(404, "Not Found")
        except (KeyError, ValueError, TypeError) as exc:
            return _error(400, f"Bad Request: {exc}")
        return Response.json({"ok": True, "result": result})


@contextmanager
def serving_owner(owner: int, *, first_name: str = "Claire", language_code: str = "fr") -> Iterator[FakeBotAccount]:
    """The fake Bot API server in its own thread (free loopback port) with the bot's account and the owner's chat."""
    server = FakeTelegram()
    account = server.add_bot(DEFAULT_TOKEN)
    account.add_chat(owner, first_name=first_name, language_code=language_code)
    server.start_in_thread()
    try:
        yield account
    finally:
        server.stop()
