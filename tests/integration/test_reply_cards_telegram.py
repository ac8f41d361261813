"""Replies by e-mail in Telegram, by transcript: a client's reply (or a bounce) kept by the mailbox reaches the owner
as a card at once; each button (Payée, Promesse, Litige, Répondre, Rien à faire) acts once and closes the reply with
its evidence; a stale tap hears "Déjà traité."; the answer leaves with In-Reply-To; a bounce asks for a new address
(`/client NOM email …`), after which the reminder can be sent again to it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlmodel import col, select

from dunning.states import InvoiceState, ReminderState
from services import replies
from storage.db import read_session, write_session
from storage.models import Business, Client, EvidenceEntry, Invoice, Outbox, ReceivedEmail, Reminder
from tests.bot_harness import OWNER, BotHarness, Call
from tests.factories import make_client, make_invoice, make_reminder
from tests.integration import mail_samples as samples


@pytest.fixture
def seeded(bot: BotHarness) -> dict[str, int]:
    """Menuiserie Martin owes F-2026-0042 (1 200 €); its reminder left with the Message-ID the samples answer."""
    with write_session(bot.engine) as s:
        business = s.get(Business, bot.services.business_id)
        assert business is not None
        client = make_client(s, business, name="Menuiserie Martin", emails="jean@client.example")
        inv = make_invoice(s, client, due=date(2026, 10, 15), number="F-2026-0042", amount="1200.00")
        rem = make_reminder(s, client, [inv], state="sent", planned_date=date(2026, 11, 20))
        s.add(Outbox(business_id=business.id, reminder_id=rem.id, state="sent", message_id=samples.RELANCE_ID,
                     mail_from="factures@atelier.example", recipients="jean@client.example",
                     subject="Facture F-2026-0042 : rappel", raw_message=b"Subject: x\r\n\r\nx\r\n"))  # fmt: skip
        assert client.id and inv.id and rem.id
        return {"client": client.id, "invoice": inv.id, "reminder": rem.id}


async def _arrives(bot: BotHarness, raw: bytes) -> Call:
    """The mailbox keeps `raw`; the adapter is told (as the runtime's watcher does): the card sent to the owner."""
    ingested = replies.ingest(bot.services.ctx, raw)
    assert ingested.status == "stored"
    bot.api.clear()
    await bot.adapter.on_mail_received(ingested)
    (card,) = bot.cards()
    assert int(card.params["chat_id"]) == OWNER
    return card


def _data(bot: BotHarness, call: Call, action: str) -> str:
    return next(b["callback_data"] for b in bot.buttons(call) if b["callback_data"].split(":")[1] == action)


def _invoice(bot: BotHarness, invoice_id: int) -> Invoice:
    with read_session(bot.engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        return inv


def _received(bot: BotHarness) -> list[ReceivedEmail]:
    with read_session(bot.engine) as s:
        return list(s.exec(select(ReceivedEmail).order_by(col(ReceivedEmail.id))).all())


def _kinds(bot: BotHarness) -> list[str]:
    with read_session(bot.engine) as s:
        return list(s.exec(select(EvidenceEntry.kind).order_by(col(EvidenceEntry.seq))).all())


def _answers(bot: BotHarness) -> list[Any]:
    return [c.params.get("text") for c in bot.api.of("answerCallbackQuery")]


async def test_a_reply_reaches_the_owner_at_once_as_a_card(bot: BotHarness, seeded: dict[str, int]) -> None:
    """The card names the client, the invoice and its balance, quotes the reply's own text (no history), proposes
    the date found in it, and offers the five buttons, each `m1:<action>:<id>:<version>` within 64 bytes."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    text = str(card.params["text"])
    assert "Réponse de Menuiserie Martin" in text
    assert "F-2026-0042 · reste dû 1\xa0200,00\xa0€" in text
    assert "Je vous règle le 15 décembre sans faute." in text and "a écrit" not in text
    assert "15/12/2026" in text
    labels = [b["text"] for b in bot.buttons(card)]
    assert labels == ["💶 Payée", "🤝 Promesse", "⚖️ Litige", "↩️ Répondre", "👌 Rien à faire"]
    assert all(b["callback_data"].startswith("m1:") and len(b["callback_data"]) <= 64 for b in bot.buttons(card))


async def test_paid_records_the_payment_and_closes_the_reply_once(bot: BotHarness, seeded: dict[str, int]) -> None:
    """💶 Payée pays the invoice in full and closes the reply in the same transaction (payment and reply_handled in
    the log); the same tap again hears "Déjà traité." and writes nothing."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    data = _data(bot, card, "pay")
    await bot.owner.tap(data)
    assert _invoice(bot, seeded["invoice"]).state == InvoiceState.PAID
    [row] = _received(bot)
    assert (row.state, row.outcome) == ("handled", "paid")
    kinds = _kinds(bot)
    assert "reply_handled" in kinds and "payment_recorded" in kinds
    edited = bot.api.of("editMessageText")[-1]
    assert "✅ Traité : 💶 payée." in edited.params["text"] and not bot.buttons(edited)
    await bot.owner.tap(data)
    assert _answers(bot)[-1] == "Déjà traité."
    assert _kinds(bot) == kinds


async def test_promise_accepts_the_date_found_in_one_tap(bot: BotHarness, seeded: dict[str, int]) -> None:
    """🤝 Promesse shows the date found ("le 15 décembre"); ✅ accepts it: the invoice is promised until then."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    await bot.owner.tap(_data(bot, card, "prom"))
    menu = bot.api.of("editMessageText")[-1]
    assert "<b>15/12/2026</b>" in menu.params["text"]
    assert [b["text"] for b in bot.buttons(menu)] == ["✅ Le 15/12/2026", "✏️ Autre date", "↩️ Retour"]
    await bot.owner.tap(_data(bot, menu, "proma"))
    inv = _invoice(bot, seeded["invoice"])
    assert (inv.state, inv.promised_until) == (InvoiceState.PROMISED, date(2026, 12, 15))
    assert _received(bot)[0].outcome == "promise"
    assert replies.clients_awaiting_owner(bot.services.ctx) == set()


async def test_promise_with_another_typed_date(bot: BotHarness, seeded: dict[str, int]) -> None:
    """✏️ Autre date asks for the date; a bad one is explained and the question stays open; a good one is recorded."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    await bot.owner.tap(_data(bot, card, "prom"))
    await bot.owner.tap(_data(bot, bot.api.of("editMessageText")[-1], "promt"))
    assert "À quelle date le client s'engage-t-il à payer" in bot.api.texts()[-1]
    await bot.owner.send("31/02")
    assert "n'est pas une date valide" in bot.api.texts()[-1]
    assert _received(bot)[0].state == "open"
    await bot.owner.send("20/12/2026")
    assert _invoice(bot, seeded["invoice"]).promised_until == date(2026, 12, 20)
    assert "Promesse de paiement au 20/12/2026 enregistrée" in " ".join(bot.api.texts()[-3:])


async def test_dispute_takes_the_clients_text_or_a_typed_reason(bot: BotHarness, seeded: dict[str, int]) -> None:
    """⚖️ Litige proposes the reply's text as the reason; ✅ keeps it: the invoice is disputed with it."""
    card = await _arrives(bot, samples.outlook_reply_en())
    await bot.owner.tap(_data(bot, card, "disp"))
    menu = bot.api.of("editMessageText")[-1]
    assert "The delivery was incomplete" in menu.params["text"]
    await bot.owner.tap(_data(bot, menu, "dispa"))
    inv = _invoice(bot, seeded["invoice"])
    assert inv.state == InvoiceState.DISPUTED
    assert (inv.dispute_reason or "").startswith("Hello, The delivery was incomplete")


async def test_dispute_with_a_typed_reason(bot: BotHarness, seeded: dict[str, int]) -> None:
    """✏️ Autre motif: the owner's reason is recorded instead of the client's text."""
    card = await _arrives(bot, samples.outlook_reply_en())
    await bot.owner.tap(_data(bot, card, "disp"))
    await bot.owner.tap(_data(bot, bot.api.of("editMessageText")[-1], "dispt"))
    await bot.owner.send("Livraison incomplète : deux portes manquantes")
    inv = _invoice(bot, seeded["invoice"])
    assert (inv.state, inv.dispute_reason) == (InvoiceState.DISPUTED, "Livraison incomplète : deux portes manquantes")


async def test_nothing_to_do_closes_the_reply_and_releases_the_ladder(bot: BotHarness, seeded: dict[str, int]) -> None:
    """👌 Rien à faire: the reply is closed (outcome nothing, evidence), the invoice unchanged, the ladder no longer
    held for the client; Retour from a menu changes nothing."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    assert replies.clients_awaiting_owner(bot.services.ctx) == {seeded["client"]}
    await bot.owner.tap(_data(bot, card, "disp"))
    await bot.owner.tap(_data(bot, bot.api.of("editMessageText")[-1], "back"))
    assert _received(bot)[0].state == "open"
    await bot.owner.tap(_data(bot, card, "none"))
    [row] = _received(bot)
    assert (row.state, row.outcome) == ("handled", "nothing")
    assert _invoice(bot, seeded["invoice"]).state == InvoiceState.OPEN
    assert replies.clients_awaiting_owner(bot.services.ctx) == set()


async def test_answer_is_drafted_then_sent_once_with_in_reply_to(bot: BotHarness, seeded: dict[str, int]) -> None:
    """↩️ Répondre: the typed answer becomes a draft (kind reply, "Re: <their subject>", the owner's text) shown with
    Envoyer; nothing leaves before the tap; Envoyer sends it once, threaded under the client's message."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    await bot.owner.tap(_data(bot, card, "ans"))
    assert "Écrivez votre réponse au client" in bot.api.texts()[-1]
    await bot.owner.send("   ")
    assert _received(bot)[0].state == "open"
    await bot.owner.send("Bonjour,\n\nC'est noté pour le 15 décembre, merci.\n\nMarie")
    assert _received(bot)[0].outcome == "answered"
    with read_session(bot.engine) as s:
        draft = s.exec(select(Reminder).where(Reminder.kind == "reply")).one()
    assert draft.edited_subject == "Re: Facture F-2026-0042 : rappel"
    assert draft.edited_body == "Bonjour,\n\nC'est noté pour le 15 décembre, merci.\n\nMarie"
    assert bot.delivery.sent == []
    draft_card = bot.cards()[-1]
    assert "C'est noté pour le 15 décembre" in draft_card.params["text"]
    send = _data(bot, draft_card, "send")
    await bot.owner.tap(send)
    await bot.owner.tap(send)
    (request,) = bot.delivery.sent
    assert request.draft.in_reply_to == "<g1@mail.gmail.com>"  # type: ignore[attr-defined]
    assert request.draft.references == (samples.RELANCE_ID, "<g1@mail.gmail.com>")  # type: ignore[attr-defined]
    assert request.recipients == ("jean@client.example",)
    with read_session(bot.engine) as s:
        linked = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "reply_drafted")).one()
    assert json.loads(linked.payload)["in_reply_to"] == "<g1@mail.gmail.com>"


async def test_a_stale_tap_on_an_old_card_says_already_handled(bot: BotHarness, seeded: dict[str, int]) -> None:
    """After Rien à faire, Payée on the same card (the version it showed) hears "Déjà traité.", pays nothing and
    shows the reply as handled; forged data is refused."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    await bot.owner.tap(_data(bot, card, "none"))
    kinds = _kinds(bot)
    await bot.owner.tap(_data(bot, card, "pay"))
    assert _answers(bot)[-1] == "Déjà traité."
    assert _invoice(bot, seeded["invoice"]).state == InvoiceState.OPEN and _kinds(bot) == kinds
    await bot.owner.tap("m1:pay:999999:0")
    await bot.owner.tap("m1:zap:1:0")
    assert _answers(bot)[-2:] == [
        "Ce bouton n'est pas reconnu ; rien n'a été fait.",
        "Ce bouton n'est pas reconnu ; rien n'a été fait.",
    ]
    assert _kinds(bot) == kinds


async def test_automatic_answer_makes_no_card(bot: BotHarness, seeded: dict[str, int]) -> None:
    """An out-of-office is kept and noted, but the owner gets no card."""
    ingested = replies.ingest(bot.services.ctx, samples.out_of_office())
    assert (ingested.status, ingested.kind) == ("stored", "auto_reply")
    bot.api.clear()
    await bot.adapter.on_mail_received(ingested)
    assert bot.api.of("sendMessage") == []


async def test_replies_command_and_digest_show_the_open_replies(bot: BotHarness, seeded: dict[str, int]) -> None:
    """/reponses lists the open replies (one card each); the digest shows them after the reminders; once handled,
    /reponses says there is none."""
    card = await _arrives(bot, samples.gmail_reply_fr())
    bot.api.clear()
    await bot.owner.send("/reponses")
    assert bot.api.texts()[0] == "📨 1 message(s) de clients attendent votre décision :"
    assert [c.params["text"] for c in bot.cards()] == [card.params["text"]]
    bot.api.clear()
    await bot.owner.send("/digest")
    assert card.params["text"] in bot.api.texts()
    await bot.owner.tap(_data(bot, card, "none"))
    bot.api.clear()
    await bot.owner.send("/reponses")
    assert bot.api.texts() == ["Aucune réponse de client en attente."]


async def test_bounce_asks_for_a_new_address_then_the_reminder_goes_again(
    bot: BotHarness, seeded: dict[str, int]
) -> None:
    """A bounce card names the refused address and the server's reason and tells how to give another; a bad address
    changes nothing; `/client NOM email …` records it, closes the bounce and offers the failed reminder again,
    whose Envoyer sends it to the new address."""
    card = await _arrives(bot, samples.postfix_bounce())
    text = str(card.params["text"])
    assert "L'adresse jean@client.example a été refusée par le serveur" in text
    assert "User unknown" in text
    assert "/client Menuiserie Martin email nouvelle@adresse.fr" in text
    assert [b["text"] for b in bot.buttons(card)] == ["👌 Rien à faire"]
    bot.api.clear()
    await bot.owner.send("/client Menuiserie Martin email pas-une-adresse")
    assert "n'est pas une adresse électronique valide" in bot.api.texts()[-1]
    assert _received(bot)[0].state == "open"
    await bot.owner.send("/client Menuiserie Martin email nouveau@client.example")
    assert "Nouvelle adresse enregistrée : nouveau@client.example" in " ".join(bot.api.texts())
    with read_session(bot.engine) as s:
        client = s.get(Client, seeded["client"])
        assert client is not None and client.emails == "nouveau@client.example" and client.failing_emails == ""
        assert s.get(Reminder, seeded["reminder"]).state == ReminderState.FAILED  # type: ignore[union-attr]
    assert (_received(bot)[0].state, _received(bot)[0].outcome) == ("handled", "new_address")
    again = bot.cards()[-1]
    await bot.owner.tap(_data(bot, again, "send"))
    (request,) = bot.delivery.sent
    assert request.reminder_id == seeded["reminder"] and request.recipients == ("nouveau@client.example",)


async def test_a_refused_mailbox_login_is_told_once_without_the_servers_words(bot: BotHarness) -> None:
    """The watcher reports a refused login: the owner gets one message naming the settings to check, not the
    server's text (which could echo the user name); a connection problem tells nothing."""
    from services.mailbox import MailboxProblem

    bot.api.clear()
    await bot.adapter.on_mailbox_problem(MailboxProblem("auth", "AUTHENTICATIONFAILED secret-user"))
    await bot.adapter.on_mailbox_problem(MailboxProblem("connection", "reset"))
    (told,) = bot.api.of("sendMessage")
    assert int(told.params["chat_id"]) == OWNER
    assert "IMAP_USERNAME et IMAP_PASSWORD" in told.params["text"] and "secret-user" not in told.params["text"]
