"""/virements (Telegram) and `/relance virements` (Slack): the doubtful credits still waiting come back as cards,
the settled ones no longer; with none waiting, the owner is told so. Reading changes nothing."""

from __future__ import annotations

from pathlib import Path

from services.statements_chat import doubtful_cards, ignore_line
from tests.bot_harness import BotHarness
from tests.integration.slack_helpers import OWNER, database_digest, slack_app
from tests.integration.test_statements_chat import seed_invoices
from tests.samples.statements import camt053


def _p1(buttons: list[dict[str, str]]) -> set[str]:
    return {b["callback_data"].split(":")[1] for b in buttons if b["callback_data"].startswith("p1:")}


async def test_telegram_transfers_lists_the_waiting_credits_then_none(bot: BotHarness) -> None:
    """/virements before any statement: none waiting; after a CAMT with a doubtful 75,50 € credit: the title and its
    card again (Oui / Autre facture / Ignorer), nothing written; once ignored, none waiting again; /transfers too."""
    bid = bot.services.business_id
    await bot.owner.send("/virements")
    assert bot.api.texts()[-1].startswith("Aucun virement en attente")
    seed_invoices(bot.engine, bid)
    bot.api.files["st"] = camt053()
    await bot.owner.send_document("releve.xml", len(camt053()), "st")
    before = database_digest(bot.engine)
    bot.api.clear()
    await bot.owner.send("/virements")
    sent = bot.api.of("sendMessage")
    assert "1 virement(s) à rapprocher" in sent[0].params["text"]
    (card,) = bot.cards()
    assert "75,50" in card.params["text"] and "C'est la facture FA-78" in card.params["text"]
    assert _p1(bot.buttons(card)) == {"yes", "alt", "ign"}
    assert database_digest(bot.engine) == before
    (doubt,), _ = doubtful_cards(bot.engine, bid)
    ignore_line(bot.engine, bid, doubt.row_id, actor="test")
    bot.api.clear()
    await bot.owner.send("/transfers")
    assert bot.api.texts() == [
        "Aucun virement en attente : tous les virements des relevés importés ont été rapprochés ou écartés."
    ]
    assert bot.cards() == []


async def test_telegram_help_lists_virements(bot: BotHarness) -> None:
    """/aide names /virements."""
    await bot.owner.send("/aide")
    assert "/virements : les virements des relevés bancaires" in bot.api.texts()[-1]


async def test_slack_virements_lists_the_waiting_credits_then_none(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance virements`: none waiting at first; after a shared CAMT, the doubtful credit's card again with its
    p1: buttons; once ignored, none waiting again; `aide` names the subcommand."""
    async with slack_app(sqlite_url, tmp_path) as h:
        bid = h.presenter.business_id
        await h.slack.aio.slash(OWNER, "virements")
        await h.answer("Aucun virement en attente")
        seed_invoices(h.engine, bid)
        await h.slack.aio.share_file(OWNER, "releve.xml", camt053())
        await h.answer("C'est la facture FA-78")
        await h.settle()
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "virements")
        await h.answer("1 virement(s) à rapprocher", after=after)
        card = await h.answer("C'est la facture FA-78", after=after)
        ids = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        assert {i.split(":")[1] for i in ids} == {"yes", "alt", "ign"}
        (doubt,), _ = doubtful_cards(h.engine, bid)
        ignore_line(h.engine, bid, doubt.row_id, actor="test")
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "transfers")
        await h.answer("Aucun virement en attente", after=after)
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "aide")
        assert (
            "/relance virements : les virements des relevés bancaires"
            in (await h.answer("Commandes", after=after)).plain
        )
