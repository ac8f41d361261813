"""Replies by e-mail against a real IMAP server (Dovecot on loopback): linking, kinds, storage, the \\Seen flag,
idempotence across scans and restarts, IDLE, reconnection, the ladder held while a reply waits, secrets kept."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import select

from dunning.penalties import builtin_rate_table
from messages.imap import ImapAuthError, ImapSession, MailboxConfig
from messages.render import default_renderer
from services import replies
from services.context import BusinessContext, Clock
from services.delivery import TemplateDrafter
from services.eml import EmlDelivery
from services.export import build_evidence_zip
from services.mailbox import MailboxWatcher
from storage.db import make_engine, read_session, write_session
from storage.models import Client, EvidenceEntry, Outbox, ReceivedEmail, Reminder
from storage.reminders import refresh_due
from tests.factories import make_business, make_client, make_invoice, make_reminder
from tests.integration import mail_samples as samples
from tests.integration.imap_server import DovecotServer

TODAY = date(2026, 11, 30)


@dataclass
class World:
    engine: Engine
    ctx: BusinessContext
    business_id: int
    client_id: int
    invoice_id: int
    reminder_id: int


def _config(server: DovecotServer, **kw: object) -> MailboxConfig:
    fields: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": server.user,
        "password": SecretStr(server.password),
        "security": "none",
        "timeout": 5.0,
    }
    fields.update(kw)
    return MailboxConfig(**fields)  # type: ignore[arg-type]


_ENGINES: list[Engine] = []


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    """Every engine a test made is closed at its end (no connection left to the garbage collector)."""
    yield
    while _ENGINES:
        _ENGINES.pop().dispose()


def _world(url: str, tmp_path: Path, server: DovecotServer, **kw: object) -> World:
    engine = make_engine(url)
    _ENGINES.append(engine)
    with write_session(engine) as session:
        business = make_business(session)
        client = make_client(
            session, business, name="Menuiserie Martin", emails="jean@client.example,compta@client.example"
        )
        invoice = make_invoice(session, client, due=date(2026, 10, 15), number="F-2026-0042")
        reminder = make_reminder(session, client, [invoice], state="sent", planned_date=date(2026, 11, 24))
        session.add(
            Outbox(
                business_id=business.id,
                reminder_id=reminder.id,
                state="sent",
                message_id=samples.RELANCE_ID,
                mail_from="factures@atelier-dupont.example",
                recipients="jean@client.example",
                subject="Facture F-2026-0042 : rappel",
                raw_message=b"Subject: x\r\n\r\nx\r\n",
            )
        )
        assert business.id and client.id and invoice.id and reminder.id
        ids = business.id, client.id, invoice.id, reminder.id
    ctx = BusinessContext(
        engine=engine,
        business_id=ids[0],
        owner_ids=frozenset({111}),
        clock=Clock(ZoneInfo("Europe/Paris"), TODAY),
        rate_table=builtin_rate_table(),
        drafter=TemplateDrafter(default_renderer(), rate_table=builtin_rate_table()),
        delivery=EmlDelivery(tmp_path / "outbox"),
        data_dir=str(tmp_path / "data"),
        mailbox=_config(server, **kw),
    )
    return World(engine, ctx, *ids)


def _scan(world: World) -> list[replies.Ingested]:
    watcher = MailboxWatcher(world.ctx)
    with ImapSession(watcher.config) as session:
        return list(watcher.scan(session).results)


def _received(world: World) -> list[ReceivedEmail]:
    with read_session(world.engine) as session:
        return list(session.exec(select(ReceivedEmail).order_by(ReceivedEmail.id)).all())  # type: ignore[arg-type]


def _evidence(world: World, kind: str) -> list[dict[str, object]]:
    with read_session(world.engine) as session:
        rows = session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == kind)).all()
        return [json.loads(r.payload) for r in rows]


@pytest.fixture
def world(sqlite_url: str, tmp_path: Path, dovecot: DovecotServer) -> World:
    """A business whose reminder about F-2026-0042 was sent (Message-ID known), and its mailbox in Dovecot."""
    return _world(sqlite_url, tmp_path, dovecot)


def test_gmail_reply_linked_by_in_reply_to_is_kept_with_its_own_text(world: World, dovecot: DovecotServer) -> None:
    """A French Gmail reply is linked to the reminder it answers, stored raw (SHA-256 in the evidence), its text
    without history nor signature, a promise date proposed, \\Seen set; the card data comes from replies.reply."""
    dovecot.append(samples.gmail_reply_fr())
    [result] = _scan(world)
    assert (result.status, result.kind, result.linked_by) == ("stored", "reply", "in_reply_to")
    [row] = _received(world)
    assert (row.reminder_id, row.state, row.kind) == (world.reminder_id, "open", "reply")
    assert row.text == "Bonjour,\n\nJe vous règle le 15 décembre sans faute."
    raw = Path(row.raw_path).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == row.raw_sha256 and b"Message-ID: <g1@mail.gmail.com>" in raw
    [entry] = _evidence(world, "email_received")
    assert entry["sha256"] == row.raw_sha256 and entry["invoice_ids"] == [world.invoice_id]
    assert entry["from"] == "jean@client.example" and entry["kind"] == "reply"
    assert "\\Seen" in dovecot.flags()[1]
    view = replies.reply(world.ctx, row.id)
    assert view is not None and [i.number for i in view.invoices] == ["F-2026-0042"]
    assert view.promise_date == date(2026, 12, 15) and view.client_name == "Menuiserie Martin"
    assert view.message_id == "<g1@mail.gmail.com>" and view.total == view.invoices[0].balance
    assert [v.received_id for v in replies.open_replies(world.ctx)] == [row.id]


def test_outlook_reply_linked_by_sender_address(world: World, dovecot: DovecotServer) -> None:
    """Without In-Reply-To, a reply from one of the client's addresses is linked to the client (history of the
    Outlook "From: / Sent:" block removed) and its text proposed as a dispute reason."""
    dovecot.append(samples.outlook_reply_en(sender="compta@client.example"))
    [result] = _scan(world)
    assert (result.status, result.linked_by) == ("stored", "sender")
    [row] = _received(world)
    assert row.reminder_id is None and row.client_id == world.client_id
    assert "From:" not in row.text and row.text.startswith("Hello,")
    view = replies.reply(world.ctx, row.id)
    assert view is not None and "delivery was incomplete" in view.dispute_reason
    assert [i.invoice_id for i in view.invoices] == [world.invoice_id]


def test_reply_linked_by_invoice_number_in_subject(world: World, dovecot: DovecotServer) -> None:
    """From an unknown address with no reference, the invoice number in the subject links the message."""
    raw = samples.gmail_reply_fr(
        sender="assistante@autre.example", in_reply_to=None, subject="Facture F-2026-0042 réglée"
    )
    dovecot.append(raw)
    [result] = _scan(world)
    assert (result.status, result.linked_by) == ("stored", "subject")
    assert [r.client_id for r in _received(world)] == [world.client_id]


def test_unlinked_and_forged_messages_are_ignored_and_left_unseen(world: World, dovecot: DovecotServer) -> None:
    """A stranger's message, and one from a stranger whose In-Reply-To copies the reminder's Message-ID, are
    linked to nothing: not stored, no evidence, and the mailbox left untouched (no \\Seen)."""
    dovecot.append(
        samples.gmail_reply_fr(sender="x@stranger.example", in_reply_to=None, subject="Hello", message_id="<s1@x>")
    )
    dovecot.append(samples.gmail_reply_fr(sender="x@stranger.example", subject="Re: rappel", message_id="<s2@x>"))
    results = _scan(world)
    assert [r.status for r in results] == ["unlinked", "unlinked"]
    assert _received(world) == [] and _evidence(world, "email_received") == []
    assert all("\\Seen" not in flags for flags in dovecot.flags().values())


def test_out_of_office_is_noted_on_the_reminder_without_a_card(world: World, dovecot: DovecotServer) -> None:
    """An automatic answer is stored as auto_reply, noted (not open), its evidence names the reminder, and it
    neither shows as a reply nor holds the ladder."""
    dovecot.append(samples.out_of_office())
    [result] = _scan(world)
    assert (result.status, result.kind) == ("stored", "auto_reply")
    [row] = _received(world)
    assert row.state == "noted" and row.reminder_id == world.reminder_id
    assert replies.open_replies(world.ctx) == [] and replies.clients_awaiting_owner(world.ctx) == set()
    with read_session(world.engine) as session:
        entry = session.exec(select(EvidenceEntry).where(EvidenceEntry.kind == "email_received")).one()
    assert entry.reminder_id == world.reminder_id


def test_bounce_marks_the_address_failing_and_the_reminder_failed(world: World, dovecot: DovecotServer) -> None:
    """A Postfix DSN: the failing address joins client.failing_emails, the reminder and its outbox row become
    failed with the server's reason (evidence email_bounced), the owner is asked for another address; the new
    address clears the failing one and later e-mails go to it only."""
    dovecot.append(samples.postfix_bounce())
    [result] = _scan(world)
    assert (result.status, result.kind, result.linked_by) == ("stored", "bounce", "original_message")
    with read_session(world.engine) as session:
        client = session.get(Client, world.client_id)
        reminder = session.get(Reminder, world.reminder_id)
        outbox = session.exec(select(Outbox)).one()
        assert client is not None and reminder is not None
        assert client.failing_emails == "jean@client.example"
        assert reminder.state == "failed" and outbox.state == "failed"
        assert outbox.last_reply is not None and "550 5.1.1" in outbox.last_reply
    [bounced] = _evidence(world, "email_bounced")
    assert "User unknown" in str(bounced["reason"]) and bounced["reminder_failed"] is True
    [notice] = replies.open_bounces(world.ctx)
    assert notice.failing_emails == ("jean@client.example",) and "550 5.1.1" in notice.text
    assert replies.new_client_email(world.ctx, world.client_id, "Nouvelle@Client.example", actor="owner:111")
    with read_session(world.engine) as session:
        client = session.get(Client, world.client_id)
        assert client is not None
        assert (client.emails, client.failing_emails) == ("nouvelle@client.example,compta@client.example", "")
    done = replies.handle(world.ctx, notice.received_id, notice.version, "new_address", actor="owner:111")
    assert done.status == "done" and replies.open_bounces(world.ctx) == []


def test_a_message_is_handled_once_across_scans_and_restarts(
    db_url: str, tmp_path: Path, dovecot: DovecotServer
) -> None:
    """Scanning twice, then again with the cursor lost (a restart without its file), stores the reply once (SQLite
    and PostgreSQL)."""
    world = _world(db_url, tmp_path, dovecot)
    dovecot.append(samples.gmail_reply_fr())
    assert [r.status for r in _scan(world)] == ["stored"]
    assert _scan(world) == []  # the cursor: only new messages are read
    (Path(world.ctx.data_dir) / "received" / str(world.business_id) / "cursor.json").unlink()
    assert [r.status for r in _scan(world)] == ["duplicate"]
    assert len(_received(world)) == 1 and len(_evidence(world, "email_received")) == 1


def test_seen_flag_is_not_set_when_turned_off(sqlite_url: str, tmp_path: Path, dovecot: DovecotServer) -> None:
    """IMAP_MARK_SEEN=false: the reply is kept, the mailbox is not changed at all."""
    world = _world(sqlite_url, tmp_path, dovecot, mark_seen=False)
    dovecot.append(samples.gmail_reply_fr())
    assert [r.status for r in _scan(world)] == ["stored"]
    assert dovecot.flags() == {1: "\\Recent"} or "\\Seen" not in dovecot.flags()[1]


def test_reply_with_pdf_lists_safe_attachment_names(world: World, dovecot: DovecotServer) -> None:
    """Apple Mail's reply: the attachments are listed by name, a hostile `../../etc/passwd` made harmless."""
    dovecot.append(samples.apple_reply_with_pdf())
    _scan(world)
    [row] = _received(world)
    assert json.loads(row.attachments) == ["virement.pdf", "etc_passwd"]
    assert row.text == "Voici la preuve du virement, payé hier."


