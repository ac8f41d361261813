"""The reply and bounce cards with plain values: layout, buttons and their data, the client's text escaped and cut to
fit, forged data refused; the answer's subject and text; the MIME headers that thread the answer."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy
from zoneinfo import ZoneInfo

import pytest

from bot.cards import MAX_CALLBACK_BYTES, MAX_MESSAGE
from bot.reply_cards import callback, parse_callback, render_reply
from messages.mime import HeaderInjectionError, build_message
from messages.render import Draft
from services.core import InputError
from services.replies import InvoiceRef, ReplyView
from services.reply_actions import MAX_ANSWER, parse_answer, reply_subject

TZ = ZoneInfo("Europe/Paris")


def _view(**kw: object) -> ReplyView:
    fields: dict[str, object] = {
        "received_id": 7,
        "version": 0,
        "kind": "reply",
        "state": "open",
        "outcome": None,
        "client_id": 3,
        "client_name": "Menuiserie <Martin> & Fils",
        "client_emails": ("jean@client.example",),
        "failing_emails": (),
        "reminder_id": 5,
        "message_id": "<c1@client.example>",
        "sender": "jean@client.example",
        "subject": "Re: Facture F-1",
        "received_at": datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
        "text": "Je vous règle le 15 décembre.",
        "attachments": ("bon.pdf",),
        "invoices": (InvoiceRef(1, "F-1", Decimal("1200.00"), "EUR", "open", date(2026, 10, 15)),),
        "promise_date": date(2026, 12, 15),
        "dispute_reason": "Je vous règle le 15 décembre.",
    }
    fields.update(kw)
    return ReplyView(**fields)  # type: ignore[arg-type]


def _actions(card: object) -> list[str]:
    return [b.data.split(":")[1] for row in card.buttons for b in row]  # type: ignore[attr-defined]


def test_callback_round_trips_within_telegrams_limit_and_forged_data_is_refused() -> None:
    """The largest ids still fit in 64 bytes; unknown actions, other prefixes, extra fields and huge numbers are not
    ours."""
    data = callback("proma", 999_999_999_999, 999_999_999)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(data) == ("proma", 999_999_999_999, 999_999_999)
    for forged in ("m1:zap:1:0", "r1:pay:1:0", "m1:pay:1:0:9", "m1:pay:1234567890123:0", "m1:pay:x:0", "", None):
        assert parse_callback(forged) is None


def test_reply_card_shows_client_invoices_text_attachments_and_five_buttons() -> None:
    """Names are escaped, the balance formatted, the reply quoted in italics, the attachment listed, the date found
    proposed; the buttons are Payée, Promesse (accept the date), Litige, Répondre, Rien à faire."""
    card = render_reply(_view(), "fr", TZ)
    assert "Menuiserie &lt;Martin&gt; &amp; Fils" in card.text
    assert "reçue le 30/11/2026 à 10:15" in card.text  # the business's time zone
    assert "📄 F-1 · reste dû 1\xa0200,00\xa0€" in card.text
    assert "📎 Pièces jointes : bon.pdf" in card.text
    assert "<i>Je vous règle le 15 décembre.</i>" in card.text
    assert "15/12/2026" in card.text
    assert _actions(card) == ["pay", "prom", "disp", "ans", "none"]
    assert all(b.data.endswith(":7:0") for row in card.buttons for b in row)


def test_without_a_date_found_promesse_asks_for_one() -> None:
    """No date in the text: 🤝 Promesse goes straight to the question (promt), and nothing is proposed."""
    card = render_reply(_view(promise_date=None), "fr", TZ)
    assert _actions(card) == ["pay", "promt", "disp", "ans", "none"]
    assert "Date de paiement trouvée" not in card.text


def test_menus_offer_the_found_date_and_the_clients_text() -> None:
    """Promesse: ✅ the found date / ✏️ another / Retour. Litige: the client's text as the reason, ✅ keep /
    ✏️ another."""
    prom = render_reply(_view(), "fr", TZ, menu="prom")
    assert [b.label for row in prom.buttons for b in row] == ["✅ Le 15/12/2026", "✏️ Autre date", "↩️ Retour"]
    disp = render_reply(_view(dispute_reason="Livraison <incomplète>"), "fr", TZ, menu="disp")
    assert "« Livraison &lt;incomplète&gt; »" in disp.text
    assert _actions(disp) == ["dispa", "dispt", "back"]


def test_handled_reply_has_no_buttons_and_says_what_was_done() -> None:
    """Once handled, the card keeps the client's text and says the outcome, with no button left."""
    card = render_reply(_view(state="handled", outcome="promise", version=1), "en", TZ)
    assert card.buttons == () and "Handled: 🤝 promise to pay recorded." in card.text


