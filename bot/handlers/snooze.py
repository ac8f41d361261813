"""The ⏰ Reporter button: +1 j, +3 j, +7 j or a typed date; the reminder comes back that day."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers.common import (
    Context,
    Question,
    actor,
    answer,
    check_button,
    lang,
    open_menu,
    services_of,
    show_card,
)
from services.core import parse_owner_date

_DAYS = {"snz1": 1, "snz3": 3, "snz7": 7}


async def on_snooze(update: Update, context: Context) -> None:
    """Show the snooze choices, or apply +N days."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, version = parsed
    if action == "snz":
        await open_menu(update, context, rid, "snooze")
        return
    code = lang(update, context)
    outcome = services_of(context).snooze(rid, version, actor=actor(update), lang=code, days=_DAYS[action])
    await answer(update, outcome.message)
    await show_card(update, context, rid, outcome.card)


QUESTION = Question(
    kind="snooze",
    pattern=r"^r1:snzd:",
    prompt="ask.snooze_date",
    state=10,
    parse=lambda typed, services: parse_owner_date(typed, services.today()),
    apply=lambda services, rid, version, until, who, code: services.snooze(
        rid, version, actor=who, lang=code, until=until
    ),
)


HANDLERS = [CallbackQueryHandler(on_snooze, pattern=r"^r1:snz[137]?:")]
ENTRY = QUESTION.entry
STATES = QUESTION.states
