"""A business with a Slack workspace of its own (issue 12 §1, Slack): its own connection in the running process
(bot/slack/workspaces.py), its owners there reach it alone, its digest and outcomes go there, the install's workspace
no longer serves it, and a bad token for it is one log line that stops nothing else. Two Slack emulators: the
install's workspace (A, the settings' business) and B's own."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from bot.i18n import t
from bot.logs import SecretFilter
from bot.runtime import Runtime
from bot.secrets import encrypt
from bot.settings import Settings
from bot.slack import home
from bot.slack.app import SlackAdapter
from bot.slack.head import HEAD_BLOCK_ID
from bot.slack.workspace_app import WorkspaceAdapter
from bot.slack.workspaces import NotConnected, business_workspace_adapters
from bot.tenancy import Business, open_businesses
from services.core import Services
from services.mailbox import Ingested, MailboxProblem
from services.outbox import DeliveryResult
from storage import tenants
from storage.db import make_engine, write_session
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.e2e.fakeslack import FakeSlack
from tests.integration.test_many_businesses_telegram import A_CLIENT, B_CLIENT, TODAY, Ids, _fill, _forged
from tests.integration.test_slack_app import button_of
from tests.integration.test_two_businesses import _chains_verify, _head, _rows

OWNER_A = "U0OWNERA"  # owns A (the install's business); also a member of B's workspace
OWNER_B = "U0OWNERB"  # owns B; also a member of the install's workspace
BOTH = "U0BOTH"  # owns A and B; a member of both workspaces
KEY = Fernet.generate_key().decode()
C_CLIENT = "Martin Gamma EURL"


@dataclass
class Two:
    """The install's workspace (slack_a, its adapter) and B's own (slack_b, its adapter), over one database."""

    slack_a: FakeSlack
    slack_b: FakeSlack
    install: SlackAdapter
    own: list[WorkspaceAdapter]
    engine: Engine
    settings: Settings
    settings_b: Settings  # the install's, with B's emulator as SLACK_API_URL
    core: Services
    opened: dict[int, Business]
    a: Ids
    b: Ids

    def said(self, slack: FakeSlack, user: str) -> str:
        """Everything the app posted in `user`'s DM of that workspace, and their ephemerals there."""
        dm = slack.dm_channel(user)
        return "\n".join([m.plain for m in slack.messages(dm)] + [e.plain for e in slack.ephemerals(user)])


def _connect_b(engine: Engine, settings: Settings, business_id: int, team: str, bot: str, app: str) -> None:
    """`relance business set beta --slack-team … --slack-bot-token … --slack-app-token …`, as the CLI stores it."""
    with write_session(engine) as s:
        tenants.update_setup(s, business_id=business_id, slack_team_id=team)
        tenants.set_secret(s, business_id=business_id, name="slack_bot_token", ciphertext=encrypt(settings, bot))
        tenants.set_secret(s, business_id=business_id, name="slack_app_token", ciphertext=encrypt(settings, app))


async def _runtime_digests(w: Two) -> dict[int, bool]:
    """The runtime's digest check with the adapters wired as Runtime.start will (the install's, then each business's
    own workspace's): which businesses' digests were recorded as delivered."""
    runtime = Runtime(w.settings, w.core, [w.install])
    try:
        runtime.businesses = w.opened
        runtime.adapters += w.own  # what Runtime.start appends after open_businesses()
        await runtime.check_digest()
    finally:
        runtime.health.close()
    with w.engine.connect() as conn:
        rows = conn.execute(text("SELECT business_id, delivered_at FROM digestrun")).all()
    return {int(business_id): delivered is not None for business_id, delivered in rows}


