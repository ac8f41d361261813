"""Cards of the clients' e-mails, chat-independent: a reply (the client, the invoices, the reply's own text cut to
fit, its attachments, and 💶 Payée / 🤝 Promesse / ⚖️ Litige / ↩️ Répondre / 👌 Rien à faire) and a bounce (the
address the server refused, its reason, and how to give another one).

Button data: `m1:<action>:<reply id>:<version>` (at most 64 bytes), checked against the stored message before
anything is done (a second tap, or a tap in the other chat, hears "Déjà traité.").
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.cards import MAX_CALLBACK_BYTES, MAX_MESSAGE, Button, CardText, cut_words, h
from bot.i18n import t
from messages.formatting import format_amount
from services.replies import ReplyView

PREFIX = "m1"
#: Button codes. Views only (nothing changes): "prom" / "disp" (the proposed date or reason, with Autre…), "back".
#: Actions: "pay", "proma" (the proposed date), "dispa" (the client's text as the reason), "none". Questions (the
#: owner types): "promt" (another date), "dispt" (another reason), "ans" (the answer).
VIEWS = frozenset({"prom", "disp", "back"})
ACTS = frozenset({"pay", "proma", "dispa", "none"})
ASKS = frozenset({"promt", "dispt", "ans"})
ACTIONS = VIEWS | ACTS | ASKS
_CALLBACK = re.compile(r"^m1:([a-z]{1,8}):(\d{1,12}):(\d{1,9})$")

#: The reply's text on a card, at most (the card must also fit Telegram's 4,096 and Slack's section limits).
MAX_TEXT = 2500
#: Invoices and attachments listed on a card, at most (the others are counted).
MAX_LISTED = 10
#: Outcomes of a handled message, as the card says them.
OUTCOMES = ("paid", "promise", "dispute", "answered", "nothing", "new_address", "noted")


def callback(action: str, reply_id: int, version: int) -> str:
    """The callback data of a reply card's button."""
    data = f"{PREFIX}:{action}:{reply_id}:{version}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int] | None:
    """(action, reply id, version) from callback data, or None when it is not ours or malformed."""
    m = _CALLBACK.match(data or "")
    if not m or m[1] not in ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3])


def _listed(names: list[str], lang: str) -> list[str]:
    if len(names) <= MAX_LISTED:
        return names
    return [*names[:MAX_LISTED], t("replies.more", lang, count=len(names) - MAX_LISTED)]


def head(view: ReplyView, lang: str, tz: ZoneInfo) -> str:
    """Who wrote, when, about which invoices, with which attachments (HTML)."""
    when = view.received_at.astimezone(tz)
    title = "replies.bounce_title" if view.kind == "bounce" else "replies.title"
    lines = [
        t(title, lang, client=h(view.client_name), day=when.strftime("%d/%m/%Y"), time=when.strftime("%H:%M")),
        t("replies.from", lang, sender=h(view.sender[:254]), subject=h(view.subject[:300])),
    ]
    invoices = [
        t("replies.invoice", lang, number=h(i.number), balance=format_amount(i.balance, i.currency, lang))
        for i in view.invoices
    ]
    lines += _listed(invoices, lang) if invoices else [t("replies.no_invoice_listed", lang)]
    if view.attachments:
        names = ", ".join(_listed([h(n[:120]) for n in view.attachments], lang))
        lines.append(t("replies.attachments", lang, names=names))
    return "\n".join(lines)


def _quoted(text_: str, room: int, lang: str) -> str:
    """The client's text, escaped, in italics, cut on a word boundary to fit `room` characters."""
    body = text_.strip() or t("replies.empty_text", lang)
    limit = min(MAX_TEXT, max(200, room))
    escaped = h(body)
    if len(escaped) > limit:
        marker = "\n" + t("replies.cut", lang)
        escaped = h(cut_words(body, limit - len(marker), size=lambda s: len(h(s)))) + marker
    return f"<i>{escaped}</i>"


