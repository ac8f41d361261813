"""Card actions end to end: Modifier, Payée, Litige, Promesse, bad input and the evidence trail, bot as a process."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import Callable
from decimal import Decimal
from email.message import EmailMessage
from typing import Any

import pytest

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.fakebot import FakeBotAccount, StoredMessage
from tests.e2e.support import (
    OWNER,
    Digest,
    cents,
    evidence_rows,
    invoice_row,
    invoices_csv,
    last_message_id,
    reminder_id_of,
    reminder_row,
    reply_with,
    table_count,
    wait_digest,
)
from tests.integration.smtp_server import ScriptedSmtpServer

pytestmark = pytest.mark.e2e

ACTOR = f"owner:{OWNER}"
# Telegram refusals that are harmless for a bot (a refresh that changes nothing); anything else is a bug.
HARMLESS = ("message is not modified",)


# --- helpers ------------------------------------------------------------------------------------------------------


def assert_no_api_errors(tg: FakeBotAccount) -> None:
    """The bot made no Bot API call that Telegram would refuse (bad HTML, too long, bad buttons, unknown method)."""
    errors = [
        f"{c.method}: {c.description}" for c in tg.errors() if not any(h in (c.description or "") for h in HARMLESS)
    ]
    assert errors == [], errors


async def digest_of_the_csv(bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount) -> Digest:
    """Import the test CSV with the CLI, start the bot, and return its catch-up digest (cards 101, 102, 104)."""
    csv_path = bot_env.workdir / "factures.csv"
    csv_path.write_bytes(invoices_csv())
    result = bot_env.cli("import", str(csv_path))
    assert result.returncode == 0, result.stdout + result.stderr
    start_bot()
    return await wait_digest(tg, OWNER, 0)


async def press(tg: FakeBotAccount, message: StoredMessage, label: str) -> str:
    """Tap a button of a message as currently displayed; returns the text of the answer ('' when none)."""
    tap = tg.press(message, label)
    state = await tg.wait_for(lambda: (s := tg.tap_state(tap.id)).answered and s, what=f"the answer to {label!r}")
    return state.answer_text or ""


async def wait_card(tg: FakeBotAccount, card: StoredMessage, text: str) -> StoredMessage:
    """Wait until a card shows `text`; returns the card as displayed."""
    return await tg.wait_for(
        lambda: (m := tg.message(card.chat_id, card.message_id)) is not None and text in m.shown and m,
        what=f"card {card.message_id} to show {text!r}",
    )


async def wait_buttons(tg: FakeBotAccount, card: StoredMessage, label: str) -> StoredMessage:
    """Wait until a card offers a button whose label contains `label`."""
    return await tg.wait_for(
        lambda: (
            (m := tg.message(card.chat_id, card.message_id)) is not None
            and any(label in b for b in m.button_labels)
            and m
        ),
        what=f"card {card.message_id} to offer {label!r}",
    )


async def ask(tg: FakeBotAccount, card: StoredMessage, label: str, prompt: str) -> None:
    """Tap a card button that opens a question, and wait for the question."""
    before = last_message_id(tg, OWNER)
    await press(tg, card, label)
    await reply_with(tg, before, prompt)


async def say(tg: FakeBotAccount, text: str, expect: str) -> StoredMessage:
    """The owner writes `text`; returns the bot's reply showing `expect`."""
    sent = tg.send_text(OWNER, text)
    return await reply_with(tg, sent.message_id, expect)


