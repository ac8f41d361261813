"""The invoice import against a real database (SQLite and PostgreSQL): all-or-nothing, idempotent, updates."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from dunning.penalties import RateTable
from messages.render import default_renderer
from services.drafts import invoice_context
from services.export import build_evidence_zip
from services.imports import ImportReport, import_csv
from storage.db import read_session, write_session
from storage.models import Business, Client, EvidenceEntry, Invoice, Payment

HEADER = "invoice_number;client_name;client_email;issue_date;due_date;amount;client_profile;paid_amount"
ROWS = [
    "F-001;Boulangerie Martin SARL;compta@martin.example.fr;01/10/2026;31/10/2026;1 234,56;loyal;",
    "F-002;Boulangerie Martin SARL;;05/10/2026;04/11/2026;99,90;;",
    "F-003;Garage Dupont SAS;dupont@example.com;2026-10-10;2026-11-09;2.500,00;late_payer;500",
]


def _data(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def _business(engine: Engine) -> int:
    with write_session(engine) as session:
        business = Business(slug="default", name="Test SARL")
        session.add(business)
        session.flush()
        assert business.id is not None
        return business.id


def _invoices(engine: Engine) -> dict[str, Invoice]:
    with read_session(engine) as session:
        return {i.number: i for i in session.exec(select(Invoice)).all()}


def _count(engine: Engine, model: type) -> int:
    with read_session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_import_creates_clients_and_invoices(engine: Engine) -> None:
    """A valid file creates its clients and invoices with exact amounts, profiles and paid states."""
    bid = _business(engine)
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    assert report.ok, report.errors
    assert (report.clients_created, report.invoices_created, report.invoices_updated) == (2, 3, 0)
    inv = _invoices(engine)
    assert inv["F-001"].amount == Decimal("1234.56")
    assert inv["F-003"].amount == Decimal("2500.00")
    assert inv["F-003"].amount_paid == Decimal("500.00")
    assert inv["F-002"].due_date == date(2026, 11, 4)
    assert {n: i.state for n, i in inv.items()} == {"F-001": "open", "F-002": "open", "F-003": "partially_paid"}
    with read_session(engine) as session:
        martin = session.exec(select(Client).where(Client.name == "Boulangerie Martin SARL")).one()
    assert (martin.emails, martin.profile, martin.language) == ("compta@martin.example.fr", "loyal", "fr")


def test_import_is_logged_in_evidence(engine: Engine) -> None:
    """Each import leaves one evidence entry with the file name, its SHA-256 and the counts."""
    bid = _business(engine)
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    with read_session(engine) as session:
        entries = session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "import")).all()
    assert len(entries) == 1
    payload = json.loads(entries[0].payload)
    assert payload["file"] == "f.csv"
    assert payload["sha256"] == report.sha256 and len(report.sha256) == 64
    assert (payload["created"], payload["updated"]) == (3, 0)


def test_reimport_same_file_changes_nothing(engine: Engine) -> None:
    """Importing the same file twice reports 0 created and 0 updated and leaves rows untouched."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    before = {n: (i.updated_at, i.amount) for n, i in _invoices(engine).items()}
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    assert report.ok
    assert (report.clients_created, report.clients_updated, report.invoices_created, report.invoices_updated) == (
        0,
        0,
        0,
        0,
    )
    assert report.invoices_unchanged == 3
    assert {n: (i.updated_at, i.amount) for n, i in _invoices(engine).items()} == before


