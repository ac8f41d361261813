"""The 💶 Payée button: paid in full, or a typed partial amount (oldest invoice first)."""

from __future__ import annotations

from decimal import Decimal

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.handlers import tasks
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
from bot.i18n import t
from services.core import parse_owner_amount


async def on_paid(update: Update, context: Context) -> None:
    """Show the payment choices, or record a full payment."""
    parsed = await check_button(update, context)
    if parsed is None:
        return
    action, rid, version = parsed
    if action == "pay":
        await open_menu(update, context, rid, "paid")
        return
    code = lang(update, context)
    before = tasks.last_id(services_of(context))
    outcome = services_of(context).pay(rid, version, actor=actor(update), lang=code)
    await answer(update, outcome.message if len(outcome.message) <= 190 else t("cb.paid", code))
    await show_card(update, context, rid, outcome.card)
    await tasks.show_new(update, context, before)  # paid late: claim the penalties?


class _AmountQuestion(Question[Decimal]):
    """The partial amount typed: as any question, then the tasks the payment raised (paid late: the penalties?)."""

    async def on_answer(self, update: Update, context: Context) -> int:
        """Apply the amount, then show the new tasks."""
        before = tasks.last_id(services_of(context))
        state = await super().on_answer(update, context)
        await tasks.show_new(update, context, before)
        return state


QUESTION = _AmountQuestion(
    kind="amount",
    pattern=r"^r1:payp:",
    prompt="ask.amount",
    state=20,
    parse=lambda typed, _services: parse_owner_amount(typed),
    apply=lambda services, rid, version, amount, who, code: services.pay(
        rid, version, actor=who, lang=code, amount=amount
    ),
)


HANDLERS = [CallbackQueryHandler(on_paid, pattern=r"^r1:payf?:")]
ENTRY = QUESTION.entry
STATES = QUESTION.states
