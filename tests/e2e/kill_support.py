"""kill -9 trials of the whole bot process (issue 12 §6): `relance run` against the fake Bot API and a slow SMTP
server on loopback, killed with SIGKILL at random instants while it sends e-mails or delivers the morning digest,
then started again; each trial checks what the owner and the SMTP server saw against the database.

Used by tests/e2e/test_kill9.py (a few trials in the suite) and bench/kill_trials.py (20 trials per kind). Everything
here is synchronous: the fake servers run in threads of their own, the bot in its own process.

Per-chat pacing: Telegram allows one message a second in a chat and the bot paces itself so (bot/ratelimit.py, no
setting changes it). The bot is therefore started as `python -m tests.e2e.kill_support` with KILL_CHAT_INTERVAL:
the module's `__main__` sets bot.ratelimit's figures, then runs the `relance run` command itself (bot.cli.main),
as bench/bench_bot.py runs its own variant of the bot. Nothing else differs from `relance run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.e2e.fakebot import FakeBotAccount, FakeTelegram, StoredMessage
from tests.e2e.support import (
    OWNER,
    REPO,
    TODAY,
    InvoiceRow,
    bot_environment,
    find_digest,
    invoices_csv,
    terminate,
)
from tests.integration.smtp_server import LoopbackSmtp

PYTHON = REPO / ".venv" / "bin" / "python"
RELANCE = REPO / ".venv" / "bin" / "relance"
#: The environment variable the bot's launcher (this module's __main__) reads: seconds between two messages in a chat.
CHAT_INTERVAL_ENV = "KILL_CHAT_INTERVAL"
#: What the owner reads when an e-mail's outcome is unknown (bot/i18n.py "state.unknown"), on the card and alone.
UNCERTAIN = "Statut incertain"
SENT = "✅ Envoyé le"
START_TIMEOUT = 30.0


class TrialError(AssertionError):
    """A trial could not be run to its end (the bot did not start, nothing moved for too long)."""


# --- the slow SMTP server ------------------------------------------------------------------------------------


@dataclass
class Receipt:
    """One message the SMTP server received in full (DATA ended): it may have been delivered from then on."""

    message_id: str
    at: float  # time.monotonic() when its data had arrived
    answered: bool = False  # the 250 was written (after the pause); the client may have died before reading it


class _SlowHandler:
    """Accepts every message, but only after a pause of `low`..`high` seconds once its data has arrived: a kill then
    lands inside the conversation, after the server has the message and before the client knows it."""

    def __init__(self, low: float, high: float, seed: int) -> None:
        self.low, self.high = low, high
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.receipts: list[Receipt] = []
        self.in_data = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode()
        receipt = Receipt(str(message_from_bytes(data).get("Message-ID", "")), time.monotonic())
        with self.lock:
            self.receipts.append(receipt)
            self.in_data += 1
            pause = self.rng.uniform(self.low, self.high)
        try:
            await asyncio.sleep(pause)
        finally:
            with self.lock:
                self.in_data -= 1
        receipt.answered = True
        return f"250 2.0.0 Ok: queued as {len(self.receipts)}"


class SlowSmtp(LoopbackSmtp):
    """aiosmtpd on 127.0.0.1 answering each DATA after a random pause; `receipts` lists what it received."""

    handler: _SlowHandler

    def __init__(self, low: float, high: float, seed: int) -> None:
        super().__init__(_SlowHandler(low, high, seed))

    @property
    def receipts(self) -> list[Receipt]:
        with self.handler.lock:
            return list(self.handler.receipts)

    @property
    def busy(self) -> bool:
        """A conversation is between the message's data and the server's answer right now."""
        with self.handler.lock:
            return self.handler.in_data > 0


# --- databases -----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of a fresh database for one trial: a SQLite file in `workdir`, or a new PostgreSQL database (cloned
    from the test template, dropped at the end; skips or fails like the other PostgreSQL tests when there is none)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'relance.db'}"
        return
    from tests.conftest import drop_postgres_database, new_postgres_database

    url, name = new_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


class Db:
    """Read-only queries on the bot's database, from the test's side (SQLite or PostgreSQL)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, poolclass=NullPool)

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def outbox(self) -> list[dict[str, Any]]:
        return self.rows("SELECT id, reminder_id, state, message_id, attempts FROM outbox ORDER BY id")

    def outbox_states(self) -> Counter[str]:
        return Counter(r["state"] for r in self.rows("SELECT state FROM outbox"))

    def cards(self) -> list[dict[str, Any]]:
        return self.rows("SELECT reminder_id, chat_id, message_id FROM card WHERE channel LIKE 'telegram%' ORDER BY id")

    def digest_runs(self, day: date) -> list[dict[str, Any]]:
        return self.rows("SELECT id, delivered_at FROM digestrun WHERE day = :day", day=day)

    def close(self) -> None:
        self.engine.dispose()


