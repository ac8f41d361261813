"""The Slack adapter as `relance run` starts it, against the Slack emulator: start-up (refused tokens, Slack out of
reach), Socket Mode surviving a disconnect, the digest to each owner, e-mail outcomes on the cards."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.adapters import AdapterStartError
from bot.presenter import Presenter
from bot.slack.app import SlackAdapter
from bot.slack.context import SlackContext
from services.outbox import DeliveryResult
from storage.db import make_engine
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.e2e.fakeslack import FakeSlack, Message
from tests.integration.slack_helpers import OWNER, TODAY, seed
from tests.integration.smtp_server import free_port

#: A second owner, whose Slack is in English.
SECOND = "U0SECOND"


@dataclass
class Running:
    """A started SlackAdapter, the emulator it talks to, the database and the recorded deliveries."""

    adapter: SlackAdapter
    slack: FakeSlack
    engine: Engine
    delivery: RecordingDelivery

    @property
    def ctx(self) -> SlackContext:
        """The listeners' context."""
        assert self.adapter.ctx is not None
        return self.adapter.ctx

    @property
    def presenter(self) -> Presenter:
        """The business's use cases as this workspace presents them."""
        return self.ctx.presenter

    def dm(self, user_id: str = OWNER) -> str:
        """An owner's DM with the app."""
        return self.slack.dm_channel(user_id)

    async def digest(self) -> list[Message]:
        """Today's digest delivered by the adapter; the cards (messages with buttons) in the first owner's DM."""
        data = self.presenter.digest(claim=False)
        assert data is not None
        await self.adapter.deliver_digest(data)
        return [m for m in self.slack.messages(self.dm()) if any(b["type"] == "actions" for b in m.blocks)]


@asynccontextmanager
async def adapter_running(
    sqlite_url: str,
    tmp_path: Path,
    *,
    http: bool = False,
    owners: tuple[str, ...] = (OWNER,),
    amounts: tuple[str, ...] = ("1200.00",),
    delivery: RecordingDelivery | None = None,
    http_port: int | None = None,
) -> AsyncIterator[Running]:
    """The emulator (owners Claire in French, U0SECOND in English, a stranger), invoices overdue by two weeks, and a
    SlackAdapter started over them (Socket Mode, or HTTP on a free port the emulator delivers to)."""
    slack = FakeSlack().start_in_thread()
    slack.add_user(OWNER, "Claire", locale="fr-FR")
    slack.add_user(SECOND, "Sam", locale="en-US")
    slack.add_user("U0STRANGER", "Bruno", locale="fr-FR")
    engine = make_engine(sqlite_url)
    port = http_port or free_port()
    settings = bot_settings(
        sqlite_url, tmp_path, TODAY, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url, SLACK_OWNER_IDS=",".join(owners), SLACK_SIGNING_SECRET=slack.signing_secret,
        SLACK_HTTP_HOST="127.0.0.1", SLACK_HTTP_PORT=port,
    )  # fmt: skip
    delivery = delivery or RecordingDelivery()
    core = make_services(engine, settings, delivery).core
    seed(engine, *amounts)
    adapter = SlackAdapter(settings, core, http=http, max_attempts=1)
    try:
        await adapter.start()
        if http:
            slack.use_http(f"http://127.0.0.1:{port}/slack/events")
        else:
            await slack.aio.wait_for(lambda: slack.live_connections > 0, what="the Socket Mode connection")
        yield Running(adapter, slack, engine, delivery)
        # Whatever the test did, Slack never had to refuse the app's blocks, nor to warn of a missing `text`.
        refused = [c for c in slack.calls if c.warning or c.error in ("invalid_blocks", "invalid_arguments")]
        assert not refused, refused
    finally:
        await adapter.stop()
        slack.stop()
        engine.dispose()


def _adapter(slack_url: str, tmp_path: Path, **overrides: Any) -> SlackAdapter:
    """An adapter over a fresh database, for start-up tests (retries every 10 ms)."""
    url = f"sqlite:///{tmp_path / 'start.db'}"
    fields: dict[str, Any] = {"SLACK_BOT_TOKEN": "xoxb-secret-bot-token-0000", "SLACK_APP_TOKEN": "xapp-1-secret-0000",
                              "SLACK_API_URL": slack_url, "SLACK_OWNER_IDS": OWNER}  # fmt: skip
    fields.update(overrides)
    settings = bot_settings(url, tmp_path, TODAY, **fields)
    core = make_services(make_engine(url), settings, RecordingDelivery()).core
    return SlackAdapter(settings, core, max_attempts=3, first_delay=0.01)


