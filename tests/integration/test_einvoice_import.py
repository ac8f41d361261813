"""E-invoices imported into a real database (SQLite and PostgreSQL): each sample gives its client and invoice, the
client is matched by SIREN, VAT number then name, a second import changes nothing, credit notes reduce the invoice
they reference, and every bad file gets one message with nothing written; then the CLI, Telegram and Slack."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.reports import render_einvoice_import
from services.einvoice_import import EInvoiceReport, import_einvoice, import_file
from services.imports import ImportReport
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Client, EvidenceEntry, Invoice, OwnerTask, Payment
from storage.queries import status_summary
from tests.bot_harness import BotHarness
from tests.integration.slack_helpers import OWNER, slack_app
from tests.samples.einvoices import (
    BUYER,
    FOREIGN_SELLER,
    SELLER,
    Company,
    billion_laughs_xml,
    cii_xml,
    credit_note_data,
    external_entity_xml,
    facturx_pdf,
    invoice_data,
    not_an_invoice_xml,
    plain_pdf,
    truncated_xml,
    ubl_xml,
    zugferd1_xml,
)

TOTAL = Decimal("2088.00")  # (1 500 + 3 x 80) x 1.20


def _business(engine: Engine, siren: str = "") -> int:
    with write_session(engine) as session:
        business = Business(slug="default", name="Atelier Dupont SARL", siren=siren)
        session.add(business)
        session.flush()
        assert business.id is not None
        return business.id


def _import(
    engine: Engine, bid: int, data: bytes, name: str, store: Path, business_siren: str | None = None
) -> EInvoiceReport:
    return import_einvoice(
        engine,
        business_id=bid,
        data=data,
        filename=name,
        actor="test",
        document_store=store,
        business_siren=business_siren,
    )


def _counts(engine: Engine) -> tuple[int, ...]:
    with read_session(engine) as session:
        return tuple(
            int(session.exec(select(func.count()).select_from(model)).one())
            for model in (Client, Invoice, Payment, EvidenceEntry)
        )


def _invoice(engine: Engine, number: str = "F-2026-042") -> Invoice:
    with read_session(engine) as session:
        return session.exec(select(Invoice).where(Invoice.number == number)).one()


def _client(engine: Engine, client_id: int) -> Client:
    with read_session(engine) as session:
        client = session.get(Client, client_id)
        assert client is not None
        return client


SAMPLES: dict[str, tuple[Callable[[], bytes], str, bool]] = {
    "factur-x minimum": (lambda: facturx_pdf("minimum"), "pdf", True),
    "factur-x basic wl": (lambda: facturx_pdf("basicwl"), "pdf", False),
    "factur-x en16931": (lambda: facturx_pdf("en16931"), "pdf", False),
    "cii xrechnung": (lambda: cii_xml("xrechnung"), "xml", False),
    "zugferd 1.0": (zugferd1_xml, "xml", False),
    "ubl 2.1": (ubl_xml, "xml", False),
}


@pytest.mark.parametrize("sample", list(SAMPLES))
def test_each_sample_imports_its_client_and_invoice(engine: Engine, tmp_path: Path, sample: str) -> None:
    """Each kind of e-invoice gives the buyer as a new client and the invoice with its amount due and due date;
    its document is kept as the invoice's PDF, or as its XML; one evidence entry with the file's SHA-256."""
    make, kind, assumed = SAMPLES[sample]
    data = make()
    bid = _business(engine)
    report = _import(engine, bid, data, f"facture.{kind}", tmp_path)
    assert report.ok, report.error
    assert report.result is not None and report.result.status == "created" and report.result.matched_by == "new"
    invoice = _invoice(engine)
    assert (invoice.amount, invoice.amount_paid, invoice.state) == (TOTAL, Decimal("0.00"), "open")
    assert invoice.issue_date == date(2026, 3, 2) and invoice.due_date == date(2026, 4, 1)
    assert report.einvoice is not None and report.einvoice.due_date_assumed is assumed
    assert invoice.document_kind == kind
    sha = hashlib.sha256(data).hexdigest()
    path = invoice.pdf_path if kind == "pdf" else invoice.xml_path
    assert path is not None and Path(path).read_bytes() == data
    assert (invoice.pdf_sha256 if kind == "pdf" else invoice.xml_sha256) == sha
    client = _client(engine, invoice.client_id)
    assert client.name == BUYER.name and client.siren == BUYER.siren
    with read_session(engine) as session:
        entry = session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "einvoice_imported")).one()
    assert entry.invoice_id == invoice.id and sha in entry.payload and BUYER.name in entry.payload
    text = render_einvoice_import(report, "fr")
    assert "F-2026-042" in text and "2\u00a0088,00\u00a0€" in text and "01/04/2026" in text
    assert ("échéance supposée : émission + 30 jours" in text) is assumed
    assert f"Émise par : {SELLER.name}" in text  # the business has no SIREN: the owner checks the seller


def test_client_matched_by_siren_then_vat_then_name(engine: Engine, tmp_path: Path) -> None:
    """An existing client is found by its SIREN (whatever its name), by its VAT number, then by its name key; its
    blank identifiers and e-mail are filled, what the owner typed is kept."""
    bid = _business(engine)
    foreign_buyer = Company(
        "Bäckerei Schmidt GmbH", None, None, FOREIGN_SELLER.vat, None, "Weg 1", "10115", "Berlin", "DE"
    )
    with write_session(engine) as session:
        by_siren = Client(business_id=bid, name="Martin (boulangerie)", siren=BUYER.siren, emails="moi@martin.example")
        by_vat = Client(business_id=bid, name="Schmidt", vat_number=FOREIGN_SELLER.vat)
        by_name = Client(business_id=bid, name="garage  DURAND")
        session.add_all([by_siren, by_vat, by_name])
        session.flush()
        ids = [c.id for c in (by_siren, by_vat, by_name) if c.id is not None]
    durand = replace(BUYER, name="Garage Durand", siren=None, siret=None, vat=None)
    cases = [
        (ubl_xml(invoice_data(number="F-1")), "siren", ids[0]),
        (ubl_xml(invoice_data(number="F-2", buyer=foreign_buyer)), "vat", ids[1]),
        (ubl_xml(invoice_data(number="F-3", buyer=durand)), "name", ids[2]),
    ]
    for data, matched_by, client_id in cases:
        report = _import(engine, bid, data, "f.xml", tmp_path)
        assert report.result is not None and report.result.matched_by == matched_by, report.error
        assert _invoice(engine, report.result.applied_to or "").client_id == client_id
    assert _counts(engine)[0] == 3  # no client created
    martin = _client(engine, ids[0])
    assert martin.emails == "moi@martin.example" and martin.vat_number == BUYER.vat and martin.siret == BUYER.siret


def test_the_same_invoice_twice_changes_nothing_and_another_with_its_number_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    """Importing the same e-invoice again is "unchanged" (no row, no file, no evidence); the same number with
    another amount is refused with a clear message and nothing written."""
    bid = _business(engine)
    assert _import(engine, bid, facturx_pdf(), "f.pdf", tmp_path).ok
    before, files = _counts(engine), sorted(tmp_path.rglob("*"))
    again = _import(engine, bid, ubl_xml(), "f.xml", tmp_path)  # the same invoice, as UBL this time
    assert again.result is not None and again.result.status == "unchanged"
    assert "déjà importée" in render_einvoice_import(again, "fr")
    assert _counts(engine) == before and sorted(tmp_path.rglob("*")) == files
    other = _import(engine, bid, ubl_xml(invoice_data(prepaid=Decimal("88.00"))), "autre.xml", tmp_path)
    assert not other.ok and "F-2026-042 existe déjà avec d'autres données" in other.error
    assert _counts(engine) == before and sorted(tmp_path.rglob("*")) == files
    assert _invoice(engine).amount == TOTAL


def test_credit_note_reduces_the_invoice_it_references(engine: Engine, tmp_path: Path) -> None:
    """A credit note is recorded on its invoice (balance down, evidence credit_note_recorded), once; one larger
    than the balance is refused; one naming no known invoice is "to assign": applied to nothing, it becomes one task
    for the owner (with its evidence entry), raised once however often the file is imported."""
    bid = _business(engine)
    assert _import(engine, bid, facturx_pdf(), "f.pdf", tmp_path).ok
    report = _import(engine, bid, ubl_xml(credit_note_data()), "avoir.xml", tmp_path)
    assert report.result is not None and report.result.status == "credit_applied", report.error
    assert report.result.applied_to == "F-2026-042"
    assert _invoice(engine).balance == Decimal("1848.00")
    text = render_einvoice_import(report, "fr")
    assert "Avoir AV-2026-007" in text and "imputé sur la facture F-2026-042" in text and "1\u00a0848,00" in text
    with read_session(engine) as session:
        assert session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "credit_note_recorded")).one()
    before = _counts(engine)
    again = _import(engine, bid, ubl_xml(credit_note_data()), "avoir.xml", tmp_path)
    assert again.result is not None and again.result.status == "unchanged" and _counts(engine) == before
    lines = (("Geste commercial", Decimal(1), Decimal("2000.00")),)
    too_big = _import(engine, bid, ubl_xml(credit_note_data(number="AV-8", lines=lines)), "gros.xml", tmp_path)
    assert not too_big.ok and "dépasse le reste à payer de la facture F-2026-042" in too_big.error
    for number, reference in (("AV-9", "F-9999"), ("AV-10", None)):
        lost = _import(engine, bid, ubl_xml(credit_note_data(number=number, referenced=reference)), "a.xml", tmp_path)
        assert lost.result is not None and lost.result.status == "to_assign", lost.error
        assert "à vous de l'affecter" in render_einvoice_import(lost, "fr")
        again = _import(engine, bid, ubl_xml(credit_note_data(number=number, referenced=reference)), "a.xml", tmp_path)
        assert again.result is not None and again.result.status == "to_assign"
    clients, invoices, payments, entries = _counts(engine)
    assert (clients, invoices, payments, entries) == (*before[:3], before[3] + 2)
    assert _invoice(engine).balance == Decimal("1848.00")
    with read_session(engine) as session:
        tasks = session.exec(select(OwnerTask).order_by(col(OwnerTask.id))).all()
        assert [(t.kind, t.dedupe_key, t.state) for t in tasks] == [
            ("credit_note", "credit_note:AV-9", "open"),
            ("credit_note", "credit_note:AV-10", "open"),
        ]
        kinds = session.exec(select(EvidenceEntry.kind).order_by(col(EvidenceEntry.seq))).all()
        assert kinds[-2:] == ["credit_note_to_assign", "credit_note_to_assign"]
    with read_session(engine) as session:  # a credit note brings no money in
        assert status_summary(session, business_id=bid, today=date(2026, 3, 31)).recovered_this_month == 0


def test_a_credit_note_settling_an_invoice_withdraws_its_waiting_reminder(engine: Engine, tmp_path: Path) -> None:
    """A credit note for the whole balance settles the invoice like a payment: its waiting reminder is cancelled,
    so Relance never chases it again."""
    from datetime import timedelta

    from dunning.calendar import next_business_day
    from dunning.states import ReminderState
    from storage.models import Reminder
    from storage.reminders import refresh_due

    bid = _business(engine)
    assert _import(engine, bid, facturx_pdf(), "f.pdf", tmp_path).ok
    with write_session(engine) as session:
        business = session.get(Business, bid)
        assert business is not None
        today = next_business_day(_invoice(engine).due_date + timedelta(days=10))
        (view,) = refresh_due(session, business=business, today=today)
    lines = (("Annulation de la commande", Decimal(1), Decimal("1740.00")),)  # 1 740,00 HT = 2 088,00 TTC
    report = _import(engine, bid, ubl_xml(credit_note_data(number="AV-11", lines=lines)), "avoir.xml", tmp_path)
    assert report.result is not None and report.result.status == "credit_applied", report.error
    assert _invoice(engine).balance == 0 and _invoice(engine).state == "cancelled"  # nothing paid: cancelled
    with read_session(engine) as session:
        reminder = session.get(Reminder, view.reminder_id)
        assert reminder is not None and reminder.state == ReminderState.CANCELLED


BAD_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "billion laughs": (billion_laughs_xml, "DOCTYPE"),
    "external entity": (external_entity_xml, "DOCTYPE"),
    "truncated": (truncated_xml, "tronqué"),
    "not an invoice": (not_an_invoice_xml, "n'est pas une facture"),
    "plain pdf": (plain_pdf, "aucune donnée de facture électronique"),
    "too large": (lambda: b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>", "trop volumineux"),
    "other seller": (lambda: ubl_xml(invoice_data(seller=FOREIGN_SELLER)), "ce n'est pas votre facture"),
    "other currency": (lambda: ubl_xml(invoice_data(currency="USD")), "USD non prise en charge"),
}


@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_bad_files_get_one_message_and_write_nothing(engine: Engine, tmp_path: Path, bad: str) -> None:
    """Hostile, broken or foreign files: one message naming the problem, no row and no file written."""
    make, expected = BAD_FILES[bad]
    bid = _business(engine)
    before = _counts(engine)
    report = _import(engine, bid, make(), "mauvais.xml", tmp_path / "store", business_siren=SELLER.siren)
    assert not report.ok and expected in report.error
    assert "Import refusé (mauvais.xml) : rien n'a été enregistré" in render_einvoice_import(report, "fr")
    assert _counts(engine) == before and not (tmp_path / "store").exists()


def test_import_file_routes_by_content(engine: Engine, tmp_path: Path) -> None:
    """The chats' one entry point: a CSV goes to the CSV import, an e-invoice to this one, whatever the name."""
    bid = _business(engine)
    csv = b"invoice_number;client_name;issue_date;due_date;amount\nF-1;ACME;01/10/2026;31/10/2026;10\n"
    for data, name, kind in ((csv, "a.pdf", ImportReport), (ubl_xml(), "a.csv", EInvoiceReport)):
        report = import_file(engine, business_id=bid, data=data, filename=name, actor="test", document_store=tmp_path)
        assert isinstance(report, kind) and report.ok


