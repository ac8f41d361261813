"""Invoice import from the canonical CSV: a pure parsing step, then one all-or-nothing bulk write.

Canonical columns (header names are case-insensitive; spaces and hyphens count as underscores; any order):

required  invoice_number, client_name, issue_date, due_date, amount
optional  client_email, client_phone, client_address (postal address, lines separated by newlines or " / "),
          client_language (fr|en), client_profile (standard|loyal|late_payer|key_account|in_difficulty),
          currency (EUR only), paid_amount

A blank optional cell means "not given": a new client or invoice gets the default, an existing one keeps its value.
The file is read as UTF-8 (with or without BOM) or, failing that, CP1252; the delimiter is `,`, `;` or a tab,
sniffed from the header line. Amounts accept a decimal comma or point and thousands separators (`1 234,56`,
`1.234,56`, `1,234.56`, non-breaking spaces); dates `dd/mm/yyyy` (also `-` or `.`) and ISO `yyyy-mm-dd`.
Any error anywhere means nothing is written; every error is reported with its line, column and reason.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, Executable, bindparam, insert, select, update

from dunning.states import ClientProfile, InvoiceState
from storage.db import write_session
from storage.models import Client, Invoice, Payment
from storage.types import utcnow

REQUIRED_COLUMNS = ("invoice_number", "client_name", "issue_date", "due_date", "amount")
OPTIONAL_COLUMNS = (
    "client_email",
    "client_phone",
    "client_address",
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
MAX_ADDRESS = 300  # characters, all lines together (it must fit the recipient block of a letter)
MAX_ADDRESS_LINES = 6
BATCH = 5000

_CENT = Decimal("0.01")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_FR_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")
_PHONE = re.compile(r"\+?[0-9 ().\-]{4,40}")
_GROUPED = re.compile(r"\d{1,3}(?:X\d{3})+")  # X stands for the thousands separator


#: What the owner reads about a refused file: (French, English) per reason; both are shown, French first.
MESSAGES: dict[str, tuple[str, str]] = {
    "binary": (
        "le fichier n'est pas un fichier CSV texte (contenu binaire)",
        "the file is not a CSV text file (binary content)",
    ),
    "bad_bom": (
        "le fichier commence par une marque UTF-8 mais n'est pas en UTF-8 valide ({detail})",
        "the file starts with a UTF-8 mark but is not valid UTF-8 ({detail})",
    ),
    "encoding": (
        "le fichier n'est ni en UTF-8 ni en CP1252 (contenu binaire ?)",
        "the file is neither UTF-8 nor CP1252 text (binary content?)",
    ),
    "empty_amount": ("montant vide", "empty amount"),
    "not_amount": ("« {value} » n'est pas un montant", "'{value}' is not an amount"),
    "separators": (
        "« {value} » : séparateurs de milliers et de décimales incohérents",
        "'{value}': inconsistent thousands/decimal separators",
    ),
    "decimals": ("« {value} » : plus de 2 décimales", "'{value}': more than 2 decimal places"),
    "negative": ("montant négatif ({value})", "negative amount ({value})"),
    "empty_date": ("date vide", "empty date"),
    "not_date": (
        "« {value} » n'est pas une date (attendu jj/mm/aaaa ou aaaa-mm-jj)",
        "'{value}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)",
    ),
    "bad_date": ("« {value} » n'est pas une date valide du calendrier", "'{value}' is not a valid calendar date"),
    "year": ("« {value} » : année hors de la plage {low}-{high}", "'{value}': year out of range {low}-{high}"),
    "not_email": ("« {value} » n'est pas une adresse e-mail", "'{value}' is not an e-mail address"),
    "emails_too_long": (
        "trop d'adresses e-mail (1000 caractères au plus)",
        "too many e-mail addresses (1000 characters at most)",
    ),
    "empty_file": ("le fichier est vide", "the file is empty"),
    "bad_header": ("en-tête CSV mal formé : {detail}", "malformed CSV header: {detail}"),
    "unknown_columns": (
        "colonne(s) inconnue(s) {names} ; colonnes possibles : {expected}",
        "unknown column(s) {names}; expected columns: {expected}",
    ),
    "twice": ("colonne présente deux fois", "column given twice"),
    "missing_columns": ("colonne(s) obligatoire(s) manquante(s) : {names}", "missing required column(s): {names}"),
    "bad_csv_row": ("ligne CSV mal formée : {detail}", "malformed CSV row: {detail}"),
    "width": (
        "ligne mal formée : {width} champs attendus, {found} trouvés",
        "malformed row: expected {width} fields, found {found}",
    ),
    "no_rows": ("le fichier a un en-tête mais aucune facture", "the file has a header but no invoice rows"),
    "no_number": ("numéro de facture manquant", "missing invoice number"),
    "long_number": ("numéro de facture de plus de 64 caractères", "invoice number longer than 64 characters"),
    "duplicate": (
        "numéro de facture {value} en double (déjà présent ligne {first})",
        "duplicate invoice number {value} (first seen on line {first})",
    ),
    "no_client": ("nom du client manquant", "missing client name"),
    "long_client": ("nom du client de plus de 200 caractères", "client name longer than 200 characters"),
    "due_before_issue": (
        "échéance {due} antérieure à la date de facture {issue}",
        "due date {due} is before issue date {issue}",
    ),
    "zero": ("le montant doit être supérieur à 0", "amount must be greater than 0"),
    "too_large": (
        "montant trop élevé (il doit être inférieur à 100 000 000)",
        "amount too large (must be below 100 000 000)",
    ),
    "overpaid": (
        "montant payé {paid} supérieur au montant de la facture {amount}",
        "paid amount {paid} is greater than the invoice amount {amount}",
    ),
    "currency": ("devise non prise en charge {value} (EUR uniquement)", "unsupported currency {value} (only EUR)"),
    "address": (
        "adresse postale trop longue ou de plus de 6 lignes ({limit} caractères au plus)",
        "postal address too long or over 6 lines ({limit} characters at most)",
    ),
    "phone": ("« {value} » n'est pas un numéro de téléphone", "'{value}' is not a phone number"),
    "language": ("langue inconnue {value} (fr ou en)", "unknown language {value} (expected fr or en)"),
    "profile": (
        "profil inconnu {value} (attendu : {expected})",
        "unknown profile {value} (expected one of {expected})",
    ),
    "client_conflict": (
        "{client} a une autre valeur de {column} à la ligne {first} ({old})",
        "{client} has a different {column} on line {first} ({old})",
    ),
    "unreadable": ("impossible de lire le fichier : {detail}", "cannot read the file: {detail}"),
    "more_errors": ("... et {count} autre(s) erreur(s)", "... and {count} more error(s)"),
}


def message(code: str, **values: object) -> str:
    """The reason `code` in French then English, e.g. "date vide / empty date"."""
    french, english = MESSAGES[code]
    return f"{french.format(**values)} / {english.format(**values)}"


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in the file: 1-based physical line, column name ("" when it is about the whole line), and the
    reason, French first then English ("montant négatif (-5) / negative amount (-5)")."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"ligne {self.line}" + (f", colonne {self.column}" if self.column else "")
        return f"{where} : {self.reason}"


# The name used in the issue; kept as an alias (shadowing the builtin only inside modules that import it).
ImportError = RowError


@dataclass(slots=True)
class ParsedClient:
    """A client as described by the file; None means "not given in the file"."""

    name: str
    line: int
    emails: str | None = None
    phone: str | None = None
    address: str | None = None
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
        raise ValueError(message("binary"))
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise ValueError(message("bad_bom", detail=exc.reason)) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise ValueError(message("encoding")) from None
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
        raise ValueError(message("empty_amount"))
    text = re.sub(r"(?i)\s*(€|eur)$", "", text)
    text = re.sub(r"^(?i:€|eur)\s*", "", text)
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("()").lstrip("+-")
    text = _SPACES.sub("", text)
    if not text or not re.fullmatch(r"[\d.,]+", text) or not text[0].isdigit() or not text[-1].isdigit():
        raise ValueError(message("not_amount", value=raw.strip()))
    integer, decimals = text, ""
    if "," in text and "." in text:
        dec_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thou_sep = "." if dec_sep == "," else ","
        integer, _, decimals = text.rpartition(dec_sep)
        if dec_sep in integer or not _GROUPED.fullmatch(integer.replace(thou_sep, "X")):
            raise ValueError(message("separators", value=raw.strip()))
        integer = integer.replace(thou_sep, "")
    elif "," in text or "." in text:
        sep = "," if "," in text else "."
        parts = text.split(sep)
        if len(parts) == 2 and 1 <= len(parts[1]) <= 2:
            integer, decimals = parts
        elif all(len(p) == 3 for p in parts[1:]) and 1 <= len(parts[0]) <= 3:
            integer = "".join(parts)
        elif len(parts) == 2:
            raise ValueError(message("decimals", value=raw.strip()))
        else:
            raise ValueError(message("separators", value=raw.strip()))
    if len(decimals) > 2:
        raise ValueError(message("decimals", value=raw.strip()))
    try:
        value = Decimal(f"{integer}.{decimals or '0'}").quantize(_CENT)
    except InvalidOperation:
        raise ValueError(message("not_amount", value=raw.strip())) from None
    if negative and value != 0:
        raise ValueError(message("negative", value=raw.strip()))
    return value


@lru_cache(maxsize=8192)
def parse_date(raw: str) -> date:
    """Parse `dd/mm/yyyy` (also with `-` or `.`) or ISO `yyyy-mm-dd`; raise ValueError with a reason."""
    text = raw.strip()
    if not text:
        raise ValueError(message("empty_date"))
    m = _ISO_DATE.fullmatch(text)
    if m:
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _FR_DATE.fullmatch(text)
        if not m:
            raise ValueError(message("not_date", value=text))
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(message("bad_date", value=text)) from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(message("year", value=text, low=MIN_YEAR, high=MAX_YEAR))
    return value


def _parse_address(raw: str) -> str | None:
    """A postal address as lines (newlines or " / " separate them); None when too long for a letter."""
    lines = [part.strip() for part in re.split(r"\r?\n|\s/\s", raw) if part.strip()]
    text = "\n".join(lines)
    if len(text) > MAX_ADDRESS or len(lines) > MAX_ADDRESS_LINES:
        return None
    return text


def _parse_emails(raw: str) -> str:
    parts = [p for p in re.split(r"[,;\s]+", raw.strip()) if p]
    for part in parts:
        if not _EMAIL.fullmatch(part):
            raise ValueError(message("not_email", value=part))
    value = ",".join(parts)
    if len(value) > 1000:
        raise ValueError(message("emails_too_long"))
    return value


def parse_csv(data: bytes, *, progress: Progress | None = None) -> ParseResult:
    """Parse and validate the whole file; never touches the database."""
    result = ParseResult()
    errors = result.errors
    if not data.strip():
        errors.append(RowError(1, "", message("empty_file")))
        return result
    try:
        text, result.encoding = decode(data)
    except ValueError as exc:
        errors.append(RowError(1, "", str(exc)))
        return result
    if _looks_binary(text):
        errors.append(RowError(1, "", message("binary")))
        return result
    begin = 0
    while begin < len(text) and text[begin] in "\r\n":
        begin += 1
    newline = text.find("\n", begin)
    first_line = text[begin : newline if newline >= 0 else len(text)]  # no copy of the whole file
    result.delimiter = delimiter = sniff_delimiter(first_line)
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=True)

    # Header
    header: list[str] | None = None
    try:
        while header is None:
            row = next(reader)
            if any(cell.strip() for cell in row):
                header = row
    except StopIteration:
        errors.append(RowError(1, "", message("empty_file")))
        return result
    except csv.Error as exc:
        errors.append(RowError(reader.line_num or 1, "", message("bad_header", detail=exc)))
        return result
    header_line = reader.line_num
    names = [normalize_header(h) for h in header]
    unknown = [h.strip() for h, n in zip(header, names, strict=True) if n not in COLUMNS]
    if unknown:
        listed = ", ".join(repr(u) for u in unknown)
        reason = message("unknown_columns", names=listed, expected=", ".join(COLUMNS))
        errors.append(RowError(header_line, ", ".join(unknown), reason))
    seen_cols: set[str] = set()
    for n in names:
        if n in seen_cols and n in COLUMNS:
            errors.append(RowError(header_line, n, message("twice")))
        seen_cols.add(n)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen_cols]
    if missing:
        errors.append(RowError(header_line, ", ".join(missing), message("missing_columns", names=", ".join(missing))))
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
            errors.append(RowError(start, "", message("bad_csv_row", detail=exc)))
            break  # the reader cannot resynchronise after a broken quote
        if not row or not any(cell.strip() for cell in row):
            continue
        row_count += 1
        if progress is not None and row_count % 2000 == 0:
            progress("parse", reader.line_num, total)
        if len(row) != width:
            errors.append(RowError(start, "", message("width", width=width, found=len(row))))
            continue
        _parse_row(row, index, start, result, first_seen, clients)
    if progress is not None:
        progress("parse", total, total)
    if row_count == 0 and not errors:
        errors.append(RowError(header_line, "", message("no_rows")))
    if errors:
        result.invoices.clear()
        result.clients.clear()
    return result


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, ends kept (what csv.reader expects); lighter than io.StringIO, which holds a
    4-bytes-per-character copy of the whole file."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


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
        err("invoice_number", message("no_number"))
    elif len(number) > 64:
        err("invoice_number", message("long_number"))
    elif number in first_seen:
        err("invoice_number", message("duplicate", value=repr(number), first=first_seen[number]))
    else:
        first_seen[number] = line

    client_name = " ".join(_cell(row, index, "client_name").split())
    if not client_name:
        err("client_name", message("no_client"))
    elif len(client_name) > 200:
        err("client_name", message("long_client"))

    dates: dict[str, date] = {}
    for col in ("issue_date", "due_date"):
        try:
            dates[col] = parse_date(_cell(row, index, col))
        except ValueError as exc:
            err(col, str(exc))
    if len(dates) == 2 and dates["due_date"] < dates["issue_date"]:
        err(
            "due_date",
            message("due_before_issue", due=f"{dates['due_date']:%d/%m/%Y}", issue=f"{dates['issue_date']:%d/%m/%Y}"),
        )

    amount: Decimal | None = None
    try:
        amount = parse_amount(_cell(row, index, "amount"))
        if amount <= 0:
            err("amount", message("zero"))
        elif amount >= MAX_AMOUNT:
            err("amount", message("too_large"))
    except ValueError as exc:
        err("amount", str(exc))

    paid: Decimal | None = None
    raw_paid = _cell(row, index, "paid_amount")
    if raw_paid:
        try:
            paid = parse_amount(raw_paid)
            if amount is not None and paid > amount:
                err("paid_amount", message("overpaid", paid=paid, amount=amount))
        except ValueError as exc:
            err("paid_amount", str(exc))

    currency = _cell(row, index, "currency").upper() or "EUR"
    if currency == "€":
        currency = "EUR"
    if currency not in CURRENCIES:
        err("currency", message("currency", value=repr(currency)))

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
            err("client_phone", message("phone", value=raw_phone))
    raw_address = _cell(row, index, "client_address")
    if raw_address:
        address = _parse_address(raw_address)
        if address is None:
            err("client_address", message("address", limit=MAX_ADDRESS))
        else:
            client.address = address
    raw_lang = _cell(row, index, "client_language").lower()
    if raw_lang:
        if raw_lang in LANGUAGES:
            client.language = raw_lang
        else:
            err("client_language", message("language", value=repr(raw_lang)))
    raw_profile = normalize_header(_cell(row, index, "client_profile"))
    if raw_profile:
        if raw_profile in PROFILES:
            client.profile = raw_profile
        else:
            err("client_profile", message("profile", value=repr(raw_profile), expected=", ".join(sorted(PROFILES))))

    if client_name and len(errors) == n_before:
        known = clients.get(client_name)
        if known is None:
            clients[client_name] = client
        else:
            client_name = known.name  # one string per client, not one per row
            for attr, col in (
                ("emails", "client_email"),
                ("phone", "client_phone"),
                ("address", "client_address"),
                ("language", "client_language"),
                ("profile", "client_profile"),
            ):
                new, old = getattr(client, attr), getattr(known, attr)
                if new is None:
                    continue
                if old is None:
                    setattr(known, attr, new)
                elif old != new:
                    err(
                        col,
                        message(
                            "client_conflict", client=repr(client_name), column=col, first=known.line, old=repr(old)
                        ),
                    )

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
            report.errors.append(RowError(0, "", message("unreadable", detail=exc.strerror or exc)))
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
                    "payments": report.payments_recorded,
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
            select(ct.c.id, ct.c.name, ct.c.emails, ct.c.phone, ct.c.address, ct.c.language, ct.c.profile).where(
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
                    "address": pc.address or "",
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
            "address": pc.address if pc.address is not None else old.address,
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
                    address=bindparam("address"),
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

    invoice_update = (
        update(it)
        .where(it.c.id == bindparam("b_id"))
        .values(**{k: bindparam(k) for k in _INVOICE_FIELDS}, updated_at=bindparam("updated_at"))
    )
    # Rows are written batch by batch as they are built, so memory stays flat whatever the file size.
    new_invoices = _Batch(conn, insert(it), dry_run)
    changed_invoices = _Batch(conn, invoice_update, dry_run)
    payments = _Batch(conn, insert(pt), dry_run)
    total = len(parsed.invoices)
    for done, inv in enumerate(parsed.invoices, start=1):
        if progress is not None and done % 5000 == 0:
            progress("write", done, total)
        client_id = client_ids[inv.client_name]
        prev = existing_invoices.get(inv.number)
        if prev is None:
            paid = inv.paid_amount or Decimal("0.00")
            new_invoices.add(
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
        if all(values[k] == getattr(prev, k) for k in _INVOICE_FIELDS):
            report.invoices_unchanged += 1
            continue
        changed_invoices.add({"b_id": prev.id, **values, "updated_at": now})
        if today is not None and paid > prev.amount_paid:
            payments.add(
                {
                    "invoice_id": prev.id,
                    "amount": paid - prev.amount_paid,
                    "paid_on": today,
                    "note": "import",
                    "created_at": now,
                }
            )
    report.invoices_created = new_invoices.flush()
    report.invoices_updated = changed_invoices.flush()
    report.payments_recorded = payments.flush()
    if progress is not None:
        progress("write", total, total)


_INVOICE_FIELDS = ("client_id", "issue_date", "due_date", "amount", "currency", "amount_paid", "state")


class _Batch:
    """Collects parameter rows for one statement and executes them BATCH at a time (counts only in a dry run)."""

    def __init__(self, conn: Connection, statement: Executable, dry_run: bool) -> None:
        self.conn, self.statement, self.dry_run = conn, statement, dry_run
        self.rows: list[dict[str, object]] = []
        self.count = 0

    def add(self, row: dict[str, object]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> int:
        """Write what is pending; returns the number of rows added in all."""
        if self.rows and not self.dry_run:
            self.conn.execute(self.statement, self.rows)
        self.rows = []
        return self.count


def _chunks(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    return [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]


def format_errors(errors: list[RowError], limit: int = 200) -> list[str]:
    """The errors as lines for a human, at most `limit` of them plus a count of the rest."""
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(message("more_errors", count=len(errors) - limit))
    return lines
