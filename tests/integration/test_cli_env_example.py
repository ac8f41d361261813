"""`.env.example` documents every setting and is a valid `.env` as shipped."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_every_setting_is_listed() -> None:
    """Each Settings field appears in .env.example (set or commented) and nothing unknown does."""
    names = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    assert names == set(Settings.model_fields)


def test_example_loads_as_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A verbatim copy of .env.example as .env loads without error and holds no secret."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    shutil.copy(EXAMPLE, tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.SMTP_PASSWORD is None
    assert settings.DATABASE_URL == "sqlite:///data/relance.db"
