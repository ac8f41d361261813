"""One behaviour, two chats: the owner's scenarios written once and run through Telegram and through Slack, each
against `relance run` as a process, a real SMTP server on loopback and the SQLite file the process writes."""

from __future__ import annotations

import email
import email.policy
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.scenarios.conftest import Chat
from tests.e2e.scenarios.drivers import Card, card_for
from tests.e2e.support import (
    INVOICES,
    PRIVATE,
    TODAY,
    cents,
    evidence_rows,
    expected_totals,
    invoice_row,
    invoices_csv,
    reminder_row,
    status_figures,
    table_count,
)

pytestmark = pytest.mark.e2e

#: The test CSV and one more overdue client, so that each card action has a card of its own.
SCENARIO_INVOICES = [
    *INVOICES,
    ("F-2026-106", "Imprimerie Roux", "compta@roux.example", date(2026, 9, 20), date(2026, 10, 31), "640.00", ""),
]
REASON = "Peinture de la porte non conforme au devis"
PROMISED = TODAY + timedelta(days=21)


def entries(chat: Chat, kind: str) -> list[dict[str, Any]]:
    """The evidence entries of one kind, their payload decoded."""
    rows = evidence_rows(chat.env.db_path)
    return [{**row, "payload": json.loads(str(row["payload"]))} for row in rows if row["kind"] == kind]


