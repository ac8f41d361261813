"""Closing a dispute from the chat: /litiges (/disputes) with its two buttons, and /reprendre (/resume)."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import select

from bot.app import set_commands
from dunning.states import InvoiceState
from services.context import Clock
from storage.db import read_session, write_session
from storage.models import Business, EvidenceEntry, Invoice
from storage.reminders import open_dispute
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice


def _seed(bot: BotHarness, *, disputed: bool = True, name: str = "Bâti <Sud> SAS") -> int:
    """One invoice F-2026-001 of 1 200,00 € due 10/11/2026, put in dispute by the owner unless told otherwise."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name=name)
        inv = make_invoice(s, client, due=date(2026, 11, 10), amount="1200.00", number="F-2026-001")
        assert inv.id is not None
        if disputed:
            open_dispute(s, business_id=business.id or 0, invoice_ids=[inv.id], reason="Livraison incomplète",
                         actor="owner:111")  # fmt: skip
        return inv.id


def _invoice(bot: BotHarness, invoice_id: int) -> Invoice:
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        return inv


def _closings(bot: BotHarness) -> list[dict[str, str]]:
    """The payloads of the dispute_closed evidence entries, oldest first."""
    with read_session(bot.engine) as s:
        rows = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "dispute_closed")).all()
        return [json.loads(e.payload) for e in rows]


async def _list(bot: BotHarness) -> tuple[int, list[dict[str, str]]]:
    """Run /litiges; (message id, buttons) of the one dispute card."""
    bot.api.clear()
    await bot.owner.send("/litiges")
    cards = bot.cards()
    assert len(cards) == 1
    return 4242, bot.buttons(cards[0])


def _data(buttons: list[dict[str, str]], action: str) -> str:
    return next(b["callback_data"] for b in buttons if b["callback_data"].split(":")[1] == action)


async def test_no_dispute_is_one_line(bot: BotHarness) -> None:
    """/litiges with nothing disputed answers one message, "Aucun litige en cours."."""
    _seed(bot, disputed=False)
    await bot.owner.send("/litiges")
    assert [c.params["text"] for c in bot.api.of("sendMessage")] == ["⚖️ Aucun litige en cours."]


async def test_list_shows_number_client_amount_reason_and_two_buttons(bot: BotHarness) -> None:
    """/litiges: a header, then a card with number, escaped client name, amount, reason and the two buttons."""
    inv_id = _seed(bot)
    _, buttons = await _list(bot)
    texts = [c.params["text"] for c in bot.api.of("sendMessage")]
    assert "1 litige(s) en cours" in texts[0]
    card = texts[1]
    assert "F-2026-001" in card and "Bâti &lt;Sud&gt; SAS" in card and "1\u00a0200,00\u00a0€" in card
    assert "Motif : Livraison incomplète" in card
    assert [b["text"] for b in buttons] == ["▶️ Reprendre les relances", "🗑 Passer en perte"]
    for b in buttons:
        assert b["callback_data"].startswith("d1:") and f":{inv_id}:" in b["callback_data"]
        assert len(b["callback_data"].encode()) <= 64


async def test_resume_button_reopens_once_and_second_tap_is_already_handled(bot: BotHarness) -> None:
    """Reprendre: answered first, invoice open again, one dispute_closed "resolved"; a second tap acts no more."""
    inv_id = _seed(bot)
    message_id, buttons = await _list(bot)
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "res"), message_id)
    methods = [c.method for c in bot.api.calls]
    assert methods == ["answerCallbackQuery", "editMessageText"]
    edit = bot.api.of("editMessageText")[0]
    assert "de nouveau relancée" in edit.params["text"] and not edit.params.get("reply_markup")
    assert _invoice(bot, inv_id).state == InvoiceState.OPEN
    assert [p["outcome"] for p in _closings(bot)] == ["resolved"]
    bot.api.clear()
    await bot.owner.tap(_data(buttons, "off"), message_id)
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."
    assert "n'est plus en litige (état : ouverte)" in bot.api.of("editMessageText")[0].params["text"]
    assert _invoice(bot, inv_id).state == InvoiceState.OPEN
    assert len(_closings(bot)) == 1


async def test_write_off_button_leaves_the_invoice_written_off(bot: BotHarness) -> None:
    """Passer en perte: the invoice is written off, evidence says so, and it is no longer listed."""
    inv_id = _seed(bot)
    message_id, buttons = await _list(bot)
    await bot.owner.tap(_data(buttons, "off"), message_id)
    assert _invoice(bot, inv_id).state == InvoiceState.WRITTEN_OFF
    with read_session(bot.engine) as s:  # the write-off is its own evidence kind, from the dispute
        (entry,) = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "written_off")).all()
    assert json.loads(entry.payload)["from"] == "disputed" and _closings(bot) == []
    bot.api.clear()
    await bot.owner.send("/litiges")
    assert bot.api.of("sendMessage")[-1].params["text"] == "⚖️ Aucun litige en cours."


