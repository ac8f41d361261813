"""Doubtful statement lines settled by the owner, chat-free: a statement told from an invoice import by its
content; a line confirmed on an invoice becomes its payment, ignored it records nothing; a second decision is stale;
another business's line or invoice is refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.slack.actions import Click
from bot.slack.statements import statement_button
from services.payments import import_statement
from services.statements_chat import confirm_line, doubtful_cards, ignore_line, is_statement
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, Invoice, Payment, StatementLineRecord
from tests.bot_harness import BotHarness
from tests.factories import make_business, make_client, make_invoice
from tests.integration.slack_helpers import OWNER as SLACK_OWNER
from tests.integration.slack_helpers import slack_app
from tests.samples.einvoices import ubl_xml
from tests.samples.statements import bank_csv, camt053, ofx1

DUE = date(2026, 10, 15)


def seed_invoices(engine: Engine, business_id: int | None = None) -> tuple[int, dict[str, int]]:
    """Open invoices (of a new business, or of `business_id`) the CAMT sample pays, but for one doubtful line
    (75,50 €: FA-78 of Studio Nord or FA-79 of Garage Ouest): (business id, invoice ids by number)."""
    with write_session(engine) as session:
        business = make_business(session) if business_id is None else session.get(Business, business_id)
        assert business is not None and business.id is not None
        wanted = {"F-2026-042": ("Boulangerie Martin SARL", "1200.00"), "F-2026-043": ("Dupont & Fils SAS", "1000.00"),
                  "FA-77": ("Café Lumière", "2450.00"), "FA-78": ("Studio Nord", "75.50"),
                  "FA-79": ("Garage Ouest", "75.50")}  # fmt: skip
        ids: dict[str, int] = {}
        for number, (client, amount) in wanted.items():
            inv = make_invoice(session, make_client(session, business, name=client), due=DUE, amount=amount,
                               number=number)  # fmt: skip
            assert inv.id is not None
            ids[number] = inv.id
        return business.id, ids


def seed_doubtful(engine: Engine) -> tuple[int, dict[str, int]]:
    """`seed_invoices`, and the CAMT sample imported: one doubtful line stored."""
    bid, ids = seed_invoices(engine)
    summary = import_statement(engine, bid, camt053(), "releve.xml", actor="test")
    assert len(summary.doubtful) == 1
    return bid, ids


def test_statements_are_told_from_invoice_imports() -> None:
    """CAMT, OFX and a bank's CSV export are statements; an invoice CSV and a UBL invoice are not."""
    assert is_statement(camt053(), "releve.xml")
    assert is_statement(ofx1(), "releve.ofx")
    assert is_statement(bank_csv("boursorama"), "export.csv")
    assert not is_statement(b"invoice_number;client_name;issue_date;due_date;amount\nF-1;A;01/10/2026;;10\n", "f.csv")
    assert not is_statement(ubl_xml(), "facture.xml")


def test_doubtful_line_is_offered_with_todays_candidates(engine: Engine) -> None:
    """The stored doubtful line comes back with both 75,50 € invoices first; once FA-78 is paid, it is no longer
    offered."""
    bid, ids = seed_doubtful(engine)
    cards, total = doubtful_cards(engine, bid)
    assert total == 1 and cards[0].line.amount == Decimal("75.50")
    assert [c.number for c in cards[0].candidates[:2]] == ["FA-78", "FA-79"]
    with write_session(engine) as session:
        inv = session.get(Invoice, ids["FA-78"])
        assert inv is not None
        inv.amount_paid, inv.state = inv.amount, "paid"
        session.add(inv)
    cards, _ = doubtful_cards(engine, bid)
    assert "FA-78" not in [c.number for c in cards[0].candidates]


def test_confirm_records_the_payment_once(engine: Engine) -> None:
    """Oui: FA-79 is paid, its payment points at the line, the line is recorded; a second tap is stale and records
    nothing more."""
    bid, ids = seed_doubtful(engine)
    cards, _ = doubtful_cards(engine, bid)
    row_id = cards[0].row_id
    done = confirm_line(engine, bid, row_id, ids["FA-79"], actor="owner")
    assert done.ok and done.number == "FA-79" and done.amount == Decimal("75.50") and done.excess == 0
    again = confirm_line(engine, bid, row_id, ids["FA-78"], actor="owner")
    assert again.status == "stale" and again.line is not None
    with read_session(engine) as session:
        payments = session.exec(select(Payment).where(Payment.statement_line_id == row_id)).all()
        assert [(p.invoice_id, p.amount) for p in payments] == [(ids["FA-79"], Decimal("75.50"))]
        assert session.get(StatementLineRecord, row_id).outcome == "recorded"  # type: ignore[union-attr]
        assert session.get(Invoice, ids["FA-78"]).amount_paid == Decimal("0.00")  # type: ignore[union-attr]
        kinds = [e.kind for e in session.exec(select(EvidenceEntry)).all()]
    assert kinds.count("statement_line_confirmed") == 1
    assert doubtful_cards(engine, bid) == ([], 0)


