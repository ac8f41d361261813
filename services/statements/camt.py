"""CAMT.053 (ISO 20022 bank-to-customer statement) reader, versions .001.02 to .001.08, streamed.

Elements are matched by local name under whatever namespace the file declares; the version comes from that
namespace. Entries (`Ntry`) are read one at a time with `iterparse` and cleared once read, so memory stays flat on
a 50,000-entry file. Only booked entries count (`Sts` BOOK, or `Sts/Cd` BOOK from .001.07 on): pending and
information-only entries are skipped. A batched entry (several `TxDtls`) is split into its transactions, each with
its own amount, debtor, remittance and reference.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from lxml import etree

from services.statements.common import (
    Source,
    StatementError,
    StatementLine,
    clean_text,
    money,
    refuse_parsed_dtd,
    xml_error,
)

SUPPORTED = range(2, 9)  # camt.053.001.02 .. camt.053.001.08
_VERSION = re.compile(r"camt\.(\d{3})\.(\d{3})\.(\d{2})")
_MESSAGES = {"052": "an account report (camt.052)", "054": "a debit/credit notification (camt.054)"}


def version(root_tag: str, name: str) -> str:
    """The CAMT version from the root's namespace (e.g. "camt.053.001.08"); unsupported ones are refused."""
    namespace = root_tag[1:].partition("}")[0] if root_tag.startswith("{") else ""
    match = _VERSION.search(namespace)
    if match is None:
        raise StatementError(
            name, f"is an XML file of an unknown kind (namespace {namespace or 'none'!r})", code="camt_version"
        )
    label = match.group(0)
    message, variant, number = match.group(1), match.group(2), int(match.group(3))
    if message != "053":
        kind = _MESSAGES.get(message, f"a camt.{message} message")
        raise StatementError(name, f"is {kind}, not a camt.053 statement", code="camt_version")
    if variant != "001" or number not in SUPPORTED:
        raise StatementError(
            name, f"is {label}, a version not supported (camt.053.001.02 to .001.08)", code="camt_version"
        )
    return label


class _Paths:
    """ElementPath expressions bound to the file's namespace (built once, so lookups stay in C)."""

    def __init__(self, namespace: str) -> None:
        self.ns = f"{{{namespace}}}" if namespace else ""
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        found = self._cache.get(path)
        if found is None:
            found = self._cache[path] = "/".join(f"{self.ns}{step}" for step in path.split("/"))
        return found


def describe(source: Source, name: str) -> str:
    """The statement's version label ("camt.053.001.08"); raise StatementError for anything else."""
    return version(_root_tag(source, name), name)


def iter_lines(source: Source, name: str) -> Iterator[StatementLine]:
    """Every booked movement of the statement (credits positive, debits negative), without line ids."""
    root_tag = _root_tag(source, name)
    label = version(root_tag, name)
    paths = _Paths(root_tag[1:].partition("}")[0])
    with _open(source) as stream:
        yield from _entries(stream, paths, name, label)


