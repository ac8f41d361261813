"""The pure CSV parsing step of the invoice import: formats accepted and every bad input, with line and column."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from dunning.penalties import RateTable
from services.imports import (
    MAX_AMOUNT,
    RowError,
    parse_amount,
    parse_csv,
    parse_date,
    sniff_delimiter,
)
from storage.names import client_name_key

HEADER = "invoice_number,client_name,client_email,issue_date,due_date,amount"


def _csv(*rows: str, header: str = HEADER, sep: str = "\n") -> bytes:
    return sep.join((header, *rows)).encode("utf-8") + b"\n"


def _errors(data: bytes) -> list[tuple[int, str]]:
    return [(e.line, e.column) for e in parse_csv(data).errors]


def _one_error(data: bytes) -> RowError:
    errors = parse_csv(data).errors
    assert len(errors) == 1, errors
    return errors[0]


# --- accepted formats -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.56", "1234.56"),
        ("1234,56", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234,56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1.234.567,8", "1234567.80"),
        ("1,234,567", "1234567.00"),
        ("12 345", "12345.00"),
        ("1 234,56 €", "1234.56"),
        ("99,9", "99.90"),
        ("100", "100.00"),
        ("1.234", "1234.00"),
    ],
)
def test_amount_formats(raw: str, expected: str) -> None:
    """French and English amount notations, with every kind of thousands separator, parse to exact Decimals."""
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["abc", "1,2,3", "12.345,678", "1.2345", "1,23,45", "1.234.56", "--5", "", "1e5"])
def test_amount_rejects_garbage(raw: str) -> None:
    """Text, inconsistent separators and more than two decimal places are refused."""
    with pytest.raises(ValueError):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("24/11/2026", date(2026, 11, 24)), ("2026-11-24", date(2026, 11, 24)), ("1/2/2026", date(2026, 2, 1)),
     ("24.11.2026", date(2026, 11, 24)), ("24-11-2026", date(2026, 11, 24))],
)  # fmt: skip
def test_date_formats(raw: str, expected: date) -> None:
    """dd/mm/yyyy (with / - or .) and ISO dates are read day-first."""
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2026", "2026-13-01", "11/24/2026", "24/11/26", "tomorrow", "01/01/1900"])
def test_date_rejects(raw: str) -> None:
    """Impossible dates, month-first dates, two-digit years and absurd years are refused."""
    with pytest.raises(ValueError):
        parse_date(raw)


def test_semicolon_cp1252_decimal_comma() -> None:
    """A typical French Excel export (`;`, CP1252, decimal comma, dd/mm/yyyy) parses completely."""
    text = (
        "Invoice Number;Client Name;Client Email;Issue Date;Due Date;Amount;Paid Amount\r\n"
        "F-001;Société Générale des Eaux;compta@example.fr;01/10/2026;31/10/2026;1 234,56;234,56\r\n"
    )
    result = parse_csv(text.encode("cp1252"))
    assert result.ok, result.errors
    assert result.delimiter == ";"
    assert result.encoding == "cp1252"
    inv = result.invoices[0]
    assert (inv.number, inv.client_name, inv.amount, inv.paid_amount) == (
        "F-001",
        "Société Générale des Eaux",
        Decimal("1234.56"),
        Decimal("234.56"),
    )
    assert inv.due_date == date(2026, 10, 31)


def test_utf8_bom_and_all_columns() -> None:
    """A UTF-8 file with a BOM and every canonical column parses; optional client fields are normalised."""
    text = (
        "\ufeffinvoice_number,client_name,client_email,issue_date,due_date,amount,currency,client_phone,"
        "client_language,client_profile,paid_amount\n"
        'F-2,"Dupont & Fils, SARL",a@example.com;b@example.com,2026-10-01,2026-10-31,"1,234.50",eur,'
        "+33 1 23 45 67 89,EN,Late-Payer,\n"
    )
    result = parse_csv(text.encode("utf-8"))
    assert result.ok, result.errors
    assert result.encoding == "utf-8-sig"
    client = result.clients["Dupont & Fils, SARL"]
    assert (client.emails, client.phone, client.language, client.profile) == (
        "a@example.com,b@example.com",
        "+33 1 23 45 67 89",
        "en",
        "late_payer",
    )
    assert result.invoices[0].paid_amount is None
    assert result.invoices[0].currency == "EUR"


def test_sniff_delimiter() -> None:
    """The delimiter is the most frequent separator of the header line."""
    assert sniff_delimiter("a;b;c") == ";"
    assert sniff_delimiter("a,b,c") == ","
    assert sniff_delimiter("a\tb\tc") == "\t"


def test_blank_lines_and_crlf_are_ignored() -> None:
    """Blank lines are skipped and the line numbers of later errors still count them."""
    data = _csv("", "F-1,ACME,,01/01/2026,31/01/2026,10", "", "F-2,ACME,,01/01/2026,31/02/2026,10", sep="\r\n")
    errors = parse_csv(data).errors
    assert [(e.line, e.column) for e in errors] == [(5, "due_date")]


def test_same_client_on_several_rows_is_one_client() -> None:
    """Rows of the same client make one client; values given on any row are merged."""
    data = _csv("F-1,ACME,,01/01/2026,31/01/2026,10", "F-2,ACME,x@example.com,01/01/2026,31/01/2026,20")
    result = parse_csv(data)
    assert result.ok
    assert list(result.clients) == ["ACME"]
    assert result.clients["ACME"].emails == "x@example.com"


def test_multiline_quoted_field_keeps_line_numbers() -> None:
    """A quoted client name spanning two lines is one record; the next error is reported on its real line."""
    data = _csv('F-1,"ACME\nSARL",,01/01/2026,31/01/2026,10', "F-2,B,,01/01/2026,31/01/2026,-5")
    assert _errors(data) == [(4, "amount")]


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        ("F-1,ACME,,01/01/2026,31/01/2026,-10", "amount", "negative"),
        ("F-1,ACME,,01/01/2026,31/01/2026,0", "amount", "greater than 0"),
        ("F-1,ACME,,01/01/2026,31/01/2026,100000000", "amount", "too large"),
        ("F-1,ACME,,01/01/2026,31/01/2026,douze", "amount", "not an amount"),
        ("F-1,ACME,,01/02/2026,15/01/2026,10", "due_date", "before issue date"),
        ("F-1,ACME,,01/01/2026,31/02/2026,10", "due_date", "not a valid calendar date"),
        ("F-1,ACME,,,31/01/2026,10", "issue_date", "empty date"),
        ("F-1,ACME,compta.example.fr,01/01/2026,31/01/2026,10", "client_email", "not a valid e-mail address"),
        (",ACME,,01/01/2026,31/01/2026,10", "invoice_number", "missing invoice number"),
        ("F-1,,,01/01/2026,31/01/2026,10", "client_name", "missing client name"),
        ("F-1,ACME,,01/01/2026,31/01/2026", "", "expected 6 fields, found 5"),
        ("F-1,ACME,,01/01/2026,31/01/2026,10,extra", "", "expected 6 fields, found 7"),
    ],
)
def test_bad_rows(row: str, column: str, words: str) -> None:
    """Each kind of bad cell is one error on line 2, naming the column and the reason."""
    error = _one_error(_csv(row))
    assert (error.line, error.column) == (2, column)
    assert words in error.reason


@pytest.mark.parametrize(
    ("header", "row", "column", "words"),
    [
        ("invoice_number,client_name,issue_date,due_date,amount,client_profile",
         "F-1,A,01/01/2026,31/01/2026,10,vip", "client_profile", "unknown profile"),
        ("invoice_number,client_name,issue_date,due_date,amount,client_language",
         "F-1,A,01/01/2026,31/01/2026,10,de", "client_language", "unknown language"),
        ("invoice_number,client_name,issue_date,due_date,amount,currency",
         "F-1,A,01/01/2026,31/01/2026,10,USD", "currency", "only EUR"),
        ("invoice_number,client_name,issue_date,due_date,amount,paid_amount",
         "F-1,A,01/01/2026,31/01/2026,10,11", "paid_amount", "greater than the invoice amount"),
        ("invoice_number,client_name,issue_date,due_date,amount,client_phone",
         "F-1,A,01/01/2026,31/01/2026,10,call me", "client_phone", "not a phone number"),
    ],
)  # fmt: skip
def test_bad_optional_cells(header: str, row: str, column: str, words: str) -> None:
    """Unknown profile, language or currency, overpayment and a bad phone are line-numbered errors."""
    error = _one_error(_csv(row, header=header))
    assert (error.line, error.column) == (2, column)
    assert words in error.reason


def test_every_error_is_listed_and_nothing_is_kept() -> None:
    """All the errors of all the rows are reported, and no row survives when there is any error."""
    data = _csv(
        "F-1,ACME,,01/01/2026,31/01/2026,10",
        "F-2,ACME,bad,01/01/2026,31/02/2026,-3",
        "F-3,B,,2026-01-01,2026-01-31,5",
        "F-4,C,,2026-01-01,2025-01-31,5",
    )
    result = parse_csv(data)
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "due_date"),
        (3, "amount"),
        (3, "client_email"),
        (5, "due_date"),
    ]
    assert result.invoices == [] and result.clients == {}


def test_duplicate_invoice_number() -> None:
    """A number used twice in one file is an error on the second line, pointing to the first."""
    data = _csv("F-1,A,,01/01/2026,31/01/2026,10", "F-2,A,,01/01/2026,31/01/2026,10", "F-1,B,,01/01/2026,31/01/2026,9")
    error = _one_error(data)
    assert (error.line, error.column) == (4, "invoice_number")
    assert "line 2" in error.reason


def test_conflicting_client_details() -> None:
    """Two rows of one client with different e-mails are an error (the file does not say which one is right)."""
    data = _csv("F-1,A,a@example.com,01/01/2026,31/01/2026,10", "F-2,A,b@example.com,01/01/2026,31/01/2026,10")
    error = _one_error(data)
    assert (error.line, error.column) == (3, "client_email")


def test_unknown_columns_are_named() -> None:
    """An unknown header is one error on line 1 naming every unknown column."""
    data = _csv("F-1,A,01/01/2026,31/01/2026,10,x,y", header="invoice_number,client_name,issue_date,due_date,amount,"
                "TVA,Remarque")  # fmt: skip
    error = _one_error(data)
    assert error.line == 1
    assert "'TVA'" in error.reason and "'Remarque'" in error.reason
    assert error.column == "TVA, Remarque"


def test_missing_required_column() -> None:
    """A header without a required column is refused, naming the missing column."""
    error = _one_error(_csv("F-1,A,01/01/2026,10", header="invoice_number,client_name,issue_date,amount"))
    assert (error.line, error.column) == (1, "due_date")


def test_column_given_twice() -> None:
    """The same column twice in the header is an error."""
    error = _one_error(_csv("F-1,A,01/01/2026,31/01/2026,1,2", header="invoice_number,client_name,issue_date,"
                            "due_date,amount,amount"))  # fmt: skip
    assert (error.line, error.column) == (1, "amount")


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data: bytes) -> None:
    """An empty file (or only blank lines / a BOM) is an error, not a silent success."""
    error = _one_error(data)
    assert "empty" in error.reason


def test_header_only() -> None:
    """A header without rows is an error."""
    assert "no invoice rows" in _one_error(_csv()).reason


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"\x00" * 40,
        bytes(range(1, 32)) * 20,
    ],
)
def test_binary_file(data: bytes) -> None:
    """A binary file (image, zip, control characters) is refused as not being a CSV."""
    error = _one_error(data)
    assert error.line == 1
    assert "not a CSV" in error.reason or "neither UTF-8" in error.reason


def test_unterminated_quote() -> None:
    """A quote that never closes is a malformed-row error with its line number."""
    data = _csv("F-1,A,,01/01/2026,31/01/2026,10", 'F-2,"A,,01/01/2026,31/01/2026,10')
    errors = parse_csv(data).errors
    assert errors and errors[0].line == 3
    assert "malformed" in errors[0].reason


def test_max_amount_boundary() -> None:
    """The largest accepted amount is just below the limit."""
    ok = parse_csv(_csv(f"F-1,A,,01/01/2026,31/01/2026,{MAX_AMOUNT - Decimal('0.01')}"))
    assert ok.ok
    assert not parse_csv(_csv(f"F-1,A,,01/01/2026,31/01/2026,{MAX_AMOUNT}")).ok


def test_error_str_names_line_and_column() -> None:
    """The printed form of an error says line, column and reason."""
    assert str(RowError(3, "amount", "montant négatif (-1)")) == "ligne 3, colonne amount : montant négatif (-1)"


def test_reasons_are_french_then_english() -> None:
    """Every reason the owner reads is written in French first, then in English."""
    error = _one_error(_csv("F-1,ACME,,01/01/2026,31/02/2026,10"))
    assert error.reason == (
        "« 31/02/2026 » n'est pas une date valide du calendrier / '31/02/2026' is not a valid calendar date"
    )


# --- client_type, contractual_rate ------------------------------------------------------------------------------

RATES = RateTable(ecb={"2026-H1": Decimal("2.15")}, legal={"2025-H1": Decimal("3.71"), "2026-H1": Decimal("2.62")})
TYPED = "invoice_number,client_name,issue_date,due_date,amount,client_type,contractual_rate"


@pytest.mark.parametrize(
    ("cell", "consumer"),
    [("", None), ("business", False), ("Entreprise", False), ("consumer", True), ("PARTICULIER", True)],
)
def test_client_type_values(cell: str, consumer: bool | None) -> None:
    """client_type: blank is "not given", business/entreprise a business, consumer/particulier a consumer."""
    result = parse_csv(_csv(f"F-1,A,01/01/2026,31/01/2026,10,{cell},", header=TYPED), rate_table=RATES)
    assert result.ok, result.errors
    assert result.clients["A"].is_consumer is consumer


def test_unknown_client_type_is_a_line_error() -> None:
    """An unknown client_type is refused on its line and column."""
    error = _one_error(_csv("F-1,A,01/01/2026,31/01/2026,10,societe,", header=TYPED))
    assert (error.line, error.column) == (2, "client_type")
    assert "particulier" in error.reason and "consumer" in error.reason


@pytest.mark.parametrize(("cell", "rate"), [("12,5", "12.5"), ("12.5", "12.5"), ("8 %", "8"), ("7,875", "7.875")])
def test_contractual_rate_notations(cell: str, rate: str) -> None:
    """A contractual rate in percent with a decimal comma or point (and an optional %) is read exactly."""
    result = parse_csv(_csv(f'F-1,A,01/01/2026,31/01/2026,10,,"{cell}"', header=TYPED), rate_table=RATES)
    assert result.ok, result.errors
    assert result.clients["A"].contractual_rate == Decimal(rate)


@pytest.mark.parametrize(
    ("cell", "words"), [("douze", "not a percentage"), ("0", "out of range"), ("150", "out of range")]
)
def test_bad_contractual_rate(cell: str, words: str) -> None:
    """A rate that is not a percentage, zero or above 100 is refused on its line."""
    error = _one_error(_csv(f"F-1,A,01/01/2026,31/01/2026,10,,{cell}", header=TYPED))
    assert (error.line, error.column) == (2, "contractual_rate")
    assert words in error.reason


def test_contractual_rate_below_three_times_the_legal_rate_of_the_due_half_year() -> None:
    """2026-H1 legal rate 2.62 %: 7,86 % is accepted, 7,85 % refused on the invoice's line with both figures."""
    ok = parse_csv(_csv('F-1,A,01/01/2026,31/03/2026,10,,"7,86"', header=TYPED), rate_table=RATES)
    assert ok.ok, ok.errors
    bad = parse_csv(_csv('F-1,A,01/01/2026,31/03/2026,10,,"7,85"', header=TYPED), rate_table=RATES)
    [error] = bad.errors
    assert (error.line, error.column) == (2, "contractual_rate")
    assert "7,85 %" in error.reason and "2026-H1" in error.reason and "7,86 %" in error.reason
    assert bad.invoices == []


