"""Webhook mode end to end: `relance run --webhook URL` as a process, the fake Bot API posting the updates to it.

The owner's taps arrive by webhook and act; forged requests (no or wrong secret) get 403 and change nothing; an
oversized body gets 413 before it is sent; /healthz is 200, then 503 once the database file is gone; going back to
polling deletes the webhook.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.fakebot import FakeBotAccount, StoredMessage
from tests.e2e.support import (
    OWNER,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    invoices_csv,
    last_message_id,
    next_reply,
    reminder_id_of,
    reminder_row,
    reply_with,
    table_count,
    wait_digest,
)
from tests.integration.smtp_server import ScriptedSmtpServer, free_port

pytestmark = pytest.mark.e2e

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _tap_update(tg: FakeBotAccount, card: StoredMessage, label: str, update_id: int) -> dict[str, Any]:
    """The callback update Telegram would post for the owner tapping `label` on `card`."""
    data = card.button(label).callback_data
    assert data is not None
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"forged-{update_id}",
            "from": {"id": OWNER, "is_bot": False, "first_name": "Claire", "language_code": "fr"},
            "message": {
                "message_id": card.message_id,
                "date": 1_700_000_000,
                "chat": {"id": OWNER, "type": "private", "first_name": "Claire"},
                "from": tg.bot_user,
                "text": card.text or "",
            },
            "chat_instance": "778",
            "data": data,
        },
    }


async def _post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as response:
        return response.status


async def _healthz(base: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as response:
        return response.status, json.loads(await response.text())


async def _status_line(port: int, head: str) -> bytes:
    """Send a request head only (its body never follows) and read the answer's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode())
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 5.0)
    finally:
        writer.close()


async def test_taps_arrive_by_webhook_and_forgeries_change_nothing(
    bot_env: BotEnv,
    start_webhook_bot: Callable[[], BotProcess],
    tg: FakeBotAccount,
    smtp: ScriptedSmtpServer,
) -> None:
    """Webhook mode: setWebhook with the secret and no getUpdates; a forged Envoyer (no or wrong secret) is refused
    403 and sends nothing, the same update with the secret sends once; the owner's Reporter tap is posted by the
    fake, answered and acts; an announced 2 MB body gets 413 unread; the log never shows the secret."""
    bot_env.import_csv(invoices_csv())
    bot = start_webhook_bot()
    port = int(bot_env.env["WEBHOOK_PORT"])
    base = f"http://127.0.0.1:{port}"
    hook = base + WEBHOOK_PATH

    (set_call,) = tg.calls("setWebhook")
    assert set_call.params["secret_token"] == WEBHOOK_SECRET and set_call.params["url"] == hook
    digest = await wait_digest(tg, OWNER, 0)
    assert tg.polls == 0  # updates come by webhook only

    # Forged Envoyer on F-2026-101: no secret, then a wrong one. Refused, and nothing moves.
    card = digest.card_for("F-2026-101")
    reminder = reminder_id_of(card)
    before = reminder_row(bot_env.db_path, reminder)
    evidence_before = table_count(bot_env.db_path, "evidence")
    forged = _tap_update(tg, card, "Envoyer", 900_001)
    assert await _post(hook, forged, None) == 403
    assert await _post(hook, forged, "not-the-secret-at-all-0000") == 403
    assert await _post(hook, forged, WEBHOOK_SECRET[:-1] + "x") == 403
    await asyncio.sleep(1.0)
    assert tg.calls("answerCallbackQuery") == []
    assert smtp.transactions == []
    assert reminder_row(bot_env.db_path, reminder) == before
    assert table_count(bot_env.db_path, "evidence") == evidence_before
    assert tg.edit_count(OWNER, card.message_id) == 0

    # An announced body over 1 MB, with the secret: 413 although not one byte of it was sent.
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {WEBHOOK_SECRET}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {2 * 1024 * 1024}\r\n\r\n"
    )
    assert (await _status_line(port, head)).startswith(b"HTTP/1.1 413")

    # The very same update with the secret is Telegram's: it acts, once.
    assert await _post(hook, forged, WEBHOOK_SECRET) == 200
    await tg.wait_for(lambda: smtp.accepted, what="the e-mail of the update posted with the secret")
    await tg.wait_for(
        lambda: (m := tg.message(OWNER, card.message_id)) is not None and "Envoyé le" in m.shown, what="the sent card"
    )
    assert len(smtp.transactions) == 1

    # The owner taps ⏰ Reporter on F-2026-102: the fake posts the update to the webhook, the bot answers.
    other = digest.card_for("F-2026-102")
    tap = tg.press(other, "Reporter")
    await tg.wait_for(lambda: tg.tap_state(tap.id).answered, what="the answer to Reporter")
    menu = await tg.wait_for(
        lambda: (m := tg.message(OWNER, other.message_id)) is not None and "+3 j" in m.button_labels and m,
        what="the snooze choices",
    )
    assert any(status == 200 for _, status in tg.webhook_deliveries())
    assert all(status == 200 for _, status in tg.webhook_deliveries()), tg.webhook_deliveries()
    tg.press(menu, "+3 j")
    await tg.wait_for(lambda: reminder_row(bot_env.db_path, reminder_id_of(other))["snoozed_until"], what="snooze")

    # A typed command comes the same way.
    mark = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/status")
    await reply_with(tg, mark, "Encours")
    assert tg.pending_updates() == 0
    assert len(smtp.transactions) == 1
    assert bot.stop() == 0, bot.log()[-3000:]
    assert WEBHOOK_SECRET not in bot.log()


