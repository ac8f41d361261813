"""The owner's and a stranger's moves in either chat behind one protocol, so a scenario is written once: Telegram
through the fake Bot API server (commands, buttons, questions answered in the chat), Slack through the emulator
(`/relance`, buttons, modals).

What a driver returns is what the person reads: Telegram's text after entity parsing, Slack's blocks with the mrkdwn
markers removed and its three escapes decoded, so the two chats can be compared character for character.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar

from tests.e2e.fakebot import FakeBotAccount, StoredMessage, Tap
from tests.e2e.fakeslack import Ephemeral, FakeSlack, Message, SlackTimeout
from tests.e2e.support import (
    OWNER,
    SLACK_OWNER,
    SLACK_STRANGER,
    STRANGER,
    last_message_id,
    next_reply,
    reply_with,
)

#: The first message of a digest: how many cards follow.
DIGEST_HEADER = re.compile(r"(\d+) relance\(s\) attendent|Rien à relancer")
#: How long a driver waits for the bot (the process is on loopback; a slow CI machine gets some room).
WAIT = 15.0
M = TypeVar("M")
T = TypeVar("T")


@dataclass(frozen=True)
class Card:
    """A reminder's card as a chat showed it when read: where it is, its reminder, its text and buttons then."""

    chat_id: str  # Telegram's chat id, Slack's channel id
    message_id: str  # Telegram's message id, Slack's message ts
    reminder_id: int
    shown: str
    buttons: dict[str, str]  # label -> callback data (Slack: the action_id, which is the same string)
    edits: int  # how many times the bot changed the message
    copy: Any  # the message as read (a StoredMessage or a Slack Message): a stale tap replays it

    def data(self, label: str) -> str:
        """The callback data of the button whose label contains `label`."""
        found = [data for text, data in self.buttons.items() if label in text]
        assert found, f"no button {label!r} on the card: {list(self.buttons)}"
        return found[0]


def card_for(cards: list[Card], invoice_number: str) -> Card:
    """The card listing an invoice."""
    for card in cards:
        if invoice_number in card.shown:
            return card
    raise AssertionError(f"no card for {invoice_number}: {[c.shown[:60] for c in cards]}")


def digest_in(messages: list[M], text: Callable[[M], str], is_card: Callable[[M], bool]) -> tuple[list[M]] | None:
    """The cards of the first complete digest among a chat's bot messages (in a 1-tuple: an empty digest is found
    too), or None while there is none or its cards are still arriving."""
    for i, message in enumerate(messages):
        match = DIGEST_HEADER.search(text(message))
        if match is not None:
            count = int(match.group(1) or 0)
            # Other answers may come between the cards (Slack: a chart still uploading when the digest was asked).
            cards = [m for m in messages[i + 1 :] if is_card(m)][:count]
            return (cards,) if len(cards) == count else None
    return None


def reminder_of(buttons: dict[str, str]) -> int | None:
    """The reminder id carried by a card's buttons (r1:<action>:<id>:<version>)."""
    for data in buttons.values():
        if data.startswith("r1:"):
            return int(data.split(":")[2])
    return None


