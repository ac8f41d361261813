"""`/relance <sous-commande>`: Telegram's commands in Slack (status, digest, factures, client, payee, preuves,
litiges, reprendre, parametres, aide), answered in the owner's direct messages with the app; the settings panel's
pause/resume button; the digest as Slack messages (`post_digest`, also used for the morning digest).

The slash command is acknowledged at once (with a short ephemeral note when it was typed outside the app's DM),
then the subcommand runs and answers in the DM.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.cards import Button, CardText, h, render_dispute
from bot.i18n import t
from bot.presenter import render_digest_parts, text
from bot.reports import render_client, render_invoices
from bot.slack import home
from bot.slack.blocks import card_message, fallback_text, from_card_text, text_message
from bot.slack.mrkdwn import to_mrkdwn
from services import plans
from services.core import DigestData, InputError, parse_owner_amount
from services.export import ExportError

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck
    from slack_bolt.context.respond.async_respond import AsyncRespond

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

COMMAND = "/relance"
#: At most this many dispute messages per `litiges` (one message each, for its buttons); the rest are counted.
MAX_DISPUTES = 20
_PAUSE = "s1:pause"
_RESUME = "s1:resume"
_TOGGLE = re.compile(r"^s1:(pause|resume)$")


@dataclass(frozen=True)
class Call:
    """One `/relance` subcommand: who typed it, their DM with the app, their language, the words after it."""

    ctx: SlackContext
    user_id: str
    dm: str
    lang: str
    args: list[str]

    async def say(self, html: str) -> None:
        """Catalogue HTML as a message in the owner's DM."""
        await post_text(self.ctx, self.dm, html, self.lang)


async def post_text(ctx: SlackContext, channel: str, html: str, lang: str) -> None:
    """Catalogue HTML as one Slack message (mrkdwn sections)."""
    await ctx.client.chat_postMessage(channel=channel, **text_message(html, lang))


async def post_digest(ctx: SlackContext, user_id: str, data: DigestData) -> None:
    """The digest in an owner's DM: the header, then one card per reminder, each registered as soon as it is posted
    so later changes update it in place (chat.update) and a digest taken up after a crash does not post it again."""
    lang = await ctx.lang(user_id)
    dm = await ctx.dm(user_id)
    header, cards = render_digest_parts(data, lang)
    await post_text(ctx, dm, header, lang)
    for reminder_id, parts in cards:
        if (reminder_id, dm) in data.shown:
            continue  # a digest taken up after a crash: this card reached the DM before
        answer = await ctx.client.chat_postMessage(channel=dm, **card_message(parts, lang))
        # Remembered as soon as Slack took it: kept when a later card fails or the process dies.
        shown = [(reminder_id, str(answer["channel"]), str(answer["ts"]))]
        await asyncio.to_thread(ctx.presenter.register_cards, shown)
    # Clients' replies and bounces still waiting for the owner (replies by e-mail).
    from bot.slack import replies  # imported here, as tasks: it uses the buttons' helpers, which use this module

    await replies.post_replies(ctx, dm, lang)
    # The owner's tasks (questions Relance asks) after the reminders.
    from bot.slack import tasks  # imported here: bot.slack.tasks uses the buttons' helpers, which use this module

    await tasks.post_tasks(ctx, dm, lang)


# --- subcommands --------------------------------------------------------------------------------------------------


async def _status(call: Call) -> None:
    """The dashboard text, then the aging chart as an image."""
    dashboard = await home.dashboard(call.ctx, call.lang)
    await call.say(dashboard.html)
    chart = await asyncio.to_thread(dashboard.chart)
    await home.upload(call.ctx, call.dm, chart, "retards.png", t("status.chart_caption", call.lang))


async def _digest(call: Call) -> None:
    """Today's cards on demand (the day's digest is not claimed)."""
    data = await asyncio.to_thread(call.ctx.presenter.digest, claim=False)
    if data is not None:
        await post_digest(call.ctx, call.user_id, data)


async def _invoices(call: Call) -> None:
    """The open invoices, oldest due first, optionally those of clients matching the words."""
    presenter = call.ctx.presenter
    text_filter = " ".join(call.args)
    rows = await asyncio.to_thread(presenter.open_invoices, text_filter)
    in_plans = [inv.id for inv, _ in rows if inv.state == "payment_plan"]
    shown = await asyncio.to_thread(plans.plans_by_invoice, presenter.core.ctx, in_plans)
    await call.say(render_invoices(rows, presenter.today(), text_filter, call.lang, plans=shown))