@asynccontextmanager
async def two_workspaces(
    db_url: str,
    tmp_path: Path,
    *,
    b_bot_token: str | None = None,
    b_team: str | None = None,
    b_own: bool = True,
    c_too: bool = False,
) -> AsyncIterator[Two]:
    """A served in the install's workspace; B connected to its own (its tokens, its team unless `b_team`), or with
    `b_own=False` served in the install's workspace too (as before this module); with `c_too`, a business C (owned
    by BOTH) connected to B's workspace with the same app."""
    slack_a, slack_b = FakeSlack().start_in_thread(), FakeSlack().start_in_thread()
    for slack in (slack_a, slack_b):
        slack.add_user(OWNER_A, "Alice")
        slack.add_user(OWNER_B, "Bruno")
        slack.add_user(BOTH, "Camille")
    engine = make_engine(db_url)
    settings = bot_settings(db_url, tmp_path, TODAY, SLACK_BOT_TOKEN=slack_a.bot_token,
                            SLACK_APP_TOKEN=slack_a.app_token, SLACK_API_URL=slack_a.api_url,
                            SLACK_OWNER_IDS=OWNER_A, RELANCE_SECRET_KEY=KEY)  # fmt: skip
    core = make_services(engine, settings, RecordingDelivery()).core
    a = _fill(engine, core.business_id, "alpha", A_CLIENT, "FA-001")
    b = _fill(engine, None, "beta", B_CLIENT, "FB-001")
    with write_session(engine) as s:
        tenants.add_owner(s, business_id=a.business_id, channel="slack", user_id=OWNER_A)
        tenants.add_owner(s, business_id=b.business_id, channel="slack", user_id=OWNER_B)
        for business_id in (a.business_id, b.business_id):
            tenants.add_owner(s, business_id=business_id, channel="slack", user_id=BOTH)
    if b_own:
        _connect_b(engine, settings, b.business_id, b_team or slack_b.team_id, b_bot_token or slack_b.bot_token,
                   slack_b.app_token)  # fmt: skip
    if c_too:
        c = _fill(engine, None, "gamma", C_CLIENT, "FC-001")
        with write_session(engine) as s:
            tenants.add_owner(s, business_id=c.business_id, channel="slack", user_id=BOTH)
        _connect_b(engine, settings, c.business_id, slack_b.team_id, slack_b.bot_token, slack_b.app_token)
    opened = open_businesses(engine, settings, core)
    install = SlackAdapter(settings, core)
    install.serve_businesses(opened)
    # In production both workspaces answer at SLACK_API_URL (slack.com); here B's is another emulator.
    settings_b = settings.model_copy(update={"SLACK_API_URL": slack_b.api_url})
    own = business_workspace_adapters(settings_b, core, opened)
    assert all(isinstance(adapter, WorkspaceAdapter) for adapter in own)
    started: list[SlackAdapter] = []
    try:
        await install.start()
        started.append(install)
        for adapter in own:
            await adapter.start()
            started.append(adapter)
            await adapter.connected()
        yield Two(slack_a, slack_b, install, own, engine, settings, settings_b, core, opened, a, b)  # type: ignore[arg-type]
    finally:
        for adapter in reversed(started):
            await adapter.stop()
        slack_a.stop()
        slack_b.stop()
        engine.dispose()


