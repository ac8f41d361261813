"""The payment plan card, chat-independent: its button data, the card's lines and what /client and /factures say."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.cards import MAX_CALLBACK_BYTES
from bot.plan_cards import callback, invoice_suffix, parse_callback, plan_summary, render_suggestion
from dunning.invoice_states import Instalment
from dunning.plans import plan_progress
from services.core import Msg
from services.plans import PlanFacts, PlanInvoiceLine, PlanSuggestion

D = Decimal


def test_callback_round_trip_limit_and_forgeries() -> None:
    """Plan buttons carry action, reminder, version and count within 64 bytes; anything else parses to None."""
    data = callback("prep", 999_999_999_999, 999_999_999, 12)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(data) == ("prep", 999_999_999_999, 999_999_999, 12)
    for bad in (None, "", "pl1:prep:1:0", "pl1:zap:1:0:3", "pl2:prep:1:0:3", "pl1:prep:1:0:3:x", "pl1:n:1:0:123"):
        assert parse_callback(bad) is None


def _suggestion(**kw: object) -> PlanSuggestion:
    fields: dict[str, object] = dict(
        status="done", reminder_id=7, version=3, client_name="<b>ACME</b>", currency="EUR",
        invoices=(PlanInvoiceLine(1, "F-1", D("900.00")),), count=3,
        schedule=(Instalment(date(2026, 12, 24), D("300.00")), Instalment(date(2027, 1, 24), D("300.00")),
                  Instalment(date(2027, 2, 24), D("300.00"))),
    )  # fmt: skip
    fields.update(kw)
    return PlanSuggestion(**fields)  # type: ignore[arg-type]


def test_suggestion_card_lists_instalments_and_marks_the_count() -> None:
    """The card escapes the client's name, lists each instalment, marks the current count and ties every button to
    the reminder and version; a plan that cannot be made shows why, with no button."""
    card = render_suggestion(_suggestion(), "fr")
    text = card.text.replace("\xa0", " ")
    assert "&lt;b&gt;ACME&lt;/b&gt;" in text and "• 24/01/2027 : 300,00 €" in text
    labels = [b.label for b in card.buttons[0]]
    assert labels == ["2×", "· 3× ·", "4×", "6×", "12×"]
    assert all(b.data.startswith("pl1:") and ":7:3:" in b.data for row in card.buttons for b in row)
    refused = render_suggestion(_suggestion(status="invalid", message=Msg("plan.nothing"), schedule=()), "fr")
    assert refused.buttons == () and "ne peut être étalée" in refused.text


def test_client_and_invoices_lines_of_a_running_plan() -> None:
    """/client: paid so far, instalments settled, the next one and late ones; /factures: the next instalment."""
    schedule = (Instalment(date(2026, 12, 1), D("300.00")), Instalment(date(2027, 1, 1), D("300.00")))
    facts = PlanFacts(1, "active", date(2026, 11, 20), "EUR", ("F-1",), (1,), schedule,
                      plan_progress(schedule, D("100.00"), date(2026, 12, 5)))  # fmt: skip
    lines = [x.replace("\xa0", " ") for x in plan_summary(facts, "fr")]
    assert lines[0] == "📅 Échéancier en cours (F-1) : 100,00 € payés sur 600,00 €, 0/2 échéances réglées."
    assert lines[1] == "Prochaine échéance : le 01/01/2027, 300,00 €."
    assert lines[2] == "⚠️ Échéances en retard : 1, soit 200,00 €."
    assert invoice_suffix(facts, "fr").replace("\xa0", " ") == " · 📅 prochaine échéance le 01/01/2027 (300,00 €)"
    assert invoice_suffix(None, "fr") == ""
