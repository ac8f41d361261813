"""The registered letter on a formal notice's card (bot.letter_cards): its button data, its lines, and its buttons
by the letter's state; other cards are left as they are."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.cards import MAX_CALLBACK_BYTES, card_parts
from bot.letter_cards import callback, parse_callback, with_letter
from services.letters import LetterFacts
from storage.reminders import InvoiceLineView, ReminderView

TODAY = date(2026, 11, 24)


def _view(**kw: object) -> ReminderView:
    fields: dict[str, object] = dict(
        reminder_id=7, version=3, business_id=1, client_id=2, client_name="ACME", client_emails=("a@x.fr",),
        client_phone="", client_language="fr", client_profile="standard", step="formal_notice", state="sent",
        planned_date=TODAY, snoozed_until=None, edited_subject=None, edited_body=None, sent_at=None, sent_to=None,
        promise_broken=False,
        invoices=(InvoiceLineView(1, "F-1", date(2026, 9, 1), date(2026, 10, 1), Decimal("1200.00"),
                                  Decimal("0.00"), "EUR", "open", "formal_notice", 54),),
    )  # fmt: skip
    fields.update(kw)
    return ReminderView(**fields)  # type: ignore[arg-type]


def _letter(**kw: object) -> LetterFacts:
    fields: dict[str, object] = dict(
        reminder_id=7, tracking_number="1A12345678901", sent_on=date(2026, 11, 18), first_presented_on=None,
        received_on=None, outcome="sent", has_proof=False, version=2, deadline=date(2026, 11, 26),
    )  # fmt: skip
    fields.update(kw)
    return LetterFacts(**fields)  # type: ignore[arg-type]


def test_button_data_round_trips_and_forgeries_are_refused() -> None:
    """l1:<action>:<notice>:<letter version> fits Telegram's 64 bytes; unknown actions and junk parse to None."""
    data = callback("recv", 123456789012, 999999999)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(data) == ("recv", 123456789012, 999999999)
    for forged in ("l1:zap:1:0", "l1:sent:x:0", "r1:sent:1:0", "l1:sent:1", "", None):
        assert parse_callback(forged) is None


def test_a_sent_notice_without_letter_offers_lrar_envoyee_only() -> None:
    """No letter yet: one row, ✉️ LRAR envoyée at version 0; the card says nothing of a letter."""
    parts = with_letter(card_parts(_view(), None, lang="fr", keyboard="none"), _view(), None, "fr")
    assert [[b.data for b in row] for row in parts.buttons] == [["l1:sent:7:0"]]
    assert not any("recommandée" in line for line in parts.head)


def test_a_posted_letter_shows_its_deadline_and_the_three_outcomes() -> None:
    """Posted: the number, the posting date, the deadline from the posting, and Première présentation then AR reçu /
    non réclamé / retourné."""
    parts = with_letter(card_parts(_view(), None, lang="fr", keyboard="none"), _view(), _letter(), "fr")
    assert [b.data for b in parts.buttons[-1]] == ["l1:pres:7:2", "l1:recv:7:2", "l1:uncl:7:2", "l1:ret:7:2"]
    assert parts.buttons[-1][0].label == "📮 Première présentation"
    text = "\n".join(parts.head)
    assert "Lettre recommandée n° 1A12345678901 envoyée le 18/11/2026." in text
    assert "jusqu'au 26/11/2026 (compté depuis l'envoi" in text


def test_a_received_letter_has_no_more_buttons_and_says_so() -> None:
    """Received with its scan: the receipt line, the deadline from the first presentation, no letter button."""
    letter = _letter(outcome="received", received_on=date(2026, 11, 20), first_presented_on=date(2026, 11, 20),
                     has_proof=True, deadline=date(2026, 11, 28))  # fmt: skip
    parts = with_letter(card_parts(_view(), None, lang="fr", keyboard="none"), _view(), letter, "fr")
    assert parts.buttons == ()
    text = "\n".join(parts.head)
    assert "présentée le 20/11/2026" in text and "signé le 20/11/2026 (scan conservé)" in text
    assert "jusqu'au 28/11/2026 (compté depuis la première présentation)" in text


def test_other_cards_menus_and_cancelled_notices_are_left_alone() -> None:
    """A reminder_1 card, a formal notice's snooze menu and a cancelled notice get no letter line nor button."""
    first = card_parts(_view(step="reminder_1"), None, lang="fr", keyboard="none")
    assert with_letter(first, _view(step="reminder_1"), _letter(), "fr") == first
    menu = card_parts(_view(state="pending"), None, lang="fr", keyboard="snooze")
    assert not any(b.data.startswith("l1:") for row in with_letter(menu, _view(), None, "fr").buttons for b in row)
    cancelled = card_parts(_view(state="cancelled"), None, lang="fr", keyboard="none")
    assert with_letter(cancelled, _view(state="cancelled"), _letter(), "fr") == cancelled
