"""Benchmarks: `python -m bench [name ...]` runs bench/bench_<name>.py (all of them by default)."""
