"""The registered letter (LRAR) of a formal notice in Slack: the card's `l1:` buttons open a modal (✉️ LRAR envoyée:
tracking number and posting date; 📮 Première présentation and Pli non réclamé: the date of first presentation;
📬 AR reçu: the date of receipt; Retourné: the day it came back), checked with the same parsing as Telegram's
questions (errors stay in the modal).

After 📬 AR reçu, the owner shares the photo or PDF of the signed acknowledgment in the DM (or clicks "Sans scan"):
the receipt is then recorded with its scan, in one transaction, on the letter version the button showed. A second
click or a stale modal hears "Déjà traité." and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.cards import Button, CardText, to_plain
from bot.download import DownloadError, TooBigError
from bot.i18n import t
from bot.letter_cards import callback, parse_callback
from bot.presenter import Shown, text
from bot.slack import home
from bot.slack.actions import Click, ephemeral, refresh_cards, run_click, show_outcome
from bot.slack.blocks import MAX_TITLE, fallback_text, from_card_text
from bot.slack.commands import post_text, tell_error
from services.core import InputError, Msg
from services.letters import MAX_PROOF_BYTES, check_proof, parse_letter_date, parse_tracking

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

LETTER_BUTTON = re.compile(r"^l1:")
_FORM_VIEW = re.compile(r"^l1form:")
#: How long a shared file is taken as the acknowledgment's scan after 📬 AR reçu (then it is an import again).
PROOF_WAIT_SECONDS = 15 * 60
_TITLES = {"sent": "slack.modal.lrar_sent_title", "pres": "slack.modal.lrar_presented_title",
           "recv": "slack.modal.lrar_received_title", "uncl": "slack.modal.lrar_unclaimed_title",
           "ret": "slack.modal.lrar_returned_title"}  # fmt: skip
_DATE_LABELS = {"sent": "slack.modal.lrar_sent_date", "pres": "slack.modal.lrar_presented_date",
                "recv": "slack.modal.lrar_received_date", "uncl": "slack.modal.lrar_presented_date",
                "ret": "slack.modal.lrar_returned_date"}  # fmt: skip


@dataclass(frozen=True)
class _AwaitingScan:
    """A receipt whose date the owner gave, waiting for the scan shared in the DM (or "Sans scan")."""

    reminder_id: int
    version: int
    received_on: date
    channel: str
    ts: str
    until: float


#: (context id, owner) -> the receipt waiting for its scan; one at a time per owner.
_awaiting: dict[tuple[int, str], _AwaitingScan] = {}


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The letter buttons (`l1:`) and the submissions of their modals."""

    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Acknowledge, then open the letter's modal (or record a receipt without scan)."""
        await ack()
        await run_click(ctx, body, letter_button)

    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Errors stay in the modal; else close it and act on the letter version the button showed."""
        user_id = str((body.get("user") or {}).get("id") or "")
        view = body.get("view") or {}
        opened = _opened(view)
        if opened is None or not ctx.is_owner(user_id):
            await ack()
            return
        acked = False
        try:
            lang = await ctx.lang(user_id)
            values = (view.get("state") or {}).get("values") or {}
            try:
                value = _parse(opened[0], values, ctx.presenter.today())
            except _FieldError as exc:
                acked = True
                await ack(response_action="errors", errors={exc.block_id: to_plain(text(exc.msg, lang))})
                return
            acked = True
            await ack()
            action, rid, version, channel, ts = opened
            await _act(ctx, Click(user_id, channel, ts, lang), action, rid, version, value)
        except Exception:
            log.exception("Slack letter form failed")
            if not acked:
                await ack()
            await tell_error(ctx, user_id)
        home.refresh_later(ctx, user_id)

    app.action(LETTER_BUTTON)(on_button)
    app.view(_FORM_VIEW)(on_submit)


async def letter_button(ctx: SlackContext, click: Click, data: str) -> None:
    """A letter button on a formal notice's card: checked against the stored letter, then its modal."""
    parsed = parse_callback(data)
    if parsed is None:
        await ephemeral(ctx, click, t("cb.unknown", click.lang))
        return
    action, rid, version = parsed
    if action == "noscan":
        waiting = _awaiting.pop((id(ctx), click.user_id), None)
        if waiting is None or (waiting.reminder_id, waiting.version) != (rid, version):
            await ephemeral(ctx, click, t("cb.already", click.lang))
            return
        await _record_receipt(ctx, click.user_id, click.lang, waiting, None)
        return
    if not await _current(ctx, click, rid, version):
        return
    if click.trigger_id:
        await ctx.client.views_open(trigger_id=click.trigger_id, view=form_view(action, rid, version, click, ctx))


