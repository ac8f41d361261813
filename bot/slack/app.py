"""The Slack adapter of `relance run`: checks the bot token (auth.test), then receives over Socket Mode (default) or
HTTP (bot/slack/http.py), wires the listeners in one ordered place, and hands the owners the day's digest and every
e-mail outcome.

Start-up errors are one line for the owner: a refused token exits 2 (the token itself is never printed); Slack out
of reach is retried with exponential backoff (1 s, 2 s, 4 s … at most 30 s), one log line per attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, async_default_handlers
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters import AdapterStartError
from bot.i18n import t
from bot.presenter import Presenter, outcome_alert, outcome_note
from bot.settings import Settings, SettingsError, check_slack_settings
from bot.slack import access, actions, commands, files, home, letters, modals, plans, statements, tasks
from bot.slack.blocks import text_message
from bot.slack.context import ROUTED, SlackContext
from bot.slack.head import HEAD, HeadedClient
from bot.slack.http import SlackHttpServer

if TYPE_CHECKING:
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    from services.core import DigestData, Services
    from services.mailbox import Ingested, MailboxProblem
    from services.outbox import DeliveryResult

log = logging.getLogger(__name__)

#: Slack's answers to a token it will not take: retrying cannot help.
REFUSED_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "not_allowed_token_type"}
)
#: The backoff between start-up attempts: first delay, then doubled up to the cap.
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
#: How many times one Web API call waits out Slack's rate limit (Retry-After) before it fails.
RATE_LIMIT_RETRIES = 10
#: How long the Socket Mode websocket may take to open once Slack gave its address.
CONNECT_TIMEOUT = 30.0


def _not_the_token_notice(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself (our variable has its name), then says it is unused
    since we give it the client: true and harmless, not worth a line at every start."""
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def build_app(ctx: SlackContext) -> AsyncApp:
    """The bolt app with every listener, in order: the owners-only gate first, then the features."""
    secret = ctx.settings.SLACK_SIGNING_SECRET
    logger = logging.getLogger("bot.slack.bolt")
    if _not_the_token_notice not in logger.filters:
        logger.addFilter(_not_the_token_notice)
    app = AsyncApp(
        client=ctx.client,
        # HTTP mode: bolt checks the signature again behind bot/slack/http.py (Socket Mode requests carry none).
        signing_secret=secret.get_secret_value() if secret is not None else None,
        logger=logger,
    )
    access.install(app, ctx)
    actions.register(app, ctx)
    modals.register(app, ctx)
    commands.register(app, ctx)
    home.register(app, ctx)
    files.register(app, ctx)
    statements.register(app, ctx)
    letters.register(app, ctx)  # registered letters (LRAR) of formal notices
    plans.register(app, ctx)  # payment plans: the plan card (pl1:) and its modal
    from bot.slack import replies  # replies by e-mail (issue 11): the reply cards' m1: buttons and their modals

    replies.register(app, ctx)
    tasks.register(app, ctx)  # owner tasks (issue 10): the task cards' t1: buttons
    return app


