"""Never twice: concurrent approvals from two processes, and senders killed at every dangerous point."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from services.outbox import deliver_due, recover_unknown_at_startup, resend_unknown
from storage.db import read_session, write_session
from storage.evidence import verify_all
from storage.models import EvidenceEntry, Outbox
from storage.types import utcnow
from tests.integration.delivery_helpers import queue, seed_reminder, smtp_config
from tests.integration.smtp_server import ScriptedSmtpServer

ROOT = Path(__file__).resolve().parents[2]
TRIALS = 20
CRASH_POINTS = ["before_commit", "after_commit", "data_half", "after_reply", "after_update"]


def _count(engine: Engine, kind: str) -> int:
    with read_session(engine) as s:
        return int(s.exec(select(func.count()).select_from(EvidenceEntry).where(EvidenceEntry.kind == kind)).one())


def test_thousand_concurrent_approvals_from_two_processes_send_once(
    engine: Engine, db_url: str, smtp_server: ScriptedSmtpServer, tmp_path: Path
) -> None:
    """1,000 approve+deliver attempts on one reminder from two OS processes give exactly one SMTP transaction."""
    _, rid, _ = seed_reminder(engine)
    go = tmp_path / "go"
    cmd = [sys.executable, "-m", "tests.integration.sender_proc", "race", db_url, str(smtp_server.port), str(rid)]
    procs = [
        subprocess.Popen([*cmd, "500", str(go)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    time.sleep(1.0)  # both processes are up and waiting
    go.touch()
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        summaries.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(s["queued"] for s in summaries) == 1
    assert sum(s["queued"] + s["refused"] for s in summaries) == 1000
    assert sum(s["sent"] for s in summaries) == 1
    assert len(smtp_server.transactions) == 1
    with read_session(engine) as s:
        (row,) = s.exec(select(Outbox)).all()
    assert row.state == "sent" and row.attempts == 1
    assert _count(engine, "email_queued") == 1 and _count(engine, "smtp_accepted") == 1
    assert all(r.ok for r in verify_all(engine).values())


@pytest.fixture
def fork_server() -> Iterator[subprocess.Popen[str]]:
    """The test-only fork server (tests/integration/sender_proc.py serve)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sender_proc", "serve"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield proc
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    proc.wait(timeout=30)
    proc.stdout.close()


def _crash(server: subprocess.Popen[str], db_url: str, port: int, business_id: int, crash_at: str) -> dict[str, object]:
    assert server.stdin is not None and server.stdout is not None
    job = {"db_url": db_url, "port": port, "business_id": business_id, "crash_at": crash_at}
    server.stdin.write(json.dumps(job) + "\n")
    server.stdin.flush()
    return dict(json.loads(server.stdout.readline()))


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
async def test_sender_killed_loses_nothing_and_never_resends(
    engine: Engine,
    db_url: str,
    smtp_server: ScriptedSmtpServer,
    fork_server: subprocess.Popen[str],
    crash_at: str,
) -> None:
    """kill -9 of the sender at one point, 20 times: each message ends sent or 'unknown' (owner told), never twice."""
    config = smtp_config(smtp_server.port)
    outcomes: dict[str, int] = {}
    for _ in range(TRIALS):
        bid, rid, _ = seed_reminder(engine, number=f"F-{utcnow().timestamp()}")
        message_id = queue(engine, rid).message_id
        answer = _crash(fork_server, db_url, smtp_server.port, bid, crash_at)
        assert answer["signal"] == 9, answer  # the sender really died at that point
        # The bot restarts: interrupted rows become unknown, then the next tick runs.
        told = {r.reminder_id: r for r in recover_unknown_at_startup(engine, bid)}
        for _ in range(100):
            # On PostgreSQL the dead sender's transaction and its lease (storage/workers.py) end when the server
            # notices the closed socket; until then SKIP LOCKED passes its row over and its `sending` row counts as a
            # live process's, and a later tick takes it up (as the real 30 s ticks would).
            told.update({r.reminder_id: r for r in await deliver_due(engine, config, business_id=bid, now=utcnow())})
            with read_session(engine) as s:
                row = s.exec(select(Outbox).where(Outbox.reminder_id == rid)).one()
            if row.state not in ("queued", "sending"):
                break
            await asyncio.sleep(0.05)
        received = [t for t in smtp_server.transactions if t.message_id == message_id]
        assert len(received) <= 1, "an automatic duplicate was sent"
        assert row.state in ("sent", "unknown"), "the message was lost"
        if row.state == "unknown" or crash_at != "after_update":
            # The owner hears about it (card edited, or 'statut incertain'); after_update died after telling the
            # database, so the card is refreshed from the database at the next look.
            assert told[rid].outcome == row.state
        if row.state == "sent":
            assert len(received) == 1
        outcomes[f"{row.state}/{len(received)}"] = outcomes.get(f"{row.state}/{len(received)}", 0) + 1
        # Later ticks never resend an unknown message on their own.
        assert await deliver_due(engine, config, business_id=bid, now=utcnow()) == []
        assert len([t for t in smtp_server.transactions if t.message_id == message_id]) == len(received)
        if row.state == "unknown":
            with write_session(engine) as s:
                resend_unknown(s, row.id or 0, "owner:111", business_id=bid)
            (again,) = await deliver_due(engine, config, business_id=bid, now=utcnow())
            assert again.outcome == "sent"
    expected = {
        "before_commit": {"sent/1": TRIALS},
        "after_commit": {"unknown/0": TRIALS},
        "data_half": {"unknown/0": TRIALS},
        "after_reply": {"unknown/1": TRIALS},
        "after_update": {"sent/1": TRIALS},
    }[crash_at]
    assert outcomes == expected
    assert all(r.ok for r in verify_all(engine).values())
