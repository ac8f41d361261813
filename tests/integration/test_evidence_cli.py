"""`relance verify` and `relance evidence` from the command line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from bot.cli import app
from storage.db import write_session
from storage.evidence import record
from tests.integration.evidence_helpers import add_business

runner = CliRunner()


@pytest.fixture
def cli_env(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The CLI pointed at the test database, run from an empty folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("SMTP_PASSWORD", raising=False)
    return engine


def _append(engine: Engine, n: int, slug: str = "default") -> int:
    """Append `n` entries to the chain of business `slug` (created when missing); returns its id."""
    with engine.connect() as conn:
        found = conn.execute(text("SELECT id FROM business WHERE slug = :s"), {"s": slug}).scalar()
    business_id = int(found) if found is not None else add_business(engine, slug)
    with write_session(engine) as s:
        for i in range(n):
            record(s, business_id=business_id, actor="system", kind="card_action", payload={"i": i})
    return business_id


def _break(engine: Engine, business_id: int, chain_seq: int) -> None:
    """Change one entry the way an attacker with admin rights would: remove the protection first."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE evidence DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_update"))
        conn.execute(
            text("UPDATE evidence SET payload = :p WHERE business_id = :b AND chain_seq = :n"),
            {"p": '{"i":99}', "b": business_id, "n": chain_seq},
        )


def test_verify_ok_prints_count_and_head(cli_env: Engine) -> None:
    """An intact chain: exit 0, the number of entries and the head hash are printed."""
    _append(cli_env, 5)
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 5 entries" in result.output and "head hash" in result.output


def test_verify_names_first_bad_entry(cli_env: Engine) -> None:
    """A changed entry: exit 1 and the first bad sequence number is named."""
    _break(cli_env, _append(cli_env, 6), 4)
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1
    assert "first bad entry #4" in result.output


def test_verify_chooses_the_business_chain(cli_env: Engine) -> None:
    """Two businesses: verify asks which one, --business checks one chain, --all checks each and names the bad one."""
    alpha = _append(cli_env, 4, "alpha")
    _append(cli_env, 3, "beta")
    _append(cli_env, 2, "alpha")
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 2 and "--business" in result.output and "alpha, beta" in result.output
    result = runner.invoke(app, ["verify", "--business", "beta"])
    assert result.exit_code == 0, result.output
    assert "OK: 3 entries" in result.output
    result = runner.invoke(app, ["verify", "--business", "gamma"])
    assert result.exit_code == 2 and "gamma" in result.output
    _break(cli_env, alpha, 2)
    result = runner.invoke(app, ["verify", "--all"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("alpha: FAILED: first bad entry #2") for line in lines)
    assert any(line.startswith("beta: OK: 3 entries") for line in lines)
    result = runner.invoke(app, ["verify", "--all", "--json"])
    assert result.exit_code == 1
    assert [(r["business"], r["ok"]) for r in json.loads(result.output)] == [("alpha", False), ("beta", True)]
    assert runner.invoke(app, ["verify", "--all", "--business", "beta"]).exit_code == 2


def test_evidence_command_writes_zip(cli_env: Engine, tmp_path: Path) -> None:
    """`relance evidence NUMBER --out file.zip` writes the ZIP; an unknown number exits 1."""
    from tests.integration.delivery_helpers import queue, seed_reminder

    # The CLI uses the install's business (slug "default"): the seeded business is made that one.
    business_id, rid, _ = seed_reminder(cli_env, number="F-2026-042")
    with cli_env.begin() as conn:
        conn.execute(text("UPDATE business SET slug = 'default' WHERE id = :b"), {"b": business_id})
    result = runner.invoke(app, ["evidence", "F-404", "--out", str(tmp_path / "none.zip")])
    assert result.exit_code == 1
    queue(cli_env, rid)
    out = tmp_path / "dossier.zip"
    result = runner.invoke(app, ["evidence", "F-2026-042", "--out", str(out), "--today", "2026-04-15"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert "resume.pdf" in zf.namelist() and "chaine/verify.py" in zf.namelist()
