"""Helpers shared by the handlers: the services, the owner's language, replying, showing and refreshing cards."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes, ConversationHandler, MessageHandler, filters

from bot.cards import CardText, parse_callback
from bot.i18n import lang_of, t
from bot.presenter import Presenter, Shown, text
from services.core import InputError

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
SERVICES_KEY = "services"
#: bot_data key of the Tenancy (bot/tenancy.py) when the bot serves several businesses.
TENANCY_KEY = "tenancy"
#: The head line of the update being handled ("🏢 <name>" for an owner of several businesses), set by the gate.
HEAD: ContextVar[str | None] = ContextVar("relance_head", default=None)
#: The business the update being handled is about (several businesses), set by the gate.
BUSINESS: ContextVar[int | None] = ContextVar("relance_business", default=None)
LANGS_KEY = "langs"
#: user_data key of the question the bot is waiting an answer to: (kind, reminder id, version, chat id, message id).
PENDING_KEY = "pending"


def services_of(context: Context) -> Presenter:
    """The Presenter of the business the update is about: with several businesses, the sender's current one (their
    /entreprise choice); else (or for a stranger) the one put in bot_data at start-up."""
    tenancy = context.bot_data.get(TENANCY_KEY)
    user_id = getattr(context, "_user_id", None)
    if tenancy is not None and user_id is not None:
        routed = BUSINESS.get()
        chosen = tenancy.presenters.get(routed) if routed is not None else tenancy.presenter_for(user_id)
        if chosen is not None:
            return chosen
    services = context.bot_data.get(SERVICES_KEY)
    assert isinstance(services, Presenter), "bot_data['services'] is set by build_application"
    return services


def lang(update: Update, context: Context | None = None) -> str:
    """The owner's language (French unless their Telegram is in English); remembered for the digest job."""
    user = update.effective_user
    code = lang_of(user.language_code if user else None)
    if context is not None and update.effective_chat is not None:
        context.bot_data.setdefault(LANGS_KEY, {})[update.effective_chat.id] = code
    return code


def chat_lang(context: Context, chat_id: int) -> str:
    """The language last seen for a chat (French by default)."""
    langs: dict[int, str] = context.bot_data.get(LANGS_KEY, {})
    return langs.get(chat_id, "fr")


def actor(update: Update) -> str:
    """The evidence-log actor for the owner who sent this update."""
    user = update.effective_user
    return f"owner:{user.id}" if user else "owner:?"


def markup(card: CardText | None) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a card (None when it has no buttons)."""
    if card is None or not card.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in card.buttons]
    )


def headed(text: str, head: str | None = None) -> str:
    """`text` under the head line naming the business, for an owner of several (else unchanged)."""
    head = head if head is not None else HEAD.get()
    return f"<b>{head}</b>\n{text}" if head else text


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Send `text` to the chat of the update (under the business's head line for an owner of several)."""
    chat = update.effective_chat
    if chat is None:
        return None
    head = HEAD.get()
    if head and "parse_mode" in kwargs and kwargs["parse_mode"] is None:  # plain text: the head without markup
        return await chat.send_message(f"{html.unescape(head)}\n{text}", **kwargs)
    return await chat.send_message(headed(text), **kwargs)


async def edit_card(context: Context, chat_id: int, message_id: int, card: CardText) -> None:
    """Show `card` in an existing message; "message is not modified" is not an error."""
    try:
        await context.bot.edit_message_text(
            headed(card.text), chat_id=chat_id, message_id=message_id, reply_markup=markup(card)
        )
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            log.debug("card %s/%s already up to date", chat_id, message_id)
        else:
            log.warning("could not edit card %s/%s: %s", chat_id, message_id, exc)
    except TelegramError as exc:
        log.warning("could not edit card %s/%s: %s", chat_id, message_id, exc)


def shows(message: object, card: CardText) -> bool:
    """True when `message`, as Telegram handed it to us, already shows exactly `card` (text, formatting, buttons).

    PTB rebuilds the HTML from Telegram's entities, escaping quotes that our cards leave as they are; any other
    difference (or a message we cannot read) counts as "changed", so the worst case is an edit Telegram declines.
    """
    if not isinstance(message, Message) or message.text is None:
        return False
    # The buttons first: comparing them is cheap, rebuilding the HTML from the entities is not.
    if message.reply_markup != markup(card):
        return False
    shown = message.text_html.replace("&quot;", '"').replace("&#x27;", "'")
    return shown == headed(card.text)


