"""The morning fan-out against a fake Bot API enforcing Telegram's flood limits (scaled down in time): every owner gets
their digest exactly once, no 429 loses a message, and one chat never gets two messages within the per-chat pace."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

import bot.ratelimit
from bot.app import TelegramAdapter
from bot.ratelimit import FloodLimiter, Pacer, bulk
from services.core import Services
from storage.db import make_engine, write_session
from storage.models import Business
from tests.bot_harness import RecordingDelivery, bot_settings
from tests.e2e.fakebot import DEFAULT_TOKEN, FakeBotAccount, FakeTelegram
from tests.e2e.fakebot.limits import FloodLimits
from tests.factories import make_client, make_invoice

TODAY = date(2026, 11, 24)
OWNERS = [5000 + n for n in range(200)]
#: Telegram's limits divided by 10 in time: 300 messages a second overall, one per 0.1 s in a chat.
OVERALL = 300.0
PER_CHAT = 0.1


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A fresh migrated SQLite database."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def _fake(limits: FloodLimits, owners: list[int]) -> tuple[FakeTelegram, FakeBotAccount]:
    server = FakeTelegram(limits=limits)
    account = server.add_bot(DEFAULT_TOKEN)
    for owner in owners:
        account.add_chat(owner, first_name="Claire", language_code="fr")
    server.start_in_thread()
    return server, account


async def _fan_out(engine: Engine, tmp_path: Path, url: str, owners: list[int]) -> TelegramAdapter:
    settings = bot_settings(
        str(engine.url), tmp_path, TODAY, TELEGRAM_API_URL=url, OWNER_CHAT_IDS=",".join(map(str, owners))
    )
    adapter = TelegramAdapter(settings, _services(engine, settings))
    with write_session(engine) as s:
        business = s.get(Business, adapter.presenter.business_id)
        assert business is not None
        for n in range(2):  # two overdue invoices: a header and two cards per owner
            client = make_client(s, business, name=f"Client {n}", emails=f"compta{n}@client.example")
            make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number=f"F-2026-00{n}")
    await adapter.application.initialize()
    try:
        data = adapter.presenter.core.digest(claim=True)
        assert data is not None and len(data.views) == 2
        await adapter.deliver_digest(data)
    finally:
        await adapter.application.shutdown()
    return adapter


def _services(engine: Engine, settings: object) -> Services:
    from bot.business import build_context

    return Services(build_context(engine, settings, delivery=RecordingDelivery(), apply=True))  # type: ignore[arg-type]


def _check_every_owner_once(account: FakeBotAccount, owners: list[int]) -> None:
    for owner in owners:
        texts = [m.text for m in account.history(owner)]
        assert len(texts) == 3, (owner, texts)  # the header and two cards, none twice
        assert len(set(texts)) == 3
    sent: dict[str, list[float]] = defaultdict(list)
    for call in account.calls("sendMessage"):
        if call.ok:
            sent[str(call.params["chat_id"])].append(call.at)
    for chat, times in sent.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= PER_CHAT * 0.9, (chat, gaps)  # the fake's clock and ours differ by microseconds


async def test_a_paced_fan_out_to_200_owners_delivers_each_digest_once_without_a_429(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At Telegram's pace (scaled), 600 messages to 200 owners all arrive once, in order, side by side."""
    monkeypatch.setattr(bot.ratelimit, "OVERALL_PER_SECOND", OVERALL)
    monkeypatch.setattr(bot.ratelimit, "PER_CHAT_INTERVAL", PER_CHAT)
    monkeypatch.setattr(bot.ratelimit, "CHAT_MARGIN", 0.01)
    limits = FloodLimits(overall=OVERALL, per_chat=PER_CHAT)
    server, account = _fake(limits, OWNERS)
    try:
        await _fan_out(engine, tmp_path, server.url, OWNERS)
    finally:
        server.stop()
    _check_every_owner_once(account, OWNERS)
    # At the scaled pace a loaded machine's scheduling jitter may reach the per-chat margin once or twice: such a 429
    # is waited out and retried like any other (the stricter server below proves it); none at the real pace (bench).
    assert limits.refused <= 6  # 1 % of the messages
    assert limits.accepted == 600
    # The chats are served side by side, not one after the other: one by one, the 600 messages would come in 200
    # blocks of one chat (199 changes of chat); side by side, the chat changes at almost every message.
    chats = [c.params["chat_id"] for c in sorted(account.calls("sendMessage"), key=lambda c: c.at) if c.ok]
    changes = sum(1 for a, b in itertools.pairwise(chats) if a != b)
    assert changes > 400, changes


async def test_429s_from_a_stricter_server_are_waited_out_and_nothing_is_lost(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a server allowing 1/20 of our pace, 429s pause and retry: every message still arrives exactly once."""
    monkeypatch.setattr(bot.ratelimit, "OVERALL_PER_SECOND", OVERALL)
    monkeypatch.setattr(bot.ratelimit, "PER_CHAT_INTERVAL", PER_CHAT)
    monkeypatch.setattr(bot.ratelimit, "CHAT_MARGIN", 0.01)
    owners = OWNERS[:30]
    limits = FloodLimits(overall=15, per_chat=PER_CHAT)
    server, account = _fake(limits, owners)
    try:
        adapter = await _fan_out(engine, tmp_path, server.url, owners)
    finally:
        server.stop()
    limiter = adapter.application.bot.rate_limiter
    assert isinstance(limiter, FloodLimiter)
    assert limits.refused > 0 and limiter.retried == limits.refused
    assert [c.status for c in account.calls("sendMessage")].count(429) == limits.refused
    _check_every_owner_once(account, owners)
    assert limits.accepted == 90


async def test_the_owners_taps_go_before_the_bulk_digests() -> None:
    """With bulk messages waiting for their turn, an interactive message is served at the next turn."""
    pacer = Pacer(50.0)
    order: list[str] = []

    async def send(name: str, *, urgent: bool) -> None:
        await pacer.turn(urgent=urgent)
        order.append(name)

    with bulk():
        queued = [asyncio.ensure_future(send(f"bulk{n}", urgent=False)) for n in range(10)]
    await asyncio.sleep(0.05)  # a few bulk turns went by
    await send("tap", urgent=True)
    await asyncio.gather(*queued)
    assert order.index("tap") <= 4, order
    assert len(order) == 11
