"""The bot in-process: updates in, Bot API calls out (recorded), over a real SQLite database."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import select

from dunning.states import InvoiceState, ReminderState
from storage.db import read_session, write_session
from storage.models import Business, Card, EvidenceEntry, Invoice, Reminder
from tests.bot_harness import STRANGER, BotHarness
from tests.factories import make_client, make_invoice

TODAY = date(2026, 11, 24)


def _seed(bot: BotHarness, *amounts: str) -> list[int]:
    """One client per amount, each with an invoice due 10/11/2026 (reminder 1 due today)."""
    ids = []
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        for n, amount in enumerate(amounts):
            client = make_client(s, business, name=f"Client {n} SAS")
            inv = make_invoice(s, client, due=date(2026, 11, 10), amount=amount, number=f"F-2026-{n + 1:03d}")
            assert inv.id is not None
            ids.append(inv.id)
    return ids


async def _digest(bot: BotHarness) -> list[tuple[int, int, list[dict[str, str]]]]:
    """Run /digest; (reminder id, message id, buttons) of each card."""
    bot.api.clear()
    await bot.owner.send("/digest")
    out = []
    for call in bot.cards():
        buttons = bot.buttons(call)
        rid = int(buttons[0]["callback_data"].split(":")[2])
        out.append((rid, 0, buttons))
    with read_session(bot.engine) as s:
        cards = s.exec(select(Card)).all()
        by_rid = {c.reminder_id: int(c.message_id) for c in cards}
    return [(rid, by_rid[rid], b) for rid, _, b in out]


def _reminder(bot: BotHarness, rid: int) -> Reminder:
    with read_session(bot.engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        return r


def _data(buttons: list[dict[str, str]], action: str) -> str:
    return next(b["callback_data"] for b in buttons if b["callback_data"].split(":")[1] == action)


async def test_stranger_message_gets_only_the_refusal_and_is_recorded(bot: BotHarness) -> None:
    """A stranger's /status gets exactly one message, "Ce bot est privé.", and an access_refused entry."""
    _seed(bot, "1200.00")
    await bot.stranger.send("/status")
    assert [c.method for c in bot.api.calls] == ["sendMessage"]
    assert bot.api.calls[0].params["text"] == "Ce bot est privé."
    with read_session(bot.engine) as s:
        kinds = [(e.kind, e.actor) for e in s.exec(select(EvidenceEntry)).all()]
    assert ("access_refused", f"stranger:{STRANGER}") in kinds


async def test_stranger_button_press_is_refused_without_action(bot: BotHarness) -> None:
    """A stranger pressing a real card button only gets the refusal; the reminder is untouched."""
    _seed(bot, "1200.00")
    ((rid, _, buttons),) = await _digest(bot)
    before = _reminder(bot, rid)
    bot.api.clear()
    await bot.stranger.tap(_data(buttons, "send"))
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery"]
    assert bot.api.calls[0].params["text"] == "Ce bot est privé."
    after = _reminder(bot, rid)
    assert (after.state, after.version) == (before.state, before.version)
    assert bot.delivery.sent == []


async def test_digest_sends_header_and_one_card_per_reminder_with_six_buttons(bot: BotHarness) -> None:
    """/digest: a header with the count and the overdue total, then cards with the six actions and 📅 Échéancier
    (the payment plan card), data <= 64 bytes, each tied to the reminder and its version."""
    _seed(bot, "1200.00", "345.67")
    cards = await _digest(bot)
    header = bot.api.of("sendMessage")[0].params["text"]
    assert "2 relance(s)" in header
    assert "1\u00a0545,67\u00a0€" in header
    assert len(cards) == 2
    for rid, _, buttons in cards:
        labels = [b["text"] for b in buttons]
        assert labels == ["✅ Envoyer", "✏️ Modifier", "⏰ Reporter", "💶 Payée", "⚖️ Litige", "🤝 Promesse",
                          "📅 Échéancier"]  # fmt: skip
        version = _reminder(bot, rid).version
        for b in buttons:
            assert len(b["callback_data"].encode()) <= 64
            data = b["callback_data"]
            assert data.endswith(f":{rid}:{version}") or data == f"pl1:open:{rid}:{version}:0"
    texts = [c.params["text"] for c in bot.cards()]
    assert any("F-2026-001" in t and "14 j de retard" in t and "Relance 1" in t for t in texts)


