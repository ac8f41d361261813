"""The outbox sender of one business: delivers due e-mails off the taps' path and reports every outcome.

Thin on purpose: the delivery loop (claim, send, record) is services.outbox's, the queue is storage.outbox's.
The ✅ Envoyer tap only queues the e-mail and calls `Sender.wake`; the delivery runs in its own asyncio task, so a
slow SMTP server never delays another tap. The process's one scheduler (bot/runtime.py) also ticks the sender every
TICK_INTERVAL for retries and e-mails whose sending window opens. Every chat adapter registers with `on_outcome` to
edit the reminder's cards and warn the owners, whichever tap, tick or chat caused the send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from messages.delivery import SmtpConfig
from services.outbox import DeliveryResult, deliver_due, recover_unknown_at_startup
from storage.db import Engine
from storage.types import utcnow

log = logging.getLogger(__name__)

#: How often the scheduler ticks the sender (retries after a 4xx, e-mails waiting for the sending window).
TICK_INTERVAL = timedelta(seconds=30)

OutcomeCallback = Callable[[DeliveryResult], Awaitable[None]]


class Sender:
    """The sender of one business in this process: its outbox rows only, its listeners only."""

    def __init__(self, engine: Engine, config: SmtpConfig | None, business_id: int, *, limit: int = 50) -> None:
        self.engine = engine
        self.config = config
        self.business_id = business_id
        self.limit = limit
        self._callbacks: list[OutcomeCallback] = []
        self._lock = asyncio.Lock()
        self._again = False
        self._tasks: set[asyncio.Task[list[DeliveryResult]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_outcome(self, callback: OutcomeCallback) -> OutcomeCallback:
        """Register `callback(result)`, awaited for every outcome of this business (usable as a decorator)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    async def _notify(self, result: DeliveryResult) -> None:
        log.info("outbox %s (reminder %s): %s after %s attempt(s)",
                 result.outbox_id, result.reminder_id, result.outcome, result.attempts)  # fmt: skip
        for callback in list(self._callbacks):
            try:
                await callback(result)
            except Exception:  # one broken listener must not stop the others, nor the sender
                log.exception("delivery callback failed for outbox %s", result.outbox_id)

    def wake(self) -> None:
        """Something is due now: deliver it in the background (returns at once; safe from any thread)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        loop = self._loop or running
        if loop is None:
            log.warning("outbox sender woken outside an event loop: the next tick delivers")
            return
        if running is loop:
            self._start_tick()
        else:
            loop.call_soon_threadsafe(self._start_tick)

    def _start_tick(self) -> None:
        self._again = True
        if self._lock.locked():
            return  # the tick in progress looks again before it ends
        task = asyncio.get_running_loop().create_task(self.tick(), name=f"outbox-sender-{self.business_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def tick(self, now: datetime | None = None) -> list[DeliveryResult]:
        """Deliver what is due now and report each outcome; also the scheduler's periodic job.

        Ticks of one sender never overlap: a wake-up during a tick makes it look again before it ends. Several
        processes may tick at once: the outbox hands each row to one of them.
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._again = True
        if self.config is None:
            log.warning("SMTP is not configured (SMTP_HOST): approved e-mails wait in the outbox")
            return []
        if self._lock.locked():
            return []
        results: list[DeliveryResult] = []
        async with self._lock:
            while self._again:
                self._again = False
                try:
                    results += await deliver_due(
                        self.engine,
                        self.config,
                        business_id=self.business_id,
                        now=now or utcnow(),
                        limit=self.limit,
                        on_result=self._notify,
                    )
                except Exception:  # the database or the network failed: the next tick tries again
                    log.exception("outbox sender of business %s: tick failed", self.business_id)
                    break
        return results

    async def recover(self) -> list[DeliveryResult]:
        """At start-up: mark this business's interrupted e-mails `unknown` and tell the listeners."""
        self._loop = asyncio.get_running_loop()
        results = await asyncio.to_thread(recover_unknown_at_startup, self.engine, self.business_id)
        for result in results:
            await self._notify(result)
        return results

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait for the deliveries started by `wake` (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
