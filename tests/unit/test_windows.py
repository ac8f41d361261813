"""Sending windows: business days and hours in the business time zone, preferred weekdays, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.calendar import is_business_day
from dunning.windows import in_window, next_send_time

PARIS = ZoneInfo("Europe/Paris")
TZ = "Europe/Paris"


def _paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_inside_the_window_sends_now() -> None:
    """Tuesday 10:00 in Paris is inside the window: the send time is now."""
    now = _paris(2026, 11, 24, 10, 0)
    assert in_window(now, tz=TZ)
    assert next_send_time(now, tz=TZ) == now


def test_before_opening_waits_until_eight() -> None:
    """Tuesday 06:30 waits until Tuesday 08:00."""
    assert next_send_time(_paris(2026, 11, 24, 6, 30), tz=TZ) == _paris(2026, 11, 24, 8, 0)


def test_after_closing_waits_until_next_business_morning() -> None:
    """Friday 18:00 (the end is exclusive) waits until Monday 08:00."""
    now = _paris(2026, 11, 27, 18, 0)
    assert not in_window(now, tz=TZ)
    assert next_send_time(now, tz=TZ) == _paris(2026, 11, 30, 8, 0)


def test_weekend_waits_until_monday() -> None:
    """Saturday noon waits until Monday 08:00."""
    assert next_send_time(_paris(2026, 11, 28, 12, 0), tz=TZ) == _paris(2026, 11, 30, 8, 0)


def test_public_holiday_is_skipped() -> None:
    """Christmas Day 2026 (a Friday) is skipped: the next opening is Monday 28 December 08:00."""
    assert next_send_time(_paris(2026, 12, 24, 19, 0), tz=TZ) == _paris(2026, 12, 28, 8, 0)
    assert not in_window(_paris(2026, 12, 25, 10, 0), tz=TZ)


def test_time_zone_of_the_business_counts_not_utc() -> None:
    """07:30 UTC in winter is 08:30 in Paris: inside the window."""
    now = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)
    assert in_window(now, tz=TZ)
    assert next_send_time(now, tz=TZ) == now


def test_preferred_weekdays() -> None:
    """With Tuesday and Wednesday preferred, a Thursday approval waits until next Tuesday 08:00."""
    prefs = frozenset({1, 2})
    now = _paris(2026, 11, 26, 9, 0)  # Thursday
    assert not in_window(now, tz=TZ, preferred_weekdays=prefs)
    assert next_send_time(now, tz=TZ, preferred_weekdays=prefs) == _paris(2026, 12, 1, 8, 0)


def test_custom_window() -> None:
    """A 09:30-12:00 window: 12:15 waits for the next business day at 09:30."""
    result = next_send_time(_paris(2026, 11, 24, 12, 15), tz=TZ, window_start=time(9, 30), window_end=time(12, 0))
    assert result == _paris(2026, 11, 25, 9, 30)


def test_result_is_aware_in_business_zone() -> None:
    """The returned opening is timezone-aware, in the business time zone."""
    result = next_send_time(datetime(2026, 11, 28, 12, 0, tzinfo=UTC), tz=TZ)
    assert result.tzinfo is not None and result.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"window_start": time(18, 0), "window_end": time(8, 0)},
        {"preferred_weekdays": frozenset({5, 6})},
        {"preferred_weekdays": frozenset({9})},
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object]) -> None:
    """An inverted window or impossible preferred weekdays is a ValueError, never an endless search."""
    with pytest.raises(ValueError):
        next_send_time(_paris(2026, 11, 24, 10, 0), tz=TZ, **kwargs)  # type: ignore[arg-type]


def test_naive_now_is_refused() -> None:
    """A naive datetime is refused: local time must never slip in."""
    with pytest.raises(ValueError):
        next_send_time(datetime(2026, 11, 24, 10, 0), tz=TZ)


_instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
_weekday_sets = st.frozensets(st.integers(0, 6)).filter(lambda s: not s or bool(s - {5, 6}))


@given(now=_instants, prefs=_weekday_sets, tz=st.sampled_from(["Europe/Paris", "America/Martinique", "Asia/Tokyo"]))
def test_next_send_time_is_the_first_opening(now: datetime, prefs: frozenset[int], tz: str) -> None:
    """The result is never before now, is inside the window, and no earlier opening was skipped."""
    result = next_send_time(now, tz=tz, preferred_weekdays=prefs)
    assert result >= now
    assert in_window(result, tz=tz, preferred_weekdays=prefs)
    if result != now:
        local = result.astimezone(ZoneInfo(tz))
        assert local.time() == time(8, 0)
        # every day between now and the result (exclusive) had no opening after now
        day = now.astimezone(ZoneInfo(tz)).date()
        while day < local.date():
            opening = datetime.combine(day, time(8, 0), tzinfo=ZoneInfo(tz))
            open_day = is_business_day(day) and (not prefs or day.weekday() in prefs)
            assert not (open_day and opening >= now)
            day += timedelta(days=1)


@given(now=_instants)
def test_in_window_agrees_with_next_send_time(now: datetime) -> None:
    """in_window(now) is true exactly when next_send_time(now) is now."""
    assert in_window(now, tz=TZ) == (next_send_time(now, tz=TZ) == now)
