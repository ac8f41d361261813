"""Test-only subprocess entry points: a racing bot process, and a fork server whose children die at a chosen point.

python -m tests.integration.sender_proc race DB_URL SMTP_PORT REMINDER_ID ATTEMPTS GO_FILE
    runs ATTEMPTS concurrent "approve then deliver" attempts on one reminder once GO_FILE exists;
    prints a JSON summary.
python -m tests.integration.sender_proc serve
    reads JSON lines {"db_url", "port", "business_id", "crash_at"} on stdin; for each, forks a sender that runs
    deliver_due for that business and kills itself with SIGKILL when it reaches `crash_at`
    (services.outbox.crash_hook); answers one JSON line {"pid", "signal", "exit"}. Forking from this small
    single-threaded server keeps each trial fast.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from services import outbox
from storage.db import make_engine, read_session
from storage.models import Reminder
from storage.reminders import StaleReminderError
from storage.types import utcnow
from tests.integration.delivery_helpers import queue, smtp_config


def _race(db_url: str, port: int, reminder_id: int, attempts: int, go_file: str) -> dict[str, Any]:
    engine = make_engine(db_url, migrate=False, pool_size=8, max_overflow=8)
    config = smtp_config(port)
    counts = {"queued": 0, "refused": 0, "sent": 0, "other": 0}
    with read_session(engine) as session:
        reminder = session.get(Reminder, reminder_id)
        assert reminder is not None
        business_id = reminder.business_id
    lock = threading.Lock()

    def approve() -> None:
        try:
            queue(engine, reminder_id)
            key = "queued"
        except StaleReminderError:
            key = "refused"
        with lock:
            counts[key] += 1

    async def attempt() -> None:
        await asyncio.to_thread(approve)
        for result in await outbox.deliver_due(
            engine, config, business_id=business_id, now=utcnow() + timedelta(seconds=5)
        ):
            counts["sent" if result.outcome == "sent" else "other"] += 1

    async def main() -> None:
        while not os.path.exists(go_file):
            await asyncio.sleep(0.005)
        await asyncio.gather(*(attempt() for _ in range(attempts)))

    asyncio.run(main())
    engine.dispose()
    return counts


def _crash_child(db_url: str, port: int, business_id: int, crash_at: str) -> None:
    def hook(point: str) -> None:
        if point == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    outbox.crash_hook = hook
    engine = make_engine(db_url, migrate=False)
    config = smtp_config(port)
    asyncio.run(outbox.deliver_due(engine, config, business_id=business_id, now=utcnow() + timedelta(seconds=5)))
    engine.dispose()


def _serve() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the sender that will be killed
            code = 0
            try:
                _crash_child(job["db_url"], int(job["port"]), int(job["business_id"]), job["crash_at"])
            except BaseException:
                code = 3
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        answer = {
            "pid": pid,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        }
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "race":
        started = time.monotonic()
        summary = _race(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
        summary["seconds"] = round(time.monotonic() - started, 2)
        print(json.dumps(summary))
    elif mode == "serve":
        _serve()
    else:
        raise SystemExit(f"unknown mode {mode}")
