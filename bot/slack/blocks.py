"""Block Kit layouts of what the presenter renders: reminder cards, catalogue texts, the full-draft modal (pure).

Slack's limits hold by construction: at most 50 blocks per message and 100 per view, 3,000 characters per section
text, 75 per button text, 24 per modal title; button action_id = value = the card's callback data (≤64 bytes).
The drafted e-mail is a `plain_text` section, so it shows exactly the bytes that leave.
"""

from __future__ import annotations

from typing import Any

from bot.cards import Button, CardParts, CardText, callback, cut_words, parse_callback, split_message, to_plain
from bot.i18n import t
from bot.slack.mrkdwn import escape, to_mrkdwn

#: Slack's limits.
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION = 3000
MAX_BUTTON_TEXT = 75
MAX_ACTION_ID = 255
MAX_ACTIONS = 25
MAX_TITLE = 24
#: The notification text next to the blocks: one short line.
MAX_FALLBACK = 300

Block = dict[str, Any]


def section(mrkdwn: str, block_id: str) -> Block:
    """A section of mrkdwn text (at most 3,000 characters)."""
    assert 0 < len(mrkdwn) <= MAX_SECTION
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": mrkdwn}}


def plain_section(text: str, block_id: str) -> Block:
    """A section of plain text shown as is (no mrkdwn, no emoji shortcodes)."""
    assert 0 < len(text) <= MAX_SECTION
    return {"type": "section", "block_id": block_id, "text": {"type": "plain_text", "text": text, "emoji": False}}


def button(b: Button) -> Block:
    """A button whose action_id and value are the callback data."""
    assert len(b.data) <= MAX_ACTION_ID
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _clip(b.label, MAX_BUTTON_TEXT), "emoji": True},
        "action_id": b.data,
        "value": b.data,
    }
    parsed = parse_callback(b.data)
    if parsed is not None and parsed[0] == "send":
        element["style"] = "primary"
    return element


def actions(rows: tuple[tuple[Button, ...], ...]) -> list[Block]:
    """One `actions` block per row of buttons (rows kept), block ids actions-0, actions-1, …"""
    return [
        {"type": "actions", "block_id": f"actions-{i}", "elements": [button(b) for b in row[:MAX_ACTIONS]]}
        for i, row in enumerate(rows)
        if row
    ]


def text_blocks(html: str, lang: str = "fr", *, prefix: str = "text", limit: int = MAX_BLOCKS) -> list[Block]:
    """Catalogue HTML as mrkdwn sections (split on line boundaries), at most `limit`: the last says it was cut."""
    chunks = [c.strip("\n") for c in split_message(to_mrkdwn(html), MAX_SECTION)]
    chunks = [c for c in chunks if c.strip()]
    if len(chunks) > limit:
        marker = "\n" + escape(to_plain(t("slack.card.truncated", lang)))
        chunks = [*chunks[: limit - 1], _clip(chunks[limit - 1], MAX_SECTION - len(marker)) + marker]
    return [section(c, f"{prefix}-{i}") for i, c in enumerate(chunks[:limit])]


def plain_blocks(text: str, lang: str, *, prefix: str, limit: int) -> list[Block]:
    """Plain text as plain_text sections cut on word boundaries, at most `limit`: the last says it was cut."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(chunks) == limit - 1 and len(rest) > MAX_SECTION:
            chunks.append(_cut_plain(rest, t("slack.card.truncated", lang)))
            break
        piece = rest if len(rest) <= MAX_SECTION else (cut_words(rest, MAX_SECTION) or rest[:MAX_SECTION])
        chunks.append(piece)
        rest = rest[len(piece) :].strip()
    return [plain_section(c, f"{prefix}-{i}") for i, c in enumerate(chunks)]


def card_blocks(parts: CardParts, lang: str) -> list[Block]:
    """A reminder's card: head, subject, the draft as plain text (cut with "Voir la suite"), notes, buttons."""
    middle: list[Block] = []
    cut = False
    if parts.subject is not None:
        middle.append(section(_clip(to_mrkdwn(parts.subject), MAX_SECTION), "card-subject"))
    if parts.body:
        body = parts.body
        if len(body) > MAX_SECTION:
            cut = True
            body = _cut_plain(body, t("card.cut", lang))
        middle.append(plain_section(body, "card-body"))
    if parts.edited:
        middle.append(
            {"type": "context", "block_id": "card-edited",
             "elements": [{"type": "mrkdwn", "text": to_mrkdwn(t("card.edited", lang))}]}
        )  # fmt: skip
    rows = parts.cut_buttons if cut else parts.buttons
    more = callback("more", parts.reminder_id, parts.version)
    if cut and all(b.data != more for row in rows for b in row):
        rows = (*rows, (Button(t("btn.more", lang), more),))
    buttons = actions(rows)
    # The head comes first and gives way when a huge invoice list would push the card past 50 blocks.
    note = text_blocks(parts.note, lang, prefix="card-note", limit=2) if parts.note else []
    room = MAX_BLOCKS - len(middle) - len(note) - len(buttons)
    head = text_blocks("\n".join(parts.head), lang, prefix="card-head", limit=room)
    return head + middle + note + buttons


def card_message(parts: CardParts, lang: str) -> dict[str, Any]:
    """The `text` and `blocks` of chat.postMessage / chat.update for a card."""
    return {"text": fallback_text("\n".join(parts.head)), "blocks": card_blocks(parts, lang)}


def from_card_text(card: CardText, lang: str = "fr") -> list[Block]:
    """Any rendered CardText (a /litiges line, the settings panel) as mrkdwn sections then its buttons."""
    buttons = actions(card.buttons)
    return text_blocks(card.text, lang, limit=MAX_BLOCKS - len(buttons)) + buttons


def text_message(html: str, lang: str = "fr") -> dict[str, Any]:
    """The `text` and `blocks` of a message showing catalogue HTML."""
    return {"text": fallback_text(html), "blocks": text_blocks(html, lang)}


def draft_view(parts: CardParts, lang: str) -> Block:
    """The "Voir la suite" modal of a card: its subject and the whole drafted e-mail."""
    blocks = plain_blocks(parts.body or "", lang, prefix="full", limit=MAX_VIEW_BLOCKS - 1)
    if parts.subject is not None:
        blocks.insert(0, section(_clip(to_mrkdwn(parts.subject), MAX_SECTION), "full-subject"))
    return _modal(t("slack.card.full_title", lang), blocks, lang)


def _modal(title: str, blocks: list[Block], lang: str) -> Block:
    """A read-only modal (title within 24 characters, a close button, at least one block)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": _clip(to_plain(title), MAX_TITLE)},
        "close": {"type": "plain_text", "text": t("slack.card.close", lang)},
        "blocks": blocks or [plain_section("—", "full-0")],
    }


def fallback_text(html: str) -> str:
    """The plain notification text Slack wants next to blocks: the first line of the text, short."""
    first = next((line for line in to_plain(html).splitlines() if line.strip()), "")
    return escape(_clip(first.strip(), MAX_FALLBACK))


def _cut_plain(text: str, marker: str) -> str:
    """`text` cut on a word boundary to fit one section with the cut marker on its own line."""
    tail = "\n" + to_plain(marker)
    room = MAX_SECTION - len(tail)
    return (cut_words(text, room) or text[:room]) + tail


def _clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, with an ellipsis when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
