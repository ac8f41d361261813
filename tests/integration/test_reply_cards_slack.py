"""Replies by e-mail in Slack, through the emulator: the reply card reaches the owner's DM as soon as the mailbox keeps
the message; Payée, Promesse (the date found already picked in the modal), Litige (the client's text prefilled),
Répondre (the answer drafted, then sent once with In-Reply-To) and Rien à faire act through the same services as
Telegram; a stale click or a modal submitted twice hears "Déjà traité."; a bounce asks for a new address with
`/relance client NOM email …`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from dunning.states import InvoiceState
from services import replies
from storage.db import read_session, write_session
from storage.models import Business, Client, Invoice, Outbox, ReceivedEmail, Reminder
from tests.e2e.fakeslack.state import Message
from tests.factories import make_client, make_invoice, make_reminder
from tests.integration import mail_samples as samples
from tests.integration.slack_helpers import OWNER, evidence
from tests.integration.test_slack_app import Running, adapter_running

ACTOR = f"slack:{OWNER}"


def _seed(r: Running) -> dict[str, int]:
    """Menuiserie Martin owes F-2026-0042; its reminder left with the Message-ID the samples answer."""
    with write_session(r.engine) as s:
        business = s.exec(select(Business)).first()
        assert business is not None
        client = make_client(s, business, name="Menuiserie Martin", emails="jean@client.example")
        inv = make_invoice(s, client, due=date(2026, 10, 15), number="F-2026-0042", amount="1200.00")
        rem = make_reminder(s, client, [inv], state="sent", planned_date=date(2026, 11, 20))
        s.add(Outbox(business_id=business.id, reminder_id=rem.id, state="sent", message_id=samples.RELANCE_ID,
                     mail_from="factures@atelier.example", recipients="jean@client.example",
                     subject="Facture F-2026-0042 : rappel", raw_message=b"Subject: x\r\n\r\nx\r\n"))  # fmt: skip
        assert client.id and inv.id and rem.id
        return {"client": client.id, "invoice": inv.id, "reminder": rem.id}


async def _arrives(r: Running, raw: bytes) -> Message:
    """The mailbox keeps `raw` and tells the adapter: the card in the owner's DM."""
    ingested = replies.ingest(r.presenter.ctx, raw)
    assert ingested.status == "stored"
    await r.adapter.on_mail_received(ingested)
    return r.slack.messages(r.dm())[-1]


def _button(message: Message, action: str) -> str:
    for block in message.blocks:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if str(element["action_id"]).startswith(f"m1:{action}:"):
                return str(element["action_id"])
    raise LookupError(f"no m1:{action} button")


def _invoice(r: Running, invoice_id: int) -> Invoice:
    with read_session(r.engine) as s:
        inv = s.get(Invoice, invoice_id)
        assert inv is not None
        return inv


def _received(r: Running) -> ReceivedEmail:
    with read_session(r.engine) as s:
        return s.exec(select(ReceivedEmail).order_by(col(ReceivedEmail.id))).first()  # type: ignore[return-value]


async def _modal(r: Running, card: Message, action: str) -> Any:
    await r.slack.aio.click(OWNER, r.dm(), card.ts, _button(card, action))
    return await r.slack.aio.wait_for(lambda: (v := r.slack.views_of(OWNER)) and v[-1], what="the modal")


