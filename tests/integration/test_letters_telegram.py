"""Registered letters (LRAR) in Telegram, by transcript: ✉️ LRAR envoyée, 📬 AR reçu with a scan sent in the chat,
📮 première présentation, pli non réclamé, retourné; stale taps; the deadline the card, the letter, /client and
/status state."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, RegisteredLetter
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice, make_reminder

TODAY = date(2026, 11, 24)
PDF = b"%PDF-1.4\n% signed acknowledgment of receipt\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def _notice(bot: BotHarness, *, state: str = "pending") -> int:
    """A formal notice of Client SAS (invoice F-2026-010, 1 200 €, due 01/10/2026), planned today."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Bâtiments Martin SAS")
        inv = make_invoice(s, client, due=date(2026, 10, 1), amount="1200.00", number="F-2026-010")
        reminder = make_reminder(s, client, [inv], step="formal_notice", planned_date=TODAY, state=state)
        assert reminder.id is not None
        return reminder.id


def _buttons(bot: BotHarness) -> list[dict[str, str]]:
    """The buttons of the last card sent or edited."""
    calls = [
        c for c in bot.api.calls if c.method in ("sendMessage", "editMessageText") and c.params.get("reply_markup")
    ]
    return bot.buttons(calls[-1]) if calls else []


def _evidence(bot: BotHarness, kind: str) -> list[dict[str, Any]]:
    with read_session(bot.engine) as s:
        rows = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == kind)).all()
        return [json.loads(r.payload) for r in rows]


def _letter(bot: BotHarness) -> RegisteredLetter:
    with read_session(bot.engine) as s:
        letter = s.exec(select(RegisteredLetter)).one()
        return letter


async def _show(bot: BotHarness, rid: int) -> list[dict[str, str]]:
    """Show the notice's card in the owner's chat (as the digest does) and return its buttons."""
    card = bot.services.card(rid, "fr")
    assert card is not None
    message = await bot.app.bot.send_message(111, card.text, reply_markup=_markup(card))
    bot.services.register_cards([(rid, "111", str(message.message_id))])
    return _buttons(bot)


def _markup(card: Any) -> Any:
    from bot.handlers.common import markup

    return markup(card)


async def _send_photo(bot: BotHarness, file_id: str, data: bytes, caption: str | None = None) -> None:
    """The owner sends a photo (Telegram's sizes, the largest last), optionally with a caption."""
    bot.api.files[file_id] = data
    message: dict[str, Any] = {
        "message_id": 20_000,
        "date": int(datetime.now(UTC).timestamp()),
        "chat": {"id": 111, "type": "private"},
        "from": {"id": 111, "is_bot": False, "first_name": "Marie", "language_code": "fr"},
        "photo": [
            {"file_id": "thumb", "file_unique_id": "thumb", "width": 90, "height": 120, "file_size": 10},
            {"file_id": file_id, "file_unique_id": file_id, "width": 900, "height": 1200, "file_size": len(data)},
        ],
    }
    if caption:
        message["caption"] = caption
    await bot.owner.feed({"message": message})


