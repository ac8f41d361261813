"""/import: the owner sends a CSV file; the same all-or-nothing import as the CLI, errors with line numbers."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.handlers.common import Context, actor, lang, reply, services_of
from bot.i18n import t
from bot.reports import render_import
from bot.services import MAX_UPLOAD_BYTES


async def on_import(update: Update, context: Context) -> None:
    """Ask for the file."""
    await reply(update, t("import.ask", lang(update, context)))


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} Mo".replace(".", ",")


async def on_document(update: Update, context: Context) -> None:
    """A document: refuse what is not a CSV or is over 5 MB before downloading; else import it."""
    code = lang(update, context)
    message = update.effective_message
    if message is None or message.document is None:
        return
    doc = message.document
    name = doc.file_name or "document"
    if not name.lower().endswith((".csv", ".txt")) and doc.mime_type not in ("text/csv", "text/plain"):
        await reply(update, t("import.not_csv", code))
        return
    if doc.file_size is not None and doc.file_size > MAX_UPLOAD_BYTES:
        await reply(update, t("import.too_big", code, size=_size(doc.file_size)))
        return
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    if len(data) > MAX_UPLOAD_BYTES:
        await reply(update, t("import.too_big", code, size=_size(len(data))))
        return
    report = await asyncio.to_thread(services_of(context).import_file, data, name, actor=actor(update))
    await reply(update, render_import(report, code))


HANDLERS = [
    CommandHandler("import", on_import),
    MessageHandler(filters.Document.ALL, on_document),
]
