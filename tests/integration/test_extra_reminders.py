"""Messages drafted outside the ladder (thanks, penalty claim, plan schedule, plan reminder) in storage: proposed
idempotently, left alone by refresh_due, and kept out of the ladder's history of steps sent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from dunning.states import ReminderState
from storage.db import read_session, write_session
from storage.drafting import last_sent
from storage.models import Business, EvidenceEntry, Reminder, ReminderInvoice
from storage.reminders import (
    ActionError,
    invoice_snapshots,
    pending_views,
    propose_outside_ladder,
    record_payment,
    refresh_due,
)
from tests.factories import make_business, make_client, make_invoice

TUE = date(2026, 11, 24)


def _setup(engine: Engine) -> tuple[int, int, int, int]:
    """A client with one invoice paid (late) and one overdue."""
    with write_session(engine) as s:
        b = make_business(s)
        c = make_client(s, b)
        paid = make_invoice(s, c, due=date(2026, 9, 1))
        open_ = make_invoice(s, c, due=date(2026, 11, 10))
        assert b.id and c.id and paid.id and open_.id
        record_payment(
            s, business_id=b.id, invoice_ids=[paid.id], amount=None, paid_on=date(2026, 11, 2), actor="owner:1"
        )
        return b.id, c.id, paid.id, open_.id


def _propose(engine: Engine, bid: int, cid: int, kind: str, ids: list[int], today: date = TUE) -> int:
    with write_session(engine) as s:
        return propose_outside_ladder(
            s, business_id=bid, client_id=cid, kind=kind, invoice_ids=ids, today=today, actor="owner:1"
        )


def _refresh(engine: Engine, bid: int, today: date) -> list[int]:
    with write_session(engine) as s:
        b = s.get(Business, bid)
        assert b is not None
        return [v.reminder_id for v in refresh_due(s, business=b, today=today)]


def test_propose_is_idempotent_and_logged_once(engine: Engine) -> None:
    """Proposing the same kind for the same client the same day returns the same pending draft, with one evidence
    entry naming the kind; its step column holds the kind name."""
    bid, cid, paid, _ = _setup(engine)
    first = _propose(engine, bid, cid, "thanks", [paid])
    assert _propose(engine, bid, cid, "thanks", [paid]) == first
    with read_session(engine) as s:
        r = s.get(Reminder, first)
        assert r is not None and r.kind == "thanks" and r.step == "thanks" and r.state == ReminderState.PENDING
        entries = s.exec(
            select(EvidenceEntry).where(EvidenceEntry.kind == "reminder_proposed", EvidenceEntry.reminder_id == first)
        ).all()
        assert len(entries) == 1 and json.loads(entries[0].payload)["kind"] == "thanks"


def test_propose_refuses_unknown_kind_and_another_clients_invoice(engine: Engine) -> None:
    """A ladder step name is no extra kind, and an invoice of another client is refused, nothing written."""
    bid, cid, paid, _ = _setup(engine)
    with pytest.raises(ValueError):
        _propose(engine, bid, cid, "reminder_1", [paid])
    with write_session(engine) as s:
        b = s.get(Business, bid)
        assert b is not None
        other = make_invoice(s, make_client(s, b, name="Autre SARL"), due=date(2026, 9, 1))
        other_id = other.id
    assert other_id is not None
    with pytest.raises(ActionError):
        _propose(engine, bid, cid, "thanks", [paid, other_id])
    with read_session(engine) as s:
        assert s.exec(select(Reminder).where(Reminder.kind == "thanks")).first() is None


def test_refresh_keeps_extra_drafts_and_still_proposes_the_ladder(engine: Engine) -> None:
    """A pending thanks does not block the client's ladder reminder, and refresh_due neither cancels nor
    supersedes it, whatever day it runs."""
    bid, cid, paid, open_ = _setup(engine)
    thanks = _propose(engine, bid, cid, "thanks", [paid])
    waiting = _refresh(engine, bid, TUE)
    assert thanks in waiting and len(waiting) == 2
    _refresh(engine, bid, date(2026, 11, 25))
    with read_session(engine) as s:
        r = s.get(Reminder, thanks)
        assert r is not None and r.state == ReminderState.PENDING
        ladder = s.exec(select(Reminder).where(Reminder.kind == "ladder")).all()
        assert [x.step for x in ladder] == ["reminder_1"]
        assert {v.kind for v in pending_views(s, bid, TUE)} == {"thanks", "ladder"}
    assert open_ is not None


def test_a_sent_extra_draft_is_no_step_of_the_ladder_history(engine: Engine) -> None:
    """A plan reminder sent on an open invoice does not count as a step sent: neither the ladder's snapshots nor the
    last sent step of the invoice see it."""
    bid, cid, _, open_ = _setup(engine)
    rid = _propose(engine, bid, cid, "plan_reminder", [open_])
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        r.state = ReminderState.SENT
        r.sent_at = datetime(2026, 11, 24, 9, tzinfo=UTC)
        s.add(r)
    with read_session(engine) as s:
        (snap,) = [x for x in invoice_snapshots(s, bid) if x.invoice_id == open_]
        assert snap.last_step is None
        assert last_sent(s, business_id=bid, invoice_id=open_) is None  # what /apercu's step of today reads
    with read_session(engine) as s:
        links = s.exec(select(ReminderInvoice).where(ReminderInvoice.reminder_id == rid)).all()
        assert [link.step for link in links] == ["plan_reminder"]


def test_dropped_draft_comes_back_when_asked_again_and_sent_one_is_refused(engine: Engine) -> None:
    """A draft cancelled earlier today is proposed again (same row, pending, new version); one already sent today
    cannot be proposed a second time."""
    bid, cid, paid, _ = _setup(engine)
    rid = _propose(engine, bid, cid, "penalty_claim", [paid])
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None
        r.state = ReminderState.CANCELLED
        s.add(r)
    assert _propose(engine, bid, cid, "penalty_claim", [paid]) == rid
    with write_session(engine) as s:
        r = s.get(Reminder, rid)
        assert r is not None and r.state == ReminderState.PENDING
        r.state = ReminderState.SENT
        s.add(r)
    with pytest.raises(ActionError):
        _propose(engine, bid, cid, "penalty_claim", [paid])
