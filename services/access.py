"""Strangers at the door: at most one refusal and one evidence entry per stranger and business day, the rest counted.

Chat-free. The adapter asks `arrive()` for every update of a stranger (memory only, microseconds, so it can run on
the path every update takes) and, when it says so, calls `refuse()` off that path (a worker thread): `refuse()`
checks the log and writes the `access_refused` entry. Updates that get no refusal are counted per stranger and
written as one `access_refused_count` entry per day:

- when the first stranger update of a later day arrives (the adapter then calls `flush()`), or
- at shutdown (`flush(final=True)`), which also writes the day in progress with `"complete": false`. A restart in
  the middle of a day therefore splits that day's count into two entries; their sum is the day's count.

Memory is bounded: at most `tracked_per_day` strangers are remembered per day; the updates of any stranger beyond
that are counted together (`"others"`) and get no refusal (we could not tell whether they already had one).

After a restart the log is read once per day (the day's `access_refused` entries, scanning back from the newest
entry, never the whole table) so a stranger refused before the restart is not refused or recorded again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Engine, read_session, write_session
from storage.evidence import record
from storage.strangers import recent_entries
from storage.types import utcnow

log = logging.getLogger(__name__)

#: Strangers remembered per day. Each costs a few dozen bytes, and the day's count entry lists them all (about
#: 15 bytes each in the JSON), so the entry stays under 30 kB.
TRACKED_PER_DAY = 2000
REFUSED = "access_refused"
COUNTED = "access_refused_count"
#: A stranger as the adapter names them: Telegram's numeric user id, or another adapter's text id ("slack:U0123").
UserId = int | str
#: Entries read per query when looking back for the day's refusals after a restart.
_SCAN_BATCH = 2000
#: Looking back at least this far covers a business day in any time zone, whatever the clock says the day is.
_LOOK_BACK = timedelta(hours=36)


@dataclass(frozen=True)
class Arrival:
    """What to do with one stranger update: refuse it (the first of the day), and whether a new day began."""

    refuse: bool
    new_day: bool


@dataclass(frozen=True)
class Refusal:
    """The outcome of `refuse()`: send the refusal or not, and whether an `access_refused` entry was written."""

    reply: bool
    recorded: bool


@dataclass
class _Day:
    """One business day's strangers, in memory."""

    day: date
    refused: set[UserId] = field(default_factory=set)  # refused (or being refused) today by this process
    ignored: dict[UserId, int] = field(default_factory=dict)  # updates that got no reply and no entry, per stranger
    others: int = 0  # ignored updates of strangers beyond the cap
    capped: bool = False
    logged: set[UserId] | None = None  # refused today according to the log (read once, after a restart)

    def known(self, user_id: UserId) -> bool:
        return user_id in self.refused or user_id in self.ignored

    def tracked(self) -> int:
        return len(self.refused | self.ignored.keys())


