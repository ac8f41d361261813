"""Cards of the drafts outside the ladder (bot.cards): the head says what the draft is, the invoices are shown as
paid or with what is left (never days of delay), and the buttons are Envoyer / Modifier / Ne pas envoyer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from bot.cards import card_parts, keyboard_for, parse_callback, telegram_card
from bot.slack.blocks import card_blocks
from storage.reminders import InvoiceLineView, ReminderView

TODAY = date(2026, 11, 24)


@dataclass(frozen=True)
class PlainDraft:
    subject: str
    text: str


def _view(kind: str, *, paid: str = "1200.00") -> ReminderView:
    line = InvoiceLineView(1, "F-1", date(2026, 9, 1), date(2026, 10, 1), Decimal("1200.00"), Decimal(paid), "EUR",
                           "paid", kind, 54)  # fmt: skip
    return ReminderView(
        reminder_id=7, version=3, business_id=1, client_id=2, client_name="Garage des Alpes", client_emails=("a@x.fr",),
        client_phone="", client_language="fr", client_profile="key_account", step=kind, state="pending",
        planned_date=TODAY, snoozed_until=None, edited_subject=None, edited_body=None, sent_at=None, sent_to=None,
        promise_broken=False, invoices=(line, line), kind=kind,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("thanks", "🙏 Remerciement"),
        ("penalty_claim", "⚖️ Réclamation des pénalités"),
        ("plan_schedule", "📅 Échéancier proposé"),
        ("plan_reminder", "⏰ Échéance manquée"),
    ],
)
def test_head_and_buttons_of_each_kind(kind: str, title: str) -> None:
    """The title names the kind; the buttons are Envoyer / Modifier / Ne pas envoyer at the card's version, with
    none of the ladder's (Payée, Litige, Promesse, Script d'appel); no total owed nor days of delay."""
    card = telegram_card(card_parts(_view(kind), PlainDraft("Sujet", "Bonjour"), lang="fr"), "fr")
    assert card.text.startswith(f"<b>Garage des Alpes</b> · {title}")
    assert "📄 F-1 · 1\u00a0200,00\u00a0€ · échéance 01/10/2026 · réglée" in card.text
    assert "retard" not in card.text and "Total dû" not in card.text
    assert [[b.label for b in row] for row in card.buttons] == [["✅ Envoyer", "✏️ Modifier", "🗑 Ne pas envoyer"]]
    assert [parse_callback(b.data) for b in card.buttons[0]] == [("send", 7, 3), ("edit", 7, 3), ("drop", 7, 3)]


def test_broken_edited_and_cut_keyboards() -> None:
    """A draft that does not render can only be dropped; after an edit, Envoyer / Annuler as for any reminder; a
    long body adds Voir la suite."""
    view = _view("thanks", paid="200.00")
    assert [b.label for row in keyboard_for("broken", view, "fr") for b in row] == ["🗑 Ne pas envoyer"]
    assert [b.label for row in keyboard_for("edited", view, "fr") for b in row] == ["✅ Envoyer", "↩️ Annuler"]
    assert keyboard_for("main", view, "fr", cut=True)[-1][0].label == "📄 Voir la suite"
    card = telegram_card(card_parts(view, PlainDraft("Sujet", "Bonjour"), lang="fr"), "fr")
    assert "· reste dû 1\u00a0000,00\u00a0€" in card.text


def test_slack_blocks_carry_the_same_buttons() -> None:
    """Slack lays out the same CardParts: its buttons' action ids are the Telegram callback data."""
    parts = card_parts(_view("penalty_claim"), PlainDraft("Sujet", "Bonjour"), lang="fr")
    ids = [e["action_id"] for b in card_blocks(parts, "fr") if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["r1:send:7:3", "r1:edit:7:3", "r1:drop:7:3"]
