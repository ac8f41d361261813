"""Bank statements read for the owner: CAMT.053, OFX (1.x SGML and 2.x XML) and French banks' CSV exports.

Pure readers (no database): `read_statement` reads a whole file into a `Statement` (all or nothing: any problem
raises one `StatementError` naming the file), `iter_credits` streams the lines for large files (a problem may then
surface after some lines were yielded: record nothing before the iterator is exhausted). The format is detected
from the content, never from the file name.

Only credits matter: debits are skipped (counted in `Statement.debits`). A credit in another currency than the euro
is not an error: it is returned with its currency and `read_statement` puts it in `Statement.foreign`, so the owner
is told about it and it is never matched against a euro invoice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from services.statements import camt, csv_banks, ofx
from services.statements.common import (
    HOME_CURRENCY,
    MAX_FILE_BYTES,
    Source,
    Statement,
    StatementError,
    StatementLine,
    check_size,
    identify,
    read_all,
    read_head,
    refuse_dtd,
)

__all__ = [
    "MAX_FILE_BYTES",
    "Statement",
    "StatementError",
    "StatementLine",
    "detect_format",
    "iter_credits",
    "read_statement",
]


def detect_format(head: bytes) -> str:
    """ "camt", "ofx" or "csv" from the first bytes of a file."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    upper = text.upper()
    if b"<OFX>" in upper or b"<?OFX" in upper or upper.startswith(b"OFXHEADER"):
        return "ofx"
    if text.startswith(b"<"):
        return "camt"
    return "csv"


def _lines(
    source: Source, name: str, profile: str | None, columns: Mapping[str, str] | None
) -> tuple[str, Iterator[StatementLine]]:
    check_size(source, name)
    head = read_head(source)
    kind = detect_format(head)
    if kind == "camt":
        refuse_dtd(head, name)
        return camt.describe(source, name), camt.iter_lines(source, name)
    data = read_all(source)
    if kind == "ofx":
        return ("OFX 2 (XML)" if ofx.is_xml(data) else "OFX 1 (SGML)"), ofx.iter_lines(data, name)
    label = f"CSV {csv_banks.profile_of(data, name, profile=profile, columns=columns)}"
    return label, csv_banks.iter_lines(data, name, profile=profile, columns=columns)


def iter_credits(
    source: Source,
    name: str,
    *,
    profile: str | None = None,
    columns: Mapping[str, str] | None = None,
    include_debits: bool = False,
) -> Iterator[StatementLine]:
    """Stream the statement's credits (every currency), each with its `line_id`; debits too when asked."""
    _, lines = _lines(source, name, profile, columns)
    for line in identify(lines):
        if include_debits or line.amount > 0:
            yield line


def read_statement(
    source: Source, name: str, *, profile: str | None = None, columns: Mapping[str, str] | None = None
) -> Statement:
    """Read a whole statement; raise StatementError if it is unreadable or holds no credit at all.

    `source` is the file's bytes or its path; `name` is how the owner knows the file (used in every error);
    `profile` forces a CSV bank profile (see `csv_banks.PROFILES`), `columns` names a generic CSV's columns
    ({"date": ..., "amount": ... or "credit"/"debit": ..., optional "label", "counterparty", "value_date",
    "reference", "currency", "account"}).
    """
    label, lines = _lines(source, name, profile, columns)
    credits: list[StatementLine] = []
    foreign: list[StatementLine] = []
    debits = 0
    account = ""
    for line in identify(lines):
        account = account or line.account
        if line.amount < 0:
            debits += 1
        elif line.currency == HOME_CURRENCY:
            credits.append(line)
        else:
            foreign.append(line)
    if not credits and not foreign:
        raise StatementError(name, "has no credit in this statement (only debits or nothing booked)", code="no_credit")
    return Statement(name, label, account, tuple(credits), tuple(foreign), debits)