def parsed(data: bytes) -> EmailMessage:
    """A raw message as an EmailMessage (modern API: decoded headers and parts)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def plain_body(message: EmailMessage) -> str:
    """The text/plain body of a message, with LF line ends and no trailing newline."""
    part = message.get_body(("plain",))
    assert part is not None, "the e-mail has no text/plain part"
    assert isinstance(part, EmailMessage)
    return str(part.get_content()).replace("\r\n", "\n").rstrip("\n")


def entries(bot_env: BotEnv, kind: str) -> list[dict[str, Any]]:
    """The evidence entries of one kind, their payload decoded."""
    found = []
    for row in evidence_rows(bot_env.db_path):
        if row["kind"] == kind:
            found.append({**row, "payload": json.loads(str(row["payload"]))})
    return found


def snapshot(bot_env: BotEnv, tg: FakeBotAccount, card: StoredMessage, numbers: list[str]) -> object:
    """Everything a refused input must leave alone: the reminder, its invoices, the evidence log, the card."""
    shown = tg.message(card.chat_id, card.message_id)
    assert shown is not None
    return (
        reminder_row(bot_env.db_path, reminder_id_of(card)),
        [invoice_row(bot_env.db_path, n) for n in numbers],
        len(evidence_rows(bot_env.db_path)),
        table_count(bot_env.db_path, "payment"),
        (shown.shown, shown.button_labels, shown.edits),
    )


# --- ✏️ Modifier -------------------------------------------------------------------------------------------------

NEW_SUBJECT = "Nouveau sujet F-2026-101"
NEW_BODY = (
    "Bonjour Madame Martin,\n\n"
    "Sauf erreur de notre part, la facture F-2026-101 de 1 234,56 € reste à régler.\n"
    "Pourriez-vous nous indiquer la date du virement ?\n\n"
    "Bien cordialement,\nClaire Durand"
)


async def test_edit_replaces_subject_and_body_then_envoyer_mails_exactly_that(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """Modifier + "Objet: …" reply: new draft with Envoyer/Annuler; Envoyer mails that subject and body, once."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-101")
    await ask(tg, card, "Modifier", "Envoyez le nouveau texte")

    edited = tg.send_text(OWNER, f"Objet: {NEW_SUBJECT}\n{NEW_BODY}")
    await reply_with(tg, edited.message_id, "Nouveau texte enregistré")
    draft = await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(OWNER) if m.message_id > edited.message_id and m.buttons), None),
        what="the new draft with its buttons",
    )
    assert draft.button_labels == ["✅ Envoyer", "↩️ Annuler"], draft.button_labels
    assert NEW_SUBJECT in draft.shown and "Pourriez-vous nous indiquer la date du virement ?" in draft.shown
    assert "Texte modifié par vous" in draft.shown
    row = reminder_row(bot_env.db_path, reminder_id_of(card))
    assert (row["edited_subject"], row["edited_body"]) == (NEW_SUBJECT, NEW_BODY)
    assert smtp.transactions == []  # an edit alone sends nothing

    await press(tg, draft, "Envoyer")
    sent = await wait_card(tg, draft, "✅ Envoyé le")
    assert sent.buttons == []
    await tg.wait_for(lambda: smtp.accepted, what="the e-mail")
    await asyncio.sleep(0.3)  # a second message, if the bot wrongly sent one, would arrive now
    assert len(smtp.transactions) == 1
    message = parsed(smtp.accepted[0].data)
    assert str(message["Subject"]) == NEW_SUBJECT
    assert plain_body(message) == NEW_BODY
    assert smtp.accepted[0].rcpt_tos == ["compta@martin.example"]

    (edit_entry,) = entries(bot_env, "draft_edited")
    assert edit_entry["actor"] == ACTOR and edit_entry["reminder_id"] == reminder_id_of(card)
    assert edit_entry["payload"] == {"subject": NEW_SUBJECT, "body": NEW_BODY}
    assert_no_api_errors(tg)


async def test_ten_thousand_characters_refused_then_annuler_leaves_the_edit(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """/annuler leaves an edit; 10,000 characters get a French refusal that closes the question (the parts a Telegram
    app splits a long text into are not taken as the draft); the draft and DB are unchanged."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-101")
    await ask(tg, card, "Modifier", "Envoyez le nouveau texte")
    before = snapshot(bot_env, tg, card, ["F-2026-101"])

    left = await say(tg, "/annuler", "rien n'a été modifié")
    assert left.buttons == []
    # The question is closed: the next text is not taken as the new draft.
    await say(tg, "Voici enfin mon nouveau texte", "Je n'attends pas de texte")

    await ask(tg, card, "Modifier", "Envoyez le nouveau texte")
    refusal = await say(tg, "x" * 10_000, "trop long")
    assert "10 000 caractères" in refusal.shown and "Rien n'a été modifié" in refusal.shown, refusal.shown
    # What a Telegram app would send next: the tail of the split text. It must not become the draft.
    await say(tg, "x" * 1_808, "Je n'attends pas de texte")
    await asyncio.sleep(0.3)
    assert snapshot(bot_env, tg, card, ["F-2026-101"]) == before
    row = reminder_row(bot_env.db_path, reminder_id_of(card))
    assert row["edited_subject"] is None and row["edited_body"] is None
    assert entries(bot_env, "draft_edited") == []
    assert smtp.transactions == []
    assert_no_api_errors(tg)


# --- 💶 Payée ----------------------------------------------------------------------------------------------------


async def test_paid_in_full_closes_the_card_and_sends_nothing(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """Payée > en totalité: the card says paid without buttons, the invoice is paid in the DB, no e-mail leaves."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-101")
    assert await press(tg, card, "Payée") == "Choisissez une option."
    choices = await wait_buttons(tg, card, "Payée en totalité")
    assert "Paiement partiel" in " ".join(choices.button_labels)

    answer = await press(tg, choices, "Payée en totalité")
    assert "1 234,56" in answer.replace("\u202f", " ").replace("\u00a0", " "), answer
    paid = await wait_card(tg, card, "💶 Payée.")
    assert paid.buttons == []

    invoice = invoice_row(bot_env.db_path, "F-2026-101")
    assert invoice["state"] == "paid"
    assert cents(invoice["amount_paid"]) == cents(invoice["amount"]) == Decimal("1234.56")
    assert reminder_row(bot_env.db_path, reminder_id_of(card))["state"] == "cancelled"
    (payment,) = entries(bot_env, "payment_recorded")
    assert payment["actor"] == ACTOR
    assert payment["payload"]["amount"] == "1234.56" and payment["payload"]["balance"] == "0.00"
    await asyncio.sleep(0.3)
    assert smtp.transactions == []
    assert_no_api_errors(tg)