async def show_card(
    update: Update, context: Context, reminder_id: int, card: CardText | None, *, everywhere: bool = True
) -> None:
    """Edit the tapped card in place, then every other card of the same reminder (other owners' chats).

    `everywhere=False` is for menus (Reporter, Payée, Retour): they change this chat's buttons only, not the
    reminder, so the other owners' cards keep their own buttons.
    """
    if card is None:
        return
    query = update.callback_query
    here: tuple[int, int] | None = None
    if query is not None and query.message is not None:
        here = (query.message.chat.id, query.message.message_id)
        # A stale tap on a card that already shows the current state (a double tap, an old client view): the
        # callback carries the message as it is now, so there is nothing to edit.
        if not shows(query.message, card):
            await edit_card(context, here[0], here[1], card)
    if not everywhere:
        return
    services = services_of(context)
    for chat_id, message_id in telegram_cards(services, reminder_id):
        if (chat_id, message_id) == here:
            continue
        other_lang = chat_lang(context, chat_id)
        other = card if other_lang == lang(update) else services.card(reminder_id, other_lang)
        if other is not None:
            await edit_card(context, chat_id, message_id, other)


def telegram_cards(services: Presenter, reminder_id: int) -> list[tuple[int, int]]:
    """The (chat id, message id) of this bot's cards of a reminder, as Telegram's numbers (stored as text)."""
    return [(int(chat_id), int(message_id)) for chat_id, message_id in services.cards_of(reminder_id)]


def register_card(services: Presenter, reminder_id: int, message: Message) -> None:
    """Remember that `message` shows the reminder's card."""
    services.register_cards([(reminder_id, str(message.chat.id), str(message.message_id))])


