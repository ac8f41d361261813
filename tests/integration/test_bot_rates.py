"""/taux in the chat: an owner adds the ECB rate of a half-year for the business (stored, logged, used at once); bad
input is refused with one line and nothing written; strangers cannot; the start-up notice names the command."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from bot.handlers.rates import notify_missing_rate
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry
from tests.bot_harness import OWNER, BotHarness
from tests.factories import make_client, make_invoice, make_reminder

TODAY = date(2026, 11, 24)  # the bot fixture's day: 2026-H2, not in the shipped table


def _rate_entries(bot: BotHarness) -> list[dict[str, object]]:
    """The payloads of the business's `settings_changed` entries about a rate."""
    with read_session(bot.engine) as s:
        entries = s.exec(
            select(EvidenceEntry).where(
                EvidenceEntry.business_id == bot.services.business_id, EvidenceEntry.kind == "settings_changed"
            )
        ).all()
    payloads = [e.payload if isinstance(e.payload, dict) else json.loads(e.payload) for e in entries]
    return [p for p in payloads if p.get("field") == "rate"]


def _stored_rates(bot: BotHarness) -> str | None:
    with read_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        return business.rates_toml


def _formal_notice(bot: BotHarness) -> int:
    """A formal notice for a 10 000,00 € invoice due 01/10/2026 (54 days late on 24/11/2026)."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Bâti Sud SAS")
        inv = make_invoice(s, client, due=date(2026, 10, 1), amount="10000.00", number="F-2026-100")
        reminder = make_reminder(s, client, [inv], step="formal_notice", planned_date=TODAY)
        assert reminder.id is not None
        return reminder.id


async def test_owner_sets_the_rate_which_is_stored_logged_and_used(bot: BotHarness) -> None:
    """`/taux 2026-H2 2,15`: one confirmation (2,15 %, penalties 12,15 %), the business's rates hold it, one
    `settings_changed` entry (field rate, half-year, value), and the services' table has it at once."""
    await bot.owner.send("/taux 2026-H2 2,15")
    (answer,) = bot.api.texts()
    assert "2026-H2" in answer and "2,15\u00a0%" in answer and "12,15\u00a0%" in answer
    assert '"2026-H2" = 2.15' in (_stored_rates(bot) or "")
    (entry,) = _rate_entries(bot)
    assert (entry["half_year"], entry["value"], entry["old"]) == ("2026-H2", "2.15", None)
    assert str(bot.services.rate_table.ecb_rate("2026-H2")) == "2.15"


async def test_a_second_rate_keeps_the_first_and_logs_the_correction(bot: BotHarness) -> None:
    """Adding 2026-H1 after 2026-H2 keeps both in the stored table; correcting 2026-H2 logs the old value."""
    await bot.owner.send("/taux 2026-H2 2,15")
    await bot.owner.send("/taux 2026-h1 2.15 %")
    await bot.owner.send("/taux 2026-H2 2,40")
    stored = _stored_rates(bot) or ""
    assert '"2026-H1" = 2.15' in stored and '"2026-H2" = 2.40' in stored
    assert [(e["half_year"], e["value"], e["old"]) for e in _rate_entries(bot)] == [
        ("2026-H2", "2.15", None),
        ("2026-H1", "2.15", "2.15"),  # the shipped table already had 2026-H1
        ("2026-H2", "2.40", "2.15"),
    ]


@pytest.mark.parametrize(
    ("command", "named"),
    [
        ("/taux 2026-S2 2,15", "« 2026-S2 » n'est pas un semestre"),
        ("/taux 2026-H2 deux", "« deux » n'est pas un taux"),
        ("/taux 2026-H2 2,15,3", "« 2,15,3 » n'est pas un taux"),
        ("/taux 2026-H2 60", "60 % n'est pas un taux de la BCE plausible"),
        ("/taux 2026-H2 -7", "-7 % n'est pas un taux de la BCE plausible"),
        ("/taux 2031-H1 2,15", "2031-H1 est hors des semestres acceptés (2008-H1 à 2027-H1)"),
        ("/taux 2026-H2", "Usage : /taux SEMESTRE TAUX"),
    ],
)
async def test_bad_input_is_refused_in_one_line_and_nothing_is_written(
    bot: BotHarness, command: str, named: str
) -> None:
    """A bad half-year, a non-number, an implausible rate, a far half-year or a missing rate: one answer naming
    it; no stored rate, no evidence entry, the table unchanged."""
    await bot.owner.send(command)
    (answer,) = bot.api.texts()
    assert named in answer
    assert "\n" not in answer
    assert _stored_rates(bot) is None and _rate_entries(bot) == []
    assert "2026-H2" not in bot.services.rate_table.ecb


