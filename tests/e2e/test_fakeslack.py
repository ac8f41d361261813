"""The Slack emulator itself, driven by the real slack_sdk clients: Web API errors, Block Kit checks, Socket Mode
(hello, envelopes, acks, disconnect), signed HTTP delivery, files, triggers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.e2e.fakeslack import FakeSlack, SlackTimeout
from tests.e2e.fakeslack import state as fakeslack_state

pytestmark = pytest.mark.e2e

OWNER = "U0OWNER"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The emulator in its own thread, with one French-speaking member."""
    with FakeSlack() as server:
        server.add_user(OWNER, "claire", locale="fr-FR")
        yield server


def web_client(slack: FakeSlack, token: str | None = "bot") -> AsyncWebClient:
    """slack_sdk's client pointed at the emulator ("bot" means the emulator's bot token)."""
    return AsyncWebClient(token=slack.bot_token if token == "bot" else token, base_url=slack.api_url)


def card(*action_ids: str) -> list[dict[str, Any]]:
    """A small message: one section and one button per action id (value = action id)."""
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": a}, "action_id": a, "value": a} for a in action_ids
    ]
    return [
        {"type": "section", "block_id": "text", "text": {"type": "mrkdwn", "text": "*Relance* F-1"}},
        {"type": "actions", "block_id": "buttons", "elements": buttons},
    ]


class Recorder:
    """A SocketModeClient listener that answers every envelope with a chosen ack payload and keeps what it saw."""

    def __init__(self) -> None:
        self.requests: list[SocketModeRequest] = []
        self.raw: list[dict[str, Any]] = []
        self.ack: dict[str, Any] | None = None
        self.hello = asyncio.Event()

    async def on_message(self, client: Any, message: dict[str, Any], raw: str | None) -> None:
        self.raw.append(message)
        if message.get("type") == "hello":
            self.hello.set()

    async def on_request(self, client: Any, request: SocketModeRequest) -> None:
        self.requests.append(request)
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, self.ack))


@pytest.fixture
async def socket_app(slack: FakeSlack) -> AsyncIterator[tuple[SocketModeClient, Recorder]]:
    """A connected slack_sdk SocketModeClient (app token, emulator base_url) acking every envelope."""
    recorder = Recorder()
    client = SocketModeClient(slack.app_token, web_client=AsyncWebClient(base_url=slack.api_url), ping_interval=1)
    client.message_listeners.append(recorder.on_message)
    client.socket_mode_request_listeners.append(recorder.on_request)
    await client.connect()
    await asyncio.wait_for(recorder.hello.wait(), 5.0)
    try:
        yield client, recorder
    finally:
        await client.close()


# ---------------------------------------------------------------------- Web API


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-unknown", "invalid_auth"), ("app", "not_allowed_token_type")],
)
async def test_tokens_are_checked(slack: FakeSlack, token: str | None, error: str) -> None:
    """No token, an unknown token and an app token on a bot method get Slack's errors (HTTP 200, ok false)."""
    client = web_client(slack, slack.app_token if token == "app" else token)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel=OWNER, text="Bonjour")
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == error
    assert slack.messages(slack.dm_channel(OWNER)) == []


async def test_revoked_token(slack: FakeSlack) -> None:
    """auth.test answers the workspace ids, then token_revoked once the token is revoked."""
    client = web_client(slack)
    answer = await client.auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == (slack.team_id, slack.bot_user_id, "B0RELBOT")
    slack.revoke(slack.bot_token)
    with pytest.raises(SlackApiError, match="token_revoked"):
        await client.auth_test()


async def test_rate_limit_answers_429_with_retry_after(slack: FakeSlack) -> None:
    """An injected rate limit is HTTP 429 with Retry-After; slack_sdk's retry handler then gets through."""
    slack.rate_limit("chat.postMessage", retry_after=1, times=2)
    with pytest.raises(SlackApiError) as caught:
        await web_client(slack).chat_postMessage(channel=OWNER, text="un")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "1"
    assert caught.value.response["error"] == "ratelimited"
    patient = web_client(slack)
    patient.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    answer = await patient.chat_postMessage(channel=OWNER, text="deux")
    assert answer["ok"]
    assert [c.status for c in slack.calls_of("chat.postMessage")] == [429, 429, 200]


