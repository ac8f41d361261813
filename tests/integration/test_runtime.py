"""The `relance run` runtime: every adapter over one core, one scheduler (digest check and sender tick), the day's
digest and every e-mail outcome to each adapter, start-up failures as one line and an exit code."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot.adapters import AdapterStartError
from bot.app import TelegramAdapter
from bot.cli import app as cli
from bot.runtime import DIGEST_JOB, SENDER_JOB, Runtime, open_services, run
from bot.settings import Settings
from services.core import DigestData, Services
from services.outbox import DeliveryResult
from storage.db import make_engine, write_session
from storage.models import Business, Outbox
from tests.bot_harness import OWNER, RecordingDelivery, bot_settings, make_services
from tests.e2e.fakebot import FakeBotAccount, serving_owner
from tests.factories import make_client, make_invoice
from tests.integration.delivery_helpers import queue
from tests.integration.smtp_server import ScriptedSmtpServer

TODAY = date(2026, 11, 24)
DEADLINE = 10.0


@dataclass
class FakeAdapter:
    """A chat adapter that records what the runtime hands it; it can fail to start or to deliver."""

    name: str
    start_error: AdapterStartError | None = None
    fail_digest: bool = False
    on_start: Callable[[], None] | None = None
    digests: list[DigestData] = field(default_factory=list)
    outcomes: list[DeliveryResult] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    async def start(self) -> None:
        """Record, then fail or run the hook."""
        self.calls.append("start")
        if self.start_error is not None:
            raise self.start_error
        if self.on_start is not None:
            self.on_start()

    async def stop(self) -> None:
        """Record."""
        self.calls.append("stop")

    async def deliver_digest(self, data: DigestData) -> None:
        """Record, or fail as a chat service down would."""
        if self.fail_digest:
            raise RuntimeError("chat service down")
        self.digests.append(data)

    async def on_outcome(self, result: DeliveryResult) -> None:
        """Record."""
        self.outcomes.append(result)


class CountingRuntime(Runtime):
    """A runtime that counts its finished digest checks (the one at start included)."""

    checks = 0

    async def check_digest(self) -> DigestData | None:
        """The real check, counted."""
        data = await super().check_digest()
        self.checks += 1
        return data


async def _until(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def _seed(engine: Engine, business_id: int) -> None:
    with write_session(engine) as s:
        business = s.get(Business, business_id)
        assert business is not None
        client = make_client(s, business, name="Boulangerie Martin", emails="compta@martin.example")
        make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")


def _running_schedulers() -> list[BaseScheduler]:
    return [o for o in gc.get_objects() if isinstance(o, BaseScheduler) and o.running]


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A fresh migrated SQLite database."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """Telegram configured (never reached by the fake adapters), no SMTP, today fixed."""
    return bot_settings(sqlite_url, tmp_path, TODAY)


@pytest.fixture
def core(engine: Engine, settings: Settings) -> Services:
    """The install's business with one overdue invoice, the e-mails recorded."""
    core = make_services(engine, settings, RecordingDelivery()).core
    _seed(engine, core.business_id)
    return core


@pytest.fixture
def tg() -> Iterator[FakeBotAccount]:
    """The fake Bot API server in its own thread, with the owner's chat."""
    with serving_owner(OWNER) as account:
        yield account


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`run` configures logging like the process does; the root logger's handlers are put back after."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)


async def test_the_day_digest_reaches_every_adapter_once_across_checks_and_restarts(
    settings: Settings, core: Services
) -> None:
    """The check at start hands the digest to both adapters; two more checks and a restart hand nothing more."""
    a, b = FakeAdapter("a"), FakeAdapter("b")
    runtime = CountingRuntime(settings, core, [a, b])
    await runtime.start()
    try:
        await _until(lambda: runtime.checks >= 1, "the check at start")
        assert len(a.digests) == len(b.digests) == 1
        assert a.digests[0] is b.digests[0] and a.digests[0].day == TODAY and len(a.digests[0].views) == 1
        assert await runtime.check_digest() is None and await runtime.check_digest() is None
    finally:
        await runtime.stop()
    again = CountingRuntime(settings, core, [a, b])
    await again.start()
    try:
        await _until(lambda: again.checks >= 1, "the check at restart")
    finally:
        await again.stop()
    assert len(a.digests) == len(b.digests) == 1
    assert a.calls == b.calls == ["start", "stop", "start", "stop"]


