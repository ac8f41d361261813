"""HTTP mode (`relance run --slack-http`): Slack's request signature checked before anything is read or done.

Forged, unsigned, replayed and oversized requests are refused (403, 413) and change nothing; the same request signed
by Slack goes through to the listeners.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.adapters import AdapterStartError
from bot.slack import home
from bot.slack.http import MAX_BODY, PATH, verify_signature
from tests.e2e.fakeslack.payloads import block_action, block_actions, elements
from tests.e2e.fakeslack.transport import HttpTransport
from tests.integration.slack_helpers import OWNER, database_digest
from tests.integration.test_slack_app import Running, adapter_running, button_of

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = 1_712_345_678.0


def _sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def test_a_signature_made_with_the_secret_passes() -> None:
    """Slack's own recipe (v0=hex HMAC-SHA256 of "v0:<ts>:<body>") with a timestamp of now is accepted."""
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    ts = str(int(NOW))
    assert verify_signature(SECRET, ts, body, _sign(body, ts), NOW)
    assert verify_signature(SECRET, ts, body, _sign(body, ts), NOW + 299)


@pytest.mark.parametrize(
    ("case", "timestamp", "signature"),
    [
        ("other secret", str(int(NOW)), _sign(b"{}", str(int(NOW)), secret="not-the-secret")),
        ("body changed", str(int(NOW)), _sign(b'{"a": 1}', str(int(NOW)))),
        ("six minutes old", str(int(NOW) - 360), _sign(b"{}", str(int(NOW) - 360))),
        ("six minutes ahead", str(int(NOW) + 360), _sign(b"{}", str(int(NOW) + 360))),
        ("no timestamp", None, _sign(b"{}", "")),
        ("not a number", "12a4", _sign(b"{}", "12a4")),
        ("unicode digits", "١٧١٢٣٤٥٦٧٨", _sign(b"{}", "١٧١٢٣٤٥٦٧٨")),
        ("no signature", str(int(NOW)), None),
        ("not hex", str(int(NOW)), "v0=é" + "0" * 63),
        ("v1 scheme", str(int(NOW)), "v1=" + _sign(b"{}", str(int(NOW)))[3:]),
    ],
)
def test_anything_else_is_refused(case: str, timestamp: str | None, signature: str | None) -> None:
    """Another secret, a changed body, a timestamp over five minutes off, a missing or malformed field: refused."""
    assert not verify_signature(SECRET, timestamp, b"{}", signature, NOW), case


def test_an_empty_secret_verifies_nothing() -> None:
    """Without a signing secret nothing passes, not even a request "signed" with the empty secret."""
    ts = str(int(NOW))
    assert not verify_signature("", ts, b"{}", _sign(b"{}", ts, secret=""), NOW)


def _click_body(r: Running, ts: str, action_id: str) -> bytes:
    """The form Slack posts for a click on `action_id` in message `ts` of the owner's DM."""
    message = r.slack.state.find(r.dm(), ts)
    assert message is not None
    block_id, element = next((b, e) for b, e in elements(message.blocks) if e.get("action_id") == action_id)
    payload = block_actions(
        r.slack.state.user(OWNER), message, block_action(block_id, element, element.get("value")), "T-1", "http://x"
    )
    body, _ = HttpTransport.encode("interactive", payload)
    return body


def _form_headers(r: Running, body: bytes, **kw: Any) -> dict[str, str]:
    return r.slack.signed_headers(body, content_type="application/x-www-form-urlencoded", **kw)


