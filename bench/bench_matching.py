"""Matching a 10,000-line bank statement against 100,000 open invoices: time, peak memory, and a naive baseline.

Target (issue 10): under 10 s and under 300 MB peak. The remittance texts are a realistic mix: invoice numbers in
odd formats (no separators, spaces, dots, slashes, zeros dropped or added; one to three per line, some partial,
some over-paying), names only with the exact amount, amounts only, and noise (rents, refunds, references, IBANs).
Baseline, measured in the same run: the naive approach (for each line, test every invoice's number key against
the line's text) on BENCH_MATCHING_NAIVE lines, extrapolated to the full statement. Median of 3 runs each.

Environment: BENCH_MATCHING_LINES (default 10000), BENCH_MATCHING_INVOICES (100000), BENCH_MATCHING_NAIVE (50).
"""

from __future__ import annotations

import gc
import os
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench.report import record

TARGET_SECONDS = 10.0
TARGET_MB = 300.0
TODAY = date(2026, 11, 30)
FORMS = ("SARL", "SAS", "SASU", "EURL", "SA", "", "", "")
TRADES = ("Boulangerie", "Atelier", "Garage", "Cabinet", "Transports", "Menuiserie", "Pharmacie", "Studio")
NOISE = (
    "LOYER NOVEMBRE",
    "REMBOURSEMENT CPAM",
    "VIR SEPA RECU /DE M. JEAN MARTIN /MOTIF CADEAU",
    "PRLV SEPA ANNULE RUM 00045871236",
    "VIREMENT INTERNE DEPUIS LIVRET A",
    "REMISE CHEQUES 1234567 DU 12/11/2026",
    "AVOIR FOURNISSEUR REF 2026-11-0042-X",
)


