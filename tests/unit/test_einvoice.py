"""The e-invoice reader: Factur-X / ZUGFeRD PDFs, CII and UBL XML read into EInvoice, and every bad input refused
with one message naming the file and the problem."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from stdnum.fr import siren as fr_siren
from stdnum.fr import tva as fr_tva

from services.einvoice import MAX_FILE_BYTES, EInvoice, EInvoiceError, PostalAddress, detect_kind, read_einvoice
from tests.samples import einvoices as samples
from tests.samples.einvoices import BUYER, FOREIGN_SELLER, SELLER

PROFILES = ("minimum", "basicwl", "en16931", "extended", "xrechnung")
CSV = b"invoice_number;client_name;issue_date;due_date;amount\nF-1;Martin;02/03/2026;01/04/2026;120,00\n"


def test_sample_company_identifiers_are_valid() -> None:
    """The generated SIRENs pass the Luhn check and their VAT numbers are the ones stdnum derives."""
    for company in (SELLER, BUYER):
        assert company.siren and company.vat
        assert fr_siren.is_valid(company.siren)
        assert fr_tva.is_valid(company.vat)
        assert company.vat == "FR" + fr_siren.to_tva(company.siren)


@pytest.mark.parametrize("profile", PROFILES)
def test_each_cii_profile_reads_the_common_fields(profile: samples.Profile) -> None:
    """Number, type, dates, amounts, currency, seller and buyer identity come out of every profile."""
    invoice = read_einvoice(samples.cii_xml(profile), f"{profile}.xml")
    assert (invoice.number, invoice.kind, invoice.issue_date) == ("F-2026-042", "invoice", date(2026, 3, 2))
    assert (invoice.grand_total, invoice.amount_due, invoice.currency) == (Decimal("2088.00"),) * 2 + ("EUR",)
    assert (invoice.seller.name, invoice.seller.siren, invoice.seller.vat) == (SELLER.name, SELLER.siren, SELLER.vat)
    assert (invoice.buyer.name, invoice.buyer.siren) == (BUYER.name, BUYER.siren)
    assert (invoice.flavor, invoice.document_kind) == ("factur-x", "xml")
    assert invoice.level == ("en16931" if profile == "xrechnung" else profile)


def test_minimum_has_no_due_date_so_the_default_term_is_assumed() -> None:
    """MINIMUM carries no payment terms: due date = issue date + the business's term, flagged as assumed."""
    invoice = read_einvoice(samples.cii_xml("minimum"), "min.xml", default_term_days=45)
    assert (invoice.due_date, invoice.due_date_assumed) == (date(2026, 4, 16), True)
    assert (invoice.buyer.email, invoice.buyer.address, invoice.buyer.vat) == (None, None, None)


def test_basic_wl_reads_due_date_email_address_and_vat() -> None:
    """BASIC WL: payment terms' due date, buyer e-mail as electronic address, postal address, VAT number."""
    invoice = read_einvoice(samples.cii_xml("basicwl"), "wl.xml")
    assert (invoice.due_date, invoice.due_date_assumed) == (date(2026, 4, 1), False)
    buyer = invoice.buyer
    assert (buyer.email, buyer.vat, buyer.siret) == (BUYER.email, BUYER.vat, None)
    assert buyer.address == samples_address(BUYER)


def samples_address(company: samples.Company) -> PostalAddress:
    """The PostalAddress the reader should give for a sample company."""
    return PostalAddress((company.street,), company.postcode, company.city, company.country)


def test_en16931_reads_siret_and_contact_email() -> None:
    """EN 16931: the buyer's SIRET (GlobalID 0009) and e-mail from its contact."""
    buyer = read_einvoice(samples.cii_xml("en16931"), "en.xml").buyer
    assert (buyer.siret, buyer.siren, buyer.email) == (BUYER.siret, BUYER.siren, BUYER.email)


@pytest.mark.parametrize("profile", ["minimum", "basicwl", "en16931"])
def test_facturx_pdf_keeps_the_pdf_as_document(profile: samples.Profile) -> None:
    """A Factur-X PDF is read from its embedded XML and the PDF itself is the invoice's document."""
    pdf = samples.facturx_pdf(profile)
    invoice = read_einvoice(pdf, "facture.pdf")
    assert (invoice.number, invoice.level, invoice.document_kind) == ("F-2026-042", profile, "pdf")
    assert invoice.document == pdf


def test_zugferd_1_is_read() -> None:
    """ZUGFeRD 1.0 (the 2014 CII) gives the same fields through its own element names."""
    invoice = read_einvoice(samples.zugferd1_xml(), "zugferd.xml")
    assert (invoice.flavor, invoice.level, invoice.number) == ("zugferd", "basic", "F-2026-042")
    assert (invoice.amount_due, invoice.due_date, invoice.seller.vat) == (
        Decimal("2088.00"),
        date(2026, 4, 1),
        SELLER.vat,
    )
    assert invoice.buyer.address == samples_address(BUYER)