async def test_nothing_due_is_one_line_with_totals(bot: BotHarness) -> None:
    """With nothing due, /digest answers with one message giving the totals."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        make_invoice(s, make_client(s, business), due=date(2026, 12, 20), amount="99.90")
    await bot.owner.send("/digest")
    assert [c.method for c in bot.api.calls] == ["sendMessage"]
    assert "Rien à relancer" in bot.api.calls[0].params["text"]
    assert "99,90\u00a0€" in bot.api.calls[0].params["text"]


async def test_send_delivers_once_and_edits_the_card(bot: BotHarness) -> None:
    """Envoyer: the answer comes first, the delivery gets the e-mail once, the card shows "Envoyé ... à <address>"."""
    _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "send"), message_id)
    methods = [c.method for c in bot.api.calls]
    assert methods[0] == "answerCallbackQuery"
    assert "editMessageText" in methods
    assert len(bot.delivery.sent) == 1
    sent = bot.delivery.sent[0]
    assert "F-2026-001" in sent.draft.subject
    edit = bot.api.of("editMessageText")[-1]
    assert edit.params["text"].count("✅ Envoyé le") == 1
    assert sent.recipients[0] in edit.params["text"]
    assert not edit.params.get("reply_markup")
    assert _reminder(bot, rid).state == ReminderState.SENT


async def test_double_tap_acts_once_and_second_is_already_handled(bot: BotHarness) -> None:
    """Two taps on the same Envoyer: one delivery; the second press is answered "Déjà traité."."""
    _seed(bot, "1200.00")
    ((_, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "send"), message_id)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "send"), message_id)
    assert len(bot.delivery.sent) == 1
    answers = bot.api.of("answerCallbackQuery")
    assert [a.params.get("text") for a in answers] == ["Déjà traité."]


async def test_stale_card_after_payment_elsewhere_answers_already_handled_and_refreshes(bot: BotHarness) -> None:
    """A card whose invoice was paid with /payee meanwhile: "Déjà traité.", no action, and the card is refreshed."""
    _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    await bot.owner.send("/payee F-2026-001")
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "snz").replace(":snz:", ":snz3:"), message_id)
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."
    edits = bot.api.of("editMessageText")
    assert edits and "Payée" in edits[0].params["text"]
    assert _reminder(bot, rid).snoozed_until is None
    assert bot.delivery.sent == []


async def test_snooze_plus_three_days_moves_the_reminder(bot: BotHarness) -> None:
    """Reporter then +3 j: the reminder is snoozed until 27/11 and the card says so, without buttons."""
    _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "snz"), message_id)
    menu = bot.buttons(bot.api.of("editMessageText")[-1])
    assert [b["text"] for b in menu] == ["+1 j", "+3 j", "+7 j", "📅 Autre date", "↩️ Retour"]
    await bot.owner.tap(_data(menu, "snz3"), message_id)
    r = _reminder(bot, rid)
    assert (r.state, r.snoozed_until) == (ReminderState.SNOOZED, date(2026, 11, 27))
    assert "Reportée au 27/11/2026" in bot.api.of("editMessageText")[-1].params["text"]


async def test_forged_and_unknown_button_data_change_nothing(bot: BotHarness) -> None:
    """Forged data (unknown action, unknown reminder, not ours) is answered and never acted on."""
    _seed(bot, "1200.00")
    ((rid, message_id, _),) = await _digest(bot)
    version = _reminder(bot, rid).version
    bot.api.clear()
    for data in (f"r1:nuke:{rid}:{version}", f"r1:send:99999:{version}", "hello", f"r1:send:{rid}:x"):
        await bot.owner.tap(data, message_id)
    answers = [a.params.get("text") for a in bot.api.of("answerCallbackQuery")]
    assert len(answers) == 4
    assert all("pas reconnu" in (a or "") for a in answers)
    assert bot.api.of("editMessageText") == []
    assert _reminder(bot, rid).version == version
    assert bot.delivery.sent == []


async def test_paid_in_full_from_the_card_closes_the_invoice(bot: BotHarness) -> None:
    """Payée then "Payée en totalité": the invoice is paid and the reminder withdrawn."""
    (inv_id,) = _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "pay"), message_id)
    menu = bot.buttons(bot.api.of("editMessageText")[-1])
    await bot.owner.tap(_data(menu, "payf"), message_id)
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.PAID and inv.amount_paid == Decimal("1200.00")
    assert _reminder(bot, rid).state == ReminderState.CANCELLED


async def test_partial_payment_bad_inputs_are_answered_in_french_and_change_nothing(bot: BotHarness) -> None:
    """Paiement partiel: "abc", "-5" and too much are refused in French; "450,50" is then recorded."""
    (inv_id,) = _seed(bot, "1200.00")
    ((_, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "pay"), message_id)
    menu = bot.buttons(bot.api.of("editMessageText")[-1])
    await bot.owner.tap(_data(menu, "payp"), message_id)
    bot.api.clear()
    for text in ("abc", "-5", "5000"):
        await bot.owner.send(text)
    replies = [c.params["text"] for c in bot.api.of("sendMessage")]
    assert "n'est pas un montant valide" in replies[0]
    assert "supérieur à zéro" in replies[1]
    assert "dépasse ce qui reste dû" in replies[2]
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.amount_paid == Decimal("0.00")
    await bot.owner.send("450,50")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.amount_paid == Decimal("450.50") and inv.state == InvoiceState.PARTIALLY_PAID
    assert "Reste dû : 749,50\u00a0€" in bot.api.of("sendMessage")[-1].params["text"]


async def test_edit_bad_inputs_then_new_text_with_subject(bot: BotHarness) -> None:
    """Modifier: a 10,000-character text is refused and closes the question (a text sent next is not taken);
    after a new tap, "Objet: ..." + body replaces both and shows Envoyer/Annuler."""
    _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "edit"), message_id)
    bot.api.clear()
    await bot.owner.send("x" * 10_000)
    assert "trop long" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send("la fin du long texte")
    assert _reminder(bot, rid).edited_body is None
    await bot.owner.tap(_data(buttons, "edit"), message_id)
    await bot.owner.send("Objet: Facture F-2026-001, petit rappel\nBonjour,\nMerci de régler la facture.")
    r = _reminder(bot, rid)
    assert r.edited_subject == "Facture F-2026-001, petit rappel"
    assert r.edited_body == "Bonjour,\nMerci de régler la facture."
    last = bot.cards()[-1]
    assert [b["text"] for b in bot.buttons(last)] == ["✅ Envoyer", "↩️ Annuler"]
    assert "petit rappel" in last.params["text"]
    await bot.owner.tap(_data(bot.buttons(last), "send"))
    assert bot.delivery.sent[0].draft.subject == "Facture F-2026-001, petit rappel"


async def test_promise_bad_dates_refused_then_recorded(bot: BotHarness) -> None:
    """Promesse: "31/02" and "abc" are refused in French, then 05/12 pauses the invoice."""
    (inv_id,) = _seed(bot, "1200.00")
    ((_, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "prom"), message_id)
    bot.api.clear()
    await bot.owner.send("31/02")
    await bot.owner.send("abc")
    replies = [c.params["text"] for c in bot.api.of("sendMessage")]
    assert all("n'est pas une date valide" in r for r in replies)
    await bot.owner.send("05/12")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.PROMISED and inv.promised_until == date(2026, 12, 5)


async def test_dispute_reason_then_cancel_leaves_nothing(bot: BotHarness) -> None:
    """Litige then /annuler changes nothing; Litige then a reason puts the invoice in dispute."""
    (inv_id,) = _seed(bot, "1200.00")
    ((_, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "disp"), message_id)
    await bot.owner.send("/annuler")
    assert "rien n'a été modifié" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send("Livraison incomplète")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.OPEN
    await bot.owner.tap(_data(buttons, "disp"), message_id)
    await bot.owner.send("Livraison incomplète")
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == InvoiceState.DISPUTED
        assert inv.dispute_reason == "Livraison incomplète"


async def test_unknown_command_gets_a_french_answer(bot: BotHarness) -> None:
    """An unknown command is answered in French with a pointer to /aide."""
    await bot.owner.send("/nimportequoi")
    assert "/aide" in bot.api.of("sendMessage")[-1].params["text"]


async def test_english_owner_gets_english_buttons(bot: BotHarness) -> None:
    """An owner whose Telegram is in English gets English labels."""
    _seed(bot, "1200.00")
    bot.owner.language = "en"
    cards = await _digest(bot)
    assert [b["text"] for b in cards[0][2]][:2] == ["✅ Send", "✏️ Edit"]
    assert json.dumps(bot.api.calls[0].params).count("await your approval") == 1


async def test_status_totals_are_right_to_the_cent_and_chart_is_sent(bot: BotHarness) -> None:
    """/status: open and overdue totals to the cent (with a partial payment), then a PNG chart as a photo."""
    _seed(bot, "1200.00", "345.67", "0.01")
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        make_invoice(s, make_client(s, business), due=date(2026, 12, 31), amount="1000.10", amount_paid="0.11")
    await bot.owner.send("/status")
    text = bot.api.of("sendMessage")[-1].params["text"]
    assert "Encours : <b>2\u00a0545,67\u00a0€</b>" in text
    assert "En retard : <b>1\u00a0545,68\u00a0€</b>" in text
    photo = bot.api.of("sendPhoto")
    assert len(photo) == 1 and photo[0].params.get("_files")


async def test_import_refuses_non_csv_and_big_files_and_lists_errors_with_lines(bot: BotHarness) -> None:
    """/import: an image and a 20 MB file are refused in French; a bad CSV is refused with its line numbers."""
    await bot.owner.send("/import")
    await bot.owner.send_document("photo.png", 1000)
    assert "n'est ni un CSV ni une facture électronique" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send_document("grosses.csv", 20 * 1024 * 1024)
    assert "5 Mo au plus" in bot.api.of("sendMessage")[-1].params["text"]
    assert bot.api.of("getFile") == []
    bot.api.files["bad"] = (
        b"invoice_number,client_name,issue_date,due_date,amount\nF-1,ACME,01/10/2026,31/02/2026,abc\n"
    )
    await bot.owner.send_document("factures.csv", 70, file_id="bad")
    reply = bot.api.of("sendMessage")[-1].params["text"]
    assert "Import refusé" in reply and "ligne 2" in reply
    with read_session(bot.engine) as s:
        assert s.exec(select(Invoice)).all() == []


async def test_settings_pause_stops_the_digest(bot: BotHarness) -> None:
    """/parametres pause: the next /digest shows no card, only the paused line; a bad time is refused."""
    _seed(bot, "1200.00")
    await bot.owner.send("/parametres heure 25:99")
    assert "n'est pas une heure valide" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send("/parametres")
    await bot.owner.tap("s1:pause")
    bot.api.clear()
    await bot.owner.send("/digest")
    assert [c.method for c in bot.api.calls] == ["sendMessage"]
    assert "en pause" in bot.api.calls[0].params["text"]


async def test_digest_job_goes_out_once_a_day_to_every_owner(bot: BotHarness) -> None:
    """The daily check run three times on one day sends one digest; the footer shows the evidence head hash."""
    from bot.runtime import Runtime
    from storage.evidence import head_hash

    _seed(bot, "1200.00")
    runtime = Runtime(bot.adapter.settings, bot.services.core, [bot.adapter])
    for _ in range(3):
        await runtime.check_digest()
    headers = [c for c in bot.api.of("sendMessage") if "attendent votre accord" in c.params["text"]]
    assert len(headers) == 1 and headers[0].params["chat_id"] == 111
    assert len(bot.cards()) == 1
    with read_session(bot.engine) as s:
        assert head_hash(s, business_id=bot.services.business_id) in headers[0].params["text"]
    assert not bot.services.digest_due_at_start(datetime(2026, 11, 24, 9, 0, tzinfo=bot.services.tz))


async def test_send_failure_says_why_and_keeps_the_buttons(bot: BotHarness) -> None:
    """A delivery failure is told to the owner with the reason; the card keeps its six buttons (and 📅 Échéancier)."""
    _seed(bot, "1200.00")
    bot.delivery.fail = "550 5.1.1 mailbox unavailable"
    ((rid, message_id, buttons),) = await _digest(bot)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "send"), message_id)
    assert any("550 5.1.1 mailbox unavailable" in t for t in bot.api.texts())
    edit = bot.api.of("editMessageText")[-1]
    assert len(bot.buttons(edit)) == 7
    assert _reminder(bot, rid).state == ReminderState.PENDING


async def test_key_account_card_offers_the_call_script(bot: BotHarness) -> None:
    """A key account's first overdue step is a call card (the script in it, issue 11); once the owner prefers the
    e-mail, that card still advises a call first and its "Script d'appel" button sends the script."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Grand Compte SA", profile="key_account")
        make_invoice(s, client, due=date(2026, 11, 10), amount="9000.00", number="F-2026-900")
    ((_, message_id, buttons),) = await _digest(bot)
    assert "Script d'appel" in bot.cards()[0].params["text"]
    await bot.owner.tap(_data(buttons, "cmail"), message_id)
    ((_, message_id, buttons),) = await _digest(bot)
    assert "appel" in bot.cards()[0].params["text"]
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "call"), message_id)
    sent = bot.api.of("sendMessage")
    assert sent and "F-2026-900" in "".join(c.params["text"] for c in sent)


