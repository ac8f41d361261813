"""Registered letters (LRAR) in Slack, through the emulator: the formal notice card's letter buttons open modals
(errors stay in the modal), 📬 AR reçu takes the scan shared in the DM, stale clicks change nothing, /client lists
the notice awaiting its acknowledgment."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.slack.blocks import card_message
from storage.db import read_session, write_session
from storage.models import Business, Invoice, RegisteredLetter
from tests.factories import make_reminder
from tests.integration.slack_helpers import OWNER, TODAY, eventually, evidence
from tests.integration.test_slack_app import Running, adapter_running

PDF = b"%PDF-1.4\n% signed acknowledgment of receipt\n%%EOF\n"


async def _notice_card(r: Running) -> tuple[int, Any]:
    """A formal notice over the seeded invoice, its card posted in the owner's DM as the digest posts it."""
    with write_session(r.engine) as s:
        business = s.exec(select(Business)).first()
        (invoice,) = s.exec(select(Invoice)).all()
        assert business is not None
        from storage.models import Client

        client = s.get(Client, invoice.client_id)
        assert client is not None
        reminder = make_reminder(s, client, [invoice], step="formal_notice", planned_date=TODAY)
        assert reminder.id is not None
        rid = reminder.id
    parts = r.presenter.card_parts(rid, "fr")
    assert parts is not None
    posted = await r.ctx.client.chat_postMessage(channel=r.dm(), **card_message(parts, "fr"))
    r.presenter.register_cards([(rid, r.dm(), str(posted["ts"]))])
    return rid, r.slack.message(r.dm(), str(posted["ts"]))


def _letter(r: Running) -> RegisteredLetter | None:
    with read_session(r.engine) as s:
        return s.exec(select(RegisteredLetter)).first()


async def test_posting_and_receipt_with_a_shared_scan(sqlite_url: str, tmp_path: Path) -> None:
    """✉️ LRAR envoyée: a bad number stays in the modal, a good one is recorded for slack:<uid> and the card offers
    📬 AR reçu; the old button is stale; AR reçu's date, then the PDF shared in the DM, record the receipt with the
    scan's SHA-256; /client lists the notice while it awaits its acknowledgment."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        rid, card = await _notice_card(r)
        assert f"l1:sent:{rid}:0" in str(card.blocks)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:sent:{rid}:0")
        view = await r.slack.aio.wait_modal(OWNER, "LRAR envoyée")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"tracking": {"tracking": "12345"}})
        assert (
            ack["response_action"] == "errors" and "n'est pas un numéro de suivi La Poste" in ack["errors"]["tracking"]
        )
        ack = await r.slack.aio.submit_view(
            OWNER, view.id, {"tracking": {"tracking": "1A12345678901"}, "date": {"date": "2026-11-25"}}
        )
        assert "pas encore arrivé" in ack["errors"]["date"]
        assert _letter(r) is None
        values = {"tracking": {"tracking": "1a 123 456 789 01"}, "date": {"date": "2026-11-20"}}
        assert await r.slack.aio.submit_view(OWNER, view.id, values) == {}
        await r.slack.aio.wait_ephemeral(OWNER, "Lettre recommandée n° 1A12345678901 enregistrée")
        assert [e.actor for e in evidence(r.engine, "lrar_sent")] == [f"slack:{OWNER}"]
        await r.slack.aio.wait_for(lambda: "📬 AR reçu" in str(r.slack.message(r.dm(), card.ts).blocks), what="AR")
        assert "jusqu'au 28/11/2026" in str(r.slack.message(r.dm(), card.ts).blocks)

        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:sent:{rid}:0", shown=card)  # the card as it was
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert len(evidence(r.engine, "lrar_sent")) == 1

        await r.slack.aio.slash(OWNER, "client Client 0")
        await r.slack.aio.wait_message(r.dm(), "LRAR 1A12345678901 envoyée le 20/11/2026 · délai jusqu'au 28/11/2026")

        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:recv:{rid}:1")
        view = await r.slack.aio.wait_modal(OWNER, "Accusé de réception")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"date": {"date": "2026-11-19"}})
        assert ack == {}  # the date is checked against the posting once the modal is closed
        await r.slack.aio.wait_ephemeral(OWNER, "précède l'envoi de la lettre (20/11/2026)")
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:recv:{rid}:1")
        view = await r.slack.aio.wait_modal(OWNER, "Accusé de réception")
        assert await r.slack.aio.submit_view(OWNER, view.id, {"date": {"date": "2026-11-22"}}) == {}
        await r.slack.aio.wait_message(r.dm(), "Partagez dans cette conversation la photo ou le PDF")
        await r.slack.aio.share_file(OWNER, "accuse.pdf", PDF)
        await eventually(lambda: (found := _letter(r)) is not None and found.outcome == "received", "the receipt")
        letter = _letter(r)
        assert letter is not None and letter.received_on == date(2026, 11, 22)
        assert letter.proof_sha256 == hashlib.sha256(PDF).hexdigest()
        assert letter.proof_path is not None and Path(letter.proof_path).read_bytes() == PDF
        assert [e.actor for e in evidence(r.engine, "lrar_received")] == [f"slack:{OWNER}"]
        await r.slack.aio.wait_ephemeral(OWNER, "Accusé de réception du 22/11/2026 enregistré avec son scan")


async def test_receipt_without_scan_then_stale(sqlite_url: str, tmp_path: Path) -> None:
    """ "Enregistrer sans scan" records the receipt without a file; clicking it again, or the card's old AR reçu,
    is stale and changes nothing."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        rid, card = await _notice_card(r)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:sent:{rid}:0")
        view = await r.slack.aio.wait_modal(OWNER, "LRAR envoyée")
        values = {"tracking": {"tracking": "AR123456789FR"}, "date": {"date": "2026-11-18"}}
        assert await r.slack.aio.submit_view(OWNER, view.id, values) == {}
        await eventually(lambda: _letter(r) is not None, "the letter")
        await r.slack.aio.wait_for(lambda: "Pli non réclamé" in str(r.slack.message(r.dm(), card.ts).blocks))
        shown = r.slack.message(r.dm(), card.ts)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:recv:{rid}:1")
        view = await r.slack.aio.wait_modal(OWNER, "Accusé de réception")
        assert await r.slack.aio.submit_view(OWNER, view.id, {"date": {"date": "2026-11-21"}}) == {}
        prompt = await r.slack.aio.wait_message(r.dm(), "Sans scan, cliquez ci-dessous")
        await r.slack.aio.click(OWNER, r.dm(), prompt.ts, f"l1:noscan:{rid}:1")
        await r.slack.aio.wait_ephemeral(OWNER, "Accusé de réception du 21/11/2026 enregistré, sans scan")
        letter = _letter(r)
        assert letter is not None and (letter.outcome, letter.proof_path) == ("received", None)
        await r.slack.aio.click(OWNER, r.dm(), prompt.ts, f"l1:noscan:{rid}:1")
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:recv:{rid}:1", shown=shown)
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.", count=2)
        assert len(evidence(r.engine, "lrar_received")) == 1