def build(n_lines: int, n_invoices: int) -> tuple[list[Any], list[Any]]:
    """A realistic statement and ledger (seeded): 10 invoices per client, numbers F-2026-000001 upwards."""
    from dunning.matching import CreditLine, OpenInvoice

    rng = random.Random(10)
    names = [f"{TRADES[c % len(TRADES)]} {c:05d} {FORMS[c % len(FORMS)]}".strip() for c in range(n_invoices // 10)]
    invoices = [
        OpenInvoice(
            invoice_id=i,
            number=f"F-2026-{i:06d}",
            client_id=i % len(names),
            client_name=names[i % len(names)],
            balance=Decimal(rng.randint(5_000, 2_000_000)).scaleb(-2),
            currency="EUR",
            due_date=TODAY + timedelta(days=rng.randint(-120, 40)),
        )
        for i in range(1, n_invoices + 1)
    ]
    formats = ("F2026{:06d}", "f 2026 {}", "F.2026.{:04d}", "FACT N° F/2026/{}", "F-2026-{:06d}", "f-2026-{:07d}")
    lines = []
    for j in range(n_lines):
        kind = rng.random()
        paid = rng.sample(invoices, rng.choice((1, 1, 1, 1, 2, 3)))
        owed = sum((i.balance for i in paid), Decimal(0))
        counterparty, amount = "M OU MME DUPONT JEAN", owed
        if kind < 0.40:  # numbers in odd formats, some partial, some over-paying
            refs = " ET ".join(rng.choice(formats).format(i.invoice_id) for i in paid)
            remittance = f"VIR SEPA {rng.choice(('REGLEMENT', 'PAIEMENT', 'FACTURES', ''))} {refs} MERCI"
            amount = rng.choice((owed, owed, owed, (owed / 2).quantize(Decimal("0.01")), owed + 10))
        elif kind < 0.60:  # the client's name and the exact balance
            counterparty, remittance, amount = f"VIR {paid[0].client_name.upper()}", "REGLEMENT", paid[0].balance
        elif kind < 0.75:  # the exact balance only
            remittance, amount = "VIREMENT", paid[0].balance
        else:  # noise
            remittance = f"{rng.choice(NOISE)} FR76 3000 4000 {rng.randint(0, 9999):04d}"
            amount = Decimal(rng.randint(100, 100_000)).scaleb(-2)
        lines.append(CreditLine(f"L{j:06d}", TODAY - timedelta(days=j % 28), amount, "EUR", counterparty, remittance))
    return lines, invoices


def median_of(runs: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The median wall time of `runs` calls, and the last result."""
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def naive(lines: list[Any], invoices: list[Any]) -> int:
    """The baseline: every invoice's number key tested against every line's text (keys computed once)."""
    from dunning.matching import normalise_number

    keys = [(normalise_number(i.number), i.invoice_id) for i in invoices]
    found = 0
    for line in lines:
        text = normalise_number(line.remittance)
        found += sum(1 for key, _ in keys if key in text)
    return found


def main() -> None:
    """Build the statement and the ledger, time the naive baseline and match(), measure the peak, print all."""
    from dunning.matching import NumberIndex, match

    n_lines = int(os.environ.get("BENCH_MATCHING_LINES", "10000"))
    n_invoices = int(os.environ.get("BENCH_MATCHING_INVOICES", "100000"))
    n_naive = int(os.environ.get("BENCH_MATCHING_NAIVE", "50"))
    start = time.perf_counter()
    lines, invoices = build(n_lines, n_invoices)
    print(f"statement: {n_lines:,} credit lines, ledger: {n_invoices:,} open invoices, built in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    index_s, _ = median_of(3, lambda: NumberIndex.build(invoices))
    naive_s, _ = median_of(3, lambda: naive(lines[:n_naive], invoices))
    naive_full = naive_s * n_lines / n_naive
    inputs_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    match_s, result = median_of(3, lambda: match(lines, invoices))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()  # after the RSS reading: tracemalloc's own bookkeeping takes memory
    match(lines, invoices)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    by_rule: dict[str, int] = {}
    for sure in result.sure:
        by_rule[sure.rule] = by_rule.get(sure.rule, 0) + 1
    print(
        f"outcomes: {len(result.sure):,} sure ({', '.join(f'{k} {v:,}' for k, v in sorted(by_rule.items()))}), "
        f"{len(result.overpaid):,} of them overpaid, {len(result.doubtful):,} doubtful, "
        f"{len(result.unmatched):,} unmatched; {len(result.settled):,} invoices paid off"
    )
    print("wall seconds, median of 3:")
    print(f"number index alone (100% of the invoices):            {index_s:.3f} s")
    print(f"naive scan, {n_naive} lines, extrapolated to {n_lines:,}:          {naive_full:.1f} s")
    print(f"match(), {n_lines:,} lines x {n_invoices:,} invoices:          {match_s:.3f} s "
          f"({naive_full / match_s:.0f}x faster than naive)")  # fmt: skip
    print(f"peak memory: match() allocations (tracemalloc) {traced_peak / 2**20:.0f} MB; process peak RSS "
          f"(inputs, interpreter and all) {rss_mb:.0f} MB, of which {inputs_mb:.0f} MB before matching (the naive "
          "baseline and the inputs)")  # fmt: skip
    time_ok = "OK" if match_s < TARGET_SECONDS else "MISSED"
    memory_ok = "OK" if rss_mb < TARGET_MB else "MISSED"
    print(f"time {match_s:.2f} s (target < {TARGET_SECONDS:.0f} s) {time_ok}; "
          f"peak RSS {rss_mb:.0f} MB (target < {TARGET_MB:.0f} MB) {memory_ok}")  # fmt: skip
    what = f"{n_lines:,} lines x {n_invoices:,} invoices"
    record(f"matching: match() {what} vs naive (extrapolated)", match_s, "s", f"< {TARGET_SECONDS:g}",
           baseline=naive_full)  # fmt: skip
    record("matching: peak RSS", rss_mb, "MB", f"< {TARGET_MB:g}")


if __name__ == "__main__":
    main()
