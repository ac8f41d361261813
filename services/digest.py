"""When the owner's morning digest is due: the pure rule, and the few facts it needs read from the database.

The scheduler only wakes the bot (at start and every minute); whether a digest goes out is decided here, from the
business's clock and what the database says, so a bot paused, asleep or busy at the digest time still sends that
day's digest as soon as it runs again, and never the next day's one early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func
from sqlmodel import Session, select

from dunning.calendar import is_business_day
from dunning.states import ReminderState
from storage.models import Business, DigestRun, Outbox, Reminder


def digest_due(now_local: datetime, digest_time: time, last_digest_day: date | None, needs_owner: bool) -> bool:
    """True when the digest of `now_local`'s day should go out now.

    - once a day: not when a digest already went out that day (or a later one, after a clock change);
    - never before the digest time, read on the business's wall clock (`now_local` is in its time zone, so a
      daylight-saving change moves nothing: at 08:30 local is 08:30 local, winter or summer);
    - on week-ends and public holidays only when something needs the owner (a failed or uncertain send).
    """
    day = now_local.date()
    if last_digest_day is not None and last_digest_day >= day:
        return False
    if now_local.time().replace(tzinfo=None) < digest_time:
        return False
    return is_business_day(day) or needs_owner


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What the digest rule reads from the database for one business."""

    digest_time: time
    last_digest_day: date | None
    needs_owner: bool


def digest_facts(session: Session, business_id: int) -> DigestFacts:
    """The business's digest time (changeable with /parametres), its last digest day, and whether a send failed
    or has an uncertain outcome (the owner must decide, even on a day off)."""
    business = session.get(Business, business_id)
    if business is None:
        raise LookupError(f"business {business_id} not found")
    last = session.exec(select(func.max(DigestRun.day)).where(DigestRun.business_id == business_id)).first()
    failed = session.exec(
        select(Reminder.id).where(Reminder.business_id == business_id, Reminder.state == ReminderState.FAILED).limit(1)
    ).first()
    uncertain = session.exec(
        select(Outbox.id).where(Outbox.business_id == business_id, Outbox.state == "unknown").limit(1)
    ).first()
    return DigestFacts(
        digest_time=time.fromisoformat(business.digest_time),
        last_digest_day=last,
        needs_owner=failed is not None or uncertain is not None,
    )


def uncertain_reminders(session: Session, business_id: int) -> list[int]:
    """The reminders whose e-mail has an uncertain outcome, oldest first: the owner says whether it left."""
    rows = session.exec(
        select(Outbox.reminder_id)
        .where(Outbox.business_id == business_id, Outbox.state == "unknown")
        .order_by(Outbox.id)  # type: ignore[arg-type]
    ).all()
    return list(rows)
