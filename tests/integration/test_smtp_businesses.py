"""Several businesses, each with its own SMTP account (issue 12): one whose account is broken does not slow the
others, and its owners are told once.

A business whose SMTP server refuses the login (535, wrong password) keeps its e-mails in the queue without using
up their tries (the password is the business's settings, not the messages' fault): its owners get one "sending is
down" notice, not one failure per e-mail, and everything leaves once the password is right. A business whose SMTP
server hangs until the timeout delays neither another business's tap (each sender delivers in its own task) nor its
scheduled tick (the runtime ticks the senders side by side).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import select

from bot.handlers.delivery import listener
from bot.presenter import Presenter
from bot.runtime import Runtime, open_services
from bot.sender import Sender
from dunning.penalties import builtin_rate_table
from messages.delivery import SmtpConfig
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import OutboxDelivery
from services.outbox import DeliveryResult
from storage.db import read_session, write_session
from storage.models import Outbox
from storage.types import utcnow
from tests.bot_harness import bot_settings
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.delivery_helpers import FixedDrafter, RecordingBot, queue, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer, SilentSmtpServer, free_port

PASSWORD = "b0n-M0t-de-Passe"
#: B's hung server is given up after this; A's e-mail must leave well before it.
HUNG_TIMEOUT = 2.0
PROMPT = 1.0

_LOOPBACK_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class _Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 2.0.0 Ok"


@dataclass
class _AuthServer:
    port: int
    sink: _Sink


@pytest.fixture
def auth_server() -> Iterator[_AuthServer]:
    """An SMTP server on loopback that requires AUTH (user 'b', password PASSWORD)."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"b", PASSWORD.encode())
        return AuthResult(success=ok, handled=False)

    sink, port = _Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_required=True, ready_timeout=10)  # fmt: skip
    controller.start()
    try:
        yield _AuthServer(port, sink)
    finally:
        controller.stop()


def _auth_config(port: int, password: str) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, username="b", password=SecretStr(password), security="none",
                      timeout=5)  # fmt: skip


@dataclass
class _Business:
    business_id: int
    reminders: list[int]
    sender: Sender
    chat: RecordingBot
    states: list[tuple[int, bool]] = field(default_factory=list)
    #: When each outcome reached the listeners (time.monotonic()).
    outcomes: list[tuple[float, DeliveryResult]] = field(default_factory=list)


def _business(engine: Engine, config: SmtpConfig, *, owner: int, slug: str, emails: int) -> _Business:
    """A business with one owner, its own SMTP account and `emails` approved e-mails waiting in its outbox."""
    reminders: list[int] = []
    with write_session(engine) as session:
        business = make_business(session, slug=slug, owner_chat_ids=str(owner))
        assert business.id is not None
        business_id = business.id
        for n in range(emails):
            client = make_client(session, business, name=f"Client {slug} {n}", emails=f"compta{n}@{slug}.example")
            invoice = make_invoice(session, client, due=date(2026, 10, 15), number=f"{slug}-{n}")
            reminder = make_reminder(session, client, [invoice])
            assert reminder.id is not None
            reminders.append(reminder.id)
    for n, reminder_id in enumerate(reminders):
        queue(engine, reminder_id, recipients=[f"compta{n}@{slug}.example"])
    ctx = BusinessContext(engine=engine, business_id=business_id, owner_ids=frozenset({owner}),
                          clock=Clock(ZoneInfo("Europe/Paris"), date(2026, 11, 24)),
                          rate_table=builtin_rate_table(), drafter=FixedDrafter(),
                          delivery=OutboxDelivery(config))  # fmt: skip
    presenter = Presenter(Services(ctx), channel="telegram:999")
    presenter.register_cards([(reminder_id, str(owner), str(100 + n)) for n, reminder_id in enumerate(reminders)])
    chat = RecordingBot()
    sender = Sender(engine, config, business_id)
    made = _Business(business_id, reminders, sender, chat)
    sender.on_outcome(listener(chat, presenter))  # type: ignore[arg-type]

    @sender.on_outcome
    async def timed(result: DeliveryResult) -> None:
        made.outcomes.append((time.monotonic(), result))

    @sender.on_smtp_state
    async def state(business: int, down: bool) -> None:
        made.states.append((business, down))

    return made


def _rows(engine: Engine, business: _Business) -> list[tuple[str, int]]:
    with read_session(engine) as session:
        rows = session.exec(select(Outbox).where(Outbox.business_id == business.business_id).order_by(Outbox.id))
        return [(row.state, row.attempts) for row in rows]