async def test_button_of_a_previous_dispute_is_stale(bot: BotHarness) -> None:
    """A button shown for a dispute that was closed and then reopened does nothing: the new dispute stays open."""
    inv_id = _seed(bot)
    message_id, old = await _list(bot)
    await bot.owner.send("/reprendre F-2026-001")
    with write_session(bot.engine) as s:
        open_dispute(s, business_id=bot.services.business_id, invoice_ids=[inv_id], reason="Prix contesté",
                     actor="owner:111")  # fmt: skip
    bot.api.clear()
    await bot.owner.tap(_data(old, "off"), message_id)
    assert bot.api.of("answerCallbackQuery")[0].params["text"] == "Déjà traité."
    refreshed = bot.api.of("editMessageText")[0]
    assert "Prix contesté" in refreshed.params["text"] and refreshed.params.get("reply_markup")
    assert _invoice(bot, inv_id).state == InvoiceState.DISPUTED
    _, new = await _list(bot)
    assert _data(new, "off") != _data(old, "off")


async def test_forged_or_unknown_dispute_buttons_do_nothing(bot: BotHarness) -> None:
    """Unknown invoice ids, other businesses' shapes and malformed d1 data get an answer and no change."""
    inv_id = _seed(bot)
    for data in ("d1:off:999999:1", "d1:zap:1:1", "d1:off:abc:1", f"d1:off:{inv_id}:999999"):
        bot.api.clear()
        await bot.owner.tap(data)
        answers = bot.api.of("answerCallbackQuery")
        assert len(answers) == 1 and answers[0].params["text"] in (
            "Ce bouton n'est pas reconnu ; rien n'a été fait.",
            "Déjà traité.",
        )
    assert _invoice(bot, inv_id).state == InvoiceState.DISPUTED
    assert _closings(bot) == []


async def test_stranger_cannot_close_a_dispute(bot: BotHarness) -> None:
    """A stranger pressing a real Reprendre button gets only the refusal; the dispute stays."""
    inv_id = _seed(bot)
    message_id, buttons = await _list(bot)
    bot.api.clear()
    await bot.stranger.tap(_data(buttons, "res"), message_id)
    assert [c.method for c in bot.api.calls] == ["answerCallbackQuery"]
    assert _invoice(bot, inv_id).state == InvoiceState.DISPUTED


async def test_reprendre_command(bot: BotHarness) -> None:
    """/reprendre: usage without a number, unknown number, not disputed, then the dispute closed as resolved."""
    inv_id = _seed(bot)
    await bot.owner.send("/reprendre")
    await bot.owner.send("/reprendre F-9999")
    await bot.owner.send("/reprendre F-2026-001")
    await bot.owner.send("/reprendre F-2026-001")
    texts = [c.params["text"] for c in bot.api.of("sendMessage")]
    assert texts[0].startswith("Usage : /reprendre NUMERO")
    assert texts[1] == "Aucune facture n° F-9999."
    assert "F-2026-001 est de nouveau relancée" in texts[2]
    assert texts[3] == "La facture F-2026-001 n'est pas en litige (elle est ouverte) : rien n'a été modifié."
    assert _invoice(bot, inv_id).state == InvoiceState.OPEN
    assert [p["outcome"] for p in _closings(bot)] == ["resolved"]


async def test_resumed_invoice_comes_back_in_the_digest(bot: BotHarness) -> None:
    """Disputed from its card, then /reprendre: the next business day's /digest proposes a reminder for it again."""
    _seed(bot, disputed=False)
    await bot.owner.send("/digest")
    (card,) = bot.cards()
    disp = _data(bot.buttons(card), "disp")
    await bot.owner.tap(disp, 1)
    await bot.owner.send("Livraison incomplète")
    bot.api.clear()
    await bot.owner.send("/digest")
    assert bot.cards() == []
    await bot.owner.send("/reprendre F-2026-001")
    # The same step is not proposed twice on one day: it comes back on the next business day.
    bot.services.core.ctx.clock = Clock(bot.services.tz, date(2026, 11, 25))
    bot.api.clear()
    await bot.owner.send("/digest")
    cards = bot.cards()
    assert len(cards) == 1 and "F-2026-001" in cards[0].params["text"]


async def test_english_aliases_and_strings(bot: BotHarness) -> None:
    """/disputes and /resume work for an English owner, with English labels."""
    _seed(bot)
    bot.owner.language = "en"
    await bot.owner.send("/disputes")
    (card,) = bot.cards()
    assert [b["text"] for b in bot.buttons(card)] == ["▶️ Resume reminders", "🗑 Write off"]
    assert "Reason: Livraison incomplète" in card.params["text"]
    await bot.owner.send("/resume F-2026-001")
    assert bot.api.of("sendMessage")[-1].params["text"] == "▶️ Dispute closed: invoice F-2026-001 is chased again."


async def test_menu_and_help_list_the_commands(bot: BotHarness) -> None:
    """The command menu (French and English) and /aide, /help name the dispute commands."""
    await set_commands(bot.app)
    fr, en = bot.api.of("setMyCommands")
    names_fr = [c["command"] for c in json.loads(json.dumps(fr.params["commands"]))]
    names_en = [c["command"] for c in json.loads(json.dumps(en.params["commands"]))]
    assert {"litiges", "reprendre"} <= set(names_fr)
    assert {"disputes", "resume"} <= set(names_en)
    await bot.owner.send("/aide")
    assert "/litiges" in bot.api.of("sendMessage")[-1].params["text"]
    assert "/reprendre NUMERO" in bot.api.of("sendMessage")[-1].params["text"]
    bot.owner.language = "en"
    await bot.owner.send("/help")
    assert "/disputes" in bot.api.of("sendMessage")[-1].params["text"]
