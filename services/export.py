"""The court-ready evidence file of one invoice: a ZIP with a French PDF summary, the e-mails, the SMTP replies,
the invoice PDF, the chained log entries with a standalone verifier, and a numbered list of documents.

Only data from the database goes in (never settings): no secret can end up in the file. It is read in one
transaction by `storage.dossier` (plain dataclasses, `business_id` explicit).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tomllib
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF, XPos, YPos

from dunning.penalties import InvoicePenalties as Claim
from dunning.penalties import RateTable, builtin_rate_table
from messages.formatting import format_amount
from messages.letter import pdf_text
from messages.render import InvoicePdfError, read_invoice_pdf
from messages.states import state_label
from services.drafts import claims_of
from services.letters import facts
from storage.businesses import BusinessRow
from storage.clients import ClientRow
from storage.db import Engine, read_session
from storage.dossier import EvidenceRow as _Entry
from storage.dossier import dossier
from storage.drafting import PaymentLine
from storage.evidence import format_timestamp
from storage.invoices import InvoiceRow
from storage.letters import LetterRow, invoice_letters
from storage.received import ReceivedRow, received_for_invoice

PARIS = ZoneInfo("Europe/Paris")
_TEXTS_FILE = Path(__file__).with_name("export_fr.toml")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class ExportError(Exception):
    """The evidence file cannot be built (unknown invoice, ...)."""


def _texts() -> dict[str, dict[str, str]]:
    with _TEXTS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def _safe(name: str) -> str:
    return _SAFE.sub("-", name).strip("-") or "x"


def _paris(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


def _day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _entry_json(entry: _Entry) -> dict[str, Any]:
    """The entry as `chaine/entrees.json` states it: every hashed field, the payload readable and canonical."""
    return {
        "seq": entry.seq,
        "created_at": format_timestamp(entry.created_at),
        "actor": entry.actor,
        "kind": entry.kind,
        "business_id": entry.business_id,
        "client_id": entry.client_id,
        "invoice_id": entry.invoice_id,
        "reminder_id": entry.reminder_id,
        "payload": entry.payload,
        "payload_canonical": entry.payload_text,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


@dataclass
class _Email:
    filename: str
    raw: bytes
    subject: str
    when: datetime
    status: str
    message_id: str
    queued_seq: int


def _emails(entries: Sequence[_Entry], states: Mapping[str, str]) -> list[_Email]:
    """Each e-mail queued for this invoice, its bytes taken from the log entry (so verify.py can match them);
    `states` is the outbox state of each by Message-ID."""
    accepted = {e.payload.get("message_id"): e.created_at for e in entries if e.kind == "smtp_accepted"}
    emails: list[_Email] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.kind != "email_queued":
            continue
        payload = entry.payload
        message_id = str(payload.get("message_id", ""))
        raw_text = payload.get("raw_message")
        if not raw_text or message_id in seen:
            continue
        seen.add(message_id)
        status = states.get(message_id, "queued")
        when = accepted.get(message_id, entry.created_at)
        number = len(emails) + 1
        stamp = when.astimezone(PARIS).strftime("%Y%m%d-%H%M")
        emails.append(
            _Email(
                filename=f"courriels/{number:02d}-{stamp}.eml",
                raw=str(raw_text).encode("ascii"),
                subject=str(payload.get("subject", "")),
                when=when,
                status=status,
                message_id=message_id,
                queued_seq=entry.seq,
            )
        )
    return emails


def _claim(
    invoice: InvoiceRow,
    client: ClientRow,
    payments: Sequence[PaymentLine],
    today: date,
    rate_table: RateTable | None,
) -> Claim:
    """The invoice's penalties, indemnity and total from the same computation as the e-mails and the letter."""
    table = rate_table if rate_table is not None else builtin_rate_table()
    return claims_of([invoice], client, {invoice.id: payments}, today, table)[invoice.id]


def _missing_reason(texts: dict[str, dict[str, str]], claim: Claim) -> str:
    """Why the penalties are not computed, in French: which rate of which half-year is missing."""
    key = "rate_missing_legal" if claim.missing_table == "legal" else "rate_missing_ecb"
    return texts["text"][key].format(half_year=claim.missing_half_year or "?")