class StrangerLog:
    """The day's strangers of one business: who was refused, who is only counted, and their evidence entries."""

    def __init__(
        self, engine: Engine, business_id: int, tz: ZoneInfo, *, tracked_per_day: int = TRACKED_PER_DAY
    ) -> None:
        self.engine = engine
        self.business_id = business_id
        self.tz = tz
        self.tracked_per_day = tracked_per_day
        # arrive() runs on the event loop, refuse() and flush() in a worker thread: one lock for the counters.
        self._lock = threading.Lock()
        self._today: _Day | None = None
        self._finished: list[_Day] = []  # earlier days whose count is not written yet

    # --- in memory, on the path of every update ---

    def arrive(self, day: date, user_id: UserId, may_refuse: Callable[[], bool]) -> Arrival:
        """Count one update of a stranger; `refuse` is True for their first of the day when `may_refuse()` agrees.

        `may_refuse` is asked only for a stranger not yet refused today (the adapter's reply budget): when it
        says no, the update is counted and a later update of the same stranger may still get the refusal.
        """
        with self._lock:
            new_day = self._roll(day)
            today = self._today
            assert today is not None
            if user_id in today.refused:
                today.ignored[user_id] = today.ignored.get(user_id, 0) + 1
                return Arrival(False, new_day)
            if not today.known(user_id) and today.tracked() >= self.tracked_per_day:
                today.others += 1
                today.capped = True
                return Arrival(False, new_day)
            if may_refuse():
                today.refused.add(user_id)
                return Arrival(True, new_day)
            today.ignored[user_id] = today.ignored.get(user_id, 0) + 1
            return Arrival(False, new_day)

    def _roll(self, day: date) -> bool:
        if self._today is not None and self._today.day == day:
            return False
        if self._today is not None and (self._today.ignored or self._today.others):
            self._finished.append(self._today)
        self._today = _Day(day)
        return True

    # --- with the database, off the update path ---

    def refuse(self, day: date, user_id: UserId, what: str) -> Refusal:
        """Record the refusal of a stranger `arrive()` chose, unless the log shows they were refused today already."""
        logged = self._logged(day)
        if user_id in logged:
            # Refused before a restart: this update gets nothing and is counted like any further one.
            with self._lock:
                if self._today is not None and self._today.day == day:
                    self._today.ignored[user_id] = self._today.ignored.get(user_id, 0) + 1
            return Refusal(reply=False, recorded=False)
        try:
            with write_session(self.engine) as session:
                record(
                    session,
                    actor=f"stranger:{user_id}"[:64],
                    kind=REFUSED,
                    business_id=self.business_id,
                    payload={"user_id": user_id, "update": what[:40], "day": day},
                )
        except Exception:
            # The refusal still goes out: failing to log a stranger must not turn into answering them nothing.
            log.exception("could not record a refused access")
            return Refusal(reply=True, recorded=False)
        logged.add(user_id)
        return Refusal(reply=True, recorded=True)

    def _logged(self, day: date) -> set[UserId]:
        """The strangers refused on `day` according to the log (read once per day and cached)."""
        with self._lock:
            today = self._today if self._today is not None and self._today.day == day else None
            if today is not None and today.logged is not None:
                return today.logged
        found = self._read_refused(day)
        with self._lock:
            if today is not None:
                today.logged = found
        return found

    def _read_refused(self, day: date) -> set[UserId]:
        start = datetime.combine(day, time(0), self.tz).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), self.tz).astimezone(UTC)
        # The day may be set by RELANCE_TODAY (demo, tests): never look back less than a day and a half from now.
        since = min(start, utcnow() - _LOOK_BACK)
        wanted = day.isoformat()
        found: set[UserId] = set()
        # Newest first by primary key, in batches, until the entries are older than the day: today's entries only.
        with read_session(self.engine) as session:
            entries = recent_entries(session, business_id=self.business_id, kind=REFUSED, since=since,
                                     batch=_SCAN_BATCH)  # fmt: skip
        for created_at, payload in entries:
            user_id = _refused_user(payload, wanted, created_at, start, end)
            if user_id is not None:
                found.add(user_id)
        return found

    def flush(self, *, final: bool = False) -> int:
        """Write the count entry of each finished day (and, with `final`, of the day in progress); returns how many."""
        with self._lock:
            days = [(finished, True) for finished in self._finished]
            self._finished = []
            current = self._today
            if final and current is not None and (current.ignored or current.others):
                days.append((current, False))
                # Counting goes on from zero; who was refused today is still remembered.
                self._today = _Day(current.day, refused=set(current.refused), logged=current.logged)
        written = 0
        for finished, complete in days:
            try:
                with write_session(self.engine) as session:
                    record(
                        session,
                        actor="system",
                        kind=COUNTED,
                        business_id=self.business_id,
                        payload=_count_payload(finished, complete=complete),
                    )
                written += 1
            except Exception:
                log.exception("could not record the count of refused updates of %s", finished.day)
        return written


def _count_payload(day: _Day, *, complete: bool) -> dict[str, Any]:
    ignored = {str(user_id): n for user_id, n in sorted(day.ignored.items(), key=lambda item: str(item[0]))}
    return {
        "day": day.day,
        "ignored": ignored,
        "others": day.others,
        "total": sum(day.ignored.values()) + day.others,
        "capped": day.capped,
        "complete": complete,
    }


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _refused_user(payload: str, wanted: str, created_at: datetime, start: datetime, end: datetime) -> UserId | None:
    """The stranger of an `access_refused` entry of the wanted day (entries before the "day" field: by timestamp)."""
    try:
        data = json.loads(payload)
        user_id = data["user_id"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(user_id, int | str) or isinstance(user_id, bool):
        return None
    day = data.get("day")
    if day is not None:
        return user_id if day == wanted else None
    return user_id if start <= _aware(created_at) < end else None
