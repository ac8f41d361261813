"""Bank statements in: CAMT, OFX and CSV credits recorded as payments against the open invoices, each with its
statement line; doubtful lines left to the owner; a statement imported twice records nothing twice; over-payments
flagged; a bad file writes nothing; `relance payments` and its dry run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.reports import render_payments
from dunning.matching import CreditLine, OpenInvoice, match
from dunning.states import InvoiceState, ReminderState
from services.payments import import_statement
from services.statements import read_statement
from storage.db import make_engine, read_session, write_session
from storage.models import Business, EvidenceEntry, Invoice, Payment, Reminder, StatementLineRecord
from storage.payments_in import (
    PaymentsSummary,
    RecordedPayment,
    StaleMatchError,
    open_invoices_for_matching,
    record_statement,
)
from storage.reminders import record_payment
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.samples.statements import GENERIC_COLUMNS, bank_csv, camt053, ofx1

DUE = date(2026, 10, 15)


@dataclass(frozen=True)
class Seeded:
    """The business and the ids of what the tests look at."""

    business_id: int
    invoices: dict[str, int]
    reminder_id: int


def _seed(engine: Engine, amounts: dict[str, str] | None = None) -> Seeded:
    """Four clients and their open invoices, as the CAMT sample pays them: F-2026-042 by number (with a waiting
    reminder), F-2026-043 by number, FA-77 by amount and name (Café Lumière), FA-78 by amount alone (75,50 €)."""
    wanted = {"F-2026-042": "1200.00", "F-2026-043": "1000.00", "FA-77": "2450.00", "FA-78": "75.50", **(amounts or {})}
    with write_session(engine) as session:
        business = make_business(session)
        clients = {
            "F-2026-042": make_client(session, business, name="Boulangerie Martin SARL"),
            "F-2026-043": make_client(session, business, name="Dupont & Fils SAS"),
            "FA-77": make_client(session, business, name="Café Lumière"),
            "FA-78": make_client(session, business, name="Studio Nord"),
        }
        invoices = {n: make_invoice(session, clients[n], due=DUE, amount=a, number=n) for n, a in wanted.items()}
        reminder = make_reminder(session, clients["F-2026-042"], [invoices["F-2026-042"]])
        assert business.id is not None and reminder.id is not None
        return Seeded(business.id, {n: i.id for n, i in invoices.items() if i.id is not None}, reminder.id)


def _counts(engine: Engine) -> tuple[int, int, int]:
    """Rows in statement_line, payment and evidence."""
    with read_session(engine) as session:
        return tuple(  # type: ignore[return-value]
            session.connection().execute(sa_select(func.count()).select_from(table)).scalar_one()
            for table in (StatementLineRecord, Payment, EvidenceEntry)
        )


def _invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    return invoice


def test_camt_credits_recorded_by_number_by_amount_and_name_and_by_amount(engine: Engine) -> None:
    """A CAMT.053 pays four invoices (number, number, amount and name, amount alone), dated on the booking dates;
    the USD credit is reported, not matched; the paid invoice's reminder is withdrawn; the clients are settled."""
    seeded = _seed(engine)
    summary = import_statement(engine, seeded.business_id, camt053("001.02"), "releve.xml", actor="cli")
    assert summary.ok and summary.format == "camt.053.001.02"
    assert [(p.number, p.amount, p.booking_date) for p in summary.payments] == [
        ("F-2026-042", Decimal("1200.00"), date(2026, 11, 2)),
        ("F-2026-043", Decimal("1000.00"), date(2026, 11, 3)),
        ("FA-77", Decimal("2450.00"), date(2026, 11, 3)),
        ("FA-78", Decimal("75.50"), date(2026, 11, 9)),
    ]
    assert summary.total == Decimal("4725.50")
    assert [f.currency for f in summary.foreign] == ["USD"] and not summary.unmatched and not summary.doubtful
    assert sorted(summary.paid_invoices) == ["F-2026-042", "F-2026-043", "FA-77", "FA-78"]
    assert summary.reminders_cancelled == 1
    assert {c.name for c in summary.settled_clients} == {
        "Boulangerie Martin SARL",
        "Dupont & Fils SAS",
        "Café Lumière",
        "Studio Nord",
    }
    with read_session(engine) as session:
        assert all(_invoice(session, i).state == InvoiceState.PAID for i in seeded.invoices.values())
        reminder = session.get(Reminder, seeded.reminder_id)
        assert reminder is not None and reminder.state == ReminderState.CANCELLED
        kinds = session.exec(select(EvidenceEntry.kind)).all()
    assert kinds.count("payment_recorded") == 4 and kinds.count("statement_imported") == 1


