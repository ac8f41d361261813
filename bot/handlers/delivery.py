"""What the outbox sender reports back: refresh the reminder's cards, tell the owners about failures."""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram.error import TelegramError
from telegram.ext import Application

from bot.handlers.common import LANGS_KEY, SERVICES_KEY, markup
from bot.i18n import t
from bot.presenter import Presenter

log = logging.getLogger(__name__)


def listener(application: Application) -> Any:
    """A callback for bot.sender.on_delivery_outcome bound to this application's bot and services."""

    async def on_outcome(result: Any, context: Any) -> None:
        del context  # the application is known; recovery at start-up passes no context
        services: Presenter = application.bot_data[SERVICES_KEY]
        langs: dict[int, str] = application.bot_data.get(LANGS_KEY, {})
        reason = html.escape(str(result.reply)[:300], quote=False)
        for chat_id, message_id in services.cards_of(result.reminder_id):
            code = langs.get(chat_id, "fr")
            note = None
            if result.outcome == "failed":
                note = t("card.failed", code, reason=reason)
            elif result.outcome == "unknown":
                note = t("state.unknown", code)
            card = services.card(result.reminder_id, code, note=note)
            if card is None:
                continue
            try:
                await application.bot.edit_message_text(
                    card.text, chat_id=chat_id, message_id=message_id, reply_markup=markup(card)
                )
            except TelegramError as exc:
                log.info("card %s/%s not refreshed: %s", chat_id, message_id, exc)
        if result.outcome in ("failed", "unknown"):
            for owner in sorted(services.owner_ids):
                code = langs.get(owner, "fr")
                text = t("send.failed", code, reason=reason) if result.outcome == "failed" else t("state.unknown", code)
                try:
                    await application.bot.send_message(owner, text)
                except TelegramError as exc:
                    log.warning("owner %s not told about outbox %s: %s", owner, result.outbox_id, exc)

    return on_outcome


async def start_sender(application: Application, services: Presenter) -> None:
    """With SMTP configured: listen to outcomes, mark interrupted e-mails unknown, tick the outbox on the JobQueue."""
    from bot.sender import on_delivery_outcome, recover_at_startup, schedule_sender
    from bot.settings import smtp_config

    on_delivery_outcome(listener(application))
    await recover_at_startup(services.engine)
    if application.job_queue is not None:
        config = smtp_config(services.settings)
        schedule_sender(application.job_queue, engine=services.engine, config=config)
