"""Four `relance run --worker` processes on one PostgreSQL database (issue 12 §3): B businesses with their own SMTP
account and R overdue invoices each. Every digest is claimed and delivered once (one digestrun per business, one card
per reminder in the card table and in the owners' chats), every approved e-mail reaches the SMTP server once (as
many distinct Message-IDs as reminders, nothing left queued, sending, unknown or failed), each worker takes its share,
no worker ever asks Telegram for updates, and a second receiving `relance run` on the database is refused with one
clear line while the first one receives.

The scenario lives in tests/e2e/workers_support.py (bench/bench_workers.py runs it at 1,000 × 10). Its size here:
RELANCE_WORKERS_E2E_BUSINESSES (default 50) × RELANCE_WORKERS_E2E_REMINDERS (default 10); Telegram's pacing inside
the workers is scaled up (workers_support.FAST_OVERALL, FAST_PER_CHAT) so the digests are not timed by it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import drop_postgres_database, new_postgres_database
from tests.e2e.conftest import _runnable
from tests.e2e.fakebot import DEFAULT_TOKEN
from tests.e2e.support import secrets_of
from tests.e2e.workers_support import Outcome, run_scenario, start

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

BUSINESSES = int(os.environ.get("RELANCE_WORKERS_E2E_BUSINESSES", "50"))
REMINDERS = int(os.environ.get("RELANCE_WORKERS_E2E_REMINDERS", "10"))
WORKERS = 4
REFUSED = "another Relance process already receives the chat's updates for this database"


def _receivers(outcome: Outcome, env: dict[str, str], account: Any, workdir: Path) -> dict[str, Any]:
    """With the workers still running: one receiving `relance run` starts and long-polls; a second one exits 1 at
    once with one clear line while the first one lives on; the first stops cleanly (SIGTERM: 0)."""
    first = start(env, workdir, "receiver-1", worker=False)
    try:
        deadline = time.monotonic() + 60
        while not account.is_polling:
            assert first.alive(), f"the receiving process exited:\n{first.log()[-3000:]}"
            assert time.monotonic() < deadline, f"the receiving process never polled:\n{first.log()[-3000:]}"
            time.sleep(0.05)
        second = start(env, workdir, "receiver-2", worker=False)
        code = second.popen.wait(60)
        seen = {"second_code": code, "second_log": second.log(), "first_alive": first.alive()}
        seen["still_polling"] = account.is_polling
        seen["workers_alive"] = all(w.alive() for w in outcome.workers)
    finally:
        seen_code = first.stop()
    return seen | {"first_code": seen_code, "first_log": first.log()}


def test_four_workers_claim_every_digest_and_email_once(tmp_path: Path) -> None:
    _runnable("bot.app")
    url, name = new_postgres_database()
    seen: dict[str, Any] = {}
    try:
        outcome = run_scenario(
            url,
            tmp_path,
            businesses=BUSINESSES,
            reminders=REMINDERS,
            workers=WORKERS,
            digest_timeout=120,
            mail_timeout=120,
            then=lambda o, env, account: seen.update(_receivers(o, env, account, tmp_path)),
            log=print,
        )
    finally:
        drop_postgres_database(name)
    expected = BUSINESSES * REMINDERS
    where = f"(logs in {tmp_path})"

    # Phase 1: one digest per business, delivered; each reminder's card once in the table and once in the chat.
    assert outcome.digest_runs == {b: 1 for b in outcome.digest_runs} and len(outcome.digest_runs) == BUSINESSES
    assert outcome.reminders == expected
    assert len(outcome.cards_table) == expected and set(outcome.cards_table.values()) == {1}, where
    assert outcome.cards_telegram == outcome.cards_table, where
    # No worker asked for updates or touched the webhook; the fake Bot API refused nothing.
    assert outcome.polls == 0 and outcome.webhook_calls == 0, where
    assert outcome.telegram_errors == []

    # Phase 2: every e-mail reached the SMTP server once, nothing is left in another state.
    assert outcome.queued == expected
    assert len(outcome.mails) == expected, where
    assert len({m.message_id for m in outcome.mails}) == expected
    assert {m.message_id for m in outcome.mails} == outcome.outbox_ids
    assert dict(outcome.outbox) == {"sent": expected}, outcome.outbox
    assert outcome.duplicates == 0 and outcome.missed == 0
    # Each business's e-mails left from its own address (relances@atelier-<n>), to its own clients (…@client<n>).
    for mail in outcome.mails:
        sender = int(mail.mail_from.removeprefix("relances@atelier-").removesuffix(".example"))
        assert [int(r.rpartition("@client")[2].removesuffix(".example")) for r in mail.rcpt_tos] == [sender], mail
    # Every claim names one of the four workers, and each of them sent some.
    assert outcome.foreign_claims == 0
    assert sum(outcome.mail_split) == expected and all(n > 0 for n in outcome.mail_split), outcome.mail_split
    assert sum(outcome.digest_split) == BUSINESSES, outcome.digest_split
    print(f"digests per worker {outcome.digest_split}, e-mails per worker {outcome.mail_split}")

    # One receiving process at a time: the second is refused (exit 1, one line), the first lives on and still polls.
    assert seen["second_code"] == 1, seen["second_log"][-3000:]
    assert REFUSED in seen["second_log"]
    assert "Traceback" not in seen["second_log"]
    assert seen["first_alive"] and seen["still_polling"] and seen["workers_alive"]
    assert seen["first_code"] == 0, seen["first_log"][-3000:]
    assert "Traceback" not in seen["first_log"]

    # Every worker stops cleanly; no log shows a traceback or the bot's token.
    assert outcome.exit_codes == [0] * WORKERS, where
    env_secrets = secrets_of({"TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN})
    for worker in outcome.workers:
        log = worker.log()
        assert "Traceback" not in log, f"{worker.log_path.name}:\n{log[-3000:]}"
        assert not any(secret in log for secret in env_secrets)