def test_changed_amount_due_date_and_payment_update(engine: Engine) -> None:
    """A changed amount, due date or paid amount updates the invoice; a fully paid one becomes paid."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    rows = [
        ROWS[0].replace("1 234,56", "1 300,00"),
        "F-002;Boulangerie Martin SARL;;05/10/2026;14/11/2026;99,90;;99,90",
        ROWS[2].replace("late_payer", "key_account"),
    ]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="g.csv", today=date(2026, 11, 20))
    assert report.ok, report.errors
    assert (report.invoices_created, report.invoices_updated, report.clients_updated) == (0, 2, 1)
    inv = _invoices(engine)
    assert inv["F-001"].amount == Decimal("1300.00")
    assert inv["F-002"].due_date == date(2026, 11, 14)
    assert inv["F-002"].state == "paid"
    with read_session(engine) as session:
        payments = session.exec(select(Payment)).all()
        dupont = session.exec(select(Client).where(Client.name == "Garage Dupont SAS")).one()
    assert [(p.amount, p.paid_on) for p in payments] == [(Decimal("99.90"), date(2026, 11, 20))]
    assert dupont.profile == "key_account"


def test_blank_optional_cells_keep_existing_values(engine: Engine) -> None:
    """A blank paid_amount or e-mail on re-import keeps what the database already knows."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    rows = [ROWS[0].replace("compta@martin.example.fr", ""), ROWS[1], ROWS[2].removesuffix("500")]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="f.csv")
    assert (report.invoices_updated, report.clients_updated) == (0, 0)
    assert _invoices(engine)["F-003"].amount_paid == Decimal("500.00")


def test_any_bad_row_imports_nothing(engine: Engine) -> None:
    """One bad row among good ones: no client, no invoice, no evidence entry is written, and errors are listed."""
    bid = _business(engine)
    rows = [*ROWS, "F-004;Garage Dupont SAS;;31/02/2026;01/03/2026;10;;", "F-005;X;;01/01/2026;01/02/2026;-1;;"]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="bad.csv")
    assert not report.ok
    assert [(e.line, e.column) for e in report.errors] == [(5, "issue_date"), (6, "amount")]
    assert _count(engine, Invoice) == 0
    assert _count(engine, Client) == 0
    assert _count(engine, EvidenceEntry) == 0