async def test_the_card_reaches_the_dm_and_paid_acts_once(sqlite_url: str, tmp_path: Path) -> None:
    """The reply card (client, invoice, the reply's text, five buttons) is posted in the DM when the message is
    kept; 💶 Payée pays the invoice and closes the reply (logged for slack:<uid>); a click on the stale copy of the
    card hears "Déjà traité." and pays nothing more."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        ids = _seed(r)
        card = await _arrives(r, samples.gmail_reply_fr())
        assert "Réponse de Menuiserie Martin" in card.plain and "Je vous règle le 15 décembre" in card.plain
        labels = [e["text"]["text"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        assert labels == ["💶 Payée", "🤝 Promesse", "⚖️ Litige", "↩️ Répondre", "👌 Rien à faire"]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, _button(card, "pay"))
        await r.slack.aio.wait_for(lambda: "Traité : 💶 payée" in r.slack.message(r.dm(), card.ts).plain,
                                   what="the handled card")  # fmt: skip
        assert _invoice(r, ids["invoice"]).state == InvoiceState.PAID
        assert [e.actor for e in evidence(r.engine, "reply_handled")] == [ACTOR]
        await r.slack.aio.click(OWNER, r.dm(), card.ts, _button(card, "pay"), shown=card)
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert len(evidence(r.engine, "payment_recorded")) == 1


async def test_promise_modal_has_the_date_found_and_acts_once(sqlite_url: str, tmp_path: Path) -> None:
    """🤝 Promesse opens a modal with 15/12/2026 (found in the text) already picked: submitted as is, the invoice is
    promised until then; the modal submitted again hears "Déjà traité."."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        ids = _seed(r)
        card = await _arrives(r, samples.gmail_reply_fr())
        view = await _modal(r, card, "prom")
        assert view.body["blocks"][0]["element"]["initial_date"] == "2026-12-15"
        assert await r.slack.aio.submit_view(OWNER, view.id, {}) == {}
        await r.slack.aio.wait_for(lambda: "promesse de paiement enregistrée" in r.slack.message(r.dm(), card.ts).plain,
                                   what="the handled card")  # fmt: skip
        inv = _invoice(r, ids["invoice"])
        assert (inv.state, inv.promised_until) == (InvoiceState.PROMISED, date(2026, 12, 15))
        await r.slack.aio.submit_view(OWNER, view.id, {}, closed_ok=True)
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")


async def test_dispute_modal_checks_the_reason_then_disputes(sqlite_url: str, tmp_path: Path) -> None:
    """⚖️ Litige: the client's text is prefilled; an empty reason stays in the modal with its error and changes
    nothing; a reason typed is recorded on the invoice."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        ids = _seed(r)
        card = await _arrives(r, samples.outlook_reply_en())
        view = await _modal(r, card, "disp")
        assert "The delivery was incomplete" in view.body["blocks"][0]["element"]["initial_value"]
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"reason": {"reason": "  "}})
        assert ack.get("response_action") == "errors" and list(ack["errors"]) == ["reason"]
        assert _received(r).state == "open"
        assert await r.slack.aio.submit_view(OWNER, view.id, {"reason": {"reason": "Livraison incomplète"}}) == {}
        await r.slack.aio.wait_for(lambda: _invoice(r, ids["invoice"]).state == InvoiceState.DISPUTED,
                                   what="the dispute")  # fmt: skip
        assert _invoice(r, ids["invoice"]).dispute_reason == "Livraison incomplète"


async def test_answer_is_drafted_then_sent_once_with_in_reply_to(sqlite_url: str, tmp_path: Path) -> None:
    """↩️ Répondre: the answer typed in the modal becomes a draft card (Envoyer) in the DM; nothing leaves before the
    click; Envoyer sends it once, In-Reply-To set to the client's message."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        _seed(r)
        card = await _arrives(r, samples.gmail_reply_fr())
        view = await _modal(r, card, "ans")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"answer": {"answer": ""}})
        assert list(ack["errors"]) == ["answer"]
        assert await r.slack.aio.submit_view(OWNER, view.id, {"answer": {"answer": "Merci, c'est noté."}}) == {}
        draft = await r.slack.aio.wait_for(
            lambda: next((m for m in r.slack.messages(r.dm()) if "Merci, c'est noté." in m.plain), None),
            what="the draft card",
        )
        assert r.delivery.sent == []
        send = next(str(e["action_id"]) for b in draft.blocks if b["type"] == "actions" for e in b["elements"]
                    if str(e["action_id"]).startswith("r1:send:"))  # fmt: skip
        await r.slack.aio.click(OWNER, r.dm(), draft.ts, send)
        await r.slack.aio.wait_for(lambda: r.delivery.sent, what="the answer sent")
        (request,) = r.delivery.sent
        assert request.draft.in_reply_to == "<g1@mail.gmail.com>"  # type: ignore[attr-defined]
        assert request.draft.subject == "Re: Facture F-2026-0042 : rappel"
        with read_session(r.engine) as s:
            assert s.exec(select(Reminder).where(Reminder.kind == "reply")).one().state == "sent"


