"""The business rows: looked up by id or slug, created and changed field by field; read as `BusinessRow`s."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import Business


@dataclass(frozen=True, slots=True)
class BusinessRow:
    """One business as stored: identity, payment details, owners, clock, ladder and the settings last applied."""

    id: int
    slug: str
    name: str
    address: str
    siren: str
    vat_number: str  # intra-EU, compact (FR40123456824); "" when not set
    iban: str
    bic: str
    phone: str
    email: str
    reply_to: str
    owner_chat_ids: str
    timezone: str
    digest_time: str
    ladder_toml: str | None
    paused: bool
    send_window_start: str
    send_window_end: str
    preferred_weekdays: str
    formal_notice_days: int
    settings_applied: str | None
    rates_toml: str | None
    created_at: datetime

    @property
    def owner_ids(self) -> list[int]:
        """The owners' Telegram user ids."""
        return [int(p) for p in (p.strip() for p in self.owner_chat_ids.split(",")) if p]


_FIELDS = tuple(f.name for f in fields(BusinessRow))
#: What `update_business` may change (the id, slug and creation time never change).
_CHANGEABLE = frozenset(_FIELDS) - {"id", "slug", "created_at"}


def _row(business: Business) -> BusinessRow:
    assert business.id is not None
    return BusinessRow(*(getattr(business, name) for name in _FIELDS))


def business_row(session: Session, *, business_id: int) -> BusinessRow:
    """The business `business_id`; LookupError when there is none (a context always names an existing one)."""
    business = session.get(Business, business_id)
    if business is None:
        raise LookupError(f"business {business_id} not found")
    return _row(business)


def find_business(session: Session, *, slug: str) -> BusinessRow | None:
    """The business with this slug, or None."""
    business = session.exec(select(Business).where(Business.slug == slug)).first()
    return _row(business) if business is not None else None


def all_businesses(session: Session) -> list[BusinessRow]:
    """Every business of the database, by id (the install's own commands: verify --all)."""
    return [_row(b) for b in session.exec(select(Business).order_by(col(Business.id))).all()]


def create_business(session: Session, *, slug: str, values: dict[str, Any]) -> BusinessRow:
    """Add a business with these field values; it has its id on return."""
    unknown = set(values) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not business fields: {', '.join(sorted(unknown))}")
    business = Business(slug=slug, **values)
    session.add(business)
    session.flush()
    return _row(business)


def update_business(session: Session, *, business_id: int, **values: Any) -> BusinessRow:
    """Change some fields of the business `business_id` (in the caller's transaction); the row as it is now."""
    unknown = set(values) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not business fields: {', '.join(sorted(unknown))}")
    business = session.get(Business, business_id)
    if business is None:
        raise LookupError(f"business {business_id} not found")
    for name, value in values.items():
        setattr(business, name, value)
    session.add(business)
    session.flush()
    return _row(business)
