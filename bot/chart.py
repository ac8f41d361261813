"""The aging bar chart of /status: overdue amounts per age bucket, as a PNG (matplotlib, Agg backend, no display)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.i18n import t


def aging_chart_png(buckets: Sequence[tuple[str, Decimal]], *, lang: str = "fr") -> bytes:
    """A bar per bucket (label, amount), amounts written above the bars; returns PNG bytes."""
    from messages.formatting import format_amount

    labels = [label for label, _ in buckets]
    # Plotting needs floats; the exact Decimal amounts are what the labels show.
    heights = [float(amount) for _, amount in buckets]
    figure = Figure(figsize=(6, 3.2), dpi=100)
    axes = figure.subplots()
    bars = axes.bar(labels, heights, color=["#f2c14e", "#f78154", "#d1495b", "#6a040f"][: len(labels)])
    for bar, (_, amount) in zip(bars, buckets, strict=True):
        axes.annotate(
            format_amount(amount, "EUR", lang),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_title(t("chart.title", lang))
    axes.set_xlabel(t("chart.xlabel", lang))
    axes.set_ylabel(t("chart.ylabel", lang))
    axes.set_ylim(0, max([*heights, 1.0]) * 1.2)
    # Axis ticks with the owner's thousands separator (20 000 in French, 20,000 in English).
    separator = "\u00a0" if lang == "fr" else ","
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}".replace(",", separator)))
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
