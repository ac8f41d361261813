"""Card buttons and modals through the Slack emulator: the same services as Telegram, the card updated in place,
stale or forged clicks refused, modal input checked in the modal, every change logged with the actor slack:<uid>."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.slack import home
from services.delivery import DeliveryReport, SendRequest
from storage.db import read_session, write_session
from storage.models import Business, Invoice, Reminder
from tests.bot_harness import RecordingDelivery
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration.slack_helpers import OWNER, TODAY, database_digest, evidence
from tests.integration.test_slack_app import SECOND, Running, adapter_running, button_of

ACTOR = f"slack:{OWNER}"


class GatedDelivery(RecordingDelivery):
    """A delivery that waits for `gate` before approving: two clicks can both reach it (a real double tap)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.arrived = 0

    async def send(self, engine: Engine, request: SendRequest) -> DeliveryReport:
        """Count the arrival, wait for the gate, then approve (version-checked) and record."""
        self.arrived += 1
        await self.gate.wait()
        return await super().send(engine, request)


def _version(engine: Engine, reminder_id: int) -> int:
    with read_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        return reminder.version


async def _card(r: Running) -> tuple[Any, int]:
    """The digest's one card in the owner's DM and its reminder id."""
    (card,) = await r.digest()
    return card, r.presenter.pending()[0].reminder_id


async def test_send_clicked_twice_sends_one_email_and_the_card_says_so(sqlite_url: str, tmp_path: Path) -> None:
    """Two clicks on ✅ Envoyer reach the service together: one e-mail, "Déjà traité." for the other, the card says
    "Envoyé le …" with no button left, and the approval is logged for slack:<uid>."""
    delivery = GatedDelivery()
    async with adapter_running(sqlite_url, tmp_path, delivery=delivery) as r:
        card, _ = await _card(r)
        send = button_of(card, "send")
        await r.slack.aio.click(OWNER, r.dm(), card.ts, send)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, send)
        await r.slack.aio.wait_for(lambda: delivery.arrived == 2, what="both clicks at the delivery")
        delivery.gate.set()
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        shown = await r.slack.aio.wait_for(
            lambda: (m := r.slack.message(r.dm(), card.ts)) and "Envoyé le" in m.plain and m, what="the sent card"
        )
        assert len(delivery.sent) == 1 and delivery.sent[0].actor == ACTOR
        assert not [b for b in shown.blocks if b["type"] == "actions"]
        assert [e.actor for e in evidence(r.engine, "email_delivered")] == [ACTOR]


async def test_the_other_owners_card_follows_in_their_language(sqlite_url: str, tmp_path: Path) -> None:
    """Claire sends from her DM: Sam's card of the same reminder is updated too, in English."""
    async with adapter_running(sqlite_url, tmp_path, owners=(OWNER, SECOND)) as r:
        card, _ = await _card(r)
        (other,) = [m for m in r.slack.messages(r.dm(SECOND)) if m.blocks[-1]["type"] == "actions"]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "send"))
        updated = await r.slack.aio.wait_update(r.dm(SECOND), other.ts)
        assert "Sent on" in r.slack.message(r.dm(SECOND), other.ts).plain, updated
        assert "Envoyé le" in r.slack.message(r.dm(), card.ts).plain


async def test_a_stale_button_says_already_handled_and_shows_the_card_as_it_is(sqlite_url: str, tmp_path: Path) -> None:
    """The reminder was snoozed elsewhere: ✅ Envoyer on the old card sends nothing, says "Déjà traité." and the card
    now shows the snooze."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, rid = await _card(r)
        r.presenter.snooze(rid, _version(r.engine, rid), actor="owner:111", lang="fr", days=3)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "send"))
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert "Reportée au" in r.slack.message(r.dm(), card.ts).plain
        assert r.delivery.sent == []


@pytest.mark.parametrize("forged", ["other business", "r1:send:abc", "r1:zzz:1:1", "d1:res:99999:1"])
async def test_a_forged_button_is_refused_and_changes_nothing(sqlite_url: str, tmp_path: Path, forged: str) -> None:
    """A button value naming another business's reminder (or malformed, or an unknown dispute): "non reconnu",
    nothing written, the other business's reminder untouched, no card shown of it."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, _ = await _card(r)
        with write_session(r.engine) as s:
            other = make_business(s, slug="autre", name="Autre SARL")
            client = make_client(s, other, name="Secret Client SAS")
            reminder = make_reminder(s, client, [make_invoice(s, client, due=TODAY)], planned_date=TODAY)
            value = f"r1:send:{reminder.id}:{reminder.version}" if forged == "other business" else forged
        before, updates = database_digest(r.engine), len(r.slack.updates)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "snz"), value=value)
        await r.slack.aio.wait_ephemeral(OWNER, "n'est pas reconnu")
        await home.settle(r.ctx)  # the Home tab refreshed after the click: read-only
        assert database_digest(r.engine) == before and r.delivery.sent == []
        assert len(r.slack.updates) == updates
        assert not any("Secret Client" in json.dumps(c.params, default=str) for c in r.slack.calls)


