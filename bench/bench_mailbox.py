"""Reading a mailbox of 10,000 messages of which 100 answer reminders, in a real Dovecot on loopback: the first scan,
then a later scan after 10 new messages (UID cursor: only those are read), and the peak memory.

Target (issue 11): first scan under 30 s, later scans read only the new messages, under 200 MB. Needs Dovecot
(Debian's dovecot-imapd); skipped with a message otherwise. Environment: BENCH_MAILBOX_MESSAGES (default 10000),
BENCH_MAILBOX_REPLIES (100).
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.report import record

TARGET_SECONDS = 30.0
TARGET_MB = 200.0
TODAY = date(2026, 11, 30)


def _message(n: int, *, reply_to: str | None, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "factures@atelier-dupont.example"
    msg["Subject"] = f"Re: Facture F-{n:05d}" if reply_to else f"Newsletter n° {n}"
    msg["Date"] = format_datetime(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    msg["Message-ID"] = f"<m{n}@bench.example>"
    if reply_to:
        msg["In-Reply-To"] = reply_to
    msg.set_content(("Bonjour, je paierai le 15 décembre.\n" if reply_to else "Nos offres du mois.\n") * 20)
    return msg.as_bytes(policy=SMTP)


def _append_all(server: object, messages: list[bytes]) -> None:
    """Deliver through one IMAP connection (APPEND each)."""
    conn = server.client()  # type: ignore[attr-defined]
    try:
        for raw in messages:
            conn.append("INBOX", "", None, raw)
    finally:
        conn.logout()


def main() -> None:
    from pydantic import SecretStr
    from sqlmodel import Session

    from dunning.penalties import builtin_rate_table
    from messages.imap import ImapSession, MailboxConfig
    from messages.render import default_renderer
    from services.context import BusinessContext, Clock
    from services.delivery import TemplateDrafter
    from services.eml import EmlDelivery
    from services.mailbox import MailboxWatcher
    from storage.db import make_engine
    from storage.models import Business, Client, Invoice, Outbox, Reminder, ReminderInvoice
    from tests.integration.imap_server import DovecotServer, dovecot_binary

    binary = dovecot_binary()
    if binary is None:
        print("skipped: dovecot is not installed (apt-get install dovecot-imapd)")
        return
    total = int(os.environ.get("BENCH_MAILBOX_MESSAGES", "10000"))
    n_replies = int(os.environ.get("BENCH_MAILBOX_REPLIES", "100"))
    root = Path(tempfile.mkdtemp(prefix="relance-bench-mailbox-"))
    os.chmod(root, 0o755)
    server = DovecotServer(root, binary=binary)
    server.start()
    try:
        engine = make_engine(f"sqlite:///{root / 'bench.db'}")
        with Session(engine) as session:
            business = Business(slug="bench", name="Atelier Dupont")
            session.add(business)
            session.flush()
            assert business.id is not None
            for i in range(n_replies):
                client = Client(business_id=business.id, name=f"Client {i}", emails=f"compta@client{i}.example")
                session.add(client)
                session.flush()
                invoice = Invoice(business_id=business.id, client_id=client.id, number=f"F-{i:05d}",
                                  issue_date=date(2026, 9, 1), due_date=date(2026, 10, 1), amount=100)  # fmt: skip
                reminder = Reminder(business_id=business.id, client_id=client.id, step="reminder_1",
                                    planned_date=date(2026, 11, 24), state="sent")  # fmt: skip
                session.add_all([invoice, reminder])
                session.flush()
                session.add(ReminderInvoice(reminder_id=reminder.id, invoice_id=invoice.id, step="reminder_1"))
                session.add(Outbox(business_id=business.id, reminder_id=reminder.id, state="sent",
                                   message_id=f"<r{i}@relance.example>", mail_from="f@x", recipients="c@x",
                                   subject="x", raw_message=b"x"))  # fmt: skip
            session.commit()
            business_id = business.id
        every = max(1, total // max(1, n_replies))
        messages = [
            _message(n, reply_to=f"<r{n // every}@relance.example>", sender=f"compta@client{n // every}.example")
            if n % every == 0 and n // every < n_replies
            else _message(n, reply_to=None, sender=f"promo{n}@shop.example")
            for n in range(total)
        ]
        start = time.perf_counter()
        _append_all(server, messages)
        print(f"delivered {total} messages in {time.perf_counter() - start:.1f} s (APPEND)")
        rates = builtin_rate_table()
        ctx = BusinessContext(
            engine=engine, business_id=business_id, owner_ids=frozenset(), clock=Clock(ZoneInfo("Europe/Paris"), TODAY),
            rate_table=rates, drafter=TemplateDrafter(default_renderer(), rate_table=rates),
            delivery=EmlDelivery(root / "outbox"), data_dir=str(root / "data"),
            mailbox=MailboxConfig(host="127.0.0.1", port=server.port, username=server.user,
                                  password=SecretStr(server.password), security="none"),
        )  # fmt: skip
        watcher = MailboxWatcher(ctx)
        with ImapSession(watcher.config) as imap:
            start = time.perf_counter()
            first = watcher.scan(imap)
            first_s = time.perf_counter() - start
        kept = sum(1 for r in first.results if r.status == "stored")
        print(f"first scan: {len(first.results)} messages read, {kept} kept, {first_s:.1f} s "
              f"(target < {TARGET_SECONDS:.0f} s) {'OK' if first_s < TARGET_SECONDS else 'SLOW'}")  # fmt: skip
        _append_all(server, [_message(total + n, reply_to=None, sender="x@shop.example") for n in range(10)])
        with ImapSession(watcher.config) as imap:
            start = time.perf_counter()
            later = watcher.scan(imap)
            later_s = time.perf_counter() - start
        print(f"later scan: {len(later.results)} messages read (10 new), {later_s:.2f} s")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {peak:.0f} MB (target < {TARGET_MB:.0f} MB) {'OK' if peak < TARGET_MB else 'HIGH'}")
        record(f"mailbox: first scan of {total:,} messages", first_s, "s", f"< {TARGET_SECONDS:g}")
        record("mailbox: later scan, messages read after 10 new", len(later.results), "messages", "== 10")
        record("mailbox: later scan", later_s, "s")
        record("mailbox: peak RSS", peak, "MB", f"< {TARGET_MB:g}")
        engine.dispose()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
