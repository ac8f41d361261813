"""Structured benchmark figures: what each benchmark records, and the bench/results.json + bench/RESULTS.md it makes.

A benchmark calls `record(name, value, unit, goal, baseline=...)` for each figure it also prints. Run under
`python -m bench`, the figures are appended (one JSON object a line) to the file named by $BENCH_RESULTS; run alone
they are only printed. A goal reads `<op> <number>` about the value (`"< 10"`, `">= 2000"`, `"== 0"`) or
`ratio <op> <number>` about value / baseline (`"ratio >= 0.5"`); `pass` is computed from it, never given.
"""

from __future__ import annotations

import json
import operator
import os
import platform
import re
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_ENV = "BENCH_RESULTS"
KEYS = ("name", "value", "unit", "goal", "baseline", "ratio", "pass")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
#: The PostgreSQL server the benchmarks use unless RELANCE_TEST_POSTGRES_URL names another (bench_due_scan's).
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_GOAL = re.compile(r"^(ratio )?(<=|>=|==|<|>) (-?[0-9.]+)$")


def parse_goal(goal: str) -> tuple[bool, Callable[[float, float], bool], float]:
    """(on the ratio?, comparison, threshold) of a goal string; ValueError for anything else."""
    found = _GOAL.match(goal)
    if not found:
        raise ValueError(f"goal {goal!r} is not '<op> <number>' or 'ratio <op> <number>'")
    return found.group(1) is not None, _OPS[found.group(2)], float(found.group(3))


def passes(value: float | None, ratio: float | None, goal: str | None) -> bool | None:
    """Whether the figure meets its goal; None when there is no goal or nothing to compare."""
    if goal is None:
        return None
    on_ratio, compare, threshold = parse_goal(goal)
    measured = ratio if on_ratio else value
    return None if measured is None else compare(measured, threshold)


def figure(
    name: str,
    value: float | None,
    unit: str,
    goal: str | None = None,
    *,
    baseline: float | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """One result object: the keys of KEYS (ratio = value / baseline when there is a baseline), and a note if any."""
    ratio = None if value is None or baseline is None or baseline == 0 else value / baseline
    out: dict[str, Any] = {
        "name": name,
        "value": None if value is None else round(float(value), 6),
        "unit": unit,
        "goal": goal,
        "baseline": None if baseline is None else round(float(baseline), 6),
        "ratio": None if ratio is None else round(ratio, 6),
    }
    out["pass"] = passes(out["value"], out["ratio"], goal)
    if note:
        out["note"] = note
    return out


def record(
    name: str,
    value: float,
    unit: str,
    goal: str | None = None,
    *,
    baseline: float | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record one figure (appended to $BENCH_RESULTS when the runner set it); returns the result object."""
    out = figure(name, value, unit, goal, baseline=baseline, note=note)
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(out, ensure_ascii=False) + "\n")
    return out


def read_recorded(path: Path) -> list[dict[str, Any]]:
    """The figures a benchmark process appended to `path` (none if it wrote nothing)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ------------------------------------------------------------------------------------------- the machine


def _first_line(path: str, prefix: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _postgres_version() -> str:
    url = os.environ.get("RELANCE_TEST_POSTGRES_URL") or os.environ.get("BENCH_EVIDENCE_PG") or PG_DEFAULT
    if url:
        try:
            from sqlalchemy import create_engine, text

            engine = create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                version = str(conn.execute(text("SHOW server_version")).scalar())
            engine.dispose()
            return f"{version} (server at the configured URL)"
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5, check=False).stdout
        return f"{out.strip()} (client; no server configured, none used)" if out else "not installed"
    except OSError:
        return "not installed"


def _commit() -> str:
    """HEAD's short hash, and whether the checkout has uncommitted changes (they are what ran)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, Python, SQLite and PostgreSQL versions, date (UTC) and the load average now."""
    mem_kb = _first_line("/proc/meminfo", "MemTotal")
    return {
        "cpu": _first_line("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "memory": f"{int(mem_kb.split()[0]) / 1_048_576:.1f} GiB" if mem_kb else "unknown",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(),
        "os": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "commit": _commit(),
    }


# ------------------------------------------------------------------------------------------- the files


def _number(x: float | None) -> str:
    if x is None:
        return "—"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"


def write(
    folder: Path,
    results: list[dict[str, Any]],
    *,
    host: dict[str, Any],
    mode: str,
    runs: Iterable[tuple[str, float, int]],
    sizes: dict[str, str] | None = None,
) -> None:
    """bench/results.json (the list of result objects) and bench/RESULTS.md (the machine, then a table)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({mode}); `bench/results.json` holds the same figures. Ratio = value / baseline;",
        "pass is computed from the goal (a goal starting with `ratio` is about the ratio).",
        "",
        "## Machine",
        "",
        *(f"- {key.replace('_', ' ')}: {value}" for key, value in host.items()),
        "",
        "## Figures",
        "",
        "| figure | value | unit | goal | baseline | ratio | pass |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        verdict = {True: "yes", False: "**NO**", None: "—"}[r["pass"]]
        value = _number(r["value"]) if r["value"] is not None else "not measured"
        name = r["name"] + (f" ({r['note']})" if r.get("note") else "")
        lines.append(
            f"| {name} | {value} | {r['unit']} | {r['goal'] or '—'} | {_number(r['baseline'])} "
            f"| {_number(r['ratio'])} | {verdict} |"
        )
    lines += ["", "## Sizes", "", "Set by the runner or the environment; any other is the benchmark's default:", ""]
    lines += [f"- {key}={value}" for key, value in (sizes or {}).items()]
    lines += ["", "## Runs", "", "| benchmark | seconds | exit code |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.1f} | {code} |" for name, seconds, code in runs]
    (folder / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
