"""E-invoice reader: a Factur-X / ZUGFeRD PDF, a CII XML or a UBL 2.1 Invoice / CreditNote read into one plain
`EInvoice` (pure: no database, no chat), or one `EInvoiceError` naming the file and what is missing or wrong.

The kind is detected by content, never by the file name. Every XML goes through one hardened lxml parser (no entity
resolution, no network, no DTD, no huge trees) and any DOCTYPE is refused, since no e-invoice syntax has one: a
billion-laughs or external-entity payload is never expanded. Files over `MAX_FILE_BYTES` are refused before parsing.
The XML is checked against the XSD the `factur-x` library ships for its flavour and level (Factur-X MINIMUM to
EXTENDED, ZUGFeRD 1.0, UBL 2.1); a CII whose guideline maps to no shipped XSD is read unchecked. Identifiers (SIREN,
SIRET, VAT numbers) are validated with python-stdnum. Amounts are Decimal, dates `datetime.date`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal

import facturx
from lxml import etree
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.fr import tva as fr_tva

from messages.addresses import InvalidAddressError, normalize_email, strip_invisible

#: Anything larger is refused before parsing (an e-invoice is a few kB of XML, or a PDF of a few hundred kB).
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_NUMBER = 64  # characters in an invoice number, as for the CSV import

Kind = Literal["csv", "facturx_pdf", "cii", "ubl", "unknown"]

#: UNTDID 1001 document codes that credit the buyer (credit notes, self-billed and factored ones included).
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "381", "396", "532"})

_CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
_ZUGFERD1_NS = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_ROOTS: dict[tuple[str, str], Kind] = {
    (_CII_NS["rsm"], "CrossIndustryInvoice"): "cii",
    (_ZUGFERD1_NS["rsm"], "CrossIndustryDocument"): "cii",
    (_UBL_INVOICE, "Invoice"): "ubl",
    (_UBL_CREDIT_NOTE, "CreditNote"): "ubl",
}
_CII_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
#: A DOCTYPE or entity declaration, refused before libxml2 sees it (it would still count expansions).
_DECLARATIONS = re.compile(rb"<!(?:DOCTYPE|ENTITY)")
_ID_NOISE = re.compile(r"[\s.\-]+")

#: What the owner reads about a refused file: (French, English), shown French first.
MESSAGES: dict[str, tuple[str, str]] = {
    "too_large": (
        "fichier trop volumineux ({size} Mo ; 50 Mo au plus)",
        "file too large ({size} MB; 50 MB at most)",
    ),
    "empty": ("le fichier est vide", "the file is empty"),
    "csv": (
        "c'est un fichier CSV, pas une facture électronique : utilisez l'import CSV",
        "this is a CSV file, not an e-invoice: use the CSV import",
    ),
    "unknown": (
        "ce n'est ni une facture Factur-X / ZUGFeRD, ni une facture CII ou UBL",
        "this is neither a Factur-X / ZUGFeRD invoice nor a CII or UBL invoice",
    ),
    "not_invoice": (
        "ce XML n'est pas une facture (élément racine {root})",
        "this XML is not an invoice (root element {root})",
    ),
    "bad_pdf": ("PDF illisible ({detail})", "unreadable PDF ({detail})"),
    "no_xml": (
        "ce PDF ne contient aucune donnée de facture électronique (ni Factur-X, ni ZUGFeRD)",
        "this PDF holds no e-invoice data (neither Factur-X nor ZUGFeRD)",
    ),
    "malformed": ("XML mal formé ou tronqué ({detail})", "malformed or truncated XML ({detail})"),
    "doctype": (
        "le XML déclare un DOCTYPE ou des entités, ce qu'aucune facture électronique ne fait "
        "(risque d'attaque par expansion d'entités) : fichier refusé",
        "the XML declares a DOCTYPE or entities, which no e-invoice does (entity expansion attack risk): refused",
    ),
    "xsd": (
        "le XML {flavor} n'est pas conforme au schéma XSD officiel : {detail}",
        "the {flavor} XML is not valid against the official XSD: {detail}",
    ),
    "missing": ("information obligatoire absente : {field_fr}", "missing required field: {field_en}"),
    "bad_value": ("{field_fr} illisible : « {value} »", "unreadable {field_en}: '{value}'"),
    "invalid_id": ("{field_fr} invalide : « {value} »", "invalid {field_en}: '{value}'"),
    "negative": ("{field_fr} négatif : {value}", "negative {field_en}: {value}"),
    "long_number": (
        "numéro de facture de plus de 64 caractères",
        "invoice number longer than 64 characters",
    ),
    "due_before_issue": (
        "échéance {due} antérieure à la date de facture {issue}",
        "due date {due} is before issue date {issue}",
    ),
    "not_yours": (
        "ce n'est pas votre facture : elle est émise par {seller} ({theirs_fr}), et non par votre entreprise "
        "({ours_fr})",
        "not your invoice: issued by {seller} ({theirs_en}), not by your business ({ours_en})",
    ),
}

#: Field names as the owner reads them: (French, English).
FIELDS: dict[str, tuple[str, str]] = {
    "number": ("numéro de facture", "invoice number"),
    "issue_date": ("date de facture", "issue date"),
    "due_date": ("date d'échéance", "due date"),
    "amount": ("montant", "amount"),
    "grand_total": ("montant total TTC", "grand total"),
    "amount_due": ("montant à payer", "amount due"),
    "currency": ("devise", "currency"),
    "buyer_name": ("nom du client", "buyer name"),
    "buyer_siren": ("SIREN du client", "buyer SIREN"),
    "buyer_siret": ("SIRET du client", "buyer SIRET"),
    "buyer_vat": ("numéro de TVA du client", "buyer VAT number"),
    "buyer_email": ("e-mail du client", "buyer e-mail"),
    "seller_siren": ("SIREN du vendeur", "seller SIREN"),
    "seller_siret": ("SIRET du vendeur", "seller SIRET"),
    "seller_vat": ("numéro de TVA du vendeur", "seller VAT number"),
    "seller_email": ("e-mail du vendeur", "seller e-mail"),
}


class EInvoiceError(ValueError):
    """A file that cannot be read as an e-invoice: which file, and what is missing or wrong (French / English)."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"{file} : {problem}")
        self.file = file
        self.problem = problem


