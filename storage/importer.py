"""Invoice import from the canonical CSV: a pure parsing step, then one all-or-nothing bulk write.

Canonical columns (header names are case-insensitive; spaces and hyphens count as underscores; any order):

required  invoice_number, client_name, issue_date, due_date, amount
optional  client_email, client_phone, client_language (fr|en), client_profile (standard|loyal|late_payer|
          key_account|in_difficulty), currency (EUR only), paid_amount

A blank optional cell means "not given": a new client or invoice gets the default, an existing one keeps its value.
The file is read as UTF-8 (with or without BOM) or, failing that, CP1252; the delimiter is `,`, `;` or a tab,
sniffed from the header line. Amounts accept a decimal comma or point and thousands separators (`1 234,56`,
`1.234,56`, `1,234.56`, non-breaking spaces); dates `dd/mm/yyyy` (also `-` or `.`) and ISO `yyyy-mm-dd`.
Any error anywhere means nothing is written; every error is reported with its line, column and reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from dunning.states import ClientProfile, InvoiceState
from storage.db import write_session
from storage.models import Client, Invoice, Payment
from storage.types import utcnow

REQUIRED_COLUMNS = ("invoice_number", "client_name", "issue_date", "due_date", "amount")
OPTIONAL_COLUMNS = (
    "client_email",
    "client_phone",
    "client_language",
    "client_profile",
    "currency",
    "paid_amount",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Amounts must be strictly below this (a typo guard: nobody chases a hundred-million-euro invoice with a bot).
MAX_AMOUNT = Decimal("100000000.00")
CURRENCIES = frozenset({"EUR"})
LANGUAGES = frozenset({"fr", "en"})
PROFILES = frozenset(p.value for p in ClientProfile)
MIN_YEAR, MAX_YEAR = 1990, 2100
BATCH = 5000

_CENT = Decimal("0.01")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_FR_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_PHONE = re.compile(r"\+?[0-9 ().\-]{4,40}")
_GROUPED = re.compile(r"\d{1,3}(?:X\d{3})+")  # X stands for the thousands separator


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file: 1-based physical line, column name ("" when it is about the whole line)."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


# The name used in the issue; kept as an alias (shadowing the builtin only inside modules that import it).
ImportError = RowError


@dataclass(slots=True)
class ParsedClient:
    """A client as described by the file; None means "not given in the file"."""

    name: str
    line: int
    emails: str | None = None
    phone: str | None = None
    language: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    """One valid invoice row."""

    line: int
    number: str
    client_name: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    paid_amount: Decimal | None


@dataclass
class ParseResult:
    """The outcome of parsing: valid rows, or errors (never both used: any error voids the import)."""

    invoices: list[ParsedInvoice] = field(default_factory=list)
    clients: dict[str, ParsedClient] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"

    @property
    def ok(self) -> bool:
        """True when the file has no error."""
        return not self.errors


@dataclass
class ImportReport:
    """What an import did (or, with dry_run or errors, would have done / why it did nothing)."""

    filename: str
    sha256: str
    rows: int = 0
    clients_created: int = 0
    clients_updated: int = 0
    invoices_created: int = 0
    invoices_updated: int = 0
    invoices_unchanged: int = 0
    payments_recorded: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when the file was valid (and, unless dry_run, written)."""
        return not self.errors

    @property
    def created(self) -> int:
        """Invoices created."""
        return self.invoices_created

    @property
    def updated(self) -> int:
        """Invoices updated."""
        return self.invoices_updated


Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stage is "parse" or "write"."""


# ---------------------------------------------------------------------------------------------------------------
# Pure parsing


def decode(data: bytes) -> tuple[str, str]:
    """Decode the file: UTF-8 (BOM stripped) or CP1252; raise ValueError for binary content."""
    if b"\x00" in data[:65536]:
        raise ValueError("the file is not a CSV text file (binary content)")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ValueError(f"the file starts with a UTF-8 mark but is not valid UTF-8 ({exc.reason})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValueError("the file is neither UTF-8 nor CP1252 text (binary content?)") from None
    return text, "cp1252"


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return controls > max(2, len(sample) // 100)


def normalize_header(name: str) -> str:
    """`Invoice Number` -> `invoice_number`."""
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').strip().lower())


def sniff_delimiter(header_line: str) -> str:
    """The delimiter used by the header: the most frequent of `;`, `,` and tab (`,` on a tie)."""
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best


def parse_amount(raw: str) -> Decimal:
    """Parse a money amount written the French or the English way; raise ValueError with a reason.

    Rules: spaces (incl. non-breaking) are thousands separators; with both `,` and `.` the last one is the decimal
    separator; a single separator followed by 1 or 2 digits is decimal, followed by exactly 3 digits (or repeated)
    it groups thousands; more than 2 decimal places is an error. A trailing `€` or `EUR` is accepted.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty amount")
    text = re.sub(r"(?i)\s*(€|eur)$", "", text)
    text = re.sub(r"^(?i:€|eur)\s*", "", text)
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("+-")
    text = _SPACES.sub("", text)
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit() or not text[-1].isdigit():
        raise ValueError(f"'{raw.strip()}' is not an amount")
    integer, decimals = text, ""
    if "," in text and "." in text:
        dec_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thou_sep = "." if dec_sep == "," else ","
        integer, _, decimals = text.rpartition(dec_sep)
        if dec_sep in integer or not _GROUPED.fullmatch(integer.replace(thou_sep, "X")):
            raise ValueError(f"'{raw.strip()}': inconsistent thousands/decimal separators")
        integer = integer.replace(thou_sep, "")
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        parts = text.split(sep)
        if len(parts) == 2 and 1 <= len(parts[1]) <= 2:
            integer, decimals = parts
        elif all(len(p) == 3 for p in parts[1:]) and 1 <= len(parts[0]) <= 3:
            integer = "".join(parts)
        elif len(parts) == 2:
            raise ValueError(f"'{raw.strip()}': more than 2 decimal places")
        else:
            raise ValueError(f"'{raw.strip()}': inconsistent thousands/decimal separators")
    if len(decimals) > 2:
        raise ValueError(f"'{raw.strip()}': more than 2 decimal places")
    try:
        value = Decimal(f"{integer}.{decimals or '0'}").quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"'{raw.strip()}' is not an amount") from None
    if negative and value != 0:
        raise ValueError(f"negative amount ({raw.strip()})")
    return value


