"""Several `relance run --worker` processes on one PostgreSQL database (issue 12 §3 and §8): 4 workers over 10,000
due reminders of 1,000 businesses, 0 duplicates and 0 missed, and their throughput against 1 worker on the same
book in the same run.

The scenario is tests/e2e/workers_support.py's (also run, smaller, by tests/e2e/test_workers.py): B businesses with
their own SMTP account (one recording aiosmtpd server on loopback), one Telegram owner each (the fake Bot API), R
clients with one invoice 10 days overdue each. Phase 1: the workers start and every business's digest is claimed and
delivered (header and R cards in the owner's chat); phase 2: every reminder is approved (queued by the benchmark, with
the business's own sender address, held, then released at once as a sending window opening does) and sent by the
workers' SMTP senders (a tick every 30 s). Telegram's pacing inside the workers is scaled up (FAST_OVERALL,
FAST_PER_CHAT of workers_support: the real 30 messages/s is bench_fanout's subject, not this one's).

Figures: digests/s (database span: first claim to last delivery), e-mails/s (SMTP server span: first to last
message), duplicates and missed (cards in the table and in the chats, digests, SMTP copies), the share of the e-mails
each worker sent; the baseline of each rate is 1 worker on the same book (a second database) in the same run.

Environment: BENCH_WORKERS_BUSINESSES (1000), BENCH_WORKERS_REMINDERS (10), BENCH_WORKERS_PROCESSES (4),
BENCH_WORKERS_BASELINE (1: also run 1 worker; 0: skip), BENCH_WORKERS_TIMEOUT (seconds per phase, 1800),
RELANCE_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench.report import PG_DEFAULT, record


def _size(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _run(businesses: int, reminders: int, workers: int, timeout: float) -> object:
    """One scenario on a fresh database; the Outcome (tests/e2e/workers_support.py)."""
    from tests.conftest import drop_postgres_database, new_postgres_database
    from tests.e2e.workers_support import run_scenario

    url, name = new_postgres_database()
    try:
        with tempfile.TemporaryDirectory(prefix="relance-workers-") as tmp:
            begun = time.perf_counter()
            outcome = run_scenario(
                url,
                Path(tmp),
                businesses=businesses,
                reminders=reminders,
                workers=workers,
                digest_timeout=timeout,
                mail_timeout=timeout,
                log=lambda line: print(f"  [{workers} worker(s)] {line}", flush=True),
            )
            print(f"  [{workers} worker(s)] whole run {time.perf_counter() - begun:.1f} s", flush=True)
            return outcome
    finally:
        drop_postgres_database(name)


def _describe(label: str, o: object) -> None:
    from tests.e2e.workers_support import Outcome

    assert isinstance(o, Outcome)
    print(f"{label}:")
    print(f"  digests: {o.businesses:,} in {o.digest_span:.1f} s ({o.digests_per_second:.2f}/s; {o.digest_wall:.1f} s "
          f"from the start), per worker {o.digest_split}")  # fmt: skip
    print(f"  e-mails: {len(o.mails):,} in {o.mail_span:.1f} s ({o.mails_per_second:.2f}/s; {o.mail_wall:.1f} s from "
          f"the release, the next tick included), per worker {o.mail_split}")  # fmt: skip
    print(f"  duplicates {o.duplicates}, missed {o.missed}, outbox {dict(o.outbox)}, getUpdates calls {o.polls}")


def main() -> None:
    """Run the scenario with BENCH_WORKERS_PROCESSES workers, then with 1 (the baseline), and record the figures."""
    os.environ.setdefault("RELANCE_TEST_POSTGRES_URL", PG_DEFAULT)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.e2e.workers_support import PYTHON, Outcome

    if not PYTHON.is_file():
        print(f"skipped: {PYTHON} is missing (run `make`)")
        return
    admin = os.environ["RELANCE_TEST_POSTGRES_URL"]
    try:
        engine = create_engine(admin)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        print(f"skipped: PostgreSQL unavailable at {make_url(admin).render_as_string()}: {type(exc).__name__}")
        return
    businesses = _size("BENCH_WORKERS_BUSINESSES", 1000)
    reminders = _size("BENCH_WORKERS_REMINDERS", 10)
    workers = _size("BENCH_WORKERS_PROCESSES", 4)
    timeout = float(_size("BENCH_WORKERS_TIMEOUT", 1800))
    baseline = os.environ.get("BENCH_WORKERS_BASELINE", "1") != "0"
    print(f"{workers} worker(s){', then 1' if baseline else ''} on {businesses:,} businesses x {reminders} reminders "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start)", flush=True)  # fmt: skip
    from tests import conftest

    try:
        many = _run(businesses, reminders, workers, timeout)
        assert isinstance(many, Outcome)
        _describe(f"{workers} workers", many)
        one: Outcome | None = None
        if baseline:
            result = _run(businesses, reminders, 1, timeout)
            assert isinstance(result, Outcome)
            one = result
            _describe("1 worker (baseline)", one)
    finally:
        template = conftest._PG_TEMPLATE.get("name")
        if template:  # the migrated template the databases were cloned from (pytest drops it at the end of a run)
            conftest.drop_postgres_database(template)
    name = f"workers: {workers} workers on {businesses * reminders:,} reminders"
    sizes = f"{businesses:,} businesses x {reminders}"
    record(f"{name}: duplicates", many.duplicates, "duplicates", "== 0", note=sizes)
    record(f"{name}: missed", many.missed, "missed", "== 0", note=sizes)
    record(
        f"{name}: digests/s",
        many.digests_per_second,
        "digests/s",
        "ratio >= 1" if one is not None else None,
        baseline=None if one is None else one.digests_per_second,
        note=f"per worker {many.digest_split}" + ("; baseline: 1 worker on the same book" if one else ""),
    )
    record(
        f"{name}: e-mails/s",
        many.mails_per_second,
        "e-mails/s",
        "ratio >= 1" if one is not None else None,
        baseline=None if one is None else one.mails_per_second,
        note=f"per worker {many.mail_split}" + ("; baseline: 1 worker on the same book" if one else ""),
    )
    shares = [100.0 * n / max(1, sum(many.mail_split)) for n in many.mail_split]
    record(
        f"{name}: smallest worker's share of the e-mails",
        min(shares),
        "%",
        "> 0",
        note="per worker " + ", ".join(f"{s:.0f} %" for s in shares),
    )
    if one is not None:
        record(f"{name}: 1 worker duplicates", one.duplicates, "duplicates", "== 0")
        record(f"{name}: 1 worker missed", one.missed, "missed", "== 0")
    if many.duplicates or many.missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
