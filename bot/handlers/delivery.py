"""What the outbox sender reports back to Telegram: refresh every card of the reminder, tell the owners about failures.

Whatever caused the send (the ✅ Envoyer tap, Envoyer maintenant, Renvoyer, the periodic tick, a retry after a
4xx), the outcome reaches the chat here: sent, deferred (the card says when the next try is), failed or unknown
(the card says so and each owner of that business gets a message).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.handlers.common import LANGS_KEY, markup, telegram_cards
from bot.presenter import Presenter, outcome_alert, outcome_note
from services.outbox import DeliveryResult

log = logging.getLogger(__name__)


def listener(application: Application, services: Presenter) -> Any:
    """The Telegram adapter's `on_outcome`, bound to this application's bot and its business's services (the runtime's
    one sender calls every adapter's)."""

    async def on_outcome(result: DeliveryResult) -> None:
        if result.business_id != services.business_id:
            return  # another business's outcome is its own owners' business
        langs: dict[int, str] = application.bot_data.get(LANGS_KEY, {})
        for chat_id, message_id in telegram_cards(services, result.reminder_id):
            code = langs.get(chat_id, "fr")
            card = services.card(result.reminder_id, code, note=outcome_note(result, code, services.tz))
            if card is None:
                continue
            try:
                await application.bot.edit_message_text(
                    card.text, chat_id=chat_id, message_id=message_id, reply_markup=markup(card)
                )
            except TelegramError as exc:
                log.info("card %s/%s not refreshed: %s", chat_id, message_id, exc)
        # Failed or unknown: each owner is also told in a message of its own (sent or deferred: the cards say it all).
        alerts = {owner: alert for owner in sorted(services.owner_ids)
                  if (alert := outcome_alert(result, langs.get(owner, "fr"))) is not None}  # fmt: skip
        for owner, text in alerts.items():
            try:
                await application.bot.send_message(owner, text)
            except TelegramError as exc:
                log.warning("owner %s not told about outbox %s: %s", owner, result.outbox_id, exc)

    return on_outcome
