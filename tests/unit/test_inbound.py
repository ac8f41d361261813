"""Reading received messages (messages.inbound), the dates and reasons a reply proposes (services.replies), and
the IMAP settings (bot.settings.mailbox_config)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.settings import SettingsError, load_settings, mailbox_config
from messages.inbound import parse_inbound, safe_filename
from services.replies import proposed_dispute_reason, proposed_promise_date
from tests.integration import mail_samples as samples

TODAY = date(2026, 11, 30)


def test_french_gmail_reply_keeps_only_the_clients_words() -> None:
    """ "Le … a écrit :" and what follows, and the signature, are not the reply's text."""
    msg = parse_inbound(samples.gmail_reply_fr())
    assert msg.kind == "reply" and msg.text == "Bonjour,\n\nJe vous règle le 15 décembre sans faute."
    assert msg.in_reply_to == (samples.RELANCE_ID,) and msg.sender == "jean@client.example"


def test_outlook_english_history_block_is_removed() -> None:
    """Outlook's "From: / Sent: / To:" block starts the quoted history."""
    msg = parse_inbound(samples.outlook_reply_en())
    assert msg.text.startswith("Hello,") and "Sent:" not in msg.text and "From:" not in msg.text


def test_html_only_reply_is_text_without_scripts() -> None:
    """An HTML-only reply becomes plain text: scripts dropped, tags removed, entities decoded."""
    raw = (
        b"From: jean@client.example\r\nSubject: Re: x\r\nMessage-ID: <h@x>\r\nContent-Type: text/html; charset=utf-8"
        b"\r\n\r\n<p>Pay&eacute; le <b>15/12</b></p><script>alert('x')</script>"
    )
    msg = parse_inbound(raw)
    assert msg.text == "Payé le 15/12" and "alert" not in msg.text


def test_malformed_message_and_unknown_charset_do_not_raise() -> None:
    """Broken MIME and an unknown charset give a readable (replaced) text; no Message-ID gets a stable digest id."""
    raw = b"From: a@b.fr\r\nContent-Type: text/plain; charset=x-unknown-42\r\n\r\nCaf\xe9 pay\xe9\r\n"
    msg = parse_inbound(raw)
    assert msg.kind == "reply" and msg.text.startswith("Caf") and msg.message_id.startswith("<sha256-")
    assert parse_inbound(raw).message_id == msg.message_id
    broken = b'From: a@b.fr\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain'
    assert parse_inbound(broken).kind == "reply"


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied",
        "X-Autoreply: yes",
        "Precedence: auto_reply",
        "Subject: Absence du bureau",
        "Subject: Out of Office: Facture",
        "Subject: Réponse automatique : Facture",
        "Subject: Automatic reply: invoice",
    ],
)
def test_automatic_answers_are_recognised(headers: str) -> None:
    """RFC 3834 Auto-Submitted, X-Autoreply, Precedence and French/English out-of-office subjects."""
    raw = f"From: a@b.fr\r\n{headers}\r\nMessage-ID: <a@b>\r\n\r\nJe suis absent.\r\n".encode()
    assert parse_inbound(raw).kind == "auto_reply"


def test_auto_submitted_no_is_a_person() -> None:
    """Auto-Submitted: no is a message written by a person."""
    raw = b"From: a@b.fr\r\nAuto-Submitted: no\r\nSubject: Re: facture\r\n\r\nPaye.\r\n"
    assert parse_inbound(raw).kind == "reply"


def test_postfix_bounce_gives_recipient_reason_and_original() -> None:
    """A DSN: the failing recipient, the Diagnostic-Code (folded line joined) and the original Message-ID."""
    msg = parse_inbound(samples.postfix_bounce())
    assert msg.kind == "bounce" and msg.failed_recipients == ("jean@client.example",)
    assert msg.bounce_reason.startswith("550 5.1.1") and "mailbox table" in msg.bounce_reason
    assert msg.original_ids == (samples.RELANCE_ID,)


def test_hostile_attachment_names_are_made_safe() -> None:
    """No folder in a stored name, no dot-dot, never empty."""
    assert safe_filename("../../etc/passwd") == "etc_passwd"
    assert safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert safe_filename("") == "piece-jointe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Je vous règle le 15 décembre.", date(2026, 12, 15)),
        ("Paiement prévu le 15/12.", date(2026, 12, 15)),
        ("Je peux payer le 15.", date(2026, 12, 15)),  # the 15th of November is past: next month's
        ("Virement fin du mois", date(2026, 11, 30)),
        ("Réglé fin janvier", date(2027, 1, 31)),
        ("I will pay on the 5th", date(2026, 12, 5)),
        ("Payment by 10 January 2027", date(2027, 1, 10)),
        ("Facture du 15/10, déjà payée", None),  # a past date is no promise
        ("Nous contestons la livraison.", None),
    ],
)
def test_promise_dates_found_in_replies(text: str, expected: date | None) -> None:
    """French and English dates a client names are proposed for 🤝 Promesse; past ones are not."""
    assert proposed_promise_date(text, TODAY) == expected


def test_dispute_reason_is_one_line_of_at_most_300_characters() -> None:
    """The reply's text, on one line, cut with an ellipsis."""
    assert proposed_dispute_reason("Livraison\n\nincomplète") == "Livraison incomplète"
    assert len(proposed_dispute_reason("x " * 400)) == 300


def test_imap_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off without IMAP_HOST; tls on 993 by default; none refused for another machine; the password hidden."""
    monkeypatch.chdir("/")
    assert mailbox_config(load_settings(_env_file=None)) is None
    cfg = mailbox_config(load_settings(_env_file=None, IMAP_HOST="imap.example.fr", IMAP_USERNAME="u",
                                       IMAP_PASSWORD="pw-secret"))  # fmt: skip
    assert cfg is not None and (cfg.port, cfg.security, cfg.folder, cfg.mark_seen) == (993, "tls", "INBOX", True)
    assert "pw-secret" not in repr(cfg)
    with pytest.raises(SettingsError, match="only allowed for this machine"):
        mailbox_config(load_settings(_env_file=None, IMAP_HOST="imap.example.fr", IMAP_USERNAME="u",
                                     IMAP_PASSWORD="p", IMAP_SECURITY="none"))  # fmt: skip
    local = mailbox_config(load_settings(_env_file=None, IMAP_HOST="127.0.0.1", IMAP_USERNAME="u", IMAP_PASSWORD="p",
                                         IMAP_SECURITY="none"))  # fmt: skip
    assert local is not None and local.port == 143
    with pytest.raises(SettingsError, match="IMAP_USERNAME and IMAP_PASSWORD"):
        mailbox_config(load_settings(_env_file=None, IMAP_HOST="imap.example.fr"))


def test_five_thousand_recipients_and_a_long_subject_are_read_quickly() -> None:
    """A message to 5,000 addresses with a very long subject is read at once (no quadratic work), subject cut."""
    import time

    to = ", ".join(f"user{i}@example.fr" for i in range(5000))
    raw = f"From: jean@client.example\r\nTo: {to}\r\nSubject: {'Facture ' * 200}\r\n\r\nPayé.\r\n".encode()
    start = time.monotonic()
    msg = parse_inbound(raw)
    assert time.monotonic() - start < 1.0
    assert msg.kind == "reply" and msg.text == "Payé." and len(msg.subject) <= 300
