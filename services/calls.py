"""Phone calls of the ladder, chat-free: which card a reminder gets (a call or an e-mail, from the step's channel),
the call card's data (number, script, attempts), the owner's one-line outcome, and the number as a `tel:` URI.

The actions themselves (Appel fait, Pas de réponse, Envoyer plutôt l'e-mail) are `Services.call_done`,
`call_no_answer` and `call_email_instead` (services/core.py), which write through `storage.calls`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from dunning.ladder import Channel, step_channel
from storage.calls import NO_ANSWER, CallRecord, calls_of, email_chosen
from storage.db import Session
from storage.reminders import ReminderView, ladder_of

#: The longest outcome note the owner may type ("rappelle lundi, paiement en cours"...).
MAX_CALL_NOTE = 300


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What a call card shows: the client's number (as typed, and as a `tel:` URI; "" when unknown), the call
    script (None when it cannot be rendered), and the times of the attempts without an answer."""

    phone: str
    tel: str
    script: str | None
    attempts: tuple[datetime, ...] = ()


def tel_uri(phone: str) -> str:
    """The `tel:` URI of a number as typed: "06 12 34 56 78" -> "tel:+33612345678" (a French national number gets
    +33), "+32 2 555 12 12" -> "tel:+3225551212", "0044 20..." -> "tel:+4420..."; "" when there is no number."""
    compact = re.sub(r"[\s.\-()/]", "", phone or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if re.fullmatch(r"0[1-9]\d{8}", compact):
        compact = "+33" + compact[1:]
    if not re.fullmatch(r"\+?\d{3,15}", compact):
        return ""
    return f"tel:{compact}"


def card_channel(session: Session, *, business_id: int, view: ReminderView) -> Channel:
    """How this reminder reaches its client: its step's channel for the client's profile (a key account's first
    overdue step is a call), an e-mail when the owner chose "Envoyer plutôt l'e-mail" on its call card."""
    ladder = ladder_of(session, business_id=business_id)
    channel = step_channel(ladder, view.step, view.client_profile)
    if channel == Channel.PHONE and email_chosen(session, business_id=business_id, reminder_id=view.reminder_id):
        return Channel.EMAIL
    return channel


def call_info(session: Session, *, business_id: int, view: ReminderView, script: str | None, tz: tzinfo) -> CallInfo:
    """The call card's data for a reminder whose channel is the phone (attempt times in the business's zone)."""
    calls = calls_of(session, business_id=business_id, reminder_id=view.reminder_id)
    attempts = tuple(c.at.astimezone(tz) for c in calls if c.outcome == NO_ANSWER)
    return CallInfo(view.client_phone.strip(), tel_uri(view.client_phone), script, attempts)


def parse_call_note(text: str) -> str:
    """The owner's one-line outcome of a call ("promet de payer vendredi"); raise InputError."""
    from services.core import InputError

    note = " ".join(text.split())
    if not note:
        raise InputError("call.note_empty")
    if len(note) > MAX_CALL_NOTE:
        raise InputError("call.note_too_long", length=len(note), limit=MAX_CALL_NOTE)
    return note


def reached_call(calls: list[CallRecord]) -> CallRecord | None:
    """The completed call among a reminder's logged calls (the last one), None when none was answered."""
    done = [c for c in calls if c.outcome != NO_ANSWER]
    return done[-1] if done else None
