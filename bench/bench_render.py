"""Rendering speed: complete e-mail drafts (subject + text + HTML) per second on one core, and the letter PDF time.

Targets (issue 5): at least 2,000 drafts per second; a formal-notice PDF in under 1.5 s.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bench.report import record
from messages.context import DraftContext
from messages.letter import render_formal_notice_pdf
from messages.render import Renderer
from messages.samples import sample_contexts, sample_invoice

DRAFT_TARGET = 2_000.0  # drafts per second
LETTER_TARGET = 1.5  # seconds
STEPS = ("pre_reminder", "reminder_1", "reminder_2", "formal_notice", "promise_broken")


def _contexts(count: int, seed: int = 42) -> list[DraftContext]:
    """`count` distinct contexts (amounts, dates, profiles, languages, one to four invoices): no cache can help."""
    rng = random.Random(seed)
    today = date(2026, 5, 20)
    out = []
    for n in range(count):
        step = STEPS[n % len(STEPS)]
        lang = "fr" if n % 3 else "en"
        base = rng.choice(sample_contexts(step, lang))
        invoices = tuple(
            sample_invoice(
                f"F-2026-{rng.randint(1, 99999):05d}",
                f"{rng.randint(50, 50_000)}.{rng.randint(0, 99):02d}",
                today - timedelta(days=rng.randint(-5, 120)),
                today,
            )
            for _ in range(rng.choice((1, 1, 1, 2, 3, 4)))
        )
        out.append(replace(base, invoices=invoices, client_name=f"Client {n} SAS"))
    return out


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity here); Python renders on one thread anyway"


def bench_drafts(renderer: Renderer, contexts: list[DraftContext]) -> float:
    """Drafts per second over `contexts` (after one warm-up pass over a few)."""
    for ctx in contexts[:50]:
        renderer.render_email(ctx)
    start = time.perf_counter()
    for ctx in contexts:
        renderer.render_email(ctx)
    return len(contexts) / (time.perf_counter() - start)


def bench_letters(renderer: Renderer, count: int = 20) -> list[float]:
    """Seconds per formal-notice PDF (three invoices with penalty details)."""
    ctx = sample_contexts("formal_notice")[1]
    render_formal_notice_pdf(ctx, renderer)  # warm-up (imports, template compile)
    times = []
    for n in range(count):
        varied = replace(ctx, client_name=f"Client {n} SAS", payment_received=Decimal(n))
        start = time.perf_counter()
        render_formal_notice_pdf(varied, renderer)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Print drafts per second and letter times with their ratio to the targets."""
    print(f"core: {_pin_one_core()}")
    renderer = Renderer()
    renderer.check()
    contexts = _contexts(int(os.environ.get("BENCH_RENDER_DRAFTS", "10000")))
    rate = bench_drafts(renderer, contexts)
    print(
        f"e-mail drafts (subject+text+HTML): {rate:,.0f}/s over {len(contexts):,} distinct contexts; "
        f"target >= {DRAFT_TARGET:,.0f}/s; ratio {rate / DRAFT_TARGET:.2f}x"
    )
    times = bench_letters(renderer, int(os.environ.get("BENCH_RENDER_LETTERS", "20")))
    worst, mean = max(times), statistics.mean(times)
    print(
        f"formal-notice PDF: mean {mean * 1000:.1f} ms, worst {worst * 1000:.1f} ms over {len(times)} letters; "
        f"target < {LETTER_TARGET:.1f} s; ratio worst/target {worst / LETTER_TARGET:.3f}"
    )
    record("render: complete e-mail drafts on one core", rate, "drafts/s", f">= {DRAFT_TARGET:g}")
    record("render: formal-notice PDF, worst", worst, "s", f"< {LETTER_TARGET:g}")


if __name__ == "__main__":
    main()
