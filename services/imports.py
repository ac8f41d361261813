"""Invoice import from the canonical CSV: reading, parsing and validating the file (chat-free), then one
all-or-nothing write through `storage.importer`.

Canonical columns (header names are case-insensitive; spaces and hyphens count as underscores; any order):

required  invoice_number, client_name, issue_date, due_date, amount
optional  client_email, client_phone, client_address (postal address, lines separated by newlines or " / "),
          client_language (fr|en), client_profile (standard|loyal|late_payer|key_account|in_difficulty),
          client_type (business|consumer, also entreprise|particulier), contractual_rate (percent, 12,5 or 12.5),
          currency (EUR only), paid_amount, invoice_pdf (the invoice's PDF: a path relative to the CSV file, or
          absolute; not from the chat)

A blank optional cell means "not given": a new client or invoice gets the default, an existing one keeps its value.
The file is read as UTF-8 (with or without BOM) or, failing that, CP1252; the delimiter is `,`, `;` or a tab,
sniffed from the header line. Amounts accept a decimal comma or point and thousands separators (`1 234,56`,
`1.234,56`, `1,234.56`, non-breaking spaces); dates `dd/mm/yyyy` (also `-` or `.`) and ISO `yyyy-mm-dd`.
Invisible characters (BOM, zero-width spaces) are removed from names and e-mail addresses, and every address
passes `messages.addresses.normalize_email`. Client names that differ only by case, quotes or spaces are one
client. Any error anywhere means nothing is written; every error is reported with its line, column and reason.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine

from dunning.penalties import MIN_LEGAL_MULTIPLE, RateTable, half_year_of
from dunning.states import ClientProfile
from messages.addresses import InvalidAddressError, normalize_email, strip_invisible
from storage.importer import ImportCounts, ImportedClient, Progress, write_import
from storage.names import client_name_key

REQUIRED_COLUMNS = ("invoice_number", "client_name", "issue_date", "due_date", "amount")
OPTIONAL_COLUMNS = (
    "client_email",
    "client_phone",
    "client_address",
    "client_language",
    "client_profile",
    "client_type",
    "contractual_rate",
    "currency",
    "paid_amount",
    "invoice_pdf",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Amounts must be strictly below this (a typo guard: nobody chases a hundred-million-euro invoice with a bot).
MAX_AMOUNT = Decimal("100000000.00")
CURRENCIES = frozenset({"EUR"})
LANGUAGES = frozenset({"fr", "en"})
PROFILES = frozenset(p.value for p in ClientProfile)
#: client_type values: True means a consumer (no 40 EUR indemnity, no commercial penalties, civil-law wording).
CLIENT_TYPES = {
    "business": False,
    "entreprise": False,
    "professionnel": False,
    "b2b": False,
    "consumer": True,
    "particulier": True,
    "b2c": True,
}
#: A contractual rate above this is a typo (the column is in percent: 12,5 means 12.5 %).
MAX_CONTRACTUAL_RATE = Decimal(100)
MIN_YEAR, MAX_YEAR = 1990, 2100
MAX_ADDRESS = 300  # characters, all lines together (it must fit the recipient block of a letter)
MAX_ADDRESS_LINES = 6
#: An invoice PDF larger than this is refused (an e-mail attachment must stay deliverable).
MAX_PDF_BYTES = 20 * 1024 * 1024
PDF_MAGIC = b"%PDF-"

_CENT = Decimal("0.01")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_FR_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_PHONE = re.compile(r"\+?[0-9 ().\-]{4,40}")
_GROUPED = re.compile(r"\d{1,3}(?:X\d{3})+")  # X stands for the thousands separator
_RATE = re.compile(r"(\d{1,3})(?:[.,](\d{1,3}))?")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


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
    "not_email": (
        "« {value} » n'est pas une adresse e-mail valide",
        "'{value}' is not a valid e-mail address ({detail})",
    ),
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
    "client_type": (
        "type de client inconnu {value} (business ou consumer, entreprise ou particulier)",
        "unknown client type {value} (expected business or consumer)",
    ),
    "not_rate": (
        "« {value} » n'est pas un taux en pourcentage (exemple : 12,5)",
        "'{value}' is not a percentage rate (e.g. 12.5)",
    ),
    "rate_range": (
        "taux contractuel {value} % hors de la plage admise (plus de 0 et au plus 100)",
        "contractual rate {value} % out of range (above 0, at most 100)",
    ),
    "rate_consumer": (
        "un taux contractuel de pénalités ne s'applique pas à un particulier (client_type consumer)",
        "a contractual penalty rate does not apply to a consumer (client_type consumer)",
    ),
    "rate_below_floor": (
        "taux contractuel {rate} % inférieur à 3 fois le taux d'intérêt légal du semestre de l'échéance "
        "{half} ({legal} %, soit {floor} % au moins) : la loi ne l'admet pas",
        "contractual rate {rate} % is below 3 times the legal interest rate of the due date's half-year "
        "{half} ({legal} %, so at least {floor} %): the law does not allow it",
    ),
    "rate_missing_half": (
        "le taux d'intérêt légal du semestre {half} (échéance de la facture) manque à la table des taux : "
        "ajoutez-le sous [legal] dans le fichier désigné par RATES_FILE, puis recommencez l'import",
        "the legal interest rate of half-year {half} (the invoice's due date) is missing from the rate table: "
        "add it under [legal] in the file named by RATES_FILE, then import again",
    ),
    "rate_no_table": (
        "aucune table des taux fournie pour vérifier le taux contractuel",
        "no rate table was given to check the contractual rate",
    ),
    "pdf_chat": (
        "la colonne invoice_pdf ne peut pas servir depuis la conversation (le bot ne voit pas vos fichiers) : "
        "videz-la, ou importez ce fichier avec « relance import » sur le serveur",
        "the invoice_pdf column cannot be used from the chat (the bot cannot see your files): empty it, or "
        "import this file with 'relance import' on the server",
    ),
    "pdf_missing": ("fichier PDF introuvable : {path}", "PDF file not found: {path}"),
    "pdf_unreadable": (
        "impossible de lire le fichier PDF {path} : {detail}",
        "cannot read the PDF file {path}: {detail}",
    ),
    "pdf_not_pdf": (
        "{path} n'est pas un fichier PDF (il ne commence pas par %PDF-)",
        "{path} is not a PDF file (it does not start with %PDF-)",
    ),
    "pdf_too_big": (
        "fichier PDF {path} trop gros ({size} Mo ; {limit} Mo au plus)",
        "PDF file {path} too large ({size} MB; {limit} MB at most)",
    ),
    "pdf_no_store": (
        "aucun dossier de données pour y copier les PDF des factures",
        "no data folder to copy the invoice PDFs into",
    ),
    "pdf_store_failed": (
        "impossible de copier le PDF dans le dossier de données : {detail}",
        "cannot copy the PDF into the data folder: {detail}",
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


@dataclass(slots=True)
class ParsedClient(ImportedClient):
    """A client as described by the file (None means "not given in the file"), with where the file said it; the
    write takes it as it is."""

    line: int = 0
    rate_line: int = 0  # the line that gave contractual_rate (where a conflict with client_type is reported)


@dataclass(slots=True)
class ParsedInvoice:
    """One valid invoice row; it is also what `storage.importer.write_import` writes (no copy per row), so it
    carries the client's name key and, once the PDF is copied, `pdf_path`."""

    line: int
    number: str
    client_name: str
    client_key: str
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    paid_amount: Decimal | None
    pdf: PdfFile | None = None
    pdf_path: str | None = None

    @property
    def pdf_sha256(self) -> str | None:
        """The SHA-256 of the invoice PDF named by the file, if any."""
        return self.pdf.sha256 if self.pdf is not None else None