async def test_clicks_work_over_signed_http(sqlite_url: str, tmp_path: Path) -> None:
    """HTTP mode end to end: Reporter opens its modal, whose errors come back in the HTTP answer; Envoyer sends the
    e-mail and updates the card."""
    async with adapter_running(sqlite_url, tmp_path, http=True) as r:
        (card,) = await r.digest()
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "snz"))
        view = await r.slack.aio.wait_modal(OWNER, "Reporter")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {})
        assert ack["response_action"] == "errors" and "Choisissez" in ack["errors"]["days"]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "send"))
        await r.slack.aio.wait_for(lambda: "Envoyé le" in r.slack.message(r.dm(), card.ts).plain, what="sent card")
        assert len(r.delivery.sent) == 1
        assert {d.transport for d in r.slack.deliveries} == {"http"}


async def test_forged_unsigned_and_replayed_requests_are_refused_and_change_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A real ✅ Envoyer click, posted with another secret, without signature or timestamp, or signed six minutes
    ago or ahead: 403 each time, no e-mail, no database change, no Slack call. Signed now, it sends."""
    async with adapter_running(sqlite_url, tmp_path, http=True) as r:
        (card,) = await r.digest()
        body = _click_body(r, card.ts, button_of(card, "send"))
        before, calls = database_digest(r.engine), len(r.slack.calls)
        now = int(time.time())
        refused = [
            _form_headers(r, body, secret="forged-secret"),
            {"Content-Type": "application/x-www-form-urlencoded"},
            {k: v for k, v in _form_headers(r, body).items() if k != "X-Slack-Request-Timestamp"},
            {k: v for k, v in _form_headers(r, body).items() if k != "X-Slack-Signature"},
            _form_headers(r, body, timestamp=now - 6 * 60),
            _form_headers(r, body, timestamp=now + 6 * 60),
        ]
        for headers in refused:
            assert await r.slack.aio.post_raw(body, headers) == 403, headers
        assert await r.slack.aio.post_raw(body + b"&x=1", _form_headers(r, body)) == 403  # body changed after signing
        await home.settle(r.ctx)
        assert database_digest(r.engine) == before and r.delivery.sent == []
        assert len(r.slack.calls) == calls
        assert await r.slack.aio.post_raw(body, _form_headers(r, body)) == 200
        await r.slack.aio.wait_for(lambda: "Envoyé le" in r.slack.message(r.dm(), card.ts).plain, what="sent card")
        assert len(r.delivery.sent) == 1


async def test_url_verification_and_oversized_bodies(sqlite_url: str, tmp_path: Path) -> None:
    """Slack's url_verification challenge is answered (signed); a body over 1 MB is refused with 413, unread."""
    async with adapter_running(sqlite_url, tmp_path, http=True) as r:
        server = r.adapter.server
        assert server is not None
        url = f"http://127.0.0.1:{server.port}{PATH}"
        challenge = json.dumps({"type": "url_verification", "token": "x", "challenge": "3eZbrw1aB"}).encode()
        big = b"x" * (MAX_BODY + 1)
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=challenge, headers=r.slack.signed_headers(challenge)) as answer:
                assert answer.status == 200 and (await answer.json())["challenge"] == "3eZbrw1aB"
            async with http.post(url, data=challenge, headers={"Content-Type": "application/json"}) as answer:
                assert answer.status == 403
            async with http.post(url, data=io.BytesIO(big), headers=r.slack.signed_headers(big)) as answer:
                assert answer.status == 413

            async def chunks() -> Any:  # no Content-Length: the cap holds while reading
                for _ in range(MAX_BODY // 65536 + 2):
                    yield b"y" * 65536

            headers = {k: v for k, v in r.slack.signed_headers(b"").items() if k != "Content-Length"}
            async with http.post(url, data=chunks(), headers=headers) as answer:
                assert answer.status == 413


async def test_a_busy_port_stops_the_start_with_exit_1(sqlite_url: str, tmp_path: Path) -> None:
    """SLACK_HTTP_PORT already taken: AdapterStartError, exit code 1, saying where it could not listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AdapterStartError) as raised:
            async with adapter_running(sqlite_url, tmp_path, http=True, http_port=port):
                pass
        assert raised.value.exit_code == 1 and f"127.0.0.1:{port}" in str(raised.value)
