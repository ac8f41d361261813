"""Owners only: every Slack request passes this gate before any listener; a stranger gets one refusal a day.

Slack delivers every request it sends the app (slash commands, button clicks, events) to this one global
middleware, after slack-bolt's own (signature, authorisation, the app's own events):

- Requests that are not for the app to answer are acknowledged and dropped, for everyone: messages posted by bots,
  and messages or files in channels other than a direct message with the app (the app answers in DMs only, as
  the Telegram bot answers in private chats only). So are requests that name no user (workspace events).
- An owner (SLACK_OWNER_IDS) goes on to the listeners.
- Anyone else is a stranger: no listener runs and nothing of the business is read. Their first request of the
  business day that can be answered (a slash command, a click, a message or a file sent to the app) gets one
  ephemeral "Ce bot est privé." and one `access_refused` entry in the evidence log (services.access.StrangerLog,
  which also remembers, after a restart, who was refused earlier that day); every other request is only counted,
  and the counts are written once a day and at shutdown (`close`).

A slash command's refusal is the acknowledgement itself (its text is shown to the stranger only); any other is
acknowledged at once and shown afterwards where the stranger acted: through a click's response_url, or with
chat.postEphemeral in the channel of their message or file. Strangers are
members of the owner's workspace, so there are at most a few hundred of them: unlike Telegram, no reply budget is
needed, and a rate-limited chat.postEphemeral never delays the owner's chat.update (Slack limits each method
separately).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from slack_bolt.response import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.i18n import t
from bot.logs import Summarized
from bot.slack.context import ROUTED
from bot.slack.head import HEAD
from services.access import StrangerLog

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_bolt.context.async_context import AsyncBoltContext

    from bot.presenter import Presenter
    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)
#: Refused or dropped requests: the first of each minute logged, the rest summed up (a flood is one line a minute).
refusals = Summarized(log)

_STATE = "access"
#: Shutdown waits this long for the refusals already under way.
CLOSE_TIMEOUT = 2.0


@dataclass
class Gate:
    """The strangers' side of one workspace: their log and the refusals being written and posted."""

    log: StrangerLog
    tasks: set[asyncio.Future[Any]] = field(default_factory=set)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Run `work` off the request's path; `close` waits for it."""
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


@dataclass(frozen=True)
class _Request:
    """What the gate needs to know of one request: who, and where a refusal could be shown."""

    user_id: str | None
    what: str  # "command", "action", "message", "file", "home", "view", ... (the evidence entry's "update")
    channel: str | None  # where chat.postEphemeral can show the refusal (None: it cannot be answered)
    ignored: bool  # not for the app to answer, whoever sent it
    response_url: str | None = None  # a click's: answers the clicker where they clicked, member or not


