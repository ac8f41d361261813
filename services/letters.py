"""Registered letters (LRAR) of formal notices, chat-free: the owner records the posting (La Poste tracking number
and date), the first presentation, the signed acknowledgment of receipt (its date, and a photo or PDF of it kept
under DATA_DIR with its SHA-256), or the letter coming back unclaimed or returned.

Each action takes the business context first, checks the letter's version (a card's button carries it: 0 when no
letter was posted yet), and writes the change with its evidence entry in one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from dunning.lrar import RETURNED, UNCLAIMED, TrackingNumberError, check_tracking_number
from dunning.states import ReminderState
from services.context import BusinessContext
from services.core import InputError, Msg
from storage.db import Session, read_session, write_session
from storage.letters import (
    AwaitingLetter,
    LetterRow,
    LetterStaleError,
    UnknownNoticeError,
    awaiting_receipt,
    formal_notice_days,
    letter_of,
    notice_deadline_of,
    notice_state,
    record_back,
    record_presented,
    record_received,
    record_sent,
)

#: The largest scan of an acknowledgment taken (a phone photo or a scanned PDF page is far less).
MAX_PROOF_BYTES = 10 * 1024 * 1024
#: How far back a date of the letter may be typed (a letter is recorded within weeks, not years).
MAX_DAYS_BACK = 366

Status = Literal["done", "stale", "unknown", "invalid"]

_DATE_AT_END = re.compile(
    r"(?:^|\s)(\d{4}-\d{2}-\d{2}|\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*(?:\d{4}|\d{2}))?|aujourd'hui|aujourd’hui|"
    r"today|hier|yesterday)\s*$",
    re.IGNORECASE,
)
_DATE_PARTS = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}|\d{2}))?\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_TODAY_WORDS = {"aujourd'hui": 0, "aujourd’hui": 0, "today": 0, "hier": 1, "yesterday": 1}


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What a formal notice's card and the owner's lists show of its registered letter."""

    reminder_id: int
    tracking_number: str
    sent_on: date
    first_presented_on: date | None
    received_on: date | None
    outcome: str
    has_proof: bool
    version: int
    #: The notice's deadline (storage.letters.notice_deadline_of: the one computation).
    deadline: date


@dataclass
class LetterOutcome:
    """The result of a letter action: what to tell the owner, and the letter as it is now."""

    status: Status
    message: Msg | None
    reminder_id: int
    letter: LetterFacts | None = None

    @property
    def ok(self) -> bool:
        """True when the change was recorded."""
        return self.status == "done"


def facts(letter: LetterRow, days: int) -> LetterFacts:
    """The facts of a stored letter, its deadline computed for a notice giving `days` days."""
    return LetterFacts(
        reminder_id=letter.reminder_id,
        tracking_number=letter.tracking_number,
        sent_on=letter.sent_on,
        first_presented_on=letter.first_presented_on,
        received_on=letter.received_on,
        outcome=letter.outcome,
        has_proof=letter.proof_path is not None,
        version=letter.version,
        deadline=notice_deadline_of(letter, today=letter.sent_on, days=days),
    )


# --- owner input (pure) -------------------------------------------------------------------------------------------


def parse_tracking(text: str) -> str:
    """La Poste's tracking number typed by the owner; InputError with the rule when it is not one."""
    try:
        return check_tracking_number(text)
    except TrackingNumberError as exc:
        raise _tracking_error(exc) from None


def _tracking_error(exc: TrackingNumberError) -> InputError:
    """What the owner is told: the number as read, its length, and La Poste's format (the catalogue's text)."""
    return InputError("lrar.bad_tracking", text=exc.text[:30] or "—", length=len(exc.text))


def parse_letter_date(text: str, today: date, *, not_before: date | None = None) -> date:
    """A date of the letter's life, typed by the owner: `28/11/2026`, `28/11`, `2026-11-28`, "aujourd'hui" or
    "hier"; today or in the past (within a year), and not before `not_before` (the posting). Raise InputError."""
    shown = text.strip()[:40]
    word = text.strip().lower()
    try:
        if word in _TODAY_WORDS:
            day = today - timedelta(days=_TODAY_WORDS[word])
        elif m := _ISO.match(text):
            day = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _DATE_PARTS.match(text):
            year = int(m[3]) if m[3] else today.year
            if m[3] and len(m[3]) == 2:
                year += 2000
            day = date(year, int(m[2]), int(m[1]))
            if not m[3] and day > today:
                # "28/12" typed in January is last December.
                day = date(year - 1, int(m[2]), int(m[1]))
        else:
            raise InputError("date.invalid", text=shown)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("date.invalid", text=shown) from None
    if day > today:
        raise InputError("lrar.date_future", day=day)
    if day < today - timedelta(days=MAX_DAYS_BACK):
        raise InputError("lrar.date_too_old", day=day)
    if not_before is not None and day < not_before:
        raise InputError("lrar.date_before_sent", day=day, sent=not_before)
    return day