async def test_nothing_to_do_and_the_replies_command(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance reponses` shows the open reply; 👌 Rien à faire closes it (the ladder released); then the command
    says there is none."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        ids = _seed(r)
        await _arrives(r, samples.gmail_reply_fr())
        await r.slack.aio.slash(OWNER, "reponses")
        await r.slack.aio.wait_for(
            lambda: [m for m in r.slack.messages(r.dm()) if "attendent votre décision" in m.plain], what="the list"
        )
        # the original card, then the header, then the card again
        await r.slack.aio.wait_for(lambda: len(r.slack.messages(r.dm())) == 3, what="the card after the header")
        card = r.slack.messages(r.dm())[-1]
        assert "Réponse de Menuiserie Martin" in card.plain
        await r.slack.aio.click(OWNER, r.dm(), card.ts, _button(card, "none"))
        await r.slack.aio.wait_for(lambda: _received(r).state == "handled", what="the reply handled")
        assert replies.clients_awaiting_owner(r.presenter.ctx) == set()
        assert _invoice(r, ids["invoice"]).state == InvoiceState.OPEN
        await r.slack.aio.slash(OWNER, "reponses")
        await r.slack.aio.wait_for(
            lambda: any("Aucune réponse de client en attente." in m.plain for m in r.slack.messages(r.dm())),
            what="none left",
        )


async def test_bounce_then_new_address_offers_the_reminder_again(sqlite_url: str, tmp_path: Path) -> None:
    """The bounce card names the refused address and tells `/relance client … email …`; the command records the new
    address, closes the bounce and posts the failed reminder's card, whose Envoyer sends to the new address."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        ids = _seed(r)
        card = await _arrives(r, samples.postfix_bounce())
        assert "L'adresse jean@client.example a été refusée par le serveur" in card.plain
        assert "/relance client Menuiserie Martin email nouvelle@adresse.fr" in card.plain
        await r.slack.aio.slash(OWNER, "client Menuiserie Martin email nouveau@client.example")
        again = await r.slack.aio.wait_for(
            lambda: next((m for m in r.slack.messages(r.dm())
                          if any(b["type"] == "actions" for b in m.blocks) and m.ts != card.ts), None),
            what="the reminder's card",
        )  # fmt: skip
        with read_session(r.engine) as s:
            client = s.get(Client, ids["client"])
            assert client is not None and client.emails == "nouveau@client.example"
        assert (_received(r).state, _received(r).outcome) == ("handled", "new_address")
        send = next(str(e["action_id"]) for b in again.blocks if b["type"] == "actions" for e in b["elements"]
                    if str(e["action_id"]).startswith("r1:send:"))  # fmt: skip
        await r.slack.aio.click(OWNER, r.dm(), again.ts, send)
        await r.slack.aio.wait_for(lambda: r.delivery.sent, what="the reminder sent again")
        assert r.delivery.sent[0].recipients == ("nouveau@client.example",)


async def test_a_refused_mailbox_login_is_told_in_the_dm(sqlite_url: str, tmp_path: Path) -> None:
    """A refused IMAP login reported by the watcher: one message in the owner's DM naming the settings to check,
    without the server's words."""
    from services.mailbox import MailboxProblem

    async with adapter_running(sqlite_url, tmp_path) as r:
        await r.adapter.on_mailbox_problem(MailboxProblem("auth", "AUTHENTICATIONFAILED secret-user"))
        (told,) = r.slack.messages(r.dm())
        assert "IMAP_USERNAME et IMAP_PASSWORD" in told.plain and "secret-user" not in told.plain
