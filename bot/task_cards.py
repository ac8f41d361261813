"""Cards of the owner's tasks, chat-independent: the question (over-payment, late payment, broken promise, missed
instalment, credit note to assign), its buttons, the invoices to choose among, and the task once answered.

Button data: `t1:<action>:<task id>:<version>` (`:<invoice id>` added for an invoice chosen), checked against the
stored task before anything is done (a second tap hears "Déjà traité.").
"""

from __future__ import annotations

import re
from datetime import date

from bot.cards import MAX_CALLBACK_BYTES, Button, CardText, h
from bot.i18n import t
from bot.presenter import text
from messages.formatting import format_amount
from services.tasks import TaskCard, TaskOutcome

PREFIX = "t1"
#: Button codes and the answer each gives to services.tasks.act; "pick" (show the invoices) and "back" only show.
ANSWERS = {
    "ref": "refunded",
    "asg": "assign",
    "keep": "keep",
    "claim": "claim",
    "skip": "skip",
    "ok": "ok",
    "rem": "remind",
    "end": "end",
    "ign": "ignore",
}
VIEWS = frozenset({"pick", "back"})
ACTIONS = frozenset(ANSWERS) | VIEWS
_CALLBACK = re.compile(r"^t1:([a-z]{1,8}):(\d{1,12}):(\d{1,9})(?::(\d{1,12}))?$")


def callback(action: str, task_id: int, version: int, invoice_id: int | None = None) -> str:
    """The callback data of a task's button."""
    data = f"{PREFIX}:{action}:{task_id}:{version}" + (f":{invoice_id}" if invoice_id is not None else "")
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int, int | None] | None:
    """(action, task id, version, invoice id or None) from callback data, or None when not ours or malformed."""
    m = _CALLBACK.match(data or "")
    if not m or m[1] not in ACTIONS:
        return None
    if (m[4] is not None) != (m[1] == "asg"):
        return None  # only "asg" names an invoice, and it always does
    return m[1], int(m[2]), int(m[3]), int(m[4]) if m[4] is not None else None


def _money(card: TaskCard, key: str, lang: str) -> str:
    return format_amount(card.view.amount(key), card.view.currency, lang)


def _day(value: object) -> str:
    try:
        return date.fromisoformat(str(value)).strftime("%d/%m/%Y")
    except ValueError:
        return h(value)


def question(card: TaskCard, lang: str) -> str:
    """The task's question, in the owner's language (HTML)."""
    view, p = card.view, card.view.payload
    common = {"number": h(view.number), "client": h(view.client_name or "?")}
    match view.kind:
        case "overpayment":
            return t(
                "tasks.overpayment", lang, amount=_money(card, "amount", lang), day=_day(p.get("paid_on")), **common
            )
        case "late_payment":
            return t("tasks.late_payment", lang, days=int(p.get("days_late") or 0), **common)
        case "promise_broken":
            return t("tasks.promise_broken", lang, until=_day(p.get("until")), balance=_money(card, "balance", lang),
                     **common)  # fmt: skip
        case "instalment_missed":
            return t("tasks.instalment_missed", lang, seq=h(p.get("number")), due=_day(p.get("due")),
                     amount=_money(card, "amount", lang), **common)  # fmt: skip
        case _:  # credit_note
            if p.get("referenced"):
                return t("tasks.credit_note", lang, amount=_money(card, "amount", lang), reference=h(p["referenced"]),
                         **common)  # fmt: skip
            return t("tasks.credit_note_noref", lang, amount=_money(card, "amount", lang), **common)


def _invoice_buttons(card: TaskCard, lang: str) -> tuple[tuple[Button, ...], ...]:
    view = card.view
    return tuple(
        (
            Button(
                t("tasks.btn.invoice", lang, number=c.number, balance=format_amount(c.balance, c.currency, lang))[:64],
                callback("asg", view.task_id, view.version, c.invoice_id),
            ),
        )
        for c in card.candidates[:6]
    )


def render_task(card: TaskCard, lang: str, *, choose: bool = False) -> CardText:
    """A task's card: its question and buttons; `choose`: the client's invoices to assign an over-payment to."""
    view = card.view
    head = question(card, lang)
    if not view.is_open:
        return CardText(head + "\n\n" + t("cb.already", lang))
    tid, ver = view.task_id, view.version

    def b(key: str, action: str) -> Button:
        return Button(t(f"tasks.btn.{key}", lang), callback(action, tid, ver))

    match view.kind:
        case "overpayment":
            if choose:
                ask = t("tasks.choose", lang, client=h(view.client_name), amount=_money(card, "amount", lang))
                return CardText(head + "\n\n" + ask, (*_invoice_buttons(card, lang), (b("back", "back"),)))
            first = (b("refunded", "ref"),) + ((b("assign", "pick"),) if card.candidates else ())
            return CardText(head, (first, (b("keep", "keep"),)))
        case "late_payment":
            return CardText(head, ((b("claim", "claim"),), (b("skip", "skip"),)))
        case "promise_broken":
            return CardText(head, ((b("ok", "ok"),),))
        case "instalment_missed":
            return CardText(head, ((b("remind", "rem"), b("end", "end")),))
        case _:  # credit_note: the client's open invoices, or only Ignorer
            note = "" if card.candidates else "\n" + t("tasks.no_open_invoice", lang)
            return CardText(head + note, (*_invoice_buttons(card, lang), (b("ignore", "ign"),)))


def render_outcome(outcome: TaskOutcome, lang: str) -> tuple[str, CardText | None]:
    """What a tap did: the short answer, and the task's card as it is now (None: leave the card as it is)."""
    said = text(outcome.message, lang)
    card = outcome.card
    if outcome.status == "choose":
        assert card is not None
        return t("cb.choose", lang), render_task(card, lang, choose=True)
    if card is None:
        return said or t("cb.unknown", lang), None
    if outcome.status == "done":
        return t("cb.done", lang), CardText(question(card, lang) + "\n\n" + said)
    if outcome.status == "stale":
        return said, render_task(card, lang)
    # invalid / failed: the card stays as it was, with its buttons, and the reason is told
    return said, None


def render_list(cards: list[TaskCard], total: int, lang: str) -> tuple[str, list[tuple[int, CardText]]]:
    """The tasks' header (how many, and how many more than shown) and one card per task."""
    if not total:
        return t("tasks.none", lang), []
    header = t("tasks.header", lang, count=total)
    if total > len(cards):
        header += "\n" + t("tasks.more", lang, count=total - len(cards))
    return header, [(c.view.task_id, render_task(c, lang)) for c in cards]
