"""Businesses with a Slack workspace of their own (`relance business set <slug> --slack-team T… --slack-bot-token
xoxb-… --slack-app-token xapp-…`): one Slack connection each in the running process, serving that business only.

Such a business is served in its workspace and nowhere else: its owners there reach it alone (a member of its
workspace never reaches another business, whatever a payload names), its digest goes to its owners there, its
e-mails' outcomes refresh its cards there; the install's workspace (SLACK_BOT_TOKEN) no longer serves it. Its
connection never holds the process back: it connects in the background (Slack out of reach is retried with
backoff), and a refused token, a token of another workspace or a missing token is one error line naming the
business, after which that business is not served in Slack at all (fail closed) while the others run on. The tokens
are decrypted with RELANCE_SECRET_KEY (bot/secrets.py) and added to the log's masked values; they are never printed.
Socket Mode only (the app-level token): the install's HTTP endpoint (`--slack-http`) serves the install's app alone.
Businesses connected to the same workspace with the same app share one connection (an owner of several picks one
with `/relance entreprise`, as in the install's workspace).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.adapters import AdapterStartError
from bot.logs import SecretFilter
from bot.presenter import Presenter
from bot.secrets import SecretKeyError, decrypt
from bot.slack.app import SlackAdapter
from bot.slack.context import SlackContext
from storage import tenants
from storage.db import Engine, read_session

if TYPE_CHECKING:
    from bot.adapters import ChatAdapter
    from bot.settings import Settings
    from bot.tenancy import Business
    from services.core import DigestData, Services
    from services.mailbox import Ingested, MailboxProblem
    from services.outbox import DeliveryResult

log = logging.getLogger(__name__)

#: The names of a business's Slack secrets in business_secret (encrypted by `relance business set`).
BOT_TOKEN_SECRET = "slack_bot_token"
APP_TOKEN_SECRET = "slack_app_token"


@dataclass(frozen=True)
class Workspace:
    """A Slack workspace of businesses' own: its team id, its app's tokens (decrypted, kept secret), and the
    businesses connected to it with that app (by id and slug; the first is the connection's home)."""

    team_id: str
    bot_token: SecretStr
    app_token: SecretStr
    business_ids: tuple[int, ...]
    slugs: tuple[str, ...]

    @property
    def label(self) -> str:
        """The businesses it serves, for a log line: "beta", or "beta, gamma"."""
        return ", ".join(self.slugs)


class NotConnected(RuntimeError):
    """The business's workspace is not connected (yet, or at all): nothing was delivered there."""


def served_elsewhere(engine: Engine, businesses: dict[int, Any], team: str, *, home: int) -> set[int]:
    """The businesses the install's workspace `team` must not serve: those named to another workspace, and those
    connected to a workspace of their own (a bot token of their own), whichever it is. `home` (the settings'
    business) is always served by the install."""
    elsewhere: set[int] = set()
    with read_session(engine) as session:
        for business_id in businesses:
            if business_id == home:
                continue
            own_team = tenants.business_setup(session, business_id=business_id).slack_team_id
            if not own_team:
                continue
            if own_team != team or tenants.secret(session, business_id=business_id, name=BOT_TOKEN_SECRET):
                elsewhere.add(business_id)
    return elsewhere


def business_workspace_adapters(
    settings: Settings, core: Services, businesses: dict[int, Business], *, receive: bool = True
) -> list[ChatAdapter]:
    """One Slack adapter per workspace of businesses' own (other than the settings' business), scoped to the
    businesses connected to it (their services, their tokens, SLACK_API_URL as the install's). Businesses naming the
    same workspace with the same bot token share one connection (Slack splits one app's events between its
    connections: two would each see half of them), where an owner of several picks one with `/relance entreprise`.
    A business naming a workspace without both tokens, or whose tokens cannot be decrypted, gets one error line and
    no adapter (not served in Slack). Without `receive` (`relance run --worker`) they only send: no Socket Mode
    connection, the deployment's receiving process has it."""
    groups: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for business_id, business in sorted(businesses.items()):
        if business_id == core.business_id:
            continue
        found = _credentials(settings, core.engine, business_id, business)
        if found is not None:
            team, bot_token, app_token = found
            groups.setdefault((team, bot_token), []).append((business_id, business.services.ctx.slug, app_token))
    adapters: list[ChatAdapter] = []
    for (team, bot_token), members in groups.items():
        workspace = Workspace(team, SecretStr(bot_token), SecretStr(members[0][2]),
                              tuple(m[0] for m in members), tuple(m[1] or str(m[0]) for m in members))  # fmt: skip
        adapters.append(WorkspaceAdapter(settings, businesses, workspace, receive=receive))
    return adapters


def _credentials(
    settings: Settings, engine: Engine, business_id: int, business: Business
) -> tuple[str, str, str] | None:
    """The business's own workspace and its decrypted tokens (team, bot, app); None (and why, in one line) when it
    has none usable."""
    slug = business.services.ctx.slug or str(business_id)
    with read_session(engine) as session:
        team = tenants.business_setup(session, business_id=business_id).slack_team_id
        if not team:
            return None
        sealed = {name: tenants.secret(session, business_id=business_id, name=name)
                  for name in (BOT_TOKEN_SECRET, APP_TOKEN_SECRET)}  # fmt: skip
    bot_sealed, app_sealed = sealed[BOT_TOKEN_SECRET], sealed[APP_TOKEN_SECRET]
    if bot_sealed is None:
        log.warning("business %s names Slack workspace %s but has no bot token of its own: it is served there only "
                    "if that is the install's workspace (relance business set %s --slack-bot-token … "
                    "--slack-app-token …)", slug, team, slug)  # fmt: skip
        return None
    if app_sealed is None:
        log.error("business %s: its Slack workspace %s needs the app-level token for Socket Mode (relance business "
                  "set %s --slack-app-token xapp-…); its owners are not served in Slack until then",
                  slug, team, slug)  # fmt: skip
        return None
    try:
        bot_token = decrypt(settings, bot_sealed, name=BOT_TOKEN_SECRET)
        app_token = decrypt(settings, app_sealed, name=APP_TOKEN_SECRET)
    except SecretKeyError as exc:
        log.error("business %s: its Slack workspace is not connected: %s", slug, exc)
        return None
    mask_in_logs(bot_token, app_token)
    return team, bot_token, app_token


def mask_in_logs(*values: str) -> None:
    """Mask `values` in every line the process logs from now on, as the settings' secrets are (bot/logs.py)."""
    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, SecretFilter):
                found.secrets = sorted({*found.secrets, *(v for v in values if v)}, key=len, reverse=True)


