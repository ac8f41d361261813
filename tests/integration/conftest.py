"""Fixtures of the integration tests: a scriptable SMTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.bot_harness import BotHarness
from tests.integration.smtp_server import ScriptedSmtpServer


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 whose answers a test can script."""
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The bot in-process over a fresh SQLite database: recording Bot API, recording delivery, today 24/11/2026."""
    from storage.db import make_engine
    from tests.bot_harness import RecordingDelivery, bot_settings, start_harness, stop_harness

    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, bot_settings(sqlite_url, tmp_path, date(2026, 11, 24)), RecordingDelivery())
    try:
        yield bot
    finally:
        await stop_harness(bot)
        engine.dispose()


@pytest.fixture
def cli_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For the `relance` CLI: no setting of the developer's shell, the working directory in tmp_path (so no .env),
    a SQLite database and DATA_DIR there."""
    from bot.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'relance.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path
