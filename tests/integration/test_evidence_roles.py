"""PostgreSQL roles (README "PostgreSQL roles"): migrations run as the tables' owner, and the bot's role, created
with exactly the documented SQL, can read and append to the evidence log but not change, empty, drop or unprotect it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.db import make_engine, write_session
from storage.evidence import record, verify_chain
from storage.models import Business
from tests.conftest import _pg_admin_url, _pg_unavailable

pytestmark = pytest.mark.postgres

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_sql() -> tuple[list[str], list[str]]:
    """The two SQL blocks of the README section: (as the superuser, as the owner in the new database)."""
    section = README.read_text(encoding="utf-8").split("### PostgreSQL roles", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(blocks) == 2, "the README section has the superuser block and the owner block"
    return tuple([s.strip() for s in b.split(";") if s.strip()] for b in blocks)  # type: ignore[return-value]


@dataclass
class Roles:
    """A database set up with the documented roles; URLs to connect as each role."""

    owner: str
    bot: str
    owner_url: str
    bot_url: str


@pytest.fixture
def roles() -> Iterator[Roles]:
    """Create uniquely named roles and database from the README's SQL; drop all three afterwards."""
    admin_url = _pg_admin_url()
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection error means "not available here"
        _pg_unavailable(f"cannot connect: {type(exc).__name__}")
    suffix = uuid.uuid4().hex[:10]
    owner, bot, database = f"relance_owner_{suffix}", f"relance_bot_{suffix}", f"relance_roles_{suffix}"

    def named(statement: str) -> str:
        statement = statement.replace("relance_owner", owner).replace("relance_bot", bot)
        return re.sub(r"DATABASE relance\b", f'DATABASE "{database}"', statement)

    as_superuser, as_owner = documented_sql()
    urls = {
        role: make_url(admin_url).set(username=role, password=None, database=database)
        for role in (owner, bot)  # the test server trusts local connections: the passwords are not needed
    }
    try:
        with admin.connect() as conn:
            for statement in as_superuser:
                conn.execute(text(named(statement)))
        owner_engine = create_engine(urls[owner], isolation_level="AUTOCOMMIT")
        with owner_engine.connect() as conn:
            for statement in as_owner:
                conn.execute(text(named(statement)))
        owner_engine.dispose()
        yield Roles(
            owner,
            bot,
            urls[owner].render_as_string(hide_password=False),
            urls[bot].render_as_string(hide_password=False),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{bot}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


def _business(engine: Engine) -> int:
    with write_session(engine) as s:
        business = Business(slug="default", name="Atelier Dupont SARL")
        s.add(business)
        s.flush()
        assert business.id is not None
        return business.id


REFUSED = [
    "UPDATE evidence SET kind = 'forged'",
    "DELETE FROM evidence",
    "TRUNCATE evidence",
    "DROP TABLE evidence",
    "ALTER TABLE evidence DISABLE TRIGGER USER",
    "ALTER TABLE evidence DISABLE TRIGGER evidence_append_check",
]


def test_bot_role_can_only_read_and_append_to_the_log(roles: Roles) -> None:
    """As the documented runtime role: record() and SELECT work; UPDATE, DELETE, TRUNCATE, DROP, DISABLE TRIGGER
    are refused."""
    engine = make_engine(roles.bot_url, admin_url=roles.owner_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar_one() == roles.bot
            owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'evidence'")).scalar_one()
        assert owner == roles.owner  # the migrations ran as the owner, not as the bot
        business_id = _business(engine)  # the bot writes the business data as usual
        for i in range(3):
            with write_session(engine) as s:
                record(s, business_id=business_id, actor="owner:111", kind="card_action", payload={"i": i})
        for statement in REFUSED:
            with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM evidence")).scalar_one() == 3
        result = verify_chain(engine, business_id=business_id)
        assert result.ok and result.count == 3
    finally:
        engine.dispose()


def test_grants_given_after_the_migrations_are_taken_back(roles: Roles) -> None:
    """A later GRANT ... ON ALL TABLES gives the bot UPDATE on the log; the next start as the owner revokes it."""
    make_engine(roles.bot_url, admin_url=roles.owner_url).dispose()
    _, as_owner = documented_sql()
    owner_engine = create_engine(roles.owner_url, isolation_level="AUTOCOMMIT")
    with owner_engine.connect() as conn:
        for statement in as_owner:  # run again on the existing tables
            conn.execute(text(statement.replace("relance_bot", roles.bot)))
        assert conn.execute(text("SELECT has_table_privilege(:r, 'evidence', 'UPDATE')"), {"r": roles.bot}).scalar_one()
    owner_engine.dispose()
    engine = make_engine(roles.bot_url, admin_url=roles.owner_url)
    try:
        with engine.connect() as conn:
            rights = {
                p: conn.execute(
                    text("SELECT has_table_privilege(:r, 'evidence', :p)"), {"r": roles.bot, "p": p}
                ).scalar()
                for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
            }
        assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}
    finally:
        engine.dispose()
