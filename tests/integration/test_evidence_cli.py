"""`relance verify` and `relance evidence` from the command line."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from bot.cli import app
from storage.db import write_session
from storage.evidence import record

runner = CliRunner()


@pytest.fixture
def cli_env(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The CLI pointed at the test database, run from an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    return engine


def _append(engine: Engine, n: int) -> None:
    with write_session(engine) as s:
        for i in range(n):
            record(s, actor="system", kind="card_action", payload={"i": i})


def test_verify_ok_prints_count_and_head(cli_env: Engine) -> None:
    """An intact chain: exit 0, the number of entries and the head hash are printed."""
    _append(cli_env, 5)
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 5 entries" in result.output and "head hash" in result.output


def test_verify_names_first_bad_entry(cli_env: Engine) -> None:
    """A changed entry: exit 1 and the first bad sequence number is named."""
    _append(cli_env, 6)
    with cli_env.begin() as conn:  # an attacker with admin rights removes the protection first
        if cli_env.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE evidence DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER evidence_no_update"))
        conn.execute(text("UPDATE evidence SET payload = :p WHERE seq = 4"), {"p": '{"i":99}'})
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1
    assert "first bad entry #4" in result.output


def test_evidence_command_writes_zip(cli_env: Engine, tmp_path: Path) -> None:
    """`relance evidence NUMBER --out file.zip` writes the ZIP; an unknown number exits 1."""
    from tests.integration.delivery_helpers import queue, seed_reminder

    # The CLI uses the install's business (from the settings): give the invoice to it.
    result = runner.invoke(app, ["evidence", "F-404", "--out", str(tmp_path / "none.zip")])
    assert result.exit_code == 1
    with cli_env.begin() as conn:
        business_id = conn.execute(text("SELECT id FROM business ORDER BY id LIMIT 1")).scalar_one()
    _, rid, _ = seed_reminder(cli_env, number="F-2026-042")
    with cli_env.begin() as conn:
        conn.execute(text("UPDATE invoice SET business_id = :b WHERE number = 'F-2026-042'"), {"b": business_id})
    queue(cli_env, rid)
    out = tmp_path / "dossier.zip"
    result = runner.invoke(app, ["evidence", "F-2026-042", "--out", str(out), "--today", "2026-04-15"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert "resume.pdf" in zf.namelist() and "chaine/verify.py" in zf.namelist()
