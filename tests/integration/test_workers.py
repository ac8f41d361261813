"""Several processes on one database (storage/workers.py): a claim names its process, whose lease dies with it.

A real second process holds a lease (PostgreSQL advisory lock, SQLite flock) and is killed with SIGKILL: while it
lives its claims are left alone by everyone, the instant it is gone they are taken up (an e-mail it was sending
becomes `unknown`, a digest it was delivering is delivered by another process, its cards not shown twice), and only
one process at a time receives the chat's updates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import select

from bot.settings import Settings
from services.core import Services
from storage import workers
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Card, DigestRun, Outbox
from storage.outbox import claim_next, mark_unknown, recover_unknown_at_startup
from storage.types import utcnow
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.factories import make_client, make_invoice
from tests.integration.delivery_helpers import queue, seed_reminder

DAY = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[2]

_HOLDER = """
import sys, time
from storage.db import make_engine
from storage import workers
engine = make_engine(sys.argv[1], migrate=False)
print(workers.ensure_lease(engine), flush=True)
if sys.argv[2] == "receiver":
    workers.hold_receiver(engine)
print("ready", flush=True)
time.sleep(600)
"""


@dataclass
class Holder:
    """Another process holding its lease (and the receiver's, if asked) until killed."""

    process: subprocess.Popen[str]
    token: str

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def holder(db_url: str, engine: Engine) -> Iterator[Callable[..., Holder]]:
    started: list[Holder] = []

    def start(kind: str = "lease") -> Holder:
        process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, db_url, kind], cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        token = process.stdout.readline().strip()
        assert process.stdout.readline().strip() == "ready", "the holder process did not start"
        found = Holder(process, token)
        started.append(found)
        return found

    yield start
    for one in started:
        if one.process.poll() is None:
            one.kill()
        elif one.process.stdout is not None:
            one.process.stdout.close()


def _until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_a_lease_lives_as_long_as_its_process(engine: Engine, holder: Callable[..., Holder]) -> None:
    """Alive while the other process runs (asked from here, any number of times), dead once it is killed; a token
    nobody holds, and a claim without a token, are dead; this process's own token is alive."""
    other = holder()
    assert other.token != workers.token()
    assert workers.alive(engine, other.token) and workers.alive(engine, other.token)
    assert not workers.alive(engine, "host:1:deadbeef") and not workers.alive(engine, None)
    assert workers.alive(engine, workers.ensure_lease(engine))
    other.kill()
    assert _until(lambda: not workers.alive(engine, other.token))


def test_only_one_process_receives_the_updates(engine: Engine, holder: Callable[..., Holder]) -> None:
    """A second receiving process is refused while the first lives, and accepted the moment it dies."""
    first = holder("receiver")
    with pytest.raises(workers.ReceiverBusyError, match="already receives"):
        workers.hold_receiver(engine)
    first.kill()
    assert _until(lambda: _try_receiver(engine))
    workers.release_receiver(engine)


def _try_receiver(engine: Engine) -> bool:
    try:
        workers.hold_receiver(engine)
    except workers.ReceiverBusyError:
        return False
    return True


def _sending(engine: Engine, holder_token: str | None) -> int:
    """A reminder's e-mail queued, claimed, and left `sending` in the name of `holder_token`."""
    business_id, reminder_id, _ = seed_reminder(engine)
    queue(engine, reminder_id)
    claim = claim_next(engine, business_id, utcnow())
    assert claim is not None
    with write_session(engine) as session:
        session.execute(update(Outbox).where(Outbox.id == claim.outbox_id).values(claimed_by=holder_token))
    return business_id


def _states(engine: Engine) -> list[str]:
    with read_session(engine) as session:
        return [row.state for row in session.exec(select(Outbox)).all()]


def test_an_email_a_live_worker_is_sending_is_never_marked_unknown(
    engine: Engine, holder: Callable[..., Holder]
) -> None:
    """Another worker starting (or ticking) leaves a live worker's e-mail alone; once that worker is killed, the
    e-mail is `unknown` (the owner decides), never sent again on our own."""
    other = holder()
    business_id = _sending(engine, other.token)
    assert recover_unknown_at_startup(engine, business_id) == []
    assert mark_unknown(engine, business_id, older_than=None) == []
    assert _states(engine) == ["sending"]
    other.kill()
    assert _until(lambda: not workers.alive(engine, other.token))
    results = recover_unknown_at_startup(engine, business_id)
    assert [r.outcome for r in results] == ["unknown"] and _states(engine) == ["unknown"]


