"""Owner only: updates from anyone else get one short refusal and nothing else; errors are logged and told."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.handlers.common import Context, answer, lang, reply, services_of
from bot.i18n import t

log = logging.getLogger(__name__)


async def owner_gate(update: object, context: Context) -> None:
    """Runs before every handler: strangers are refused (and the refusal recorded); nothing else runs for them."""
    if not isinstance(update, Update):
        raise ApplicationHandlerStop
    user = update.effective_user
    services = services_of(context)
    if user is not None and services.is_owner(user.id):
        return
    if user is None:
        # Channel posts and other updates without a sender: nobody to answer.
        raise ApplicationHandlerStop
    what = "callback" if update.callback_query else "message" if update.effective_message else "other"
    try:
        services.record_refusal(user.id, what)
    except Exception:  # the refusal must go out even if the log cannot be written
        log.exception("could not record a refused access")
    text = t("private", lang(update))
    if update.callback_query is not None:
        await answer(update, text, alert=True)
    elif update.effective_chat is not None and update.effective_message is not None:
        await reply(update, text)
    raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """The one error handler: log with the traceback, tell the owner briefly (never the details or secrets)."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        if user is not None and services_of(context).is_owner(user.id):
            try:
                if update.callback_query is not None:
                    await answer(update, t("error", lang(update)))
                else:
                    await reply(update, html.escape(t("error", lang(update)), quote=False))
            except Exception:  # telling the owner is best effort
                log.exception("could not tell the owner about an error")
