"""The Slack listeners in-process, connected over Socket Mode to the Slack emulator, over a seeded SQLite database."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, text
from sqlmodel import SQLModel, col, select

from bot.presenter import Presenter
from bot.slack import access, home
from bot.slack.app import build_app
from bot.slack.context import SlackContext
from storage.db import make_engine, read_session, write_session
from storage.models import Business, EvidenceEntry
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.e2e.fakeslack import FakeSlack, Message
from tests.factories import make_client, make_invoice

OWNER = "U0OWNER"
STRANGER = "U0STRANGER"
TODAY = date(2026, 11, 24)


@dataclass
class SlackHarness:
    """The emulator, the listeners' context and the database."""

    slack: FakeSlack
    ctx: SlackContext
    engine: Engine

    @property
    def presenter(self) -> Presenter:
        """The business's use cases as Slack presents them."""
        return self.ctx.presenter

    @property
    def dm(self) -> str:
        """The owner's DM with the app."""
        return self.slack.dm_channel(OWNER)

    async def settle(self) -> None:
        """Wait for the work the listeners left running (refusals, home refreshes)."""
        await access.settle(self.ctx)
        await home.settle(self.ctx)

    async def answer(self, contains: str, *, after: str | None = None) -> Message:
        """The first app message in the owner's DM containing `contains` (posted after ts `after`)."""
        found: Message = await self.slack.aio.wait_message(self.dm, contains, after=after)
        return found

    def last_ts(self) -> str:
        """The ts of the DM's newest message ("0" when empty): answers after it are new."""
        messages = self.slack.messages(self.dm)
        return messages[-1].ts if messages else "0"


@asynccontextmanager
async def slack_app(sqlite_url: str, tmp_path: Path, *, locale: str = "fr-FR") -> AsyncIterator[SlackHarness]:
    """The Slack app as the adapter builds it (build_app: the owners-only gate first), on the emulator."""
    slack = FakeSlack().start_in_thread()
    slack.add_user(OWNER, "Claire", locale=locale)
    slack.add_user(STRANGER, "Bruno", locale="fr-FR")
    engine = make_engine(sqlite_url)
    settings = bot_settings(
        sqlite_url, tmp_path, TODAY, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url, SLACK_OWNER_IDS=OWNER,
    )  # fmt: skip
    core = make_services(engine, settings, RecordingDelivery()).core
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    ctx = SlackContext(Presenter(core, channel=f"slack:{slack.team_id}"), client, frozenset([OWNER]), settings)
    handler = AsyncSocketModeHandler(build_app(ctx), slack.app_token)
    await handler.connect_async()
    try:
        await slack.aio.wait_for(lambda: slack.live_connections > 0, what="the Socket Mode connection")
        yield SlackHarness(slack, ctx, engine)
    finally:
        await handler.close_async()
        await access.close(ctx)
        slack.stop()
        engine.dispose()


async def eventually(predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Poll `predicate` (a database read: the emulator's waits only wake on Slack-side changes) until it holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def seed(engine: Engine, *amounts: str, due: date = date(2026, 11, 10)) -> list[int]:
    """One client per amount ("Client <n> SAS"), each with invoice F-2026-00<n+1> due `due`; the invoice ids."""
    ids = []
    with write_session(engine) as s:
        business = s.exec(select(Business)).first()
        assert business is not None
        for n, amount in enumerate(amounts):
            client = make_client(s, business, name=f"Client {n} SAS")
            invoice = make_invoice(s, client, due=due, amount=amount, number=f"F-2026-{n + 1:03d}")
            assert invoice.id is not None
            ids.append(invoice.id)
    return ids


def evidence(engine: Engine, kind: str | None = None) -> list[EvidenceEntry]:
    """The evidence entries (of one kind), oldest first."""
    with read_session(engine) as s:
        entries = s.exec(select(EvidenceEntry).order_by(col(EvidenceEntry.seq))).all()
        return [e for e in entries if kind is None or e.kind == kind]


def database_digest(engine: Engine) -> str:
    """A digest of every row of every table: equal digests mean nothing was written in between."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(text(f'SELECT * FROM "{table.name}" ORDER BY 1')):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
