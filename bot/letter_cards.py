"""The registered letter (LRAR) on a formal notice's card, chat-independent: what the card says of the letter
(number, posting, first presentation, acknowledgment, the notice's deadline) and its buttons.

Button data: `l1:<action>:<formal notice id>:<letter version>` (version 0: no letter posted yet), checked against
the stored letter before anything is done (services.letters.current): a second tap, or a tap after another owner
recorded the letter, hears "Déjà traité.".
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.cards import MAX_CALLBACK_BYTES, Button, CardParts
from bot.i18n import t
from dunning.ladder import FORMAL_NOTICE
from dunning.lrar import RECEIVED, RETURNED, SENT, UNCLAIMED
from dunning.states import ReminderState

PREFIX = "l1"
#: sent: ✉️ LRAR envoyée; pres: 📮 première présentation; recv: 📬 AR reçu; uncl: pli non réclamé; ret: retourné;
#: noscan: a receipt recorded without its scan (Slack, where the scan is shared in the DM after the date).
ACTIONS = frozenset({"sent", "pres", "recv", "uncl", "ret", "noscan"})
_CALLBACK = re.compile(r"^l1:([a-z]{1,8}):(\d{1,12}):(\d{1,9})$")
#: The card keyboards the letter's buttons go with (not menus, not an edit waiting for its Envoyer, not a broken
#: draft: the letter of a notice that cannot be rendered cannot have been printed).
_WITH_LETTER = frozenset({"main", "none", "scheduled", "unknown"})


def callback(action: str, reminder_id: int, version: int) -> str:
    """The callback data of a letter button."""
    data = f"{PREFIX}:{action}:{reminder_id}:{version}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int] | None:
    """(action, formal notice id, letter version) from callback data, or None when it is not ours or malformed."""
    m = _CALLBACK.match(data or "")
    if not m or m[1] not in ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3])


def _day(value: Any) -> str:
    return str(value.strftime("%d/%m/%Y"))


def letter_lines(letter: Any, lang: str) -> list[str]:
    """What a formal notice's card says of its registered letter (services.letters.LetterFacts)."""
    presented = t("card.lrar_presented", lang, day=_day(letter.first_presented_on)) if letter.first_presented_on else ""
    lines = [t("card.lrar", lang, number=letter.tracking_number, sent=_day(letter.sent_on), presented=presented)]
    if letter.outcome == SENT:
        lines.append(t("card.lrar_awaiting", lang))
    elif letter.outcome == RECEIVED:
        proof = t("card.lrar_proof", lang) if letter.has_proof else ""
        lines.append(t("card.lrar_received", lang, day=_day(letter.received_on), proof=proof))
    elif letter.outcome == UNCLAIMED:
        lines.append(t("card.lrar_unclaimed", lang))
    elif letter.outcome == RETURNED:
        lines.append(t("card.lrar_returned", lang))
    if letter.outcome != RETURNED:
        basis = "card.lrar_from_presentation" if letter.first_presented_on else "card.lrar_from_posting"
        lines.append(t("card.lrar_deadline", lang, deadline=_day(letter.deadline), basis=t(basis, lang)))
    return lines


def letter_row(reminder_id: int, letter: Any, lang: str) -> tuple[Button, ...]:
    """The letter's buttons: ✉️ LRAR envoyée before posting, then Première présentation (again to correct it) /
    AR reçu / Pli non réclamé / Retourné while the letter is out."""
    if letter is None:
        return (Button(t("btn.lrar_sent", lang), callback("sent", reminder_id, 0)),)
    if letter.outcome != SENT:
        return ()
    version = letter.version
    return (
        Button(t("btn.lrar_presented", lang), callback("pres", reminder_id, version)),
        Button(t("btn.lrar_received", lang), callback("recv", reminder_id, version)),
        Button(t("btn.lrar_unclaimed", lang), callback("uncl", reminder_id, version)),
        Button(t("btn.lrar_returned", lang), callback("ret", reminder_id, version)),
    )


def with_letter(parts: CardParts, view: Any, letter: Any, lang: str) -> CardParts:
    """A formal notice's card with its registered letter: the lines after the head, the buttons in a row of their
    own. Other cards, and a cancelled notice's, are returned as they are."""
    if view.step != FORMAL_NOTICE or view.state == ReminderState.CANCELLED:
        return parts
    head = parts.head + tuple(letter_lines(letter, lang)) if letter is not None else parts.head
    row = letter_row(view.reminder_id, letter, lang) if parts.keyboard in _WITH_LETTER else ()
    extra = (row,) if row else ()
    return replace(parts, head=head, buttons=parts.buttons + extra, cut_buttons=parts.cut_buttons + extra)
