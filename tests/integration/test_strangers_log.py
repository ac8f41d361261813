"""A flood of strangers in the log (issue 12): one summary line per interval, never one line per update.

The bot in-process (recording Bot API, SQLite): thousands of private updates from strangers go through the gate;
every log record of the run is caught. The interval is shortened from a minute to a fraction of a second so that
the flood spans several intervals in a couple of seconds.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update

from bot.handlers import access
from tests.bot_harness import BotHarness

UPDATES = 10_000
STRANGERS = 1_000
FIRST = 7_000_000
SUMMARY = re.compile(r"strangers in the last [\d.]+ s: (\d+) update\(s\) from (?:at least )?(\d+) user\(s\)")


def _updates(start: int, count: int) -> list[Update]:
    updates = []
    for n in range(start, start + count):
        user = {"id": FIRST + n % STRANGERS, "is_bot": False, "first_name": "Inconnu", "language_code": "fr"}
        message = {"message_id": n + 1, "date": int(datetime.now(UTC).timestamp()), "text": "bonjour",
                   "chat": {"id": user["id"], "type": "private"}, "from": user}  # fmt: skip
        updates.append({"update_id": n + 1, "message": message})
    return [Update.de_json(u, None) for u in updates]  # type: ignore[arg-type]


async def _flood(bot: BotHarness, *, chunk: int, pause: float) -> float:
    """UPDATES stranger updates through the application's handlers, `chunk` at a time; returns the seconds taken."""
    started = time.monotonic()
    for start in range(0, UPDATES, chunk):
        for update in _updates(start, chunk):
            update.set_bot(bot.app.bot)
            await bot.app.process_update(update)
        await asyncio.sleep(pause)
    return time.monotonic() - started


def _summaries(records: list[logging.LogRecord]) -> list[tuple[int, int]]:
    found = [SUMMARY.match(r.getMessage()) for r in records]
    return [(int(m[1]), int(m[2])) for m in found if m is not None]


async def test_a_flood_of_strangers_is_one_log_line_per_interval(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,000 updates from 1,000 strangers over several intervals: one summary line per interval (give or take the
    interval cut at the end), their counts adding up to every update, and no other line at all from the flood."""
    interval = 0.5
    monkeypatch.setattr(access, "SUMMARY_INTERVAL", interval)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    seconds = await _flood(bot, chunk=500, pause=0.1)
    await access.settle(bot.app)
    await asyncio.sleep(interval * 1.5)  # the last interval's line is due
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    summaries = _summaries(records)
    print(f"{UPDATES} stranger updates in {seconds:.1f} s, interval {interval} s: {len(records)} log line(s)")
    assert [r.getMessage() for r in records if not SUMMARY.match(r.getMessage())] == []  # nothing per update
    assert 1 <= len(summaries) <= seconds / interval + 2, [r.getMessage() for r in records]
    assert sum(updates for updates, _ in summaries) == UPDATES
    assert max(users for _, users in summaries) <= STRANGERS
    assert all(r.levelno == logging.INFO for r in records)  # nothing went wrong: informational
    await access.close(bot.app)
    assert _summaries([r for r in caplog.records if r.levelno >= logging.INFO]) == summaries  # nothing left to say


async def test_within_a_minute_the_flood_is_one_line(bot: BotHarness, caplog: pytest.LogCaptureFixture) -> None:
    """The real interval (a minute): the whole flood, well inside it, makes no line until the minute is up (here the
    shutdown cuts it short), then exactly one, with every update and every stranger in it."""
    assert access.SUMMARY_INTERVAL == 60.0
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    await _flood(bot, chunk=1_000, pause=0)
    await access.settle(bot.app)
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []
    await access.close(bot.app)
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert _summaries(records) == [(UPDATES, STRANGERS)] and len(records) == 1
    assert "refused" in records[0].getMessage()


async def test_trouble_is_counted_in_the_summary_not_logged_per_update(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stuck (the refusal queue fills up, the rest dropped), then failing: counted in the one line,
    which is then a warning; the worker's failures leave one traceback, not one per refusal."""
    door = access.door_of(bot.app)
    door.budget = access.Budget(1e9, 10**9)  # every stranger's first update is refused
    release = threading.Event()

    def stuck(*args: Any) -> Any:
        release.wait(10)
        raise RuntimeError("database stuck")

    monkeypatch.setattr(door.log, "refuse", stuck)
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    total = access.QUEUE_SIZE + 20
    updates = _updates(0, total)
    for n, update in enumerate(updates):
        update.set_bot(bot.app.bot)
        await bot.app.process_update(update)
        if n == 0:
            await asyncio.sleep(0.3)  # the worker takes the first refusal and hangs on the database
    release.set()
    await asyncio.wait_for(access.settle(bot.app), 10)
    await access.close(bot.app)
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    queued = 1 + access.QUEUE_SIZE
    seconds = records[-1].getMessage().split()[4]
    assert [r.getMessage() for r in records] == [
        "could not refuse a stranger",
        f"strangers in the last {seconds} s: {total} update(s) from {total} user(s), {queued} refused, "
        f"{total - queued} dropped (refusal queue full), {queued} refusal error(s)",
    ]
    assert records[-1].levelno == logging.WARNING
