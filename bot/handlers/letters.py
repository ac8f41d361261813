"""The registered letter (LRAR) of a formal notice, from its card: ✉️ LRAR envoyée asks for the La Poste tracking
number and the posting date ("1A12345678901 28/11/2026" at once, or the date asked next); 📬 AR reçu asks for the
date of receipt and takes the photo or PDF of the signed acknowledgment sent in the chat; 📮 Première présentation
and Pli non réclamé ask for the date of first presentation, Retourné for the day the letter came back.

The buttons (`l1:`, bot.letter_cards) are checked against the stored letter before the question is asked, and the
answer is applied to the letter version the button showed: a second tap, or a tap after another owner recorded
the same thing, hears "Déjà traité." and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot import letter_cards
from bot.download import DownloadError, TooBigError
from bot.handlers.common import (
    PENDING_KEY,
    Context,
    actor,
    answer,
    finish,
    lang,
    refuse_button,
    reply,
    services_of,
    show_card,
)
from bot.handlers.imports import download_capped
from bot.i18n import t
from bot.presenter import Shown, text
from services.core import InputError, Msg
from services.letters import MAX_PROOF_BYTES, check_proof, parse_letter_date, parse_posting

log = logging.getLogger(__name__)

#: Conversation states (unique across the questions of bot/app.py).
SENT, SENT_DATE, RECEIVED, RECEIVED_PROOF, UNCLAIMED, RETURNED, PRESENTED = range(110, 117)
#: What the owner types when they have no scan of the acknowledgment.
NO_PROOF = frozenset({"sans", "aucun", "aucune", "non", "none", "no", "skip"})
#: user_data key of what the letter's question gathered so far (tracking number, date, scan).
GATHERED_KEY = "lrar"
_STATE_OF = {"sent": SENT, "pres": PRESENTED, "recv": RECEIVED, "uncl": UNCLAIMED, "ret": RETURNED}
_PROMPT_OF = {"sent": "ask.lrar_sent", "pres": "ask.lrar_presented", "recv": "ask.lrar_received",
              "uncl": "ask.lrar_unclaimed", "ret": "ask.lrar_returned"}  # fmt: skip


async def on_button(update: Update, context: Context) -> int:
    """A letter button: checked against the stored letter, then the question."""
    query = update.callback_query
    parsed = letter_cards.parse_callback(query.data if query else None)
    if parsed is None or query is None or query.message is None:
        await refuse_button(update, context)
        return ConversationHandler.END
    action, rid, version = parsed
    code, services = lang(update, context), services_of(context)
    state = services.letter_current(rid, version)
    if state != "current":
        await answer(update, t("cb.unknown" if state == "unknown" else "cb.already", code))
        if state == "stale":
            await show_card(update, context, rid, services.card(rid, code))
        return ConversationHandler.END
    await answer(update)
    if context.user_data is not None:
        context.user_data[PENDING_KEY] = (f"lrar_{action}", rid, version, query.message.chat.id,
                                          query.message.message_id)  # fmt: skip
        context.user_data[GATHERED_KEY] = {}
    await reply(update, t(_PROMPT_OF[action], code))
    return _STATE_OF[action]


def _about(context: Context, action: str) -> tuple[int, int] | None:
    """(formal notice id, letter version) of the open letter question of `action`."""
    data = context.user_data.get(PENDING_KEY) if context.user_data is not None else None
    if not data or data[0] != f"lrar_{action}":
        return None
    return data[1], data[2]


def _gathered(context: Context) -> dict[str, Any]:
    if context.user_data is None:
        return {}
    found: dict[str, Any] = context.user_data.setdefault(GATHERED_KEY, {})
    return found


async def _done(update: Update, context: Context, outcome: Shown, state: int) -> int:
    """The action's result: a refused value is explained and the question stays open; else reply, refresh cards."""
    if outcome.status == "invalid":
        await reply(update, outcome.message)
        return state
    if context.user_data is not None:
        context.user_data.pop(GATHERED_KEY, None)
    return await finish(update, context, outcome)


