"""Slack modals for the card buttons that need an answer: Modifier (subject and text), Payée (the amount received),
Litige (the reason), Promesse (the promised date) and Reporter (+1, +3, +7 days or a date).

The card's button data (`r1:<action>:<reminder id>:<version>`) and the card message (channel, ts) travel in the
modal's private_metadata. A submission is checked with the same parsing as Telegram's questions (services.core):
an invalid one is answered with the errors in the modal (`response_action: errors`) and changes nothing; a valid one
closes the modal, then the service acts on the version the button showed, so a modal submitted twice, or after
another owner acted, changes nothing the second time and hears "Déjà traité.".
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.cards import callback, parse_callback, to_plain
from bot.i18n import t
from bot.presenter import Presenter, Shown, card_parts, text
from bot.slack import actions, home
from bot.slack.blocks import MAX_TITLE, text_blocks
from bot.slack.commands import tell_error
from services.calls import MAX_CALL_NOTE, parse_call_note
from services.core import (
    MAX_EDIT_BODY,
    MAX_REASON,
    MAX_SUBJECT,
    CardState,
    DraftFailure,
    InputError,
    Msg,
    ParsedEdit,
    parse_edit,
    parse_owner_amount,
    parse_owner_date,
    parse_reason,
)

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.context.ack.async_ack import AsyncAck

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

#: The callback_id of a form's modal: "r1form:<form>".
_FORM_VIEW = re.compile(r"^r1form:")
#: Card button -> the form it opens.
FORM_OF = {
    "edit": "edit",
    "snz": "snooze",
    "snzd": "snooze",
    "pay": "pay",
    "payp": "pay",
    "disp": "dispute",
    "prom": "promise",
    "cdone": "call",  # phone calls: 📞 Appel fait asks for the outcome
}
#: Snooze choices (radio values) -> days; "date" means the date picked below.
_SNOOZE_CHOICES = {"1": 1, "3": 3, "7": 7}
#: Telegram's wording of some input errors speaks of its chat (/annuler, send again): the modal's own words.
_SLACK_WORDING = {
    "edit.empty": "slack.modal.body_empty",
    "edit.too_long": "slack.modal.body_too_long",
    "dispute.empty": "slack.modal.reason_empty",
    "call.note_empty": "slack.modal.call_empty",
}

Block = dict[str, Any]
Values = dict[str, dict[str, dict[str, Any]]]
T = TypeVar("T")


class FieldError(Exception):
    """An input that cannot be used: the block it is in and what to say there."""

    def __init__(self, block_id: str, msg: Msg) -> None:
        super().__init__(msg.key)
        self.block_id = block_id
        self.msg = msg

    def text(self, lang: str) -> str:
        """The explanation shown under the input (plain text)."""
        msg = Msg(_SLACK_WORDING.get(self.msg.key, self.msg.key), **self.msg.values)
        return to_plain(text(msg, lang))


@dataclass(frozen=True)
class Form(Generic[T]):
    """One modal: its inputs (prefilled from the card as it is now), how its values are read, what they do."""

    #: The catalogue key of the modal's title (at most 24 characters).
    title: str
    #: The input blocks, from the reminder's current card, in the owner's language, for today.
    inputs: Callable[[CardState, str], list[Block]]
    #: The submitted values as what the action takes (raises FieldError); reads the card as it is now.
    parse: Callable[[Values, CardState], T]
    #: The action: (presenter, reminder id, version, value, actor, lang) -> what to show.
    apply: Callable[[Presenter, int, int, T, str, str], Shown]
    #: A catalogue key to answer instead of the service's message when done (Telegram's speaks of its chat).
    done: str | None = None


# --- reading the submitted values ---------------------------------------------------------------------------------


def _entry(values: Values, block_id: str) -> dict[str, Any]:
    # Each input's action_id is its block_id (action ids must be unique in a view too).
    return (values.get(block_id) or {}).get(block_id) or {}


def _typed(values: Values, block_id: str) -> str:
    """The text typed in a plain_text_input ('' when empty)."""
    return str(_entry(values, block_id).get("value") or "")


def _picked_date(values: Values, block_id: str) -> str | None:
    """The date of a datepicker (YYYY-MM-DD) or None."""
    picked = _entry(values, block_id).get("selected_date")
    return str(picked) if picked else None


def _chosen(values: Values, block_id: str) -> str | None:
    """The value of the chosen radio button, or None."""
    option = _entry(values, block_id).get("selected_option") or {}
    return str(option["value"]) if option.get("value") else None


def _in(block_id: str, parse: Callable[[], T]) -> T:
    """`parse()`, its InputError reported under the input `block_id`."""
    try:
        return parse()
    except InputError as exc:
        raise FieldError(block_id, exc.msg) from None


# --- building inputs --------------------------------------------------------------------------------------------


def _plain(value: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": value}


def _input(block_id: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None) -> Block:
    """An input block; its element's action_id is the block_id."""
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label), "optional": optional,
                    "element": {**element, "action_id": block_id}}  # fmt: skip
    if hint:
        block["hint"] = _plain(hint)
    return block


