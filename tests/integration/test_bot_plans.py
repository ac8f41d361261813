"""Payment plans in Telegram, by transcript: 📅 Échéancier on a card, the count, ✏️ Modifier, 📧 Préparer l'e-mail,
then the schedule e-mail sent, which starts the plan; /client and /factures show it."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from storage.db import read_session, write_session
from storage.models import Business, Card, Invoice, PaymentPlan, Reminder
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice

TODAY = date(2026, 11, 24)


def _seed(bot: BotHarness) -> int:
    """Durand SARL owes 1 200,00 on F-2026-001, due 10/11/2026: reminder 1 due today."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Durand SARL")
        inv = make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")
        assert inv.id is not None
        return inv.id


async def _card(bot: BotHarness) -> tuple[int, list[dict[str, str]]]:
    """The digest's card: its message id and buttons."""
    bot.api.clear()
    await bot.owner.send("/digest")
    (call,) = bot.cards()
    with read_session(bot.engine) as s:
        (card,) = s.exec(select(Card)).all()
    return int(card.message_id), bot.buttons(call)


def _plan_button(buttons: list[dict[str, str]]) -> dict[str, str]:
    return next(b for b in buttons if b["callback_data"].startswith("pl1:open:"))


async def _open_plan(bot: BotHarness) -> tuple[str, list[dict[str, str]]]:
    """Tap 📅 Échéancier: the plan card (a new message), its text and buttons."""
    message_id, buttons = await _card(bot)
    button = _plan_button(buttons)
    assert button["text"] == "📅 Échéancier"
    bot.api.clear()
    await bot.owner.tap(button["callback_data"], message_id)
    (sent,) = bot.cards()
    return _flat(str(sent.params["text"])), bot.buttons(sent)


def _flat(text: object) -> str:
    """Amounts are written with no-break spaces (1 200,00 €): plain spaces for the comparisons."""
    return str(text).replace("\xa0", " ").replace("\u202f", " ")


def _by(buttons: list[dict[str, str]], action: str, count: int | None = None) -> str:
    for b in buttons:
        parts = b["callback_data"].split(":")
        if parts[1] == action and (count is None or int(parts[4]) == count):
            return b["callback_data"]
    raise AssertionError(f"no {action} button in {buttons}")


async def test_plan_card_suggests_three_instalments_and_changes_count(bot: BotHarness) -> None:
    """📅 Échéancier shows 3 × 400,00 from 24/12/2026 and the counts; 4× redraws it as 4 × 300,00 in place."""
    _seed(bot)
    text, buttons = await _open_plan(bot)
    assert "Échéancier pour Durand SARL" in text and "F-2026-001" in text
    assert "En 3 mensualités" in text and "24/12/2026 : 400,00 €" in text and "24/02/2027 : 400,00 €" in text
    assert [b["text"] for b in buttons[:5]] == ["2×", "· 3× ·", "4×", "6×", "12×"]
    bot.api.clear()
    await bot.owner.tap(_by(buttons, "n", 4), 900)
    (edited,) = bot.api.of("editMessageText")
    assert edited.params["message_id"] == 900
    assert "En 4 mensualités" in _flat(edited.params["text"]) and "24/03/2027 : 300,00 €" in _flat(
        edited.params["text"]
    )


async def test_prepare_drafts_the_schedule_email_and_sending_it_starts_the_plan(bot: BotHarness) -> None:
    """📧 Préparer l'e-mail: the plan is proposed and the schedule e-mail's card comes; ✅ Envoyer on it puts the
    invoice in its plan, the ladder's card is cancelled; /client and /factures show the next instalment."""
    inv_id = _seed(bot)
    _, buttons = await _open_plan(bot)
    with read_session(bot.engine) as s:
        (card,) = s.exec(select(Card)).all()
        ladder_card, ladder_version = int(card.message_id), s.get(Reminder, card.reminder_id).version  # type: ignore[union-attr]
    bot.api.clear()
    await bot.owner.tap(_by(buttons, "prep"), 900)
    texts = [_flat(x) for x in bot.api.texts()]
    assert any("Échéancier de 3 échéances préparé" in x for x in texts), texts
    email_card = bot.cards()[-1]
    card_buttons = bot.buttons(email_card)
    send = next(b["callback_data"] for b in card_buttons if b["callback_data"].startswith("r1:send:"))
    schedule_rid = int(send.split(":")[2])
    with read_session(bot.engine) as s:
        reminder = s.get(Reminder, schedule_rid)
        assert reminder is not None and reminder.kind == "plan_schedule"
        plan = s.exec(select(PaymentPlan)).one()
        assert (plan.state, plan.reminder_id) == ("proposed", schedule_rid)
        inv = s.get(Invoice, inv_id)
        assert inv is not None and inv.state == "open"
    await bot.owner.tap(send, int(email_card.params.get("message_id", 0) or 0))
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        plan = s.exec(select(PaymentPlan)).one()
        assert inv is not None and (inv.state, inv.plan_id) == ("payment_plan", plan.id)
        assert plan.state == "active"
        ladder = s.exec(select(Reminder).where(Reminder.kind == "ladder")).one()
        assert ladder.state == "cancelled"
    bot.api.clear()
    await bot.owner.tap(f"r1:send:{ladder.id}:{ladder_version}", ladder_card)
    assert bot.api.of("answerCallbackQuery")[0].params.get("text") == "Déjà traité."
    assert "Échéancier en cours : plus de relance" in bot.api.of("editMessageText")[-1].params["text"]
    bot.api.clear()
    await bot.owner.send("/client Durand")
    shown = _flat(bot.api.of("sendMessage")[-1].params["text"])
    assert "Échéancier en cours (F-2026-001) : 0,00 € payés sur 1 200,00 €, 0/3 échéances réglées." in shown
    assert "Prochaine échéance : le 24/12/2026, 400,00 €." in shown
    await bot.owner.send("/factures")
    assert "prochaine échéance le 24/12/2026 (400,00 €)" in _flat(bot.api.of("sendMessage")[-1].params["text"])


