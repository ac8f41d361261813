"""Telegram webhook mode's server (bot/webhook.py) and /healthz (bot/health.py), on loopback.

Only a request carrying WEBHOOK_SECRET reaches PTB's update queue; forged ones get 403, oversized ones 413 before
their body is read; /healthz says 200 while the database answers and the scheduler ticks, 503 otherwise, without
ever showing a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine
from telegram import Bot, Update
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.health import STALE_AFTER, Health, HttpServer, health_application
from bot.runtime import run
from bot.settings import Settings, SettingsError, check_webhook_settings, load_settings
from bot.webhook import MAX_BODY, SECRET_HEADER, TelegramWebhook, secret_matches, webhook_application
from tests.bot_harness import bot_settings
from tests.e2e.fakebot import serving_owner
from tests.integration.smtp_server import free_port

SECRET = "s3cr3t-Webhook_token-0123456789abcdef"
PATH = "/tg/hook"


def _update(update_id: int = 7) -> dict[str, Any]:
    """A text message update as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 111, "type": "private"},
            "from": {"id": 111, "is_bot": False, "first_name": "Claire"},
            "text": "/status",
        },
    }


class Clock:
    """A settable clock for the health's staleness."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    """The webhook server on a free loopback port, its queue and its health."""

    url: str
    port: int
    queue: asyncio.Queue[object]
    health: Health
    clock: Clock
    db_file: Path


def _database_file(path: Path) -> None:
    """A small SQLite database (the check reads any database; the schema does not matter to it)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE business (id INTEGER PRIMARY KEY)")
    conn.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    """The webhook application with /healthz over a SQLite file, listening on 127.0.0.1:<free port>."""
    db_file = tmp_path / "relance.db"
    _database_file(db_file)
    clock = Clock()
    health = Health(f"sqlite:///{db_file}", clock=clock)
    queue: asyncio.Queue[object] = asyncio.Queue()
    receiver = TelegramWebhook(Bot("123456:TEST-token"), queue, SECRET)
    server = HttpServer(webhook_application(receiver, PATH, health), "127.0.0.1", 0, "test webhook")
    await server.start()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", server.port, queue, health, clock, db_file)
    finally:
        await server.stop()
        health.close()


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


async def _raw(port: int, head: bytes, body: bytes = b"") -> bytes:
    """Send raw bytes (request head, part of a body), then read the status line without sending anything more."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 5.0)
    finally:
        writer.close()


# --- the secret ---------------------------------------------------------------------------------------------------


def test_only_the_exact_secret_matches() -> None:
    """The header equal to the secret matches; missing, empty, a prefix, one character off or longer do not."""
    assert secret_matches(SECRET, SECRET)
    for given in (None, "", SECRET[:-1], SECRET[:-1] + "X", SECRET + "x", SECRET.upper(), "é" * len(SECRET)):
        assert not secret_matches(SECRET, given), given


async def test_an_update_with_the_secret_is_queued(served: Served) -> None:
    """Telegram's POST with the secret header: 200, and PTB's queue holds that update."""
    status = await _post(
        served.url + PATH, json.dumps(_update(41)).encode(), {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    )
    assert status == 200
    update = served.queue.get_nowait()
    assert isinstance(update, Update) and update.update_id == 41
    assert update.message is not None and update.message.text == "/status"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {SECRET_HEADER: ""},
        {SECRET_HEADER: "wrong"},
        {SECRET_HEADER: SECRET[:-1] + "X"},
        {SECRET_HEADER: SECRET * 2},
    ],
    ids=["missing", "empty", "wrong", "one-character-off", "doubled"],
)
async def test_a_forged_update_is_refused_and_queues_nothing(served: Served, headers: dict[str, str]) -> None:
    """Without the exact secret: 403 and nothing reaches the queue."""
    assert await _post(served.url + PATH, json.dumps(_update()).encode(), headers) == 403
    assert served.queue.empty()


async def test_a_forged_request_is_refused_before_its_body_is_read(served: Served) -> None:
    """No secret: the 403 comes back while the announced body has not been sent at all."""
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    assert (await _raw(served.port, head.encode())).startswith(b"HTTP/1.1 403")
    assert served.queue.empty()


async def test_expect_continue_is_refused_before_the_client_sends_the_body(served: Served) -> None:
    """`Expect: 100-continue` without the secret, or announcing over 1 MB: the refusal comes instead of 100 Continue
    (the client never sends the body); with the secret and a small body, 100 Continue then 200."""
    body = json.dumps(_update(43)).encode()
    base = f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
    forged = base + f"Content-Length: {len(body)}\r\n\r\n"
    assert (await _raw(served.port, forged.encode())).startswith(b"HTTP/1.1 403")
    huge = base + f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n"
    assert (await _raw(served.port, huge.encode())).startswith(b"HTTP/1.1 413")
    assert served.queue.empty()
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    try:
        writer.write((base + f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: {len(body)}\r\n\r\n").encode())
        await writer.drain()
        assert (await asyncio.wait_for(reader.readline(), 5.0)).startswith(b"HTTP/1.1 100")
        await reader.readline()  # the blank line ending the interim answer
        writer.write(body)
        await writer.drain()
        assert (await asyncio.wait_for(reader.readline(), 5.0)).startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    assert served.queue.qsize() == 1


# --- the size -----------------------------------------------------------------------------------------------------


async def test_an_announced_oversized_body_is_refused_unread(served: Served) -> None:
    """Content-Length over 1 MB with the right secret: 413 at once, though not one byte of the body was sent."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_BODY + 1}\r\n\r\n"
    )
    assert (await _raw(served.port, head.encode())).startswith(b"HTTP/1.1 413")
    assert served.queue.empty()


