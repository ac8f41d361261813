"""The court-ready evidence ZIP: contents, French summary, standalone verification, no secret inside."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine

from bot.settings import load_settings
from bot.settings import smtp_config as smtp_config_from_settings
from services.export import ExportError, build_evidence_zip
from services.outbox import deliver_due
from storage.db import write_session
from storage.models import Business, Invoice
from storage.types import utcnow
from tests.integration.delivery_helpers import PDF, queue, seed_reminder, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer

SMTP_SECRET = "Sm7p-Pa55w0rd-XYZZY"
BOT_TOKEN = "123456:AAH-t0k3n-SECRET-never-exported"


async def _invoice_with_history(engine: Engine, smtp: ScriptedSmtpServer, tmp_path: Path, due: date) -> int:
    business_id, rid, iid = seed_reminder(engine, number="F-2026-042")
    pdf = tmp_path / "F-2026-042.pdf"
    pdf.write_bytes(PDF)
    with write_session(engine) as s:
        invoice = s.get(Invoice, iid)
        assert invoice is not None
        invoice.pdf_path = str(pdf)
        invoice.pdf_sha256 = hashlib.sha256(PDF).hexdigest()
        invoice.due_date = due
        invoice.issue_date = date(due.year, due.month, 1)
        s.add(invoice)
    queue(engine, rid)
    smtp.script("450")
    config = smtp_config(smtp.port)
    await deliver_due(engine, config, business_id=business_id, now=utcnow())
    await deliver_due(engine, config, business_id=business_id, now=utcnow().replace(year=utcnow().year + 1))
    return business_id


def _zip_text(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


async def test_zip_holds_every_document(engine: Engine, smtp_server: ScriptedSmtpServer, tmp_path: Path) -> None:
    """The ZIP has the summary, the invoice PDF, the e-mail as sent, SMTP replies, entries, verify.py, bordereau."""
    business_id = await _invoice_with_history(engine, smtp_server, tmp_path, date(2026, 3, 2))
    out = build_evidence_zip(
        engine,
        business_id=business_id,
        invoice_number="F-2026-042",
        today=date(2026, 4, 15),
        out_path=tmp_path / "d.zip",
    )
    files = _zip_text(out)
    emls = [n for n in files if n.endswith(".eml")]
    assert len(emls) == 1 and files[emls[0]] == smtp_server.accepted[0].data
    assert files["facture/F-2026-042.pdf"] == PDF
    smtp_text = files["smtp/reponses-smtp.txt"].decode()
    assert "450 4.2.0" in smtp_text and "250 2.0.0" in smtp_text
    bordereau = files["bordereau-des-pieces.txt"].decode()
    assert "Pièce n° 1 : Résumé du dossier" in bordereau and "Facture n° F-2026-042" in bordereau
    assert "Pièce n° 3 : Courriel du" in bordereau
    entries = json.loads(files["chaine/entrees.json"])["entries"]
    kinds = [e["kind"] for e in entries]
    assert kinds == ["email_queued", "smtp_deferred", "smtp_accepted"]
    pdf = pdfium.PdfDocument(files["resume.pdf"])
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    assert "Dossier de preuves" in text and "F-2026-042" in text
    assert "1 234,56" in text and "(Paris)" in text and "UTC" in text
    assert "Pénalités de retard" in text and "Indemnité forfaitaire" in text and "40,00" in text
    assert "Bordereau de pièces" in text


async def test_missing_rate_is_a_labelled_section(
    engine: Engine, smtp_server: ScriptedSmtpServer, tmp_path: Path
) -> None:
    """When the ECB rate of a half-year is not known, the summary says penalties were not computed (no guess)."""
    business_id = await _invoice_with_history(engine, smtp_server, tmp_path, date(2026, 10, 15))
    out = build_evidence_zip(
        engine,
        business_id=business_id,
        invoice_number="F-2026-042",
        today=date(2026, 11, 24),
        out_path=tmp_path / "d.zip",
    )
    pdf = pdfium.PdfDocument(_zip_text(out)["resume.pdf"])
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    assert "non calculées" in text


async def test_verify_py_checks_entries_and_emails_without_database(
    engine: Engine, smtp_server: ScriptedSmtpServer, tmp_path: Path
) -> None:
    """verify.py (stdlib only) passes on the file as exported and fails when an entry or an e-mail is altered."""
    business_id = await _invoice_with_history(engine, smtp_server, tmp_path, date(2026, 3, 2))
    out = build_evidence_zip(
        engine,
        business_id=business_id,
        invoice_number="F-2026-042",
        today=date(2026, 4, 15),
        out_path=tmp_path / "d.zip",
    )
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-I", "verify.py"], cwd=folder / "chaine", capture_output=True, text=True, timeout=60
        )

    ok = run()
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 3 entries"), ok.stdout + ok.stderr
    eml = next((folder / "courriels").glob("*.eml"))
    original = eml.read_bytes()
    eml.write_bytes(original.replace(b"F-2026-042", b"F-2026-043", 1))
    assert run().returncode == 1
    eml.write_bytes(original)
    chain_file = folder / "chaine" / "entrees.json"
    data = json.loads(chain_file.read_text())
    data["entries"][1]["created_at"] = data["entries"][1]["created_at"].replace(":", ";", 1)
    chain_file.write_text(json.dumps(data))
    bad = run()
    assert bad.returncode == 1 and "entry" in bad.stdout


async def test_no_secret_in_the_zip(
    engine: Engine, smtp_server: ScriptedSmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an SMTP password and a bot token configured and used, neither appears anywhere in the ZIP."""
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_SECRET)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    settings = load_settings(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_SECURITY="none")
    assert settings.SMTP_PASSWORD is not None and settings.bot_token == BOT_TOKEN
    config = smtp_config_from_settings(settings)
    business_id, rid, _ = seed_reminder(engine, number="F-2026-042")
    queue(engine, rid)
    (result,) = await deliver_due(engine, config, business_id=business_id, now=utcnow())
    assert result.outcome == "sent"
    out = build_evidence_zip(
        engine,
        business_id=business_id,
        invoice_number="F-2026-042",
        today=date(2026, 4, 15),
        out_path=tmp_path / "d.zip",
    )
    blobs = [out.read_bytes(), *_zip_text(out).values()]
    for secret in (SMTP_SECRET, BOT_TOKEN, BOT_TOKEN.split(":")[1]):
        assert not any(secret.encode() in blob for blob in blobs)