def _fail(file: str, code: str, **values: object) -> EInvoiceError:
    """The error for `file` with the catalogue reason `code`; a `field` value is spelled out in both languages."""
    field = values.pop("field", None)
    if isinstance(field, str):
        values["field_fr"], values["field_en"] = FIELDS[field]
    french, english = MESSAGES[code]
    return EInvoiceError(file, f"{french.format(**values)} / {english.format(**values)}")


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """A party's postal address as the invoice gives it (country as ISO 3166 alpha-2)."""

    lines: tuple[str, ...]
    postcode: str | None
    city: str | None
    country: str | None


@dataclass(frozen=True, slots=True)
class Party:
    """The seller or the buyer: validated identifiers (SIREN derived from a SIRET or a French VAT number when not
    given), VAT number with its country prefix, e-mail normalised."""

    name: str | None
    siren: str | None
    siret: str | None
    vat: str | None
    email: str | None
    address: PostalAddress | None


@dataclass(frozen=True, slots=True)
class EInvoice:
    """One e-invoice as read: `amount_due` is what remains to pay (lower than `grand_total` after a prepayment);
    `due_date_assumed` says the due date is the issue date plus the default term because the invoice gives none.
    `document` is the original file (the PDF to keep as the invoice's PDF, or the XML itself)."""

    number: str
    kind: Literal["invoice", "credit_note"]
    issue_date: date
    due_date: date
    due_date_assumed: bool
    amount_due: Decimal
    grand_total: Decimal
    currency: str
    seller: Party
    buyer: Party
    referenced_invoice: str | None
    flavor: str  # factur-x, zugferd, ubl-2.1-invoice, ubl-2.1-creditnote
    level: str | None  # minimum, basicwl, basic, en16931, extended... when the guideline names one
    document: bytes
    document_kind: Literal["pdf", "xml"]


