"""Registered letters (LRAR) carrying formal notices: posting, first presentation, acknowledgment of receipt, and
the letters that come back (unclaimed, returned). Each change checks the letter's version and writes its evidence
entry (`lrar_sent`, `lrar_presented`, `lrar_received`, `lrar_unclaimed`, `lrar_returned`) in the caller's
transaction. Every function takes `business_id` explicitly and finds nothing outside that business.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from dunning.ladder import FORMAL_NOTICE
from dunning.lrar import RECEIVED, RETURNED, SENT, UNCLAIMED, notice_deadline
from dunning.states import ReminderState
from storage.evidence import record
from storage.models import Business, Client, RegisteredLetter, Reminder, ReminderInvoice
from storage.types import utcnow


class LetterStaleError(Exception):
    """The letter changed since the card was shown (or the formal notice can no longer carry one)."""


class UnknownNoticeError(Exception):
    """No formal notice with that id in this business."""


@dataclass(frozen=True, slots=True)
class LetterRow:
    """One registered letter as stored."""

    id: int
    business_id: int
    client_id: int
    reminder_id: int
    tracking_number: str
    sent_on: date
    first_presented_on: date | None
    received_on: date | None
    outcome: str
    proof_path: str | None
    proof_sha256: str | None
    version: int

    @property
    def awaiting_receipt(self) -> bool:
        """True while the letter is posted and nothing came back yet."""
        return self.outcome == SENT


@dataclass(frozen=True, slots=True)
class AwaitingLetter:
    """A formal notice whose registered letter waits for its acknowledgment (for /client and /status)."""

    letter: LetterRow
    client_name: str
    deadline: date


_FIELDS = tuple(f.name for f in fields(LetterRow))


def _row(letter: RegisteredLetter) -> LetterRow:
    return LetterRow(**{name: getattr(letter, name) for name in _FIELDS})


def notice_deadline_of(letter: LetterRow | None, *, today: date, days: int) -> date:
    """The formal notice's deadline: `days` after the letter's first presentation when known, else after its posting,
    else (no letter yet) after `today`, the draft's day. The one place the figure is computed from stored data: the
    letter, the e-mail, the card, /client, /status and the dossier all call it."""
    if letter is None:
        return notice_deadline(issued_on=today, first_presented_on=None, days=days)
    return notice_deadline(issued_on=letter.sent_on, first_presented_on=letter.first_presented_on, days=days)


def formal_notice_days(session: Session, *, business_id: int) -> int:
    """The delay the business's formal notices give (days)."""
    business = session.get(Business, business_id)
    return (business.formal_notice_days if business is not None else 0) or 8


def letter_of(session: Session, *, business_id: int, reminder_id: int) -> LetterRow | None:
    """The registered letter of a formal notice, if one was posted."""
    letter = session.exec(
        select(RegisteredLetter).where(
            RegisteredLetter.business_id == business_id, RegisteredLetter.reminder_id == reminder_id
        )
    ).first()
    return None if letter is None else _row(letter)


def _notice(session: Session, business_id: int, reminder_id: int) -> Reminder:
    """The formal notice `reminder_id` of the business (UnknownNoticeError when it is none)."""
    reminder = session.exec(
        select(Reminder).where(Reminder.id == reminder_id, Reminder.business_id == business_id)
    ).first()
    if reminder is None or reminder.step != FORMAL_NOTICE:
        raise UnknownNoticeError(f"formal notice {reminder_id} not found")
    return reminder


def notice_state(session: Session, *, business_id: int, reminder_id: int) -> str | None:
    """The state of formal notice `reminder_id` of the business (None when it is not one of its formal notices)."""
    try:
        return _notice(session, business_id, reminder_id).state
    except UnknownNoticeError:
        return None


