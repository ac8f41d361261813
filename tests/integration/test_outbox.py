"""The outbox against a real SMTP server on loopback: queueing, retries, failures, unknown outcomes."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import Engine, func
from sqlmodel import col, select

from messages.mime import InvalidAddressError
from services.outbox import (
    MAX_ATTEMPTS,
    AlreadyQueuedError,
    HeaderInjectionError,
    NotUncertainError,
    deliver_due,
    recover_unknown_at_startup,
    resend_unknown,
)
from storage.db import read_session, write_session
from storage.evidence import verify_all
from storage.models import EvidenceEntry, Outbox, Reminder
from storage.reminders import StaleReminderError
from storage.types import utcnow
from tests.integration.delivery_helpers import make_draft, queue, seed_reminder, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer


def _evidence(engine: Engine, kind: str) -> list[EvidenceEntry]:
    with read_session(engine) as s:
        return list(
            s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == kind).order_by(col(EvidenceEntry.seq))).all()
        )


def _outbox(engine: Engine, outbox_id: int) -> Outbox:
    with read_session(engine) as s:
        row = s.get(Outbox, outbox_id)
        assert row is not None
        return row


def _reminder(engine: Engine, reminder_id: int) -> Reminder:
    with read_session(engine) as s:
        row = s.get(Reminder, reminder_id)
        assert row is not None
        return row


def test_queue_approves_and_records_exact_text(engine: Engine) -> None:
    """Queueing stores the MIME message with its Message-ID, approves the reminder and logs the approved text."""
    _, rid, iid = seed_reminder(engine)
    outbox = queue(engine, rid, expected_version=0)
    assert outbox.state == "queued" and outbox.attempts == 0
    msg = message_from_bytes(outbox.raw_message, policy=policy.default)
    assert msg["Message-ID"] == outbox.message_id
    assert msg["Reply-To"] == "gerant@atelier-dupont.example"
    assert msg["Subject"] == "Suivi de votre facture n° F-2026-042"
    parts = {p.get_content_type() for p in msg.walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= parts
    reminder = _reminder(engine, rid)
    assert reminder.state == "approved" and reminder.version == 1
    (entry,) = _evidence(engine, "email_queued")
    payload = json.loads(entry.payload)
    assert payload["text"] == make_draft().text and payload["message_id"] == outbox.message_id
    assert payload["raw_message"].encode("ascii") == outbox.raw_message
    assert entry.invoice_id == iid and entry.reminder_id == rid and entry.actor == "owner:111"


def test_second_queue_is_refused(engine: Engine) -> None:
    """A reminder is queued at most once: a second approval raises AlreadyQueuedError and writes nothing."""
    _, rid, _ = seed_reminder(engine)
    queue(engine, rid)
    with pytest.raises(AlreadyQueuedError):
        queue(engine, rid)
    with read_session(engine) as s:
        assert s.exec(select(func.count()).select_from(Outbox)).one() == 1
    assert len(_evidence(engine, "email_queued")) == 1


def test_stale_version_is_refused(engine: Engine) -> None:
    """A card showing an older version of the reminder cannot approve it."""
    _, rid, _ = seed_reminder(engine)
    with pytest.raises(StaleReminderError):
        queue(engine, rid, expected_version=7)
    assert _reminder(engine, rid).state == "pending"


def test_outbox_refusals_are_the_reminders_stale_error(engine: Engine) -> None:
    """There is one StaleReminderError: a second approval raises storage.reminders' class (an ActionError)."""
    from services import outbox
    from storage.reminders import ActionError

    assert outbox.StaleReminderError is StaleReminderError
    _, rid, _ = seed_reminder(engine)
    queue(engine, rid)
    with pytest.raises(StaleReminderError) as info:
        queue(engine, rid)
    assert isinstance(info.value, AlreadyQueuedError) and isinstance(info.value, ActionError)


@pytest.mark.parametrize("state", ["snoozed", "sent", "cancelled", "skipped"])
def test_reminder_not_awaiting_approval_is_refused(engine: Engine, state: str) -> None:
    """Only a pending or failed reminder can be approved."""
    _, rid, _ = seed_reminder(engine)
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        r.state = state
        s.add(r)
    with pytest.raises(StaleReminderError):
        queue(engine, rid)


