"""Envoyer through the real outbox and a real SMTP server on loopback: once, and after the sending window."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import select

from bot.services import OutboxDelivery
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Outbox
from tests.bot_harness import bot_settings, start_harness, stop_harness
from tests.factories import make_client, make_invoice
from tests.integration.smtp_server import ScriptedSmtpServer


def _seed(engine, business_id: int) -> None:  # type: ignore[no-untyped-def]
    with write_session(engine) as s:
        business = s.get(Business, business_id)
        assert business is not None
        client = make_client(s, business, name="ACME SAS", emails="compta@acme.example")
        make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-042")


async def test_send_over_smtp_exactly_once(sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer) -> None:
    """Tap Envoyer twice: the SMTP server got one message with the invoice number in its subject."""
    settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), SMTP_HOST="127.0.0.1",
                            SMTP_PORT=smtp_server.port, SMTP_SECURITY="none")  # fmt: skip
    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, settings, OutboxDelivery(settings))
    try:
        _seed(engine, bot.services.business_id)
        await bot.owner.send("/digest")
        (card,) = bot.cards()
        data = next(b["callback_data"] for b in bot.buttons(card) if ":send:" in b["callback_data"])
        await bot.owner.tap(data)
        await bot.owner.tap(data)
        assert len(smtp_server.accepted) == 1
        assert b"F-2026-042" in smtp_server.accepted[0].data
        assert "✅ Envoyé le" in bot.api.of("editMessageText")[0].params["text"]
        assert [a.params.get("text") for a in bot.api.of("answerCallbackQuery")][-1] == "Déjà traité."
    finally:
        await stop_harness(bot)
        engine.dispose()


async def test_outside_the_window_waits_then_send_now(
    sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """With no sending day left this week, Envoyer schedules the e-mail; "Envoyer maintenant" sends it at once."""
    from datetime import datetime

    from bot.services import today_for

    settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), SMTP_HOST="127.0.0.1",
                            SMTP_PORT=smtp_server.port, SMTP_SECURITY="none")  # fmt: skip
    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, settings, OutboxDelivery(settings))
    try:
        _seed(engine, bot.services.business_id)
        # The window applies to the real clock: only a weekday other than today's is allowed.
        real_today = datetime.now(bot.services.tz).weekday()
        with write_session(engine) as s:
            business = s.get(Business, bot.services.business_id)
            assert business is not None
            business.preferred_weekdays = ",".join(str(d) for d in range(5) if d != real_today)
            s.add(business)
        bot.services.settings = bot.services.settings.model_copy(update={"RELANCE_TODAY": None})
        bot.services._today = lambda: date(2026, 11, 24)
        assert today_for(settings) == date(2026, 11, 24)
        await bot.owner.send("/digest")
        (card,) = bot.cards()
        data = next(b["callback_data"] for b in bot.buttons(card) if ":send:" in b["callback_data"])
        await bot.owner.tap(data)
        assert smtp_server.accepted == []
        edited = bot.api.of("editMessageText")[-1]
        assert "partira le" in edited.params["text"]
        (now_button,) = bot.buttons(edited)
        assert now_button["text"] == "📤 Envoyer maintenant"
        await bot.owner.tap(now_button["callback_data"])
        assert len(smtp_server.accepted) == 1
        with read_session(engine) as s:
            assert [o.state for o in s.exec(select(Outbox)).all()] == ["sent"]
        assert "✅ Envoyé le" in bot.api.of("editMessageText")[-1].params["text"]
    finally:
        await stop_harness(bot)
        engine.dispose()
