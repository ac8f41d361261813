"""Cards of the doubtful bank statement lines, chat-independent: "C'est la facture … ?" with Oui / Autre facture /
Ignorer, the other candidates as buttons, and the line once settled.

Button data: `p1:<action>:<statement line id>:<invoice id>` (the line's database id; 0 when no invoice is meant),
checked against the stored line before anything is done.
"""

from __future__ import annotations

import re

from bot.cards import MAX_CALLBACK_BYTES, Button, CardText, h
from bot.i18n import t
from messages.formatting import format_amount
from services.statements_chat import DoubtCard, LineDecision
from storage.payments_in import Candidate, LineView

PREFIX = "p1"
#: yes: pay this invoice; alt: show the other candidates; ign: the line pays none of the invoices.
ACTIONS = frozenset({"yes", "alt", "ign"})
_CALLBACK = re.compile(r"^p1:([a-z]{1,8}):(\d{1,12}):(\d{1,12})$")


def callback(action: str, row_id: int, invoice_id: int = 0) -> str:
    """The callback data of a statement line's button."""
    data = f"{PREFIX}:{action}:{row_id}:{invoice_id}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int] | None:
    """(action, statement line id, invoice id) from callback data, or None when it is not ours or malformed."""
    m = _CALLBACK.match(data or "")
    if not m or m[1] not in ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3])


def line_text(line: LineView, lang: str) -> str:
    """The credit as the owner knows it from their bank: amount, day, payer and remittance."""
    values = {
        "amount": format_amount(line.amount, line.currency, lang),
        "day": line.booking_date.strftime("%d/%m/%Y"),
        "payer": h(line.counterparty or t("payments.unknown_payer", lang)),
    }
    if line.remittance:
        return t("statement.line", lang, remittance=h(line.remittance), **values)
    return t("statement.line_bare", lang, **values)


def _invoice_button(row_id: int, candidate: Candidate, lang: str) -> Button:
    label = t("statement.btn_invoice", lang, number=candidate.number, client=candidate.client_name,
              balance=format_amount(candidate.balance, lang=lang))  # fmt: skip
    return Button(label[:64], callback("yes", row_id, candidate.invoice_id))


def render_doubt(card: DoubtCard, lang: str, *, others: bool = False) -> CardText:
    """A doubtful line: "C'est la facture … ?" with Oui / Autre facture / Ignorer, or (`others`) the other
    candidates, one button each; with no candidate left, only Ignorer."""
    head = line_text(card.line, lang)
    ignore = Button(t("statement.btn_ignore", lang), callback("ign", card.row_id))
    if not card.candidates:
        return CardText(head + "\n" + t("statement.no_candidate", lang), ((ignore,),))
    best = card.candidates[0]
    if others and len(card.candidates) > 1:
        rows = tuple((_invoice_button(card.row_id, c, lang),) for c in card.candidates[1:])
        return CardText(head + "\n" + t("statement.choose", lang), (*rows, (ignore,)))
    ask = t("statement.ask", lang, number=h(best.number), client=h(best.client_name),
            balance=format_amount(best.balance, lang=lang))  # fmt: skip
    first: tuple[Button, ...] = (Button(t("statement.btn_yes", lang), callback("yes", card.row_id, best.invoice_id)),)
    if len(card.candidates) > 1:
        first += (Button(t("statement.btn_other", lang), callback("alt", card.row_id)),)
    return CardText(head + "\n" + ask, (first, (ignore,)))


def render_decision(decision: LineDecision, lang: str) -> tuple[str, CardText | None]:
    """What a tap did: the short answer, and the line's card as it is now (None when the line is unknown)."""
    if decision.status == "unknown":
        return t("cb.unknown", lang), None
    head = line_text(decision.line, lang) if decision.line is not None else ""
    if decision.status == "stale":
        return t("cb.already", lang), (CardText(head + "\n\n" + t("cb.already", lang)) if head else None)
    if decision.action == "ignored":
        note = t("statement.ignored", lang)
    else:
        note = t("statement.recorded", lang, amount=format_amount(decision.amount, lang=lang),
                 number=h(decision.number))  # fmt: skip
        if decision.excess > 0:
            note += "\n" + t("statement.excess", lang, excess=format_amount(decision.excess, lang=lang))
    return t("cb.done", lang), CardText(head + "\n\n" + note)


def render_waiting(doubts: list[DoubtCard], waiting: int, lang: str) -> tuple[str, list[CardText], str | None]:
    """/virements (Slack `virements`): the title (or "none waiting"), one card per doubtful credit still waiting,
    and a last line counting those not shown."""
    if not doubts:
        return t("transfers.none", lang), [], None
    more = t("transfers.more", lang, count=waiting - len(doubts)) if waiting > len(doubts) else None
    return t("transfers.title", lang, count=waiting), [render_doubt(d, lang) for d in doubts], more