async def _open(r: Running, card: Any, action: str, title: str) -> Any:
    await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, action))
    return await r.slack.aio.wait_modal(OWNER, title)


#: Each form: the button, the modal's title, invalid inputs (values, block, what the modal says), a valid input,
#: the evidence kind it writes, and what the owner is told.
FORMS: list[tuple[str, str, list[tuple[dict[str, Any], str, str]], dict[str, Any], str, str]] = [
    (
        "edit",
        "Modifier",
        [
            ({"body": {"body": "  \n "}}, "body", "Le texte est vide"),
            ({"body": {"body": "x" * 3001}}, "body", "trop long (3 001 caractères) : 3000 au plus"),
            ({"subject": {"subject": "s" * 201}}, "subject", "200 caractères au plus"),
            ({"subject": {"subject": " "}}, "subject", "200 caractères au plus"),
        ],
        {"subject": {"subject": "Facture en attente"}, "body": {"body": "Bonjour,\nmerci de régler la facture."}},
        "draft_edited",
        "Nouveau texte enregistré",
    ),
    (
        "pay",
        "Paiement",
        [
            ({"amount": {"amount": "abc"}}, "amount", "« abc » n'est pas un montant valide"),
            ({"amount": {"amount": "1200,01"}}, "amount", "dépasse ce qui reste dû (1\u00a0200,00\u00a0€)"),
            ({"amount": {"amount": "-3"}}, "amount", "supérieur à zéro"),
        ],
        {"amount": {"amount": "200,50"}},
        "payment_recorded",
        "Paiement de 200,50\u00a0€ enregistré. Reste dû : 999,50\u00a0€",
    ),
    (
        "disp",
        "Litige",
        [
            ({"reason": {"reason": "   "}}, "reason", "Indiquez un motif"),
            ({"reason": {"reason": "m" * 501}}, "reason", "Motif trop long (501 caractères) : 500 au plus"),
        ],
        {"reason": {"reason": "Prestation contestée"}},
        "dispute_opened",
        "Litige enregistré",
    ),
    (
        "prom",
        "Promesse",
        [
            ({}, "date", "Choisissez une date."),
            ({"date": {"date": "2026-11-20"}}, "date", "Le 20/11/2026 est déjà passé"),
            ({"date": {"date": "2028-01-05"}}, "date", "trop loin"),
        ],
        {"date": {"date": "2026-12-05"}},
        "promise_recorded",
        "pas de relance avant le 05/12/2026",
    ),
    (
        "snz",
        "Reporter",
        [
            ({}, "days", "Choisissez +1 j, +3 j, +7 j"),
            ({"days": {"days": "3"}, "date": {"date": "2026-12-01"}}, "date", "pas les deux"),
            ({"days": {"days": "date"}}, "date", "Choisissez +1 j, +3 j, +7 j"),
            ({"date": {"date": "2026-11-24"}}, "date", "Le 24/11/2026 est déjà passé"),
        ],
        {"days": {"days": "date"}, "date": {"date": "2026-12-10"}},
        "reminder_state",
        "Reportée au 10/12/2026",
    ),
]


@pytest.mark.parametrize(("action", "title", "invalid", "valid", "kind", "told"), FORMS, ids=[f[0] for f in FORMS])
async def test_modal_errors_stay_in_the_modal_and_a_valid_submit_acts_once(
    sqlite_url: str,
    tmp_path: Path,
    action: str,
    title: str,
    invalid: list[tuple[dict[str, Any], str, str]],
    valid: dict[str, Any],
    kind: str,
    told: str,
) -> None:
    """Each invalid input: `response_action: errors` under its input, the modal stays open, nothing written. The
    valid one: the modal closes, the change is logged for slack:<uid>, the card shows it, the owner is told. The same
    modal submitted again is stale: "Déjà traité.", nothing done twice."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, _ = await _card(r)
        view = await _open(r, card, action, title)
        before = database_digest(r.engine)
        for values, block, says in invalid:
            ack = await r.slack.aio.submit_view(OWNER, view.id, values)
            assert ack.get("response_action") == "errors" and list(ack["errors"]) == [block], ack
            assert says in ack["errors"][block]
            assert [v.id for v in r.slack.views_of(OWNER)] == [view.id]
        assert database_digest(r.engine) == before
        entries = len(evidence(r.engine, kind))
        assert await r.slack.aio.submit_view(OWNER, view.id, valid) == {}
        assert r.slack.views_of(OWNER) == []
        await r.slack.aio.wait_ephemeral(OWNER, told)
        logged = evidence(r.engine, kind)[entries:]
        assert [e.actor for e in logged] == [ACTOR]
        await r.slack.aio.wait_update(r.dm(), card.ts)
        await r.slack.aio.submit_view(OWNER, view.id, valid, closed_ok=True)
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert len(evidence(r.engine, kind)) == entries + 1


async def test_paid_left_as_prefilled_pays_in_full(sqlite_url: str, tmp_path: Path) -> None:
    """Payée, submitted with the prefilled balance: the invoice is paid in full and the card says so."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, _ = await _card(r)
        view = await _open(r, card, "pay", "Paiement")
        assert await r.slack.aio.submit_view(OWNER, view.id, {}) == {}
        await r.slack.aio.wait_ephemeral(OWNER, "facture(s) soldée(s)")
        with read_session(r.engine) as s:
            (invoice,) = s.exec(select(Invoice)).all()
            assert invoice.state == "paid"
        await r.slack.aio.wait_for(lambda: "Payée" in r.slack.message(r.dm(), card.ts).plain, what="the paid card")


