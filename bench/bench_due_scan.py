"""The morning scan reads only what is due (issue 12 §4): 1,000,000 open invoices of which 1 % are due, on SQLite,
and 10,000,000 on PostgreSQL.

Three timings per database, medians of several runs (wall clock: PostgreSQL works in another process):
- the indexed scan: `storage.reminders.due_today` as refresh_due runs it (invoices with next_action_on <= today, their
  history of steps sent, the policy deciding and grouping);
- its baseline: the bare read of the due rows (the same two SELECTs on the DB-API cursor, plain fetchall);
- the full scan: `due_today(..., full_scan=True)`, every open invoice read and decided.
Goals: indexed <= 2x the bare read, indexed <= 1/20 of the full scan; both scans give the same reminders (checked);
peak memory of the indexed scan (a fresh process running only it) <= 300 MB.

The books are built in SQL (executemany on SQLite, generate_series on PostgreSQL) with each invoice's next action
date computed by the policy (dunning.policy.next_action_date) for its due date and client profile: 1 % are due a
reminder_1 today, the others are due later with their pre-reminder ahead. 10,000 clients per million invoices are
too many reminders for one owner; the figure is about the read.

Environment: BENCH_DUE_SCAN_SQLITE (default 1000000; 0 skips), BENCH_DUE_SCAN_PG (default 10000000; 0 skips),
BENCH_DUE_SCAN_RUNS (5), RELANCE_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres;
a scratch database is created and dropped).
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import record

TODAY = date(2026, 11, 24)  # a Tuesday
PROFILES = ("standard", "standard", "standard", "loyal", "late_payer", "key_account", "in_difficulty")
DUE_KEYS = 100  # due dates: key 0 is due today (1 %), keys 1..99 later
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STAMP = datetime(2026, 11, 1, 8, 0)


def due_dates() -> list[date]:
    """Key 0: due 20 days ago (reminder_1 due today for every profile); the others: due in 10 to 59 days."""
    return [TODAY - timedelta(days=20)] + [TODAY + timedelta(days=10 + k // 2) for k in range(1, DUE_KEYS)]


def schedule_table() -> dict[tuple[int, int], date]:
    """(due key, profile index) -> the policy's next action date of a new invoice with that due date and profile."""
    from decimal import Decimal

    from dunning.ladder import DEFAULT_LADDER
    from dunning.policy import InvoiceSnapshot, next_action_date

    table = {}
    for key, due in enumerate(due_dates()):
        for p, profile in enumerate(PROFILES):
            found = next_action_date(InvoiceSnapshot(0, 0, due, Decimal("1.00"), "open", profile), DEFAULT_LADDER)
            assert found is not None and (found <= TODAY) == (key == 0), (key, profile, found)
            table[key, p] = found
    return table


