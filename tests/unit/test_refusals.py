"""The owner's words for an action the invoice's state does not allow: every refusal the state machine can give,
from every state, has a French and an English catalogue message naming the state in words (never the machine's
English or a raw state value)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bot.i18n import EN, FR
from bot.presenter import text
from dunning.invoice_states import (
    CreditNote,
    Dispute,
    EndPlan,
    Event,
    IllegalTransition,
    Instalment,
    InvoiceStatus,
    PaymentReceived,
    Promise,
    Reopen,
    ResolveDispute,
    StartPlan,
    State,
    WriteOff,
    apply,
    equal_instalments,
)
from messages.states import STATE_LABELS
from services.refusals import refusal
from storage.reminders import ActionError

D = Decimal
DUE = date(2026, 3, 31)
TODAY = date(2026, 3, 1)


def _reach(state: State) -> InvoiceStatus:
    """An invoice of 1 000,00 € brought to `state` by the machine itself."""
    status = InvoiceStatus.new(D("1000.00"), DUE)
    plan = StartPlan(tuple(equal_instalments(D("1000.00"), 2, date(2026, 4, 15))), TODAY)
    steps: dict[State, tuple[Event, ...]] = {
        State.OPEN: (),
        State.PARTIALLY_PAID: (PaymentReceived(D("100.00"), TODAY),),
        State.PAID: (PaymentReceived(D("1000.00"), TODAY),),
        State.DISPUTED: (Dispute("quantité"),),
        State.PROMISED: (Promise(date(2026, 4, 10), TODAY),),
        State.PAYMENT_PLAN: (plan,),
        State.WRITTEN_OFF: (WriteOff(),),
        State.CANCELLED: (CreditNote(D("1000.00"), TODAY),),
    }
    for event in steps[state]:
        transition = apply(status, event)
        assert transition is not None
        status = transition.status
    assert status.state is state
    return status


EVENTS: dict[str, Event] = {
    "payment": PaymentReceived(D("10.00"), TODAY),
    "bad amount": PaymentReceived(D("0.001"), TODAY),
    "credit note": CreditNote(D("10.00"), TODAY),
    "credit note too big": CreditNote(D("5000.00"), TODAY),
    "dispute": Dispute("quantité"),
    "dispute without reason": Dispute("  "),
    "resolve": ResolveDispute(),
    "write off": WriteOff(),
    "reopen": Reopen(),
    "promise": Promise(date(2026, 4, 10), TODAY),
    "past promise": Promise(date(2026, 2, 1), TODAY),
    "plan": StartPlan(tuple(equal_instalments(D("1000.00"), 2, date(2026, 4, 15))), TODAY),
    "short plan": StartPlan((Instalment(date(2026, 4, 15), D("1000.00")),), TODAY),
    "past plan": StartPlan(tuple(equal_instalments(D("1000.00"), 2, date(2026, 2, 15))), TODAY),
    "plan out of order": StartPlan(
        (Instalment(date(2026, 5, 15), D("500.00")), Instalment(date(2026, 4, 15), D("500.00"))), TODAY
    ),
    "plan not adding up": StartPlan(tuple(equal_instalments(D("900.00"), 2, date(2026, 4, 15))), TODAY),
    "end plan": EndPlan(),
}


def _refusals() -> list[tuple[State, str, IllegalTransition]]:
    found = []
    for state in State:
        for name, event in EVENTS.items():
            try:
                apply(_reach(state), event)
            except IllegalTransition as exc:
                exc.number = "F-2026-042"  # as storage.invoice_status fills it in
                found.append((state, name, exc))
    return found


def test_the_enumeration_meets_every_kind_of_refusal() -> None:
    """The states x events above reach every refusal code the machine has (so the next test covers them all)."""
    codes = {exc.code for _, _, exc in _refusals()}
    assert codes == {
        "not_when.resolve_dispute",
        "not_when.reopen",
        "not_when.end_plan",
        "not_when.open_dispute",
        "not_when.promise",
        "not_when.start_plan",
        "amount",
        "payment_written_off",
        "credit_closed",
        "credit_too_much",
        "dispute_reason",
        "already_disputed",
        "write_off_closed",
        "promise_past",
        "plan_short",
        "plan_past",
        "plan_order",
        "plan_total",
    }


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_refusal_is_worded_with_the_state_in_words(lang: str) -> None:
    """Each refusal, wrapped as storage wraps it (an ActionError raised from it), becomes its catalogue message:
    the invoice number, the state in the owner's language, no English machine text, no raw state value."""
    catalogue = FR if lang == "fr" else EN
    for state, name, exc in _refusals():
        try:
            raise ActionError(f"invoice F-2026-042: {exc}") from exc
        except ActionError as wrapped:
            msg = refusal(wrapped)
        assert msg.key == f"illegal.{exc.code}" and msg.key in catalogue, (state, name)
        shown = text(msg, lang)
        assert str(exc) not in shown
        assert not re.search(r"\b(partially_paid|written_off|payment_plan)\b", shown), shown
        if "{state}" in catalogue[msg.key]:
            assert STATE_LABELS[lang][state] in shown, shown
        if "{number}" in catalogue[msg.key]:
            assert "F-2026-042" in shown
    assert text(refusal(ActionError("anything else")), "fr") == "Impossible : anything else"


def test_french_refusals_read_as_french() -> None:
    """Two refusals as the owner reads them, word for word."""
    written_off = _reach(State.WRITTEN_OFF)
    with pytest.raises(IllegalTransition) as caught:
        apply(written_off, PaymentReceived(D("10.00"), TODAY))
    caught.value.number = "F-2026-042"
    assert text(refusal(caught.value), "fr") == (
        "La facture F-2026-042 est passée en perte : rouvrez-la avant d'y enregistrer un paiement. "
        "Rien n'a été modifié."
    )
    with pytest.raises(IllegalTransition) as caught:
        apply(_reach(State.PAID), Promise(date(2026, 4, 10), TODAY))
    caught.value.number = "F-2026-042"
    assert text(refusal(caught.value), "fr") == (
        "Impossible d'enregistrer une promesse de paiement : la facture F-2026-042 est payée. Rien n'a été modifié."
    )
