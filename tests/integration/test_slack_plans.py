"""Payment plans in Slack, through the emulator: 📅 Échéancier posts the plan card, a count redraws it in place,
✏️ Modifier opens the modal (a bad schedule is answered in it, a good one proposes the plan), the schedule e-mail's
card comes under it and ✅ Envoyer on it starts the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from storage.db import read_session
from storage.models import Invoice, PaymentPlan, Reminder
from tests.integration.slack_helpers import OWNER
from tests.integration.test_slack_app import Running, adapter_running, button_of


def _pl1(message: Any, action: str, count: int | None = None) -> str:
    """The action_id of a plan button (pl1:<action>:…[:count])."""
    for block in message.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            parts = str(element["action_id"]).split(":")
            if parts[0] == "pl1" and parts[1] == action and (count is None or int(parts[4]) == count):
                return str(element["action_id"])
    raise LookupError(f"no pl1:{action} button on {message.ts}")


def _flat(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


async def _plan_card(r: Running) -> Any:
    """The digest's card, then 📅 Échéancier: the plan card posted under it."""
    (card,) = await r.digest()
    await r.slack.aio.click(OWNER, r.dm(), card.ts, _pl1(card, "open"))
    return await r.slack.aio.wait_message(r.dm(), "Échéancier pour", after=card.ts)


async def test_plan_card_count_and_prepared_email_start_the_plan(sqlite_url: str, tmp_path: Path) -> None:
    """The plan card suggests 3 monthly instalments; 6× redraws it; 📧 Préparer l'e-mail posts the schedule
    e-mail's card; ✅ Envoyer on it puts the invoice in the plan (the ladder's card is cancelled)."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        plan = await _plan_card(r)
        assert "En 3 mensualités" in plan.plain
        await r.slack.aio.click(OWNER, r.dm(), plan.ts, _pl1(plan, "n", 6))
        await r.slack.aio.wait_update(r.dm(), plan.ts)
        redrawn = r.slack.message(r.dm(), plan.ts)
        assert "En 6 mensualités" in redrawn.plain
        await r.slack.aio.click(OWNER, r.dm(), plan.ts, _pl1(redrawn, "prep"))
        email = await r.slack.aio.wait_message(r.dm(), "Échéancier", after=plan.ts)
        await r.slack.aio.wait_for(lambda: "Courriel de l'échéancier préparé" in r.slack.message(r.dm(), plan.ts).plain,
                                   what="the plan card once prepared")  # fmt: skip
        with read_session(r.engine) as s:
            proposed = s.exec(select(PaymentPlan)).one()
            assert proposed.state == "proposed" and proposed.reminder_id is not None
        await r.slack.aio.click(OWNER, r.dm(), email.ts, button_of(email, "send"))
        await r.slack.aio.wait_for(lambda: _started(r), what="the plan started")
        with read_session(r.engine) as s:
            (inv,) = s.exec(select(Invoice)).all()
            assert inv.state == "payment_plan"
            ladder = s.exec(select(Reminder).where(Reminder.kind == "ladder")).one()
            assert ladder.state == "cancelled"


def _started(r: Running) -> bool:
    with read_session(r.engine) as s:
        plan = s.exec(select(PaymentPlan)).first()
        return plan is not None and plan.state == "active"


async def test_modal_schedule_errors_stay_in_the_modal_then_a_good_one_is_proposed(
    sqlite_url: str, tmp_path: Path
) -> None:
    """✏️ Modifier: a schedule that does not add up is answered under the text area (nothing saved); a good one
    closes the modal and proposes the plan with the typed instalments."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        plan = await _plan_card(r)
        await r.slack.aio.click(OWNER, r.dm(), plan.ts, _pl1(plan, "edit"))
        view = await r.slack.aio.wait_modal(OWNER, "Échéancier")
        ack = await r.slack.aio.submit_view(
            OWNER, view.id, {"schedule": {"schedule": "15/12/2026 1,00\n15/01/2027 1,00"}}
        )
        assert ack.get("response_action") == "errors" and "Les échéances font 2,00 € au total" in _flat(
            ack["errors"]["schedule"]
        )
        with read_session(r.engine) as s:
            assert s.exec(select(PaymentPlan)).first() is None
        total = _flat(plan.plain).split("reste dû ")[1].split(" €")[0].replace(" ", "").replace(",", ".")
        half = f"{float(total) / 2:.2f}".replace(".", ",")
        typed = f"15/12/2026 {half}\n15/01/2027 {half}"
        assert await r.slack.aio.submit_view(OWNER, view.id, {"schedule": {"schedule": typed}}) == {}
        await r.slack.aio.wait_ephemeral(OWNER, "Échéancier de 2 échéances préparé")
        with read_session(r.engine) as s:
            proposed = s.exec(select(PaymentPlan)).one()
            assert proposed.state == "proposed"


async def test_a_plan_button_of_a_handled_card_hears_already_handled(sqlite_url: str, tmp_path: Path) -> None:
    """The reminder was sent after the plan card was posted: 📧 Préparer l'e-mail hears "Déjà traité." and
    proposes nothing."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        (card,) = await r.digest()
        await r.slack.aio.click(OWNER, r.dm(), card.ts, _pl1(card, "open"))
        plan = await r.slack.aio.wait_message(r.dm(), "Échéancier pour", after=card.ts)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, button_of(card, "send"))
        await r.slack.aio.wait_update(r.dm(), card.ts)
        await r.slack.aio.click(OWNER, r.dm(), plan.ts, _pl1(plan, "prep"))
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        with read_session(r.engine) as s:
            assert s.exec(select(PaymentPlan)).first() is None
