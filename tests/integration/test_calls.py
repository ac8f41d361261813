"""Phone calls and the ladder's channels (issue 11 §2): the call card in Telegram, each of its buttons, the
`call_logged` evidence, the ladder moving on after a completed call (and not after an unanswered one), a key
account's first overdue step as a call, a step posted as a letter, /client's last call and the dossier."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from sqlmodel import select

from dunning.states import InvoiceState, ReminderState
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, Invoice, Reminder
from tests.bot_harness import BotHarness, RecordingDelivery, bot_settings, make_services
from tests.factories import make_client, make_invoice

TODAY = date(2026, 11, 24)
PHONE_LADDER = """
[[steps]]
name = "pre_reminder"
offset_days = -3
tone = "informative"
channel = "email"

[[steps]]
name = "reminder_1"
offset_days = 7
tone = "friendly"
channel = "phone"

[[steps]]
name = "reminder_2"
offset_days = 15
tone = "firm"
channel = "registered_letter"

[[steps]]
name = "reminder_3"
offset_days = 22
tone = "firm"
channel = "email"

[[steps]]
name = "formal_notice"
offset_days = 30
tone = "formal"
channel = "registered_letter"
"""


def _key_account(bot: BotHarness, *, due: date = date(2026, 11, 10), phone: str = "06 12 34 56 78") -> int:
    """A key account with one invoice 14 days late (its first overdue step, reminder_1, is due)."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Grand Compte SA", profile="key_account", phone=phone)
        inv = make_invoice(s, client, due=due, amount="9000.00", number="F-2026-900")
        assert inv.id is not None
        return inv.id


def _ladder(bot: BotHarness, toml: str) -> None:
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        business.ladder_toml = toml
        s.add(business)


async def _card(bot: BotHarness) -> tuple[int, int, list[dict[str, str]], str]:
    """/digest's one card: reminder id, message id, buttons, text."""
    bot.api.clear()
    await bot.owner.send("/digest")
    (call,) = bot.cards()
    buttons = bot.buttons(call)
    rid = int(buttons[0]["callback_data"].split(":")[2])
    message_id = bot.services.cards_of(rid)[0][1]
    return rid, int(message_id), buttons, str(call.params["text"])


def _data(buttons: list[dict[str, str]], action: str) -> str:
    return next(b["callback_data"] for b in buttons if b["callback_data"].split(":")[1] == action)


def _actions(buttons: list[dict[str, str]]) -> list[str]:
    return [b["callback_data"].split(":")[1] for b in buttons]


def _entries(bot: BotHarness, kind: str) -> list[dict[str, object]]:
    with read_session(bot.engine) as s:
        rows = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == kind).order_by(EvidenceEntry.seq)).all()
        return [json.loads(e.payload) | {"_actor": e.actor, "_reminder": e.reminder_id} for e in rows]


