"""The clients of a business as the owner's screens read them (/client), as `ClientRow`s."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Client


@dataclass(frozen=True, slots=True)
class ClientRow:
    """One client as stored."""

    id: int
    business_id: int
    name: str
    emails: str  # comma-separated; the first is the main address
    phone: str
    address: str
    language: str
    profile: str
    is_consumer: bool
    contractual_rate: Decimal | None
    notes: str
    created_at: datetime

    @property
    def email_list(self) -> list[str]:
        """The client's e-mail addresses, main one first."""
        return [e.strip() for e in self.emails.split(",") if e.strip()]


_FIELDS = tuple(f.name for f in fields(ClientRow))


def _row(client: Client) -> ClientRow:
    assert client.id is not None
    return ClientRow(*(getattr(client, name) for name in _FIELDS))


def client_row(session: Session, *, business_id: int, client_id: int) -> ClientRow | None:
    """The client `client_id` if it is one of this business's, else None."""
    client = session.get(Client, client_id)
    if client is None or client.business_id != business_id:
        return None
    return _row(client)


def clients_named(session: Session, *, business_id: int, text: str, limit: int = 20) -> list[ClientRow]:
    """This business's clients whose name contains `text` (case-insensitive), by name, at most `limit`."""
    needle = text.strip().lower()
    stmt = (
        select(Client)
        .where(Client.business_id == business_id, func.lower(Client.name).contains(needle))
        .order_by(col(Client.name))
        .limit(limit)
    )
    return [_row(c) for c in session.exec(stmt).all()]
