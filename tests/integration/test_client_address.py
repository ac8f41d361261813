"""The client's postal address: imported from the CSV, shown in the formal-notice letter's recipient block."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlmodel import select

from messages.letter import render_formal_notice_pdf
from services.drafts import invoice_context
from services.imports import import_csv, parse_csv
from storage.db import read_session, write_session
from storage.models import Client
from tests.factories import make_business

HEADER = "invoice_number;client_name;client_email;client_address;issue_date;due_date;amount"


def _csv(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode("utf-8")


def test_address_lines_are_split_on_slashes_and_too_long_is_an_error() -> None:
    """ "12 rue X / 69003 Lyon" becomes two lines; an address too long for a letter is a line/column error."""
    ok = parse_csv(_csv("F-1;Menuiserie Faure;a@b.fr;12 rue des Lilas / 69003 Lyon;01/10/2026;31/10/2026;100,00"))
    assert not ok.errors
    assert ok.clients["Menuiserie Faure"].address == "12 rue des Lilas\n69003 Lyon"
    bad = parse_csv(_csv(f"F-1;Menuiserie Faure;a@b.fr;{'x' * 400};01/10/2026;31/10/2026;100,00"))
    assert [(e.line, e.column) for e in bad.errors] == [(2, "client_address")]


def test_imported_address_reaches_the_letter(engine: Engine) -> None:
    """An imported address is stored, kept when a later file leaves the cell blank, and printed in the letter."""
    with write_session(engine) as s:
        business_id = make_business(s).id
    assert business_id is not None
    row = "F-1;Menuiserie Faure;compta@faure.example;{};01/09/2026;01/10/2026;2150,75"
    report = import_csv(
        engine, business_id=business_id, path_or_bytes=_csv(row.format("ZA des Prés / 42000 Saint-Étienne"))
    )
    assert report.ok, report.errors
    report = import_csv(engine, business_id=business_id, path_or_bytes=_csv(row.format("")))
    assert report.ok, report.errors
    with read_session(engine) as s:
        client = s.exec(select(Client).where(Client.business_id == business_id)).one()
        assert client.address == "ZA des Prés\n42000 Saint-Étienne"
        ctx = invoice_context(s, business_id=business_id, invoice_number="F-1", today=date(2026, 11, 24),
                              step="formal_notice")  # fmt: skip
    assert ctx.client_address == "ZA des Prés\n42000 Saint-Étienne"
    import pypdfium2

    pdf = pypdfium2.PdfDocument(render_formal_notice_pdf(ctx))
    text = pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert "42000 Saint-Étienne" in text and "compta@faure.example" not in text
