"""The digest with a controllable clock (paused across 08:30, started at 23:59, week-ends, DST days) and the
uncertain send: ✅ Bien parti, the digest and /status listing it (SQLite, in-process bot)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.runtime import Runtime
from dunning.states import ReminderState
from services.context import Clock
from services.outbox import queue_reminder
from storage.db import read_session, write_session
from storage.evidence import record
from storage.models import Business, DigestRun, EvidenceEntry, Outbox, Reminder
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice

PARIS = ZoneInfo("Europe/Paris")


class Wall:
    """A wall clock the test moves (local Paris time in, aware UTC out)."""

    def __init__(self, bot: BotHarness, local: datetime) -> None:
        self.now = local.replace(tzinfo=PARIS).astimezone(UTC)
        bot.services.core.ctx.clock = Clock(PARIS, None, wall=lambda: self.now)

    def set(self, local: datetime) -> None:
        self.now = local.replace(tzinfo=PARIS).astimezone(UTC)


def _seed(bot: BotHarness, due: date = date(2026, 11, 10)) -> None:
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Client 0 SAS")
        make_invoice(s, client, due=due, amount="1200.00", number="F-2026-001")


def _headers(bot: BotHarness) -> list[str]:
    return [str(c.params["text"]) for c in bot.api.of("sendMessage") if "Empreinte" in str(c.params["text"])]


def _runs(bot: BotHarness) -> list[date]:
    with read_session(bot.engine) as s:
        return [r.day for r in s.exec(select(DigestRun).order_by(col(DigestRun.day))).all()]


async def _tick(bot: BotHarness) -> None:
    """The runtime's check (at start and every minute), with the Telegram adapter as the only one."""
    await Runtime(bot.adapter.settings, bot.services.core, [bot.adapter]).check_digest()


def _uncertain(bot: BotHarness, *, reply: str = "connection lost after DATA") -> int:
    """Queue today's reminder and leave its e-mail in `unknown`, as the sender does after an uncertain answer."""
    rid = bot.services.digest(claim=False).views[0].reminder_id
    with write_session(bot.engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None
        from tests.bot_harness import RecordingDelivery

        draft = bot.services.core._draft(s, bot.services.core.pending()[0], bot.services.today())
        queued = queue_reminder(s, reminder_id=rid, expected_version=reminder.version, draft=draft,
                                mail_from=RecordingDelivery.default_sender, reply_to=None,
                                recipients=["compta@client.example"], actor="owner:111",
                                not_before=bot.services.now())  # fmt: skip
        outbox = s.get(Outbox, queued.id)
        assert outbox is not None
        outbox.state = "unknown"
        outbox.attempts = 1
        s.add(outbox)
        reminder.state = ReminderState.SENDING
        reminder.version += 1
        s.add(reminder)
        record(s, actor="system", kind="smtp_unknown", business_id=reminder.business_id, reminder_id=rid,
               payload={"outbox_id": outbox.id, "reply": reply})  # fmt: skip
    return rid


async def test_paused_across_the_digest_time_still_sends_once(bot: BotHarness) -> None:
    """Ticks at 08:29 send nothing; the process asleep until 08:47 sends the day's digest then, and only once."""
    _seed(bot)
    wall = Wall(bot, datetime(2026, 11, 24, 8, 29))
    await _tick(bot)
    assert _headers(bot) == [] and _runs(bot) == []
    wall.set(datetime(2026, 11, 24, 8, 47, 12))
    for _ in range(3):
        await _tick(bot)
    assert len(_headers(bot)) == 1 and _runs(bot) == [date(2026, 11, 24)]
    assert len(bot.cards()) == 1


async def test_started_at_23_59_sends_today_not_tomorrow_at_midnight(bot: BotHarness) -> None:
    """Started at 23:59 on Tuesday: Tuesday's digest at once; at 00:00:30 nothing; Wednesday's at 08:30."""
    _seed(bot)
    wall = Wall(bot, datetime(2026, 11, 24, 23, 59, 57))
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 24)]
    wall.set(datetime(2026, 11, 25, 0, 0, 30))
    await _tick(bot)
    wall.set(datetime(2026, 11, 25, 8, 29, 59))
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 24)]
    wall.set(datetime(2026, 11, 25, 8, 30, 1))
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 24), date(2026, 11, 25)]


async def test_digest_time_is_the_business_one(bot: BotHarness) -> None:
    """After /parametres heure 07:15, the digest goes at 07:15 (not before), with no new job needed."""
    _seed(bot)
    wall = Wall(bot, datetime(2026, 11, 24, 7, 14, 59))
    await bot.owner.send("/parametres heure 07:15")
    await _tick(bot)
    assert _runs(bot) == []
    wall.set(datetime(2026, 11, 24, 7, 15))
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 24)]