def due_key(i: int) -> int:
    """Spread the due dates over the invoices: 1 in DUE_KEYS gets key 0."""
    return (i * 2654435761 // 128) % DUE_KEYS  # a multiplicative hash: no correlation with the client


# --- building ------------------------------------------------------------------------------------------------


def _business_sql(placeholder: str) -> str:
    return (
        "INSERT INTO business (slug, name, address, siren, iban, bic, phone, email, reply_to, owner_chat_ids,"
        " timezone, digest_time, paused, send_window_start, send_window_end, preferred_weekdays,"
        f" formal_notice_days, created_at) VALUES ('bench', 'Bench SARL', '', '', '', '', '', '', '', '',"
        f" 'Europe/Paris', '08:30', false, '08:00', '18:00', '', 8, {placeholder})"
    )


def build_sqlite(path: Path, invoices: int, clients: int) -> int:
    """A SQLite book of `invoices` open invoices; returns the business id."""
    import sqlite3

    from storage.db import make_engine
    from storage.names import client_name_key

    make_engine(f"sqlite:///{path}").dispose()
    rng = random.Random(42)
    table = schedule_table()
    dues = [d.isoformat() for d in due_dates()]
    stamp = STAMP.isoformat(sep=" ")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        business_id = int(conn.execute(_business_sql("?"), (stamp,)).lastrowid or 1)
        conn.executemany(
            "INSERT INTO client (id, business_id, name, name_key, emails, phone, language, profile, is_consumer,"
            " notes, created_at) VALUES (?, ?, ?, ?, ?, '', 'fr', ?, 0, '', ?)",
            (
                (c, business_id, f"Client {c:06d} SARL", client_name_key(f"Client {c:06d} SARL"),
                 f"compta{c}@example.fr", PROFILES[c % len(PROFILES)], stamp)
                for c in range(1, clients + 1)
            ),
        )  # fmt: skip

        def rows() -> Any:
            for i in range(1, invoices + 1):
                client = (i % clients) + 1
                key = due_key(i)
                yield (
                    i, business_id, client, f"F-{i:08d}", dues[key], dues[key], rng.randint(5_000, 2_000_000),
                    table[key, client % len(PROFILES)].isoformat(), stamp, stamp,
                )  # fmt: skip

        conn.executemany(
            "INSERT INTO invoice (id, business_id, client_id, number, issue_date, due_date, amount, currency,"
            " amount_paid, state, next_action_on, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'EUR', 0, 'open', ?, ?, ?)",
            rows(),
        )
    conn.execute("ANALYZE")
    conn.close()
    return business_id


def build_postgres(url: str, invoices: int, clients: int) -> int:
    """A PostgreSQL book of `invoices` open invoices, written by generate_series; returns the business id."""
    from sqlalchemy import create_engine, text

    from storage.db import make_engine

    make_engine(url).dispose()
    table = schedule_table()
    dues = due_dates()
    engine = create_engine(url)
    with engine.begin() as conn:
        business_id = int(conn.execute(text(_business_sql(":s") + " RETURNING id"), {"s": STAMP}).scalar_one())
        conn.execute(
            text(
                "INSERT INTO client (id, business_id, name, name_key, emails, phone, language, profile, is_consumer,"
                " notes, created_at) SELECT c, :b, 'Client ' || c || ' SARL', 'client ' || c || ' sarl',"
                " 'compta' || c || '@example.fr', '', 'fr', (CAST(:profiles AS text[]))[c % :np + 1], false, '', :s"
                " FROM generate_series(1, :n) AS c"
            ),
            {"b": business_id, "profiles": list(PROFILES), "np": len(PROFILES), "s": STAMP, "n": clients},
        )
        conn.execute(text("CREATE TEMP TABLE bench_sched (k int, p int, due date, nao date)"))
        conn.execute(
            text("INSERT INTO bench_sched VALUES (:k, :p, :due, :nao)"),
            [{"k": k, "p": p, "due": dues[k], "nao": nao} for (k, p), nao in table.items()],
        )
        # Indexes are built once after the load (maintaining them row by row would triple its time).
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'invoice' AND indexname <> 'invoice_pkey'"
                " AND indexdef NOT LIKE 'CREATE UNIQUE%'"
            )
        ).all()
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        conn.execute(text("ALTER TABLE invoice DROP CONSTRAINT uq_invoice_business_number"))
        conn.execute(
            text(
                "INSERT INTO invoice (id, business_id, client_id, number, issue_date, due_date, amount, currency,"
                " amount_paid, amount_credited, amount_written_off, amount_overpaid, state, next_action_on,"
                " plan_paid, plan_missed, created_at, updated_at)"
                " SELECT i, :b, (i % :c) + 1, 'F-' || lpad(i::text, 8, '0'), s.due, s.due,"
                " 5000 + (i * 2654435761) % 1995000, 'EUR', 0, 0, 0, 0, 'open', s.nao, 0, 0, :s, :s"
                " FROM generate_series(1, :n) AS i"
                " JOIN bench_sched s ON s.k = ((i::bigint * 2654435761) / 128) % :keys AND s.p = ((i % :c) + 1) % :np"
            ),
            {"b": business_id, "c": clients, "n": invoices, "keys": DUE_KEYS, "np": len(PROFILES), "s": STAMP},
        )
        conn.execute(text("ALTER TABLE invoice ADD CONSTRAINT uq_invoice_business_number UNIQUE (business_id, number)"))
        for _, definition in indexes:
            conn.execute(text(definition))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return business_id


# --- timing --------------------------------------------------------------------------------------------------


def median_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The median wall time of `runs` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bare_sql(dialect: str) -> tuple[str, str]:
    """The bare read of the due rows: the invoices and the history of steps sent the indexed scan reads."""
    p = "?" if dialect == "sqlite" else "%(b)s"
    d = "?" if dialect == "sqlite" else "%(d)s"
    rows = (
        "SELECT invoice.id, invoice.client_id, invoice.due_date, invoice.amount - invoice.amount_paid, invoice.state,"
        " client.profile, invoice.promised_until FROM invoice JOIN client ON client.id = invoice.client_id + 0"
        f" WHERE invoice.business_id = {p} AND invoice.state IN ('open', 'partially_paid', 'promised')"
        f" AND invoice.amount > invoice.amount_paid AND invoice.next_action_on <= {d}"
    )
    history = (
        "SELECT reminderinvoice.invoice_id, reminderinvoice.step, reminder.sent_at FROM reminderinvoice"
        " JOIN reminder ON reminder.id = reminderinvoice.reminder_id"
        " WHERE reminder.state = 'sent' AND reminder.kind = 'ladder' AND reminderinvoice.invoice_id IN"
        f" (SELECT invoice.id FROM invoice WHERE invoice.business_id = {p} AND invoice.next_action_on <= {d})"
        " ORDER BY reminder.sent_at"
    )
    return rows, history


