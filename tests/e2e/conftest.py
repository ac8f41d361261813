"""End-to-end fixtures: the fake Bot API server, a real SMTP server on loopback, and `relance run` as a process."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.fakebot import DEFAULT_TOKEN, FakeBotAccount, FakeTelegram
from tests.e2e.support import OWNER, RELANCE, bot_environment
from tests.integration.smtp_server import ScriptedSmtpServer

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _unavailable(reason: str) -> None:
    """Skip (with the reason printed by -ra), or fail when CI requires the end-to-end tests."""
    if os.environ.get("RELANCE_REQUIRE_E2E") == "1":
        pytest.fail(f"end-to-end tests are required (RELANCE_REQUIRE_E2E=1) but cannot run: {reason}")
    pytest.skip(f"end-to-end tests skipped: {reason}")


@pytest.fixture
def tg() -> Iterator[FakeBotAccount]:
    """The fake Bot API server (own thread, free loopback port) with the bot's account; the owner's chat exists."""
    server = FakeTelegram()
    account = server.add_bot(DEFAULT_TOKEN)
    account.add_chat(OWNER, first_name="Claire", language_code="fr")
    server.start_in_thread()
    try:
        yield account
    finally:
        server.stop()


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message."""
    with ScriptedSmtpServer() as server:
        yield server


@dataclass
class BotEnv:
    """The environment of the bot process and of the `relance` CLI: tmp database, fake Telegram, loopback SMTP."""

    workdir: Path
    env: dict[str, str]
    db_path: Path

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run `relance <args>` with the same settings as the bot."""
        return subprocess.run(
            [str(RELANCE), *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


@pytest.fixture
def bot_env(tmp_path: Path, tg: FakeBotAccount, smtp: ScriptedSmtpServer) -> BotEnv:
    """Settings for a bot on a fresh SQLite file, the fake server and the loopback SMTP server (no real token)."""
    if not RELANCE.is_file():
        _unavailable(f"{RELANCE} is missing (run `make` to create the virtual environment)")
    if importlib.util.find_spec("bot.app") is None:
        _unavailable("bot/app.py (run_bot) is not there yet")
    env = bot_environment(tmp_path, api_url=tg.api_url, token=tg.token, smtp_port=smtp.port)
    db_path = tmp_path / "relance.db"
    return BotEnv(tmp_path, env, db_path)


@dataclass
class BotProcess:
    """`relance run` running against the fake server; `stop()` sends SIGTERM and returns the exit code."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    token: str
    stopped: bool = field(default=False)

    def log(self) -> str:
        """Everything the process wrote (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; a process still alive after `timeout` is killed and reported as -9."""
        self.stopped = True
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
                return -9
        return int(self.popen.returncode)


@pytest.fixture
def start_bot(bot_env: BotEnv, tg: FakeBotAccount) -> Iterator[Callable[[], BotProcess]]:
    """A function that starts the bot process and returns once it long-polls the fake server.

    At the end the process gets SIGTERM and must exit with code 0 within a few seconds, without the token in its log.
    """
    started: list[BotProcess] = []

    def start() -> BotProcess:
        log_path = bot_env.workdir / f"bot-{len(started)}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                [str(RELANCE), "run"], env=bot_env.env, cwd=bot_env.workdir, stdout=log_file, stderr=subprocess.STDOUT
            )
        process = BotProcess(popen, log_path, tg.token)
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while not tg.is_polling:
            if popen.poll() is not None:
                pytest.fail(f"the bot exited with code {popen.returncode} at start-up:\n{process.log()[-4000:]}")
            if time.monotonic() > deadline:
                process.stop()
                pytest.fail(f"the bot did not poll within {START_TIMEOUT}s:\n{process.log()[-4000:]}")
            time.sleep(0.02)
        return process

    yield start
    failures = []
    for process in started:
        if process.stopped:
            continue
        code = process.stop()
        if code != 0:
            failures.append(f"exit code {code} after SIGTERM:\n{process.log()[-3000:]}")
    for process in started:
        secret = process.token.split(":", 1)[1]
        if secret in process.log():
            failures.append("the bot token appears in the bot's log")
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def bot(start_bot: Callable[[], BotProcess]) -> BotProcess:
    """The bot process, started on an empty database."""
    return start_bot()
