"""The benchmark runner (`python -m bench`, what `make bench` runs): its results.json schema and RESULTS.md, checked on
a quick run of two cheap benchmarks at tiny sizes. The figures themselves are not checked: only their shape."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report

REPO = Path(__file__).resolve().parents[2]
KEYS = {"name", "value", "unit", "goal", "baseline", "ratio", "pass"}
TINY = {
    "BENCH_MATCHING_LINES": "60",
    "BENCH_MATCHING_INVOICES": "600",
    "BENCH_MATCHING_NAIVE": "5",
    "BENCH_STATEMENTS_ENTRIES": "300",
    "BENCH_STATEMENTS_PAGES": "3",
}


def _expected_pass(figure: dict[str, Any]) -> bool | None:
    """The verdict the goal gives, worked out here independently of bench.report."""
    if figure["goal"] is None:
        return None
    words = figure["goal"].split()
    on_ratio = words[0] == "ratio"
    op, threshold = words[-2], float(words[-1])
    measured = figure["ratio"] if on_ratio else figure["value"]
    if measured is None:
        return None
    return {
        "<": measured < threshold,
        "<=": measured <= threshold,
        ">": measured > threshold,
        ">=": measured >= threshold,
        "==": measured == threshold,
    }[op]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`python -m bench --quick --out <tmp> matching statements` with tiny sizes."""
    out = tmp_path_factory.mktemp("bench-results")
    env = {**os.environ, **TINY}
    env.pop(report.RESULTS_ENV, None)
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "matching", "statements"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return out, proc


def test_quick_run_writes_results_with_the_schema(quick_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """Every object of results.json has the seven keys; ratio is value / baseline where there is a baseline (else
    null); pass is what the goal says about the value (or the ratio for a `ratio` goal), null without a goal."""
    out, proc = quick_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert isinstance(results, list)
    names = [r["name"] for r in results]
    assert any(n.startswith("matching:") for n in names) and any(n.startswith("statements:") for n in names)
    assert len(set(names)) == len(names)
    with_baseline = 0
    for figure in results:
        assert KEYS <= set(figure), figure
        assert isinstance(figure["name"], str) and isinstance(figure["unit"], str)
        assert isinstance(figure["value"], int | float), figure
        if figure["baseline"] is None:
            assert figure["ratio"] is None, figure
        else:
            with_baseline += 1
            # value, baseline and ratio are each rounded to 6 decimals: a baseline of a few milliseconds carries a
            # relative rounding error of about 1e-4, so compare ratio × baseline with value within that rounding.
            slack = 1e-6 * (abs(figure["ratio"]) + 1) + 1e-6
            product = figure["ratio"] * figure["baseline"]
            assert math.isclose(product, figure["value"], rel_tol=1e-6, abs_tol=slack), figure
        assert figure["pass"] is _expected_pass(figure), figure
    assert with_baseline >= 2  # matching vs naive, statements vs bare lxml
    assert any(f["goal"] is not None for f in results)


def test_quick_run_describes_the_machine_and_keeps_the_printed_output(
    quick_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """RESULTS.md names the machine (CPU, cores, memory, Python, SQLite, PostgreSQL, date, load average) and has one
    table row per figure; the benchmarks' own printed lines still reach the output."""
    out, proc = quick_run
    text = (out / "RESULTS.md").read_text(encoding="utf-8")
    for label in ("cpu:", "cores:", "memory:", "python:", "sqlite:", "postgresql:", "date:", "load average at start:"):
        assert f"- {label}" in text
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    for figure in results:
        assert f"| {figure['name']}" in text
    assert "BENCH_MATCHING_LINES=60" in text
    assert "== bench.bench_matching ==" in proc.stdout and "time " in proc.stdout


def test_pass_follows_the_goal_on_value_or_ratio() -> None:
    """A goal about the value and one about the ratio give the verdicts they state; no goal gives null; a goal that is
    not `<op> <number>` is refused rather than read as passed."""
    assert report.figure("t", 9.5, "s", "< 10")["pass"] is True
    assert report.figure("t", 10.0, "s", "< 10")["pass"] is False
    slow = report.figure("x", 30.0, "actions/s", "ratio >= 0.5", baseline=90.0)
    assert math.isclose(slow["ratio"], 1 / 3, rel_tol=1e-6) and slow["pass"] is False
    assert report.figure("x", 50.0, "actions/s", "ratio >= 0.5", baseline=90.0)["pass"] is True
    assert report.figure("x", 50.0, "ms", None, baseline=25.0)["pass"] is None
    assert report.figure("n", None, "s", "< 2", note="not measured")["pass"] is None
    with pytest.raises(ValueError):
        report.figure("t", 1.0, "s", "under 10 s")


def test_record_appends_to_the_runner_file_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark run alone records nothing on disk; under the runner each record() is one JSON line read back."""
    monkeypatch.delenv(report.RESULTS_ENV, raising=False)
    report.record("alone", 1.0, "s", "< 2")
    sink = tmp_path / "figures.jsonl"
    assert report.read_recorded(sink) == []
    monkeypatch.setenv(report.RESULTS_ENV, str(sink))
    report.record("a", 1.0, "s", "< 2")
    report.record("b", 3.0, "ms", "ratio <= 2", baseline=1.0)
    assert [(f["name"], f["pass"]) for f in report.read_recorded(sink)] == [("a", True), ("b", False)]
