"""`relance run` while the database does not answer: one clear line (no password), tries again with a growing wait
instead of exiting (no crash loop under systemd or Docker), uses the database once it answers, stops on SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import drop_postgres_database, new_postgres_database
from tests.e2e.conftest import BotEnv
from tests.e2e.support import RELANCE

PASSWORD = "s3cret-PW-do-not-log"


class FlakyDatabase:
    """A loopback port in front of PostgreSQL: while down it accepts each connection and closes it at once (what a
    server going down or a dead proxy looks like); once `up`, it forwards every connection to `target`."""

    def __init__(self, target: tuple[str, int] | None = None) -> None:
        self.target = target
        self.up = False
        self.accepted = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if not self.up or self.target is None:
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pipe, args=(src, dst), daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    src.close()  # each direction closes the socket it read from: both are closed once both have ended


def _start(bot_env: BotEnv, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = bot_env.env | {"DATABASE_URL": url}
    env.pop("DATABASE_ADMIN_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen([str(RELANCE), "run"], env=env, cwd=bot_env.workdir, stdout=out, stderr=out)


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_database_down_at_start_is_one_line_retried_until_sigterm(bot_env: BotEnv, tmp_path: Path) -> None:
    """A PostgreSQL URL whose server closes every connection: the process stays up and tries again (1 s, 2 s, 4 s…),
    logs one warning naming the database without its password, and exits 0 on SIGTERM, no traceback."""
    db = FlakyDatabase()
    log = tmp_path / "run.log"
    proc = _start(bot_env, f"postgresql+psycopg://relance:{PASSWORD}@127.0.0.1:{db.port}/relance", log)
    try:
        assert _wait(lambda: db.accepted >= 3, timeout=30), db.accepted  # the tries at 0 s, 1 s and 3 s at least
        assert proc.poll() is None, log.read_text()  # waiting, not exited (no crash loop)
        tries = db.accepted
        assert _wait(lambda: db.accepted > tries, timeout=15)  # still trying
        code = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        db.close()
    text = log.read_text()
    assert code == 0, text
    unreachable = [line for line in text.splitlines() if "unreachable" in line]
    assert len(unreachable) == 1, text  # one line for the whole outage, not one per try
    assert f"postgresql+psycopg://relance:***@127.0.0.1:{db.port}/relance" in unreachable[0]
    assert "waits for it" in unreachable[0]
    assert "stopped while waiting for the database" in text
    assert PASSWORD not in text
    assert "Traceback" not in text


@pytest.mark.postgres
def test_database_appearing_later_is_used(bot_env: BotEnv, tmp_path: Path) -> None:
    """The database down at start, then up: the bot keeps trying, says once that it is reachable again, starts
    (migrated, serving) and stops cleanly on SIGTERM."""
    url, name = new_postgres_database()  # skips (or fails with RELANCE_REQUIRE_POSTGRES=1) without PostgreSQL
    real = make_url(url)
    db = FlakyDatabase((real.host or "127.0.0.1", real.port or 5432))
    log = tmp_path / "run.log"
    proc = _start(bot_env, real.set(host="127.0.0.1", port=db.port, password=PASSWORD).render_as_string(False), log)
    try:
        assert _wait(lambda: db.accepted >= 2, timeout=30), db.accepted
        assert proc.poll() is None, log.read_text()
        db.up = True
        assert _wait(lambda: "running (" in log.read_text(), timeout=60), log.read_text()
        code = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        db.close()
        drop_postgres_database(name)
    text = log.read_text()
    assert code == 0, text
    assert len([line for line in text.splitlines() if "unreachable" in line]) == 1, text
    assert "reachable again" in text
    assert PASSWORD not in text and "Traceback" not in text
