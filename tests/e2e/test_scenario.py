"""The owner's morning, end to end: `relance run` as a process against the fake Bot API server and SMTP on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.fakebot import FakeBotAccount, StoredMessage
from tests.e2e.support import (
    OWNER,
    PRIVATE,
    STRANGER,
    TODAY,
    amount_after,
    expected_totals,
    invoices_csv,
    last_message_id,
    next_reply,
    reminder_id_of,
    reminder_row,
    wait_digest,
)
from tests.integration.smtp_server import ScriptedSmtpServer

pytestmark = pytest.mark.e2e

# Telegram refusals that are harmless for a bot (a refresh that changes nothing); anything else is a bug.
HARMLESS = ("message is not modified",)


def assert_no_api_errors(tg: FakeBotAccount) -> None:
    """The bot made no Bot API call that Telegram would refuse (bad HTML, too long, bad buttons, unknown method)."""
    errors = [
        f"{c.method}: {c.description}" for c in tg.errors() if not any(h in (c.description or "") for h in HARMLESS)
    ]
    assert errors == [], errors


def subject_of(data: bytes) -> str:
    """The decoded Subject of a raw message."""
    return str(email.message_from_bytes(data, policy=email.policy.default)["Subject"])


async def wait_edited(tg: FakeBotAccount, card: StoredMessage, text: str) -> StoredMessage:
    """Wait until a card shows `text`; returns the card as displayed."""
    return await tg.wait_for(
        lambda: (m := tg.message(card.chat_id, card.message_id)) is not None and text in m.shown and m,
        what=f"card {card.message_id} to show {text!r}",
    )


async def wait_answered(tg: FakeBotAccount, tap_id: str) -> str:
    """Wait until a tap is answered; returns the answer's text ('' when none)."""
    state = await tg.wait_for(lambda: (s := tg.tap_state(tap_id)).answered and s, what="the tap's answer")
    return state.answer_text or ""


async def ask_status(tg: FakeBotAccount) -> StoredMessage:
    """Send /status and return the dashboard message."""
    before = tg.send_text(OWNER, "/status").message_id
    return await tg.wait_for(
        lambda: next(
            (m for m in tg.bot_messages(OWNER) if m.message_id > before and "Tableau de bord" in m.shown), None
        ),
        what="the /status dashboard",
    )


