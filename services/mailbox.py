"""The watcher of the business's mailbox: reads the messages that arrived since the last one it saw, hands each to
services.replies.ingest (linked ones are kept, the others ignored), and waits for the next: IMAP IDLE when the
server offers it, a look every two minutes otherwise. A lost connection or a refused login is retried with an
exponential backoff; a refused login is reported once (not once per message, nor once per attempt).

The mailbox is never changed, except for the \\Seen flag of the messages Relance kept (IMAP_MARK_SEEN=false: not
even that). Its place in the mailbox (folder UIDVALIDITY and the last UID read) is kept in
DATA_DIR/received/<business id>/cursor.json, so later scans only read new messages; the unique Message-ID of each
kept message makes a message read twice (a lost cursor, two processes) harmless.

The IMAP conversation is blocking (messages.imap): it runs in one worker thread, started and stopped from asyncio.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from messages.imap import ImapAuthError, ImapError, ImapSession, MailboxConfig, MessageHead
from services.context import BusinessContext
from services.replies import Ingested, LinkIndex, ingest, linking_index, received_folder, worth_reading

log = logging.getLogger(__name__)

__all__ = ["MAX_MESSAGE_BYTES", "POLL_INTERVAL", "MailboxProblem", "MailboxWatcher", "ScanReport"]

#: Without IDLE, how often the mailbox is looked at.
POLL_INTERVAL = timedelta(minutes=2)
#: With IDLE, how long one IDLE lasts before it is renewed (servers drop it after 30 minutes).
IDLE_RENEW = timedelta(minutes=10)
#: A message larger than this is not read (a reply to a reminder is small; its size is known before its body).
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
#: Headers are fetched this many messages at a time (one round trip per batch).
HEADER_BATCH = 200
#: From this many new messages on, they are sorted with an in-memory index rather than one query each.
INDEX_FROM = 50
#: Without a cursor (first start, or the folder was rebuilt), how far back the first scan looks.
FIRST_SCAN_DAYS = 30
#: Waits between two connection attempts after failures: 1 s, 2 s, 4 s... at most 5 minutes.
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0


@dataclass(frozen=True, slots=True)
class ScanReport:
    """One scan: what was read and what became of it."""

    results: tuple[Ingested, ...]
    skipped_large: tuple[int, ...] = ()  # UIDs of messages too large to read


@dataclass(frozen=True, slots=True)
class MailboxProblem:
    """The mailbox cannot be read: `auth` (login refused: the owner must fix the settings) or `connection`."""

    kind: str
    detail: str


ReceivedCallback = Callable[[Ingested], Coroutine[object, object, None]]
ProblemCallback = Callable[[MailboxProblem], Coroutine[object, object, None]]


class MailboxWatcher:
    """Watches one business's mailbox in a worker thread until `stop`."""

    def __init__(
        self,
        ctx: BusinessContext,
        config: MailboxConfig | None = None,
        *,
        poll_interval: float = POLL_INTERVAL.total_seconds(),
        idle_renew: float = IDLE_RENEW.total_seconds(),
        use_idle: bool = True,
        backoff_first: float = BACKOFF_FIRST,
    ) -> None:
        chosen = config or ctx.mailbox
        if chosen is None:
            raise ValueError("no mailbox configured (IMAP_HOST)")
        self.ctx = ctx
        self.config = chosen
        self.poll_interval = poll_interval
        self.idle_renew = idle_renew
        self.use_idle = use_idle
        self.backoff_first = backoff_first
        self.cursor_path = received_folder(ctx) / "cursor.json"
        self._received: list[ReceivedCallback] = []
        self._problems: list[ProblemCallback] = []
        self._stopping = threading.Event()
        self._session: ImapSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._reported_auth = False
        self._failures = 0
        #: Counts of completed scans (tests wait on it).
        self.scans = 0

    # --- listeners ---

    def on_received(self, callback: ReceivedCallback) -> ReceivedCallback:
        """Register `callback(ingested)`, awaited for each message kept (a reply, an automatic answer, a bounce)."""
        self._received.append(callback)
        return callback

    def on_problem(self, callback: ProblemCallback) -> ProblemCallback:
        """Register `callback(problem)`: a refused login (once until a login succeeds again)."""
        self._problems.append(callback)
        return callback

    def _publish(self, coroutines: list[Coroutine[object, object, None]]) -> None:
        """Run the listeners' coroutines on the watcher's event loop (called from the worker thread)."""
        loop = self._loop
        for coroutine in coroutines:
            if loop is None:
                coroutine.close()
                continue
            asyncio.run_coroutine_threadsafe(coroutine, loop).add_done_callback(_log_failure)

    # --- cursor ---

    def _read_cursor(self, uidvalidity: int) -> int:
        try:
            data = json.loads(self.cursor_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0
        if data.get("uidvalidity") != uidvalidity or data.get("folder") != self.config.folder:
            return 0  # another folder, or the server renumbered it: start again (Message-IDs prevent doubles)
        return int(data.get("last_uid", 0))

    def _write_cursor(self, uidvalidity: int, last_uid: int) -> None:
        self.cursor_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cursor_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"folder": self.config.folder, "uidvalidity": uidvalidity, "last_uid": last_uid}),
            encoding="utf-8",
        )
        os.replace(tmp, self.cursor_path)

    # --- one scan (blocking) ---

    def scan(self, session: ImapSession) -> ScanReport:
        """Read every message after the cursor, oldest first: headers first (by batches), the body only of those
        that may be linked; each such message is ingested, \\Seen set when it was kept (and IMAP_MARK_SEEN allows),
        and the cursor moved on after each message."""
        last = self._read_cursor(session.uidvalidity)
        since = self.ctx.clock.today() - timedelta(days=FIRST_SCAN_DAYS) if not last else None
        results: list[Ingested] = []
        large: list[int] = []
        heads = session.new_messages(last, since)
        # Many messages (a first scan): sorted in memory by what can link them; a few: one query each.
        index = linking_index(self.ctx) if len(heads) > INDEX_FROM else None
        for start in range(0, len(heads), HEADER_BATCH):
            if self._stopping.is_set():
                break
            batch = heads[start : start + HEADER_BATCH]
            headers = session.fetch_headers([h.uid for h in batch])
            done = 0
            for head in batch:
                if self._stopping.is_set():
                    break
                if self._read_one(session, head, headers.get(head.uid), results, large, index):
                    self._write_cursor(session.uidvalidity, head.uid)  # a kept message is never read again
                done = head.uid
            if done:
                self._write_cursor(session.uidvalidity, done)
        self.scans += 1
        return ScanReport(tuple(results), tuple(large))

    def _read_one(
        self,
        session: ImapSession,
        head: MessageHead,
        header: bytes | None,
        results: list[Ingested],
        large: list[int],
        index: LinkIndex | None,
    ) -> bool:
        """One message: its headers decide whether its body is worth fetching (never when it is too large). True
        when its body was read."""
        if header is None or not worth_reading(self.ctx, header, index):
            results.append(Ingested("unlinked", "reply", ""))
            return False
        if head.size > MAX_MESSAGE_BYTES:
            log.warning(
                "mailbox: message %s skipped, too large to be a reply (%d bytes, limit %d)",
                head.uid,
                head.size,
                MAX_MESSAGE_BYTES,
            )
            large.append(head.uid)
            return False
        raw = session.fetch_raw(head.uid)
        if raw is None:
            return False
        result = ingest(self.ctx, raw)
        results.append(result)
        if result.status == "stored":
            log.info("mailbox: %s from client %s kept (%s)", result.kind, result.client_id, result.linked_by)
            self._publish([callback(result) for callback in self._received])
        if result.status != "unlinked" and self.config.mark_seen:
            session.mark_seen(head.uid)
        return True

    # --- the loop ---

    def _serve_connected(self) -> None:
        """Connect, then scan and wait until stopped or the connection breaks (ImapError)."""
        session = ImapSession(self.config)
        self._session = session
        try:
            session.open()
            if self._reported_auth:
                log.info("mailbox: login accepted again")
            self._reported_auth = False
            self._failures = 0
            idle = self.use_idle and session.can_idle
            log.info(
                "mailbox %s: watching %s (%s)", self.config.host, self.config.folder, "IDLE" if idle else "polling"
            )
            while not self._stopping.is_set():
                self.scan(session)
                if self._stopping.is_set():
                    break
                if idle:
                    session.wait_for_news(self.idle_renew)
                else:
                    self._stopping.wait(self.poll_interval)
                    if not self._stopping.is_set():
                        session.noop()
        finally:
            self._session = None
            session.close()

    async def run(self) -> None:
        """Watch until `stop`; every failure is logged and retried after a growing wait."""
        self._loop = asyncio.get_running_loop()
        self._failures = 0
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self._serve_connected)
            except ImapAuthError as exc:
                self._failures += 1
                if not self._reported_auth:
                    self._reported_auth = True
                    log.error("mailbox: %s (check IMAP_USERNAME and IMAP_PASSWORD); retrying with backoff", exc)
                    problem = MailboxProblem("auth", str(exc))
                    self._publish([callback(problem) for callback in self._problems])
            except ImapError as exc:
                if self._stopping.is_set():
                    break
                self._failures += 1
                log.warning("mailbox: %s; reconnecting (attempt %d)", exc, self._failures)
            except Exception:
                self._failures += 1
                log.exception("mailbox: unexpected error; reconnecting")
            if self._stopping.is_set():
                break
            await self._pause(self._backoff())

    def _backoff(self) -> float:
        return min(BACKOFF_MAX, self.backoff_first * 2 ** max(0, self._failures - 1)) if self._failures else 0.0

    async def _pause(self, seconds: float) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._stopping.is_set():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.2))

    def start(self) -> asyncio.Task[None]:
        """Run in the background (from a running loop)."""
        self._stopping.clear()
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"mailbox-{self.ctx.business_id}")
        return self._task

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop watching: an IDLE or a poll wait in progress is interrupted at once."""
        self._stopping.set()
        session = self._session
        if session is not None:
            with contextlib.suppress(Exception):  # interrupts a blocking IDLE; the thread then ends
                session.interrupt()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            if not self._task.done():
                self._task.cancel()
            self._task = None


def _log_failure(future: concurrent.futures.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("mailbox listener failed: %s", future.exception())


def cursor_file(ctx: BusinessContext) -> Path:
    """Where the watcher keeps its place in the mailbox."""
    return received_folder(ctx) / "cursor.json"
