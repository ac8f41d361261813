"""Evidence log cost: one state change with its log entry vs. the same change without it; `relance verify` over
1,000,000 entries (time and peak memory, measured in a separate process).

Targets (issue 4): append at most 1.5x the bare state change; verify 1,000,000 entries in under 30 s and 200 MB.
Set BENCH_EVIDENCE_ENTRIES to change the chain size, BENCH_EVIDENCE_PG=postgresql+psycopg://... to add PostgreSQL.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from bench.report import record as record_figure
from storage.db import make_engine, write_session
from storage.evidence import _TABLE, build_rows, record
from storage.models import Business, Client, Reminder

APPEND_TARGET = 1.5
VERIFY_SECONDS_TARGET = 30.0
VERIFY_MB_TARGET = 200.0
ROUNDS = 5
CHANGES_PER_ROUND = 400


def _seed(engine: Engine) -> int:
    with write_session(engine) as s:
        business = Business(slug="bench", name="Bench SARL")
        s.add(business)
        s.flush()
        client = Client(business_id=business.id or 0, name="Client SAS", emails="c@example.com")
        s.add(client)
        s.flush()
        reminder = Reminder(
            business_id=business.id or 0, client_id=client.id or 0, step="reminder_1", planned_date=date(2026, 5, 1)
        )
        s.add(reminder)
        s.flush()
        assert reminder.id is not None
        return reminder.id


def _change(engine: Engine, reminder_id: int, i: int, *, with_evidence: bool) -> None:
    """The state change a card tap makes: load the reminder, change state and version, (log it), commit."""
    with write_session(engine) as s:
        reminder = s.get(Reminder, reminder_id)
        assert reminder is not None
        previous = reminder.state
        reminder.state = "snoozed" if i % 2 else "pending"
        reminder.version += 1
        reminder.updated_at = datetime.now(UTC)
        s.add(reminder)
        if with_evidence:
            record(
                s,
                actor="owner:111",
                kind="reminder_state",
                business_id=reminder.business_id,
                client_id=reminder.client_id,
                reminder_id=reminder.id,
                payload={"from": previous, "to": reminder.state, "reason": "bench"},
            )


def bench_append(engine: Engine, label: str) -> float:
    """Median per-change time with and without the log entry (interleaved rounds); returns the ratio."""
    reminder_id = _seed(engine)
    for i in range(100):  # warm up both paths (connections, statement caches)
        _change(engine, reminder_id, i, with_evidence=bool(i % 2))
    bare: list[float] = []
    logged: list[float] = []
    for _ in range(ROUNDS):
        for with_evidence, sink in ((False, bare), (True, logged)):
            start = time.perf_counter()
            for i in range(CHANGES_PER_ROUND):
                _change(engine, reminder_id, i, with_evidence=with_evidence)
            sink.append((time.perf_counter() - start) / CHANGES_PER_ROUND)
    b, e = statistics.median(bare), statistics.median(logged)
    ratio = e / b
    verdict = "OK" if ratio <= APPEND_TARGET else "OVER TARGET"
    print(
        f"[{label}] state change alone: {b * 1e6:,.0f} us; with evidence entry: {e * 1e6:,.0f} us; "
        f"ratio {ratio:.2f}x (target <= {APPEND_TARGET}x) {verdict}"
    )
    record_figure(
        f"evidence: state change with its entry vs without ({label})",
        e * 1e6,
        "us",
        f"ratio <= {APPEND_TARGET:g}",
        baseline=b * 1e6,
    )
    return ratio


def _items(n: int) -> Iterator[dict[str, Any]]:
    start = datetime(2025, 1, 2, 7, 0, tzinfo=UTC)
    kinds = ("digest_sent", "card_action", "email_queued", "smtp_accepted", "payment_recorded")
    for i in range(n):
        yield {
            "actor": "system" if i % 3 else "owner:111",
            "kind": kinds[i % 5],
            "created_at": start + timedelta(seconds=31 * i, microseconds=i % 1000),
            "client_id": i % 300 + 1,
            "invoice_id": i % 3000 + 1,
            "reminder_id": i % 5000 + 1 if i % 2 else None,
            "payload": {"n": i, "subject": f"Suivi de votre facture n° F-2026-{i % 3000:04d}", "amount": "1234.56"},
        }


def _fill(engine: Engine, n: int) -> tuple[int, float]:
    """Bulk-build one business's chain of `n` entries; returns the business id and the time taken."""
    with write_session(engine) as s:
        business = Business(slug="chain", name="Chain SARL")
        s.add(business)
        s.flush()
        assert business.id is not None
        business_id = business.id
    start = time.perf_counter()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in build_rows(_items(n), business_id=business_id):
            batch.append(row)
            if len(batch) == 20_000:
                conn.execute(insert(_TABLE), batch)
                batch = []
        if batch:
            conn.execute(insert(_TABLE), batch)
    return business_id, time.perf_counter() - start


_VERIFY_CHILD = """
import resource, sys, time
from storage.db import make_engine
from storage.evidence import verify_chain
engine = make_engine(sys.argv[1], migrate=False)
start = time.perf_counter()
result = verify_chain(engine, business_id=int(sys.argv[2]))
elapsed = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(result.ok, result.count, f"{elapsed:.3f}", peak_kb)
"""


def bench_verify(url: str, n: int, label: str) -> None:
    """Fill a chain of `n` entries, then time `verify_chain` in a fresh process and read its peak RSS."""
    engine = make_engine(url)
    business_id, fill = _fill(engine, n)
    engine.dispose()
    out = subprocess.run(
        [sys.executable, "-c", _VERIFY_CHILD, url, str(business_id)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout.split()
    ok, count, seconds, peak_kb = out[0] == "True", int(out[1]), float(out[2]), int(out[3])
    mb = peak_kb / 1024
    verdict = "OK" if ok and seconds < VERIFY_SECONDS_TARGET and mb < VERIFY_MB_TARGET else "OVER TARGET"
    print(
        f"[{label}] chain of {count:,} entries built in {fill:.1f} s; verify: {seconds:.1f} s "
        f"({count / seconds:,.0f} entries/s), peak RSS {mb:.0f} MB (targets < {VERIFY_SECONDS_TARGET:.0f} s, "
        f"< {VERIFY_MB_TARGET:.0f} MB) valid={ok} {verdict}"
    )
    record_figure(f"evidence: verify {count:,} entries ({label})", seconds, "s", f"< {VERIFY_SECONDS_TARGET:g}")
    record_figure(f"evidence: verify peak RSS ({label})", mb, "MB", f"< {VERIFY_MB_TARGET:g}")
    record_figure(f"evidence: chain valid ({label})", int(ok), "bool", "== 1")


def main() -> None:
    """Run both measurements on SQLite (and on PostgreSQL when BENCH_EVIDENCE_PG is set)."""
    n = int(os.environ.get("BENCH_EVIDENCE_ENTRIES", "1000000"))
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/append.db")
        bench_append(engine, "sqlite")
        engine.dispose()
        bench_verify(f"sqlite:///{folder}/chain.db", n, "sqlite")
    pg = os.environ.get("BENCH_EVIDENCE_PG")
    if pg:
        _pg_bench(pg, n)


def _pg_bench(admin_url: str, n: int) -> None:
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    names = [f"relance_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        urls = [make_url(admin_url).set(database=name).render_as_string(hide_password=False) for name in names]
        engine = make_engine(urls[0])
        bench_append(engine, "postgresql")
        engine.dispose()
        bench_verify(urls[1], n, "postgresql")
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