def test_every_payment_carries_its_statement_line(engine: Engine) -> None:
    """Each payment points at the stored line it came from (same amount and date); every new line is stored once
    with its outcome, the USD one as unmatched."""
    seeded = _seed(engine)
    import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    with read_session(engine) as session:
        rows = session.exec(
            select(Payment, StatementLineRecord).join(
                StatementLineRecord, col(StatementLineRecord.id) == col(Payment.statement_line_id)
            )
        ).all()
        lines = session.exec(select(StatementLineRecord)).all()
    assert len(rows) == 4
    assert all(p.amount == line.amount and p.paid_on == line.booking_date for p, line in rows)
    assert all(line.file_name == "releve.xml" and len(line.line_id) == 64 for _, line in rows)
    assert sorted(line.outcome for line in lines) == ["recorded"] * 4 + ["unmatched"]


def test_ofx_credits_recorded(engine: Engine) -> None:
    """An OFX 1 file with no header: both credits pay their invoices by number; debits are skipped and counted."""
    seeded = _seed(engine, {"F-2026-043": "3450.00"})
    summary = import_statement(engine, seeded.business_id, ofx1(), "releve.ofx", actor="cli")
    assert summary.ok and summary.format == "OFX 1 (SGML)" and summary.debits == 2
    assert sorted((p.number, p.amount) for p in summary.payments) == [
        ("F-2026-042", Decimal("1200.00")),
        ("F-2026-043", Decimal("3450.00")),
    ]


def test_csv_profile_credit_matched_by_amount_and_name(engine: Engine) -> None:
    """A Shine export: the credit naming no known invoice is matched by its amount and the counterparty's name
    (legal form and "&" ignored)."""
    seeded = _seed(engine, {"F-2026-043": "3450.00"})
    with write_session(engine) as session:  # the invoice is known under another number than the remittance's
        _invoice(session, seeded.invoices["F-2026-043"]).number = "DF-9"
    summary = import_statement(engine, seeded.business_id, bank_csv("shine"), "shine.csv", actor="cli")
    assert summary.format == "CSV shine"
    assert sorted(p.number for p in summary.payments) == ["DF-9", "F-2026-042"]


def test_generic_csv_with_named_columns(engine: Engine) -> None:
    """A generic export whose columns the owner names is read and matched like a bank's."""
    seeded = _seed(engine, {"F-2026-043": "3450.00"})
    data = bank_csv("generic")
    summary = import_statement(engine, seeded.business_id, data, "export.csv", actor="cli", columns=GENERIC_COLUMNS)
    assert summary.ok and len(summary.payments) == 2


def test_doubtful_line_left_unrecorded_and_counted(engine: Engine) -> None:
    """Two invoices of 75,50 € from other clients than the payer: the line is doubtful, with both candidates,
    stored as doubtful and not recorded."""
    seeded = _seed(engine)
    with write_session(engine) as session:
        business = session.get(Business, seeded.business_id)
        assert business is not None
        make_invoice(
            session, make_client(session, business, name="Garage Ouest"), due=DUE, amount="75.50", number="FA-79"
        )
    summary = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    assert len(summary.doubtful) == 1
    doubt = summary.doubtful[0]
    assert doubt.line.amount == Decimal("75.50") and {c.number for c in doubt.candidates} == {"FA-78", "FA-79"}
    assert "FA-78" not in [p.number for p in summary.payments]
    with read_session(engine) as session:
        assert _invoice(session, seeded.invoices["FA-78"]).amount_paid == Decimal("0.00")
        outcomes = session.exec(select(StatementLineRecord.outcome)).all()
    assert outcomes.count("doubtful") == 1
    assert "est-ce la facture FA-78 ou FA-79 ?" in render_payments(summary, "fr", escape=str)


