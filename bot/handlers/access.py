"""Owner only, private chats only: strangers get one refusal a day and are counted; errors are logged and told.

Why the design (issue 8, section 9). PTB processes updates one at a time, and every request of `context.bot` goes
through the one AIORateLimiter (30 messages/s for the whole bot, and a Telegram 429 pauses every request). When
each stranger update wrote an evidence entry and awaited its reply in the gate, 5,000 of them in a minute held the
owner's taps behind them for over a minute. Now:

- The gate (group -1, blocking so that ApplicationHandlerStop ends the update) decides in memory, in microseconds:
  groups, supergroups, channels and Business chats are ignored, owners go on, a stranger's update is counted
  (`services.access.StrangerLog.arrive`). Nothing in it waits for the network or the database.
- Only a stranger's first update of the business day is refused, and only while a small budget allows
  (`REFUSALS_PER_SECOND`, burst `REFUSAL_BURST`); beyond it the update is only counted and a later update of the
  same stranger may still get the refusal. So a flood costs Telegram at most a few messages per second.
- The refusal is queued to one worker task: it writes the evidence entry in a thread (`StrangerLog.refuse`, which
  also checks the log after a restart) and sends the refusal with a second `Bot` that shares the HTTP connection
  pool but not the owner's rate limiter: the owner's cards never wait behind a refusal, and a 429 earned by
  refusals silences refusals only (for the time Telegram asks), never the owner's cards.
- The per-day counts are written as one `access_refused_count` entry when a later day's first stranger update
  arrives, and at shutdown (`close`).
- The log gets one summary line per SUMMARY_INTERVAL while strangers write (updates, strangers, refusals, and what
  went wrong: queue full, refusal not delivered, worker error), never a line per update: a flood of 10,000 updates
  a minute is one line a minute. A worker error's traceback is logged once per interval, the rest counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from dataclasses import dataclass, field
from datetime import date

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, ApplicationHandlerStop

from bot.handlers.common import BUSINESS, HEAD, SERVICES_KEY, TENANCY_KEY, Context, answer, lang, reply, services_of
from bot.i18n import lang_of, t
from services.access import StrangerLog

log = logging.getLogger(__name__)

DOOR_KEY = "strangers"
#: Refusals sent per second at most (sustained), and in a burst. Telegram allows a bot about 30 messages a second
#: in all; the owner's limiter keeps its 30 and refusals add at most this many.
REFUSALS_PER_SECOND = 2.0
REFUSAL_BURST = 5
#: Refusals waiting for the worker; more means the database is stuck, and the extra ones are dropped.
QUEUE_SIZE = 50
#: Shutdown waits this long for the refusals already queued.
CLOSE_TIMEOUT = 2.0
#: Seconds summed up by one log line about strangers (the first stranger update starts the interval).
SUMMARY_INTERVAL = 60.0
#: Distinct strangers remembered for one summary; beyond, the summary says "at least".
SUMMARY_STRANGERS = 10_000


class Budget:
    """A token bucket: `take()` is True while refusals stay under `rate` a second (after a burst of `burst`)."""

    def __init__(self, rate: float, burst: int, clock: object = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = self._now()
        self.quiet_until = 0.0  # set after a 429: nothing is sent before

    def _now(self) -> float:
        return float(self._clock())  # type: ignore[operator]

    def take(self) -> bool:
        now = self._now()
        if now < self.quiet_until:
            return False
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@dataclass(frozen=True)
class _Job:
    day: date
    user_id: int
    what: str
    chat_id: int | None
    callback_id: str | None
    lang: str


@dataclass
class Tally:
    """What strangers did during one summary interval (memory only)."""

    updates: int = 0
    strangers: set[int] = field(default_factory=set)
    refused: int = 0  # refusals decided (queued for the worker)
    dropped: int = 0  # refusal queue full: the update only counted
    undelivered: int = 0  # Telegram did not take a refusal (blocked bot, expired button, 429)
    errors: int = 0  # the worker failed on a refusal (traceback logged for the first one)

    def line(self, seconds: float) -> str:
        many = "at least " if len(self.strangers) >= SUMMARY_STRANGERS else ""
        text = (f"strangers in the last {seconds:g} s: {self.updates} update(s) from {many}{len(self.strangers)} "
                f"user(s), {self.refused} refused")  # fmt: skip
        problems = [(self.dropped, "dropped (refusal queue full)"), (self.undelivered, "refusal(s) not delivered"),
                    (self.errors, "refusal error(s)")]  # fmt: skip
        return text + "".join(f", {count} {what}" for count, what in problems if count)


@dataclass
class Door:
    """The strangers' side of the application: their log, the reply budget, the queue and its worker, the sender."""

    log: StrangerLog
    bot: Bot
    budget: Budget = field(default_factory=lambda: Budget(REFUSALS_PER_SECOND, REFUSAL_BURST))
    queue: asyncio.Queue[_Job | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    worker: asyncio.Task[None] | None = None
    tally: Tally = field(default_factory=Tally)
    summary: asyncio.TimerHandle | None = None  # the summary line due at the end of the current interval
    since: float = 0.0  # when the current interval started (time.monotonic())

    def counted(self) -> Tally:
        """The current interval's tally; its first count schedules the summary line SUMMARY_INTERVAL later."""
        if self.summary is None:
            self.since = time.monotonic()
            self.summary = asyncio.get_running_loop().call_later(SUMMARY_INTERVAL, self.summarize)
        return self.tally

    def summarize(self) -> None:
        """Log the interval's one line (a warning when something went wrong), and start counting afresh."""
        if self.summary is not None:
            self.summary.cancel()
            self.summary = None
        tally, self.tally = self.tally, Tally()
        if tally.updates or tally.dropped or tally.undelivered or tally.errors:
            troubled = tally.dropped or tally.undelivered or tally.errors
            seconds = round(min(SUMMARY_INTERVAL, time.monotonic() - self.since), 1)
            log.log(logging.WARNING if troubled else logging.INFO, "%s", tally.line(seconds))


def _refusal_bot(application: Application) -> Bot:
    """A Bot without the owner's rate limiter (and without defaults: the refusal is plain text), same connections."""
    main = application.bot
    return Bot(
        main.token,
        base_url=lambda _token: main.base_url,
        base_file_url=lambda _token: main.base_file_url,
        request=main.request,
        get_updates_request=main.request,
    )


def door_of(application: Application) -> Door:
    """The application's Door, made on the first stranger update."""
    door = application.bot_data.get(DOOR_KEY)
    if not isinstance(door, Door):
        services = application.bot_data[SERVICES_KEY]
        door = Door(StrangerLog(services.engine, services.business_id, services.tz), _refusal_bot(application))
        application.bot_data[DOOR_KEY] = door
    if door.worker is None or door.worker.done():
        door.worker = asyncio.get_running_loop().create_task(_work(door), name="relance-refusals")
    return door


def _elsewhere(update: Update) -> bool:
    """True for updates outside a private chat with the bot: groups, supergroups, channels, Business chats, inline."""
    if update.business_message or update.edited_business_message or update.business_connection:
        return True
    if update.deleted_business_messages:
        return True
    query = update.callback_query
    if query is not None and query.message is None:
        return True  # a button of an inline message: the bot posts none
    chat = update.effective_chat
    return chat is not None and chat.type != ChatType.PRIVATE


async def owner_gate(update: object, context: Context) -> None:
    """Runs before every handler: only owners in their private chat go on; a stranger is counted, refused once a day."""
    if not isinstance(update, Update) or _elsewhere(update):
        raise ApplicationHandlerStop
    BUSINESS.set(None)
    HEAD.set(None)
    user = update.effective_user
    services = services_of(context)
    tenancy = context.bot_data.get(TENANCY_KEY)
    if user is not None and tenancy is not None:
        # Several businesses: an owner goes on, about the business of the tapped card or their current one (an
        # owner of several sees its name atop every answer); the services then refuse any other business's ids.
        message = update.callback_query.message if update.callback_query is not None else None
        business_id = tenancy.route(user.id)
        if message is not None and len(tenancy.businesses_of(user.id)) > 1:
            # A button on a card of another of their businesses acts there, and makes it their current business
            # (a question it asks is answered there too).
            tapped = (str(message.chat.id), str(message.message_id))
            routed = await asyncio.to_thread(tenancy.route, user.id, tapped)
            if routed is not None and routed != business_id:
                await asyncio.to_thread(tenancy.choose, user.id, routed)
                business_id = routed
        if business_id is not None:
            BUSINESS.set(business_id)
            HEAD.set(tenancy.head_of(user.id, business_id))
            return
    if user is not None and services.is_owner(user.id):
        return
    if user is None:
        raise ApplicationHandlerStop
    door = door_of(context.application)
    tally = door.counted()
    tally.updates += 1
    if len(tally.strangers) < SUMMARY_STRANGERS:
        tally.strangers.add(user.id)
    query = update.callback_query
    # Only a message or a button press is answered; other updates of a stranger (edits, reactions, blocking the
    # bot) are counted.
    answerable = query is not None or (update.message is not None and update.effective_chat is not None)
    day = services.today()
    arrival = door.log.arrive(day, user.id, lambda: answerable and door.budget.take())
    if arrival.new_day:
        _enqueue(door, None)
    if arrival.refuse:
        chat = update.effective_chat
        job = _Job(
            day=day,
            user_id=user.id,
            what="callback" if query is not None else "message",
            chat_id=chat.id if chat is not None and query is None else None,
            callback_id=query.id if query is not None else None,
            lang=lang_of(user.language_code),
        )
        if _enqueue(door, job):
            tally.refused += 1
    raise ApplicationHandlerStop


def _enqueue(door: Door, job: _Job | None) -> bool:
    try:
        door.queue.put_nowait(job)
    except asyncio.QueueFull:
        door.counted().dropped += 1  # said in the interval's summary, not once per update
        return False
    return True


async def _work(door: Door) -> None:
    """Write each refusal's entry (in a thread), then send it; a None job writes the finished days' counts."""
    while True:
        job = await door.queue.get()
        try:
            if job is None:
                await asyncio.to_thread(door.log.flush)
                continue
            outcome = await asyncio.to_thread(door.log.refuse, job.day, job.user_id, job.what)
            if outcome.reply:
                await _send(door, job)
        except Exception:
            tally = door.counted()
            if not tally.errors:  # the first traceback of the interval; the others are counted in its summary
                log.exception("could not refuse a stranger")
            tally.errors += 1
        finally:
            door.queue.task_done()


async def _send(door: Door, job: _Job) -> None:
    text = t("private", job.lang)
    try:
        if job.callback_id is not None:
            await door.bot.answer_callback_query(job.callback_id, text=text, show_alert=True)
        elif job.chat_id is not None:
            await door.bot.send_message(job.chat_id, text)
    except RetryAfter as exc:
        # Telegram asks us to slow down: refusals stop for that long; the owner's requests are not paused.
        retry = exc.retry_after
        seconds = retry if isinstance(retry, (int, float)) else retry.total_seconds()
        door.budget.quiet_until = time.monotonic() + float(seconds)
        door.counted().undelivered += 1
        log.warning("refusals paused for %s s (Telegram rate limit)", seconds)
    except TelegramError as exc:
        # The stranger blocked the bot, the button expired...: nothing to do; counted in the interval's summary.
        door.counted().undelivered += 1
        log.debug("could not send a refusal: %s", exc)


async def settle(application: Application) -> None:
    """Wait until the queued refusals are written and sent (tests, shutdown)."""
    door = application.bot_data.get(DOOR_KEY)
    if isinstance(door, Door):
        await door.queue.join()


async def close(application: Application) -> None:
    """At shutdown: let the queued refusals finish (briefly), stop the worker, write the counts of today and before."""
    door = application.bot_data.get(DOOR_KEY)
    if not isinstance(door, Door):
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(door.queue.join(), CLOSE_TIMEOUT)
    if door.worker is not None:
        door.worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await door.worker
    door.summarize()  # the interval in progress, cut short
    await asyncio.to_thread(door.log.flush, final=True)


async def on_error(update: object, context: Context) -> None:
    """The one error handler: log with the traceback, tell the owner briefly (never the details or secrets)."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        if user is not None and services_of(context).is_owner(user.id):
            try:
                if update.callback_query is not None:
                    await answer(update, t("error", lang(update)))
                else:
                    await reply(update, html.escape(t("error", lang(update)), quote=False))
            except Exception:  # telling the owner is best effort
                log.exception("could not tell the owner about an error")
