"""File delivery for the terminal demo and installs without SMTP_HOST: each approved e-mail becomes a `.eml` file."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from messages.mime import HeaderInjectionError, InvalidAddressError, build_message, make_message_id
from services.delivery import DeliveryReport, SendRequest, approve_and_mark_sent
from storage.db import Engine, write_session
from storage.reminders import StaleReminderError, UnknownReminderError


class EmlDelivery:
    """Writes the exact message an SMTP server would get into `folder` and marks the reminder sent."""

    #: Used when neither MAIL_FROM nor the business e-mail is set (the file is a preview, nothing leaves).
    default_sender = "relance@relance.example"  # .example is reserved (RFC 2606); .invalid fails the address check

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path_for(self, request: SendRequest, now: datetime) -> Path:
        """data/outbox/20261124-084200-r12.eml"""
        stamp = now.strftime("%Y%m%d-%H%M%S")
        return self.folder / f"{stamp}-r{request.reminder_id}.eml"

    def _write(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        message_id = make_message_id(request.mail_from)
        raw = build_message(
            draft=request.draft,
            mail_from=request.mail_from,
            reply_to=request.reply_to,
            recipients=list(request.recipients),
            message_id=message_id,
            date=request.now,
        )
        path = self.path_for(request, request.now)
        try:
            with write_session(engine) as session:
                approve_and_mark_sent(
                    session,
                    request,
                    how=", ".join(request.recipients),
                    evidence={"message_id": message_id, "file": path.name, "delivery": "eml-file"},
                )
                # Written inside the transaction: a failed write rolls the approval back.
                self.folder.mkdir(parents=True, exist_ok=True)
                path.write_bytes(raw)
        except (StaleReminderError, UnknownReminderError):
            return DeliveryReport("stale")
        return DeliveryReport("sent", request.recipients, sent_at=request.now, path=str(path))

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        """Approve (version-checked) and write the file; a refused address is a failed result, nothing written."""
        try:
            return await asyncio.to_thread(self._write, engine, request)
        except (HeaderInjectionError, InvalidAddressError) as exc:  # raised by build_message, before the database
            return DeliveryReport("failed", reason=str(exc))