def test_bad_update_leaves_previous_import_intact(engine: Engine) -> None:
    """A bad second file does not touch invoices created by the first one."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    rows = [ROWS[0].replace("1 234,56", "5,00"), "F-009;Y;pas-un-email;01/01/2026;01/02/2026;10;;"]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="g.csv")
    assert not report.ok
    assert _invoices(engine)["F-001"].amount == Decimal("1234.56")
    assert _count(engine, Invoice) == 3


def test_dry_run_reports_but_writes_nothing(engine: Engine) -> None:
    """--dry-run gives the same counts as a real import and leaves the database empty."""
    bid = _business(engine)
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv", dry_run=True)
    assert report.ok and report.dry_run
    assert (report.clients_created, report.invoices_created) == (2, 3)
    assert _count(engine, Invoice) == 0
    assert _count(engine, EvidenceEntry) == 0


def test_import_from_path_and_progress(engine: Engine, tmp_path: Path) -> None:
    """A file path is read from disk (CP1252 here) and the progress callback reaches the total of both stages."""
    bid = _business(engine)
    path = tmp_path / "factures.csv"
    path.write_bytes(("\r\n".join([HEADER, ROWS[0].replace("Martin", "Mérieux")]) + "\r\n").encode("cp1252"))
    seen: dict[str, tuple[int, int]] = {}
    report = import_csv(
        engine, business_id=bid, path_or_bytes=path, progress=lambda s, d, t: seen.__setitem__(s, (d, t))
    )
    assert report.ok and report.filename == "factures.csv"
    assert seen["parse"][0] == seen["parse"][1] and seen["write"] == (1, 1)
    with read_session(engine) as session:
        assert session.exec(select(Client.name)).one() == "Boulangerie Mérieux SARL"


def test_missing_file_is_an_error(engine: Engine, tmp_path: Path) -> None:
    """A path that does not exist gives an error report, not an exception."""
    bid = _business(engine)
    report = import_csv(engine, business_id=bid, path_or_bytes=tmp_path / "nope.csv")
    assert not report.ok and "cannot read" in report.errors[0].reason


def test_businesses_are_separate(engine: Engine) -> None:
    """The same invoice number in two businesses are two invoices; each import sees only its business."""
    bid = _business(engine)
    with write_session(engine) as session:
        other = Business(slug="other", name="Autre SAS")
        session.add(other)
        session.flush()
        assert other.id is not None
        oid = other.id
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    report = import_csv(engine, business_id=oid, path_or_bytes=_data(ROWS), filename="f.csv")
    assert (report.clients_created, report.invoices_created) == (2, 3)
    assert _count(engine, Invoice) == 6


# --- client_type, contractual_rate, one client however spelled -------------------------------------------------

RATES = RateTable(ecb={"2026-H2": Decimal("2.15")}, legal={"2026-H2": Decimal("2.62")})
TYPED = "invoice_number;client_name;client_email;issue_date;due_date;amount;client_type;contractual_rate"


def _typed(*rows: str) -> bytes:
    return ("\n".join([TYPED, *rows]) + "\n").encode("utf-8")


def _client(engine: Engine, business_id: int) -> list[Client]:
    with read_session(engine) as session:
        return list(session.exec(select(Client).where(Client.business_id == business_id).order_by(Client.id)).all())  # type: ignore[arg-type]


def test_client_type_and_contractual_rate_are_stored_and_blank_keeps_them(engine: Engine) -> None:
    """consumer sets is_consumer (no indemnity in the draft, civil-law wording); a rate is stored exactly; blank
    cells on a later import keep both."""
    bid = _business(engine)
    rows = [
        "F-1;Mme Durand;durand@example.fr;01/09/2026;01/10/2026;300,00;particulier;",
        "F-2;Garage Dupont SAS;dupont@example.com;01/09/2026;01/10/2026;900,00;business;12,5",
    ]
    report = import_csv(engine, business_id=bid, path_or_bytes=_typed(*rows), rate_table=RATES)
    assert report.ok, report.errors
    durand, dupont = _client(engine, bid)
    assert (durand.is_consumer, durand.contractual_rate) == (True, None)
    assert (dupont.is_consumer, dupont.contractual_rate) == (False, Decimal("12.5"))
    again = [r.replace(";particulier;", ";;").replace(";business;12,5", ";;") for r in rows]
    report = import_csv(engine, business_id=bid, path_or_bytes=_typed(*again), rate_table=RATES)
    assert report.ok and report.clients_updated == 0
    assert [(c.is_consumer, c.contractual_rate) for c in _client(engine, bid)] == [
        (True, None),
        (False, Decimal("12.5")),
    ]
    with read_session(engine) as session:
        ctx = invoice_context(session, business_id=bid, invoice_number="F-1", today=date(2026, 11, 24),
                              rate_table=RATES)  # fmt: skip
    assert not ctx.b2b
    assert all(line.indemnity == 0 and line.penalties == 0 for line in ctx.invoices)


def test_rate_below_the_legal_floor_writes_nothing(engine: Engine) -> None:
    """A contractual rate under 3 x 2.62 % for a 2026-H2 due date: refused with its line, nothing written."""
    bid = _business(engine)
    data = _typed("F-1;Garage Dupont SAS;;01/09/2026;01/10/2026;900,00;;7,5")
    report = import_csv(engine, business_id=bid, path_or_bytes=data, rate_table=RATES)
    assert [(e.line, e.column) for e in report.errors] == [(2, "contractual_rate")]
    assert _count(engine, Client) == 0 and _count(engine, EvidenceEntry) == 0


def test_spelling_variants_match_the_existing_client(engine: Engine) -> None:
    """A later file spelling the client with other case, quotes or spaces updates that client, never a new one;
    the stored name stays the first one."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_typed("F-1;L'Atelier Dupont;a@dupont.example;01/09/2026;"
                                                             "01/10/2026;100;;"))  # fmt: skip
    report = import_csv(engine, business_id=bid, path_or_bytes=_typed("F-2;  l’ATELIER  dupont ;;01/09/2026;"
                                                                      "01/10/2026;200;;"))  # fmt: skip
    assert report.ok, report.errors
    assert (report.clients_created, report.invoices_created) == (0, 1)
    [client] = _client(engine, bid)
    assert client.name == "L'Atelier Dupont" and client.name_key == "latelierdupont"
    assert {i.client_id for i in _invoices(engine).values()} == {client.id}


