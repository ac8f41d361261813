"""/taux (/rate): the ECB rates of the last half-years, adding one (`/taux 2026-H2 2,15`), and the start-up notice
to the owners when the current half-year's rate is missing."""

from __future__ import annotations

import logging
from decimal import Decimal

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.handlers.common import LANGS_KEY, Context, actor, lang, reply, services_of
from bot.i18n import t
from bot.presenter import Presenter, text
from messages.formatting import format_rate
from services.core import InputError

log = logging.getLogger(__name__)

#: The penalty rate is the ECB rate plus 10 points (art. L441-10), shown next to the rate just added.
PENALTY_MARGIN = Decimal(10)


def overview(services: Presenter, code: str) -> str:
    """The ECB rates of the last 4 half-years; the missing ones and how to add them."""
    lines = services.recent_rates(4)
    shown = [
        t("rates.line", code, half_year=r.half_year, rate=format_rate(r.ecb, code))
        if r.ecb is not None
        else t("rates.line_missing", code, half_year=r.half_year)
        for r in lines
    ]
    missing = [r.half_year for r in lines if r.ecb is None]
    hint = t("rates.how_to_add", code, half_year=missing[-1]) if missing else t("rates.all_present", code)
    return "\n".join([t("rates.title", code), *shown, "", hint])


async def on_rates(update: Update, context: Context) -> None:
    """`/taux` lists the last half-years' ECB rates; `/taux 2026-H2 2,15` adds one (owners only: the gate)."""
    code = lang(update, context)
    services = services_of(context)
    args = context.args or []
    if not args:
        await reply(update, overview(services, code))
        return
    if len(args) < 2:
        await reply(update, t("rates.usage", code))
        return
    try:
        # "2,15 %" arrives as two words: the rate is everything after the half-year.
        half_year, value = services.set_rate(args[0], " ".join(args[1:]), actor=actor(update))
    except InputError as exc:
        await reply(update, text(exc.msg, code))
        return
    penalty_rate = format_rate(value + PENALTY_MARGIN, code)
    await reply(
        update, t("rates.set", code, half_year=half_year, rate=format_rate(value, code), penalty_rate=penalty_rate)
    )


async def notify_missing_rate(application: Application, services: Presenter) -> None:
    """At start: tell each owner, once, that today's half-year has no ECB rate, and the command that adds it."""
    from services.rates import missing_half_year

    half_year = missing_half_year(services.rate_table, services.today())
    if half_year is None:
        return
    for chat_id in sorted(services.owner_ids):
        code = application.bot_data.get(LANGS_KEY, {}).get(chat_id, "fr")
        notice = t("rates.startup_missing", code, half_year=half_year)
        notice += "\n" + t("rates.how_to_add", code, half_year=half_year)
        try:
            await application.bot.send_message(chat_id, notice)
        except TelegramError as exc:
            # The warning is also in the log; an owner who never opened the chat cannot be written to.
            log.warning("could not tell owner %s about the missing rate of %s: %s", chat_id, half_year, exc)


HANDLERS = [CommandHandler(["taux", "rate"], on_rates)]
