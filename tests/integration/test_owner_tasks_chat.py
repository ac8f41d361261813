"""The owner's tasks in the chats, by transcript: in Telegram, a late Payée brings the late-payment card, Réclamer
les pénalités shows the claim's draft card, a second tap hears "Déjà traité."; /taches lists the open questions;
in Slack, `/relance taches` shows them, a click answers in place and a second click hears "Déjà traité."."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlmodel import col, select

from dunning.invoice_states import Promise
from services import tasks
from storage.db import read_session, write_session
from storage.invoice_status import apply_to_invoice
from storage.models import Business, EvidenceEntry, Invoice, OwnerTask, Reminder
from tests.bot_harness import BotHarness
from tests.factories import make_client, make_invoice, make_reminder
from tests.integration.slack_helpers import OWNER, slack_app


def _seed(engine: object, business_id: int) -> tuple[int, int]:
    """Client "Boulangerie Martin SARL" with invoice F-2026-042 (1 200 €, due 15/10/2026, overdue) on a pending
    reminder: (invoice id, reminder id)."""
    with write_session(engine) as s:  # type: ignore[arg-type]
        business = s.get(Business, business_id)
        assert business is not None
        client = make_client(s, business, name="Boulangerie Martin SARL")
        inv = make_invoice(s, client, due=date(2026, 10, 15), amount="1200.00", number="F-2026-042")
        reminder = make_reminder(s, client, [inv], planned_date=date(2026, 11, 24))
        assert inv.id is not None and reminder.id is not None
        return inv.id, reminder.id


def _labels(bot: BotHarness, call: object) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for b in bot.buttons(call)}  # type: ignore[arg-type]


async def test_telegram_late_payment_card_claim_and_stale_tap(bot: BotHarness) -> None:
    """💶 Payée en totalité on an invoice 40 days late: the task card follows ("Paiement en retard", Réclamer /
    Ne pas réclamer, t1: data); Réclamer: "C'est fait.", the card says the claim is drafted and loses its buttons,
    the penalty claim's card comes with its own buttons; the same tap again: "Déjà traité." and no second draft."""
    inv_id, rid = _seed(bot.engine, bot.services.business_id)
    bot.api.clear()
    await bot.owner.tap(f"r1:payf:{rid}:0", message_id=5)
    texts = bot.api.texts()
    assert any("1 question(s)" in t for t in texts)
    card = next(c for c in bot.cards() if "Paiement en retard" in str(c.params["text"]))
    assert "F-2026-042" in str(card.params["text"]) and "40 jour(s) de retard" in str(card.params["text"])
    labels = _labels(bot, card)
    assert set(labels) == {"⚖️ Réclamer les pénalités", "🚫 Ne pas réclamer"}
    assert all(d.startswith("t1:") and len(d.encode()) <= 64 for d in labels.values())
    bot.api.clear()
    await bot.owner.tap(labels["⚖️ Réclamer les pénalités"], message_id=9)
    assert bot.api.of("answerCallbackQuery")[0].params.get("text") == "C'est fait."
    edited = bot.api.of("editMessageText")[-1]
    assert "Réclamation des pénalités de la facture F-2026-042 préparée" in str(edited.params["text"])
    assert not bot.buttons(edited)
    draft = bot.cards()[-1]
    assert any(d.startswith("r1:send:") for d in _labels(bot, draft).values())
    bot.api.clear()
    await bot.owner.tap(labels["⚖️ Réclamer les pénalités"], message_id=9)
    assert bot.api.of("answerCallbackQuery")[0].params.get("text") == "Déjà traité."
    with read_session(bot.engine) as s:
        claims = s.exec(select(Reminder).where(Reminder.kind == "penalty_claim")).all()
        handled = s.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "task_handled")).all()
        assert s.get(Invoice, inv_id).state == "paid"  # type: ignore[union-attr]
    assert len(claims) == 1 and len(handled) == 1