async def test_import_digest_send_once_snooze_and_status(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """CLI import, catch-up digest, /digest, Envoyer mails once, a second tap is "déjà traité", +3 j, /status."""
    csv_path = bot_env.workdir / "factures.csv"
    csv_path.write_bytes(invoices_csv())
    result = bot_env.cli("import", str(csv_path))
    assert result.returncode == 0, result.stdout + result.stderr

    bot = start_bot()
    # The bot was "down" at digest time on RELANCE_TODAY: it sends the digest on start, once.
    catch_up = await wait_digest(tg, OWNER, 0)
    assert catch_up.cards, catch_up.header.shown

    before = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/digest")
    digest = await wait_digest(tg, OWNER, before)
    card = digest.card_for("F-2026-101")
    assert card.button_labels[:1] == ["✅ Envoyer"] and "⏰ Reporter" in card.button_labels

    # ✅ Envoyer: one e-mail with the invoice number in its subject; the card says when and to whom.
    send_data = card.button("Envoyer").callback_data
    assert send_data is not None
    tap = tg.press(card, "Envoyer")
    await wait_answered(tg, tap.id)
    sent_card = await wait_edited(tg, card, "✅ Envoyé le")
    assert sent_card.buttons == []
    # The stamp is the real moment of sending (RELANCE_TODAY fixes the business day, not the clock).
    now = datetime.now(ZoneInfo("Europe/Paris"))
    assert re.search(rf"✅ Envoyé le {now:%d/%m} à \d\d:\d\d à compta@martin\.example", sent_card.shown), (
        sent_card.shown
    )
    await tg.wait_for(lambda: smtp.accepted, what="the e-mail")
    assert len(smtp.accepted) == 1
    assert "F-2026-101" in subject_of(smtp.accepted[0].data)
    assert smtp.accepted[0].rcpt_tos == ["compta@martin.example"]

    # A second tap on the same (old) button: answered "déjà traité", no second e-mail.
    again = tg.tap(card.chat_id, card.message_id, send_data)
    assert "éjà traité" in await wait_answered(tg, again.id)
    await asyncio.sleep(0.5)
    assert len(smtp.transactions) == 1

    # ⏰ Reporter then +3 j on another card: the card moves to today + 3 and so does the database.
    other = digest.card_for("F-2026-102")
    tap = tg.press(other, "Reporter")
    await wait_answered(tg, tap.id)
    menu = await tg.wait_for(
        lambda: (m := tg.message(OWNER, other.message_id)) is not None and "+3 j" in m.button_labels and m,
        what="the snooze choices",
    )
    tap = tg.press(menu, "+3 j")
    await wait_answered(tg, tap.id)
    target = TODAY + timedelta(days=3)  # a Friday: no business-day shift
    snoozed = await wait_edited(tg, other, target.strftime("%d/%m/%Y"))
    assert "Reporté" in snoozed.shown
    assert reminder_row(bot_env.db_path, reminder_id_of(other))["snoozed_until"] == target.isoformat()

    # /status: totals right to the cent, computed from the CSV alone; the aging chart comes as an image.
    dashboard = await ask_status(tg)
    open_total, overdue_total, open_count, overdue_count = expected_totals()
    assert amount_after("Encours", dashboard.shown) == open_total
    assert amount_after("En retard", dashboard.shown) == overdue_total
    assert f"({open_count} facture(s))" in dashboard.shown and f"({overdue_count} facture(s))" in dashboard.shown
    await tg.wait_for(lambda: any(m.photo for m in tg.bot_messages(OWNER)), what="the aging chart")

    assert len(smtp.transactions) == 1
    assert_no_api_errors(tg)
    assert bot.stop() == 0, bot.log()[-3000:]


async def test_import_through_the_chat_then_status(tg: FakeBotAccount, bot: BotProcess) -> None:
    """/import then the CSV as a document: the reply counts the invoices and /status shows the CSV's totals."""
    await wait_digest(tg, OWNER, 0)  # the catch-up digest of an empty database: nothing to chase
    await next_reply(tg, tg.send_text(OWNER, "/import").message_id)
    uploaded = tg.upload_document(OWNER, "factures.csv", invoices_csv(), mime_type="text/csv")
    reply = await next_reply(tg, uploaded.message_id)
    assert "5" in reply.shown and "❌" not in reply.shown, reply.shown

    dashboard = await ask_status(tg)
    open_total, overdue_total, _, _ = expected_totals()
    assert amount_after("Encours", dashboard.shown) == open_total
    assert amount_after("En retard", dashboard.shown) == overdue_total

    before = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/digest")
    digest = await wait_digest(tg, OWNER, before)
    assert {"F-2026-101", "F-2026-102", "F-2026-104"} <= {n for c in digest.cards for n in _numbers(c)}
    assert_no_api_errors(tg)


def _numbers(card: StoredMessage) -> set[str]:
    return {word for word in card.shown.replace("·", " ").split() if word.startswith("F-2026-")}


async def test_a_stranger_gets_only_the_refusal(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """User 999 gets "Ce bot est privé." and nothing else: no data, no card change, no e-mail, even with forged taps."""
    csv_path = bot_env.workdir / "factures.csv"
    csv_path.write_bytes(invoices_csv())
    assert bot_env.cli("import", str(csv_path)).returncode == 0
    start_bot()
    digest = await wait_digest(tg, OWNER, 0)
    card = digest.card_for("F-2026-101")
    owner_view = [(m.message_id, m.shown, m.button_labels) for m in tg.history(OWNER)]

    data = card.button("Envoyer").callback_data
    assert data is not None
    tap = tg.tap(OWNER, card.message_id, data, user_id=STRANGER)
    assert (await wait_answered(tg, tap.id)) == PRIVATE  # the day's one refusal
    for text in ("/start", "/digest", "/status", "/payee F-2026-101", "bonjour"):
        tg.send_text(STRANGER, text, first_name="Mallory")

    await tg.wait_for(lambda: tg.pending_updates() == 0, what="the stranger's updates to be read")
    await asyncio.sleep(0.5)  # anything else the bot might still send would arrive now
    assert tg.bot_messages(STRANGER) == []  # counted, not answered: one refusal a day
    assert all(m.buttons == [] and m.photo is None and m.document is None for m in tg.bot_messages(STRANGER))
    assert [(m.message_id, m.shown, m.button_labels) for m in tg.history(OWNER)] == owner_view
    assert smtp.transactions == []
    assert_no_api_errors(tg)


async def test_bad_input_gets_a_french_answer_and_changes_nothing(tg: FakeBotAccount, bot: BotProcess) -> None:
    """An unknown command and a file that is not a CSV each get a clear French answer; nothing is imported."""
    await wait_digest(tg, OWNER, 0)
    unknown = await next_reply(tg, tg.send_text(OWNER, "/inconnue").message_id)
    assert "commande" in unknown.shown

    await next_reply(tg, tg.send_text(OWNER, "/import").message_id)
    uploaded = tg.upload_document(OWNER, "photo.png", b"\x89PNG\r\n\x1a\n not a csv", mime_type="image/png")
    answer = await next_reply(tg, uploaded.message_id)
    assert "CSV" in answer.shown and "Rien n'a été importé" in answer.shown, answer.shown

    dashboard = await ask_status(tg)
    assert amount_after("Encours", dashboard.shown) == 0
    assert_no_api_errors(tg)


def test_sigterm_stops_the_bot_cleanly(tg: FakeBotAccount, bot: BotProcess) -> None:
    """SIGTERM ends `relance run` with exit code 0 within a few seconds, and the token never reaches the log."""
    assert tg.calls("getMe") and tg.calls("setMyCommands")
    assert bot.stop() == 0, bot.log()[-3000:]
    assert tg.token.split(":")[1] not in bot.log()
    assert tg.unknown_methods == []
