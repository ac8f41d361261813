"""Card rendering, chat-independent: a reminder as HTML text (Telegram's subset) plus button specs.

Button data is short, prefixed and versioned: `r1:<action>:<reminder id>:<version>` (at most 64 bytes, Telegram's
limit). The terminal shows the same card through `to_plain`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.i18n import t
from messages.formatting import format_amount
from services.core import DisputeLine
from storage.reminders import InvoiceLineView, ReminderView

#: Telegram's limit for a message text.
MAX_MESSAGE = 4096
#: Telegram's limit for callback data, in bytes.
MAX_CALLBACK_BYTES = 64
PREFIX = "r1"
_CALLBACK = re.compile(r"^r1:([a-z0-9]{1,8}):(\d{1,12}):(\d{1,9})$")

#: Actions carried by card buttons.
ACTIONS = frozenset(
    {"send", "edit", "snz", "snz1", "snz3", "snz7", "snzd", "pay", "payf", "payp", "disp", "prom", "more", "back",
     "drop",
     "undo", "now", "resend", "ok", "call", "pdf",
     "cdone", "cnone", "cmail"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button: its label and its callback data."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class CardText:
    """A rendered card: HTML text within Telegram's limit, and rows of buttons (empty when nothing is left to do)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    cut: bool = False

    @property
    def plain(self) -> str:
        """The text without HTML (for the terminal)."""
        return to_plain(self.text)


def callback(action: str, reminder_id: int, version: int) -> str:
    """The callback data of a card button."""
    data = f"{PREFIX}:{action}:{reminder_id}:{version}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in ACTIONS
    return data


def parse_callback(data: str | None) -> tuple[str, int, int] | None:
    """(action, reminder id, version) from callback data, or None when it is not ours or malformed."""
    if not data:
        return None
    m = _CALLBACK.match(data)
    if not m or m[1] not in ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3])


def to_plain(text: str) -> str:
    """HTML card text as plain text."""
    return html.unescape(re.sub(r"</?(b|i|u|s|code|pre|a)( [^>]*)?>", "", text))


def h(value: Any) -> str:
    """`value` as text safe inside Telegram's HTML (every name, number or reason typed by someone goes through it).

    Quotes stay as they are: Telegram's HTML needs only &, < and > escaped outside attributes.
    """
    return html.escape(str(value), quote=False)


def step_label(step: str, lang: str) -> str:
    """The owner-facing name of a ladder step."""
    try:
        return t(f"step.{step}", lang)
    except KeyError:
        return step


def keyboard_for(
    kind: str, view: ReminderView, lang: str, *, cut: bool = False, letter: bool = False
) -> tuple[tuple[Button, ...], ...]:
    """The buttons of a card: main actions, the snooze choices, the payment choices, after an edit, or none."""
    rid, ver = view.reminder_id, view.version

    def b(key: str, action: str) -> Button:
        return Button(t(key, lang), callback(action, rid, ver))

    if kind == "none":
        return ()
    if view.is_extra and kind in ("main", "broken"):
        # A message drafted outside the ladder (thanks, penalty claim, plan schedule, plan reminder): send it, edit it
        # or drop it (Ne pas envoyer); one whose draft does not render can only be dropped (fail closed).
        if kind == "broken":
            return ((b("btn.drop", "drop"),),)
        row = (b("btn.send", "send"), b("btn.edit", "edit"), b("btn.drop", "drop"))
        return (row, (b("btn.more", "more"),)) if cut else (row,)
    if kind == "snooze":
        return (
            (b("btn.snooze1", "snz1"), b("btn.snooze3", "snz3"), b("btn.snooze7", "snz7")),
            (b("btn.snooze_date", "snzd"), b("btn.back", "back")),
        )
    if kind == "paid":
        return ((b("btn.pay_full", "payf"), b("btn.pay_partial", "payp")), (b("btn.back", "back"),))
    if kind == "scheduled":
        return ((b("btn.send_now", "now"),),)
    if kind == "unknown":
        # The owner checked their sent mail (or the client): it went out, or it must go again.
        return ((b("btn.sent_ok", "ok"), b("btn.resend", "resend")),)
    if kind == "edited":
        return ((b("btn.send", "send"), b("btn.cancel", "undo")),)
    if kind == "call":
        # A step to be done by phone (issue 11 §2): the call card's own buttons; Reporter opens the snooze menu.
        return (
            (b("btn.call_done", "cdone"), b("btn.call_no_answer", "cnone")),
            (b("btn.call_email", "cmail"), b("btn.snooze", "snz")),
        )
    if kind == "called":
        # After a completed call: what the client said, through the usual flows.
        return ((b("btn.promise", "prom"), b("btn.dispute", "disp"), b("btn.paid", "pay")),)
    if kind == "broken":
        # The draft cannot be rendered: every way out but sending (fail closed).
        return (
            (b("btn.snooze", "snz"), b("btn.paid", "pay")),
            (b("btn.dispute", "disp"), b("btn.promise", "prom")),
        )
    rows: list[tuple[Button, ...]] = [
        (b("btn.send", "send"), b("btn.edit", "edit"), b("btn.snooze", "snz")),
        (b("btn.paid", "pay"), b("btn.dispute", "disp"), b("btn.promise", "prom")),
    ]
    extra: list[Button] = []
    if view.client_profile == "key_account":
        extra.append(b("btn.call", "call"))
    if view.step == "formal_notice" or letter:  # `letter`: the step's channel posts a letter (📄 Lettre PDF)
        extra.append(b("btn.pdf", "pdf"))
    if view.kind == "ladder" and view.invoices:
        # 📅 Échéancier: the payment plan card of these invoices (its own callback family, bot/plan_cards.py).
        from bot.plan_cards import open_button

        extra.append(open_button(rid, ver, lang))
    if cut:
        extra.append(b("btn.more", "more"))
    if extra:
        rows.append(tuple(extra))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class CardParts:
    """A reminder's card in pieces, before any chat lays it out (Telegram: one HTML message; Slack: blocks).

    `head` lines, `subject` and `note` are catalogue HTML; `body` is the drafted e-mail as plain text (exactly what
    leaves), None when there is no draft; both are None or both set. `buttons` are the rows when the body is shown
    whole, `cut_buttons` the rows when a chat has to cut it ("Voir la suite" added where the keyboard offers it).
    """

    reminder_id: int
    version: int
    head: tuple[str, ...]
    subject: str | None
    body: str | None
    edited: bool
    note: str | None
    keyboard: str
    buttons: tuple[tuple[Button, ...], ...]
    cut_buttons: tuple[tuple[Button, ...], ...]


