"""Import in Slack: the owner shares a CSV file or an e-invoice (Factur-X PDF, CII or UBL XML) in the app's DM
(`file_shared`); the same all-or-nothing import, limit and report as Telegram's /import. A bank statement (CAMT,
OFX, a bank's CSV export), told by its content, goes to `bot.slack.statements` instead.

The file is never downloaded whole before its size is known: the size files.info gives is checked first, and the
download (with the bot token, to Slack's file host only) is streamed and dropped as soon as it passes the limit,
whatever size was announced.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.download import DownloadError, TooBigError, size_text, stream_capped
from bot.i18n import t
from bot.reports import render_import
from bot.slack import home, letters, statements, tasks
from bot.slack.commands import post_text, tell_error
from services.core import MAX_UPLOAD_BYTES

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.slack.context import SlackContext

log = logging.getLogger(__name__)

#: What an import takes: a CSV, an e-invoice as a PDF or an XML file, or a bank statement (also OFX), by name or by
#: Slack's file type.
_SUFFIXES = (".csv", ".pdf", ".xml", ".ofx")
_FILETYPES = ("csv", "pdf", "xml")


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Import the CSV files and e-invoices owners share in their DM with the app."""

    async def on_file_shared(event: dict[str, Any]) -> None:
        """A file shared in the owner's DM with the app is an import; files shared elsewhere are none of ours."""
        user_id = str(event.get("user_id") or "")
        file_id = event.get("file_id") or (event.get("file") or {}).get("id")
        if not user_id or not file_id:
            return
        try:
            dm = await ctx.dm(user_id)
            if event.get("channel_id") != dm:
                return
            if await letters.take_scan(ctx, user_id, dm, str(file_id)):
                return  # the scan of a registered letter's acknowledgment, asked for after 📬 AR reçu
            await import_file(ctx, user_id, dm, str(file_id))
        except Exception:
            log.exception("import of a shared file failed")
            await tell_error(ctx, user_id)

    async def on_file_message(ack: Any) -> None:
        """The message Slack posts alongside a shared file: the file_shared event does the work."""
        await ack()

    app.event("file_shared")(on_file_shared)
    app.event({"type": "message", "subtype": "file_share"})(on_file_message)


async def import_file(ctx: SlackContext, user_id: str, dm: str, file_id: str) -> None:
    """Check the file (CSV or e-invoice, size) by files.info, download it within the limit, import it, report in
    the DM."""
    lang = await ctx.lang(user_id)
    info: dict[str, Any] = dict((await ctx.client.files_info(file=file_id)).get("file") or {})
    name = str(info.get("name") or "document")
    if not (name.lower().endswith(_SUFFIXES) or info.get("filetype") in _FILETYPES):
        await post_text(ctx, dm, t("import.not_csv", lang), lang)
        return
    size = info.get("size")
    if isinstance(size, int) and size > MAX_UPLOAD_BYTES:
        await post_text(ctx, dm, t("import.too_big", lang, size=size_text(size, lang)), lang)
        return
    try:
        data = await _download(ctx, info)
    except TooBigError:
        shown = f"&gt; {size_text(MAX_UPLOAD_BYTES, lang)}"
        await post_text(ctx, dm, t("import.too_big", lang, size=shown), lang)
        return
    except DownloadError as exc:
        log.warning("import: download of %s failed: %s", file_id, exc)
        await post_text(ctx, dm, t("import.failed", lang, reason=t("slack.import.download_failed", lang)), lang)
        return
    if await asyncio.to_thread(ctx.presenter.is_statement, data, name):
        await statements.import_statement(ctx, user_id, dm, data, name)
        return
    before = await asyncio.to_thread(tasks.last_id, ctx)
    report = await asyncio.to_thread(ctx.presenter.import_file, data, name, actor=ctx.actor(user_id))
    await post_text(ctx, dm, render_import(report, lang), lang)
    await tasks.post_tasks(ctx, dm, lang, after_id=before)  # a credit note whose invoice is unknown
    if report.ok:
        home.refresh_later(ctx, user_id)


async def _download(ctx: SlackContext, info: dict[str, Any], limit: int = MAX_UPLOAD_BYTES) -> bytes:
    """The file's bytes, never more than the limit (+ one chunk); the bot token goes to Slack's hosts only."""
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not _slack_host(url, ctx.settings.SLACK_API_URL):
        raise DownloadError("not a Slack file URL")
    token = ctx.settings.slack_bot_token or ""
    return await stream_capped(url, limit, headers={"Authorization": f"Bearer {token}"})


#: The same capped download for the other files owners share (a registered letter's acknowledgment: bot.slack.letters).
download = _download


def _slack_host(url: str, api_url: str) -> bool:
    """True for an https URL on slack.com (or the configured API's own host, e.g. a test emulator)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host and host == urlsplit(api_url).hostname and parts.scheme in ("http", "https"):
        return True
    return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))
