"""Bank statement readers: CAMT.053, OFX 1/2 and French banks' CSV exports read the right credits, give stable line
ids, and refuse bad or hostile input with one clear error naming the file."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from services.statements import MAX_FILE_BYTES, StatementError, iter_credits, read_statement
from services.statements.csv_banks import parse_date, parse_signed
from tests.samples import statements as samples

# ---------------------------------------------------------------------------------------------------------------
# CAMT.053


@pytest.mark.parametrize("version", samples.CAMT_VERSIONS)
def test_camt_reads_booked_euro_credits_and_splits_batches(version: str) -> None:
    """Booked euro credits only, the batched entry split into its two transactions with their own details."""
    statement = read_statement(samples.camt053(version), "releve.xml")
    got = [(c.booking_date, c.amount, c.remittance, c.counterparty) for c in statement.credits]
    assert got == list(samples.EXPECTED_CAMT)
    assert statement.format == f"camt.053.{version}"
    assert statement.account == samples.IBAN
    assert statement.debits == 1
    assert all(c.currency == "EUR" and c.account == samples.IBAN for c in statement.credits)
    assert statement.total == Decimal("4725.50")


@pytest.mark.parametrize("version", samples.CAMT_VERSIONS)
def test_camt_foreign_currency_credit_is_reported_apart(version: str) -> None:
    """A credit in USD is not matched: it is kept in `foreign`, with its currency."""
    statement = read_statement(samples.camt053(version), "releve.xml")
    assert [(f.amount, f.currency, f.counterparty) for f in statement.foreign] == [
        (Decimal("250.00"), "USD", "Acme Corp")
    ]


def test_camt_pending_entry_is_skipped() -> None:
    """An entry with status PDNG (not booked yet) gives no line, even when it is the only one."""
    pending = samples.Entry(Decimal(10), date(2026, 11, 2), status="PDNG", reference="X")
    booked = samples.Entry(Decimal(20), date(2026, 11, 2), reference="Y")
    statement = read_statement(samples.camt053("001.08", [pending, booked]), "r.xml")
    assert [c.amount for c in statement.credits] == [Decimal("20.00")]


def test_camt_batched_references_are_distinct() -> None:
    """Each transaction of a batch has its own reference: its own, or the entry's with its rank."""
    refs = [c.bank_reference for c in read_statement(samples.camt053("001.02"), "r.xml").credits]
    assert refs == ["2026110200001", "B2026110300002-1", "2026110300002/2", None]


def test_camt_batch_that_does_not_add_up_is_kept_whole() -> None:
    """Transactions whose amounts do not add up to the entry (e.g. original-currency amounts) are not split."""
    parts = (samples.Tx(Decimal(100), "A", "F-1"), samples.Tx(Decimal(150), "B", "F-2"))
    entry = samples.Entry(Decimal("300.00"), date(2026, 11, 2), reference="R1", txs=parts)
    credits = read_statement(samples.camt053("001.08", [entry]), "r.xml").credits
    assert [(c.amount, c.bank_reference) for c in credits] == [(Decimal("300.00"), "R1")]


@pytest.mark.parametrize("version", ["001.03", "001.04", "001.05", "001.06", "001.07"])
def test_camt_every_supported_version_is_read(version: str) -> None:
    """Versions .001.02 to .001.08 are accepted (the layout of the nearest sample, the version's namespace)."""
    base = samples.camt053("001.02" if version < "001.07" else "001.08")
    data = base.replace(b"camt.053.001.0", f"camt.053.{version[:-1]}".encode(), 1).replace(
        f"camt.053.{version[:-1]}2".encode() if version < "001.07" else f"camt.053.{version[:-1]}8".encode(),
        f"camt.053.{version}".encode(),
    )
    statement = read_statement(data, "r.xml")
    assert statement.format == f"camt.053.{version}"
    assert len(statement.credits) == 4


