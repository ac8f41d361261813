"""Two businesses in one database (SQLite and PostgreSQL), with the same invoice numbers and client names: every use
case of `services.core.Services` reads and changes its own business only. Ids of the other business (forged
buttons) get "unknown" and write nothing; cards are kept per business and channel; each evidence chain verifies
alone and moves only with its own business's actions.

Outbox rows and owner notices per business are proven in tests/integration/test_outbox_businesses.py.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from bot.i18n import t
from dunning.penalties import builtin_rate_table
from dunning.states import InvoiceState
from messages.render import default_renderer
from services.context import BusinessContext, Clock
from services.core import Msg, ParsedEdit, Services
from services.delivery import TemplateDrafter
from services.export import ExportError
from storage.db import make_engine, read_session, write_session
from storage.evidence import head_hash, verify_chain
from storage.models import Card, Client, DigestRun, Invoice, Outbox, Reminder
from storage.reminders import open_dispute
from tests.bot_harness import OWNER, RecordingDelivery, bot_settings, start_harness, stop_harness
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.delivery_helpers import queue

TODAY = date(2026, 11, 24)
SHARED_NUMBER = "F-2026-001"  # in both businesses, different amounts
DISPUTED_NUMBER = "F-2026-009"  # in both, disputed in both
SHARED_CLIENT = "Durand SARL"  # in both, different addresses
ACTOR = "owner:111"


@dataclass
class Side:
    """One business of the pair, its services and the ids a forged button of the other side would carry."""

    services: Services
    delivery: RecordingDelivery
    business_id: int
    client_id: int
    email: str
    amount: Decimal
    shared_invoice: int
    disputed_invoice: int
    only_number: str  # an invoice number that exists in this business only
    only_client: str  # a client name that exists in this business only
    reminder_id: int  # pending, covers the shared-number invoice
    notice_id: int  # pending formal notice (its draft carries the letter PDF)
    edited_id: int  # pending, its text edited by the owner
    queued_id: int  # approved, waiting for the sending window
    unknown_id: int  # approved, delivery outcome unknown


def _side(engine: Engine, tmp: Path, slug: str, owner: int, amount: str) -> Side:
    """A business with the shared client name and invoice numbers, plus ids of its own, and its services."""
    with write_session(engine) as s:
        biz = make_business(s, slug=slug, name=f"Atelier {slug.upper()}", owner_chat_ids=str(owner),
                            email=f"factures@{slug}.example")  # fmt: skip
        email = f"compta@durand-{slug}.example"
        durand = make_client(s, biz, name=SHARED_CLIENT, emails=email, address=f"1 rue {slug}\n75001 Paris")
        only = make_client(s, biz, name=f"Garnier {slug.upper()} SAS", emails=f"garnier@{slug}.example")
        shared = make_invoice(s, durand, due=date(2026, 10, 15), amount=amount, number=SHARED_NUMBER)
        disputed = make_invoice(s, durand, due=date(2026, 10, 1), amount=amount, number=DISPUTED_NUMBER)
        only_inv = make_invoice(s, only, due=date(2026, 10, 20), amount=amount, number=f"{slug.upper()}-ONLY-1")
        old = make_invoice(s, only, due=date(2026, 8, 1), amount=amount)
        queued_inv = make_invoice(s, only, due=date(2026, 10, 25), amount=amount)
        unknown_inv = make_invoice(s, only, due=date(2026, 10, 26), amount=amount)
        reminder = make_reminder(s, durand, [shared], planned_date=TODAY)
        notice = make_reminder(s, only, [old], step="formal_notice", planned_date=TODAY)
        edited = make_reminder(s, only, [only_inv], step="reminder_2", planned_date=TODAY,
                               edited_subject="Votre facture", edited_body="Bonjour, merci de régler.")  # fmt: skip
        queued_r = make_reminder(s, only, [queued_inv], step="reminder_3", planned_date=TODAY)
        unknown_r = make_reminder(s, durand, [unknown_inv], step="reminder_3", planned_date=TODAY)
        assert biz.id and durand.id and shared.id and disputed.id
        open_dispute(s, business_id=biz.id, invoice_ids=[disputed.id], reason="Livraison incomplète", actor=ACTOR)
        ids = (biz.id, durand.id, shared.id, disputed.id, reminder.id, notice.id, edited.id, queued_r.id,
               unknown_r.id, only.name, only_inv.number)  # fmt: skip
    business_id, client_id, shared_id, disputed_id, rid, notice_id, edited_id, queued_id, unknown_id, name, num = ids
    assert rid and notice_id and edited_id and queued_id and unknown_id
    queue(engine, queued_id, recipients=[f"garnier@{slug}.example"], not_before=_in_days(2))
    queue(engine, unknown_id, recipients=[email])
    with write_session(engine) as s:
        row = s.exec(select(Outbox).where(Outbox.reminder_id == unknown_id)).one()
        row.state = "unknown"  # as after a connection lost during DATA
        s.add(row)
    delivery = RecordingDelivery()
    rates = builtin_rate_table()
    ctx = BusinessContext(engine=engine, business_id=business_id, owner_ids=frozenset({owner}),
                          clock=Clock(ZoneInfo("Europe/Paris"), TODAY), rate_table=rates,
                          drafter=TemplateDrafter(default_renderer(), rate_table=rates), delivery=delivery,
                          mail_from=f"factures@{slug}.example", slug=slug, data_dir=str(tmp / slug))  # fmt: skip
    return Side(Services(ctx), delivery, business_id, client_id, email, Decimal(amount), shared_id, disputed_id,
                num, name, rid, notice_id, edited_id, queued_id, unknown_id)  # fmt: skip


def _in_days(days: int) -> Any:
    from storage.types import utcnow

    return utcnow() + timedelta(days=days)


@pytest.fixture
def pair(engine: Engine, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    """Businesses A (owner 111, invoices of 1 000,00) and B (owner 222, invoices of 7 777,77) in one database."""
    yield _side(engine, tmp_path, "alpha", 111, "1000.00"), _side(engine, tmp_path, "beta", 222, "7777.77")


# --- snapshots ------------------------------------------------------------------------------------------------


def _rows(engine: Engine, business_id: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (or only those of one business), in primary-key order: compared before/after."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        reminders = (
            conn.execute(sa_select(col(Reminder.id)).where(col(Reminder.business_id) == business_id)).scalars().all()
        )
        invoices = (
            conn.execute(sa_select(col(Invoice.id)).where(col(Invoice.business_id) == business_id)).scalars().all()
        )
        for table in SQLModel.metadata.sorted_tables:
            stmt = sa_select(table).order_by(*table.primary_key.columns)
            if business_id is not None:
                if table.name == "business":
                    stmt = stmt.where(table.c.id == business_id)
                elif "business_id" in table.c:
                    stmt = stmt.where(table.c.business_id == business_id)
                elif "reminder_id" in table.c:
                    stmt = stmt.where(table.c.reminder_id.in_(reminders))
                elif "invoice_id" in table.c:
                    stmt = stmt.where(table.c.invoice_id.in_(invoices))
                else:
                    raise AssertionError(f"table {table.name}: no way to tell its business")
            out[table.name] = [tuple(r) for r in conn.execute(stmt)]
    return out


def _head(engine: Engine, business_id: int) -> str:
    with read_session(engine) as s:
        return head_hash(s, business_id=business_id)


def _version(engine: Engine, reminder_id: int) -> int:
    with read_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        return reminder.version


def _dispute_version(side: Side, invoice_id: int) -> int:
    line = side.services.dispute_line(invoice_id)
    assert line is not None
    return line.version


def _chains_verify(engine: Engine, *business_ids: int) -> None:
    for business_id in business_ids:
        report = verify_chain(engine, business_id=business_id)
        assert report.ok, (business_id, report)


# --- forged ids -----------------------------------------------------------------------------------------------


async def test_the_other_business_ids_are_unknown_and_nothing_is_written(
    engine: Engine, pair: tuple[Side, Side]
) -> None:
    """A's services called with B's reminder, invoice and client ids answer "unknown" and write no row anywhere."""
    a, b = pair
    # B itself reaches all of them (so each refusal below is about the business, not about a missing row).
    assert b.services.card(b.reminder_id) is not None and b.services.current(b.reminder_id, 0) == "current"
    assert b.services.full_text(b.reminder_id) and b.services.call_script(b.reminder_id)
    assert b.services.letter_pdf(b.notice_id) is not None
    assert b.services.client_file(b.client_id) is not None and b.services.dispute_line(b.disputed_invoice)
    b.services.register_cards([(b.reminder_id, "222", "7")])
    before, heads = _rows(engine), (_head(engine, a.business_id), _head(engine, b.business_id))
    rid, v = b.reminder_id, _version(engine, b.reminder_id)
    unknown = Msg("cb.unknown")

    assert a.services.card(rid) is None
    assert a.services.current(rid, v) == "unknown"
    assert a.services.full_text(rid) is None
    assert a.services.call_script(rid) is None
    assert a.services.letter_pdf(b.notice_id) is None
    assert a.services.client_file(b.client_id) is None
    assert a.services.dispute_line(b.disputed_invoice) is None
    assert a.services.cards_of(rid) == []
    outcomes = [
        await a.services.send(rid, v, actor=ACTOR),
        await a.services.release(b.queued_id, _version(engine, b.queued_id), actor=ACTOR, resend=False),
        await a.services.release(b.unknown_id, _version(engine, b.unknown_id), actor=ACTOR, resend=True),
        a.services.confirm_sent(b.unknown_id, _version(engine, b.unknown_id), actor=ACTOR),
        a.services.snooze(rid, v, actor=ACTOR, days=3),
        a.services.snooze(rid, v, actor=ACTOR, until=TODAY + timedelta(days=10)),
        a.services.pay(rid, v, actor=ACTOR),
        a.services.pay(rid, v, actor=ACTOR, amount=Decimal("1.00")),
        a.services.dispute(rid, v, reason="Pas d'accord", actor=ACTOR),
        a.services.promise(rid, v, until=TODAY + timedelta(days=7), actor=ACTOR),
        a.services.edit(rid, v, edit=ParsedEdit("Objet forgé", "Texte forgé"), actor=ACTOR),
        a.services.undo_edit(b.edited_id, _version(engine, b.edited_id), actor=ACTOR),
        a.services.close_dispute(
            b.disputed_invoice, _dispute_version(b, b.disputed_invoice), outcome="resolved", actor=ACTOR
        ),
        a.services.close_dispute(
            b.disputed_invoice, _dispute_version(b, b.disputed_invoice), outcome="written_off", actor=ACTOR
        ),
    ]
    assert [(o.status, o.message, o.card) for o in outcomes] == [("unknown", unknown, None)] * len(outcomes)
    # Numbers that exist in B only are unknown to A.
    assert a.services.invoice_id_by_number(b.only_number) is None
    paid = a.services.pay_invoice(b.only_number, None, actor=ACTOR)
    assert (paid.status, paid.message) == ("invalid", Msg("paid.unknown", number=b.only_number))
    resumed = a.services.resume_invoice(b.only_number, actor=ACTOR)
    assert (resumed.status, resumed.message) == ("invalid", Msg("paid.unknown", number=b.only_number))
    with pytest.raises(ExportError, match="not found"):
        a.services.evidence_zip(b.only_number)
    assert a.services.find_clients(b.only_client) == []
    # A card of B's reminder is never stored for A (a forged registration is dropped).
    a.services.register_cards([(rid, "111", "8"), (b.notice_id, "111", "9")])

    assert a.delivery.sent == [] and b.delivery.sent == []
    assert _rows(engine) == before
    assert (_head(engine, a.business_id), _head(engine, b.business_id)) == heads
    _chains_verify(engine, a.business_id, b.business_id)


# --- same numbers, same names ---------------------------------------------------------------------------------


def test_same_numbers_and_names_resolve_to_each_own_business(engine: Engine, pair: tuple[Side, Side]) -> None:
    """A number or a client name present in both businesses means A's when A asks; B's rows stay as they were."""
    a, b = pair
    assert b.services.pay_invoice(SHARED_NUMBER, Decimal("5.00"), actor="owner:222").ok  # B's own payment first
    b_before, b_head, a_head = _rows(engine, b.business_id), _head(engine, b.business_id), _head(engine, a.business_id)

    assert a.services.invoice_id_by_number(SHARED_NUMBER) == a.shared_invoice
    assert b.services.invoice_id_by_number(SHARED_NUMBER) == b.shared_invoice
    assert [c.id for c in a.services.find_clients(SHARED_CLIENT)] == [a.client_id]
    assert [c.id for c in a.services.find_clients("durand")] == [a.client_id]
    found = a.services.open_invoices("durand")
    assert found and {inv.business_id for inv, _ in found} == {a.business_id}
    assert {inv.amount for inv, _ in found} == {a.amount}

    paid = a.services.pay_invoice(SHARED_NUMBER, Decimal("100.00"), actor=ACTOR)
    assert paid.ok and paid.message == Msg("pay.saved", amount=Decimal("100.00"), left=a.amount - Decimal("100.00"))
    resumed = a.services.resume_invoice(DISPUTED_NUMBER, actor=ACTOR)
    assert resumed.ok
    with read_session(engine) as s:
        mine, theirs = s.get(Invoice, a.shared_invoice), s.get(Invoice, b.shared_invoice)
        assert mine is not None and theirs is not None
        assert (mine.amount_paid, theirs.amount_paid) == (Decimal("100.00"), Decimal("5.00"))
        a_disputed, b_disputed = s.get(Invoice, a.disputed_invoice), s.get(Invoice, b.disputed_invoice)
        assert a_disputed is not None and b_disputed is not None
        assert (a_disputed.state, b_disputed.state) == (InvoiceState.OPEN, InvoiceState.DISPUTED)

    archive = zipfile.ZipFile(io.BytesIO(a.services.evidence_zip(SHARED_NUMBER)))
    chain = json.loads(archive.read("chaine/entrees.json"))
    assert chain["claim"]["principal"] == str(a.amount - Decimal("100.00"))
    assert chain["chain_head_at_export"] == _head(engine, a.business_id)
    assert [(e["business_id"], e["kind"], e["payload"]["amount"]) for e in chain["entries"]] == [
        (a.business_id, "payment_recorded", "100.00")  # not B's payment of 5,00 on its own F-2026-001
    ]
    # Only what a reader sees: text files and the summary's text (hashes and compressed PDF bytes can hold any
    # digits by chance).
    texts = [archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith((".json", ".txt", ".eml"))]
    summary = pdfium.PdfDocument(archive.read("resume.pdf"))
    texts += [page.get_textpage().get_text_range() for page in summary]
    contents = "\n".join(texts)
    # B's amounts (7 777,77 and 7 772,77 after its payment) in any written form; hex hashes cannot match this.
    assert b.email not in contents and not re.search(r"7[\s,.]?77[27][.,]77", contents)

    assert _rows(engine, b.business_id) == b_before
    assert _head(engine, b.business_id) == b_head
    assert _head(engine, a.business_id) != a_head  # A's own actions are in A's chain
    _chains_verify(engine, a.business_id, b.business_id)


def test_import_into_one_business_never_touches_the_other(engine: Engine, pair: tuple[Side, Side]) -> None:
    """An import into A naming B's only client and only invoice number creates them in A; B is unchanged."""
    a, b = pair
    b_before, b_head = _rows(engine, b.business_id), _head(engine, b.business_id)
    header = "invoice_number;client_name;client_email;issue_date;due_date;amount;client_profile;paid_amount"
    rows = [
        f"{b.only_number};{b.only_client};import@alpha.example;01/10/2026;31/10/2026;321,00;;",
        f"F-2026-100;{SHARED_CLIENT};{a.email};01/10/2026;31/10/2026;55,00;;",
    ]
    report = a.services.import_file(("\n".join([header, *rows]) + "\n").encode(), "alpha.csv", actor=ACTOR)
    assert report.ok, report.errors
    assert (report.clients_created, report.invoices_created, report.invoices_updated) == (1, 2, 0)
    with read_session(engine) as s:
        created = s.exec(select(Invoice).where(Invoice.number == b.only_number)).all()
        assert sorted((i.business_id, i.amount) for i in created) == [
            (a.business_id, Decimal("321.00")),
            (b.business_id, b.amount),
        ]
        clients = s.exec(select(Client).where(Client.name == b.only_client)).all()
        assert sorted(c.business_id for c in clients) == [a.business_id, b.business_id]
    assert _rows(engine, b.business_id) == b_before
    assert _head(engine, b.business_id) == b_head
    _chains_verify(engine, a.business_id, b.business_id)


