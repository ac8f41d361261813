"""E-mail addresses: the one check every path uses (import, chat, queueing) before the mail builder sees them."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

#: Characters that are invisible or look like a space in a pasted address or name: BOM, zero-width spaces and
#: joiners, word joiner, soft hyphen, bidirectional marks and overrides.
_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: No-break, narrow and other typographic spaces, which a spreadsheet pastes instead of a plain space.
_ODD_SPACES = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
#: "Display Name <address>" (the name may be quoted); anything else is taken as a bare address.
_NAME_ADDR = re.compile(r"\s*(?P<name>[^<>]*?)\s*<(?P<addr>[^<>]*)>\s*")


class InvalidAddressError(ValueError):
    """An e-mail address that the mail builder would refuse; the message names the address and says why."""

    def __init__(self, address: str, reason: str, *, field: str | None = None) -> None:
        self.address = address
        self.reason = reason
        self.field = field
        where = f" ({field})" if field else ""
        # repr() shows an invisible or control character as an escape (e.g. '\ufeff'), so the owner sees it.
        super().__init__(f"invalid e-mail address {address!r}{where}: {reason}")


def strip_invisible(text: str) -> str:
    """The text without invisible characters, typographic spaces made plain (names, addresses, numbers)."""
    return _ODD_SPACES.sub(" ", _INVISIBLE.sub("", text))


def normalize_email(address: str, *, field: str | None = None) -> str:
    """The bare address as it will be used, or InvalidAddressError naming it and saying why.

    Invisible characters and surrounding spaces are removed and the domain is lower-cased; an internationalised
    domain is returned in its ASCII (punycode) form, the one the SMTP envelope and the headers carry, so the same
    address is always spelled the same way. No DNS look-up: the check is the syntax SMTP servers accept, offline.
    A non-ASCII local part ("jérôme@...") is refused: it needs SMTPUTF8, which many servers still lack.
    """
    cleaned = strip_invisible(address).strip()
    if not cleaned:
        raise InvalidAddressError(address, "empty address", field=field)
    try:
        result = validate_email(cleaned, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddressError(cleaned, str(exc), field=field) from None
    # allow_smtputf8=False guarantees an ASCII form.
    return str(result.ascii_email)


def parse_mailbox(value: str, *, field: str | None = None) -> tuple[str, str]:
    """("Display Name", "address") from "Display Name <address>" or a bare address; the address normalised.

    One mailbox only: "a@x.fr, b@y.fr" is refused (the comma makes it an invalid address), never half-used.
    """
    cleaned = strip_invisible(value).strip()
    match = _NAME_ADDR.fullmatch(cleaned)
    if match is None:
        if "<" in cleaned or ">" in cleaned:
            raise InvalidAddressError(cleaned, "unbalanced '<' or '>'", field=field)
        return "", normalize_email(cleaned, field=field)
    name = match.group("name").strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].strip()
    return name, normalize_email(match.group("addr"), field=field)