async def _say(update: Update, context: Context, msg: Msg) -> None:
    await reply(update, text(msg, lang(update, context)))


#: What a date question does with the letter it is about — (formal notice id, letter version) — and the typed day.
DateAction = Callable[[tuple[int, int], date], Awaitable[int]]


async def _on_date(update: Update, context: Context, action: str, state: int, then: DateAction) -> int:
    """The answer to a date question of `action`'s letter: a refused date is explained and `state` asked again;
    a valid one goes to `then`. Without the question open (or without text) the conversation ends."""
    about = _about(context, action)
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    try:
        day = parse_letter_date(update.message.text, services_of(context).today())
    except InputError as exc:
        await _say(update, context, exc.msg)
        return state
    return await then(about, day)


# --- ✉️ LRAR envoyée ---------------------------------------------------------------------------------------------


async def on_sent(update: Update, context: Context) -> int:
    """The tracking number, and the posting date if typed with it (else asked next)."""
    about = _about(context, "sent")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    services = services_of(context)
    try:
        number, day = parse_posting(update.message.text, services.today())
    except InputError as exc:
        await _say(update, context, exc.msg)
        return SENT
    if day is None:
        _gathered(context)["tracking"] = number
        await reply(update, t("ask.lrar_sent_date", lang(update, context)))
        return SENT_DATE
    return await _apply_sent(update, context, about, number, day)


async def on_sent_date(update: Update, context: Context) -> int:
    """The posting date, after the tracking number."""
    number = _gathered(context).get("tracking")
    if number is None:
        return ConversationHandler.END

    async def apply(about: tuple[int, int], day: date) -> int:
        return await _apply_sent(update, context, about, number, day)

    return await _on_date(update, context, "sent", SENT_DATE, apply)


async def _apply_sent(update: Update, context: Context, about: tuple[int, int], number: str, day: date) -> int:
    rid, version = about
    outcome = services_of(context).letter_sent(rid, version, tracking=number, sent_on=day, actor=actor(update),
                                               lang=lang(update, context))  # fmt: skip
    return await _done(update, context, outcome, SENT)


# --- 📮 Première présentation -----------------------------------------------------------------------------------


async def on_presented(update: Update, context: Context) -> int:
    """The date La Poste first presented the letter: the notice's deadline runs from it."""

    async def apply(about: tuple[int, int], day: date) -> int:
        rid, version = about
        outcome = services_of(context).letter_presented(rid, version, presented_on=day, actor=actor(update),
                                                        lang=lang(update, context))  # fmt: skip
        return await _done(update, context, outcome, PRESENTED)

    return await _on_date(update, context, "pres", PRESENTED, apply)


# --- 📬 AR reçu ---------------------------------------------------------------------------------------------------


async def on_received_date(update: Update, context: Context) -> int:
    """The date of receipt; then the scan is asked for (unless it came first)."""

    async def keep(about: tuple[int, int], day: date) -> int:
        gathered = _gathered(context)
        gathered["received_on"] = day
        if "proof" in gathered:
            return await _apply_received(update, context, about)
        await reply(update, t("ask.lrar_proof", lang(update, context)))
        return RECEIVED_PROOF

    return await _on_date(update, context, "recv", RECEIVED, keep)


async def on_received_file(update: Update, context: Context) -> int:
    """A photo or PDF of the acknowledgment: kept for the action; its caption may give the date of receipt."""
    about = _about(context, "recv")
    message = update.message
    if about is None or message is None:
        return ConversationHandler.END
    gathered = _gathered(context)
    waiting = RECEIVED_PROOF if "received_on" in gathered else RECEIVED
    proof = await _download(update, context)
    if proof is None:
        return waiting
    gathered["proof"] = proof
    if "received_on" not in gathered and message.caption:
        try:
            gathered["received_on"] = parse_letter_date(message.caption, services_of(context).today())
        except InputError as exc:
            await _say(update, context, exc.msg)
    if "received_on" not in gathered:
        await reply(update, t("ask.lrar_received", lang(update, context)))
        return RECEIVED
    return await _apply_received(update, context, about)


