"""The App Home tab: the /status dashboard (text and aging chart) for an owner, published when they open the tab and
refreshed after every action. Reading it writes nothing to the database.

Refreshes of one owner never overlap: one asked while another runs is done once, after it. After an action the
refresh waits REFRESH_DELAY, so a burst of clicks costs one views.publish, and only owners whose tab shows our view
(opened, or published, since the start) are refreshed: the others get the figures when they open it. The chart is
drawn and uploaded once per set of figures and language, then reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.chart import aging_chart_png
from bot.i18n import t
from bot.reports import render_status
from bot.slack.blocks import MAX_VIEW_BLOCKS, text_blocks
from bot.slack.mrkdwn import to_mrkdwn

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

_STATE = "home"
#: Charts remembered (one per language and set of figures): enough for both languages and a few recent states.
_CHARTS_KEPT = 8
#: How long after an action its Home refresh waits (the clicks of a burst share one refresh).
REFRESH_DELAY = 1.0

#: A chart's identity: the language and the aging buckets' labels and amounts.
ChartKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Dashboard:
    """The /status dashboard in one language: its text (catalogue HTML) and the aging chart's figures."""

    html: str
    lang: str
    buckets: list[tuple[str, Decimal]]

    @property
    def chart_key(self) -> ChartKey:
        """What the chart shows: two dashboards with the same key have the same picture."""
        return self.lang, tuple((label, str(amount)) for label, amount in self.buckets)

    def chart(self) -> bytes:
        """The aging chart (PNG), drawn now."""
        return aging_chart_png(self.buckets, lang=self.lang)


@dataclass
class _Home:
    """One workspace's home-tab refreshes: the one running per owner, who asked again meanwhile, uploaded charts."""

    running: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    again: set[str] = field(default_factory=set)
    viewers: set[str] = field(default_factory=set)  # owners whose tab shows our view (opened or published)
    waiting: set[str] = field(default_factory=set)  # owners with a refresh after REFRESH_DELAY to come
    charts: OrderedDict[ChartKey, str] = field(default_factory=OrderedDict)  # figures -> Slack file id
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


def _home(ctx: SlackContext) -> _Home:
    state = ctx.state.get(_STATE)
    if not isinstance(state, _Home):
        state = ctx.state[_STATE] = _Home()
    return state


async def dashboard(ctx: SlackContext, lang: str) -> Dashboard:
    """Today's figures as /status shows them (read-only)."""
    summary = await asyncio.to_thread(ctx.presenter.status)
    return Dashboard(render_status(summary, lang), lang, [(b.label, b.amount) for b in summary.aging])


async def upload(
    ctx: SlackContext, channel: str | None, data: bytes, filename: str, title: str, comment: str | None = None
) -> str | None:
    """Upload a file into `channel` (or shared in no channel, for an image block) with an optional mrkdwn comment;
    returns its file id."""
    answer = await ctx.client.files_upload_v2(
        channel=channel, file=data, filename=filename, title=title, initial_comment=comment,
        alt_txt=title if filename.endswith(".png") else None,
    )  # fmt: skip
    found = answer.get("files") or [answer.get("file") or {}]
    file_id = found[0].get("id") if found else None
    return str(file_id) if file_id else None


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Publish the dashboard when an owner opens the app's Home tab."""

    async def on_home_opened(event: dict[str, Any]) -> None:
        """The Home tab (not the Messages tab) was opened: show the figures as they are now."""
        if event.get("tab", "home") == "home" and event.get("user"):
            await refresh(ctx, str(event["user"]))

    app.event("app_home_opened")(on_home_opened)


async def refresh(ctx: SlackContext, user_id: str) -> None:
    """Publish the dashboard in an owner's Home tab; never raises (a failure is logged).

    While a refresh of the same owner runs, this one is folded into a single further refresh after it, and waits
    for it."""
    home = _home(ctx)
    running = home.running.get(user_id)
    if running is not None:
        home.again.add(user_id)
        await asyncio.shield(running)
        return
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    home.running[user_id] = done
    try:
        while True:
            home.again.discard(user_id)
            try:
                await _publish(ctx, home, user_id)
            except Exception as exc:  # the home tab is a view: a failure must never reach the action that asked
                log.warning("home tab of %s not refreshed: %s", user_id, exc)
            if user_id not in home.again:
                break
    finally:
        del home.running[user_id]
        done.set_result(None)


def refresh_later(ctx: SlackContext, user_id: str) -> None:
    """Refresh an owner's Home tab in the background, REFRESH_DELAY after an action (the actions meanwhile share
    it); nothing for an owner whose tab does not show our view yet."""
    home = _home(ctx)
    if user_id not in home.viewers or user_id in home.waiting:
        return
    home.waiting.add(user_id)

    async def later() -> None:
        await asyncio.sleep(REFRESH_DELAY)
        home.waiting.discard(user_id)
        await refresh(ctx, user_id)

    task = asyncio.ensure_future(later())
    home.tasks.add(task)
    task.add_done_callback(home.tasks.discard)


async def settle(ctx: SlackContext) -> None:
    """Wait until the background refreshes are done (tests, shutdown)."""
    home = _home(ctx)
    while home.tasks:
        await asyncio.gather(*list(home.tasks), return_exceptions=True)


async def _publish(ctx: SlackContext, home: _Home, user_id: str) -> None:
    """views.publish of the dashboard: its text, then the chart (an uploaded image, reused while unchanged)."""
    lang = await ctx.lang(user_id)
    board = await dashboard(ctx, lang)
    caption = t("status.chart_caption", lang)
    blocks = text_blocks(board.html, lang, prefix="home", limit=MAX_VIEW_BLOCKS - 2)
    blocks.append(
        {"type": "context", "block_id": "home-hint",
         "elements": [{"type": "mrkdwn", "text": to_mrkdwn(t("slack.home.hint", lang))}]}
    )  # fmt: skip
    file_id = await _chart_file(ctx, home, board, caption)
    if file_id is not None:
        blocks.append(
            {"type": "image", "block_id": "home-chart", "slack_file": {"id": file_id}, "alt_text": caption,
             "title": {"type": "plain_text", "text": caption}}
        )  # fmt: skip
    await ctx.client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks})
    home.viewers.add(user_id)


async def _chart_file(ctx: SlackContext, home: _Home, board: Dashboard, caption: str) -> str | None:
    """The Slack file id of the dashboard's chart: drawn and uploaded once per set of figures (shared in no
    channel), then reused; None on failure."""
    key = board.chart_key
    file_id = home.charts.get(key)
    if file_id is not None:
        home.charts.move_to_end(key)
        return file_id
    try:
        chart = await asyncio.to_thread(board.chart)
        file_id = await upload(ctx, None, chart, "retards.png", caption)
    except Exception as exc:  # the figures matter more than the picture: publish them without it
        log.warning("home chart not uploaded: %s", exc)
        return None
    if file_id is not None:
        home.charts[key] = file_id
        while len(home.charts) > _CHARTS_KEPT:
            home.charts.popitem(last=False)
    return file_id