def button(update: Update) -> tuple[str, int, int] | None:
    """(action, reminder id, version) of the pressed button, or None for unknown or forged data."""
    query = update.callback_query
    return parse_callback(query.data if query else None)


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press (stops the client's spinner); an expired query is not an error."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("callback answer failed: %s", exc)


_T = TypeVar("_T")


async def answer_reading(update: Update, text: str | None, read: Callable[[], _T]) -> _T:
    """Answer the button press while `read` (a database read, no change) runs in a worker thread; its result.

    The answer is on its way to Telegram while the card is read, and it is always sent before the card is edited
    (the caller edits after this returns). An answer that fails (other than an expired query) still raises.
    """
    _, result = await asyncio.gather(answer(update, text), asyncio.to_thread(read))
    return cast(_T, result)


async def refuse_button(update: Update, context: Context) -> None:
    """A press on data that is not ours or malformed: say so, do nothing."""
    await answer(update, t("cb.unknown", lang(update, context)))


async def check_button(update: Update, context: Context) -> tuple[str, int, int] | None:
    """The pressed button if it still matches the database; else answer (and refresh the card) and return None."""
    parsed = button(update)
    code = lang(update, context)
    if parsed is None:
        await refuse_button(update, context)
        return None
    _, rid, version = parsed
    services = services_of(context)
    state = services.current(rid, version)
    if state == "unknown":
        await answer(update, t("cb.unknown", code))
        return None
    if state == "stale":
        await answer(update, t("cb.already", code))
        await show_card(update, context, rid, services.card(rid, code))
        return None
    return parsed


async def open_menu(update: Update, context: Context, reminder_id: int, keyboard: str) -> None:
    """A button that opens a menu (Reporter, Payée): this chat's card shows the choices; the reminder is unchanged."""
    code = lang(update, context)
    services = services_of(context)
    card = await answer_reading(
        update, t("cb.choose", code), lambda: services.card(reminder_id, code, keyboard=keyboard)
    )
    await show_card(update, context, reminder_id, card, everywhere=False)


async def ask(update: Update, context: Context, kind: str, prompt_key: str, state: int) -> int:
    """Start a question after a card button: remember what it is about and send the prompt."""
    parsed = await check_button(update, context)
    if parsed is None:
        return ConversationHandler.END
    _, rid, version = parsed
    await answer(update)
    query = update.callback_query
    assert query is not None and query.message is not None
    if context.user_data is not None:
        context.user_data[PENDING_KEY] = (kind, rid, version, query.message.chat.id, query.message.message_id)
    await reply(update, t(prompt_key, lang(update, context)))
    return state


def pending(context: Context, kind: str) -> tuple[int, int, int, int] | None:
    """(reminder id, version, chat id, message id) of the open question of `kind`, if any."""
    data = context.user_data.get(PENDING_KEY) if context.user_data is not None else None
    if not data or data[0] != kind:
        return None
    return data[1], data[2], data[3], data[4]


def forget(context: Context) -> None:
    """Close the open question."""
    if context.user_data is not None:
        context.user_data.pop(PENDING_KEY, None)


async def cancel(update: Update, context: Context) -> int:
    """/annuler: leave the current question; nothing is changed."""
    forget(context)
    await reply(update, t("ask.cancelled", lang(update, context)))
    return ConversationHandler.END


async def cancel_nothing(update: Update, context: Context) -> None:
    """/annuler outside a question."""
    await reply(update, t("ask.nothing", lang(update, context)))


async def finish(update: Update, context: Context, outcome: Any, *, new_card: bool = False) -> int:
    """End a question with the outcome of the action: reply, then refresh every card of the reminder.

    With `new_card`, the updated card is also sent as a new message under the owner's reply (after an edit).
    """
    code = lang(update, context)
    forget(context)
    await reply(update, outcome.message)
    if outcome.card is None or outcome.reminder_id is None:
        return ConversationHandler.END
    services = services_of(context)
    for chat_id, message_id in telegram_cards(services, outcome.reminder_id):
        other_lang = chat_lang(context, chat_id)
        card = outcome.card if other_lang == code else services.card(outcome.reminder_id, other_lang)
        if card is not None:
            await edit_card(context, chat_id, message_id, card)
    if new_card:
        sent = await reply(update, outcome.card.text, reply_markup=markup(outcome.card))
        if sent is not None:
            register_card(services, outcome.reminder_id, sent)
    return ConversationHandler.END


T = TypeVar("T")


@dataclass(frozen=True)
class Question(Generic[T]):
    """A card button that asks the owner one thing; their next text message answers it.

    Every question runs the same way: the button (checked against the reminder's version) stores what the
    question is about and sends the prompt; the answer is parsed (an `InputError` is explained and the question
    stays open), the action is applied to the version the button showed, and `finish` replies and refreshes the
    cards. A feature declares only what differs.
    """

    #: What the open question is about (kept in user_data under PENDING_KEY).
    kind: str
    #: The callback data that opens it (the button).
    pattern: str
    #: The catalogue key of the prompt.
    prompt: str
    #: The conversation state waiting for the answer (unique across features).
    state: int
    #: The owner's text as the value the action takes; raises InputError.
    parse: Callable[[str, Presenter], T]
    #: The action: (services, reminder id, version, value, actor, lang) -> what to show.
    apply: Callable[[Presenter, int, int, T, str, str], Shown]
    #: InputError keys that close the question instead of asking again.
    closes_on: frozenset[str] = frozenset()
    #: Also send the updated card as a new message under the owner's reply when the action succeeds.
    new_card: bool = False

    async def on_button(self, update: Update, context: Context) -> int:
        """The button: ask the question."""
        return await ask(update, context, self.kind, self.prompt, self.state)

    async def on_answer(self, update: Update, context: Context) -> int:
        """The owner's answer: check it, apply it, show the result."""
        code = lang(update, context)
        about = pending(context, self.kind)
        if about is None or update.message is None or update.message.text is None:
            return ConversationHandler.END
        rid, version, _, _ = about
        services = services_of(context)
        try:
            value = self.parse(update.message.text, services)
        except InputError as exc:
            await reply(update, text(exc.msg, code))
            if exc.key in self.closes_on:
                forget(context)
                return ConversationHandler.END
            return self.state
        outcome = self.apply(services, rid, version, value, actor(update), code)
        if outcome.status == "invalid":
            # The service refused the value (e.g. more than is owed): explain, and let the owner type another.
            await reply(update, outcome.message)
            return self.state
        return await finish(update, context, outcome, new_card=self.new_card and outcome.ok)

    @property
    def entry(self) -> CallbackQueryHandler[Context, int]:
        """The conversation entry point: the button."""
        return CallbackQueryHandler(self.on_button, pattern=self.pattern)

    @property
    def states(self) -> dict[object, list[BaseHandler[Update, Context, int]]]:
        """The conversation state: any text that is not a command answers the question."""
        return {self.state: [MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_answer)]}