def _text_input(limit: int, value: str, *, multiline: bool = False) -> Block:
    """A plain_text_input of at most `limit` characters, prefilled with `value` when it fits."""
    element: Block = {"type": "plain_text_input", "max_length": limit, "multiline": multiline}
    if value and len(value) <= limit:
        element["initial_value"] = value
    return element


def _amount_text(amount: Decimal) -> str:
    """An amount as the owner types it, the French way: 1234,50."""
    return f"{amount:.2f}".replace(".", ",")


# --- the forms ----------------------------------------------------------------------------------------------------


def _edit_inputs(state: CardState, lang: str) -> list[Block]:
    draft = None if isinstance(state.draft, DraftFailure) else state.draft
    # The text as the card shows it (trailing blank lines are dropped by the edit anyway).
    subject, body = (draft.subject, draft.text.strip()) if draft is not None else ("", "")
    hint = t("slack.modal.body_hint", lang, limit=f"{MAX_EDIT_BODY:,}".replace(",", " "))
    if len(body) > MAX_EDIT_BODY:
        hint = t("slack.modal.body_too_long_now", lang, length=f"{len(body):,}".replace(",", " "), limit=MAX_EDIT_BODY)
    return [
        _input("subject", t("slack.modal.subject", lang), _text_input(MAX_SUBJECT, subject)),
        _input("body", t("slack.modal.body", lang), _text_input(MAX_EDIT_BODY, body, multiline=True), hint=hint),
    ]


def _edit_parse(values: Values, state: CardState) -> ParsedEdit:
    subject, body = _typed(values, "subject"), _typed(values, "body")
    if "\n" in subject or "\r" in subject:
        raise FieldError("subject", Msg("edit.bad_subject", limit=MAX_SUBJECT))
    try:
        # Telegram's rules for an edit whose first line is "Objet: …": the same limits, the same messages.
        edit = parse_edit(f"Objet: {subject}\n{body}")
    except InputError as exc:
        raise FieldError("subject" if exc.key == "edit.bad_subject" else "body", exc.msg) from None
    current = None if isinstance(state.draft, DraftFailure) or state.draft is None else state.draft.subject
    # An unchanged subject is no edit of the subject (as in Telegram, where the owner types the text alone).
    return edit if edit.subject != current else ParsedEdit(None, edit.body)


def _pay_inputs(state: CardState, lang: str) -> list[Block]:
    balance = state.view.total
    hint = t("slack.modal.amount_hint", lang, balance=_amount_text(balance))
    return [_input("amount", t("slack.modal.amount", lang), _text_input(40, _amount_text(balance)), hint=hint)]


def _pay_parse(values: Values, state: CardState) -> Decimal | None:
    """None (paid in full) when left empty or equal to what is owed; else a partial amount within the balance."""
    typed = _typed(values, "amount").strip()
    if not typed:
        return None
    amount = _in("amount", lambda: parse_owner_amount(typed))
    owed = state.view.total
    if amount > owed:
        raise FieldError("amount", Msg("amount.too_much", owed=owed))
    return None if amount == owed else amount


def _dispute_inputs(state: CardState, lang: str) -> list[Block]:
    del state
    hint = t("slack.modal.reason_hint", lang, limit=MAX_REASON)
    return [_input("reason", t("slack.modal.reason", lang), _text_input(MAX_REASON, "", multiline=True), hint=hint)]