def _reminder(bot: BotHarness, rid: int) -> Reminder:
    with read_session(bot.engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        return r


def _last_edit(bot: BotHarness) -> tuple[str, list[str]]:
    edit = bot.api.of("editMessageText")[-1]
    return str(edit.params["text"]), _actions(bot.buttons(edit))


async def test_key_account_first_overdue_step_is_a_call_card(bot: BotHarness) -> None:
    """A key account's reminder_1 is a call card: the number as a tel: link, the call script, the four call buttons
    and no Envoyer; the e-mail's recipients are not shown."""
    _key_account(bot)
    _, _, buttons, text = await _card(bot)
    assert '<a href="tel:+33612345678">06 12 34 56 78</a>' in text
    assert "Script d'appel" in text and "F-2026-900" in text
    assert _actions(buttons) == ["cdone", "cnone", "cmail", "snz"]
    assert "send" not in _actions(buttons) and "Destinataires" not in text


async def test_call_done_logs_the_outcome_and_the_step_is_done(bot: BotHarness) -> None:
    """📞 Appel fait asks for the outcome; the answer is a call_logged entry (reached, note, step), the reminder is
    sent by phone (the ladder's history counts it), and the card offers Promesse / Litige / Payée."""
    _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    assert "Qu'a dit le client" in bot.api.texts()[-1]
    await bot.owner.send("Paiera vendredi, virement en cours")
    assert any("Appel noté" in t for t in bot.api.texts())
    (logged,) = _entries(bot, "call_logged")
    assert logged["outcome"] == "reached" and logged["note"] == "Paiera vendredi, virement en cours"
    assert logged["step"] == "reminder_1" and logged["phone"] == "06 12 34 56 78" and logged["_actor"] == "owner:111"
    reminder = _reminder(bot, rid)
    assert reminder.state == ReminderState.SENT and reminder.sent_to == "tel:06 12 34 56 78"
    text, actions = _last_edit(bot)
    assert "Appel fait le" in text and "« Paiera vendredi, virement en cours »" in text
    assert actions == ["prom", "disp", "pay"]


async def test_promise_after_the_call_acts_once(bot: BotHarness) -> None:
    """Promesse on the call's card records the promise through the usual question; the card then has no button and
    a second tap on the old button is stale."""
    inv_id = _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("Promet de payer le 04/12")
    called = bot.services.card(rid, "fr")
    assert called is not None
    promise = next(b.data for row in called.buttons for b in row if b.data.startswith("r1:prom:"))
    await bot.owner.tap(promise, message_id)
    await bot.owner.send("04/12/2026")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.PROMISED and inv.promised_until == date(2026, 12, 4)
    after = bot.services.card(rid, "fr")
    assert after is not None and after.buttons == ()
    bot.api.clear()
    await bot.owner.tap(promise, message_id)
    assert bot.api.of("answerCallbackQuery")[-1].params["text"] == "Déjà traité."
    assert len(_entries(bot, "promise_recorded")) == 1


async def test_paid_after_the_call_pays_the_invoice(bot: BotHarness) -> None:
    """Payée on the call's card opens the full / partial choice; Payée en totalité pays the invoice."""
    inv_id = _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("A payé ce matin")
    called = bot.services.card(rid, "fr")
    assert called is not None
    pay = next(b.data for row in called.buttons for b in row if b.data.startswith("r1:pay:"))
    await bot.owner.tap(pay, message_id)
    _, actions = _last_edit(bot)
    assert actions == ["payf", "payp", "back"]
    full = next(
        b["callback_data"] for b in bot.buttons(bot.api.of("editMessageText")[-1]) if ":payf:" in b["callback_data"]
    )
    await bot.owner.tap(full, message_id)
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.PAID


async def test_dispute_after_the_call(bot: BotHarness) -> None:
    """Litige on the call's card asks the reason and disputes the invoice."""
    inv_id = _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("Conteste la livraison")
    called = bot.services.card(rid, "fr")
    assert called is not None
    dispute = next(b.data for row in called.buttons for b in row if b.data.startswith("r1:disp:"))
    await bot.owner.tap(dispute, message_id)
    await bot.owner.send("Livraison incomplète")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.DISPUTED


async def test_an_empty_outcome_is_asked_again(bot: BotHarness) -> None:
    """A blank outcome is refused with a clear message and the question stays open; nothing is logged."""
    _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("   ")
    assert "en une ligne" in bot.api.texts()[-1]
    assert _entries(bot, "call_logged") == [] and _reminder(bot, rid).state == ReminderState.PENDING
    await bot.owner.send("Rappeler lundi")
    assert len(_entries(bot, "call_logged")) == 1


async def test_no_answer_logs_an_attempt_and_keeps_the_card(bot: BotHarness) -> None:
    """📵 Pas de réponse: a call_logged entry (no_answer), the reminder still waits, the card says how many
    attempts and keeps its call buttons; the old button is then stale (never logged twice)."""
    _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    before = _reminder(bot, rid).version
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "cnone"), message_id)
    (logged,) = _entries(bot, "call_logged")
    assert logged["outcome"] == "no_answer" and logged["step"] == "reminder_1"
    reminder = _reminder(bot, rid)
    assert reminder.state == ReminderState.PENDING and reminder.version > before
    text, actions = _last_edit(bot)
    assert "1 tentative(s)" in text and actions == ["cdone", "cnone", "cmail", "snz"]
    await bot.owner.tap(_data(buttons, "cnone"), message_id)
    assert len(_entries(bot, "call_logged")) == 1


