"""E-invoices in: a Factur-X / ZUGFeRD PDF, a CII or a UBL XML read (`services.einvoice`), its document kept in the
business's folder, then written in one transaction (`storage.einvoices`); and `import_file`, the one entry point
of the chats, which sends a CSV to the CSV import and anything else to this one.

Every refusal is one message naming the file and the problem (French / English), and nothing is written: the
document copied for the invoice is removed again when the write refuses it or finds it already imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from dunning.penalties import RateTable
from services.einvoice import MAX_FILE_BYTES, EInvoice, EInvoiceError, PostalAddress, detect_kind, read_einvoice
from services.imports import CURRENCIES, MAX_ADDRESS, MAX_ADDRESS_LINES, ImportReport, import_csv
from storage.einvoices import EInvoiceImportResult, EInvoiceRecord, EInvoiceRefused, write_einvoice

#: Payment term assumed when an e-invoice gives no due date (days after its issue date).
DEFAULT_TERM_DAYS = 30
#: Bytes read from a file named on the command line to tell a CSV from an e-invoice.
HEAD_BYTES = 64 * 1024

#: Why the write refused an e-invoice, and other refusals of this module: (French, English).
MESSAGES: dict[str, tuple[str, str]] = {
    "number_taken": (
        "la facture n° {number} existe déjà avec d'autres données (client, dates ou montant) : rien n'a été modifié",
        "invoice {number} already exists with other data (client, dates or amount): nothing was changed",
    ),
    "credit_too_big": (
        "l'avoir ({amount}) dépasse le reste à payer de la facture {number} ({balance})",
        "the credit note ({amount}) exceeds the balance of invoice {number} ({balance})",
    ),
    "currency": (
        "l'avoir est en {currency}, dans une autre devise que la facture {number}",
        "the credit note is in {currency}, not in the currency of invoice {number}",
    ),
    "foreign_currency": (
        "devise {currency} non prise en charge (EUR uniquement)",
        "currency {currency} is not supported (EUR only)",
    ),
    "store_failed": (
        "impossible d'enregistrer le document de la facture ({detail})",
        "cannot store the invoice's document ({detail})",
    ),
}


def _message(code: str, **values: object) -> str:
    french, english = MESSAGES[code]
    return f"{french.format(**values)} / {english.format(**values)}"


@dataclass(kw_only=True)
class EInvoiceReport:
    """What an e-invoice import read and did, or the one reason it wrote nothing (`error`, French / English).
    `show_seller` is set when the business has neither SIREN nor VAT number to check the seller against: the owner
    reads its name."""

    filename: str
    sha256: str
    einvoice: EInvoice | None = None
    result: EInvoiceImportResult | None = None
    error: str = ""
    dry_run: bool = False
    show_seller: bool = False

    @property
    def ok(self) -> bool:
        """True when the file was read (and, unless dry_run, written)."""
        return not self.error


def is_einvoice(head: bytes) -> bool:
    """True when the bytes (a file's start is enough) are a PDF or XML, to be read as an e-invoice, not a CSV."""
    return detect_kind(head) in ("facturx_pdf", "cii", "ubl") or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def import_einvoice(
    engine: Engine,
    *,
    business_id: int,
    data: bytes,
    filename: str,
    actor: str,
    document_store: Path,
    business_siren: str | None = None,
    business_vat: str | None = None,
    dry_run: bool = False,
) -> EInvoiceReport:
    """Read the e-invoice, keep its document in `document_store`/<sha256>/<number>.pdf|.xml and write it (or apply
    the credit note) in one transaction; every refusal leaves nothing behind."""
    report = EInvoiceReport(
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        dry_run=dry_run,
        show_seller=not (business_siren or business_vat),
    )
    try:
        einvoice = read_einvoice(
            data,
            filename,
            business_siren=business_siren or None,
            business_vat=business_vat or None,
            default_term_days=DEFAULT_TERM_DAYS,
        )
    except EInvoiceError as exc:
        report.error = exc.problem
        return report
    report.einvoice = einvoice
    if not (einvoice.seller.siren or einvoice.seller.vat):
        report.show_seller = True  # a seller with no number could not be checked: the owner reads its name
    if einvoice.currency not in CURRENCIES:
        report.error = _message("foreign_currency", currency=einvoice.currency)
        return report
    created: Path | None = None
    if einvoice.kind == "invoice" and not dry_run:
        try:
            created = _store(einvoice, report.sha256, document_store)
        except OSError as exc:
            report.error = _message("store_failed", detail=exc.strerror or exc)
            return report
    stored = str(_target(einvoice, report.sha256, document_store)) if einvoice.kind == "invoice" else None
    try:
        report.result = write_einvoice(
            engine,
            business_id=business_id,
            einvoice=_record(einvoice, filename, report.sha256, stored),
            actor=actor,
            dry_run=dry_run,
        )
    except EInvoiceRefused as exc:
        _remove(created)
        report.error = _message(exc.code, **exc.values)
        return report
    except BaseException:
        _remove(created)
        raise
    if report.result.status != "created":
        _remove(created)  # already imported (with its own copy): no file that no invoice names
    return report


def import_file(
    engine: Engine,
    *,
    business_id: int,
    data: bytes,
    filename: str,
    actor: str,
    document_store: Path,
    business_siren: str | None = None,
    business_vat: str | None = None,
    today: date | None = None,
    rate_table: RateTable | None = None,
) -> ImportReport | EInvoiceReport:
    """A file sent in a chat, imported by its content: an e-invoice (PDF, XML), else the CSV import."""
    if is_einvoice(data[:HEAD_BYTES]):
        return import_einvoice(
            engine,
            business_id=business_id,
            data=data,
            filename=filename,
            actor=actor,
            document_store=document_store,
            business_siren=business_siren,
            business_vat=business_vat,
        )
    return import_csv(
        engine,
        business_id=business_id,
        path_or_bytes=data,
        filename=filename,
        actor=actor,
        today=today,
        rate_table=rate_table,
        pdf_store=document_store,
    )


def read_head(path: Path) -> bytes:
    """The first bytes of a file (enough for `is_einvoice`); OSError when it cannot be read."""
    with path.open("rb") as file:
        return file.read(HEAD_BYTES)


def read_capped(path: Path) -> bytes:
    """The bytes of an e-invoice file, never more than MAX_FILE_BYTES + 1 (the reader refuses anything larger)."""
    with path.open("rb") as file:
        return file.read(MAX_FILE_BYTES + 1)


def _record(einvoice: EInvoice, filename: str, sha256: str, stored: str | None) -> EInvoiceRecord:
    buyer = einvoice.buyer
    return EInvoiceRecord(
        number=einvoice.number,
        kind=einvoice.kind,
        issue_date=einvoice.issue_date,
        due_date=einvoice.due_date,
        amount_due=einvoice.amount_due,
        currency=einvoice.currency,
        buyer_name=buyer.name or "",
        buyer_siren=buyer.siren,
        buyer_siret=buyer.siret,
        buyer_vat=buyer.vat,
        buyer_email=buyer.email,
        buyer_address=address_text(buyer.address),
        referenced_invoice=einvoice.referenced_invoice,
        document_kind=einvoice.document_kind,
        document_path=stored,
        document_sha256=sha256,
        file=filename,
    )


def address_text(address: PostalAddress | None) -> str:
    """The postal address as the client's address lines (street lines, postcode and city, a foreign country)."""
    if address is None:
        return ""
    lines = [line for line in address.lines if line]
    town = " ".join(part for part in (address.postcode, address.city) if part)
    if town:
        lines.append(town)
    if address.country and address.country != "FR":
        lines.append(address.country)
    return "\n".join(lines[:MAX_ADDRESS_LINES])[:MAX_ADDRESS]


def _target(einvoice: EInvoice, sha256: str, folder: Path) -> Path:
    """Where the document is kept: folder/<sha256>/<invoice number>.<pdf|xml> (as the CSV import keeps PDFs)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in einvoice.number).strip("._") or "facture"
    return (folder / sha256 / f"{safe}.{einvoice.document_kind}").resolve()


def _store(einvoice: EInvoice, sha256: str, folder: Path) -> Path | None:
    """Write the document (atomically); the path when this call created it, None when it was already there."""
    target = _target(einvoice, sha256, folder)
    if target.is_file() and target.stat().st_size == len(einvoice.document):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".import-", suffix=f".{einvoice.document_kind}")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(einvoice.document)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _remove(path: Path | None) -> None:
    if path is None:
        return
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()  # the hash folder, when nothing else is in it
