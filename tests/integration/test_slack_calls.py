"""Phone calls in Slack (issue 11 §2): the call card (the number as <tel:…|…>, the script as plain text, the call
buttons), 📞 Appel fait's modal (an empty outcome stays in the modal), then Promesse / Litige / Payée; Pas de
réponse and Envoyer plutôt l'e-mail; every change logged for slack:<uid>."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import select

from dunning.states import ReminderState
from storage.db import read_session, write_session
from storage.models import Business, Reminder
from tests.factories import make_client, make_invoice
from tests.integration.slack_helpers import OWNER, evidence
from tests.integration.test_slack_app import Running, adapter_running, button_of

ACTOR = f"slack:{OWNER}"


async def _call_card(r: Running) -> tuple[Any, int]:
    """A key account 14 days late: its digest card (a call) and reminder id."""
    with write_session(r.engine) as s:
        business = s.exec(select(Business)).one()
        client = make_client(s, business, name="Grand Compte SA", profile="key_account", phone="06 12 34 56 78")
        make_invoice(s, client, due=date(2026, 11, 10), amount="9000.00", number="F-GC-9")
    (card,) = await r.digest()
    return card, r.presenter.pending()[0].reminder_id


def _actions(message: Any) -> list[str]:
    return [str(e["action_id"]).split(":")[1] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def test_call_card_and_call_done_modal(sqlite_url: str, tmp_path: Path) -> None:
    """The call card shows <tel:+33612345678|06 12 34 56 78> and the script in plain text; Appel fait opens a modal
    whose empty outcome is refused in the modal; the outcome logs call_logged for slack:<uid>, the step is done and
    the card offers Promesse / Litige / Payée."""
    async with adapter_running(sqlite_url, tmp_path, amounts=()) as r:
        card, rid = await _call_card(r)
        assert "<tel:+33612345678|06 12 34 56 78>" in json.dumps(card.blocks, ensure_ascii=False)
        assert _actions(card) == ["cdone", "cnone", "cmail", "snz"]
        body = next(b for b in card.blocks if b.get("block_id") == "card-body")
        assert body["text"]["type"] == "plain_text" and "F-GC-9" in body["text"]["text"]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "cdone"))
        view = await r.slack.aio.wait_modal(OWNER, "Appel fait")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"note": {"note": "   "}})
        assert ack.get("response_action") == "errors" and list(ack["errors"]) == ["note"]
        assert evidence(r.engine, "call_logged") == []
        assert await r.slack.aio.submit_view(OWNER, view.id, {"note": {"note": "Paiera vendredi"}}) == {}
        await r.slack.aio.wait_ephemeral(OWNER, "Appel noté")
        (logged,) = evidence(r.engine, "call_logged")
        payload = json.loads(logged.payload)
        assert logged.actor == ACTOR and payload["outcome"] == "reached" and payload["note"] == "Paiera vendredi"
        shown = await r.slack.aio.wait_for(
            lambda: (m := r.slack.message(r.dm(), card.ts)) and "Appel fait le" in m.plain and m, what="called card"
        )
        assert _actions(shown) == ["prom", "disp", "pay"]
        with read_session(r.engine) as s:
            reminder = s.get(Reminder, rid)
            assert reminder is not None and reminder.state == ReminderState.SENT
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(shown, "prom"))
        promise = await r.slack.aio.wait_modal(OWNER, "Promesse")
        assert promise.id


async def test_no_answer_then_email_instead(sqlite_url: str, tmp_path: Path) -> None:
    """Pas de réponse logs an attempt (the card stays a call card, saying so); Envoyer plutôt l'e-mail turns it into
    the e-mail card of the same step (Envoyer)."""
    async with adapter_running(sqlite_url, tmp_path, amounts=()) as r:
        card, _ = await _call_card(r)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "cnone"))
        await r.slack.aio.wait_ephemeral(OWNER, "Tentative notée")
        shown = await r.slack.aio.wait_for(
            lambda: (m := r.slack.message(r.dm(), card.ts)) and "1 tentative(s)" in m.plain and m, what="attempts"
        )
        assert [json.loads(e.payload)["outcome"] for e in evidence(r.engine, "call_logged")] == ["no_answer"]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(shown, "cmail"))
        email = await r.slack.aio.wait_for(
            lambda: (m := r.slack.message(r.dm(), card.ts)) and "send" in _actions(m) and m, what="the e-mail card"
        )
        assert _actions(email)[:3] == ["send", "edit", "snz"]
        assert [e.actor for e in evidence(r.engine, "channel_changed")] == [ACTOR]
