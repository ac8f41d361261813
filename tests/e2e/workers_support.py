"""Several `relance run --worker` processes on one PostgreSQL database, shared by the end-to-end test
(tests/e2e/test_workers.py) and the benchmark (bench/bench_workers.py).

The scenario: B businesses, each with its own SMTP account (all pointing at one recording aiosmtpd server on
loopback), one Telegram owner each, and R clients with one invoice 10 days overdue (today's ladder proposes R
reminders, the friendly first e-mail); the fake Bot API server plays Telegram for every owner. N worker processes
start on the same DATABASE_URL; phase 1 waits until every business's digest is delivered, phase 2 approves every
reminder (queued by this process, as a tap does, with the business's own sender address) and waits until every
e-mail is sent. What the processes did is read back from the database (digestrun, card, outbox and their
`claimed_by`), the fake Bot API (its messages and its log of calls) and the SMTP server (every DATA transaction).

The workers are the real `relance run --worker` (bot.cli's app), launched through a few lines that first scale
Telegram's pacing in bot/ratelimit.py (OVERALL_PER_SECOND, PER_CHAT_INTERVAL): at Telegram's real 30 messages a
second shared by the processes, 10,000 cards would measure the ceiling (bench_fanout's subject), not the claims.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_bytes
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.e2e.support import REPO, TODAY, base_environment, terminate
from tests.integration.smtp_server import LoopbackSmtp

PYTHON = REPO / ".venv" / "bin" / "python"
#: The default business's owner (OWNER_CHAT_IDS of the processes); the B businesses' owners follow.
DEFAULT_OWNER = 111
FIRST_OWNER = 5_000_000
#: Days overdue: REMINDER_1 of the default ladder (offset 7 days) is due today.
OVERDUE_DAYS = 10
#: Telegram's pacing inside each process, scaled (messages a second overall; seconds between two messages in a chat).
FAST_OVERALL = 2000.0
FAST_PER_CHAT = 0.005

#: Runs `relance` (bot.cli's app) with Telegram's pacing of bot/ratelimit.py scaled by two environment variables.
_LAUNCHER = """
import os, sys
import bot.ratelimit as pacing
pacing.OVERALL_PER_SECOND = float(os.environ["RELANCE_WORKERS_TG_OVERALL"])
pacing.PER_CHAT_INTERVAL = float(os.environ["RELANCE_WORKERS_TG_PER_CHAT"])
pacing.CHAT_MARGIN = 0.0
from bot.cli import main
sys.argv[0] = "relance"
main()
"""


# --------------------------------------------------------------------------------------- a recording SMTP server


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message_id: str
    at: float  # time.time()


@dataclass
class _Recorder:
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode()
        # Only the headers are parsed (the PDF attachments are not needed here).
        head = data.split(b"\r\n\r\n", 1)[0]
        message_id = str(message_from_bytes(head + b"\r\n\r\n").get("Message-ID", ""))
        with self.lock:
            self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message_id, time.time()))
            number = len(self.mails)
        return f"250 2.0.0 Ok: queued as {number}"


class RecordingSmtp(LoopbackSmtp):
    """An aiosmtpd server on 127.0.0.1 that accepts and records every message (envelope, Message-ID, time)."""

    handler: _Recorder

    def __init__(self) -> None:
        super().__init__(_Recorder())

    @property
    def mails(self) -> list[Mail]:
        """Every message accepted so far."""
        with self.handler.lock:
            return list(self.handler.mails)

    def count(self) -> int:
        """How many messages were accepted so far."""
        with self.handler.lock:
            return len(self.handler.mails)


# --------------------------------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class Book:
    """The businesses made for the scenario: id -> (owner's Telegram id, sender address)."""

    owners: dict[int, int]
    senders: dict[int, str]
    reminders_each: int

    @property
    def size(self) -> int:
        """How many reminders the digests should propose in all."""
        return len(self.owners) * self.reminders_each


def worker_environment(workdir: Path, url: str, *, api_url: str, token: str, smtp_port: int) -> dict[str, str]:
    """The processes' environment: the PostgreSQL database, the fake Bot API, the loopback SMTP server (the default
    business's), today fixed, Telegram's pacing scaled (FAST_OVERALL, FAST_PER_CHAT; change the two entries)."""
    env = base_environment(workdir, smtp_port=smtp_port)
    env.update(
        {
            "DATABASE_URL": url,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": api_url,
            "OWNER_CHAT_IDS": str(DEFAULT_OWNER),
            "RELANCE_WORKERS_TG_OVERALL": str(FAST_OVERALL),
            "RELANCE_WORKERS_TG_PER_CHAT": str(FAST_PER_CHAT),
        }
    )
    return env


def relance(env: dict[str, str], workdir: Path, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`relance <args>` (through the launcher) to its end."""
    return subprocess.run(
        [str(PYTHON), "-c", _LAUNCHER, *args],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def build_book(url: str, *, businesses: int, reminders: int, smtp_port: int, today: date = TODAY) -> Book:
    """B businesses with their own SMTP account (the loopback server), one Telegram owner each, and R clients with
    one invoice OVERDUE_DAYS overdue each, written in a few transactions (bulk inserts)."""
    from storage.db import make_engine, write_session
    from storage.models import Business, BusinessOwner, Client, Invoice

    engine = make_engine(url)
    owners: dict[int, int] = {}
    senders: dict[int, str] = {}
    due = today - timedelta(days=OVERDUE_DAYS)
    try:
        with write_session(engine) as session:
            rows = []
            for n in range(businesses):
                row = Business(
                    slug=f"w{n:05d}",
                    name=f"Atelier {n:05d}",
                    address="12 rue des Lilas, 69003 Lyon",
                    siren="123456789",
                    iban="FR7630006000011234567890189",
                    bic="AGRIFRPP",
                    phone="04 72 00 00 00",
                    email=f"relances@atelier-{n:05d}.example",
                    timezone="Europe/Paris",
                    digest_time="08:30",
                    smtp_host="127.0.0.1",
                    smtp_port=smtp_port,
                    smtp_security="none",
                )
                session.add(row)
                rows.append(row)
            session.flush()
            clients = []
            for n, row in enumerate(rows):
                assert row.id is not None
                owners[row.id] = FIRST_OWNER + n
                senders[row.id] = f"Atelier {n:05d} <{row.email}>"
                session.add(BusinessOwner(business_id=row.id, channel="telegram", user_id=str(FIRST_OWNER + n)))
                for k in range(reminders):
                    client = Client(
                        business_id=row.id,
                        name=f"Client {n:05d}-{k:02d} SAS",
                        emails=f"compta{k}@client{n}.example",
                        phone="01 23 45 67 89",
                    )
                    session.add(client)
                    clients.append((row.id, n, k, client))
            session.flush()
            for business_id, n, k, client in clients:
                assert client.id is not None
                session.add(
                    Invoice(
                        business_id=business_id,
                        client_id=client.id,
                        number=f"F-{n:05d}-{k:02d}",
                        issue_date=due - timedelta(days=30),
                        due_date=due,
                        amount=Decimal("1234.56"),
                    )
                )
    finally:
        engine.dispose()
    return Book(owners, senders, reminders)


# ------------------------------------------------------------------------------------------------ the processes


@dataclass
class Process:
    """One `relance run` process; its log is a file of the work folder."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    worker: bool
    codes: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        """The process id (the middle part of its claims' token)."""
        return self.popen.pid

    def log(self) -> str:
        """Everything it wrote."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        """Still running."""
        return self.popen.poll() is None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; -9 when it had to be killed."""
        return terminate(self.popen, timeout)


def start(env: dict[str, str], workdir: Path, name: str, *, worker: bool) -> Process:
    """Start `relance run` (`--worker` when asked); returns at once."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        popen = subprocess.Popen(
            [str(PYTHON), "-c", _LAUNCHER, "run", *(["--worker"] if worker else [])],
            env=env,
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return Process(popen, log_path, worker)


@contextlib.contextmanager
def processes(env: dict[str, str], workdir: Path, count: int, *, prefix: str = "worker") -> Iterator[list[Process]]:
    """`count` workers started side by side; every one still running is stopped (SIGTERM) on the way out."""
    started = [start(env, workdir, f"{prefix}-{n}", worker=True) for n in range(count)]
    try:
        yield started
    finally:
        for process in started:
            process.codes.append(process.stop())


# ----------------------------------------------------------------------------------------------- reading back


def wait(
    predicate: Callable[[], bool], *, timeout: float, what: str, alive: list[Process], poll: float = 0.25
) -> float:
    """Poll until `predicate()` holds; AssertionError after `timeout` s or when a process exits. The seconds taken."""
    begun = time.monotonic()
    while not predicate():
        for process in alive:
            if not process.alive():
                raise AssertionError(f"{process.log_path.name} exited ({process.popen.returncode}) while waiting for "
                                     f"{what}:\n{process.log()[-3000:]}")  # fmt: skip
        if time.monotonic() - begun > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)
    return time.monotonic() - begun


class Reader:
    """Reads the scenario's tables on the PostgreSQL database (one engine, closed by `close`)."""

    def __init__(self, url: str) -> None:
        from storage.db import make_engine

        self.engine = make_engine(url)

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """The rows of a query."""
        with self.engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())

    def scalar(self, sql: str, **params: Any) -> Any:
        """The first column of the first row."""
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()

    def delivered_digests(self, business_ids: list[int]) -> int:
        """How many of these businesses have their digest delivered."""
        return int(
            self.scalar(
                "SELECT count(*) FROM digestrun WHERE delivered_at IS NOT NULL AND business_id = ANY(:ids)",
                ids=business_ids,
            )
        )

    def outbox_states(self) -> Counter[str]:
        """The outbox rows by state."""
        return Counter({state: int(n) for state, n in self.rows("SELECT state, count(*) FROM outbox GROUP BY state")})


def approve_all(url: str, book: Book, *, not_before: datetime, threads: int = 8) -> int:
    """Approve every pending reminder of the book's businesses, as the owner's ✅ tap does (queue_reminder with the
    business's own sender address), one transaction per business, `threads` businesses at a time (the work is
    mostly round trips to the database); the number queued. The e-mails wait until `not_before`."""
    from concurrent.futures import ThreadPoolExecutor

    from services.outbox import queue_reminder
    from storage.db import make_engine, write_session
    from tests.integration.delivery_helpers import make_draft

    engine = make_engine(url)

    def one(business_id: int) -> int:
        with write_session(engine) as session:
            found = session.execute(
                text(
                    "SELECT r.id, c.emails FROM reminder r JOIN client c ON c.id = r.client_id "
                    "WHERE r.business_id = :b AND r.state = 'pending' ORDER BY r.id"
                ),
                {"b": business_id},
            ).all()
            for reminder_id, emails in found:
                queue_reminder(
                    session,
                    reminder_id=reminder_id,
                    expected_version=None,
                    draft=make_draft(f"Suivi de votre facture (relance {reminder_id})", with_pdf=False),
                    mail_from=book.senders[business_id],
                    reply_to=None,
                    recipients=[emails.split(",")[0].strip()],
                    actor=f"owner:{book.owners[business_id]}",
                    not_before=not_before,
                    business_id=business_id,
                )
        return len(found)

    try:
        with ThreadPoolExecutor(threads) as pool:
            return sum(pool.map(one, list(book.senders)))
    finally:
        engine.dispose()


def release(url: str) -> int:
    """Every queued e-mail due now (what the opening of the sending window does to e-mails approved before it):
    the senders take them all at their next tick. The number released."""
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            return int(connection.execute(text("UPDATE outbox SET not_before = now() WHERE state = 'queued'")).rowcount)
    finally:
        engine.dispose()


def pid_of(token: str | None) -> int | None:
    """The process id written in a claim's token (host:pid:random)."""
    if not token:
        return None
    parts = token.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def split(counts: Counter[int | None], workers: list[Process]) -> list[int]:
    """The counts per worker, in the order the workers were started (claims of another process are left out)."""
    return [counts.get(w.pid, 0) for w in workers]


# ------------------------------------------------------------------------------------------------ the scenario


@dataclass
class Outcome:
    """What a run of the scenario measured and found (the test asserts on it, the benchmark records it)."""

    businesses: int
    reminders_each: int
    workers: list[Process]
    #: Phase 1: from the workers' start to every digest delivered (wall), and the database's own span (first claim
    #: to last delivery: the processes' start-up left out).
    digest_wall: float = 0.0
    digest_span: float = 0.0
    digest_runs: Counter[int] = field(default_factory=Counter)  # business id -> digestrun rows
    digest_split: list[int] = field(default_factory=list)  # digests claimed per worker
    reminders: int = 0
    #: (business id, reminder id) -> cards in the card table / card messages on the fake Bot API.
    cards_table: Counter[tuple[int, int]] = field(default_factory=Counter)
    cards_telegram: Counter[tuple[int, int]] = field(default_factory=Counter)
    polls: int = 0  # getUpdates calls the fake Bot API received
    webhook_calls: int = 0  # setWebhook / deleteWebhook calls
    telegram_errors: list[str] = field(default_factory=list)
    #: Phase 2: e-mails queued, the wait for the next tick included (wall) and the SMTP server's own span.
    queued: int = 0
    mail_wall: float = 0.0
    mail_span: float = 0.0
    mails: list[Mail] = field(default_factory=list)
    outbox: Counter[str] = field(default_factory=Counter)
    outbox_ids: set[str] = field(default_factory=set)
    mail_split: list[int] = field(default_factory=list)  # e-mails sent per worker (outbox.claimed_by)
    foreign_claims: int = 0  # claims of a process that is none of the workers
    exit_codes: list[int] = field(default_factory=list)  # the workers' after SIGTERM

    @property
    def expected(self) -> int:
        """B × R."""
        return self.businesses * self.reminders_each

    @property
    def duplicates(self) -> int:
        """Messages beyond one per reminder: extra cards (table or chat), extra digests, SMTP copies."""
        over = sum(n - 1 for n in self.cards_table.values() if n > 1)
        over += sum(n - 1 for n in self.cards_telegram.values() if n > 1)
        over += sum(n - 1 for n in self.digest_runs.values() if n > 1)
        over += len(self.mails) - len({m.message_id for m in self.mails})
        return over

    @property
    def missed(self) -> int:
        """Reminders whose card or e-mail never came, digests never delivered."""
        missing = self.expected - len(self.cards_table) + self.expected - len(self.cards_telegram)
        missing += self.businesses - len(self.digest_runs)
        missing += len(self.outbox_ids - {m.message_id for m in self.mails})
        return missing + max(0, self.expected - self.queued)

    @property
    def digests_per_second(self) -> float:
        """Digests delivered a second over the database's span."""
        return self.businesses / self.digest_span if self.digest_span > 0 else 0.0

    @property
    def mails_per_second(self) -> float:
        """E-mails accepted a second over the SMTP server's span (first to last message)."""
        return (len(self.mails) - 1) / self.mail_span if self.mail_span > 0 else 0.0


def _telegram_cards(account: Any, book: Book) -> Counter[tuple[int, int]]:
    """Each (business, reminder) shown by a card message (a button r1:<action>:<reminder>:<version>) in its owner's
    chat on the fake Bot API."""
    found: Counter[tuple[int, int]] = Counter()
    for business_id, owner in book.owners.items():
        for message in account.bot_messages(owner):
            ids = {
                int(button.callback_data.split(":")[2])
                for row in message.buttons
                for button in row
                if button.callback_data and button.callback_data.startswith("r1:")
            }
            for reminder_id in ids:
                found[(business_id, reminder_id)] += 1
    return found


def run_scenario(
    url: str,
    workdir: Path,
    *,
    businesses: int,
    reminders: int,
    workers: int = 4,
    digest_timeout: float = 120.0,
    mail_timeout: float = 120.0,
    then: Callable[[Outcome, dict[str, str], Any], None] | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Outcome:
    """The whole scenario on the (fresh, migrated) PostgreSQL database `url`: book, fake Bot API, SMTP server,
    `workers` worker processes, phase 1 (digests) and phase 2 (e-mails); `then(outcome, env, account)` runs while
    the workers still live (the test's receiving-process checks; `account` is the fake Bot API's). The workers are
    stopped on the way out and their exit codes kept in `outcome.exit_codes`."""
    from tests.e2e.fakebot import DEFAULT_TOKEN, FakeTelegram

    server = FakeTelegram()
    account = server.add_bot(DEFAULT_TOKEN)
    with RecordingSmtp() as smtp:
        begun = time.monotonic()
        book = build_book(url, businesses=businesses, reminders=reminders, smtp_port=smtp.port)
        log(f"book: {businesses} businesses x {reminders} invoices in {time.monotonic() - begun:.1f} s")
        account.add_chat(DEFAULT_OWNER, first_name="Claire")
        for owner in book.owners.values():
            account.add_chat(owner, first_name="Claire")
        server.start_in_thread()
        reader = Reader(url)
        try:
            env = worker_environment(workdir, url, api_url=server.url, token=DEFAULT_TOKEN, smtp_port=smtp.port)
            applied = relance(env, workdir, "config", "apply")  # the install's own business, before the workers
            assert applied.returncode == 0, applied.stdout + applied.stderr
            outcome = Outcome(businesses, reminders, [])
            ids = list(book.owners)
            with processes(env, workdir, workers) as started:
                outcome.workers = started
                begun = time.monotonic()
                outcome.digest_wall = wait(
                    lambda: reader.delivered_digests(ids) == len(ids),
                    timeout=digest_timeout,
                    what=f"{len(ids)} digests delivered",
                    alive=started,
                )
                log(f"phase 1: {len(ids)} digests delivered {outcome.digest_wall:.1f} s after the workers' start")
                _read_digests(outcome, reader, account, book, ids)
                # Approved with a later not_before, then released at once: the e-mail phase measures the senders,
                # not this process's approvals (the ticks of the workers would otherwise trail them).
                begun = time.monotonic()
                outcome.queued = approve_all(url, book, not_before=datetime.now(UTC) + timedelta(days=1))
                log(f"phase 2: {outcome.queued} e-mails approved in {time.monotonic() - begun:.1f} s")
                assert release(url) == outcome.queued
                outcome.mail_wall = wait(
                    lambda: (
                        reader.outbox_states().get("sent", 0) >= outcome.queued
                        or bool(set(reader.outbox_states()) - {"sent", "queued", "sending"})
                    ),
                    timeout=mail_timeout,
                    what=f"{outcome.queued} e-mails sent",
                    alive=started,
                )
                time.sleep(0.5)  # a duplicate would show up now, not after the stop
                _read_mails(outcome, reader, smtp)
                log(f"phase 2: {len(outcome.mails)} e-mails in {outcome.mail_wall:.1f} s (next tick included)")
                outcome.polls = len(account.calls("getUpdates"))
                outcome.webhook_calls = len(account.calls("setWebhook")) + len(account.calls("deleteWebhook"))
                outcome.telegram_errors = [f"{c.method}: {c.status} {c.description}" for c in account.errors()]
                if then is not None:
                    then(outcome, env, account)
            outcome.exit_codes = [w.codes[0] for w in outcome.workers]
            return outcome
        finally:
            reader.close()
            server.stop()


def _read_digests(outcome: Outcome, reader: Reader, account: Any, book: Book, ids: list[int]) -> None:
    runs = reader.rows(
        "SELECT business_id, claimed_by, sent_at, delivered_at FROM digestrun WHERE business_id = ANY(:ids)", ids=ids
    )
    outcome.digest_runs = Counter(r.business_id for r in runs)
    outcome.digest_split = split(Counter(pid_of(r.claimed_by) for r in runs), outcome.workers)
    first = min(r.sent_at for r in runs)
    last = max(r.delivered_at for r in runs)
    outcome.digest_span = (last - first).total_seconds()
    outcome.reminders = int(reader.scalar("SELECT count(*) FROM reminder WHERE business_id = ANY(:ids)", ids=ids))
    cards = reader.rows(
        "SELECT business_id, reminder_id FROM card WHERE channel LIKE 'telegram%' AND business_id = ANY(:ids)", ids=ids
    )
    outcome.cards_table = Counter((c.business_id, c.reminder_id) for c in cards)
    outcome.cards_telegram = _telegram_cards(account, book)


def _read_mails(outcome: Outcome, reader: Reader, smtp: RecordingSmtp) -> None:
    outcome.mails = smtp.mails
    outcome.outbox = reader.outbox_states()
    rows = reader.rows("SELECT message_id, claimed_by FROM outbox WHERE state = 'sent'")
    outcome.outbox_ids = {r.message_id for r in rows}
    by_pid = Counter(pid_of(r.claimed_by) for r in rows)
    outcome.mail_split = split(by_pid, outcome.workers)
    outcome.foreign_claims = sum(by_pid.values()) - sum(outcome.mail_split)
    stamps = sorted(m.at for m in outcome.mails)
    outcome.mail_span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
