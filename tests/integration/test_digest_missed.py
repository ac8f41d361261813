"""A morning digest that could not go out (claimed, never delivered: cut off at the end of the sending window, or
stopped while it went out) is said atop the next one, with its pending reminders; a delivered one is not."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.presenter import render_digest
from bot.runtime import Runtime
from bot.settings import Settings
from services.core import DigestData, Services
from storage.db import make_engine, write_session
from storage.models import Business
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.factories import make_client, make_invoice

DAY = date(2026, 11, 24)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A fresh migrated SQLite database."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """Telegram configured (never reached), today fixed."""
    return bot_settings(sqlite_url, tmp_path, DAY)


def _core(engine: Engine, settings: Settings, today: date) -> Services:
    core = make_services(engine, settings, RecordingDelivery(), today=today).core
    return core


def _seed(engine: Engine, core: Services) -> None:
    with write_session(engine) as s:
        business = s.get(Business, core.business_id)
        assert business is not None
        client = make_client(s, business, name="Boulangerie Martin", emails="compta@martin.example")
        make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")


def test_an_undelivered_digest_is_reported_in_the_next_one_with_its_reminders(
    engine: Engine, settings: Settings
) -> None:
    """Claimed on Tuesday but never delivered: Wednesday's digest says so (French and English) and still shows the
    reminder; once Wednesday's is delivered, Thursday's says nothing."""
    first = _core(engine, settings, DAY)
    _seed(engine, first)
    tuesday = first.digest(claim=True)
    assert tuesday is not None and tuesday.missed is None and len(tuesday.views) == 1
    wednesday = _core(engine, settings, DAY + timedelta(days=1)).digest(claim=True)
    assert wednesday is not None and wednesday.missed == DAY
    header, cards = render_digest(wednesday, "fr")
    assert "Le résumé d'hier n'a pas pu être envoyé" in header
    assert [rid for rid, _ in cards] == [v.reminder_id for v in tuesday.views]  # still pending, still shown
    assert "Yesterday's digest could not be sent" in render_digest(wednesday, "en")[0]
    _core(engine, settings, DAY + timedelta(days=1)).digest_delivered(wednesday.day)
    thursday = _core(engine, settings, DAY + timedelta(days=2)).digest(claim=True)
    assert thursday is not None and thursday.missed is None
    assert "n'a pas pu être envoyé" not in render_digest(thursday, "fr")[0]


def test_a_digest_missed_days_ago_names_its_day(engine: Engine, settings: Settings) -> None:
    """The last digest, three days back, never went out: the next one names its date instead of « hier »."""
    _core(engine, settings, DAY).digest(claim=True)
    later = _core(engine, settings, DAY + timedelta(days=3)).digest(claim=True)
    assert later is not None and later.missed == DAY
    header = render_digest(later, "fr")[0]
    assert "Le résumé du" in header and "n'a pas pu être envoyé" in header


async def test_a_delivery_cut_off_at_the_end_of_the_window_is_not_recorded_as_delivered(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter still sending when the sending window closes is stopped there: the digest stays undelivered and the
    next day's reports it; an adapter that finishes in time gets it recorded as delivered."""
    core = _core(engine, settings, DAY)
    _seed(engine, core)
    runtime = Runtime(settings, core, [])
    data = core.digest(claim=True)
    assert data is not None
    monkeypatch.setattr(core, "digest_deadline", lambda day: datetime.now(UTC) + timedelta(seconds=0.2))
    reached: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(5)  # the fan-out still waiting for its turns
        reached.append("slow")

    async def quick() -> None:
        reached.append("quick")

    assert await runtime.deliver_in_window(core, data, [("slow", slow), ("quick", quick)]) is False
    assert reached == ["quick"]
    nxt = _core(engine, settings, DAY + timedelta(days=1))
    following: DigestData | None = nxt.digest(claim=True)
    assert following is not None and following.missed == DAY
    monkeypatch.setattr(nxt, "digest_deadline", lambda day: datetime.now(UTC) + timedelta(seconds=5))
    assert await runtime.deliver_in_window(nxt, following, [("quick", quick)]) is True
    after = _core(engine, settings, DAY + timedelta(days=2)).digest(claim=True)
    assert after is not None and after.missed is None
