"""↩️ Répondre through the real outbox and an SMTP server on loopback: the owner's answer leaves once, threaded
under the client's message (In-Reply-To and References read by the server), never twice however often Envoyer is
tapped."""

from __future__ import annotations

import email
from datetime import date
from email import policy
from pathlib import Path

from sqlmodel import select

from bot.runtime import start_sender
from bot.settings import smtp_config
from services import replies
from services.delivery import OutboxDelivery
from storage.db import make_engine, read_session, write_session
from storage.models import Business, Outbox
from tests.bot_harness import bot_settings, start_harness, stop_harness
from tests.factories import make_client, make_invoice, make_reminder
from tests.integration import mail_samples as samples
from tests.integration.smtp_server import ScriptedSmtpServer


async def test_the_answer_leaves_once_with_in_reply_to(
    sqlite_url: str, tmp_path: Path, smtp_server: ScriptedSmtpServer
) -> None:
    """A Gmail reply arrives; the owner answers it from the card and taps Envoyer twice: the SMTP server receives
    one message, to the client, "Re: <their subject>", In-Reply-To their Message-ID, References the thread."""
    settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), SMTP_HOST="127.0.0.1",
                            SMTP_PORT=smtp_server.port, SMTP_SECURITY="none", SMTP_TIMEOUT=30)  # fmt: skip
    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, settings, OutboxDelivery(smtp_config(settings)))
    sender = await start_sender(settings, bot.services.core, [bot.adapter])
    try:
        with write_session(engine) as s:
            business = s.get(Business, bot.services.business_id)
            assert business is not None
            client = make_client(s, business, name="Menuiserie Martin", emails="jean@client.example")
            inv = make_invoice(s, client, due=date(2026, 10, 15), number="F-2026-0042")
            rem = make_reminder(s, client, [inv], state="sent", planned_date=date(2026, 11, 20))
            s.add(Outbox(business_id=business.id, reminder_id=rem.id, state="sent", message_id=samples.RELANCE_ID,
                         mail_from="factures@atelier.example", recipients="jean@client.example",
                         subject="Facture F-2026-0042 : rappel", raw_message=b"x"))  # fmt: skip
        ingested = replies.ingest(bot.services.ctx, samples.gmail_reply_fr())
        await bot.adapter.on_mail_received(ingested)
        (card,) = bot.cards()
        answer = next(b["callback_data"] for b in bot.buttons(card) if b["callback_data"].startswith("m1:ans:"))
        await bot.owner.tap(answer)
        await bot.owner.send("Bonjour,\n\nBien reçu, merci : nous attendons votre virement le 15 décembre.")
        draft = bot.cards()[-1]
        send = next(b["callback_data"] for b in bot.buttons(draft) if b["callback_data"].startswith("r1:send:"))
        await bot.owner.tap(send)
        await bot.owner.tap(send)
        await sender.settle()
        (received,) = smtp_server.accepted
        msg = email.message_from_bytes(received.data, policy=policy.default)
        assert msg["To"] == "jean@client.example"
        assert msg["Subject"] == "Re: Facture F-2026-0042 : rappel"
        assert msg["In-Reply-To"] == "<g1@mail.gmail.com>"
        assert msg["References"] == f"{samples.RELANCE_ID} <g1@mail.gmail.com>"
        body = msg.get_body(("plain",))
        assert body is not None and "nous attendons votre virement le 15 décembre" in body.get_content()
        with read_session(engine) as s:
            assert len(s.exec(select(Outbox)).all()) == 2  # the reminder's and the answer's, one each
    finally:
        await sender.settle()
        await stop_harness(bot)
        engine.dispose()