async def test_an_adapter_failing_to_deliver_does_not_stop_the_other(
    settings: Settings, core: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """The first adapter's chat is down: the second still gets the digest; the failure is logged with its name."""
    down, up = FakeAdapter("down", fail_digest=True), FakeAdapter("up")
    data = await Runtime(settings, core, [down, up]).check_digest()
    assert data is not None and up.digests == [data] and down.digests == []
    assert any("down: the digest of 2026-11-24 was not delivered" in r.getMessage() for r in caplog.records)


async def test_sender_outcomes_reach_every_adapter(
    engine: Engine, sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """With SMTP_HOST: an e-mail interrupted by the last stop is told to both adapters as unknown, an approved one
    leaves once at start and both adapters hear it was sent; the scheduler holds the digest and sender jobs."""
    settings = bot_settings(sqlite_url, tmp_path, TODAY, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port,
                            SMTP_SECURITY="none")  # fmt: skip
    core = open_services(settings)
    _seed(engine, core.business_id)
    data = core.digest(claim=False)
    assert data is not None
    (view,) = data.views
    interrupted = queue(engine, view.reminder_id, expected_version=view.version)
    with write_session(engine) as s:
        row = s.get(Outbox, interrupted.id)
        assert row is not None
        row.state = "sending"
        s.add(row)
    with write_session(engine) as s:  # a second client's approved e-mail, due now
        business = s.get(Business, core.business_id)
        assert business is not None
        client = make_client(s, business, name="Garage Dupont", emails="contact@dupont.example")
        make_invoice(s, client, due=date(2026, 10, 20), amount="980.10", number="F-2026-002")
    approved = next(v for v in core.digest(claim=False).views if v.reminder_id != view.reminder_id)  # type: ignore[union-attr]
    queue(engine, approved.reminder_id, expected_version=approved.version, recipients=["contact@dupont.example"])
    a, b = FakeAdapter("a"), FakeAdapter("b")
    runtime = Runtime(settings, core, [a, b])
    await runtime.start()
    try:
        assert {job.id for job in runtime.scheduler.get_jobs()} == {DIGEST_JOB, SENDER_JOB}
        await _until(lambda: len(a.outcomes) == len(b.outcomes) == 2, "both outcomes in both adapters")
        for adapter in (a, b):
            assert {(r.reminder_id, r.outcome) for r in adapter.outcomes} == {
                (view.reminder_id, "unknown"),
                (approved.reminder_id, "sent"),
            }
        assert [t.rcpt_tos for t in smtp_server.transactions] == [["contact@dupont.example"]]
    finally:
        await runtime.stop()
        core.engine.dispose()


async def test_one_scheduler_serves_telegram_and_another_adapter(
    sqlite_url: str, tmp_path: Path, tg: FakeBotAccount, smtp_server: ScriptedSmtpServer
) -> None:
    """Telegram (against the fake Bot API) and a second adapter in one runtime: one running scheduler in the
    process, holding only the digest and sender jobs; Telegram has no JobQueue; both chats get the digest once."""
    settings = bot_settings(sqlite_url, tmp_path, TODAY, TELEGRAM_API_URL=tg.api_url, TELEGRAM_BOT_TOKEN=tg.token,
                            SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_SECURITY="none")  # fmt: skip
    core = open_services(settings)
    _seed(core.engine, core.business_id)
    telegram, other = TelegramAdapter(settings, core, rate_limiter=False), FakeAdapter("other")
    runtime = Runtime(settings, core, [telegram, other])
    await runtime.start()
    try:
        await _until(lambda: tg.is_polling, "Telegram's long poll")
        assert telegram.application.job_queue is None
        assert _running_schedulers() == [runtime.scheduler]
        assert {job.id for job in runtime.scheduler.get_jobs()} == {DIGEST_JOB, SENDER_JOB}
        await _until(lambda: other.digests and any("F-2026-001" in m.shown for m in tg.bot_messages(OWNER)),
                     "the digest in both chats")  # fmt: skip
        assert telegram.presenter.channel == f"telegram:{tg.bot_user['id']}"
        # The fake Bot API holds the message before the adapter has read its answer and registered the card.
        reminder_id = other.digests[0].views[0].reminder_id
        await _until(lambda: len(telegram.presenter.cards_of(reminder_id)) == 1, "the digest card registered")
        await asyncio.sleep(0.2)
        assert len(telegram.presenter.cards_of(reminder_id)) == 1  # once, not once per chat adapter
    finally:
        await runtime.stop()
        core.engine.dispose()
    assert not runtime.scheduler.running and not telegram.application.running
    assert _running_schedulers() == []


@pytest.mark.parametrize("code", [1, 2])
def test_an_adapter_start_error_is_one_line_and_its_exit_code(
    settings: Settings, code: int, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    """The second adapter cannot start: one `relance:` line on stderr, its exit code, the first adapter stopped."""
    first = FakeAdapter("first")
    failing = FakeAdapter("slack", start_error=AdapterStartError("Slack refused SLACK_BOT_TOKEN (invalid_auth)", code))
    with pytest.raises(SystemExit) as exc:
        run(settings, adapters=lambda s, c: [first, failing])
    assert exc.value.code == code
    assert capsys.readouterr().err == "relance: Slack refused SLACK_BOT_TOKEN (invalid_auth)\n"
    assert first.calls == ["start", "stop"] and failing.calls == ["start"]


def test_a_stop_signal_stops_every_adapter_and_exits_0(settings: Settings, restore_logging: None) -> None:
    """SIGINT once both adapters run: both stopped (last started first), `run` returns normally."""
    stopped: list[str] = []

    class Recorder(FakeAdapter):
        async def stop(self) -> None:
            stopped.append(self.name)

    first = Recorder("first")
    second = Recorder("second", on_start=lambda: asyncio.get_running_loop().call_later(0.05, _interrupt))
    run(settings, adapters=lambda s, c: [first, second])
    assert stopped == ["second", "first"]


def test_a_stop_signal_ends_a_start_still_waiting(settings: Settings, restore_logging: None) -> None:
    """A chat service still unreachable (its start retries forever): SIGINT stops the adapters already started."""

    class Waiting(FakeAdapter):
        async def start(self) -> None:
            asyncio.get_running_loop().call_later(0.05, _interrupt)
            await asyncio.Event().wait()

    first, waiting = FakeAdapter("first"), Waiting("slack")
    run(settings, adapters=lambda s, c: [first, waiting])
    assert first.calls == ["start", "stop"]


def _interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize(
    ("options", "env", "named"),
    [
        (["--slack-http"], {"SLACK_OWNER_IDS": "U012AB3CD"}, "SLACK_SIGNING_SECRET: not set"),
        ([], {"SLACK_OWNER_IDS": "U012AB3CD"}, "SLACK_APP_TOKEN: not set"),
        ([], {"SLACK_APP_TOKEN": "xapp-1-A0-1-test"}, "SLACK_OWNER_IDS: not set"),
    ],
)
def test_slack_settings_missing_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], env: dict[str, str], named: str
) -> None:
    """`relance run [--slack-http]` with Slack half configured: one line naming the setting, exit 2, no database,
    never the token."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'relance.db'}")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-test-token")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["run", *options])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"relance: {named}") and len(result.stderr.strip().splitlines()) == 1
    assert "xoxb-secret" not in result.output + result.stderr
    assert not (tmp_path / "relance.db").exists()


def test_run_help_names_both_chats_and_the_http_mode() -> None:
    """`relance run --help` says which tokens start which chat and documents --slack-http."""
    result = CliRunner().invoke(cli, ["run", "--help"], terminal_width=200)
    text = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "TELEGRAM_BOT_TOKEN" in text and "SLACK_BOT_TOKEN" in text and "--slack-http" in text