def test_cli_imports_an_einvoice_and_dry_run_writes_nothing(cli_workdir: Path) -> None:
    """`relance import FILE` tells an e-invoice by its content; --dry-run shows it and writes nothing; a hostile
    file exits 1 with its message on stderr."""
    tmp_path = cli_workdir
    url = f"sqlite:///{tmp_path / 'relance.db'}"
    (tmp_path / "facture.pdf").write_bytes(facturx_pdf("minimum"))
    (tmp_path / "piege.xml").write_bytes(external_entity_xml())
    runner = CliRunner()
    dry = runner.invoke(app, ["import", "facture.pdf", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Facture F-2026-042 importée" in dry.stdout and "rien n'a été enregistré" in dry.stdout
    engine = make_engine(url)
    try:
        assert _counts(engine)[:3] == (0, 0, 0)
        done = runner.invoke(app, ["import", "facture.pdf"])
        assert done.exit_code == 0 and "échéance supposée" in done.stdout
        assert _invoice(engine).document_kind == "pdf"
        bad = runner.invoke(app, ["import", "piege.xml"])
        assert bad.exit_code == 1 and "DOCTYPE" in bad.stderr
    finally:
        engine.dispose()


async def test_telegram_upload_of_a_facturx_pdf(bot: BotHarness) -> None:
    """A Factur-X PDF sent to the bot is imported like from the CLI, with its summary card."""
    bot.api.files["fx"] = facturx_pdf()
    await bot.owner.send_document("facture.pdf", len(bot.api.files["fx"]), file_id="fx")
    text = bot.api.of("sendMessage")[-1].params["text"]
    assert "Facture F-2026-042 importée (facture.pdf)" in text, text
    assert _invoice(bot.engine).document_kind == "pdf"


async def test_slack_upload_of_a_ubl_xml(sqlite_url: str, tmp_path: Path) -> None:
    """A UBL invoice shared in the app's DM is imported, with its summary."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.share_file(OWNER, "facture.xml", ubl_xml())
        answer = await h.answer("Facture F-2026-042 importée")
        assert BUYER.name in answer.plain
        assert _invoice(h.engine).document_kind == "xml"


def test_company_vat_number_refuses_another_sellers_invoice(cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """COMPANY_VAT_NUMBER, applied by `relance config apply`, is the business's: an e-invoice from another seller
    is refused naming the file and both numbers, with nothing written; the business's own is imported without its
    seller shown; a malformed number stops config apply naming the setting."""
    runner = CliRunner()
    monkeypatch.setenv("COMPANY_VAT_NUMBER", "FR 41 123456824")  # wrong check digits
    bad_setting = runner.invoke(app, ["config", "apply"])
    assert bad_setting.exit_code == 2 and "COMPANY_VAT_NUMBER" in bad_setting.output
    monkeypatch.setenv("COMPANY_VAT_NUMBER", SELLER.vat or "")
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    (cli_workdir / "allemande.xml").write_bytes(ubl_xml(invoice_data(seller=FOREIGN_SELLER)))
    (cli_workdir / "notre.xml").write_bytes(ubl_xml())
    engine = make_engine(f"sqlite:///{cli_workdir / 'relance.db'}")
    try:
        with read_session(engine) as session:
            business = session.exec(select(Business)).one()
            assert business.vat_number == SELLER.vat
        refused = runner.invoke(app, ["import", "allemande.xml"])
        assert refused.exit_code == 1
        message = " ".join(refused.stderr.split())
        assert "allemande.xml" in message and "ce n'est pas votre facture" in message
        assert f"TVA {FOREIGN_SELLER.vat}" in message and f"TVA {SELLER.vat}" in message
        assert _counts(engine)[:3] == (0, 0, 0)
        done = runner.invoke(app, ["import", "notre.xml"])
        assert done.exit_code == 0, done.output
        assert "Facture F-2026-042 importée" in done.stdout and "Émise par" not in done.stdout
    finally:
        engine.dispose()


def test_a_seller_without_numbers_is_named_even_when_the_business_has_its_own(engine: Engine, tmp_path: Path) -> None:
    """The business's numbers cannot rule on a seller who gives none: the invoice is read and the seller named."""
    anonymous = replace(SELLER, siren=None, siret=None, vat=None)
    bid = _business(engine)
    report = _import(engine, bid, ubl_xml(invoice_data(seller=anonymous)), "f.xml", tmp_path, SELLER.siren)
    assert report.ok and report.show_seller
    assert f"Émise par : {SELLER.name}" in render_einvoice_import(report, "fr")