def _claim_json(claim: Claim, invoice: InvoiceRow, client: ClientRow, today: date) -> dict[str, Any]:
    """The claim as data, for the JSON of the dossier: amounts as exact decimal strings."""

    def money(value: Decimal) -> str:
        return str(value.quantize(Decimal("0.01")))

    return {
        "as_of": today.isoformat(),
        "currency": invoice.currency,
        "consumer": client.is_consumer,
        "days_late": claim.days_late,
        "principal": money(claim.balance),
        "penalties": money(claim.penalty) if claim.penalty is not None else None,
        "penalties_not_computed": claim.missing_half_year,
        "indemnity": money(claim.indemnity),
        "total": money(claim.total),
        "total_includes_penalties": claim.known,
        "contractual_rate_set_aside": list(claim.set_aside),
        "segments": [
            {
                "half_year": seg.half_year,
                "from": seg.start.isoformat(),
                "to": seg.end.isoformat(),
                "base": money(seg.base),
                "rate_percent": str(seg.rate),
                "days": seg.days,
            }
            for seg in claim.segments
        ],
    }


_DETAIL_KEYS = (
    "subject",
    "recipients",
    "reply",
    "message_id",
    "number",
    "amount",
    "applied",
    "overpaid",
    "excess",
    "paid_on",
    "issued_on",
    "until",
    "reason",
    "outcome",
    "from",
    "to",
    "balance",
    "file",
    "line_id",
    "note",
    "tracking_number",
    "sent_on",
    "first_presented_on",
    "received_on",
    "returned_on",
    "proof_sha256",
)
_STATE_KEYS = ("from", "to")  # invoice states, said in words
_ZERO_KEYS = ("overpaid", "excess")  # shown only when there is some


def _detail(entry: _Entry, names: dict[str, str]) -> str:
    payload = entry.payload
    parts = []
    for key in _DETAIL_KEYS:
        value = payload.get(key)
        if value in (None, "", []) or (key in _ZERO_KEYS and str(value) in ("0", "0.00")):
            continue
        if entry.kind == "call_logged" and key == "outcome":
            continue  # a call's outcome is in its label
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif key in _STATE_KEYS:
            value = state_label(str(value))
        parts.append(f"{names.get(key, key)} : {value}")
    return " ; ".join(parts)[:400]


def kind_label(entry: _Entry, labels: Mapping[str, str]) -> str:
    """The French name of an entry's kind; a payment read from a bank statement says so (its note names the line)."""
    if entry.kind == "payment_recorded" and str(entry.payload.get("note", "")).startswith("relevé "):
        return labels["payment_recorded_statement"]
    if entry.kind == "call_logged":
        # Phone calls: the label says whether the client was reached (the note follows in the detail).
        return labels.get(f"call_logged_{entry.payload.get('outcome', '')}", labels.get("call_logged", entry.kind))
    return labels.get(entry.kind, entry.kind)


class _Pdf(FPDF):
    page_label = "Page {page}"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, pdf_text(self.page_label.format(page=self.page_no())), align="C")