def test_camt_is_namespace_agnostic() -> None:
    """A prefixed namespace (ns0:Document, ns0:Ntry...) is read the same as the default namespace."""
    text = samples.camt053("001.08").decode()
    prefixed = re.sub(r"<(/?)([A-Za-z])", r"<\1ns0:\2", text.split("\n", 1)[1])
    prefixed = prefixed.replace('xmlns="', 'xmlns:ns0="')
    statement = read_statement(prefixed.encode(), "r.xml")
    assert [c.amount for c in statement.credits] == [e[1] for e in samples.EXPECTED_CAMT]


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("camt.052.001.08", "camt.052"),
        ("camt.054.001.08", "camt.054"),
        ("camt.053.001.01", "camt.053.001.01"),
        ("camt.053.001.13", "camt.053.001.13"),
    ],
)
def test_camt_unsupported_version_is_named(namespace: str, expected: str) -> None:
    """Another message or an unsupported version gets one error naming it."""
    data = samples.camt053("001.08").replace(b"camt.053.001.08", namespace.encode())
    with pytest.raises(StatementError, match=re.escape(expected)) as caught:
        read_statement(data, "releve.xml")
    assert caught.value.code == "camt_version"
    assert caught.value.file == "releve.xml"


def test_xml_of_an_unknown_kind_is_refused() -> None:
    """An XML file that is no CAMT (e.g. an invoice) says so."""
    with pytest.raises(StatementError, match="unknown kind") as caught:
        read_statement(b"<?xml version='1.0'?><Invoice><ID>1</ID></Invoice>", "facture.xml")
    assert caught.value.code == "camt_version"