def _hardened_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, never loads a DTD, never touches the network."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
    )


def _is_pdf(data: bytes) -> bool:
    """PDF readers accept the header anywhere in the first kilobyte."""
    return b"%PDF-" in data[:1024]


def _root_name(data: bytes) -> tuple[str, str] | None:
    """(namespace, local name) of the root element, read from its start tag only; None when there is none."""
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(data), events=("start",), resolve_entities=False, no_network=True, load_dtd=False
        ):
            qname = etree.QName(element)
            return (qname.namespace or "", qname.localname)
    except etree.XMLSyntaxError:
        return None
    return None


def _looks_like_xml(data: bytes) -> bool:
    """True when the bytes start (after a BOM and blanks) with an XML tag."""
    return data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _looks_like_csv(data: bytes) -> bool:
    """Text without NUL bytes whose first line has a CSV delimiter."""
    if b"\x00" in data[:4096]:
        return False
    head = data[:4096].decode("utf-8", errors="ignore")
    first_line = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
    return any(delimiter in first_line for delimiter in ",;\t")


def detect_kind(data: bytes) -> Kind:
    """What the file is, by content: the CSV import, a (possibly Factur-X) PDF, a CII or a UBL invoice, or unknown."""
    if _is_pdf(data):
        return "facturx_pdf"
    if _looks_like_xml(data):
        root = _root_name(data)
        return _ROOTS.get(root, "unknown") if root else "unknown"
    return "csv" if _looks_like_csv(data) else "unknown"


def _parse_xml(xml: bytes, name: str) -> etree._Element:
    """The XML tree, parsed without entities, DTD or network; a DOCTYPE or a syntax error is refused."""
    if _DECLARATIONS.search(xml):
        raise _fail(name, "doctype")
    try:
        root = etree.fromstring(xml, _hardened_parser())
    except etree.XMLSyntaxError as error:
        raise _fail(name, "malformed", detail=str(error)) from error
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise _fail(name, "doctype")
    return root


def _level(root: etree._Element, flavor: str) -> str | None:
    """The profile the CII guideline names (minimum ... extended; XRechnung is en16931), None for UBL or a guideline
    the factur-x library has no XSD for."""
    if flavor not in ("factur-x", "zugferd"):
        return None
    try:
        return str(facturx.get_level(root, flavor))
    except Exception:  # the library raises bare Exception/ValueError for a guideline it does not know
        return None


def _check_xsd(root: etree._Element, name: str, flavor: str, level: str | None) -> None:
    """Check the XML against the XSD the factur-x library ships for its flavour and level (a CII with an unknown
    guideline has none to check against)."""
    if flavor in ("factur-x", "zugferd") and level is None:
        return
    try:
        facturx.xml_check_xsd(root, flavor=flavor, level=level or "autodetect")
    except Exception as error:  # the library wraps lxml's DocumentInvalid in a bare Exception
        detail = str(error.__cause__ or error).splitlines()[0][:300]
        raise _fail(name, "xsd", flavor=flavor, detail=detail) from error


_FLAVORS = {
    f"{{{_CII_NS['rsm']}}}CrossIndustryInvoice": "factur-x",
    f"{{{_ZUGFERD1_NS['rsm']}}}CrossIndustryDocument": "zugferd",
    f"{{{_UBL_INVOICE}}}Invoice": "ubl-2.1-invoice",
    f"{{{_UBL_CREDIT_NOTE}}}CreditNote": "ubl-2.1-creditnote",
}