async def test_a_revoked_bot_token_stops_the_start_with_exit_2_without_printing_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """auth.test answers token_revoked: AdapterStartError, exit code 2, naming SLACK_BOT_TOKEN but never its value."""
    with FakeSlack() as slack:
        slack.revoke(slack.bot_token)
        adapter = _adapter(slack.api_url, tmp_path, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token)
        with caplog.at_level(logging.DEBUG), pytest.raises(AdapterStartError) as raised:
            await adapter.start()
        assert raised.value.exit_code == 2
        message = str(raised.value)
        assert "refused SLACK_BOT_TOKEN (invalid or revoked" in message and "token_revoked" in message
        assert slack.bot_token not in message and slack.bot_token not in caplog.text
        assert len(slack.calls_of("auth.test")) == 1  # a refused token is not retried


async def test_an_unknown_app_token_stops_the_start_with_exit_2(tmp_path: Path) -> None:
    """apps.connections.open refuses the app token: exit 2 naming SLACK_APP_TOKEN, the token not in the message."""
    with FakeSlack() as slack:
        adapter = _adapter(slack.api_url, tmp_path, SLACK_BOT_TOKEN=slack.bot_token)
        with pytest.raises(AdapterStartError) as raised:
            await adapter.start()
        assert raised.value.exit_code == 2 and "SLACK_APP_TOKEN" in str(raised.value)
        assert "xapp-1-secret-0000" not in str(raised.value)


async def test_slack_out_of_reach_is_retried_with_one_line_per_attempt_then_exit_1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at SLACK_API_URL: one warning per failed attempt, doubling delays, then exit 1."""
    url = f"http://127.0.0.1:{free_port()}/api/"
    adapter = _adapter(url, tmp_path)
    with caplog.at_level(logging.WARNING, logger="bot.slack.app"), pytest.raises(AdapterStartError) as raised:
        await adapter.start()
    assert raised.value.exit_code == 1
    assert f"Slack unreachable at {url} after 3 attempt(s)" in str(raised.value)
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack.app"]
    assert (
        len(lines) == 2 and "attempt 1, next try in 0.01 s" in lines[0] and "attempt 2, next try in 0.02 s" in lines[1]
    )
    assert "xoxb-secret-bot-token-0000" not in caplog.text


async def test_slack_errors_are_retried_until_it_answers(tmp_path: Path) -> None:
    """auth.test fails twice (HTTP 503, then rate-limited): the third attempt connects."""
    with FakeSlack() as slack:
        slack.add_user(OWNER, "Claire")
        slack.fail_next("auth.test", "service_unavailable", http_status=503)
        slack.rate_limit("auth.test", retry_after=0)
        adapter = _adapter(slack.api_url, tmp_path, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token)
        await adapter.start()
        try:
            assert len(slack.calls_of("auth.test")) == 3
            assert adapter.ctx is not None and adapter.ctx.presenter.channel == f"slack:{slack.team_id}"
        finally:
            await adapter.stop()


async def test_socket_mode_survives_a_disconnect(sqlite_url: str, tmp_path: Path) -> None:
    """After Slack's `disconnect` envelope the adapter reconnects (a new apps.connections.open) and still answers."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        opened = len(r.slack.calls_of("apps.connections.open"))
        await r.slack.aio.disconnect()
        await r.slack.aio.wait_for(
            lambda: len(r.slack.calls_of("apps.connections.open")) > opened and r.slack.live_connections > 0,
            what="the reconnection",
        )
        (card,) = await r.digest()
        ack = await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "snz"))
        assert ack == {} or ack.get("ok", True)
        await r.slack.aio.wait_modal(OWNER, "Reporter")


