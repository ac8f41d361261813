"""One Telegram bot for several businesses (issue 12 §1): each owner's updates go to the business they own (their
/entreprise choice for an owner of several, named atop every answer), and an owner of B never sees or changes
anything of A, through any command or any button family, forged callbacks included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from bot import cards, letter_cards, plan_cards, reply_cards, statement_cards, task_cards
from bot.i18n import t
from bot.tenancy import open_businesses
from storage import tenants
from storage.db import make_engine, write_session
from storage.models import OwnerTask, ReceivedEmail, StatementLineRecord
from storage.reminders import open_dispute
from tests.bot_harness import OWNER, BotHarness, Chat, RecordingDelivery, bot_settings, start_harness, stop_harness
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.test_two_businesses import _chains_verify, _head, _rows

TODAY = date(2026, 11, 24)
B_OWNER = 222
BOTH = 333  # owns A and B
A_CLIENT = "Durand Alpha SARL"
B_CLIENT = "Garnier Beta SAS"


@dataclass
class Ids:
    """The rows of one business a forged button names."""

    business_id: int
    reminder_id: int
    notice_id: int
    disputed_invoice: int
    number: str
    task_id: int
    reply_id: int
    line_id: int


def _fill(engine: Engine, business_id: int | None, slug: str, client_name: str, number: str) -> Ids:
    """A business (the install's when business_id is given) with a reminder, a formal notice, a dispute, an owner
    task, a client's reply and a doubtful statement line: one row for every button family."""
    with write_session(engine) as s:
        from storage.models import Business

        biz = (
            s.get(Business, business_id)
            if business_id
            else make_business(s, slug=slug, name=f"Boutique {slug}", owner_chat_ids="")
        )
        assert biz is not None and biz.id is not None
        client = make_client(s, biz, name=client_name, emails=f"compta@{slug}.example")
        invoice = make_invoice(s, client, due=date(2026, 10, 15), number=number)
        reminder = make_reminder(s, client, [invoice], planned_date=TODAY)
        notice_inv = make_invoice(s, client, due=date(2026, 9, 1), number=f"{number}-N")
        notice = make_reminder(s, client, [notice_inv], step="formal_notice", planned_date=TODAY)
        disputed = make_invoice(s, client, due=date(2026, 10, 1), number=f"{number}-D")
        task = OwnerTask(business_id=biz.id, kind="overpaid", dedupe_key=f"k-{slug}", client_id=client.id,
                         invoice_id=invoice.id, payload=json.dumps({"amount": "10.00"}))  # fmt: skip
        mail = ReceivedEmail(business_id=biz.id, client_id=client.id or 0, reminder_id=reminder.id,
                             message_id=f"<m@{slug}>", sender=f"compta@{slug}.example", subject="Re: facture",
                             received_at=datetime(2026, 11, 23, 9, tzinfo=UTC), kind="reply", text="Je paie demain",
                             raw_path="x.eml", raw_sha256="0" * 64)  # fmt: skip
        line = StatementLineRecord(business_id=biz.id, line_id=f"L-{slug}", file_name="releve.csv", account="FR76",
                                   booking_date=date(2026, 11, 20), amount=Decimal("10.00"), currency="EUR",
                                   counterparty=client_name, remittance=number, outcome="doubtful")  # fmt: skip
        s.add_all([task, mail, line])
        s.flush()
        assert reminder.id and notice.id and disputed.id and task.id and mail.id and line.id
        ids = Ids(biz.id, reminder.id, notice.id, disputed.id, number, task.id, mail.id, line.id)
    with write_session(engine) as s:
        open_dispute(s, business_id=ids.business_id, invoice_ids=[ids.disputed_invoice], reason="Pas d'accord",
                     actor="owner:1")  # fmt: skip
    return ids


@dataclass
class World:
    harness: BotHarness
    engine: Engine
    a: Ids
    b: Ids
    b_owner: Chat
    both: Chat


@pytest.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    """The install's business A (owner 111) and a business B added later (owner 222); 333 owns both. The bot serves
    both through one Telegram adapter, as `relance run` does when the database holds several businesses."""
    engine = make_engine(db_url)
    settings = bot_settings(db_url, tmp_path, TODAY)
    harness = await start_harness(engine, settings, RecordingDelivery())
    a = _fill(engine, harness.services.business_id, "alpha", A_CLIENT, "FA-001")
    b = _fill(engine, None, "beta", B_CLIENT, "FB-001")
    with write_session(engine) as s:
        tenants.add_owner(s, business_id=b.business_id, channel="telegram", user_id=str(B_OWNER))
        tenants.add_owner(s, business_id=b.business_id, channel="telegram", user_id=str(BOTH))
        tenants.add_owner(s, business_id=a.business_id, channel="telegram", user_id=str(BOTH))
    harness.adapter.serve_businesses(open_businesses(engine, settings, harness.services.core))
    try:
        yield World(harness, engine, a, b, Chat(harness.app, B_OWNER), Chat(harness.app, BOTH))
    finally:
        await stop_harness(harness)
        engine.dispose()


def _texts(world: World, chat_id: int | None = None) -> list[str]:
    """Every text the bot sent or edited (or answered a button with), to `chat_id` when given."""
    out = []
    for call in world.harness.api.calls:
        if chat_id is not None and call.params.get("chat_id") not in (chat_id, str(chat_id), None):
            continue
        value = call.params.get("text")
        if isinstance(value, str):
            out.append(value)
    return out


def _version(engine: Engine, table: str, row_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT version FROM {table} WHERE id = :i"), {"i": row_id}).scalar_one())


def _forged(a: Ids, engine: Engine, services: Any) -> list[str]:
    """A button of every family naming A's rows (with their current versions: `services` are A's)."""
    v = _version(engine, "reminder", a.reminder_id)
    nv = _version(engine, "reminder", a.notice_id)
    dv = services.dispute_line(a.disputed_invoice).version
    data = [cards.callback(action, a.reminder_id, v) for action in sorted(cards.ACTIONS)]
    data += [cards.dispute_callback(action, a.disputed_invoice, dv) for action in sorted(cards.DISPUTE_ACTIONS)]
    data += [letter_cards.callback(action, a.notice_id, nv) for action in sorted(letter_cards.ACTIONS)]
    data += [plan_cards.callback(action, a.reminder_id, v, 3) for action in sorted(plan_cards.ACTIONS)]
    data += [reply_cards.callback(action, a.reply_id, 0) for action in sorted(reply_cards.ACTIONS)]
    data += [statement_cards.callback(action, a.line_id, a.reminder_id) for action in sorted(statement_cards.ACTIONS)]
    data += [task_cards.callback(action, a.task_id, 0) for action in sorted(task_cards.ACTIONS)]
    return data


async def test_owner_of_b_is_served_by_b_and_never_sees_a(world: World) -> None:
    """B's owner (unknown to the settings) is not refused: every command answers about B, never naming A's client,
    invoice or figures; A's rows and evidence chain are unchanged."""
    before, head = _rows(world.engine, world.a.business_id), _head(world.engine, world.a.business_id)
    commands = ["/digest", "/statut", "/factures", "/taches", "/reponses", "/litiges", "/virements", "/parametres",
                f"/payee {world.a.number}", f"/reprendre {world.a.number}", f"/preuves {world.a.number}",
                "/client Durand", "/aide", "/entreprise"]  # fmt: skip
    for command in commands:
        await world.b_owner.send(command)
    said = "\n".join(_texts(world, B_OWNER))
    assert t("private", "fr") not in said  # never treated as a stranger
    assert B_CLIENT in said and world.b.number in said  # the digest and lists are B's
    # A's client and its other invoices are never named (A's number typed by B's owner is only echoed as unknown).
    assert A_CLIENT not in said and f"{world.a.number}-N" not in said and f"{world.a.number}-D" not in said
    assert "Boutique beta" in said  # /entreprise names the only business
    assert _rows(world.engine, world.a.business_id) == before and _head(world.engine, world.a.business_id) == head


async def test_forged_buttons_naming_a_change_nothing(world: World) -> None:
    """B's owner tapping a button of every family (r1, d1, l1, pl1, m1, p1, t1, s1) that names A's rows gets a
    refusal or B's own view: nothing of A is shown, nothing of A changes, no e-mail leaves, both chains verify."""
    before, head = _rows(world.engine, world.a.business_id), _head(world.engine, world.a.business_id)
    forged = [*_forged(world.a, world.engine, world.harness.services), "s1:pause"]
    for data in forged:
        world.harness.api.clear()
        await world.b_owner.tap(data, message_id=4242)
        said = "\n".join(_texts(world))
        assert A_CLIENT not in said and world.a.number not in said, data
        assert not any(c.method == "sendDocument" for c in world.harness.api.calls), data
    assert world.harness.delivery.sent == []
    assert _rows(world.engine, world.a.business_id) == before
    assert _head(world.engine, world.a.business_id) == head
    _chains_verify(world.engine, world.a.business_id, world.b.business_id)


async def test_the_same_buttons_work_for_their_own_business(world: World) -> None:
    """Control: the refusals above are about the business, not the data: B's owner snoozing B's own reminder
    changes it, and A's owner tapping A's rows with B's ids is refused the same way."""
    v = _version(world.engine, "reminder", world.b.reminder_id)
    await world.b_owner.tap(cards.callback("snz3", world.b.reminder_id, v), message_id=5)
    assert _version(world.engine, "reminder", world.b.reminder_id) > v
    before = _rows(world.engine, world.b.business_id)
    owner_a = world.harness.owner
    for data in _forged(world.b, world.engine, world.harness.adapter.tenancy.presenters[world.b.business_id]):
        await owner_a.tap(data, message_id=4343)
    assert B_CLIENT not in "\n".join(_texts(world, OWNER))
    assert _rows(world.engine, world.b.business_id) == before


async def test_owner_of_several_picks_with_entreprise(world: World) -> None:
    """333 owns A and B: /entreprise offers both; the choice is remembered (owner_choice) and every answer then
    starts with "🏢 Boutique beta"; a b1: button of a business they do not own is refused and changes nothing."""
    await world.both.send("/entreprise")
    pick = [c for c in world.harness.api.of("sendMessage") if c.params.get("chat_id") == BOTH][-1]
    labels = [b["text"] for b in world.harness.buttons(pick)]
    assert len(labels) == 2 and any("Boutique beta" in label for label in labels)
    await world.both.tap(f"b1:{world.b.business_id}", message_id=pick.result_id if hasattr(pick, "result_id") else 9)
    with world.engine.connect() as conn:
        chosen = conn.execute(text("SELECT business_id FROM owner_choice WHERE user_id = :u"), {"u": str(BOTH)}).all()
    assert chosen == [(world.b.business_id,)]
    world.harness.api.clear()
    await world.both.send("/factures")
    said = _texts(world, BOTH)
    assert said and all(s.startswith("<b>🏢 Boutique beta</b>\n") for s in said)
    assert B_CLIENT in "\n".join(said) and A_CLIENT not in "\n".join(said)
    # B's owner cannot pick A.
    world.harness.api.clear()
    await world.b_owner.tap(f"b1:{world.a.business_id}", message_id=10)
    assert [(c.method, c.params.get("text")) for c in world.harness.api.calls] == [
        ("answerCallbackQuery", t("cb.unknown", "fr"))
    ]
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM owner_choice WHERE user_id = :u"),
                            {"u": str(B_OWNER)}).scalar_one() == 0  # fmt: skip
    # An owner of one business is told its name, with no head line.
    world.harness.api.clear()
    await world.harness.owner.send("/entreprise")
    assert _texts(world, OWNER) == [t("biz.only", "fr", name="Atelier Dupont SARL")]


async def test_digest_cards_of_each_business_name_it_and_taps_act_there(world: World) -> None:
    """B's digest goes to B's owners only; for 333 (owns both) each message starts with "🏢 Boutique beta"; a tap
    on that card acts on B even while 333's current business is A (and makes B current)."""
    adapter = world.harness.adapter
    services_b = adapter.tenancy.presenters[world.b.business_id]  # type: ignore[union-attr]
    data = services_b.digest(claim=True, day=TODAY)
    assert data is not None
    world.harness.api.clear()
    await adapter.deliver_digest_of(world.b.business_id, data)
    sent = world.harness.api.of("sendMessage")
    assert {c.params["chat_id"] for c in sent} == {B_OWNER, BOTH}
    assert all(c.params["text"].startswith("<b>🏢 Boutique beta</b>\n") for c in sent if c.params["chat_id"] == BOTH)
    assert not any(c.params["text"].startswith("<b>🏢") for c in sent if c.params["chat_id"] == B_OWNER)
    card = next(c for c in sent if c.params["chat_id"] == BOTH and str(world.b.reminder_id) in str(
        c.params.get("reply_markup")))  # fmt: skip
    message_id = next(int(m) for chat, m in services_b.cards_of(world.b.reminder_id) if chat == str(BOTH))
    assert card is not None
    v = _version(world.engine, "reminder", world.b.reminder_id)
    await world.both.tap(cards.callback("snz7", world.b.reminder_id, v), message_id=message_id)
    assert _version(world.engine, "reminder", world.b.reminder_id) > v
    assert adapter.tenancy is not None and adapter.tenancy.current(BOTH) == world.b.business_id