class ChatDriver(Protocol):
    """The owner (and a stranger) in one chat, as the shared scenarios use them."""

    #: The evidence log's actor for the owner's actions, and the stranger as the refusal entry names them.
    owner_actor: str
    stranger_id: int | str

    async def import_csv(self, data: bytes) -> str:
        """Send the CSV in the chat; the bot's report."""
        ...

    async def first_digest(self) -> list[Card]:
        """The digest the bot sent on its own (the catch-up digest at start): its cards."""
        ...

    async def ask_digest(self) -> list[Card]:
        """Ask for today's cards; the cards of the digest that answers."""
        ...

    def current(self, card: Card) -> Card:
        """The card as it stands now."""
        ...

    def draft(self, card: Card) -> str:
        """The drafted e-mail the card shows now, exactly."""
        ...

    async def wait_card(self, card: Card, text: str) -> Card:
        """Wait until the card shows `text`; the card then."""
        ...

    async def send(self, card: Card) -> None:
        """Tap ✅ Envoyer."""
        ...

    async def tap_again(self, card: Card, label: str) -> str:
        """Tap a button of the card as it was read (a stale copy); what the bot answers."""
        ...

    async def snooze(self, card: Card, days: int) -> None:
        """Reporter, +`days` days."""
        ...

    async def pay(self, card: Card, amount: str | None) -> str:
        """Payée: in full (None) or a partial `amount` as the owner types it ("500,00"); the bot's answer."""
        ...

    async def dispute(self, card: Card, reason: str) -> str:
        """Litige with a reason; the bot's answer."""
        ...

    async def promise(self, card: Card, until: date) -> str:
        """Promesse with a date; the bot's answer."""
        ...

    async def status(self) -> str:
        """The /status dashboard's text."""
        ...

    async def stranger_tries(self, card: Card) -> list[str]:
        """A stranger taps the card's Envoyer, asks for the digest and the status, writes, sends a CSV; once the bot
        has handled all of it, every text the stranger was shown."""
        ...

    def api_errors(self) -> list[str]:
        """The bot's API calls the chat refused."""
        ...


# --- Telegram ----------------------------------------------------------------------------------------------------

#: Telegram refusals that are harmless for a bot (a refresh that changes nothing).
_HARMLESS = ("message is not modified",)