async def _client(call: Call) -> None:
    """A client's details, invoices and reminder history."""
    presenter = call.ctx.presenter
    name = " ".join(call.args)
    if not name.strip():
        await call.say(t("slack.cmd.client_usage", call.lang))
        return
    if len(call.args) >= 3 and call.args[-2].lower() in ("email", "e-mail", "courriel", "mail"):
        # `client NOM email nouvelle@adresse.fr` (replies by e-mail: a new address after a bounce)
        from bot.slack import replies

        await replies.set_email(call.ctx, call.user_id, call.dm, call.lang, " ".join(call.args[:-2]), call.args[-1])
        return
    found = await asyncio.to_thread(presenter.find_clients, name)
    if len(found) > 1:
        await call.say(t("client.several", call.lang, names=h(", ".join(c.name for c in found[:10]))))
        return
    file = await asyncio.to_thread(presenter.client_file, found[0].id) if found else None
    if file is None:
        await call.say(t("client.none", call.lang, text=h(name[:100])))
        return
    client, invoices, reminders = file
    letters = await asyncio.to_thread(presenter.letters_awaiting, client.id)
    last_call = await asyncio.to_thread(presenter.last_call, client.id)  # phone calls: the last one, if any
    running = await asyncio.to_thread(plans.active_plans, presenter.core.ctx, client.id)  # payment plans
    await call.say(
        render_client(
            client,
            invoices,
            reminders,
            presenter.today(),
            call.lang,
            letters=letters,
            last_call=last_call,
            plans=running,
        )
    )


async def _paid(call: Call) -> None:
    """`payee NUMERO [montant]`: a full or partial payment on one invoice, logged with the owner as actor."""
    if not call.args:
        await call.say(t("slack.cmd.paid_usage", call.lang))
        return
    amount: Decimal | None = None
    if len(call.args) > 1:
        try:
            amount = parse_owner_amount(" ".join(call.args[1:]))
        except InputError as exc:
            await call.say(text(exc.msg, call.lang))
            return
    from bot.slack import tasks  # imported here: bot.slack.tasks uses the buttons' helpers, which use this module

    before = await asyncio.to_thread(tasks.last_id, call.ctx)
    shown = await asyncio.to_thread(
        call.ctx.presenter.pay_invoice, call.args[0], amount, actor=call.ctx.actor(call.user_id), lang=call.lang
    )
    await call.say(shown.message)
    await tasks.post_tasks(call.ctx, call.dm, call.lang, after_id=before)  # paid late: claim the penalties?


async def _evidence(call: Call) -> None:
    """`preuves NUMERO`: the invoice's evidence file (ZIP) in the DM."""
    if not call.args:
        await call.say(t("slack.cmd.evidence_usage", call.lang))
        return
    number = call.args[0]
    presenter = call.ctx.presenter
    if await asyncio.to_thread(presenter.invoice_id_by_number, number) is None:
        await call.say(t("paid.unknown", call.lang, number=h(number)))
        return
    try:
        data = await asyncio.to_thread(presenter.evidence_zip, number)
    except ExportError as exc:  # the dossier cannot be built as it must be: say why, send nothing
        await call.say(t("evidence.failed", call.lang, reason=h(str(exc)[:300])))
        return
    caption = to_mrkdwn(t("evidence.caption", call.lang, number=h(number)))
    await home.upload(call.ctx, call.dm, data, f"preuves-{number}.zip", f"preuves-{number}.zip", caption)


async def _disputes(call: Call) -> None:
    """The disputed invoices, one message each with Reprendre / Passer en perte (`d1:` buttons)."""
    lines, total = await asyncio.to_thread(call.ctx.presenter.disputes, limit=MAX_DISPUTES)
    if not lines:
        await call.say(t("disputes.none", call.lang))
        return
    await call.say(t("disputes.title", call.lang, count=total))
    for line in lines:
        card = render_dispute(line, call.lang)
        await call.ctx.client.chat_postMessage(
            channel=call.dm, text=fallback_text(card.text), blocks=from_card_text(card, call.lang)
        )
    if total > len(lines):
        await call.say(t("slack.cmd.disputes_more", call.lang, count=total - len(lines)))