def install(app: AsyncApp, ctx: SlackContext) -> None:
    """Put the owners-only gate in front of every listener of `app`."""
    presenter = ctx.presenter
    gate = Gate(StrangerLog(presenter.engine, presenter.business_id, presenter.tz))
    ctx.state[_STATE] = gate

    async def owners_only(
        body: dict[str, Any], context: AsyncBoltContext, ack: AsyncAck, next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        request = _classify(body, context)
        if request.ignored:
            return await ack()
        ROUTED.set(None)
        HEAD.set(None)
        if ctx.team_id is not None and _team_of(body, context) != ctx.team_id:
            # A business's own workspace serves that workspace only: a request naming another team (or none) is
            # dropped before anything is read, whoever it claims to come from.
            refusals(logging.WARNING, "Slack request of another workspace dropped (expected %s)", ctx.team_id)
            return await ack()
        if ctx.is_owner(request.user_id):
            if ctx.tenancy is not None:  # several businesses: the listeners act on this owner's current one
                routed = await _route(ctx, request, body)
                ROUTED.set(routed)
                if routed is not None:  # "🏢 <name>" atop every answer for an owner of several (bot/slack/head.py)
                    HEAD.set(ctx.tenancy.head_of(request.user_id, routed.business_id))
            await next()
            return None
        if request.user_id is not None:
            refusal = await _stranger(ctx, gate, request)
            if refusal is not None and request.what == "command":
                return await ack(text=refusal)
        return await ack()

    app.middleware(owners_only)


async def _stranger(ctx: SlackContext, gate: Gate, request: _Request) -> str | None:
    """Count a stranger's request; for their first of the day, the refusal (written to the log first).

    Returns the refusal text when the acknowledgement must carry it (a slash command); any other refusal is
    posted off the request's path."""
    assert request.user_id is not None
    stranger = ctx.actor(request.user_id)  # "slack:U…": never mixed with Telegram's numeric ids in the log
    day = ctx.presenter.today()
    answerable = request.what == "command" or request.channel is not None or request.response_url is not None
    arrival = gate.log.arrive(day, stranger, lambda: answerable)
    if arrival.new_day:
        gate.spawn(asyncio.to_thread(gate.log.flush))
    if not arrival.refuse:
        return None
    if request.what == "command":
        # The acknowledgement is the refusal: write the entry now (a few milliseconds, once a day per stranger).
        outcome = await asyncio.to_thread(gate.log.refuse, day, stranger, request.what)
        return t("private", await ctx.lang(request.user_id)) if outcome.reply else None
    gate.spawn(_refuse(ctx, gate.log, day, stranger, request))
    return None


async def _refuse(ctx: SlackContext, strangers: StrangerLog, day: date, stranger: str, request: _Request) -> None:
    """Write the refusal's entry, then show it to the stranger alone (a click's response_url, else
    chat.postEphemeral)."""
    assert request.user_id is not None
    try:
        outcome = await asyncio.to_thread(strangers.refuse, day, stranger, request.what)
        if not outcome.reply:
            return
        text = t("private", await ctx.lang(request.user_id))
        if request.response_url is not None:
            await AsyncWebhookClient(request.response_url).send(text=text, response_type="ephemeral")
        elif request.channel is not None:
            await ctx.client.chat_postEphemeral(channel=request.channel, user=request.user_id, text=text)
    except Exception as exc:  # the stranger left the channel, Slack refused...: nothing more to do
        refusals(logging.INFO, "could not refuse a stranger: %s", type(exc).__name__)


async def _route(ctx: SlackContext, request: _Request, body: dict[str, Any]) -> Presenter | None:
    """The presenter of the business a request is about: a button on a card of another of the owner's businesses
    acts there and makes it their current one (as in Telegram); anything else is about their current business. The
    services then refuse any other business's ids."""
    tenancy, user_id = ctx.tenancy, request.user_id
    business_id = tenancy.current(user_id)
    ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts")
    if request.what == "action" and request.channel and ts and len(tenancy.businesses_of(user_id)) > 1:
        tapped = await asyncio.to_thread(tenancy.route, user_id, (str(request.channel), str(ts)))
        if tapped is not None and tapped != business_id:
            await asyncio.to_thread(tenancy.choose, user_id, tapped)
            business_id = tapped
    return tenancy.presenters.get(business_id) if business_id is not None else None


def _team_of(body: dict[str, Any], context: AsyncBoltContext) -> str | None:
    """The workspace a request comes from: bolt's reading of it, else the body's team (or team_id)."""
    team = context.team_id or body.get("team_id")
    if not team and isinstance(body.get("team"), dict):
        team = body["team"].get("id")
    return str(team) if team else None


def _classify(body: dict[str, Any], context: AsyncBoltContext) -> _Request:
    """Who sent a request, what it is, where it could be answered, and whether the app ignores it altogether."""
    user_id = context.user_id
    if "command" in body:
        return _Request(user_id, "command", None, ignored=False)
    kind = body.get("type")
    if kind == "block_actions":
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        return _Request(user_id, "action", channel, ignored=False, response_url=body.get("response_url"))
    if kind != "event_callback":
        return _Request(user_id, "view" if kind and "view" in kind else str(kind or "other"), None, ignored=False)
    event = body.get("event") or {}
    etype = event.get("type")
    if etype == "message":
        if event.get("bot_id") or event.get("subtype") == "bot_message":
            return _Request(user_id, "message", None, ignored=True)
        in_dm = event.get("channel_type") == "im"
        answerable = in_dm and event.get("subtype") in (None, "file_share")
        return _Request(user_id, "message", event.get("channel") if answerable else None, ignored=not in_dm)
    if etype == "file_shared":
        channel = event.get("channel_id")
        in_dm = isinstance(channel, str) and channel.startswith("D")
        return _Request(user_id, "file", channel if in_dm else None, ignored=not in_dm)
    if etype == "app_home_opened":
        return _Request(user_id, "home", None, ignored=False)
    return _Request(user_id, str(etype or "event"), None, ignored=False)


async def close(ctx: SlackContext) -> None:
    """At shutdown: let the refusals under way finish (briefly), then write the counts of today and before."""
    gate = ctx.state.get(_STATE)
    if not isinstance(gate, Gate):
        return
    if gate.tasks:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*gate.tasks, return_exceptions=True), CLOSE_TIMEOUT)
    await asyncio.to_thread(gate.log.flush, final=True)


async def settle(ctx: SlackContext) -> None:
    """Wait until the refusals under way are written and posted (tests)."""
    gate = ctx.state.get(_STATE)
    while isinstance(gate, Gate) and gate.tasks:
        await asyncio.gather(*list(gate.tasks), return_exceptions=True)
