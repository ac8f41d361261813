"""OFX reader: 1.x SGML (also the French banks' files with no header block, odd LANGUAGE codes, leaf elements left
unclosed, decimal commas) and 2.x XML.

ofxtools needs the OFX header and valid enumerations (LANGUAGE, TRNTYPE...), which the French files often lack,
so the SGML is read by a small tolerant reader into an lxml tree, the same shape the OFX 2 XML parses to; both are
then read by one function. A transaction type that disagrees with the amount's sign (a CREDIT with "-12,50") is
ignored: the sign is trusted.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from decimal import InvalidOperation
from typing import Any

from lxml import etree

from services.statements.common import (
    StatementError,
    StatementLine,
    clean_text,
    money,
    refuse_dtd,
    refuse_parsed_dtd,
    xml_error,
    xml_parser,
)

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9._]*)\s*>([^<]*)")
_CHARSET = re.compile(rb"CHARSET\s*:\s*([A-Za-z0-9-]+)")
_ENCODING = re.compile(rb"ENCODING\s*:\s*([A-Za-z0-9-]+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_AGGREGATES = frozenset({"OFX", "STMTTRN", "PAYEE", "CURRENCY", "ORIGCURRENCY", "STATUS", "FI", "BAL"})
_AGGREGATE_ENDINGS = ("RS", "RQ", "V1", "LIST", "FROM", "TO", "BAL")


def is_xml(data: bytes) -> bool:
    """OFX 2 (XML) rather than 1.x SGML: an XML declaration or `<?OFX` processing instruction."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or b"<?OFX" in head


def iter_lines(data: bytes, name: str) -> Iterator[StatementLine]:
    """Every transaction of every account in the file (credits positive, debits negative), without line ids."""
    root = _xml_tree(data, name) if is_xml(data) else _sgml_tree(data, name)
    statements = [e for e in root.iter("STMTRS", "CCSTMTRS")]
    transactions = 0
    for stmt in statements:
        currency = (stmt.findtext("CURDEF") or "EUR").strip().upper()
        account = _account(stmt)
        for trn in stmt.iterfind("BANKTRANLIST/STMTTRN"):
            transactions += 1
            yield _line(trn, account, currency, name)
    if transactions == 0:
        raise StatementError(name, "is an OFX file with no transaction", code="ofx_empty")


def _account(stmt: Any) -> str:
    acct = stmt.find("BANKACCTFROM")
    if acct is None:
        acct = stmt.find("CCACCTFROM")
    if acct is None:
        return ""
    parts = [(acct.findtext(tag) or "").strip() for tag in ("BANKID", "BRANCHID", "ACCTID")]
    return " ".join(p for p in parts if p)


def _date(raw: str | None) -> date | None:
    digits = (raw or "").strip()[:8]
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _line(trn: Any, account: str, currency: str, name: str) -> StatementLine:
    line_no = trn.sourceline
    raw_amount = (trn.findtext("TRNAMT") or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = money(raw_amount.lstrip("+"))
    except InvalidOperation:
        raise StatementError(
            name, f"has a transaction with an unreadable amount {raw_amount!r}", line_no, code="ofx_amount"
        ) from None
    posted = _date(trn.findtext("DTPOSTED"))
    if posted is None:
        raise StatementError(name, "has a transaction without a posting date (DTPOSTED)", line_no, code="ofx_date")
    own = trn.findtext("CURRENCY/CURSYM") or trn.findtext("ORIGCURRENCY/CURSYM")
    fitid = (trn.findtext("FITID") or "").strip()
    payee = trn.findtext("NAME") or trn.findtext("PAYEE/NAME")
    return StatementLine(
        account=account,
        booking_date=posted,
        value_date=_date(trn.findtext("DTUSER")) or _date(trn.findtext("DTAVAIL")),
        amount=amount,
        currency=(own or currency).strip().upper(),
        counterparty=clean_text(payee),
        remittance=clean_text(trn.findtext("MEMO"), trn.findtext("REFNUM"), trn.findtext("CHECKNUM")),
        bank_reference=fitid or None,
    )


def _xml_tree(data: bytes, name: str) -> Any:
    refuse_dtd(data[:65536], name)
    try:
        root = etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as exc:
        raise xml_error(name, exc) from None
    refuse_parsed_dtd(root, name)
    # OFX 2 has no namespace in practice; strip any so the paths above apply.
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.tag.startswith("{"):
            elem.tag = etree.QName(elem).localname
    return root


def _decode(data: bytes) -> str:
    header = data[: data.find(b"<")] if b"<" in data else data
    charset = _CHARSET.search(header)
    encoding = _ENCODING.search(header)
    if data.startswith(b"\xef\xbb\xbf") or (encoding and encoding.group(1).upper() in (b"UTF-8", b"UNICODE")):
        candidates = ["utf-8-sig", "cp1252"]
    elif charset and charset.group(1).upper() in (b"1252", b"ISO-8859-1", b"8859-1"):
        candidates = ["cp1252"]
    else:
        candidates = ["utf-8", "cp1252"]
    for codec in candidates:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _sgml_tree(data: bytes, name: str) -> Any:
    """Build a tree from OFX 1.x SGML: a tag followed by text is a leaf (its closing tag optional), any other tag
    opens an aggregate, closed by its end tag (closing every aggregate left open inside it)."""
    text = _decode(data)
    start = text.find("<OFX>")
    if start < 0:
        start = text.upper().find("<OFX>")
    if start < 0:
        raise StatementError(name, "is not an OFX file (no <OFX> element)", code="ofx_bad")
    root = etree.Element("OFX")
    stack = [root]
    last_leaf: str | None = None
    offset = start + len("<OFX>")
    line, counted = text.count("\n", 0, offset) + 1, offset
    for match in _TAG.finditer(text, offset):
        closing, tag, value = match.group(1), match.group(2).upper(), match.group(3)
        if closing:
            if tag != last_leaf:
                names = [e.tag for e in stack]
                if tag in names[1:]:
                    del stack[names.index(tag, 1) :]
            last_leaf = None
            continue
        line += text.count("\n", counted, match.start())
        counted = match.start()
        value = _CONTROL.sub("", html.unescape(value)).strip()
        elem = etree.SubElement(stack[-1], tag)
        elem.sourceline = line
        if value or not _is_aggregate(tag):
            elem.text = value
            last_leaf = tag
        else:
            stack.append(elem)
            last_leaf = None
    return root


def _is_aggregate(tag: str) -> bool:
    """An element holding others (an empty leaf such as `<MEMO>` with no text must not swallow what follows)."""
    return tag in _AGGREGATES or tag.endswith(_AGGREGATE_ENDINGS)