def _summary_pdf(
    *,
    texts: dict[str, dict[str, str]],
    business: BusinessRow,
    client: ClientRow,
    invoice: InvoiceRow,
    today: date,
    entries: Sequence[_Entry],
    claim: Claim,
    chain_total: int,
    chain_head: str,
    inventory: list[tuple[str, str]],
) -> bytes:
    t, x = texts["titles"], texts["text"]
    pdf = _Pdf(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.page_label = x["page"]
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(18, 18, 18)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: float = 13) -> None:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(width, 7, pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", size=9.5)

    def para(text: str, height: float = 5) -> None:
        pdf.multi_cell(width, height, pdf_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    heading(f"{t['document']} — {t['invoice']} n° {invoice.number}", 15)
    para(x["intro"].format(number=invoice.number, business=business.name, client=client.name, today=_day(today)))
    heading(t["amounts"].format(today=_day(today)))
    rows = [
        (x["issue_date"], _day(invoice.issue_date)),
        (x["due_date"], _day(invoice.due_date)),
        (x["amount"], format_amount(invoice.amount, invoice.currency)),
        (x["paid"], format_amount(invoice.amount_paid, invoice.currency)),
        (x["balance"], format_amount(claim.balance, invoice.currency)),
        (x["days_late"], str(max(0, (today - invoice.due_date).days))),
    ]
    currency = invoice.currency
    if client.is_consumer:
        rows.append((x["consumer"], ""))
    elif claim.penalty is not None:
        rows.append((x["penalty"], format_amount(claim.penalty, currency)))
    else:
        rows.append((x["penalty"], x["penalty_not_computed"]))
    if not client.is_consumer:
        rows.append((x["indemnity"], format_amount(claim.indemnity, currency)))
    total_label = x["total_claim"] if claim.known or client.is_consumer else x["total_claim_without_penalties"]
    rows.append((total_label, format_amount(claim.total, currency)))
    for label, value in rows:
        pdf.cell(width * 0.62, 5.5, pdf_text(label))
        pdf.cell(width * 0.38, 5.5, pdf_text(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not claim.known and not client.is_consumer:
        heading(t["penalties_missing"], 11)
        para(x["penalties_missing"].format(reason=_missing_reason(texts, claim)))

    heading(t["timeline"])
    para(x["times"])
    labels = texts["kinds"]
    for entry in entries:
        pdf.set_font("Helvetica", "B", 9)
        para(
            f"#{entry.seq}  {_paris(entry.created_at)} (Paris) — {_utc(entry.created_at)} — "
            f"{kind_label(entry, labels)}",
            4.6,
        )
        pdf.set_font("Helvetica", size=8.5)
        detail = _detail(entry, texts["fields"])
        if detail:
            para(detail, 4.2)
        pdf.ln(1)

    heading(t["chain"])
    para(x["chain_entries"].format(count=len(entries)))
    para(x["chain_head"].format(total=chain_total, head=chain_head))
    para(x["chain_how"])

    heading(t["inventory"])
    for number, (label, path) in enumerate(inventory, 1):
        para(texts["inventory"]["item"].format(number=number, label=label) + (f"  [{path}]" if path else ""))
    return bytes(pdf.output())


def _invoice_xml(inv: Mapping[str, str], invoice: InvoiceRow) -> tuple[tuple[str, bytes] | None, dict[str, Any] | None]:
    """An XML-only e-invoice's document (CII / UBL) as a piece of the file, checked against the SHA-256 recorded at
    import like the PDF; when it cannot be joined, the JSON says why and carries the bordereau's line (`label`)."""
    if not invoice.xml_path:
        return None, None
    path = Path(invoice.xml_path)
    xml_json: dict[str, Any] = {"file": path.name, "sha256_recorded": invoice.xml_sha256}
    try:
        content = read_invoice_pdf(invoice.number, invoice.xml_path, invoice.xml_sha256)
    except InvoicePdfError as exc:
        label = inv[f"invoice_xml_{exc.problem}"].format(
            number=invoice.number, file=path.name, sha256=exc.recorded or "—", found=exc.found or "—"
        )
        xml_json.update(status=exc.problem, sha256_found=exc.found, label=label)
        return None, xml_json
    piece = f"facture/{_safe(path.name)}"
    xml_json.update(status="included", path=piece)
    return (piece, content), xml_json


def _letter_pieces(
    inv: Mapping[str, str], letters: Sequence[LetterRow], days: int
) -> tuple[list[tuple[str, str, bytes | None]], list[dict[str, Any]]]:
    """The registered letters of the formal notices that covered the invoice: each scanned acknowledgment of receipt
    as a numbered piece (label, path in the ZIP, bytes) when its file still has the SHA-256 recorded, else a line
    saying it is missing (no bytes); and the letters as data, with the deadline the notice gave."""
    pieces: list[tuple[str, str, bytes | None]] = []
    described: list[dict[str, Any]] = []
    for letter in letters:
        found = facts(letter, days)
        about: dict[str, Any] = {
            "tracking_number": letter.tracking_number,
            "sent_on": letter.sent_on.isoformat(),
            "first_presented_on": letter.first_presented_on.isoformat() if letter.first_presented_on else None,
            "received_on": letter.received_on.isoformat() if letter.received_on else None,
            "outcome": letter.outcome,
            "deadline": found.deadline.isoformat(),
            "proof": None,
        }
        if letter.proof_path and letter.proof_sha256:
            suffix = Path(letter.proof_path).suffix or ".bin"
            path = f"accuses-de-reception/LRAR-{_safe(letter.tracking_number)}{suffix}"
            try:
                content = read_invoice_pdf(letter.tracking_number, letter.proof_path, letter.proof_sha256)
            except InvoicePdfError:
                label = inv["lrar_proof_missing"].format(
                    number=letter.tracking_number, file=Path(letter.proof_path).name, sha256=letter.proof_sha256
                )
                pieces.append((label, "", None))
                about["proof"] = {"status": "missing", "sha256_recorded": letter.proof_sha256}
            else:
                received = _day(letter.received_on) if letter.received_on else "—"
                label = inv["lrar_proof"].format(
                    number=letter.tracking_number, received=received, sha256=letter.proof_sha256
                )
                pieces.append((label, path, content))
                about["proof"] = {"status": "included", "path": path, "sha256": letter.proof_sha256}
        described.append(about)
    return pieces, described


def _with_received(entries: Sequence[_Entry], received: Sequence[tuple[ReceivedRow, _Entry]]) -> list[_Entry]:
    """The invoice's entries and those of the messages received about it (a reply tied to the client by its
    address names no single invoice), once each, in log order: the timeline lists the replies."""
    by_seq = {e.seq: e for e in entries}
    for _, entry in received:
        by_seq.setdefault(entry.seq, entry)
    return [by_seq[seq] for seq in sorted(by_seq)]


def _received_pieces(
    inv: Mapping[str, str], received: Sequence[tuple[ReceivedRow, _Entry]]
) -> tuple[list[tuple[str, str, bytes | None]], list[dict[str, Any]]]:
    """Each message received about the invoice as a numbered piece under courriels-recus/ (label, path, raw bytes)
    when its stored file still has the SHA-256 recorded at reception; else a line saying it is not joined."""
    pieces: list[tuple[str, str, bytes | None]] = []
    described: list[dict[str, Any]] = []
    for number, (row, entry) in enumerate(received, 1):
        when = _paris(row.received_at)
        kind = inv.get(f"received_{row.kind}", row.kind)
        try:
            raw: bytes | None = Path(row.raw_path).read_bytes()
        except OSError:
            raw = None
        if raw is None or hashlib.sha256(raw).hexdigest() != row.raw_sha256:
            label = inv["received_missing"].format(date=when, sender=row.sender, file=Path(row.raw_path).name,
                                                   sha256=row.raw_sha256)  # fmt: skip
            pieces.append((label, "", None))
            described.append({"file": None, "evidence_seq": entry.seq, "status": "missing", "sha256": row.raw_sha256})
            continue
        stamp = row.received_at.astimezone(PARIS).strftime("%Y%m%d-%H%M")
        path = f"courriels-recus/{number:02d}-{stamp}-{_safe(row.kind)}.eml"
        label = inv["received"].format(date=when, sender=row.sender, subject=row.subject, kind=kind,
                                       sha256=row.raw_sha256)  # fmt: skip
        pieces.append((label, path, raw))
        described.append({"file": path, "evidence_seq": entry.seq, "status": "included", "sha256": row.raw_sha256,
                          "message_id": row.message_id, "kind": row.kind})  # fmt: skip
    return pieces, described


_VERIFY_PY = r'''#!/usr/bin/env python3
"""Re-check the evidence entries of this file without any database (Python 3.8+, standard library only).

Usage: python3 verify.py        (from the folder "chaine" of the evidence file)

Each entry's hash is SHA-256 of the previous entry's hash followed by the entry's canonical JSON
(keys sorted, no spaces, UTF-8). This script rebuilds the canonical JSON from the entry's fields, recomputes each
hash from the entry's own content and its prev_hash, checks the links between entries with consecutive sequence
numbers, and checks that each e-mail file matches the SHA-256 recorded in the log when it was approved.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ("actor", "business_id", "client_id", "created_at", "invoice_id", "kind", "payload", "reminder_id", "seq")


def canonical(entry):
    # The payload is included as stored (its own canonical JSON text); the other fields are dumped in key order.
    parts = []
    for key in KEYS:
        value = entry["payload_canonical"] if key == "payload" else json.dumps(entry[key], ensure_ascii=False)
        parts.append(json.dumps(key) + ":" + value)
    return "{" + ",".join(parts) + "}"


def main():
    with open(os.path.join(HERE, "entrees.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    errors = []
    previous = None
    for entry in data["entries"]:
        seq = entry["seq"]
        if json.loads(entry["payload_canonical"]) != entry["payload"]:
            errors.append("entry %d: readable payload differs from the hashed payload" % seq)
        digest = hashlib.sha256((entry["prev_hash"] + canonical(entry)).encode("utf-8")).hexdigest()
        if digest != entry["hash"]:
            errors.append("entry %d: hash does not match its content (altered)" % seq)
        if previous is not None and previous["seq"] + 1 == seq and previous["hash"] != entry["prev_hash"]:
            errors.append("entry %d: does not link to entry %d" % (seq, previous["seq"]))
        previous = entry
    by_seq = {e["seq"]: e for e in data["entries"]}
    for email in data.get("emails", []):
        path = os.path.join(HERE, "..", email["file"])
        entry = by_seq.get(email["queued_seq"])
        if entry is None:
            errors.append("%s: its log entry is missing" % email["file"])
            continue
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        if digest != entry["payload"].get("raw_sha256"):
            errors.append("%s: differs from the message recorded in entry %d" % (email["file"], entry["seq"]))
    for received in data.get("received_emails", []):
        entry = by_seq.get(received["evidence_seq"])
        if not received.get("file") or entry is None:
            continue
        with open(os.path.join(HERE, "..", received["file"]), "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        if digest != entry["payload"].get("sha256"):
            errors.append("%s: differs from the message recorded in entry %d" % (received["file"], entry["seq"]))
    count = len(data["entries"])
    if errors:
        print("ECHEC / FAILED: %d problem(s) in %d entries" % (len(errors), count))
        for line in errors:
            print(" - " + line)
        return 1
    print("OK: %d entries verified, %d e-mail file(s) match the log" % (count, len(data.get("emails", []))))
    print("last entry hash: %s" % (data["entries"][-1]["hash"] if count else "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def build_evidence_zip(
    engine: Engine,
    *,
    business_id: int,
    invoice_number: str,
    today: date,
    out_path: Path | str,
    rate_table: RateTable | None = None,
) -> Path:
    """Write the evidence ZIP of invoice `invoice_number` to `out_path` and return its path."""
    texts = _texts()
    with read_session(engine) as session:
        stored = dossier(session, business_id=business_id, invoice_number=invoice_number)
        # Messages received about the invoice (replies, automatic answers, bounces): issue 11.
        received = [] if stored is None else received_for_invoice(session, business_id=business_id,
                                                                  invoice_id=stored.invoice.id)  # fmt: skip
        letters = [] if stored is None else invoice_letters(session, business_id=business_id,
                                                            invoice_id=stored.invoice.id)  # fmt: skip
    if stored is None:
        raise ExportError(f"invoice {invoice_number} not found")
    business, client, invoice = stored.business, stored.client, stored.invoice
    entries = _with_received(stored.entries, received)
    emails = _emails(entries, stored.email_states)
    claim = _claim(invoice, client, stored.payments, today, rate_table)
    chain_total, chain_head = stored.chain_total, stored.chain_head

    inv = texts["inventory"]
    status_text = texts["text"]
    inventory: list[tuple[str, str]] = [(inv["summary"], "resume.pdf")]
    invoice_pdf: tuple[str, bytes] | None = None
    pdf_json: dict[str, Any] | None = None
    if invoice.pdf_path:
        path = Path(invoice.pdf_path)
        pdf_json = {"file": path.name, "sha256_recorded": invoice.pdf_sha256}
        try:
            content = read_invoice_pdf(invoice.number, invoice.pdf_path, invoice.pdf_sha256)
        except InvoicePdfError as exc:
            # Never dropped in silence, never another file under the invoice's name: the list of documents (in
            # the bordereau and the summary) says the PDF is missing or altered, with the SHA-256 recorded at import.
            label = inv[f"invoice_{exc.problem}"].format(
                number=invoice.number, file=path.name, sha256=exc.recorded or "—", found=exc.found or "—"
            )
            inventory.append((label, ""))
            pdf_json.update(status=exc.problem, sha256_found=exc.found)
        else:
            invoice_pdf = (f"facture/{_safe(path.name)}", content)
            inventory.append((inv["invoice"].format(number=invoice.number), invoice_pdf[0]))
            pdf_json.update(status="included", path=invoice_pdf[0])
    invoice_xml, xml_json = _invoice_xml(inv, invoice)
    if invoice_xml is not None:
        inventory.append((inv["invoice_xml"].format(number=invoice.number), invoice_xml[0]))
    elif xml_json is not None:
        inventory.append((xml_json.pop("label"), ""))
    for email in emails:
        status = status_text.get(f"email_status_{email.status}", email.status)
        label = inv["email"].format(date=_paris(email.when), subject=email.subject, status=status)
        inventory.append((label, email.filename))
    smtp_lines = [
        f"{_paris(e.created_at)} (Paris) / {_utc(e.created_at)}  {e.kind}  {e.payload.get('message_id', '')}  "
        f"{e.payload.get('reply', '')}"
        for e in entries
        if e.kind.startswith("smtp_")
    ]
    letter_files, letters_json = _letter_pieces(inv, letters, business.formal_notice_days or 8)
    inventory += [(label, path) for label, path, _ in letter_files]
    received_files, received_json = _received_pieces(inv, received)
    inventory += [(label, path) for label, path, _ in received_files]
    inventory.append((inv["smtp"], "smtp/reponses-smtp.txt"))
    inventory.append((inv["chain"], "chaine/entrees.json, chaine/verify.py"))

    summary = _summary_pdf(
        texts=texts,
        business=business,
        client=client,
        invoice=invoice,
        today=today,
        entries=entries,
        claim=claim,
        chain_total=chain_total,
        chain_head=chain_head,
        inventory=inventory,
    )
    chain_json = {
        "format": "relance-evidence/1",
        "hash": "sha256(prev_hash + canonical JSON of the entry)",
        "invoice": invoice.number,
        "exported_on": today.isoformat(),
        "chain_head_at_export": chain_head,
        "chain_length_at_export": chain_total,
        "claim": _claim_json(claim, invoice, client, today),
        "invoice_pdf": pdf_json,
        "invoice_xml": xml_json,
        "entries": [_entry_json(e) for e in entries],
        "emails": [{"file": e.filename, "queued_seq": e.queued_seq, "message_id": e.message_id} for e in emails],
        "received_emails": received_json,
        "registered_letters": letters_json,
    }
    bordereau = [texts["titles"]["inventory"], f"{texts['titles']['invoice']} n° {invoice.number}", ""]
    bordereau += [
        inv["item"].format(number=n, label=label) + (f"  [{path}]" if path else "")
        for n, (label, path) in enumerate(inventory, 1)
    ]
    smtp_text = "\n".join(smtp_lines) if smtp_lines else texts["text"]["no_email"]

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("resume.pdf", summary)
        zf.writestr("bordereau-des-pieces.txt", "\n".join(bordereau) + "\n")
        if invoice_pdf is not None:
            zf.writestr(invoice_pdf[0], invoice_pdf[1])
        if invoice_xml is not None:
            zf.writestr(invoice_xml[0], invoice_xml[1])
        for email in emails:
            zf.writestr(email.filename, email.raw)
        for _, received_path, received_raw in received_files:
            if received_raw is not None:
                zf.writestr(received_path, received_raw)
        for _, piece_path, piece in letter_files:
            if piece is not None:
                zf.writestr(piece_path, piece)
        zf.writestr("smtp/reponses-smtp.txt", smtp_text + "\n")
        zf.writestr("chaine/entrees.json", json.dumps(chain_json, ensure_ascii=False, indent=2) + "\n")
        zf.writestr("chaine/verify.py", _VERIFY_PY)
        checksums = {name: hashlib.sha256(zf.read(name)).hexdigest() for name in zf.namelist()}
        zf.writestr("SHA256SUMS.txt", "".join(f"{digest}  {name}\n" for name, digest in sorted(checksums.items())))
    out.write_bytes(buffer.getvalue())
    return out