def _fit(parts: list[str], view_text: str, lang: str, *, index: int) -> str:
    """The card's text with the client's text at `index` cut to fit Telegram's limit."""
    others = sum(len(p) for i, p in enumerate(parts) if i != index) + 2 * len(parts)
    parts[index] = _quoted(view_text, MAX_MESSAGE - others - 20, lang)
    text = "\n\n".join(p for p in parts if p)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _outcome_line(view: ReplyView, lang: str) -> str:
    outcome = view.outcome if view.outcome in OUTCOMES else "nothing"
    return t(f"replies.handled.{outcome}", lang)


def render_reply(view: ReplyView, lang: str, tz: ZoneInfo, *, menu: str = "main", note: str = "",
                 command: str = "/client") -> CardText:  # fmt: skip
    """A reply or bounce card. `menu`: "main", "prom" (the proposed date, or another) or "disp" (the client's text as
    the reason, or another). A handled message shows what was done, without buttons; `note` is added under it.
    `command`: how the chat spells the client command (Telegram "/client", Slack "/relance client")."""
    if view.kind == "bounce":
        return render_bounce(view, lang, tz, note=note, command=command)
    rid, ver = view.received_id, view.version

    def b(key: str, action: str, **values: str) -> Button:
        return Button(t(key, lang, **values), callback(action, rid, ver))

    parts = [head(view, lang, tz), "", ""]
    if view.state != "open":
        parts[2] = _outcome_line(view, lang) + ("\n" + note if note else "")
        return CardText(_fit(parts, view.text, lang, index=1))
    buttons: tuple[tuple[Button, ...], ...]
    if menu == "prom" and view.promise_date is not None:
        day = view.promise_date.strftime("%d/%m/%Y")
        parts[2] = t("replies.promise_found", lang, day=day)
        buttons = ((b("replies.btn.promise_accept", "proma", day=day), b("replies.btn.promise_other", "promt")),
                   (b("btn.back", "back"),))  # fmt: skip
    elif menu == "disp":
        parts[2] = t("replies.dispute_found", lang, reason=h(view.dispute_reason or "…"))
        first = (b("replies.btn.dispute_accept", "dispa"),) if view.dispute_reason else ()
        buttons = ((*first, b("replies.btn.dispute_other", "dispt")), (b("btn.back", "back"),))
    else:
        prom = "prom" if view.promise_date is not None else "promt"
        parts[2] = note
        if view.promise_date is not None and not note:
            parts[2] = t("replies.promise_hint", lang, day=view.promise_date.strftime("%d/%m/%Y"))
        buttons = (
            (b("btn.paid", "pay"), b("btn.promise", prom), b("btn.dispute", "disp")),
            (b("replies.btn.answer", "ans"), b("replies.btn.nothing", "none")),
        )
    return CardText(_fit(parts, view.text, lang, index=1), buttons)


def render_bounce(view: ReplyView, lang: str, tz: ZoneInfo, *, note: str = "", command: str = "/client") -> CardText:
    """A bounce: the address refused and the server's reason, how to give another one, and 👌 Rien à faire."""
    failing = ", ".join(view.failing_emails) or view.sender
    lines = [
        head(view, lang, tz),
        "",
        t("replies.bounce", lang, address=h(failing), reason=h(" ".join(view.text.split())[:500] or "?")),
    ]
    buttons: tuple[tuple[Button, ...], ...] = ()
    if view.state == "open":
        lines.append(t("replies.bounce_how", lang, command=h(command), name=h(view.client_name)))
        buttons = ((Button(t("replies.btn.nothing", lang), callback("none", view.received_id, view.version)),),)
    else:
        lines.append(_outcome_line(view, lang))
    if note:
        lines.append(note)
    text = "\n".join(lines)
    return CardText(text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…", buttons)


def render_list(views: list[ReplyView], lang: str) -> str:
    """The header of the open replies and bounces (how many), or "none"."""
    if not views:
        return t("replies.none", lang)
    return t("replies.header", lang, count=len(views))
