"""Whether the database answers right now (the process's health check, /healthz): a query on a connection of its
own, opened for the check, so a pooled connection kept from earlier cannot hide a database that is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


class DatabasePing:
    """`ping()` answers None when the database of `url` answers, else the error's class name (never its text, which
    may hold the URL and its password). Blocking: call it from a thread."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        parsed = make_url(url)
        self._timeout = timeout
        self._sqlite_file: Path | None = None
        self._engine = None
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                self._sqlite_file = Path(parsed.database).resolve()
        else:
            # A fresh connection per check (NullPool) with the driver's connect timeout: a closed port or a dead
            # host is reported within `timeout`, not after the operating system's TCP timeout.
            self._engine = create_engine(
                url, poolclass=NullPool, connect_args={"connect_timeout": max(1, round(timeout))}
            )

    def ping(self) -> str | None:
        """None when a new connection reads the database, else the error's class name."""
        try:
            if self._sqlite_file is not None:
                # mode=rw: a file that was removed is reported, not silently created again empty.
                uri = self._sqlite_file.as_uri() + "?mode=rw"
                with sqlite3.connect(uri, uri=True, timeout=self._timeout) as conn:
                    # Reads the file's header and schema: a file that is no longer a database fails here.
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                conn.close()
            elif self._engine is not None:
                with self._engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "unreachable"; its class name says which
            return type(exc).__name__
        return None

    def close(self) -> None:
        """Release the check's engine (PostgreSQL)."""
        if self._engine is not None:
            self._engine.dispose()