async def test_edit_then_undo_from_the_card(sqlite_url: str, tmp_path: Path) -> None:
    """Modifier shows the current draft; after a new text the card offers Envoyer / Annuler; Annuler restores it."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, rid = await _card(r)
        draft = r.presenter.card_parts(rid, "fr")
        assert draft is not None and draft.body is not None
        view = await _open(r, card, "edit", "Modifier")
        body = next(b for b in view.blocks if b.get("block_id") == "body")
        assert body["element"]["initial_value"] == draft.body
        await r.slack.aio.submit_view(OWNER, view.id, {"body": {"body": "Nouveau texte."}})
        await r.slack.aio.wait_for(
            lambda: "Nouveau texte." in r.slack.message(r.dm(), card.ts).plain, what="the edited card"
        )
        edited = r.slack.message(r.dm(), card.ts)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(edited, "undo"))
        await r.slack.aio.wait_ephemeral(OWNER, "Texte d'origine rétabli.")
        assert [e.actor for e in evidence(r.engine, "draft_edit_undone")] == [ACTOR]
        assert json.loads(evidence(r.engine, "draft_edited")[0].payload)["subject"] is None  # subject left as it was


async def test_voir_la_suite_opens_the_whole_draft(sqlite_url: str, tmp_path: Path) -> None:
    """Voir la suite: a modal with the subject and the whole drafted e-mail as plain text."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        card, rid = await _card(r)
        parts = r.presenter.card_parts(rid, "fr")
        assert parts is not None and parts.body is not None
        more = f"r1:more:{rid}:{_version(r.engine, rid)}"
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "snz"), value=more)
        view = await r.slack.aio.wait_modal(OWNER, "E-mail complet")
        assert parts.body.strip() in "\n".join(
            b["text"]["text"] for b in view.blocks if b["block_id"] != "full-subject"
        )


async def test_dispute_lines_close_once(sqlite_url: str, tmp_path: Path) -> None:
    """/relance litiges, then Reprendre: the line says the dispute is closed (logged for slack:<uid>); Passer en perte
    on a second listing of the same dispute is stale: "Déjà traité." and that line shows the invoice's state."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        _, rid = await _card(r)
        r.presenter.dispute(rid, _version(r.engine, rid), reason="Prestation contestée", actor="owner:1", lang="fr")
        lines = []
        for _ in range(2):
            after = r.slack.messages(r.dm())[-1].ts
            await r.slack.aio.slash(OWNER, "litiges")
            lines.append(await r.slack.aio.wait_message(r.dm(), "Prestation contestée", after=after))
        first, second = lines
        await r.slack.aio.click(OWNER, r.dm(), first.ts, _dispute_button(first, "res"))
        await r.slack.aio.wait_for(lambda: "Litige clos" in r.slack.message(r.dm(), first.ts).plain, what="closed")
        assert [e.actor for e in evidence(r.engine, "dispute_closed")] == [ACTOR]
        await r.slack.aio.click(OWNER, r.dm(), second.ts, _dispute_button(second, "off"))
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert "n'est plus en litige" in r.slack.message(r.dm(), second.ts).plain
        assert len(evidence(r.engine, "dispute_closed")) == 1


def _dispute_button(message: Any, action: str) -> str:
    ids = [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    return next(i for i in ids if i.startswith(f"d1:{action}:"))


async def test_call_script_of_a_key_account_goes_to_the_dm(sqlite_url: str, tmp_path: Path) -> None:
    """📞 Script d'appel on a key account's card: the phone-call script, as plain text, in the owner's DM."""
    async with adapter_running(sqlite_url, tmp_path, amounts=()) as r:
        with write_session(r.engine) as s:
            business = s.exec(select(Business)).one()
            client = make_client(s, business, name="Grand Compte SA", profile="key_account")
            make_invoice(s, client, due=date(2026, 10, 1), amount="5000.00", number="F-GC-1")
        card, rid = await _card(r)
        script = r.presenter.call_script(rid)
        assert script
        if "r1:cmail:" in json.dumps(card.blocks):  # its first overdue step is a call card: the e-mail instead
            await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "cmail"))
            await r.slack.aio.wait_for(lambda: "r1:call:" in json.dumps(r.slack.message(r.dm(), card.ts).blocks),
                                       what="the e-mail card")  # fmt: skip
            card = r.slack.message(r.dm(), card.ts)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "call"))
        posted = await r.slack.aio.wait_message(r.dm(), after=card.ts)
        assert all(b["text"]["type"] == "plain_text" for b in posted.blocks)
        assert "\n".join(b["text"]["text"] for b in posted.blocks) == script.strip()
