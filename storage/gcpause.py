"""Pausing the cyclic garbage collector while a million acyclic tuples are built.

On CPython 3.11 the collector rescans every young object again and again while a large list of tuples grows,
which costs more than building them; tuples of dates, numbers and strings never form cycles, so pausing it is
safe. Reference counting still frees memory as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the block (restored as it was, even on error)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
