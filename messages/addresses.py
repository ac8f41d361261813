"""E-mail addresses: the one check every path uses (import, chat, queueing) before the mail builder sees them."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

#: Characters that are invisible or look like a space in a pasted address or name: BOM, zero-width spaces and
#: joiners, word joiner, soft hyphen, bidirectional marks and overrides.
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: No-break, narrow and other typographic spaces, which a spreadsheet pastes instead of a plain space.
_ODD_SPACES = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")


class InvalidAddressError(ValueError):
    """An e-mail address that the mail builder would refuse; the message says why, in English."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"invalid e-mail address {address!r}: {reason}")


def strip_invisible(text: str) -> str:
    """The text without invisible characters, typographic spaces made plain (names, addresses, numbers)."""
    return _ODD_SPACES.sub(" ", _INVISIBLE.sub("", text))


def normalize_email(address: str) -> str:
    """The address as it will be used (invisible characters removed, domain normalised), or InvalidAddressError.

    No DNS look-up: the check is the syntax the mail builder and SMTP servers accept, offline.
    """
    cleaned = strip_invisible(address).strip()
    if not cleaned:
        raise InvalidAddressError(address, "empty address")
    try:
        result = validate_email(cleaned, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidAddressError(cleaned, str(exc)) from None
    return str(result.normalized)