def test_ubl_invoice_reads_every_field() -> None:
    """A Peppol-style UBL 2.1 invoice: SIRET endpoint, SIREN legal ID, VAT, contact e-mail, address, due date."""
    invoice = read_einvoice(samples.ubl_xml(), "ubl.xml")
    assert (invoice.flavor, invoice.kind, invoice.number) == ("ubl-2.1-invoice", "invoice", "F-2026-042")
    assert (invoice.due_date, invoice.due_date_assumed, invoice.grand_total) == (
        date(2026, 4, 1),
        False,
        Decimal("2088.00"),
    )
    buyer = invoice.buyer
    assert (buyer.name, buyer.siren, buyer.siret, buyer.vat, buyer.email) == (
        BUYER.name,
        BUYER.siren,
        BUYER.siret,
        BUYER.vat,
        BUYER.email,
    )
    assert buyer.address == samples_address(BUYER)


@pytest.mark.parametrize(
    ("make", "flavor"),
    [
        (lambda: samples.ubl_xml(samples.credit_note_data()), "ubl-2.1-creditnote"),
        (lambda: samples.cii_xml("en16931", samples.credit_note_data()), "factur-x"),
    ],
    ids=["ubl", "cii"],
)
def test_credit_note_names_the_invoice_it_credits(make: Callable[[], bytes], flavor: str) -> None:
    """A credit note (UBL CreditNote, CII type 381) is a credit note for 240 EUR referencing F-2026-042."""
    note = read_einvoice(make(), "avoir.xml")
    assert (note.kind, note.number, note.referenced_invoice, note.flavor) == (
        "credit_note",
        "AV-2026-007",
        "F-2026-042",
        flavor,
    )
    assert (note.grand_total, note.amount_due, note.due_date_assumed) == (Decimal("240.00"), Decimal("240.00"), True)


@pytest.mark.parametrize(
    "make",
    [lambda data: samples.cii_xml("basicwl", data), lambda data: samples.facturx_pdf("en16931", data), samples.ubl_xml],
    ids=["cii", "pdf", "ubl"],
)
def test_prepayment_leaves_less_to_pay_than_the_total(make: Callable[[samples.InvoiceData], bytes]) -> None:
    """After a 500 EUR prepayment the amount due is the total minus it."""
    invoice = read_einvoice(make(samples.invoice_data(prepaid=Decimal("500.00"))), "acompte.xml")
    assert (invoice.grand_total, invoice.amount_due) == (Decimal("2088.00"), Decimal("1588.00"))


def test_no_payment_terms_assumes_the_due_date() -> None:
    """An EN 16931 invoice without payment terms gets issue date + 30 days, flagged."""
    invoice = read_einvoice(samples.cii_xml("en16931", samples.invoice_data(due=None)), "sans-echeance.xml")
    assert (invoice.due_date, invoice.due_date_assumed) == (date(2026, 4, 1), True)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (CSV, "csv"),
        (samples.plain_pdf(), "facturx_pdf"),
        (samples.cii_xml("minimum"), "cii"),
        (samples.zugferd1_xml(), "cii"),
        (samples.ubl_xml(), "ubl"),
        (samples.ubl_xml(samples.credit_note_data()), "ubl"),
        (samples.not_an_invoice_xml(), "unknown"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unknown"),
        (b"", "unknown"),
    ],
    ids=["csv", "pdf", "cii", "zugferd1", "ubl", "ubl-credit-note", "camt", "png", "empty"],
)
def test_detect_kind_by_content(data: bytes, kind: str) -> None:
    """The kind comes from the bytes, never from a file name."""
    assert detect_kind(data) == kind


def test_own_invoice_is_accepted_by_siren_or_vat() -> None:
    """An invoice issued by the business (its SIREN, or its VAT number) is read."""
    xml = samples.cii_xml("en16931")
    assert read_einvoice(xml, "a.xml", business_siren=SELLER.siren).seller.name == SELLER.name
    assert read_einvoice(xml, "a.xml", business_vat=SELLER.vat).number == "F-2026-042"


@pytest.mark.parametrize(
    ("siren", "vat"),
    [(SELLER.siren, None), (None, SELLER.vat)],
    ids=["siren", "vat"],
)
def test_invoice_from_another_seller_is_not_yours(siren: str | None, vat: str | None) -> None:
    """A foreign seller's invoice, or another French company's, is refused naming the file, who issued it, the
    seller's numbers and the business's own."""
    other = replace(BUYER, name="Imprimerie Leroy")
    ours = f"SIREN {siren}" if siren else f"TVA {vat}"
    for seller in (FOREIGN_SELLER, other):
        xml = samples.cii_xml("en16931", samples.invoice_data(seller=seller, buyer=SELLER))
        with pytest.raises(EInvoiceError) as caught:
            read_einvoice(xml, "autre.xml", business_siren=siren, business_vat=vat)
        message = str(caught.value)
        assert message.startswith("autre.xml : ce n'est pas votre facture : elle est émise par " + seller.name)
        assert f"et non par votre entreprise ({ours})" in message and "not your invoice" in message
        if seller.siren:
            assert f"SIREN {seller.siren}" in message
        assert f"TVA {seller.vat}" in message