async def test_digest_reaches_each_owner_in_their_language_and_registers_the_cards(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Two owners: each DM gets the header then one card per reminder, in French and in English; cards remembered."""
    async with adapter_running(sqlite_url, tmp_path, owners=(OWNER, SECOND), amounts=("1200.00", "80.00")) as r:
        cards = await r.digest()
        assert len(cards) == 2
        assert "relance(s) attendent votre accord" in r.slack.messages(r.dm())[0].plain
        english = r.slack.messages(r.dm(SECOND))
        assert "await your approval" in english[0].plain and len(english) == 3
        rid = r.presenter.pending()[0].reminder_id
        assert len(r.presenter.cards_of(rid)) == 2


async def test_a_rate_limited_digest_waits_as_slack_says_and_loses_no_card(sqlite_url: str, tmp_path: Path) -> None:
    """chat.postMessage answers 429 (Retry-After: 1) twice in the middle of the digest: the calls wait and try again,
    and the header and all three cards arrive, in order."""
    async with adapter_running(sqlite_url, tmp_path, amounts=("1200.00", "80.00", "45.00")) as r:
        await r.ctx.dm(OWNER)
        r.slack.rate_limit("chat.postMessage", retry_after=1, times=2)
        cards = await r.digest()
        assert len(cards) == 3 and len(r.slack.messages(r.dm())) == 4
        assert [c.status for c in r.slack.calls_of("chat.postMessage")][:3] == [429, 429, 200]


async def test_one_owner_failing_does_not_stop_the_digest_of_the_others(sqlite_url: str, tmp_path: Path) -> None:
    """The first owner's DM cannot be opened (channel_not_found): the second owner still gets the whole digest."""
    async with adapter_running(sqlite_url, tmp_path, owners=(OWNER, SECOND)) as r:
        r.slack.fail_next("conversations.open", "channel_not_found")
        await r.digest()
        assert r.slack.messages(r.dm()) == []
        assert len(r.slack.messages(r.dm(SECOND))) == 2


async def test_a_failed_e_mail_shows_on_every_card_and_is_told_to_the_owners(sqlite_url: str, tmp_path: Path) -> None:
    """on_outcome(failed): each owner's card says the send failed (in their language) and each owner gets a DM."""
    async with adapter_running(sqlite_url, tmp_path, owners=(OWNER, SECOND)) as r:
        (card,) = await r.digest()
        rid = r.presenter.pending()[0].reminder_id
        result = DeliveryResult(1, rid, r.presenter.business_id, "failed", "550 5.1.1 user unknown", "<m@x>",
                                ("a@b.example",), 1, None, datetime.now(UTC))  # fmt: skip
        await r.adapter.on_outcome(result)
        french = r.slack.message(r.dm(), card.ts)
        assert "Le dernier envoi a échoué : 550 5.1.1 user unknown" in french.plain
        assert any("The last attempt failed: 550 5.1.1 user unknown" in m.plain for m in r.slack.messages(r.dm(SECOND)))
        await r.slack.aio.wait_message(r.dm(), "L'envoi a échoué : 550 5.1.1 user unknown")
        await r.slack.aio.wait_message(r.dm(SECOND), "550 5.1.1 user unknown", after=card.ts)


async def test_another_business_outcome_is_ignored(sqlite_url: str, tmp_path: Path) -> None:
    """on_outcome of another business's e-mail: no Slack call at all."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        calls = len(r.slack.calls)
        other = DeliveryResult(1, 1, r.presenter.business_id + 1, "failed", "550", "<m@x>", (), 1)
        await r.adapter.on_outcome(other)
        assert len(r.slack.calls) == calls


def button_of(message: Message, action: str) -> str:
    """The action_id of a card's button for `action` (r1:<action>:…)."""
    for block in message.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if str(element["action_id"]).startswith(f"r1:{action}:"):
                return str(element["action_id"])
    raise LookupError(f"no {action} button on {message.ts}")


async def test_a_worker_sends_the_digest_but_opens_no_connection(sqlite_url: str, tmp_path: Path) -> None:
    """`relance run --worker` with Slack: the token is checked and the digest's cards reach the owner's DM, but no
    Socket Mode connection is opened (the receiving process has it: Slack would split the events between them)."""
    with FakeSlack() as slack:
        slack.add_user(OWNER, "Claire", locale="fr-FR")
        url = f"sqlite:///{tmp_path / 'worker.db'}"
        settings = bot_settings(url, tmp_path, TODAY, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
                                SLACK_API_URL=slack.api_url, SLACK_OWNER_IDS=OWNER)  # fmt: skip
        engine = make_engine(url)
        core = make_services(engine, settings, RecordingDelivery()).core
        seed(engine, "1200.00")
        adapter = SlackAdapter(settings, core, receive=False, max_attempts=1)
        try:
            await adapter.start()
            data = core.digest(claim=True)
            assert data is not None
            await adapter.deliver_digest(data)
            assert len(slack.calls_of("auth.test")) == 1 and slack.calls_of("apps.connections.open") == []
            assert slack.live_connections == 0
            assert len(slack.calls_of("chat.postMessage")) == 2  # the header and the card
        finally:
            await adapter.stop()
            engine.dispose()
