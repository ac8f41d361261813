"""Sample e-invoices generated for the tests: CII XML of the Factur-X MINIMUM, BASIC WL, EN 16931 and EXTENDED
profiles (and XRechnung CII), Factur-X PDFs embedding them (fpdf2 + the `factur-x` library), ZUGFeRD 1.0, UBL 2.1
invoices and credit notes, and the hostile or broken variants the reader must refuse.

Real-world variations covered: French SIREN / SIRET / VAT identifiers with their scheme IDs (0002, 0009, VA), the
buyer's e-mail as an electronic address (BASIC WL) or a contact (EN 16931), a prepayment (amount due below the total),
no payment terms (no due date), a foreign seller, a credit note referencing the invoice it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Literal

import facturx
from fpdf import FPDF
from lxml import etree
from stdnum import luhn
from stdnum.iso7064 import mod_11_10

Profile = Literal["minimum", "basicwl", "en16931", "extended", "xrechnung"]

GUIDELINES: dict[Profile, str] = {
    "minimum": "urn:factur-x.eu:1p0:minimum",
    "basicwl": "urn:factur-x.eu:1p0:basicwl",
    "en16931": "urn:cen.eu:en16931:2017",
    "extended": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
    "xrechnung": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
ZF1_RSM = "urn:ferd:CrossIndustryDocument:invoice:1p0"
ZF1_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
ZF1_UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15"
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def siren_from(base: str) -> str:
    """A SIREN: eight digits and their Luhn check digit."""
    return base + luhn.calc_check_digit(base)


def siret_from(siren: str, establishment: str) -> str:
    """A SIRET: the SIREN, a four-digit establishment number and the Luhn check digit of all thirteen."""
    body = siren + establishment
    return body + luhn.calc_check_digit(body)


def fr_vat_of(siren: str) -> str:
    """The French VAT number of a SIREN: FR, a two-digit key (12 + 3 x (SIREN mod 97)) mod 97, the SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


@dataclass(frozen=True)
class Company:
    """A trading party of a sample invoice."""

    name: str
    siren: str | None
    siret: str | None
    vat: str | None
    email: str | None
    street: str
    postcode: str
    city: str
    country: str


def french_company(name: str, base: str, email: str, street: str, postcode: str, city: str) -> Company:
    """A French company whose SIREN, SIRET (head office 00012) and VAT number are all valid."""
    siren = siren_from(base)
    return Company(name, siren, siret_from(siren, "0001"), fr_vat_of(siren), email, street, postcode, city, "FR")


SELLER = french_company(
    "Atelier Dupont SARL", "73282932", "factures@atelier-dupont.example", "12 rue des Lilas", "69003", "Lyon"
)
BUYER = french_company(
    "Boulangerie Martin SAS", "51234567", "compta@boulangerie-martin.example", "4 place du Marché", "33000", "Bordeaux"
)
FOREIGN_SELLER = Company(
    "Müller Werkzeuge GmbH",
    None,
    None,
    "DE" + "13669597" + mod_11_10.calc_check_digit("13669597"),
    "rechnung@mueller-werkzeuge.example",
    "Hauptstraße 5",
    "10115",
    "Berlin",
    "DE",
)