# --- what each business sees ----------------------------------------------------------------------------------


def test_digest_status_and_lists_show_the_own_business_only(engine: Engine, pair: tuple[Side, Side]) -> None:
    """The digest, /status, /factures, /litiges and the pending list of A hold A's reminders and amounts only."""
    a, b = pair
    b_before, b_head = _rows(engine, b.business_id), _head(engine, b.business_id)
    with read_session(engine) as s:
        a_reminders = set(s.exec(select(Reminder.id).where(Reminder.business_id == a.business_id)).all())

    digest = a.services.digest(claim=True)
    assert digest is not None and digest.views
    assert {v.business_id for v in digest.views} == {a.business_id}
    assert {v.reminder_id for v in digest.views} <= a_reminders
    assert {c.view.business_id for c in digest.uncertain} == {a.business_id}
    assert digest.head == _head(engine, a.business_id)
    assert digest.open_total % a.amount == 0 and digest.open_total < b.amount  # no 7 777,77 of B in it
    assert {v.business_id for v in a.services.pending()} == {a.business_id}
    assert {inv.business_id for inv, _ in a.services.open_invoices()} == {a.business_id}
    lines, total = a.services.disputes()
    assert total == 1 and [line.invoice_id for line in lines] == [a.disputed_invoice]
    mine, theirs = a.services.status(), b.services.status()
    assert (mine.open_total, mine.disputed_count) == (6 * a.amount, 1)  # A's six invoices, not B's
    assert (theirs.open_total, theirs.disputed_count) == (6 * b.amount, 1)
    assert "7777" not in str(mine.to_json()) and {d.name for d in mine.top_debtors} <= {SHARED_CLIENT, a.only_client}

    assert _rows(engine, b.business_id) == b_before and _head(engine, b.business_id) == b_head
    # A's digest of today does not stand for B's: B still gets its own.
    second = b.services.digest(claim=True)
    assert second is not None and {v.business_id for v in second.views} == {b.business_id}
    with read_session(engine) as s:
        runs = s.exec(select(DigestRun.business_id).where(DigestRun.day == TODAY)).all()
        assert sorted(runs) == sorted([a.business_id, b.business_id])
    _chains_verify(engine, a.business_id, b.business_id)


