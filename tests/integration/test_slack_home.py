"""The App Home tab through the Slack emulator: the /status dashboard with its chart, refreshed without writing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.slack import home
from tests.integration.slack_helpers import OWNER, database_digest, evidence, seed, slack_app


async def test_home_opened_publishes_the_dashboard_with_the_chart(sqlite_url: str, tmp_path: Path) -> None:
    """app_home_opened: a home view with the totals and an image block showing the uploaded aging chart."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00", "345.67")
        await h.slack.aio.open_home(OWNER)
        view = await h.slack.aio.wait_home(OWNER, "Tableau de bord")
        assert "Encours : *1\u00a0545,67\u00a0€*" in view.plain and "En retard : *1\u00a0545,67\u00a0€*" in view.plain
        assert len(view.blocks) <= 100
        (image,) = [b for b in view.blocks if b["type"] == "image"]
        chart = h.slack.files[image["slack_file"]["id"]]
        assert chart.content.startswith(b"\x89PNG")
        assert chart.channels == []  # uploaded for the view, shared in no channel


async def test_reading_the_home_tab_writes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    """Opening and refreshing the home tab leaves every table as it was (no evidence entry, no card, nothing)."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        before, entries = database_digest(h.engine), len(evidence(h.engine))
        await h.slack.aio.open_home(OWNER)
        await h.slack.aio.wait_home(OWNER, "Tableau de bord")
        await home.refresh(h.ctx, OWNER)
        assert len(h.slack.calls_of("views.publish")) == 2
        assert database_digest(h.engine) == before and len(evidence(h.engine)) == entries


async def test_refresh_shows_new_figures_and_reuses_an_unchanged_chart(sqlite_url: str, tmp_path: Path) -> None:
    """A refresh after a payment shows the new totals; refreshes with the same figures upload no new chart."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        await home.refresh(h.ctx, OWNER)
        await home.refresh(h.ctx, OWNER)
        assert len(h.slack.calls_of("files.completeUploadExternal")) == 1
        await h.slack.aio.slash(OWNER, "payee F-2026-001 200")
        await h.slack.aio.wait_home(OWNER, "Encours : *1\u00a0000,00\u00a0€*")
        await h.settle()
        assert len(h.slack.calls_of("files.completeUploadExternal")) == 2


async def test_concurrent_refreshes_are_folded_and_failures_do_not_propagate(sqlite_url: str, tmp_path: Path) -> None:
    """Ten refreshes asked at once publish at most twice; a failing views.publish is logged, not raised."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await asyncio.gather(*(home.refresh(h.ctx, OWNER) for _ in range(10)))
        assert 1 <= len(h.slack.calls_of("views.publish")) <= 2
        h.slack.fail_next("views.publish", "internal_error")
        await home.refresh(h.ctx, OWNER)  # does not raise
        assert h.slack.calls_of("views.publish")[-1].error == "internal_error"


async def test_after_actions_only_a_shown_home_tab_is_refreshed_once_per_burst(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Actions refresh nothing for an owner who never opened the tab; once it shows our view, five actions in a
    burst cost one views.publish, REFRESH_DELAY later, with the figures after the last one."""
    monkeypatch.setattr(home, "REFRESH_DELAY", 0.2)
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        home.refresh_later(h.ctx, OWNER)
        await home.settle(h.ctx)
        assert h.slack.calls_of("views.publish") == []
        await home.refresh(h.ctx, OWNER)  # as when the owner opens the tab
        assert len(h.slack.calls_of("views.publish")) == 1
        for _ in range(5):
            home.refresh_later(h.ctx, OWNER)
        await home.settle(h.ctx)
        assert len(h.slack.calls_of("views.publish")) == 2
