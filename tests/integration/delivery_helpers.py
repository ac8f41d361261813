"""Helpers shared by the outbox, SMTP, crash and export tests: a reminder ready to approve, its draft, a config."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from messages.delivery import SmtpConfig
from messages.render import Attachment, Draft
from services.outbox import OutboxItem, queue_reminder
from storage.db import write_session
from storage.reminders import ReminderView
from storage.types import utcnow
from tests.factories import make_business, make_client, make_invoice, make_reminder

MAIL_FROM = "Atelier Dupont <factures@atelier-dupont.example>"
REPLY_TO = "gerant@atelier-dupont.example"
PDF = b"%PDF-1.4\n% test invoice\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def seed_reminder(engine: Engine, *, number: str = "F-2026-042", amount: str = "1234.56") -> tuple[int, int, int]:
    """A business, a client, one overdue invoice and a pending reminder; returns (business, reminder, invoice) ids."""
    with write_session(engine) as session:
        business = make_business(session)
        client = make_client(session, business, emails="compta@client.example")
        invoice = make_invoice(session, client, due=date(2026, 10, 15), amount=amount, number=number)
        reminder = make_reminder(session, client, [invoice])
        assert business.id and reminder.id and invoice.id
        return business.id, reminder.id, invoice.id


def make_draft(subject: str = "Suivi de votre facture n° F-2026-042", *, with_pdf: bool = True) -> Draft:
    """A draft as messages.render produces it: French text, HTML, the invoice PDF attached."""
    text = "Bonjour,\n\nSauf erreur de notre part, la facture F-2026-042 (1 234,56 €) reste impayée.\n.\nCordialement"
    html = "<p>Bonjour,</p><p>Sauf erreur de notre part, la facture F-2026-042 reste impayée.</p>"
    attachments = (Attachment("F-2026-042.pdf", PDF, "application/pdf"),) if with_pdf else ()
    return Draft(subject=subject, text=text, html=html, attachments=attachments)


def queue(
    engine: Engine,
    reminder_id: int,
    *,
    draft: Draft | None = None,
    recipients: list[str] | None = None,
    not_before: datetime | None = None,
    expected_version: int | None = None,
) -> OutboxItem:
    """Approve the reminder (queue its e-mail) in one committed transaction, as the chat does."""
    with write_session(engine) as session:
        return queue_reminder(
            session,
            reminder_id=reminder_id,
            expected_version=expected_version,
            draft=draft or make_draft(),
            mail_from=MAIL_FROM,
            reply_to=REPLY_TO,
            recipients=recipients or ["compta@client.example"],
            actor="owner:111",
            not_before=not_before or utcnow() - timedelta(seconds=1),
        )


def smtp_config(port: int, timeout: float = 5.0) -> SmtpConfig:
    """A plain-text SMTP configuration for the loopback server."""
    return SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=timeout)


class FixedDrafter:
    """A drafter that gives every reminder the same draft (`make_draft`): the tests are about delivery, not words."""

    def draft(self, session: Session, view: ReminderView, *, today: date) -> Any:
        return make_draft()


@dataclass
class RecordingBot:
    """Stands in for a Telegram application: records what the delivery listener edits and sends."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    messages: list[tuple[int, str]] = field(default_factory=list)
    bot_data: dict[str, Any] = field(default_factory=dict)

    @property
    def bot(self) -> RecordingBot:
        return self

    async def edit_message_text(self, text: str, *, chat_id: int, message_id: int, reply_markup: Any = None) -> None:
        self.edits.append((chat_id, message_id, text))

    async def send_message(self, chat_id: int, text: str) -> None:
        self.messages.append((chat_id, text))