def parse_date(raw: str) -> date:
    """Parse `dd/mm/yyyy` (also with `-` or `.`) or ISO `yyyy-mm-dd`; raise ValueError with a reason."""
    text = raw.strip()
    if not text:
        raise ValueError("empty date")
    m = _ISO_DATE.fullmatch(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _FR_DATE.fullmatch(text)
        if not m:
            raise ValueError(f"'{text}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)")
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(f"'{text}' is not a valid calendar date") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"'{text}': year out of range {MIN_YEAR}-{MAX_YEAR}")
    return value


def _parse_emails(raw: str) -> str:
    parts = [p for p in re.split(r"[,;\s]+", raw.strip()) if p]
    for part in parts:
        if not _EMAIL.fullmatch(part):
            raise ValueError(f"'{part}' is not an e-mail address")
    value = ",".join(parts)
    if len(value) > 1000:
        raise ValueError("too many e-mail addresses (1000 characters at most)")
    return value


def parse_csv(data: bytes, *, progress: Progress | None = None) -> ParseResult:
    """Parse and validate the whole file; never touches the database."""
    result = ParseResult()
    errors = result.errors
    if not data.strip():
        errors.append(RowError(1, "", "the file is empty"))
        return result
    try:
        text, result.encoding = decode(data)
    except ValueError as exc:
        errors.append(RowError(1, "", str(exc)))
        return result
    if _looks_binary(text):
        errors.append(RowError(1, "", "the file is not a CSV text file (binary content)"))
        return result
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    result.delimiter = delimiter = sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    # Header
    header: list[str] | None = None
    try:
        while header is None:
            row = next(reader)
            if any(cell.strip() for cell in row):
                header = row
    except StopIteration:
        errors.append(RowError(1, "", "the file is empty"))
        return result
    except csv.Error as exc:
        errors.append(RowError(reader.line_num or 1, "", f"malformed CSV header: {exc}"))
        return result
    header_line = reader.line_num
    names = [normalize_header(h) for h in header]
    unknown = [h.strip() for h, n in zip(header, names, strict=True) if n not in COLUMNS]
    if unknown:
        errors.append(
            RowError(
                header_line,
                ", ".join(unknown),
                f"unknown column(s) {', '.join(repr(u) for u in unknown)}; expected columns: {', '.join(COLUMNS)}",
            )
        )
    seen_cols: set[str] = set()
    for n in names:
        if n in seen_cols and n in COLUMNS:
            errors.append(RowError(header_line, n, "column given twice"))
        seen_cols.add(n)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen_cols]
    if missing:
        errors.append(RowError(header_line, ", ".join(missing), f"missing required column(s): {', '.join(missing)}"))
    if errors:
        return result
    index = {n: i for i, n in enumerate(names)}
    width = len(names)
    total = max(1, text.count("\n"))

    first_seen: dict[str, int] = {}
    clients = result.clients
    row_count = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, "", f"malformed CSV row: {exc}"))
            break  # the reader cannot resynchronise after a broken quote
        if not row or not any(cell.strip() for cell in row):
            continue
        row_count += 1
        if progress is not None and row_count % 2000 == 0:
            progress("parse", reader.line_num, total)
        if len(row) != width:
            errors.append(RowError(start, "", f"malformed row: expected {width} fields, found {len(row)}"))
            continue
        _parse_row(row, index, start, result, first_seen, clients)
    if progress is not None:
        progress("parse", total, total)
    if row_count == 0 and not errors:
        errors.append(RowError(header_line, "", "the file has a header but no invoice rows"))
    if errors:
        result.invoices.clear()
        result.clients.clear()
    return result


