"""The invoice PDF fails closed: a PDF that vanished or changed since its import is never sent to a client nor
presented to a court as the invoice; the reminder card and the evidence dossier say so, naming the invoice."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
from sqlalchemy import Engine
from sqlmodel import select

from dunning.states import ReminderState
from services.export import build_evidence_zip
from storage.db import read_session, write_session
from storage.models import Business, Card, EvidenceEntry, Reminder
from tests.bot_harness import BotHarness
from tests.factories import make_business, make_client, make_invoice

PDF = b"%PDF-1.4\n% invoice F-2026-042\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
SHA = hashlib.sha256(PDF).hexdigest()
FORGED = PDF.replace(b"F-2026-042", b"F-2026-999")
NUMBER = "F-2026-042"


def _stored_pdf(folder: Path) -> Path:
    """The PDF where the import copies it (DATA_DIR/invoices/<business>/<sha256>/<number>.pdf)."""
    path = folder / "invoices" / "1" / SHA / f"{NUMBER}.pdf"
    path.parent.mkdir(parents=True)
    path.write_bytes(PDF)
    return path


# --- reminder drafts -------------------------------------------------------------------------------------------


def _seed_bot(bot: BotHarness, pdf: Path) -> None:
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Garage Dupont SAS")
        make_invoice(
            s, client, due=date(2026, 11, 10), amount="900.00", number=NUMBER, pdf_path=str(pdf), pdf_sha256=SHA
        )


async def _card_of_digest(bot: BotHarness) -> tuple[str, set[str]]:
    bot.api.clear()
    await bot.owner.send("/digest")
    (card,) = bot.cards()
    return card.params["text"], {b["callback_data"].split(":")[1] for b in bot.buttons(card)}


async def _forged_send_sends_nothing(bot: BotHarness) -> None:
    with read_session(bot.engine) as s:
        reminder = s.exec(select(Reminder)).one()
        card_row = s.exec(select(Card)).one()
        entries_before = len(s.exec(select(EvidenceEntry)).all())
    await bot.owner.tap(f"r1:send:{reminder.id}:{reminder.version}", card_row.message_id)
    assert bot.delivery.sent == []
    with read_session(bot.engine) as s:
        after = s.get(Reminder, reminder.id)
        assert after is not None and after.state == ReminderState.PENDING
        assert len(s.exec(select(EvidenceEntry)).all()) == entries_before


async def test_missing_pdf_stops_the_draft_card_names_invoice_and_offers_no_send(
    bot: BotHarness, tmp_path: Path
) -> None:
    """A vanished invoice PDF: the card names the invoice and says the PDF is missing, no Envoyer; a forged tap
    sends and writes nothing."""
    pdf = _stored_pdf(tmp_path / "store")
    _seed_bot(bot, pdf)
    pdf.unlink()
    text, actions = await _card_of_digest(bot)
    assert "⛔" in text and f"facture {NUMBER} : le PDF joint a disparu" in text and str(pdf) in text
    assert "the attached PDF is missing" in text
    assert "send" not in actions and "edit" not in actions
    await _forged_send_sends_nothing(bot)


async def test_altered_pdf_stops_the_draft_with_both_hashes(bot: BotHarness, tmp_path: Path) -> None:
    """A PDF whose bytes no longer match the recorded SHA-256: the card says it changed since the import, with the
    recorded and found hashes, and offers no Envoyer; a forged tap sends nothing."""
    pdf = _stored_pdf(tmp_path / "store")
    _seed_bot(bot, pdf)
    pdf.write_bytes(FORGED)
    text, actions = await _card_of_digest(bot)
    assert f"facture {NUMBER} : le PDF joint a été modifié depuis son import" in text
    assert SHA in text and hashlib.sha256(FORGED).hexdigest() in text
    assert "send" not in actions
    await _forged_send_sends_nothing(bot)


async def test_intact_pdf_is_sent_attached(bot: BotHarness, tmp_path: Path) -> None:
    """With the PDF as imported, the card offers Envoyer and the e-mail sent carries exactly those bytes (the two
    refusals above are not vacuous)."""
    pdf = _stored_pdf(tmp_path / "store")
    _seed_bot(bot, pdf)
    text, actions = await _card_of_digest(bot)
    assert "send" in actions and "⛔" not in text
    with read_session(bot.engine) as s:
        reminder = s.exec(select(Reminder)).one()
        card_row = s.exec(select(Card)).one()
    await bot.owner.tap(f"r1:send:{reminder.id}:{reminder.version}", card_row.message_id)
    (request,) = bot.delivery.sent
    assert [(a.filename, a.content) for a in request.draft.attachments] == [(f"{NUMBER}.pdf", PDF)]


# --- evidence dossier ------------------------------------------------------------------------------------------


def _seed_invoice(engine: Engine, pdf: Path) -> int:
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(s, business, name="Garage Dupont SAS")
        make_invoice(
            s, client, due=date(2026, 10, 1), amount="900.00", number=NUMBER, pdf_path=str(pdf), pdf_sha256=SHA
        )
        assert business.id is not None
        return business.id


def _dossier(engine: Engine, business_id: int, tmp_path: Path) -> tuple[dict[str, bytes], str, str, dict[str, object]]:
    out = build_evidence_zip(
        engine, business_id=business_id, invoice_number=NUMBER, today=date(2026, 11, 24), out_path=tmp_path / "d.zip"
    )
    with zipfile.ZipFile(out) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    doc = pdfium.PdfDocument(files["resume.pdf"])
    summary = " ".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    doc.close()
    summary = " ".join(summary.split())
    chain = json.loads(files["chaine/entrees.json"])
    return files, files["bordereau-des-pieces.txt"].decode(), summary, chain["invoice_pdf"]


def test_dossier_says_a_missing_pdf_is_missing(engine: Engine, tmp_path: Path) -> None:
    """A vanished PDF: no facture/ file, and the bordereau, the summary and the JSON say it is missing, with the
    SHA-256 recorded at import."""
    pdf = _stored_pdf(tmp_path / "store")
    business_id = _seed_invoice(engine, pdf)
    pdf.unlink()
    files, bordereau, summary, pdf_json = _dossier(engine, business_id, tmp_path)
    assert not [name for name in files if name.startswith("facture/")]
    for text in (bordereau, summary):
        assert f"Facture n° {NUMBER} : PDF NON JOINT" in text and "a disparu du serveur" in text and SHA in text
    assert pdf_json == {"file": f"{NUMBER}.pdf", "sha256_recorded": SHA, "status": "missing", "sha256_found": None}


def test_dossier_never_presents_an_altered_pdf_as_the_invoice(engine: Engine, tmp_path: Path) -> None:
    """A PDF changed after import: its bytes are nowhere in the ZIP, and the bordereau, the summary and the JSON say
    it was altered, with the recorded and the found SHA-256."""
    pdf = _stored_pdf(tmp_path / "store")
    business_id = _seed_invoice(engine, pdf)
    pdf.write_bytes(FORGED)
    found = hashlib.sha256(FORGED).hexdigest()
    files, bordereau, summary, pdf_json = _dossier(engine, business_id, tmp_path)
    assert not [name for name in files if name.startswith("facture/")]
    assert FORGED not in files.values()
    for text in (bordereau, summary):
        assert "a été modifié depuis l'import et n'est pas la facture" in text and SHA in text and found in text
    assert pdf_json["status"] == "altered" and pdf_json["sha256_found"] == found


def test_dossier_includes_the_intact_pdf(engine: Engine, tmp_path: Path) -> None:
    """The PDF as imported is under facture/ with its bytes and listed as the invoice (no warning)."""
    pdf = _stored_pdf(tmp_path / "store")
    business_id = _seed_invoice(engine, pdf)
    files, bordereau, summary, pdf_json = _dossier(engine, business_id, tmp_path)
    assert files[f"facture/{NUMBER}.pdf"] == PDF
    assert f"Facture n° {NUMBER}  [facture/{NUMBER}.pdf]" in bordereau and "NON JOINT" not in bordereau + summary
    assert pdf_json["status"] == "included"