async def test_email_instead_turns_the_card_into_the_email(bot: BotHarness) -> None:
    """✉️ Envoyer plutôt l'e-mail: the same step's e-mail card (Envoyer…), a channel_changed entry; it sends."""
    _key_account(bot)
    rid, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cmail"), message_id)
    (changed,) = _entries(bot, "channel_changed")
    assert changed["from"] == "phone" and changed["to"] == "email" and changed["step"] == "reminder_1"
    text, actions = _last_edit(bot)
    assert actions[:3] == ["send", "edit", "snz"] and "✉️ À : " in text and "<b>Script d'appel</b>" not in text
    # The digest shows the e-mail card from now on, and ✅ Envoyer sends it.
    _, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "send"), message_id)
    assert len(bot.delivery.sent) == 1 and _reminder(bot, rid).state == ReminderState.SENT


async def test_reporter_on_a_call_card_opens_the_snooze_menu(bot: BotHarness) -> None:
    """⏰ Reporter on a call card is the usual snooze menu; Retour comes back to the call buttons."""
    _key_account(bot)
    _, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "snz"), message_id)
    _, actions = _last_edit(bot)
    assert actions == ["snz1", "snz3", "snz7", "snzd", "back"]
    back = next(
        b["callback_data"] for b in bot.buttons(bot.api.of("editMessageText")[-1]) if ":back:" in b["callback_data"]
    )
    await bot.owner.tap(back, message_id)
    _, actions = _last_edit(bot)
    assert actions == ["cdone", "cnone", "cmail", "snz"]


def test_the_ladder_moves_on_after_a_completed_call_only(db_url: str, tmp_path: Path) -> None:
    """A completed call is the step done: the next step (reminder_2) comes after the ladder's interval. An attempt
    without an answer is not: the next days still propose the call of reminder_1. (SQLite and PostgreSQL.)"""
    from storage.db import make_engine

    engine = make_engine(db_url)
    settings = bot_settings(db_url, tmp_path, TODAY)
    services = make_services(engine, settings, RecordingDelivery(), today=TODAY)
    with write_session(engine) as s:
        business = s.get(Business, services.business_id)
        assert business is not None
        reached = make_client(s, business, name="Joint SA", profile="key_account")
        silent = make_client(s, business, name="Muet SA", profile="key_account")
        make_invoice(s, reached, due=date(2026, 11, 10), number="F-J")
        make_invoice(s, silent, due=date(2026, 11, 10), number="F-M")
    data = services.digest(claim=False)
    assert data is not None and {v.step for v in data.views} == {"reminder_1"} and len(data.calls) == 2
    by_name = {v.client_name: v for v in data.views}
    done = services.call_done(by_name["Joint SA"].reminder_id, by_name["Joint SA"].version, note="OK", actor="t",
                              lang="fr")  # fmt: skip
    assert done.ok
    tried = services.call_no_answer(by_name["Muet SA"].reminder_id, by_name["Muet SA"].version, actor="t", lang="fr")
    assert tried.ok
    with write_session(engine) as s:
        # A fixed "today" leaves the wall clock real: the call is dated on that day, as it would be.
        called = s.get(Reminder, by_name["Joint SA"].reminder_id)
        assert called is not None and called.state == ReminderState.SENT
        called.sent_at = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        s.add(called)

    def steps_on(day: date) -> dict[str, str]:
        later = make_services(engine, settings, RecordingDelivery(), today=day)
        found = later.digest(claim=False)
        assert found is not None
        return {v.client_name: v.step for v in found.views}

    assert steps_on(date(2026, 11, 26)) == {"Muet SA": "reminder_1"}  # the call stays; the reached one waits
    assert steps_on(date(2026, 12, 2)) == {"Joint SA": "reminder_2", "Muet SA": "reminder_1"}
    # The completed call's card records what was said, once (the reminder is locked at its version).
    joint = by_name["Joint SA"].reminder_id
    version = _version_of(engine, joint)
    assert services.promise(joint, version, until=date(2026, 12, 10), actor="t", lang="fr").ok
    assert services.promise(joint, version, until=date(2026, 12, 10), actor="t", lang="fr").status == "stale"
    engine.dispose()