def _cell(row: list[str], index: dict[str, int], name: str) -> str:
    i = index.get(name)
    return row[i].strip() if i is not None else ""


def _parse_row(
    row: list[str],
    index: dict[str, int],
    line: int,
    result: ParseResult,
    first_seen: dict[str, int],
    clients: dict[str, ParsedClient],
) -> None:
    errors = result.errors
    n_before = len(errors)

    def err(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    number = _cell(row, index, "invoice_number")
    if not number:
        err("invoice_number", "missing invoice number")
    elif len(number) > 64:
        err("invoice_number", "invoice number longer than 64 characters")
    elif number in first_seen:
        err("invoice_number", f"duplicate invoice number {number!r} (first seen on line {first_seen[number]})")
    else:
        first_seen[number] = line

    client_name = " ".join(_cell(row, index, "client_name").split())
    if not client_name:
        err("client_name", "missing client name")
    elif len(client_name) > 200:
        err("client_name", "client name longer than 200 characters")

    dates: dict[str, date] = {}
    for col in ("issue_date", "due_date"):
        try:
            dates[col] = parse_date(_cell(row, index, col))
        except ValueError as exc:
            err(col, str(exc))
    if len(dates) == 2 and dates["due_date"] < dates["issue_date"]:
        err("due_date", f"due date {dates['due_date']:%d/%m/%Y} is before issue date {dates['issue_date']:%d/%m/%Y}")

    amount: Decimal | None = None
    try:
        amount = parse_amount(_cell(row, index, "amount"))
        if amount <= 0:
            err("amount", "amount must be greater than 0")
        elif amount >= MAX_AMOUNT:
            err("amount", "amount too large (must be below 100 000 000)")
    except ValueError as exc:
        err("amount", str(exc))

    paid: Decimal | None = None
    raw_paid = _cell(row, index, "paid_amount")
    if raw_paid:
        try:
            paid = parse_amount(raw_paid)
            if amount is not None and paid > amount:
                err("paid_amount", f"paid amount {paid} is greater than the invoice amount {amount}")
        except ValueError as exc:
            err("paid_amount", str(exc))

    currency = _cell(row, index, "currency").upper() or "EUR"
    if currency == "€":
        currency = "EUR"
    if currency not in CURRENCIES:
        err("currency", f"unsupported currency {currency!r} (only EUR)")

    client = ParsedClient(client_name, line)
    raw_email = _cell(row, index, "client_email")
    if raw_email:
        try:
            client.emails = _parse_emails(raw_email)
        except ValueError as exc:
            err("client_email", str(exc))
    raw_phone = _cell(row, index, "client_phone")
    if raw_phone:
        if _PHONE.fullmatch(raw_phone):
            client.phone = raw_phone
        else:
            err("client_phone", f"'{raw_phone}' is not a phone number")
    raw_lang = _cell(row, index, "client_language").lower()
    if raw_lang:
        if raw_lang in LANGUAGES:
            client.language = raw_lang
        else:
            err("client_language", f"unknown language {raw_lang!r} (expected fr or en)")
    raw_profile = normalize_header(_cell(row, index, "client_profile"))
    if raw_profile:
        if raw_profile in PROFILES:
            client.profile = raw_profile
        else:
            err("client_profile", f"unknown profile {raw_profile!r} (expected one of {', '.join(sorted(PROFILES))})")

    if client_name and len(errors) == n_before:
        known = clients.get(client_name)
        if known is None:
            clients[client_name] = client
        else:
            for attr, col in (
                ("emails", "client_email"),
                ("phone", "client_phone"),
                ("language", "client_language"),
                ("profile", "client_profile"),
            ):
                new, old = getattr(client, attr), getattr(known, attr)
                if new is None:
                    continue
                if old is None:
                    setattr(known, attr, new)
                elif old != new:
                    err(col, f"{client_name!r} has a different {col} on line {known.line} ({old!r})")

    if len(errors) == n_before and amount is not None:
        result.invoices.append(
            ParsedInvoice(line, number, client_name, dates["issue_date"], dates["due_date"], amount, currency, paid)
        )


# ---------------------------------------------------------------------------------------------------------------
# Database step


def import_csv(
    engine: Engine,
    *,
    business_id: int,
    path_or_bytes: str | Path | bytes,
    filename: str | None = None,
    dry_run: bool = False,
    actor: str = "cli",
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportReport:
    """Parse the file, then create or update its clients and invoices in one transaction (nothing on any error).

    Re-importing the same file changes nothing. With `today`, an increase of paid_amount on an existing invoice
    is also recorded as a Payment dated `today` (so "recovered this month" sees it). The import is logged in the
    evidence log (kind "import"), except in a dry run.
    """
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
        name = filename or "upload.csv"
    else:
        path = Path(path_or_bytes)
        name = filename or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            report = ImportReport(name, "", dry_run=dry_run)
            report.errors.append(RowError(0, "", f"cannot read the file: {exc.strerror or exc}"))
            return report
    report = ImportReport(name, hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    parsed = parse_csv(data, progress=progress)
    del data
    if parsed.errors:
        report.errors = parsed.errors
        return report
    report.rows = len(parsed.invoices)
    with write_session(engine) as session:
        conn = session.connection()
        _apply(conn, parsed, report, business_id=business_id, dry_run=dry_run, progress=progress, today=today)
        if not dry_run:
            from storage import evidence

            evidence.record(
                session,
                actor=actor,
                kind="import",
                business_id=business_id,
                payload={
                    "file": name,
                    "sha256": report.sha256,
                    "rows": report.rows,
                    "clients_created": report.clients_created,
                    "clients_updated": report.clients_updated,
                    "created": report.invoices_created,
                    "updated": report.invoices_updated,
                },
            )
        else:
            session.rollback()
    return report


def _apply(
    conn: Connection,
    parsed: ParseResult,
    report: ImportReport,
    *,
    business_id: int,
    dry_run: bool,
    progress: Progress | None,
    today: date | None,
) -> None:
    now = utcnow()
    ct = Client.__table__  # type: ignore[attr-defined]
    it = Invoice.__table__  # type: ignore[attr-defined]
    pt = Payment.__table__  # type: ignore[attr-defined]

    # Clients: one query loads them all, then new ones are inserted and changed ones updated in batches.
    existing_clients = {
        r.name: r
        for r in conn.execute(
            select(ct.c.id, ct.c.name, ct.c.emails, ct.c.phone, ct.c.language, ct.c.profile).where(
                ct.c.business_id == business_id
            )
        )
    }
    new_clients: list[dict[str, object]] = []
    changed_clients: list[dict[str, object]] = []
    for pc in parsed.clients.values():
        old = existing_clients.get(pc.name)
        if old is None:
            new_clients.append(
                {
                    "business_id": business_id,
                    "name": pc.name,
                    "emails": pc.emails or "",
                    "phone": pc.phone or "",
                    "language": pc.language or "fr",
                    "profile": pc.profile or ClientProfile.STANDARD.value,
                    "is_consumer": False,
                    "notes": "",
                    "created_at": now,
                }
            )
            continue
        values = {
            "emails": pc.emails if pc.emails is not None else old.emails,
            "phone": pc.phone if pc.phone is not None else old.phone,
            "language": pc.language if pc.language is not None else old.language,
            "profile": pc.profile if pc.profile is not None else old.profile,
        }
        if any(values[k] != getattr(old, k) for k in values):
            changed_clients.append({"b_id": old.id, **values})
    report.clients_created = len(new_clients)
    report.clients_updated = len(changed_clients)

    existing_invoices = {
        r.number: r
        for r in conn.execute(
            select(
                it.c.id,
                it.c.number,
                it.c.client_id,
                it.c.issue_date,
                it.c.due_date,
                it.c.amount,
                it.c.currency,
                it.c.amount_paid,
                it.c.state,
            ).where(it.c.business_id == business_id)
        )
    }
    if not dry_run:
        for chunk in _chunks(new_clients):
            conn.execute(insert(ct), chunk)
        if changed_clients:
            stmt = (
                update(ct)
                .where(ct.c.id == bindparam("b_id"))
                .values(
                    emails=bindparam("emails"),
                    phone=bindparam("phone"),
                    language=bindparam("language"),
                    profile=bindparam("profile"),
                )
            )
            for chunk in _chunks(changed_clients):
                conn.execute(stmt, chunk)
        client_ids: dict[str, int] = {
            r.name: r.id for r in conn.execute(select(ct.c.id, ct.c.name).where(ct.c.business_id == business_id))
        }
    else:
        client_ids = {name: r.id for name, r in existing_clients.items()}
        client_ids.update({str(c["name"]): -1 for c in new_clients})

    new_invoices: list[dict[str, object]] = []
    changed_invoices: list[dict[str, object]] = []
    payments: list[dict[str, object]] = []
    total = len(parsed.invoices)
    for done, inv in enumerate(parsed.invoices, start=1):
        if progress is not None and done % 5000 == 0:
            progress("write", done, total)
        client_id = client_ids[inv.client_name]
        prev = existing_invoices.get(inv.number)
        if prev is None:
            paid = inv.paid_amount or Decimal("0.00")
            new_invoices.append(
                {
                    "business_id": business_id,
                    "client_id": client_id,
                    "number": inv.number,
                    "issue_date": inv.issue_date,
                    "due_date": inv.due_date,
                    "amount": inv.amount,
                    "currency": inv.currency,
                    "amount_paid": paid,
                    "state": InvoiceState.PAID.value if paid >= inv.amount else InvoiceState.OPEN.value,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        paid = inv.paid_amount if inv.paid_amount is not None else prev.amount_paid
        state = prev.state
        if paid >= inv.amount and state in (InvoiceState.OPEN, InvoiceState.PROMISED):
            state = InvoiceState.PAID.value
        elif paid < inv.amount and state == InvoiceState.PAID:
            state = InvoiceState.OPEN.value
        values = {
            "client_id": client_id,
            "issue_date": inv.issue_date,
            "due_date": inv.due_date,
            "amount": inv.amount,
            "currency": inv.currency,
            "amount_paid": paid,
            "state": state,
        }
        if all(values[k] == getattr(prev, k) for k in values):
            report.invoices_unchanged += 1
            continue
        changed_invoices.append({"b_id": prev.id, **values, "updated_at": now})
        if today is not None and paid > prev.amount_paid:
            payments.append(
                {
                    "invoice_id": prev.id,
                    "amount": paid - prev.amount_paid,
                    "paid_on": today,
                    "note": "import",
                    "created_at": now,
                }
            )
    report.invoices_created = len(new_invoices)
    report.invoices_updated = len(changed_invoices)
    report.payments_recorded = len(payments)
    if progress is not None:
        progress("write", total, total)
    if dry_run:
        return
    for chunk in _chunks(new_invoices):
        conn.execute(insert(it), chunk)
    if changed_invoices:
        stmt = (
            update(it)
            .where(it.c.id == bindparam("b_id"))
            .values(**{k: bindparam(k) for k in changed_invoices[0] if k != "b_id"})
        )
        for chunk in _chunks(changed_invoices):
            conn.execute(stmt, chunk)
    for chunk in _chunks(payments):
        conn.execute(insert(pt), chunk)


def _chunks(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def format_errors(errors: list[RowError], limit: int = 200) -> list[str]:
    """The errors as lines for a human, at most `limit` of them plus a count of the rest."""
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more error(s)")
    return lines