def read_einvoice(
    data: bytes,
    name: str,
    *,
    business_siren: str | None = None,
    business_vat: str | None = None,
    default_term_days: int = 30,
) -> EInvoice:
    """The e-invoice in `data` (file `name`), or EInvoiceError; with the business's SIREN or VAT number given, an
    invoice issued by another seller is refused."""
    if len(data) > MAX_FILE_BYTES:
        raise _fail(name, "too_large", size=f"{len(data) / 1024 / 1024:.0f}")
    if not data.strip():
        raise _fail(name, "empty")
    kind = detect_kind(data)
    if kind == "csv":
        raise _fail(name, "csv")
    if kind == "unknown":
        root_name = _root_name(data) if _looks_like_xml(data) else None
        if root_name:
            raise _fail(name, "not_invoice", root=root_name[1])
        if _looks_like_xml(data):
            _parse_xml(data, name)  # says why it is not readable (truncated, DOCTYPE...)
        raise _fail(name, "unknown")
    xml = _xml_from_pdf(data, name) if kind == "facturx_pdf" else data
    root = _parse_xml(xml, name)
    flavor = _FLAVORS.get(root.tag)
    if flavor is None:  # an XRechnung or other PDF attachment that is no invoice
        raise _fail(name, "not_invoice", root=etree.QName(root).localname)
    level = _level(root, flavor)
    source = _Source(flavor, level, data, "pdf" if kind == "facturx_pdf" else "xml")
    reader = _Reader(root, name, default_term_days, source)
    if flavor == "factur-x":
        invoice = reader.cii(_CII)
    elif flavor == "zugferd":
        invoice = reader.cii(_ZUGFERD1)
    else:
        invoice = reader.ubl()
    _check_xsd(root, name, flavor, level)
    _check_seller(invoice, name, business_siren, business_vat)
    return invoice


@dataclass(frozen=True, slots=True)
class _Source:
    """What the invoice was read from."""

    flavor: str
    level: str | None
    document: bytes
    document_kind: Literal["pdf", "xml"]


def _xml_from_pdf(data: bytes, name: str) -> bytes:
    """The invoice XML embedded in a Factur-X / ZUGFeRD / XRechnung PDF (XSD checked afterwards, with its reason)."""
    try:
        _filename, xml = facturx.get_xml_from_pdf(data, check_xsd=False)
    except Exception as error:  # pypdf raises many unrelated types for a damaged PDF
        raise _fail(name, "bad_pdf", detail=str(error)[:200] or type(error).__name__) from error
    if not xml:
        raise _fail(name, "no_xml")
    if len(xml) > MAX_FILE_BYTES:  # a compressed attachment may inflate far beyond the PDF's own size
        raise _fail(name, "too_large", size=f"{len(xml) / 1024 / 1024:.0f}")
    return bytes(xml)


def _check_seller(invoice: EInvoice, name: str, business_siren: str | None, business_vat: str | None) -> None:
    """Refuse an invoice whose seller is identified, and identified as someone other than the business (a seller
    known only by a foreign VAT number is someone else for a French business known by its SIREN)."""
    seller = invoice.seller
    our_vat = eu_vat.compact(business_vat) if business_vat else None
    our_sirens = {fr_siren.compact(business_siren)} if business_siren else set()
    if our_vat and our_vat.startswith("FR"):
        our_sirens.add(our_vat[4:])
    if not (our_sirens or our_vat) or not (seller.siren or seller.vat):
        return
    if seller.siren in our_sirens or (our_vat is not None and seller.vat == our_vat):
        return
    ours = (fr_siren.compact(business_siren) if business_siren else None, our_vat)
    raise _fail(
        name,
        "not_yours",
        seller=seller.name or seller.vat or seller.siren,
        theirs_fr=_numbers(seller.siren, seller.vat, "TVA"),
        theirs_en=_numbers(seller.siren, seller.vat, "VAT"),
        ours_fr=_numbers(*ours, "TVA"),
        ours_en=_numbers(*ours, "VAT"),
    )


def _numbers(siren: str | None, vat: str | None, vat_word: str) -> str:
    """A party's numbers as the refusal states them: "SIREN 123456824, TVA FR40123456824"."""
    return ", ".join(part for part in (siren and f"SIREN {siren}", vat and f"{vat_word} {vat}") if part)


@dataclass(frozen=True, slots=True)
class _CiiDialect:
    """Where a CII syntax keeps things: Factur-X / ZUGFeRD 2 (D16B) and ZUGFeRD 1.0 differ in names only."""

    namespaces: dict[str, str]
    document: str
    transaction: str
    agreement: str
    settlement: str
    summation: str