def test_rate_is_checked_for_every_invoice_of_the_client() -> None:
    """The rate given on one row applies to the client's other invoices: one due in 2025-H1 (legal 3.71 %, floor
    11.13 %) makes 10 % wrong there, on that invoice's own line."""
    data = _csv("F-1,A,01/01/2026,31/03/2026,10,,10", "F-2,A,01/01/2025,31/03/2025,10,,", header=TYPED)
    [error] = parse_csv(data, rate_table=RATES).errors
    assert (error.line, error.column) == (3, "contractual_rate")
    assert "2025-H1" in error.reason


def test_missing_legal_rate_of_the_half_year_names_it_and_rates_file() -> None:
    """An invoice due in a half-year whose legal rate is not in the table: refused, naming it and RATES_FILE."""
    error = parse_csv(_csv("F-1,A,01/07/2026,31/08/2026,10,,15", header=TYPED), rate_table=RATES).errors[0]
    assert (error.line, error.column) == (2, "contractual_rate")
    assert "2026-H2" in error.reason and "RATES_FILE" in error.reason


def test_contractual_rate_of_a_consumer_is_refused() -> None:
    """Commercial penalties do not apply to a consumer: a rate for one is an error on the rate's line."""
    error = _one_error(_csv("F-1,A,01/01/2026,31/03/2026,10,particulier,12", header=TYPED))
    assert (error.line, error.column) == (2, "contractual_rate")
    assert "particulier" in error.reason