async def test_week_end_without_and_with_an_uncertain_send(bot: BotHarness) -> None:
    """Saturday: no digest when nothing needs the owner; with an uncertain send, one digest listing it."""
    _seed(bot)
    wall = Wall(bot, datetime(2026, 11, 27, 9, 0))  # Friday: the reminder is drafted and its e-mail goes uncertain
    await _tick(bot)
    rid = _uncertain(bot)
    wall.set(datetime(2026, 11, 28, 10, 0))
    bot.api.clear()
    with write_session(bot.engine) as s:  # first Saturday: pretend the owner already decided
        outbox = s.exec(select(Outbox)).one()
        outbox.state = "sent"
        s.add(outbox)
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 27)]
    with write_session(bot.engine) as s:
        outbox = s.exec(select(Outbox)).one()
        outbox.state = "unknown"
        s.add(outbox)
    await _tick(bot)
    await _tick(bot)
    assert _runs(bot) == [date(2026, 11, 27), date(2026, 11, 28)]
    (header,) = _headers(bot)
    assert "1 envoi(s) au statut incertain" in header
    (card,) = bot.cards()
    assert [b["callback_data"].split(":")[1] for b in bot.buttons(card)] == ["ok", "resend"]
    assert int(bot.buttons(card)[0]["callback_data"].split(":")[2]) == rid


async def test_dst_sunday_with_an_uncertain_send(bot: BotHarness) -> None:
    """25/10/2026 (clocks go back): with an uncertain send, the Sunday digest goes at 08:30 Paris = 07:30 UTC."""
    _seed(bot, due=date(2026, 10, 1))
    wall = Wall(bot, datetime(2026, 10, 23, 9, 0))
    await _tick(bot)
    _uncertain(bot)
    wall.now = datetime(2026, 10, 25, 7, 29, tzinfo=UTC)
    await _tick(bot)
    assert _runs(bot) == [date(2026, 10, 23)]
    wall.now = datetime(2026, 10, 25, 7, 30, tzinfo=UTC)
    await _tick(bot)
    assert _runs(bot) == [date(2026, 10, 23), date(2026, 10, 25)]


async def test_bien_parti_counts_the_reminder_sent_when_it_left_and_the_ladder_goes_on(bot: BotHarness) -> None:
    """✅ Bien parti: outbox sent, reminder sent at the uncertain answer's time, evidence with the owner; the
    /status action disappears; a second tap and Renvoyer are stale; a later step comes for the client."""
    _seed(bot)
    wall = Wall(bot, datetime(2026, 11, 24, 9, 0))
    await _tick(bot)
    rid = _uncertain(bot)
    status = bot.services.status()
    assert status.next_actions[0].kind == "uncertain_send"
    assert bot.services.pending() == []  # frozen: no other reminder for this client meanwhile
    with read_session(bot.engine) as s:
        version = s.get(Reminder, rid).version  # type: ignore[union-attr]
        unknown_at = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "smtp_unknown")).one().created_at
    wall.set(datetime(2026, 11, 26, 10, 0))  # the owner checks two days later
    bot.api.clear()
    await bot.owner.tap(f"r1:ok:{rid}:{version}", 77)
    edit = bot.api.of("editMessageText")[0]  # the tapped card (then the digest's card of the same reminder)
    left = unknown_at.astimezone(PARIS)
    assert f"Envoyé le {left:%d/%m} à {left:%H:%M}" in edit.params["text"] and not bot.buttons(edit)
    assert "la suite est programmée" in bot.api.of("answerCallbackQuery")[0].params["text"]
    with read_session(bot.engine) as s:
        reminder = s.get(Reminder, rid)
        assert reminder is not None and reminder.state == ReminderState.SENT
        assert reminder.sent_at == unknown_at
        outbox = s.exec(select(Outbox)).one()
        assert outbox.state == "sent" and outbox.sent_at == unknown_at
        entry = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "smtp_confirmed_by_owner")).one()
        assert entry.actor == "owner:111" and json.loads(entry.payload)["left_at_basis"] == "smtp_conversation"
    assert all(a.kind != "uncertain_send" for a in bot.services.status().next_actions)
    assert bot.services.confirm_sent(rid, version, actor="owner:111", lang="fr").status == "stale"
    assert (await bot.services.release(rid, version, actor="owner:111", lang="fr", resend=True)).status == "stale"
    with read_session(bot.engine) as s:
        assert s.exec(select(Outbox)).one().state == "sent"
    # The ladder goes on from the day it left: a month later the client's next step is proposed.
    wall.set(datetime.combine(left.date() + timedelta(days=30), datetime.min.time()).replace(hour=9))
    views = bot.services.digest(claim=False).views
    assert len(views) == 1 and views[0].reminder_id != rid
    with read_session(bot.engine) as s:
        assert views[0].step != s.get(Reminder, rid).step  # type: ignore[union-attr]


async def test_interrupted_sender_counts_from_the_earliest_claim(bot: BotHarness) -> None:
    """A sender that stopped mid-way gives no answer: the reminder counts as sent when the row was due to leave."""
    _seed(bot)
    Wall(bot, datetime(2026, 11, 24, 9, 0))
    await _tick(bot)
    rid = _uncertain(bot, reply="sender stopped while sending: outcome unknown")
    with read_session(bot.engine) as s:
        version = s.get(Reminder, rid).version  # type: ignore[union-attr]
        not_before = s.exec(select(Outbox)).one().not_before
        queued_at = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "email_queued")).one().created_at
    assert bot.services.confirm_sent(rid, version, actor="owner:111", lang="fr").ok
    with read_session(bot.engine) as s:
        assert s.get(Reminder, rid).sent_at == max(not_before, queued_at)  # type: ignore[union-attr]
        entry = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "smtp_confirmed_by_owner")).one()
        assert json.loads(entry.payload)["left_at_basis"] == "earliest_claim"
