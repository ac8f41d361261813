"""Payment plans in Slack: 📅 Échéancier on a reminder's card posts the plan card (the same `pl1:` buttons as in
Telegram: a count, ✏️ Modifier, 📧 Préparer l'e-mail); ✏️ Modifier opens a modal with the count of equal monthly
instalments and a text area for the owner's own schedule. Préparer l'e-mail proposes the plan: the plan card shows
the schedule proposed and the schedule e-mail's card is posted under it, registered like the digest's cards.

Every click and submission is checked against the reminder's version (services.plans): a stale one hears
"Déjà traité." and changes nothing; an invalid schedule is answered in the modal and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from bot.cards import to_plain
from bot.i18n import t
from bot.plan_cards import Prepared, parse_callback, prepare, render_suggestion
from bot.presenter import Presenter, text
from bot.slack import home
from bot.slack.actions import Click, ephemeral, run_click, update_message
from bot.slack.blocks import MAX_TITLE, card_message, fallback_text, from_card_text
from bot.slack.commands import tell_error
from messages.formatting import format_amount
from services import plans
from services.core import InputError
from services.plans import PlanSuggestion

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.cards import CardText
    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

PLAN_BUTTON = re.compile(r"^pl1:")
PLAN_FORM = "pl1form"
_COUNTS = tuple(range(2, 13))


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The plan card's buttons (`pl1:`) and the submissions of its modal."""

    async def on_plan_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then act on the plan card."""
        await ack()
        await run_click(ctx, body, plan_button)

    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Check the modal (errors stay in it), else close it and propose the plan."""
        await submit(ctx, ack, body)

    app.action(PLAN_BUTTON)(on_plan_button)
    app.view(PLAN_FORM)(on_submit)


def _suggest(presenter: Presenter, rid: int, version: int, count: int) -> PlanSuggestion:
    return plans.suggest(presenter.core.ctx, rid, version, count=count or None)


async def _post(ctx: SlackContext, channel: str, card: CardText, lang: str) -> None:
    await ctx.client.chat_postMessage(channel=channel, text=fallback_text(card.text), blocks=from_card_text(card, lang))


async def plan_button(ctx: SlackContext, click: Click, data: str) -> None:
    """📅 Échéancier (the plan card posted), a count (redrawn in place), ✏️ Modifier (the modal), 📧 Préparer."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, rid, version, count = parsed
    presenter, code = ctx.presenter, click.lang
    s = await asyncio.to_thread(_suggest, presenter, rid, version, count)
    if s.status in ("unknown", "stale"):
        if s.status == "stale" and action != "open":
            await update_message(ctx, click.channel, click.ts, text=fallback_text(render_suggestion(s, code).text),
                                 blocks=from_card_text(render_suggestion(s, code), code))  # fmt: skip
        await ephemeral(ctx, click, t("cb.unknown" if s.status == "unknown" else "cb.already", code))
        return
    if action == "open":
        await _post(ctx, click.channel, render_suggestion(s, code), code)
    elif action == "n" or not s.ok:
        card = render_suggestion(s, code)
        await update_message(ctx, click.channel, click.ts, text=fallback_text(card.text),
                             blocks=from_card_text(card, code))  # fmt: skip
    elif action == "edit":
        if click.trigger_id:
            await ctx.client.views_open(trigger_id=click.trigger_id, view=form_view(s, code, click))
    else:  # "prep": the suggested schedule as shown
        done = await asyncio.to_thread(prepare, presenter, s, s.schedule, actor=ctx.actor(click.user_id), lang=code)
        await show_prepared(ctx, click, done)


async def show_prepared(ctx: SlackContext, click: Click, done: Prepared) -> None:
    """The plan card without buttons and the schedule e-mail's card under it (registered), or why not."""
    code = click.lang
    if not done.ok:
        await ephemeral(ctx, click, done.message)
        return
    if done.plan_card is not None:
        await update_message(ctx, click.channel, click.ts, text=fallback_text(done.plan_card.text),
                             blocks=from_card_text(done.plan_card, code))  # fmt: skip
    await ephemeral(ctx, click, done.message)
    if done.reminder_id is None:
        return
    parts = await asyncio.to_thread(ctx.presenter.card_parts, done.reminder_id, code)
    if parts is not None:
        answer = await ctx.client.chat_postMessage(channel=click.channel, **card_message(parts, code))
        shown = [(done.reminder_id, str(answer["channel"]), str(answer["ts"]))]
        await asyncio.to_thread(ctx.presenter.register_cards, shown)


