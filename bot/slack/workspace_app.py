"""The Slack adapter of a workspace of businesses' own (bot/slack/workspaces.py builds one per workspace): the
install's adapter with that workspace's tokens, serving those businesses alone, connecting in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.adapters import AdapterStartError
from bot.presenter import Presenter
from bot.slack.app import SlackAdapter
from bot.slack.context import SlackContext
from bot.slack.workspaces import NotConnected, Workspace

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.tenancy import Business
    from services.core import DigestData
    from services.mailbox import Ingested, MailboxProblem
    from services.outbox import DeliveryResult

log = logging.getLogger("bot.slack.workspaces")  # one logger for the workspaces' lines, wherever they are written


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
