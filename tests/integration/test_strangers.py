"""Strangers and other chats, in-process: one refusal and one entry per stranger and day; groups are ignored."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.handlers import access
from services.access import StrangerLog
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, Reminder
from tests.bot_harness import OWNER, STRANGER, BotHarness, RecordingDelivery, bot_settings, start_harness, stop_harness
from tests.factories import make_client, make_invoice

TODAY = date(2026, 11, 24)
PRIVATE = "Ce bot est privé."
GROUP = -1001234567890
_ids = itertools.count(50_000)


def _entries(engine: Engine, kind: str) -> list[dict[str, Any]]:
    """The evidence entries of one kind: actor and decoded payload."""
    with read_session(engine) as s:
        rows = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == kind).order_by(EvidenceEntry.seq)).all()  # type: ignore[arg-type]
    return [{"actor": e.actor, **json.loads(e.payload)} for e in rows]


def _count_entries(engine: Engine) -> int:
    with read_session(engine) as s:
        return len(s.exec(select(EvidenceEntry)).all())


def _seed(bot: BotHarness) -> None:
    """One client with an invoice due 10/11/2026: reminder 1 is due today."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Client SAS")
        make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Marie", "language_code": "fr"}


def _group_chat(kind: str = "supergroup") -> dict[str, Any]:
    return {"id": GROUP, "type": kind, "title": "Compta"}


def _message(chat: dict[str, Any], user_id: int, text: str) -> dict[str, Any]:
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
    return {
        "message_id": next(_ids),
        "date": int(datetime.now(UTC).timestamp()),
        "chat": chat,
        "from": _user(user_id),
        "text": text,
        "entities": entities,
    }