async def test_b_is_served_in_its_own_workspace_only(db_url: str, tmp_path: Path) -> None:
    """In B's workspace, B's owner gets B's answers to every command and forged buttons of every family naming A's
    rows change nothing of A; A's owner (a member there too) is a stranger there; in the install's workspace B's
    owner is a stranger and A's owner is served as before; the owner of both is served A in the install's workspace
    and B in B's, with no head line; a request naming another team is dropped."""
    async with two_workspaces(db_url, tmp_path) as w:
        (own,) = w.own
        assert await own.connected() and own.name == "slack:beta"
        slack_b, dm_b = w.slack_b, w.slack_b.dm_channel(OWNER_B)
        await slack_b.aio.slash(OWNER_B, "digest")
        card = await slack_b.aio.wait_message(dm_b, B_CLIENT)
        for command in ("factures", "taches", "reponses", "litiges", "entreprise", f"payee {w.a.number}"):
            await slack_b.aio.slash(OWNER_B, command)
        await slack_b.aio.wait_message(dm_b, "une seule entreprise")
        before, head = _rows(w.engine, w.a.business_id), _head(w.engine, w.a.business_id)
        presenter_a = w.install.ctx.presenter if w.install.ctx is not None else None
        assert presenter_a is not None
        for value in _forged(w.a, w.engine, presenter_a):
            await slack_b.aio.click(OWNER_B, dm_b, card.ts, button_of(card, "snz"), value=value)
        assert own.ctx is not None
        await home.settle(own.ctx)
        said_b = w.said(slack_b, OWNER_B)
        assert A_CLIENT not in said_b and f"{w.a.number}-N" not in said_b and f"{w.a.number}-D" not in said_b
        assert HEAD_BLOCK_ID not in str([m.blocks for m in slack_b.messages(dm_b)])  # one business here: no head
        assert _rows(w.engine, w.a.business_id) == before and _head(w.engine, w.a.business_id) == head
        # A's owner, a member of B's workspace: a stranger there, whatever they own elsewhere.
        await slack_b.aio.slash(OWNER_A, "digest")
        await slack_b.aio.wait_ephemeral(OWNER_A, t("private", "fr"))
        assert slack_b.messages(slack_b.dm_channel(OWNER_A)) == []
        # The install's workspace: B's owner is a stranger there; A's owner is served A, as before.
        await w.slack_a.aio.slash(OWNER_B, "factures")
        await w.slack_a.aio.wait_ephemeral(OWNER_B, t("private", "fr"))
        await w.slack_a.aio.slash(OWNER_A, "factures")
        await w.slack_a.aio.wait_message(w.slack_a.dm_channel(OWNER_A), A_CLIENT)
        assert B_CLIENT not in w.said(w.slack_a, OWNER_A) + w.said(w.slack_a, OWNER_B)
        # The owner of both: A alone in the install's workspace, B alone in B's; no "🏢" head line in either.
        for slack, client in ((w.slack_a, A_CLIENT), (slack_b, B_CLIENT)):
            await slack.aio.slash(BOTH, "factures")
            answer = await slack.aio.wait_message(slack.dm_channel(BOTH), client)
            assert answer.blocks[0]["block_id"] != HEAD_BLOCK_ID
            assert (B_CLIENT if client == A_CLIENT else A_CLIENT) not in w.said(slack, BOTH)
        # A request of another team through B's connection is dropped: no answer at all.
        count, notes = len(slack_b.messages(dm_b)), len(slack_b.ephemerals(OWNER_B))
        own.ctx.team_id = "T0ELSEWHERE"
        await slack_b.aio.slash(OWNER_B, "factures")
        assert len(slack_b.messages(dm_b)) == count and len(slack_b.ephemerals(OWNER_B)) == notes
        _chains_verify(w.engine, w.a.business_id, w.b.business_id)


