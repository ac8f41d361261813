"""`relance run` with LOG_FORMAT=json: its log lines on stderr are JSON objects, never holding the token."""

from __future__ import annotations

import json

from tests.e2e.conftest import BotEnv
from tests.e2e.fakebot import FakeBotAccount


def test_run_logs_json_lines_without_the_token(bot_env: BotEnv, tg: FakeBotAccount) -> None:
    """A start refused by the Bot API (401): every log line before the one-line error is a JSON object with time,
    level, logger and message; the token appears nowhere."""
    bot_env.env["TELEGRAM_BOT_TOKEN"] = "999999:NOT-A-KNOWN-token-for-json-logs"
    bot_env.env["LOG_FORMAT"] = "json"
    bot_env.env.pop("COMPANY_IBAN", None)  # its warning is a log line of the start
    bot_env.env.pop("COMPANY_BIC", None)
    result = bot_env.cli("run", timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    logs = [json.loads(line) for line in lines if not line.startswith("relance: ")]
    assert logs, result.stderr
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in logs)
    assert any(entry["level"] == "WARNING" and "COMPANY_IBAN" in entry["message"] for entry in logs)
    assert lines[-1].startswith("relance: ") and "refused TELEGRAM_BOT_TOKEN" in lines[-1]
    assert "NOT-A-KNOWN-token" not in result.stderr + result.stdout