async def test_fail_next_and_unknown_channel(slack: FakeSlack) -> None:
    """fail_next injects one error; an unknown channel is channel_not_found; posting to a user lands in the DM."""
    client = web_client(slack)
    slack.fail_next("chat.postMessage", "internal_error")
    with pytest.raises(SlackApiError, match="internal_error"):
        await client.chat_postMessage(channel=OWNER, text="Bonjour")
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="C0NOWHERE", text="Bonjour")
    answer = await client.chat_postMessage(channel=OWNER, text="Bonjour")
    assert answer["channel"] == slack.dm_channel(OWNER)
    assert [m.text for m in slack.messages(answer["channel"])] == ["Bonjour"]


async def test_users_info_and_conversations_open(slack: FakeSlack) -> None:
    """users.info gives the locale only with include_locale; conversations.open gives the DM channel."""
    client = web_client(slack)
    assert (await client.users_info(user=OWNER, include_locale=True))["user"]["locale"] == "fr-FR"
    assert "locale" not in (await client.users_info(user=OWNER))["user"]
    opened = await client.conversations_open(users=OWNER)
    assert opened["channel"]["id"] == slack.dm_channel(OWNER)
    assert opened["channel"]["id"].startswith("D")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U0NOBODY")


async def test_down_then_back_on_the_same_port(slack: FakeSlack) -> None:
    """stop() makes Slack unreachable; start_in_thread() brings it back on the same URL with the same workspace."""
    url = slack.api_url
    slack.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await web_client(slack).auth_test()
    slack.start_in_thread()
    assert slack.api_url == url
    assert (await web_client(slack).users_info(user=OWNER))["user"]["name"] == "claire"


async def test_update_keeps_the_current_message(slack: FakeSlack) -> None:
    """chat.update replaces text and blocks in place and is logged; an unknown ts is message_not_found."""
    client = web_client(slack)
    posted = await client.chat_postMessage(channel=OWNER, text="Relance F-1", blocks=card("r1:send:1:1"))
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Envoyée", blocks=card()[:1])
    current = slack.message(posted["channel"], posted["ts"])
    assert (current.text, current.edits) == ("Envoyée", 1)
    assert slack.wait_update(posted["channel"], posted["ts"]).text == "Envoyée"
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.chat_update(channel=posted["channel"], ts="1.000000", text="x")


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([_section("x")] * 51, "/blocks"),
        ([_section("x" * 3001)], "/blocks/0/text/text"),
        ([*card("r1:send:1:1"), *card("r1:send:1:1")[1:]], "/blocks/2/elements/0/action_id"),
        ([*card("a"), {"type": "divider", "block_id": "text"}], "/blocks/2/block_id"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "Titre"}}], "/blocks/0/text/type"),
        ([{"type": "table"}], "/blocks/0/type"),
        (card("a" * 256), "/blocks/1/elements/0/action_id"),
        (
            [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}]}],
            "/blocks/0/elements/0/text/text",
        ),
        ([{"type": "image", "alt_text": "graphique", "slack_file": {"id": "F0NOPE"}}], "/blocks/0/slack_file/id"),
    ],
    ids=[
        "51-blocks",
        "3001-chars",
        "duplicate-action-id",
        "duplicate-block-id",
        "mrkdwn-header",
        "unknown-type",
        "long-action-id",
        "long-button-text",
        "unknown-slack-file",
    ],
)
async def test_invalid_blocks(slack: FakeSlack, blocks: list[dict[str, Any]], pointer: str) -> None:
    """Blocks past Slack's limits are refused with invalid_blocks and a message naming the JSON pointer."""
    with pytest.raises(SlackApiError) as caught:
        await web_client(slack).chat_postMessage(channel=OWNER, text="Relance", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    messages = caught.value.response["response_metadata"]["messages"]
    assert any(m.startswith("[ERROR] ") and m.endswith(f"[json-pointer:{pointer}]") for m in messages), messages


async def test_limits_themselves_are_accepted(slack: FakeSlack) -> None:
    """Exactly 50 blocks, a 3,000-character section and a 150-character header pass."""
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}, _section("x" * 3000)]
    blocks += [{"type": "divider"}] * 48
    answer = await web_client(slack).chat_postMessage(channel=OWNER, text="Relance", blocks=blocks)
    assert len(slack.message(answer["channel"], answer["ts"]).blocks) == 50
    assert slack.calls_of("chat.postMessage")[-1].warning is None