def _version_of(engine: Any, reminder_id: int) -> int:
    with read_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        return reminder.version


async def test_a_phone_step_of_the_ladder_is_a_call_for_any_client(bot: BotHarness) -> None:
    """A ladder whose reminder_1 has channel = "phone": a standard client's reminder_1 is a call card."""
    _ladder(bot, PHONE_LADDER)
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Standard SARL", phone="+32 2 555 12 12")
        make_invoice(s, client, due=date(2026, 11, 10), number="F-STD")
    _, _, buttons, text = await _card(bot)
    assert _actions(buttons) == ["cdone", "cnone", "cmail", "snz"]
    assert '<a href="tel:+3225551212">+32 2 555 12 12</a>' in text


async def test_a_client_without_a_number_gets_a_call_card_that_says_so(bot: BotHarness) -> None:
    """No phone number recorded: the call card says so (the owner may still log a call or send the e-mail)."""
    _key_account(bot, phone="")
    _, _, buttons, text = await _card(bot)
    assert "aucun numéro" in text and "tel:" not in text
    assert "cmail" in _actions(buttons)


async def test_registered_letter_step_produces_the_letter_first(bot: BotHarness) -> None:
    """A firm step whose channel is registered_letter: the card says the letter goes first, 📄 Lettre PDF gives the
    reminder letter (not a formal notice), and the e-mail copy carries it as its first attachment."""
    _ladder(
        bot,
        PHONE_LADDER.replace('tone = "friendly"\nchannel = "phone"', 'tone = "firm"\nchannel = "registered_letter"'),
    )
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Lettre SARL")
        make_invoice(s, client, due=date(2026, 11, 10), number="F-LR")  # reminder_1, posted as a letter
    rid, message_id, buttons, text = await _card(bot)
    assert "Lettre recommandée d'abord" in text and "pdf" in _actions(buttons)
    letter = bot.services.letter_pdf(rid)
    assert letter is not None and letter[0] == "relance-F-LR.pdf" and letter[1].startswith(b"%PDF")
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "send"), message_id)
    (sent,) = bot.delivery.sent
    assert sent.draft.attachments[0].filename == "relance-F-LR.pdf"


async def test_client_shows_the_last_call(bot: BotHarness) -> None:
    """/client NOM shows the client's last call: when, its outcome and the note."""
    _key_account(bot)
    _, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("Paiera vendredi")
    bot.api.clear()
    await bot.owner.send("/client Grand Compte")
    text = bot.api.texts()[-1]
    assert "Dernier appel : le " in text and "client joint" in text and "« Paiera vendredi »" in text


async def test_dossier_lists_the_calls_in_the_timeline(bot: BotHarness) -> None:
    """/preuves NUMERO: the dossier's timeline names each call in French (no answer, then reached) with its note."""
    _key_account(bot)
    _, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cnone"), message_id)
    _, message_id, buttons, _ = await _card(bot)
    await bot.owner.tap(_data(buttons, "cdone"), message_id)
    await bot.owner.send("Accord pour payer le 10")
    data = bot.services.evidence_zip("F-2026-900")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        pdf = pdfium.PdfDocument(z.read("resume.pdf"))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    text = " ".join(text.split())
    assert "Appel téléphonique : pas de réponse" in text
    assert "Appel téléphonique : client joint, échange noté" in text and "Accord pour payer le 10" in text
