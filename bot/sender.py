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

from bot.outage import Outage
from messages.delivery import SmtpConfig
from services.outbox import DeliveryResult, deliver_due, mark_reported, recover_unknown_at_startup, unreported
from storage.db import Engine, database_unreachable, describe_database_error
from storage.types import utcnow

log = logging.getLogger(__name__)

#: How often the scheduler ticks the sender (retries after a 4xx, e-mails waiting for the sending window).
TICK_INTERVAL = timedelta(seconds=30)

#: While the SMTP server cannot be reached, the scheduler's ticks try it again after TICK_INTERVAL, then twice as
#: long each time up to this (a tap's wake-up tries at once); the messages wait in the queue meanwhile.
SMTP_PROBE_MAX = timedelta(minutes=10)

OutcomeCallback = Callable[[DeliveryResult], Awaitable[None]]
#: `callback(business_id, down)`: the business's SMTP server stopped answering (True) or answers again (False).
SmtpStateCallback = Callable[[int, bool], Awaitable[None]]


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
        #: The SMTP server could not be reached at the last try (told once to the owners, and again when it is back).
        self.smtp_down = False
        self._state_callbacks: list[SmtpStateCallback] = []
        self._probe_after = TICK_INTERVAL
        self._next_probe: datetime | None = None
        #: The database failing: one line per outage (the runtime shares its own between its jobs).
        self.database = Outage("the database", log)

    def reconfigure(self, config: SmtpConfig | None) -> bool:
        """The business's SMTP account changed while running (`relance business set`): use it from the next tick,
        tried at once even during an outage's backoff (a fixed password is not kept waiting 10 minutes)."""
        if config == self.config:
            return False
        self.config = config
        self._probe_after = TICK_INTERVAL
        self._next_probe = None
        log.info("outbox sender of business %s: SMTP settings changed, used from now on", self.business_id)
        return True

    def on_outcome(self, callback: OutcomeCallback) -> OutcomeCallback:
        """Register `callback(result)`, awaited for every outcome of this business (usable as a decorator)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def on_smtp_state(self, callback: SmtpStateCallback) -> SmtpStateCallback:
        """Register `callback(business_id, down)`, awaited once when the SMTP server stops answering and once when
        it answers again (not once per message)."""
        if callback not in self._state_callbacks:
            self._state_callbacks.append(callback)
        return callback

    async def _smtp_state(self, results: list[DeliveryResult]) -> None:
        """Down when a try could not reach the server; up again when one reached it (whatever it answered)."""
        if not results:
            return  # nothing was tried: the server's state is unknown, keep the last one
        down = any(result.unreachable for result in results)
        reached = any(result.outcome in ("sent", "failed") or (result.outcome == "retry" and not result.unreachable)
                      for result in results)  # fmt: skip
        if not down and not reached:
            return  # only rows found interrupted (unknown): nothing was tried
        if not down:
            self._probe_after = TICK_INTERVAL
            self._next_probe = None
        else:
            self._next_probe = utcnow() + self._probe_after
            self._probe_after = min(self._probe_after * 2, SMTP_PROBE_MAX)
        if down == self.smtp_down:
            return
        self.smtp_down = down
        if down:
            log.warning("the SMTP server of business %s cannot be used (%s): the e-mails wait in the queue and are "
                        "tried again", self.business_id, results[-1].reply)  # fmt: skip
        else:
            log.warning("the SMTP server of business %s answers again: the queue is being sent", self.business_id)
        for callback in list(self._state_callbacks):
            try:
                await callback(self.business_id, down)
            except Exception:  # one broken listener must not stop the others, nor the sender
                log.exception("SMTP state callback failed for business %s", self.business_id)

    async def _notify(self, result: DeliveryResult) -> None:
        log.info("outbox %s (reminder %s): %s after %s attempt(s)",
                 result.outbox_id, result.reminder_id, result.outcome, result.attempts)  # fmt: skip
        for callback in list(self._callbacks):
            try:
                await callback(result)
            except Exception:  # one broken listener must not stop the others, nor the sender
                log.exception("delivery callback failed for outbox %s", result.outbox_id)
        if result.outcome != "retry":
            try:  # told: no process tells it again (a process killed before this line: the next one does)
                await asyncio.to_thread(mark_reported, self.engine, self.business_id, result.outbox_id)
            except Exception as exc:
                if not database_unreachable(exc):
                    log.exception("outbox %s: could not record that its outcome was told", result.outbox_id)

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
                except Exception as exc:  # the database or the network failed: the next tick tries again
                    if database_unreachable(exc):
                        self.database.failed(describe_database_error(exc))
                    else:
                        log.exception("outbox sender of business %s: tick failed", self.business_id)
                    break
                self.database.recovered()
            await self._smtp_state(results)
        return results

    async def scheduled_tick(self) -> list[DeliveryResult]:
        """The scheduler's tick: while the SMTP server is down, only once its backoff has passed (TICK_INTERVAL,
        doubling up to SMTP_PROBE_MAX), so a long outage is not hammered; a tap's `wake` tries at once."""
        if self.smtp_down and self._next_probe is not None and utcnow() < self._next_probe:
            return []
        return await self.tick()

    async def recover(self) -> list[DeliveryResult]:
        """At start-up: mark this business's interrupted e-mails `unknown`, and tell the listeners of those and of
        every outcome a process that died recorded without telling it (a card left on "envoi en cours", an
        uncertain send the owner never heard of)."""
        self._loop = asyncio.get_running_loop()
        results = await asyncio.to_thread(recover_unknown_at_startup, self.engine, self.business_id)
        marked = {result.outbox_id for result in results}
        untold = await asyncio.to_thread(unreported, self.engine, self.business_id)
        results += [result for result in untold if result.outbox_id not in marked]
        for result in results:
            await self._notify(result)
        return results

    async def settle(self, timeout: float = 60.0) -> None:
        """Wait for the deliveries started by `wake` (tests, shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
