"""Received messages in real-world shapes, for the replies-by-e-mail tests: Gmail, Outlook and Apple Mail replies
(quoted history in French and English), an out-of-office, a Postfix bounce (RFC 3464), a reply with a PDF."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

RELANCE_ID = "<relance.1.abc@atelier-dupont.example>"
NOW = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)


def _headers(msg: EmailMessage, *, sender: str, subject: str, message_id: str, in_reply_to: str | None) -> None:
    msg["From"] = sender
    msg["To"] = "factures@atelier-dupont.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW)
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to


def gmail_reply_fr(
    *,
    sender: str = "Jean Martin <jean@client.example>",
    in_reply_to: str | None = RELANCE_ID,
    message_id: str = "<g1@mail.gmail.com>",
    subject: str = "Re: Facture F-2026-0042 : rappel",
    text: str = "Bonjour,\n\nJe vous règle le 15 décembre sans faute.\n",
) -> bytes:
    """A Gmail reply in French: text and HTML, history after "Le … a écrit :", a signature."""
    msg = EmailMessage()
    _headers(msg, sender=sender, subject=subject, message_id=message_id, in_reply_to=in_reply_to)
    body = (
        f"{text}\nCordialement,\nJean Martin\n\n"
        "Le lun. 24 nov. 2026 à 09:12, Atelier Dupont <factures@atelier-dupont.example> a écrit :\n"
        "> Bonjour,\n> Sauf erreur de notre part, la facture F-2026-0042 reste impayée.\n"
    )
    msg.set_content(body)
    msg.add_alternative(
        f"<div dir=ltr>{text}</div><div class=gmail_quote>Le lun. … a écrit :<blockquote>…</blockquote></div>",
        subtype="html",
    )
    return msg.as_bytes(policy=SMTP)


def outlook_reply_en(
    *, sender: str = "Jean Martin <jean@client.example>", message_id: str = "<o1@outlook.example>"
) -> bytes:
    """An Outlook reply in English without In-Reply-To (as some gateways strip it), history in a From:/Sent: block."""
    msg = EmailMessage()
    _headers(msg, sender=sender, subject="RE: Your reminder", message_id=message_id, in_reply_to=None)
    msg.set_content(
        "Hello,\n\nThe delivery was incomplete, we will not pay until the missing parts arrive.\n\n"
        "________________________________\nFrom: Atelier Dupont <factures@atelier-dupont.example>\n"
        "Sent: Monday, November 24, 2026 9:12 AM\nTo: Jean Martin <jean@client.example>\nSubject: Reminder\n\nHello,\n"
    )
    return msg.as_bytes(policy=SMTP)


def apple_reply_with_pdf(*, message_id: str = "<a1@icloud.example>") -> bytes:
    """An Apple Mail reply carrying a PDF (and an attachment with a hostile name)."""
    msg = EmailMessage()
    _headers(msg, sender="jean@client.example", subject="Re: Facture F-2026-0042", message_id=message_id,
             in_reply_to=RELANCE_ID)  # fmt: skip
    msg.set_content(
        "Voici la preuve du virement, payé hier.\n\nEnvoyé de mon iPhone\n\n"
        "> Le 24 nov. 2026 à 09:12, Atelier Dupont <factures@atelier-dupont.example> a écrit :\n> \n> Bonjour\n"
    )
    msg.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="virement.pdf")
    msg.add_attachment(b"root:x:0:0", maintype="text", subtype="plain", filename="../../etc/passwd")
    return msg.as_bytes(policy=SMTP)


def out_of_office(*, message_id: str = "<ooo1@client.example>") -> bytes:
    """An automatic answer (Auto-Submitted, French out-of-office subject)."""
    msg = EmailMessage()
    _headers(msg, sender="jean@client.example", subject="Réponse automatique : Facture F-2026-0042",
             message_id=message_id, in_reply_to=RELANCE_ID)  # fmt: skip
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Je suis absent jusqu'au 5 décembre.")
    return msg.as_bytes(policy=SMTP)


def postfix_bounce(*, recipient: str = "jean@client.example", original_id: str = RELANCE_ID,
                   message_id: str = "<20261130091500.B1@mx.atelier-dupont.example>") -> bytes:  # fmt: skip
    """A Postfix delivery status notification (multipart/report; report-type=delivery-status)."""
    boundary = "B1.1764494100/mx.atelier-dupont.example"
    return (
        f"From: MAILER-DAEMON@mx.atelier-dupont.example (Mail Delivery System)\r\n"
        f"To: factures@atelier-dupont.example\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(NOW)}\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.atelier-dupont.example.\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients.\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.atelier-dupont.example\r\nX-Postfix-Queue-ID: B1\r\n"
        f"Arrival-Date: {format_datetime(NOW)}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\n"
        f"Status: 5.1.1\r\nRemote-MTA: dns; mx.client.example\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual\r\n"
        f"    mailbox table\r\n\r\n"
        f"--{boundary}\r\nContent-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Atelier Dupont <factures@atelier-dupont.example>\r\nTo: {recipient}\r\n"
        f"Subject: Facture F-2026-0042 : rappel\r\nMessage-ID: {original_id}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode("ascii")


def large_message(size: int = 20 * 1024 * 1024) -> bytes:
    """A message of about `size` bytes, from the client (it would be linked if it were read)."""
    msg = EmailMessage()
    _headers(msg, sender="jean@client.example", subject="Re: Facture F-2026-0042", message_id="<big@client.example>",
             in_reply_to=RELANCE_ID)  # fmt: skip
    msg.set_content("Voici les scans.")
    msg.add_attachment(b"\0" * (size * 3 // 4), maintype="application", subtype="octet-stream", filename="scan.bin")
    return msg.as_bytes(policy=SMTP)