async def test_blocks_without_fallback_text_are_flagged(slack: FakeSlack) -> None:
    """Blocks without `text` pass, as in Slack, but the call records the missing_text warning."""
    with pytest.warns(UserWarning, match="text"):
        await web_client(slack).chat_postMessage(channel=OWNER, blocks=[_section("Relance")])
    assert slack.calls_of("chat.postMessage")[-1].warning == "missing_text"


async def test_views_need_a_fresh_trigger(slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    """views.open takes a trigger once; unknown, reused or expired triggers get Slack's errors; modals are checked."""
    client = web_client(slack)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Payée"}, "blocks": [_section("Montant")]}
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        await client.views_open(trigger_id="1.2.3", view=modal)
    trigger = slack.state.issue_trigger(OWNER)
    opened = await client.views_open(trigger_id=trigger, view=modal)
    assert [v.id for v in slack.views_of(OWNER)] == [opened["view"]["id"]]
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        await client.views_open(trigger_id=trigger, view=modal)
    long_title = {**modal, "title": {"type": "plain_text", "text": "t" * 25}}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_open(trigger_id=slack.state.issue_trigger(OWNER), view=long_title)
    monkeypatch.setattr(fakeslack_state, "TRIGGER_TTL", -1.0)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id=slack.state.issue_trigger(OWNER), view=modal)


async def test_home_view_allows_100_blocks(slack: FakeSlack) -> None:
    """views.publish keeps one Home view per user, up to 100 blocks, and refuses 101."""
    client = web_client(slack)
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    await client.views_publish(user_id=OWNER, view=home)
    await client.views_publish(user_id=OWNER, view={"type": "home", "blocks": [_section("Tableau de bord")]})
    assert slack.wait_home(OWNER, "Tableau de bord").blocks == [_section("Tableau de bord")]
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_publish(user_id=OWNER, view={"type": "home", "blocks": [{"type": "divider"}] * 101})


async def test_file_upload_and_download_roundtrip(slack: FakeSlack) -> None:
    """files_upload_v2 stores the bytes; image blocks may use the file; download needs the bot token."""
    client = web_client(slack)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    uploaded = await client.files_upload_v2(content=png, filename="aging.png", channel=slack.dm_channel(OWNER))
    file_id = uploaded["files"][0]["id"]
    assert slack.files[file_id].content == png
    image = [{"type": "image", "alt_text": "Balance âgée", "slack_file": {"id": file_id}}]
    await client.chat_postMessage(channel=OWNER, text="Graphique", blocks=image)
    info = (await client.files_info(file=file_id))["file"]
    assert (info["name"], info["size"]) == ("aging.png", len(png))
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {slack.bot_token}"}
        async with session.get(info["url_private_download"], headers=headers) as answer:
            assert await answer.read() == png
        async with session.get(info["url_private_download"]) as answer:
            assert answer.content_type == "text/html"


# ---------------------------------------------------------------------- Socket Mode


async def test_socket_mode_hello_envelope_ack(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """hello on connect; a click is an `interactive` envelope shaped like Slack's, acked by envelope_id."""
    _, recorder = socket_app
    assert recorder.raw[0]["type"] == "hello"
    posted = await web_client(slack).chat_postMessage(channel=OWNER, text="Relance", blocks=card("r1:send:7:2"))
    assert await slack.aio.click(OWNER, posted["channel"], posted["ts"], "r1:send:7:2") == {}
    request = recorder.requests[-1]
    assert request.type == "interactive"
    payload = request.payload
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == OWNER
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    action = payload["actions"][0]
    assert (action["action_id"], action["value"], action["block_id"]) == ("r1:send:7:2", "r1:send:7:2", "buttons")
    delivery = slack.deliveries[-1]
    assert delivery.envelope_id == request.envelope_id
    assert delivery.ack_seconds is not None and delivery.ack_seconds < 3
    with pytest.raises(LookupError):
        await slack.aio.click(OWNER, posted["channel"], posted["ts"], "r1:paid:7:2")


async def test_slash_command_ack_becomes_ephemeral(
    slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]
) -> None:
    """A slash command is a `slash_commands` envelope; text in the ack is shown to the user only."""
    _, recorder = socket_app
    recorder.ack = {"text": "Commande reçue."}
    ack = await slack.aio.slash(OWNER, "status")
    assert ack == {"text": "Commande reçue."}
    request = recorder.requests[-1]
    assert request.type == "slash_commands" and request.accepts_response_payload
    assert (request.payload["command"], request.payload["text"], request.payload["user_id"]) == (
        "/relance",
        "status",
        OWNER,
    )
    assert slack.wait_ephemeral(OWNER, "Commande reçue.").source == "ack"