def test_settings_change_the_own_business_only(engine: Engine, pair: tuple[Side, Side]) -> None:
    """Pause and digest time set by A change A's row and A's chain; B's row, chain and digest stay as they were."""
    a, b = pair
    b_before, b_head, a_head = _rows(engine, b.business_id), _head(engine, b.business_id), _head(engine, a.business_id)
    a.services.set_paused(True, actor=ACTOR)
    assert a.services.set_digest_time("7h15", actor=ACTOR) == "07:15"
    assert (a.services.business().paused, a.services.business().digest_time) == (True, "07:15")
    assert (b.services.business().paused, b.services.business().digest_time) == (False, "08:30")
    assert a.services.business().id == a.business_id and b.services.business().id == b.business_id
    assert _rows(engine, b.business_id) == b_before and _head(engine, b.business_id) == b_head
    assert _head(engine, a.business_id) != a_head
    paused = a.services.digest(claim=False)
    assert paused is not None and paused.paused and paused.views == []
    running = b.services.digest(claim=False)
    assert running is not None and not running.paused and running.views
    _chains_verify(engine, a.business_id, b.business_id)


# --- actions ----------------------------------------------------------------------------------------------------


async def test_each_action_moves_its_own_chain_only(engine: Engine, pair: tuple[Side, Side]) -> None:
    """Every card action of A on its own reminders is done, lands in A's chain, and leaves B's rows and head alone."""
    a, b = pair
    b_before, b_head = _rows(engine, b.business_id), _head(engine, b.business_id)
    steps: list[tuple[str, Any]] = []

    async def act(name: str, call: Any) -> None:
        head = _head(engine, a.business_id)
        result = call()
        if hasattr(result, "__await__"):
            result = await result
        assert result.ok, (name, result)
        assert _head(engine, a.business_id) != head, name  # the action is in A's chain
        assert _head(engine, b.business_id) == b_head, name
        steps.append((name, result))

    svc = a.services
    edit = ParsedEdit(None, "Bonjour.")
    await act("edit", lambda: svc.edit(a.reminder_id, _version(engine, a.reminder_id), edit=edit, actor=ACTOR))
    await act("undo_edit", lambda: svc.undo_edit(a.reminder_id, _version(engine, a.reminder_id), actor=ACTOR))
    await act("snooze", lambda: svc.snooze(a.edited_id, _version(engine, a.edited_id), actor=ACTOR, days=1))
    await act("send", lambda: svc.send(a.reminder_id, _version(engine, a.reminder_id), actor=ACTOR))
    await act("release", lambda: svc.release(a.queued_id, _version(engine, a.queued_id), actor=ACTOR, resend=False))
    await act("confirm_sent", lambda: svc.confirm_sent(a.unknown_id, _version(engine, a.unknown_id), actor=ACTOR))
    until = TODAY + timedelta(days=5)
    await act("promise", lambda: svc.promise(a.notice_id, _version(engine, a.notice_id), until=until, actor=ACTOR))
    version = _dispute_version(a, a.disputed_invoice)
    await act(
        "close_dispute", lambda: svc.close_dispute(a.disputed_invoice, version, outcome="written_off", actor=ACTOR)
    )
    assert [name for name, _ in steps] == ["edit", "undo_edit", "snooze", "send", "release", "confirm_sent",
                                           "promise", "close_dispute"]  # fmt: skip
    assert [r.reminder_id for r in a.delivery.sent] == [a.reminder_id] and b.delivery.sent == []
    assert _rows(engine, b.business_id) == b_before
    _chains_verify(engine, a.business_id, b.business_id)


