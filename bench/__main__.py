"""Run the benchmarks: every bench/bench_*.py module's main(), or only the ones named (`python -m bench import due`)."""

from __future__ import annotations

import importlib
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
    for name in names:
        module = importlib.import_module(f"bench.bench_{name.removeprefix('bench_')}")
        print(f"== {module.__name__} ==", flush=True)
        start = time.perf_counter()
        module.main()
        print(f"== {module.__name__}: {time.perf_counter() - start:.1f} s in all ==\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
