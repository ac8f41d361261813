"""Telegram's flood limits on our side: at most ~30 messages a second overall and one a second per chat, a 429's
`retry_after` waited out and the request tried again (never dropped); the morning fan-out yields to the owners' taps.

PTB's AIORateLimiter paces groups only (not private chats, where owners read their digests), lets bursts of 30 through
and gives up after `max_retries`; this limiter spaces the messages evenly instead, so a fan-out to thousands of owners
runs at the ceiling without a 429, and retries a 429 for as long as Telegram asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

#: Telegram's documented ceilings: about 30 messages a second to different chats, one a second in one chat.
OVERALL_PER_SECOND = 30.0
PER_CHAT_INTERVAL = 1.0
#: Turns a late event loop may catch up on at once (a burst far below Telegram's 30).
CATCH_UP = 5
#: Added to the per-chat interval: a request's way to Telegram varies by a few milliseconds.
CHAT_MARGIN = 0.05

#: Set while a bulk delivery (the morning digests) sends: its messages wait behind the owners' answers.
_BULK: contextvars.ContextVar[bool] = contextvars.ContextVar("relance_bulk_send", default=False)

JSON = bool | dict[str, Any] | list[dict[str, Any]]


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Inside this block (and the tasks it starts), messages are bulk: they yield their turn to interactive ones."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


def is_message(endpoint: str) -> bool:
    """True for the methods that post a new message in a chat (the ones Telegram's flood limits count)."""
    return endpoint.startswith("send") or endpoint in ("copyMessage", "copyMessages", "forwardMessage",
                                                       "forwardMessages")  # fmt: skip


class Pacer:
    """Evenly spaced turns, `rate` a second; an urgent waiter is served before the bulk ones."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self._next = 0.0  # the loop time of the next free turn
        self._waiting: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())
        self._dispatcher: asyncio.Task[None] | None = None

    def pause_until(self, when: float) -> None:
        """No turn before `when` (a 429's retry_after)."""
        self._next = max(self._next, when)

    async def turn(self, *, urgent: bool) -> None:
        """Wait for this request's turn."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if not self._waiting[0] and not self._waiting[1] and now >= self._next:
            self._next = now + self.interval
            return
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiting[0 if urgent else 1].append(waiter)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.ensure_future(self._dispatch())
        await waiter

    def _pop(self) -> asyncio.Future[None] | None:
        for queue in self._waiting:
            while queue:
                waiter = queue.popleft()
                if not waiter.done():  # a cancelled waiter gives its turn to the next one
                    return waiter
        return None

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting[0] or self._waiting[1]:
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue  # a 429 may have pushed the next turn further meanwhile
            waiter = self._pop()
            if waiter is None:
                break
            # The turns keep their average pace when a busy loop wakes late: up to CATCH_UP missed turns are given
            # back to back (Telegram's own counter allows bursts), so the rate does not drift below the ceiling.
            self._next = max(self._next, loop.time() - CATCH_UP * self.interval) + self.interval
            waiter.set_result(None)


class FloodLimiter(BaseRateLimiter[None]):
    """PTB's rate limiter for Relance: new messages paced overall and per chat, every request paused by a 429."""

    def __init__(self, overall_per_second: float | None = None, per_chat_interval: float | None = None) -> None:
        # The module's figures are read now, not at import: tests and the benchmark scale them.
        self.rate = overall_per_second or OVERALL_PER_SECOND
        self.overall = Pacer(self.rate)
        self.per_chat_interval = per_chat_interval or PER_CHAT_INTERVAL + CHAT_MARGIN
        self._chats: dict[str, tuple[asyncio.Lock, list[float]]] = {}
        self._prune_at = 4096
        self._resume_at = 0.0  # loop time before which nothing is sent (a 429)
        self.retried = 0  # 429s answered and retried, for the logs and the benchmark

    def share(self, processes: int) -> None:
        """Several processes send for the same bot (`relance run --worker`): each keeps its share of the overall
        ceiling (the per-chat pause stays: a chat's messages come from the process that delivers its digest)."""
        self.overall.interval = max(1, processes) / self.rate

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _chat(self, chat_id: str) -> tuple[asyncio.Lock, list[float]]:
        if len(self._chats) > self._prune_at:
            # Forget the chats whose pause is over; the threshold follows the size, so a fan-out to 10,000 chats
            # prunes a few times, not at every message.
            now = asyncio.get_running_loop().time()
            for key, (lock, (last,)) in list(self._chats.items()):
                if not lock.locked() and now - last > self.per_chat_interval:
                    del self._chats[key]
            self._prune_at = max(4096, 2 * len(self._chats))
        if chat_id not in self._chats:
            self._chats[chat_id] = (asyncio.Lock(), [float("-inf")])
        return self._chats[chat_id]

    async def _paused(self) -> None:
        loop = asyncio.get_running_loop()
        while (delay := self._resume_at - loop.time()) > 0:
            await asyncio.sleep(delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> JSON:
        """Wait for the chat's and the bot's turn (new messages only), send; a 429 pauses every request for its
        retry_after, then the same request is sent again."""
        if endpoint == "getUpdates":
            return await callback(*args, **kwargs)  # long polling is never held back
        chat_id = data.get("chat_id")
        paced = is_message(endpoint) and chat_id is not None
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not paced:
                    await self._paused()
                    return await callback(*args, **kwargs)
                lock, last = self._chat(str(chat_id))
                async with lock:  # one message of a chat at a time, in order
                    while (delay := last[0] + self.per_chat_interval - loop.time()) > 0:
                        await asyncio.sleep(delay)
                    await self.overall.turn(urgent=not _BULK.get())
                    await self._paused()
                    last[0] = loop.time()
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = exc._retry_after.total_seconds() + 0.1  # PTB's own limiter reads it too
                self.retried += 1
                log.info("telegram: flood limit reached, %s paused for %.1f s then sent again", endpoint, wait)
                self._resume_at = max(self._resume_at, loop.time() + wait)
                self.overall.pause_until(self._resume_at)
