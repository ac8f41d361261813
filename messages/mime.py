"""Turn an approved draft into the exact MIME message handed to the SMTP server (text + HTML, attachments)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Protocol

# Characters that would let a value end its header line and start another (or confuse a parser).
_FORBIDDEN = ("\r", "\n", "\x00")


class HeaderInjectionError(ValueError):
    """A header value (name, subject, address, file name) contains a line break: refused before queueing."""


class InvalidAddressError(ValueError):
    """An e-mail address that the SMTP envelope cannot carry."""


class AttachmentLike(Protocol):
    """What an attachment offers (messages.render.Attachment)."""

    @property
    def filename(self) -> str: ...
    @property
    def content(self) -> bytes: ...
    @property
    def mime_type(self) -> str: ...


class DraftLike(Protocol):
    """What a draft offers (messages.render.Draft)."""

    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str | None: ...
    @property
    def attachments(self) -> Sequence[AttachmentLike]: ...


def check_header(name: str, value: str | None) -> None:
    """Refuse a header value carrying CR, LF or NUL (header injection)."""
    if value is not None and any(ch in value for ch in _FORBIDDEN):
        raise HeaderInjectionError(f"{name}: line breaks are not allowed in a header value")


def envelope_address(value: str, *, name: str) -> str:
    """The bare address of `value` ("Name <a@b.fr>" or "a@b.fr"), checked for use in MAIL FROM / RCPT TO."""
    check_header(name, value)
    address = parseaddr(value)[1].strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or "." not in domain
        or any(c.isspace() or c in ',;<>"' for c in address)
        or not address.isascii()
    ):
        raise InvalidAddressError(f"{name}: not a valid e-mail address")
    return address


def make_message_id(mail_from: str) -> str:
    """A new globally unique Message-ID in the sender's domain (chosen once, kept on every retry)."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "relance.invalid"
    return f"<relance.{uuid.uuid4().hex}@{domain}>"


def build_message(
    *,
    draft: DraftLike,
    mail_from: str,
    reply_to: str | None,
    recipients: Sequence[str],
    message_id: str,
    date: datetime,
) -> bytes:
    """The RFC 5322 message (CRLF line ends, 7-bit safe): text and HTML alternatives, then the attachments."""
    check_header("subject", draft.subject)
    check_header("message_id", message_id)
    envelope_address(mail_from, name="mail_from")
    if reply_to:
        envelope_address(reply_to, name="reply_to")
    if not recipients:
        raise InvalidAddressError("recipients: at least one address is needed")
    for rcpt in recipients:
        envelope_address(rcpt, name="recipients")
    for att in draft.attachments:
        check_header("attachment filename", att.filename)
        check_header("attachment type", att.mime_type)
    if date.tzinfo is None:
        raise ValueError("the Date header needs a timezone-aware datetime")

    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = mail_from
    msg["To"] = ", ".join(recipients)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg.set_content(draft.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if draft.html:
        msg.add_alternative(draft.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for att in draft.attachments:
        maintype, _, subtype = (att.mime_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            bytes(att.content), maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename
        )
    return msg.as_bytes(policy=policy.SMTP)