async def _current(ctx: SlackContext, click: Click, rid: int, version: int) -> bool:
    """True when the letter is as the button showed it; else "Déjà traité." and the card as it is now."""
    state = await asyncio.to_thread(ctx.presenter.letter_current, rid, version)
    if state == "current":
        return True
    if state == "stale":
        await refresh_cards(ctx, rid, here=click.here, lang=click.lang)
    await ephemeral(ctx, click, t("cb.unknown" if state == "unknown" else "cb.already", click.lang))
    return False


def _plain(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value}


def form_view(action: str, rid: int, version: int, click: Click, ctx: SlackContext) -> dict[str, Any]:
    """The modal of a letter button: the date (today proposed), and the tracking number for a posting."""
    lang = click.lang
    blocks: list[dict[str, Any]] = []
    if action == "sent":
        blocks.append({"type": "input", "block_id": "tracking", "label": _plain(t("slack.modal.tracking", lang)),
                       "hint": _plain(t("slack.modal.tracking_hint", lang)),
                       "element": {"type": "plain_text_input", "action_id": "tracking", "max_length": 30}})  # fmt: skip
    picker = {"type": "datepicker", "action_id": "date", "initial_date": ctx.presenter.today().isoformat()}
    blocks.append({"type": "input", "block_id": "date", "label": _plain(t(_DATE_LABELS[action], lang)),
                   "element": picker})  # fmt: skip
    if action == "recv":
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t("slack.lrar.scan_after", lang)}]})
    meta = {"data": callback(action, rid, version), "channel": click.channel, "ts": click.ts}
    return {
        "type": "modal",
        "callback_id": f"l1form:{action}",
        "private_metadata": json.dumps(meta),
        "title": _plain(t(_TITLES[action], lang)[:MAX_TITLE]),
        "submit": _plain(t("slack.modal.submit", lang)),
        "close": _plain(t("slack.modal.close", lang)),
        "blocks": blocks,
    }


def _opened(view: dict[str, Any]) -> tuple[str, int, int, str, str] | None:
    """(action, notice id, letter version, card channel, card ts) of a submitted letter modal, None if not ours."""
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        parsed = parse_callback(str(meta["data"]))
        action = str(view.get("callback_id") or "").removeprefix("l1form:")
        if parsed is None or parsed[0] != action or action not in _TITLES:
            return None
        return action, parsed[1], parsed[2], str(meta["channel"]), str(meta["ts"])
    except (ValueError, KeyError, TypeError):
        return None


class _FieldError(Exception):
    def __init__(self, block_id: str, msg: Msg) -> None:
        super().__init__(msg.key)
        self.block_id = block_id
        self.msg = msg


def _entry(values: dict[str, Any], block_id: str) -> dict[str, Any]:
    return dict((values.get(block_id) or {}).get(block_id) or {})


def _parse(action: str, values: dict[str, Any], today: date) -> tuple[str | None, date]:
    """(tracking number for a posting, else None; the date), or _FieldError under the input at fault."""
    number: str | None = None
    if action == "sent":
        try:
            number = parse_tracking(str(_entry(values, "tracking").get("value") or ""))
        except InputError as exc:
            raise _FieldError("tracking", exc.msg) from None
    picked = _entry(values, "date").get("selected_date")
    if not picked:
        raise _FieldError("date", Msg("slack.modal.date_missing"))
    try:
        return number, parse_letter_date(str(picked), today)
    except InputError as exc:
        raise _FieldError("date", exc.msg) from None


