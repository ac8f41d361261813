"""Telegram and Slack side by side: the same figures and drafts to the byte, one `relance run` process serving both
(one digest per chat, an outcome shown in both), Slack's HTTP mode with its signature check, and Slack's bad input
at the process level (Slack down at start, a revoked token, a 100 MB file)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.e2e.conftest import BotEnv, BotProcess, Launch
from tests.e2e.fakebot import FakeBotAccount
from tests.e2e.fakeslack import FakeSlack
from tests.e2e.fakeslack.payloads import action_in, block_actions
from tests.e2e.fakeslack.transport import HttpTransport
from tests.e2e.scenarios.conftest import Chat
from tests.e2e.scenarios.drivers import DIGEST_HEADER, Card, SlackDriver, TelegramDriver, card_for
from tests.e2e.support import (
    OWNER,
    SLACK_OWNER,
    evidence_rows,
    expected_totals,
    invoices_csv,
    secrets_of,
    status_figures,
    table_count,
)
from tests.integration.smtp_server import ScriptedSmtpServer

pytestmark = pytest.mark.e2e

NUMBERS = ("F-2026-101", "F-2026-102", "F-2026-104")


def _lines(text: str) -> list[str]:
    """A text's non-empty lines (Telegram separates a dashboard's parts by blank lines, Slack by blocks)."""
    return [line for line in text.splitlines() if line.strip()]


# --- (a) and (b): one process, two chats ------------------------------------------------------------------------


async def test_both_chats_show_the_same_figures_and_drafts_to_the_byte(
    both_env: BotEnv, start_both: Callable[[], BotProcess], tg: FakeBotAccount, slack: FakeSlack
) -> None:
    """Over one database, /status in Telegram and in Slack shows the same dashboard, line for line, with the CSV's
    figures; each reminder's drafted e-mail is the same string in both chats."""
    both_env.import_csv(invoices_csv())
    start_both()
    telegram, slack_chat = TelegramDriver(tg), SlackDriver(slack)
    in_telegram, in_slack = await telegram.first_digest(), await slack_chat.first_digest()

    for number in NUMBERS:
        ours, theirs = card_for(in_telegram, number), card_for(in_slack, number)
        assert ours.reminder_id == theirs.reminder_id
        assert telegram.draft(ours) == slack_chat.draft(theirs), number

    dashboard = await telegram.status()
    assert status_figures(dashboard) == expected_totals()
    assert _lines(await slack_chat.status()) == _lines(dashboard)
    assert telegram.api_errors() == [] and slack_chat.api_errors() == []


async def test_one_process_one_digest_per_chat_and_a_slack_tap_shows_in_both(
    both_env: BotEnv, start_both: Callable[[], BotProcess], tg: FakeBotAccount, slack: FakeSlack,
    smtp: ScriptedSmtpServer,
) -> None:  # fmt: skip
    """Telegram and Slack in one `relance run`: the day's digest once in each chat; Envoyer in Slack mails once, the
    sender's outcome updates the card in Slack and in Telegram; Telegram's old button then says "Déjà traité."."""
    both_env.import_csv(invoices_csv())
    start_both()
    telegram, slack_chat = TelegramDriver(tg), SlackDriver(slack)
    in_telegram, in_slack = await telegram.first_digest(), await slack_chat.first_digest()

    tapped = card_for(in_slack, "F-2026-101")
    await slack_chat.send(tapped)
    await slack_chat.wait_card(tapped, "✅ Envoyé le")
    mirror = card_for(in_telegram, "F-2026-101")
    assert (await telegram.wait_card(mirror, "✅ Envoyé le")).buttons == {}
    assert await telegram.tap_again(mirror, "Envoyer") == "Déjà traité."
    (mail,) = smtp.accepted
    assert mail.rcpt_tos == ["compta@martin.example"]
    assert table_count(both_env.db_path, "outbox") == 1

    # The day's digest was claimed once in the database and shown once in each chat.
    assert [r["kind"] for r in evidence_rows(both_env.db_path)].count("digest_sent") == 1
    assert _digests(telegram, slack_chat) == (1, 1)
    (queued,) = [r for r in evidence_rows(both_env.db_path) if r["kind"] == "email_queued"]
    assert queued["actor"] == slack_chat.owner_actor
    assert telegram.api_errors() == [] and slack_chat.api_errors() == []


def _digests(telegram: TelegramDriver, slack_chat: SlackDriver) -> tuple[int, int]:
    """How many digests each chat received (their header messages)."""
    in_telegram = [m.shown for m in telegram.tg.bot_messages(OWNER)]
    in_slack = [m.plain for m in slack_chat.slack.messages(slack_chat.dm) if m.bot_id]
    return _headers(in_telegram), _headers(in_slack)


def _headers(texts: list[str]) -> int:
    """How many of a chat's messages are a digest's header."""
    return sum(1 for text in texts if DIGEST_HEADER.search(text))


