"""Strangers end to end: a flood of strangers neither fills the log nor slows the owner's taps; groups ignored."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.fakebot import FakeBotAccount
from tests.e2e.support import OWNER, PRIVATE, evidence_rows, invoices_csv, wait_digest

pytestmark = pytest.mark.e2e

STRANGERS = 1_000
UPDATES = 10_000
#: The flood is pushed in chunks of this many updates, one chunk every FLOOD_PAUSE seconds: about 500 a second, six
#: times the flood measured in the issue (5,000 in a minute), so 10,000 updates take about 20 s. Much faster and the
#: bot's own decoding of updates (python-telegram-bot's Update.de_json, about 0.3 ms each) becomes the limit.
FLOOD_CHUNK = 50
FLOOD_PAUSE = 0.1
P99_MS = 200.0
QUIET_TAPS = 100
FIRST_STRANGER = 7_000_000


def _entries(bot_env: BotEnv, kind: str) -> list[dict[str, Any]]:
    """The evidence entries of one kind: actor and decoded payload."""
    return [
        {"actor": r["actor"], **json.loads(str(r["payload"]))}
        for r in evidence_rows(bot_env.db_path)
        if r["kind"] == kind
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _flood(tg: FakeBotAccount, done: threading.Event) -> None:
    """10,000 private messages from 1,000 strangers, round robin, pushed in chunks."""
    sent = 0
    while sent < UPDATES:
        chunk = [(FIRST_STRANGER + (sent + i) % STRANGERS, "/start" if sent + i < STRANGERS else "bonjour")
                 for i in range(FLOOD_CHUNK)]  # fmt: skip
        sent += tg.send_texts(chunk)
        time.sleep(FLOOD_PAUSE)
    done.set()


def _tap_and_wait(tg: FakeBotAccount, message_id: int, data: str) -> float:
    """Tap a card button as the owner; seconds until the card is edited."""
    edits = tg.edit_count(OWNER, message_id)
    start = time.perf_counter()
    tg.tap(OWNER, message_id, data)
    if not tg.wait_change(lambda: tg.edit_count(OWNER, message_id) > edits, 30.0):
        raise AssertionError(f"the card was not edited within 30 s; {tg.describe()}")
    return time.perf_counter() - start


@pytest.mark.serial
async def test_a_flood_of_strangers_neither_fills_the_log_nor_slows_the_owner(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount
) -> None:
    """10,000 updates from 1,000 strangers: at most 1,000 entries, one refusal each at most, owner's p99 < 200 ms."""
    csv_path = bot_env.workdir / "factures.csv"
    csv_path.write_bytes(invoices_csv())
    assert bot_env.cli("import", str(csv_path)).returncode == 0
    bot = start_bot()
    digest = await wait_digest(tg, OWNER, 0)
    card = digest.cards[0]
    snooze = card.button("Reporter").callback_data
    assert snooze is not None
    _tap_and_wait(tg, card.message_id, snooze)
    menu = tg.message(OWNER, card.message_id)
    assert menu is not None
    back = menu.button("Retour").callback_data
    assert back is not None
    datas = (back, snooze)
    for i in range(10):  # warm-up: the first taps pay for imports and caches
        _tap_and_wait(tg, card.message_id, datas[i % 2])
    quiet = [_tap_and_wait(tg, card.message_id, datas[i % 2]) * 1000 for i in range(QUIET_TAPS)]
    print(f"owner taps without strangers: p50 {_percentile(quiet, 50):.1f} ms, p99 {_percentile(quiet, 99):.1f} ms")

    done = threading.Event()
    flood = threading.Thread(target=_flood, args=(tg, done), daemon=True)
    latencies: list[float] = []
    flood.start()
    while not done.is_set() or tg.pending_updates():
        latencies.append(_tap_and_wait(tg, card.message_id, datas[len(latencies) % 2]) * 1000)
    flood.join()
    # One more tap: updates are handled in order, so every stranger update was handled before it.
    latencies.append(_tap_and_wait(tg, card.message_id, datas[len(latencies) % 2]) * 1000)
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(
        f"owner taps during the flood: {len(latencies)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f}"
    )
    assert len(latencies) >= 50, "the flood ended before the owner could tap enough to measure"
    # The bar is 200 ms. On a machine so busy that the owner's taps already have a p99 over 100 ms with no stranger
    # at all (other test runs on 2 cores), it becomes twice that quiet p99, measured just before: the test then
    # measures the machine, not the bot. Either way it catches the queue behind strangers (a p99 of 71 s before).
    bar = max(P99_MS, 2 * _percentile(quiet, 99))
    assert p99 < bar, f"owner tap p99 {p99:.0f} ms during the flood (p50 {p50:.0f} ms), bar {bar:.0f} ms"

    await asyncio.sleep(0.5)  # refusals already decided finish going out
    assert bot.stop() == 0, bot.log()[-3000:]
    refused = _entries(bot_env, "access_refused")
    assert 0 < len(refused) <= STRANGERS
    refused_ids = [e["user_id"] for e in refused]
    assert len(set(refused_ids)) == len(refused_ids), "a stranger was recorded twice the same day"
    replied = {uid for uid in range(FIRST_STRANGER, FIRST_STRANGER + STRANGERS) if tg.bot_messages(uid)}
    assert replied <= set(refused_ids)
    for uid in replied:
        assert [m.shown for m in tg.bot_messages(uid)] == [PRIVATE]
    (count,) = _entries(bot_env, "access_refused_count")
    assert count["total"] + len(refused) == UPDATES, "every update is either refused or counted"
    assert count["others"] == 0 and count["capped"] is False
    assert tg.errors() == []


async def test_groups_and_channels_get_nothing_even_from_the_owner(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount
) -> None:
    """The owner's /digest in a supergroup and a channel post get no answer and no evidence entry."""
    start_bot()
    await wait_digest(tg, OWNER, 0)
    before = len(evidence_rows(bot_env.db_path))
    tg.send_group_text(-100123, OWNER, "/digest")
    tg.send_group_text(-100124, OWNER, "/status", chat_type="group")
    tg.send_group_text(-100125, OWNER, "/digest", chat_type="channel")
    ping = tg.send_text(OWNER, "/aide")  # handled after the three above
    await tg.wait_for(lambda: any(m.message_id > ping.message_id for m in tg.bot_messages(OWNER)), what="/aide")
    assert [tg.bot_messages(chat) for chat in (-100123, -100124, -100125)] == [[], [], []]
    assert len(evidence_rows(bot_env.db_path)) == before