def test_without_business_identifiers_the_seller_is_shown() -> None:
    """With no SIREN or VAT set for the business, any seller is accepted and named."""
    invoice = read_einvoice(samples.cii_xml("en16931", samples.invoice_data(seller=FOREIGN_SELLER)), "de.xml")
    assert (invoice.seller.name, invoice.seller.vat, invoice.seller.siren) == (
        FOREIGN_SELLER.name,
        FOREIGN_SELLER.vat,
        None,
    )


def _broken_buyer(**changes: object) -> bytes:
    """An EN 16931 invoice whose buyer has some fields changed."""
    return samples.cii_xml("en16931", samples.invoice_data(buyer=replace(BUYER, **changes)))  # type: ignore[arg-type]


BAD_INPUTS = {
    "missing-number": (
        lambda: samples.cii_xml("en16931", samples.invoice_data(number=None)),
        "missing required field: invoice number",
    ),
    "missing-number-ubl": (
        lambda: samples.ubl_xml(samples.invoice_data(number=None)),
        "missing required field: invoice number",
    ),
    "missing-buyer-name": (lambda: _broken_buyer(name=""), "missing required field: buyer name"),
    "pdf-without-xml": (samples.plain_pdf, "this PDF holds no e-invoice data"),
    "damaged-pdf": (lambda: b"%PDF-1.7\n garbage", "unreadable PDF"),
    "not-an-invoice": (samples.not_an_invoice_xml, r"this XML is not an invoice \(root element Document\)"),
    "truncated": (samples.truncated_xml, "malformed or truncated XML"),
    "billion-laughs": (samples.billion_laughs_xml, "declares a DOCTYPE or entities"),
    "external-entity": (samples.external_entity_xml, "declares a DOCTYPE or entities"),
    "empty": (lambda: b" \n", "the file is empty"),
    "csv": (lambda: CSV, "this is a CSV file, not an e-invoice"),
    "binary": (lambda: b"\x89PNG\r\n\x1a\n\x00\x00", "neither a Factur-X / ZUGFeRD invoice nor a CII or UBL"),
    "xsd-xml": (samples.xsd_invalid_xml, "the factur-x XML is not valid against the official XSD: .*Colour"),
    "xsd-pdf": (samples.xsd_invalid_pdf, "the factur-x XML is not valid against the official XSD: .*Colour"),
    "buyer-siren": (lambda: _broken_buyer(siren="512345678"), "invalid buyer SIREN: '512345678'"),
    "buyer-siret": (lambda: _broken_buyer(siret="51234567900018"), "invalid buyer SIRET: '51234567900018'"),
    "buyer-vat": (lambda: _broken_buyer(vat="FR00512345679"), "invalid buyer VAT number: 'FR00512345679'"),
    "buyer-email": (lambda: _broken_buyer(email="compta@"), "invalid buyer e-mail: 'compta@'"),
    "due-before-issue": (
        lambda: samples.cii_xml("en16931", samples.invoice_data(due=date(2026, 3, 1))),
        "due date 2026-03-01 is before issue date 2026-03-02",
    ),
    "bad-date": (
        lambda: samples.ubl_xml().replace(b"<cbc:IssueDate>2026-03-02", b"<cbc:IssueDate>2026-02-30"),
        "unreadable issue date: '2026-02-30'",
    ),
}


@pytest.mark.parametrize(("make", "problem"), list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_bad_input_gets_one_clear_message(make: Callable[[], bytes], problem: str) -> None:
    """Each bad file is refused with one line naming the file, in French then English."""
    with pytest.raises(EInvoiceError) as caught:
        read_einvoice(make(), "facture-fournisseur.xml")
    message = str(caught.value)
    assert message.startswith("facture-fournisseur.xml : ")
    assert caught.value.file == "facture-fournisseur.xml"
    assert "\n" not in message
    assert " / " in caught.value.problem  # French / English
    assert re.search(problem, message), message


def test_file_over_50_mb_is_refused_before_parsing() -> None:
    """A file over the cap is refused with its size, whatever it holds."""
    with pytest.raises(EInvoiceError, match=r"big\.pdf : .*file too large \(50 MB; 50 MB at most\)"):
        read_einvoice(b"%PDF-" + b"0" * MAX_FILE_BYTES, "big.pdf")


def test_entities_are_never_expanded() -> None:
    """The external entity's target never appears: the file is refused before any entity is resolved."""
    with pytest.raises(EInvoiceError) as caught:
        read_einvoice(samples.external_entity_xml(), "xxe.xml")
    assert "root:" not in str(caught.value)


def test_einvoice_is_frozen() -> None:
    """What the reader returns cannot be changed by accident downstream."""
    invoice = read_einvoice(samples.cii_xml("minimum"), "min.xml")
    assert isinstance(invoice, EInvoice)
    with pytest.raises(AttributeError):
        invoice.number = "X"  # type: ignore[misc]