async def test_posting_then_receipt_with_a_pdf_scan(bot: BotHarness, tmp_path: Path) -> None:
    """✉️ LRAR envoyée asks the number then the date; 📬 AR reçu takes the date then the PDF: the letter, its two
    evidence entries, the scan under DATA_DIR with its SHA-256, and the card saying when the deadline ends."""
    rid = _notice(bot)
    buttons = await _show(bot, rid)
    assert [b["text"] for b in buttons][-1] == "✉️ LRAR envoyée"
    assert buttons[-1]["callback_data"] == f"l1:sent:{rid}:0"

    bot.api.clear()
    await bot.owner.tap(f"l1:sent:{rid}:0")
    assert "Numéro de suivi La Poste et date d'envoi" in bot.api.texts()[-1]
    await bot.owner.send("1A 1234 567")
    assert "n'est pas un numéro de suivi La Poste" in bot.api.texts()[-1]
    await bot.owner.send("1A12345678901")
    assert "Date d'envoi de la lettre recommandée" in bot.api.texts()[-1]
    await bot.owner.send("25/11/2026")
    assert "pas encore arrivé" in bot.api.texts()[-1]
    await bot.owner.send("23/11/2026")
    assert "Lettre recommandée n° 1A12345678901 enregistrée, envoyée le 23/11/2026" in " ".join(bot.api.texts())
    letter = _letter(bot)
    assert (letter.tracking_number, letter.sent_on, letter.outcome, letter.version) == (
        "1A12345678901", date(2026, 11, 23), "sent", 1)  # fmt: skip
    assert _evidence(bot, "lrar_sent") == [
        {"letter_id": letter.id, "tracking_number": "1A12345678901", "sent_on": "2026-11-23"}
    ]
    edited = bot.api.of("editMessageText")[-1]
    assert "Délai de paiement : jusqu'au 01/12/2026" in edited.params["text"]
    assert [b["text"] for b in bot.buttons(edited)][-3:] == ["📬 AR reçu", "📭 Pli non réclamé", "↩️ Retourné"]

    bot.api.clear()
    await bot.owner.tap(f"l1:sent:{rid}:0")  # the first card's button, again
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."
    assert len(_evidence(bot, "lrar_sent")) == 1

    await bot.owner.tap(f"l1:recv:{rid}:1")
    await bot.owner.send("24/11/2026")
    assert "Envoyez la photo ou le PDF" in bot.api.texts()[-1]
    await bot.owner.send("plus tard")
    assert "Envoyez la photo ou le PDF" in bot.api.texts()[-1]
    bot.api.files["ar1"] = b"just some text, not a scan"
    await bot.owner.send_document("ar.pdf", 26, file_id="ar1")
    assert "ni une photo (JPEG, PNG) ni un PDF" in bot.api.texts()[-1]
    bot.api.files["ar2"] = PDF
    await bot.owner.send_document("ar.pdf", len(PDF), file_id="ar2")
    assert "Accusé de réception du 24/11/2026 enregistré avec son scan" in " ".join(bot.api.texts())
    letter = _letter(bot)
    digest = hashlib.sha256(PDF).hexdigest()
    assert (letter.outcome, letter.received_on, letter.first_presented_on, letter.proof_sha256) == (
        "received", date(2026, 11, 24), date(2026, 11, 24), digest)  # fmt: skip
    assert letter.proof_path is not None and Path(letter.proof_path).read_bytes() == PDF
    assert Path(letter.proof_path).is_relative_to(tmp_path.resolve())
    (entry,) = _evidence(bot, "lrar_received")
    assert (entry["proof_sha256"], entry["proof_type"], entry["received_on"]) == (digest, "pdf", "2026-11-24")
    edited = bot.api.of("editMessageText")[-1]
    assert "Accusé de réception signé le 24/11/2026 (scan conservé)" in edited.params["text"]
    assert "jusqu'au 02/12/2026 (compté depuis la première présentation)" in edited.params["text"]
    assert not any(b["callback_data"].startswith("l1:") for b in bot.buttons(edited))

    bot.api.clear()
    await bot.owner.tap(f"l1:recv:{rid}:1")  # stale: the receipt is recorded
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."


async def test_posting_in_one_line_and_a_photo_with_its_date_as_caption(bot: BotHarness) -> None:
    """ "AR123456789FR 20/11/2026" records at once; a photo captioned with the date records the receipt at once."""
    rid = _notice(bot, state="sent")
    buttons = await _show(bot, rid)
    assert [b["callback_data"] for b in buttons] == [f"l1:sent:{rid}:0"]  # a sent notice: the letter's button only
    await bot.owner.tap(f"l1:sent:{rid}:0")
    await bot.owner.send("AR123456789FR 20/11/2026")
    assert _letter(bot).tracking_number == "AR123456789FR"
    await bot.owner.tap(f"l1:recv:{rid}:1")
    await _send_photo(bot, "photo1", JPEG, caption="22/11/2026")
    letter = _letter(bot)
    assert (letter.outcome, letter.received_on, letter.proof_sha256) == (
        "received", date(2026, 11, 22), hashlib.sha256(JPEG).hexdigest())  # fmt: skip
    assert letter.proof_path is not None and letter.proof_path.endswith(".jpg")


