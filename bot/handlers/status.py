"""/status: totals, aging buckets, top debtors, the next 7 days, recovered this month, and the aging chart."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler

from bot.handlers.common import Context, lang, reply, services_of
from bot.i18n import t
from bot.reports import render_status


async def on_status(update: Update, context: Context) -> None:
    """The dashboard text, then the chart as a photo."""
    code = lang(update, context)
    summary = await asyncio.to_thread(services_of(context).status)
    await reply(update, render_status(summary, code))
    if update.effective_chat is None:
        return
    from bot.chart import aging_chart_png  # matplotlib: loaded at the first /status, not at start-up (~0.4 s, 40 MB)

    png = await asyncio.to_thread(aging_chart_png, [(b.label, b.amount) for b in summary.aging], lang=code)
    await update.effective_chat.send_photo(png, caption=t("status.chart_caption", code))


HANDLERS = [CommandHandler("status", on_status)]
