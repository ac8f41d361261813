"""When the owner's morning digest is due: the pure rule (its facts are read by storage.digests).

The scheduler only wakes the bot (at start and every minute); whether a digest goes out is decided here, from the
business's clock and what the database says, so a bot paused, asleep or busy at the digest time still sends that
day's digest as soon as it runs again, and never the next day's one early.
"""

from __future__ import annotations

from datetime import date, datetime, time

from dunning.calendar import is_business_day


def digest_due(now_local: datetime, digest_time: time, last_digest_day: date | None, needs_owner: bool) -> bool:
    """True when the digest of `now_local`'s day should go out now.

    - once a day: not when a digest already went out that day (or a later one, after a clock change);
    - never before the digest time, read on the business's wall clock (`now_local` is in its time zone, so a
      daylight-saving change moves nothing: at 08:30 local is 08:30 local, winter or summer);
    - on week-ends and public holidays only when something needs the owner (a failed or uncertain send).
    """
    day = now_local.date()
    if last_digest_day is not None and last_digest_day >= day:
        return False
    if now_local.time().replace(tzinfo=None) < digest_time:
        return False
    return is_business_day(day) or needs_owner