class TelegramDriver:
    """The owner (user 111, in French) and a stranger (999) in Telegram, through the fake Bot API server."""

    owner_actor = f"owner:{OWNER}"
    stranger_id: int | str = STRANGER

    def __init__(self, tg: FakeBotAccount) -> None:
        self.tg = tg

    def _card(self, message: StoredMessage, reminder_id: int | None = None) -> Card:
        buttons = {b.text: b.callback_data or "" for row in message.buttons for b in row}
        rid = reminder_id if reminder_id is not None else reminder_of(buttons)
        assert rid is not None, f"message {message.message_id} is not a card: {message.shown[:80]}"
        return Card(str(message.chat_id), str(message.message_id), rid, message.shown, buttons, message.edits, message)

    def _message(self, card: Card) -> StoredMessage:
        message = self.tg.message(OWNER, int(card.message_id))
        assert message is not None, f"card {card.message_id} is gone"
        return message

    async def _digest(self, after: int) -> list[Card]:
        def complete() -> tuple[list[StoredMessage]] | None:
            messages = [m for m in self.tg.bot_messages(OWNER) if m.message_id > after]
            return digest_in(messages, lambda m: m.shown, lambda m: bool(m.buttons))

        (found,) = await self.tg.wait_for(complete, timeout=WAIT, what="a complete digest")
        return [self._card(m) for m in found]

    async def _answered(self, tap: Tap) -> str:
        """Wait until the bot answers a tap; the answer's text ('' when none)."""
        state = await self.tg.wait_for(lambda: (s := self.tg.tap_state(tap.id)).answered and s, timeout=WAIT,
                                       what=f"the answer to the tap on {tap.data}")  # fmt: skip
        return state.answer_text or ""

    async def _press(self, message: StoredMessage, label: str) -> str:
        return await self._answered(self.tg.press(message, label))

    async def _with_button(self, card: Card, label: str) -> StoredMessage:
        return await self.tg.wait_for(
            lambda: (m := self._message(card)) and any(label in b for b in m.button_labels) and m,
            timeout=WAIT,
            what=f"card {card.message_id} to offer {label!r}",
        )

    async def _question(self, card: Card, label: str, prompt: str) -> None:
        before = last_message_id(self.tg, OWNER)
        await self._press(self._message(card), label)
        await reply_with(self.tg, before, prompt)

    async def _say(self, text: str, expect: str) -> str:
        sent = self.tg.send_text(OWNER, text)
        return (await reply_with(self.tg, sent.message_id, expect)).shown

    async def import_csv(self, data: bytes) -> str:
        await self._say("/import", "CSV")
        uploaded = self.tg.upload_document(OWNER, "factures.csv", data, mime_type="text/csv")
        return (await next_reply(self.tg, uploaded.message_id)).shown

    async def first_digest(self) -> list[Card]:
        return await self._digest(0)

    async def ask_digest(self) -> list[Card]:
        return await self._digest(self.tg.send_text(OWNER, "/digest").message_id)

    def current(self, card: Card) -> Card:
        return self._card(self._message(card), card.reminder_id)

    def draft(self, card: Card) -> str:
        message = self._message(card)
        italics = [e for e in message.entities if e["type"] == "italic"]
        assert italics, f"card {card.message_id} shows no draft: {message.shown[:200]}"
        body = max(italics, key=lambda e: int(e["length"]))  # the draft is the card's one long italic run
        units = message.shown.encode("utf-16-le")
        start, length = 2 * int(body["offset"]), 2 * int(body["length"])
        return units[start : start + length].decode("utf-16-le")

    async def wait_card(self, card: Card, text: str) -> Card:
        message = await self.tg.wait_for(lambda: (m := self._message(card)) and text in m.shown and m, timeout=WAIT,
                                         what=f"card {card.message_id} to show {text!r}")  # fmt: skip
        return self._card(message, card.reminder_id)

    async def send(self, card: Card) -> None:
        await self._press(self._message(card), "Envoyer")

    async def tap_again(self, card: Card, label: str) -> str:
        return await self._answered(self.tg.tap(OWNER, int(card.message_id), card.data(label)))

    async def snooze(self, card: Card, days: int) -> None:
        await self._press(self._message(card), "Reporter")
        await self._press(await self._with_button(card, f"+{days} j"), f"+{days} j")

    async def pay(self, card: Card, amount: str | None) -> str:
        await self._press(self._message(card), "Payée")
        choices = await self._with_button(card, "Paiement partiel")
        if amount is None:
            return await self._press(choices, "Payée en totalité")
        before = last_message_id(self.tg, OWNER)
        await self._press(choices, "Paiement partiel")
        await reply_with(self.tg, before, "Quel montant")
        return await self._say(amount, "Paiement de")

    async def dispute(self, card: Card, reason: str) -> str:
        await self._question(card, "Litige", "motif du litige")
        return await self._say(reason, "Litige enregistré")

    async def promise(self, card: Card, until: date) -> str:
        await self._question(card, "Promesse", "promis de payer")
        return await self._say(until.strftime("%d/%m/%Y"), "Promesse notée")

    async def status(self) -> str:
        return await self._say("/status", "Tableau de bord")

    async def stranger_tries(self, card: Card) -> list[str]:
        answer = await self._answered(self.tg.tap(OWNER, int(card.message_id), card.data("Envoyer"), user_id=STRANGER))
        for text in ("/digest", "/status", "bonjour"):
            self.tg.send_text(STRANGER, text, first_name="Mallory")
        self.tg.upload_document(STRANGER, "factures.csv", b"invoice_number\n", mime_type="text/csv")
        # Updates are handled in order: once the owner's /aide is answered, the stranger's were handled.
        await self._say("/aide", "/status")
        return ([answer] if answer else []) + [m.shown for m in self.tg.bot_messages(STRANGER)]

    def api_errors(self) -> list[str]:
        return [
            f"{c.method}: {c.description}"
            for c in self.tg.errors()
            if not any(h in (c.description or "") for h in _HARMLESS)
        ]


# --- Slack -------------------------------------------------------------------------------------------------------

_EMPHASIS = re.compile(r"(?<![\w*_~`])([*_~`])(\S(?:[^\n]*?\S)?)\1(?![\w*_~`])")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>|<([^<>|]+)>")


def unformat(mrkdwn: str) -> str:
    """Slack mrkdwn as the reader sees it: emphasis markers and link syntax removed, &lt; &gt; &amp; decoded."""
    text = _LINK.sub(lambda m: m[2] or m[3], mrkdwn)
    previous = None
    while previous != text:  # nested emphasis (*bold _italic_*) peels one level at a time
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def shown_text(blocks: list[dict[str, Any]]) -> str:
    """What a reader sees of a message's blocks (buttons aside), one block per line."""
    lines: list[str] = []
    for block in blocks:
        pieces = [block.get("text")] if block["type"] in ("section", "header") else []
        pieces += block.get("fields") or []
        pieces += block.get("elements") or [] if block["type"] == "context" else []
        for piece in pieces:
            if isinstance(piece, dict) and "text" in piece:
                lines.append(piece["text"] if piece["type"] == "plain_text" else unformat(piece["text"]))
    return "\n".join(lines)