def card_parts(
    view: ReminderView,
    draft: Any,
    *,
    lang: str,
    note: str | None = None,
    keyboard: str = "main",
    call: Any = None,
    channel: str = "email",
) -> CardParts:
    """A reminder's card pieces: client, step, invoices, recipients, the drafted message, a state note, buttons.

    A call card (`keyboard` "call", `call` a services.calls.CallInfo) shows the number as a `tel:` link and the
    call script in place of the e-mail; a step posted as a letter says so (`channel`)."""
    calling = keyboard == "call" and call is not None
    head: list[str] = []
    head.append(t("card.title", lang, client=h(view.client_name), step=h(step_label(view.step, lang))))
    if view.promise_broken:
        head.append(t("card.promise_broken", lang))
    if calling:
        head.extend(call_lines(call, lang))
    elif view.client_profile == "key_account" and view.awaiting_owner:
        head.append(t("card.call_first", lang))
    letter = channel in ("registered_letter", "email+letter")
    if letter and view.awaiting_owner:
        head.append(t(f"card.channel.{channel}", lang))
    for inv in view.invoices:
        if view.is_extra:
            # A thanks or a penalty claim is about paid invoices: their amount and whether anything is left.
            head.append(_extra_line(inv, lang))
            continue
        if inv.days_overdue > 0:
            late = t("card.late", lang, days=inv.days_overdue)
        elif inv.days_overdue < 0:
            late = t("card.not_yet_due", lang, days=-inv.days_overdue)
        else:
            late = ""
        head.append(
            t(
                "card.invoice",
                lang,
                number=h(inv.number),
                balance=format_amount(inv.balance, inv.currency),
                due=inv.due_date.strftime("%d/%m/%Y"),
                late=late,
            )
        )
    if len(view.invoices) > 1 and not view.is_extra:
        head.append(t("card.total", lang, total=format_amount(view.total)))
    if calling:
        pass  # the number is the way to the client; the e-mail comes back with "Envoyer plutôt l'e-mail"
    elif view.client_emails:
        head.append(t("card.to", lang, to=h(", ".join(view.client_emails))))
    elif draft is not None:
        head.append(t("card.no_email", lang))
    shown = draft is not None or keyboard in ("scheduled", "unknown", "broken", "called", "paid")
    subject: str | None
    body: str | None
    if calling:
        subject = t("card.call_script", lang)
        body = (call.script or "").strip() or t("card.call_script_missing", lang)
    else:
        subject = None if draft is None else t("card.subject", lang, subject=h(draft.subject))
        body = None if draft is None else str(draft.text).strip()
    return CardParts(
        reminder_id=view.reminder_id,
        version=view.version,
        head=tuple(head),
        subject=subject,
        body=body,
        edited=not calling and draft is not None and (view.edited_body is not None or view.edited_subject is not None),
        note=note or None,
        keyboard=keyboard,
        buttons=keyboard_for(keyboard, view, lang, letter=letter) if shown else (),
        cut_buttons=keyboard_for(keyboard, view, lang, cut=True, letter=letter) if shown else (),
    )


def call_lines(call: Any, lang: str) -> list[str]:
    """The head lines of a call card: the number as a `tel:` link (or that none is known), the attempts so far."""
    lines = []
    if call.tel:
        lines.append(t("card.call_phone", lang, tel=h(call.tel).replace('"', "%22"), phone=h(call.phone)))
    else:
        lines.append(t("card.call_no_phone", lang))
    if call.attempts:
        last = call.attempts[-1]
        lines.append(t("card.call_attempts", lang, count=len(call.attempts), day=last.strftime("%d/%m"),
                       time=last.strftime("%H:%M")))  # fmt: skip
    return lines