class WorkspaceAdapter(SlackAdapter):
    """Relance in a workspace of businesses' own: those businesses only, their owners there only (Socket Mode)."""

    BOT_TOKEN = "the business's Slack bot token"
    APP_TOKEN = "the business's Slack app-level token"

    def __init__(
        self,
        settings: Settings,
        businesses: dict[int, Business],
        workspace: Workspace,
        *,
        receive: bool = True,
        max_attempts: int | None = None,
        first_delay: float | None = None,
    ) -> None:
        # The install's settings with this workspace's tokens and no owner of the install's: the owners here are the
        # businesses' Slack owners (business_owner), read again each minute with the runtime's tenancy refresh.
        scoped = settings.model_copy(
            update={"SLACK_BOT_TOKEN": workspace.bot_token, "SLACK_APP_TOKEN": workspace.app_token,
                    "SLACK_OWNER_IDS": "", "SLACK_SIGNING_SECRET": None}
        )  # fmt: skip
        #: The businesses served here, the first one as the home of the connection (its cards, its strangers' log).
        self.served = {business_id: businesses[business_id] for business_id in workspace.business_ids}
        home = self.served[workspace.business_ids[0]].services
        if first_delay is None:
            super().__init__(scoped, home, max_attempts=max_attempts)
        else:
            super().__init__(scoped, home, max_attempts=max_attempts, first_delay=first_delay)
        self.workspace = workspace
        #: False in a worker (`relance run --worker`): digests, outcomes and alerts are sent, nothing is received.
        self.receive = receive
        self.name = "slack:" + "+".join(workspace.slugs)
        self.WHERE = f" (the own workspace of {workspace.label})"
        self.FIX = f"Set it again: relance business set {workspace.slugs[0]} --slack-bot-token … --slack-app-token …"
        #: Why the workspace is not served (a refused token...), once the connection gave up; None otherwise.
        self.failure: str | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect in the background: the process and the other businesses never wait for this workspace."""
        self._connecting = asyncio.ensure_future(self._connect())

    async def connected(self) -> bool:
        """Wait for the connection attempt to end: True when the workspace is served (tests, health checks)."""
        if self._connecting is not None:
            await asyncio.shield(self._connecting)
        return self.ctx is not None and self.failure is None

    async def _connect(self) -> None:
        """The install adapter's start-up with this workspace's tokens; a failure is one error line naming the
        business, never a token, and leaves the workspace unserved."""
        try:
            await SlackAdapter.start(self)
        except AdapterStartError as exc:
            self.failure = str(exc)
            await self._forget()
            log.error("business %s: Slack workspace %s not connected: %s; its owners are not served in Slack until it "
                      "is fixed", self.workspace.label, self.workspace.team_id, exc)  # fmt: skip
        except Exception as exc:
            self.failure = type(exc).__name__
            await self._forget()
            log.exception("business %s: Slack workspace %s not connected", self.workspace.label, self.workspace.team_id)
        else:
            log.info("business %s: served in its own Slack workspace %s", self.workspace.label, self.workspace.team_id)

    async def _connect_socket(self) -> None:
        """Receive over Socket Mode, unless this process only sends (a worker)."""
        if self.receive:
            await SlackAdapter._connect_socket(self)

    async def _forget(self) -> None:
        """What a failed start left: no context (nothing is served), no socket."""
        self.ctx, self.app = None, None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    def _check_settings(self) -> None:
        """Both tokens are there (checked when read); the owners come from the database, not SLACK_OWNER_IDS."""
        if not self.settings.slack_bot_token or self.settings.SLACK_APP_TOKEN is None:
            raise AdapterStartError(f"business {self.workspace.label}: a Slack token is missing", 2)

    def _context(self, team: str) -> SlackContext:
        """The businesses of this workspace alone, for their Slack owners (an owner of several picks one with
        `/relance entreprise`); the token must be the named workspace's (else fail closed)."""
        if team != self.workspace.team_id:
            raise AdapterStartError(
                f"the bot token belongs to Slack workspace {team or '?'}, not {self.workspace.team_id} (relance "
                f"business set {self.workspace.slugs[0]} --slack-team …)",
                2,
            )
        from bot.tenancy import make_tenancy

        presenter = Presenter(self.core, channel=f"slack:{team}")
        ctx = SlackContext(presenter, self.client, frozenset(), self.settings, team_id=team)
        tenancy = make_tenancy(self.core.engine, "slack", self.served, cards=presenter.channel)
        tenancy.presenters[presenter.business_id] = presenter
        ctx.tenancy = tenancy
        ctx.owner_ids = frozenset(tenancy.owners_of(presenter.business_id))
        return ctx

    async def stop(self) -> None:
        """Stop connecting (when still trying), then stop receiving."""
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            await self._forget()
        await SlackAdapter.stop(self)

    @property
    def tenancy(self) -> Any:
        """The owners of the businesses in this workspace, read again by the runtime every minute (`refresh`)."""
        return _Owners(self.ctx) if self.ctx is not None else None

    def serve_businesses(self, opened: dict[int, Any]) -> None:
        """The businesses of this workspace only, whatever the deployment serves elsewhere."""

    async def deliver_digest(self, data: DigestData) -> None:
        """The settings' business's digest: not this workspace's (its own comes by `deliver_digest_of`)."""

    async def deliver_digest_of(self, business_id: int, data: DigestData) -> None:
        """The digest of a business of this workspace in the DM of each of its owners here; NotConnected when the
        workspace is not served (the digest is then not recorded as delivered, and the next one says so)."""
        if business_id not in self.served:
            return
        if self.ctx is None:
            raise NotConnected(f"business {self.served[business_id].services.ctx.slug}: its Slack workspace is not "
                               "connected")  # fmt: skip
        if business_id == self.ctx.home.business_id:
            await SlackAdapter.deliver_digest(self, data)
        else:
            await SlackAdapter.deliver_digest_of(self, business_id, data)

    async def on_outcome(self, result: DeliveryResult) -> None:
        """The e-mail outcomes of this workspace's businesses refresh their cards here (none when not connected)."""
        if self.ctx is not None and result.business_id in self.served:
            await SlackAdapter.on_outcome(self, result)

    async def on_smtp_state(self, business_id: int, down: bool) -> None:
        """The SMTP server of a business of this workspace down or back: told to its owners here."""
        if self.ctx is not None and business_id in self.served:
            await SlackAdapter.on_smtp_state(self, business_id, down)

    async def on_mail_received(self, ingested: Ingested) -> None:
        """The settings' business's mailbox: not this workspace's (its businesses' come by `on_mail_received_of`)."""

    async def on_mailbox_problem(self, problem: MailboxProblem) -> None:
        """The settings' business's mailbox: not this workspace's, as `on_mail_received`."""

    async def on_mail_received_of(self, business_id: int, ingested: Ingested) -> None:
        """The mailbox of a business of this workspace kept a reply or a bounce: its card to its owners here."""
        if self.ctx is not None and business_id in self.served:
            await SlackAdapter.on_mail_received_of(self, business_id, ingested)

    async def on_mailbox_problem_of(self, business_id: int, problem: MailboxProblem) -> None:
        """The mailbox of a business of this workspace refused Relance's login: its owners here are told once."""
        if self.ctx is not None and business_id in self.served:
            await SlackAdapter.on_mailbox_problem_of(self, business_id, problem)


@dataclass
class _Owners:
    """The workspace's tenancy as the runtime refreshes it: the owners the deliveries go to follow it."""

    ctx: SlackContext

    def refresh(self) -> None:
        """Read the businesses' Slack owners again (added or removed with `relance business set`)."""
        tenancy = self.ctx.tenancy
        tenancy.refresh()
        self.ctx.owner_ids = frozenset(tenancy.owners_of(self.ctx.home.business_id))