def slack_buttons(message: Message) -> dict[str, str]:
    """label -> action_id of a message's buttons."""
    return {
        element["text"]["text"]: element["action_id"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    }


class SlackDriver:
    """The owner (U0OWNER, in French) and a stranger (U0STRANGER) in Slack, through the emulator."""

    owner_actor = f"slack:{SLACK_OWNER}"
    stranger_id: int | str = f"slack:{SLACK_STRANGER}"

    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.dm = slack.dm_channel(SLACK_OWNER)

    def _card(self, message: Message, reminder_id: int | None = None) -> Card:
        buttons = slack_buttons(message)
        rid = reminder_id if reminder_id is not None else reminder_of(buttons)
        assert rid is not None, f"message {message.ts} is not a card: {message.plain[:80]}"
        return Card(message.channel, message.ts, rid, shown_text(message.blocks), buttons, message.edits, message)

    def _last_ts(self) -> str:
        messages = self.slack.messages(self.dm)
        return messages[-1].ts if messages else "0"

    async def _digest(self, after: str) -> list[Card]:
        def complete() -> tuple[list[Message]] | None:
            messages = [m for m in self.slack.messages(self.dm) if m.bot_id and float(m.ts) > float(after)]
            return digest_in(messages, lambda m: m.plain, lambda m: bool(slack_buttons(m)))

        (found,) = await self._wait(complete, "a complete digest")
        return [self._card(m) for m in found]

    async def _wait(self, predicate: Callable[[], T | None], what: str) -> T:
        """Wait for the emulator's state to satisfy `predicate`; on timeout, say what the owner's DM shows."""
        try:
            found: T = await self.slack.aio.wait_for(predicate, WAIT, what)
        except SlackTimeout as exc:
            raise AssertionError(f"{exc}; {self.describe()}") from None
        return found

    def describe(self) -> str:
        """The owner's DM (last messages) and ephemeral answers, for a failure message."""
        shown = [f"[{m.ts} {'bot' if m.bot_id else 'owner'}] {m.plain[:120]!r}" for m in self.slack.messages(self.dm)]
        answers = [e.text[:120] for e in self.slack.ephemerals(SLACK_OWNER)]
        return "the owner's DM:\n" + "\n".join(shown[-10:]) + f"\nephemeral answers: {answers}"

    async def _answer(self, after: str, contains: str) -> str:
        """The text of the first bot message in the owner's DM after ts `after` that contains `contains`."""

        def found() -> Message | None:
            messages = self.slack.messages(self.dm)
            return next((m for m in messages if m.bot_id and float(m.ts) > float(after) and contains in m.plain), None)

        return shown_text((await self._wait(found, f"an answer containing {contains!r}")).blocks)

    async def _ephemeral_after(self, count: int) -> str:
        """The owner's next ephemeral message after the first `count`."""

        def next_one() -> Ephemeral | None:
            shown = self.slack.ephemerals(SLACK_OWNER)
            return shown[count] if len(shown) > count else None

        found = await self._wait(next_one, "an ephemeral answer to the owner")
        return unformat(found.text) if not found.blocks else shown_text(found.blocks)

    async def _form(self, card: Card, label: str, values: dict[str, dict[str, str | None]]) -> str:
        """Open a card's modal with its button, submit `values`; the owner's next ephemeral answer."""
        answered = len(self.slack.ephemerals(SLACK_OWNER))
        await self.slack.aio.click(SLACK_OWNER, self.dm, card.message_id, self.current(card).data(label))
        modal = await self._wait(lambda: next(reversed(self.slack.views_of(SLACK_OWNER)), None), "the modal")
        ack = await self.slack.aio.submit_view(SLACK_OWNER, modal.id, values)
        assert ack.get("response_action") is None, f"the modal refused {values}: {ack}"
        return await self._ephemeral_after(answered)

    async def import_csv(self, data: bytes) -> str:
        after = self._last_ts()
        await self.slack.aio.share_file(SLACK_OWNER, "factures.csv", data)
        return await self._answer(after, "")

    async def first_digest(self) -> list[Card]:
        return await self._digest("0")

    async def ask_digest(self) -> list[Card]:
        after = self._last_ts()
        await self.slack.aio.slash(SLACK_OWNER, "digest")
        return await self._digest(after)

    def current(self, card: Card) -> Card:
        return self._card(self.slack.message(self.dm, card.message_id), card.reminder_id)

    def draft(self, card: Card) -> str:
        message = self.slack.message(self.dm, card.message_id)
        bodies = [b["text"] for b in message.blocks if b.get("block_id") == "card-body"]
        assert bodies, f"card {card.message_id} shows no draft: {message.plain[:200]}"
        assert bodies[0]["type"] == "plain_text", "the draft must be plain text, shown exactly"
        return str(bodies[0]["text"])

    async def wait_card(self, card: Card, text: str) -> Card:
        def showing() -> Message | None:
            message = self.slack.message(self.dm, card.message_id)
            return message if text in shown_text(message.blocks) else None

        message = await self._wait(showing, f"card {card.message_id} to show {text!r}")
        return self._card(message, card.reminder_id)

    async def send(self, card: Card) -> None:
        await self.slack.aio.click(SLACK_OWNER, self.dm, card.message_id, self.current(card).data("Envoyer"))

    async def tap_again(self, card: Card, label: str) -> str:
        answered = len(self.slack.ephemerals(SLACK_OWNER))
        await self.slack.aio.click(SLACK_OWNER, self.dm, card.message_id, card.data(label), shown=card.copy)
        return await self._ephemeral_after(answered)

    async def snooze(self, card: Card, days: int) -> None:
        await self._form(card, "Reporter", {"days": {"days": str(days)}})

    async def pay(self, card: Card, amount: str | None) -> str:
        # The amount is prefilled with what is owed: left as it is, the invoice is paid in full.
        return await self._form(card, "Payée", {} if amount is None else {"amount": {"amount": amount}})

    async def dispute(self, card: Card, reason: str) -> str:
        return await self._form(card, "Litige", {"reason": {"reason": reason}})

    async def promise(self, card: Card, until: date) -> str:
        return await self._form(card, "Promesse", {"date": {"date": until.isoformat()}})

    async def status(self) -> str:
        after = self._last_ts()
        await self.slack.aio.slash(SLACK_OWNER, "status")
        return await self._answer(after, "Tableau de bord")

    async def stranger_tries(self, card: Card) -> list[str]:
        await self.slack.aio.click(SLACK_STRANGER, card.chat_id, card.message_id, card.data("Envoyer"))
        for words in ("digest", "status", "payee F-2026-101"):
            await self.slack.aio.slash(SLACK_STRANGER, words)
        await self.slack.aio.dm_text(SLACK_STRANGER, "bonjour")
        await self.slack.aio.share_file(SLACK_STRANGER, "factures.csv", b"invoice_number\n")
        # The refusal is posted off the acknowledgement's path.
        await self._wait(lambda: self.slack.ephemerals(SLACK_STRANGER), "the stranger's refusal")
        # The owner's /relance aide answered: the stranger's requests before it were handled.
        after = self._last_ts()
        await self.slack.aio.slash(SLACK_OWNER, "aide")
        await self._answer(after, "/relance")
        stranger_dm = self.slack.dm_channel(SLACK_STRANGER)
        shown = [unformat(e.text) for e in self.slack.ephemerals(SLACK_STRANGER)]
        shown += [m.plain for m in self.slack.messages(stranger_dm) if m.bot_id]
        return shown + [v.plain for v in self.slack.views_of(SLACK_STRANGER)]

    def api_errors(self) -> list[str]:
        return [f"{c.method}: {c.error}" for c in self.slack.calls if c.error or c.warning]