def test_confirm_on_a_smaller_invoice_flags_the_excess(engine: Engine) -> None:
    """A 75,50 € line confirmed on an invoice owing 70 € pays it off and flags 5,50 € (line "overpaid")."""
    bid, _ = seed_doubtful(engine)
    with write_session(engine) as session:
        business = session.get(Business, bid)
        assert business is not None
        small = make_invoice(session, make_client(session, business, name="Menuiserie Sud"), due=DUE, amount="70.00",
                             number="FA-80")  # fmt: skip
        assert small.id is not None
        small_id = small.id
    row_id = doubtful_cards(engine, bid)[0][0].row_id
    done = confirm_line(engine, bid, row_id, small_id, actor="owner")
    assert done.ok and done.amount == Decimal("70.00") and done.excess == Decimal("5.50")
    with read_session(engine) as session:
        assert session.get(StatementLineRecord, row_id).outcome == "overpaid"  # type: ignore[union-attr]


def test_ignore_records_nothing_but_the_decision(engine: Engine) -> None:
    """Ignorer: no payment, the line is "ignored" with its evidence entry; a second tap is stale."""
    bid, _ = seed_doubtful(engine)
    row_id = doubtful_cards(engine, bid)[0][0].row_id
    assert ignore_line(engine, bid, row_id, actor="owner").ok
    assert ignore_line(engine, bid, row_id, actor="owner").status == "stale"
    with read_session(engine) as session:
        assert session.exec(select(Payment).where(Payment.statement_line_id == row_id)).all() == []
        assert session.get(StatementLineRecord, row_id).outcome == "ignored"  # type: ignore[union-attr]
        kinds = [e.kind for e in session.exec(select(EvidenceEntry)).all()]
    assert kinds.count("statement_line_ignored") == 1


@pytest.mark.parametrize("forged", ["line", "invoice"])
def test_another_business_line_or_invoice_is_refused(engine: Engine, forged: str) -> None:
    """A button naming another business's line, or another business's invoice, is unknown and changes nothing."""
    bid, ids = seed_doubtful(engine)
    other, other_ids = seed_doubtful(engine)
    row_id = doubtful_cards(engine, bid)[0][0].row_id
    other_row = doubtful_cards(engine, other)[0][0].row_id
    if forged == "line":
        result = confirm_line(engine, bid, other_row, ids["FA-79"], actor="owner")
    else:
        result = confirm_line(engine, bid, row_id, other_ids["FA-79"], actor="owner")
    assert result.status == "unknown" and not result.ok
    assert ignore_line(engine, bid, other_row, actor="owner").status == "unknown"
    assert doubtful_cards(engine, bid)[1] == 1 and doubtful_cards(engine, other)[1] == 1


async def test_telegram_statement_upload_card_and_taps(bot: BotHarness) -> None:
    """A CAMT sent to the bot: the payments summary, then one "C'est la facture FA-78 ?" card; Autre facture lists
    FA-79; tapping it records the payment and updates the card; a second tap hears "Déjà traité."."""
    _, ids = seed_invoices(bot.engine, bot.services.business_id)
    data = camt053()
    bot.api.files["st1"] = data
    await bot.owner.send_document("releve.xml", len(data), "st1")
    sent = bot.api.of("sendMessage")
    assert "3 paiement" in str(sent[0].params["text"]) and "F-2026-042" in str(sent[0].params["text"])
    # The thanks drafts and the late payments' tasks come first (tests/integration/test_owner_tasks_chat.py).
    cards = [c for c in bot.cards() if any(b["callback_data"].startswith("p1:") for b in bot.buttons(c))]
    assert len(cards) == 1
    text = str(cards[0].params["text"])
    assert "75,50" in text and "C'est la facture FA-78" in text and "Studio Nord" in text
    labels = {b["text"]: b["callback_data"] for b in bot.buttons(cards[0])}
    assert set(labels) == {"✅ Oui", "🔎 Autre facture", "🚫 Ignorer"}
    assert all(len(d.encode()) <= 64 and d.startswith("p1:") for d in labels.values())
    await bot.owner.tap(labels["🔎 Autre facture"], message_id=7)
    other = bot.api.of("editMessageText")[-1]
    choices = {b["text"]: b["callback_data"] for b in bot.buttons(other)}
    fa79 = next(d for label, d in choices.items() if label.startswith("FA-79"))
    assert fa79.endswith(f":{ids['FA-79']}")
    await bot.owner.tap(fa79, message_id=7)
    assert bot.api.of("answerCallbackQuery")[-1].params.get("text") == "C'est fait."
    edited = bot.api.of("editMessageText")[-1]
    assert "enregistré sur la facture FA-79" in str(edited.params["text"]) and not bot.buttons(edited)
    with read_session(bot.engine) as session:
        assert session.get(Invoice, ids["FA-79"]).amount_paid == Decimal("75.50")  # type: ignore[union-attr]
    await bot.owner.tap(labels["✅ Oui"], message_id=7)
    assert bot.api.of("answerCallbackQuery")[-1].params.get("text") == "Déjà traité."
    with read_session(bot.engine) as session:
        assert session.get(Invoice, ids["FA-78"]).amount_paid == Decimal("0.00")  # type: ignore[union-attr]