async def test_evidence_command_sends_the_zip(bot: BotHarness) -> None:
    """/preuves NUMERO sends a ZIP document; an unknown number is answered without a file."""
    _seed(bot, "1200.00")
    await bot.owner.send("/preuves F-9999")
    assert "Aucune facture n° F-9999" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send("/preuves F-2026-001")
    (doc,) = bot.api.of("sendDocument")
    assert doc.params.get("_files")


def _as_telegram_shows(text_html: str, keyboard: Any) -> dict[str, Any]:
    """The message fields Telegram puts in a callback for a card showing `text_html` and `keyboard` now.

    Telegram parses the HTML into plain text and entities, and adds an "email" entity on each address it spots.
    """
    from tests.e2e.fakebot.telegram_html import parse_html, strip_text, utf16_len

    parsed = strip_text(parse_html(text_html))
    entities = list(parsed.entities)
    for match in re.finditer(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", parsed.text):
        entities.append(
            {"type": "email", "offset": utf16_len(parsed.text[: match.start()]), "length": utf16_len(match[0])}
        )
    shown: dict[str, Any] = {"text": parsed.text, "entities": entities}
    if isinstance(keyboard, str):
        keyboard = json.loads(keyboard)
    if keyboard:
        shown["reply_markup"] = keyboard
    return shown


async def test_stale_tap_on_a_card_already_showing_the_outcome_edits_nothing(bot: BotHarness) -> None:
    """A second Envoyer whose callback carries the card already edited to "Envoyé": answered, no edit of that card."""
    _seed(bot, "1200.00")
    ((_, message_id, buttons),) = await _digest(bot)
    await bot.owner.tap(_data(buttons, "send"), message_id)
    sent_card = bot.api.of("editMessageText")[-1].params
    assert "✅ Envoyé le" in sent_card["text"]
    bot.api.clear()
    await bot.owner.tap(
        _data(buttons, "send"), message_id, shown=_as_telegram_shows(sent_card["text"], sent_card.get("reply_markup"))
    )
    assert [a.params.get("text") for a in bot.api.of("answerCallbackQuery")] == ["Déjà traité."]
    assert bot.api.of("editMessageText") == []
    assert len(bot.delivery.sent) == 1


async def test_stale_tap_edits_the_card_only_when_it_shows_something_else(bot: BotHarness) -> None:
    """After a change elsewhere, an old button on a card already current edits nothing; on the old card, one edit."""
    from bot.handlers.common import markup

    _seed(bot, "1200.00")
    ((rid, message_id, buttons),) = await _digest(bot)
    old_card = bot.cards()[-1].params
    with write_session(bot.engine) as s:  # another process acted, leaving the card's text as it was
        r = s.get(Reminder, rid)
        assert r is not None
        r.version += 1
        s.add(r)
    current = bot.services.card(rid, "fr")
    assert current is not None and current.text == old_card["text"]
    keyboard = markup(current)
    assert keyboard is not None and "'" in current.plain  # buttons and an apostrophe: the comparison is not trivial
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "snz"), message_id, shown=_as_telegram_shows(current.text, keyboard.to_dict()))
    assert [a.params.get("text") for a in bot.api.of("answerCallbackQuery")] == ["Déjà traité."]
    assert bot.api.of("editMessageText") == []
    bot.api.clear()
    await bot.owner.tap(
        _data(buttons, "snz"), message_id, shown=_as_telegram_shows(old_card["text"], old_card["reply_markup"])
    )
    (edit,) = bot.api.of("editMessageText")
    assert int(edit.params["message_id"]) == message_id
    assert _data(bot.buttons(edit), "snz").endswith(f":{rid}:1")


async def test_menus_change_only_the_tapped_card(bot: BotHarness) -> None:
    """Opening Reporter on one owner's card edits that card only; the other owner's card keeps its buttons,
    while an action that changes the reminder (+3 j) refreshes both."""
    from tests.bot_harness import Chat

    _seed(bot, "1200.00")
    bot.services.core.owner_ids = frozenset({111, 222})
    partner = Chat(bot.app, 222)
    ((rid, message_id, buttons),) = await _digest(bot)
    await partner.send("/digest")
    with read_session(bot.engine) as s:
        cards = {(c.chat_id, c.message_id) for c in s.exec(select(Card).where(Card.reminder_id == rid)).all()}
    assert {chat for chat, _ in cards} == {"111", "222"}
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "snz"), message_id)
    assert [c.params["chat_id"] for c in bot.api.of("editMessageText")] == [111]
    menu = bot.buttons(bot.api.of("editMessageText")[0])
    bot.api.clear()
    await bot.owner.tap(next(b["callback_data"] for b in menu if b["text"].startswith("+3")), message_id)
    assert sorted(c.params["chat_id"] for c in bot.api.of("editMessageText")) == [111, 222]