def test_an_email_claimed_before_this_version_is_unknown_at_start(engine: Engine) -> None:
    """A row left `sending` without a process's name (claimed by an older version) is taken up as interrupted."""
    business_id = _sending(engine, None)
    assert [r.outcome for r in recover_unknown_at_startup(engine, business_id)] == ["unknown"]


def test_a_claim_names_this_process(engine: Engine) -> None:
    business_id, reminder_id, _ = seed_reminder(engine)
    queue(engine, reminder_id)
    claim = claim_next(engine, business_id, utcnow())
    assert claim is not None
    with read_session(engine) as session:
        row = session.get(Outbox, claim.outbox_id)
        assert row is not None and row.claimed_by == workers.token()


# --- a digest left undelivered ---------------------------------------------------------------------------------


def _core(engine: Engine, settings: Settings) -> Services:
    return make_services(engine, settings, RecordingDelivery(), today=DAY).core


def _book(engine: Engine, core: Services, count: int) -> None:
    with write_session(engine) as session:
        business = session.get(Business, core.business_id)
        assert business is not None
        for n in range(count):
            client = make_client(session, business, name=f"Client {n:02d}", emails=f"compta{n}@client.example")
            make_invoice(session, client, due=date(2026, 11, 3), amount="800.00", number=f"F-2026-{n:03d}")


def _claimed_by(engine: Engine, core: Services, token: str | None) -> None:
    with write_session(engine) as session:
        session.execute(
            update(DigestRun).where(DigestRun.business_id == core.business_id).values(claimed_by=token)  # type: ignore[arg-type]
        )


def _show(engine: Engine, core: Services, reminder_ids: list[int]) -> None:
    """The cards the dead process had delivered before it died."""
    core.register_cards([(rid, "111", str(100 + rid)) for rid in reminder_ids])


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return bot_settings(db_url, tmp_path, DAY)


def test_a_digest_claimed_by_a_dead_process_is_delivered_once_by_another(
    engine: Engine, settings: Settings, holder: Callable[..., Holder]
) -> None:
    """The claimer dies after two of its five cards reached the chat: while it lived nobody took the digest over;
    after, one process (of two asking) takes it, the two cards already shown marked as such; once delivered, nobody
    again."""
    core = _core(engine, settings)
    _book(engine, core, 5)
    data = core.digest_if_due()
    assert data is not None and len(data.views) == 5
    other = holder()
    _claimed_by(engine, core, other.token)
    _show(engine, core, [v.reminder_id for v in data.views[:2]])
    assert core.digest_if_due() is None and core.resume_digest() is None  # alive: its own
    other.kill()
    assert _until(lambda: not workers.alive(engine, other.token))
    second = _core(engine, settings)
    resumed = second.digest_if_due()
    assert resumed is not None and resumed.day == DAY
    assert [v.reminder_id for v in resumed.views] == [v.reminder_id for v in data.views]
    assert resumed.shown == {(v.reminder_id, "111") for v in data.views[:2]}  # not shown again in that chat
    assert second.resume_digest() is None and core.digest_if_due() is None  # taken: by this process, alive
    second.digest_delivered(DAY)
    _claimed_by(engine, core, "host:1:gone")
    assert second.resume_digest() is None  # delivered: nothing to take up
    with read_session(engine) as session:
        assert len(session.exec(select(DigestRun)).all()) == 1


def test_a_digest_whose_cards_all_went_out_is_only_recorded(engine: Engine, settings: Settings) -> None:
    """Killed between its last card and the record of delivery: nothing is shown again, the digest is delivered."""
    core = _core(engine, settings)
    _book(engine, core, 2)
    data = core.digest_if_due()
    assert data is not None
    _show(engine, core, [v.reminder_id for v in data.views])
    _claimed_by(engine, core, "host:1:gone")
    assert core.resume_digest() is None
    with read_session(engine) as session:
        run = session.exec(select(DigestRun)).one()
        assert run.delivered_at is not None
        assert len(session.exec(select(Card)).all()) == 2


