"""What the owner types and what cards carry: dates, amounts, edits, callback data, card length, catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from bot.cards import (
    MAX_CALLBACK_BYTES,
    MAX_MESSAGE,
    callback,
    card_parts,
    parse_callback,
    split_message,
    telegram_card,
    to_plain,
)
from bot.i18n import EN, FR, lang_of, t
from bot.presenter import text as render_text
from services.core import (
    InputError,
    parse_edit,
    parse_owner_amount,
    parse_owner_date,
    parse_reason,
)
from storage.reminders import InvoiceLineView, ReminderView

TODAY = date(2026, 11, 24)


@dataclass(frozen=True)
class PlainDraft:
    """A rendered draft as the card sees it (subject, text), without templates."""

    subject: str
    text: str
    html: str = ""
    attachments: tuple[object, ...] = ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/12", date(2026, 12, 5)),
        ("5/12/2026", date(2026, 12, 5)),
        ("05.12.26", date(2026, 12, 5)),
        ("2026-12-05", date(2026, 12, 5)),
        ("10/01", date(2027, 1, 10)),
    ],
)
def test_dates_in_french_forms(text: str, expected: date) -> None:
    """Dates typed JJ/MM, JJ/MM/AAAA, JJ.MM.AA or ISO are understood; a past JJ/MM means next year."""
    assert parse_owner_date(text, TODAY) == expected


@pytest.mark.parametrize(("text", "key"), [("31/02", "date.invalid"), ("abc", "date.invalid"),
                                           ("20/11/2026", "date.past"), ("24/11/2026", "date.past"),
                                           ("01/01/2030", "date.too_far")])  # fmt: skip
def test_bad_dates_are_refused_with_a_reason(text: str, key: str) -> None:
    """Impossible, past, today (for a snooze) and far-away dates are refused with the matching message."""
    with pytest.raises(InputError) as info:
        parse_owner_date(text, TODAY)
    assert info.value.key == key
    assert render_text(info.value.msg, "fr")


def test_today_allowed_for_a_promise() -> None:
    """A promise to pay today is accepted when allowed."""
    assert parse_owner_date("24/11", TODAY, allow_today=True) == TODAY


@pytest.mark.parametrize(("text", "expected"), [("450", "450.00"), ("1 234,56", "1234.56"), ("450,5 €", "450.50")])
def test_amounts(text: str, expected: str) -> None:
    """Amounts written the French or English way give the exact Decimal."""
    assert parse_owner_amount(text) == Decimal(expected)


@pytest.mark.parametrize(("text", "key"), [("abc", "amount.invalid"), ("-5", "amount.not_positive"),
                                           ("0", "amount.not_positive"), ("12,3456", "amount.invalid")])  # fmt: skip
def test_bad_amounts(text: str, key: str) -> None:
    """Text, negative and zero amounts are refused."""
    with pytest.raises(InputError) as info:
        parse_owner_amount(text)
    assert info.value.key == key


def test_edit_with_subject_line_and_limits() -> None:
    """`Objet: ...` on the first line sets the subject; an empty or 10,000-character body is refused."""
    edit = parse_edit("Objet : Facture F-1\nBonjour,\nmerci.")
    assert (edit.subject, edit.body) == ("Facture F-1", "Bonjour,\nmerci.")
    assert parse_edit("Juste un texte").subject is None
    for bad in ("", "Objet: X\n", "x" * 10_000, "Objet: " + "y" * 500 + "\ntexte"):
        with pytest.raises(InputError):
            parse_edit(bad)


def test_reason_is_collapsed_and_bounded() -> None:
    """A dispute reason keeps its words, on one line, and may not be empty or too long."""
    assert parse_reason("  Livraison\n incomplète ") == "Livraison incomplète"
    with pytest.raises(InputError):
        parse_reason("   ")
    with pytest.raises(InputError):
        parse_reason("z" * 501)


def test_callback_data_round_trip_and_limit() -> None:
    """Callback data is prefixed, versioned, within 64 bytes even for huge ids; anything else parses to None."""
    data = callback("snz7", 999_999_999_999, 999_999_999)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert parse_callback(data) == ("snz7", 999_999_999_999, 999_999_999)
    for bad in (None, "", "r1:send:1", "r2:send:1:0", "r1:zap:1:0", "r1:send:1:0:extra", "r1:send:-1:0"):
        assert parse_callback(bad) is None


def _view(**kw: object) -> ReminderView:
    fields: dict[str, object] = dict(
        reminder_id=7, version=3, business_id=1, client_id=2, client_name="<b>ACME</b> & Fils",
        client_emails=("a@x.fr",), client_phone="", client_language="fr", client_profile="standard",
        step="reminder_1", state="pending",
        planned_date=TODAY, snoozed_until=None, edited_subject=None, edited_body=None, sent_at=None, sent_to=None,
        promise_broken=False,
        invoices=(InvoiceLineView(1, "F-1", date(2026, 10, 1), date(2026, 11, 10), Decimal("1200.00"),
                                  Decimal("0.00"), "EUR", "open", "reminder_1", 14),),
    )  # fmt: skip
    fields.update(kw)
    return ReminderView(**fields)  # type: ignore[arg-type]


def test_card_escapes_data_and_cuts_long_bodies_with_a_more_button() -> None:
    """Client names are escaped; a 10,000-character body is cut within 4096 characters with "Voir la suite"."""
    card = telegram_card(card_parts(_view(), PlainDraft("Sujet", "mot " * 2500), lang="fr"), "fr")
    assert "&lt;b&gt;ACME&lt;/b&gt; &amp; Fils" in card.text
    assert len(card.text) <= MAX_MESSAGE and card.cut
    labels = [b.label for row in card.buttons for b in row]
    assert labels[-1] == "📄 Voir la suite"
    # Every button is tied to the reminder and its version (📅 Échéancier's data carries a count after them).
    assert all(b.data.endswith(":7:3") or b.data == "pl1:open:7:3:0" for row in card.buttons for b in row)
    assert "<b>ACME</b> & Fils" in to_plain(card.text)


def test_short_card_has_six_buttons_and_is_not_cut() -> None:
    """A normal card shows the six actions, then 📅 Échéancier (the payment plan card), and no "Voir la suite"."""
    card = telegram_card(card_parts(_view(), PlainDraft("Sujet", "Bonjour"), lang="fr"), "fr")
    assert not card.cut
    assert [len(row) for row in card.buttons] == [3, 3, 1]
    assert card.buttons[2][0].label == "📅 Échéancier"


def test_split_message_respects_the_limit() -> None:
    """A long text is split into parts of at most 4096 characters that keep all the text."""
    text = ("ligne " * 30 + "\n") * 400
    parts = split_message(text)
    assert all(len(p) <= MAX_MESSAGE for p in parts)
    assert "".join(parts) == text


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    """Every French text has an English one with the same placeholders."""
    import string

    assert set(FR) == set(EN)
    for key in FR:
        fields_fr = {f for _, f, _, _ in string.Formatter().parse(FR[key]) if f}
        fields_en = {f for _, f, _, _ in string.Formatter().parse(EN[key]) if f}
        assert fields_fr == fields_en, key
    assert lang_of("en-GB") == "en" and lang_of("de") == "fr" and lang_of(None) == "fr"
    assert t("private", "en") == "This bot is private."