async def test_healthz_then_unreachable_database_then_back_to_polling(
    bot_env: BotEnv,
    start_webhook_bot: Callable[[], BotProcess],
    start_bot: Callable[[], BotProcess],
    tg: FakeBotAccount,
) -> None:
    """/healthz on the webhook server: 200 with the digest check's time; the database file moved away: 503 (the
    database named, no secret in the answer); back in place: 200. Then `relance run` without --webhook deletes the
    webhook and long-polls, with /healthz on HEALTH_PORT."""
    bot = start_webhook_bot()
    base = f"http://127.0.0.1:{bot_env.env['WEBHOOK_PORT']}"

    async def healthy_with_check() -> dict[str, Any] | None:
        status, body = await _healthz(base)
        return body if status == 200 and body["digest_check"]["last"] else None

    body = None
    for _ in range(200):
        body = await healthy_with_check()
        if body:
            break
        await asyncio.sleep(0.05)
    assert body is not None, await _healthz(base)
    assert body["status"] == "ok" and body["database"]["ok"] and body["sender_tick"]["ok"]

    moved = bot_env.db_path.with_suffix(".away")
    bot_env.db_path.rename(moved)
    try:
        status, body = await _healthz(base)
        assert status == 503, body
        assert body["status"] == "unhealthy" and body["database"]["ok"] is False
        text = json.dumps(body)
        assert WEBHOOK_SECRET not in text and str(bot_env.db_path) not in text
    finally:
        moved.rename(bot_env.db_path)
    assert (await _healthz(base))[0] == 200
    assert bot.stop() == 0, bot.log()[-3000:]
    assert tg.webhook_url is not None  # the webhook stays set while the bot is down: Telegram keeps the updates

    health_port = free_port()
    bot_env.env["HEALTH_PORT"] = str(health_port)
    bot_env.env.pop("WEBHOOK_SECRET")
    polling = start_bot()
    polling.wait_log("running (")  # /healthz on HEALTH_PORT starts after the adapters
    assert tg.webhook_url is None and tg.calls("deleteWebhook")
    status, body = await _healthz(f"http://127.0.0.1:{health_port}")
    assert status == 200 and body["database"]["ok"], body
    mark = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/status")
    await next_reply(tg, mark)
    assert polling.stop() == 0, polling.log()[-3000:]
