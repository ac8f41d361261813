"""The `relance` command line: exit codes, --json schemas, --today / RELANCE_TODAY, settings errors, the demo run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from storage.db import make_engine
from storage.models import Invoice

CSV = (
    "invoice_number;client_name;client_email;issue_date;due_date;amount;client_profile\n"
    "F-001;Boulangerie Martin SARL;compta@martin.example.fr;15/09/2026;14/11/2026;1 234,56;standard\n"
    "F-002;Boulangerie Martin SARL;;01/10/2026;12/11/2026;99,90;\n"
    "F-003;Garage Dupont SAS;dupont@example.com;2026-10-01;2026-10-25;2.500,00;\n"
    "F-004;Studio Nord SAS;nord@example.com;2026-11-01;2026-12-31;300;\n"
)
TODAY = "2026-11-24"


@pytest.fixture
def cli_env(cli_workdir: Path) -> Iterator[Path]:
    """A clean working directory (no .env) and environment: only the database URL points into it."""
    (cli_workdir / "factures.csv").write_text(CSV, encoding="utf-8")
    yield cli_workdir


runner = CliRunner()


def _invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env)


def test_import_then_reimport(cli_env: Path) -> None:
    """Import exits 0 with the counts; importing the same file again reports nothing created or updated."""
    first = _invoke("import", "factures.csv", "--today", TODAY)
    assert first.exit_code == 0, first.output
    assert "4 facture(s) créée(s)" in first.stdout
    again = _invoke("import", "factures.csv", "--today", TODAY)
    assert again.exit_code == 0
    assert "0 facture(s) créée(s), 0 mise(s) à jour, 4 inchangée(s)" in again.stdout


def test_import_errors_exit_1_with_line_and_column(cli_env: Path) -> None:
    """A bad file exits 1, lists each error with its line, column and reason on stderr, and imports nothing."""
    bad = CSV + "F-005;X;pas-un-email;31/02/2026;01/03/2026;-5;vip\n"
    (cli_env / "bad.csv").write_text(bad, encoding="utf-8")
    result = _invoke("import", "bad.csv")
    assert result.exit_code == 1
    for needle in ("client_email", "issue_date", "amount", "client_profile", "negative"):
        assert needle in result.stderr
    assert "6" in result.stderr  # the line number
    digest = _invoke("digest", "--json", "--today", TODAY)
    assert json.loads(digest.stdout) == []


def test_import_dry_run_writes_nothing(cli_env: Path) -> None:
    """--dry-run prints the counts and says nothing was saved; the database has no invoice."""
    result = _invoke("import", "factures.csv", "--dry-run")
    assert result.exit_code == 0
    assert "4 facture(s) créée(s)" in result.stdout and "--dry-run" in result.stdout
    engine = make_engine(f"sqlite:///{cli_env / 'relance.db'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Invoice)).scalar_one() == 0
    engine.dispose()


def test_import_missing_file_exits_1(cli_env: Path) -> None:
    """A file that does not exist is a refused input (exit 1), not a crash."""
    result = _invoke("import", "absent.csv")
    assert result.exit_code == 1
    assert "cannot read" in result.stderr


def test_digest_json_schema(cli_env: Path) -> None:
    """digest --json lists one object per client with step, total and invoices (amounts as strings, ISO dates)."""
    assert _invoke("import", "factures.csv").exit_code == 0
    result = _invoke("digest", "--json", "--today", TODAY)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_client = {item["client"]: item for item in data}
    assert set(by_client) == {"Boulangerie Martin SARL", "Garage Dupont SAS"}
    martin = by_client["Boulangerie Martin SARL"]
    assert martin["step"] == "reminder_1"
    assert isinstance(martin["reminder_id"], int)
    assert martin["total"] == "1334.46"
    assert martin["invoices"][0] == {
        "number": "F-002",
        "amount": "99.90",
        "balance": "99.90",
        "issue_date": "2026-10-01",
        "due_date": "2026-11-12",
        "days_overdue": 12,
        "step": "reminder_1",
    }
    assert [i["number"] for i in martin["invoices"]] == ["F-002", "F-001"]
    assert by_client["Garage Dupont SAS"]["invoices"][0]["amount"] == "2500.00"


def test_digest_table_uses_french_formats(cli_env: Path) -> None:
    """The digest table shows amounts as "1 234,56 €" and dates as "14 novembre 2026"."""
    _invoke("import", "factures.csv")
    result = _invoke("digest", "--today", TODAY, env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "1\u00a0234,56\u00a0€" in result.stdout
    assert "14 novembre 2026" in result.stdout
    assert "Relance 1" in result.stdout


def test_status_json_schema(cli_env: Path) -> None:
    """status --json has the totals as strings, the four aging buckets, top debtors, upcoming and recovered."""
    _invoke("import", "factures.csv")
    result = _invoke("status", "--json", "--today", TODAY)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["open_total"] == "4134.46"
    assert data["overdue_total"] == "3834.46"
    assert list(data["aging"]) == ["0-30", "31-60", "61-90", ">90"]
    assert data["aging"]["0-30"] == {"count": 3, "amount": "3834.46"}
    assert data["top_debtors"][0] == {
        "client": "Garage Dupont SAS",
        "amount": "2500.00",
        "invoices": 1,
        "oldest_days_overdue": 30,
    }
    assert data["recovered_this_month"] == "0.00"
    assert isinstance(data["upcoming"], list) and isinstance(data["next_actions"], list)
    table = _invoke("status", "--today", TODAY, env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "4\u00a0134,46\u00a0€" in table.stdout


def test_relance_today_setting_is_the_default_day(cli_env: Path) -> None:
    """Without --today, RELANCE_TODAY decides the day; --today wins over it."""
    _invoke("import", "factures.csv")
    from_setting = _invoke("status", "--json", env={"RELANCE_TODAY": TODAY})
    assert json.loads(from_setting.stdout)["today"] == TODAY
    overridden = _invoke("status", "--json", "--today", "2026-12-01", env={"RELANCE_TODAY": TODAY})
    assert json.loads(overridden.stdout)["today"] == "2026-12-01"


def test_bad_today_option_exits_2(cli_env: Path) -> None:
    """A --today that is not YYYY-MM-DD is a usage error (exit 2)."""
    result = _invoke("digest", "--today", "24/11/2026")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("TIMEZONE", "Mars/Olympus"), ("DIGEST_TIME", "25:99"), ("RELANCE_TODAY", "demain"), ("SMTP_PORT", "0")],
)
def test_bad_setting_exits_2_naming_it(cli_env: Path, name: str, value: str) -> None:
    """A bad setting stops every command with exit 2 and one line naming the variable, never a traceback."""
    for command in (["digest"], ["status", "--json"], ["run"]):
        result = _invoke(*command, env={name: value})
        assert result.exit_code == 2, (command, result.output)
        assert name in result.stderr
        assert "Traceback" not in result.output + result.stderr
        assert value not in result.stderr  # values are never echoed (they could be secrets)


def test_bad_setting_through_the_console_script(cli_env: Path) -> None:
    """The installed entry point (bot.cli:main) also exits 2 with one stderr line and no traceback."""
    env = {**os.environ, "TIMEZONE": "Nowhere/Land"}
    proc = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "status"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cli_env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "TIMEZONE" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_without_token_fills_the_demo_once(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` with no token and no explicit DATABASE_URL fills DATA_DIR/demo.db once and shows digest, status, help."""
    monkeypatch.delenv("DATABASE_URL")
    result = _invoke("run", "--today", TODAY, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for needle in (
        "Pré-relance",
        "Relance 1",
        "Relance 2",
        "Mise en demeure",
        "BotFather",
        "TELEGRAM_BOT_TOKEN",
        "slack-manifest.yaml",
        "SLACK_BOT_TOKEN",
    ):
        assert needle in result.stdout
    demo = cli_env / "data" / "demo.db"
    assert demo.is_file()
    assert not (cli_env / "data" / "relance.db").exists()
    engine = make_engine(f"sqlite:///{demo}")
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Invoice)).scalar_one()
    assert _invoke("run", "--today", TODAY).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Invoice)).scalar_one() == count
    engine.dispose()