async def _resume(call: Call) -> None:
    """`reprendre NUMERO`: close the invoice's dispute; its reminders start again."""
    if len(call.args) != 1:
        await call.say(t("slack.cmd.resume_usage", call.lang))
        return
    shown = await asyncio.to_thread(
        call.ctx.presenter.resume_invoice, call.args[0].strip()[:64], actor=call.ctx.actor(call.user_id),
        lang=call.lang,
    )  # fmt: skip
    await call.say(shown.message)


async def _settings(call: Call) -> None:
    """The settings panel (digest time, pause); `parametres heure 07:45` changes the digest time."""
    presenter = call.ctx.presenter
    if len(call.args) >= 2 and call.args[0].lower() in ("heure", "time"):
        try:
            value = await asyncio.to_thread(presenter.set_digest_time, call.args[1], actor=call.ctx.actor(call.user_id))
        except InputError as exc:
            await call.say(text(exc.msg, call.lang))
            return
        # The runtime reads the digest time from the database at each check: nothing to reschedule.
        await call.say(t("settings.time_set", call.lang, digest_time=value))
        return
    panel = await asyncio.to_thread(_panel, call.ctx, call.lang)
    await call.ctx.client.chat_postMessage(channel=call.dm, **_panel_message(panel, call.lang))


async def _transfers(call: Call) -> None:
    """The doubtful credits of the imported statements still waiting, one card each (`p1:` buttons), or "none"."""
    from bot.slack import statements  # imported here: bot.slack.statements posts through this module

    await statements.post_waiting(call.ctx, call.dm, call.lang)


async def _tasks(call: Call) -> None:
    """The open questions, one card each (`t1:` buttons), or "none"."""
    from bot.slack import tasks  # imported here: bot.slack.tasks uses the buttons' helpers, which use this module

    await tasks.post_tasks(call.ctx, call.dm, call.lang, quiet=False)


async def _replies(call: Call) -> None:
    """Clients' replies and bounces waiting for the owner, one card each (`m1:` buttons), or "none"."""
    from bot.slack import replies

    await replies.post_replies(call.ctx, call.dm, call.lang, quiet=False)


async def _business(call: Call) -> None:
    """`entreprise`: the businesses the owner runs, numbered (the current one marked); `entreprise <n>` picks one."""
    tenancy = call.ctx.tenancy
    owned = tenancy.businesses_of(call.user_id) if tenancy is not None else []
    name = html.escape(tenancy.names[call.ctx.presenter.business_id] if tenancy is not None
                       else call.ctx.presenter.business().name, quote=False)  # fmt: skip
    if len(owned) < 2:
        await call.say(t("biz.only", call.lang, name=name))
        return
    if call.args and call.args[0].isdigit() and 1 <= int(call.args[0]) <= len(owned):
        chosen = owned[int(call.args[0]) - 1]
        await asyncio.to_thread(tenancy.choose, call.user_id, chosen)
        await call.say(t("biz.chosen", call.lang, name=html.escape(tenancy.names[chosen], quote=False)))
        return
    current = tenancy.current(call.user_id)
    lines = [f"{i}. {html.escape(tenancy.names[bid], quote=False)}{' ✅' if bid == current else ''}"
             for i, bid in enumerate(owned, 1)]  # fmt: skip
    await call.say(t("biz.pick", call.lang, name=name) + "\n" + "\n".join(lines) + "\n/relance entreprise 2")


async def _help(call: Call) -> None:
    """Every subcommand and button."""
    await call.say(t("slack.cmd.help", call.lang))


Subcommand = Callable[[Call], Awaitable[None]]
#: French names first (as in Telegram), then the English ones.
SUBCOMMANDS: dict[str, Subcommand] = {
    "status": _status,
    "digest": _digest,
    "factures": _invoices,
    "invoices": _invoices,
    "client": _client,
    "payee": _paid,
    "payée": _paid,
    "paid": _paid,
    "preuves": _evidence,
    "evidence": _evidence,
    "litiges": _disputes,
    "disputes": _disputes,
    "reprendre": _resume,
    "resume": _resume,
    "parametres": _settings,
    "paramètres": _settings,
    "settings": _settings,
    "taches": _tasks,
    "tâches": _tasks,
    "tasks": _tasks,
    "virements": _transfers,
    "transfers": _transfers,
    "reponses": _replies,
    "réponses": _replies,
    "replies": _replies,
    "entreprise": _business,
    "business": _business,
    "aide": _help,
    "help": _help,
}


# --- the settings panel ---------------------------------------------------------------------------------------