def test_bom_in_an_address_does_not_replace_the_good_one(engine: Engine) -> None:
    """The same address with a BOM and zero-width space pasted in is the same address: the client is unchanged."""
    bid = _business(engine)
    import_csv(engine, business_id=bid, path_or_bytes=_data(ROWS), filename="f.csv")
    rows = [ROWS[0].replace("compta@martin", "\ufeffcompta@martin\u200b"), *ROWS[1:]]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="f.csv")
    assert report.ok, report.errors
    assert report.clients_updated == 0
    martin = next(c for c in _client(engine, bid) if c.name.startswith("Boulangerie"))
    assert martin.emails == "compta@martin.example.fr"


def test_invalid_address_is_a_line_error_and_nothing_is_written(engine: Engine) -> None:
    """An address the mail builder would refuse is refused at import, with its line; nothing is written."""
    bid = _business(engine)
    rows = [*ROWS, "F-004;Garage Dupont SAS;dupont@exa mple.com;01/10/2026;31/10/2026;10;;"]
    report = import_csv(engine, business_id=bid, path_or_bytes=_data(rows), filename="f.csv")
    assert [(e.line, e.column) for e in report.errors] == [(5, "client_email")]
    assert _count(engine, Invoice) == 0


# --- invoice_pdf ----------------------------------------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n% Relance test invoice\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PDF_CSV = "invoice_number;client_name;client_email;issue_date;due_date;amount;invoice_pdf"


def _pdf_import(engine: Engine, bid: int, folder: Path, cell: str, **kwargs: object) -> ImportReport:
    csv_path = folder / "factures.csv"
    csv_path.write_text(
        f"{PDF_CSV}\nF-2026-042;Garage Dupont SAS;dupont@example.com;01/09/2026;01/10/2026;900,00;{cell}\n",
        encoding="utf-8",
    )
    return import_csv(
        engine,
        business_id=bid,
        path_or_bytes=csv_path,
        rate_table=RATES,
        pdf_store=folder / "data" / "invoices" / str(bid),
        **kwargs,  # type: ignore[arg-type]
    )


def test_invoice_pdf_is_copied_hashed_logged_attached_and_exported(engine: Engine, tmp_path: Path) -> None:
    """A relative invoice_pdf: copied under the business's folder by hash, SHA-256 on the invoice and in an
    invoice_pdf_attached entry; attached to the reminder e-mail and placed under facture/ in the dossier;
    re-importing the same file logs nothing new."""
    bid = _business(engine)
    (tmp_path / "pdf").mkdir()
    (tmp_path / "pdf" / "scan 0042.pdf").write_bytes(PDF_BYTES)
    report = _pdf_import(engine, bid, tmp_path, "pdf/scan 0042.pdf")
    assert report.ok, report.errors
    assert report.pdfs_attached == 1
    sha = hashlib.sha256(PDF_BYTES).hexdigest()
    invoice = _invoices(engine)["F-2026-042"]
    stored = tmp_path / "data" / "invoices" / str(bid) / sha / "F-2026-042.pdf"
    assert invoice.pdf_path == str(stored.resolve()) and invoice.pdf_sha256 == sha
    assert stored.read_bytes() == PDF_BYTES
    with read_session(engine) as session:
        entries = session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "invoice_pdf_attached")).all()
    assert [(e.invoice_id, json.loads(e.payload)["sha256"]) for e in entries] == [(invoice.id, sha)]

    again = _pdf_import(engine, bid, tmp_path, "pdf/scan 0042.pdf")
    assert again.ok and again.pdfs_attached == 0 and again.invoices_unchanged == 1
    blank = _pdf_import(engine, bid, tmp_path, "")
    assert blank.ok and _invoices(engine)["F-2026-042"].pdf_sha256 == sha  # a blank cell keeps the PDF

    with read_session(engine) as session:
        ctx = invoice_context(session, business_id=bid, invoice_number="F-2026-042", today=date(2026, 11, 24),
                              step="reminder_1", rate_table=RATES)  # fmt: skip
    draft = default_renderer().render_draft(ctx)
    assert [(a.filename, a.content) for a in draft.attachments] == [("F-2026-042.pdf", PDF_BYTES)]

    out = build_evidence_zip(engine, business_id=bid, invoice_number="F-2026-042", today=date(2026, 11, 24),
                             out_path=tmp_path / "dossier.zip", rate_table=RATES)  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert zf.read("facture/F-2026-042.pdf") == PDF_BYTES