@_LOOPBACK_AUTH
async def test_wrong_smtp_password_keeps_the_emails_queued_and_tells_the_owners_once(
    engine: Engine, smtp_server: ScriptedSmtpServer, auth_server: _AuthServer
) -> None:
    """B's server refuses B's password (535) through many rounds: A's e-mails all leave; B's stay queued with no try
    used (not failed one by one), B's owner gets one "down" notice and no failure message, each of B's cards says
    why; with the right password they all leave once and the owner hears "back" once."""
    a = _business(engine, smtp_config(smtp_server.port), owner=111, slug="alpha", emails=2)
    b = _business(engine, _auth_config(auth_server.port, "faux-" + PASSWORD), owner=333, slug="beta", emails=3)
    now = utcnow()
    for minutes in range(0, 40, 2):  # twenty rounds, every row due again each time
        await asyncio.gather(a.sender.tick(now + timedelta(minutes=minutes)),
                             b.sender.tick(now + timedelta(minutes=minutes)))  # fmt: skip
    assert _rows(engine, a) == [("sent", 1)] * 2 and len(smtp_server.accepted) == 2
    assert _rows(engine, b) == [("queued", 0)] * 3  # no try used: the e-mails do not run out of tries
    assert auth_server.sink.messages == []
    assert b.sender.smtp_down and b.states == [(b.business_id, True)]  # told once, not once per round or e-mail
    assert a.states == [] and not a.sender.smtp_down
    assert b.chat.messages == []  # no "L'envoi a échoué" per e-mail
    assert {result.outcome for _, result in b.outcomes} == {"retry"}
    assert all("535" in str(result.reply) and PASSWORD not in str(result.reply) for _, result in b.outcomes)
    assert b.chat.edits and all("535" in text for _, _, text in b.chat.edits)  # each card says why it waits
    assert a.chat.messages == [] and all(chat == 111 for chat, _, _ in a.chat.edits)
    assert await b.sender.scheduled_tick() == []  # the scheduler backs off: not every 30 s

    b.sender.config = _auth_config(auth_server.port, PASSWORD)  # the owner fixed the password
    await b.sender.tick(now + timedelta(hours=1))
    await b.sender.tick(now + timedelta(hours=2))
    assert _rows(engine, b) == [("sent", 1)] * 3 and len(auth_server.sink.messages) == 3
    assert b.states == [(b.business_id, True), (b.business_id, False)]
    assert b.chat.messages == [] and len(smtp_server.accepted) == 2


async def _latency_of_a(a: _Business, tick: Any) -> float:
    """Seconds from the start of `tick()` to A's e-mail reaching A's listeners."""
    started = time.monotonic()
    await tick()
    ((at, result),) = a.outcomes
    assert result.outcome == "sent"
    return at - started


async def _two_businesses(engine: Engine, smtp_server: ScriptedSmtpServer, b_port: int) -> tuple[_Business, _Business]:
    b = _business(engine, smtp_config(b_port, timeout=HUNG_TIMEOUT), owner=333, slug="beta", emails=2)
    a = _business(engine, smtp_config(smtp_server.port), owner=111, slug="alpha", emails=1)
    return a, b


@pytest.mark.parametrize("b_broken", [False, True], ids=["b-fine", "b-hung"])
async def test_a_hung_smtp_server_does_not_delay_another_business_tap(
    sqlite_url: str, smtp_server: ScriptedSmtpServer, b_broken: bool
) -> None:
    """B's e-mails are woken first and B's server never greets: A's tap, woken just after, still goes out at once
    (each sender delivers in its own task); B's e-mails wait, its owner is told once."""
    from storage.db import make_engine

    engine = make_engine(sqlite_url)
    silent = SilentSmtpServer("greeting")
    try:
        with silent:
            a, b = await _two_businesses(engine, smtp_server, silent.port if b_broken else smtp_server.port)

            async def taps() -> None:
                b.sender.wake()
                a.sender.wake()
                await a.sender.settle()

            latency = await _latency_of_a(a, taps)
            await b.sender.settle()
        print(f"A's send latency (tap), B {'hung' if b_broken else 'fine'}: {latency * 1000:.0f} ms")
        assert latency < PROMPT
        if b_broken:
            assert _rows(engine, b) == [("queued", 0)] * 2 and b.states == [(b.business_id, True)]
        else:
            assert _rows(engine, b) == [("sent", 1)] * 2 and b.states == []
    finally:
        engine.dispose()


async def test_a_hung_smtp_server_does_not_delay_another_business_tick(
    sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """The scheduler's tick of every sender: B (ticked first) waits HUNG_TIMEOUT for a server that never greets;
    A's due e-mail leaves at once all the same."""
    settings = bot_settings(sqlite_url, tmp_path, None)
    core = open_services(settings)
    runtime = Runtime(settings, core, [])
    try:
        with SilentSmtpServer("greeting") as silent:
            a, b = await _two_businesses(core.engine, smtp_server, silent.port)
            runtime.other_senders = [b.sender, a.sender]
            latency = await _latency_of_a(a, runtime._tick_senders)
        print(f"A's send latency (scheduled tick), B hung: {latency * 1000:.0f} ms")
        assert b.states == [(b.business_id, True)]
        assert latency < PROMPT
    finally:
        runtime.health.close()
        core.engine.dispose()


async def test_scheduled_tick_latency_with_every_server_fine(
    sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """The baseline of the test above: both servers answer, A's e-mail leaves within PROMPT of the tick."""
    settings = bot_settings(sqlite_url, tmp_path, None)
    core = open_services(settings)
    runtime = Runtime(settings, core, [])
    try:
        a, b = await _two_businesses(core.engine, smtp_server, smtp_server.port)
        runtime.other_senders = [b.sender, a.sender]
        latency = await _latency_of_a(a, runtime._tick_senders)
        print(f"A's send latency (scheduled tick), B fine: {latency * 1000:.0f} ms")
        assert latency < PROMPT and _rows(core.engine, b) == [("sent", 1)] * 2
    finally:
        runtime.health.close()
        core.engine.dispose()