async def on_received_proof_text(update: Update, context: Context) -> int:
    """Text while the scan is awaited: "sans" records the receipt without it; anything else asks again."""
    about = _about(context, "recv")
    if about is None or update.message is None or update.message.text is None:
        return ConversationHandler.END
    if update.message.text.strip().lower().strip(".!«»\"' ") not in NO_PROOF:
        await reply(update, t("ask.lrar_proof", lang(update, context)))
        return RECEIVED_PROOF
    return await _apply_received(update, context, about)


async def _apply_received(update: Update, context: Context, about: tuple[int, int]) -> int:
    rid, version = about
    gathered = _gathered(context)
    outcome = services_of(context).letter_received(
        rid, version, received_on=gathered["received_on"], proof=gathered.get("proof"), actor=actor(update),
        lang=lang(update, context),
    )  # fmt: skip
    if outcome.status == "invalid":
        gathered.pop("received_on", None)  # the date was refused: ask it again, the scan is kept
        await reply(update, outcome.message)
        return RECEIVED
    return await _done(update, context, outcome, RECEIVED)


async def _download(update: Update, context: Context) -> bytes | None:
    """The photo (largest size) or document of the message, checked (size, JPEG/PNG/PDF by content); None after
    telling the owner why it cannot be used."""
    message = update.message
    assert message is not None
    code = lang(update, context)
    if message.photo:
        media: Any = message.photo[-1]
    elif message.document is not None:
        media = message.document
    else:
        return None
    limit_msg = Msg("lrar.proof_too_big", limit=MAX_PROOF_BYTES // (1024 * 1024))
    if media.file_size is not None and media.file_size > MAX_PROOF_BYTES:
        await _say(update, context, limit_msg)
        return None
    try:
        data = await download_capped(await media.get_file(), MAX_PROOF_BYTES)
    except TooBigError:
        await _say(update, context, limit_msg)
        return None
    except DownloadError as exc:
        log.warning("acknowledgment scan: download failed: %s", exc)
        await reply(update, t("lrar.proof_failed", code))
        return None
    try:
        check_proof(data)
    except InputError as exc:
        await _say(update, context, exc.msg)
        return None
    return data


# --- Pli non réclamé / Retourné ---------------------------------------------------------------------------------


async def on_unclaimed(update: Update, context: Context) -> int:
    """The date of first presentation of a letter that was not claimed."""
    return await _back(update, context, "uncl", "unclaimed", UNCLAIMED)


async def on_returned(update: Update, context: Context) -> int:
    """The day the undelivered letter came back."""
    return await _back(update, context, "ret", "returned", RETURNED)


async def _back(update: Update, context: Context, action: str, outcome_name: str, state: int) -> int:
    async def apply(about: tuple[int, int], day: date) -> int:
        rid, version = about
        outcome = services_of(context).letter_back(rid, version, outcome=outcome_name, on=day, actor=actor(update),
                                                   lang=lang(update, context))  # fmt: skip
        return await _done(update, context, outcome, state)

    return await _on_date(update, context, action, state, apply)


_TEXT = filters.TEXT & ~filters.COMMAND
_FILE = filters.PHOTO | filters.Document.ALL

#: The conversation entry: every letter button.
ENTRIES: list[BaseHandler[Update, Context, int]] = [CallbackQueryHandler(on_button, pattern=r"^l1:")]
STATES: dict[object, list[BaseHandler[Update, Context, int]]] = {
    SENT: [MessageHandler(_TEXT, on_sent)],
    SENT_DATE: [MessageHandler(_TEXT, on_sent_date)],
    PRESENTED: [MessageHandler(_TEXT, on_presented)],
    RECEIVED: [MessageHandler(_TEXT, on_received_date), MessageHandler(_FILE, on_received_file)],
    RECEIVED_PROOF: [MessageHandler(_TEXT, on_received_proof_text), MessageHandler(_FILE, on_received_file)],
    UNCLAIMED: [MessageHandler(_TEXT, on_unclaimed)],
    RETURNED: [MessageHandler(_TEXT, on_returned)],
}