async def test_english_owner_gets_the_refusal_in_english(bot: BotHarness) -> None:
    """An owner whose Telegram is in English: `/rate 2026-S2 2.15` is refused in English, nothing written."""
    bot.owner.language = "en"
    await bot.owner.send("/rate 2026-S2 2.15")
    (answer,) = bot.api.texts()
    assert answer.startswith("“2026-S2” is not a half-year") and _stored_rates(bot) is None


async def test_stranger_cannot_set_a_rate(bot: BotHarness) -> None:
    """A stranger's `/taux 2026-H2 2,15` gets only "Ce bot est privé."; no rate stored, logged or used."""
    await bot.stranger.send("/taux 2026-H2 2,15")
    assert bot.api.texts() == ["Ce bot est privé."]
    assert _stored_rates(bot) is None and _rate_entries(bot) == []
    assert "2026-H2" not in bot.services.rate_table.ecb


async def test_taux_alone_lists_the_last_four_half_years_and_the_missing_one(bot: BotHarness) -> None:
    """`/taux`: 2025-H1 to 2026-H2 with their rates, 2026-H2 marked missing with the command to add it (no value
    guessed); once added, it is listed with its rate."""
    await bot.owner.send("/taux")
    (listing,) = bot.api.texts()
    for line in ("2025-H1 : 3,15\u00a0%", "2025-H2 : 2,15\u00a0%", "2026-H1 : 2,15\u00a0%", "2026-H2 : ⚠️ manquant"):
        assert line in listing
    assert "/taux 2026-H2 &lt;taux&gt;" in listing and "Banque de France" in listing
    bot.api.clear()
    await bot.owner.send("/taux 2026-H2 2,15")
    bot.api.clear()
    await bot.owner.send("/taux")
    (listing,) = bot.api.texts()
    assert "2026-H2 : 2,15\u00a0%" in listing and "manquant" not in listing


async def test_formal_notice_shows_penalties_right_after_the_rate_is_added(bot: BotHarness) -> None:
    """A formal notice drafted before `/taux 2026-H2 2,15` states no penalty amount; the same reminder's draft
    right after states 179,75 € (10 000 € x 12,15 % x 54 / 365), without restarting the bot."""
    rid = _formal_notice(bot)
    before = bot.services.full_text(rid)
    assert before is not None
    assert "au taux de la BCE majoré de 10 points" in before and "pénalités de retard arrêtées" not in before
    await bot.owner.send("/taux 2026-H2 2,15")
    after = bot.services.full_text(rid)
    assert after is not None
    assert "pénalités de retard arrêtées au 24 novembre 2026 : 179,75\u00a0€" in after


async def test_start_up_notice_tells_the_owner_the_command_once_and_not_when_the_rate_is_known(
    bot: BotHarness,
) -> None:
    """At start (the adapter's start), each owner gets one message naming 2026-H2 and `/taux 2026-H2 <taux>`, with no
    rate value; after the rate is added, no notice."""
    await notify_missing_rate(bot.app, bot.services)
    (call,) = bot.api.of("sendMessage")
    assert call.params["chat_id"] == OWNER
    notice = call.params["text"]
    assert "2026-H2" in notice and "/taux 2026-H2 &lt;taux&gt;" in notice
    assert "2,15" not in notice and "2.15" not in notice
    await bot.owner.send("/taux 2026-H2 2,15")
    bot.api.clear()
    await notify_missing_rate(bot.app, bot.services)
    assert bot.api.of("sendMessage") == []