def test_the_processes_on_a_database_are_counted_to_share_the_chat_rate(
    engine: Engine, holder: Callable[..., Holder]
) -> None:
    """This process and two others hold leases (one also receives): 3; one killed: 2. Each process's Telegram
    pacing keeps its share of the ~30 messages a second."""
    from bot.ratelimit import FloodLimiter

    workers.ensure_lease(engine)
    first, second = holder("receiver"), holder()
    assert workers.live_processes(engine) == 3
    second.kill()
    assert _until(lambda: workers.live_processes(engine) == 2)
    limiter = FloodLimiter(30.0)
    limiter.share(3)
    assert limiter.overall.interval == pytest.approx(0.1)
    limiter.share(1)
    assert limiter.overall.interval == pytest.approx(1 / 30)
    first.kill()


def test_a_digest_being_prepared_is_skipped_not_waited_for(engine: Engine, settings: Settings) -> None:
    """While one process prepares a business's digest (its claiming transaction is open), another process asking
    for it gets None at once instead of queueing behind it (PostgreSQL); it is claimed once in all."""
    from storage.digests import try_claim_lock

    core = _core(engine, settings)
    _book(engine, core, 1)
    if engine.dialect.name != "postgresql":
        with write_session(engine) as session:
            assert try_claim_lock(session, business_id=core.business_id)
        return
    with write_session(engine) as holding:
        assert try_claim_lock(holding, business_id=core.business_id)
        started = time.monotonic()
        assert core.digest_if_due() is None  # the other "process": skipped while the first holds the lock
        assert time.monotonic() - started < 2.0
    assert core.digest_if_due() is not None  # the lock gone (that transaction ended): claimed now, once
    assert core.digest_if_due() is None


async def test_a_taken_up_digest_shows_only_the_cards_the_chat_had_not(engine: Engine, settings: Settings) -> None:
    """Telegram: the cards registered one by one as they go out; a digest taken up after its process died sends the
    header and the three cards the chat had not received, never the two it had."""
    from dataclasses import replace

    from tests.bot_harness import start_harness, stop_harness

    harness = await start_harness(engine, settings, RecordingDelivery())
    try:
        _book(engine, harness.services.core, 5)
        data = harness.services.core.digest_if_due()
        assert data is not None
        shown = frozenset((v.reminder_id, "111") for v in data.views[:2])
        await harness.adapter.deliver_digest(replace(data, shown=shown))
        cards = harness.cards()
        assert len(cards) == 3
        sent = {v.reminder_id for v in data.views[2:]}
        with read_session(engine) as session:
            registered = {card.reminder_id for card in session.exec(select(Card)).all()}
        assert registered == sent  # each card remembered as it went out
        assert len(harness.api.of("sendMessage")) >= 4  # the header too
    finally:
        await stop_harness(harness)


async def test_an_outcome_recorded_by_a_process_killed_before_telling_it_is_told_at_the_next_start(
    engine: Engine, holder: Callable[..., Holder]
) -> None:
    """Killed between recording « sent » and editing the card: the next start tells the listeners (the card leaves
    « envoi en cours »), once; an outcome a live process has not told yet is its own; a told one is never told again."""
    from bot.sender import Sender
    from services.outbox import DeliveryResult
    from storage.outbox import record_outcome, unreported

    business_id, reminder_id, _ = seed_reminder(engine)
    queue(engine, reminder_id)
    claim = claim_next(engine, business_id, utcnow())
    assert claim is not None
    record_outcome(engine, business_id, claim, "sent", "250 2.0.0 Ok: queued", now=utcnow())
    other = holder()
    with write_session(engine) as session:
        session.execute(update(Outbox).where(Outbox.id == claim.outbox_id).values(claimed_by=other.token))
    assert unreported(engine, business_id) == []  # the live process will tell it
    other.kill()
    assert _until(lambda: not workers.alive(engine, other.token))
    told: list[DeliveryResult] = []

    async def listener(result: DeliveryResult) -> None:
        told.append(result)

    sender = Sender(engine, None, business_id)
    sender.on_outcome(listener)
    await sender.recover()
    assert [(r.outbox_id, r.outcome, r.reminder_id) for r in told] == [(claim.outbox_id, "sent", reminder_id)]
    assert told[0].sent_at is not None
    await Sender(engine, None, business_id).recover()
    await sender.recover()
    assert len(told) == 1  # told once
    with read_session(engine) as session:
        row = session.get(Outbox, claim.outbox_id)
        assert row is not None and row.reported_at is not None
