"""Import of a 100,000-row CSV into a fresh SQLite database: wall time and peak memory (targets 60 s, 300 MB).

The file is written the French way (`;`, decimal comma with thousands spaces, dd/mm/yyyy, CP1252-safe names),
5,000 clients. The import runs in a child process so its peak resident memory (ru_maxrss of the child) is
measured alone; it is timed twice: the first import (everything created) and a re-import of the same file
(everything unchanged). Environment: BENCH_IMPORT_ROWS (default 100000).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.report import record

TARGET_SECONDS = 60.0
TARGET_MB = 300.0
HEADER = (
    "invoice_number;client_name;client_email;issue_date;due_date;amount;currency;client_phone;client_language;"
    "client_profile;paid_amount"
)
PROFILES = ("standard", "standard", "loyal", "late_payer", "key_account", "in_difficulty")
FORMS = ("SARL", "SAS", "SA", "EURL", "SCI")
TRADES = ("Boulangerie", "Garage", "Menuiserie", "Hôtel", "Cabinet", "Atelier", "Transports", "Pharmacie", "Café")

CHILD = r"""
import json, sys, time
from storage.db import make_engine, write_session
from storage.models import Business
from services.imports import import_csv
path, url = sys.argv[1], sys.argv[2]
engine = make_engine(url)
with write_session(engine) as s:
    b = Business(slug="bench", name="Bench SARL"); s.add(b); s.flush(); bid = b.id
out = {}
for label in ("first", "again"):
    t = time.perf_counter()
    r = import_csv(engine, business_id=bid, path_or_bytes=path, filename="bench.csv")
    out[label] = {"seconds": time.perf_counter() - t, "ok": r.ok, "created": r.invoices_created,
                  "updated": r.invoices_updated, "unchanged": r.invoices_unchanged, "errors": len(r.errors)}
print(json.dumps(out))
"""


def _amount(cents: int) -> str:
    euros, rest = divmod(cents, 100)
    grouped = f"{euros:,}".replace(",", " ")
    return f"{grouped},{rest:02d}"


def write_csv(path: Path, rows: int, clients: int = 5000) -> None:
    """A realistic French export of `rows` invoices."""
    rng = random.Random(7)
    names = [f"{rng.choice(TRADES)} {n:04d} {rng.choice(FORMS)}" for n in range(clients)]
    start = date(2026, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\r\n")
        for i in range(rows):
            c = i % clients
            issue = start + timedelta(days=rng.randint(0, 300))
            due = issue + timedelta(days=rng.choice((30, 45, 60)))
            cents = rng.randint(1_000, 5_000_000)
            paid = _amount(cents // 3) if i % 7 == 0 else ""
            f.write(
                f"F-2026-{i:06d};{names[c]};compta{c}@client{c}.example.fr;{issue:%d/%m/%Y};{due:%d/%m/%Y};"
                f"{_amount(cents)};EUR;01 23 45 {c % 100:02d} {c // 100 % 100:02d};fr;"
                f"{PROFILES[c % len(PROFILES)]};{paid}\r\n"
            )


def main() -> None:
    """Generate the file, import it twice in a child process, print times, peak memory and ratios to targets."""
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
    tmp = Path(tempfile.mkdtemp(prefix="relance-bench-import-"))
    try:
        csv_path = tmp / "bench.csv"
        write_csv(csv_path, rows)
        size_mb = csv_path.stat().st_size / 1e6
        url = f"sqlite:///{tmp / 'bench.db'}"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(csv_path), url],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(f"import child failed with exit code {proc.returncode}")
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak_kb <= before:
            print("note: a larger child ran earlier in this process; peak memory may be overstated")
        peak_mb = peak_kb / 1024  # Linux reports kilobytes
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        first, again = result["first"], result["again"]
        print(f"file: {rows:,} rows, {size_mb:.1f} MB")
        print(
            f"first import:  {first['seconds']:.2f} s ({first['created']:,} created, ok={first['ok']}); "
            f"ratio to {TARGET_SECONDS:.0f} s target: {first['seconds'] / TARGET_SECONDS:.3f}"
        )
        print(
            f"re-import:     {again['seconds']:.2f} s ({again['created']} created, {again['updated']} updated, "
            f"{again['unchanged']:,} unchanged)"
        )
        print(f"child process: {wall:.2f} s wall including start-up and migrations")
        verdict = "OK" if peak_mb < TARGET_MB and first["seconds"] < TARGET_SECONDS else "MISSED"
        print(f"peak RSS: {peak_mb:.0f} MB; ratio to {TARGET_MB:.0f} MB target: {peak_mb / TARGET_MB:.3f} {verdict}")
        record(f"import: first import of {rows:,} rows", first["seconds"], "s", f"< {TARGET_SECONDS:g}")
        record(f"import: re-import of {rows:,} unchanged rows", again["seconds"], "s")
        record("import: peak RSS", peak_mb, "MB", f"< {TARGET_MB:g}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