def test_unknown_invoice_is_an_error(engine: Engine, tmp_path: Path) -> None:
    """Asking for an invoice that does not exist is a clear error, and no file is written."""
    with write_session(engine) as s:
        business = Business(slug="b", name="B")
        s.add(business)
        s.flush()
        bid = business.id or 0
    with pytest.raises(ExportError):
        build_evidence_zip(
            engine, business_id=bid, invoice_number="NOPE", today=date(2026, 1, 1), out_path=tmp_path / "x.zip"
        )
    assert not (tmp_path / "x.zip").exists()


def _summary_text(files: dict[str, bytes]) -> str:
    pdf = pdfium.PdfDocument(files["resume.pdf"])
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    pdf.close()
    return text


def test_statement_payment_and_new_states_are_labelled(engine: Engine, tmp_path: Path) -> None:
    """A payment read from a bank statement and a write-off are named in French in the summary, with the states
    in words; no kind of the log appears raw."""
    from dunning.invoice_states import WriteOff
    from storage.invoice_status import apply_to_invoice
    from storage.reminders import record_payment

    business_id, _, iid = seed_reminder(engine, number="F-2026-042")
    with write_session(engine) as s:
        record_payment(
            s, business_id=business_id, invoice_ids=[iid], amount=Decimal("100.00"), paid_on=date(2026, 4, 2),
            actor="system", note="relevé releve-avril.xml · ligne 0123456789abcdef",
        )  # fmt: skip
    with write_session(engine) as s:
        invoice = s.get(Invoice, iid)
        assert invoice is not None
        apply_to_invoice(s, invoice, WriteOff(), actor="owner:1")
    out = build_evidence_zip(
        engine, business_id=business_id, invoice_number="F-2026-042", today=date(2026, 4, 15), out_path=tmp_path / "z"
    )
    files = _zip_text(out)
    kinds = [e["kind"] for e in json.loads(files["chaine/entrees.json"])["entries"]]
    assert "payment_recorded" in kinds and "written_off" in kinds
    text = _summary_text(files)
    assert "Paiement enregistré d'après le relevé bancaire" in text
    assert "releve-avril.xml" in text
    assert "Facture passée en perte" in text and "nouvel état : passée en perte" in text
    assert "état précédent : partiellement payée" in text
    for kind in kinds:
        assert f"— {kind}" not in text


def test_xml_einvoice_is_a_numbered_piece(engine: Engine, tmp_path: Path) -> None:
    """An XML-only e-invoice's document goes into the file under facture/, listed in the bordereau, its SHA-256
    checked; altered afterwards, it is left out and the bordereau says why."""
    from services.einvoice_import import import_einvoice
    from tests.samples.einvoices import invoice_data, ubl_xml

    with write_session(engine) as s:
        business = Business(slug="default", name="Atelier Dupont SARL")
        s.add(business)
        s.flush()
        bid = business.id or 0
    data = ubl_xml(invoice_data(number="F-2026-077"))
    report = import_einvoice(
        engine, business_id=bid, data=data, filename="f.xml", actor="test", document_store=tmp_path / "docs"
    )
    assert not report.error
    out = build_evidence_zip(
        engine, business_id=bid, invoice_number="F-2026-077", today=date(2026, 9, 1), out_path=tmp_path / "d.zip"
    )
    files = _zip_text(out)
    (piece,) = [n for n in files if n.startswith("facture/")]
    assert piece.endswith(".xml") and files[piece] == data
    bordereau = files["bordereau-des-pieces.txt"].decode()
    label = "Facture n° F-2026-077 (facture électronique, document XML tel que reçu)"
    assert f"Pièce n° 2 : {label}  [{piece}]" in bordereau
    chain = json.loads(files["chaine/entrees.json"])
    assert chain["invoice_xml"]["status"] == "included"
    assert "Facture électronique importée" in _summary_text(files)

    stored = next((tmp_path / "docs").rglob("*.xml"))
    stored.write_bytes(data.replace(b"F-2026-077", b"F-2026-078"))
    files = _zip_text(
        build_evidence_zip(
            engine, business_id=bid, invoice_number="F-2026-077", today=date(2026, 9, 1), out_path=tmp_path / "e.zip"
        )
    )
    assert not [n for n in files if n.startswith("facture/")]
    bordereau = files["bordereau-des-pieces.txt"].decode()
    assert "XML NON JOINT" in bordereau and "modifié depuis l'import" in bordereau
    assert json.loads(files["chaine/entrees.json"])["invoice_xml"]["status"] == "altered"
