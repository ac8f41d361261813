"""Start-up to ready and idle memory of `relance run` against the fake Bot API server on loopback.

Targets (issue 12, §8): start-up to ready under 2 s; idle memory under 150 MB. "Ready" is the bot's first getUpdates
long poll reaching the server (it then answers the owner), timed from the process's launch on the bench's clock.
The database (SQLite, 200 overdue invoices imported by the CLI) exists and is migrated: the first start, which
creates and migrates it, is printed apart. Idle memory is the process's resident set (VmRSS) after it has sat
polling for BENCH_STARTUP_IDLE seconds (default 5: the start-up digest is sent by then), and its peak (VmHWM).

Environment: BENCH_STARTUP_RUNS (restarts timed, default 5; the median is the figure), BENCH_STARTUP_IDLE.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.bench_bot import RELANCE_TOKEN, WAIT, _stop, bench_csv
from bench.report import record
from tests.e2e.fakebot import FakeBotAccount, FakeTelegram
from tests.e2e.support import OWNER, RELANCE, bot_environment

TARGET_SECONDS = 2.0
TARGET_MB = 150.0
INVOICES = 200


def _status_mb(pid: int, field: str) -> float:
    """A /proc/<pid>/status memory field (kB) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(
    tg: FakeBotAccount, env: dict[str, str], workdir: Path, n: int
) -> tuple[subprocess.Popen[bytes], float, float]:
    """Launch `relance run`; return it, the seconds until its first long poll reached the fake server, and the CPU
    seconds it used until then (what the machine's load does not inflate)."""
    log = workdir / f"relance-{n}.log"
    with log.open("wb") as out:
        began = time.perf_counter()
        process = subprocess.Popen([str(RELANCE), "run"], env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    while not tg.is_polling:
        if process.poll() is not None or time.perf_counter() - began > WAIT:
            _stop(process)
            raise RuntimeError(f"the bot did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.002)
    return process, time.perf_counter() - began, _cpu_seconds(process.pid)


def _wait_stopped_polling(tg: FakeBotAccount) -> None:
    deadline = time.monotonic() + WAIT
    while tg.is_polling and time.monotonic() < deadline:
        time.sleep(0.01)


def main() -> None:
    """Time the first start, then the restarts (median), then measure the idle process's memory."""
    runs = int(os.environ.get("BENCH_STARTUP_RUNS", "5"))
    idle = float(os.environ.get("BENCH_STARTUP_IDLE", "5"))
    if not RELANCE.is_file():
        print(f"skipped: {RELANCE} is missing (run `make`)")
        return
    server = FakeTelegram()
    tg = server.add_bot(RELANCE_TOKEN)
    tg.add_chat(OWNER)
    server.start_in_thread()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
            workdir = Path(tmp)
            env = bot_environment(workdir, api_url=tg.api_url, token=tg.token, smtp_port=None)
            process, first, _ = start(tg, env, workdir, 0)  # creates and migrates the database
            _stop(process)
            _wait_stopped_polling(tg)
            (workdir / "bench.csv").write_bytes(bench_csv(INVOICES))
            subprocess.run([str(RELANCE), "import", "bench.csv"], env=env, cwd=workdir, check=True, capture_output=True)
            times, cpu = [], []
            for n in range(1, runs + 1):
                process, seconds, cpu_seconds = start(tg, env, workdir, n)
                times.append(seconds)
                cpu.append(cpu_seconds)
                if n < runs:
                    _stop(process)
                    _wait_stopped_polling(tg)
            time.sleep(idle)
            rss, hwm = _status_mb(process.pid, "VmRSS"), _status_mb(process.pid, "VmHWM")
            code = _stop(process)
    finally:
        server.stop()
    median = statistics.median(times)
    print(f"first start (creates and migrates the database): {first:.2f} s to the first long poll")
    print(
        f"restart with {INVOICES} open invoices, {runs} runs: median {median:.2f} s, best {min(times):.2f} s, "
        f"worst {max(times):.2f} s (target < {TARGET_SECONDS:.0f} s) {'OK' if median < TARGET_SECONDS else 'MISSED'}"
    )
    print(f"  CPU seconds of the process until ready: median {statistics.median(cpu):.2f} s (load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")  # fmt: skip
    print(
        f"idle after {idle:.0f} s: RSS {rss:.0f} MB, peak {hwm:.0f} MB (target < {TARGET_MB:.0f} MB) "
        f"{'OK' if rss < TARGET_MB else 'HIGH'}; stopped with exit code {code}"
    )
    record("startup: first start to ready (creates the database)", first, "s")
    record("startup: restart to ready (median)", median, "s", f"< {TARGET_SECONDS:g}")
    record("startup: restart to ready, CPU seconds of the process (median)", statistics.median(cpu), "s",
           f"< {TARGET_SECONDS:g}", note="the same goal read without the machine's load")  # fmt: skip
    record("startup: idle memory (RSS)", rss, "MB", f"< {TARGET_MB:g}")
    record("startup: peak memory during start-up (VmHWM)", hwm, "MB")


if __name__ == "__main__":
    main()
