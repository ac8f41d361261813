"""Helpers for the evidence tests: businesses to own the chains."""

from __future__ import annotations

from sqlalchemy import Engine

from storage.db import write_session
from storage.models import Business


def add_business(engine: Engine, slug: str = "acme") -> int:
    """Create a business and return its id (every evidence entry belongs to one)."""
    with write_session(engine) as s:
        business = Business(slug=slug, name=f"{slug.title()} SARL")
        s.add(business)
        s.flush()
        assert business.id is not None
        return business.id