async def test_pay_and_dispute_from_a_card_stay_in_the_business(engine: Engine, pair: tuple[Side, Side]) -> None:
    """Paying and disputing from A's card of the shared-number invoice change A's invoice; B's twin is untouched."""
    a, b = pair
    b_before, b_head = _rows(engine, b.business_id), _head(engine, b.business_id)
    paid = a.services.pay(a.reminder_id, _version(engine, a.reminder_id), actor=ACTOR, amount=Decimal("10.00"))
    assert paid.ok and paid.message == Msg("pay.saved", amount=Decimal("10.00"), left=a.amount - Decimal("10.00"))
    disputed = a.services.dispute(a.notice_id, _version(engine, a.notice_id), reason="Erreur de TVA", actor=ACTOR)
    assert disputed.ok
    with read_session(engine) as s:
        twin = s.get(Invoice, b.shared_invoice)
        assert twin is not None and twin.amount_paid == Decimal("0.00") and twin.state == InvoiceState.OPEN
    assert _rows(engine, b.business_id) == b_before and _head(engine, b.business_id) == b_head
    _chains_verify(engine, a.business_id, b.business_id)


# --- cards ----------------------------------------------------------------------------------------------------


def test_same_chat_message_in_two_businesses_and_two_channels_is_distinct_cards(
    engine: Engine, pair: tuple[Side, Side]
) -> None:
    """(chat 500, message 42) registered by A, by B, and by A's second bot: three cards, each found by its owner."""
    a, b = pair
    a.services.register_cards([(a.reminder_id, "500", "42")], channel="telegram:1")
    b.services.register_cards([(b.reminder_id, "500", "42")], channel="telegram:1")  # before: UNIQUE constraint failed
    a.services.register_cards([(a.reminder_id, "500", "42")], channel="telegram:2")
    assert a.services.cards_of(a.reminder_id, channel="telegram:1") == [("500", "42")]
    assert a.services.cards_of(a.reminder_id, channel="telegram:2") == [("500", "42")]
    assert b.services.cards_of(b.reminder_id, channel="telegram:1") == [("500", "42")]
    assert b.services.cards_of(b.reminder_id, channel="telegram:2") == []
    assert a.services.cards_of(b.reminder_id, channel="telegram:1") == []
    assert b.services.cards_of(a.reminder_id, channel="telegram:1") == []
    with read_session(engine) as s:
        cards = s.exec(select(Card).order_by(col(Card.id))).all()
        assert [(c.business_id, c.channel, c.reminder_id) for c in cards] == [
            (a.business_id, "telegram:1", a.reminder_id),
            (b.business_id, "telegram:1", b.reminder_id),
            (a.business_id, "telegram:2", a.reminder_id),
        ]