def test_run_with_explicit_database_uses_it_without_demo(cli_env: Path) -> None:
    """An explicit DATABASE_URL is used as is by `run` and never filled with demo data."""
    _invoke("import", "factures.csv")
    result = _invoke("run", "--today", TODAY, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Garage Dupont SAS" in result.stdout
    assert "Hôtel des Tilleuls" not in result.stdout
    assert not (cli_env / "data" / "demo.db").exists()


def test_preview_rejects_bad_options(cli_env: Path) -> None:
    """preview refuses an unknown --format or --lang with exit 2 before touching the database."""
    assert _invoke("preview", "F-001", "--format", "fax").exit_code == 2
    assert _invoke("preview", "F-001", "--lang", "de").exit_code == 2


def test_preview_text_letter_and_errors(cli_env: Path) -> None:
    """preview prints the subject and body naming the invoice, writes the letter PDF, refuses unknown input."""
    _invoke("import", "factures.csv")
    text = _invoke("preview", "F-003", "--today", TODAY)
    assert text.exit_code == 0, text.output
    assert "F-003" in text.stdout and "2\u00a0500,00\u00a0€" in text.stdout
    pdf = cli_env / "lettre.pdf"
    letter = _invoke("preview", "F-003", "--format", "letter", "--step", "formal_notice", "--out", str(pdf))
    assert letter.exit_code == 0, letter.output
    assert pdf.read_bytes().startswith(b"%PDF")
    assert _invoke("preview", "F-999", "--today", TODAY).exit_code == 1
    unknown_step = _invoke("preview", "F-003", "--step", "reminder_9")
    assert unknown_step.exit_code == 2 and "--step" in unknown_step.stderr


def test_a_worker_needs_a_chat_token_and_receives_nothing(cli_env: Path) -> None:
    """`relance run --worker` without a chat token, or with a way of receiving (--webhook, --slack-http), is refused
    with one line and exit 2 (the terminal demo is not started)."""
    alone = _invoke("run", "--worker")
    assert alone.exit_code == 2 and "--worker needs the chat's token" in alone.output
    hooked = _invoke("run", "--worker", "--webhook", "https://relance.example/hook")
    assert hooked.exit_code == 2 and "--worker receives no update" in hooked.output
    assert "demo" not in alone.output.lower()