def test_client_type_conflict_between_rows() -> None:
    """One client said to be a business on one row and a consumer on another is an error on the second row."""
    data = _csv("F-1,A,01/01/2026,31/01/2026,10,business,", "F-2,A,01/01/2026,31/01/2026,10,consumer,", header=TYPED)
    error = _one_error(data)
    assert (error.line, error.column) == (3, "client_type")


# --- e-mail addresses, invisible characters, one client however spelled ------------------------------------------


def test_invisible_characters_are_removed_from_addresses_and_names() -> None:
    """A BOM or zero-width space inside an address or a name, and no-break spaces, are removed, not kept."""
    data = _csv("F-1,\u00a0Garage\u200b Dupont\u00a0SAS,\ufeffcompta@dupont.example\u200b,01/01/2026,31/01/2026,10")
    result = parse_csv(data)
    assert result.ok, result.errors
    client = result.clients["Garage Dupont SAS"]
    assert client.emails == "compta@dupont.example"


def test_addresses_go_through_the_one_check() -> None:
    """Each address of a cell is normalised by messages.addresses (domain lower-cased); duplicates kept once."""
    result = parse_csv(_csv('F-1,A,"a@Example.COM; b@example.com a@example.com",01/01/2026,31/01/2026,10'))
    assert result.clients["A"].emails == "a@example.com,b@example.com"


