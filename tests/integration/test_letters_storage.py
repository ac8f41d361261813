"""storage.letters on SQLite and PostgreSQL: each change checks the letter's version, writes its evidence entry in
the same transaction, and finds nothing of another business."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from storage.db import read_session, write_session
from storage.evidence import verify_chain
from storage.letters import (
    LetterStaleError,
    UnknownNoticeError,
    awaiting_receipt,
    invoice_letters,
    letter_of,
    record_back,
    record_presented,
    record_received,
    record_sent,
)
from storage.models import EvidenceEntry
from tests.factories import make_business, make_client, make_invoice, make_reminder

TODAY = date(2026, 11, 24)


def _seed(engine: Engine) -> dict[str, int]:
    with write_session(engine) as s:
        a, b = make_business(s), make_business(s)
        client = make_client(s, a, name="Martin SAS")
        inv = make_invoice(s, client, due=date(2026, 10, 1))
        notice = make_reminder(s, client, [inv], step="formal_notice", planned_date=TODAY, state="sent")
        first = make_reminder(s, client, [inv], step="reminder_1", planned_date=date(2026, 10, 8), state="sent")
        ids = {"a": a.id, "b": b.id, "notice": notice.id, "first": first.id, "invoice": inv.id}
    return {k: int(v) for k, v in ids.items() if v is not None}


def test_a_letter_goes_from_posting_to_receipt_once(engine: Engine) -> None:
    """Posting, first presentation and receipt each bump the version and log their entry; a stale version, another
    business or a step that is no formal notice changes nothing; the chain still verifies."""
    ids = _seed(engine)
    a, rid = ids["a"], ids["notice"]
    with write_session(engine) as s:
        sent = record_sent(s, business_id=a, reminder_id=rid, expected_version=0, tracking_number="1A12345678901",
                           sent_on=date(2026, 11, 18), actor="owner:111")  # fmt: skip
    assert (sent.version, sent.outcome) == (1, "sent")
    for business, reminder, error in [(ids["b"], rid, UnknownNoticeError), (a, ids["first"], UnknownNoticeError),
                                      (a, rid, LetterStaleError)]:  # fmt: skip
        with pytest.raises(error), write_session(engine) as s:
            record_sent(s, business_id=business, reminder_id=reminder, expected_version=0,
                        tracking_number="1A12345678902", sent_on=TODAY, actor="owner:111")  # fmt: skip
    with write_session(engine) as s:
        presented = record_presented(s, business_id=a, reminder_id=rid, expected_version=1,
                                     presented_on=date(2026, 11, 20), actor="owner:111")  # fmt: skip
    with pytest.raises(LetterStaleError), write_session(engine) as s:
        record_back(s, business_id=a, reminder_id=rid, expected_version=1, outcome="unclaimed", on=TODAY,
                    actor="owner:111")  # fmt: skip
    with read_session(engine) as s:
        (waiting,) = awaiting_receipt(s, business_id=a)
        assert waiting.deadline == date(2026, 11, 28) and waiting.client_name == "Martin SAS"
        assert awaiting_receipt(s, business_id=ids["b"]) == []
    with write_session(engine) as s:
        received = record_received(s, business_id=a, reminder_id=rid, expected_version=presented.version,
                                   received_on=date(2026, 11, 21), proof_path="/x/accuse.pdf", proof_sha256="ab" * 32,
                                   proof_type="pdf", actor="owner:111")  # fmt: skip
    assert (received.version, received.first_presented_on, received.received_on) == (
        3, date(2026, 11, 20), date(2026, 11, 21))  # fmt: skip
    with read_session(engine) as s:
        assert awaiting_receipt(s, business_id=a) == []
        assert invoice_letters(s, business_id=a, invoice_id=ids["invoice"]) == [received]
        assert invoice_letters(s, business_id=ids["b"], invoice_id=ids["invoice"]) == []
        assert letter_of(s, business_id=ids["b"], reminder_id=rid) is None
        rows = s.exec(select(EvidenceEntry).where(EvidenceEntry.business_id == a)).all()
        logged = [(e.kind, e.reminder_id, json.loads(e.payload).get("tracking_number")) for e in rows]
    assert logged == [(k, rid, "1A12345678901") for k in ("lrar_sent", "lrar_presented", "lrar_received")]
    assert verify_chain(engine, business_id=a).ok


def test_a_returned_letter_leaves_the_deadline_from_the_posting(engine: Engine) -> None:
    """Returned undelivered: no presentation is recorded, the letter no longer awaits, the entry gives the day."""
    ids = _seed(engine)
    with write_session(engine) as s:
        record_sent(s, business_id=ids["a"], reminder_id=ids["notice"], expected_version=0,
                    tracking_number="AR123456789FR", sent_on=date(2026, 11, 18), actor="owner:111")  # fmt: skip
        back = record_back(s, business_id=ids["a"], reminder_id=ids["notice"], expected_version=1, outcome="returned",
                           on=TODAY, actor="owner:111")  # fmt: skip
    assert (back.outcome, back.first_presented_on) == ("returned", None)
    with read_session(engine) as s:
        assert awaiting_receipt(s, business_id=ids["a"]) == []
        entry = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "lrar_returned")).one()
        assert json.loads(entry.payload)["returned_on"] == "2026-11-24"
