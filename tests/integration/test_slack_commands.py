"""`/relance <sous-commande>` through the Slack emulator: each answers in the owner's DM with the service's figures."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import select

from bot.reports import render_status
from bot.slack.mrkdwn import to_mrkdwn
from dunning.states import InvoiceState
from storage.db import read_session, write_session
from storage.models import Business, Card, Invoice
from tests.factories import make_client, make_invoice
from tests.integration.slack_helpers import OWNER, SlackHarness, eventually, evidence, seed, slack_app


def _invoice(h: SlackHarness, number: str) -> Invoice:
    with read_session(h.engine) as s:
        found = s.exec(select(Invoice).where(Invoice.number == number)).one()
        s.expunge(found)
        return found


async def test_status_shows_the_services_figures_then_the_chart(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance status`: the dashboard text is /status's, to the cent, then the aging chart is uploaded to the DM."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00", "345.67", "0.01")
        with write_session(h.engine) as s:
            business = s.exec(select(Business)).one()
            make_invoice(s, make_client(s, business), due=date(2026, 12, 31), amount="1000.10", amount_paid="0.11")
        await h.slack.aio.slash(OWNER, "status")
        shown = await h.answer("Tableau de bord")
        summary = h.presenter.status()
        assert summary.open_total == Decimal("2545.67") and summary.overdue_total == Decimal("1545.68")
        assert "Encours : *2\u00a0545,67\u00a0€*" in shown.plain
        assert "En retard : *1\u00a0545,68\u00a0€*" in shown.plain
        assert "\n".join(b["text"]["text"] for b in shown.blocks) == to_mrkdwn(render_status(summary, "fr"))
        chart = await h.slack.aio.wait_for(
            lambda: [m for m in h.slack.messages(h.dm) if m.files], what="the chart in the DM"
        )
        png = h.slack.files[chart[0].files[0]]
        assert png.content.startswith(b"\x89PNG") and png.name.endswith(".png")


async def test_command_typed_in_a_channel_answers_in_the_dm(sqlite_url: str, tmp_path: Path) -> None:
    """A subcommand typed in a channel: the acknowledgment says (to the owner only) the answer is in the DM."""
    async with slack_app(sqlite_url, tmp_path) as h:
        h.slack.add_channel("C0GENERAL", "general")
        ack = await h.slack.aio.slash(OWNER, "factures", channel="C0GENERAL")
        assert "conversation privée" in ack["text"]
        await h.answer("Aucune facture ouverte.")
        assert h.slack.messages("C0GENERAL") == []
        typed_in_dm = await h.slack.aio.slash(OWNER, "aide")
        assert not typed_in_dm.get("text")


async def test_invoices_and_client_list_the_open_invoices(sqlite_url: str, tmp_path: Path) -> None:
    """`factures [client]` lists the open invoices (filtered), `client NOM` a client's file."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00", "345.67")
        await h.slack.aio.slash(OWNER, "factures")
        listed = await h.answer("Factures ouvertes")
        assert "F-2026-001 · Client 0 SAS · 1\u00a0200,00\u00a0€ · échéance 10/11/2026" in listed.plain
        assert "F-2026-002" in listed.plain and "14 j de retard" in listed.plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "invoices client 1")
        filtered = await h.answer("Factures ouvertes", after=after)
        assert "F-2026-002" in filtered.plain and "F-2026-001" not in filtered.plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "client Client 0 SAS")
        file = await h.answer("Historique des relances", after=after)
        assert "*Client 0 SAS*" in file.plain and "F-2026-001" in file.plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "client")
        assert "/relance client NOM" in (await h.answer("Usage", after=after)).plain


async def test_paid_records_the_payment_with_the_slack_actor(sqlite_url: str, tmp_path: Path) -> None:
    """`payee NUMERO montant`: a partial payment, logged with actor slack:<user id>; a bad amount changes nothing."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        await h.slack.aio.slash(OWNER, "payee F-2026-001 abc")
        assert "n'est pas un montant valide" in (await h.answer("montant")).plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "payee F-2026-001 200,00")
        saved = await h.answer("Paiement de", after=after)
        assert "Reste dû : 1\u00a0000,00\u00a0€" in saved.plain
        assert _invoice(h, "F-2026-001").amount_paid == Decimal("200.00")
        payments = evidence(h.engine, "payment_recorded")
        assert [e.actor for e in payments] == [f"slack:{OWNER}"]
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "paid F-2026-001")
        await h.answer("soldée", after=after)
        assert _invoice(h, "F-2026-001").state == InvoiceState.PAID


async def test_digest_posts_cards_with_buttons_and_registers_them(sqlite_url: str, tmp_path: Path) -> None:
    """`digest`: the header, then one card per reminder with its six buttons and 📅 Échéancier (pl1:open), each
    card registered for updates."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00", "345.67")
        await h.slack.aio.slash(OWNER, "digest")
        await h.answer("2 relance(s)")
        cards = await h.slack.aio.wait_for(
            lambda: found if len(found := [m for m in h.slack.messages(h.dm) if _buttons(m)]) == 2 else None,
            what="two cards",
        )
        for card in cards:
            ids = [b for b in _buttons(card)]
            assert [i.split(":")[1] for i in ids] == ["send", "edit", "snz", "pay", "disp", "prom", "open"]
        shown = {(h.dm, c.ts) for c in cards}
        await eventually(lambda: _registered(h) == shown, "the cards registered")