def test_same_statement_twice_records_nothing_twice(engine: Engine) -> None:
    """The second import of a statement skips every line: no payment, no line, no evidence entry is added."""
    seeded = _seed(engine, {"F-2026-042": "2400.00"})  # half paid by the statement: it stays open
    first = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    assert len(first.payments) == 4
    before = _counts(engine)
    again = import_statement(engine, seeded.business_id, camt053(), "releve-copie.xml", actor="cli")
    assert again.ok and again.payments == () and again.lines_known == 5
    assert _counts(engine) == before
    with read_session(engine) as session:
        assert _invoice(session, seeded.invoices["F-2026-042"]).amount_paid == Decimal("1200.00")
    assert "Rien de nouveau dans ce relevé." in render_payments(again, "fr", escape=str)


def test_partial_payment_makes_the_invoice_partially_paid_and_its_card_stale(engine: Engine) -> None:
    """1 200 € on an invoice of 2 400 €: recorded as a partial payment, the invoice partially paid, its waiting
    reminder stays but its version moves on (as after a tap on "Payée" with an amount)."""
    seeded = _seed(engine, {"F-2026-042": "2400.00"})
    with read_session(engine) as session:
        version = session.get(Reminder, seeded.reminder_id).version  # type: ignore[union-attr]
    summary = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    assert "F-2026-042" not in summary.paid_invoices and summary.reminders_cancelled == 0
    with read_session(engine) as session:
        invoice = _invoice(session, seeded.invoices["F-2026-042"])
        reminder = session.get(Reminder, seeded.reminder_id)
    assert invoice.state == InvoiceState.PARTIALLY_PAID and invoice.balance == Decimal("1200.00")
    assert reminder is not None and reminder.state == ReminderState.PENDING and reminder.version > version
    assert "Boulangerie Martin SARL" not in {c.name for c in summary.settled_clients}


def test_overpayment_recorded_up_to_the_balance_and_flagged(engine: Engine) -> None:
    """1 000 € naming an invoice that owes 900 €: 900 € recorded, the 100 € excess reported (never kept), the
    line stored as overpaid and the excess in the evidence entry."""
    seeded = _seed(engine, {"F-2026-043": "900.00"})
    summary = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    (over,) = summary.overpaid
    assert over.excess == Decimal("100.00") and over.numbers == ("F-2026-043",)
    assert ("F-2026-043", Decimal("900.00")) in [(p.number, p.amount) for p in summary.payments]
    with read_session(engine) as session:
        invoice = _invoice(session, seeded.invoices["F-2026-043"])
        assert invoice.amount_paid == Decimal("900.00") and invoice.state == InvoiceState.PAID
        outcomes = session.exec(select(StatementLineRecord.outcome)).all()
        payload = session.exec(select(EvidenceEntry.payload).where(EvidenceEntry.kind == "statement_imported")).one()
    assert outcomes.count("overpaid") == 1
    assert '"excess":"100.00"' in payload
    assert "Trop-perçu de 100,00\u00a0€" in render_payments(summary, "fr", escape=str)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (camt053()[:700], "bad_xml"),
        (camt053().replace(b"camt.053.001.08", b"camt.053.001.12"), "camt_version"),
        (ofx1(transactions=False), "ofx_empty"),
        (bank_csv("boursorama", credits=False), "no_credit"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>', "xml_entities"),
    ],
)
def test_bad_file_writes_nothing(engine: Engine, data: bytes, code: str) -> None:
    """A truncated, unsupported, empty, debit-only or hostile statement: one error naming the problem, and not a
    row more in statement_line, payment or evidence."""
    seeded = _seed(engine)
    before = _counts(engine)
    summary = import_statement(engine, seeded.business_id, data, "mauvais.xml", actor="cli")
    assert not summary.ok and summary.error_code == code and summary.payments == ()
    assert _counts(engine) == before
    text = render_payments(summary, "fr", escape=str)
    assert text.startswith("❌ Relevé mauvais.xml refusé") and "Rien n'a été enregistré." in text


