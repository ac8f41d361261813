"""The business context every use case takes: which business, its clock, its policy, its identity and its ways
of rendering and delivering. Built once per business by an entry point (bot/business.py from Settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dunning.penalties import RateTable
from messages.imap import MailboxConfig
from services.delivery import Delivery, Drafter


@dataclass(frozen=True)
class Clock:
    """The business's "today" and "now": the day in the business time zone, or a fixed day (demos, tests)."""

    tz: ZoneInfo
    fixed_today: date | None = None
    #: Tests may replace the wall clock (UTC, aware).
    wall: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def fixed(self) -> bool:
        """True when "today" is fixed: the wall clock is then fictional (no sending window, no digest time)."""
        return self.fixed_today is not None

    def now(self) -> datetime:
        """The current moment, aware, UTC."""
        return self.wall()

    def today(self) -> date:
        """The business day: the fixed day, else the current date in the business time zone."""
        if self.fixed_today is not None:
            return self.fixed_today
        return self.now().astimezone(self.tz).date()

    def local_now(self) -> datetime:
        """The current moment in the business time zone."""
        return self.now().astimezone(self.tz)


@dataclass
class BusinessContext:
    """One business as the services see it. Values the owner can change from the chat (digest time, pause,
    ladder) are read from the database when needed, not kept here."""

    engine: Engine
    business_id: int
    owner_ids: frozenset[int]
    clock: Clock
    rate_table: RateTable
    drafter: Drafter
    delivery: Delivery
    #: Sender identity of the e-mails (MAIL_FROM, MAIL_REPLY_TO); empty: the business's stored addresses.
    mail_from: str = ""
    reply_to: str = ""
    slug: str = ""
    #: Where the business's files (invoice PDFs, .eml copies) are kept.
    data_dir: str = "data"
    #: The mailbox where clients' replies arrive (IMAP_*); None: replies by e-mail are off.
    mailbox: MailboxConfig | None = None

    @property
    def tz(self) -> ZoneInfo:
        """The business time zone."""
        return self.clock.tz