# --- the bot process -----------------------------------------------------------------------------------------


def book(count: int) -> list[InvoiceRow]:
    """`count` overdue invoices, one client each (so one reminder each): 8 to 37 days late, distinct amounts."""
    rows: list[InvoiceRow] = []
    for i in range(1, count + 1):
        due = TODAY - timedelta(days=8 + (i * 7) % 30)
        rows.append((f"F-K-{i:03d}", f"Client Kill {i:03d}", f"compta{i}@client-{i}.example",
                     due - timedelta(days=30), due, f"{400 + 37 * i}.{i % 100:02d}", ""))  # fmt: skip
    return rows


@dataclass
class Bot:
    """One `relance run` process of a trial."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    spawned: float

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM; the exit code (-9 when it had to be killed)."""
        return terminate(self.popen, timeout)


class Harness:
    """One trial's world: a workdir, a fresh database, the fake Bot API with the owner's chat, the slow SMTP server;
    `start()` runs the bot against them (every process's log is kept in the workdir)."""

    def __init__(self, workdir: Path, db_url: str, *, smtp: SlowSmtp, chat_interval: float) -> None:
        self.workdir = workdir
        self.db_url = db_url
        self.smtp = smtp
        self.server = FakeTelegram()
        self.tg: FakeBotAccount = self.server.add_bot()
        self.tg.add_chat(OWNER, first_name="Claire", language_code="fr")
        self.server.start_in_thread()
        env = bot_environment(workdir, api_url=self.tg.api_url, token=self.tg.token, smtp_port=smtp.port)
        env.update({"DATABASE_URL": db_url, CHAT_INTERVAL_ENV: str(chat_interval), "PYTHONPATH": str(REPO)})
        self.env = env
        self.db = Db(db_url)
        self.bots: list[Bot] = []

    def close(self) -> None:
        for bot in self.bots:
            if bot.alive():
                bot.kill9()
        self.server.stop()
        self.db.close()

    def import_book(self, rows: list[InvoiceRow]) -> None:
        path = self.workdir / "factures.csv"
        path.write_bytes(invoices_csv(rows))
        result = subprocess.run([str(RELANCE), "import", str(path)], env=self.env, cwd=self.workdir,
                                capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        if result.returncode != 0:
            raise TrialError(f"relance import failed: {result.stdout}{result.stderr}")

    def chat_import(self, rows: list[InvoiceRow], bot: Bot) -> None:
        """/import, then the CSV as a document; returns once the bot said the invoices are in."""
        self.wait(lambda: self.tg.pending_updates() == 0, 10, "the bot to read its updates", bot)
        asked = self.tg.send_text(OWNER, "/import").message_id
        self.wait(lambda: any(m.message_id > asked for m in self.tg.bot_messages(OWNER)), 10, "the CSV prompt", bot)
        uploaded = self.tg.upload_document(OWNER, "factures.csv", invoices_csv(rows), mime_type="text/csv")
        reply = self.wait(lambda: next((m for m in self.tg.bot_messages(OWNER) if m.message_id > uploaded.message_id),
                                       None), 30, "the import's answer", bot)  # fmt: skip
        if str(len(rows)) not in reply.shown or "❌" in reply.shown:
            raise TrialError(f"the import through the chat failed: {reply.shown}")

    def spawn(self) -> Bot:
        """Start the bot (returns at once)."""
        log_path = self.workdir / f"bot-{len(self.bots)}.log"
        with log_path.open("wb") as out:
            popen = subprocess.Popen([str(PYTHON), "-m", "tests.e2e.kill_support"], env=self.env, cwd=self.workdir,
                                     stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        bot = Bot(popen, log_path, time.monotonic())
        self.bots.append(bot)
        return bot

    def wait(self, condition: Callable[[], Any], timeout: float, what: str, bot: Bot | None = None) -> Any:
        """Poll `condition` until truthy (returned); TrialError after `timeout` s or if `bot` exits meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if bot is not None and not bot.alive():
                raise TrialError(f"the bot exited ({bot.popen.returncode}) waiting for {what}:\n{bot.log()[-3000:]}")
            if time.monotonic() > deadline:
                tail = bot.log()[-3000:] if bot is not None else ""
                raise TrialError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.tg.describe()}\n{tail}")
            time.sleep(0.01)

    def wait_running(self, bot: Bot) -> None:
        self.wait(lambda: "running (" in bot.log(), START_TIMEOUT, "the bot to run", bot)

    def uncertain_notices(self) -> int:
        """The owner's messages of their own saying an e-mail's outcome is unknown (cards excluded)."""
        return sum(1 for m in self.tg.bot_messages(OWNER) if UNCERTAIN in m.shown and not m.buttons)

    def card_shows(self, reminder_id: int, needle: str) -> bool:
        """Some registered card of the reminder shows `needle` now."""
        for card in self.db.rows("SELECT message_id FROM card WHERE reminder_id = :r", r=reminder_id):
            shown = self.tg.message(OWNER, int(card["message_id"]))
            if shown is not None and needle in shown.shown:
                return True
        return False


def reminder_of(card: StoredMessage) -> int | None:
    """The reminder id a card's buttons carry (r1:<action>:<id>:<version>), None for other messages."""
    for row in card.buttons:
        for button in row:
            if button.callback_data and button.callback_data.startswith("r1:"):
                return int(button.callback_data.split(":")[2])
    return None


# --- sends ---------------------------------------------------------------------------------------------------


@dataclass
class SendsTrial:
    """What one sends trial saw; `problems` lists every broken invariant (empty: the trial passed)."""

    seed: int
    invoices: int
    kills: int = 0
    kills_mid_smtp: int = 0  # kills that left a row `sending` (outcome unknown at restart)
    kills_in_data: int = 0  # kills while the server held a message it had not answered yet
    unknown: int = 0
    unknown_received: int = 0  # unknown rows whose message the server did receive
    sent: int = 0
    duplicates: int = 0
    lost: int = 0
    stale_cards: int = 0  # sent rows whose card does not say so (a kill between the answer and the card's edit)
    resume_s: list[float] = field(default_factory=list)  # restart to the first message received after it
    boot_s: list[float] = field(default_factory=list)  # restart to the bot's "running" line
    problems: list[str] = field(default_factory=list)


def sends_trial(workdir: Path, db_url: str, *, seed: int, invoices: int = 15, max_kills: int = 3,
                smtp_pause: tuple[float, float] = (0.2, 0.5), chat_interval: float = 0.02) -> SendsTrial:  # fmt: skip
    """Approve a book's reminders (✅ Envoyer on each digest card), kill -9 the bot at random instants while the
    slow SMTP server receives them, start it again after each kill, and check: no Message-ID received twice, every
    row sent or unknown, every received message sent or unknown in the database, every unknown told to the owner."""
    rng = random.Random(seed)
    out = SendsTrial(seed, invoices)
    mean_pause = sum(smtp_pause) / 2
    with SlowSmtp(*smtp_pause, seed=rng.randrange(2**32)) as smtp:
        h = Harness(workdir, db_url, smtp=smtp, chat_interval=chat_interval)
        try:
            # The book comes through the chat (one process start less than `relance import`): the catch-up digest
            # of an empty book, /import and the CSV, then /digest shows a card per reminder (registered).
            bot = h.spawn()
            h.wait(lambda: find_digest(h.tg, OWNER, 0), START_TIMEOUT, "the catch-up digest", bot)
            h.chat_import(book(invoices), bot)
            before = h.tg.send_text(OWNER, "/digest").message_id
            digest = h.wait(lambda: find_digest(h.tg, OWNER, before), START_TIMEOUT, "the digest", bot)
            if len(digest.cards) != invoices:
                raise TrialError(f"the digest shows {len(digest.cards)} cards for {invoices} invoices")
            h.wait(lambda: len(h.db.cards()) == invoices and all(r["delivered_at"] for r in h.db.digest_runs(TODAY)),
                   10, "the digest's cards to be registered", bot)  # fmt: skip
            for card in digest.cards:
                h.tg.press(card, "Envoyer")
            h.wait(lambda: h.db.scalar("SELECT COUNT(*) FROM outbox") == invoices, 20, "every tap to queue", bot)
            wanted = rng.randint(1, max_kills)
            while out.kills < wanted:
                left = _left(h)
                if left == 0:
                    break
                time.sleep(rng.uniform(0, left * (mean_pause + 0.05)))
                if _left(h) == 0:
                    break  # everything went out before the kill
                in_data = smtp.busy
                bot.kill9()
                out.kills += 1
                out.kills_in_data += in_data
                if h.db.outbox_states()["sending"]:
                    out.kills_mid_smtp += 1
                received_before = len(smtp.receipts)
                restart = time.monotonic()
                bot = h.spawn()
                h.wait_running(bot)
                out.boot_s.append(time.monotonic() - restart)
                h.wait(functools.partial(_resumed, h, received_before), 30, "the sends to resume", bot)
                out.resume_s.append(time.monotonic() - restart)
            h.wait(lambda: _left(h) == 0, 30 + invoices * smtp_pause[1], "every e-mail to go out", bot)
            rows = h.db.outbox()
            unknown = [r for r in rows if r["state"] == "unknown"]
            # The owner hears of each unknown outcome (a message of its own, and its card says so).
            with contextlib.suppress(TrialError):
                h.wait(lambda: h.uncertain_notices() >= len(unknown)
                       and all(h.card_shows(r["reminder_id"], UNCERTAIN) for r in unknown),
                       5, "the uncertain notices", bot)  # fmt: skip
            with contextlib.suppress(TrialError):
                h.wait(lambda: all(h.card_shows(r["reminder_id"], SENT) for r in rows if r["state"] == "sent"),
                       3, "the sent cards", bot)  # fmt: skip
            code = bot.stop()
            if code != 0:
                out.problems.append(f"exit code {code} after SIGTERM")
            _check_sends(h, rows, out)
        finally:
            h.close()
    return out


def _left(h: Harness) -> int:
    """Outbox rows still to go out (queued) or on the wire (sending)."""
    states = h.db.outbox_states()
    return states["queued"] + states["sending"]


def _resumed(h: Harness, received_before: int) -> bool:
    """A new message reached the server since the restart, or nothing was left to send."""
    return len(h.smtp.receipts) > received_before or h.db.outbox_states()["queued"] == 0


def _check_sends(h: Harness, rows: list[dict[str, Any]], out: SendsTrial) -> None:
    received = Counter(r.message_id for r in h.smtp.receipts)
    by_id = {r["message_id"]: r for r in rows}
    out.duplicates = sum(n - 1 for n in received.values() if n > 1)
    if out.duplicates:
        out.problems.append(f"received twice: {[m for m, n in received.items() if n > 1]}")
    states = Counter(r["state"] for r in rows)
    out.sent, out.unknown = states["sent"], states["unknown"]
    out.lost = out.invoices - len(rows) + sum(n for s, n in states.items() if s not in ("sent", "unknown"))
    if out.lost:
        out.problems.append(f"{len(rows)} rows for {out.invoices} approvals, states {dict(states)}")
    strays = [m for m in received if m not in by_id or by_id[m]["state"] not in ("sent", "unknown")]
    if strays:
        out.problems.append(f"received but neither sent nor unknown in the database: {strays}")
    never = [r["message_id"] for r in rows if r["state"] == "sent" and r["message_id"] not in received]
    if never:
        out.problems.append(f"sent in the database, never received: {never}")
    unknown = [r for r in rows if r["state"] == "unknown"]
    out.unknown_received = sum(1 for r in unknown if r["message_id"] in received)
    notices = h.uncertain_notices()
    if notices < len(unknown):
        out.problems.append(f"{len(unknown)} unknown outcome(s), {notices} '{UNCERTAIN}' notice(s) to the owner")
    silent = [r["reminder_id"] for r in unknown if not h.card_shows(r["reminder_id"], UNCERTAIN)]
    if silent:
        out.problems.append(f"cards not showing '{UNCERTAIN}' for reminders {silent}")
    out.stale_cards = sum(1 for r in rows if r["state"] == "sent" and not h.card_shows(r["reminder_id"], SENT))


# --- digest --------------------------------------------------------------------------------------------------


@dataclass
class DigestTrial:
    """What one digest trial saw; `problems` lists every broken invariant (empty: the trial passed)."""

    seed: int
    invoices: int
    kills: int = 0
    kills_before_claim: int = 0
    kills_delivering: int = 0  # claimed, not delivered yet
    kills_after_delivery: int = 0
    reminders: int = 0
    duplicate_cards: int = 0  # cards beyond the first for a reminder
    missing_cards: int = 0  # due reminders with no card in the chat
    resume_s: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def digest_trial(workdir: Path, db_url: str, *, seed: int, invoices: int = 12, max_kills: int = 2,
                 chat_interval: float = 0.1) -> DigestTrial:  # fmt: skip
    """Start the bot on a book whose digest is due, kill -9 it at a random instant while its digest is made or
    delivered (between its chat adapter's start and the expected end of the delivery), start it again (up to
    `max_kills` kills), and check: one reminder per invoice and step, one digest run for the day, delivered, every
    due reminder's card in the chat and registered; the cards shown twice are counted."""
    rng = random.Random(seed)
    out = DigestTrial(seed, invoices)
    # From the adapter's start: the digest check's claim and drafting, then one card per chat interval.
    span = 0.5 + invoices * (chat_interval + 0.04)
    with SlowSmtp(0.0, 0.0, seed=0) as smtp:
        h = Harness(workdir, db_url, smtp=smtp, chat_interval=chat_interval)
        try:
            h.import_book(book(invoices))
            bot = h.spawn()
            wanted = rng.randint(1, max_kills)
            while out.kills < wanted:
                h.wait(functools.partial(_started, bot), START_TIMEOUT, "the adapter's start", bot)
                time.sleep(rng.uniform(0, span))
                runs = h.db.digest_runs(TODAY)
                if out.kills and runs and runs[0]["delivered_at"] is not None:
                    break  # delivered again since the last restart: nothing left to interrupt
                bot.kill9()
                out.kills += 1
                runs = h.db.digest_runs(TODAY)
                interrupted = not runs or runs[0]["delivered_at"] is None
                if not runs:
                    out.kills_before_claim += 1
                elif interrupted:
                    out.kills_delivering += 1
                else:
                    out.kills_after_delivery += 1
                restart = time.monotonic()
                bot = h.spawn()
            with contextlib.suppress(TrialError):
                h.wait(lambda: (r := h.db.digest_runs(TODAY)) and r[0]["delivered_at"] is not None,
                       START_TIMEOUT + 2 * span, "the digest's delivery", bot)  # fmt: skip
                if interrupted:  # the time it took to deliver what the last kill interrupted
                    out.resume_s.append(time.monotonic() - restart)
            h.wait_running(bot)
            with contextlib.suppress(TrialError):
                h.wait(lambda: h.db.scalar("SELECT COUNT(DISTINCT reminder_id) FROM card") >= invoices,
                       5, "the cards to be registered", bot)  # fmt: skip
            code = bot.stop()
            if code != 0:
                out.problems.append(f"exit code {code} after SIGTERM")
            _check_digest(h, out)
        finally:
            h.close()
    return out


def _started(bot: Bot) -> bool:
    """The bot's chat adapter has started: its digest check comes next."""
    return "telegram: started" in bot.log()


def _check_digest(h: Harness, out: DigestTrial) -> None:
    reminders = h.db.rows("SELECT r.id, r.step, ri.invoice_id FROM reminder r "
                          "JOIN reminderinvoice ri ON ri.reminder_id = r.id")  # fmt: skip
    out.reminders = len({r["id"] for r in reminders})
    per_step = Counter((r["invoice_id"], r["step"]) for r in reminders)
    twice = [k for k, n in per_step.items() if n > 1]
    if twice or out.reminders != out.invoices:
        out.problems.append(f"{out.reminders} reminders for {out.invoices} invoices; twice: {twice}")
    runs = h.db.digest_runs(TODAY)
    if len(runs) != 1:
        out.problems.append(f"{len(runs)} digest runs for {TODAY}")
    elif runs[0]["delivered_at"] is None:
        out.problems.append("the digest of the day was never marked delivered")
    shown = Counter(rid for m in h.tg.bot_messages(OWNER) if (rid := reminder_of(m)) is not None)
    ids = {r["id"] for r in reminders}
    out.missing_cards = len(ids - set(shown))
    out.duplicate_cards = sum(n - 1 for n in shown.values() if n > 1)
    if out.missing_cards:
        out.problems.append(f"{out.missing_cards} due reminder(s) never shown to the owner: {sorted(ids - set(shown))}")
    cards = h.db.cards()
    registered = {r["reminder_id"] for r in cards}
    wrong = [
        r
        for r in cards
        if (m := h.tg.message(OWNER, int(r["message_id"]))) is None or reminder_of(m) != r["reminder_id"]
    ]
    if wrong:
        out.problems.append(f"registered cards that do not show their reminder: {wrong}")
    if ids - registered:
        out.problems.append(f"reminders without a registered card (later changes cannot reach them): "
                            f"{sorted(ids - registered)}")  # fmt: skip


# --- figures -------------------------------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def sends_summary(trials: list[SendsTrial]) -> dict[str, Any]:
    resume = [s for t in trials for s in t.resume_s]
    return {
        "trials": len(trials),
        "kills": sum(t.kills for t in trials),
        "kills mid-SMTP": sum(t.kills_mid_smtp for t in trials),
        "kills while the server held an unanswered message": sum(t.kills_in_data for t in trials),
        "trials with an unknown outcome": sum(1 for t in trials if t.unknown),
        "clean trials": sum(1 for t in trials if not t.unknown),
        "unknown": sum(t.unknown for t in trials),
        "unknown, received by the server": sum(t.unknown_received for t in trials),
        "sent": sum(t.sent for t in trials),
        "duplicates": sum(t.duplicates for t in trials),
        "lost": sum(t.lost for t in trials),
        "stale sent cards": sum(t.stale_cards for t in trials),
        "restart-to-resume median s": median(resume),
        "restart-to-resume max s": max(resume) if resume else None,
        "restart-to-running median s": median([s for t in trials for s in t.boot_s]),
        "failed trials": sum(1 for t in trials if t.problems),
    }


def digest_summary(trials: list[DigestTrial]) -> dict[str, Any]:
    resume = [s for t in trials for s in t.resume_s]
    return {
        "trials": len(trials),
        "kills": sum(t.kills for t in trials),
        "kills before the claim": sum(t.kills_before_claim for t in trials),
        "kills while delivering": sum(t.kills_delivering for t in trials),
        "kills after delivery": sum(t.kills_after_delivery for t in trials),
        "reminders": sum(t.reminders for t in trials),
        "duplicate cards": sum(t.duplicate_cards for t in trials),
        "missing cards": sum(t.missing_cards for t in trials),
        "restart-to-delivered median s": median(resume),
        "restart-to-delivered max s": max(resume) if resume else None,
        "failed trials": sum(1 for t in trials if t.problems),
    }


def _run_bot() -> None:
    """`relance run`, with the per-chat pacing of bot/ratelimit.py set from KILL_CHAT_INTERVAL."""
    import bot.ratelimit as ratelimit
    from bot.cli import main

    interval = float(os.environ.get(CHAT_INTERVAL_ENV) or ratelimit.PER_CHAT_INTERVAL)
    ratelimit.PER_CHAT_INTERVAL = interval
    ratelimit.CHAT_MARGIN = 0.0
    sys.argv = [str(RELANCE), "run"]
    main()


if __name__ == "__main__":
    _run_bot()
