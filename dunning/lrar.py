"""Registered letters (LRAR) carrying a formal notice: La Poste's tracking number format and the notice's deadline.

Pure: no I/O, no clock (the dates are passed in).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

#: Outcomes of a registered letter, in the order they can happen.
SENT, RECEIVED, UNCLAIMED, RETURNED = "sent", "received", "unclaimed", "returned"
OUTCOMES = (SENT, RECEIVED, UNCLAIMED, RETURNED)

# A domestic number: a two-character product prefix (letters or digits, e.g. "1A", "2C", "RR") then 9 to 11 digits
# (11 to 13 characters in all, e.g. 1A12345678901); or the international S10 form: 2 letters, 9 digits, the
# country (e.g. AR123456789FR).
_DOMESTIC = re.compile(r"^[A-Z0-9]{2}\d{9,11}$")
_S10 = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")
_SEPARATORS = re.compile(r"[\s.\-]+")


class TrackingNumberError(ValueError):
    """A tracking number that is not La Poste's; `reason` is "characters", "length" or "format"."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason}: {text}")
        self.text = text
        self.reason = reason


def check_tracking_number(text: str) -> str:
    """La Poste's tracking number in `text`, upper case without spaces, dots or dashes ("1A 123 456 789 01" ->
    "1A12345678901"); raise TrackingNumberError when it is not one."""
    number = _SEPARATORS.sub("", text.strip()).upper()
    if not number.isascii() or not number.isalnum():
        raise TrackingNumberError(number, "characters")
    if not 11 <= len(number) <= 13:
        raise TrackingNumberError(number, "length")
    if _DOMESTIC.match(number) or _S10.match(number):
        return number
    raise TrackingNumberError(number, "format")


def notice_deadline(*, issued_on: date, first_presented_on: date | None, days: int) -> date:
    """The last day to pay a formal notice: `days` after its first presentation when known, else after `issued_on`
    (the day the letter was posted, or the draft's day before that)."""
    return (first_presented_on or issued_on) + timedelta(days=days)