def _set_day(bot: BotHarness, monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    monkeypatch.setattr(bot.services, "today", lambda: day)


async def test_a_stranger_gets_one_refusal_and_one_entry_a_day(bot: BotHarness) -> None:
    """Six updates of one stranger on one day: one "Ce bot est privé.", one access_refused entry, nothing else."""
    for text in ("/start", "/status", "/digest", "bonjour", "/payee F-2026-001"):
        await bot.stranger.send(text)
    await bot.stranger.tap("r1:send:1:1")
    assert [(c.method, c.params.get("text")) for c in bot.api.calls] == [("sendMessage", PRIVATE)]
    assert [(e["actor"], e["user_id"], e["day"]) for e in _entries(bot.engine, "access_refused")] == [
        (f"stranger:{STRANGER}", STRANGER, TODAY.isoformat())
    ]
    assert _entries(bot.engine, "access_refused_count") == []


async def test_a_stranger_button_press_gets_the_refusal_as_an_alert(bot: BotHarness) -> None:
    """When a stranger's first update is a button press, the refusal is the press's alert, in their language."""
    bot.stranger.language = "en"
    await bot.stranger.tap("r1:send:1:1")
    (call,) = bot.api.calls
    assert call.method == "answerCallbackQuery"
    assert call.params["text"] == "This bot is private." and call.params["show_alert"] is True


async def test_the_next_business_day_gets_one_refusal_again_and_the_count(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day 2: one more refusal and entry; day 1's ignored updates are written as one access_refused_count entry."""
    for _ in range(4):
        await bot.stranger.send("bonjour")
    _set_day(bot, monkeypatch, date(2026, 11, 25))
    await bot.stranger.send("bonjour")
    await bot.stranger.send("encore")
    assert bot.api.texts() == [PRIVATE, PRIVATE]
    refused = _entries(bot.engine, "access_refused")
    assert [e["day"] for e in refused] == ["2026-11-24", "2026-11-25"]
    (count,) = _entries(bot.engine, "access_refused_count")
    assert count["day"] == "2026-11-24" and count["ignored"] == {str(STRANGER): 3}
    assert count["total"] == 3 and count["others"] == 0 and count["capped"] is False and count["complete"] is True


async def test_after_a_restart_a_stranger_refused_today_gets_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second process the same day reads the log once: no second refusal, no second entry; counts at shutdown."""
    settings = bot_settings(str(engine.url.render_as_string(hide_password=False)), tmp_path, TODAY)
    first = await start_harness(engine, settings, RecordingDelivery())
    try:
        await first.stranger.send("/start")
        other = first.stranger.__class__(first.app, 777)
        await other.send("/start")
        assert first.api.texts() == [PRIVATE, PRIVATE]
        await access.close(first.app)
    finally:
        await stop_harness(first)
    second = await start_harness(engine, settings, RecordingDelivery())
    try:
        await second.stranger.send("/start")
        await second.stranger.send("/aide")
        newcomer = second.stranger.__class__(second.app, 888)
        await newcomer.send("/start")
        assert second.api.texts() == [PRIVATE]  # the newcomer only
        assert [e["user_id"] for e in _entries(engine, "access_refused")] == [STRANGER, 777, 888]
        await access.close(second.app)
    finally:
        await stop_harness(second)
    (count,) = _entries(engine, "access_refused_count")
    assert count["day"] == TODAY.isoformat() and count["ignored"] == {str(STRANGER): 2}
    assert count["complete"] is False  # written at shutdown, the day was not over


async def test_owner_messages_in_groups_and_channels_are_ignored(bot: BotHarness) -> None:
    """An owner's command in a group or supergroup, a channel post, a membership change: no call, no entry."""
    _seed(bot)
    before = _count_entries(bot.engine)
    await bot.owner.feed({"message": _message(_group_chat("group"), OWNER, "/digest")})
    await bot.owner.feed({"message": _message(_group_chat(), OWNER, "/status")})
    await bot.owner.feed({"message": _message(_group_chat(), STRANGER, "/status")})
    channel = {"id": -100777, "type": "channel", "title": "Annonces"}
    post = {"message_id": next(_ids), "date": int(datetime.now(UTC).timestamp()), "chat": channel, "text": "/digest"}
    await bot.owner.feed({"channel_post": post})
    member = {"user": {"id": 999, "is_bot": True, "first_name": "Relance"}, "status": "member"}
    await bot.owner.feed(
        {
            "my_chat_member": {
                "chat": _group_chat(),
                "from": _user(OWNER),
                "date": int(datetime.now(UTC).timestamp()),
                "old_chat_member": {**member, "status": "left"},
                "new_chat_member": member,
            }
        }
    )
    assert bot.api.calls == []
    assert _count_entries(bot.engine) == before
    await bot.owner.send("/status")  # the same owner in the private chat is answered
    assert bot.api.of("sendMessage")


async def test_a_forged_button_in_a_group_does_nothing(bot: BotHarness) -> None:
    """A real card's Envoyer data tapped on a group message, even by the owner: not answered, reminder untouched."""
    _seed(bot)
    await bot.owner.send("/digest")
    (card,) = bot.cards()
    data = next(b["callback_data"] for b in bot.buttons(card) if b["callback_data"].split(":")[1] == "send")
    rid = int(data.split(":")[2])
    with read_session(bot.engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        state, version = reminder.state, reminder.version
    bot.api.clear()
    before = _count_entries(bot.engine)
    for user_id in (OWNER, STRANGER):
        message = {
            "message_id": 7,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": _group_chat(),
            "from": {"id": 999, "is_bot": True, "first_name": "Relance"},
            "text": "card",
        }
        query = {"id": str(next(_ids)), "from": _user(user_id), "chat_instance": "g", "data": data, "message": message}
        await bot.owner.feed({"callback_query": query})
    assert bot.api.calls == []
    assert bot.delivery.sent == []
    assert _count_entries(bot.engine) == before
    with read_session(bot.engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        assert (reminder.state, reminder.version) == (state, version)


async def test_refusals_beyond_the_budget_are_counted_not_sent(bot: BotHarness) -> None:
    """With the refusal budget spent, a new stranger gets no reply and no entry; a later update, budget back, does."""
    door = access.door_of(bot.app)
    now = [0.0]
    door.budget = access.Budget(1.0, 1, clock=lambda: now[0])
    await bot.stranger.send("/start")  # takes the only token
    late = bot.stranger.__class__(bot.app, 4242)
    await late.send("/start")
    await late.send("/start")
    assert bot.api.texts() == [PRIVATE]
    assert [e["user_id"] for e in _entries(bot.engine, "access_refused")] == [STRANGER]
    now[0] = 1.5  # a token is back
    await late.send("/start")
    assert bot.api.texts() == [PRIVATE, PRIVATE]
    assert [e["user_id"] for e in _entries(bot.engine, "access_refused")] == [STRANGER, 4242]
    await access.close(bot.app)
    (count,) = _entries(bot.engine, "access_refused_count")
    assert count["ignored"] == {"4242": 2}


def test_strangers_beyond_the_cap_are_counted_together(engine: Engine) -> None:
    """Past the cap of strangers tracked per day, new strangers are not refused and are counted as "others"."""
    with write_session(engine) as s:
        business = Business(slug="cap", name="Cap SARL", owner_chat_ids="1")
        s.add(business)
        s.flush()
        assert business.id is not None
        business_id = business.id
    from zoneinfo import ZoneInfo

    strangers = StrangerLog(engine, business_id, ZoneInfo("Europe/Paris"), tracked_per_day=2)
    yes = lambda: True  # noqa: E731
    assert [strangers.arrive(TODAY, uid, yes).refuse for uid in (1, 2, 3, 1, 4)] == [True, True, False, False, False]
    assert strangers.refuse(TODAY, 1, "message").recorded
    assert strangers.flush(final=True) == 1
    (count,) = _entries(engine, "access_refused_count")
    assert count["ignored"] == {"1": 1} and count["others"] == 2 and count["capped"] is True
