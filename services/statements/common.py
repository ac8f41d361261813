"""What every statement reader shares: the line read, the error raised, size limits, the hardened XML parser and
the stable line identity that makes a statement imported twice record nothing twice."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

MAX_FILE_BYTES = 50 * 1024 * 1024
HOME_CURRENCY = "EUR"
_CENT = Decimal("0.01")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

Source = bytes | str | os.PathLike[str]


class StatementError(Exception):
    """One clear problem with one statement file, for the owner: the file, what is wrong and, when known, the line.

    `code` is a stable key (e.g. "no_credit", "camt_version") so the chat side can word it from its catalogue.
    """

    def __init__(self, file: str, problem: str, line: int | None = None, *, code: str = "unreadable") -> None:
        self.file, self.problem, self.line, self.code = file, problem, line, code
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One bank movement as read from a statement (a credit has a positive amount, a debit a negative one).

    `line_id` identifies the movement across imports: a SHA-256 of account + booking date + amount + the bank's
    reference, or of the whole normalised line (plus its rank among identical lines) when the bank gives none.
    """

    account: str
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    counterparty: str
    remittance: str
    bank_reference: str | None
    line_id: str = ""

    @property
    def is_credit(self) -> bool:
        """Money in."""
        return self.amount > 0


@dataclass(frozen=True, slots=True)
class Statement:
    """A whole statement read: the credits in euros to match, credits in another currency (reported to the owner,
    never matched) and how many debits were skipped."""

    file: str
    format: str  # "camt.053.001.08", "OFX 1 (SGML)", "OFX 2 (XML)", "CSV boursorama", "CSV generic"...
    account: str
    credits: tuple[StatementLine, ...]
    foreign: tuple[StatementLine, ...]
    debits: int

    @property
    def total(self) -> Decimal:
        """The sum of the euro credits."""
        return sum((line.amount for line in self.credits), Decimal("0.00"))


def money(value: str | Decimal) -> Decimal:
    """An amount rounded to the cent (banks give at most two decimals for EUR; more is rounded half-even)."""
    return Decimal(value).quantize(_CENT)


def clean_text(*parts: str | None) -> str:
    """Non-empty parts joined by one space, whitespace collapsed."""
    return _SPACES.sub(" ", " ".join(p for p in parts if p)).strip()


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SPACES.sub(" ", folded).strip().casefold()


def identify(lines: Iterable[StatementLine]) -> Iterator[StatementLine]:
    """Give each line its `line_id`; lines without a bank reference that are identical get their rank in the file."""
    seen: dict[str, int] = {}
    for line in lines:
        amount = f"{line.amount:.2f}"
        if line.bank_reference:
            key = f"ref|{line.account}|{line.booking_date.isoformat()}|{amount}|{line.bank_reference}"
        else:
            key = "|".join(
                (
                    "line",
                    _normalised(line.account),
                    line.booking_date.isoformat(),
                    line.value_date.isoformat() if line.value_date else "",
                    amount,
                    line.currency,
                    _normalised(line.counterparty),
                    _normalised(line.remittance),
                )
            )
            rank = seen.get(key, 0)
            seen[key] = rank + 1
            key = f"{key}|{rank}"
        yield dataclasses.replace(line, line_id=hashlib.sha256(key.encode()).hexdigest())


def file_size(source: Source) -> int:
    """The size in bytes of the statement, without reading a file."""
    return len(source) if isinstance(source, bytes) else Path(source).stat().st_size


def check_size(source: Source, name: str) -> None:
    """Refuse a file over MAX_FILE_BYTES before anything is parsed."""
    try:
        size = file_size(source)
    except OSError as exc:
        raise StatementError(name, f"cannot be read ({exc.strerror})", code="unreadable") from None
    if size > MAX_FILE_BYTES:
        raise StatementError(
            name,
            f"is {size / 1_048_576:.1f} MB; statements over {MAX_FILE_BYTES // 1_048_576} MB are refused",
            code="too_big",
        )
    if size == 0:
        raise StatementError(name, "is empty", code="empty")


def read_head(source: Source, size: int = 65536) -> bytes:
    """The first bytes of the statement (for format detection and the prolog check)."""
    if isinstance(source, bytes):
        return source[:size]
    with open(source, "rb") as fh:
        return fh.read(size)


def read_all(source: Source) -> bytes:
    """The whole statement (size already checked)."""
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def refuse_dtd(head: bytes, name: str) -> None:
    """Bank XML never carries a DTD: one is refused before parsing, so entities are never declared nor expanded."""
    if _DOCTYPE.search(head):
        raise StatementError(
            name, "contains a DTD or entity declarations (refused: possible XML entity attack)", code="xml_entities"
        )


def refuse_parsed_dtd(elem: Any, name: str) -> None:
    """The same refusal once the prolog is parsed (a DTD placed after a long comment escapes the byte check)."""
    info = elem.getroottree().docinfo
    if info.internalDTD is not None or info.doctype:
        refuse_dtd(b"<!DOCTYPE", name)


def xml_parser() -> etree.XMLParser:
    """The hardened lxml parser: no entity resolution, no network, no DTD, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def xml_error(name: str, exc: etree.XMLSyntaxError) -> StatementError:
    """A parse failure worded for the owner (a truncated file is the common case)."""
    line = exc.lineno if exc.lineno else None
    detail = str(exc.msg or exc).strip()
    return StatementError(name, f"is not well-formed XML, or is truncated ({detail})", line, code="bad_xml")