@pytest.mark.parametrize("bad", ["a@b", "a b@example.com", "a@@example.com", "a@example..com", "é@"])
def test_invalid_addresses_are_line_errors(bad: str) -> None:
    """An address the mail builder would refuse is a line-numbered client_email error."""
    error = _one_error(_csv(f'F-1,A,"{bad}",01/01/2026,31/01/2026,10'))
    assert (error.line, error.column) == (2, "client_email")


def test_spellings_of_one_client_are_one_client() -> None:
    """Case, straight or typographic quotes and spaces do not make a new client; the first spelling is kept."""
    data = _csv(
        "F-1,L'Atelier Dupont,,01/01/2026,31/01/2026,10",
        "F-2,l’atelier  DUPONT,,01/01/2026,31/01/2026,10",
        'F-3,"L\'ATELIER DUPONT ",,01/01/2026,31/01/2026,10',
    )
    result = parse_csv(data)
    assert result.ok, result.errors
    assert list(result.clients) == ["L'Atelier Dupont"]
    assert {i.client_name for i in result.invoices} == {"L'Atelier Dupont"}


def test_name_key() -> None:
    """The key ignores case, quotes, spaces and invisible characters, but not accents."""
    assert client_name_key("L’Atelier  Dupont") == client_name_key("l'atelier dupont") == "latelierdupont"
    assert client_name_key("\ufeffACME\u200b SARL") == client_name_key("acme sarl")
    assert client_name_key("Mérieux") != client_name_key("Merieux")


