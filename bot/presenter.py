"""Turns the chat-free results of `services.core` into what an owner reads: text in their language (Telegram's HTML
subset) and cards with buttons. Telegram's handlers and the terminal both go through it.

`Presenter` wraps one business's `Services`: each action takes the owner's language, calls the use case, and
renders its `Outcome`; queries that return plain data pass straight through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from bot import cards, letter_cards
from bot.cards import CardParts, CardText
from bot.i18n import t
from dunning.invoice_states import State
from messages.formatting import format_amount, format_date
from messages.states import state_label
from services.core import CardState, DigestData, DisputeLine, DraftFailure, Msg, Outcome, ParsedEdit, Services

if TYPE_CHECKING:
    from services.outbox import DeliveryResult
    from storage.reminders import ReminderView


def _value(value: Any, lang: str = "fr") -> str:
    """One value of a message, shown the French way (amounts, dates), an invoice state in words, and escaped for
    Telegram's HTML."""
    if isinstance(value, State):
        return state_label(value, lang)
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return cards.h(value)


def text(msg: Msg | None, lang: str) -> str:
    """A catalogue message in the owner's language ('' for none)."""
    if msg is None:
        return ""
    return t(msg.key, lang, **{k: _value(v, lang) for k, v in msg.values.items()})


def card_parts(state: CardState | None, lang: str, *, note: str | None = None) -> CardParts | None:
    """A reminder's card pieces from what the service says it shows; `note` overrides its note."""
    if state is None:
        return None
    shown = note if note is not None else (text(state.note, lang) or None)
    if isinstance(state.draft, DraftFailure):
        broken = t("card.draft_broken", lang, reason=cards.h(state.draft.reason))
        shown = broken if shown is None else f"{shown}\n{broken}"
        parts = cards.card_parts(state.view, None, lang=lang, note=shown, keyboard="broken")
    else:
        parts = cards.card_parts(state.view, state.draft, lang=lang, note=shown, keyboard=state.keyboard,
                                 call=state.call, channel=state.channel)  # fmt: skip
    # A formal notice's registered letter (LRAR): its lines and buttons.
    return letter_cards.with_letter(parts, state.view, state.letter, lang)


def card_text(state: CardState | None, lang: str, *, note: str | None = None) -> CardText | None:
    """A reminder's card as one Telegram message (text and buttons); `note` overrides its note."""
    parts = card_parts(state, lang, note=note)
    return None if parts is None else cards.telegram_card(parts, lang)


def dispute_text(line: DisputeLine, lang: str, *, note: Msg | None = None) -> CardText:
    """A /litiges line with its buttons (or the note alone after a decision)."""
    return cards.render_dispute(line, lang, note=text(note, lang) if note is not None else None)


def render_digest(data: DigestData, lang: str) -> tuple[str, list[tuple[int, CardText]]]:
    """The digest's header message and one Telegram card per reminder, then the uncertain sends."""
    header, parts = render_digest_parts(data, lang)
    return header, [(rid, cards.telegram_card(card, lang)) for rid, card in parts]


def render_digest_parts(data: DigestData, lang: str) -> tuple[str, list[tuple[int, CardParts]]]:
    """The digest's header (HTML) and one card's pieces per reminder, then the uncertain sends until decided."""
    header, states = _due_states(data, lang)
    if data.uncertain:
        header = t("digest.uncertain", lang, count=len(data.uncertain)) + "\n" + header
        states += data.uncertain
    if data.missed is not None:
        # The previous digest could not go out (services.core.DigestData.missed); its pending cards are these.
        yesterday = data.missed == date.fromordinal(data.day.toordinal() - 1)
        missed = (
            t("digest.missed", lang) if yesterday else t("digest.missed_day", lang, day=format_date(data.missed, lang))
        )
        header = missed + "\n" + header
    rendered: list[tuple[int, CardParts]] = []
    for state in states:
        parts = card_parts(state, lang)
        assert parts is not None
        rendered.append((state.view.reminder_id, parts))
    return header, rendered


def _due_states(data: DigestData, lang: str) -> tuple[str, list[CardState]]:
    """The digest's header message and the card of each reminder waiting for the owner."""
    amounts = {"open": format_amount(data.open_total), "overdue": format_amount(data.overdue_total)}
    footer = t("digest.footer", lang, head=data.head)
    if data.paused:
        return t("digest.paused", lang, **amounts) + "\n" + footer, []
    if not data.views:
        return t("digest.nothing", lang, **amounts) + "\n" + footer, []
    header = t("digest.header", lang, count=len(data.views), **amounts) + "\n" + footer
    states = [_due_state(data, view) for view in data.views]
    return header, states


