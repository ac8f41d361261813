"""Log lines: JSON lines with LOG_FORMAT=json, and secrets masked in every format (bot/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import MASK, JsonFormatter, SecretFilter, configure_logging, current_business, secret_values
from bot.settings import Settings, load_settings

TOKEN = "123456789:AAH-secret-telegram-token-value_xyz"
SMTP_PASSWORD = "smtp-p4ssw0rd!"
DB_PASSWORD = "pg-secret-pw"


def _settings() -> Settings:
    return load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        SMTP_PASSWORD=SMTP_PASSWORD,
        SLACK_BOT_TOKEN="xoxb-1111-2222-slacksecret",
        DATABASE_URL=f"postgresql://relance_bot:{DB_PASSWORD}@db/relance",
        LOG_FORMAT="json",
        _env_file=None,
    )


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines through the secret filter into a buffer (not propagated to pytest's handlers)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter(secret_values(_settings())))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("relance.test.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    token = current_business.set(None)  # whatever an earlier test of this process left in the context
    try:
        yield logger, stream
    finally:
        current_business.reset(token)
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_have_the_documented_fields(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    """Each record is one JSON object: time (UTC ISO), level, logger, message with its arguments merged, and the
    business from the context or from `extra` (absent when unknown)."""
    logger, stream = json_log
    logger.info("digest sent for %s", "2026-11-30")
    token = current_business.set("atelier")
    try:
        logger.warning("outbox: %d waiting", 3)
        logger.info("other", extra={"business": "boulangerie"})
    finally:
        current_business.reset(token)
    first, second, third = _lines(stream)
    assert first["message"] == "digest sent for 2026-11-30" and "business" not in first
    assert first["level"] == "INFO" and first["logger"] == "relance.test.logs"
    assert str(first["time"]).endswith("+00:00")
    assert second == {**second, "level": "WARNING", "message": "outbox: 3 waiting", "business": "atelier"}
    assert third["business"] == "boulangerie"


def test_secrets_never_reach_a_json_line(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    """Setting values, a Bot API URL, a Slack token, a database URL's password and a traceback quoting a password
    are all masked."""
    logger, stream = json_log
    logger.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    logger.info("slack token %s", "xoxb-9999-8888-other-token")
    logger.info("connecting to postgresql://relance_bot:%s@db/relance", DB_PASSWORD)
    logger.info("url postgresql://someone:unknown-pass@host/db")
    try:
        raise RuntimeError(f"login refused for password {SMTP_PASSWORD}")
    except RuntimeError:
        logger.exception("smtp failed")
    text = stream.getvalue()
    for secret in (TOKEN, TOKEN.split(":")[1], SMTP_PASSWORD, DB_PASSWORD, "xoxb-9999", "unknown-pass"):
        assert secret not in text
    lines = _lines(stream)
    assert MASK in str(lines[0]["message"]) and "someone:***@host" in str(lines[3]["message"])
    assert "RuntimeError" in str(lines[4]["exc"]) and MASK in str(lines[4]["exc"])


def test_configure_logging_masks_caplog_too(caplog: pytest.LogCaptureFixture) -> None:
    """Under an embedding program that already has handlers (pytest here), configure_logging keeps them and adds
    the secret filter to each: the captured text holds no token."""
    configure_logging(_settings())
    try:
        with caplog.at_level(logging.INFO):
            logging.getLogger("telegram.ext").info("token %s refused", TOKEN)
        assert "refused" in caplog.text and TOKEN not in caplog.text
    finally:
        for handler in logging.getLogger().handlers:
            for f in [f for f in handler.filters if isinstance(f, SecretFilter)]:
                handler.removeFilter(f)


def test_log_format_json_in_a_fresh_process(tmp_path: Path) -> None:
    """In a process of its own (no handler before, as `relance run`), LOG_FORMAT=json makes stderr JSON lines only,
    with the secret masked; LOG_FORMAT=text gives the classic line."""
    code = (
        "import logging; from bot.settings import load_settings; from bot.logs import configure_logging; "
        "configure_logging(load_settings()); logging.getLogger('bot.x').warning('token is %s', "
        f"{TOKEN!r}); logging.getLogger('bot.x').debug('hidden')"
    )
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "LOG_FORMAT": "json", "PYTHONPATH": str(Path.cwd())}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(d["level"], d["logger"], d["message"]) for d in lines] == [("WARNING", "bot.x", f"token is {MASK}")]
    env["LOG_FORMAT"] = "text"
    text = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    ).stderr
    assert text.rstrip().endswith(f"WARNING bot.x: token is {MASK}") and TOKEN.split(":")[1] not in text


def test_log_format_rejects_other_values() -> None:
    """LOG_FORMAT accepts text or json only; anything else is a setting error naming it."""
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings(LOG_FORMAT="xml", _env_file=None)


def test_a_flood_of_one_refusal_is_one_line_then_one_summary_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    """10,000 forged requests within a minute: the first is logged, the 9,999 others are one summary line written
    when the minute is over; another reason is logged apart; a quiet minute later, one line again."""
    from bot.logs import Summarized

    now = [0.0]
    logger = logging.getLogger("relance.test.summarized")
    refusals = Summarized(logger, interval=60.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger=logger.name):
        for n in range(10_000):
            now[0] = n * 0.005  # 50 s
            refusals(logging.INFO, "Telegram webhook request refused: %s secret token", "wrong" if n % 2 else "no")
        refusals(logging.WARNING, "Telegram webhook request refused: not an update")
        assert [r.getMessage() for r in caplog.records] == [
            "Telegram webhook request refused: no secret token",
            "Telegram webhook request refused: not an update",
        ]
        now[0] = 61.0
        refusals(logging.INFO, "Telegram webhook request refused: %s secret token", "no")
        assert [r.getMessage() for r in caplog.records][2:] == [
            "Telegram webhook request refused: 9999 more like it in the last 60 s",
            "Telegram webhook request refused: no secret token",
        ]


async def test_the_summary_is_written_when_the_interval_ends_even_if_the_flood_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In the event loop, the held-back count is written at the end of the interval without waiting for a new line."""
    import asyncio

    from bot.logs import Summarized

    logger = logging.getLogger("relance.test.summarized.loop")
    refusals = Summarized(logger, interval=0.2)
    with caplog.at_level(logging.INFO, logger=logger.name):
        for _ in range(500):
            refusals(logging.INFO, "Slack HTTP request refused: bad signature")
        assert len(caplog.records) == 1
        await asyncio.sleep(0.4)
        assert [r.getMessage() for r in caplog.records] == [
            "Slack HTTP request refused: bad signature",
            "Slack HTTP request refused: 499 more like it in the last 0.2 s",
        ]
