"""Card buttons in Slack: the same actions as Telegram's (Envoyer, Envoyer maintenant, Renvoyer, Bien parti, Annuler,
Retour, script d'appel, lettre PDF, Voir la suite), the buttons that open a modal (Modifier, Reporter, Payée, Litige,
Promesse: bot.slack.modals), and /litiges' Reprendre / Passer en perte.

Every click is acknowledged first. Then the service acts on the version the card showed (a stale, repeated or forged
click changes nothing and hears "Déjà traité." or "non reconnu"), the clicked card is updated in place (chat.update),
then every other card of the same reminder in the other owners' DMs, and the owner's Home tab is refreshed in the
background.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError

from bot.cards import CardParts, h, parse_callback, parse_dispute_callback
from bot.i18n import t
from bot.presenter import Shown
from bot.slack import home, modals
from bot.slack.blocks import (
    MAX_BLOCKS,
    card_message,
    draft_view,
    fallback_text,
    from_card_text,
    plain_blocks,
    text_message,
)
from bot.slack.commands import tell_error
from bot.slack.head import HEAD
from bot.slack.mrkdwn import to_mrkdwn

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

CARD_BUTTON = re.compile(r"^r1:")
DISPUTE_BUTTON = re.compile(r"^d1:")
_SNOOZE_DAYS = {"snz1": 1, "snz3": 3, "snz7": 7}
#: Buttons that show something without changing the reminder.
_VIEWS = frozenset({"back", "call", "pdf", "more"})


@dataclass(frozen=True)
class Click:
    """Who clicked (or submitted a card's modal), on which card message, in which language."""

    user_id: str
    channel: str
    ts: str
    lang: str
    trigger_id: str | None = None

    @property
    def here(self) -> tuple[str, str]:
        """The card message: (channel id, message ts)."""
        return self.channel, self.ts


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The reminder cards' buttons (`r1:`) and the /litiges buttons (`d1:`)."""

    async def on_card_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then act on the reminder and show the result on its cards."""
        await ack()
        await run_click(ctx, body, card_button)

    async def on_dispute_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then close the dispute and show the result in place."""
        await ack()
        await run_click(ctx, body, dispute_button)

    app.action(CARD_BUTTON)(on_card_button)
    app.action(DISPUTE_BUTTON)(on_dispute_button)


async def run_click(
    ctx: SlackContext, body: dict[str, Any], act: Callable[[SlackContext, Click, str], Awaitable[None]]
) -> None:
    """Read the click, run `act(ctx, click, data)`, then refresh the Home tab; an error is logged and told briefly."""
    user_id = str((body.get("user") or {}).get("id") or "")
    if not ctx.is_owner(user_id):  # the gate (bot.slack.access) stops strangers first; never act for one anyway
        return
    try:
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        ts = str((body.get("message") or {}).get("ts") or container.get("message_ts") or "")
        action = (body.get("actions") or [{}])[0]
        click = Click(user_id, channel, ts, await ctx.lang(user_id), body.get("trigger_id"))
        await act(ctx, click, str(action.get("value") or action.get("action_id") or ""))
    except Exception:
        log.exception("Slack button failed")
        await tell_error(ctx, user_id)
    home.refresh_later(ctx, user_id)


async def card_button(ctx: SlackContext, click: Click, data: str) -> None:
    """One reminder card button: a modal, a view (call script, letter, full draft), or an action at once."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, rid, version = parsed
    presenter, who, code = ctx.presenter, ctx.actor(click.user_id), click.lang
    if action in modals.FORM_OF or action in _VIEWS:
        if not await check_current(ctx, click, rid, version):
            return
        if action in modals.FORM_OF:
            await modals.open_form(ctx, click, action, rid, version)
        else:
            await _view(ctx, click, action, rid)
        return
    shown: Shown
    if action == "send":
        shown = await presenter.send(rid, version, actor=who, lang=code)
    elif action in ("now", "resend"):
        shown = await presenter.release(rid, version, actor=who, lang=code, resend=action == "resend")
    elif action == "ok":
        shown = await asyncio.to_thread(presenter.confirm_sent, rid, version, actor=who, lang=code)
    elif action in _SNOOZE_DAYS:
        shown = await asyncio.to_thread(presenter.snooze, rid, version, actor=who, lang=code, days=_SNOOZE_DAYS[action])
    elif action == "payf":
        from bot.slack import tasks  # imported here: bot.slack.tasks uses this module's helpers

        before = await asyncio.to_thread(tasks.last_id, ctx)
        shown = await asyncio.to_thread(presenter.pay, rid, version, actor=who, lang=code)
        await show_outcome(ctx, click, shown)
        await tasks.post_tasks(ctx, click.channel, code, after_id=before)  # paid late: claim the penalties?
        return
    elif action == "cnone":  # phone calls: Pas de réponse (the attempt is logged, the card stays)
        shown = await asyncio.to_thread(presenter.call_no_answer, rid, version, actor=who, lang=code)
    elif action == "cmail":  # phone calls: Envoyer plutôt l'e-mail (the e-mail card of the same step)
        shown = await asyncio.to_thread(presenter.call_email_instead, rid, version, actor=who, lang=code)
    elif action == "drop":  # a draft outside the ladder: Ne pas envoyer
        shown = await asyncio.to_thread(presenter.drop, rid, version, actor=who, lang=code)
    else:  # "undo": the only card action left (bot.cards.ACTIONS)
        shown = await asyncio.to_thread(presenter.undo_edit, rid, version, actor=who, lang=code)
    # The card shows a send's result ("Envoyé le …"): no message on top of it.
    await show_outcome(ctx, click, shown, quiet=action == "send")


async def _view(ctx: SlackContext, click: Click, action: str, rid: int) -> None:
    """Retour (the card's main buttons), the call script or the letter PDF in the DM, the whole draft in a modal."""
    presenter, code = ctx.presenter, click.lang
    if action == "back":
        await refresh_cards(ctx, rid, here=click.here, everywhere=False, lang=code)
    elif action == "call":
        script = await asyncio.to_thread(presenter.call_script, rid)
        if script and script.strip():
            # Plain text: the script is the owner's own words to say, shown exactly.
            await ctx.client.chat_postMessage(
                channel=click.channel,
                text=fallback_text(h(script)),
                blocks=plain_blocks(script, code, prefix="call", limit=MAX_BLOCKS),
            )
    elif action == "pdf":
        letter = await asyncio.to_thread(presenter.letter_pdf, rid)
        if letter is not None:
            name, data = letter
            await home.upload(ctx, click.channel, data, name, name)
    else:  # "more"
        parts = await asyncio.to_thread(presenter.card_parts, rid, code)
        if parts is not None and parts.body is not None and click.trigger_id:
            await ctx.client.views_open(trigger_id=click.trigger_id, view=draft_view(parts, code))


async def dispute_button(ctx: SlackContext, click: Click, data: str) -> None:
    """Reprendre / Passer en perte on a /litiges line: checked against the dispute it was shown for, then shown."""
    parsed = parse_dispute_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, invoice_id, version = parsed
    outcome: Literal["resolved", "written_off"] = "resolved" if action == "res" else "written_off"
    shown = await asyncio.to_thread(
        ctx.presenter.close_dispute, invoice_id, version, outcome=outcome, actor=ctx.actor(click.user_id),
        lang=click.lang,
    )  # fmt: skip
    if shown.card is not None:
        await update_message(ctx, click.channel, click.ts, text=fallback_text(shown.card.text),
                             blocks=from_card_text(shown.card, click.lang))  # fmt: skip
    if not shown.ok:  # done: the line itself now says what became of the invoice
        await ephemeral(ctx, click, shown.message)


async def check_current(ctx: SlackContext, click: Click, rid: int, version: int) -> bool:
    """True when the card's button still matches the reminder; else say so (and show the card as it is now)."""
    state = await asyncio.to_thread(ctx.presenter.current, rid, version)
    if state == "current":
        return True
    await say_not_current(ctx, click, rid, state)
    return False


async def say_not_current(ctx: SlackContext, click: Click, rid: int, state: str) -> None:
    """A click on a card that moved on: "Déjà traité." and the card as it is now, or "non reconnu" (no such
    reminder in this business: nothing is shown of it)."""
    if state == "unknown":
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    await refresh_cards(ctx, rid, here=click.here, lang=click.lang)
    await ephemeral(ctx, click, t("cb.already", click.lang))


async def show_outcome(ctx: SlackContext, click: Click, shown: Shown, *, quiet: bool = False) -> None:
    """The result of an action: every card of the reminder first, then the answer (`quiet`: none when done)."""
    if shown.status == "unknown":
        await ephemeral(ctx, click, shown.message or t("cb.unknown", click.lang))
        return
    if shown.reminder_id is not None:
        await refresh_cards(ctx, shown.reminder_id, here=click.here, lang=click.lang, parts=shown.parts)
    if not shown.message or (quiet and shown.ok):
        return
    if shown.status == "failed":
        # A failure stays in the conversation (as in Telegram), with its reason.
        await ctx.client.chat_postMessage(channel=click.channel, **text_message(shown.message, click.lang))
    else:
        await ephemeral(ctx, click, shown.message)


async def refresh_cards(
    ctx: SlackContext,
    reminder_id: int,
    *,
    here: tuple[str, str] | None = None,
    everywhere: bool = True,
    lang: str = "fr",
    parts: CardParts | None = None,
    note: Callable[[str], str | None] | None = None,
) -> None:
    """Show a reminder's current card in place: the clicked message `here` (in `lang`, as `parts` when given), then
    (`everywhere`) every other Slack card of it, each in its owner's language (`note(lang)` overrides the note)."""
    targets = [here] if here is not None else []
    if everywhere:
        shown = await asyncio.to_thread(ctx.presenter.cards_of, reminder_id)
        targets += [(str(channel), str(ts)) for channel, ts in shown if (str(channel), str(ts)) != here]
    rendered: dict[str, CardParts | None] = {} if parts is None else {lang: parts}
    for channel, ts in targets:
        owner = None if (channel, ts) == here else await _owner_of(ctx, channel)
        code = lang if (channel, ts) == here else (await ctx.lang(owner) if owner is not None else "fr")
        if code not in rendered:
            rendered[code] = await asyncio.to_thread(
                ctx.presenter.card_parts, reminder_id, code, note=note(code) if note is not None else None
            )
        card = rendered[code]
        if card is None:
            continue
        # Another owner's card keeps that owner's head line ("🏢 <name>" for an owner of several), not the clicker's.
        token = HEAD.set(_head_of(ctx, owner)) if (channel, ts) != here else None
        try:
            await update_message(ctx, channel, ts, **card_message(card, code))
        finally:
            if token is not None:
                HEAD.reset(token)


async def update_message(ctx: SlackContext, channel: str, ts: str, *, text: str, blocks: list[dict[str, Any]]) -> None:
    """chat.update of one message; a message that is gone (deleted, channel closed) is logged, not an error."""
    try:
        await ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.info("Slack message %s/%s not updated: %s", channel, ts, exc.response.get("error"))


async def _owner_of(ctx: SlackContext, channel: str) -> str | None:
    """The owner of the routed business whose DM `channel` is (None when it is nobody's)."""
    owners = set(ctx.owner_ids) if ctx.presenter is ctx.home else set()
    if ctx.tenancy is not None:
        owners.update(ctx.tenancy.owners_of(ctx.presenter.business_id))
    for user_id in sorted(owners):
        try:
            if await ctx.dm(user_id) == channel:
                return user_id
        except SlackApiError as exc:  # an owner who left the workspace: look at the others
            log.info("DM of Slack owner %s unknown: %s", user_id, exc.response.get("error"))
    return None


def _head_of(ctx: SlackContext, owner: str | None) -> str | None:
    """The head line of the routed business for `owner` (an owner of several businesses here), else None."""
    if owner is None or ctx.tenancy is None:
        return None
    head: str | None = ctx.tenancy.head_of(owner, ctx.presenter.business_id)
    return head


async def ephemeral(ctx: SlackContext, click: Click, html: str) -> None:
    """A message only the clicking owner sees, under the card; a failure to show it is logged."""
    try:
        await ctx.client.chat_postEphemeral(channel=click.channel, user=click.user_id, text=to_mrkdwn(html))
    except SlackApiError as exc:
        log.info("ephemeral to %s not shown: %s", click.user_id, exc.response.get("error"))
