"""The one e-mail address check (messages.addresses) and the mail builder that relies on it."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from messages.addresses import InvalidAddressError, normalize_email, parse_mailbox, strip_invisible
from messages.mime import HeaderInjectionError, build_message
from messages.render import Draft

DRAFT = Draft(subject="Facture F-1", text="Bonjour", html="<p>Bonjour</p>", attachments=())
WHEN = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        ("\ufeffcompta@client.fr", "compta@client.fr"),  # BOM left by a spreadsheet export
        ("compta\u200b@client.fr", "compta@client.fr"),  # zero-width space inside
        ("compta@cli\u200dent.fr\u2060", "compta@client.fr"),  # zero-width joiner, word joiner
        ("\u00a0compta@client.fr\u00a0", "compta@client.fr"),  # no-break spaces around
        ("\u202fcompta@client.fr ", "compta@client.fr"),  # narrow no-break space, plain space
        ("Compta@CLIENT.FR", "Compta@client.fr"),  # domain lower-cased, local part kept
        ("facture@café.fr", "facture@xn--caf-dma.fr"),  # IDN domain in its ASCII form
        ("facture@xn--caf-dma.fr", "facture@xn--caf-dma.fr"),  # the same address, same spelling
    ],
)
def test_pasted_addresses_are_cleaned(pasted: str, expected: str) -> None:
    """Invisible characters and odd spaces go, the domain is normalised: one spelling per address."""
    assert normalize_email(pasted) == expected


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("compta@client", "period"),  # no dot in the domain
        ("compta client@client.fr", "SPACE"),  # a space inside
        ("compta\u00a0client@client.fr", "SPACE"),  # a no-break space inside is a space
        ("compta@@client.fr", "'@'"),  # two @
        ("compta@client.fr@autre.fr", "'@'"),  # two @ (two addresses glued)
        ("compta.client.fr", "@-sign"),  # no @ at all
        ("compta@client.fr, autre@client.fr", "','"),  # two addresses in one field
        ("jérôme@client.fr", "Internationalized"),  # accented local part: needs SMTPUTF8
        ("relance@example.invalid", "special-use"),  # a reserved domain never receives mail
        ("compta@client.fr.", "period"),  # trailing dot
    ],
)
def test_bad_addresses_are_refused_with_the_reason(address: str, why: str) -> None:
    """Each refusal is one InvalidAddressError naming the address and saying why."""
    with pytest.raises(InvalidAddressError) as info:
        normalize_email(address, field="recipients")
    assert why in info.value.reason
    assert str(info.value).startswith("invalid e-mail address ")
    assert "(recipients)" in str(info.value)


@pytest.mark.parametrize("blank", ["", "   ", "\ufeff", "\u200b\u00a0"])
def test_empty_address_is_refused(blank: str) -> None:
    """An address that is empty once invisible characters are gone is refused as empty."""
    with pytest.raises(InvalidAddressError, match="empty address"):
        normalize_email(blank)


def test_the_error_shows_the_invisible_character() -> None:
    """The error shows the stray character: a no-break space as a space, a control character escaped."""
    with pytest.raises(InvalidAddressError) as info:
        normalize_email("compta@client\u00a0.fr")
    assert "'compta@client .fr'" in str(info.value)
    with pytest.raises(InvalidAddressError) as info:
        normalize_email("comp\x01ta@client.fr")
    assert "\\x01" in str(info.value)


def test_strip_invisible_keeps_visible_text() -> None:
    """Names lose only invisible characters; typographic spaces become plain ones, accents stay."""
    assert strip_invisible("\ufeffSARL\u00a0Étoile\u200b du\u202fNord") == "SARL Étoile du Nord"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Atelier Dupont <factures@atelier-dupont.fr>", ("Atelier Dupont", "factures@atelier-dupont.fr")),
        ('"Dupont, Atelier" <factures@ATELIER.fr>', ("Dupont, Atelier", "factures@atelier.fr")),
        ("<factures@atelier.fr>", ("", "factures@atelier.fr")),
        ("\ufeff factures@atelier.fr", ("", "factures@atelier.fr")),
    ],
)
def test_mailbox_with_a_display_name(value: str, expected: tuple[str, str]) -> None:
    """ "Name <address>" gives the name and the normalised address; a bare address has no name."""
    assert parse_mailbox(value) == expected


@pytest.mark.parametrize("value", ["Atelier <factures@atelier.fr", "Atelier factures@atelier.fr>", "A <b> <c@d.fr>"])
def test_malformed_mailbox_is_refused(value: str) -> None:
    """Unbalanced or doubled angle brackets are refused, never guessed at."""
    with pytest.raises(InvalidAddressError):
        parse_mailbox(value, field="mail_from")


def _build(**kw: object) -> bytes:
    args: dict[str, object] = {
        "draft": DRAFT,
        "mail_from": "Atelier Dupont <factures@atelier-dupont.fr>",
        "reply_to": "gerant@atelier-dupont.fr",
        "recipients": ["compta@client.fr"],
        "message_id": "<1@atelier-dupont.fr>",
        "date": WHEN,
    }
    args.update(kw)
    return build_message(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("recipients", {"recipients": ["compta@client.fr", "compta@client"]}),
        ("mail_from", {"mail_from": "Atelier <factures@atelier dupont.fr>"}),
        ("reply_to", {"reply_to": "gerant@@atelier-dupont.fr"}),
        ("recipients", {"recipients": []}),
    ],
)
def test_builder_refuses_a_bad_address_naming_the_field(field: str, kw: dict[str, object]) -> None:
    """The mail builder checks sender, Reply-To and every recipient with the one check, naming the field."""
    with pytest.raises(InvalidAddressError) as info:
        _build(**kw)
    assert info.value.field == field and f"({field})" in str(info.value)


def test_builder_still_refuses_a_line_break() -> None:
    """A line break in an address is header injection, refused before the address check."""
    with pytest.raises(HeaderInjectionError):
        _build(recipients=["compta@client.fr\r\nBcc: victim@example.com"])


def test_builder_writes_the_normalised_addresses() -> None:
    """Headers carry the cleaned addresses (no BOM, ASCII domain) and keep the display name."""
    raw = _build(
        mail_from="\ufeffAtelier Dupont <factures@Atelier-Dupont.fr>",
        reply_to="gerant@atelier-dupont.fr\u00a0",
        recipients=["\ufeffcompta@client.fr", "Compta <paie@café.fr>"],
    )
    assert b"\xef\xbb\xbf" not in raw and b"\xc2\xa0" not in raw
    parsed = message_from_bytes(raw, policy=policy.default)
    assert str(parsed["From"]) == "Atelier Dupont <factures@atelier-dupont.fr>"
    assert str(parsed["Reply-To"]) == "gerant@atelier-dupont.fr"
    assert str(parsed["To"]) == "compta@client.fr, Compta <paie@xn--caf-dma.fr>"


def test_builder_encodes_an_accented_display_name() -> None:
    """A French display name survives the 7-bit message: encoded in the header, decoded back the same."""
    raw = _build(mail_from="Société Étoile <factures@etoile.fr>")
    assert raw.isascii()
    assert str(message_from_bytes(raw, policy=policy.default)["From"]) == "Société Étoile <factures@etoile.fr>"