async def test_b_digest_and_outcomes_go_to_its_workspace(db_url: str, tmp_path: Path) -> None:
    """The runtime hands B's digest to every adapter: only B's own workspace shows it (B's owner's DM there), the
    install's ignores it; A's digest reaches the install's workspace alone; both are recorded delivered. A failed
    e-mail of B updates B's card and tells B's owner in B's workspace, as do B's mailbox's reply card and refused
    login; nothing reaches the install's."""
    async with two_workspaces(db_url, tmp_path) as w:
        (own,) = w.own
        assert await _runtime_digests(w) == {w.a.business_id: True, w.b.business_id: True}
        dm_b = w.slack_b.dm_channel(OWNER_B)
        card = await w.slack_b.aio.wait_message(dm_b, B_CLIENT)
        assert A_CLIENT not in w.said(w.slack_b, OWNER_B) and w.slack_b.messages(w.slack_b.dm_channel(OWNER_A)) == []
        await w.slack_a.aio.wait_message(w.slack_a.dm_channel(OWNER_A), A_CLIENT)
        assert B_CLIENT not in w.said(w.slack_a, OWNER_A) and w.slack_a.messages(w.slack_a.dm_channel(OWNER_B)) == []
        a_calls = len(w.slack_a.calls)
        result = DeliveryResult(1, w.b.reminder_id, w.b.business_id, "failed", "550 5.1.1 user unknown", "<m@x>",
                                ("compta@beta.example",), 1, None, datetime.now(UTC))  # fmt: skip
        for adapter in (w.install, own):
            await adapter.on_outcome(result)
            await adapter.on_smtp_state(w.b.business_id, True)
        assert "550 5.1.1 user unknown" in w.slack_b.message(dm_b, card.ts).plain
        await w.slack_b.aio.wait_message(dm_b, "L'envoi a échoué : 550 5.1.1 user unknown")
        # B's own mailbox (its watcher reports to every adapter): the reply's card and a refused login, in B's only.
        mark = w.slack_b.messages(dm_b)[-1].ts
        ingested = Ingested("stored", "reply", "<m@beta>", received_id=w.b.reply_id)
        for adapter in (w.install, own):
            await adapter.on_mail_received_of(w.b.business_id, ingested)
            await adapter.on_mailbox_problem_of(w.b.business_id, MailboxProblem("auth", "login refused"))
        await w.slack_b.aio.wait_message(dm_b, "Je paie demain", after=mark)
        await w.slack_b.aio.wait_message(dm_b, "ne peut pas lire la boîte", after=mark)
        assert len(w.slack_a.calls) == a_calls  # the install's workspace was not even called
        # A worker (relance run --worker) sends to B's workspace without opening a second Socket Mode connection.
        (sender,) = business_workspace_adapters(w.settings_b, w.core, w.opened, receive=False)
        await sender.start()
        try:
            assert await sender.connected()  # type: ignore[attr-defined]
            assert w.slack_b.live_connections == 1 and w.slack_b.connections_opened == 1
            await sender.on_smtp_state(w.b.business_id, False)  # type: ignore[attr-defined]
            await w.slack_b.aio.wait_message(dm_b, t("outbox.smtp_up", "fr")[:20], after=mark)
        finally:
            await sender.stop()