def _locked(session: Session, business_id: int, reminder_id: int, expected_version: int) -> RegisteredLetter:
    """The letter of the notice at `expected_version`, still waiting for news (else LetterStaleError)."""
    _notice(session, business_id, reminder_id)
    stmt = select(RegisteredLetter).where(
        RegisteredLetter.business_id == business_id, RegisteredLetter.reminder_id == reminder_id
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    letter = session.exec(stmt).first()
    if letter is None or letter.version != expected_version or letter.outcome != SENT:
        raise LetterStaleError(f"letter of reminder {reminder_id} changed")
    return letter


def _bump(session: Session, letter: RegisteredLetter, **values: Any) -> LetterRow:
    """Apply `values` if the letter is still at the version read (a compare-and-set: two writers never both win)."""
    done = session.execute(
        update(RegisteredLetter)
        .where(col(RegisteredLetter.id) == letter.id, col(RegisteredLetter.version) == letter.version)
        .values(version=letter.version + 1, updated_at=utcnow(), **values)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise LetterStaleError(f"letter {letter.id} changed")
    session.expire(letter)
    fresh = session.get(RegisteredLetter, letter.id)
    assert fresh is not None
    return _row(fresh)


def _log(session: Session, letter: LetterRow, actor: str, *, kind: str, **payload: Any) -> None:
    record(
        session,
        actor=actor,
        kind=kind,
        business_id=letter.business_id,
        client_id=letter.client_id,
        reminder_id=letter.reminder_id,
        payload={"letter_id": letter.id, "tracking_number": letter.tracking_number, **payload},
    )


def record_sent(
    session: Session,
    *,
    business_id: int,
    reminder_id: int,
    expected_version: int,
    tracking_number: str,
    sent_on: date,
    actor: str,
) -> LetterRow:
    """The formal notice left by registered letter `tracking_number` on `sent_on` (checked by the caller).

    `expected_version` is 0: the card showed no letter; a letter already recorded makes it stale."""
    reminder = _notice(session, business_id, reminder_id)
    if expected_version != 0 or reminder.state == ReminderState.CANCELLED:
        raise LetterStaleError(f"reminder {reminder_id}: no letter expected")
    if letter_of(session, business_id=business_id, reminder_id=reminder_id) is not None:
        raise LetterStaleError(f"reminder {reminder_id} already has a letter")
    letter = RegisteredLetter(
        business_id=business_id,
        client_id=reminder.client_id,
        reminder_id=reminder_id,
        tracking_number=tracking_number,
        sent_on=sent_on,
        version=1,
    )
    session.add(letter)
    session.flush()  # a concurrent letter for the same notice fails here (unique reminder_id)
    row = _row(letter)
    _log(session, row, actor, kind="lrar_sent", sent_on=sent_on)
    return row


def record_presented(
    session: Session, *, business_id: int, reminder_id: int, expected_version: int, presented_on: date, actor: str
) -> LetterRow:
    """La Poste first presented the letter on `presented_on`: the notice's deadline runs from that day."""
    letter = _locked(session, business_id, reminder_id, expected_version)
    row = _bump(session, letter, first_presented_on=presented_on)
    _log(session, row, actor, kind="lrar_presented", first_presented_on=presented_on)
    return row


def record_received(
    session: Session,
    *,
    business_id: int,
    reminder_id: int,
    expected_version: int,
    received_on: date,
    proof_path: str | None,
    proof_sha256: str | None,
    proof_type: str | None,
    actor: str,
) -> LetterRow:
    """The acknowledgment of receipt came back signed on `received_on` (its scan at `proof_path`, when sent).

    A letter received without a known first presentation was first presented that day."""
    letter = _locked(session, business_id, reminder_id, expected_version)
    presented = letter.first_presented_on or received_on
    row = _bump(session, letter, outcome=RECEIVED, received_on=received_on, first_presented_on=presented,
                proof_path=proof_path, proof_sha256=proof_sha256)  # fmt: skip
    _log(session, row, actor, kind="lrar_received", received_on=received_on, first_presented_on=presented,
         proof_sha256=proof_sha256, proof_type=proof_type)  # fmt: skip
    return row


def record_back(
    session: Session,
    *,
    business_id: int,
    reminder_id: int,
    expected_version: int,
    outcome: str,
    on: date,
    actor: str,
) -> LetterRow:
    """The letter came back: `unclaimed` ("pli avisé et non réclamé", first presented on `on`, the day of the
    notice of delivery attempt) or `returned` (not delivered, e.g. addressee unknown; `on` is the day it came back)."""
    if outcome not in (UNCLAIMED, RETURNED):
        raise ValueError(f"not an outcome of a letter that came back: {outcome}")
    letter = _locked(session, business_id, reminder_id, expected_version)
    if outcome == UNCLAIMED:
        row = _bump(session, letter, outcome=UNCLAIMED, first_presented_on=letter.first_presented_on or on)
        _log(session, row, actor, kind="lrar_unclaimed", first_presented_on=row.first_presented_on)
    else:
        row = _bump(session, letter, outcome=RETURNED)
        _log(session, row, actor, kind="lrar_returned", returned_on=on)
    return row


def awaiting_receipt(session: Session, *, business_id: int, client_id: int | None = None) -> list[AwaitingLetter]:
    """The business's (or one client's) registered letters still waiting for their acknowledgment, oldest first."""
    stmt = (
        select(RegisteredLetter, Client.name)
        .join(Client, col(Client.id) == col(RegisteredLetter.client_id))
        .where(RegisteredLetter.business_id == business_id, RegisteredLetter.outcome == SENT)
        .order_by(col(RegisteredLetter.sent_on), col(RegisteredLetter.id))
    )
    if client_id is not None:
        stmt = stmt.where(RegisteredLetter.client_id == client_id)
    days = formal_notice_days(session, business_id=business_id)
    out = []
    for letter, name in session.exec(stmt).all():
        row = _row(letter)
        out.append(AwaitingLetter(row, name, notice_deadline_of(row, today=row.sent_on, days=days)))
    return out


def invoice_letters(session: Session, *, business_id: int, invoice_id: int) -> list[LetterRow]:
    """The registered letters of the formal notices that covered an invoice, in posting order (the dossier's)."""
    notices = select(ReminderInvoice.reminder_id).where(ReminderInvoice.invoice_id == invoice_id)
    rows = session.exec(
        select(RegisteredLetter)
        .where(
            RegisteredLetter.business_id == business_id,
            col(RegisteredLetter.reminder_id).in_(notices.scalar_subquery()),
        )
        .order_by(col(RegisteredLetter.sent_on), col(RegisteredLetter.id))
    ).all()
    return [_row(r) for r in rows]
