"""Engine creation (SQLite in WAL mode with foreign keys, or PostgreSQL), migrations on first use, sessions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

import storage.schedule  # noqa: F401  (registers the listener that keeps invoice.next_action_on right)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, *, migrate: bool = True, admin_url: str | None = None, **kwargs: Any) -> Engine:
    """Open the database at `url`, creating the SQLite folder and bringing the schema up to date.

    With `admin_url` (PostgreSQL: the tables' owner), the migrations run on a short-lived connection as that role,
    so the role of `url`, which runs the bot, needs no right to change the schema or the evidence log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, **kwargs)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    if migrate:
        if admin_url:
            admin = make_engine(admin_url, migrate=False, poolclass=NullPool)
            try:
                upgrade(admin)
            finally:
                admin.dispose()
        else:
            upgrade(engine)
    return engine


def database_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database could not be reached or the connection broke (server down, refused, file
    not openable), as opposed to a bug or a refused statement: the caller waits and tries again."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def describe_database_error(exc: BaseException) -> str:
    """The driver's first line (e.g. "connection to server at "127.0.0.1", port 5432 failed: Connection refused"),
    without SQLAlchemy's statement and link; the driver never echoes the password."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    return lines[0] if lines else type(orig).__name__


def safe_url(url: str) -> str:
    """`url` with its password masked, for a log line."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(DATABASE_URL)"


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    connect_args = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (needed for BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer takes the write lock up front, so two processes never deadlock upgrading a read lock.
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_REVISION = re.compile(r"^revision(?:\s*:\s*str)?\s*=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=]+)?\s*=\s*[\"']([^\"']+)[\"']", re.M)


def _newest_revision() -> str | None:
    """The one head of the migration files (the `revision` no other file names as its `down_revision`), read as text
    without importing Alembic; None when that is not plain (several heads, an unusual file): Alembic then decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found = _REVISION.findall(text)
        if len(found) != 1:
            return None
        revisions.add(found[0])
        parents.update(_DOWN_REVISION.findall(text))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(conn: Any) -> bool:
    """Whether the database already stands at the newest migration (the usual restart): nothing for Alembic to do."""
    from sqlalchemy import inspect

    head = _newest_revision()
    if head is None or not inspect(conn).has_table("alembic_version"):
        return False
    return [row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")] == [head]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the Alembic migrations to `engine` (a fresh database is created from scratch); a database already at the
    newest migration is recognised without loading Alembic (its import is a tenth of a second of every start)."""
    with engine.begin() as conn:
        if not (revision == "head" and _at_head(conn)):
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        if conn.dialect.name == "postgresql" and conn.exec_driver_sql(_OWNS_EVIDENCE).scalar():
            # Grants made after the migrations (GRANT ... ON ALL TABLES) would give the bot's role UPDATE or DELETE
            # on the log again: each start as the owner takes them back.
            conn.exec_driver_sql(_REVOKE_EVIDENCE_CHANGES)


_OWNS_EVIDENCE = "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass('evidence')"
# Whatever default privileges or grants gave other roles, only SELECT and INSERT on the log remain to them.
_REVOKE_EVIDENCE_CHANGES = """
DO $$
DECLARE
    grantee_name text;
BEGIN
    FOR grantee_name IN
        SELECT DISTINCT grantee FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = 'evidence'
          AND privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES')
          AND grantee <> (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'evidence'::regclass)
    LOOP
        -- Concatenated, not format(): a percent sign would be read as a parameter by the driver.
        EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON evidence FROM '
            || CASE WHEN grantee_name = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(grantee_name) END;
    END LOOP;
END
$$
"""


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for one action: one transaction, committed on success, rolled back on error.

    On SQLite the transaction starts with BEGIN IMMEDIATE (the write lock is taken at once).
    """
    bind = engine.execution_options(sqlite_immediate=True) if engine.dialect.name == "sqlite" else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reading."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