def test_truncated_camt_names_the_file() -> None:
    """A truncated CAMT raises one error naming the file and the line, and nothing is returned."""
    data = samples.camt053("001.08")
    with pytest.raises(StatementError, match="truncated") as caught:
        read_statement(data[: len(data) * 2 // 3], "tronque.xml")
    assert caught.value.file == "tronque.xml"
    assert caught.value.code == "bad_xml"
    assert caught.value.line is not None
    assert "tronque.xml" in str(caught.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Ntry>
<Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-02</Dt></BookgDt>
<AddtlNtryInf>&lol2;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR</CURDEF><BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT</TRNTYPE>
<DTPOSTED>20261128</DTPOSTED><TRNAMT>1.00</TRNAMT><FITID>1</FITID><NAME>&xxe;</NAME></STMTTRN></BANKTRANLIST>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_payloads_are_refused_unexpanded(payload: bytes) -> None:
    """A DTD with entities (CAMT or OFX 2) is refused before parsing: one clear error, nothing expanded."""
    with pytest.raises(StatementError, match="entity") as caught:
        read_statement(payload, "piege.xml")
    assert caught.value.code == "xml_entities"
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_entity_payload_behind_a_long_comment_is_refused(payload: bytes) -> None:
    """A DTD pushed past the first 64 KB by a comment is still refused, once the prolog is parsed."""
    padded = payload.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0"?><!--' + b"x" * 70_000 + b"-->")
    with pytest.raises(StatementError) as caught:
        read_statement(padded, "piege.xml")
    assert caught.value.code == "xml_entities"


def test_entity_payload_from_a_path_is_refused(tmp_path: Path) -> None:
    """The same check applies to a file read from disk (streamed)."""
    path = tmp_path / "piege.xml"
    path.write_bytes(BILLION_LAUGHS)
    with pytest.raises(StatementError) as caught:
        read_statement(path, "piege.xml")
    assert caught.value.code == "xml_entities"


def test_camt_from_a_path_equals_from_bytes(tmp_path: Path) -> None:
    """Reading a path (streamed from disk) gives the same lines, ids included, as reading the bytes."""
    path = tmp_path / "releve.xml"
    path.write_bytes(samples.camt053("001.08"))
    assert read_statement(path, "releve.xml").credits == read_statement(path.read_bytes(), "releve.xml").credits


def test_big_camt_streams_every_page(tmp_path: Path) -> None:
    """A multi-page statement (one Stmt per page) yields every credit, batches split, debits skipped."""
    path = samples.write_big_camt(tmp_path / "big.xml", entries=2_000, pages=40)
    credits = list(iter_credits(path, "big.xml"))
    # 2,000 entries: 100 debits, 100 batches of 3, 1,800 single credits.
    assert len(credits) == 1_800 + 300
    assert len({c.line_id for c in credits}) == len(credits)


# ---------------------------------------------------------------------------------------------------------------
# OFX

EXPECTED_OFX = [(date(2026, 11, 28), Decimal("1200.00")), (date(2026, 11, 27), Decimal("3450.00"))]


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (samples.ofx1(), "OFX 1 (SGML)"),
        (samples.ofx1(header=True), "OFX 1 (SGML)"),
        (samples.ofx1(language="FR"), "OFX 1 (SGML)"),
        (samples.ofx1(language="fre"), "OFX 1 (SGML)"),
        (samples.ofx2(), "OFX 2 (XML)"),
    ],
    ids=["no-header", "header", "lang-FR", "lang-fre", "ofx2"],
)
def test_ofx_reads_credits_trusting_the_sign(data: bytes, label: str) -> None:
    """French OFX (no header, unclosed leaves, decimal comma, TRNTYPE contradicting the sign) and OFX 2 XML."""
    statement = read_statement(data, "releve.ofx")
    assert [(c.booking_date, c.amount) for c in statement.credits] == EXPECTED_OFX
    assert statement.format == label
    assert statement.debits == 2
    first = statement.credits[0]
    assert (first.account, first.bank_reference) == ("30004 00123 00012345678", "FR26112800001")
    assert (first.counterparty, first.remittance) == ("VIR SEPA BOULANGERIE MARTIN", "FACTURE F-2026-042")
    assert statement.credits[1].remittance == "F-2026-043 Régl. Café"


def test_ofx_empty_memo_does_not_swallow_the_next_fields() -> None:
    """An empty leaf (`<MEMO>` with no text) stays a leaf: the debit after it keeps its own fields."""
    lines = list(iter_credits(samples.ofx1(), "r.ofx", include_debits=True))
    edf = next(line for line in lines if line.amount == Decimal("-89.90"))
    assert (edf.counterparty, edf.remittance, edf.bank_reference) == ("PRLV SEPA EDF", "", "FR26112800002")


def test_ofx_without_transaction_is_refused() -> None:
    """An OFX file with no STMTTRN gets one clear error."""
    with pytest.raises(StatementError, match="no transaction") as caught:
        read_statement(samples.ofx1(transactions=False), "vide.ofx")
    assert caught.value.code == "ofx_empty"
    assert caught.value.file == "vide.ofx"


def test_truncated_ofx2_names_the_file() -> None:
    """A truncated OFX 2 XML file is reported as such."""
    with pytest.raises(StatementError, match="truncated") as caught:
        read_statement(samples.ofx2()[:-40], "coupe.ofx")
    assert caught.value.code == "bad_xml"


# ---------------------------------------------------------------------------------------------------------------
# CSV


@pytest.mark.parametrize("profile", samples.BANK_PROFILES)
def test_each_bank_profile_is_detected_and_read(profile: str) -> None:
    """Each bank's export is recognised from its header (LCL: its row shape) and gives the two credits."""
    statement = read_statement(samples.bank_csv(profile), f"{profile}.csv")
    assert statement.format == f"CSV {profile}"
    assert [(c.booking_date, c.amount) for c in statement.credits] == list(samples.EXPECTED_CREDITS)
    assert all("F-2026-04" in c.remittance for c in statement.credits)
    assert statement.debits == (1 if profile == "qonto" else 2)


@pytest.mark.parametrize("key", list(samples.VARIANTS), ids=[k[0] for k in samples.VARIANTS])
def test_other_layouts_of_the_same_banks(key: tuple[str, str]) -> None:
    """Older or alternative exports of a bank are recognised as that bank and read the same."""
    statement = read_statement(samples.variant_csv(key), "variante.csv")
    assert statement.format == f"CSV {key[0]}"
    assert [(c.booking_date, c.amount) for c in statement.credits] == list(samples.EXPECTED_CREDITS)
    assert all("F-2026-04" in c.remittance for c in statement.credits)


def test_csv_details_are_kept() -> None:
    """Accents in Windows-1252, value dates, counterparties, preamble account numbers and bank ids are read."""
    shine = read_statement(samples.bank_csv("shine"), "shine.csv").credits[0]
    assert (shine.counterparty, shine.remittance) == ("Boulangerie Martin", "Virement reçu FACTURE F-2026-042")
    assert shine.value_date == date(2026, 11, 28)
    ce = read_statement(samples.bank_csv("caisse_epargne"), "ce.csv")
    assert ce.credits[0].remittance == "VIR SEPA BOULANGERIE MARTIN 2611280001 FACTURE F-2026-042"
    assert read_statement(samples.bank_csv("credit_agricole"), "ca.csv").account == "12345678901"
    assert read_statement(samples.bank_csv("societe_generale"), "sg.csv").account == "00012345678"
    assert read_statement(samples.bank_csv("bnp_paribas"), "bnp.csv").account == "12345678901"
    classic = read_statement(samples.variant_csv(next(iter(samples.VARIANTS))), "ce.csv")
    assert classic.account == "08001234567"
    assert [c.bank_reference for c in classic.credits] == ["6543210", "6543211"]
    qonto = read_statement(samples.bank_csv("qonto"), "q.csv").credits
    assert [c.bank_reference for c in qonto] == ["tx-0001", "tx-0002"]  # the pending credit is not there


def test_generic_profile_uses_the_named_columns() -> None:
    """The owner names the columns of an export no profile knows."""
    statement = read_statement(samples.bank_csv("generic"), "export.csv", columns=samples.GENERIC_COLUMNS)
    assert statement.format == "CSV generic"
    assert [(c.booking_date, c.amount, c.counterparty) for c in statement.credits] == [
        (date(2026, 11, 28), Decimal("1200.00"), "Boulangerie Martin"),
        (date(2026, 11, 27), Decimal("3450.00"), "Dupont & Fils"),
    ]


def test_generic_profile_with_a_missing_column_is_refused() -> None:
    """A named column that the file does not have is reported."""
    with pytest.raises(StatementError, match="'Montant'") as caught:
        read_statement(samples.bank_csv("generic"), "export.csv", columns={"date": "Jour", "amount": "Montant"})
    assert caught.value.code == "csv_columns"


def test_unknown_csv_and_unknown_profile_are_refused() -> None:
    """A CSV no profile recognises, or an unknown profile name, gets a clear error."""
    with pytest.raises(StatementError, match="no known bank export") as caught:
        read_statement(b"a;b;c\n1;2;3\n", "autre.csv")
    assert caught.value.code == "csv_unknown"
    with pytest.raises(StatementError, match="unknown bank profile 'hsbc'"):
        read_statement(samples.bank_csv("shine"), "shine.csv", profile="hsbc")


def test_forced_profile_must_match_the_file() -> None:
    """Forcing a profile reads the file with it, and refuses a file of another bank."""
    assert len(read_statement(samples.bank_csv("lcl"), "lcl.csv", profile="lcl").credits) == 2
    with pytest.raises(StatementError) as caught:
        read_statement(samples.bank_csv("shine"), "shine.csv", profile="boursorama")
    assert caught.value.code == "csv_unknown"


@pytest.mark.parametrize("profile", ["boursorama", "shine", "societe_generale", "qonto", "lcl"])
def test_debit_only_csv_has_no_credit(profile: str) -> None:
    """A statement with debits only gets "no credit in this statement"."""
    with pytest.raises(StatementError, match="no credit in this statement") as caught:
        read_statement(samples.bank_csv(profile, credits=False), "debits.csv")
    assert caught.value.code == "no_credit"


def test_bad_amount_names_the_line() -> None:
    """An unreadable amount is reported with its line number."""
    data = samples.bank_csv("shine").replace(b"3450,00", b"34x0,00")
    with pytest.raises(StatementError, match="unreadable amount") as caught:
        read_statement(data, "shine.csv")
    assert caught.value.line == 3


def test_bad_date_names_the_line() -> None:
    """A date cell that is no date (but is not a summary line either) is reported with its line."""
    data = samples.bank_csv("lcl").replace(b"27/11/2026;3450", b"31/02/2026;3450")
    with pytest.raises(StatementError, match="unreadable date '31/02/2026'") as caught:
        read_statement(data, "lcl.csv")
    assert (caught.value.line, caught.value.code) == (2, "csv_date")


def test_csv_foreign_currency_is_reported_apart() -> None:
    """A CSV credit in another currency (Société Générale's Devise column) goes to `foreign`."""
    data = samples.bank_csv("societe_generale").replace(b"3 450,00;EUR", b"3 450,00;USD")
    statement = read_statement(data, "sg.csv")
    assert [c.amount for c in statement.credits] == [Decimal("1200.00")]
    assert [(f.amount, f.currency) for f in statement.foreign] == [(Decimal("3450.00"), "USD")]


def test_french_dates_and_amounts() -> None:
    """The date and amount forms French exports use."""
    assert parse_date("28/11/2026") == parse_date("28/11/26") == parse_date("2026-11-28") == date(2026, 11, 28)
    assert parse_date("28-11-2026 09:14:03") == date(2026, 11, 28)
    assert parse_date("Solde") is None
    assert parse_signed("-1 234,56") == Decimal("-1234.56")
    assert parse_signed("+1\u00a0200,00") == Decimal("1200.00")
    assert parse_signed("1234.5") == Decimal("1234.50")
    assert parse_signed(" ") is None


# ---------------------------------------------------------------------------------------------------------------
# Line identity, streaming, size


def _every_sample() -> list[bytes]:
    return (
        [samples.camt053(v) for v in samples.CAMT_VERSIONS]
        + [samples.ofx1(), samples.ofx2()]
        + [samples.bank_csv(p) for p in samples.BANK_PROFILES]
    )


@pytest.mark.parametrize("data", _every_sample())
def test_line_ids_are_stable_and_distinct(data: bytes) -> None:
    """Reading the same file twice gives the same ids; lines of one file have distinct ids."""
    first = [c.line_id for c in iter_credits(data, "a", include_debits=True)]
    again = [c.line_id for c in iter_credits(data, "b", include_debits=True)]
    assert first == again
    assert len(set(first)) == len(first)
    assert all(re.fullmatch(r"[0-9a-f]{64}", i) for i in first)


def test_identical_lines_without_reference_get_distinct_ids() -> None:
    """Two identical movements on one day (no bank reference) are two lines, with ids stable across reads."""
    twice = "28/11/2026;28/11/2026;Virement reçu FACTURE F-2026-042;Boulangerie Martin;;1200,00;Ventes;\r\n"
    data = samples.bank_csv("shine") + twice.encode()
    ids = [c.line_id for c in read_statement(data, "s.csv").credits]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert ids == [c.line_id for c in read_statement(data, "s.csv").credits]


def test_line_id_depends_on_the_amount() -> None:
    """A different amount is a different line, with or without a bank reference."""
    for data, old, new in (
        (samples.ofx1(), b"+1200,00", b"+1200,01"),
        (samples.bank_csv("lcl"), b"1200,00", b"1201,00"),
    ):
        before = read_statement(data, "x").credits[0].line_id
        assert read_statement(data.replace(old, new), "x").credits[0].line_id != before


def test_iter_credits_streams_every_currency() -> None:
    """The streaming API yields every credit, foreign ones included (their currency tells them apart)."""
    lines = list(iter_credits(samples.camt053("001.08"), "r.xml"))
    assert [c.currency for c in lines] == ["EUR", "EUR", "EUR", "USD", "EUR"]
    assert all(c.amount > 0 for c in lines)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    """A file over 50 MB is refused from its size alone (a sparse file: nothing is read)."""
    path = tmp_path / "enorme.xml"
    with open(path, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(StatementError, match="50 MB") as caught:
        read_statement(path, "enorme.xml")
    assert caught.value.code == "too_big"
    with pytest.raises(StatementError, match="refused"):
        read_statement(b"x" * (MAX_FILE_BYTES + 1), "enorme.csv")


def test_empty_and_missing_files_are_reported(tmp_path: Path) -> None:
    """An empty file and a file that cannot be read get their own message."""
    with pytest.raises(StatementError, match="empty"):
        read_statement(b"", "vide.csv")
    with pytest.raises(StatementError, match="cannot be read"):
        read_statement(tmp_path / "absent.xml", "absent.xml")
