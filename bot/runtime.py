"""The `relance run` process: the business's services opened once, every configured chat adapter (Telegram, Slack or
both) over them, and one scheduler for all of them (the digest check and the outbox sender's tick).

The scheduler only wakes the process; the database decides. The digest check runs at start and every minute: the
services claim the day's digest once (even across restarts and several processes), and the runtime hands the same
digest to every adapter. One sender per business delivers the approved e-mails and reports each outcome to every
adapter, so a card tapped in Slack is also refreshed in Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import random
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.adapters import AdapterStartError, ChatAdapter
from bot.business import build_context, load_rates, renderer_for, settings_ladder
from bot.health import Health, HttpServer, health_application
from bot.outage import Outage
from bot.sender import TICK_INTERVAL, Sender
from bot.settings import Settings, SettingsError, check_slack_settings, check_webhook_settings, smtp_config
from bot.tenancy import Business
from bot.webhook import WebhookConfig
from services.core import DigestData, Services
from services.mailbox import MailboxWatcher

log = logging.getLogger(__name__)

#: The scheduler's job ids: the digest check (every minute) and the outbox sender's tick (every TICK_INTERVAL).
DIGEST_JOB = "digest"
SENDER_JOB = "outbox-sender"
#: The sender's first tick after start; the wake-up at start already sends what fell due while the process was down.
SENDER_FIRST_TICK = timedelta(seconds=5)
#: How many businesses' senders may talk to their SMTP servers at once in one tick (a thousand businesses: not a
#: thousand connections).
SENDERS_AT_ONCE = 16
#: At stop, how long a digest being delivered or an e-mail being sent may take to finish.
STOP_GRACE = 5.0
#: At start, a database that does not answer is tried again after 1 s, then twice as long each time up to 60 s,
#: for as long as it takes (never given up: PostgreSQL starting after the bot, or down for a while, is waited for);
#: SIGTERM or Ctrl+C stops the wait cleanly.
DB_FIRST_RETRY = 1.0
DB_MAX_RETRY = 60.0

#: Builds the adapters of the process over the business's services.
AdapterFactory = Callable[[Settings, Services], list[ChatAdapter]]


def open_services(settings: Settings) -> Services:
    """The database (migrated), the business brought in line with the settings, the delivery (SMTP outbox, or
    .eml files without SMTP_HOST), rates and templates checked now (file and line), never at send time."""
    from services.rates import missing_half_year
    from storage.db import make_engine

    check_payment_details(settings)
    load_rates(settings)  # a bad RATES_FILE is reported now, naming the file and the field
    renderer = renderer_for(settings)
    # Every step of the configured ladder and every message kind, rendered from sample data: a broken template or
    # a custom step without its files is reported now, with file and line, never at send time.
    renderer.check(settings_ladder(settings).steps)
    engine = make_engine(settings.DATABASE_URL, admin_url=settings.DATABASE_ADMIN_URL)
    core = Services(build_context(engine, settings, apply=True, renderer=renderer))
    half_year = missing_half_year(core.rate_table, core.today())
    if half_year is not None:
        log.warning(
            "the ECB rate for %s is not in the rate table: penalties are stated without figures until you add it "
            "with /taux %s <rate> in the chat or to RATES_FILE (see README, Rate table)",
            half_year,
            half_year,
        )
    return core


def open_services_waiting(
    settings: Settings, *, first: float = DB_FIRST_RETRY, longest: float = DB_MAX_RETRY
) -> Services:
    """`open_services`, waiting for a database that does not answer: one warning line (the URL without its
    password), a try after `first` seconds then twice as long each time up to `longest`, forever; a line when it
    answers. SIGTERM or SIGINT during the wait exits 0 (no crash loop under systemd or Docker)."""
    from storage.db import database_unreachable, describe_database_error, safe_url

    outage = Outage(f"the database at {safe_url(settings.DATABASE_URL)}", log)
    stop = threading.Event()
    main = threading.current_thread() is threading.main_thread()  # signal handlers only there (a test's thread)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT) if main}
    delay = first
    try:
        while True:
            try:
                core = open_services(settings)
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                outage.failed(
                    describe_database_error(exc),
                    f"Relance waits for it (tries again after {first:g} s, then up to every {longest:g} s)",
                )
            else:
                outage.recovered()
                return core
            if stop.wait(delay):
                log.warning("stopped while waiting for the database")
                raise SystemExit(0)
            delay = min(delay * 2, longest)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_payment_details(settings: Settings) -> None:
    """IBAN and BIC, when given, must be valid (checked at start-up, never discovered in a client's e-mail)."""
    from messages.banking import validate_payment_details

    try:
        validate_payment_details(settings.COMPANY_IBAN, settings.COMPANY_BIC)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    if not settings.COMPANY_IBAN:
        log.warning("COMPANY_IBAN is not set: reminders will not say how to pay by transfer")


def configured_adapters(
    settings: Settings,
    core: Services,
    *,
    slack_http: bool = False,
    webhook: WebhookConfig | None = None,
    worker: bool = False,
) -> list[ChatAdapter]:
    """Telegram when TELEGRAM_BOT_TOKEN is set (long polling, or a webhook with `webhook`), Slack when SLACK_BOT_TOKEN
    is (Socket Mode, or HTTP with `slack_http`); each imported only when configured. A `worker` (`--worker`) only
    sends through them: it receives no update."""
    adapters: list[ChatAdapter] = []
    if settings.bot_token:
        from bot.app import TelegramAdapter

        adapters.append(TelegramAdapter(settings, core, webhook=None if worker else webhook, receive=not worker))
    if settings.slack_bot_token:
        from bot.slack.app import SlackAdapter

        adapters.append(SlackAdapter(settings, core, http=slack_http and not worker, receive=not worker))
    return adapters


async def start_sender(settings: Settings, core: Services, adapters: Sequence[ChatAdapter]) -> Sender:
    """The business's one sender, reporting every outcome to every adapter; taps only queue and wake it. E-mails
    interrupted by the last stop are marked unknown (the owners told in every chat); what fell due meanwhile leaves
    now."""
    sender = Sender(core.engine, smtp_config(settings), core.business_id)
    for adapter in adapters:
        sender.on_outcome(adapter.on_outcome)
        smtp_state = getattr(adapter, "on_smtp_state", None)  # owners told once when SMTP goes down, once when back
        if smtp_state is not None:
            sender.on_smtp_state(smtp_state)
    attach = getattr(core.delivery, "attach_sender", None)
    if attach is not None:
        attach(sender.wake)  # from now on a tap queues and wakes the sender, it never talks SMTP itself
    await sender.recover()
    sender.wake()
    return sender


async def start_business_sender(business: Business, business_id: int, adapters: Sequence[ChatAdapter]) -> Sender:
    """The sender of a business with its own SMTP account (`relance business set --smtp-host`)."""
    sender = Sender(business.services.engine, business.smtp, business_id)
    for adapter in adapters:
        sender.on_outcome(adapter.on_outcome)
        smtp_state = getattr(adapter, "on_smtp_state", None)  # owners told once when SMTP goes down, once when back
        if smtp_state is not None:
            sender.on_smtp_state(smtp_state)
    attach = getattr(business.services.delivery, "attach_sender", None)
    if attach is not None:
        attach(sender.wake)
    await sender.recover()
    sender.wake()
    return sender


def start_mailbox(core: Services, adapters: Sequence[ChatAdapter]) -> MailboxWatcher:
    """The business's mailbox watcher (IMAP_HOST set), in the background. An adapter that shows received messages
    (`on_mail_received`) or the mailbox's problems (`on_mailbox_problem`, e.g. a refused login) is told of each."""
    watcher = MailboxWatcher(core.ctx)
    for adapter in adapters:
        received = getattr(adapter, "on_mail_received", None)
        if received is not None:
            watcher.on_received(received)
        problem = getattr(adapter, "on_mailbox_problem", None)
        if problem is not None:
            watcher.on_problem(problem)
    watcher.start()
    return watcher


def start_business_mailbox(business_id: int, business: Business, adapters: Sequence[ChatAdapter]) -> MailboxWatcher:
    """The mailbox watcher of a business with its own IMAP account: its replies and problems go to its owners
    only (`on_mail_received_of` / `on_mailbox_problem_of` of each adapter that serves several businesses)."""
    watcher = MailboxWatcher(business.services.ctx)
    for adapter in adapters:
        received = getattr(adapter, "on_mail_received_of", None)
        if received is not None:
            watcher.on_received(functools.partial(received, business_id))
        problem = getattr(adapter, "on_mailbox_problem_of", None)
        if problem is not None:
            watcher.on_problem(functools.partial(problem, business_id))
    watcher.start()
    return watcher


class Runtime:
    """The process's chat adapters over one business's services, with one scheduler and one outbox sender."""

    def __init__(
        self, settings: Settings, core: Services, adapters: Sequence[ChatAdapter], *, worker: bool = False
    ) -> None:
        self.settings = settings
        #: A worker (`relance run --worker`) runs the jobs (digests, e-mails) with the others but receives nothing:
        #: the deployment's one receiving process (storage/workers.py hold_receiver) gets the chat's updates and
        #: watches the mailboxes.
        self.worker = worker
        self._receiving = False
        self.processes = 0  # Relance processes on the database at the last count (_share_flood_limit)
        self._rotation = random.randrange(1 << 30)  # where this process starts its walk over the businesses
        self._smtp_seen: dict[int, tuple[object, ...] | None] = {}  # each business's SMTP settings, last minute
        self.core = core
        self.adapters = list(adapters)
        self.scheduler = AsyncIOScheduler(timezone=core.tz)
        self.sender: Sender | None = None
        self.mailbox: MailboxWatcher | None = None  # replies by e-mail, with IMAP_HOST
        self._started: list[ChatAdapter] = []
        self._jobs: set[asyncio.Task[object]] = set()
        # /healthz: the database now and this scheduler's last ticks; served by an adapter that has a server (the
        # Telegram webhook) and on HEALTH_PORT when set.
        self.health = Health(settings.DATABASE_URL)
        for adapter in self.adapters:
            serve = getattr(adapter, "serve_health", None)
            if serve is not None:
                serve(self.health)
        self.health_server: HttpServer | None = None
        #: Several businesses in the database (`relance business add`): each one's services, the default's included.
        self.businesses: dict[int, Business] = {}
        self.other_senders: list[Sender] = []  # the other businesses' own SMTP accounts
        self.other_mailboxes: list[MailboxWatcher] = []  # the other businesses' own mailboxes
        #: The database failing during the day: one line when it goes, one when it is back (not one per job).
        self.database = Outage("the database", log)

    def open_businesses(self) -> None:
        """With several businesses in the database, every adapter that can serves them all (bot/tenancy.py) and the
        digest check covers each at its own time in its own time zone."""
        from bot.tenancy import open_businesses

        opened = open_businesses(self.core.engine, self.settings, self.core)
        if len(opened) < 2:
            return
        self.businesses = opened
        for adapter in self.adapters:
            serve = getattr(adapter, "serve_businesses", None)
            if serve is not None:
                serve(opened)
        log.info("serving %d businesses", len(opened))

    async def start(self) -> None:
        """Start every adapter, then the sender (with SMTP_HOST) and the scheduler: the digest check runs at once,
        then every minute. On a failure (AdapterStartError) or a cancel, what had started is stopped again."""
        try:
            if not self.worker and self.adapters:
                self._hold_receiver()
            self.open_businesses()
            if self.businesses:  # businesses with a Slack workspace of their own: one connection per workspace
                from bot.slack.workspaces import business_workspace_adapters

                self.adapters += business_workspace_adapters(
                    self.settings, self.core, self.businesses, receive=not self.worker
                )
            for adapter in self.adapters:
                await adapter.start()
                self._started.append(adapter)
                log.info("%s: started", adapter.name)
            if self.settings.SMTP_HOST:
                self.sender = await start_sender(self.settings, self.core, self.adapters)
            for business_id, business in self.businesses.items():
                if business.smtp is not None:  # a business with its own SMTP account gets its own sender
                    self.other_senders.append(await start_business_sender(business, business_id, self.adapters))
            if not self.worker:  # one watcher per mailbox in the deployment: the receiving process's
                if self.core.ctx.mailbox is not None:
                    self.mailbox = start_mailbox(self.core, self.adapters)
                for business_id, business in self.businesses.items():
                    if business_id != self.core.business_id and business.services.ctx.mailbox is not None:
                        self.other_mailboxes.append(start_business_mailbox(business_id, business, self.adapters))
            if self.settings.HEALTH_PORT is not None:
                self.health_server = HttpServer(
                    health_application(self.health), self.settings.HEALTH_LISTEN, self.settings.HEALTH_PORT, "health"
                )
                try:
                    await self.health_server.start()
                except OSError as exc:
                    self.health_server = None
                    raise AdapterStartError(
                        f"cannot listen on {self.settings.HEALTH_LISTEN}:{self.settings.HEALTH_PORT} for /healthz "
                        f"({exc.strerror or exc}); check HEALTH_LISTEN and HEALTH_PORT",
                        exit_code=1,
                    ) from None
            self._schedule()
            self.scheduler.start()
        except BaseException:
            await self.stop()
            raise

    def _schedule(self) -> None:
        """The digest check and, with a sender, its tick; both run once at start (the tick a little later)."""
        now = datetime.now(self.core.tz)
        # On the minute (one second past), not a daily timer: a timer missed by more than the scheduler's grace (a
        # paused or suspended process) would skip the day silently. A late check still runs (no grace limit), and
        # checks missed while asleep run once, not in a burst. The digest time is read from the database each time.
        self.scheduler.add_job(
            self._finishing(self._recording(self.check_digest, self.health.digest_checked)),
            CronTrigger(second=1, timezone=self.core.tz),
            id=DIGEST_JOB,
            next_run_time=now,
            misfire_grace_time=None,
            coalesce=True,
        )
        if self.sender is not None or self.other_senders:
            self.health.sender_expected = True  # any business's SMTP sender: its tick is watched too
            self.scheduler.add_job(
                self._finishing(self._recording(self._tick_senders, self.health.sender_ticked)),
                IntervalTrigger(seconds=TICK_INTERVAL.total_seconds()),
                id=SENDER_JOB,
                next_run_time=now + SENDER_FIRST_TICK,
                misfire_grace_time=None,
                coalesce=True,
            )

    def _recording(
        self, work: Callable[[], Awaitable[object]], done: Callable[[], None]
    ) -> Callable[[], Awaitable[object]]:
        """`work`, then `done()` when it completed without an error (the time /healthz reports). A database that
        does not answer is logged once per outage (the next run of the job tries again), not at every run."""
        from storage.db import database_unreachable, describe_database_error

        async def recorded() -> object:
            try:
                result = await work()
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                self.database.failed(describe_database_error(exc))
                return None
            self.database.recovered()
            done()
            return result

        return recorded

    def _finishing(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """A scheduler job that a stop lets finish (briefly) instead of cancelling it half-way: a digest claimed
        but not yet delivered, an e-mail on the wire."""

        async def job() -> None:
            task: asyncio.Task[object] = asyncio.ensure_future(work())
            self._jobs.add(task)
            task.add_done_callback(self._jobs.discard)
            with contextlib.suppress(asyncio.CancelledError):  # the scheduler stopped: `stop` waits for the task
                await asyncio.shield(task)

        return job

    async def _tick_senders(self) -> None:
        """One tick of every sender of the process, side by side (at most SENDERS_AT_ONCE talking SMTP at a time): a
        business whose SMTP server hangs until its timeout, or refuses the login, holds back no other business."""
        senders = ([self.sender] if self.sender is not None else []) + self.other_senders
        gate = asyncio.Semaphore(SENDERS_AT_ONCE)

        async def one(sender: Sender) -> None:
            sender.database = self.database  # one outage line for the whole process, whichever job saw it
            async with gate:
                await sender.scheduled_tick()

        await asyncio.gather(*(one(sender) for sender in senders))

    def refresh_smtp(self) -> None:
        """Each business's own SMTP account read again (every minute): a password fixed with `relance business set`
        is used from the next tick, without a restart. (A business that had none gets its sender at the next start.)"""
        from bot.tenancy import smtp_of
        from storage.db import read_session
        from storage.tenants import smtp_signatures

        with read_session(self.core.engine) as session:
            signatures = smtp_signatures(session)
        for sender in self.other_senders:
            signature = signatures.get(sender.business_id)
            if signature == self._smtp_seen.get(sender.business_id):
                continue  # unchanged since the last minute: nothing decrypted, nothing rebuilt
            self._smtp_seen[sender.business_id] = signature
            try:
                config = smtp_of(self.core.engine, self.settings, sender.business_id)
            except Exception:
                log.exception("the SMTP settings of business %s could not be read again", sender.business_id)
                continue
            if config is not None and sender.reconfigure(config):
                delivery = self.businesses[sender.business_id].services.delivery
                if hasattr(delivery, "config"):
                    delivery.config = config

    async def _share_flood_limit(self) -> None:
        """Every process of the deployment sends for the same bot: each keeps its share of the overall ceiling,
        counted again every minute (a worker started or stopped)."""
        from storage.workers import ensure_lease, live_processes

        def count() -> int:
            ensure_lease(self.core.engine)  # counted from the start, not from this process's first claim
            return live_processes(self.core.engine)

        processes = await asyncio.to_thread(count)
        if processes != self.processes:
            if self.processes or processes > 1:
                log.info("%d Relance processes on this database: each sends its share of the chat's rate", processes)
            self.processes = processes
            for adapter in self.adapters:
                share = getattr(adapter, "share_flood_limit", None)
                if share is not None:
                    share(processes)

    async def check_other_digests(self) -> None:
        """Each other business's digest, once due at its own time in its own time zone, to its owners; the owners and
        choices are read again (owners added with `relance business set` are served within a minute)."""
        for adapter in self.adapters:
            tenancy = getattr(adapter, "tenancy", None)
            if tenancy is not None:
                await asyncio.to_thread(tenancy.refresh)
        await asyncio.to_thread(self.refresh_smtp)
        from services.core import digest_overview

        # One read for every business (a thousand of them: a few queries, not a few thousand); only the businesses
        # whose digest is due, or whose digest of today is to be taken up, are asked in full.
        since = self.core.today() - timedelta(days=1)
        facts, undelivered = await asyncio.to_thread(digest_overview, self.core.engine, since)
        going: list[asyncio.Task[object]] = []
        # Each process starts at its own place in the list: several workers do not all claim the same business first.
        order = list(self.businesses.items())
        start = self._rotation % len(order) if order else 0
        for business_id, business in order[start:] + order[:start]:
            if business_id == self.core.business_id:
                continue
            if not business.services.may_have_digest(facts.get(business_id), undelivered.get(business_id)):
                continue
            try:
                data = await asyncio.to_thread(business.services.digest_if_due)
            except Exception:
                log.exception("the digest of business %s could not be prepared", business.services.ctx.slug)
                continue
            if data is None:
                continue
            deliveries = [
                (adapter.name, functools.partial(deliver, business_id, data))
                for adapter in self.adapters
                if (deliver := getattr(adapter, "deliver_digest_of", None)) is not None
            ]
            # Side by side: one business's digest waiting for its turn in the rate limiter (thousands of owners in
            # the morning) does not hold back the next business's; the limiter paces them all.
            going.append(self._background(self.deliver_in_window(business.services, data, deliveries)))
        await asyncio.gather(*going)

    async def check_digest(self) -> DigestData | None:
        """The day's digest, once it is due (claimed once a day in the database), to every adapter; one adapter
        failing does not keep it from the others."""
        await self._share_flood_limit()
        if self.businesses:
            await self.check_other_digests()
        data = await asyncio.to_thread(self.core.digest_if_due)
        if data is None:
            return None
        deliveries = [(adapter.name, functools.partial(adapter.deliver_digest, data)) for adapter in self.adapters]
        await self.deliver_in_window(self.core, data, deliveries)
        return data

    def _background(self, work: Awaitable[object]) -> asyncio.Task[object]:
        """A delivery running as a task of its own; `stop` gives it STOP_GRACE to finish like the scheduler's jobs."""
        task: asyncio.Task[object] = asyncio.ensure_future(work)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)
        return task

    async def deliver_in_window(
        self, services: Services, data: DigestData, deliveries: Sequence[tuple[str, Callable[[], Awaitable[None]]]]
    ) -> bool:
        """The digest to every adapter at once, each until the end of the business's sending window; one failing does
        not keep it from the others. Delivered (recorded, True) only when every adapter finished in time: otherwise the
        claimed digest stays undelivered and the next digest says so (services.core.DigestData.missed)."""
        deadline = await asyncio.to_thread(services.digest_deadline, data.day)
        timeout = None if deadline is None else max(0.0, (deadline - services.now()).total_seconds())
        slug = services.ctx.slug or services.business_id

        async def one(name: str, deliver: Callable[[], Awaitable[None]]) -> bool:
            try:
                await asyncio.wait_for(deliver(), timeout)
                return True
            except TimeoutError:
                log.warning("%s: the digest of %s (%s) did not go out by the end of the sending window; the next "
                            "digest reports it", name, data.day, slug)  # fmt: skip
            except Exception:
                log.exception("%s: the digest of %s was not delivered (%s)", name, data.day, slug)
            return False

        done = await asyncio.gather(*(one(name, deliver) for name, deliver in deliveries))
        if not all(done):
            return False
        await asyncio.to_thread(services.digest_delivered, data.day)
        log.info("digest sent for %s (%s)", data.day, slug)
        return True

    async def stop(self) -> None:
        """Stop the scheduler, let a digest or an e-mail in progress finish, stop the adapters (last started first)."""
        if self.scheduler.running:
            self.scheduler.pause()  # no new job from now on; the ones under way finish below
        if self._jobs:
            await asyncio.wait(set(self._jobs), timeout=STOP_GRACE)
        if self.scheduler.running:
            # The scheduler cancels the jobs it still holds: let their wrappers see their work end first, so a stop
            # in the middle of a digest leaves no cancelled job (and no traceback) behind.
            await asyncio.sleep(0)
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
        if self.mailbox is not None:
            await self.mailbox.stop(timeout=STOP_GRACE)
            self.mailbox = None
        for watcher in self.other_mailboxes:
            await watcher.stop(timeout=STOP_GRACE)
        self.other_mailboxes.clear()
        if self.sender is not None:
            await self.sender.settle(timeout=STOP_GRACE)
        for sender in self.other_senders:
            await sender.settle(timeout=STOP_GRACE)
        for adapter in reversed(self._started):
            try:
                await adapter.stop()
            except Exception:
                log.exception("%s: could not stop cleanly", adapter.name)
        self._started.clear()
        if self.health_server is not None:
            await self.health_server.stop()
            self.health_server = None
        self.health.close()
        if self._receiving:
            from storage.workers import release_receiver

            release_receiver(self.core.engine)
            self._receiving = False

    def _hold_receiver(self) -> None:
        """Become the deployment's one receiving process; a second one is refused with one clear line."""
        from storage.workers import ReceiverBusyError, hold_receiver

        try:
            hold_receiver(self.core.engine)
        except ReceiverBusyError:
            raise AdapterStartError(
                "another Relance process already receives the chat's updates for this database; start this one "
                "with `relance run --worker` to share the digests and e-mails, or stop the other one",
                exit_code=1,
            ) from None
        self._receiving = True


async def serve(runtime: Runtime) -> int:
    """Start, run until SIGINT or SIGTERM, stop; the exit code (an adapter's start-up failure: one line on stderr)."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stopping.set)
    try:
        # A stop signal also ends a start that is still waiting for a chat service (Slack down: retried with backoff).
        starting = asyncio.ensure_future(runtime.start())
        signalled = asyncio.ensure_future(stopping.wait())
        await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()  # Runtime.start stops what had started
            with contextlib.suppress(asyncio.CancelledError, AdapterStartError):
                await starting
            return 0
        signalled.cancel()
        try:
            starting.result()
        except AdapterStartError as exc:
            # The adapter's message is written for the owner and never holds a token.
            print(f"relance: {exc}", file=sys.stderr)
            return exc.exit_code
        try:
            log.info("running (%s) until Ctrl+C", ", ".join(adapter.name for adapter in runtime.adapters))
            # What start-up built (libraries, templates, the settings) lives as long as the process: out of the
            # collector's reach, full collections no longer walk it between two clicks.
            gc.freeze()
            await stopping.wait()
        finally:
            await runtime.stop()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
    return 0


def run(
    settings: Settings,
    *,
    slack_http: bool = False,
    webhook_url: str | None = None,
    adapters: AdapterFactory | None = None,
    worker: bool = False,
) -> None:
    """`relance run` with a chat token: every configured adapter until SIGINT or SIGTERM, then a clean stop;
    Telegram by webhook with `webhook_url` (`--webhook`), else by long polling.

    A bad setting, template or rate table exits 2 before the database is touched; an adapter that cannot start
    exits with its code (2 refused token, 1 unreachable), with one line on stderr each time.
    """
    from bot.logs import configure_logging, current_business

    configure_logging(settings)  # LOG_FORMAT (text or JSON lines); secrets masked in every line
    # httpx logs every request URL, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # slack_sdk logs each of its own connection retries: the Slack adapter's one line per attempt says it already.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    try:
        check_slack_settings(settings, http=slack_http)
        webhook = None
        if webhook_url is not None:
            check_webhook_settings(settings, webhook_url)
            assert settings.WEBHOOK_SECRET is not None  # checked just above
            webhook = WebhookConfig(
                webhook_url, settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT, settings.WEBHOOK_SECRET.get_secret_value()
            )
        # Settings, payment details, rates and templates are checked before connecting: one line, no traceback.
        core = open_services_waiting(settings)  # a database that does not answer is waited for
    except Exception as exc:
        from messages.render import TemplateError

        if not isinstance(exc, (SettingsError, TemplateError)):
            raise
        # A TemplateError's text starts with its file and line ("…/fr/reminder_1.text.j2:3: …").
        print(f"relance: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # One business per process: every log line names it (reset on the way out, for callers that run it in-process).
    business_token = current_business.set(core.ctx.slug or None)
    try:
        chosen = (
            adapters(settings, core)
            if adapters
            else configured_adapters(settings, core, slack_http=slack_http, webhook=webhook, worker=worker)
        )
        code = asyncio.run(serve(Runtime(settings, core, chosen, worker=worker)))
    finally:
        current_business.reset(business_token)
        core.engine.dispose()
    if code:
        raise SystemExit(code)