async def test_a_refused_token_for_b_fails_closed_and_stops_nothing(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """B's stored bot token is refused by Slack: one error line naming the business (never the token), B is served
    in no workspace, the runtime records A's digest delivered but not B's (NotConnected), and A's install runs on."""
    wrong = "xoxb-9999-wrong-token-of-beta"
    caplog.set_level(logging.INFO)
    async with two_workspaces(db_url, tmp_path, b_bot_token=wrong) as w:
        (own,) = w.own
        assert not await own.connected() and own.failure is not None
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1 and "beta" in lines[0] and "invalid_auth" in lines[0], lines
        assert await _runtime_digests(w) == {w.a.business_id: True, w.b.business_id: False}
        data_b = w.opened[w.b.business_id].services.digest(claim=False)
        assert data_b is not None
        with pytest.raises(NotConnected):
            await own.deliver_digest_of(w.b.business_id, data_b)
        await w.install.deliver_digest_of(w.b.business_id, data_b)  # not served in the install's either
        assert w.slack_b.live_connections == 0  # nobody listens in B's workspace
        await w.slack_a.aio.slash(OWNER_A, "factures")
        await w.slack_a.aio.wait_message(w.slack_a.dm_channel(OWNER_A), A_CLIENT)
        assert B_CLIENT not in w.said(w.slack_a, OWNER_B) + w.said(w.slack_b, OWNER_B)
        assert wrong not in caplog.text


async def test_a_token_of_another_workspace_fails_closed(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """B names workspace T0OTHER but its token opens another one: refused before listening (one error line)."""
    async with two_workspaces(db_url, tmp_path, b_team="T0OTHER") as w:
        (own,) = w.own
        assert not await own.connected()
        assert own.failure is not None and "T0OTHER" in own.failure
        assert w.slack_b.live_connections == 0
        assert [r for r in caplog.records if r.levelno >= logging.ERROR and "beta" in r.getMessage()]


async def test_an_owner_of_several_reads_the_business_atop_slack_answers(db_url: str, tmp_path: Path) -> None:
    """Several businesses in one workspace: every answer to an owner of several starts with "🏢 <name>" (a context
    block, as Telegram's head line), the digest's messages included; an owner of one business gets no head. A
    button on a card of their other business acts there and makes it their current one."""
    async with two_workspaces(db_url, tmp_path, b_own=False) as w:
        assert w.own == []
        dm = w.slack_a.dm_channel(BOTH)
        await w.slack_a.aio.slash(BOTH, "factures")
        answer = await w.slack_a.aio.wait_message(dm, A_CLIENT)
        assert answer.blocks[0]["block_id"] == HEAD_BLOCK_ID and "Atelier Dupont SARL" in answer.plain.splitlines()[0]
        data_b = w.opened[w.b.business_id].services.digest(claim=False)
        assert data_b is not None
        await w.install.deliver_digest_of(w.b.business_id, data_b)
        cards = [m for m in w.slack_a.messages(dm) if B_CLIENT in m.plain]
        assert cards and all(m.blocks[0]["block_id"] == HEAD_BLOCK_ID and "🏢 Boutique beta" in m.plain for m in cards)
        only_b = [m for m in w.slack_a.messages(w.slack_a.dm_channel(OWNER_B)) if B_CLIENT in m.plain]
        assert only_b and all(m.blocks[0]["block_id"] != HEAD_BLOCK_ID for m in only_b)
        # A button on B's card (snooze one day) acts on B although A is the current business, and makes B current.
        card = next(m for m in cards if any(b["type"] == "actions" for b in m.blocks))
        snooze = button_of(card, "snz")
        await w.slack_a.aio.click(BOTH, dm, card.ts, snooze, value=snooze.replace("r1:snz:", "r1:snz1:"))
        update = await w.slack_a.aio.wait_update(dm, card.ts)
        assert update.blocks[0]["block_id"] == HEAD_BLOCK_ID and "Boutique beta" in str(update.blocks[0])
        # The same card in the DM of B's other owner (B alone) is refreshed too, without the clicker's head line.
        other = next(m for m in only_b if any(b["type"] == "actions" for b in m.blocks))
        refreshed = await w.slack_a.aio.wait_update(other.channel, other.ts)
        assert refreshed.blocks[0]["block_id"] != HEAD_BLOCK_ID
        with w.engine.connect() as conn:
            chosen = conn.execute(text("SELECT business_id FROM owner_choice WHERE user_id = :u"), {"u": BOTH}).all()
        assert chosen == [(w.b.business_id,)]


def test_cli_stores_the_workspace_tokens_encrypted(cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`relance business add --slack-team --slack-bot-token --slack-app-token`: both tokens stored encrypted, shown
    as ••••, read back by the workspace's adapter and masked in the process's log lines from then on; a value that
    is not a token of its kind is refused (exit 2) without being echoed, and nothing is written."""
    from sqlalchemy import text
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("RELANCE_SECRET_KEY", KEY)
    runner = CliRunner()
    bot_token, app_token = "xoxb-1-beta-bot-token", "xapp-1-A0BETA-beta-app-token"
    bad = runner.invoke(app, ["business", "add", "beta", "--name", "Beta", "--slack-bot-token", "xapp-1-oops-x"])
    assert bad.exit_code == 2 and "--slack-bot-token" in bad.output and "oops" not in bad.output
    added = runner.invoke(app, ["business", "add", "beta", "--name", "Beta", "--slack-team", "T0BETA",
                                "--slack-bot-token", bot_token, "--slack-app-token", app_token])  # fmt: skip
    assert added.exit_code == 0, added.output
    shown = runner.invoke(app, ["business", "show", "beta"])
    assert "slack_app_token:  ••••" in shown.stdout and "slack_bot_token:  ••••" in shown.stdout
    assert "slack_team_id:    T0BETA" in shown.stdout
    engine = make_engine(f"sqlite:///{cli_workdir / 'relance.db'}")
    try:
        with engine.connect() as conn:
            raw = " ".join(conn.execute(text("SELECT ciphertext FROM business_secret")).scalars().all())
            raw += " ".join(conn.execute(text("SELECT payload FROM evidence")).scalars().all())
        assert bot_token not in raw and app_token not in raw
        settings = Settings(_env_file=None, DATABASE_URL=f"sqlite:///{cli_workdir / 'relance.db'}",
                            RELANCE_SECRET_KEY=KEY)  # type: ignore[call-arg]  # fmt: skip
        core = make_services(engine, settings, RecordingDelivery()).core
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(SecretFilter([]))  # as configure_logging puts it on the process's handlers
        logging.getLogger().addHandler(handler)
        try:
            (adapter,) = business_workspace_adapters(settings, core, open_businesses(engine, settings, core))
            logging.getLogger("test").warning("oops %s %s", bot_token, app_token)
        finally:
            logging.getLogger().removeHandler(handler)
        assert "oops *** ***" in stream.getvalue() and bot_token not in stream.getvalue()
        assert isinstance(adapter, WorkspaceAdapter) and adapter.workspace.team_id == "T0BETA"
        assert adapter.workspace.bot_token.get_secret_value() == bot_token
        assert adapter.workspace.app_token.get_secret_value() == app_token
        assert bot_token not in repr(adapter.workspace) and adapter.settings.slack_owner_ids == []
    finally:
        engine.dispose()


async def test_businesses_sharing_a_workspace_share_one_connection(db_url: str, tmp_path: Path) -> None:
    """B and C connected to the same workspace with the same Slack app: one connection serves both (Slack would split
    one app's events between two); their owner there picks with `/relance entreprise` and reads "🏢 <name>" atop each
    answer and digest; B's other owner sees B alone; the runtime delivers A, B and C once each."""
    async with two_workspaces(db_url, tmp_path, c_too=True) as w:
        (own,) = w.own
        assert own.name == "slack:beta+gamma" and await own.connected()
        dm = w.slack_b.dm_channel(BOTH)
        await w.slack_b.aio.slash(BOTH, "entreprise")
        await w.slack_b.aio.wait_message(dm, "plusieurs entreprises")
        await w.slack_b.aio.slash(BOTH, "factures")
        answer = await w.slack_b.aio.wait_message(dm, B_CLIENT)
        assert answer.blocks[0]["block_id"] == HEAD_BLOCK_ID and "Boutique beta" in str(answer.blocks[0])
        delivered = await _runtime_digests(w)
        assert set(delivered) == {w.a.business_id, w.b.business_id, w.b.business_id + 1} and all(delivered.values())
        gamma = await w.slack_b.aio.wait_message(dm, C_CLIENT)
        assert gamma.blocks[0]["block_id"] == HEAD_BLOCK_ID and "Boutique gamma" in str(gamma.blocks[0])
        said_b = w.said(w.slack_b, OWNER_B)
        assert (
            B_CLIENT in said_b
            and C_CLIENT not in said_b
            and HEAD_BLOCK_ID not in str([m.blocks for m in w.slack_b.messages(w.slack_b.dm_channel(OWNER_B))])
        )
        assert C_CLIENT not in w.said(w.slack_a, BOTH) + w.said(w.slack_a, OWNER_A)
