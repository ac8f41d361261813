"""Run the benchmarks: every bench/bench_*.py module's main(), or only the ones named (`python -m bench import due`).

Each benchmark runs in its own process and records its figures (bench/report.py). Running them all (or with --out)
writes results.json and RESULTS.md (the machine, then every figure with its goal, baseline, ratio and pass, and the
figures not measured yet with the reason). `--quick` runs tiny sizes: a smoke run (a few minutes at most).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report

HERE = Path(__file__).resolve().parent

#: Sizes of the smoke run (--quick); a variable already set in the environment wins.
QUICK: dict[str, str] = {
    "BENCH_BOT_TAPS": "40",
    "BENCH_BOT_ACTIONS": "40",
    "BENCH_BOT_LANES": "4",
    "BENCH_BOT_FLOOD": "200",
    "BENCH_BOT_STRANGERS": "20",
    "BENCH_BOT_FLOOD_RATE": "200",
    "BENCH_DUE_INVOICES": "5000",
    "BENCH_DUE_CLIENTS": "200",
    "BENCH_EVIDENCE_ENTRIES": "5000",
    "BENCH_IMPORT_ROWS": "2000",
    "BENCH_MAILBOX_MESSAGES": "300",
    "BENCH_MAILBOX_REPLIES": "10",
    "BENCH_MATCHING_LINES": "500",
    "BENCH_MATCHING_INVOICES": "5000",
    "BENCH_MATCHING_NAIVE": "10",
    "BENCH_RENDER_DRAFTS": "500",
    "BENCH_RENDER_LETTERS": "2",
    "BENCH_SLACK_CLICKS": "30",
    "BENCH_SLACK_TAPS": "30",
    "BENCH_STATEMENTS_ENTRIES": "2000",
    "BENCH_STATEMENTS_PAGES": "20",
    "BENCH_STARTUP_RUNS": "1",
    "BENCH_STARTUP_IDLE": "1",
    "BENCH_DUE_SCAN_SQLITE": "20000",
    "BENCH_DUE_SCAN_PG": "20000",
    "BENCH_DUE_SCAN_RUNS": "1",
    "BENCH_FANOUT_OWNERS": "60",
    "BENCH_WORKERS_BUSINESSES": "20",
    "BENCH_WORKERS_REMINDERS": "5",
}

#: Sizes of the full run where a benchmark's default would take it well past the ~10 minutes `make bench` aims at on
#: 2 cores (the issues' sizes are kept where the goal is stated for a size); a variable set in the environment wins.
FULL: dict[str, str] = {
    "BENCH_DUE_INVOICES": "200000",  # issue 2's goal is a ratio; the due scan below reads 1,000,000
    "BENCH_DUE_SCAN_PG": "1000000",  # 10,000,000 takes longer to build than every other benchmark together
    "BENCH_SLACK_CLICKS": "300",
    "BENCH_SLACK_TAPS": "300",
    "BENCH_FANOUT_OWNERS": "10000",  # the size, paced at 30 messages/s by design: 333 s at least
    # The 1,000 businesses x 10 reminders with 4 workers (~10 min on 2 cores); the 1-worker baseline would
    # add as much again: `BENCH_WORKERS_BASELINE=1 make bench ARGS=workers` runs both.
    "BENCH_WORKERS_BASELINE": "0",
}

DUE_SCAN_WHY = "the due-scan benchmark (bench_due_scan, issue 12 item 4) records no figures yet"
#: Figures issue 12 §8 asks for that no benchmark measures yet: (name prefix, unit, goal, why not).
NOT_YET: list[tuple[str, str, str | None, str]] = [
    ("due scan SQLite", "s", "ratio <= 2", DUE_SCAN_WHY),
    ("due scan PostgreSQL", "s", "ratio <= 2", DUE_SCAN_WHY),
    ("fan-out:", "% of ceiling", ">= 95", "bench_fanout recorded nothing"),
    (
        "workers: 4 workers on 10,000 reminders",
        "duplicates",
        "== 0",
        "no benchmark runs 4 sender processes on one PostgreSQL database yet (issue 12 item 3)",
    ),
]


def available() -> list[str]:
    """The benchmark names (bench_<name>.py), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def run_one(name: str) -> None:
    """Run one benchmark in this process (what each child of the runner does)."""
    module = importlib.import_module(f"bench.bench_{name}")
    print(f"== {module.__name__} ==", flush=True)
    start = time.perf_counter()
    module.main()
    print(f"== {module.__name__}: {time.perf_counter() - start:.1f} s in all ==\n", flush=True)


def _child(name: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `python -m bench --one name`, echoing its output; its exit code and its last "skipped:" line, if any."""
    skipped = ""
    with subprocess.Popen(
        [sys.executable, "-m", "bench", "--one", name],
        env=env,
        cwd=HERE.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("skipped:"):
                skipped = line.removeprefix("skipped:").strip()
    return proc.returncode, skipped


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none is named); exit status 1 if a name is unknown or a benchmark failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(available())})")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run (a few minutes at most)")
    parser.add_argument(
        "--out", type=Path, help="folder for results.json and RESULTS.md (default: bench/ when all benchmarks run)"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        run_one(args.one)
        return 0
    names = [n.removeprefix("bench_") for n in args.names] or available()
    unknown = [n for n in names if n not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 1
    out = args.out or (HERE if not args.names else None)
    host = report.machine()  # before anything runs: the load average at start
    env = {**(QUICK if args.quick else FULL), **os.environ}
    sizes = {k: v for k, v in sorted(env.items()) if k.startswith("BENCH_") and k != report.RESULTS_ENV}
    results: list[dict[str, Any]] = []
    runs: list[tuple[str, float, int]] = []
    status = 0
    with tempfile.TemporaryDirectory(prefix="relance-bench-") as tmp:
        for name in names:
            # One fresh process per benchmark: peak-memory figures (ru_maxrss) are inherited through fork and kept
            # as a maximum over children, so a benchmark run after a larger one would report the other's peak.
            sink = Path(tmp) / f"{name}.jsonl"
            start = time.perf_counter()
            code, skipped = _child(name, {**env, report.RESULTS_ENV: str(sink)})
            runs.append((name, time.perf_counter() - start, code))
            status |= code != 0
            recorded = report.read_recorded(sink)
            results += recorded
            if not recorded:
                why = f"skipped: {skipped}" if skipped else f"exit code {code}" if code else "recorded no figures"
                results.append(report.figure(f"{name}: not measured", None, "", note=why))
    if out is not None and not args.names:  # every benchmark ran (one added during the run is not in `names`)
        measured = {r["name"] for r in results}
        for prefix, unit, goal, why in NOT_YET:
            if not any(n.startswith(prefix) for n in measured):
                results.append(report.figure(prefix, None, unit, goal, note=f"not measured: {why}"))
    if out is not None:
        mode = "--quick, tiny sizes: the figures are not comparable with the goals" if args.quick else "full sizes"
        report.write(out, results, host=host, mode=mode, runs=runs, sizes=sizes)
        print(f"results: {out / 'results.json'}, {out / 'RESULTS.md'}")
    return int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