def _panel(ctx: SlackContext, lang: str) -> CardText:
    """The settings as stored now, with the pause or resume button."""
    business = ctx.presenter.business()
    state = t("settings.paused" if business.paused else "settings.running", lang)
    panel = t("slack.cmd.settings", lang, digest_time=business.digest_time, state=state)
    button = (
        Button(t("settings.resume", lang), _RESUME) if business.paused else Button(t("settings.pause", lang), _PAUSE)
    )
    return CardText(panel, ((button,),))


def _panel_message(panel: CardText, lang: str) -> dict[str, Any]:
    """The settings panel as the `text` and `blocks` of a message."""
    return {"text": fallback_text(panel.text), "blocks": from_card_text(panel, lang)}


# --- listeners ------------------------------------------------------------------------------------------------


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The `/relance` slash command, the settings panel's button, and the answer to text typed in the DM."""

    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        """Acknowledge (saying where the answer goes when typed elsewhere), then run the subcommand in the DM."""
        user_id = str(command["user_id"])
        channel = str(command.get("channel_id") or "")
        known = ctx.dms.get(user_id)
        # Without the DM's id yet, only a "D…" channel may be it; a DM with someone else is told after the lookup.
        elsewhere = channel != known if known is not None else not channel.startswith("D")
        note = t("slack.cmd.in_dm", ctx.langs.get(user_id, "fr"))
        await ack(text=note if elsewhere else "")
        words = str(command.get("text") or "").split()
        try:
            lang = await ctx.lang(user_id)
            dm = await ctx.dm(user_id)
            if not elsewhere and channel != dm:
                await respond(text=t("slack.cmd.in_dm", lang), response_type="ephemeral")
            await run(Call(ctx, user_id, dm, lang, words[1:]), words[0].lower() if words else "aide")
        except Exception:
            log.exception("/relance %s failed", words[0] if words else "")
            await tell_error(ctx, user_id)

    async def on_toggle(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Pause or resume everything, then show the panel as it is now in place of the clicked one."""
        await ack()
        user_id = str(body["user"]["id"])
        try:
            lang = await ctx.lang(user_id)
            paused = body["actions"][0]["action_id"] == _PAUSE
            await asyncio.to_thread(ctx.presenter.set_paused, paused, actor=ctx.actor(user_id))
            panel = await asyncio.to_thread(_panel, ctx, lang)
            channel = (body.get("channel") or {}).get("id") or body["container"]["channel_id"]
            ts = (body.get("message") or {}).get("ts") or body["container"]["message_ts"]
            await ctx.client.chat_update(channel=channel, ts=ts, **_panel_message(panel, lang))
            done = t("settings.now_paused" if paused else "settings.now_running", lang)
            await ctx.client.chat_postEphemeral(channel=channel, user=user_id, text=to_mrkdwn(done))
            home.refresh_later(ctx, user_id)
        except Exception:
            log.exception("settings toggle failed")
            await tell_error(ctx, user_id)

    async def on_text(event: dict[str, Any]) -> None:
        """Text typed in the DM (the gate lets no other message through): say how to talk to the app."""
        user_id = str(event.get("user") or "")
        try:
            lang = await ctx.lang(user_id)
            await post_text(ctx, str(event["channel"]), t("slack.cmd.unknown_text", lang), lang)
        except Exception:
            log.exception("could not answer a text in the DM")

    app.command(COMMAND)(on_command)
    app.action(_TOGGLE)(on_toggle)
    # A plain message (no subtype): not an edit, a deletion or a shared file.
    app.event({"type": "message", "subtype": None})(on_text)


async def run(call: Call, name: str) -> None:
    """Run one subcommand (an unknown one gets the help); the home tab is refreshed after a change."""
    subcommand = SUBCOMMANDS.get(name)
    if subcommand is None:
        await call.say(t("slack.cmd.unknown", call.lang, name=h(name[:40])) + "\n\n" + t("slack.cmd.help", call.lang))
        return
    await subcommand(call)
    if subcommand in (_paid, _resume, _settings):
        home.refresh_later(call.ctx, call.user_id)


async def tell_error(ctx: SlackContext, user_id: str) -> None:
    """Tell the owner briefly that something went wrong (the details are in the log)."""
    try:
        await post_text(ctx, await ctx.dm(user_id), h(t("error", await ctx.lang(user_id))), await ctx.lang(user_id))
    except Exception:  # telling the owner is best effort
        log.exception("could not tell the owner about an error")