@dataclass(frozen=True, slots=True)
class PdfFile:
    """An invoice PDF named by the file, checked (exists, starts with %PDF-, under the size cap) and hashed."""

    source: Path
    sha256: str
    size: int


@dataclass
class ParseResult:
    """The outcome of parsing: valid rows, or errors (never both used: any error voids the import)."""

    invoices: list[ParsedInvoice] = field(default_factory=list)
    clients: dict[str, ParsedClient] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    delimiter: str = ","
    encoding: str = "utf-8"
    #: client name key -> the name as first written in the file (one client however it is spelled)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the file has no error."""
        return not self.errors


@dataclass(kw_only=True)
class ImportReport(ImportCounts):
    """What an import did (or, with dry_run or errors, would have done / why it did nothing): the counts of the
    write plus the file and its errors."""

    filename: str
    sha256: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when the file was valid (and, unless dry_run, written)."""
        return not self.errors


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


@lru_cache(maxsize=8192)
def _parse_emails(raw: str) -> str:
    """The cell's addresses, each through the one address check, comma-separated; ValueError with a reason.

    Cached: a client's address is repeated on each of its invoices, and the check is the costly part of a row.
    """
    parts = [p for p in re.split(r"[,;\s]+", strip_invisible(raw).strip()) if p]
    addresses = []
    for part in parts:
        try:
            addresses.append(normalize_email(part))
        except InvalidAddressError as exc:
            raise ValueError(message("not_email", value=exc.address, detail=exc.reason)) from None
    value = ",".join(dict.fromkeys(addresses))  # the same address twice is kept once
    if len(value) > 1000:
        raise ValueError(message("emails_too_long"))
    return value


def parse_rate(raw: str) -> Decimal:
    """A contractual rate in percent (`12,5`, `12.5`, `12,5 %`); ValueError with a reason."""
    text = strip_invisible(raw).strip().removesuffix("%").strip()
    m = _RATE.fullmatch(text)
    if not m:
        raise ValueError(message("not_rate", value=raw.strip()))
    value = Decimal(f"{m[1]}.{m[2] or '0'}")
    if not 0 < value <= MAX_CONTRACTUAL_RATE:
        raise ValueError(message("rate_range", value=_percent(value)))
    return value


def _percent(value: Decimal) -> str:
    """12.500 -> "12,5" (French notation, no useless zeros)."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",")


