"""Sending windows: e-mails leave on business days, during business hours, in the business's time zone.

Pure: `now` is an argument. An approval outside the window waits for the next opening (the caller may bypass
this when the owner taps "envoyer maintenant"). Optional preferred weekdays (Monday = 0) narrow the days further.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dunning.calendar import is_business_day

#: Default window: 08:00-18:00 business time.
DEFAULT_START = time(8, 0)
DEFAULT_END = time(18, 0)
#: Never search further than this for an opening (a year covers every holiday pattern).
_HORIZON_DAYS = 400


def _check(now: datetime, window_start: time, window_end: time, preferred_weekdays: frozenset[int]) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not window_start < window_end:
        raise ValueError(f"the sending window must start before it ends, got {window_start}-{window_end}")
    if preferred_weekdays and not (preferred_weekdays - {5, 6}):
        raise ValueError("preferred weekdays must include at least one weekday (Monday=0 ... Friday=4)")
    if any(not 0 <= d <= 6 for d in preferred_weekdays):
        raise ValueError("preferred weekdays are numbers from 0 (Monday) to 6 (Sunday)")


def _open_day(day: date, preferred_weekdays: frozenset[int]) -> bool:
    return is_business_day(day) and (not preferred_weekdays or day.weekday() in preferred_weekdays)


def in_window(
    now: datetime,
    *,
    tz: str,
    window_start: time = DEFAULT_START,
    window_end: time = DEFAULT_END,
    preferred_weekdays: frozenset[int] = frozenset(),
) -> bool:
    """True when `now` falls on an open business day, at or after `window_start` and before `window_end` local time."""
    _check(now, window_start, window_end, preferred_weekdays)
    local = now.astimezone(ZoneInfo(tz))
    return _open_day(local.date(), preferred_weekdays) and window_start <= local.time() < window_end


def next_send_time(
    now: datetime,
    *,
    tz: str,
    window_start: time = DEFAULT_START,
    window_end: time = DEFAULT_END,
    preferred_weekdays: frozenset[int] = frozenset(),
) -> datetime:
    """`now` if it is inside the window, else the next opening (aware, in the business time zone)."""
    _check(now, window_start, window_end, preferred_weekdays)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if _open_day(local.date(), preferred_weekdays) and window_start <= local.time() < window_end:
        return now
    day = local.date()
    if not (_open_day(day, preferred_weekdays) and local.time() < window_start):
        day += timedelta(days=1)
    for _ in range(_HORIZON_DAYS):
        if _open_day(day, preferred_weekdays):
            opening = datetime.combine(day, window_start, tzinfo=zone)
            # Normalise through UTC: an opening inside a DST gap becomes the real instant after it.
            return opening.astimezone(UTC).astimezone(zone)
        day += timedelta(days=1)
    raise ValueError("no sending day found within a year: check the preferred weekdays")  # pragma: no cover
