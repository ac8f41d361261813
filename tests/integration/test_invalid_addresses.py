"""A bad e-mail address on every delivery path: a failed result naming it, the reminder still pending, nothing sent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func
from sqlmodel import select

from messages.addresses import normalize_email
from services.delivery import DeliveryReport, OutboxDelivery, SendRequest
from services.eml import EmlDelivery
from storage.db import read_session
from storage.models import EvidenceEntry, Outbox, Reminder
from storage.types import utcnow
from tests.integration.delivery_helpers import MAIL_FROM, REPLY_TO, make_draft, seed_reminder, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer


def _request(reminder_id: int, business_id: int, **kw: object) -> SendRequest:
    now = utcnow()
    with_defaults: dict[str, object] = {
        "reminder_id": reminder_id,
        "expected_version": 1,
        "business_id": business_id,
        "draft": make_draft(),
        "mail_from": MAIL_FROM,
        "reply_to": REPLY_TO,
        "recipients": ("compta@client.example",),
        "actor": "owner:111",
        "now": now,
        "not_before": now,
    }
    with_defaults.update(kw)
    return SendRequest(**with_defaults)  # type: ignore[arg-type]


def _untouched(engine: Engine, reminder_id: int, version: int) -> None:
    """The reminder is still pending at its version; no outbox row and no evidence entry were written."""
    with read_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None and reminder.state == "pending" and reminder.version == version
        assert s.exec(select(func.count()).select_from(Outbox)).one() == 0
        kinds = s.exec(select(EvidenceEntry.kind).where(EvidenceEntry.reminder_id == reminder_id)).all()
        assert not [k for k in kinds if k in ("email_queued", "email_sent", "reminder_sent", "approved")]


def _version(engine: Engine, reminder_id: int) -> int:
    with read_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        return reminder.version


async def test_terminal_mode_reports_a_bad_recipient_instead_of_crashing(engine: Engine, tmp_path: Path) -> None:
    """The .eml delivery (terminal mode) returns "failed" naming the address; no file, the reminder stays pending."""
    business_id, rid, _ = seed_reminder(engine)
    version = _version(engine, rid)
    folder = tmp_path / "outbox"
    request = _request(rid, business_id, expected_version=version, recipients=("compta@client",))
    report = await EmlDelivery(folder).send(engine, request)
    assert report == DeliveryReport("failed", reason=report.reason)
    assert "'compta@client' (recipients)" in report.reason
    assert not folder.exists() or list(folder.iterdir()) == []
    _untouched(engine, rid, version)


async def test_terminal_mode_reports_a_bad_sender(engine: Engine, tmp_path: Path) -> None:
    """A MAIL_FROM the one check refuses is a failed result in terminal mode too, never an exception."""
    business_id, rid, _ = seed_reminder(engine)
    version = _version(engine, rid)
    request = _request(rid, business_id, expected_version=version, mail_from="Atelier <factures@atelier dupont.fr>")
    report = await EmlDelivery(tmp_path / "outbox").send(engine, request)
    assert report.status == "failed" and "(mail_from)" in report.reason
    _untouched(engine, rid, version)


def test_terminal_mode_default_sender_passes_the_check() -> None:
    """Without MAIL_FROM the terminal demo's own sender address is one the mail builder accepts."""
    assert normalize_email(EmlDelivery.default_sender) == EmlDelivery.default_sender


async def test_smtp_path_refuses_a_bad_reply_to_at_queueing(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """The SMTP path refuses a bad Reply-To before the outbox: failed result, nothing queued, nothing sent."""
    business_id, rid, _ = seed_reminder(engine)
    version = _version(engine, rid)
    request = _request(rid, business_id, expected_version=version, reply_to="gerant@@atelier-dupont.example")
    report = await OutboxDelivery(smtp_config(smtp_server.port)).send(engine, request)
    assert report.status == "failed" and "'gerant@@atelier-dupont.example' (reply_to)" in report.reason
    assert smtp_server.transactions == []
    _untouched(engine, rid, version)


async def test_smtp_path_sends_to_the_cleaned_address(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """An address with a BOM and a no-break space is queued clean: the outbox row and RCPT TO hold the clean one."""
    business_id, rid, _ = seed_reminder(engine)
    request = _request(
        rid, business_id, expected_version=_version(engine, rid), recipients=("\ufeffcompta@client.example\u00a0",)
    )
    report = await OutboxDelivery(smtp_config(smtp_server.port)).send(engine, request)
    assert report.status == "sent", report
    (received,) = smtp_server.accepted
    assert received.rcpt_tos == ["compta@client.example"]
    assert b"\xef\xbb\xbf" not in received.data
    with read_session(engine) as s:
        (row,) = s.exec(select(Outbox)).all()
    assert row.recipients == "compta@client.example"  # the outbox and the evidence hold what was really used