def test_dry_run_counts_and_writes_nothing(engine: Engine) -> None:
    """A dry run says what would be recorded (payments, invoices paid, reminders cancelled) and writes nothing."""
    seeded = _seed(engine)
    before = _counts(engine)
    summary = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli", dry_run=True)
    assert summary.dry_run and len(summary.payments) == 4 and summary.reminders_cancelled == 1
    assert _counts(engine) == before
    with read_session(engine) as session:
        reminder = session.get(Reminder, seeded.reminder_id)
    assert reminder is not None and reminder.state == ReminderState.PENDING
    assert "seraient enregistré(s)" in render_payments(summary, "fr", escape=str)


def _pay_by_hand(engine: Engine, business_id: int, invoice_id: int) -> None:
    """The owner taps "Payée" on the invoice (in full)."""
    with write_session(engine) as session:
        record_payment(
            session, business_id=business_id, invoice_ids=[invoice_id], amount=None, paid_on=DUE, actor="owner:111"
        )


def test_a_stale_match_is_refused_whole(engine: Engine) -> None:
    """An invoice paid by hand after the match: record_statement refuses the whole statement (StaleMatchError) and
    writes nothing, so the invoice is never paid twice."""
    seeded = _seed(engine)
    statement = read_statement(camt053(), "releve.xml")
    lines = (*statement.credits, *statement.foreign)
    with read_session(engine) as session:
        invoices = open_invoices_for_matching(session, seeded.business_id)
    result = match([CreditLine(x.line_id, x.booking_date, x.amount, x.currency, x.counterparty, x.remittance)
                    for x in lines], invoices)  # fmt: skip
    _pay_by_hand(engine, seeded.business_id, seeded.invoices["F-2026-042"])
    before = _counts(engine)
    with pytest.raises(StaleMatchError):
        record_statement(engine, business_id=seeded.business_id, lines=lines, result=result, actor="cli",
                         file_name="releve.xml", file_sha256="0" * 64)  # fmt: skip
    assert _counts(engine) == before


