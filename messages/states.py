"""The words for an invoice's state, French and English: the one place the chats, the terminal and the evidence
file take them from (bot.i18n's `invstate.*` keys are built from here)."""

from __future__ import annotations

from dunning.invoice_states import State

#: Each state as it completes "la facture est …" / "the invoice is …", and alone in a list of invoices.
STATE_LABELS: dict[str, dict[str, str]] = {
    "fr": {
        State.OPEN: "ouverte",
        State.PARTIALLY_PAID: "partiellement payée",
        State.PAID: "payée",
        State.DISPUTED: "en litige",
        State.PROMISED: "sous promesse de paiement",
        State.PAYMENT_PLAN: "en échéancier",
        State.WRITTEN_OFF: "passée en perte",
        State.CANCELLED: "annulée par avoir",
    },
    "en": {
        State.OPEN: "open",
        State.PARTIALLY_PAID: "partially paid",
        State.PAID: "paid",
        State.DISPUTED: "disputed",
        State.PROMISED: "under a promise to pay",
        State.PAYMENT_PLAN: "in a payment plan",
        State.WRITTEN_OFF: "written off",
        State.CANCELLED: "cancelled by a credit note",
    },
}


#: A promise with its date, where the date is known ({day} as dd/mm/yyyy).
PROMISED_UNTIL: dict[str, str] = {"fr": "promesse de paiement au {day}", "en": "promised by {day}"}


def state_label(state: str, lang: str = "fr") -> str:
    """`state` (a `State` value) in words; an unknown value is returned as it is rather than hidden."""
    return STATE_LABELS.get(lang, STATE_LABELS["fr"]).get(state, state)