def parse_posting(text: str, today: date) -> tuple[str, date | None]:
    """`1A12345678901 28/11/2026` as (tracking number, date); the date may be left out (None: ask for it)."""
    text = " ".join(text.split())
    m = _DATE_AT_END.search(text)
    number_text, day = text, None
    if m is not None and text[: m.start(1)].strip():
        number_text = text[: m.start(1)]
        day = parse_letter_date(m[1], today)
    return parse_tracking(number_text), day


def proof_type(data: bytes) -> str | None:
    """The file type of a scanned acknowledgment by its first bytes ("jpg", "png", "pdf"), None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"%PDF-"):
        return "pdf"
    return None


def check_proof(data: bytes) -> str:
    """The type of an acknowledgment's scan (see proof_type); InputError when it is too big or not a photo or PDF."""
    if len(data) > MAX_PROOF_BYTES:
        raise InputError("lrar.proof_too_big", limit=MAX_PROOF_BYTES // (1024 * 1024))
    kind = proof_type(data)
    if kind is None:
        raise InputError("lrar.proof_type")
    return kind


# --- reading ------------------------------------------------------------------------------------------------------


def letter(ctx: BusinessContext, reminder_id: int) -> LetterFacts | None:
    """The registered letter of a formal notice of this business (None when none was posted)."""
    with read_session(ctx.engine) as session:
        row = letter_of(session, business_id=ctx.business_id, reminder_id=reminder_id)
        return None if row is None else facts(row, formal_notice_days(session, business_id=ctx.business_id))


def current(ctx: BusinessContext, reminder_id: int, version: int) -> Literal["current", "stale", "unknown"]:
    """Whether a letter button (formal notice id, letter version: 0 for "none posted yet") still matches."""
    with read_session(ctx.engine) as session:
        state = notice_state(session, business_id=ctx.business_id, reminder_id=reminder_id)
        if state is None:
            return "unknown"
        row = letter_of(session, business_id=ctx.business_id, reminder_id=reminder_id)
    if row is None:
        return "current" if version == 0 and state != ReminderState.CANCELLED else "stale"
    return "current" if row.version == version and row.awaiting_receipt else "stale"


def awaiting(ctx: BusinessContext, client_id: int | None = None) -> list[AwaitingLetter]:
    """Formal notices whose registered letter waits for its acknowledgment (one client's, or all), oldest first."""
    with read_session(ctx.engine) as session:
        return awaiting_receipt(session, business_id=ctx.business_id, client_id=client_id)


# --- changes ------------------------------------------------------------------------------------------------------


def record_posting(
    ctx: BusinessContext, reminder_id: int, version: int, *, tracking_number: str, sent_on: date, actor: str
) -> LetterOutcome:
    """✉️ LRAR envoyée: the formal notice left by registered letter (number checked) on `sent_on`."""
    try:
        number = check_tracking_number(tracking_number)
    except TrackingNumberError as exc:
        return LetterOutcome("invalid", _tracking_error(exc).msg, reminder_id)
    today = ctx.clock.today()
    if sent_on > today:
        return LetterOutcome("invalid", Msg("lrar.date_future", day=sent_on), reminder_id)
    return _write(
        ctx,
        reminder_id,
        lambda s: record_sent(s, business_id=ctx.business_id, reminder_id=reminder_id, expected_version=version,
                              tracking_number=number, sent_on=sent_on, actor=actor),
        lambda f: Msg("lrar.sent_saved", number=f.tracking_number, day=f.sent_on, deadline=f.deadline),
    )  # fmt: skip


def record_presentation(
    ctx: BusinessContext, reminder_id: int, version: int, *, presented_on: date, actor: str
) -> LetterOutcome:
    """La Poste first presented the letter on `presented_on` (the notice's deadline runs from it)."""
    refused = _check_date(ctx, reminder_id, presented_on)
    if refused is not None:
        return refused
    return _write(
        ctx,
        reminder_id,
        lambda s: record_presented(s, business_id=ctx.business_id, reminder_id=reminder_id,
                                   expected_version=version, presented_on=presented_on, actor=actor),
        lambda f: Msg("lrar.presented_saved", day=presented_on, deadline=f.deadline),
    )  # fmt: skip


def record_receipt(
    ctx: BusinessContext,
    reminder_id: int,
    version: int,
    *,
    received_on: date,
    proof: bytes | None,
    actor: str,
) -> LetterOutcome:
    """📬 AR reçu: the acknowledgment came back signed on `received_on`; its scan (photo or PDF), when given, is kept
    under DATA_DIR with its SHA-256 in the `lrar_received` entry. Nothing is kept when the change is refused."""
    refused = _check_date(ctx, reminder_id, received_on)
    if refused is not None:
        return refused
    path: Path | None = None
    created = False
    digest: str | None = None
    kind: str | None = None
    if proof is not None:
        try:
            kind = check_proof(proof)
        except InputError as exc:
            return LetterOutcome("invalid", exc.msg, reminder_id)
        digest = hashlib.sha256(proof).hexdigest()
        path = _proof_path(ctx, reminder_id, digest, kind)
        created = _store(path, proof)
    try:
        outcome = _write(
            ctx,
            reminder_id,
            lambda s: record_received(s, business_id=ctx.business_id, reminder_id=reminder_id,
                                      expected_version=version, received_on=received_on,
                                      proof_path=str(path) if path else None, proof_sha256=digest, proof_type=kind,
                                      actor=actor),
            lambda f: Msg("lrar.received_saved" if proof is not None else "lrar.received_saved_no_proof",
                          day=received_on, deadline=f.deadline),
        )  # fmt: skip
    except BaseException:
        if created and path is not None:
            _remove(path)
        raise
    if not outcome.ok and created and path is not None:
        _remove(path)
    return outcome


def record_return(
    ctx: BusinessContext, reminder_id: int, version: int, *, outcome: str, on: date, actor: str
) -> LetterOutcome:
    """Pli non réclamé (first presented on `on`) or Retourné (came back on `on`)."""
    if outcome not in (UNCLAIMED, RETURNED):
        raise ValueError(outcome)
    refused = _check_date(ctx, reminder_id, on)
    if refused is not None:
        return refused
    return _write(
        ctx,
        reminder_id,
        lambda s: record_back(s, business_id=ctx.business_id, reminder_id=reminder_id, expected_version=version,
                              outcome=outcome, on=on, actor=actor),
        # a first presentation recorded before (📮) stands: the reply states the day the deadline runs from
        lambda f: Msg(f"lrar.{outcome}_saved", day=f.first_presented_on if outcome == UNCLAIMED else on,
                      deadline=f.deadline),
    )  # fmt: skip


# --- internals ----------------------------------------------------------------------------------------------------


def _check_date(ctx: BusinessContext, reminder_id: int, day: date) -> LetterOutcome | None:
    """A date after the posting and not in the future, or the outcome refusing it (nothing posted: stale)."""
    found = letter(ctx, reminder_id)
    if found is None:
        return None  # the write says stale or unknown
    try:
        parse_letter_date(day.isoformat(), ctx.clock.today(), not_before=found.sent_on)
    except InputError as exc:
        return LetterOutcome("invalid", exc.msg, reminder_id)
    return None


def _write(
    ctx: BusinessContext,
    reminder_id: int,
    change: Callable[[Session], LetterRow],
    message: Callable[[LetterFacts], Msg],
) -> LetterOutcome:
    """Run one letter change in one transaction; stale and unknown notices change nothing."""
    from sqlalchemy.exc import IntegrityError

    try:
        with write_session(ctx.engine) as session:
            row = change(session)
            found = facts(row, formal_notice_days(session, business_id=ctx.business_id))
    except UnknownNoticeError:
        return LetterOutcome("unknown", Msg("cb.unknown"), reminder_id)
    except (LetterStaleError, IntegrityError):
        return LetterOutcome("stale", Msg("cb.already"), reminder_id, letter(ctx, reminder_id))
    return LetterOutcome("done", message(found), reminder_id, found)


def _proof_path(ctx: BusinessContext, reminder_id: int, digest: str, kind: str) -> Path:
    """DATA_DIR/letters/<business>/<sha256>/accuse-reception-<notice>.<ext> (as invoice PDFs are kept by hash)."""
    folder = Path(ctx.data_dir) / "letters" / str(ctx.business_id) / digest
    return (folder / f"accuse-reception-{reminder_id}.{kind}").resolve()


def _store(target: Path, data: bytes) -> bool:
    """Write the file atomically; True when this call created it (False: the same bytes were already there)."""
    if target.is_file() and target.stat().st_size == len(data):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".proof-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        path.parent.rmdir()