# --- the bot ----------------------------------------------------------------------------------------------------


async def test_owner_tapping_a_forged_button_of_the_other_business_gets_unknown(db_url: str, tmp_path: Path) -> None:
    """In A's bot, A's owner tapping `r1:<action>:<B's reminder>:<version>` is told "not recognised"; nothing is sent,
    no card is shown, B's rows and both chains are unchanged."""
    engine = make_engine(db_url)
    harness = await start_harness(engine, bot_settings(db_url, tmp_path, TODAY), RecordingDelivery())
    try:
        with write_session(engine) as s:
            other = make_business(s, slug="beta", owner_chat_ids="222")
            client = make_client(s, other, name=SHARED_CLIENT)
            invoice = make_invoice(s, client, due=date(2026, 10, 15), number=SHARED_NUMBER)
            reminder = make_reminder(s, client, [invoice], planned_date=TODAY)
            waiting = make_reminder(s, client, [make_invoice(s, client, due=date(2026, 10, 20))], step="reminder_2",
                                    planned_date=TODAY)  # fmt: skip
            assert other.id and reminder.id and waiting.id
            b_id, rid, waiting_id = other.id, reminder.id, waiting.id
        queue(engine, waiting_id, not_before=_in_days(2))  # B's e-mail waiting for the sending window
        before, head = _rows(engine, b_id), _head(engine, b_id)
        a_id = harness.services.business_id
        a_head = _head(engine, a_id)
        assert harness.services.business_id != b_id and harness.services.is_owner(OWNER)
        refused = t("cb.unknown", "fr")
        for action in ("send", "payf", "pay", "payp", "snz1", "snz3", "snz7", "snzd", "disp", "prom", "edit", "undo",
                       "ok", "more", "back", "call", "pdf"):  # fmt: skip
            harness.api.clear()
            await harness.owner.tap(f"r1:{action}:{rid}:0", message_id=77)
            assert [(c.method, c.params.get("text")) for c in harness.api.calls] == [
                ("answerCallbackQuery", refused)
            ], action
        for action in ("now", "resend"):
            # Checked before answering: the owner is told "not recognised", never "envoi en cours".
            harness.api.clear()
            await harness.owner.tap(f"r1:{action}:{waiting_id}:{_version(engine, waiting_id)}", message_id=78)
            assert [(c.method, c.params.get("text")) for c in harness.api.calls] == [
                ("answerCallbackQuery", refused)
            ], action
        assert harness.delivery.sent == []
        assert _rows(engine, b_id) == before and _head(engine, b_id) == head
        assert _head(engine, a_id) == a_head
        _chains_verify(engine, a_id, b_id)
    finally:
        await stop_harness(harness)
        engine.dispose()