def check_pdf(raw: str, base: Path) -> PdfFile:
    """The invoice PDF named by a cell (relative to `base`, or absolute), checked and hashed; ValueError else.

    Read in chunks: the file is hashed, never held whole in memory, and reading stops at the size cap.
    """
    shown = raw.strip()
    path = Path(shown).expanduser()
    if not path.is_absolute():
        path = base / path
    try:
        if not path.is_file():
            raise ValueError(message("pdf_missing", path=shown))
        size = path.stat().st_size
        if size > MAX_PDF_BYTES:
            raise ValueError(message("pdf_too_big", path=shown, size=_mb(size), limit=_mb(MAX_PDF_BYTES)))
        digest = hashlib.sha256()
        read = 0
        with path.open("rb") as f:
            first = f.read(len(PDF_MAGIC))
            if first != PDF_MAGIC:
                raise ValueError(message("pdf_not_pdf", path=shown))
            digest.update(first)
            read = len(first)
            while chunk := f.read(1 << 20):
                read += len(chunk)
                if read > MAX_PDF_BYTES:  # the file grew since stat()
                    raise ValueError(message("pdf_too_big", path=shown, size=_mb(read), limit=_mb(MAX_PDF_BYTES)))
                digest.update(chunk)
    except OSError as exc:
        raise ValueError(message("pdf_unreadable", path=shown, detail=exc.strerror or exc)) from None
    return PdfFile(path.resolve(), digest.hexdigest(), read)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",").removesuffix(",0")


def parse_csv(
    data: bytes,
    *,
    progress: Progress | None = None,
    rate_table: RateTable | None = None,
    pdf_base: Path | None = None,
) -> ParseResult:
    """Parse and validate the whole file; never touches the database.

    `rate_table` checks contractual rates against the legal floor; `pdf_base` is the folder that relative
    `invoice_pdf` paths are read from (the CSV file's folder). Without it (a file sent in the chat) the column
    may only be empty: the bot cannot see the sender's files, and reading paths of the server on a chat user's
    say-so would let a message pick which server file is mailed to a client.
    """
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
    pdfs: dict[str, PdfFile] = {}  # one check per file, however many rows name it
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
        _parse_row(row, index, start, result, first_seen, clients, pdf_base, pdfs)
    if progress is not None:
        progress("parse", total, total)
    if row_count == 0 and not errors:
        errors.append(RowError(header_line, "", message("no_rows")))
    if not errors:
        _check_rates(result, rate_table)
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