async def test_disputes_show_their_buttons(sqlite_url: str, tmp_path: Path) -> None:
    """`litiges`: one message per disputed invoice with Reprendre / Passer en perte (d1: buttons); none: one line."""
    async with slack_app(sqlite_url, tmp_path) as h:
        (invoice_id,) = seed(h.engine, "1200.00")
        await h.slack.aio.slash(OWNER, "litiges")
        await h.answer("Aucun litige en cours.")
        with write_session(h.engine) as s:
            from storage.reminders import open_dispute

            business = s.exec(select(Business)).one()
            assert business.id is not None
            open_dispute(s, business_id=business.id, invoice_ids=[invoice_id], reason="Livraison incomplète",
                         actor="test")  # fmt: skip
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "disputes")
        line = await h.slack.aio.wait_message(h.dm, "Livraison incomplète", after=after)
        assert [b.split(":")[:3] for b in _buttons(line)] == [
            ["d1", "res", str(invoice_id)],
            ["d1", "off", str(invoice_id)],
        ]


async def test_evidence_uploads_the_zip(sqlite_url: str, tmp_path: Path) -> None:
    """`preuves NUMERO`: the invoice's evidence ZIP is uploaded to the DM; an unknown number is said."""
    async with slack_app(sqlite_url, tmp_path) as h:
        seed(h.engine, "1200.00")
        await h.slack.aio.slash(OWNER, "preuves F-9999")
        await h.answer("Aucune facture n° F-9999.")
        await h.slack.aio.slash(OWNER, "preuves F-2026-001")
        shared = await h.slack.aio.wait_for(
            lambda: [m for m in h.slack.messages(h.dm) if m.files], what="the ZIP in the DM"
        )
        zipped = h.slack.files[shared[0].files[0]]
        assert zipped.name == "preuves-F-2026-001.zip"
        assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()


async def test_settings_panel_pause_button_pauses_and_updates_the_panel(sqlite_url: str, tmp_path: Path) -> None:
    """`parametres`: the panel with its pause button; a click pauses (logged as slack:<uid>) and updates it in place."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.slash(OWNER, "parametres")
        panel = await h.answer("Paramètres")
        assert _buttons(panel) == ["s1:pause"]
        await h.slack.aio.click(OWNER, h.dm, panel.ts, "s1:pause")
        updated = await h.slack.aio.wait_update(h.dm, panel.ts)
        assert "en pause" in " ".join(b["text"]["text"] for b in updated.blocks if "text" in b)
        assert h.presenter.business().paused
        changed = evidence(h.engine, "settings_changed")[-1]
        assert changed.actor == f"slack:{OWNER}" and json.loads(changed.payload) == {"paused": True}
        await h.slack.aio.wait_ephemeral(OWNER, "Relances en pause")
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "parametres heure 7h45")
        await h.answer("désormais à 07:45", after=after)


async def test_help_and_unknown_subcommands(sqlite_url: str, tmp_path: Path) -> None:
    """`aide` (and an unknown or missing subcommand) lists every subcommand; English owners get English."""
    async with slack_app(sqlite_url, tmp_path, locale="en-US") as h:
        await h.slack.aio.slash(OWNER, "frobnicate")
        shown = await h.answer("frobnicate")
        for sub in ("status", "digest", "invoices", "client", "paid", "evidence", "disputes", "settings", "help"):
            assert f"/relance {sub}" in shown.plain
        after = h.last_ts()
        await h.slack.aio.slash(OWNER, "")
        await h.answer("Commands", after=after)


async def test_text_typed_in_the_dm_gets_the_way_to_the_commands(sqlite_url: str, tmp_path: Path) -> None:
    """A message in the DM is not a command: the answer points to `/relance aide`."""
    async with slack_app(sqlite_url, tmp_path) as h:
        await h.slack.aio.dm_text(OWNER, "bonjour")
        assert "/relance aide" in (await h.answer("Je n'attends pas de texte")).plain


def _registered(h: SlackHarness) -> set[tuple[str, str]]:
    """The (chat id, message id) of every registered card."""
    with read_session(h.engine) as s:
        return {(c.chat_id, c.message_id) for c in s.exec(select(Card)).all()}


def _buttons(message: object) -> list[str]:
    """The action ids of a message's buttons, in order."""
    blocks = getattr(message, "blocks", [])
    return [e["action_id"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]
