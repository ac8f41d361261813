"""Every invoice state in words in both chats: /client and /factures (Slack `/relance client`, `factures`) name
each state with the amounts, /status counts the invoices per state, and an action the state does not allow gets a
French message naming the state while nothing at all is written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from dunning.invoice_states import CreditNote
from storage.db import write_session
from storage.invoice_status import apply_to_invoice
from storage.models import Business, Invoice
from storage.reminders import close_dispute, open_dispute, record_payment, record_promise
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice
from tests.integration.slack_helpers import OWNER, database_digest, slack_app

TODAY = date(2026, 11, 24)
NBSP = "\u00a0"


def _seed(engine: Engine) -> None:
    """Client "Atelier Lune SARL" with one invoice of 1 000,00 € in each state the chats can reach."""
    with write_session(engine) as s:
        business = s.exec(select(Business)).first()
        assert business is not None and business.id is not None
        bid = business.id
        client = make_client(s, business, name="Atelier Lune SARL")

        def invoice(number: str) -> int:
            inv = make_invoice(s, client, due=date(2026, 11, 10), amount="1000.00", number=number)
            assert inv.id is not None
            return inv.id

        invoice("F-OPEN")
        partly, paid = invoice("F-PART"), invoice("F-PAID")
        disputed, promised, lost, credited = invoice("F-LIT"), invoice("F-PROM"), invoice("F-PERTE"), invoice("F-AV")
        record_payment(s, business_id=bid, invoice_ids=[partly], amount=Decimal("400.00"), paid_on=TODAY, actor="t")
        record_payment(s, business_id=bid, invoice_ids=[paid], amount=None, paid_on=TODAY, actor="t")
        open_dispute(s, business_id=bid, invoice_ids=[disputed], reason="Livraison", actor="t")
        record_promise(s, business_id=bid, invoice_ids=[promised], until=date(2026, 12, 5), today=TODAY, actor="t")
        open_dispute(s, business_id=bid, invoice_ids=[lost], reason="Faillite", actor="t")
        close_dispute(s, business_id=bid, invoice_id=lost, actor="t", outcome="written_off")
        credit = s.get(Invoice, credited)
        assert credit is not None
        apply_to_invoice(s, credit, CreditNote(Decimal("1000.00"), TODAY), actor="t")


AMOUNT = f"1{NBSP}000,00{NBSP}€"
CLIENT_LINES = [
    f"F-OPEN · Atelier Lune SARL · {AMOUNT} · échéance 10/11/2026 · ",
    "14 j de retard",
    " · ouverte\n",
    f"F-PART · Atelier Lune SARL · reste 600,00{NBSP}€ sur {AMOUNT} · échéance 10/11/2026",
    "· partiellement payée",
    f"F-PAID · Atelier Lune SARL · {AMOUNT} · échéance 10/11/2026 · payée",
    "F-LIT · Atelier Lune SARL",
    "· en litige",
    "· promesse de paiement au 05/12/2026",
    f"F-PERTE · Atelier Lune SARL · {AMOUNT} · échéance 10/11/2026 · passée en perte",
    f"F-AV · Atelier Lune SARL · {AMOUNT} · échéance 10/11/2026 · annulée par avoir",
]
BY_STATE = (
    "Factures par état : ouverte : 1 · partiellement payée : 1 · payée : 1 · en litige : 1 · "
    "sous promesse de paiement : 1 · passée en perte : 1 · annulée par avoir : 1"
)
REFUSED_PAYMENT = "La facture F-PERTE est passée en perte : il n'y a plus rien à régler."
REFUSED_RESUME = "La facture F-PAID n'est pas en litige (elle est payée) : rien n'a été modifié."


async def test_telegram_shows_each_state_in_words(bot: BotHarness) -> None:
    """/client lists every state in words with the amounts, /factures the open ones, /status the count per state;
    /payee on a written-off invoice and /reprendre on a paid one are refused in French, nothing written."""
    _seed(bot.engine)
    await bot.owner.send("/client Atelier Lune")
    shown = bot.api.of("sendMessage")[-1].params["text"]
    for line in CLIENT_LINES:
        assert line in shown, (line, shown)
    bot.api.clear()
    await bot.owner.send("/factures")
    listed = bot.api.of("sendMessage")[-1].params["text"]
    assert "F-OPEN" in listed and "· partiellement payée" in listed and "promesse de paiement au 05/12/2026" in listed
    assert "F-PAID" not in listed and "F-PERTE" not in listed and "F-AV" not in listed
    bot.api.clear()
    await bot.owner.send("/status")
    assert BY_STATE in bot.api.texts()[0]
    before = database_digest(bot.engine)
    bot.api.clear()
    await bot.owner.send("/payee F-PERTE")
    await bot.owner.send("/reprendre F-PAID")
    assert bot.api.texts()[:2] == [REFUSED_PAYMENT, REFUSED_RESUME]
    assert database_digest(bot.engine) == before


async def test_slack_shows_each_state_in_words(sqlite_url: str, tmp_path: Path) -> None:
    """The same in Slack: `client`, `factures`, `status`, and the refused `payee` / `reprendre`."""
    async with slack_app(sqlite_url, tmp_path) as h:
        _seed(h.engine)
        await h.slack.aio.slash(OWNER, "client Atelier Lune")
        shown = (await h.answer("Historique des relances")).plain
        for line in CLIENT_LINES:
            assert line in shown, (line, shown)
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "factures")
        listed = (await h.answer("Factures ouvertes", after=after)).plain
        assert "· partiellement payée" in listed and "F-PERTE" not in listed
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "status")
        assert BY_STATE in (await h.answer("Tableau de bord", after=after)).plain
        before = database_digest(h.engine)
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "payee F-PERTE")
        assert REFUSED_PAYMENT in (await h.answer("F-PERTE", after=after)).plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "reprendre F-PAID")
        assert REFUSED_RESUME in (await h.answer("F-PAID", after=after)).plain
        assert database_digest(h.engine) == before
