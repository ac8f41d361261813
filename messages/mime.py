"""Turn an approved draft into the exact MIME message handed to the SMTP server (text + HTML, attachments)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from messages.addresses import InvalidAddressError, parse_mailbox

__all__ = [
    "AttachmentLike",
    "DraftLike",
    "HeaderInjectionError",
    "InvalidAddressError",
    "build_message",
    "check_header",
    "envelope_address",
    "make_message_id",
]

# Characters that would let a value end its header line and start another (or confuse a parser).
_FORBIDDEN = ("\r", "\n", "\x00")


class HeaderInjectionError(ValueError):
    """A header value (name, subject, address, file name) contains a line break: refused before queueing."""


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
    """The bare address of `value` ("Name <a@b.fr>" or "a@b.fr"), normalised for MAIL FROM / RCPT TO.

    Raises HeaderInjectionError (line break) or InvalidAddressError (messages.addresses, the one check).
    """
    return _mailbox(value, name)[1]


def _mailbox(value: str, name: str) -> tuple[str, str]:
    check_header(name, value)
    display, address = parse_mailbox(value, field=name)
    check_header(name, display)
    return display, address


def _address(display_name: str, addr_spec: str) -> Address:
    return Address(display_name=display_name, addr_spec=addr_spec)


def make_message_id(mail_from: str) -> str:
    """A new globally unique Message-ID in the sender's domain (chosen once, kept on every retry)."""
    try:
        domain = parse_mailbox(mail_from)[1].rpartition("@")[2]
    except InvalidAddressError:
        # build_message refuses such a sender anyway; the identifier stays well-formed until then.
        domain = "relance.invalid"
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
    """The RFC 5322 message (CRLF line ends, 7-bit safe): text and HTML alternatives, then the attachments.

    Every address (sender, Reply-To, each recipient) goes through messages.addresses.normalize_email: a bad one
    raises InvalidAddressError naming it and its field; a line break in any header value, HeaderInjectionError.
    """
    check_header("subject", draft.subject)
    check_header("message_id", message_id)
    sender = _mailbox(mail_from, "mail_from")
    reply = _mailbox(reply_to, "reply_to") if reply_to else None
    if not recipients:
        raise InvalidAddressError("", "at least one recipient is needed", field="recipients")
    to = [_mailbox(rcpt, "recipients") for rcpt in recipients]
    for att in draft.attachments:
        check_header("attachment filename", att.filename)
        check_header("attachment type", att.mime_type)
    if date.tzinfo is None:
        raise ValueError("the Date header needs a timezone-aware datetime")

    msg = EmailMessage(policy=policy.SMTP)
    # The headers carry the normalised addresses (invisible characters gone, ASCII domain), the same ones as the
    # SMTP envelope; display names are quoted or encoded by the email package as needed.
    msg["From"] = _address(*sender)
    msg["To"] = [_address(*mailbox) for mailbox in to]
    if reply is not None:
        msg["Reply-To"] = _address(*reply)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    # An answer to a client's message (messages.render.Draft.in_reply_to): threaded under it in their mailbox.
    in_reply_to = getattr(draft, "in_reply_to", None)
    if in_reply_to:
        check_header("in_reply_to", in_reply_to)
        msg["In-Reply-To"] = in_reply_to
        references = [r for r in getattr(draft, "references", ()) if r]
        for ref in references:
            check_header("references", ref)
        msg["References"] = " ".join(dict.fromkeys([*references, in_reply_to]))
    msg.set_content(draft.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if draft.html:
        msg.add_alternative(draft.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for att in draft.attachments:
        maintype, _, subtype = (att.mime_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            bytes(att.content), maintype=maintype, subtype=subtype or "octet-stream", filename=att.filename
        )
    return msg.as_bytes(policy=policy.SMTP)