def test_too_large_message_is_skipped_with_a_note(
    world: World, dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 20 MB message is never fetched (its size is read first): skipped with a log line, cursor moved on."""
    dovecot.append(samples.large_message())
    watcher = MailboxWatcher(world.ctx)
    with caplog.at_level(logging.WARNING), ImapSession(watcher.config) as session:
        report = watcher.scan(session)
    assert report.results == () and report.skipped_large == (1,)
    assert "too large" in caplog.text and _received(world) == []


def test_open_reply_holds_the_ladder_until_handled(world: World, dovecot: DovecotServer) -> None:
    """While the reply waits, refresh_due proposes nothing for the client (a pending step is cancelled as
    client_replied); once the owner handles it (👌 Rien à faire), the ladder resumes."""
    with write_session(world.engine) as session:
        reminder = session.get(Reminder, world.reminder_id)
        assert reminder is not None
        reminder.planned_date = date(2026, 10, 20)
        session.add(reminder)
    dovecot.append(samples.gmail_reply_fr())
    _scan(world)
    from storage.models import Business

    with write_session(world.engine) as session:
        business = session.get(Business, world.business_id)
        assert business is not None
        assert refresh_due(session, business=business, today=TODAY) == []
    [view] = replies.open_replies(world.ctx)
    assert replies.handle(world.ctx, view.received_id, view.version + 1, "nothing", actor="owner:111").status == "stale"
    assert replies.handle(world.ctx, view.received_id, view.version, "nothing", actor="owner:111").status == "done"
    assert replies.handle(world.ctx, view.received_id, view.version, "nothing", actor="owner:111").status == "stale"
    with write_session(world.engine) as session:
        business = session.get(Business, world.business_id)
        assert business is not None
        assert [v.client_id for v in refresh_due(session, business=business, today=TODAY)] == [world.client_id]


def test_password_is_never_logged_nor_exported(
    world: World, dovecot: DovecotServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Neither a scan, nor a refused login, nor the evidence file holds the IMAP password; the config's repr hides
    it too."""
    dovecot.append(samples.gmail_reply_fr())
    with caplog.at_level(logging.DEBUG):
        _scan(world)
        wrong = _config(dovecot, password=SecretStr("wrong-" + dovecot.password))
        with pytest.raises(ImapAuthError):
            ImapSession(wrong).open()
    assert dovecot.password not in caplog.text and dovecot.password not in repr(world.ctx.mailbox)
    out = build_evidence_zip(world.engine, business_id=world.business_id, invoice_number="F-2026-0042", today=TODAY,
                             out_path=tmp_path / "dossier.zip")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert all(dovecot.password.encode() not in zf.read(name) for name in zf.namelist())


async def _until(predicate: object, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_idle_wakes_the_watcher_within_seconds(world: World, dovecot: DovecotServer) -> None:
    """With IDLE (and polling far away), a reply delivered while the watcher waits is kept within seconds, and its
    listener is told."""
    watcher = MailboxWatcher(world.ctx, poll_interval=3600)
    told: list[replies.Ingested] = []

    async def listener(result: replies.Ingested) -> None:
        told.append(result)

    watcher.on_received(listener)
    watcher.start()
    try:
        await _until(lambda: watcher.scans >= 1, 10)
        await asyncio.sleep(0.3)  # the watcher is in IDLE now
        dovecot.append(samples.gmail_reply_fr())
        assert await _until(lambda: len(told) == 1, 5) < 5
    finally:
        await watcher.stop()
    assert told[0].status == "stored"


async def test_watcher_reconnects_after_the_server_restarts(world: World, dovecot: DovecotServer) -> None:
    """Dovecot restarts under the watcher: it reconnects (backoff) and keeps the reply delivered meanwhile."""
    watcher = MailboxWatcher(world.ctx, poll_interval=3600)
    watcher.start()
    try:
        await _until(lambda: watcher.scans >= 1, 10)
        await asyncio.to_thread(dovecot.restart)
        dovecot.append(samples.gmail_reply_fr())
        await _until(lambda: len(_received(world)) == 1, 15)
    finally:
        await watcher.stop()


def test_implicit_tls_with_the_servers_certificate(sqlite_url: str, tmp_path: Path, dovecot_tls: DovecotServer) -> None:
    """IMAP_SECURITY=tls: the watcher reads the mailbox over TLS, checking the server's certificate."""
    import ssl

    context = ssl.create_default_context(cafile=str(dovecot_tls.root / "ca.pem"))
    world = _world(sqlite_url, tmp_path, dovecot_tls, security="tls", ssl_context=context)
    dovecot_tls.append(samples.gmail_reply_fr())
    assert [r.status for r in _scan(world)] == ["stored"]


def test_dossier_holds_the_received_emails_checked_and_the_replies_in_its_timeline(
    world: World, dovecot: DovecotServer, tmp_path: Path
) -> None:
    """The invoice's evidence file has each received message under courriels-recus/ (bytes = the stored .eml, its
    SHA-256 the one recorded), a line in the bordereau, the reply in the timeline, and verify.py accepts it; a
    stored file altered since is not joined, the bordereau says so."""
    import subprocess
    import sys

    dovecot.append(samples.outlook_reply_en(sender="compta@client.example"))  # linked by address: no reminder
    dovecot.append(samples.out_of_office())
    _scan(world)
    rows = _received(world)
    out = build_evidence_zip(world.engine, business_id=world.business_id, invoice_number="F-2026-0042", today=TODAY,
                             out_path=tmp_path / "dossier.zip")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("courriels-recus/"))
        assert len(names) == 2
        assert [hashlib.sha256(zf.read(n)).hexdigest() for n in names] == [r.raw_sha256 for r in rows]
        bordereau = zf.read("bordereau-des-pieces.txt").decode()
        chain = json.loads(zf.read("chaine/entrees.json"))
        zf.extractall(tmp_path / "x")
    assert bordereau.count("Courriel reçu le") == 2 and "réponse automatique" in bordereau
    assert [e["kind"] for e in chain["entries"]].count("email_received") == 2
    check = subprocess.run([sys.executable, "verify.py"], cwd=tmp_path / "x" / "chaine", capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    Path(rows[0].raw_path).write_bytes(b"altered")
    out = build_evidence_zip(world.engine, business_id=world.business_id, invoice_number="F-2026-0042", today=TODAY,
                             out_path=tmp_path / "dossier2.zip")  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert len([n for n in zf.namelist() if n.startswith("courriels-recus/")]) == 1
        assert "NON JOINT" in zf.read("bordereau-des-pieces.txt").decode()


async def test_polling_without_idle_and_a_refused_login_reported_once(world: World, dovecot: DovecotServer) -> None:
    """Without IDLE the watcher polls (here every half second) and keeps the reply; with a wrong password it retries
    with backoff and tells its listener once, not at every attempt."""
    watcher = MailboxWatcher(world.ctx, poll_interval=0.5, use_idle=False)
    watcher.start()
    try:
        await _until(lambda: watcher.scans >= 1, 10)
        dovecot.append(samples.gmail_reply_fr())
        await _until(lambda: len(_received(world)) == 1, 5)
    finally:
        await watcher.stop()
    wrong = _config(dovecot, password=SecretStr("wrong"))
    refused = MailboxWatcher(world.ctx, wrong, backoff_first=0.1)
    problems: list[str] = []

    async def on_problem(problem: object) -> None:
        problems.append(str(problem))

    refused.on_problem(on_problem)  # type: ignore[arg-type]
    refused.start()
    try:
        await _until(lambda: refused._failures >= 2, 30)  # Dovecot slows down repeated failed logins
    finally:
        await refused.stop()
    assert len(problems) == 1 and "login refused" in problems[0] and "wrong" not in problems[0]


async def test_runtime_starts_the_watcher_and_stops_it(world: World, dovecot: DovecotServer) -> None:
    """With a mailbox in the business context, the runtime's job watches it and hands each kept message to the
    adapters that show them; Runtime.stop ends it."""
    from bot.runtime import start_mailbox
    from services.core import Services

    shown: list[replies.Ingested] = []

    class Adapter:
        name = "fake"

        async def on_mail_received(self, result: replies.Ingested) -> None:
            shown.append(result)

    watcher = start_mailbox(Services(world.ctx), [Adapter()])  # type: ignore[list-item]
    try:
        dovecot.append(samples.gmail_reply_fr())
        await _until(lambda: len(shown) == 1, 10)
    finally:
        await watcher.stop()
    assert shown[0].kind == "reply" and shown[0].client_id == world.client_id


def test_connection_lost_mid_fetch_loses_nothing(world: World, dovecot: DovecotServer) -> None:
    """The server drops the connection while the second of two messages is fetched: the scan stops with an
    ImapError, the first is kept and the cursor stays on it, so the next scan reads the second (nothing lost, nothing
    twice)."""
    from messages.imap import ImapError

    dovecot.append(samples.gmail_reply_fr())
    dovecot.append(samples.outlook_reply_en())
    watcher = MailboxWatcher(world.ctx)
    with ImapSession(watcher.config) as session:
        real_fetch = session.fetch_raw

        def dropping(uid: int) -> bytes | None:
            if uid == 2:
                session.interrupt()  # the socket is cut under the fetch
            return real_fetch(uid)

        session.fetch_raw = dropping  # type: ignore[method-assign]
        with pytest.raises(ImapError):
            watcher.scan(session)
    assert [r.message_id for r in _received(world)] == ["<g1@mail.gmail.com>"]
    assert [r.status for r in _scan(world)] == ["stored"]
    assert sorted(r.message_id for r in _received(world)) == ["<g1@mail.gmail.com>", "<o1@outlook.example>"]


def test_a_large_first_scan_sorts_messages_by_their_headers(world: World, dovecot: DovecotServer) -> None:
    """Over 50 new messages, headers are sorted with the in-memory index: the one reply (known Message-ID) and the
    one bounce are read and kept, the 60 newsletters mentioning other numbers are left unread and untouched."""
    conn = dovecot.client()
    try:
        for n in range(60):
            raw = samples.gmail_reply_fr(sender=f"promo{n}@shop.example", in_reply_to=f"<x{n}@shop.example>",
                                         subject=f"Offre n° {n} F-2025-{n:04d}", message_id=f"<n{n}@shop>")  # fmt: skip
            conn.append("INBOX", "", None, raw)
        conn.append("INBOX", "", None, samples.gmail_reply_fr())
        conn.append("INBOX", "", None, samples.postfix_bounce())
    finally:
        conn.logout()
    results = _scan(world)
    assert [r.status for r in results].count("unlinked") == 60
    assert sorted(r.kind for r in results if r.status == "stored") == ["bounce", "reply"]
    flags = dovecot.flags()
    assert sum("\\Seen" in f for f in flags.values()) == 2 and "\\Seen" not in flags[1]
