"""Doubtful statement line cards: button data within Telegram's 64 bytes and strictly parsed, the question with its
three buttons, the other candidates, the line once settled (in French and English)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.statement_cards import callback, parse_callback, render_decision, render_doubt
from services.statements_chat import DoubtCard, LineDecision
from storage.payments_in import Candidate, LineView

LINE = LineView("a" * 64, date(2026, 11, 9), Decimal("75.50"), "EUR", "Studio <Nord>", "VIR F-2026-052")
CANDIDATES = tuple(Candidate(i, f"FA-{i}", f"Client {i}", Decimal("75.50")) for i in range(78, 84))


def test_callback_data_fits_and_round_trips() -> None:
    """The largest ids still fit in 64 bytes and parse back."""
    data = callback("yes", 10**12 - 1, 10**12 - 1)
    assert len(data.encode()) <= 64 and parse_callback(data) == ("yes", 10**12 - 1, 10**12 - 1)


@pytest.mark.parametrize("data", [None, "", "p1:pay:1:2", "p1:yes:x:2", "p1:yes:1", "r1:yes:1:2", "p1:yes:1:2:3"])
def test_forged_or_foreign_data_is_not_ours(data: str | None) -> None:
    """Anything but `p1:<known action>:<id>:<id>` is refused."""
    assert parse_callback(data) is None


def test_question_card_has_yes_other_and_ignore() -> None:
    """The line (payer escaped), "C'est la facture FA-78 ?", Oui on FA-78, Autre facture, Ignorer."""
    card = render_doubt(DoubtCard(5, LINE, CANDIDATES), "fr")
    assert "75,50" in card.text and "Studio &lt;Nord&gt;" in card.text and "« VIR F-2026-052 »" in card.text
    assert "C'est la facture FA-78 (Client 78" in card.text
    data = [b.data for row in card.buttons for b in row]
    assert data == ["p1:yes:5:78", "p1:alt:5:0", "p1:ign:5:0"]


def test_other_candidates_one_button_each() -> None:
    """Autre facture: the five other candidates, each paying its own invoice, then Ignorer."""
    card = render_doubt(DoubtCard(5, LINE, CANDIDATES), "en", others=True)
    data = [b.data for row in card.buttons for b in row]
    assert data == [f"p1:yes:5:{i}" for i in range(79, 84)] + ["p1:ign:5:0"]
    assert "Which invoice" in card.text


def test_no_candidate_leaves_only_ignore() -> None:
    """With no open invoice to offer, the card says so and only Ignorer remains."""
    card = render_doubt(DoubtCard(5, LINE, ()), "fr")
    assert "Aucune facture ouverte" in card.text and [b.data for row in card.buttons for b in row] == ["p1:ign:5:0"]


def test_settled_line_shows_what_was_done() -> None:
    """Recorded with an excess: the payment and the over-payment flagged; stale: "Déjà traité."; unknown: no card."""
    said, card = render_decision(LineDecision("done", "confirmed", LINE, "FA-80", Decimal("70.00"), Decimal("5.50")),
                                 "fr")  # fmt: skip
    assert said == "C'est fait." and card is not None and not card.buttons
    assert "70,00" in card.text and "FA-80" in card.text and "Trop-perçu de 5,50" in card.text
    said, card = render_decision(LineDecision("stale", "none", LINE), "fr")
    assert said == "Déjà traité." and card is not None and "Déjà traité." in card.text
    said, card = render_decision(LineDecision("unknown", "none"), "en")
    assert said == "This button is not recognised; nothing was done." and card is None