def _due_state(data: DigestData, view: ReminderView) -> CardState:
    """The digest card of a reminder: its e-mail, or its call card when the step is a call."""
    rid = view.reminder_id
    keyboard = "call" if rid in data.calls else "main"
    return CardState(view, data.drafts.get(rid), None, keyboard, data.tz, data.day, data.letters.get(rid),
                     channel=data.channels.get(rid, "email"), call=data.calls.get(rid))  # fmt: skip


@dataclass
class Shown:
    """An outcome as the owner sees it: the answer, and the card to show now."""

    status: Literal["done", "stale", "unknown", "invalid", "failed"]
    message: str = ""
    card: CardText | None = None
    reminder_id: int | None = None
    path: str | None = None
    #: The same card as `card`, in pieces for chats that lay it out themselves (None for a dispute line).
    parts: CardParts | None = None

    @property
    def ok(self) -> bool:
        """True when the action was carried out."""
        return self.status == "done"


def show(outcome: Outcome, lang: str) -> Shown:
    """An outcome in the owner's language."""
    card: CardText | None
    parts: CardParts | None = None
    if outcome.dispute is not None:
        note = outcome.message if outcome.status == "done" else None
        card = dispute_text(outcome.dispute, lang, note=note)
    else:
        parts = card_parts(outcome.card, lang)
        card = None if parts is None else cards.telegram_card(parts, lang)
    return Shown(outcome.status, text(outcome.message, lang), card, outcome.reminder_id, outcome.path, parts)


