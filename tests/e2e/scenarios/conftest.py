"""The shared scenarios' fixture: one chat (Telegram, Slack over Socket Mode, or Slack over HTTP) with its driver,
its bot environment and a way to start `relance run` for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.scenarios.drivers import ChatDriver, SlackDriver, TelegramDriver
from tests.integration.smtp_server import ScriptedSmtpServer


@dataclass
class Chat:
    """One chat under test: its driver, the bot's environment (database, CLI), and the bot process's start."""

    driver: ChatDriver
    env: BotEnv
    start: Callable[[], BotProcess]
    smtp: ScriptedSmtpServer


@pytest.fixture(params=["telegram", "slack"])
def chat(request: pytest.FixtureRequest, smtp: ScriptedSmtpServer) -> Chat:
    """The chat a shared scenario runs in: Telegram or Slack (Socket Mode); "slack-http" when a test asks for it
    with `@pytest.mark.parametrize("chat", ["slack-http"], indirect=True)`."""
    if request.param == "telegram":
        return Chat(
            TelegramDriver(request.getfixturevalue("tg")),
            request.getfixturevalue("bot_env"),
            request.getfixturevalue("start_bot"),
            smtp,
        )
    start_slack_bot = request.getfixturevalue("start_slack_bot")
    http = request.param == "slack-http"
    return Chat(
        SlackDriver(request.getfixturevalue("slack")),
        request.getfixturevalue("slack_env"),
        lambda: start_slack_bot(http=http),
        smtp,
    )