async def test_telegram_taches_lists_the_questions(bot: BotHarness) -> None:
    """/taches with nothing open: "Aucune question en attente."; with a broken promise: the header and its card
    (OK); OK: the card says "Noté." without buttons."""
    await bot.owner.send("/taches")
    assert bot.api.texts()[-1] == "Aucune question en attente."
    inv_id, _ = _seed(bot.engine, bot.services.business_id)
    with write_session(bot.engine) as s:
        inv = s.get(Invoice, inv_id)
        assert inv is not None
        apply_to_invoice(s, inv, Promise(date(2026, 11, 20), date(2026, 11, 10)), actor="owner:1")
    tasks.daily_check(bot.services.ctx, date(2026, 11, 24))
    bot.api.clear()
    await bot.owner.send("/taches")
    assert "1 question(s)" in bot.api.texts()[0]
    (card,) = bot.cards()
    assert "Promesse non tenue" in str(card.params["text"]) and "20/11/2026" in str(card.params["text"])
    await bot.owner.tap(_labels(bot, card)["👌 OK"], message_id=3)
    edited = bot.api.of("editMessageText")[-1]
    assert "👌 Noté." in str(edited.params["text"]) and not bot.buttons(edited)


async def test_slack_taches_click_and_second_click(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance taches` with a broken promise: the card with its OK button (t1:); the click updates it in place
    ("Noté.", no button), the task is done; the same click again: "Déjà traité." and nothing more is written."""
    async with slack_app(sqlite_url, tmp_path) as h:
        inv_id, _ = _seed(h.engine, h.presenter.business_id)
        with write_session(h.engine) as s:
            inv = s.get(Invoice, inv_id)
            assert inv is not None
            apply_to_invoice(s, inv, Promise(date(2026, 11, 20), date(2026, 11, 10)), actor="owner:1")
        tasks.daily_check(h.presenter.ctx, date(2026, 11, 24))
        await h.slack.aio.slash(OWNER, "taches")
        card = await h.answer("Promesse non tenue")
        ids = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        (ok,) = ids
        assert ok.startswith("t1:ok:")
        await h.slack.aio.click(OWNER, h.dm, card.ts, ok)
        await h.slack.aio.wait_for(lambda: "Noté." in h.slack.message(h.dm, card.ts).plain, what="answered")
        assert not [b for b in h.slack.message(h.dm, card.ts).blocks if b["type"] == "actions"]
        with read_session(h.engine) as s:
            entries = len(s.exec(select(EvidenceEntry)).all())
            assert [t.state for t in s.exec(select(OwnerTask).order_by(col(OwnerTask.id))).all()] == ["done"]
        from bot.slack.actions import Click
        from bot.slack.tasks import task_button

        await task_button(h.ctx, Click(OWNER, h.dm, card.ts, "fr"), ok)
        await h.slack.aio.wait_ephemeral(OWNER, "Déjà traité.")
        await h.settle()
        with read_session(h.engine) as s:
            assert len(s.exec(select(EvidenceEntry)).all()) == entries
            assert s.get(Invoice, inv_id).amount_paid == Decimal("0.00")  # type: ignore[union-attr]


async def test_slack_payee_late_brings_the_task_card(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance payee F-2026-042` on an invoice 40 days late: the payment is recorded, then the late-payment card
    (Réclamer / Ne pas réclamer); Ne pas réclamer answers in place and the task is dismissed."""
    async with slack_app(sqlite_url, tmp_path) as h:
        inv_id, _ = _seed(h.engine, h.presenter.business_id)
        await h.slack.aio.slash(OWNER, "payee F-2026-042")
        card = await h.answer("Paiement en retard")
        ids = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        assert [i.split(":")[1] for i in ids] == ["claim", "skip"]
        await h.slack.aio.click(OWNER, h.dm, card.ts, ids[1])
        await h.slack.aio.wait_for(
            lambda: "ne seront pas réclamées" in h.slack.message(h.dm, card.ts).plain, what="answered"
        )
        await h.settle()
        with read_session(h.engine) as s:
            assert s.get(Invoice, inv_id).state == "paid"  # type: ignore[union-attr]
            (task,) = s.exec(select(OwnerTask)).all()
        assert (task.kind, task.state, task.outcome) == ("late_payment", "dismissed", "skipped")


async def test_telegram_credit_note_with_an_unknown_invoice_is_assigned_from_its_card(bot: BotHarness) -> None:
    """A UBL credit note naming an invoice Relance does not know, sent after the client's invoice F-2026-042: the
    summary, then the "Avoir à affecter" card with that invoice as a button; tapping it applies the credit note
    (the invoice's balance goes down) and the card says so."""
    from tests.samples.einvoices import credit_note_data, facturx_pdf, ubl_xml

    bot.api.files["fx"] = facturx_pdf()
    await bot.owner.send_document("facture.pdf", len(bot.api.files["fx"]), file_id="fx")
    bot.api.files["cn"] = ubl_xml(credit_note_data(number="AV-9", referenced="F-9999"))
    bot.api.clear()
    await bot.owner.send_document("avoir.xml", len(bot.api.files["cn"]), file_id="cn")
    card = next(c for c in bot.cards() if "Avoir à affecter" in str(c.params["text"]))
    assert "AV-9" in str(card.params["text"]) and "F-9999" in str(card.params["text"])
    labels = _labels(bot, card)
    invoice_button = next(d for label, d in labels.items() if label.startswith("F-2026-042"))
    assert set(labels) - {next(k for k in labels if k.startswith("F-2026-042"))} == {"🚫 Ignorer"}
    with read_session(bot.engine) as s:
        before = s.exec(select(Invoice).where(Invoice.number == "F-2026-042")).one().balance
    await bot.owner.tap(invoice_button, message_id=4)
    edited = bot.api.of("editMessageText")[-1]
    assert "Avoir AV-9 imputé sur la facture F-2026-042" in str(edited.params["text"]) and not bot.buttons(edited)
    with read_session(bot.engine) as s:
        after = s.exec(select(Invoice).where(Invoice.number == "F-2026-042")).one()
    assert after.balance < before and after.amount_credited == before - after.balance


def _promised(engine: object, business_id: int) -> None:
    """F-2026-042 promised until Friday 20/11/2026 and unpaid (today is Tuesday 24/11)."""
    inv_id, _ = _seed(engine, business_id)
    with write_session(engine) as s:  # type: ignore[arg-type]
        inv = s.get(Invoice, inv_id)
        assert inv is not None
        apply_to_invoice(s, inv, Promise(date(2026, 11, 20), date(2026, 11, 10)), actor="owner:1")


async def test_telegram_digest_runs_the_check_and_shows_tasks_after_the_reminders(bot: BotHarness) -> None:
    """/digest with a promise broken since Friday: the daily check runs with it; the reminder cards come first,
    then the tasks' header and the broken promise's card."""
    _promised(bot.engine, bot.services.business_id)
    bot.api.clear()
    await bot.owner.send("/digest")
    texts = bot.api.texts()
    header = next(i for i, t in enumerate(texts) if "question(s)" in t)
    promise = next(i for i, t in enumerate(texts) if "Promesse non tenue" in t and "Les relances ont repris" in t)
    reminder = next(i for i, t in enumerate(texts) if "F-2026-042" in t and "Promesse non tenue" not in t)
    assert reminder < header < promise


async def test_slack_digest_shows_tasks_after_the_reminders(sqlite_url: str, tmp_path: Path) -> None:
    """`/relance digest` with a promise broken since Friday: the broken promise's task card follows the digest."""
    async with slack_app(sqlite_url, tmp_path) as h:
        _promised(h.engine, h.presenter.business_id)
        await h.slack.aio.slash(OWNER, "digest")
        card = await h.answer("Les relances ont repris")
        ids = [e["action_id"] for b in card.blocks if b["type"] == "actions" for e in b["elements"]]
        assert len(ids) == 1 and ids[0].startswith("t1:ok:")
        await h.settle()


async def test_telegram_partial_amount_settling_late_brings_the_task(bot: BotHarness) -> None:
    """Paiement partiel with the whole balance typed (1 200,00) on an invoice 40 days late: after the answer, the
    late-payment card comes."""
    _, rid = _seed(bot.engine, bot.services.business_id)
    await bot.owner.tap(f"r1:payp:{rid}:0", message_id=5)
    bot.api.clear()
    await bot.owner.send("1200,00")
    assert any("Paiement en retard" in str(c.params["text"]) for c in bot.cards())


async def test_slack_paid_modal_on_a_late_invoice_brings_the_task(sqlite_url: str, tmp_path: Path) -> None:
    """Payée submitted in its modal on an invoice two weeks overdue: the late-payment card follows in the DM."""
    from tests.integration.test_slack_actions import _card, _open
    from tests.integration.test_slack_app import adapter_running

    async with adapter_running(sqlite_url, tmp_path) as r:
        card, _ = await _card(r)
        view = await _open(r, card, "pay", "Paiement")
        assert await r.slack.aio.submit_view(OWNER, view.id, {}) == {}
        task = await r.slack.aio.wait_message(r.dm(), "Paiement en retard")
        ids = [e["action_id"] for b in task.blocks if b["type"] == "actions" for e in b["elements"]]
        assert [i.split(":")[1] for i in ids] == ["claim", "skip"]
