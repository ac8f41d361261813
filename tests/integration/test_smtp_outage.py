"""The SMTP server down, then back: the approved e-mails wait in the queue (however many tries), each owner is told
once that sending is down and once that it is back, and every message leaves exactly once."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from bot.runtime import start_sender
from bot.sender import Sender
from bot.settings import smtp_config
from services.delivery import OutboxDelivery
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Outbox
from storage.outbox import MAX_ATTEMPTS
from storage.types import utcnow
from tests.bot_harness import BotHarness, bot_settings, start_harness, stop_harness
from tests.factories import make_client, make_invoice
from tests.integration.smtp_server import ScriptedSmtpServer, free_port

OWNERS = (111, 222)
DOWN = "Envoi en panne"
BACK = "Envoi rétabli"


def _seed(engine: Engine, business_id: int, clients: int) -> None:
    with write_session(engine) as s:
        business = s.get(Business, business_id)
        assert business is not None
        for n in range(clients):
            client = make_client(s, business, name=f"Client {n} SARL", emails=f"compta{n}@client{n}.example")
            make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number=f"F-2026-{42 + n:03d}")


async def _bot(db_url: str, tmp_path: Path, port: int) -> tuple[BotHarness, Sender]:
    settings = bot_settings(db_url, tmp_path, date(2026, 11, 24), SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                            SMTP_SECURITY="none", SMTP_TIMEOUT=10,
                            OWNER_CHAT_IDS=",".join(str(o) for o in OWNERS))  # fmt: skip
    engine = make_engine(db_url)
    bot = await start_harness(engine, settings, OutboxDelivery(smtp_config(settings)))
    sender = await start_sender(settings, bot.services.core, [bot.adapter])
    return bot, sender


def _notices(bot: BotHarness, words: str) -> list[int]:
    """The chats that received a message containing `words`."""
    return sorted(int(c.params["chat_id"]) for c in bot.api.of("sendMessage") if words in str(c.params.get("text")))


def _rows(engine: Engine) -> list[tuple[str, int]]:
    with read_session(engine) as s:
        return [(row.state, row.attempts) for row in s.exec(select(Outbox).order_by(Outbox.id))]


async def test_smtp_down_then_back_tells_each_owner_once_and_sends_each_message_once(
    db_url: str, tmp_path: Path
) -> None:
    """Three e-mails approved while the SMTP server is down: they stay queued through more than MAX_ATTEMPTS tries
    (a server never reached does not use the tries up), each of the two owners gets one "Envoi en panne" message (not
    one per e-mail), and when the server is back one "Envoi rétabli" each and every e-mail is accepted once."""
    server = ScriptedSmtpServer()  # its port, not listening yet: the SMTP server is down
    bot, sender = await _bot(db_url, tmp_path, server.port)
    try:
        _seed(bot.engine, bot.services.business_id, clients=3)
        await bot.owner.send("/digest")
        cards = bot.cards()
        assert len(cards) == 3
        for card in cards:
            send = next(b["callback_data"] for b in bot.buttons(card) if ":send:" in b["callback_data"])
            await bot.owner.tap(send)  # each tap queues its e-mail and wakes the sender: the server is not there
            await sender.settle()
        assert sender.smtp_down
        now = utcnow()
        for minutes in range(2, 2 * (MAX_ATTEMPTS + 2), 2):  # more rounds than MAX_ATTEMPTS, each row due again
            await sender.tick(now + timedelta(minutes=minutes))
        assert [state for state, _ in _rows(bot.engine)] == ["queued"] * 3
        assert all(attempts == 0 for _, attempts in _rows(bot.engine))  # no try counted: none can run out
        assert _notices(bot, DOWN) == list(OWNERS)
        assert _notices(bot, BACK) == []
        assert not any("Échec" in str(c.params.get("text")) for c in bot.api.of("sendMessage"))

        with server:  # the server is back
            await sender.tick(now + timedelta(hours=1))
            await sender.tick(now + timedelta(hours=2))  # nothing left: no second send, no second notice
            assert not sender.smtp_down
            assert [state for state, _ in _rows(bot.engine)] == ["sent"] * 3
            accepted = server.accepted
            assert len(accepted) == 3
            assert len({received.message_id for received in accepted}) == 3
        assert _notices(bot, DOWN) == list(OWNERS)
        assert _notices(bot, BACK) == list(OWNERS)
    finally:
        await stop_harness(bot)
        bot.engine.dispose()


async def test_scheduled_ticks_back_off_while_smtp_is_down(sqlite_url: str, tmp_path: Path) -> None:
    """While the server is down the scheduler's ticks try it only once their backoff has passed (a long outage is
    not hammered every 30 s); a tap's wake-up (`tick`) still tries at once."""
    bot, sender = await _bot(sqlite_url, tmp_path, free_port())  # nobody listens there
    try:
        _seed(bot.engine, bot.services.business_id, clients=2)
        await bot.owner.send("/digest")
        for card in bot.cards():
            send = next(b["callback_data"] for b in bot.buttons(card) if ":send:" in b["callback_data"])
            await bot.owner.tap(send)
            await sender.settle()
        assert sender.smtp_down
        assert await sender.scheduled_tick() == []  # within the backoff: not tried
        tried = await sender.tick(utcnow() + timedelta(minutes=2))
        assert [result.unreachable for result in tried] == [True]  # one try per round, the others left untouched
    finally:
        await stop_harness(bot)
        bot.engine.dispose()


async def test_slack_owners_are_told_in_their_language_and_other_businesses_are_ignored(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The Slack adapter's side: the sender's "down" then "back" reach each owner's DM once, in French or English;
    another business's SMTP state makes no Slack call."""
    from tests.integration.slack_helpers import OWNER as SLACK_OWNER
    from tests.integration.test_slack_app import SECOND, adapter_running

    async with adapter_running(sqlite_url, tmp_path, owners=(SLACK_OWNER, SECOND)) as r:
        business_id = r.presenter.business_id
        calls = len(r.slack.calls)
        await r.adapter.on_smtp_state(business_id + 1, True)
        assert len(r.slack.calls) == calls
        await r.adapter.on_smtp_state(business_id, True)
        await r.adapter.on_smtp_state(business_id, False)
        french = [m.plain for m in r.slack.messages(r.dm())]
        english = [m.plain for m in r.slack.messages(r.dm(SECOND))]
        assert [DOWN in m for m in french].count(True) == 1 and [BACK in m for m in french].count(True) == 1
        assert [("Sending is down" in m) for m in english].count(True) == 1
        assert [("Sending is back" in m) for m in english].count(True) == 1