async def test_first_presentation_modal_moves_the_deadline(sqlite_url: str, tmp_path: Path) -> None:
    """📮 Première présentation opens a date-picker modal: a future date stays in the modal as an error; a good one is
    recorded for slack:<uid> (`lrar_presented`), the card's deadline moves from posting + 8 to presentation + 8, and
    the card's old button is stale."""
    async with adapter_running(sqlite_url, tmp_path) as r:
        rid, card = await _notice_card(r)
        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:sent:{rid}:0")
        view = await r.slack.aio.wait_modal(OWNER, "LRAR envoyée")
        values = {"tracking": {"tracking": "AR123456789FR"}, "date": {"date": "2026-11-18"}}
        assert await r.slack.aio.submit_view(OWNER, view.id, values) == {}
        await r.slack.aio.wait_for(lambda: "Première présentation" in str(r.slack.message(r.dm(), card.ts).blocks))
        shown = r.slack.message(r.dm(), card.ts)
        assert "jusqu'au 26/11/2026" in str(shown.blocks)

        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:pres:{rid}:1")
        view = await r.slack.aio.wait_modal(OWNER, "Première présentation")
        ack = await r.slack.aio.submit_view(OWNER, view.id, {"date": {"date": "2026-11-25"}})
        assert ack["response_action"] == "errors" and "pas encore arrivé" in ack["errors"]["date"]
        assert await r.slack.aio.submit_view(OWNER, view.id, {"date": {"date": "2026-11-21"}}) == {}
        await r.slack.aio.wait_ephemeral(OWNER, "Première présentation du 21/11/2026 enregistrée")
        (entry,) = evidence(r.engine, "lrar_presented")
        assert entry.actor == f"slack:{OWNER}"
        letter = _letter(r)
        assert letter is not None and letter.first_presented_on == date(2026, 11, 21)
        await r.slack.aio.wait_for(lambda: "jusqu'au 29/11/2026" in str(r.slack.message(r.dm(), card.ts).blocks))
        assert "présentée le 21/11/2026" in str(r.slack.message(r.dm(), card.ts).blocks)

        await r.slack.aio.click(OWNER, r.dm(), card.ts, f"l1:pres:{rid}:1", shown=shown)
        await r.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        assert len(evidence(r.engine, "lrar_presented")) == 1
