"""Envoyer through the real outbox and a real SMTP server on loopback: queued by the tap, delivered by the sender
job (once, after the sending window, never on the tap's path)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from sqlmodel import select

from bot.runtime import start_sender
from bot.sender import Sender
from bot.settings import smtp_config
from services.context import Clock
from services.delivery import OutboxDelivery
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Outbox
from tests.bot_harness import BotHarness, bot_settings, start_harness, stop_harness
from tests.factories import make_client, make_invoice
from tests.integration.smtp_server import ScriptedSmtpServer, free_port

SLOW_SECONDS = 10.0


class _SlowHandler:
    """Accepts every message after SLOW_SECONDS (an overloaded relay), counting started and finished messages."""

    def __init__(self) -> None:
        self.started = 0
        self.finished = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.started += 1
        await asyncio.sleep(SLOW_SECONDS)  # in the server's own thread and loop, like a remote server
        with self.lock:
            self.finished += 1
        return "250 2.0.0 Ok: queued slowly"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[int, _SlowHandler]]:
    """An SMTP server on loopback that takes SLOW_SECONDS per message."""
    handler = _SlowHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


def _seed(engine: Engine, business_id: int, clients: int = 1) -> None:
    with write_session(engine) as s:
        business = s.get(Business, business_id)
        assert business is not None
        for n in range(clients):
            name = "ACME SAS" if n == 0 else f"Client {n} SARL"
            client = make_client(s, business, name=name, emails=f"compta{n}@acme.example")
            make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number=f"F-2026-{42 + n:03d}")


async def _bot(sqlite_url: str, tmp_path: Path, port: int) -> tuple[BotHarness, Sender]:
    settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), SMTP_HOST="127.0.0.1", SMTP_PORT=port,
                            SMTP_SECURITY="none", SMTP_TIMEOUT=30)  # fmt: skip
    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, settings, OutboxDelivery(smtp_config(settings)))
    # What the runtime does with SMTP_HOST set: the sender, woken by the taps, reporting to the chat.
    sender = await start_sender(settings, bot.services.core, [bot.adapter])
    return bot, sender


def _button(bot: BotHarness, call: Any, action: str) -> str:
    return next(b["callback_data"] for b in bot.buttons(call) if f":{action}:" in b["callback_data"])


def _edits_of(bot: BotHarness, message_id: int) -> list[str]:
    return [str(c.params["text"]) for c in bot.api.of("editMessageText") if int(c.params["message_id"]) == message_id]


async def test_send_over_smtp_exactly_once(sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer) -> None:
    """Tap Envoyer twice: the tap answers "queued", the sender delivers one message and edits the card to Envoyé."""
    bot, sender = await _bot(sqlite_url, tmp_path, smtp_server.port)
    try:
        _seed(bot.engine, bot.services.business_id)
        await bot.owner.send("/digest")
        (card,) = bot.cards()
        data = _button(bot, card, "send")
        await bot.owner.tap(data)
        assert "📤 Approuvé, envoi en cours" in bot.api.of("editMessageText")[0].params["text"]
        await bot.owner.tap(data)
        await sender.settle()
        assert len(smtp_server.accepted) == 1
        assert b"F-2026-042" in smtp_server.accepted[0].data
        assert "✅ Envoyé le" in bot.api.of("editMessageText")[-1].params["text"]
        assert [a.params.get("text") for a in bot.api.of("answerCallbackQuery")] == ["Envoi en cours…", "Déjà traité."]
    finally:
        await stop_harness(bot)
        bot.engine.dispose()


async def test_outside_the_window_waits_then_send_now(
    sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """With no sending day left this week, Envoyer schedules the e-mail; "Envoyer maintenant" wakes the sender."""
    from datetime import datetime

    bot, sender = await _bot(sqlite_url, tmp_path, smtp_server.port)
    try:
        _seed(bot.engine, bot.services.business_id)
        # The window applies to the real clock: only a weekday other than today's is allowed.
        real_today = datetime.now(bot.services.tz).weekday()
        with write_session(bot.engine) as s:
            business = s.get(Business, bot.services.business_id)
            assert business is not None
            business.preferred_weekdays = ",".join(str(d) for d in range(5) if d != real_today)
            s.add(business)
        await bot.owner.send("/digest")
        (card,) = bot.cards()
        bot.services.core.ctx.clock = Clock(bot.services.tz)  # the real clock: the sending window applies
        await bot.owner.tap(_button(bot, card, "send"))
        await sender.settle()
        assert smtp_server.accepted == []
        edited = bot.api.of("editMessageText")[-1]
        assert "partira le" in edited.params["text"]
        (now_button,) = bot.buttons(edited)
        assert now_button["text"] == "📤 Envoyer maintenant"
        await bot.owner.tap(now_button["callback_data"])
        await sender.settle()
        assert len(smtp_server.accepted) == 1
        with read_session(bot.engine) as s:
            assert [o.state for o in s.exec(select(Outbox)).all()] == ["sent"]
        assert "✅ Envoyé le" in bot.api.of("editMessageText")[-1].params["text"]
    finally:
        await stop_harness(bot)
        bot.engine.dispose()


async def test_slow_smtp_server_never_delays_other_taps(
    sqlite_url: str, tmp_path: Path, slow_smtp: tuple[int, _SlowHandler]
) -> None:
    """While a 10 s SMTP send is in flight, ten taps on other cards are each answered within 1 s; then the sender
    edits the sent card to "✅ Envoyé"."""
    port, server = slow_smtp
    bot, sender = await _bot(sqlite_url, tmp_path, port)
    try:
        _seed(bot.engine, bot.services.business_id, clients=11)
        await bot.owner.send("/digest")
        cards = bot.cards()
        assert len(cards) == 11
        first = cards[0]
        rid = int(_button(bot, first, "send").split(":")[2])
        ((_, shown_in),) = bot.services.cards_of(rid)
        card_message = int(shown_in)

        started = time.monotonic()
        await bot.owner.tap(_button(bot, first, "send"), card_message)
        assert time.monotonic() - started < 1.0, "the Envoyer tap waited for the SMTP server"
        for _ in range(200):  # the sender job has the message on the wire
            if server.started:
                break
            await asyncio.sleep(0.02)
        assert server.started == 1

        actions = ["snz", "snz3", "pay", "payf", "more", "snz7", "back", "snz1", "pay", "more"]
        for action, card in zip(actions, cards[1:], strict=True):
            _, _, other, version = _button(bot, card, "send").split(":")
            ((_, message_id),) = bot.services.cards_of(int(other))
            began = time.monotonic()
            await bot.owner.tap(f"r1:{action}:{other}:{version}", int(message_id))
            assert time.monotonic() - began < 1.0, f"tap {action} waited behind the SMTP send"
        assert server.finished == 0, "the taps were not made while the send was in flight"
        assert not any("✅ Envoyé" in text for text in _edits_of(bot, card_message))

        await sender.settle(timeout=SLOW_SECONDS + 15)
        assert server.finished == 1
        assert "✅ Envoyé le" in _edits_of(bot, card_message)[-1]
        with read_session(bot.engine) as s:
            assert [o.state for o in s.exec(select(Outbox)).all()] == ["sent"]
    finally:
        await stop_harness(bot)
        bot.engine.dispose()