async def test_partial_amount_recorded_to_the_cent_after_minus_five_is_refused(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """Paiement partiel: "-5" is refused and changes nothing; "500,00" adds exactly 500.00; the reminder stays open."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-104")  # 2 000,00 € of which 750,25 € already paid
    await press(tg, card, "Payée")
    choices = await wait_buttons(tg, card, "Paiement partiel")
    await ask(tg, choices, "Paiement partiel", "Quel montant avez-vous reçu")
    before = snapshot(bot_env, tg, card, ["F-2026-104"])

    await say(tg, "-5", "Le montant doit être supérieur à zéro")
    assert snapshot(bot_env, tg, card, ["F-2026-104"]) == before

    saved = await say(tg, "500,00", "Paiement de")
    assert "Reste dû" in saved.shown and "749,75" in saved.shown, saved.shown
    invoice = invoice_row(bot_env.db_path, "F-2026-104")
    assert cents(invoice["amount_paid"]) == Decimal("1250.25")
    assert invoice["state"] == "partially_paid"
    assert reminder_row(bot_env.db_path, reminder_id_of(card))["state"] == "pending"
    still = await wait_card(tg, card, "749,75")
    assert "✅ Envoyer" in still.button_labels and "💶 Payée" in still.button_labels
    (payment,) = entries(bot_env, "payment_recorded")
    assert payment["payload"]["amount"] == "500.00" and payment["payload"]["balance"] == "749.75"
    assert smtp.transactions == []
    assert_no_api_errors(tg)


# --- ⚖️ Litige ---------------------------------------------------------------------------------------------------

REASON = "Peinture de la porte non conforme au devis"


async def test_dispute_shows_on_the_card_is_listed_and_resumes(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """Litige + reason: invoice disputed, card says so; /litiges lists it; Reprendre makes it open again."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-102")
    await ask(tg, card, "Litige", "motif du litige")
    await say(tg, REASON, "Litige enregistré")

    disputed = await wait_card(tg, card, f"En litige : {REASON}")
    assert disputed.buttons == []
    invoice = invoice_row(bot_env.db_path, "F-2026-102")
    assert (invoice["state"], invoice["dispute_reason"]) == ("disputed", REASON)
    (opened,) = entries(bot_env, "dispute_opened")
    assert opened["actor"] == ACTOR
    assert opened["payload"].items() >= {"number": "F-2026-102", "reason": REASON, "to": "disputed"}.items()

    before = tg.send_text(OWNER, "/litiges").message_id
    line = await tg.wait_for(
        lambda: next(
            (m for m in tg.bot_messages(OWNER) if m.message_id > before and "F-2026-102" in m.shown and m.buttons),
            None,
        ),
        what="the disputed invoice in /litiges",
    )
    assert "Garage Dupont" in line.shown and REASON in line.shown and "980,10" in line.shown, line.shown
    assert "▶️ Reprendre les relances" in line.button_labels

    await press(tg, line, "Reprendre les relances")
    closed = await wait_card(tg, line, "Litige clos")
    assert closed.buttons == []
    assert invoice_row(bot_env.db_path, "F-2026-102")["state"] == "open"
    (closing,) = entries(bot_env, "dispute_closed")
    assert closing["payload"].items() >= {"number": "F-2026-102", "outcome": "resolved", "to": "open"}.items()
    assert smtp.transactions == []
    assert_no_api_errors(tg)


# --- 🤝 Promesse -------------------------------------------------------------------------------------------------


