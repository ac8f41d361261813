"""Reading a 1,000-page CAMT.053 of 50,000 entries: our streaming reader vs. bare lxml streaming, and peak memory.

Target (issue 10, "Figures"): under 10 s, memory flat (streamed). The baseline is lxml's iterparse over the same
file, clearing each `Ntry` as our reader does, with none of our logic (no field reading, no Decimal, no line id):
the ratio says what our per-entry work costs. Memory is the peak RSS growth (ru_maxrss) of a fresh process streaming
the file with `iter_credits`, for 5,000 and 50,000 entries: flat means about the same figure for both.

Environment: BENCH_STATEMENTS_ENTRIES (default 50000), BENCH_STATEMENTS_PAGES (1000).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import record

TARGET_SECONDS = 10.0
RUNS = 3

# Linux: writing 5 to clear_refs resets the peak (VmHWM), so the import-time peak does not hide the reading's.
_MEMORY_PROBE = """
import re, sys
from pathlib import Path
from services.statements import iter_credits
status = Path("/proc/self/status")
def kb(key):
    return int(re.search(key + r":\\s+(\\d+) kB", status.read_text()).group(1))
before = kb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
count = sum(1 for _ in iter_credits(sys.argv[1], "bench.xml"))
peak = kb("VmHWM")
print(count, (peak - before) / 1024, peak / 1024)
"""


def median_of(runs: int, fn: Callable[[], int]) -> tuple[float, int]:
    """The median wall time of `runs` calls, and the last call's result."""
    times, result = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bare_lxml(path: Path) -> int:
    """Stream the entries with lxml alone, clearing them: the floor any streaming reader sits on."""
    from lxml import etree

    count = 0
    for _, elem in etree.iterparse(str(path), events=("end",), tag="{*}Ntry", resolve_entities=False):
        count += 1
        elem.clear(keep_tail=False)
        while elem.getprevious() is not None:
            del elem.getparent()[0]
    return count


def peak_memory(path: Path) -> tuple[int, float, float]:
    """Credits read, RSS growth and peak RSS (MB) of a fresh process streaming the file."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(path)], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    """Build the files, time lxml alone and our reader, print the figures, the ratio and the memory growth."""
    from services.statements import iter_credits, read_statement
    from tests.samples.statements import write_big_camt

    entries = int(os.environ.get("BENCH_STATEMENTS_ENTRIES", "50000"))
    pages = int(os.environ.get("BENCH_STATEMENTS_PAGES", "1000"))
    tmp = Path(tempfile.mkdtemp(prefix="relance-bench-statements-"))
    try:
        start = time.perf_counter()
        big = write_big_camt(tmp / "big.xml", entries=entries, pages=pages)
        small = write_big_camt(tmp / "small.xml", entries=entries // 10, pages=max(pages // 10, 1))
        size_mb = big.stat().st_size / 1_048_576
        print(f"file: CAMT.053.001.08, {pages:,} pages, {entries:,} entries, {size_mb:.1f} MB, "
              f"built in {time.perf_counter() - start:.1f} s")  # fmt: skip

        bare_s, bare_n = median_of(RUNS, lambda: bare_lxml(big))
        ours_s, ours_n = median_of(RUNS, lambda: sum(1 for _ in iter_credits(big, "big.xml")))
        whole_s, whole_n = median_of(RUNS, lambda: len(read_statement(big, "big.xml").credits))
        print(f"lxml iterparse alone      : {bare_s:6.2f} s  ({bare_n:,} entries)      [median of {RUNS}]")
        print(f"iter_credits (streamed)   : {ours_s:6.2f} s  ({ours_n:,} credit lines)  ratio {ours_s / bare_s:.1f}x")
        ratio = whole_s / bare_s
        print(f"read_statement (collected): {whole_s:6.2f} s  ({whole_n:,} credit lines)  ratio {ratio:.1f}x")
        verdict = "OK" if whole_s < TARGET_SECONDS else "OVER TARGET"
        print(f"target < {TARGET_SECONDS:.0f} s: {verdict}")

        small_n, small_growth, small_peak = peak_memory(small)
        big_n, big_growth, big_peak = peak_memory(big)
        print(f"memory, {entries // 10:>6,} entries: +{small_growth:6.1f} MB (peak RSS {small_peak:.1f} MB, "
              f"{small_n:,} credits)")  # fmt: skip
        print(f"memory, {entries:>6,} entries: +{big_growth:6.1f} MB (peak RSS {big_peak:.1f} MB, {big_n:,} credits)")
        flat = big_growth <= max(small_growth * 2, small_growth + 10)
        print(f"memory flat (10x entries, growth at most 2x or +10 MB): {'OK' if flat else 'NOT FLAT'}")
        record(f"statements: read_statement, CAMT of {entries:,} entries vs bare lxml", whole_s, "s",
               f"< {TARGET_SECONDS:g}", baseline=bare_s)  # fmt: skip
        record(f"statements: RSS growth, {entries:,} entries minus {entries // 10:,}", big_growth - small_growth, "MB",
               "<= 10", note="memory flat")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