def _dispute_parse(values: Values, state: CardState) -> str:
    del state
    return _in("reason", lambda: parse_reason(_typed(values, "reason")))


def _datepicker() -> Block:
    return {"type": "datepicker"}


def _promise_inputs(state: CardState, lang: str) -> list[Block]:
    del state
    return [_input("date", t("slack.modal.promise_date", lang), _datepicker())]


def _promise_parse(values: Values, state: CardState) -> date:
    picked = _picked_date(values, "date")
    if picked is None:
        raise FieldError("date", Msg("slack.modal.date_missing"))
    # As in Telegram, today is allowed: "paying today".
    return _in("date", lambda: parse_owner_date(picked, state.today, allow_today=True))


def _snooze_inputs(state: CardState, lang: str) -> list[Block]:
    del state
    options = [
        {"text": _plain(t(f"btn.snooze{days}", lang)), "value": value} for value, days in _SNOOZE_CHOICES.items()
    ]
    options.append({"text": _plain(t("btn.snooze_date", lang)), "value": "date"})
    return [
        _input("days", t("slack.modal.snooze_choice", lang), {"type": "radio_buttons", "options": options},
               optional=True),
        _input("date", t("slack.modal.snooze_date", lang), _datepicker(), optional=True),
    ]  # fmt: skip


def _snooze_parse(values: Values, state: CardState) -> tuple[int, date | None]:
    """(days, None) for +1/+3/+7, (0, date) for a date: exactly one of them."""
    choice, picked = _chosen(values, "days"), _picked_date(values, "date")
    if choice in _SNOOZE_CHOICES:
        if picked is not None:
            raise FieldError("date", Msg("slack.modal.snooze_both"))
        return _SNOOZE_CHOICES[choice], None
    if picked is None:
        raise FieldError("date" if choice == "date" else "days", Msg("slack.modal.snooze_pick"))
    return 0, _in("date", lambda: parse_owner_date(picked, state.today))


def _call_inputs(state: CardState, lang: str) -> list[Block]:
    return [_input("note", t("slack.modal.call_label", lang), _text_input(MAX_CALL_NOTE, ""))]


def _call_parse(values: Values, state: CardState) -> str:
    return _in("note", lambda: parse_call_note(_typed(values, "note")))


FORMS: dict[str, Form[Any]] = {
    "edit": Form(
        "slack.modal.edit_title",
        _edit_inputs,
        _edit_parse,
        lambda p, rid, version, edit, who, code: p.edit(rid, version, edit=edit, actor=who, lang=code),
        done="slack.modal.edit_saved",
    ),
    "pay": Form(
        "slack.modal.pay_title",
        _pay_inputs,
        _pay_parse,
        lambda p, rid, version, amount, who, code: p.pay(rid, version, actor=who, lang=code, amount=amount),
    ),
    "dispute": Form(
        "slack.modal.dispute_title",
        _dispute_inputs,
        _dispute_parse,
        lambda p, rid, version, reason, who, code: p.dispute(rid, version, reason=reason, actor=who, lang=code),
    ),
    "promise": Form(
        "slack.modal.promise_title",
        _promise_inputs,
        _promise_parse,
        lambda p, rid, version, until, who, code: p.promise(rid, version, until=until, actor=who, lang=code),
    ),
    "call": Form(
        "slack.modal.call_title",
        _call_inputs,
        _call_parse,
        lambda p, rid, version, note, who, code: p.call_done(rid, version, note=note, actor=who, lang=code),
    ),
    "snooze": Form(
        "slack.modal.snooze_title",
        _snooze_inputs,
        _snooze_parse,
        lambda p, rid, version, choice, who, code: p.snooze(
            rid, version, actor=who, lang=code, days=choice[0], until=choice[1]
        ),
    ),
}


# --- opening and submitting ---------------------------------------------------------------------------------------


