"""`relance run` when Telegram cannot be used: one clear line, the right exit code, never the token."""

from __future__ import annotations

import socket

from tests.e2e.conftest import BotEnv
from tests.e2e.fakebot import FakeBotAccount


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_bot_api_is_one_line_and_exit_1(bot_env: BotEnv) -> None:
    """An API address that answers nothing gives exit 1 and a line naming TELEGRAM_API_URL, no traceback."""
    url = f"http://127.0.0.1:{_closed_port()}"
    bot_env.env["TELEGRAM_API_URL"] = url
    result = bot_env.cli("run", timeout=120)
    assert result.returncode == 1, result.stderr
    assert f"cannot reach the Telegram Bot API at {url}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert bot_env.env["TELEGRAM_BOT_TOKEN"] not in result.stderr + result.stdout


def test_refused_token_is_one_line_and_exit_2(bot_env: BotEnv, tg: FakeBotAccount) -> None:
    """A token the Bot API server does not know (401) gives exit 2 and a line naming TELEGRAM_BOT_TOKEN."""
    bot_env.env["TELEGRAM_BOT_TOKEN"] = "999999:NOT-A-KNOWN-token"
    result = bot_env.cli("run", timeout=120)
    assert result.returncode == 2, result.stderr
    assert "refused TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "NOT-A-KNOWN-token" not in result.stderr + result.stdout
