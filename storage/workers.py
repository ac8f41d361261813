"""Several processes on one database: who claimed a piece of work, whether that process still lives, and which one
receives the chat's updates.

Every process that claims work (an outbox row it is about to send, a digest it is about to deliver) writes its token
on the claim (`token()`: host, pid and a random part) and holds a lease for as long as it lives: on PostgreSQL a
session-level advisory lock on a connection of its own, on SQLite an exclusive `flock` on a file beside the database.
The operating system or the server drops the lease the instant the process dies, kill -9 included, so another
process (or the same one restarted) can tell a claim whose owner died (`alive(...)` is False: take the work up again)
from one a live process is still working on (never touched).

`hold_receiver` is the same kind of lease under one fixed name: only one process of a deployment receives the chat's
updates (long polling or the webhook); the others are workers (`relance run --worker`) that only run jobs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import socket
import threading
import zlib
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, event, text

__all__ = [
    "ReceiverBusyError",
    "alive",
    "ensure_lease",
    "hold_receiver",
    "live_processes",
    "release_receiver",
    "token",
]

log = logging.getLogger(__name__)

#: The first key of Relance's advisory locks (the second is the crc32 of the name), apart from other applications'.
_LOCK_CLASS = 0x52454C  # "REL"
_RECEIVER = "receiver"
#: Relance's granted two-key advisory locks in this database (pg_locks lists every database's).
_OURS = (
    "locktype = 'advisory' AND granted AND classid = :c AND objsubid = 2 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

_lock = threading.Lock()
_pid: int | None = None
_token: str | None = None
#: The leases this process holds, per database (engine URL): a PostgreSQL connection or an open locked file.
_leases: dict[str, Connection | IO[bytes]] = {}
_receivers: dict[str, Connection | IO[bytes]] = {}


class ReceiverBusyError(Exception):
    """Another process already receives the chat's updates for this database."""


def token() -> str:
    """This process's token (a forked child gets its own)."""
    global _pid, _token
    with _lock:
        if _pid != os.getpid() or _token is None:
            _pid = os.getpid()
            _token = f"{socket.gethostname()[:60]}:{_pid}:{secrets.token_hex(4)}"
            _leases.clear()  # a fork's inherited handles are the parent's lease, not ours
            _receivers.clear()
        return _token


def _key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _sqlite_file(engine: Engine) -> Path | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _lease_file(database: Path, name: str) -> Path:
    return database.parent / f".{database.name}.leases" / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"


def _pg_lock(engine: Engine, name: str, *, wait: bool) -> Connection | None:
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        got = connection.execute(text(f"SELECT {function}(:c, :k)"), {"c": _LOCK_CLASS, "k": _key(name)}).scalar()
    except BaseException:
        connection.close()
        raise
    if wait or got:
        return connection
    connection.close()
    return None


def _file_lock(path: Path) -> IO[bytes] | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _close(lease: Connection | IO[bytes]) -> None:
    """Give a lease up: a PostgreSQL connection is closed for good (returned to the pool it would keep its lock)."""
    with contextlib.suppress(Exception):
        if isinstance(lease, Connection):
            lease.invalidate()
        lease.close()


def _on_dispose(engine: Engine) -> None:
    """The engine is closed: its leases go with it (tests open many databases in one process)."""
    url = str(engine.url)
    with _lock:
        held = [table.pop(url) for table in (_leases, _receivers) if url in table]
    for lease in held:
        _close(lease)


def _watch(engine: Engine) -> None:
    if not event.contains(engine, "engine_disposed", _on_dispose):
        event.listen(engine, "engine_disposed", _on_dispose)


def _lease_alive(lease: Connection | IO[bytes]) -> bool:
    if isinstance(lease, Connection):
        if lease.closed or lease.invalidated:
            return False
        try:
            lease.execute(text("SELECT 1"))
        except Exception:
            return False
    return True


def ensure_lease(engine: Engine) -> str:
    """Hold this process's lease on `engine`'s database (taken once, taken again if its connection broke); return
    the token to write on a claim. Called by every claim, so any process that claims work is known to be alive."""
    mine = token()
    url = str(engine.url)
    with _lock:
        lease = _leases.get(url)
        if lease is not None and _lease_alive(lease):
            return mine
        if lease is not None:
            _close(lease)
        _watch(engine)
        if _postgres(engine):
            connection = _pg_lock(engine, mine, wait=True)
            assert connection is not None
            _leases[url] = connection
        elif (database := _sqlite_file(engine)) is not None:
            handle = _file_lock(_lease_file(database, mine))
            if handle is not None:
                _leases[url] = handle
    return mine


def alive(engine: Engine, holder: str | None) -> bool:
    """Whether the process that wrote `holder` on a claim still holds its lease. Reads only (PostgreSQL: pg_locks;
    SQLite: a non-blocking flock tried and released at once). A claim without a holder (written before this
    version) or by a process that never took its lease counts as dead: its work is taken up again."""
    if holder is None:
        return False
    if holder == token():
        return True
    if _postgres(engine):
        with engine.connect() as connection:
            found = connection.execute(
                text(f"SELECT 1 FROM pg_locks WHERE {_OURS} AND objid = :k"),
                {"c": _LOCK_CLASS, "k": _key(holder)},
            ).first()
        return found is not None
    database = _sqlite_file(engine)
    if database is None:
        return False  # an in-memory database lives in one process only
    path = _lease_file(database, holder)
    if not path.exists():
        return False
    handle = _file_lock(path)
    if handle is None:
        return True
    handle.close()
    with contextlib.suppress(OSError):
        path.unlink()  # a dead process's lease file: nobody will ask again
    return False


def hold_receiver(engine: Engine) -> None:
    """Become the deployment's one receiving process, or raise ReceiverBusyError at once (never waits)."""
    token()
    url = str(engine.url)
    with _lock:
        if url in _receivers:
            return
        lease: Any
        _watch(engine)
        if _postgres(engine):
            lease = _pg_lock(engine, _RECEIVER, wait=False)
        elif (database := _sqlite_file(engine)) is not None:
            lease = _file_lock(_lease_file(database, _RECEIVER))
        else:
            return
        if lease is None:
            raise ReceiverBusyError("another Relance process already receives the chat's updates for this database")
        _receivers[url] = lease


def release_receiver(engine: Engine) -> None:
    """Let another process receive the updates (at stop)."""
    with _lock:
        lease = _receivers.pop(str(engine.url), None)
    if lease is not None:
        _close(lease)


def live_processes(engine: Engine) -> int:
    """How many Relance processes hold a lease on this database now (at least 1: this one), so they can share a
    budget such as Telegram's ~30 messages a second. Reads only. On SQLite: the lease files still locked."""
    if _postgres(engine):
        with engine.connect() as connection:
            count = connection.execute(
                text(f"SELECT count(DISTINCT pid) FROM pg_locks WHERE {_OURS} AND objid <> :r"),
                {"c": _LOCK_CLASS, "r": _key(_RECEIVER)},
            ).scalar()
        return max(1, int(count or 0))
    database = _sqlite_file(engine)
    if database is None:
        return 1
    folder = _lease_file(database, _RECEIVER).parent
    receiver = _lease_file(database, _RECEIVER).name
    count = 0
    for path in folder.glob("*.lock") if folder.is_dir() else ():
        if path.name == receiver:
            continue
        handle = _file_lock(path)
        if handle is None:
            count += 1
        else:
            handle.close()
    return max(1, count)