@lru_cache(maxsize=8192)
def _clean_name(raw: str) -> tuple[str, str]:
    """A client name as stored (invisible characters removed, spaces collapsed) and its matching key."""
    name = " ".join(strip_invisible(raw).split())
    return name, client_name_key(name)


_CLIENT_FIELDS = (
    ("emails", "client_email"),
    ("phone", "client_phone"),
    ("address", "client_address"),
    ("language", "client_language"),
    ("profile", "client_profile"),
    ("is_consumer", "client_type"),
    ("contractual_rate", "contractual_rate"),
)


def _parse_row(
    row: list[str],
    index: dict[str, int],
    line: int,
    result: ParseResult,
    first_seen: dict[str, int],
    clients: dict[str, ParsedClient],
    pdf_base: Path | None,
    pdfs: dict[str, PdfFile],
) -> None:
    errors = result.errors
    n_before = len(errors)
    # One pass over the columns the file has; a column it lacks reads as an empty cell.
    cells = {name: row[i].strip() for name, i in index.items()}

    def err(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    number = cells.get("invoice_number", "")
    if not number:
        err("invoice_number", message("no_number"))
    elif len(number) > 64:
        err("invoice_number", message("long_number"))
    elif number in first_seen:
        err("invoice_number", message("duplicate", value=repr(number), first=first_seen[number]))
    else:
        first_seen[number] = line

    client_name, client_key = _clean_name(cells.get("client_name", ""))
    if not client_key:
        err("client_name", message("no_client"))
    elif len(client_name) > 200:
        err("client_name", message("long_client"))

    dates: dict[str, date] = {}
    for col in ("issue_date", "due_date"):
        try:
            dates[col] = parse_date(cells.get(col, ""))
        except ValueError as exc:
            err(col, str(exc))
    if len(dates) == 2 and dates["due_date"] < dates["issue_date"]:
        err(
            "due_date",
            message("due_before_issue", due=f"{dates['due_date']:%d/%m/%Y}", issue=f"{dates['issue_date']:%d/%m/%Y}"),
        )

    amount: Decimal | None = None
    try:
        amount = parse_amount(cells.get("amount", ""))
        if amount <= 0:
            err("amount", message("zero"))
        elif amount >= MAX_AMOUNT:
            err("amount", message("too_large"))
    except ValueError as exc:
        err("amount", str(exc))

    paid: Decimal | None = None
    raw_paid = cells.get("paid_amount", "")
    if raw_paid:
        try:
            paid = parse_amount(raw_paid)
            if amount is not None and paid > amount:
                err("paid_amount", message("overpaid", paid=paid, amount=amount))
        except ValueError as exc:
            err("paid_amount", str(exc))

    currency = cells.get("currency", "").upper() or "EUR"
    if currency == "€":
        currency = "EUR"
    if currency not in CURRENCIES:
        err("currency", message("currency", value=repr(currency)))

    pdf: PdfFile | None = None
    raw_pdf = cells.get("invoice_pdf", "")
    if raw_pdf:
        if pdf_base is None:
            err("invoice_pdf", message("pdf_chat"))
        else:
            pdf = pdfs.get(raw_pdf)
            if pdf is None:
                try:
                    pdf = pdfs[raw_pdf] = check_pdf(raw_pdf, pdf_base)
                except ValueError as exc:
                    err("invoice_pdf", str(exc))

    client = ParsedClient(client_key, client_name, line=line)
    raw_email = cells.get("client_email", "")
    if raw_email:
        try:
            client.emails = _parse_emails(raw_email)
        except ValueError as exc:
            err("client_email", str(exc))
    raw_phone = cells.get("client_phone", "")
    if raw_phone:
        if _PHONE.fullmatch(raw_phone):
            client.phone = raw_phone
        else:
            err("client_phone", message("phone", value=raw_phone))
    raw_address = cells.get("client_address", "")
    if raw_address:
        address = _parse_address(raw_address)
        if address is None:
            err("client_address", message("address", limit=MAX_ADDRESS))
        else:
            client.address = address
    raw_lang = cells.get("client_language", "").lower()
    if raw_lang:
        if raw_lang in LANGUAGES:
            client.language = raw_lang
        else:
            err("client_language", message("language", value=repr(raw_lang)))
    raw_profile = normalize_header(cells.get("client_profile", ""))
    if raw_profile:
        if raw_profile in PROFILES:
            client.profile = raw_profile
        else:
            err("client_profile", message("profile", value=repr(raw_profile), expected=", ".join(sorted(PROFILES))))
    raw_type = cells.get("client_type", "").lower()
    if raw_type:
        if raw_type in CLIENT_TYPES:
            client.is_consumer = CLIENT_TYPES[raw_type]
        else:
            err("client_type", message("client_type", value=repr(raw_type)))
    raw_rate = cells.get("contractual_rate", "")
    if raw_rate:
        try:
            client.contractual_rate = parse_rate(raw_rate)
            client.rate_line = line
        except ValueError as exc:
            err("contractual_rate", str(exc))

    if client_key and len(errors) == n_before:
        first_name = result.names.get(client_key)
        known = clients.get(first_name) if first_name is not None else None
        if known is None:
            result.names[client_key] = client_name
            clients[client_name] = client
        else:
            client_name = known.name  # one client however the file spells it, and one string per client
            for attr, col in _CLIENT_FIELDS:
                new, old = getattr(client, attr), getattr(known, attr)
                if new is None:
                    continue
                if old is None:
                    setattr(known, attr, new)
                    if attr == "contractual_rate":
                        known.rate_line = line
                elif old != new:
                    shown = _percent(old) if attr == "contractual_rate" else old
                    err(
                        col,
                        message(
                            "client_conflict", client=repr(client_name), column=col, first=known.line, old=repr(shown)
                        ),
                    )

    if len(errors) == n_before and amount is not None:
        result.invoices.append(
            ParsedInvoice(
                line,
                number,
                client_name,
                client_key,
                dates["issue_date"],
                dates["due_date"],
                amount,
                currency,
                paid,
                pdf,
            )
        )


def _check_rates(result: ParseResult, rate_table: RateTable | None) -> None:
    """A contractual rate must be at least 3 times the legal interest rate of each invoice's due half-year.

    Checked once the whole file is read: the rate is the client's, so it may sit on another row than the
    invoice it is applied to. A half-year missing from the table is an error naming it, never a guess.
    """
    errors = result.errors
    rated = {name: c for name, c in result.clients.items() if c.contractual_rate is not None}
    for c in rated.values():
        if c.is_consumer:
            errors.append(RowError(c.rate_line, "contractual_rate", message("rate_consumer")))
    if not rated:
        return
    for inv in result.invoices:
        client = rated.get(inv.client_name)
        if client is None or client.is_consumer or client.contractual_rate is None:
            continue
        rate = client.contractual_rate
        if rate_table is None:
            errors.append(RowError(inv.line, "contractual_rate", message("rate_no_table")))
            continue
        half = half_year_of(inv.due_date)
        legal = rate_table.legal.get(half)
        if legal is None:
            errors.append(RowError(inv.line, "contractual_rate", message("rate_missing_half", half=half)))
            continue
        floor = MIN_LEGAL_MULTIPLE * legal
        if rate < floor:
            reason = message(
                "rate_below_floor", rate=_percent(rate), half=half, legal=_percent(legal), floor=_percent(floor)
            )
            errors.append(RowError(inv.line, "contractual_rate", reason))
    errors.sort(key=lambda e: e.line)


# ---------------------------------------------------------------------------------------------------------------
# The use case: read, parse, copy the PDFs, write in one transaction


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
    rate_table: RateTable | None = None,
    pdf_base: Path | None = None,
    pdf_store: Path | None = None,
) -> ImportReport:
    """Parse the file, then create or update its clients and invoices in one transaction (nothing on any error).

    Re-importing the same file changes nothing. With `today`, an increase of paid_amount on an existing invoice
    is also recorded as a Payment dated `today` (so "recovered this month" sees it). The import is logged in the
    evidence log (kind "import"; one "invoice_pdf_attached" entry per invoice whose PDF is new), except in a dry
    run. `rate_table` checks contractual rates. Invoice PDFs are read relative to `pdf_base` (by default the
    folder of a CSV given as a path; bytes from the chat have none, so the column is refused there) and copied
    to `pdf_store`/<sha256>/<invoice number>.pdf, `pdf_store` being the business's own folder
    (DATA_DIR/invoices/<business id>).
    """
    if isinstance(path_or_bytes, bytes):
        data = path_or_bytes
        name = filename or "upload.csv"
    else:
        path = Path(path_or_bytes)
        name = filename or path.name
        if pdf_base is None:
            pdf_base = path.resolve().parent
        try:
            data = path.read_bytes()
        except OSError as exc:
            report = ImportReport(filename=name, sha256="", dry_run=dry_run)
            report.errors.append(RowError(0, "", message("unreadable", detail=exc.strerror or exc)))
            return report
    report = ImportReport(filename=name, sha256=hashlib.sha256(data).hexdigest(), dry_run=dry_run)
    parsed = parse_csv(data, progress=progress, rate_table=rate_table, pdf_base=pdf_base)
    del data
    if parsed.errors:
        report.errors = parsed.errors
        return report
    report.rows = len(parsed.invoices)
    with_pdf = [inv for inv in parsed.invoices if inv.pdf is not None]
    stored: dict[str, Path] = {}
    created: list[Path] = []
    if with_pdf and not dry_run:
        if pdf_store is None:
            report.errors.append(RowError(with_pdf[0].line, "invoice_pdf", message("pdf_no_store")))
            return report
        try:
            for inv in with_pdf:
                assert inv.pdf is not None
                stored[inv.number] = _store_pdf(inv.pdf, pdf_store, inv.number, created)
        except OSError as exc:
            _remove(created)
            report.errors.append(RowError(inv.line, "invoice_pdf", message("pdf_store_failed", detail=exc)))
            return report
    clients = list(parsed.clients.values())
    for inv in with_pdf:
        if inv.number in stored:
            inv.pdf_path = str(stored[inv.number])
    invoices = parsed.invoices
    del parsed
    try:
        counts = write_import(
            engine,
            business_id=business_id,
            clients=clients,
            invoices=invoices,
            source={"file": name, "sha256": report.sha256},
            actor=actor,
            dry_run=dry_run,
            today=today,
            progress=progress,
        )
    except BaseException:
        _remove(created)  # nothing written: leave no file that no invoice names
        raise
    return replace(report, **asdict(counts))


def _store_pdf(pdf: PdfFile, folder: Path, number: str, created: list[Path]) -> Path:
    """Copy an invoice PDF to folder/<sha256>/<invoice number>.pdf (kept if already there); the absolute path.

    The file keeps the invoice number as its name because that is the name of the attachment the client
    receives and of the file in the court dossier; the folder named by the hash makes a changed PDF a new file,
    so an e-mail already sent keeps pointing to the bytes it carried.
    """
    target = (folder / pdf.sha256 / f"{_SAFE_NAME.sub('_', number).strip('._') or 'facture'}.pdf").resolve()
    if target.is_file() and target.stat().st_size == pdf.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".import-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as out, pdf.source.open("rb") as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != pdf.sha256:
            raise OSError(f"{pdf.source} changed while it was being imported")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    created.append(target)
    return target


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # the hash folder, when nothing else is in it


def format_errors(errors: list[RowError], limit: int = 200) -> list[str]:
    """The errors as lines for a human, at most `limit` of them plus a count of the rest."""
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(message("more_errors", count=len(errors) - limit))
    return lines
