"""Clients' e-mails in Slack: a reply or a bounce reaches every owner's DM as a card as soon as the mailbox watcher
keeps it (`notify`), again after the morning digest and on demand (`/relance reponses`). The card's `m1:` buttons
act like Telegram's through services.reply_actions, checked against the stored message (a second click hears
"Déjà traité."); 🤝 Promesse opens a modal with the date found in the text already picked, ⚖️ Litige one with the
client's text as the reason, ↩️ Répondre one for the answer. `/relance client NOM email nouvelle@adresse.fr` gives a
client whose e-mail bounced a new address.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.cards import h
from bot.i18n import t
from bot.presenter import text
from bot.reply_cards import parse_callback, render_list, render_reply
from bot.slack.actions import Click, ephemeral, run_click, update_message
from bot.slack.blocks import MAX_TITLE, card_message, fallback_text, from_card_text, text_message
from bot.slack.commands import tell_error
from bot.slack.head import HEAD
from services import replies, reply_actions
from services.core import MAX_REASON, InputError, Msg, parse_owner_date, parse_reason
from services.mailbox import Ingested, MailboxProblem
from services.replies import ReplyView
from services.reply_actions import MAX_ANSWER, ReplyOutcome

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

REPLY_BUTTON = re.compile(r"^m1:")
_FORM_VIEW = re.compile(r"^m1form:")
#: How Slack spells the client command on a bounce card.
CLIENT_COMMAND = "/relance client"
#: Card buttons that open a modal, and the form each opens.
FORM_OF = {"prom": "promise", "promt": "promise", "disp": "dispute", "dispt": "dispute", "ans": "answer"}


def _card(view: ReplyView, lang: str, tz: Any, *, note: str = "") -> dict[str, Any]:
    card = render_reply(view, lang, tz, note=note, command=CLIENT_COMMAND)
    return {"text": fallback_text(card.text), "blocks": from_card_text(card, lang)}


async def post_replies(ctx: SlackContext, channel: str, lang: str, *, quiet: bool = True) -> None:
    """The open replies and bounces as cards in a DM; `quiet`: nothing at all when there is none."""
    core = ctx.presenter.ctx
    views = await asyncio.to_thread(lambda: replies.open_replies(core) + replies.open_bounces(core))
    if not views and quiet:
        return
    await ctx.client.chat_postMessage(channel=channel, **text_message(render_list(views, lang), lang))
    for view in views:
        await ctx.client.chat_postMessage(channel=channel, **_card(view, lang, ctx.presenter.tz))


async def notify(ctx: SlackContext, ingested: Ingested, owners: list[str] | None = None) -> None:
    """A reply or a bounce just kept (by the routed business's mailbox): its card in the DM of every owner (`owners`,
    else the settings' owners), an automatic answer makes no card; one owner's failure does not keep it from the
    others."""
    if ingested.status != "stored" or ingested.received_id is None or ingested.kind == "auto_reply":
        return
    view = await asyncio.to_thread(replies.reply, ctx.presenter.ctx, ingested.received_id)
    if view is None or view.state != "open":
        return
    for user_id in owners if owners is not None else sorted(ctx.owner_ids):
        token = HEAD.set(_head(ctx, user_id))
        try:
            lang = await ctx.lang(user_id)
            await ctx.client.chat_postMessage(channel=await ctx.dm(user_id), **_card(view, lang, ctx.presenter.tz))
        except Exception as exc:  # one owner's DM failing must not stop the others
            log.warning("Slack reply card to %s failed: %s", user_id, exc)
        finally:
            HEAD.reset(token)


async def notify_problem(ctx: SlackContext, problem: MailboxProblem, owners: list[str] | None = None) -> None:
    """The routed business's mailbox refused Relance's login: one message in every owner's DM (`owners`, else the
    settings' owners; reported once by the watcher)."""
    if problem.kind != "auth":
        return
    for user_id in owners if owners is not None else sorted(ctx.owner_ids):
        token = HEAD.set(_head(ctx, user_id))
        try:
            lang = await ctx.lang(user_id)
            await ctx.client.chat_postMessage(channel=await ctx.dm(user_id),
                                              **text_message(t("replies.mailbox_auth", lang), lang))  # fmt: skip
        except Exception as exc:  # one owner's DM failing must not stop the others
            log.warning("Slack mailbox problem not told to %s: %s", user_id, exc)
        finally:
            HEAD.reset(token)


def _head(ctx: SlackContext, user_id: str) -> str | None:
    """ "🏢 <name>" of the routed business for an owner of several businesses in this workspace, else None."""
    if ctx.tenancy is None:
        return None
    head: str | None = ctx.tenancy.head_of(user_id, ctx.presenter.business_id)
    return head


async def _show_done(ctx: SlackContext, click: Click, outcome: ReplyOutcome) -> None:
    """The card as it is now in place, what was done (ephemeral), and a draft it made as its own card."""
    code, presenter = click.lang, ctx.presenter
    said = text(outcome.message, code) if outcome.message is not None else t("cb.done", code)
    if outcome.view is not None and outcome.status in ("done", "stale"):
        msg = _card(outcome.view, code, presenter.tz, note=said if outcome.ok else "")
        await update_message(ctx, click.channel, click.ts, text=msg["text"], blocks=msg["blocks"])
    if not outcome.ok:
        await ephemeral(ctx, click, said)
    for rid in outcome.reminder_ids:
        parts = await asyncio.to_thread(presenter.card_parts, rid, code)
        if parts is not None:
            answer = await ctx.client.chat_postMessage(channel=click.channel, **card_message(parts, code))
            await asyncio.to_thread(presenter.register_cards, [(rid, str(answer["channel"]), str(answer["ts"]))])


async def reply_button(ctx: SlackContext, click: Click, data: str) -> None:
    """A reply card's button: a modal (date, reason, answer) or an action at once; a stale one hears "Déjà traité."
    and the card shows the message as it is now."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, reply_id, version = parsed
    core, code, who = ctx.presenter.ctx, click.lang, ctx.actor(click.user_id)
    view = await asyncio.to_thread(replies.reply, core, reply_id)
    if view is None:
        await ephemeral(ctx, click, t("cb.unknown", code))
        return
    if view.state != "open" or view.version != version:
        await _show_done(ctx, click, ReplyOutcome("stale", view, Msg("cb.already")))
        return
    if action == "back":
        msg = _card(view, code, ctx.presenter.tz)
        await update_message(ctx, click.channel, click.ts, text=msg["text"], blocks=msg["blocks"])
        return
    if action in FORM_OF:
        if click.trigger_id:
            await ctx.client.views_open(trigger_id=click.trigger_id, view=form_view(FORM_OF[action], view, click, data))
        return
    if action == "pay":
        outcome = await asyncio.to_thread(reply_actions.paid, core, reply_id, version, actor=who)
    elif action == "proma" and view.promise_date is not None:
        outcome = await asyncio.to_thread(reply_actions.promise, core, reply_id, version, until=view.promise_date,
                                          actor=who)  # fmt: skip
    elif action == "dispa":
        outcome = await asyncio.to_thread(reply_actions.dispute, core, reply_id, version, reason=view.dispute_reason,
                                          actor=who)  # fmt: skip
    elif action == "none":
        outcome = await asyncio.to_thread(reply_actions.nothing, core, reply_id, version, actor=who)
    else:
        await ephemeral(ctx, click, t("cb.unknown", code))
        return
    await _show_done(ctx, click, outcome)


# --- the modals ------------------------------------------------------------------------------------------------


def _plain(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value}


def form_view(form: str, view: ReplyView, click: Click, data: str) -> dict[str, Any]:
    """The modal of a reply card's button: the promised date (the one found in the text picked), the reason (the
    client's text), or the answer."""
    lang = click.lang
    if form == "promise":
        title = t("replies.slack_promise_title", lang)
        element: dict[str, Any] = {"type": "datepicker", "action_id": "date"}
        if view.promise_date is not None:
            element["initial_date"] = view.promise_date.isoformat()
        block = {"type": "input", "block_id": "date", "label": _plain(t("slack.modal.promise_date", lang)),
                 "element": element}  # fmt: skip
    elif form == "dispute":
        title = t("replies.slack_dispute_title", lang)
        element = {"type": "plain_text_input", "action_id": "reason", "multiline": True, "max_length": MAX_REASON}
        if view.dispute_reason and len(view.dispute_reason) <= MAX_REASON:
            element["initial_value"] = view.dispute_reason
        block = {"type": "input", "block_id": "reason", "label": _plain(t("replies.slack_dispute_label", lang)),
                 "element": element}  # fmt: skip
    else:
        title = t("replies.slack_answer_title", lang)
        element = {"type": "plain_text_input", "action_id": "answer", "multiline": True, "max_length": MAX_ANSWER}
        block = {"type": "input", "block_id": "answer", "label": _plain(t("replies.slack_answer_label", lang)),
                 "hint": _plain(t("replies.slack_answer_hint", lang)), "element": element}  # fmt: skip
    return {
        "type": "modal",
        "callback_id": f"m1form:{form}",
        "private_metadata": json.dumps({"data": data, "channel": click.channel, "ts": click.ts}),
        "title": _plain(title[:MAX_TITLE]),
        "submit": _plain(t("slack.modal.submit", lang)),
        "close": _plain(t("slack.modal.close", lang)),
        "blocks": [block],
    }


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    return dict((values.get(block) or {}).get(block) or {})


def parse_form(form: str, values: dict[str, Any], today: date) -> tuple[str, Any]:
    """(the input's block id, the value the action takes) of a submitted modal; InputError for a bad value."""
    if form == "promise":
        picked = _value(values, "date").get("selected_date")
        if not picked:
            raise InputError("slack.modal.date_missing")
        return "date", parse_owner_date(str(picked), today, allow_today=True)
    if form == "dispute":
        return "reason", parse_reason(str(_value(values, "reason").get("value") or ""))
    return "answer", reply_actions.parse_answer(str(_value(values, "answer").get("value") or ""))


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The reply cards' buttons (`m1:`) and their modals (`m1form:`)."""

    async def on_reply_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then act on the message and show it in place."""
        await ack()
        await run_click(ctx, body, reply_button)

    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Validate (errors stay in the modal, nothing changes), else close the modal, act, show the result."""
        user_id = str((body.get("user") or {}).get("id") or "")
        view = body.get("view") or {}
        form = str(view.get("callback_id") or "").removeprefix("m1form:")
        try:
            meta = json.loads(str(view.get("private_metadata") or ""))
            parsed = parse_callback(str(meta["data"]))
            channel, ts = str(meta["channel"]), str(meta["ts"])
        except (ValueError, KeyError, TypeError):
            parsed = None
        if parsed is None or FORM_OF.get(parsed[0]) != form or not ctx.is_owner(user_id):
            await ack()
            return
        _, reply_id, version = parsed
        acked = False
        try:
            lang = await ctx.lang(user_id)
            values = (view.get("state") or {}).get("values") or {}
            try:
                _, value = parse_form(form, values, ctx.presenter.today())
            except InputError as exc:
                acked = True
                block = {"promise": "date", "dispute": "reason"}.get(form, "answer")
                await ack(response_action="errors", errors={block: h(text(exc.msg, lang))})
                return
            acked = True
            await ack()
            core, who = ctx.presenter.ctx, ctx.actor(user_id)
            if form == "promise":
                outcome = await asyncio.to_thread(reply_actions.promise, core, reply_id, version, until=value,
                                                  actor=who)  # fmt: skip
            elif form == "dispute":
                outcome = await asyncio.to_thread(reply_actions.dispute, core, reply_id, version, reason=value,
                                                  actor=who)  # fmt: skip
            else:
                outcome = await asyncio.to_thread(reply_actions.answer, core, reply_id, version, text=value, actor=who)
            await _show_done(ctx, Click(user_id, channel, ts, lang), outcome)
        except Exception:
            log.exception("Slack reply form failed")
            if not acked:
                await ack()
            await tell_error(ctx, user_id)

    app.action(REPLY_BUTTON)(on_reply_button)
    app.view(_FORM_VIEW)(on_submit)


async def set_email(ctx: SlackContext, user_id: str, dm: str, lang: str, name: str, address: str) -> None:
    """`/relance client NOM email nouvelle@adresse.fr`: the client's new address; the bounce cards closed, and the
    reminder that bounced shown again, ready to be sent to the new address."""
    presenter = ctx.presenter
    found = await asyncio.to_thread(presenter.find_clients, name)
    if len(found) != 1:
        key = "client.several" if found else "client.none"
        values = {"names": h(", ".join(c.name for c in found[:10]))} if found else {"text": h(name[:100])}
        await ctx.client.chat_postMessage(channel=dm, **text_message(t(key, lang, **values), lang))
        return
    outcome = await asyncio.to_thread(reply_actions.new_address, presenter.ctx, found[0].id, address,
                                      actor=ctx.actor(user_id))  # fmt: skip
    await ctx.client.chat_postMessage(channel=dm, **text_message(text(outcome.message, lang), lang))
    if not outcome.ok:
        return
    for rid in outcome.reminder_ids:
        parts = await asyncio.to_thread(presenter.card_parts, rid, lang)
        if parts is None or not parts.buttons:
            continue
        await ctx.client.chat_postMessage(channel=dm, **text_message(t("replies.send_again", lang), lang))
        answer = await ctx.client.chat_postMessage(channel=dm, **card_message(parts, lang))
        await asyncio.to_thread(presenter.register_cards, [(rid, str(answer["channel"]), str(answer["ts"]))])