async def _act(ctx: SlackContext, click: Click, action: str, rid: int, version: int, value: Any) -> None:
    """The submitted modal's action on the letter version the button showed."""
    presenter, who = ctx.presenter, ctx.actor(click.user_id)
    if not await _current(ctx, click, rid, version):
        return
    number, day = value
    shown: Shown
    if action == "sent":
        shown = await asyncio.to_thread(presenter.letter_sent, rid, version, tracking=number, sent_on=day, actor=who,
                                        lang=click.lang)  # fmt: skip
    elif action == "pres":
        shown = await asyncio.to_thread(presenter.letter_presented, rid, version, presented_on=day, actor=who,
                                        lang=click.lang)  # fmt: skip
    elif action in ("uncl", "ret"):
        outcome = "unclaimed" if action == "uncl" else "returned"
        shown = await asyncio.to_thread(presenter.letter_back, rid, version, outcome=outcome, on=day, actor=who,
                                        lang=click.lang)  # fmt: skip
    else:
        # 📬 AR reçu: the date is checked now, the receipt recorded with the scan the owner shares next.
        found = await asyncio.to_thread(presenter.letter, rid)
        if found is not None and day < found.sent_on:
            msg = Msg("lrar.date_before_sent", day=day, sent=found.sent_on)
            await ephemeral(ctx, click, text(msg, click.lang))
            return
        _awaiting[(id(ctx), click.user_id)] = _AwaitingScan(rid, version, day, click.channel, click.ts,
                                                            time.monotonic() + PROOF_WAIT_SECONDS)  # fmt: skip
        no_scan = Button(t("slack.lrar.no_scan", click.lang), callback("noscan", rid, version))
        prompt = CardText(t("slack.lrar.share_scan", click.lang), ((no_scan,),))
        dm = await ctx.dm(click.user_id)
        await ctx.client.chat_postMessage(channel=dm, text=fallback_text(prompt.text),
                                          blocks=from_card_text(prompt, click.lang))  # fmt: skip
        return
    await show_outcome(ctx, click, shown)


async def take_scan(ctx: SlackContext, user_id: str, dm: str, file_id: str) -> bool:
    """A file shared in the DM while a receipt waits for its scan: recorded with it (True); else False (an import)."""
    key = (id(ctx), user_id)
    waiting = _awaiting.get(key)
    if waiting is None:
        return False
    if time.monotonic() > waiting.until:
        _awaiting.pop(key, None)
        return False
    lang = await ctx.lang(user_id)
    info: dict[str, Any] = dict((await ctx.client.files_info(file=file_id)).get("file") or {})
    size = info.get("size")
    too_big = Msg("lrar.proof_too_big", limit=MAX_PROOF_BYTES // (1024 * 1024))
    if isinstance(size, int) and size > MAX_PROOF_BYTES:
        await post_text(ctx, dm, text(too_big, lang), lang)
        return True
    from bot.slack.files import download  # the capped download of the imports (Slack's hosts only)

    try:
        data = await download(ctx, info, MAX_PROOF_BYTES)
        check_proof(data)
    except TooBigError:
        await post_text(ctx, dm, text(too_big, lang), lang)
        return True
    except DownloadError as exc:
        log.warning("acknowledgment scan %s: download failed: %s", file_id, exc)
        await post_text(ctx, dm, t("lrar.proof_failed", lang), lang)
        return True
    except InputError as exc:
        await post_text(ctx, dm, text(exc.msg, lang), lang)
        return True
    _awaiting.pop(key, None)
    await _record_receipt(ctx, user_id, lang, waiting, data)
    return True


async def _record_receipt(
    ctx: SlackContext, user_id: str, lang: str, waiting: _AwaitingScan, proof: bytes | None
) -> None:
    shown = await asyncio.to_thread(ctx.presenter.letter_received, waiting.reminder_id, waiting.version,
                                    received_on=waiting.received_on, proof=proof, actor=ctx.actor(user_id),
                                    lang=lang)  # fmt: skip
    await show_outcome(ctx, Click(user_id, waiting.channel, waiting.ts, lang), shown)