def plain_body(data: bytes) -> str:
    """The text/plain body of a raw e-mail, with LF line ends and no trailing newline."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage), "the e-mail has no text/plain part"
    return str(part.get_content()).replace("\r\n", "\n").rstrip("\n")


async def test_the_owner_sends_once_and_a_second_tap_sends_nothing(chat: Chat) -> None:
    """CSV sent in the chat, /status equal to the CSV's figures; Envoyer mails the drafted text once, the card says
    when and to whom; a second tap on the old button answers "Déjà traité." and queues nothing."""
    chat.start()
    assert await chat.driver.first_digest() == []  # an empty database: nothing to chase
    report = await chat.driver.import_csv(invoices_csv())
    assert "5 facture(s) créée(s)" in report and "❌" not in report, report
    assert status_figures(await chat.driver.status()) == expected_totals()

    card = card_for(await chat.driver.ask_digest(), "F-2026-101")
    draft = chat.driver.draft(card)
    assert draft.startswith("Bonjour,") and "F-2026-101" in draft, draft
    await chat.driver.send(card)
    sent = await chat.driver.wait_card(card, "✅ Envoyé le")
    assert sent.buttons == {}
    now = datetime.now(ZoneInfo("Europe/Paris"))  # the stamp is the real moment of sending
    assert re.search(rf"✅ Envoyé le {now:%d/%m} à \d\d:\d\d à compta@martin\.example", sent.shown), sent.shown
    (mail,) = chat.smtp.accepted
    assert mail.rcpt_tos == ["compta@martin.example"]
    assert plain_body(mail.data) == draft  # the card showed exactly what left

    assert await chat.driver.tap_again(card, "Envoyer") == "Déjà traité."
    # The service refused the tap before answering it: no second e-mail is queued, so none can leave.
    assert table_count(chat.env.db_path, "outbox") == 1
    assert len(chat.smtp.transactions) == 1
    assert "✅ Envoyé le" in chat.driver.current(card).shown
    (approved,) = entries(chat, "email_queued")
    assert approved["actor"] == chat.driver.owner_actor
    assert chat.driver.api_errors() == []


async def test_snooze_paid_dispute_and_promise_change_the_card_and_the_database(chat: Chat) -> None:
    """+3 days, a partial then a full payment, a dispute with its reason and a promise with its date: each card
    says so, the database holds it to the cent and the day, the evidence names the owner, no e-mail leaves."""
    chat.env.import_csv(invoices_csv(SCENARIO_INVOICES))
    chat.start()
    cards = await chat.driver.first_digest()
    db = chat.env.db_path

    snoozed = card_for(cards, "F-2026-101")
    await chat.driver.snooze(snoozed, 3)
    target = TODAY + timedelta(days=3)  # a Friday: no business-day shift
    await chat.driver.wait_card(snoozed, f"⏰ Reportée au {target:%d/%m/%Y}.")
    assert reminder_row(db, snoozed.reminder_id)["snoozed_until"] == target.isoformat()

    leroy = card_for(cards, "F-2026-104")  # 2 000,00 € of which 750,25 € already paid
    answer = await chat.driver.pay(leroy, "500,00")
    assert "Paiement de 500,00 € enregistré. Reste dû : 749,75 €." in _spaces(answer), answer
    still = await chat.driver.wait_card(leroy, "749,75")
    assert "Envoyer" in " ".join(still.buttons), still.buttons
    assert cents(invoice_row(db, "F-2026-104")["amount_paid"]) == Decimal("1250.25")
    answer = await chat.driver.pay(leroy, None)
    assert "Paiement de 749,75 € enregistré : facture(s) soldée(s)" in _spaces(answer), answer
    paid = await chat.driver.wait_card(leroy, "💶 Payée.")
    assert paid.buttons == {}
    invoice = invoice_row(db, "F-2026-104")
    assert invoice["state"] == "paid" and cents(invoice["amount_paid"]) == Decimal("2000.00")

    dupont = card_for(cards, "F-2026-102")
    assert "Litige enregistré" in await chat.driver.dispute(dupont, REASON)
    assert (await chat.driver.wait_card(dupont, f"⚖️ En litige : {REASON}")).buttons == {}
    invoice = invoice_row(db, "F-2026-102")
    assert (invoice["state"], invoice["dispute_reason"]) == ("disputed", REASON)

    roux = card_for(cards, "F-2026-106")
    assert "Promesse notée" in await chat.driver.promise(roux, PROMISED)
    assert (await chat.driver.wait_card(roux, f"🤝 Promesse de paiement au {PROMISED:%d/%m/%Y}.")).buttons == {}
    invoice = invoice_row(db, "F-2026-106")
    assert (invoice["state"], invoice["promised_until"]) == ("promised", PROMISED.isoformat())

    payments = entries(chat, "payment_recorded")
    assert [(p["payload"]["amount"], p["payload"]["balance"]) for p in payments] == [
        ("500.00", "749.75"),
        ("749.75", "0.00"),
    ]
    (opened,) = entries(chat, "dispute_opened")
    assert opened["payload"].items() >= {"number": "F-2026-102", "reason": REASON, "to": "disputed"}.items()
    (promise,) = entries(chat, "promise_recorded")
    expected = {"number": "F-2026-106", "until": PROMISED.isoformat(), "to": "promised"}
    assert promise["payload"].items() >= expected.items()
    for entry in [*payments, opened, promise]:
        assert entry["actor"] == chat.driver.owner_actor, entry
    assert chat.smtp.transactions == []
    assert chat.driver.api_errors() == []


async def test_a_stranger_is_refused_once_and_gets_nothing_else(chat: Chat) -> None:
    """A stranger taps a card, asks for the digest and the status, writes and sends a CSV: one "Ce bot est privé.",
    one evidence entry naming them, no card changed, nothing imported, no e-mail."""
    chat.env.import_csv(invoices_csv())
    chat.start()
    cards = await chat.driver.first_digest()
    before = [_as_shown(chat, card) for card in cards]
    imported = table_count(chat.env.db_path, "invoice")

    assert await chat.driver.stranger_tries(card_for(cards, "F-2026-101")) == [PRIVATE]
    assert [_as_shown(chat, card) for card in cards] == before
    (refused,) = entries(chat, "access_refused")
    assert refused["payload"]["user_id"] == chat.driver.stranger_id, refused
    assert table_count(chat.env.db_path, "invoice") == imported
    assert chat.smtp.transactions == []
    assert chat.driver.api_errors() == []


def _as_shown(chat: Chat, card: Card) -> tuple[str, dict[str, str], int]:
    """A card's text, buttons and edit count as they stand."""
    now = chat.driver.current(card)
    return now.shown, now.buttons, now.edits


def _spaces(text: str) -> str:
    """French thin and non-breaking spaces as plain spaces (amounts are written with them)."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")
