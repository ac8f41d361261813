"""The repositories behind drafts and the evidence file (storage.drafting, storage.dossier): frozen dataclasses,
and nothing of another business (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from services.drafts import draft_context
from storage import evidence
from storage.businesses import BusinessRow
from storage.clients import ClientRow
from storage.db import read_session, write_session
from storage.dossier import Dossier, dossier
from storage.drafting import DraftMaterial, last_sent, payments_of, reminder_material
from storage.invoices import InvoiceRow
from storage.models import Payment
from tests.factories import make_business, make_client, make_invoice, make_reminder

TODAY = date(2025, 4, 15)


def _seed(engine: Engine) -> dict[str, int]:
    """Business A: an invoice with a payment, covered by a sent reminder, with one evidence entry; business B:
    an empty business, and its own invoice of the same number."""
    with write_session(engine) as s:
        a, b = make_business(s), make_business(s)
        client = make_client(s, a, name="Garage des Alpes")
        inv = make_invoice(s, client, due=date(2025, 3, 1), amount="1000.00", number="F-1")
        inv.amount_paid = Decimal("250.00")
        assert a.id is not None and inv.id is not None
        s.add(Payment(invoice_id=inv.id, amount=Decimal("250.00"), paid_on=date(2025, 3, 20)))
        reminder = make_reminder(s, client, [inv], step="reminder_1", planned_date=date(2025, 3, 10))
        reminder.state, reminder.sent_at = "sent", datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
        other = make_invoice(s, make_client(s, b, name="Garage des Alpes"), due=date(2025, 3, 1), number="F-1")
        s.flush()
        evidence.record(
            s, actor="test", kind="payment_recorded", business_id=a.id, invoice_id=inv.id, payload={"amount": "250"}
        )
        assert a.id and b.id and inv.id and reminder.id and other.id
        return {"a": a.id, "b": b.id, "invoice": inv.id, "reminder": reminder.id, "other_invoice": other.id}


def test_reminder_material_is_frozen_rows_of_its_business_only(engine: Engine) -> None:
    """A reminder reads as frozen rows with its payments; asked for by another business it is unknown, and
    draft_context refuses it while its old call (no business_id) still gives the same context as A's."""
    ids = _seed(engine)
    with read_session(engine) as s:
        material = reminder_material(s, business_id=ids["a"], reminder_id=ids["reminder"])
        assert isinstance(material, DraftMaterial)
        assert isinstance(material.business, BusinessRow) and isinstance(material.client, ClientRow)
        assert [type(i) for i in material.invoices] == [InvoiceRow]
        assert material.step == "reminder_1"
        assert material.payments == {ids["invoice"]: ((date(2025, 3, 20), Decimal("250.00")),)}
        with pytest.raises(dataclasses.FrozenInstanceError):
            material.step = "formal_notice"  # type: ignore[misc]

        assert reminder_material(s, business_id=ids["b"], reminder_id=ids["reminder"]) is None
        with pytest.raises(LookupError, match="unknown reminder"):
            draft_context(s, reminder_id=ids["reminder"], today=TODAY, business_id=ids["b"])
        mine = draft_context(s, reminder_id=ids["reminder"], today=TODAY, business_id=ids["a"])
        assert draft_context(s, reminder_id=ids["reminder"], today=TODAY) == mine
        assert mine.invoices[0].remaining == Decimal("750.00")


def test_payments_and_last_sent_stay_in_their_business(engine: Engine) -> None:
    """Another business asking for A's invoice gets no payment and no sent reminder."""
    ids = _seed(engine)
    with read_session(engine) as s:
        assert payments_of(s, business_id=ids["b"], invoice_ids=[ids["invoice"]]) == {ids["invoice"]: ()}
        assert last_sent(s, business_id=ids["b"], invoice_id=ids["invoice"]) is None
        sent = last_sent(s, business_id=ids["a"], invoice_id=ids["invoice"])
        assert sent is not None and (sent.step, sent.planned_date) == ("reminder_1", date(2025, 3, 10))


def test_dossier_is_the_asking_business_own_invoice(engine: Engine) -> None:
    """The same number in two businesses gives each its own dossier; B's holds none of A's entries or payments."""
    ids = _seed(engine)
    with read_session(engine) as s:
        mine = dossier(s, business_id=ids["a"], invoice_number="F-1")
        theirs = dossier(s, business_id=ids["b"], invoice_number="F-1")
        assert dossier(s, business_id=ids["b"], invoice_number="NOPE") is None
    assert isinstance(mine, Dossier) and isinstance(theirs, Dossier)
    assert (mine.invoice.id, theirs.invoice.id) == (ids["invoice"], ids["other_invoice"])
    assert [(e.kind, e.business_id, e.payload) for e in mine.entries] == [
        ("payment_recorded", ids["a"], {"amount": "250"})
    ]
    assert mine.payments == ((date(2025, 3, 20), Decimal("250.00")),) and mine.chain_total == 1
    assert (theirs.entries, theirs.payments, theirs.chain_total) == ((), (), 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mine.chain_total = 0  # type: ignore[misc]