def test_changed_pdf_is_a_new_file_and_a_new_entry(engine: Engine, tmp_path: Path) -> None:
    """A different PDF for the same invoice: stored beside the old one (sent e-mails keep their bytes), and a
    second invoice_pdf_attached entry."""
    bid = _business(engine)
    (tmp_path / "a.pdf").write_bytes(PDF_BYTES)
    (tmp_path / "b.pdf").write_bytes(PDF_BYTES + b"% corrected\n")
    assert _pdf_import(engine, bid, tmp_path, "a.pdf").ok
    first = _invoices(engine)["F-2026-042"].pdf_path
    report = _pdf_import(engine, bid, tmp_path, str(tmp_path / "b.pdf"))
    assert report.ok and report.pdfs_attached == 1 and report.invoices_updated == 1
    second = _invoices(engine)["F-2026-042"].pdf_path
    assert first and second and first != second and Path(first).is_file() and Path(second).is_file()
    with read_session(engine) as session:
        kinds = [e.kind for e in session.exec(select(EvidenceEntry)).all()]
    assert kinds.count("invoice_pdf_attached") == 2


@pytest.mark.parametrize(("setup", "words"), [("missing", "not found"), ("png", "not a PDF")])
def test_bad_pdf_writes_nothing_and_copies_nothing(engine: Engine, tmp_path: Path, setup: str, words: str) -> None:
    """A missing or non-PDF file: one line-numbered error, no invoice, no evidence, nothing in the data folder."""
    bid = _business(engine)
    if setup == "png":
        (tmp_path / "f.pdf").write_bytes(b"\x89PNG\r\n")
    report = _pdf_import(engine, bid, tmp_path, "f.pdf")
    assert [(e.line, e.column) for e in report.errors] == [(2, "invoice_pdf")]
    assert words in report.errors[0].reason
    assert _count(engine, Invoice) == 0 and _count(engine, EvidenceEntry) == 0
    assert not (tmp_path / "data").exists()


def test_failed_write_removes_the_copied_pdf(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the database write fails after the PDF was copied, the copy is removed (no file that no invoice names)."""
    import services.imports as imports

    bid = _business(engine)
    (tmp_path / "a.pdf").write_bytes(PDF_BYTES)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(imports, "write_import", boom)
    with pytest.raises(RuntimeError):
        _pdf_import(engine, bid, tmp_path, "a.pdf")
    assert list((tmp_path / "data").rglob("*.pdf")) == []


# --- migration 0006 -------------------------------------------------------------------------------------------------


def test_migration_fills_name_keys_and_keeps_existing_look_alikes_apart(db_url: str) -> None:
    """Existing clients get their key; two old look-alike names stay two clients (the later one keyed "#id"), the
    unique index holds, and an import then matches the oldest."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.db import MIGRATIONS_DIR, make_engine, upgrade

    eng = make_engine(db_url)  # at head: the business row is made by the models of today
    bid = _business(eng)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with eng.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with eng.begin() as conn:
        for name in ("ACME", "acme", "L'Atelier"):
            conn.execute(
                text(
                    "INSERT INTO client (business_id, name, emails, phone, address, language, profile, is_consumer,"
                    " notes, created_at) VALUES (:b, :n, '', '', '', 'fr', 'standard', false, '', :t)"
                ),
                {"b": bid, "n": name, "t": datetime(2026, 1, 1, tzinfo=UTC)},
            )
    upgrade(eng)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT id, name, name_key FROM client ORDER BY id")).all()
    first_acme = rows[0].id
    assert [r.name_key for r in rows] == ["acme", f"acme#{rows[1].id}", "latelier"]
    report = import_csv(eng, business_id=bid, path_or_bytes=_data(["F-9;Acme;;01/10/2026;31/10/2026;10;;"]))
    assert report.ok and report.clients_created == 0, report.errors
    assert _invoices(eng)["F-9"].client_id == first_acme
    eng.dispose()
