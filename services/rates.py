"""The late-payment rate table of a business: the shipped table, the owner's RATES_FILE, then the rates the owner
added from the chat (`/taux`). Reading the owner's file happens here, not in the pure policy."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from dunning.penalties import RateTable, builtin_rate_table, half_year_of, parse_rate_table


@lru_cache(maxsize=8)
def _file_table(path: str, resolved: str, mtime_ns: int, size: int) -> RateTable:
    del resolved, mtime_ns, size  # the cache key only: another folder's file, or an edited one, is read again
    return builtin_rate_table().merged(parse_rate_table(Path(path).read_text(encoding="utf-8"), path))


def load_rate_table(rates_file: Path | str | None = None, extra_text: str | None = None) -> RateTable:
    """The built-in rate table extended by the owner's file, then by `extra_text` (same TOML format).

    Raise RateTableError naming the file and the field (or the TOML line), or OSError when the file cannot be
    read: entry points load it at start-up so that a bad file never surfaces at send time.
    """
    table = builtin_rate_table()
    if rates_file:
        path = Path(rates_file)
        stat = path.stat()
        # Keyed by the file itself (not the text of a relative path) and its version, so the cache never serves a
        # table read from another folder or before the owner edited the file.
        table = _file_table(str(path), str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if extra_text is not None:
        table = table.merged(parse_rate_table(extra_text, "rates"))
    return table


def missing_half_year(rates: RateTable, today: date) -> str | None:
    """The half-year of `today` (e.g. "2026-H2") when its ECB rate is not in `rates`, else None."""
    label = half_year_of(today)
    return None if label in rates.ecb else label
