"""/import: the owner sends a CSV file or an e-invoice (Factur-X PDF, CII or UBL XML); the same all-or-nothing import
as the CLI (the kind is told by the content), errors with line numbers. A bank statement (CAMT, OFX, a bank's CSV
export), told by its content too, goes to `bot.handlers.statements` instead.

The file is never downloaded whole before its size is known: a size announced by Telegram (on the document or
by getFile) is checked first, and a file whose size nobody announced is streamed and dropped as soon as it passes
the limit. The `invoice_pdf` column is refused from the chat (services.imports: the bot cannot see the owner's
files).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from telegram import File, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.download import DownloadError, TooBigError, size_text, stream_capped
from bot.handlers import statements, tasks
from bot.handlers.common import Context, actor, lang, reply, services_of
from bot.i18n import t
from bot.reports import render_import
from services.core import MAX_UPLOAD_BYTES

log = logging.getLogger(__name__)

#: Why a download failed, in the owner's language (shown after "Le fichier n'a pas pu être lu : ").
_DOWNLOAD_FAILED = {"fr": "le téléchargement depuis Telegram a échoué", "en": "the download from Telegram failed"}
#: What /import takes: a CSV (or text) file, an e-invoice as a PDF or an XML file, or a bank statement (also OFX).
_SUFFIXES = (".csv", ".txt", ".pdf", ".xml", ".ofx")
_MIME_TYPES = ("text/csv", "text/plain", "application/pdf", "application/xml", "text/xml", "application/x-ofx")


async def on_import(update: Update, context: Context) -> None:
    """Ask for the file."""
    await reply(update, t("import.ask", lang(update, context)))


def _file_url(file_path: str) -> str:
    """The download URL with any non-ASCII character of the path percent-encoded (as PTB does)."""
    parts = urlsplit(file_path)
    return urlunsplit(parts._replace(path=quote(parts.path)))


async def download_capped(file: File, limit: int) -> bytes:
    """The file's bytes, never holding more than `limit` (+ one chunk); TooBigError past it, DownloadError."""
    if file.file_size is not None and file.file_size > limit:
        raise TooBigError(0)
    if not file.file_path:
        raise DownloadError("no file_path")
    if not file.file_path.startswith(("http://", "https://")):
        # A Bot API server in local mode gives a path on this machine.
        path = Path(file.file_path)
        try:
            size = path.stat().st_size
            if size > limit:
                raise TooBigError(0)
            return path.read_bytes()
        except OSError as exc:
            raise DownloadError(exc.strerror or type(exc).__name__) from None
    if file.file_size is not None:
        # Telegram announced the size and it is under the limit: the library's own download (checked again).
        data = bytes(await file.download_as_bytearray())
        if len(data) > limit:
            raise TooBigError(len(data))
        return data
    return await stream_capped(_file_url(file.file_path), limit)


async def on_document(update: Update, context: Context) -> None:
    """A document: refuse what is neither a CSV nor an e-invoice, or is over 5 MB, before downloading it whole; else
    import it."""
    code = lang(update, context)
    message = update.effective_message
    if message is None or message.document is None:
        return
    doc = message.document
    name = doc.file_name or "document"
    if not name.lower().endswith(_SUFFIXES) and doc.mime_type not in _MIME_TYPES:
        await reply(update, t("import.not_csv", code))
        return
    if doc.file_size is not None and doc.file_size > MAX_UPLOAD_BYTES:
        await reply(update, t("import.too_big", code, size=size_text(doc.file_size, code)))
        return
    file = await doc.get_file()
    try:
        data = await download_capped(file, MAX_UPLOAD_BYTES)
    except TooBigError:
        shown = size_text(file.file_size, code) if file.file_size else f"> {size_text(MAX_UPLOAD_BYTES, code)}"
        await reply(update, t("import.too_big", code, size=shown))
        return
    except DownloadError as exc:
        log.warning("import: download of %s failed: %s", doc.file_unique_id, exc)
        await reply(update, t("import.failed", code, reason=_DOWNLOAD_FAILED.get(code, _DOWNLOAD_FAILED["fr"])))
        return
    if await asyncio.to_thread(services_of(context).is_statement, data, name):
        await statements.import_statement(update, context, data, name)
        return
    before = tasks.last_id(services_of(context))
    report = await asyncio.to_thread(services_of(context).import_file, data, name, actor=actor(update))
    await reply(update, render_import(report, code))
    await tasks.show_new(update, context, before)  # a credit note whose invoice is unknown


HANDLERS = [
    CommandHandler("import", on_import),
    MessageHandler(filters.Document.ALL, on_document),
]