@dataclass(frozen=True)
class InvoiceData:
    """What a sample invoice says; totals are computed from the lines (VAT at one rate)."""

    number: str | None = "F-2026-042"
    credit_note: bool = False
    issue: date = date(2026, 3, 2)
    due: date | None = date(2026, 4, 1)
    lines: tuple[tuple[str, Decimal, Decimal], ...] = (
        ("Création de site vitrine", Decimal(1), Decimal("1500.00")),
        ("Maintenance mensuelle", Decimal(3), Decimal("80.00")),
    )
    vat_rate: Decimal = Decimal("20.00")
    prepaid: Decimal = Decimal("0.00")
    currency: str = "EUR"
    seller: Company = SELLER
    buyer: Company = BUYER
    referenced: str | None = None

    @property
    def net(self) -> Decimal:
        """Sum of the lines without VAT."""
        return sum((quantity * price for _name, quantity, price in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        """VAT on the net total, rounded to the cent."""
        return (self.net * self.vat_rate / 100).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        """Grand total, VAT included."""
        return self.net + self.tax

    @property
    def due_payable(self) -> Decimal:
        """What remains to pay after the prepayment."""
        return self.total - self.prepaid


def invoice_data(**changes: object) -> InvoiceData:
    """The standard sample invoice with some fields changed."""
    return replace(InvoiceData(), **changes)  # type: ignore[arg-type]


def credit_note_data(**changes: object) -> InvoiceData:
    """A credit note of 240 EUR (net 200) against F-2026-042."""
    fields: dict[str, object] = {
        "number": "AV-2026-007",
        "credit_note": True,
        "issue": date(2026, 3, 20),
        "due": None,
        "lines": (("Remise commerciale sur la maintenance", Decimal(1), Decimal("200.00")),),
        "referenced": "F-2026-042",
    }
    fields.update(changes)
    return invoice_data(**fields)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    """Append a child element with optional text and attributes."""
    child = etree.SubElement(parent, tag, attributes)
    if text is not None:
        child.text = text
    return child


def _money(value: Decimal) -> str:
    """An amount as CII and UBL write it."""
    return f"{value:.2f}"


def _cii_date(parent: etree._Element, tag: str, day: date) -> None:
    """A CII date in format 102 (yyyymmdd)."""
    _sub(_sub(parent, f"{{{RAM}}}{tag}"), f"{{{UDT}}}DateTimeString", day.strftime("%Y%m%d"), format="102")


def _cii_party(parent: etree._Element, tag: str, company: Company, profile: Profile, *, buyer: bool) -> None:
    """A CII trade party with what `profile` allows: MINIMUM has only the name, SIREN and (seller) country and VAT."""
    party = _sub(parent, f"{{{RAM}}}{tag}")
    full = profile != "minimum"
    detailed = profile not in ("minimum", "basicwl")
    if detailed and buyer and company.siret:
        _sub(party, f"{{{RAM}}}GlobalID", company.siret, schemeID="0009")
    _sub(party, f"{{{RAM}}}Name", company.name)
    if company.siren:
        _sub(_sub(party, f"{{{RAM}}}SpecifiedLegalOrganization"), f"{{{RAM}}}ID", company.siren, schemeID="0002")
    if detailed and buyer and company.email:
        contact = _sub(party, f"{{{RAM}}}DefinedTradeContact")
        _sub(contact, f"{{{RAM}}}PersonName", "Service comptabilité")
        _sub(_sub(contact, f"{{{RAM}}}EmailURIUniversalCommunication"), f"{{{RAM}}}URIID", company.email)
    if full:
        address = _sub(party, f"{{{RAM}}}PostalTradeAddress")
        _sub(address, f"{{{RAM}}}PostcodeCode", company.postcode)
        _sub(address, f"{{{RAM}}}LineOne", company.street)
        _sub(address, f"{{{RAM}}}CityName", company.city)
        _sub(address, f"{{{RAM}}}CountryID", company.country)
    elif not buyer:
        _sub(_sub(party, f"{{{RAM}}}PostalTradeAddress"), f"{{{RAM}}}CountryID", company.country)
    if full and company.email and not (detailed and buyer):
        _sub(_sub(party, f"{{{RAM}}}URIUniversalCommunication"), f"{{{RAM}}}URIID", company.email, schemeID="EM")
    if company.vat and (full or not buyer):
        _sub(_sub(party, f"{{{RAM}}}SpecifiedTaxRegistration"), f"{{{RAM}}}ID", company.vat, schemeID="VA")


def _cii_tax(parent: etree._Element, data: InvoiceData, *, line: bool) -> None:
    """One VAT breakdown (standard rate); a line's has no amounts."""
    tax = _sub(parent, f"{{{RAM}}}ApplicableTradeTax")
    if not line:
        _sub(tax, f"{{{RAM}}}CalculatedAmount", _money(data.tax))
    _sub(tax, f"{{{RAM}}}TypeCode", "VAT")
    if not line:
        _sub(tax, f"{{{RAM}}}BasisAmount", _money(data.net))
    _sub(tax, f"{{{RAM}}}CategoryCode", "S")
    _sub(tax, f"{{{RAM}}}RateApplicablePercent", _money(data.vat_rate))


def cii_xml(profile: Profile = "en16931", data: InvoiceData | None = None) -> bytes:
    """A CII invoice (Factur-X profile, or XRechnung CII) valid against the XSD of its profile."""
    data = data or InvoiceData()
    detailed = profile not in ("minimum", "basicwl")
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT})
    context = _sub(root, f"{{{RSM}}}ExchangedDocumentContext")
    _sub(_sub(context, f"{{{RAM}}}GuidelineSpecifiedDocumentContextParameter"), f"{{{RAM}}}ID", GUIDELINES[profile])
    document = _sub(root, f"{{{RSM}}}ExchangedDocument")
    if data.number is not None:
        _sub(document, f"{{{RAM}}}ID", data.number)
    _sub(document, f"{{{RAM}}}TypeCode", "381" if data.credit_note else "380")
    _cii_date(document, "IssueDateTime", data.issue)
    transaction = _sub(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    if detailed:
        for index, (name, quantity, price) in enumerate(data.lines, start=1):
            item = _sub(transaction, f"{{{RAM}}}IncludedSupplyChainTradeLineItem")
            _sub(_sub(item, f"{{{RAM}}}AssociatedDocumentLineDocument"), f"{{{RAM}}}LineID", str(index))
            _sub(_sub(item, f"{{{RAM}}}SpecifiedTradeProduct"), f"{{{RAM}}}Name", name)
            agreement = _sub(item, f"{{{RAM}}}SpecifiedLineTradeAgreement")
            _sub(_sub(agreement, f"{{{RAM}}}NetPriceProductTradePrice"), f"{{{RAM}}}ChargeAmount", _money(price))
            delivery = _sub(item, f"{{{RAM}}}SpecifiedLineTradeDelivery")
            _sub(delivery, f"{{{RAM}}}BilledQuantity", f"{quantity:.2f}", unitCode="C62")
            settlement = _sub(item, f"{{{RAM}}}SpecifiedLineTradeSettlement")
            _cii_tax(settlement, data, line=True)
            line_sum = _sub(settlement, f"{{{RAM}}}SpecifiedTradeSettlementLineMonetarySummation")
            _sub(line_sum, f"{{{RAM}}}LineTotalAmount", _money(quantity * price))
    agreement = _sub(transaction, f"{{{RAM}}}ApplicableHeaderTradeAgreement")
    _cii_party(agreement, "SellerTradeParty", data.seller, profile, buyer=False)
    _cii_party(agreement, "BuyerTradeParty", data.buyer, profile, buyer=True)
    _sub(transaction, f"{{{RAM}}}ApplicableHeaderTradeDelivery")
    settlement = _sub(transaction, f"{{{RAM}}}ApplicableHeaderTradeSettlement")
    _sub(settlement, f"{{{RAM}}}InvoiceCurrencyCode", data.currency)
    if profile != "minimum":
        _cii_tax(settlement, data, line=False)
        if data.due is not None:
            terms = _sub(settlement, f"{{{RAM}}}SpecifiedTradePaymentTerms")
            _sub(terms, f"{{{RAM}}}Description", "Paiement à 30 jours par virement")
            _cii_date(terms, "DueDateDateTime", data.due)
    summation = _sub(settlement, f"{{{RAM}}}SpecifiedTradeSettlementHeaderMonetarySummation")
    if profile != "minimum":
        _sub(summation, f"{{{RAM}}}LineTotalAmount", _money(data.net))
    _sub(summation, f"{{{RAM}}}TaxBasisTotalAmount", _money(data.net))
    _sub(summation, f"{{{RAM}}}TaxTotalAmount", _money(data.tax), currencyID=data.currency)
    _sub(summation, f"{{{RAM}}}GrandTotalAmount", _money(data.total))
    if profile != "minimum" and data.prepaid:
        _sub(summation, f"{{{RAM}}}TotalPrepaidAmount", _money(data.prepaid))
    _sub(summation, f"{{{RAM}}}DuePayableAmount", _money(data.due_payable))
    if profile != "minimum" and data.referenced:
        _sub(_sub(settlement, f"{{{RAM}}}InvoiceReferencedDocument"), f"{{{RAM}}}IssuerAssignedID", data.referenced)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def plain_pdf(data: InvoiceData | None = None) -> bytes:
    """The human-readable invoice: a one-page PDF with no embedded data."""
    data = data or InvoiceData()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    title = "Avoir" if data.credit_note else "Facture"
    pdf.cell(text=f"{title} {data.number or ''} - {data.seller.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.cell(text=f"Client : {data.buyer.name}", new_x="LMARGIN", new_y="NEXT")
    for name, quantity, price in data.lines:
        pdf.cell(text=f"{name} : {quantity} x {price} EUR", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text=f"Total TTC : {data.total} EUR", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def facturx_pdf(profile: Profile = "en16931", data: InvoiceData | None = None) -> bytes:
    """A Factur-X PDF: the plain PDF with the CII XML of `profile` embedded by the factur-x library."""
    data = data or InvoiceData()
    return bytes(
        facturx.generate_from_binary(plain_pdf(data), cii_xml(profile, data), flavor="factur-x", level=profile)
    )


def zugferd1_xml(data: InvoiceData | None = None) -> bytes:
    """A ZUGFeRD 1.0 BASIC invoice (the CII of 2014, before Factur-X)."""
    data = data or InvoiceData()
    root = etree.Element(f"{{{ZF1_RSM}}}CrossIndustryDocument", nsmap={"rsm": ZF1_RSM, "ram": ZF1_RAM, "udt": ZF1_UDT})
    context = _sub(root, f"{{{ZF1_RSM}}}SpecifiedExchangedDocumentContext")
    guideline = _sub(context, f"{{{ZF1_RAM}}}GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, f"{{{ZF1_RAM}}}ID", "urn:ferd:CrossIndustryDocument:invoice:1p0:basic")
    document = _sub(root, f"{{{ZF1_RSM}}}HeaderExchangedDocument")
    _sub(document, f"{{{ZF1_RAM}}}ID", data.number or "")
    _sub(document, f"{{{ZF1_RAM}}}Name", "RECHNUNG")
    _sub(document, f"{{{ZF1_RAM}}}TypeCode", "380")
    issued = _sub(document, f"{{{ZF1_RAM}}}IssueDateTime")
    _sub(issued, f"{{{ZF1_UDT}}}DateTimeString", data.issue.strftime("%Y%m%d"), format="102")
    transaction = _sub(root, f"{{{ZF1_RSM}}}SpecifiedSupplyChainTradeTransaction")
    agreement = _sub(transaction, f"{{{ZF1_RAM}}}ApplicableSupplyChainTradeAgreement")
    for tag, company in (("SellerTradeParty", data.seller), ("BuyerTradeParty", data.buyer)):
        party = _sub(agreement, f"{{{ZF1_RAM}}}{tag}")
        _sub(party, f"{{{ZF1_RAM}}}Name", company.name)
        address = _sub(party, f"{{{ZF1_RAM}}}PostalTradeAddress")
        _sub(address, f"{{{ZF1_RAM}}}PostcodeCode", company.postcode)
        _sub(address, f"{{{ZF1_RAM}}}LineOne", company.street)
        _sub(address, f"{{{ZF1_RAM}}}CityName", company.city)
        _sub(address, f"{{{ZF1_RAM}}}CountryID", company.country)
        if company.vat:
            _sub(_sub(party, f"{{{ZF1_RAM}}}SpecifiedTaxRegistration"), f"{{{ZF1_RAM}}}ID", company.vat, schemeID="VA")
    settlement = _sub(transaction, f"{{{ZF1_RAM}}}ApplicableSupplyChainTradeSettlement")
    _sub(settlement, f"{{{ZF1_RAM}}}InvoiceCurrencyCode", data.currency)
    if data.due is not None:
        due = _sub(_sub(settlement, f"{{{ZF1_RAM}}}SpecifiedTradePaymentTerms"), f"{{{ZF1_RAM}}}DueDateDateTime")
        _sub(due, f"{{{ZF1_UDT}}}DateTimeString", data.due.strftime("%Y%m%d"), format="102")
    summation = _sub(settlement, f"{{{ZF1_RAM}}}SpecifiedTradeSettlementMonetarySummation")
    for tag, value in (
        ("LineTotalAmount", data.net),
        ("ChargeTotalAmount", Decimal(0)),
        ("AllowanceTotalAmount", Decimal(0)),
        ("TaxBasisTotalAmount", data.net),
        ("TaxTotalAmount", data.tax),
        ("GrandTotalAmount", data.total),
        ("DuePayableAmount", data.due_payable),
    ):
        _sub(summation, f"{{{ZF1_RAM}}}{tag}", _money(value), currencyID=data.currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _ubl_party(parent: etree._Element, tag: str, company: Company) -> None:
    """A UBL party as Peppol BIS Billing 3.0 writes it (SIRET as the endpoint, SIREN as the legal ID)."""
    party = _sub(_sub(parent, f"{{{CAC}}}{tag}"), f"{{{CAC}}}Party")
    if company.siret:
        _sub(party, f"{{{CBC}}}EndpointID", company.siret, schemeID="0009")
    _sub(_sub(party, f"{{{CAC}}}PartyName"), f"{{{CBC}}}Name", company.name)
    address = _sub(party, f"{{{CAC}}}PostalAddress")
    _sub(address, f"{{{CBC}}}StreetName", company.street)
    _sub(address, f"{{{CBC}}}CityName", company.city)
    _sub(address, f"{{{CBC}}}PostalZone", company.postcode)
    _sub(_sub(address, f"{{{CAC}}}Country"), f"{{{CBC}}}IdentificationCode", company.country)
    if company.vat:
        scheme = _sub(party, f"{{{CAC}}}PartyTaxScheme")
        _sub(scheme, f"{{{CBC}}}CompanyID", company.vat)
        _sub(_sub(scheme, f"{{{CAC}}}TaxScheme"), f"{{{CBC}}}ID", "VAT")
    legal = _sub(party, f"{{{CAC}}}PartyLegalEntity")
    _sub(legal, f"{{{CBC}}}RegistrationName", company.name)
    if company.siren:
        _sub(legal, f"{{{CBC}}}CompanyID", company.siren, schemeID="0002")
    if company.email:
        _sub(_sub(party, f"{{{CAC}}}Contact"), f"{{{CBC}}}ElectronicMail", company.email)


def ubl_xml(data: InvoiceData | None = None) -> bytes:
    """A UBL 2.1 Invoice, or CreditNote when `data.credit_note`, valid against the UBL 2.1 XSD."""
    data = data or InvoiceData()
    namespace, root_tag = (UBL_CREDIT_NOTE, "CreditNote") if data.credit_note else (UBL_INVOICE, "Invoice")
    root = etree.Element(f"{{{namespace}}}{root_tag}", nsmap={None: namespace, "cac": CAC, "cbc": CBC})
    money = {"currencyID": data.currency}
    _sub(
        root, f"{{{CBC}}}CustomizationID", "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    )
    _sub(root, f"{{{CBC}}}ProfileID", "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
    if data.number is not None:
        _sub(root, f"{{{CBC}}}ID", data.number)
    _sub(root, f"{{{CBC}}}IssueDate", data.issue.isoformat())
    if data.credit_note:
        _sub(root, f"{{{CBC}}}CreditNoteTypeCode", "381")
    else:
        if data.due is not None:
            _sub(root, f"{{{CBC}}}DueDate", data.due.isoformat())
        _sub(root, f"{{{CBC}}}InvoiceTypeCode", "380")
    _sub(root, f"{{{CBC}}}DocumentCurrencyCode", data.currency)
    _sub(root, f"{{{CBC}}}BuyerReference", "BC-2026-118")
    if data.referenced:
        reference = _sub(_sub(root, f"{{{CAC}}}BillingReference"), f"{{{CAC}}}InvoiceDocumentReference")
        _sub(reference, f"{{{CBC}}}ID", data.referenced)
    _ubl_party(root, "AccountingSupplierParty", data.seller)
    _ubl_party(root, "AccountingCustomerParty", data.buyer)
    means = _sub(root, f"{{{CAC}}}PaymentMeans")
    _sub(means, f"{{{CBC}}}PaymentMeansCode", "30")
    if data.credit_note and data.due is not None:
        _sub(means, f"{{{CBC}}}PaymentDueDate", data.due.isoformat())
    _sub(_sub(means, f"{{{CAC}}}PayeeFinancialAccount"), f"{{{CBC}}}ID", "FR7630006000011234567890189")
    tax_total = _sub(root, f"{{{CAC}}}TaxTotal")
    _sub(tax_total, f"{{{CBC}}}TaxAmount", _money(data.tax), **money)
    subtotal = _sub(tax_total, f"{{{CAC}}}TaxSubtotal")
    _sub(subtotal, f"{{{CBC}}}TaxableAmount", _money(data.net), **money)
    _sub(subtotal, f"{{{CBC}}}TaxAmount", _money(data.tax), **money)
    _ubl_category(subtotal, "TaxCategory", data)
    totals = _sub(root, f"{{{CAC}}}LegalMonetaryTotal")
    _sub(totals, f"{{{CBC}}}LineExtensionAmount", _money(data.net), **money)
    _sub(totals, f"{{{CBC}}}TaxExclusiveAmount", _money(data.net), **money)
    _sub(totals, f"{{{CBC}}}TaxInclusiveAmount", _money(data.total), **money)
    if data.prepaid:
        _sub(totals, f"{{{CBC}}}PrepaidAmount", _money(data.prepaid), **money)
    _sub(totals, f"{{{CBC}}}PayableAmount", _money(data.due_payable), **money)
    line_tag, quantity_tag = (
        ("CreditNoteLine", "CreditedQuantity") if data.credit_note else ("InvoiceLine", "InvoicedQuantity")
    )
    for index, (name, quantity, price) in enumerate(data.lines, start=1):
        line = _sub(root, f"{{{CAC}}}{line_tag}")
        _sub(line, f"{{{CBC}}}ID", str(index))
        _sub(line, f"{{{CBC}}}{quantity_tag}", f"{quantity:.2f}", unitCode="C62")
        _sub(line, f"{{{CBC}}}LineExtensionAmount", _money(quantity * price), **money)
        item = _sub(line, f"{{{CAC}}}Item")
        _sub(item, f"{{{CBC}}}Name", name)
        _ubl_category(item, "ClassifiedTaxCategory", data)
        _sub(_sub(line, f"{{{CAC}}}Price"), f"{{{CBC}}}PriceAmount", _money(price), **money)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _ubl_category(parent: etree._Element, tag: str, data: InvoiceData) -> None:
    """The standard-rate VAT category."""
    category = _sub(parent, f"{{{CAC}}}{tag}")
    _sub(category, f"{{{CBC}}}ID", "S")
    _sub(category, f"{{{CBC}}}Percent", _money(data.vat_rate))
    _sub(_sub(category, f"{{{CAC}}}TaxScheme"), f"{{{CBC}}}ID", "VAT")


def not_an_invoice_xml() -> bytes:
    """A well-formed XML that is no invoice: the start of a CAMT.053 bank statement."""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><GrpHdr>'
        b"<MsgId>STMT-2026-03</MsgId><CreDtTm>2026-03-31T18:00:00</CreDtTm></GrpHdr></BkToCstmrStmt></Document>\n"
    )


def truncated_xml() -> bytes:
    """A CII invoice cut in the middle, as an interrupted download leaves it."""
    whole = cii_xml("en16931")
    return whole[: len(whole) // 2]


def billion_laughs_xml() -> bytes:
    """A CII invoice whose buyer name is a billion-laughs entity (10^9 'lol' once expanded)."""
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    invoice = cii_xml("minimum").decode().split("?>", 1)[1]
    invoice = invoice.replace(BUYER.name, "&lol9;")
    return f'<?xml version="1.0"?>\n<!DOCTYPE rsm:CrossIndustryInvoice [{entities}]>{invoice}'.encode()


def external_entity_xml() -> bytes:
    """A CII invoice whose buyer name pulls /etc/passwd through an external entity."""
    invoice = cii_xml("minimum").decode().split("?>", 1)[1]
    invoice = invoice.replace(BUYER.name, "&xxe;")
    return f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{invoice}'.encode()


def xsd_invalid_xml() -> bytes:
    """An EN 16931 CII invoice with an element its XSD does not know: readable, but not conformant."""
    return cii_xml("en16931").replace(
        b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>380</ram:TypeCode><ram:Colour>bleu</ram:Colour>", 1
    )


def xsd_invalid_pdf() -> bytes:
    """A Factur-X PDF embedding `xsd_invalid_xml()` (the library's own check switched off to make it)."""
    return bytes(
        facturx.generate_from_binary(
            plain_pdf(), xsd_invalid_xml(), flavor="factur-x", level="en16931", check_xsd=False
        )
    )