async def test_promise_records_the_date_after_bad_dates_are_refused(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount
) -> None:
    """Promesse: 31/02/2026, abc and a past date get a French answer and change nothing; 15/12/2026 is recorded."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)
    card = digest.card_for("F-2026-102")
    await ask(tg, card, "Promesse", "promis de payer")
    before = snapshot(bot_env, tg, card, ["F-2026-102"])

    for text, expect in (
        ("31/02/2026", "n'est pas une date valide"),
        ("abc", "n'est pas une date valide"),
        ("20/11/2026", "déjà passé"),  # RELANCE_TODAY is 24/11/2026
    ):
        refusal = await say(tg, text, expect)
        assert text in refusal.shown, refusal.shown
        assert snapshot(bot_env, tg, card, ["F-2026-102"]) == before, f"{text!r} changed something"

    await say(tg, "15/12/2026", "Promesse notée")
    invoice = invoice_row(bot_env.db_path, "F-2026-102")
    assert (invoice["state"], invoice["promised_until"]) == ("promised", "2026-12-15")
    promised = await wait_card(tg, card, "Promesse de paiement au 15/12/2026")
    assert promised.buttons == []
    (promise,) = entries(bot_env, "promise_recorded")
    assert promise["actor"] == ACTOR
    assert promise["payload"].items() >= {"number": "F-2026-102", "until": "2026-12-15", "to": "promised"}.items()
    assert_no_api_errors(tg)


# --- bad input: a 20 MB upload -----------------------------------------------------------------------------------


async def test_a_twenty_megabyte_csv_is_refused_before_download(tg: FakeBotAccount, bot: BotProcess) -> None:
    """/import then a 20 MB CSV: a French refusal naming the 5 MB limit, no getFile, nothing imported."""
    await wait_digest(tg, OWNER, 0)
    await say(tg, "/import", "CSV")
    row = b"F-2026-999;Client;c@example.org;01/10/2026;01/11/2026;1,00;\n"
    big = (invoices_csv() + row * (20 * 1024 * 1024 // len(row)))[: 20 * 1024 * 1024]
    assert len(big) == 20 * 1024 * 1024
    uploaded = tg.upload_document(OWNER, "factures.csv", big, mime_type="text/csv")
    refusal = await reply_with(tg, uploaded.message_id, "Rien n'a été importé")
    assert "20,0 Mo" in refusal.shown and "5 Mo au plus" in refusal.shown, refusal.shown
    assert tg.calls("getFile") == []
    await asyncio.sleep(0.3)
    db_path = bot.log_path.parent / "relance.db"
    assert table_count(db_path, "invoice") == 0
    assert [r["kind"] for r in evidence_rows(db_path)].count("import") == 0
    assert_no_api_errors(tg)


# --- evidence ----------------------------------------------------------------------------------------------------


async def test_every_card_action_lands_in_a_chain_relance_verify_accepts(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess], tg: FakeBotAccount, smtp: ScriptedSmtpServer
) -> None:
    """Edit + send, partial payment, promise, dispute + resume: each is logged and `relance verify` exits 0."""
    digest = await digest_of_the_csv(bot_env, start_bot, tg)

    martin = digest.card_for("F-2026-101")
    await ask(tg, martin, "Modifier", "Envoyez le nouveau texte")
    await say(tg, f"Objet: {NEW_SUBJECT}\n{NEW_BODY}", "Nouveau texte enregistré")
    edited = await wait_buttons(tg, martin, "Annuler")
    await press(tg, edited, "Envoyer")
    await tg.wait_for(lambda: smtp.accepted, what="the e-mail")

    leroy = digest.card_for("F-2026-104")
    await press(tg, leroy, "Payée")
    await ask(tg, await wait_buttons(tg, leroy, "Paiement partiel"), "Paiement partiel", "Quel montant")
    await say(tg, "100,00", "Paiement de")
    await ask(tg, await wait_buttons(tg, leroy, "Promesse"), "Promesse", "promis de payer")
    await say(tg, "15/12/2026", "Promesse notée")

    dupont = digest.card_for("F-2026-102")
    await ask(tg, dupont, "Litige", "motif du litige")
    await say(tg, REASON, "Litige enregistré")
    before = tg.send_text(OWNER, "/litiges").message_id
    line = await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(OWNER) if m.message_id > before and m.buttons), None),
        what="the /litiges card",
    )
    await press(tg, line, "Reprendre")
    await wait_card(tg, line, "Litige clos")
    await tg.wait_for(lambda: entries(bot_env, "smtp_accepted"), what="the SMTP reply in the evidence log")

    result = bot_env.cli("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = evidence_rows(bot_env.db_path)
    assert str(len(rows)) in result.stdout and str(rows[-1]["hash"]) in result.stdout, result.stdout

    kinds = {str(r["kind"]) for r in rows}
    owner_kinds = {"draft_edited", "payment_recorded", "promise_recorded", "dispute_opened", "dispute_closed"}
    assert owner_kinds | {"import", "digest_sent", "email_queued", "smtp_accepted"} <= kinds, sorted(kinds)
    for row in rows:
        if row["kind"] in owner_kinds:
            assert row["actor"] == ACTOR, row
    assert [e["payload"]["amount"] for e in entries(bot_env, "payment_recorded")] == ["100.00"]
    assert len(smtp.transactions) == 1
    assert_no_api_errors(tg)