def test_a_huge_html_reply_is_escaped_and_cut_to_fit() -> None:
    """A 20,000-character reply with markup: escaped, cut on a word boundary with a marker, the card within
    Telegram's 4,096 characters, its buttons kept."""
    text = ("<script>alert(1)</script> mot " * 700).strip()
    card = render_reply(_view(text=text, attachments=tuple(f"f{i}.pdf" for i in range(30))), "fr", TZ)
    assert len(card.text) <= MAX_MESSAGE
    assert "<script>" not in card.text and "&lt;script&gt;" in card.text
    assert "[… la suite est dans le courriel conservé]" in card.text
    assert "… et 20 autre(s)" in card.text
    assert len(card.buttons) == 2


def test_bounce_card_names_the_address_the_reason_and_the_command() -> None:
    """A bounce: the refused address and the server's reason, the command of this chat to give another one, and
    only 👌 Rien à faire."""
    view = _view(kind="bounce", failing_emails=("jean@client.example",), text="550 5.1.1 User unknown",
                 promise_date=None, dispute_reason="")  # fmt: skip
    card = render_reply(view, "fr", TZ, command="/relance client")
    assert "L'adresse jean@client.example a été refusée par le serveur : 550 5.1.1 User unknown" in card.text
    assert "/relance client Menuiserie &lt;Martin&gt; &amp; Fils email nouvelle@adresse.fr" in card.text
    assert _actions(card) == ["none"]
    done = render_reply(replace(view, state="handled", outcome="new_address"), "fr", TZ)
    assert done.buttons == () and "nouvelle adresse enregistrée" in done.text


def test_answer_subject_and_text() -> None:
    """ "Re: " is added once (an existing Re:/RE :/AW: is kept); the answer is trimmed, not empty, not too long."""
    assert reply_subject("Facture F-1") == "Re: Facture F-1"
    assert reply_subject("RE : Facture F-1") == "RE : Facture F-1"
    assert reply_subject("AW: Rechnung") == "AW: Rechnung"
    assert reply_subject("") == "Re:"
    assert reply_subject("a\r\nBcc: x@y.z") == "Re: a Bcc: x@y.z"  # one line: no header injection
    assert parse_answer("  Merci.\r\n") == "Merci."
    with pytest.raises(InputError):
        parse_answer(" \n ")
    with pytest.raises(InputError):
        parse_answer("x" * (MAX_ANSWER + 1))


def _message(draft: Draft) -> email.message.EmailMessage:
    raw = build_message(draft=draft, mail_from="Atelier <factures@atelier.example>", reply_to=None,
                        recipients=["jean@client.example"], message_id="<m1@atelier.example>",
                        date=datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # fmt: skip
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def test_the_answer_is_threaded_under_the_clients_message() -> None:
    """In-Reply-To is the client's Message-ID; References the thread then it, once; a draft without it has
    neither; a line break in either is refused before anything is built."""
    draft = Draft("Re: Facture", "Merci.", "<p>Merci.</p>", in_reply_to="<c1@client.example>",
                  references=("<r1@atelier.example>", "<c1@client.example>"))  # fmt: skip
    msg = _message(draft)
    assert msg["In-Reply-To"] == "<c1@client.example>"
    assert msg["References"] == "<r1@atelier.example> <c1@client.example>"
    plain = _message(Draft("Objet", "Texte", "<p>Texte</p>"))
    assert plain["In-Reply-To"] is None and plain["References"] is None
    with pytest.raises(HeaderInjectionError):
        _message(replace(draft, in_reply_to="<c1@x>\r\nBcc: a@b.c"))