async def test_typed_schedule_is_checked_then_proposed(bot: BotHarness) -> None:
    """✏️ Modifier: a schedule that does not add up is explained (the question stays open), a good one is proposed
    with the typed dates and amounts."""
    _seed(bot)
    _, buttons = await _open_plan(bot)
    bot.api.clear()
    await bot.owner.tap(_by(buttons, "edit"), 900)
    prompt = _flat(bot.api.of("sendMessage")[-1].params["text"])
    assert "Tapez l'échéancier" in prompt and "24/12/2026 400,00" in prompt and "1 200,00 €" in prompt
    await bot.owner.send("15/12/2026 500,00\n15/01/2027 500,00")
    said = _flat(bot.api.of("sendMessage")[-1].params["text"])
    assert "Les échéances font 1 000,00 € au total, mais il reste 1 200,00 € à payer (écart : 200,00 €)." == said
    await bot.owner.send("15/12/2026 500,00\n15/13/2027 700,00")
    assert "Ligne 2" in bot.api.of("sendMessage")[-1].params["text"]
    await bot.owner.send("15/12/2026 500,00\n15/01/2027 700,00")
    assert any("Échéancier de 2 échéances préparé" in x for x in bot.api.texts())
    edits = [_flat(c.params["text"]) for c in bot.api.of("editMessageText") if c.params.get("message_id") == 900]
    assert edits and "15/01/2027 : 700,00 €" in edits[-1] and "Courriel de l'échéancier préparé" in edits[-1]
    with read_session(bot.engine) as s:
        plan = s.exec(select(PaymentPlan)).one()
        assert plan.state == "proposed" and plan.reminder_id is not None


async def test_plan_button_of_a_handled_card_changes_nothing(bot: BotHarness) -> None:
    """A plan button whose reminder moved on (sent meanwhile) hears "Déjà traité." and proposes nothing."""
    _seed(bot)
    message_id, buttons = await _card(bot)
    plan = _plan_button(buttons)["callback_data"]
    send = next(b["callback_data"] for b in buttons if b["callback_data"].startswith("r1:send:"))
    await bot.owner.tap(send, message_id)
    bot.api.clear()
    await bot.owner.tap(plan.replace("pl1:open:", "pl1:prep:"), message_id)
    answers = bot.api.of("answerCallbackQuery")
    assert answers and answers[0].params.get("text") == "Déjà traité."
    with read_session(bot.engine) as s:
        assert s.exec(select(PaymentPlan)).first() is None


async def test_forged_plan_buttons_are_refused(bot: BotHarness) -> None:
    """Plan data that is not ours, or names a reminder of no one, is answered "non reconnu" and proposes nothing."""
    _seed(bot)
    await _card(bot)
    bot.api.clear()
    for data in ("pl1:zap:1:0:3", "pl1:prep:99999:0:3", "pl1:prep:1:0"):
        await bot.owner.tap(data, 900)
    answers = [a.params.get("text") for a in bot.api.of("answerCallbackQuery")]
    assert len(answers) == 3 and all(a and "reconnu" in a for a in answers), answers
    assert bot.api.of("sendMessage") == [] and bot.api.of("editMessageText") == []
    with read_session(bot.engine) as s:
        assert s.exec(select(PaymentPlan)).first() is None