_CII = _CiiDialect(
    _CII_NS,
    "rsm:ExchangedDocument",
    "rsm:SupplyChainTradeTransaction",
    "ram:ApplicableHeaderTradeAgreement",
    "ram:ApplicableHeaderTradeSettlement",
    "ram:SpecifiedTradeSettlementHeaderMonetarySummation",
)
_ZUGFERD1 = _CiiDialect(
    _ZUGFERD1_NS,
    "rsm:HeaderExchangedDocument",
    "rsm:SpecifiedSupplyChainTradeTransaction",
    "ram:ApplicableSupplyChainTradeAgreement",
    "ram:ApplicableSupplyChainTradeSettlement",
    "ram:SpecifiedTradeSettlementMonetarySummation",
)


class _Reader:
    """Reads the fields of one parsed invoice, raising the owner's message for the first thing missing or wrong."""

    def __init__(self, root: etree._Element, name: str, default_term_days: int, source: _Source) -> None:
        self.root = root
        self.source = source
        self.name = name
        self.default_term_days = default_term_days
        self.namespaces: dict[str, str] = {}

    def texts(self, context: etree._Element, path: str) -> list[tuple[str, str | None]]:
        """(text, schemeID) of every non-blank element at `path` under `context`."""
        found = context.xpath(path, namespaces=self.namespaces)
        assert isinstance(found, list)
        pairs = []
        for element in found:
            if isinstance(element, etree._Element) and element.text and strip_invisible(element.text).strip():
                pairs.append((strip_invisible(element.text).strip(), element.get("schemeID")))
        return pairs

    def text(self, context: etree._Element, *paths: str) -> str | None:
        """The first non-blank text among `paths`, tried in order."""
        for path in paths:
            found = self.texts(context, path)
            if found:
                return found[0][0]
        return None

    def first(self, path: str) -> etree._Element | None:
        """The first element at `path` from the root."""
        found = self.root.xpath(path, namespaces=self.namespaces)
        assert isinstance(found, list)
        return found[0] if found and isinstance(found[0], etree._Element) else None

    def read_date(self, raw: str | None, field: str, pattern: re.Pattern[str]) -> date | None:
        """The date in `raw` (CII 102 format or ISO), None when absent."""
        if raw is None:
            return None
        match = pattern.fullmatch(raw)
        try:
            if not match:
                raise ValueError(raw)
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as error:
            raise _fail(self.name, "bad_value", field=field, value=raw) from error

    def read_amount(self, raw: str | None, field: str) -> Decimal | None:
        """The amount in `raw`, None when absent."""
        if raw is None:
            return None
        try:
            value = Decimal(raw)
        except InvalidOperation as error:
            raise _fail(self.name, "bad_value", field=field, value=raw) from error
        if not value.is_finite():
            raise _fail(self.name, "bad_value", field=field, value=raw)
        return value

    def cii(self, dialect: _CiiDialect) -> EInvoice:
        """The invoice read from a CII (Factur-X, ZUGFeRD, XRechnung CII)."""
        self.namespaces = dialect.namespaces
        doc = f"/*/{dialect.document}"
        settlement = f"/*/{dialect.transaction}/{dialect.settlement}"
        agreement = f"/*/{dialect.transaction}/{dialect.agreement}"
        summation = f"{settlement}/{dialect.summation}"
        root = self.root
        return self.fields(
            number=self.text(root, f"{doc}/ram:ID"),
            credit_note=self.text(root, f"{doc}/ram:TypeCode") in CREDIT_NOTE_CODES,
            issue_date=self.read_date(
                self.text(root, f"{doc}/ram:IssueDateTime/udt:DateTimeString"), "issue_date", _CII_DATE
            ),
            due_date=self.read_date(
                self.text(root, f"{settlement}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"),
                "due_date",
                _CII_DATE,
            ),
            grand_total=self.read_amount(self.text(root, f"{summation}/ram:GrandTotalAmount"), "grand_total"),
            amount_due=self.read_amount(self.text(root, f"{summation}/ram:DuePayableAmount"), "amount_due"),
            currency=self.text(root, f"{settlement}/ram:InvoiceCurrencyCode"),
            seller=self.cii_party(self.first(f"{agreement}/ram:SellerTradeParty"), "seller"),
            buyer=self.cii_party(self.first(f"{agreement}/ram:BuyerTradeParty"), "buyer"),
            referenced=self.text(root, f"{settlement}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
        )

    def cii_party(self, party: etree._Element | None, role: str) -> Party:
        """A CII trade party."""
        if party is None:
            return _party(self.name, role, None, [], None, None, None)
        address = self.first_address(
            party,
            "ram:PostalTradeAddress",
            ("ram:LineOne", "ram:LineTwo", "ram:LineThree"),
            "ram:PostcodeCode",
            "ram:CityName",
            "ram:CountryID",
        )
        return _party(
            self.name,
            role,
            self.text(party, "ram:Name", "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"),
            self.texts(party, "ram:SpecifiedLegalOrganization/ram:ID")
            + self.texts(party, "ram:GlobalID")
            + self.texts(party, "ram:ID"),
            self.text(party, "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']"),
            self.text(
                party,
                "ram:URIUniversalCommunication/ram:URIID[@schemeID='EM']",
                "ram:DefinedTradeContact/ram:EmailURIUniversalCommunication/ram:URIID",
            ),
            address,
        )

    def first_address(
        self, party: etree._Element, path: str, lines: tuple[str, ...], postcode: str, city: str, country: str
    ) -> PostalAddress | None:
        """The party's postal address at `path`, None when it gives nothing."""
        found = party.xpath(path, namespaces=self.namespaces)
        assert isinstance(found, list)
        if not found or not isinstance(found[0], etree._Element):
            return None
        element = found[0]
        address = PostalAddress(
            lines=tuple(text for line in lines for text, _scheme in self.texts(element, line)),
            postcode=self.text(element, postcode),
            city=self.text(element, city),
            country=self.text(element, country),
        )
        return address if any((address.lines, address.postcode, address.city, address.country)) else None

    def ubl(self) -> EInvoice:
        """The invoice read from a UBL 2.1 Invoice or CreditNote."""
        self.namespaces = _UBL_NS
        root = self.root
        credit_note_root = root.tag.endswith("}CreditNote")
        type_code = self.text(root, "cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode")
        return self.fields(
            number=self.text(root, "cbc:ID"),
            credit_note=credit_note_root or type_code in CREDIT_NOTE_CODES,
            issue_date=self.read_date(self.text(root, "cbc:IssueDate"), "issue_date", _ISO_DATE),
            due_date=self.read_date(
                self.text(root, "cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"), "due_date", _ISO_DATE
            ),
            grand_total=self.read_amount(
                self.text(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"), "grand_total"
            ),
            amount_due=self.read_amount(self.text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"), "amount_due"),
            currency=self.text(root, "cbc:DocumentCurrencyCode"),
            seller=self.ubl_party(self.first("cac:AccountingSupplierParty/cac:Party"), "seller"),
            buyer=self.ubl_party(self.first("cac:AccountingCustomerParty/cac:Party"), "buyer"),
            referenced=self.text(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
        )

    def ubl_party(self, party: etree._Element | None, role: str) -> Party:
        """A UBL party."""
        if party is None:
            return _party(self.name, role, None, [], None, None, None)
        return _party(
            self.name,
            role,
            self.text(party, "cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"),
            self.texts(party, "cac:PartyLegalEntity/cbc:CompanyID")
            + self.texts(party, "cac:PartyIdentification/cbc:ID")
            + self.texts(party, "cbc:EndpointID"),
            self.text(party, "cac:PartyTaxScheme/cbc:CompanyID"),
            self.text(party, "cac:Contact/cbc:ElectronicMail", "cbc:EndpointID[@schemeID='EM']"),
            self.first_address(
                party,
                "cac:PostalAddress",
                ("cbc:StreetName", "cbc:AdditionalStreetName", "cac:AddressLine/cbc:Line"),
                "cbc:PostalZone",
                "cbc:CityName",
                "cac:Country/cbc:IdentificationCode",
            ),
        )

    def fields(
        self,
        *,
        number: str | None,
        credit_note: bool,
        issue_date: date | None,
        due_date: date | None,
        grand_total: Decimal | None,
        amount_due: Decimal | None,
        currency: str | None,
        seller: Party,
        buyer: Party,
        referenced: str | None,
    ) -> EInvoice:
        """The invoice once the required fields are checked; a credit note's amounts are made positive
        (some issuers write them negative), an invoice's may not be negative."""
        name = self.name
        if number is None:
            raise _fail(name, "missing", field="number")
        if len(number) > MAX_NUMBER:
            raise _fail(name, "long_number")
        if issue_date is None:
            raise _fail(name, "missing", field="issue_date")
        total = grand_total if grand_total is not None else amount_due
        if total is None:
            raise _fail(name, "missing", field="amount")
        due_amount = amount_due if amount_due is not None else total
        if credit_note:
            total, due_amount = abs(total), abs(due_amount)
        for field, value in (("grand_total", total), ("amount_due", due_amount)):
            if value < 0:
                raise _fail(name, "negative", field=field, value=value)
        if not buyer.name:
            raise _fail(name, "missing", field="buyer_name")
        if currency is None:
            raise _fail(name, "missing", field="currency")
        if due_date is not None and due_date < issue_date:
            raise _fail(name, "due_before_issue", due=due_date.isoformat(), issue=issue_date.isoformat())
        return EInvoice(
            number=number,
            kind="credit_note" if credit_note else "invoice",
            issue_date=issue_date,
            due_date=due_date or issue_date + timedelta(days=self.default_term_days),
            due_date_assumed=due_date is None,
            amount_due=due_amount,
            grand_total=total,
            currency=currency.upper(),
            seller=seller,
            buyer=buyer,
            referenced_invoice=referenced if credit_note else None,
            flavor=self.source.flavor,
            level=self.source.level,
            document=self.source.document,
            document_kind=self.source.document_kind,
        )


def _party(
    name: str,
    role: str,
    party_name: str | None,
    identifiers: list[tuple[str, str | None]],
    vat: str | None,
    email: str | None,
    address: PostalAddress | None,
) -> Party:
    """A party with its identifiers validated: `identifiers` are (value, schemeID) pairs, 0002 naming a SIREN and
    0009 a SIRET; without a scheme, 9 and 14 digits are taken as SIREN and SIRET, other schemes are ignored."""
    siren = siret = None
    for raw, scheme in identifiers:
        compact = _ID_NOISE.sub("", raw)
        if scheme == "0002" or (scheme is None and len(compact) == 9 and compact.isdigit()):
            siren = siren or _valid(name, f"{role}_siren", raw, fr_siren.validate)
        elif scheme == "0009" or (scheme is None and len(compact) == 14 and compact.isdigit()):
            siret = siret or _valid(name, f"{role}_siret", raw, fr_siret.validate)
    vat_number = _valid(name, f"{role}_vat", vat, _validate_vat) if vat else None
    if siren is None and siret:
        siren = siret[:9]
    if siren is None and vat_number and vat_number.startswith("FR"):
        siren = vat_number[4:]
    if email:
        try:
            email = normalize_email(email)
        except InvalidAddressError as error:
            raise _fail(name, "invalid_id", field=f"{role}_email", value=email) from error
    return Party(name=party_name, siren=siren, siret=siret, vat=vat_number, email=email, address=address)


def _validate_vat(number: str) -> str:
    """The VAT number with its country prefix: a French one checked by stdnum.fr.tva, another EU one by its
    country's rules; a non-EU number is kept as written (no checksum known)."""
    compact = eu_vat.compact(number)
    if compact.startswith("FR"):
        return "FR" + fr_tva.validate(compact)
    if compact[:2].lower() in eu_vat.MEMBER_STATES:
        return str(eu_vat.validate(compact))
    return compact


def _valid(name: str, field: str, raw: str, validate: Callable[[str], str]) -> str:
    """`validate(raw)`, or the error naming the field and the value."""
    try:
        return str(validate(raw))
    except ValidationError as error:
        raise _fail(name, "invalid_id", field=field, value=raw) from error