async def test_telegram_invoice_csv_still_imports_invoices(bot: BotHarness) -> None:
    """An invoice CSV sent to the bot is not taken for a statement: the invoice import reports it."""
    data = b"invoice_number;client_name;issue_date;due_date;amount\nF-1;Client A;01/10/2026;31/10/2026;10,00\n"
    bot.api.files["inv1"] = data
    await bot.owner.send_document("factures.csv", len(data), "inv1")
    assert "Import terminé" in str(bot.api.of("sendMessage")[-1].params["text"])


def _button(message: Any, prefix: str) -> str:
    ids = [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    return next(i for i in ids if i.startswith(prefix))


async def test_slack_statement_share_card_and_clicks(sqlite_url: str, tmp_path: Path) -> None:
    """A CAMT shared in the DM: the summary, then the doubtful line's card; Oui records FA-78 and updates the card;
    a second click hears "Déjà traité." and records nothing more."""
    async with slack_app(sqlite_url, tmp_path) as h:
        _, ids = seed_invoices(h.engine, h.presenter.business_id)
        await h.slack.aio.share_file(SLACK_OWNER, "releve.xml", camt053())
        summary = await h.answer("paiement")
        assert "F-2026-042" in summary.plain
        card = await h.answer("C'est la facture FA-78")
        yes = _button(card, "p1:yes:")
        assert yes.endswith(f":{ids['FA-78']}") and _button(card, "p1:alt:") and _button(card, "p1:ign:")
        await h.slack.aio.click(SLACK_OWNER, h.dm, card.ts, yes)
        await h.slack.aio.wait_for(
            lambda: "enregistré sur la facture FA-78" in h.slack.message(h.dm, card.ts).plain, what="recorded"
        )
        # The card has no button left: a second click (a double click, another owner's copy) goes straight in.
        await statement_button(h.ctx, Click(SLACK_OWNER, h.dm, card.ts, "fr"), yes)
        await h.slack.aio.wait_ephemeral(SLACK_OWNER, "Déjà traité.")
        await h.settle()
        with read_session(h.engine) as session:
            assert session.get(Invoice, ids["FA-78"]).amount_paid == Decimal("75.50")  # type: ignore[union-attr]
            assert len(session.exec(select(Payment).where(Payment.invoice_id == ids["FA-78"])).all()) == 1


async def test_telegram_ignore_and_forged_line(bot: BotHarness) -> None:
    """Ignorer on the card: "C'est fait.", the card says the transfer is ignored, no payment; a button naming
    another business's line is "non reconnu" and changes nothing there."""
    seed_invoices(bot.engine, bot.services.business_id)
    other, _ = seed_doubtful(bot.engine)
    other_row = doubtful_cards(bot.engine, other)[0][0].row_id
    bot.api.files["st2"] = camt053()
    await bot.owner.send_document("releve.xml", len(camt053()), "st2")
    labels = {b["text"]: b["callback_data"] for b in bot.buttons(bot.cards()[-1])}
    await bot.owner.tap(labels["🚫 Ignorer"], message_id=9)
    assert bot.api.of("answerCallbackQuery")[-1].params.get("text") == "C'est fait."
    assert "Virement ignoré" in str(bot.api.of("editMessageText")[-1].params["text"])
    edits = len(bot.api.of("editMessageText"))
    await bot.owner.tap(f"p1:ign:{other_row}:0", message_id=9)
    assert "pas reconnu" in str(bot.api.of("answerCallbackQuery")[-1].params.get("text"))
    assert len(bot.api.of("editMessageText")) == edits and doubtful_cards(bot.engine, other)[1] == 1
    with read_session(bot.engine) as session:
        assert session.exec(select(Payment).where(Payment.amount == Decimal("75.50"))).all() == []