@pytest.mark.parametrize(
    "field",
    ["subject_cr", "subject_lf", "recipient", "filename"],
)
def test_line_breaks_in_headers_are_refused(engine: Engine, field: str) -> None:
    """CR or LF in a subject, an address or a file name is refused before anything is written."""
    _, rid, _ = seed_reminder(engine)
    draft = make_draft()
    recipients = None
    if field == "subject_cr":
        draft = make_draft("Facture F-1\rBcc: victim@example.com")
    elif field == "subject_lf":
        draft = make_draft("Facture F-1\nBcc: victim@example.com")
    elif field == "recipient":
        recipients = ["compta@client.example\r\nBcc: victim@example.com"]
    else:
        att = draft.attachments[0]
        draft = type(draft)(
            draft.subject, draft.text, draft.html, (type(att)("a\r\n.pdf", att.content, att.mime_type),)
        )
    with pytest.raises(HeaderInjectionError):
        queue(engine, rid, draft=draft, recipients=recipients)
    with read_session(engine) as s:
        assert s.exec(select(func.count()).select_from(Outbox)).one() == 0
        assert s.exec(select(func.count()).select_from(EvidenceEntry)).one() == 0
    assert _reminder(engine, rid).state == "pending"


def test_line_break_in_mail_from_or_reply_to_is_refused(engine: Engine) -> None:
    """The sender and Reply-To addresses are checked too."""
    from services.outbox import queue_reminder

    _, rid, _ = seed_reminder(engine)
    for mail_from, reply_to in (("a@b.example\nBcc: x@y.example", None), ("a@b.example", "r@b.example\rX: y")):
        with pytest.raises(HeaderInjectionError), write_session(engine) as s:
            queue_reminder(
                s,
                reminder_id=rid,
                expected_version=None,
                draft=make_draft(),
                mail_from=mail_from,
                reply_to=reply_to,
                recipients=["c@d.example"],
                actor="owner:1",
                not_before=utcnow(),
            )


def test_bad_address_is_refused(engine: Engine) -> None:
    """An address without a domain is refused before queueing."""
    _, rid, _ = seed_reminder(engine)
    with pytest.raises(InvalidAddressError):
        queue(engine, rid, recipients=["compta"])


async def test_delivery_marks_sent_and_records_reply(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """A 250 reply marks the row and the reminder sent and logs the server's reply line with the Message-ID."""
    bid, rid, _ = seed_reminder(engine)
    outbox = queue(engine, rid)
    (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    assert result.outcome == "sent" and result.reminder_id == rid and result.reply.startswith("250 2.0.0 Ok")
    (received,) = smtp_server.transactions
    assert received.data == outbox.raw_message and received.message_id == outbox.message_id
    assert received.rcpt_tos == ["compta@client.example"] and received.mail_from == "factures@atelier-dupont.example"
    row = _outbox(engine, outbox.id)
    assert row.state == "sent" and row.sent_at is not None and row.last_reply == result.reply
    reminder = _reminder(engine, rid)
    assert reminder.state == "sent" and reminder.sent_to == "compta@client.example" and reminder.sent_at
    (accepted,) = _evidence(engine, "smtp_accepted")
    payload = json.loads(accepted.payload)
    assert payload["reply"] == result.reply and payload["message_id"] == outbox.message_id
    assert (
        await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow() + timedelta(days=1))
        == []
    )
    assert len(smtp_server.transactions) == 1
    assert all(r.ok for r in verify_all(engine).values())


async def test_not_before_is_respected(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """A row queued for later (sending window) is not sent before its time."""
    bid, rid, _ = seed_reminder(engine)
    later = utcnow() + timedelta(hours=3)
    queue(engine, rid, not_before=later)
    assert await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow()) == []
    assert smtp_server.transactions == []
    (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=later)
    assert result.outcome == "sent"


@pytest.mark.parametrize("code", ["421", "450"])
async def test_4xx_is_retried_with_same_message_id(engine: Engine, smtp_server: ScriptedSmtpServer, code: str) -> None:
    """A 4xx reply puts the row back in the queue about a minute later; the retry carries the same Message-ID."""
    bid, rid, _ = seed_reminder(engine)
    outbox = queue(engine, rid)
    smtp_server.script(code)
    now = utcnow()
    (first,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=now)
    assert first.outcome == "retry" and first.reply.startswith(code)
    assert first.next_attempt == now + timedelta(minutes=1)
    assert _reminder(engine, rid).state == "approved"
    assert (
        await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=now + timedelta(seconds=30)) == []
    )
    (second,) = await deliver_due(
        engine, smtp_config(smtp_server.port), business_id=bid, now=now + timedelta(seconds=61)
    )
    assert second.outcome == "sent" and second.attempts == 2
    ids = [t.message_id for t in smtp_server.transactions]
    assert ids == [outbox.message_id, outbox.message_id]
    assert [t.data for t in smtp_server.transactions] == [outbox.raw_message, outbox.raw_message]
    assert len(_evidence(engine, "smtp_deferred")) == 1 and len(_evidence(engine, "smtp_accepted")) == 1


