"""Reading a message received in the business's mailbox: who sent it, what it answers, what kind it is (a reply, an
automatic answer, a delivery failure report) and, for a reply, the client's own text without the quoted history or
the signature (mail-parser-reply, French and English), with its attachments' names.

Pure: bytes in, a frozen InboundMessage out; never raises on malformed MIME or unknown charsets (what cannot be
decoded is replaced, a part that cannot be read is left out).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from typing import Literal

from mailparser_reply import EmailReplyParser

__all__ = ["InboundMessage", "Kind", "parse_inbound", "safe_filename"]

Kind = Literal["reply", "auto_reply", "bounce"]

#: Subjects of automatic answers (vacation, out of office), French and English, at the start of the subject.
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:(?:re|tr|fw|fwd)\s*:\s*)*(?:absence|absent|r[ée]ponse automatique|out of (?:the )?office|"
    r"automatic reply|auto(?:matic)?[- ]?(?:reply|response)|autoreply|en cong[ée]s?|vacation)\b",
    re.IGNORECASE,
)
_MSGID = re.compile(r"<[^<>\s]+>")
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_BR = re.compile(r"<\s*(br|/p|/div|/li|/tr|/h\d)\b[^>]*>", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(envoy[ée] (de|depuis) |sent from |get outlook for |obtenir outlook pour |t[ée]l[ée]charger outlook)",
    re.IGNORECASE,
)
_UNSAFE_NAME = re.compile(r"[^\w.\- ()]+", re.UNICODE)
#: The longest reply text kept (a card shows less; the raw message is kept whole on disk).
MAX_TEXT = 4000
_PARSER = EmailReplyParser(languages=["fr", "en"])


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What Relance needs of a received message."""

    message_id: str  # with its angle brackets; a digest of the raw bytes when the message has none
    sender: str  # the From address, lower case
    subject: str
    date: datetime | None  # aware UTC, from the Date header when it is readable
    kind: Kind
    in_reply_to: tuple[str, ...] = ()  # In-Reply-To then References, newest first
    text: str = ""  # a reply's own text (automatic answers: their first lines)
    attachments: tuple[str, ...] = ()  # safe file names
    #: Bounces: the failing recipients and the server's reason, and the Message-IDs of the original message.
    failed_recipients: tuple[str, ...] = ()
    bounce_reason: str = ""
    original_ids: tuple[str, ...] = field(default=())


def parse_inbound(raw: bytes) -> InboundMessage:
    """Read a raw RFC 5322 message (any shape: never raises)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    message_id = _first_id(_header(msg, "Message-ID")) or f"<sha256-{hashlib.sha256(raw).hexdigest()}@relance>"
    sender = parseaddr(_header(msg, "From"))[1].strip().lower()
    subject = " ".join(_header(msg, "Subject").split())[:300]
    refs = _ids(_header(msg, "In-Reply-To")) + list(reversed(_ids(_header(msg, "References"))))
    when = _date(_header(msg, "Date"))
    if _is_bounce(msg):
        recipients, reason, originals = _bounce_facts(msg)
        return InboundMessage(
            message_id=message_id,
            sender=sender,
            subject=subject,
            date=when,
            kind="bounce",
            in_reply_to=tuple(dict.fromkeys(refs)),
            failed_recipients=recipients,
            bounce_reason=reason,
            original_ids=originals,
        )
    body = _body_text(msg)
    kind: Kind = "auto_reply" if _is_automatic(msg, subject) else "reply"
    text = _reply_text(body) if kind == "reply" else body.strip()[:500]
    return InboundMessage(
        message_id=message_id,
        sender=sender,
        subject=subject,
        date=when,
        kind=kind,
        in_reply_to=tuple(dict.fromkeys(refs)),
        text=text[:MAX_TEXT],
        attachments=tuple(_attachments(msg)),
    )


def safe_filename(name: str) -> str:
    """An attachment's name made harmless: no folders (`../../etc/passwd` -> `etc_passwd`), no control characters,
    at most 120 characters."""
    name = name.replace("\\", "/")
    parts = [p for p in name.split("/") if p not in ("", ".", "..")]
    cleaned = _UNSAFE_NAME.sub("_", "_".join(parts)).strip(" ._")
    return cleaned[:120] or "piece-jointe"


# --- headers ---


def _header(msg: Message, name: str) -> str:
    """A header decoded to text (RFC 2047 words; raw 8-bit bytes read as UTF-8; unknown charsets replaced); empty
    when absent."""
    value = msg.get(name)
    if value is None:
        return ""
    try:
        parts = decode_header(value)
    except Exception:  # a malformed encoded word: keep the raw text rather than fail the message
        return str(value)
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        codec = charset if charset and charset != "unknown-8bit" else "utf-8"
        try:
            out.append(chunk.decode(codec, "replace"))
        except LookupError:  # a charset Python does not know
            out.append(chunk.decode("utf-8", "replace"))
    return "".join(out)


def _ids(value: str) -> list[str]:
    return _MSGID.findall(value)


def _first_id(value: str) -> str:
    found = _ids(value)
    return found[0][:300] if found else ""


def _date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return when.astimezone(UTC)


# --- kinds ---


def _is_automatic(msg: Message, subject: str) -> bool:
    """RFC 3834 Auto-Submitted, the common X- headers and Precedence values, or an out-of-office subject."""
    auto = _header(msg, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress", "").strip() == "All":
        return True
    if _header(msg, "Precedence").strip().lower() in ("auto_reply", "bulk", "junk"):
        return True
    return bool(_AUTO_SUBJECT.match(subject))


def _is_bounce(msg: Message) -> bool:
    if msg.get_content_type() != "multipart/report":
        return False
    return str(msg.get_param("report-type", "") or "").lower() == "delivery-status"


def _bounce_facts(msg: Message) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
    """The failing recipients (Final-Recipient, else Original-Recipient), the server's reason (Diagnostic-Code,
    else Status) and the Message-IDs of the original message (its returned headers)."""
    recipients: list[str] = []
    reasons: list[str] = []
    originals: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for group in _status_groups(part):
                action = group.get("action", "").lower()
                if action and action not in ("failed", "delayed"):
                    continue
                rcpt = group.get("final-recipient") or group.get("original-recipient") or ""
                address = rcpt.split(";", 1)[-1].strip().strip("<>").lower()
                if address and address not in recipients:
                    recipients.append(address)
                reason = group.get("diagnostic-code", "").split(";", 1)[-1].strip() or group.get("status", "")
                if reason and reason not in reasons:
                    reasons.append(reason)
        elif ctype in ("text/rfc822-headers", "message/rfc822"):
            originals += _original_ids(part)
    return tuple(recipients), " ; ".join(reasons)[:900], tuple(dict.fromkeys(originals))


def _status_groups(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a delivery-status part, field names in lower case."""
    payload = part.get_payload()
    texts: list[str] = []
    if isinstance(payload, list):  # the stdlib parses delivery-status into one Message per group
        for group in payload:
            if isinstance(group, Message):
                texts.append("\n".join(f"{k}: {v}" for k, v in group.items()))
    else:
        raw = part.get_payload(decode=True)
        data = raw if isinstance(raw, bytes) else b""
        texts += re.split(r"\r?\n\s*\r?\n", data.decode("utf-8", "replace"))
    groups = []
    for text in texts:
        fields: dict[str, str] = {}
        last = ""
        for line in text.splitlines():
            if line[:1] in (" ", "\t") and last:
                fields[last] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                last = name.strip().lower()
                fields[last] = value.strip()
        if fields:
            groups.append(fields)
    return groups