# --- the modal ------------------------------------------------------------------------------------------------


def _plain(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value}


def form_view(s: PlanSuggestion, lang: str, click: Click) -> dict[str, Any]:
    """The modal: the count of equal instalments (the card's), or the owner's own schedule, one line each."""
    options = [{"text": _plain(str(n)), "value": str(n)} for n in _COUNTS]
    chosen = next((o for o in options if o["value"] == str(s.count)), options[1])
    total = format_amount(s.total, s.currency, lang)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": to_plain(render_suggestion(s, lang).text)[:2900]}},
        {"type": "input", "block_id": "count", "label": _plain(t("slack.plan.count", lang)), "optional": True,
         "element": {"type": "static_select", "action_id": "count", "options": options, "initial_option": chosen}},
        {"type": "input", "block_id": "schedule", "label": _plain(t("slack.plan.schedule", lang)), "optional": True,
         "hint": _plain(t("slack.plan.hint", lang, total=total)),
         "element": {"type": "plain_text_input", "action_id": "schedule", "multiline": True, "max_length": 1000,
                     "placeholder": _plain(plans.schedule_text(s.schedule)[:150])}},
    ]  # fmt: skip
    meta = {"rid": s.reminder_id, "version": s.version, "channel": click.channel, "ts": click.ts}
    return {
        "type": "modal",
        "callback_id": PLAN_FORM,
        "private_metadata": json.dumps(meta),
        "title": _plain(t("slack.plan.title", lang)[:MAX_TITLE]),
        "submit": _plain(t("slack.plan.submit", lang)[:24]),
        "close": _plain(t("slack.modal.close", lang)),
        "blocks": blocks,
    }


def _read(values: dict[str, Any]) -> tuple[int, str]:
    """(count chosen, schedule typed) from the submitted values."""
    option = ((values.get("count") or {}).get("count") or {}).get("selected_option") or {}
    count = int(option["value"]) if str(option.get("value", "")).isdigit() else plans.DEFAULT_COUNT
    typed = str(((values.get("schedule") or {}).get("schedule") or {}).get("value") or "")
    return count, typed


async def submit(ctx: SlackContext, ack: AsyncAck, body: dict[str, Any]) -> None:
    """A submitted plan modal: a typed schedule (checked; a fault stays in the modal) or `count` equal instalments,
    proposed on the version of the card the modal came from."""
    user_id = str((body.get("user") or {}).get("id") or "")
    view = body.get("view") or {}
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        rid, version, channel, ts = int(meta["rid"]), int(meta["version"]), str(meta["channel"]), str(meta["ts"])
    except (ValueError, KeyError, TypeError):
        await ack()
        return
    if not ctx.is_owner(user_id):
        await ack()
        return
    acked = False
    try:
        lang = await ctx.lang(user_id)
        count, typed = _read((view.get("state") or {}).get("values") or {})
        presenter = ctx.presenter
        s = await asyncio.to_thread(_suggest, presenter, rid, version, 0 if typed.strip() else count)
        schedule = s.schedule
        if s.ok and typed.strip():
            try:
                schedule = plans.parse_schedule(typed, s.total, presenter.today())
            except InputError as exc:
                acked = True
                await ack(response_action="errors", errors={"schedule": to_plain(text(exc.msg, lang))})
                return
        elif not s.ok and s.status == "invalid":
            acked = True
            await ack(response_action="errors", errors={"count": to_plain(text(s.message, lang))})
            return
        acked = True
        await ack()
        click = Click(user_id, channel, ts, lang)
        if s.status in ("unknown", "stale"):
            await ephemeral(ctx, click, t("cb.unknown" if s.status == "unknown" else "cb.already", lang))
            return
        done = await asyncio.to_thread(prepare, presenter, s, schedule, actor=ctx.actor(user_id), lang=lang)
        await show_prepared(ctx, click, done)
    except Exception:
        log.exception("Slack plan form failed")
        if not acked:
            await ack()
        await tell_error(ctx, user_id)
    home.refresh_later(ctx, user_id)
