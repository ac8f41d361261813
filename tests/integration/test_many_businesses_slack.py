"""Several businesses in one Slack workspace: a Slack owner id leads to the business they own (business_owner),
an owner of several picks one with `/relance entreprise`, and an owner of B never sees or changes anything of A,
forged button values of every family included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine, text

from bot.presenter import Presenter
from bot.slack import access, home
from bot.slack.app import build_app
from bot.slack.context import SlackContext
from bot.tenancy import make_tenancy, open_businesses
from storage import tenants
from storage.db import make_engine, write_session
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.e2e.fakeslack import FakeSlack
from tests.integration.test_many_businesses_telegram import A_CLIENT, B_CLIENT, TODAY, Ids, _fill, _forged
from tests.integration.test_slack_app import button_of
from tests.integration.test_two_businesses import _chains_verify, _head, _rows

OWNER_A = "U0OWNERA"
OWNER_B = "U0OWNERB"
BOTH = "U0BOTH"


@dataclass
class World:
    slack: FakeSlack
    ctx: SlackContext
    engine: Engine
    a: Ids
    b: Ids

    def said(self, user: str) -> str:
        """Everything the app posted in `user`'s DM (and their ephemerals), as plain text."""
        dm = self.slack.dm_channel(user)
        return "\n".join(m.plain for m in self.slack.messages(dm))


@asynccontextmanager
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """A (the settings' business, Slack owner U0OWNERA) and B (U0OWNERB); U0BOTH owns both; one Slack app."""
    slack = FakeSlack().start_in_thread()
    for user in (OWNER_A, OWNER_B, BOTH):
        slack.add_user(user, user.title())
    engine = make_engine(db_url)
    settings = bot_settings(db_url, tmp_path, TODAY, SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
                            SLACK_API_URL=slack.api_url, SLACK_OWNER_IDS=OWNER_A)  # fmt: skip
    core = make_services(engine, settings, RecordingDelivery()).core
    a = _fill(engine, core.business_id, "alpha", A_CLIENT, "FA-001")
    b = _fill(engine, None, "beta", B_CLIENT, "FB-001")
    with write_session(engine) as s:
        tenants.add_owner(s, business_id=a.business_id, channel="slack", user_id=OWNER_A)
        tenants.add_owner(s, business_id=a.business_id, channel="slack", user_id=BOTH)
        tenants.add_owner(s, business_id=b.business_id, channel="slack", user_id=OWNER_B)
        tenants.add_owner(s, business_id=b.business_id, channel="slack", user_id=BOTH)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    channel = f"slack:{slack.team_id}"
    ctx = SlackContext(Presenter(core, channel=channel), client, frozenset([OWNER_A]), settings)
    ctx.tenancy = make_tenancy(engine, "slack", open_businesses(engine, settings, core), cards=channel)
    ctx.tenancy.presenters[core.business_id] = ctx.home
    handler = AsyncSocketModeHandler(build_app(ctx), slack.app_token)
    await handler.connect_async()
    try:
        await slack.aio.wait_for(lambda: slack.live_connections > 0, what="the Socket Mode connection")
        yield World(slack, ctx, engine, a, b)
    finally:
        await handler.close_async()
        await access.close(ctx)
        await home.settle(ctx)
        slack.stop()
        engine.dispose()


async def test_owner_of_b_sees_b_only_and_forged_values_change_nothing(db_url: str, tmp_path: Path) -> None:
    """B's Slack owner: `/relance digest` and the lists show B's client, never A's; clicking one of their own cards
    with a value of every button family (r1 d1 l1 pl1 m1 p1 t1) naming A's rows changes nothing of A."""
    async with world(db_url, tmp_path) as w:
        dm = w.slack.dm_channel(OWNER_B)
        await w.slack.aio.slash(OWNER_B, "digest")
        card = await w.slack.aio.wait_message(dm, B_CLIENT)
        for command in ("factures", "taches", "reponses", "litiges", "entreprise", f"payee {w.a.number}"):
            await w.slack.aio.slash(OWNER_B, command)
        await w.slack.aio.wait_message(dm, "une seule entreprise")
        before, head = _rows(w.engine, w.a.business_id), _head(w.engine, w.a.business_id)
        presenter_a = w.ctx.tenancy.presenters[w.a.business_id]
        snooze = button_of(card, "snz")
        for value in _forged(w.a, w.engine, presenter_a):
            await w.slack.aio.click(OWNER_B, dm, card.ts, snooze, value=value)
        await home.settle(w.ctx)
        assert A_CLIENT not in w.said(OWNER_B) and f"{w.a.number}-N" not in w.said(OWNER_B)
        assert _rows(w.engine, w.a.business_id) == before and _head(w.engine, w.a.business_id) == head
        _chains_verify(w.engine, w.a.business_id, w.b.business_id)


async def test_owner_of_several_picks_with_relance_entreprise(db_url: str, tmp_path: Path) -> None:
    """U0BOTH: `/relance entreprise` lists both businesses; `entreprise 2` picks B (remembered in owner_choice,
    channel slack); `/relance factures` then lists B's invoices; B's owner cannot pick A."""
    async with world(db_url, tmp_path) as w:
        dm = w.slack.dm_channel(BOTH)
        await w.slack.aio.slash(BOTH, "entreprise")
        await w.slack.aio.wait_message(dm, "plusieurs entreprises")
        await w.slack.aio.slash(BOTH, "factures")
        await w.slack.aio.wait_message(dm, A_CLIENT)  # A first (the lowest id) until a choice is made
        await w.slack.aio.slash(BOTH, "entreprise 2")
        await w.slack.aio.wait_message(dm, "concernent désormais")
        with w.engine.connect() as conn:
            rows = conn.execute(text("SELECT channel, business_id FROM owner_choice WHERE user_id = :u"),
                                {"u": BOTH}).all()  # fmt: skip
        assert rows == [("slack", w.b.business_id)]
        mark = w.slack.messages(dm)[-1].ts
        await w.slack.aio.slash(BOTH, "factures")
        await w.slack.aio.wait_message(dm, B_CLIENT, after=mark)
        await w.slack.aio.slash(OWNER_B, "entreprise 1")
        await w.slack.aio.wait_message(w.slack.dm_channel(OWNER_B), "une seule entreprise")
        with w.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM owner_choice WHERE user_id = :u"),
                                {"u": OWNER_B}).scalar_one() == 0  # fmt: skip
