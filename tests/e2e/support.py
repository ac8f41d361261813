"""Helpers for the end-to-end tests: the bot's environment, the invoices CSV, reading amounts and digests off the chat,
reading the DB."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.fakebot import FakeBotAccount, StoredMessage
from tests.e2e.fakeslack import FakeSlack

OWNER = 111
STRANGER = 999
SLACK_OWNER = "U0OWNER"
SLACK_STRANGER = "U0STRANGER"
TODAY = date(2026, 11, 24)  # a Tuesday, a business day in France
PRIVATE = "Ce bot est privé."

REPO = Path(__file__).resolve().parents[2]
RELANCE = REPO / ".venv" / "bin" / "relance"
# Variables of the developer's shell that must not leak into the bot under test.
_SCRUBBED_PREFIXES = (
    "TELEGRAM_", "SLACK_", "SMTP_", "MAIL_", "COMPANY_", "RELANCE_", "OWNER_", "LADDER_", "TEMPLATES_",
)  # fmt: skip
_SCRUBBED = {"DATABASE_URL", "TIMEZONE", "DIGEST_TIME", "DATA_DIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


def unavailable(reason: str) -> None:
    """Skip (with the reason printed by -ra), or fail when CI requires the end-to-end tests (RELANCE_REQUIRE_E2E=1)."""
    if os.environ.get("RELANCE_REQUIRE_E2E") == "1":
        pytest.fail(f"end-to-end tests are required (RELANCE_REQUIRE_E2E=1) but cannot run: {reason}")
    pytest.skip(f"end-to-end tests skipped: {reason}")


def terminate(popen: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM, then wait; the exit code, or -9 when the process had to be killed after `timeout`."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(timeout)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
            return -9
    return int(popen.returncode)


def base_environment(workdir: Path, *, smtp_port: int | None) -> dict[str, str]:
    """The environment of `relance` for a test, without any chat: a SQLite file in `workdir`, no real network."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(
        {
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "DATABASE_URL": f"sqlite:///{workdir / 'relance.db'}",
            "DATA_DIR": str(workdir / "data"),
            "TIMEZONE": "Europe/Paris",
            "DIGEST_TIME": "08:30",
            "RELANCE_TODAY": TODAY.isoformat(),
            "MAIL_FROM": "Atelier Durand <relances@atelier-durand.example>",
            "COMPANY_NAME": "Atelier Durand",
            "COMPANY_ADDRESS": "12 rue des Lilas, 69003 Lyon",
            "COMPANY_PHONE": "04 72 00 00 00",
            "COMPANY_IBAN": "FR7630006000011234567890189",
            "COMPANY_BIC": "AGRIFRPP",
        }
    )
    if smtp_port is not None:
        env.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none"})
    return env


def bot_environment(workdir: Path, *, api_url: str, token: str, smtp_port: int | None) -> dict[str, str]:
    """The environment of `relance run` / `relance import` for a test with Telegram (the fake Bot API server)."""
    env = base_environment(workdir, smtp_port=smtp_port)
    env.update({"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": api_url, "OWNER_CHAT_IDS": str(OWNER)})
    return env


def slack_environment(slack: FakeSlack, *, http_port: int | None = None) -> dict[str, str]:
    """The SLACK_* settings for the Slack emulator: Socket Mode, or HTTP mode on 127.0.0.1:`http_port`."""
    env = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_SIGNING_SECRET": slack.signing_secret,
        "SLACK_API_URL": slack.api_url,
        "SLACK_OWNER_IDS": SLACK_OWNER,
    }
    if http_port is not None:
        env.update({"SLACK_HTTP_HOST": "127.0.0.1", "SLACK_HTTP_PORT": str(http_port)})
    return env


#: The settings whose values must never appear in the bot's log.
SECRET_SETTINGS = ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "WEBHOOK_SECRET")

#: Webhook mode (`relance run --webhook`): the secret Telegram sends back, and the path of the webhook URL.
WEBHOOK_SECRET = "e2e-webhook_Secret-3f9a1c7b2d"
WEBHOOK_PATH = "/telegram/hook"


