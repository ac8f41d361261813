"""The digest rule, pure: once a day, never before the digest time, week-ends only when the owner is needed."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.digest import digest_due

PARIS = ZoneInfo("Europe/Paris")
AT = time(8, 30)


def _at(day: date, hh: int, mm: int, ss: int = 0, *, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=PARIS, fold=fold)


TUESDAY = date(2026, 11, 24)


def test_never_before_the_digest_time() -> None:
    """08:29:59 is too early; 08:30:00 and any later moment of the day are due."""
    assert not digest_due(_at(TUESDAY, 8, 29, 59), AT, None, False)
    assert digest_due(_at(TUESDAY, 8, 30), AT, None, False)
    assert digest_due(_at(TUESDAY, 23, 59, 59), AT, date(2026, 11, 23), False)


def test_once_a_day() -> None:
    """A digest already sent that day (or a later day, after a clock change) is not sent again."""
    assert not digest_due(_at(TUESDAY, 9, 0), AT, TUESDAY, True)
    assert not digest_due(_at(TUESDAY, 9, 0), AT, date(2026, 11, 25), True)


def test_week_end_only_when_the_owner_is_needed() -> None:
    """Saturday and a public holiday (11 November): nothing, unless a send failed or is uncertain."""
    saturday, armistice = date(2026, 11, 28), date(2026, 11, 11)
    for day in (saturday, armistice):
        assert not digest_due(_at(day, 10, 0), AT, None, False)
        assert digest_due(_at(day, 10, 0), AT, None, True)
        assert not digest_due(_at(day, 8, 0), AT, None, True)


def test_spring_forward_day() -> None:
    """29/03/2026 (Paris skips 02:00-03:00): a 02:30 digest time is due from 03:00 local, 08:30 stays 08:30 local."""
    day = date(2026, 3, 29)
    assert not digest_due(_at(day, 1, 59), time(2, 30), None, True)
    assert digest_due(datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("UTC")).astimezone(PARIS), time(2, 30), None, True)
    # 06:30 UTC is 08:30 in summer time: due; 06:29 UTC is not.
    assert digest_due(datetime(2026, 3, 29, 6, 30, tzinfo=ZoneInfo("UTC")).astimezone(PARIS), AT, None, True)
    assert not digest_due(datetime(2026, 3, 29, 6, 29, tzinfo=ZoneInfo("UTC")).astimezone(PARIS), AT, None, True)


def test_fall_back_day() -> None:
    """25/10/2026 (02:00-03:00 happens twice): due at the first 02:30, not again at the second; 08:30 is 07:30 UTC."""
    day = date(2026, 10, 25)
    assert digest_due(_at(day, 2, 30, fold=0), time(2, 30), None, True)
    assert not digest_due(_at(day, 2, 30, fold=1), time(2, 30), day, True)
    assert not digest_due(datetime(2026, 10, 25, 7, 29, tzinfo=ZoneInfo("UTC")).astimezone(PARIS), AT, None, True)
    assert digest_due(datetime(2026, 10, 25, 7, 30, tzinfo=ZoneInfo("UTC")).astimezone(PARIS), AT, None, True)