# --- (c) HTTP mode ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", ["slack-http"], indirect=True)
async def test_slack_over_http_sends_once_and_refuses_unsigned_requests(chat: Chat, slack: FakeSlack) -> None:
    """`relance run --slack-http`: the digest, Envoyer mails once, a second tap says "Déjà traité."; the same click
    unsigned, signed with another secret or replayed 10 minutes later gets 403 and changes nothing, while signed
    as Slack signs it, it acts."""
    chat.env.import_csv(invoices_csv())
    chat.start()
    driver = chat.driver
    cards = await driver.first_digest()
    sent = card_for(cards, "F-2026-101")
    await driver.send(sent)
    await driver.wait_card(sent, "✅ Envoyé le")
    assert await driver.tap_again(sent, "Envoyer") == "Déjà traité."
    assert len(chat.smtp.accepted) == 1

    target = card_for(cards, "F-2026-102")
    body, content_type = _click_body(slack, target, "Envoyer")
    before = _everything(chat, slack)
    now = int(time.time())
    refused = {
        "unsigned": {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(now)},
        "forged": slack.signed_headers(body, secret="not-the-signing-secret", content_type=content_type),
        "replayed": slack.signed_headers(body, timestamp=now - 600, content_type=content_type),
    }
    for what, headers in refused.items():
        assert await slack.aio.post_raw(body, headers) == 403, what
    assert _everything(chat, slack) == before

    assert await slack.aio.post_raw(body, slack.signed_headers(body, content_type=content_type)) == 200
    await driver.wait_card(target, "✅ Envoyé le")  # the very same body, signed by Slack, is acted upon
    assert driver.api_errors() == []


def _click_body(slack: FakeSlack, card: Card, label: str) -> tuple[bytes, str]:
    """The HTTP body Slack posts when the owner clicks a card's button, and its content type."""
    message = slack.message(card.chat_id, card.message_id)
    action = action_in(message.blocks, card.data(label), None, "the card")
    payload = block_actions(slack.state.user(SLACK_OWNER), message, action, "1.T0.forged", f"{slack.url}/response/x")
    return HttpTransport.encode("interactive", payload)


def _everything(chat: Chat, slack: FakeSlack) -> object:
    """What a refused request must leave alone: the evidence log, the outbox, the e-mails, the owner's DM and
    ephemeral answers (the Web API calls are not counted: the Home tab may still be refreshing from the last tap)."""
    return (
        len(evidence_rows(chat.env.db_path)),
        table_count(chat.env.db_path, "outbox"),
        len(chat.smtp.transactions),
        json.dumps([(m.ts, m.plain, m.edits) for m in slack.messages(slack.dm_channel(SLACK_OWNER))]),
        len(slack.ephemerals(SLACK_OWNER)),
    )


# --- (d) bad input ------------------------------------------------------------------------------------------------


async def test_slack_down_at_start_is_one_line_per_attempt_then_the_bot_connects(
    slack: FakeSlack, slack_env: BotEnv, launch: Launch
) -> None:
    """Slack out of reach when `relance run` starts: one clear line per attempt (no traceback), retried with backoff;
    once Slack answers on the same address, the bot connects and delivers the digest."""
    slack.stop()
    process = launch(slack_env, ready=lambda p: "attempt 2," in p.log(), what="retry twice")
    slack.start_in_thread()
    await slack.aio.wait_for(lambda: slack.live_connections > 0, 30.0, "the Socket Mode connection")
    assert await SlackDriver(slack).first_digest() == []

    log = process.wait_log("Slack: connected")
    attempts = [line for line in log.splitlines() if "Slack unreachable" in line]
    assert len(attempts) >= 2, log
    for number, line in enumerate(attempts, start=1):
        assert f"Slack unreachable at {slack.api_url} (" in line and f": attempt {number}, next try in " in line, line
    assert [line for line in log.splitlines() if "Cannot connect" in line] == attempts  # nothing else says it
    assert log.index(attempts[-1]) < log.index("Slack: connected")
    assert "Traceback" not in log


def test_a_revoked_token_is_one_line_and_exit_2(slack: FakeSlack, slack_env: BotEnv) -> None:
    """A bot token Slack revoked: `relance run` exits 2 with one line naming SLACK_BOT_TOKEN, never the token."""
    slack.revoke(slack.bot_token)
    result = slack_env.cli("run", timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Slack refused SLACK_BOT_TOKEN (invalid or revoked: token_revoked)" in result.stderr, output
    assert "Traceback" not in output
    assert not [secret for secret in secrets_of(slack_env.env) if secret in output]


async def test_a_100_mb_file_is_refused_from_its_announced_size(
    slack: FakeSlack, slack_env: BotEnv, start_slack_bot: Callable[..., BotProcess]
) -> None:
    """A 100 MB CSV shared in the DM: refused in French with the size files.info announced (so before any
    download), nothing imported."""
    start_slack_bot()
    driver = SlackDriver(slack)
    assert await driver.first_digest() == []
    refusal = await driver.import_csv(b"x" * (100 * 1024 * 1024))
    assert "Ce fichier fait 100,0 Mo : 5 Mo au plus. Rien n'a été importé." in refusal, refusal
    assert table_count(slack_env.db_path, "invoice") == 0
    assert "import" not in [r["kind"] for r in evidence_rows(slack_env.db_path)]
    assert driver.api_errors() == []