def secrets_of(env: dict[str, str]) -> list[str]:
    """The secret values of an environment: the Slack tokens and signing secret, the Telegram token's secret half
    (its first half is the bot's public id)."""
    return [env[key].split(":", 1)[-1] for key in SECRET_SETTINGS if env.get(key)]


# (number, client, e-mail, issued, due, amount, paid): overdue, partly paid, not yet due, fully paid.
INVOICES = [
    ("F-2026-101", "Boulangerie Martin", "compta@martin.example", date(2026, 10, 1), date(2026, 11, 14), "1234.56", ""),
    ("F-2026-102", "Garage Dupont", "contact@dupont.example", date(2026, 9, 1), date(2026, 10, 20), "980.10", ""),
    ("F-2026-103", "Boulangerie Martin", "compta@martin.example", date(2026, 11, 2), date(2026, 12, 15), "500.00", ""),
    ("F-2026-104", "Cabinet Leroy", "leroy@cabinet-leroy.example", date(2026, 10, 5), date(2026, 11, 10), "2000.00",
     "750.25"),
    ("F-2026-105", "Fleurs Bernard", "bernard@fleurs.example", date(2026, 9, 15), date(2026, 10, 15), "300.00",
     "300.00"),
]  # fmt: skip


#: One row of INVOICES.
InvoiceRow = tuple[str, str, str, date, date, str, str]


def invoices_csv(invoices: list[InvoiceRow] = INVOICES) -> bytes:
    """Invoices (those above by default) as the canonical CSV (French dates and decimal commas, `;` separated)."""
    lines = ["invoice_number;client_name;client_email;issue_date;due_date;amount;paid_amount"]
    for number, client, email, issued, due, amount, paid in invoices:
        fields = [number, client, email, issued.strftime("%d/%m/%Y"), due.strftime("%d/%m/%Y")]
        fields += [amount.replace(".", ","), paid.replace(".", ",")]
        lines.append(";".join(fields))
    return ("\n".join(lines) + "\n").encode("utf-8")


def expected_totals(invoices: list[InvoiceRow] = INVOICES) -> tuple[Decimal, Decimal, int, int]:
    """(open total, overdue total, open count, overdue count) computed from the invoices (INVOICES) alone."""
    open_total = overdue_total = Decimal("0.00")
    open_count = overdue_count = 0
    for _, _, _, _, due, amount, paid in invoices:
        balance = Decimal(amount) - Decimal(paid or "0")
        if balance <= 0:
            continue
        open_total += balance
        open_count += 1
        if due < TODAY:
            overdue_total += balance
            overdue_count += 1
    return open_total, overdue_total, open_count, overdue_count


_AMOUNT = r"(-?\d[\d\s\u00a0\u202f.,]*)\s*€"


def euros(text: str) -> Decimal:
    """A French-formatted amount ("3 964,41 €") as a Decimal."""
    digits = re.sub(r"[\s\u00a0\u202f€]", "", text).replace(".", "").replace(",", ".")
    return Decimal(digits)


def amount_after(label: str, text: str) -> Decimal:
    """The first amount following `label` in `text` (e.g. "Encours : 3 964,41 €")."""
    match = re.search(re.escape(label) + r"\s*:?\s*" + _AMOUNT, text)
    if match is None:
        raise AssertionError(f"no amount after {label!r} in {text!r}")
    return euros(match.group(1))


def status_figures(dashboard: str) -> tuple[Decimal, Decimal, int, int]:
    """(open total, overdue total, open count, overdue count) as the /status dashboard shows them, as
    expected_totals() gives them."""
    counts = re.findall(r"\((\d+) facture\(s\)\)", dashboard)
    assert len(counts) >= 2, dashboard
    return amount_after("Encours", dashboard), amount_after("En retard", dashboard), int(counts[0]), int(counts[1])