def _original_ids(part: Message) -> list[str]:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
        return _ids(str(inner.get("Message-ID", "")))
    raw = part.get_payload(decode=True) or b""
    headers = message_from_bytes(raw if isinstance(raw, bytes) else str(raw).encode(), policy=policy.compat32)
    return _ids(str(headers.get("Message-ID", "")))


# --- bodies ---


def _decoded(part: Message) -> str:
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return raw.decode(charset, "replace")
    except LookupError:  # an unknown charset name
        return raw.decode("utf-8", "replace")


def _body_text(msg: Message) -> str:
    """The message's text: its first text/plain part that is not an attachment, else its HTML made plain text
    (scripts and styles dropped, tags removed, entities decoded)."""
    plain = html_part = None
    for part in msg.walk():
        if part.is_multipart() or _is_attachment(part):
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html_part is None:
            html_part = part
    if plain is not None:
        return _decoded(plain)
    if html_part is not None:
        return _html_to_text(_decoded(html_part))
    return ""


def _html_to_text(markup: str) -> str:
    markup = _SCRIPT.sub("", markup)
    markup = re.sub(r"<blockquote\b.*?</blockquote\s*>", "\n", markup, flags=re.IGNORECASE | re.DOTALL)
    markup = _BR.sub("\n", markup)
    text = html.unescape(_TAG.sub("", markup))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _reply_text(body: str) -> str:
    """The reply's own text: quoted history ("Le … a écrit :", "On … wrote:", Outlook's "De : …" block, "> "
    lines) and signature removed."""
    body = body.replace("\r\n", "\n")
    try:
        mail = _PARSER.read(body)
        own = mail.replies[0].body if mail.replies else body
    except Exception:  # the parser's regular expressions on odd input: fall back to the whole text
        own = body
    lines = [line for line in own.splitlines() if not line.lstrip().startswith(">")]
    while lines and (not lines[-1].strip() or _MOBILE_SIGNATURE.match(lines[-1])):
        lines.pop()  # "Envoyé de mon iPhone", "Sent from Outlook for Android"...
    return "\n".join(lines).strip() or body.strip()


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).lower()
    return disposition.startswith("attachment") or (bool(part.get_filename()) and not part.is_multipart())


def _attachments(msg: Message) -> list[str]:
    names = []
    for part in msg.walk():
        if part.is_multipart() or not _is_attachment(part):
            continue
        try:
            name = part.get_filename() or ""
        except Exception:  # a malformed RFC 2231 parameter
            name = ""
        names.append(safe_filename(name or f"piece-jointe.{part.get_content_subtype()}"))
    return names