class Presenter:
    """One business's use cases, answered in the owner's language."""

    def __init__(self, core: Services, *, channel: str = "telegram") -> None:
        self.core = core
        #: The chat adapter and bot showing the cards ("telegram:<bot id>"): two bots on one database never mix
        #: their message ids.
        self.channel = channel

    def __getattr__(self, name: str) -> Any:
        # Queries returning plain data (today, status, pending, cards_of, disputes, …) need no rendering.
        return getattr(self.core, name)

    def register_cards(self, shown: list[tuple[int, str, str]]) -> None:
        """Remember the cards this adapter showed: (reminder_id, chat_id, message_id), ids as text."""
        self.core.register_cards(shown, channel=self.channel)

    def cards_of(self, reminder_id: int) -> list[tuple[str, str]]:
        """The (chat_id, message_id) of this adapter's cards of a reminder."""
        return self.core.cards_of(reminder_id, channel=self.channel)

    def card(self, reminder_id: int, lang: str, *, keyboard: str = "main", note: str | None = None) -> CardText | None:
        """The current card of a reminder (None if unknown)."""
        return card_text(self.core.card(reminder_id, keyboard=keyboard), lang, note=note)

    def card_parts(
        self, reminder_id: int, lang: str, *, keyboard: str = "main", note: str | None = None
    ) -> CardParts | None:
        """The current card of a reminder, in pieces (None if unknown)."""
        return card_parts(self.core.card(reminder_id, keyboard=keyboard), lang, note=note)

    def render_digest(self, data: DigestData, lang: str) -> tuple[str, list[tuple[int, CardText]]]:
        """The digest's header message and cards."""
        return render_digest(data, lang)

    def render_digest_parts(self, data: DigestData, lang: str) -> tuple[str, list[tuple[int, CardParts]]]:
        """The digest's header message and cards, in pieces."""
        return render_digest_parts(data, lang)

    async def send(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """✅ Envoyer."""
        return show(await self.core.send(reminder_id, version, actor=actor), lang)

    async def release(self, reminder_id: int, version: int, *, actor: str, lang: str, resend: bool) -> Shown:
        """Send now (waiting for the window) or send again (outcome unknown)."""
        return show(await self.core.release(reminder_id, version, actor=actor, resend=resend), lang)

    def confirm_sent(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """✅ Bien parti (an uncertain send the owner checked)."""
        return show(self.core.confirm_sent(reminder_id, version, actor=actor), lang)

    def snooze(self, reminder_id: int, version: int, *, actor: str, lang: str, days: int = 0,
               until: date | None = None) -> Shown:  # fmt: skip
        """⏰ Reporter."""
        return show(self.core.snooze(reminder_id, version, actor=actor, days=days, until=until), lang)

    def pay(self, reminder_id: int, version: int, *, actor: str, lang: str, amount: Decimal | None = None) -> Shown:
        """💶 Payée."""
        return show(self.core.pay(reminder_id, version, actor=actor, amount=amount), lang)

    def dispute(self, reminder_id: int, version: int, *, reason: str, actor: str, lang: str) -> Shown:
        """⚖️ Litige."""
        return show(self.core.dispute(reminder_id, version, reason=reason, actor=actor), lang)

    def promise(self, reminder_id: int, version: int, *, until: date, actor: str, lang: str) -> Shown:
        """🤝 Promesse."""
        return show(self.core.promise(reminder_id, version, until=until, actor=actor), lang)

    def edit(self, reminder_id: int, version: int, *, edit: ParsedEdit, actor: str, lang: str) -> Shown:
        """✏️ Modifier."""
        return show(self.core.edit(reminder_id, version, edit=edit, actor=actor), lang)

    def undo_edit(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """Annuler after an edit."""
        return show(self.core.undo_edit(reminder_id, version, actor=actor), lang)

    def drop(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """🗑 Ne pas envoyer (a draft outside the ladder: thanks, penalty claim, plan schedule, plan reminder)."""
        return show(self.core.drop(reminder_id, version, actor=actor), lang)

    def pay_invoice(self, number: str, amount: Decimal | None, *, actor: str, lang: str) -> Shown:
        """/payee NUMERO [montant]."""
        return show(self.core.pay_invoice(number, amount, actor=actor), lang)

    def close_dispute(
        self, invoice_id: int, version: int, *, outcome: Literal["resolved", "written_off"], actor: str, lang: str
    ) -> Shown:
        """Reprendre / Passer en perte from /litiges."""
        return show(self.core.close_dispute(invoice_id, version, outcome=outcome, actor=actor), lang)

    def resume_invoice(self, number: str, *, actor: str, lang: str) -> Shown:
        """/reprendre NUMERO."""
        return show(self.core.resume_invoice(number, actor=actor), lang)

    # --- calls (issue 11 §2) ---

    def call_done(self, reminder_id: int, version: int, *, note: str, actor: str, lang: str) -> Shown:
        """📞 Appel fait, with the owner's one-line outcome."""
        return show(self.core.call_done(reminder_id, version, note=note, actor=actor), lang)

    def call_no_answer(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """📵 Pas de réponse."""
        return show(self.core.call_no_answer(reminder_id, version, actor=actor), lang)

    def call_email_instead(self, reminder_id: int, version: int, *, actor: str, lang: str) -> Shown:
        """✉️ Envoyer plutôt l'e-mail."""
        return show(self.core.call_email_instead(reminder_id, version, actor=actor), lang)

    # --- registered letters (LRAR) ---

    def letter_sent(self, reminder_id: int, version: int, *, tracking: str, sent_on: date, actor: str,
                    lang: str) -> Shown:  # fmt: skip
        """✉️ LRAR envoyée."""
        return show(self.core.letter_sent(reminder_id, version, tracking=tracking, sent_on=sent_on, actor=actor), lang)

    def letter_presented(self, reminder_id: int, version: int, *, presented_on: date, actor: str, lang: str) -> Shown:
        """📮 Première présentation."""
        return show(self.core.letter_presented(reminder_id, version, presented_on=presented_on, actor=actor), lang)

    def letter_received(self, reminder_id: int, version: int, *, received_on: date, proof: bytes | None, actor: str,
                        lang: str) -> Shown:  # fmt: skip
        """📬 AR reçu."""
        outcome = self.core.letter_received(reminder_id, version, received_on=received_on, proof=proof, actor=actor)
        return show(outcome, lang)

    def letter_back(self, reminder_id: int, version: int, *, outcome: str, on: date, actor: str, lang: str) -> Shown:
        """Pli non réclamé / Retourné."""
        return show(self.core.letter_back(reminder_id, version, outcome=outcome, on=on, actor=actor), lang)


def outcome_note(result: DeliveryResult, lang: str, tz: tzinfo) -> str | None:
    """The note a reminder's card shows after an e-mail outcome (failed, unknown, deferred), None when sent."""
    reason = cards.h(str(result.reply)[:300])
    if result.outcome == "failed":
        return t("card.failed", lang, reason=reason)
    if result.outcome == "unknown":
        return t("state.unknown", lang)
    if result.outcome == "retry" and result.next_attempt is not None:
        local = result.next_attempt.astimezone(tz)
        return t("state.deferred", lang, reason=reason, day=local.strftime("%d/%m"), time=local.strftime("%H:%M"))
    return None


def outcome_alert(result: DeliveryResult, lang: str) -> str | None:
    """What the owners are told of an e-mail outcome in a message of its own: failures and unknowns only."""
    if result.outcome == "failed":
        return t("send.failed", lang, reason=cards.h(str(result.reply)[:300]))
    if result.outcome == "unknown":
        return t("state.unknown", lang)
    return None
