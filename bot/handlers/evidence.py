"""/preuves NUMERO: the invoice's evidence file (ZIP) sent as a document."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler

from bot.cards import h
from bot.handlers.common import Context, lang, reply, services_of
from bot.i18n import t


async def on_evidence(update: Update, context: Context) -> None:
    """Build the ZIP and send it."""
    code = lang(update, context)
    args = context.args or []
    if not args:
        await reply(update, t("evidence.usage", code))
        return
    number = args[0]
    from services.export import ExportError  # the PDF library: loaded at the first /preuves, not at start-up

    services = services_of(context)
    if services.invoice_id_by_number(number) is None:
        await reply(update, t("paid.unknown", code, number=h(number)))
        return
    try:
        data = await asyncio.to_thread(services.evidence_zip, number)
    except ExportError as exc:  # the dossier cannot be built as it must be: say why, send nothing
        await reply(update, t("evidence.failed", code, reason=h(str(exc)[:300])))
        return
    if update.effective_chat is not None:
        await update.effective_chat.send_document(
            data, filename=f"preuves-{number}.zip", caption=t("evidence.caption", code, number=h(number))
        )


HANDLERS = [CommandHandler(["preuves", "evidence"], on_evidence)]