def _extra_line(inv: InvoiceLineView, lang: str) -> str:
    """An invoice on the card of a draft outside the ladder: a thanks or a penalty claim is about paid invoices, so
    its amount and whether anything is left, never days of delay counted to today."""
    if inv.balance > 0:
        left = t("card.extra_left", lang, balance=format_amount(inv.balance, inv.currency))
    else:
        left = t("card.extra_paid", lang)
    amount = format_amount(inv.amount, inv.currency)
    due = inv.due_date.strftime("%d/%m/%Y")
    return t("card.extra_invoice", lang, number=h(inv.number), amount=amount, due=due, left=left)


def telegram_card(parts: CardParts, lang: str) -> CardText:
    """A card's pieces as one Telegram message: HTML within 4096 characters, the body in italics (cut to fit)."""
    text = "\n".join(parts.head)
    tail = "\n\n" + parts.note if parts.note else ""
    cut = False
    if parts.subject is not None and parts.body is not None:
        prefix = text + "\n\n" + parts.subject + "\n\n"
        suffix = ("\n\n" + t("card.edited", lang) if parts.edited else "") + tail
        room = MAX_MESSAGE - len(prefix) - len(suffix) - len("<i></i>")
        escaped = h(parts.body)
        if len(escaped) > room:
            cut = True
            marker = "\n" + t("card.cut", lang)
            escaped = _cut(parts.body, room - len(marker)) + marker
        text = prefix + f"<i>{escaped}</i>" + suffix
    else:
        text += tail
    if len(text) > MAX_MESSAGE:  # a huge invoice list: keep the card valid rather than fail to send it
        text = text[: MAX_MESSAGE - 1] + "…"
        text = _close_tags(text)
    return CardText(text, parts.cut_buttons if cut else parts.buttons, cut)


def _cut(body: str, room: int) -> str:
    """The escaped body shortened to at most `room` characters, cut on a line or word boundary."""
    return h(cut_words(body, room, size=lambda s: len(h(s))))


def cut_words(body: str, room: int, *, size: Callable[[str], int] = len) -> str:
    """The longest start of `body` measuring at most `room` (by `size`), cut on a line or word boundary."""
    out = ""
    for word in re.split(r"(\s+)", body):
        candidate = out + word
        if size(candidate) > room:
            break
        out = candidate
    return out.rstrip()


def _close_tags(text: str) -> str:
    # Drop a tag cut in half, then close what is still open, so Telegram can parse the HTML.
    text = re.sub(r"<[^>]*$", "", text)
    text = re.sub(r"&[#a-z0-9]*$", "", text)
    opened: list[str] = []
    for m in re.finditer(r"<(/?)(b|i|code|pre)>", text):
        if m[1]:
            if opened and opened[-1] == m[2]:
                opened.pop()
        else:
            opened.append(m[2])
    return text + "".join(f"</{tag}>" for tag in reversed(opened))


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Plain text split into messages of at most `limit` characters, on line boundaries when possible."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current.strip():
        parts.append(current)
    return parts or [""]


# --- dispute cards (/litiges) ------------------------------------------------------------------------------------

#: Dispute buttons carry the invoice id and the evidence sequence number of the dispute they were shown for:
#: `d1:<action>:<invoice id>:<dispute seq>`, so a tap after the dispute was closed (or closed and reopened) is stale.
DISPUTE_PREFIX = "d1"
DISPUTE_ACTIONS = frozenset({"res", "off"})
_DISPUTE_CALLBACK = re.compile(r"^d1:([a-z]{1,8}):(\d{1,12}):(\d{1,12})$")


def dispute_callback(action: str, invoice_id: int, version: int) -> str:
    """The callback data of a dispute button."""
    data = f"{DISPUTE_PREFIX}:{action}:{invoice_id}:{version}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES and action in DISPUTE_ACTIONS
    return data


def parse_dispute_callback(data: str | None) -> tuple[str, int, int] | None:
    """(action, invoice id, dispute version) from callback data, or None when it is not ours or malformed."""
    m = _DISPUTE_CALLBACK.match(data or "")
    if not m or m[1] not in DISPUTE_ACTIONS:
        return None
    return m[1], int(m[2]), int(m[3])


def render_dispute(line: DisputeLine, lang: str, *, note: str | None = None) -> CardText:
    """A disputed invoice with its two ways out; after a decision (or when no longer disputed), the note alone."""
    text = t(
        "disputes.line",
        lang,
        number=h(line.number),
        client=h(line.client_name),
        amount=format_amount(line.balance, line.currency),
        reason=h(line.reason or "—"),
    )
    if note is not None:
        return CardText(text + "\n\n" + note)
    if line.state != "disputed":
        return CardText(text + "\n\n" + t("disputes.not_disputed", lang, state=t(f"invstate.{line.state}", lang)))
    buttons = (
        (
            Button(t("btn.dispute_resume", lang), dispute_callback("res", line.invoice_id, line.version)),
            Button(t("btn.dispute_write_off", lang), dispute_callback("off", line.invoice_id, line.version)),
        ),
    )
    return CardText(text, buttons)