def form_view(name: str, state: CardState, lang: str, *, data: str, channel: str, ts: str) -> Block:
    """The modal of form `name` for a reminder's card as it is now."""
    form = FORMS[name]
    parts = card_parts(state, lang)
    about = text_blocks("\n".join(parts.head), lang, prefix="about", limit=3) if parts is not None else []
    return {
        "type": "modal",
        "callback_id": f"r1form:{name}",
        "private_metadata": json.dumps({"data": data, "channel": channel, "ts": ts}),
        "title": _plain(t(form.title, lang)[:MAX_TITLE]),
        "submit": _plain(t("slack.modal.submit", lang)),
        "close": _plain(t("slack.modal.close", lang)),
        "blocks": about + form.inputs(state, lang),
    }


async def open_form(ctx: SlackContext, click: actions.Click, action: str, rid: int, version: int) -> None:
    """Open the modal a card button asks for (the button was checked against the reminder just before)."""
    state = await asyncio.to_thread(ctx.presenter.core.card, rid)
    if state is None or not click.trigger_id:
        return
    view = form_view(FORM_OF[action], state, click.lang, data=callback(action, rid, version), channel=click.channel,
                     ts=click.ts)  # fmt: skip
    await ctx.client.views_open(trigger_id=click.trigger_id, view=view)


@dataclass(frozen=True)
class _Opened:
    """What a submitted modal is about, from its private_metadata."""

    form: Form[Any]
    reminder_id: int
    version: int
    channel: str
    ts: str


def _opened(view: dict[str, Any]) -> _Opened | None:
    """The form, reminder, version and card of a submitted modal (None when the metadata is not ours)."""
    try:
        meta = json.loads(str(view.get("private_metadata") or ""))
        parsed = parse_callback(str(meta["data"]))
        name = str(view.get("callback_id") or "").removeprefix("r1form:")
        if parsed is None or FORM_OF.get(parsed[0]) != name:
            return None
        return _Opened(FORMS[name], parsed[1], parsed[2], str(meta["channel"]), str(meta["ts"]))
    except (ValueError, KeyError, TypeError):
        return None


def _check(presenter: Presenter, opened: _Opened, values: Values) -> tuple[str, Any]:
    """("current", the parsed value) — or FieldError — while the card is as the modal showed it; else ("stale" or
    "unknown", None): the card moved on since the modal opened (a second submission, another owner's action)."""
    state = presenter.current(opened.reminder_id, opened.version)
    card = presenter.core.card(opened.reminder_id) if state == "current" else None
    if card is None:
        return ("unknown" if state == "unknown" else "stale"), None
    return state, opened.form.parse(values, card)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """The submissions of the forms' modals."""

    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        """Validate (errors stay in the modal, nothing changes), else close the modal, act, show the result."""
        user_id = str((body.get("user") or {}).get("id") or "")
        view = body.get("view") or {}
        opened = _opened(view)
        if opened is None or not ctx.is_owner(user_id):
            await ack()
            return
        values: Values = (view.get("state") or {}).get("values") or {}
        acked = False
        try:
            lang = await ctx.lang(user_id)
            try:
                state, value = await asyncio.to_thread(_check, ctx.presenter, opened, values)
            except FieldError as exc:
                acked = True
                await ack(response_action="errors", errors={exc.block_id: exc.text(lang)})
                return
            acked = True
            await ack()
            click = actions.Click(user_id, opened.channel, opened.ts, lang)
            if state != "current":
                await actions.say_not_current(ctx, click, opened.reminder_id, state)
                return
            form = opened.form
            from bot.slack import tasks  # imported here: bot.slack.tasks uses the buttons' helpers, which use this one

            before = await asyncio.to_thread(tasks.last_id, ctx)
            shown = await asyncio.to_thread(form.apply, ctx.presenter, opened.reminder_id, opened.version, value,
                                            ctx.actor(user_id), lang)  # fmt: skip
            if shown.ok and form.done is not None:
                shown = replace(shown, message=t(form.done, lang))
            await actions.show_outcome(ctx, click, shown)
            await tasks.post_tasks(ctx, opened.channel, lang, after_id=before)  # a partial payment settling it late
        except Exception:
            log.exception("Slack form failed")
            if not acked:
                await ack()
            await tell_error(ctx, user_id)
        home.refresh_later(ctx, user_id)

    app.view(_FORM_VIEW)(on_submit)
