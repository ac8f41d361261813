"""End-to-end fixtures: the fake Bot API server, the Slack emulator, a real SMTP server on loopback, and `relance run`
as a process (Telegram, Slack, or both in one process)."""

from __future__ import annotations

import importlib.util
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.fakebot import FakeBotAccount, serving_owner
from tests.e2e.fakeslack import FakeSlack
from tests.e2e.support import (
    OWNER,
    RELANCE,
    SLACK_OWNER,
    SLACK_STRANGER,
    WEBHOOK_PATH,
    WEBHOOK_SECRET,
    base_environment,
    bot_environment,
    secrets_of,
    slack_environment,
    terminate,
    unavailable,
)
from tests.integration.smtp_server import ScriptedSmtpServer, free_port

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@pytest.fixture
def tg() -> Iterator[FakeBotAccount]:
    """The fake Bot API server (own thread, free loopback port) with the bot's account; the owner's chat exists."""
    with serving_owner(OWNER) as account:
        yield account


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

    def import_csv(self, data: bytes) -> None:
        """`relance import` of a CSV into the bot's database (before the bot starts: its catch-up digest has them)."""
        path = self.workdir / "factures.csv"
        path.write_bytes(data)
        result = self.cli("import", str(path))
        assert result.returncode == 0, result.stdout + result.stderr


def _runnable(module: str) -> None:
    """The `relance` command and the adapter's module are there, else skip (or fail in CI)."""
    if not RELANCE.is_file():
        unavailable(f"{RELANCE} is missing (run `make` to create the virtual environment)")
    if importlib.util.find_spec(module) is None:
        unavailable(f"{module} is not there yet")


