"""Reading never rewrites the configuration: only `relance run` and `relance config apply` bring the business in
line with the settings, each changed field is a `settings_changed` entry, and a choice made in the chat stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.business import apply_settings, find_business
from bot.cli import app
from bot.settings import Settings
from storage.businesses import update_business
from storage.db import make_engine, read_session, write_session
from storage.models import Business, EvidenceEntry

runner = CliRunner()
TODAY = "2026-11-24"
LADDER = """min_interval_days = 7
[[steps]]
name = "rappel_doux"
offset_days = 5
tone = "friendly"
channel = "email"
[[steps]]
name = "formal_notice"
offset_days = 30
tone = "formal"
channel = "registered_letter"
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with a `.env` naming the company, and an environment with only the database set."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{tmp_path / 'relance.db'}\n"
        f"DATA_DIR={tmp_path / 'data'}\n"
        "COMPANY_NAME=Atelier Dupont SARL\n"
        "COMPANY_IBAN=FR7630006000011234567890189\n"
        "COMPANY_BIC=AGRIFRPP\n"
        "OWNER_CHAT_IDS=111\n"
        "DIGEST_TIME=08:30\n",
        encoding="utf-8",
    )
    yield tmp_path


def _business(root: Path) -> Business:
    engine = make_engine(f"sqlite:///{root / 'relance.db'}")
    try:
        with read_session(engine) as session:
            # The stored row itself (every column), not the repository's view of it.
            return session.exec(select(Business).where(Business.slug == "default")).one()
    finally:
        engine.dispose()


def _settings_entries(root: Path) -> list[dict[str, Any]]:
    engine = make_engine(f"sqlite:///{root / 'relance.db'}")
    try:
        with read_session(engine) as session:
            rows = session.exec(
                select(EvidenceEntry).where(EvidenceEntry.kind == "settings_changed").order_by(col(EvidenceEntry.seq))
            ).all()
            return [json.loads(r.payload) for r in rows]
    finally:
        engine.dispose()


def _row(business: Business) -> dict[str, Any]:
    return {k: v for k, v in business.model_dump().items() if k not in ("created_at",)}


def test_reading_commands_without_the_env_file_change_nothing(workdir: Path) -> None:
    """After `config apply`, status/digest --json/verify/evidence run without `.env` leave the business row as is."""
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    before = _row(_business(workdir))
    assert before["name"] == "Atelier Dupont SARL" and before["iban"] and before["owner_chat_ids"] == "111"
    entries = len(_settings_entries(workdir))
    (workdir / ".env").rename(workdir / "env.saved")
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'relance.db'}", "DATA_DIR": str(workdir / "data")}
    for args in (["status", "--json"], ["status"], ["digest", "--json"], ["verify"], ["preview", "F-404"]):
        result = runner.invoke(app, [*args, "--today", TODAY] if args[0] in ("status", "digest") else args, env=env)
        assert result.exit_code in (0, 1), (args, result.output)
    assert _row(_business(workdir)) == before
    assert len(_settings_entries(workdir)) == entries


def test_config_apply_logs_each_changed_field_with_old_and_new_values(workdir: Path) -> None:
    """`config apply` after editing `.env` changes the named fields only, one `settings_changed` entry each."""
    first = runner.invoke(app, ["config", "apply"])
    assert first.exit_code == 0 and "business 'default' created from the settings" in first.stdout
    text = (workdir / ".env").read_text(encoding="utf-8").replace("Atelier Dupont SARL", "Atelier Dupont & Fils")
    (workdir / ".env").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["config", "apply"])
    assert result.exit_code == 0 and "1 field(s) changed: name" in result.stdout
    changes = [e for e in _settings_entries(workdir) if e.get("field")]
    assert changes == [{"field": "name", "old": "Atelier Dupont SARL", "new": "Atelier Dupont & Fils",
                        "source": "settings"}]  # fmt: skip
    again = runner.invoke(app, ["config", "apply"])
    assert "nothing to change" in again.stdout


def test_a_digest_time_chosen_in_the_chat_survives_until_the_setting_changes(workdir: Path) -> None:
    """A /parametres digest time stays through `config apply` with the same DIGEST_TIME; a new value replaces it."""
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    engine = make_engine(f"sqlite:///{workdir / 'relance.db'}")
    try:
        with write_session(engine) as session:
            business = find_business(session)
            assert business is not None
            update_business(session, business_id=business.id, digest_time="07:15")  # what /parametres heure 07:15 does
        assert runner.invoke(app, ["config", "apply"]).exit_code == 0
        assert _business(workdir).digest_time == "07:15"
        text = (workdir / ".env").read_text(encoding="utf-8").replace("DIGEST_TIME=08:30", "DIGEST_TIME=09:00")
        (workdir / ".env").write_text(text, encoding="utf-8")
        assert runner.invoke(app, ["config", "apply"]).exit_code == 0
        assert _business(workdir).digest_time == "09:00"
    finally:
        engine.dispose()


def test_removing_ladder_file_restores_the_default_ladder(workdir: Path) -> None:
    """LADDER_FILE set then removed: the business gets the custom ladder, then the built-in one again."""
    (workdir / "ladder.toml").write_text(LADDER, encoding="utf-8")
    with (workdir / ".env").open("a", encoding="utf-8") as f:
        f.write("LADDER_FILE=ladder.toml\n")
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    assert "rappel_doux" in (_business(workdir).ladder_toml or "")
    text = (workdir / ".env").read_text(encoding="utf-8").replace("LADDER_FILE=ladder.toml\n", "")
    (workdir / ".env").write_text(text, encoding="utf-8")
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    assert _business(workdir).ladder_toml is None
    ladder_changes = [e for e in _settings_entries(workdir) if e.get("field") == "ladder_toml"]
    assert [(e["old"], e["new"]) for e in ladder_changes] == [("custom", "built-in")]


def test_a_bad_ladder_file_is_refused_and_keeps_the_business(workdir: Path) -> None:
    """A broken LADDER_FILE makes `config apply` exit 2 naming it, and nothing of the business changes."""
    assert runner.invoke(app, ["config", "apply"]).exit_code == 0
    before = _row(_business(workdir))
    (workdir / "ladder.toml").write_text("[[steps]]\nname = 3\n", encoding="utf-8")
    with (workdir / ".env").open("a", encoding="utf-8") as f:
        f.write("LADDER_FILE=ladder.toml\nCOMPANY_PHONE=04 78 00 00 00\n")
    result = runner.invoke(app, ["config", "apply"])
    assert result.exit_code == 2 and "LADDER_FILE" in result.output
    assert _row(_business(workdir)) == before


def test_apply_settings_is_the_only_writer(tmp_path: Path) -> None:
    """On an existing business, apply_settings with unchanged settings writes nothing (no entry, same row)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    settings = Settings(_env_file=None, COMPANY_NAME="Atelier", OWNER_CHAT_IDS="1")  # type: ignore[call-arg]
    try:
        with write_session(engine) as session:
            business, created = apply_settings(session, settings, actor="test")
            assert "name" in created
        with write_session(engine) as session:
            business, changed = apply_settings(session, settings, actor="test")
            assert changed == [] and business.name == "Atelier"
    finally:
        engine.dispose()
