"""The owner's task cards (bot/task_cards.py): button data within Telegram's 64 bytes and refused when forged, each
kind's question and buttons in French and English, the invoices to choose, and the card once answered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.task_cards import ANSWERS, VIEWS, callback, parse_callback, render_list, render_outcome, render_task
from services.core import Msg
from services.tasks import ACTIONS, TaskCard, TaskOutcome
from storage.owner_tasks import TaskView
from storage.task_actions import Candidate


def _view(kind: str, payload: dict[str, Any], *, state: str = "open", version: int = 0) -> TaskView:
    return TaskView(task_id=123456789012, kind=kind, version=version, state=state, outcome=None, client_id=4,
                    client_name="Boulangerie <Martin>", invoice_id=9, number="F-2026-042", currency="EUR",
                    payload=payload, created_at=datetime(2026, 11, 24, tzinfo=UTC))  # fmt: skip


CANDIDATES = (Candidate(7, "F-2026-050", Decimal("320.00"), "EUR"), Candidate(8, "F-2026-051", Decimal("80.00"), "EUR"))
CARDS = {
    "overpayment": TaskCard(_view("overpayment", {"amount": "200.00", "paid_on": "2026-11-20"}), CANDIDATES),
    "late_payment": TaskCard(_view("late_payment", {"days_late": 36})),
    "promise_broken": TaskCard(_view("promise_broken", {"until": "2026-11-20", "balance": "1200.00"})),
    "instalment_missed": TaskCard(_view("instalment_missed", {"number": 2, "due": "2026-11-01", "amount": "600.00"})),
    "credit_note": TaskCard(_view("credit_note", {"amount": "150.00", "referenced": "F-9999"}), CANDIDATES),
}


def _data(card: Any) -> list[str]:
    return [b.data for row in card.buttons for b in row]


def test_callback_round_trips_within_64_bytes() -> None:
    """Every action with the largest ids fits in 64 bytes and parses back to the same values."""
    for action in ANSWERS.keys() - {"asg"} | VIEWS:
        data = callback(action, 999_999_999_999, 999_999_999)
        assert len(data.encode()) <= 64 and parse_callback(data) == (action, 999_999_999_999, 999_999_999, None)
    data = callback("asg", 999_999_999_999, 999_999_999, 999_999_999_999)
    assert len(data.encode()) <= 64 and parse_callback(data) == ("asg", 999_999_999_999, 999_999_999, 999_999_999_999)


@pytest.mark.parametrize(
    "data",
    [None, "", "r1:send:1:0", "t1:send:1:0", "t1:ok:1", "t1:ok:x:0", "t1:ok:1:0:5", "t1:asg:1:0", "t1:ok:1:0 ",
     "t1:asg:1:0:-3", "t1:ok:1234567890123:0"],
)  # fmt: skip
def test_forged_or_malformed_data_is_refused(data: str | None) -> None:
    """Data that is not ours, an unknown action, an invoice on a button that takes none (or none on Affecter's
    choice), or ids too long: not parsed."""
    assert parse_callback(data) is None


def test_the_buttons_answer_what_the_service_takes() -> None:
    """Each kind's buttons map onto the answers services.tasks accepts for that kind (no dead button)."""
    for kind, card in CARDS.items():
        rendered = render_task(card, "fr")
        answers = {ANSWERS[p[0]] for d in _data(rendered) if (p := parse_callback(d)) and p[0] in ANSWERS}
        assert answers <= ACTIONS[kind], kind


def test_each_kind_asks_its_question_in_french_and_english() -> None:
    """The question names the invoice, the client (escaped) and the amounts; the buttons are the ones asked for."""
    fr = {kind: render_task(card, "fr") for kind, card in CARDS.items()}
    assert "Trop-perçu" in fr["overpayment"].text and "200,00" in fr["overpayment"].text
    assert "Boulangerie &lt;Martin&gt;" in fr["overpayment"].text and "20/11/2026" in fr["overpayment"].text
    assert [b.label for row in fr["overpayment"].buttons for b in row] == [
        "↩️ Remboursé", "➡️ Affecter à une autre facture", "💼 Garder en avoir"]  # fmt: skip
    assert "36 jour(s) de retard" in fr["late_payment"].text and "40 €" in fr["late_payment"].text
    assert [b.label for row in fr["late_payment"].buttons for b in row] == [
        "⚖️ Réclamer les pénalités", "🚫 Ne pas réclamer"]  # fmt: skip
    assert "20/11/2026" in fr["promise_broken"].text and _data(fr["promise_broken"]) == ["t1:ok:123456789012:0"]
    assert "n° 2 du 01/11/2026" in fr["instalment_missed"].text
    assert [b.label for row in fr["instalment_missed"].buttons for b in row] == [
        "🔔 Relancer", "⏹️ Terminer l'échéancier"]  # fmt: skip
    assert "F-9999" in fr["credit_note"].text
    assert _data(fr["credit_note"]) == ["t1:asg:123456789012:0:7", "t1:asg:123456789012:0:8", "t1:ign:123456789012:0"]
    en = render_task(CARDS["overpayment"], "en")
    assert "Over-payment" in en.text and "€200.00" in en.text and en.buttons[0][0].label == "↩️ Refunded"


def test_assign_lists_the_clients_invoices_or_is_not_offered() -> None:
    """Affecter shows the client's open invoices and Retour; with none, the over-payment card has no Affecter."""
    choose = render_task(CARDS["overpayment"], "fr", choose=True)
    assert _data(choose) == ["t1:asg:123456789012:0:7", "t1:asg:123456789012:0:8", "t1:back:123456789012:0"]
    assert choose.buttons[0][0].label == "F-2026-050 · reste dû 320,00\u00a0€"
    alone = render_task(TaskCard(CARDS["overpayment"].view), "fr")
    assert all(not d.startswith("t1:pick:") for d in _data(alone))
    lonely_credit = render_task(TaskCard(CARDS["credit_note"].view), "fr")
    assert "aucune facture ouverte" in lonely_credit.text and _data(lonely_credit) == ["t1:ign:123456789012:0"]


def test_an_answered_task_has_no_button_left() -> None:
    """Done: "C'est fait." and the card says what was done, no button; stale: "Déjà traité." and no button."""
    done_view = _view("overpayment", {"amount": "200.00", "paid_on": "2026-11-20"}, state="done", version=1)
    done = TaskOutcome("done", Msg("tasks.done.assigned", amount=Decimal("200.00"), number="F-2026-050"),
                       TaskCard(done_view))  # fmt: skip
    said, card = render_outcome(done, "fr")
    assert said == "C'est fait." and card is not None and not card.buttons
    assert "200,00\u00a0€ affectés à la facture F-2026-050" in card.text
    stale_said, stale = render_outcome(TaskOutcome("stale", Msg("cb.already"), TaskCard(done_view)), "fr")
    assert stale_said == "Déjà traité." and stale is not None and not stale.buttons
    refused, kept = render_outcome(TaskOutcome("invalid", Msg("tasks.refused", reason="trop grand"),
                                               CARDS["credit_note"]), "fr")  # fmt: skip
    assert "Rien n'a été modifié" in refused and kept is None


def test_the_list_says_how_many_more() -> None:
    """Twenty shown of twenty-two: the header counts them all and says two more wait; none: one line."""
    header, cards = render_list([CARDS["late_payment"]] * 20, 22, "fr")
    assert "22 question(s)" in header and "2 autre(s)" in header and len(cards) == 20
    assert render_list([], 0, "en") == ("No open question.", [])