@dataclass
class Digest:
    """A digest as shown in the chat: its header and its cards."""

    header: StoredMessage
    cards: list[StoredMessage]

    def card_for(self, invoice_number: str) -> StoredMessage:
        """The card listing an invoice."""
        for card in self.cards:
            if invoice_number in card.shown:
                return card
        raise AssertionError(f"no card for {invoice_number}: {[c.shown[:80] for c in self.cards]}")


_HEADER = re.compile(r"(\d+) relance\(s\) attendent|Rien à relancer")


def find_digest(tg: FakeBotAccount, chat_id: int, after_message_id: int) -> Digest | None:
    """The first complete digest the bot sent after a message id, or None while it is incomplete."""
    messages = [m for m in tg.bot_messages(chat_id) if m.message_id > after_message_id]
    for i, message in enumerate(messages):
        match = _HEADER.search(message.shown)
        if match is None:
            continue
        count = int(match.group(1)) if match.group(1) else 0
        cards = [m for m in messages[i + 1 : i + 1 + count] if m.buttons]
        return Digest(message, cards) if len(cards) == count else None
    return None


async def wait_digest(tg: FakeBotAccount, chat_id: int, after_message_id: int, timeout: float = 15.0) -> Digest:
    """Wait for a complete digest after a message id."""
    return await tg.wait_for(
        lambda: find_digest(tg, chat_id, after_message_id), timeout=timeout, what="a complete digest"
    )


async def next_reply(tg: FakeBotAccount, after_message_id: int, chat_id: int = OWNER) -> StoredMessage:
    """Wait for the first bot message after a message id."""
    return await tg.wait_for(
        lambda: next((m for m in tg.bot_messages(chat_id) if m.message_id > after_message_id), None),
        what=f"a bot message after #{after_message_id}",
    )


def last_message_id(tg: FakeBotAccount, chat_id: int) -> int:
    """The id of the last message in a chat (0 when empty)."""
    history = tg.history(chat_id, include_deleted=True)
    return history[-1].message_id if history else 0


def reminder_id_of(card: StoredMessage) -> int:
    """The reminder id carried by a card's buttons (r1:<action>:<id>:<version>)."""
    for row in card.buttons:
        for button in row:
            if button.callback_data and button.callback_data.startswith("r1:"):
                return int(button.callback_data.split(":")[2])
    raise AssertionError(f"card {card.message_id} has no r1 button")


def reminder_row(db_path: Path, reminder_id: int) -> dict[str, object]:
    """The reminder's row, read straight from the SQLite file."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM reminder WHERE id = ?", (reminder_id,)).fetchone()
    assert row is not None, f"no reminder {reminder_id}"
    return dict(row)


# --- helpers for the card-action tests (tests/e2e/test_card_actions.py) -----------------------------------------


def invoice_row(db_path: Path, number: str) -> dict[str, object]:
    """An invoice's row by its number, read straight from the SQLite file (money columns are integer cents)."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM invoice WHERE number = ?", (number,)).fetchone()
    assert row is not None, f"no invoice {number}"
    return dict(row)


def cents(value: object) -> Decimal:
    """A Money column as read by sqlite3 (integer cents) as a Decimal amount in euros."""
    assert isinstance(value, int), f"money columns hold integer cents, got {value!r}"
    return Decimal(value) / 100


def evidence_rows(db_path: Path) -> list[dict[str, object]]:
    """The evidence log in sequence order, read straight from the SQLite file."""
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM evidence ORDER BY seq").fetchall()
    return [dict(r) for r in rows]


def table_count(db_path: Path, table: str) -> int:
    """How many rows a table holds."""
    with sqlite3.connect(db_path) as conn:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # the table name comes from the test itself
    return int(count)


async def reply_with(tg: FakeBotAccount, after_message_id: int, text: str, chat_id: int = OWNER) -> StoredMessage:
    """Wait for the first bot message after a message id that shows `text`."""
    return await tg.wait_for(
        lambda: next(
            (m for m in tg.bot_messages(chat_id) if m.message_id > after_message_id and text in m.shown), None
        ),
        what=f"a bot message showing {text!r} after #{after_message_id}",
    )