def _entries(stream: IO[bytes], paths: _Paths, name: str, label: str) -> Iterator[StatementLine]:
    account = ""
    events = etree.iterparse(
        stream,
        events=("end",),
        tag=(paths("Ntry"), paths("Acct")),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    try:
        for _, elem in events:
            if elem.tag == paths("Acct"):
                parent = elem.getparent()
                if parent is not None and parent.tag == paths("Stmt"):
                    account = _account(elem, paths)
                continue
            yield from _entry(elem, account, paths, name, label)
            # Drop the entry and everything read before it: memory stays flat however long the file.
            elem.clear(keep_tail=False)
            while elem.getprevious() is not None:
                del elem.getparent()[0]
    except etree.XMLSyntaxError as exc:
        raise xml_error(name, exc) from None


def _open(source: Source) -> IO[bytes]:
    """The statement as a binary stream, to be closed by the caller (`with`)."""
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")


def _root_tag(source: Source, name: str) -> str:
    with _open(source) as stream:
        try:
            for _, elem in etree.iterparse(
                stream, events=("start",), resolve_entities=False, no_network=True, load_dtd=False
            ):
                refuse_parsed_dtd(elem, name)
                return str(elem.tag)
        except etree.XMLSyntaxError as exc:
            raise xml_error(name, exc) from None
    raise StatementError(name, "is an empty XML document", code="bad_xml")


def _text(elem: Any, path: str) -> str:
    found = elem.find(path)
    return (found.text or "").strip() if found is not None else ""


def _account(acct: Any, paths: _Paths) -> str:
    return _text(acct, paths("Id/IBAN")) or _text(acct, paths("Id/Othr/Id"))


def _date(elem: Any, paths: _Paths, which: str) -> date | None:
    raw = _text(elem, paths(f"{which}/Dt")) or _text(elem, paths(f"{which}/DtTm"))[:10]
    return date.fromisoformat(raw[:10]) if raw else None


def _amount(elem: Any, path: str) -> tuple[Decimal, str] | None:
    found = elem.find(path)
    if found is None or not (found.text or "").strip():
        return None
    try:
        return money(found.text.strip()), found.get("Ccy", "").strip().upper()
    except InvalidOperation:
        return None


def _entry(ntry: Any, account: str, paths: _Paths, name: str, label: str) -> Iterator[StatementLine]:
    status = _text(ntry, paths("Sts/Cd")) or _text(ntry, paths("Sts"))
    if status.upper() != "BOOK":
        return
    line_no = ntry.sourceline
    amount = _amount(ntry, paths("Amt"))
    booked = _date(ntry, paths, "BookgDt") or _date(ntry, paths, "ValDt")
    if amount is None or booked is None:
        raise StatementError(name, f"has an entry without amount or booking date ({label})", line_no, code="camt_entry")
    sign = -1 if _text(ntry, paths("CdtDbtInd")).upper() == "DBIT" else 1
    valued = _date(ntry, paths, "ValDt")
    entry_ref = _text(ntry, paths("AcctSvcrRef")) or _text(ntry, paths("NtryRef")) or None
    entry_info = _text(ntry, paths("AddtlNtryInf"))
    details = ntry.findall(paths("NtryDtls/TxDtls"))
    amounts = [_tx_amount(tx, paths) for tx in details]
    if len(details) > 1 and _splits(amount, amounts):
        for rank, (tx, tx_amount) in enumerate(zip(details, amounts, strict=True), 1):
            assert tx_amount is not None
            indicator = _text(tx, paths("CdtDbtInd"))
            tx_sign = _sign(indicator) if indicator else sign
            reference = _text(tx, paths("Refs/AcctSvcrRef")) or (f"{entry_ref}/{rank}" if entry_ref else None)
            yield _line(account, booked, valued, tx_sign * tx_amount[0], tx_amount[1], tx, paths, reference, "")
        return
    tx = details[0] if details else None
    yield _line(account, booked, valued, sign * amount[0], amount[1], tx, paths, entry_ref, entry_info)


def _splits(entry: tuple[Decimal, str], parts: list[tuple[Decimal, str] | None]) -> bool:
    """A batch is split only when its transactions carry amounts in the entry's currency adding up to the entry
    (otherwise, e.g. amounts in the original currency, the entry is kept whole)."""
    if any(p is None or p[1] != entry[1] for p in parts):
        return False
    return sum((p[0] for p in parts if p is not None), Decimal(0)) == entry[0]


def _sign(indicator: str) -> int:
    return -1 if indicator.upper() == "DBIT" else 1


def _tx_amount(tx: Any, paths: _Paths) -> tuple[Decimal, str] | None:
    return (
        _amount(tx, paths("Amt"))
        or _amount(tx, paths("AmtDtls/TxAmt/Amt"))
        or _amount(tx, paths("AmtDtls/InstdAmt/Amt"))
    )


def _line(
    account: str,
    booked: date,
    valued: date | None,
    amount: Decimal,
    currency: str,
    tx: Any,
    paths: _Paths,
    reference: str | None,
    fallback: str,
) -> StatementLine:
    counterparty = remittance = ""
    if tx is not None:
        debtor = "Dbtr" if amount > 0 else "Cdtr"
        counterparty = (
            _text(tx, paths(f"RltdPties/{debtor}/Nm"))
            or _text(tx, paths(f"RltdPties/{debtor}/Pty/Nm"))
            or _text(tx, paths(f"RltdPties/Ultmt{debtor}/Nm"))
            or _text(tx, paths(f"RltdPties/Ultmt{debtor}/Pty/Nm"))
        )
        unstructured = [(e.text or "") for e in tx.iterfind(paths("RmtInf/Ustrd"))]
        structured = [(e.text or "") for e in tx.iterfind(paths("RmtInf/Strd/CdtrRefInf/Ref"))]
        remittance = clean_text(*unstructured, *structured) or _text(tx, paths("AddtlTxInf"))
    return StatementLine(
        account=account,
        booking_date=booked,
        value_date=valued,
        amount=amount,
        currency=currency or "EUR",
        counterparty=clean_text(counterparty),
        remittance=remittance or clean_text(fallback),
        bank_reference=reference,
    )
