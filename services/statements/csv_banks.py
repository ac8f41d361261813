"""CSV exports of French banks: one profile per bank, recognised by its header row, plus a generic profile whose
columns the owner names.

Common ground: `;` separator (`,` sniffed too), decimal comma (a point is read as well), French dates (dd/mm/yyyy,
dd/mm/yy, with or without a time; ISO too), either one signed amount column or separate debit and credit columns,
UTF-8 (with or without BOM) or Windows-1252, a preamble of account lines before the header and summary lines after
the movements (both skipped; an IBAN or account number in the preamble becomes the account).

The headers below come from the banks' online exports as published by their users (bank help pages, accounting
tools' import guides, open-source importers); banks rename columns now and then, so each field lists the variants
known, compared without accents, case or extra spaces. LCL's classic export has no header row: it is recognised by
its row shape (date; signed amount; operation type; ...); its newer one has a Date/Date valeur/Libellé/Débit/Crédit
header.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from services.imports import parse_amount
from services.statements.common import StatementError, StatementLine, clean_text

GENERIC = "generic"
FIELDS = ("date", "value_date", "amount", "debit", "credit", "label", "counterparty", "reference", "currency",
          "account", "status")  # fmt: skip
_SKIPPED_STATUSES = frozenset({"pending", "declined", "reversed", "canceled", "cancelled", "en attente", "refusee",
                               "annulee", "rejetee"})  # fmt: skip
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,4})?)\b")
_ACCOUNT_WORDS = re.compile(r"(?i)compte|account|iban|n°|\bno\b|^=")
_ACCOUNT_NO = re.compile(r"(\d[\d ]{6,}\d)")
_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?!\d)")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_LCL_ROW = re.compile(r"^\d{2}/\d{2}/\d{4};[+-]?\d[\d  ]*(?:[.,]\d{1,2})?;")


@dataclass(frozen=True)
class Profile:
    """A bank's export layout: the header columns that identify it and, for each field, the column names used."""

    name: str
    label: str
    signatures: tuple[tuple[str, ...], ...]
    columns: Mapping[str, tuple[str, ...]]
    positions: Mapping[str, int] = field(default_factory=dict)  # header-less exports: field -> column index


PROFILES: tuple[Profile, ...] = (
    Profile(
        "boursorama",
        "Boursorama (BoursoBank)",
        (("dateop", "dateval", "label", "amount"),),
        {"date": ("dateop",), "value_date": ("dateval",), "amount": ("amount",), "label": ("label", "comment"),
         "account": ("accountnum",)},
    ),
    Profile(
        "caisse_epargne",
        "Caisse d'Épargne",
        (("date de comptabilisation", "libelle simplifie", "debit", "credit"),
         ("date", "numero d'operation", "libelle", "debit", "credit")),
        {"date": ("date de comptabilisation", "date"), "value_date": ("date de valeur",), "debit": ("debit",),
         "credit": ("credit",), "label": ("libelle operation", "libelle", "reference", "informations complementaires",
                                          "detail"),
         "reference": ("numero d'operation",)},
    ),
    Profile(
        "credit_agricole",
        "Crédit Agricole",
        (("date", "libelle", "debit euros", "credit euros"),),
        {"date": ("date",), "debit": ("debit euros",), "credit": ("credit euros",), "label": ("libelle",)},
    ),
    Profile(
        "bnp_paribas",
        "BNP Paribas",
        (("date operation", "libelle operation", "montant operation"),
         ("date operation", "libelle operation", "montant operation en euro")),
        {"date": ("date operation",), "amount": ("montant operation en euro", "montant operation"),
         "label": ("libelle court", "libelle operation")},
    ),
    Profile(
        "societe_generale",
        "Société Générale",
        (("date de l'operation", "libelle", "detail de l'ecriture", "montant de l'operation"),),
        {"date": ("date de l'operation",), "amount": ("montant de l'operation",),
         "label": ("libelle", "detail de l'ecriture"), "currency": ("devise",)},
    ),
    Profile(
        "lcl",
        "LCL",
        (("date", "date valeur", "libelle", "debit", "credit"),),
        {"date": ("date",), "value_date": ("date valeur",), "debit": ("debit",), "credit": ("credit",),
         "label": ("libelle",)},
        {"date": 0, "amount": 1, "label": 4},
    ),
    Profile(
        "qonto",
        "Qonto",
        (("settlement date (utc)", "total amount (incl. vat)", "counterparty name"),
         ("date de reglement (utc)", "montant total (ttc)", "nom de la contrepartie")),
        {"date": ("settlement date (utc)", "settlement date (local)", "date de reglement (utc)", "emitted date"),
         "value_date": ("value date", "operation date (utc)", "date de l'operation (utc)"),
         "amount": ("total amount (incl. vat)", "montant total (ttc)"), "currency": ("currency", "devise"),
         "counterparty": ("counterparty name", "nom de la contrepartie"), "label": ("reference",),
         "reference": ("transaction id", "id de transaction"), "status": ("status", "statut")},
    ),
    Profile(
        "shine",
        "Shine",
        (("date de la valeur", "libelle", "debit", "credit"),),
        {"date": ("date de l'operation", "date de la valeur"), "value_date": ("date de la valeur",),
         "debit": ("debit",), "credit": ("credit",), "label": ("libelle", "commentaire"),
         "counterparty": ("nom de la contrepartie",)},
    ),
)  # fmt: skip
BY_NAME = {p.name: p for p in PROFILES}


