"""The owner's morning digest in the database: the days it went out (claimed once a day), and the facts that decide
whether it is due (its time, the last day sent, a send that needs the owner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import func, text, update
from sqlmodel import Session, col, select

from dunning.states import ReminderState
from storage.models import Business, Card, DigestRun, Outbox, Reminder


@dataclass(frozen=True, slots=True)
class DigestFacts:
    """What the digest rule reads from the database for one business."""

    digest_time: time
    last_digest_day: date | None
    needs_owner: bool


def digest_facts(session: Session, *, business_id: int) -> DigestFacts:
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


def all_digest_facts(session: Session) -> dict[int, DigestFacts]:
    """`digest_facts` of every business in four queries (the minute's check over a thousand businesses)."""
    times = session.exec(select(Business.id, Business.digest_time)).all()
    last = dict(
        session.exec(select(DigestRun.business_id, func.max(DigestRun.day)).group_by(col(DigestRun.business_id))).all()
    )
    failed = set(
        session.exec(select(Reminder.business_id).where(Reminder.state == ReminderState.FAILED).distinct()).all()
    )
    uncertain = set(session.exec(select(Outbox.business_id).where(Outbox.state == "unknown").distinct()).all())
    return {
        business_id: DigestFacts(
            digest_time=time.fromisoformat(digest_time),
            last_digest_day=last.get(business_id),
            needs_owner=business_id in failed or business_id in uncertain,
        )
        for business_id, digest_time in times
        if business_id is not None
    }


def undelivered_digests(session: Session, *, since: date) -> dict[int, date]:
    """The businesses with a digest of `since` or later not yet delivered (its day), in one query."""
    rows = session.exec(
        select(DigestRun.business_id, func.max(DigestRun.day))
        .where(DigestRun.day >= since, col(DigestRun.delivered_at).is_(None))
        .group_by(col(DigestRun.business_id))
    ).all()
    return dict(rows)


def uncertain_reminders(session: Session, *, business_id: int) -> list[int]:
    """The reminders whose e-mail has an uncertain outcome, oldest first: the owner says whether it left."""
    rows = session.exec(
        select(Outbox.reminder_id)
        .where(Outbox.business_id == business_id, Outbox.state == "unknown")
        .order_by(col(Outbox.id))
    ).all()
    return list(rows)


def digest_claimed(session: Session, *, business_id: int, day: date) -> bool:
    """True when the digest of `day` already went out (or is going out in another process)."""
    found = session.exec(select(DigestRun.id).where(DigestRun.business_id == business_id, DigestRun.day == day)).first()
    return found is not None


#: The first key of the transaction lock that one process takes while it claims a business's digest.
_DIGEST_CLAIM_LOCK = 0x52454D  # "REM"


def try_claim_lock(session: Session, *, business_id: int) -> bool:
    """PostgreSQL: take the business's digest-claim lock for this transaction without waiting; False when another
    process is claiming (preparing) that digest right now, so the caller moves on to the next business instead of
    queueing behind it. SQLite: True (BEGIN IMMEDIATE already lets one writer in at a time)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k, :b)"), {"k": _DIGEST_CLAIM_LOCK, "b": business_id}
    ).scalar()
    return bool(got)


def claim_digest(session: Session, *, business_id: int, day: date, holder: str | None = None) -> int:
    """Claim the digest of `day` (a unique row per business and day: a second claim fails with IntegrityError
    when the transaction writes) for the process `holder` (storage/workers.py); returns the claim's id for
    `seal_digest`."""
    run = DigestRun(business_id=business_id, day=day, claimed_by=holder)
    session.add(run)
    session.flush()
    assert run.id is not None
    return run.id


def seal_digest(session: Session, *, business_id: int, run_id: int, head_hash: str) -> None:
    """Write on a claimed digest the head hash of the evidence chain it published."""
    run = session.get(DigestRun, run_id)
    if run is None or run.business_id != business_id:
        raise LookupError(f"digest run {run_id} is not business {business_id}'s")
    run.head_hash = head_hash
    session.add(run)


def mark_delivered(session: Session, *, business_id: int, day: date, at: datetime) -> None:
    """The digest of `day` reached every chat (`at`, UTC)."""
    run = session.exec(select(DigestRun).where(DigestRun.business_id == business_id, DigestRun.day == day)).first()
    if run is not None and run.delivered_at is None:
        run.delivered_at = at
        session.add(run)


def missed_digest(session: Session, *, business_id: int, before: date) -> date | None:
    """The day of the last digest before `before` when it was claimed but never delivered (cut off at the end of the
    sending window, or by a stop or crash while it went out); None when that one went out. Only the last one counts:
    it is reported in the next digest, and that digest's own delivery closes the matter."""
    run = session.exec(
        select(DigestRun)
        .where(DigestRun.business_id == business_id, DigestRun.day < before)
        .order_by(col(DigestRun.day).desc())
        .limit(1)
    ).first()
    return run.day if run is not None and run.delivered_at is None else None


def undelivered_digest(session: Session, *, business_id: int, day: date) -> tuple[int, str | None] | None:
    """The claim (id, holder) of the digest of `day` when it has not reached every chat yet; None otherwise."""
    row = session.exec(
        select(DigestRun.id, DigestRun.claimed_by).where(
            DigestRun.business_id == business_id, DigestRun.day == day, col(DigestRun.delivered_at).is_(None)
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return row[0], row[1]


def take_over_digest(session: Session, *, business_id: int, run_id: int, previous: str | None, holder: str) -> bool:
    """Make `holder` the process delivering an undelivered digest claimed by `previous` (a dead process): True for
    exactly one of several processes asking at once (the row must still name `previous`)."""
    stmt = (
        update(DigestRun)
        .where(
            col(DigestRun.id) == run_id,
            col(DigestRun.business_id) == business_id,
            col(DigestRun.delivered_at).is_(None),
            col(DigestRun.claimed_by).is_(None) if previous is None else col(DigestRun.claimed_by) == previous,
        )
        .values(claimed_by=holder)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def cards_shown(session: Session, *, business_id: int, reminder_ids: Sequence[int]) -> set[tuple[int, str]]:
    """The (reminder id, chat id) of every card of `reminder_ids` that reached a chat already (a card is stored as
    soon as the chat took it)."""
    if not reminder_ids:
        return set()
    found = session.exec(
        select(Card.reminder_id, Card.chat_id)
        .where(Card.business_id == business_id, col(Card.reminder_id).in_(list(reminder_ids)))
        .distinct()
    ).all()
    return {(reminder_id, chat_id) for reminder_id, chat_id in found}