async def test_modal_submission_and_errors(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """submit_view sends state.values; response_action errors keeps the modal open, a plain ack closes it."""
    _, recorder = socket_app
    modal = {
        "type": "modal",
        "callback_id": "paid",
        "private_metadata": "r=12",
        "title": {"type": "plain_text", "text": "Payée"},
        "submit": {"type": "plain_text", "text": "Valider"},
        "blocks": [
            {
                "type": "input",
                "block_id": "amount",
                "label": {"type": "plain_text", "text": "Montant"},
                "element": {"type": "plain_text_input", "action_id": "value"},
            },
            {
                "type": "input",
                "block_id": "when",
                "label": {"type": "plain_text", "text": "Date"},
                "element": {"type": "datepicker", "action_id": "date", "initial_date": "2026-11-24"},
            },
        ],
    }
    opened = await web_client(slack).views_open(trigger_id=slack.state.issue_trigger(OWNER), view=modal)
    view_id = opened["view"]["id"]
    recorder.ack = {"response_action": "errors", "errors": {"amount": "Montant invalide."}}
    ack = await slack.aio.submit_view(OWNER, view_id, {"amount": {"value": "abc"}})
    assert ack["response_action"] == "errors"
    submitted = recorder.requests[-1].payload
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["private_metadata"] == "r=12" and submitted["view"]["callback_id"] == "paid"
    assert submitted["view"]["state"]["values"] == {
        "amount": {"value": {"type": "plain_text_input", "value": "abc"}},
        "when": {"date": {"type": "datepicker", "selected_date": "2026-11-24"}},
    }
    assert [v.id for v in slack.views_of(OWNER)] == [view_id]
    recorder.ack = None
    await slack.aio.submit_view(OWNER, view_id, {"amount": {"value": "120,50"}})
    assert slack.views_of(OWNER) == []
    with pytest.raises(LookupError):
        await slack.aio.submit_view(OWNER, view_id, {"amount": {"value": "1"}})


async def test_click_in_a_modal(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """click_view sends block_actions with a view container and the view's current input values."""
    _, recorder = socket_app
    modal = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Reporter"},
        "submit": {"type": "plain_text", "text": "Valider"},
        "blocks": [
            {"type": "actions", "block_id": "days", "elements": card("r1:snooze:4:1:3")[1]["elements"]},
            {
                "type": "input",
                "block_id": "date",
                "label": {"type": "plain_text", "text": "Date"},
                "element": {"type": "datepicker", "action_id": "pick", "initial_date": "2026-12-01"},
            },
        ],
    }
    opened = await web_client(slack).views_open(trigger_id=slack.state.issue_trigger(OWNER), view=modal)
    await slack.aio.click_view(OWNER, opened["view"]["id"], "r1:snooze:4:1:3")
    payload = recorder.requests[-1].payload
    assert payload["container"] == {"type": "view", "view_id": opened["view"]["id"]}
    assert payload["actions"][0]["block_id"] == "days"
    assert payload["view"]["state"]["values"]["date"]["pick"]["selected_date"] == "2026-12-01"
    with pytest.raises(LookupError):
        await slack.aio.click_view(OWNER, opened["view"]["id"], "r1:snooze:4:1:7")


async def test_response_url_and_ephemerals(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """A click's response_url replaces the message; chat.postEphemeral shows to one known user."""
    _, recorder = socket_app
    client = web_client(slack)
    posted = await client.chat_postMessage(channel=OWNER, text="Relance", blocks=card("r1:paid:5:1"))
    await slack.aio.click(OWNER, posted["channel"], posted["ts"], "r1:paid:5:1")
    response_url = recorder.requests[-1].payload["response_url"]
    async with (
        aiohttp.ClientSession() as session,
        session.post(response_url, json={"replace_original": True, "text": "Payée"}) as answer,
    ):
        assert (await answer.json())["ok"]
    assert slack.wait_update(posted["channel"], posted["ts"]).text == "Payée"
    await client.chat_postEphemeral(channel=posted["channel"], user=OWNER, text="Déjà traité.")
    assert [e.text for e in slack.ephemerals(OWNER)] == ["Déjà traité."]
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.chat_postEphemeral(channel=posted["channel"], user="U0NOBODY", text="Non.")


async def test_events_are_delivered(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """share_file, open_home and dm_text arrive as events_api callbacks (file_shared, app_home_opened, message)."""
    _, recorder = socket_app
    file_id = await slack.aio.share_file(OWNER, "factures.csv", b"numero;montant\n")
    await slack.aio.open_home(OWNER)
    await slack.aio.dm_text(OWNER, "bonjour")
    events = [r.payload["event"] for r in recorder.requests]
    assert all(r.type == "events_api" and r.payload["type"] == "event_callback" for r in recorder.requests)
    assert events[0]["type"] == "file_shared" and events[0]["file_id"] == file_id
    assert (events[1]["type"], events[1]["user"], events[1]["tab"]) == ("app_home_opened", OWNER, "home")
    assert (events[2]["type"], events[2]["text"], events[2]["channel_type"]) == ("message", "bonjour", "im")


async def test_disconnect_is_survived(slack: FakeSlack, socket_app: tuple[SocketModeClient, Recorder]) -> None:
    """After a disconnect request the client opens a new connection (apps.connections.open) and still gets clicks."""
    _, recorder = socket_app
    await slack.aio.disconnect()
    await slack.aio.wait_for(lambda: slack.connections_opened >= 2, 10.0, "a second Socket Mode connection")
    assert len(slack.calls_of("apps.connections.open")) == 2
    posted = await web_client(slack).chat_postMessage(channel=OWNER, text="Relance", blocks=card("r1:snooze:3:1"))
    await slack.aio.click(OWNER, posted["channel"], posted["ts"], "r1:snooze:3:1")
    assert recorder.requests[-1].payload["actions"][0]["action_id"] == "r1:snooze:3:1"
    assert [m["type"] for m in recorder.raw if m.get("type") == "hello"] == ["hello", "hello"]


async def test_no_ack_is_a_timeout(slack: FakeSlack) -> None:
    """Without any connection (or acknowledgment) a driving method fails after its deadline instead of hanging."""
    with pytest.raises(SlackTimeout):
        await slack.aio.slash(OWNER, "status", timeout=0.2)


# ---------------------------------------------------------------------- HTTP mode


@pytest.fixture
async def http_app(slack: FakeSlack) -> AsyncIterator[list[web.Request | bytes]]:
    """An aiohttp receiver on loopback checking Slack's signature (403 otherwise), acking with JSON."""
    verifier = SignatureVerifier(slack.signing_secret)
    seen: list[web.Request | bytes] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=403)
        seen.extend([request, body])
        return web.json_response({"response_action": "clear"} if b"view_submission" in body else {})

    app = web.Application()
    app.router.add_post("/slack/events", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    slack.use_http(f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events")
    try:
        yield seen
    finally:
        await runner.cleanup()


async def test_signed_http_delivery(slack: FakeSlack, http_app: list[web.Request | bytes]) -> None:
    """In HTTP mode, clicks are signed forms (payload=<json>), commands signed forms, events signed JSON."""
    posted = await web_client(slack).chat_postMessage(channel=OWNER, text="Relance", blocks=card("r1:send:1:1"))
    await slack.aio.click(OWNER, posted["channel"], posted["ts"], "r1:send:1:1")
    await slack.aio.slash(OWNER, "aide")
    await slack.aio.dm_text(OWNER, "bonjour")
    bodies = [b for b in http_app if isinstance(b, bytes)]
    click = json.loads(parse_qs(bodies[0].decode())["payload"][0])
    assert click["actions"][0]["action_id"] == "r1:send:1:1"
    assert parse_qs(bodies[1].decode())["command"] == ["/relance"]
    assert json.loads(bodies[2])["event"]["text"] == "bonjour"
    assert {d.transport for d in slack.deliveries} == {"http"}


async def test_forged_old_and_unsigned_requests(slack: FakeSlack, http_app: list[web.Request | bytes]) -> None:
    """post_raw plays forged, replayed and unsigned requests; the receiver's 403 comes back as the status."""
    body = b'{"type": "event_callback"}'
    assert await slack.aio.post_raw(body, slack.signed_headers(body)) == 200
    assert await slack.aio.post_raw(body, slack.signed_headers(body, secret="wrong-secret")) == 403
    six_minutes_ago = int(time.time()) - 6 * 60
    assert await slack.aio.post_raw(body, slack.signed_headers(body, timestamp=six_minutes_ago)) == 403
    assert await slack.aio.post_raw(body, {"Content-Type": "application/json"}) == 403
    assert len(http_app) == 2