def normalize(name: str) -> str:
    """A header cell compared without accents, case, quotes, BOM or extra spaces (`Libellé ` -> `libelle`)."""
    text = unicodedata.normalize("NFKD", name.replace("\ufeff", "")).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip().strip('"').strip().lower()


def decode(data: bytes, name: str) -> str:
    """UTF-8 (BOM or not) or Windows-1252, as the banks export."""
    if b"\x00" in data[:4096]:
        raise StatementError(name, "is a binary file, not a CSV export", code="csv_binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_date(raw: str) -> date | None:
    """A French (dd/mm/yyyy, dd/mm/yy, also `-` or `.`, a time after it ignored) or ISO date; None if not one."""
    text = raw.strip()
    match = _ISO.match(text)
    if match:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    else:
        match = _DATE.match(text)
        if not match:
            return None
        day, month, year = int(match[1]), int(match[2]), int(match[3])
        year += 2000 if year < 100 else 0
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_signed(raw: str) -> Decimal | None:
    """A signed amount (`-1 234,56`, `+50,00`, `1234.5`); None for an empty cell."""
    text = raw.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not text:
        return None
    negative = text.startswith("-") or text.endswith("-")
    value = parse_amount(text.strip("+-"))
    return -value if negative else value


@dataclass(frozen=True)
class _Layout:
    profile: Profile
    index: dict[str, tuple[int, ...]]  # field -> the columns holding it, in preference order
    header_line: int  # 0 for a header-less export


def profile_of(data: bytes, name: str, *, profile: str | None = None, columns: Mapping[str, str] | None = None) -> str:
    """The name of the profile the export is read with ("generic" when the owner named the columns)."""
    return _read(data, name, profile, columns)[2].profile.name


def _read(
    data: bytes, name: str, profile: str | None, columns: Mapping[str, str] | None
) -> tuple[str, str, _Layout, list[list[str]]]:
    text = decode(data, name)
    delimiter = _delimiter(text.splitlines())
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return text, delimiter, _layout(rows, name, profile, columns), rows


def iter_lines(
    data: bytes, name: str, *, profile: str | None = None, columns: Mapping[str, str] | None = None
) -> Iterator[StatementLine]:
    """Every movement of the export (credits positive, debits negative), without line ids."""
    text, delimiter, layout, rows = _read(data, name, profile, columns)
    account = _preamble_account(rows[: max(layout.header_line - 1, 0)])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for number, row in enumerate(reader, 1):
        if number <= layout.header_line or not any(cell.strip() for cell in row):
            continue
        line = _row(row, layout, account, name, reader.line_num)
        if line is not None:
            yield line


def _delimiter(lines: list[str]) -> str:
    """`;` as French banks write, unless the file plainly uses tabs or commas (Qonto, spreadsheet re-exports)."""
    sample = "\n".join(lines[:30])
    counts = {d: sample.count(d) for d in (";", "\t", ",")}
    if counts[";"] >= len(lines[:30]) or counts[";"] >= max(counts["\t"], counts[","]):
        return ";"
    return "\t" if counts["\t"] >= counts[","] else ","


def _layout(rows: list[list[str]], name: str, wanted: str | None, columns: Mapping[str, str] | None) -> _Layout:
    if columns is not None or wanted == GENERIC:
        return _generic(rows, name, columns or {})
    if wanted is not None and wanted not in BY_NAME:
        known = ", ".join([*BY_NAME, GENERIC])
        raise StatementError(name, f"asks for an unknown bank profile {wanted!r} (known: {known})", code="csv_profile")
    candidates = [BY_NAME[wanted]] if wanted else list(PROFILES)
    for number, row in enumerate(rows[:40], 1):
        cells = [normalize(c) for c in row]
        best: tuple[int, Profile] | None = None
        for prof in candidates:
            for signature in prof.signatures:
                if all(col in cells for col in signature) and (best is None or len(signature) > best[0]):
                    best = (len(signature), prof)
        if best is not None:
            prof = best[1]
            index = {f: tuple(cells.index(c) for c in names if c in cells) for f, names in prof.columns.items()}
            return _Layout(prof, index, number)
    lcl = BY_NAME["lcl"]
    if lcl in candidates and any(_LCL_ROW.match(";".join(r)) for r in rows[:5]):
        return _Layout(lcl, {f: (at,) for f, at in lcl.positions.items()}, 0)
    raise StatementError(
        name,
        "is a CSV whose columns match no known bank export; name its columns (date, amount or debit/credit, label)",
        code="csv_unknown",
    )


def _generic(rows: list[list[str]], name: str, columns: Mapping[str, str]) -> _Layout:
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise StatementError(name, f"names unknown fields {', '.join(unknown)}", code="csv_columns")
    if "date" not in columns or not ({"amount", "credit"} & set(columns)):
        raise StatementError(name, "needs at least a date column and an amount or credit column", code="csv_columns")
    wanted = {f: normalize(c) for f, c in columns.items()}
    for number, row in enumerate(rows[:40], 1):
        cells = [normalize(c) for c in row]
        if all(c in cells for c in wanted.values()):
            prof = Profile(GENERIC, "generic", (), {f: (c,) for f, c in wanted.items()})
            return _Layout(prof, {f: (cells.index(c),) for f, c in wanted.items()}, number)
    missing = ", ".join(repr(c) for c in columns.values())
    raise StatementError(name, f"has no header row with the columns {missing}", code="csv_columns")


def _preamble_account(rows: list[list[str]]) -> str:
    """An IBAN or an account number (8 digits or more) in a preamble row that speaks of an account."""
    for row in rows:
        if not _ACCOUNT_WORDS.search(" ".join(row)):
            continue
        for cell in row:
            text = cell.strip().strip('="')
            match = _IBAN.search(text.upper()) or _ACCOUNT_NO.search(text)
            if match and sum(ch.isdigit() for ch in match.group(1)) >= 8 and parse_date(text) is None:
                return match.group(1).replace(" ", "")
    return ""


def _row(row: list[str], layout: _Layout, account: str, name: str, line_no: int) -> StatementLine | None:
    def cell(key: str) -> str:
        values = [row[at].strip() for at in layout.index.get(key, ()) if at < len(row) and row[at].strip()]
        if key == "label":  # every label column counts: banks spread the remittance over several
            return " ".join(v for v in dict.fromkeys(values) if not any(v != w and v in w for w in values))
        return values[0] if values else ""

    raw_date = cell("date")
    if not raw_date[:1].isdigit():
        return None  # a summary line ("Solde au ...", "Total") or a blank date: not a movement
    booked = parse_date(raw_date)
    if booked is None:
        raise StatementError(name, f"has an unreadable date {raw_date!r}", line_no, code="csv_date")
    if normalize(cell("status")) in _SKIPPED_STATUSES:
        return None
    try:
        amount = _amount(cell)
    except ValueError as exc:
        raise StatementError(name, f"has an unreadable amount ({exc})", line_no, code="csv_amount") from None
    if amount is None or amount == 0:
        return None
    return StatementLine(
        account=cell("account") or account,
        booking_date=booked,
        value_date=parse_date(cell("value_date")),
        amount=amount,
        currency=(cell("currency") or "EUR").upper(),
        counterparty=clean_text(cell("counterparty")),
        remittance=clean_text(cell("label")),
        bank_reference=cell("reference") or None,
    )


def _amount(cell: Callable[[str], str]) -> Decimal | None:
    """Credit and debit columns (a debit written with or without its minus sign), or one signed amount."""
    credit, debit = parse_signed(cell("credit")), parse_signed(cell("debit"))
    if credit is not None or debit is not None:
        if credit:
            return abs(credit)
        return -abs(debit) if debit else None
    return parse_signed(cell("amount"))
