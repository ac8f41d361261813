"""Replies by e-mail end to end: `relance run` as a process with the fake Bot API, a real SMTP server and a real IMAP
server (Dovecot, the replies' tests fixture): a reminder is sent, the client answers it (IMAP APPEND), the card
reaches the owner's chat, 🤝 Promesse accepts the date found, the next digest proposes nothing for that client, and
the evidence file holds the reply under courriels-recus/."""

from __future__ import annotations

import email
import email.policy
import io
import zipfile
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import BotEnv, Launch
from tests.e2e.fakebot import FakeBotAccount, StoredMessage
from tests.e2e.support import OWNER, invoice_row, invoices_csv, last_message_id, wait_digest
from tests.integration import mail_samples as samples
from tests.integration.imap_server import DovecotServer
from tests.integration.smtp_server import ScriptedSmtpServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """The replies' Dovecot server on loopback (skipped, or failed with RELANCE_REQUIRE_IMAP=1, without Dovecot)."""
    from tests.integration.conftest import _dovecot

    yield from _dovecot(tls=False)


async def _press(tg: FakeBotAccount, message: StoredMessage, label: str) -> str:
    tap = tg.press(message, label)
    state = await tg.wait_for(lambda: (s := tg.tap_state(tap.id)).answered and s, what=f"the answer to {label!r}")
    return state.answer_text or ""


async def test_a_reply_reaches_the_chat_and_promise_holds_the_ladder(
    bot_env: BotEnv, tg: FakeBotAccount, smtp: ScriptedSmtpServer, dovecot: DovecotServer, launch: Launch
) -> None:
    """Envoyer mails F-2026-101; the client's answer to that e-mail, put in the mailbox, comes to the chat as a card
    within seconds (IDLE); ✅ Le 15/12/2026 records the promise; /digest then has no card for that client; /preuves
    joins the reply's .eml."""
    bot_env.env.update({"IMAP_HOST": "127.0.0.1", "IMAP_PORT": str(dovecot.port), "IMAP_USERNAME": dovecot.user,
                        "IMAP_PASSWORD": dovecot.password, "IMAP_SECURITY": "none"})  # fmt: skip
    bot_env.import_csv(invoices_csv())
    launch(bot_env, ready=lambda _: tg.is_polling, what="poll the fake Bot API")
    digest = await wait_digest(tg, OWNER, 0)
    card = digest.card_for("F-2026-101")
    await _press(tg, card, "Envoyer")
    sent = await tg.wait_for(lambda: smtp.accepted and smtp.accepted[0], what="the reminder e-mail")
    ours = email.message_from_bytes(sent.data, policy=email.policy.default)

    before = last_message_id(tg, OWNER)
    dovecot.append(samples.gmail_reply_fr(sender="Compta Martin <compta@martin.example>",
                                          in_reply_to=str(ours["Message-ID"]), message_id="<e2e-1@martin.example>",
                                          subject=f"Re: {ours['Subject']}"))  # fmt: skip
    reply_card = await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(OWNER) if m.message_id > before and "Réponse de" in m.shown), None),
        what="the reply card",
        timeout=30,
    )
    assert "Boulangerie Martin" in reply_card.shown and "Je vous règle le 15 décembre" in reply_card.shown
    await _press(tg, reply_card, "Promesse")
    menu = await tg.wait_for(
        lambda: (m := tg.message(OWNER, reply_card.message_id)) and "15/12/2026" in " ".join(m.button_labels) and m,
        what="the proposed date",
    )
    await _press(tg, menu, "15/12/2026")
    await tg.wait_for(
        lambda: "promesse de paiement enregistrée" in (tg.message(OWNER, reply_card.message_id) or reply_card).shown,
        what="the handled card",
    )
    row = invoice_row(bot_env.db_path, "F-2026-101")
    assert (row["state"], str(row["promised_until"])) == ("promised", "2026-12-15")

    before = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/digest")
    again = await wait_digest(tg, OWNER, before)
    assert not [c for c in again.cards if "Boulangerie Martin" in c.shown]

    before = last_message_id(tg, OWNER)
    tg.send_text(OWNER, "/preuves F-2026-101")
    document = await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(OWNER) if m.message_id > before and m.document), None),
        what="the evidence file",
        timeout=30,
    )
    assert document.document is not None
    names = zipfile.ZipFile(io.BytesIO(tg.file_content(document.document["file_id"]))).namelist()
    assert any(n.startswith("courriels-recus/") and n.endswith(".eml") for n in names), names
