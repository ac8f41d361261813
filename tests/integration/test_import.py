"""The invoice import against a real database (SQLite and PostgreSQL): all-or-nothing, idempotent, updates."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, func
from sqlmodel import select

from storage.db import read_session, write_session
from services.imports import import_csv
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
    assert {i.state for i in inv.values()} == {"open"}
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