class SlackAdapter:
    """Relance in one Slack workspace, over the business's services (bot.adapters.ChatAdapter)."""

    name = "slack"
    #: How the start-up errors name the tokens (where the owner fixes them).
    BOT_TOKEN = "SLACK_BOT_TOKEN"
    APP_TOKEN = "SLACK_APP_TOKEN"
    FIX = "Check it in .env."
    #: Which connection a retry line is about ("" for the install's; a business's workspace names the business).
    WHERE = ""

    def __init__(
        self,
        settings: Settings,
        core: Services,
        *,
        http: bool = False,
        max_attempts: int | None = None,
        first_delay: float = FIRST_DELAY,
        receive: bool = True,
    ) -> None:
        self.settings = settings
        self.core = core
        self.http = http
        #: False in a worker (`relance run --worker`): it sends (digests, outcomes, alerts) but opens no Socket Mode
        #: connection nor HTTP endpoint; the deployment's receiving process has them.
        self.receive = receive
        #: Start-up attempts while Slack is out of reach (None: until it answers).
        self.max_attempts = max_attempts
        self.first_delay = first_delay
        # Slack answers 429 with Retry-After when a method is called too often (chat.postMessage: about one message
        # a second per channel, so a long digest meets it): the call waits as told and tries again.
        retries = [*async_default_handlers(), AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]
        self.client: AsyncWebClient = HeadedClient(
            token=settings.slack_bot_token, base_url=settings.SLACK_API_URL, retry_handlers=retries
        )
        self.ctx: SlackContext | None = None
        self.businesses: dict[int, Any] = {}  # several businesses: serve_businesses
        self.app: AsyncApp | None = None
        self.server: SlackHttpServer | None = None
        self._socket: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        """Check the token, then receive (Socket Mode or HTTP); raises AdapterStartError."""
        self._check_settings()
        identity = await self._call(self.BOT_TOKEN, self.client.auth_test)
        team = str(identity.get("team_id") or "")
        self.ctx = self._context(team)
        self.app = build_app(self.ctx)
        if not self.receive:
            log.info("Slack: sending to workspace %s as %s (worker: nothing received here)", team,
                     identity.get("user") or "?")  # fmt: skip
            return
        if self.http:
            await self._serve_http()
        else:
            await self._connect_socket()
        log.info("Slack: connected to workspace %s as %s (%s mode)", team, identity.get("user") or "?",
                 "HTTP" if self.http else "Socket")  # fmt: skip

    def _context(self, team: str) -> SlackContext:
        """The listeners' context in workspace `team`: the settings' owners, and with several businesses those of
        each one served here (not those connected to a workspace of their own, bot/slack/workspaces.py)."""
        presenter = Presenter(self.core, channel=f"slack:{team}")
        ctx = SlackContext(presenter, self.client, frozenset(self.settings.slack_owner_ids), self.settings)
        if self.businesses:  # several businesses: each Slack owner works on their current one
            from bot.slack.workspaces import served_elsewhere
            from bot.tenancy import make_tenancy

            elsewhere = served_elsewhere(self.core.engine, self.businesses, team, home=presenter.business_id)
            here = {bid: business for bid, business in self.businesses.items() if bid not in elsewhere}
            ctx.tenancy = make_tenancy(self.core.engine, "slack", here, cards=presenter.channel)
            ctx.tenancy.presenters[presenter.business_id] = presenter
        return ctx

    def _check_settings(self) -> None:
        """The settings each mode needs (exit 2: nothing to retry)."""
        try:
            check_slack_settings(self.settings, http=self.http)
        except SettingsError as exc:
            raise AdapterStartError(str(exc), 2) from None
        if not self.settings.slack_bot_token:
            raise AdapterStartError("SLACK_BOT_TOKEN: not set", 2)

    async def _serve_http(self) -> None:
        assert self.app is not None and self.settings.SLACK_SIGNING_SECRET is not None
        host, port = self.settings.SLACK_HTTP_HOST, self.settings.SLACK_HTTP_PORT
        self.server = SlackHttpServer(self.app, self.settings.SLACK_SIGNING_SECRET.get_secret_value(), host, port)
        try:
            await self.server.start()
        except OSError as exc:
            raise AdapterStartError(
                f"Slack HTTP mode cannot listen on {host}:{port} ({exc.strerror or exc}).", 1
            ) from None

    async def _connect_socket(self) -> None:
        assert self.app is not None and self.settings.SLACK_APP_TOKEN is not None
        app_token = self.settings.SLACK_APP_TOKEN.get_secret_value()
        opened = await self._call(self.APP_TOKEN, lambda: self.client.apps_connections_open(app_token=app_token))
        self._socket = AsyncSocketModeHandler(self.app, app_token, web_client=self.client)
        # The address is asked here (where a refused app token is told apart from Slack out of reach): the client
        # connects to it, and asks Slack for a new one itself on each reconnection (a `disconnect` envelope).
        self._socket.client.wss_uri = str(opened["url"])
        try:
            await asyncio.wait_for(self._socket.connect_async(), CONNECT_TIMEOUT)
        except TimeoutError:
            await self._socket.close_async()
            raise AdapterStartError("Slack: the Socket Mode connection did not open in time.", 1) from None

    async def _call(self, token_name: str, call: Callable[[], Awaitable[AsyncSlackResponse]]) -> AsyncSlackResponse:
        """A start-up call: a refused token is final (exit 2); Slack out of reach is retried with backoff."""
        url = self.settings.SLACK_API_URL
        delay, attempt = self.first_delay, 0
        while True:
            attempt += 1
            try:
                return await call()
            except SlackApiError as exc:
                error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
                if error in REFUSED_TOKEN:
                    raise AdapterStartError(
                        f"Slack refused {token_name} (invalid or revoked: {error}). {self.FIX}", 2
                    ) from None
                reason = f"Slack answered {error}"
                retry_after = exc.response.headers.get("Retry-After") if exc.response.headers else None
                if retry_after and str(retry_after).isdigit():
                    delay = max(delay, float(retry_after))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                reason = f"{type(exc).__name__}: {exc}"[:200]
            if self.max_attempts is not None and attempt >= self.max_attempts:
                raise AdapterStartError(f"Slack unreachable at {url} after {attempt} attempt(s) ({reason}).", 1)
            log.warning("Slack unreachable at %s (%s): attempt %d, next try in %g s%s", url, reason, attempt, delay,
                        self.WHERE)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def stop(self) -> None:
        """Stop receiving; let the refusals and Home refreshes under way finish, write the strangers' counts."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self.server is not None:
            await self.server.stop()
            self.server = None
        if self.ctx is not None:
            await home.settle(self.ctx)
            await access.close(self.ctx)

    def serve_businesses(self, opened: dict[int, Any]) -> None:
        """Serve every business of the deployment in this workspace (their Slack owners, bot/tenancy.py)."""
        self.businesses = opened

    @property
    def tenancy(self) -> Any:
        """The routing of several businesses (None with one); the runtime refreshes it every minute."""
        return self.ctx.tenancy if self.ctx is not None else None

    async def deliver_digest_of(self, business_id: int, data: DigestData) -> None:
        """Business `business_id`'s digest in the DM of each of its Slack owners."""
        ctx = self._started()
        tenancy = ctx.tenancy
        if tenancy is None or business_id == ctx.home.business_id:
            await self.deliver_digest(data)
            return
        presenter = tenancy.presenters.get(business_id)
        if presenter is None:
            return  # a business with a workspace of its own: its digest goes there (bot/slack/workspaces.py)
        token = ROUTED.set(presenter)
        try:
            for user_id in sorted(tenancy.owners_of(business_id)):
                await _digest_to(ctx, user_id, data, tenancy.head_of(user_id, business_id))
        finally:
            ROUTED.reset(token)

    async def deliver_digest(self, data: DigestData) -> None:
        """The digest in each owner's DM (header, then one card per reminder, registered); one owner's failure
        (channel_not_found, a user who left) does not stop the others."""
        ctx = self._started()
        tenancy = ctx.tenancy
        for user_id in sorted(ctx.owner_ids):
            head = tenancy.head_of(user_id, ctx.home.business_id) if tenancy is not None else None
            await _digest_to(ctx, user_id, data, head)

    async def on_outcome(self, result: DeliveryResult) -> None:
        """An e-mail's outcome: every Slack card of the reminder shows it; failures and unknowns are told to the
        owners in their DM."""
        ctx = self._started()
        served = self._served(ctx, result.business_id)
        if served is None:
            return  # a business not served in this workspace: its outcome is its own owners' business
        token = ROUTED.set(served[0])
        try:
            await self._show_outcome(ctx, result, served[1])
        finally:
            ROUTED.reset(token)

    @staticmethod
    def _served(ctx: SlackContext, business_id: int) -> tuple[Presenter, list[str]] | None:
        """The presenter and Slack owners of a business served in this workspace (None: not served here)."""
        if business_id == ctx.home.business_id:
            return ctx.home, sorted(ctx.owner_ids)
        tenancy = ctx.tenancy
        if tenancy is not None and business_id in tenancy.presenters:
            return tenancy.presenters[business_id], sorted(tenancy.owners_of(business_id))
        return None

    async def _show_outcome(self, ctx: SlackContext, result: DeliveryResult, owners: list[str]) -> None:
        """The outcome on the reminder's cards of the routed business, and told to `owners` when it failed."""
        tz = ctx.presenter.tz
        await actions.refresh_cards(ctx, result.reminder_id, note=lambda code: outcome_note(result, code, tz))
        if outcome_alert(result, "fr") is None:  # sent or deferred: the cards say it all
            return
        for user_id in owners:
            try:
                code = await ctx.lang(user_id)
                alert = outcome_alert(result, code) or ""
                await ctx.client.chat_postMessage(channel=await ctx.dm(user_id), **text_message(alert, code))
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("Slack owner %s not told about outbox %s: %s", user_id, result.outbox_id, _why(exc))

    async def on_smtp_state(self, business_id: int, down: bool) -> None:
        """The business's SMTP server stopped answering (down) or answers again: one message in each owner's DM,
        not one per e-mail waiting in the queue."""
        ctx = self._started()
        tenancy = getattr(ctx, "tenancy", None)
        if business_id == ctx.presenter.business_id:
            owners = sorted(ctx.owner_ids)
        elif tenancy is not None:
            owners = sorted(tenancy.owners_of(business_id))
        else:
            return  # another business's sender, not served in this workspace
        key = "outbox.smtp_down" if down else "outbox.smtp_up"
        for user_id in owners:
            try:
                code = await ctx.lang(user_id)
                await ctx.client.chat_postMessage(channel=await ctx.dm(user_id), **text_message(t(key, code), code))
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("Slack owner %s not told that SMTP is %s: %s", user_id, "down" if down else "back",
                            _why(exc))  # fmt: skip

    async def on_mail_received(self, ingested: Ingested) -> None:
        """A client's reply or a bounce kept by the mailbox watcher: its card in every owner's DM at once."""
        from bot.slack import replies

        await replies.notify(self._started(), ingested)

    async def on_mailbox_problem(self, problem: MailboxProblem) -> None:
        """The mailbox refused Relance's login: every owner is told once, in their DM."""
        from bot.slack import replies

        await replies.notify_problem(self._started(), problem)

    async def on_mail_received_of(self, business_id: int, ingested: Ingested) -> None:
        """Another business's mailbox kept a reply or a bounce: its card to that business's owners here only."""
        from bot.slack import replies

        await self._to_owners_of(business_id, lambda ctx, owners: replies.notify(ctx, ingested, owners))

    async def on_mailbox_problem_of(self, business_id: int, problem: MailboxProblem) -> None:
        """Another business's mailbox refused Relance's login: that business's owners here are told once."""
        from bot.slack import replies

        await self._to_owners_of(business_id, lambda ctx, owners: replies.notify_problem(ctx, problem, owners))

    async def _to_owners_of(self, business_id: int, send: Callable[[SlackContext, list[str]], Awaitable[None]]) -> None:
        """`send(ctx, owners)` with the business's presenter routed, when this workspace serves that business."""
        ctx = self._started()
        served = self._served(ctx, business_id)
        if served is None:
            return
        token = ROUTED.set(served[0])
        try:
            await send(ctx, served[1])
        finally:
            ROUTED.reset(token)

    def _started(self) -> SlackContext:
        if self.ctx is None:
            raise RuntimeError("the Slack adapter is not started")
        return self.ctx


async def _digest_to(ctx: SlackContext, user_id: str, data: DigestData, head: str | None) -> None:
    """The digest in one owner's DM, under `head` ("🏢 <name>" for an owner of several); a failure is logged (one
    owner who left the workspace does not stop the others)."""
    token = HEAD.set(head)
    try:
        await commands.post_digest(ctx, user_id, data)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Slack digest to %s failed: %s", user_id, _why(exc))
    finally:
        HEAD.reset(token)


def _why(exc: Exception) -> Any:
    """What went wrong, for a log line: Slack's error code, else the exception's type."""
    if isinstance(exc, SlackApiError):
        return exc.response.get("error")
    return type(exc).__name__