def measure(url: str, business_id: int, runs: int, label: str, size: int) -> None:
    """Time and record the three reads on the database at `url`."""
    from storage.db import make_engine, read_session
    from storage.reminders import due_today

    engine = make_engine(url, migrate=False)
    dialect = engine.dialect.name
    rows_sql, history_sql = bare_sql(dialect)

    def bare() -> int:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            if dialect == "sqlite":
                cur.execute(rows_sql, (business_id, TODAY.isoformat()))
                n = len(cur.fetchall())
                cur.execute(history_sql, (business_id, TODAY.isoformat()))
            else:
                cur.execute(rows_sql, {"b": business_id, "d": TODAY})
                n = len(cur.fetchall())
                cur.execute(history_sql, {"b": business_id, "d": TODAY})
            return n + len(cur.fetchall())
        finally:
            raw.close()

    def scan(full: bool) -> Callable[[], Any]:
        def run() -> Any:
            with read_session(engine) as session:
                return due_today(session, business_id, TODAY, full_scan=full)

        return run

    bare_s, bare_rows = median_of(runs, bare)
    indexed_s, indexed = median_of(runs, scan(False))
    full_runs = max(1, min(runs, 3))
    full_s, full = median_of(full_runs, scan(True))
    engine.dispose()
    same = _normal(indexed) == _normal(full)
    due_invoices = sum(len(r.invoices) for r in indexed)
    peak = peak_memory(url, business_id)
    print(f"{label}: {size:,} open invoices, {bare_rows:,} due rows read, {len(indexed):,} reminders "
          f"({due_invoices:,} invoices); same reminders as the full scan: {same}")  # fmt: skip
    print(f"  bare read of the due rows: {bare_s:.3f} s (median of {runs})")
    print(f"  indexed scan (due_today):  {indexed_s:.3f} s (median of {runs}): {indexed_s / bare_s:.2f}x the bare read")
    print(f"  full scan:                 {full_s:.3f} s (median of {full_runs}): indexed = 1/{full_s / indexed_s:.0f}")
    print(f"  peak memory of a process running the indexed scan: {peak:.0f} MB")
    assert same, "the indexed scan and the full scan disagree"
    record(f"due scan {label}: indexed vs bare read of the due rows", indexed_s, "s", "ratio <= 2", baseline=bare_s,
           note=f"{size:,} open invoices, 1 % due")  # fmt: skip
    record(f"due scan {label}: indexed vs full scan", indexed_s, "s", "ratio <= 0.05", baseline=full_s,
           note=f"{size:,} open invoices")  # fmt: skip
    record(f"due scan {label}: peak memory of the indexed scan", peak, "MB", "<= 300")


def _normal(due: list[Any]) -> list[Any]:
    from dataclasses import replace

    return [replace(r, invoices=tuple(sorted(r.invoices, key=lambda d: d.invoice.invoice_id))) for r in due]


def peak_memory(url: str, business_id: int) -> float:
    """Peak resident memory (MB) of a fresh process that opens the database and runs the indexed scan once."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_due_scan", "--peak", url, str(business_id)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"])


def _peak_child(url: str, business_id: int) -> None:
    from storage.db import make_engine, read_session
    from storage.reminders import due_today

    engine = make_engine(url, migrate=False)
    with read_session(engine) as session:
        due_today(session, business_id, TODAY)
    engine.dispose()
    # VmHWM, not ru_maxrss: Linux carries the parent's resident peak over fork and exec into ru_maxrss, and the
    # parent has just run full scans.
    with open("/proc/self/status", encoding="ascii") as status:
        hwm = next((line.split()[1] for line in status if line.startswith("VmHWM:")), None)
    peak_kb = float(hwm) if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mb": peak_kb / 1024}))


# --- main ----------------------------------------------------------------------------------------------------


def main() -> None:
    """Build each book, measure, print and record; the PostgreSQL database is dropped at the end."""
    runs = int(os.environ.get("BENCH_DUE_SCAN_RUNS", "5"))
    sqlite_n = int(os.environ.get("BENCH_DUE_SCAN_SQLITE", "1000000"))
    pg_n = int(os.environ.get("BENCH_DUE_SCAN_PG", "10000000"))
    if sqlite_n:
        tmp = Path(tempfile.mkdtemp(prefix="relance-bench-due-scan-"))
        try:
            path = tmp / "due.db"
            start = time.perf_counter()
            business_id = build_sqlite(path, sqlite_n, max(1, sqlite_n // 100))
            print(f"SQLite book built in {time.perf_counter() - start:.1f} s")
            measure(f"sqlite:///{path}", business_id, runs, "SQLite", sqlite_n)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if pg_n:
        _postgres(pg_n, runs)


def _postgres(size: int, runs: int) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("RELANCE_TEST_POSTGRES_URL", PG_DEFAULT)
    name = f"relance_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: say so, record nothing
        print(f"PostgreSQL unavailable at {make_url(admin_url).render_as_string()}: {type(exc).__name__}; skipped")
        admin.dispose()
        return
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        start = time.perf_counter()
        business_id = build_postgres(url, size, max(1, size // 100))
        print(f"PostgreSQL book built in {time.perf_counter() - start:.1f} s (generate_series, indexes after)")
        measure(url, business_id, runs, "PostgreSQL", size)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--peak":
        _peak_child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