async def test_a_chunked_body_is_cut_off_past_one_megabyte(served: Served) -> None:
    """A chunked body (no Content-Length) growing past 1 MB: 413 without waiting for its end, nothing queued."""
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {SECRET}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"x" * 65536
    body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(MAX_BODY // len(chunk) + 2))
    # The final zero-size chunk is never sent: only the cap can end this request.
    assert (await _raw(served.port, head.encode(), body)).startswith(b"HTTP/1.1 413")
    assert served.queue.empty()


async def test_a_body_just_under_the_cap_is_read(served: Served) -> None:
    """An update padded to just under 1 MB is still taken (the cap refuses only what is over it)."""
    update = _update(42)
    update["message"]["text"] = "x"
    body = json.dumps(update).encode()
    padded = body[:-1] + b", " + json.dumps({"pad": "y" * (MAX_BODY - len(body) - 20)}).encode()[1:-1] + b"}"
    assert len(padded) <= MAX_BODY
    assert await _post(served.url + PATH, padded, {SECRET_HEADER: SECRET}) == 200
    assert served.queue.qsize() == 1


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no_update_id": true}', b'"text"'])
async def test_a_body_that_is_not_an_update_gets_400(served: Served, body: bytes) -> None:
    """With the secret but not an update (bad JSON, not an object, no update_id): 400, nothing queued."""
    assert await _post(served.url + PATH, body, {SECRET_HEADER: SECRET}) == 400
    assert served.queue.empty()


async def test_other_paths_and_methods_are_not_the_webhook(served: Served) -> None:
    """Only POST on the webhook's path takes updates: another path is 404, a GET 405."""
    body = json.dumps(_update()).encode()
    assert await _post(served.url + "/other", body, {SECRET_HEADER: SECRET}) == 404
    async with aiohttp.ClientSession() as session, session.get(served.url + PATH) as response:
        assert response.status == 405
    assert served.queue.empty()


# --- /healthz -----------------------------------------------------------------------------------------------------


async def _health(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url + "/healthz") as response:
        return response.status, await response.json()


async def test_healthz_is_200_while_the_database_answers_and_ticks_are_fresh(served: Served) -> None:
    """A reachable database and a digest check a minute ago: 200, status ok, the check's time in UTC."""
    served.health.digest_checked()
    served.clock.now += 60
    status, body = await _health(served.url)
    assert status == 200, body
    assert body["status"] == "ok" and body["database"] == {"ok": True, "error": None}
    assert body["digest_check"]["ok"] and body["digest_check"]["age_seconds"] == 60.0
    assert body["digest_check"]["last"].endswith("+00:00")
    assert body["sender_tick"] is None  # no SMTP sender in this process: nothing to watch


async def test_healthz_is_503_when_the_database_file_is_gone(served: Served) -> None:
    """The database file moved away (a pooled connection could still read it): 503, database not ok."""
    served.health.digest_checked()
    served.db_file.rename(served.db_file.with_suffix(".moved"))
    status, body = await _health(served.url)
    assert status == 503, body
    assert body["status"] == "unhealthy" and body["database"]["ok"] is False and body["database"]["error"]
    assert not served.db_file.exists()  # the check did not create an empty database in its place


async def test_healthz_is_503_when_a_tick_is_older_than_three_minutes(served: Served) -> None:
    """A digest check over 3 minutes old, then a sender tick too old: 503 each time, 200 again once ticked."""
    served.health.digest_checked()
    served.clock.now += STALE_AFTER + 1
    status, body = await _health(served.url)
    assert status == 503 and body["digest_check"]["ok"] is False
    served.health.digest_checked()
    assert (await _health(served.url))[0] == 200
    served.health.sender_expected = True  # a process with SMTP_HOST: its sender must tick as well
    status, body = await _health(served.url)
    assert status == 503 and body["sender_tick"] == {"last": None, "age_seconds": STALE_AFTER + 1, "ok": False}
    served.health.sender_ticked()
    assert (await _health(served.url))[0] == 200


async def test_a_fresh_process_is_healthy_before_its_first_tick(tmp_path: Path) -> None:
    """Before the first digest check the process's start is the reference: healthy, stale only after 3 minutes."""
    _database_file(tmp_path / "r.db")
    clock = Clock()
    health = Health(f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    try:
        healthy, body = await health.report()
        assert healthy and body["digest_check"]["last"] is None
        clock.now += STALE_AFTER + 1
        assert not (await health.report())[0]
    finally:
        health.close()


async def test_healthz_on_an_unreachable_postgresql_shows_no_password() -> None:
    """A PostgreSQL URL to a closed port: 503 within the short timeout, and neither the URL nor its password is in
    the answer."""
    port = free_port()
    url = f"postgresql+psycopg://relance:Pa55-word-xyz@127.0.0.1:{port}/relance"
    health = Health(url)
    server = HttpServer(health_application(health), "127.0.0.1", 0, "health")
    await server.start()
    try:
        started = time.monotonic()
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{server.port}/healthz") as response,
        ):
            text = await response.text()
            assert response.status == 503, text
        assert time.monotonic() - started < 5
        assert "Pa55-word-xyz" not in text and str(port) not in text and "relance" not in text
        assert json.loads(text)["database"]["ok"] is False
    finally:
        await server.stop()
        health.close()


# --- settings -----------------------------------------------------------------------------------------------------


def _settings(**values: object) -> Any:
    return load_settings(_env_file=None, TELEGRAM_BOT_TOKEN="123456:TEST-token", OWNER_CHAT_IDS="111", **values)


def test_webhook_mode_needs_a_proper_secret_and_url() -> None:
    """No WEBHOOK_SECRET, a short one, forbidden characters, a URL without a path or scheme: one line each, naming
    the setting and never echoing the secret."""
    url = "https://bot.example/tg/hook"
    check_webhook_settings(_settings(WEBHOOK_SECRET=SECRET), url)
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET: not set"):
        check_webhook_settings(_settings(), url)
    for bad in ("short-secret", "has spaces in the secret value", "accentué-secret-value-0123"):
        with pytest.raises(SettingsError, match="WEBHOOK_SECRET: invalid value") as caught:
            check_webhook_settings(_settings(WEBHOOK_SECRET=bad), url)
        assert bad not in str(caught.value)
    for bad_url in ("bot.example/hook", "https://bot.example", "ftp://bot.example/x"):
        with pytest.raises(SettingsError, match="--webhook"):
            check_webhook_settings(_settings(WEBHOOK_SECRET=SECRET), bad_url)
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        check_webhook_settings(load_settings(_env_file=None, WEBHOOK_SECRET=SECRET), url)


def test_webhook_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback and 8443 by default; no separate health port unless HEALTH_PORT is set."""
    for name in ("WEBHOOK_LISTEN", "WEBHOOK_PORT", "HEALTH_LISTEN", "HEALTH_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(_env_file=None)
    assert (settings.WEBHOOK_LISTEN, settings.WEBHOOK_PORT) == ("127.0.0.1", 8443)
    assert (settings.HEALTH_LISTEN, settings.HEALTH_PORT) == ("127.0.0.1", None)


# --- relance run --webhook ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "WEBHOOK_SECRET: not set"),
        ({"WEBHOOK_SECRET": "too-short-9"}, "WEBHOOK_SECRET: invalid value"),
    ],
)
def test_run_webhook_without_a_proper_secret_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    """`relance run --webhook URL` without a usable WEBHOOK_SECRET: one line naming it, exit 2, no database touched,
    neither the token nor the secret echoed."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'relance.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-part-of-token")
    monkeypatch.setenv("OWNER_CHAT_IDS", "111")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["run", "--webhook", "https://bot.example/tg/hook"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"relance: {named}") and len(result.stderr.strip().splitlines()) == 1
    assert "SECRET-part" not in result.output + result.stderr and "too-short-9" not in result.output + result.stderr
    assert not (tmp_path / "relance.db").exists()