async def test_receipt_without_scan_and_date_before_posting_refused(bot: BotHarness) -> None:
    """A date of receipt before the posting is refused (asked again); "sans" records the receipt without a scan."""
    rid = _notice(bot)
    await _show(bot, rid)
    await bot.owner.tap(f"l1:sent:{rid}:0")
    await bot.owner.send("1A12345678901 20/11/2026")
    await bot.owner.tap(f"l1:recv:{rid}:1")
    await bot.owner.send("19/11/2026")
    await bot.owner.send("sans")
    assert "précède l'envoi de la lettre (20/11/2026)" in bot.api.texts()[-1]
    assert _letter(bot).outcome == "sent"
    await bot.owner.send("21/11/2026")
    await bot.owner.send("sans")
    letter = _letter(bot)
    assert (letter.outcome, letter.proof_path, letter.proof_sha256) == ("received", None, None)
    assert "enregistré, sans scan" in " ".join(bot.api.texts())


async def test_unclaimed_counts_the_deadline_from_the_delivery_notice(bot: BotHarness) -> None:
    """Pli non réclamé asks the first presentation's date: the letter and the draft's deadline run from it."""
    rid = _notice(bot)
    await _show(bot, rid)
    await bot.owner.tap(f"l1:sent:{rid}:0")
    await bot.owner.send("1A12345678901 18/11/2026")
    await bot.owner.tap(f"l1:uncl:{rid}:1")
    await bot.owner.send("19/11/2026")
    letter = _letter(bot)
    assert (letter.outcome, letter.first_presented_on) == ("unclaimed", date(2026, 11, 19))
    assert _evidence(bot, "lrar_unclaimed")[0]["first_presented_on"] == "2026-11-19"
    full = bot.services.full_text(rid)
    assert full is not None and "au plus tard le 27 novembre 2026" in full


async def test_returned_letter_and_client_status_lists(bot: BotHarness) -> None:
    """/client and /status list the notices awaiting their acknowledgment with the deadline; a returned one is no
    longer listed, and its card says to check the address."""
    rid = _notice(bot)
    await _show(bot, rid)
    await bot.owner.tap(f"l1:sent:{rid}:0")
    await bot.owner.send("1A12345678901 20/11/2026")
    bot.api.clear()
    await bot.owner.send("/client Martin")
    client_text = bot.api.texts()[0]
    assert "Mises en demeure en attente de l'accusé de réception" in client_text
    assert "LRAR 1A12345678901 envoyée le 20/11/2026 · délai jusqu'au 28/11/2026" in client_text
    bot.api.clear()
    await bot.owner.send("/status")
    assert "LRAR 1A12345678901 envoyée le 20/11/2026 · délai jusqu'au 28/11/2026" in bot.api.texts()[0]

    await bot.owner.tap(f"l1:ret:{rid}:1")
    await bot.owner.send("aujourd'hui")
    assert _letter(bot).outcome == "returned"
    assert _evidence(bot, "lrar_returned")[0]["returned_on"] == "2026-11-24"
    assert "Lettre revenue sans avoir été distribuée" in bot.api.of("editMessageText")[-1].params["text"]
    bot.api.clear()
    await bot.owner.send("/client Martin")
    assert "accusé de réception" not in bot.api.texts()[0]


