"""Two businesses in one database (SQLite and PostgreSQL): each sender claims, recovers and reports only its own
business's outbox rows, and a failure is told to that business's owners only."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from bot.handlers.delivery import listener
from bot.presenter import Presenter
from bot.sender import Sender
from dunning.penalties import builtin_rate_table
from services.context import BusinessContext, Clock
from services.core import Services
from services.delivery import OutboxDelivery
from services.outbox import queue_reminder, recover_unknown_at_startup
from storage import outbox as store
from storage.db import read_session, write_session
from storage.models import EvidenceEntry, Outbox
from storage.reminders import StaleReminderError
from storage.types import utcnow
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.delivery_helpers import FixedDrafter, RecordingBot, make_draft, queue, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer

CARD_MESSAGE = 5  # the same message id in both owners' chats: two cards, one per business


@dataclass
class _Business:
    business_id: int
    reminder_id: int
    owner: int
    sender: Sender
    chat: RecordingBot


def _business(engine: Engine, port: int, *, owner: int, recipient: str) -> _Business:
    """A business with one owner and one approved reminder whose e-mail waits in the outbox, its card shown."""
    with write_session(engine) as session:
        business = make_business(session, owner_chat_ids=str(owner))
        client = make_client(session, business, emails=recipient)
        invoice = make_invoice(session, client, due=date(2026, 10, 15), number="F-2026-042")
        reminder = make_reminder(session, client, [invoice])
        assert business.id is not None and reminder.id is not None
        business_id, reminder_id = business.id, reminder.id
    queue(engine, reminder_id, recipients=[recipient])
    ctx = BusinessContext(engine=engine, business_id=business_id, owner_ids=frozenset({owner}),
                          clock=Clock(ZoneInfo("Europe/Paris"), date(2026, 11, 24)),
                          rate_table=builtin_rate_table(), drafter=FixedDrafter(),
                          delivery=OutboxDelivery(smtp_config(port)))  # fmt: skip
    presenter = Presenter(Services(ctx), channel="telegram:999")
    presenter.register_cards([(reminder_id, str(owner), str(CARD_MESSAGE))])
    chat = RecordingBot()
    sender = Sender(engine, smtp_config(port), business_id)
    sender.on_outcome(listener(chat, presenter))  # type: ignore[arg-type]
    return _Business(business_id, reminder_id, owner, sender, chat)


def _states(engine: Engine) -> dict[int, str]:
    with read_session(engine) as session:
        return {row.reminder_id: row.state for row in session.exec(select(Outbox)).all()}


async def test_each_sender_claims_its_business_rows_and_tells_its_owners(
    engine: Engine, smtp_server: ScriptedSmtpServer
) -> None:
    """B's sender never sends A's e-mail; A's failure edits A's card and tells A's owner, nobody of B."""
    a = _business(engine, smtp_server.port, owner=111, recipient="refus@client-a.example")
    b = _business(engine, smtp_server.port, owner=333, recipient="compta@client-b.example")
    smtp_server.refuse_recipient("refus@client-a.example")

    (result,) = await b.sender.tick()
    assert result.reminder_id == b.reminder_id and result.outcome == "sent"
    assert [t.rcpt_tos for t in smtp_server.transactions] == [["compta@client-b.example"]]
    assert _states(engine) == {a.reminder_id: "queued", b.reminder_id: "sent"}
    assert await b.sender.tick() == []  # A's row is due, but it is not B's to send
    assert _states(engine)[a.reminder_id] == "queued"
    assert [(chat, message) for chat, message, _ in b.chat.edits] == [(333, CARD_MESSAGE)]
    assert "✅ Envoyé le" in b.chat.edits[0][2] and b.chat.messages == []

    (failed,) = await a.sender.tick()
    assert failed.reminder_id == a.reminder_id and failed.outcome == "failed"
    assert [(chat, message) for chat, message, _ in a.chat.edits] == [(111, CARD_MESSAGE)]
    assert "❌ Le dernier envoi a échoué" in a.chat.edits[0][2]
    assert [chat for chat, _ in a.chat.messages] == [111]
    assert "L'envoi a échoué" in a.chat.messages[0][1]
    assert len(b.chat.edits) == 1 and b.chat.messages == []  # nothing of A reached B's owner


async def test_recovery_at_start_marks_only_its_business_rows_unknown(
    engine: Engine, smtp_server: ScriptedSmtpServer
) -> None:
    """B starting up marks B's interrupted e-mail unknown; A's row in flight at that moment is left to A's sender."""
    a = _business(engine, smtp_server.port, owner=111, recipient="compta@client-a.example")
    b = _business(engine, smtp_server.port, owner=333, recipient="compta@client-b.example")
    with write_session(engine) as session:
        for row in session.exec(select(Outbox)).all():
            row.state = "sending"
            session.add(row)

    (result,) = recover_unknown_at_startup(engine, b.business_id)
    assert result.reminder_id == b.reminder_id and result.outcome == "unknown"
    assert _states(engine) == {a.reminder_id: "sending", b.reminder_id: "unknown"}

    (told,) = await a.sender.recover()
    assert told.reminder_id == a.reminder_id
    assert [chat for chat, _ in a.chat.messages] == [111] and b.chat.messages == []
    assert smtp_server.transactions == []  # an uncertain e-mail is never sent again on our own


def test_storage_queue_keeps_each_business_rows_to_itself(engine: Engine, smtp_server: ScriptedSmtpServer) -> None:
    """storage.outbox under B's id cannot queue, resend, confirm or record A's e-mail, and writes nothing trying."""
    a = _business(engine, smtp_server.port, owner=111, recipient="compta@client-a.example")
    b = _business(engine, smtp_server.port, owner=333, recipient="compta@client-b.example")
    with read_session(engine) as session:
        item = store.for_reminder(session, a.business_id, a.reminder_id)
        assert store.for_reminder(session, b.business_id, a.reminder_id) is None
        entries = session.exec(select(func.count()).select_from(EvidenceEntry)).one()
    assert item is not None and item.business_id == a.business_id and item.state == "queued"
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.state = "sent"  # type: ignore[misc]  # callers get facts, not a row they could change

    with pytest.raises(StaleReminderError), write_session(engine) as session:
        queue_reminder(session, reminder_id=a.reminder_id, expected_version=None, draft=make_draft(),
                       mail_from="factures@b.example", reply_to=None, recipients=["x@client-a.example"],
                       actor="owner:333", not_before=utcnow(), business_id=b.business_id)  # fmt: skip
    with write_session(engine) as session:
        row = session.get(Outbox, item.id)
        assert row is not None
        row.state = "unknown"
        session.add(row)
    for action in (store.resend_unknown, store.confirm_left):
        with pytest.raises(store.NotUncertainError), write_session(engine) as session:
            action(session, business_id=b.business_id, outbox_id=item.id, actor="owner:333")
    claim = store.Claim(item.id, a.reminder_id, a.business_id, item.message_id, item.mail_from, item.recipients,
                        item.raw_message, 1)  # fmt: skip
    with pytest.raises(store.OutboxError):
        store.record_outcome(engine, b.business_id, claim, "sent", "250 ok", now=utcnow())

    with read_session(engine) as session:
        assert session.exec(select(func.count()).select_from(EvidenceEntry)).one() == entries
        assert store.pending_unknown(session, b.business_id) == []
        (unknown,) = store.pending_unknown(session, a.business_id)
    assert unknown.id == item.id
    assert _states(engine) == {a.reminder_id: "unknown", b.reminder_id: "queued"}
    assert smtp_server.transactions == []