# --- invoice_pdf ---------------------------------------------------------------------------------------------------

PDF_HEADER = "invoice_number,client_name,issue_date,due_date,amount,invoice_pdf"


def test_invoice_pdf_is_checked_and_hashed(tmp_path: Path) -> None:
    """A relative path is read from the CSV's folder, an absolute one as is; each gets its SHA-256."""
    (tmp_path / "pdf").mkdir()
    first = tmp_path / "pdf" / "F-1.pdf"
    first.write_bytes(b"%PDF-1.7 one")
    second = tmp_path / "F-2.pdf"
    second.write_bytes(b"%PDF-1.4 two")
    data = _csv(
        "F-1,A,01/01/2026,31/01/2026,10,pdf/F-1.pdf", f"F-2,A,01/01/2026,31/01/2026,10,{second}", header=PDF_HEADER
    )
    result = parse_csv(data, pdf_base=tmp_path)
    assert result.ok, result.errors
    pdfs = {i.number: i.pdf for i in result.invoices}
    assert pdfs["F-1"] is not None and pdfs["F-1"].sha256 == hashlib.sha256(b"%PDF-1.7 one").hexdigest()
    assert pdfs["F-2"] is not None and pdfs["F-2"].source == second.resolve()


def test_bad_invoice_pdfs_are_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Missing file, not a PDF (no %PDF- magic), over the size cap: one error each, on its line and column."""
    import services.imports as imports

    (tmp_path / "image.pdf").write_bytes(b"\x89PNG not a pdf")
    (tmp_path / "big.pdf").write_bytes(b"%PDF-1.4 " + b"x" * 200)
    monkeypatch.setattr(imports, "MAX_PDF_BYTES", 100)
    data = _csv(
        "F-1,A,01/01/2026,31/01/2026,10,nope.pdf",
        "F-2,A,01/01/2026,31/01/2026,10,image.pdf",
        "F-3,A,01/01/2026,31/01/2026,10,big.pdf",
        header=PDF_HEADER,
    )
    errors = parse_csv(data, pdf_base=tmp_path).errors
    assert [(e.line, e.column) for e in errors] == [(2, "invoice_pdf"), (3, "invoice_pdf"), (4, "invoice_pdf")]
    assert "not found" in errors[0].reason and "nope.pdf" in errors[0].reason
    assert "not a PDF" in errors[1].reason
    assert "too large" in errors[2].reason


def test_invoice_pdf_without_a_folder_is_refused(tmp_path: Path) -> None:
    """Without a folder to read from (a file sent in the chat), a non-empty invoice_pdf is refused, even absolute;
    an empty column is fine."""
    pdf = tmp_path / "F-1.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    error = _one_error(_csv(f"F-1,A,01/01/2026,31/01/2026,10,{pdf}", header=PDF_HEADER))
    assert (error.line, error.column) == (2, "invoice_pdf")
    assert "relance import" in error.reason
    assert parse_csv(_csv("F-1,A,01/01/2026,31/01/2026,10,", header=PDF_HEADER)).ok