async def test_backoff_then_failure_after_five_tries(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """Retries wait about 1 min, 5 min, 30 min, 2 h; after 5 tries the row fails and the owner is told."""
    bid, rid, _ = seed_reminder(engine)
    queue(engine, rid)
    smtp_server.script(*["450"] * MAX_ATTEMPTS)
    now = utcnow()
    gaps = []
    results = []
    for _ in range(MAX_ATTEMPTS):
        (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=now)
        results.append(result)
        if result.next_attempt:
            gaps.append(result.next_attempt - now)
            now = result.next_attempt
    assert gaps == [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
    assert [r.outcome for r in results] == ["retry"] * 4 + ["failed"]
    assert _reminder(engine, rid).state == "failed"
    assert len(smtp_server.transactions) == MAX_ATTEMPTS
    assert await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=now + timedelta(days=1)) == []


async def test_5xx_fails_at_once(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """A 550 reply fails the row and the reminder at once, with the server's reply kept as evidence."""
    bid, rid, _ = seed_reminder(engine)
    outbox = queue(engine, rid)
    smtp_server.script("550")
    (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    assert result.outcome == "failed" and result.reply.startswith("550 5.1.1")
    assert _outbox(engine, outbox.id).state == "failed"
    assert _reminder(engine, rid).state == "failed"
    (entry,) = _evidence(engine, "smtp_failed")
    assert json.loads(entry.payload)["reply"] == result.reply
    assert (
        await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow() + timedelta(days=1))
        == []
    )
    assert len(smtp_server.transactions) == 1


async def test_failed_reminder_can_be_approved_again(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """After a 5xx the owner can correct the address and approve again: a new message goes out once."""
    bid, rid, _ = seed_reminder(engine)
    first = queue(engine, rid)
    smtp_server.script("550")
    await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    second = queue(engine, rid, recipients=["autre@client.example"])
    assert second.id == first.id and second.message_id != first.message_id
    (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    assert result.outcome == "sent" and smtp_server.transactions[-1].rcpt_tos == ["autre@client.example"]


async def test_drop_after_data_is_unknown_and_never_resent(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """A connection lost after the data leaves the outcome unknown: no automatic resend, only on the owner's request."""
    bid, rid, _ = seed_reminder(engine)
    outbox = queue(engine, rid)
    smtp_server.script("drop")
    (result,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    assert result.outcome == "unknown"
    assert _outbox(engine, outbox.id).state == "unknown"
    for hours in (1, 5, 48):
        assert (
            await deliver_due(
                engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow() + timedelta(hours=hours)
            )
            == []
        )
    assert len(smtp_server.transactions) == 1
    with write_session(engine) as s:
        resend_unknown(s, outbox.id, "owner:111", business_id=bid)
    with pytest.raises(NotUncertainError), write_session(engine) as s:
        resend_unknown(s, outbox.id, "owner:111", business_id=bid)
    (again,) = await deliver_due(engine, smtp_config(smtp_server.port), business_id=bid, now=utcnow())
    assert again.outcome == "sent"
    assert [t.message_id for t in smtp_server.transactions] == [outbox.message_id] * 2
    assert len(_evidence(engine, "email_resend_requested")) == 1
    assert all(r.ok for r in verify_all(engine).values())


async def test_no_server_is_a_retry(engine: Engine) -> None:
    """No SMTP server listening: nothing was sent, so the row is retried later."""
    from tests.integration.smtp_server import free_port

    bid, rid, _ = seed_reminder(engine)
    queue(engine, rid)
    (result,) = await deliver_due(engine, smtp_config(free_port()), business_id=bid, now=utcnow())
    assert result.outcome == "retry" and "connection failed" in result.reply


def test_rows_left_sending_become_unknown_at_startup(engine: Engine) -> None:
    """A row found in `sending` at start-up is marked unknown (statut incertain), with an evidence entry."""
    bid, rid, _ = seed_reminder(engine)
    outbox = queue(engine, rid)
    with write_session(engine) as s:
        row = s.get(Outbox, outbox.id)
        assert row is not None
        row.state = "sending"
        s.add(row)
    (result,) = recover_unknown_at_startup(engine, bid)
    assert result.outcome == "unknown" and result.reminder_id == rid
    assert _outbox(engine, outbox.id).state == "unknown"
    assert len(_evidence(engine, "smtp_unknown")) == 1
    assert recover_unknown_at_startup(engine, bid) == []


def test_outbox_layers_import_only_what_their_layer_may() -> None:
    """The queue (storage.outbox) imports no messages; the sender and its chat listener import no table, no SQL."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def imported(path: str) -> set[str]:
        tree = ast.parse((root / path).read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        return names | {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    storage_side = imported("storage/outbox.py")
    assert {m for m in storage_side if m.split(".")[0] in ("messages", "services", "bot")} == set()
    for adapter in ("bot/sender.py", "bot/handlers/delivery.py"):
        assert {m for m in imported(adapter) if m == "storage.models" or m.split(".")[0] == "sqlmodel"} == set()
