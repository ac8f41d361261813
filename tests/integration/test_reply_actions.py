"""What the owner does with a client's e-mail, chat-free (services.reply_actions) over a real database: each action
and the closing of the reply are one transaction (a refused action leaves the reply open and writes nothing), an
answer never overwrites another one waiting, and a bounce's new address closes the client's bounces."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from dunning.penalties import builtin_rate_table
from messages.render import default_renderer
from services import replies, reply_actions
from services.context import BusinessContext, Clock
from services.delivery import TemplateDrafter
from services.eml import EmlDelivery
from storage.db import read_session, write_session
from storage.models import EvidenceEntry, Outbox, ReceivedEmail, Reminder
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration import mail_samples as samples

TODAY = date(2026, 11, 30)


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path) -> BusinessContext:
    """Menuiserie Martin owes F-2026-0042; its reminder left with the Message-ID the samples answer."""
    with write_session(engine) as s:
        business = make_business(s)
        client = make_client(s, business, name="Menuiserie Martin", emails="jean@client.example")
        inv = make_invoice(s, client, due=date(2026, 10, 15), number="F-2026-0042")
        rem = make_reminder(s, client, [inv], state="sent", planned_date=date(2026, 11, 24))
        s.add(Outbox(business_id=business.id, reminder_id=rem.id, state="sent", message_id=samples.RELANCE_ID,
                     mail_from="factures@atelier.example", recipients="jean@client.example",
                     subject="Facture F-2026-0042 : rappel", raw_message=b"x"))  # fmt: skip
        assert business.id is not None
        business_id = business.id
    return BusinessContext(engine=engine, business_id=business_id, owner_ids=frozenset({111}),
                           clock=Clock(ZoneInfo("Europe/Paris"), TODAY), rate_table=builtin_rate_table(),
                           drafter=TemplateDrafter(default_renderer(), rate_table=builtin_rate_table()),
                           delivery=EmlDelivery(tmp_path / "outbox"), data_dir=str(tmp_path / "data"))  # fmt: skip


def _kinds(ctx: BusinessContext) -> list[str]:
    with read_session(ctx.engine) as s:
        return list(s.exec(select(EvidenceEntry.kind).order_by(col(EvidenceEntry.seq))).all())


def _reply(ctx: BusinessContext, n: int = 1) -> replies.ReplyView:
    ingested = replies.ingest(ctx, samples.gmail_reply_fr(message_id=f"<g{n}@mail.gmail.com>"))
    assert ingested.received_id is not None
    view = replies.reply(ctx, ingested.received_id)
    assert view is not None
    return view


def test_a_refused_action_leaves_the_reply_open_and_writes_nothing(ctx: BusinessContext) -> None:
    """The invoice was paid meanwhile: Payée, Promesse and Litige are refused ("nothing owed"), the reply stays open
    at its version, and not one evidence entry is written."""
    view = _reply(ctx)
    with write_session(ctx.engine) as s:
        from storage.reminders import record_payment

        record_payment(s, business_id=ctx.business_id, invoice_ids=[view.invoices[0].invoice_id], amount=None,
                       paid_on=TODAY, actor="owner:1")  # fmt: skip
    kinds = _kinds(ctx)
    for outcome in (
        reply_actions.paid(ctx, view.received_id, view.version, actor="owner:1"),
        reply_actions.promise(ctx, view.received_id, view.version, until=date(2026, 12, 15), actor="owner:1"),
        reply_actions.dispute(ctx, view.received_id, view.version, reason="x", actor="owner:1"),
    ):
        assert outcome.status == "invalid" and outcome.message is not None
        assert outcome.message.key == "replies.nothing_owed"
    assert _kinds(ctx) == kinds
    again = replies.reply(ctx, view.received_id)
    assert again is not None and (again.state, again.version) == ("open", view.version)


def test_a_promise_in_the_past_or_an_empty_reason_is_refused_before_anything(ctx: BusinessContext) -> None:
    """A date before today and a blank reason are the owner's input errors: nothing is written."""
    view = _reply(ctx)
    kinds = _kinds(ctx)
    past = reply_actions.promise(ctx, view.received_id, view.version, until=date(2026, 11, 1), actor="owner:1")
    blank = reply_actions.dispute(ctx, view.received_id, view.version, reason="  ", actor="owner:1")
    assert (past.status, blank.status) == ("invalid", "invalid")
    assert _kinds(ctx) == kinds


def test_an_answer_never_overwrites_another_one_waiting(ctx: BusinessContext) -> None:
    """Two messages of the client the same day: the first answer is drafted; answering the second while the first
    waits is refused (the first draft untouched, the second message still open); once the first has left, another
    answer the same day is refused too (one per client and day)."""
    first, second = _reply(ctx, 1), _reply(ctx, 2)
    done = reply_actions.answer(ctx, first.received_id, first.version, text="Merci, bien noté.", actor="owner:1")
    assert done.ok and len(done.reminder_ids) == 1
    refused = reply_actions.answer(ctx, second.received_id, second.version, text="Autre texte", actor="owner:1")
    assert refused.status == "invalid" and refused.message is not None
    assert refused.message.key == "replies.answer_pending"
    with write_session(ctx.engine) as s:
        draft = s.get(Reminder, done.reminder_ids[0])
        assert draft is not None and draft.edited_body == "Merci, bien noté."
        draft.state = "sent"
        s.add(draft)
    assert replies.reply(ctx, second.received_id).state == "open"  # type: ignore[union-attr]
    late = reply_actions.answer(ctx, second.received_id, second.version, text="Autre texte", actor="owner:1")
    assert late.message is not None and late.message.key == "replies.answer_same_day"


def test_a_new_address_closes_the_bounces_and_returns_the_failed_reminder(ctx: BusinessContext) -> None:
    """A bounce fails the reminder; a bad address changes nothing; a good one becomes the client's, the bounce is
    closed (new_address) and the failed reminder is returned to be sent again; an unknown client is unknown."""
    ingested = replies.ingest(ctx, samples.postfix_bounce())
    assert ingested.kind == "bounce" and ingested.received_id is not None
    bad = reply_actions.new_address(ctx, ingested.client_id or 0, "pas une adresse", actor="owner:1")
    assert bad.status == "invalid"
    assert replies.open_bounces(ctx)[0].failing_emails == ("jean@client.example",)
    done = reply_actions.new_address(ctx, ingested.client_id or 0, "Nouveau@Client.example", actor="owner:1")
    assert done.ok and done.message is not None and done.message.values["address"] == "nouveau@client.example"
    with read_session(ctx.engine) as s:
        (rem,) = s.exec(select(Reminder)).all()
        row = s.exec(select(ReceivedEmail)).one()
    assert done.reminder_ids == (rem.id,) and rem.state == "failed"
    assert (row.state, row.outcome) == ("handled", "new_address")
    assert replies.open_bounces(ctx) == []
    assert reply_actions.new_address(ctx, 999_999, "a@b.fr", actor="owner:1").status == "unknown"