@pytest.fixture
def bot_env(tmp_path: Path, tg: FakeBotAccount, smtp: ScriptedSmtpServer) -> BotEnv:
    """Settings for a bot on a fresh SQLite file, the fake server and the loopback SMTP server (no real token)."""
    _runnable("bot.app")
    env = bot_environment(tmp_path, api_url=tg.api_url, token=tg.token, smtp_port=smtp.port)
    return BotEnv(tmp_path, env, tmp_path / "relance.db")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The Slack emulator (own thread, free loopback port) with the owner and a stranger, both in French."""
    server = FakeSlack()
    server.add_user(SLACK_OWNER, "Claire", locale="fr-FR")
    server.add_user(SLACK_STRANGER, "Mallory", locale="fr-FR")
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slack_env(tmp_path: Path, slack: FakeSlack, smtp: ScriptedSmtpServer) -> BotEnv:
    """Settings for a Slack-only bot (Socket Mode) on a fresh SQLite file, the emulator and the loopback SMTP server."""
    _runnable("bot.slack.app")
    env = base_environment(tmp_path, smtp_port=smtp.port) | slack_environment(slack)
    return BotEnv(tmp_path, env, tmp_path / "relance.db")


@pytest.fixture
def both_env(bot_env: BotEnv, slack: FakeSlack) -> BotEnv:
    """Settings for one bot process serving Telegram and Slack (Socket Mode) over the same database."""
    _runnable("bot.slack.app")
    bot_env.env.update(slack_environment(slack))
    return bot_env


@dataclass
class BotProcess:
    """`relance run` running against the fake servers; `stop()` sends SIGTERM and returns the exit code."""

    popen: subprocess.Popen[bytes]
    log_path: Path
    secrets: list[str]
    stopped: bool = field(default=False)

    def log(self) -> str:
        """Everything the process wrote (stdout and stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_log(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """Poll the log until it contains `text` (the process must stay alive meanwhile); returns the log."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log()):
            if self.popen.poll() is not None:
                pytest.fail(f"the bot exited with code {self.popen.returncode}:\n{log[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not in the bot's log within {timeout}s:\n{log[-4000:]}")
            time.sleep(0.02)
        return log

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then wait; a process still alive after `timeout` is killed and reported as -9."""
        self.stopped = True
        return terminate(self.popen, timeout)


#: Starts `relance run <args>` with an environment; returns once `ready(process)` holds.
Launch = Callable[..., BotProcess]


@pytest.fixture
def launch() -> Iterator[Launch]:
    """A function that starts `relance run <args>` with a BotEnv and returns once `ready(process)` holds.

    At the end every process still running gets SIGTERM and must exit with code 0 within a few seconds, and no
    process's log may contain a token or the signing secret of its environment. Request it after the fake servers
    (fixtures are torn down in reverse order): the bot stops while they still answer.
    """
    started: list[BotProcess] = []

    def start(bot_env: BotEnv, *args: str, ready: Callable[[BotProcess], bool], what: str) -> BotProcess:
        log_path = bot_env.workdir / f"bot-{len(started)}.log"
        with log_path.open("wb") as log_file:
            popen = subprocess.Popen(
                [str(RELANCE), "run", *args],
                env=bot_env.env,
                cwd=bot_env.workdir,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        process = BotProcess(popen, log_path, secrets_of(bot_env.env))
        started.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while not ready(process):
            if popen.poll() is not None:
                pytest.fail(f"the bot exited with code {popen.returncode} at start-up:\n{process.log()[-4000:]}")
            if time.monotonic() > deadline:
                process.stop()
                pytest.fail(f"the bot did not {what} within {START_TIMEOUT}s:\n{process.log()[-4000:]}")
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
        log = process.log()
        if any(secret in log for secret in process.secrets):
            failures.append(f"a token or the signing secret appears in the bot's log ({process.log_path.name})")
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def start_bot(tg: FakeBotAccount, bot_env: BotEnv, launch: Launch) -> Callable[[], BotProcess]:
    """A function that starts the Telegram bot process and returns once it long-polls the fake server."""
    return lambda: launch(bot_env, ready=lambda _: tg.is_polling, what="poll the fake Bot API")


@pytest.fixture
def start_webhook_bot(tg: FakeBotAccount, bot_env: BotEnv, launch: Launch) -> Callable[[], BotProcess]:
    """A function that starts the Telegram bot in webhook mode on a free loopback port (WEBHOOK_PORT in bot_env.env)
    and returns once it has set its webhook on the fake server, which then POSTs the updates there."""

    def start() -> BotProcess:
        port = free_port()
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        bot_env.env.update({"WEBHOOK_LISTEN": "127.0.0.1", "WEBHOOK_PORT": str(port), "WEBHOOK_SECRET": WEBHOOK_SECRET})
        return launch(
            bot_env, "--webhook", url, ready=lambda p: tg.webhook_url == url and _running(p), what="set its webhook"
        )

    return start


@pytest.fixture
def bot(start_bot: Callable[[], BotProcess]) -> BotProcess:
    """The bot process, started on an empty database."""
    return start_bot()


#: Where `relance run --slack-http` serves Slack (bot/slack/http.py).
SLACK_HTTP_PATH = "/slack/events"


@pytest.fixture
def start_slack_bot(slack: FakeSlack, slack_env: BotEnv, launch: Launch) -> Callable[..., BotProcess]:
    """A function that starts the Slack-only bot process: Socket Mode (returns once connected), or with `http=True`
    `relance run --slack-http` on a free loopback port, the emulator delivering there (returns once it runs)."""

    def start(*, http: bool = False) -> BotProcess:
        if not http:
            return launch(slack_env, ready=lambda _: slack.live_connections > 0, what="connect over Socket Mode")
        port = free_port()
        slack_env.env.update(slack_environment(slack, http_port=port))
        slack.use_http(f"http://127.0.0.1:{port}{SLACK_HTTP_PATH}")
        return launch(slack_env, "--slack-http", ready=_running, what="serve Slack over HTTP")

    return start


@pytest.fixture
def start_both(tg: FakeBotAccount, slack: FakeSlack, both_env: BotEnv, launch: Launch) -> Callable[[], BotProcess]:
    """A function that starts one bot process for Telegram and Slack; returns once it polls and is connected."""
    return lambda: launch(
        both_env, ready=lambda _: tg.is_polling and slack.live_connections > 0, what="poll and connect"
    )


def _running(process: BotProcess) -> bool:
    """Every adapter of the process has started (the runtime's "running (…)" line)."""
    return "running (" in process.log()
