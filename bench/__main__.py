"""Run the benchmarks: every bench/bench_*.py module's main(), or only the ones named (`python -m bench import due`)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path


def available() -> list[str]:
    """The benchmark names (bench_<name>.py), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all when none is named); exit status 1 if a name is unknown."""
    names = argv or available()
    unknown = [n for n in names if n.removeprefix("bench_") not in available()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 1
    if len(names) > 1:
        # One fresh process per benchmark: peak-memory figures (ru_maxrss) are inherited through fork and kept
        # as a maximum over children, so a benchmark run after a larger one would report the other's peak.
        status = 0
        for name in names:
            status |= subprocess.call([sys.executable, "-m", "bench", name])
        return status
    module = importlib.import_module(f"bench.bench_{names[0].removeprefix('bench_')}")
    print(f"== {module.__name__} ==", flush=True)
    start = time.perf_counter()
    module.main()
    print(f"== {module.__name__}: {time.perf_counter() - start:.1f} s in all ==\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
