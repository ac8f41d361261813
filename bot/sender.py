"""The outbox sender: a JobQueue callback that delivers due e-mails and tells the chat side what became of them.

Thin on purpose: claiming, sending and recording live in services.outbox. The chat side registers a callback with
`on_delivery_outcome` to edit the reminder's card ("Envoyé le ...") or warn the owner (failure, statut incertain).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from messages.delivery import SmtpConfig
from services.outbox import DeliveryResult, deliver_due, recover_unknown_at_startup
from storage.types import utcnow

log = logging.getLogger(__name__)

#: How often the JobQueue wakes the sender.
TICK_INTERVAL = timedelta(seconds=30)
ENGINE_KEY = "engine"
SMTP_CONFIG_KEY = "smtp_config"

OutcomeCallback = Callable[[DeliveryResult, Any], Awaitable[None]]
_callbacks: list[OutcomeCallback] = []
_tick_lock: asyncio.Lock | None = None


def on_delivery_outcome(callback: OutcomeCallback) -> OutcomeCallback:
    """Register `callback(result, context)`, awaited for every outcome (usable as a decorator)."""
    if callback not in _callbacks:
        _callbacks.append(callback)
    return callback


def clear_delivery_callbacks() -> None:
    """Forget every registered callback (tests, shutdown)."""
    _callbacks.clear()


def _resolve(context_or_engine: Any, config: SmtpConfig | None) -> tuple[Engine, SmtpConfig | None]:
    if isinstance(context_or_engine, Engine):
        return context_or_engine, config
    # A PTB CallbackContext: the job's data first, then bot_data (where the application wires its services).
    sources: list[Mapping[str, Any]] = []
    job = getattr(context_or_engine, "job", None)
    if job is not None and isinstance(getattr(job, "data", None), Mapping):
        sources.append(job.data)
    bot_data = getattr(context_or_engine, "bot_data", None)
    if isinstance(bot_data, Mapping):
        sources.append(bot_data)
    engine = next((s[ENGINE_KEY] for s in sources if ENGINE_KEY in s), None)
    if not isinstance(engine, Engine):
        raise RuntimeError(f"sender_tick needs an Engine under {ENGINE_KEY!r} in job.data or bot_data")
    if config is None:
        config = next((s[SMTP_CONFIG_KEY] for s in sources if SMTP_CONFIG_KEY in s), None)
    return engine, config


async def _notify(results: list[DeliveryResult], context: Any) -> None:
    for result in results:
        log.info(
            "outbox %s (reminder %s): %s after %s attempt(s)",
            result.outbox_id,
            result.reminder_id,
            result.outcome,
            result.attempts,
        )
        for callback in list(_callbacks):
            try:
                await callback(result, context)
            except Exception:  # one broken listener must not stop the others, nor the sender
                log.exception("delivery callback failed for outbox %s", result.outbox_id)


async def sender_tick(
    context_or_engine: Any, config: SmtpConfig | None = None, *, now: datetime | None = None, limit: int = 50
) -> list[DeliveryResult]:
    """Deliver what is due now and report each outcome; a JobQueue callback (pass the context) or a plain call.

    Ticks of one process never overlap (a slow SMTP server just delays the next one); several processes may run
    ticks at the same time, the outbox hands each row to one of them.
    """
    global _tick_lock
    engine, config = _resolve(context_or_engine, config)
    if config is None:
        log.warning("SMTP is not configured (SMTP_HOST): approved e-mails wait in the outbox")
        return []
    if _tick_lock is None:
        _tick_lock = asyncio.Lock()
    if _tick_lock.locked():
        return []
    context = None if isinstance(context_or_engine, Engine) else context_or_engine

    async def tell(result: DeliveryResult) -> None:
        await _notify([result], context)

    async with _tick_lock:
        return await deliver_due(engine, config, now=now or utcnow(), limit=limit, on_result=tell)


async def recover_at_startup(engine: Engine, context: Any = None) -> list[DeliveryResult]:
    """Mark messages interrupted by a stop as `unknown` and tell the owner (card "statut incertain")."""
    results = await asyncio.to_thread(recover_unknown_at_startup, engine)
    await _notify(results, context)
    return results


def schedule_sender(job_queue: Any, *, engine: Engine, config: SmtpConfig | None, first: float = 5.0) -> Any:
    """Install the sender on PTB's JobQueue (every TICK_INTERVAL); returns the job."""
    return job_queue.run_repeating(
        sender_tick,
        interval=TICK_INTERVAL,
        first=first,
        data={ENGINE_KEY: engine, SMTP_CONFIG_KEY: config},
        name="outbox-sender",
    )
