"""A client for the fake server's /_test/ control API, for a test that runs the server in another process."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class FakeTelegramClient:
    """Play the bot's users over HTTP: write, tap, upload, read the chat; every call returns plain JSON."""

    def __init__(self, base_url: str, token: str) -> None:
        self._client = httpx.AsyncClient(base_url=f"{base_url.rstrip('/')}/_test/bot{token}/", timeout=10.0)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> FakeTelegramClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _post(self, action: str, payload: dict[str, Any]) -> Any:
        response = await self._client.post(action, json=payload)
        body = response.json()
        if not body.get("ok"):
            raise RuntimeError(f"{action}: {body.get('description')}")
        return body["result"]

    async def add_chat(self, user_id: int, *, first_name: str = "Owner", language_code: str = "fr") -> None:
        """Register a private chat the bot may write to."""
        await self._post("chat", {"user_id": user_id, "first_name": first_name, "language_code": language_code})

    async def send_text(self, user_id: int, text: str, *, language_code: str = "fr") -> dict[str, Any]:
        """The user writes `text`."""
        return await self._post("message", {"user_id": user_id, "text": text, "language_code": language_code})

    async def upload_document(
        self, user_id: int, file_name: str, content: bytes, *, mime_type: str = "text/csv", caption: str | None = None
    ) -> dict[str, Any]:
        """The user sends a file."""
        payload = {
            "user_id": user_id,
            "file_name": file_name,
            "content_base64": base64.b64encode(content).decode("ascii"),
            "mime_type": mime_type,
            "caption": caption,
        }
        return await self._post("document", payload)

    async def tap(self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None) -> dict[str, Any]:
        """The user taps a button with callback `data`; returns the tap (its "id" serves `tap_state`)."""
        return await self._post("tap", {"chat_id": chat_id, "message_id": message_id, "data": data, "user_id": user_id})

    async def tap_state(self, tap_id: str) -> dict[str, Any]:
        """Whether the tap was answered, and with what text."""
        return await self._post("tap_state", {"id": tap_id})

    async def history(self, chat_id: int) -> list[dict[str, Any]]:
        """The chat as currently displayed."""
        return await self._post("history", {"chat_id": chat_id})

    async def calls(self) -> list[dict[str, Any]]:
        """The Bot API calls the bot made (method, status, description)."""
        return await self._post("calls", {})

    async def state(self) -> dict[str, Any]:
        """Whether the bot is long polling, and how many updates wait."""
        return await self._post("state", {})

    async def wait_for(
        self, predicate: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.01
    ) -> T:
        """Await `predicate()` until it gives a truthy value (returned); AssertionError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s")
            await asyncio.sleep(interval)
