"""Fail closed: a draft that cannot be rendered is never replaced by a generic text; its card says what is wrong and
offers no way to send, and a forged Envoyer tap sends nothing."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from dunning.states import ReminderState
from messages.render import TemplateError
from storage.db import read_session, write_session
from storage.models import Business, Card, EvidenceEntry, Reminder
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice


class BrokenDrafter:
    """A drafter whose template fails at render time, as an owner's template can for one client's data."""

    renderer = None

    def draft(self, session: object, view: object, *, today: date) -> object:
        raise TemplateError("/templates/fr/reminder_1.text.j2:4: 'dict object' has no attribute 'iban'")


def _seed(bot: BotHarness) -> None:
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Garage Dupont SAS")
        make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")


async def test_broken_draft_card_names_the_template_and_has_no_send_button(bot: BotHarness) -> None:
    """The card shows the template file and line, no Envoyer / Modifier; a forged send tap queues and sends nothing."""
    _seed(bot)
    bot.services.core.drafter = BrokenDrafter()
    bot.api.clear()
    await bot.owner.send("/digest")
    (card,) = bot.cards()
    text = card.params["text"]
    assert "reminder_1.text.j2:4" in text and "⛔" in text
    actions = {b["callback_data"].split(":")[1] for b in bot.buttons(card)}
    assert "send" not in actions and "edit" not in actions
    assert {"snz", "pay", "disp", "prom"} <= actions
    assert "Bonjour" not in text and "Objet" not in text  # no generic text in place of the owner's templates
    with read_session(bot.engine) as s:
        reminder = s.exec(select(Reminder)).one()
        card_row = s.exec(select(Card)).one()
        entries_before = len(s.exec(select(EvidenceEntry)).all())
    bot.api.clear()
    await bot.owner.tap(f"r1:send:{reminder.id}:{reminder.version}", card_row.message_id)
    assert bot.delivery.sent == []
    with read_session(bot.engine) as s:
        after = s.get(Reminder, reminder.id)
        assert after is not None and after.state == ReminderState.PENDING
        assert len(s.exec(select(EvidenceEntry)).all()) == entries_before
    answers = [c.params.get("text", "") for c in bot.api.of("answerCallbackQuery")]
    sent = [c.params.get("text", "") for c in bot.api.of("sendMessage")]
    assert any("Rien n'a été envoyé" in a for a in answers + sent)


async def test_the_same_card_offers_envoyer_once_the_draft_renders(bot: BotHarness) -> None:
    """With a working drafter the same reminder's card has its Envoyer button (the check above is not vacuous)."""
    _seed(bot)
    bot.api.clear()
    await bot.owner.send("/digest")
    (card,) = bot.cards()
    actions = {b["callback_data"].split(":")[1] for b in bot.buttons(card)}
    assert "send" in actions and "⛔" not in card.params["text"]