async def test_forged_letter_buttons_change_nothing(bot: BotHarness) -> None:
    """A letter button naming no formal notice (another step, or no such id) is refused; nothing is stored."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business)
        inv = make_invoice(s, client, due=date(2026, 11, 10))
        other = make_reminder(s, client, [inv], step="reminder_1", planned_date=TODAY)
    for data in (f"l1:sent:{other.id}:0", "l1:sent:999999:0", "l1:zap:1:0"):
        bot.api.clear()
        await bot.owner.tap(data)
        assert bot.api.of("answerCallbackQuery")[0].params["text"] != "Déjà traité."
        assert bot.api.of("sendMessage") == []
    with read_session(bot.engine) as s:
        assert s.exec(select(RegisteredLetter)).all() == []


async def test_the_deadline_agrees_everywhere_and_the_dossier_holds_the_scan(bot: BotHarness) -> None:
    """One deadline (first presentation + 8 days) in the letter's context, the e-mail, the card, /client, the status
    JSON and the dossier; the dossier lists the LRAR events and joins the scan as a numbered piece of the bordereau."""
    import io
    import zipfile

    from bot.reports import render_client
    from messages.formatting import format_date
    from services.drafts import draft_context

    rid = _notice(bot)
    ctx = bot.services.core.ctx
    posted = bot.services.letter_sent(rid, 0, tracking="1A12345678901", sent_on=date(2026, 11, 18), actor="owner:111",
                                      lang="fr")  # fmt: skip
    assert posted.ok
    assert bot.services.core.letter_presented(rid, 1, presented_on=date(2026, 11, 20), actor="owner:111").ok
    deadline = date(2026, 11, 28)
    with read_session(bot.engine) as s:
        assert draft_context(s, reminder_id=rid, today=TODAY, business_id=ctx.business_id).deadline == deadline
    full = bot.services.full_text(rid)
    assert full is not None and f"au plus tard le {format_date(deadline)}" in full
    card = bot.services.card(rid, "fr")
    assert card is not None and "jusqu'au 28/11/2026 (compté depuis la première présentation)" in card.text
    file = bot.services.client_file(bot.services.letters_awaiting()[0].letter.client_id)
    assert file is not None
    shown = render_client(*file, TODAY, "fr", letters=bot.services.letters_awaiting(file[0].id))
    assert "présentée le 20/11/2026 · délai jusqu'au 28/11/2026" in shown
    (waiting,) = bot.services.status().to_json()["letters_awaiting_receipt"]
    assert (waiting["deadline"], waiting["first_presented_on"]) == ("2026-11-28", "2026-11-20")

    assert bot.services.letter_received(rid, 2, received_on=date(2026, 11, 21), proof=PDF, actor="owner:111",
                                        lang="fr").ok  # fmt: skip
    assert bot.services.status().to_json()["letters_awaiting_receipt"] == []
    archive = zipfile.ZipFile(io.BytesIO(bot.services.evidence_zip("F-2026-010")))
    chain = json.loads(archive.read("chaine/entrees.json"))
    (letter,) = chain["registered_letters"]
    assert (letter["deadline"], letter["first_presented_on"], letter["received_on"]) == (
        "2026-11-28", "2026-11-20", "2026-11-21")  # fmt: skip
    assert letter["proof"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert archive.read(letter["proof"]["path"]) == PDF
    kinds = [e["kind"] for e in chain["entries"]]
    assert [k for k in kinds if k.startswith("lrar_")] == ["lrar_sent", "lrar_presented", "lrar_received"]
    bordereau = archive.read("bordereau-des-pieces.txt").decode()
    line = next(x for x in bordereau.splitlines() if "Accusé de réception signé" in x)
    assert line.startswith("Pièce n° ") and "1A12345678901" in line and letter["proof"]["path"] in line
    assert f"{hashlib.sha256(PDF).hexdigest()}  {letter['proof']['path']}" in archive.read("SHA256SUMS.txt").decode()


async def test_an_altered_scan_is_listed_as_not_joined(bot: BotHarness) -> None:
    """A scan changed on disk after it was recorded is not joined; the bordereau says so with the recorded SHA-256."""
    import io
    import zipfile

    rid = _notice(bot)
    bot.services.letter_sent(rid, 0, tracking="1A12345678901", sent_on=date(2026, 11, 18), actor="owner:111",
                             lang="fr")  # fmt: skip
    bot.services.letter_received(rid, 1, received_on=date(2026, 11, 21), proof=JPEG, actor="owner:111", lang="fr")
    letter = _letter(bot)
    assert letter.proof_path is not None
    Path(letter.proof_path).write_bytes(JPEG + b"edited")
    archive = zipfile.ZipFile(io.BytesIO(bot.services.evidence_zip("F-2026-010")))
    bordereau = archive.read("bordereau-des-pieces.txt").decode()
    assert "NON JOINT" in bordereau and str(letter.proof_sha256) in bordereau
    assert not any(n.startswith("accuses-de-reception/") for n in archive.namelist())


async def test_the_digest_card_of_a_notice_shows_its_posted_letter(bot: BotHarness) -> None:
    """A formal notice still waiting in the digest, whose letter was already posted, shows the letter and offers
    AR reçu / non réclamé / retourné (not LRAR envoyée again)."""
    from bot.presenter import render_digest_parts

    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Bâtiments Martin SAS")
        inv = make_invoice(s, client, due=date(2026, 10, 1), amount="1200.00", number="F-2026-010")
        for step, day in (("reminder_1", date(2026, 10, 8)), ("reminder_2", date(2026, 10, 16))):
            make_reminder(s, client, [inv], step=step, planned_date=day, state="sent",
                          sent_at=datetime(day.year, day.month, day.day, 9, tzinfo=UTC))  # fmt: skip
    first = bot.services.digest(claim=False)
    assert first is not None
    (rid,) = [v.reminder_id for v in first.views if v.step == "formal_notice"]
    bot.services.letter_sent(rid, 0, tracking="1A12345678901", sent_on=date(2026, 11, 20), actor="owner:111",
                             lang="fr")  # fmt: skip
    data = bot.services.digest(claim=False)
    assert data is not None and rid in [v.reminder_id for v in data.views]
    parts = dict(render_digest_parts(data, "fr")[1])[rid]
    assert [b.data for b in parts.buttons[-1]] == [
        f"l1:pres:{rid}:1", f"l1:recv:{rid}:1", f"l1:uncl:{rid}:1", f"l1:ret:{rid}:1"]  # fmt: skip
    assert any("Lettre recommandée n° 1A12345678901" in line for line in parts.head)


async def test_first_presentation_moves_the_deadline_on_the_card_client_and_dossier(bot: BotHarness) -> None:
    """📮 Première présentation asks the date (future and before-posting dates refused, asked again), records it with
    `lrar_presented`, and moves the one deadline (posting + 8 days -> presentation + 8 days) on the card, the e-mail,
    /client and the dossier; the old card's button is then stale; a later Pli non réclamé keeps that presentation."""
    import io
    import zipfile

    rid = _notice(bot)
    await _show(bot, rid)
    await bot.owner.tap(f"l1:sent:{rid}:0")
    await bot.owner.send("1A12345678901 18/11/2026")
    edited = bot.api.of("editMessageText")[-1]
    assert "jusqu'au 26/11/2026 (compté depuis l'envoi" in edited.params["text"]
    assert [b["text"] for b in bot.buttons(edited)][-4] == "📮 Première présentation"

    bot.api.clear()
    await bot.owner.tap(f"l1:pres:{rid}:1")
    assert "Date de la première présentation de la lettre" in bot.api.texts()[-1]
    await bot.owner.send("25/11/2026")
    assert "pas encore arrivé" in bot.api.texts()[-1]
    await bot.owner.send("17/11/2026")
    assert "précède l'envoi de la lettre (18/11/2026)" in bot.api.texts()[-1]
    assert _letter(bot).first_presented_on is None and _evidence(bot, "lrar_presented") == []
    await bot.owner.send("20/11/2026")
    assert "Première présentation du 20/11/2026 enregistrée : délai de paiement jusqu'au 28/11/2026" in " ".join(
        bot.api.texts()
    )
    letter = _letter(bot)
    assert (letter.outcome, letter.first_presented_on, letter.version) == ("sent", date(2026, 11, 20), 2)
    (entry,) = _evidence(bot, "lrar_presented")
    assert entry["first_presented_on"] == "2026-11-20"
    edited = bot.api.of("editMessageText")[-1]
    assert "envoyée le 18/11/2026, présentée le 20/11/2026" in edited.params["text"]
    assert "jusqu'au 28/11/2026 (compté depuis la première présentation)" in edited.params["text"]
    assert f"l1:pres:{rid}:2" in [b["callback_data"] for b in bot.buttons(edited)]
    full = bot.services.full_text(rid)
    assert full is not None and "au plus tard le 28 novembre 2026" in full
    bot.api.clear()
    await bot.owner.send("/client Martin")
    assert "présentée le 20/11/2026 · délai jusqu'au 28/11/2026" in bot.api.texts()[0]
    archive = zipfile.ZipFile(io.BytesIO(bot.services.evidence_zip("F-2026-010")))
    (registered,) = json.loads(archive.read("chaine/entrees.json"))["registered_letters"]
    assert (registered["deadline"], registered["first_presented_on"]) == ("2026-11-28", "2026-11-20")

    bot.api.clear()
    await bot.owner.tap(f"l1:pres:{rid}:1")  # the card as it was before the presentation
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."
    await bot.owner.send("21/11/2026")  # no question open: nothing recorded
    assert len(_evidence(bot, "lrar_presented")) == 1 and _letter(bot).first_presented_on == date(2026, 11, 20)

    await bot.owner.tap(f"l1:uncl:{rid}:2")
    await bot.owner.send("22/11/2026")
    assert "présenté le 20/11/2026" in " ".join(bot.api.texts())
    letter = _letter(bot)
    assert (letter.outcome, letter.first_presented_on) == ("unclaimed", date(2026, 11, 20))