def test_import_matches_again_after_a_payment_by_hand(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The owner pays an invoice while the statement is being matched: the import matches again on fresh balances
    and records the other payments; the invoice paid by hand is not paid a second time."""
    seeded = _seed(engine)
    reads: list[int] = []

    def read_then_tap(session: Session, business_id: int) -> list[OpenInvoice]:
        found = open_invoices_for_matching(session, business_id)
        if not reads:
            _pay_by_hand(engine, business_id, seeded.invoices["F-2026-042"])
        reads.append(len(found))
        return found

    monkeypatch.setattr("services.payments.open_invoices_for_matching", read_then_tap)
    summary = import_statement(engine, seeded.business_id, camt053(), "releve.xml", actor="cli")
    assert reads == [4, 3]
    assert sorted(p.number for p in summary.payments) == ["F-2026-043", "FA-77", "FA-78"]
    with read_session(engine) as session:
        assert _invoice(session, seeded.invoices["F-2026-042"]).amount_paid == Decimal("1200.00")


# --- relance payments ---------------------------------------------------------------------------------------

CSV = (
    "invoice_number;client_name;client_email;issue_date;due_date;amount\n"
    "F-2026-042;Boulangerie Martin SARL;compta@martin.example.fr;15/09/2026;15/10/2026;1 200,00\n"
    "F-2026-043;Dupont & Fils SAS;compta@dupont.example.fr;15/09/2026;15/10/2026;3 450,00\n"
)
runner = CliRunner()


@pytest.fixture
def cli_dir(cli_workdir: Path) -> Iterator[Path]:
    """A clean working directory and environment with two invoices imported and the statements to read."""
    tmp_path = cli_workdir
    (tmp_path / "factures.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "releve.ofx").write_bytes(ofx1())
    (tmp_path / "tronque.xml").write_bytes(camt053()[:700])
    assert runner.invoke(app, ["import", "factures.csv"]).exit_code == 0
    yield tmp_path


def _payments_in(folder: Path) -> int:
    engine = make_engine(f"sqlite:///{folder / 'relance.db'}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa_select(func.count()).select_from(Payment)).scalar_one())
    finally:
        engine.dispose()


def test_cli_payments_records_and_prints_the_summary_in_french(cli_dir: Path) -> None:
    """`relance payments` exits 0 with the French summary (amounts French style); a second run records nothing."""
    result = runner.invoke(app, ["payments", "releve.ofx"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2 paiement(s) enregistré(s), 4\u00a0650,00\u00a0€ au total." in result.stdout
    assert "F-2026-042, F-2026-043" in result.stdout
    assert _payments_in(cli_dir) == 2
    again = runner.invoke(app, ["payments", "releve.ofx"], env={"COLUMNS": "200"})
    assert again.exit_code == 0 and "déjà importée(s)" in again.stdout
    assert _payments_in(cli_dir) == 2


def test_cli_payments_dry_run(cli_dir: Path) -> None:
    """--dry-run prints what would be recorded and records nothing."""
    result = runner.invoke(app, ["payments", "releve.ofx", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "seraient enregistré(s)" in result.stdout and "--dry-run" in result.stdout
    assert _payments_in(cli_dir) == 0


def test_cli_payments_bad_file_exits_1_with_one_line(cli_dir: Path) -> None:
    """A truncated statement: exit 1, one line on stderr naming the file and the problem, nothing recorded."""
    result = runner.invoke(app, ["payments", "tronque.xml"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "tronque.xml" in lines[0] and "mal formé ou tronqué" in lines[0]
    assert _payments_in(cli_dir) == 0


def test_cli_payments_unknown_profile_lists_the_known_ones(cli_dir: Path) -> None:
    """--profile with an unknown bank: exit 2, and the known profiles are listed."""
    result = runner.invoke(app, ["payments", "releve.ofx", "--profile", "banque_inconnue"])
    assert result.exit_code == 2
    assert "banque_inconnue" in result.stderr and "boursorama" in result.stderr and "shine" in result.stderr


def test_cli_payments_missing_or_too_big_file_exits_1(cli_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that does not exist, or one over the size limit (checked before it is read): exit 1, one line."""
    missing = runner.invoke(app, ["payments", "absent.ofx"])
    assert missing.exit_code == 1 and "absent.ofx" in missing.stderr and "ne peut pas être lu" in missing.stderr
    monkeypatch.setattr("services.statements.common.MAX_FILE_BYTES", 100)
    big = runner.invoke(app, ["payments", "releve.ofx"])
    assert big.exit_code == 1 and len(big.stderr.strip().splitlines()) == 1 and "trop volumineux" in big.stderr
    assert _payments_in(cli_dir) == 0


def test_long_summary_lists_the_first_items_and_counts_the_others() -> None:
    """A statement paying 100 invoices: the summary lists 40 of them and counts the 60 others, in French and in
    English, and stays within one chat message."""
    numbers = tuple(f"F-{i:04d}" for i in range(100))
    payments = tuple(
        RecordedPayment("x" * 64, date(2026, 11, 2), i, n, "Client", Decimal("10.00")) for i, n in enumerate(numbers)
    )
    summary = PaymentsSummary("releve.xml", "camt.053.001.08", payments=payments, paid_invoices=numbers)
    french = render_payments(summary, "fr", escape=str)
    assert "100 paiement(s) enregistré(s), 1\u00a0000,00\u00a0€ au total." in french
    assert "… et 60 autre(s)." in french and "F-0039 et 60 autre(s)." in french and "F-0040" not in french
    english = render_payments(summary, "en", escape=str)
    assert "100 payment(s) recorded, €1,000.00 in all." in english and "F-0039 and 60 more." in english
    assert len(french) < 4096 and len(english) < 4096


def test_cli_payments_generic_csv_with_named_columns(cli_dir: Path) -> None:
    """--column names a generic export's columns: its credits are recorded; a malformed --column exits 2."""
    (cli_dir / "export.csv").write_bytes(bank_csv("generic"))
    named = [f"--column={field}={header}" for field, header in GENERIC_COLUMNS.items()]
    result = runner.invoke(app, ["payments", "export.csv", *named], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "2 paiement(s) enregistré(s)" in result.stdout and "CSV generic" in result.stdout
    bad = runner.invoke(app, ["payments", "export.csv", "--column", "date"])
    assert bad.exit_code == 2 and "FIELD=HEADER" in bad.stderr