def test_run_webhook_on_a_port_in_use_is_one_line_and_exit_1(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """WEBHOOK_PORT already taken: one `relance:` line naming WEBHOOK_LISTEN and WEBHOOK_PORT, exit 1, and no webhook
    was set at Telegram (nothing would receive its posts)."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    with serving_owner(111) as tg, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), TELEGRAM_API_URL=tg.api_url,
                                TELEGRAM_BOT_TOKEN=tg.token, WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=port)  # fmt: skip
        try:
            with pytest.raises(SystemExit) as exc:
                run(settings, webhook_url=f"http://127.0.0.1:{port}{PATH}")
        finally:
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
        assert exc.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith(f"relance: cannot listen on 127.0.0.1:{port}") and "WEBHOOK_PORT" in err
        assert tg.calls("setWebhook") == [] and tg.webhook_url is None


async def test_the_database_check_answers_on_sqlite_and_postgresql(db_url: str, engine: Engine) -> None:
    """On a migrated database (SQLite file, PostgreSQL server) the check's fresh connection answers: healthy."""
    assert engine.url.render_as_string(hide_password=False) == db_url
    health = Health(db_url)
    try:
        healthy, body = await health.report()
    finally:
        health.close()
    assert healthy and body["database"] == {"ok": True, "error": None}, body
