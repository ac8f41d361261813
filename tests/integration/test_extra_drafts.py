"""Drafts outside the ladder through the services (services.extra_drafts): the penalty claim of an invoice paid late
(its figures the same in the e-mail, on the card and in dunning.penalties), idempotence, refusals, sending through
the outbox exactly once, Ne pas envoyer, and the thanks drafted after a bank statement import."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from bot.presenter import Presenter
from bot.reports import render_payments
from dunning.penalties import builtin_rate_table, invoice_penalties
from dunning.states import ReminderState
from messages.formatting import format_amount
from services.delivery import OutboxDelivery
from services.extra_drafts import claim_penalties, thank
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, Invoice, Outbox, Reminder
from storage.reminders import record_payment
from tests.bot_harness import BotHarness, RecordingDelivery, bot_settings, make_services
from tests.factories import make_client, make_invoice
from tests.integration.delivery_helpers import smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer
from tests.integration.test_statements_chat import seed_invoices
from tests.samples.statements import camt053

TODAY = date(2025, 4, 15)  # the shipped rate table has 2025-H1: the penalties are computed
DUE = date(2025, 2, 1)
PAID_ON = date(2025, 3, 15)


def _services(engine: Engine, db_url: str, tmp_path: Path, delivery: object | None = None) -> Presenter:
    return make_services(engine, bot_settings(db_url, tmp_path, TODAY), delivery or RecordingDelivery())


def _paid_late(
    engine: Engine, business_id: int, *, consumer: bool = False, paid_on: date = PAID_ON, number: str = "F-2025-007"
) -> int:
    """An invoice of 2 400 € due on 1 February 2025, paid in full on `paid_on`, of a new client."""
    with write_session(engine) as session:
        business = session.get(Business, business_id)
        assert business is not None
        client = make_client(session, business, name=f"Boulangerie Martin {number}", is_consumer=consumer)
        inv = make_invoice(session, client, due=DUE, amount="2400.00", number=number)
        assert inv.id is not None
        record_payment(session, business_id=business_id, invoice_ids=[inv.id], amount=None, paid_on=paid_on,
                       actor="owner:111")  # fmt: skip
        return inv.id


def _evidence(engine: Engine, kind: str, reminder_id: int) -> list[dict[str, object]]:
    with read_session(engine) as session:
        rows = session.exec(
            select(EvidenceEntry).where(EvidenceEntry.kind == kind, EvidenceEntry.reminder_id == reminder_id)
        ).all()
        return [json.loads(r.payload) if isinstance(r.payload, str) else r.payload for r in rows]


def test_penalty_claim_states_the_figures_of_dunning_penalties(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """The claim's e-mail, its card and ExtraDraft.amount state the penalties counted up to the payment day by
    dunning.penalties.invoice_penalties (the formal notice's computation) and the 40 € indemnity; a second call
    returns the same pending draft, with one `reminder_proposed` entry."""
    presenter = _services(engine, db_url, tmp_path)
    ctx = presenter.core.ctx
    invoice_id = _paid_late(engine, ctx.business_id)
    expected = invoice_penalties(amount=Decimal("2400.00"), amount_paid=Decimal("2400.00"),
                                 payments=[(PAID_ON, Decimal("2400.00"))], due_date=DUE, today=PAID_ON,
                                 rate_table=builtin_rate_table())  # fmt: skip
    assert expected.penalty is not None and expected.penalty > 0 and expected.indemnity == Decimal("40.00")
    first = claim_penalties(ctx, invoice_id, actor="owner:111")
    assert first.ok and first.amount == expected.penalty + expected.indemnity
    again = claim_penalties(ctx, invoice_id, actor="owner:111")
    assert (again.reminder_id, again.version) == (first.reminder_id, first.version)
    assert first.reminder_id is not None
    penalty, total = format_amount(expected.penalty, "EUR", "fr"), format_amount(first.amount, "EUR", "fr")
    text = presenter.core.full_text(first.reminder_id)
    assert text is not None
    assert f"réglée avec {(PAID_ON - DUE).days}\u00a0jours de retard : pénalités {penalty}" in text
    assert "indemnité forfaitaire 40,00\u00a0€" in text and f"Soit un total de {total}" in text
    card = presenter.card(first.reminder_id, "fr")
    assert card is not None
    assert "⚖️ Réclamation des pénalités" in card.text and penalty in card.text and total in card.text
    labels = [b.label for row in card.buttons for b in row]
    assert labels == ["✅ Envoyer", "✏️ Modifier", "🗑 Ne pas envoyer"]
    (proposed,) = _evidence(engine, "reminder_proposed", first.reminder_id)
    assert proposed["kind"] == "penalty_claim"


def test_penalty_claim_refused_for_a_consumer_or_an_invoice_paid_on_time(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """A consumer's invoice, or one paid on its due date, gets a clear refusal and no reminder is written."""
    ctx = _services(engine, db_url, tmp_path).core.ctx
    consumer = claim_penalties(ctx, _paid_late(engine, ctx.business_id, consumer=True), actor="owner:111")
    assert consumer.error is not None and consumer.error.key == "extra.consumer"
    on_time = _paid_late(engine, ctx.business_id, paid_on=DUE, number="F-2025-008")
    refused = claim_penalties(ctx, on_time, actor="owner:111")
    assert refused.error is not None and refused.error.key == "extra.not_claimable"
    assert claim_penalties(ctx, 999_999, actor="owner:111").error is not None
    with read_session(engine) as session:
        assert session.exec(select(Reminder).where(Reminder.kind != "ladder")).all() == []


async def test_extra_draft_is_sent_through_the_outbox_exactly_once(
    engine: Engine, db_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """Envoyer on a thanks: one outbox row, one SMTP transaction with the thanks' subject; a second tap at the same
    version is stale and sends nothing."""
    presenter = _services(engine, db_url, tmp_path, OutboxDelivery(smtp_config(smtp_server.port)))
    ctx = presenter.core.ctx
    invoice_id = _paid_late(engine, ctx.business_id)
    with read_session(engine) as session:
        inv = session.get(Invoice, invoice_id)
        assert inv is not None
        client_id = inv.client_id
    draft = thank(ctx, client_id, [invoice_id], actor="owner:111")
    assert draft.ok and draft.reminder_id is not None and draft.version is not None
    first = await presenter.send(draft.reminder_id, draft.version, actor="owner:111", lang="fr")
    second = await presenter.send(draft.reminder_id, draft.version, actor="owner:111", lang="fr")
    assert first.status == "done" and second.status == "stale"
    assert len(smtp_server.transactions) == 1
    assert b"Merci pour votre r" in smtp_server.transactions[0].data
    with read_session(engine) as session:
        assert len(session.exec(select(Outbox)).all()) == 1
        reminder = session.get(Reminder, draft.reminder_id)
        assert reminder is not None and reminder.state == ReminderState.SENT and reminder.kind == "thanks"


def test_drop_cancels_with_evidence_and_checks_the_version(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """Ne pas envoyer cancels the draft (evidence reason "dropped"), the card says so with no button; a tap at the
    old version is stale; a ladder reminder cannot be dropped."""
    presenter = _services(engine, db_url, tmp_path)
    ctx = presenter.core.ctx
    draft = claim_penalties(ctx, _paid_late(engine, ctx.business_id), actor="owner:111")
    assert draft.reminder_id is not None and draft.version is not None
    shown = presenter.drop(draft.reminder_id, draft.version, actor="owner:111", lang="fr")
    assert shown.status == "done" and shown.message == "🗑 Brouillon abandonné : rien ne sera envoyé."
    assert shown.card is not None and "Non envoyé : brouillon abandonné" in shown.card.text and not shown.card.buttons
    stale = presenter.drop(draft.reminder_id, draft.version, actor="owner:111", lang="fr")
    assert stale.status == "stale"
    states = _evidence(engine, "reminder_state", draft.reminder_id)
    assert [s["reason"] for s in states] == ["dropped"] and states[0]["to"] == "cancelled"
    with write_session(engine) as session:
        business = session.get(Business, ctx.business_id)
        assert business is not None
        client = make_client(session, business)
        inv = make_invoice(session, client, due=date(2025, 3, 1))
        assert client.id is not None
        ladder = Reminder(business_id=ctx.business_id, client_id=client.id, step="reminder_1", planned_date=TODAY)
        session.add(ladder)
        session.flush()
        assert inv.id is not None and ladder.id is not None
        ladder_id = ladder.id
    refused = presenter.drop(ladder_id, 0, actor="owner:111", lang="fr")
    assert refused.status == "failed"
    with read_session(engine) as session:
        assert session.get(Reminder, ladder_id).state == ReminderState.PENDING  # type: ignore[union-attr]


async def test_statement_import_drafts_a_thanks_per_settled_client(bot: BotHarness) -> None:
    """A CAMT paying three clients' only invoices off: the summary says "3 brouillon(s) « merci » à valider", each
    thanks comes as its card (Envoyer / Modifier / Ne pas envoyer) covering the invoice paid; importing the same
    statement again drafts nothing more."""
    _, ids = seed_invoices(bot.engine, bot.services.business_id)
    data = camt053()
    bot.api.files["st1"] = data
    await bot.owner.send_document("releve.xml", len(data), "st1")
    summary_text = str(bot.api.of("sendMessage")[0].params["text"])
    assert "🙏 3 brouillon(s) « merci » à valider." in summary_text
    thanks = [c for c in bot.cards() if "🙏 Remerciement" in str(c.params["text"])]
    assert len(thanks) == 3
    for card in thanks:
        labels = [b["text"] for b in bot.buttons(card)]
        assert labels == ["✅ Envoyer", "✏️ Modifier", "🗑 Ne pas envoyer"]
        assert all(b["callback_data"].startswith("r1:") for b in bot.buttons(card))
    assert "F-2026-042" in " ".join(str(c.params["text"]) for c in thanks)
    with read_session(bot.engine) as session:
        drafts = session.exec(select(Reminder).where(Reminder.kind == "thanks")).all()
        assert len(drafts) == 3 and all(r.state == ReminderState.PENDING for r in drafts)
    again = bot.services.import_statement(data, "releve.xml", actor="owner:111")
    assert again.thanks == () and "brouillon" not in render_payments(again, "fr")
    assert ids


async def test_drop_button_in_telegram(bot: BotHarness) -> None:
    """🗑 Ne pas envoyer tapped on a thanks card: answered, the card edited without buttons; a forged version is
    answered "Déjà traité." and changes nothing more."""
    _, _ = seed_invoices(bot.engine, bot.services.business_id)
    bot.api.files["st1"] = camt053()
    await bot.owner.send_document("releve.xml", len(camt053()), "st1")
    card = next(c for c in bot.cards() if "🙏 Remerciement" in str(c.params["text"]))
    drop = next(b["callback_data"] for b in bot.buttons(card) if b["text"] == "🗑 Ne pas envoyer")
    await bot.owner.tap(drop, message_id=9)
    assert bot.api.of("answerCallbackQuery")[-1].params.get("text") == "🗑 Brouillon abandonné : rien ne sera envoyé."
    edited = bot.api.of("editMessageText")[-1]
    assert "Non envoyé : brouillon abandonné" in str(edited.params["text"]) and not bot.buttons(edited)
    await bot.owner.tap(drop, message_id=9)
    assert bot.api.of("answerCallbackQuery")[-1].params.get("text") == "Déjà traité."


async def test_slack_statement_thanks_card_and_drop(sqlite_url: str, tmp_path: Path) -> None:
    """Slack: a CAMT shared in the DM brings the summary with its thanks count and the thanks cards (same buttons);
    🗑 Ne pas envoyer is routed to the drop and updates the card in place, with no button left."""
    from tests.integration.slack_helpers import OWNER as SLACK_OWNER
    from tests.integration.slack_helpers import slack_app

    async with slack_app(sqlite_url, tmp_path) as h:
        seed_invoices(h.engine, h.presenter.business_id)
        await h.slack.aio.share_file(SLACK_OWNER, "releve.xml", camt053())
        summary = await h.answer("brouillon(s)")
        assert "3 brouillon(s) « merci » à valider" in summary.plain
        card = await h.answer("Remerciement")
        ids = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        assert [i.split(":")[1] for i in ids] == ["send", "edit", "drop"]
        await h.slack.aio.click(SLACK_OWNER, h.dm, card.ts, ids[2])
        await h.slack.aio.wait_for(
            lambda: "brouillon abandonné" in h.slack.message(h.dm, card.ts).plain, what="the dropped card"
        )
        assert not [b for b in h.slack.message(h.dm, card.ts).blocks if b["type"] == "actions"]
        await h.settle()
        rid = int(ids[2].split(":")[2])
        with read_session(h.engine) as session:
            assert session.get(Reminder, rid).state == ReminderState.CANCELLED  # type: ignore[union-attr]
