"""Settings: defaults, parsing, and clear errors that never echo secrets."""

from __future__ import annotations

from datetime import date, time

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """With nothing set, the documented defaults apply."""
    monkeypatch.chdir(str(tmp_path))
    s = load_settings()
    assert s.DATABASE_URL == "sqlite:///data/relance.db"
    assert s.TELEGRAM_API_URL == "https://api.telegram.org"
    assert s.TIMEZONE == "Europe/Paris" and s.digest_time == time(8, 30)
    assert s.bot_token is None and s.owner_ids == []


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """Owner ids, today's override and a bare postgresql URL are parsed."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("OWNER_CHAT_IDS", "12, 34")
    monkeypatch.setenv("RELANCE_TODAY", "2026-11-24")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/relance")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    s = load_settings()
    assert s.owner_ids == [12, 34]
    assert s.RELANCE_TODAY == date(2026, 11, 24)
    assert s.DATABASE_URL.startswith("postgresql+psycopg://")
    assert s.TELEGRAM_API_URL == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("DIGEST_TIME", "25:00", "DIGEST_TIME"),
        ("OWNER_CHAT_IDS", "alice", "OWNER_CHAT_IDS"),
        ("SMTP_SECURITY", "ssl3", "SMTP_SECURITY"),
        ("SMTP_PORT", "99999", "SMTP_PORT"),
        ("RELANCE_TODAY", "2026-02-31", "RELANCE_TODAY"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, name: str, value: str, expected: str
) -> None:
    """A bad value raises one SettingsError naming the variable, without echoing the value."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value)
    assert value not in str(info.value)


def test_secrets_are_hidden(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """The token and the SMTP password never appear in the settings' repr."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:SECRET-token-value")
    monkeypatch.setenv("SMTP_PASSWORD", "hunter2-password")
    s = load_settings()
    assert "SECRET-token-value" not in repr(s) and "hunter2-password" not in repr(s)
    assert s.bot_token == "123456:SECRET-token-value"


def test_empty_values_mean_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """An empty line such as `RELANCE_TODAY=` in .env leaves the setting at its default instead of failing."""
    from pathlib import Path

    monkeypatch.chdir(str(tmp_path))
    Path(str(tmp_path), ".env").write_text("RELANCE_TODAY=\nSMTP_PORT=\nTELEGRAM_BOT_TOKEN=\n", encoding="utf-8")
    s = load_settings()
    assert s.RELANCE_TODAY is None and s.SMTP_PORT == 587 and s.bot_token is None


def test_sending_window_and_weekdays(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """SEND_WINDOW and PREFERRED_WEEKDAYS are parsed; day names become weekday numbers (Monday is 0)."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv("SEND_WINDOW", "09:30 - 17:00")
    monkeypatch.setenv("PREFERRED_WEEKDAYS", "Mercredi, tue")
    s = load_settings()
    assert s.send_window == ("09:30", "17:00")
    assert s.PREFERRED_WEEKDAYS == "1,2"


@pytest.mark.parametrize(
    ("name", "value"),
    [("SEND_WINDOW", "18:00-08:00"), ("SEND_WINDOW", "8h-18h"), ("PREFERRED_WEEKDAYS", "samedi"),
     ("FORMAL_NOTICE_DAYS", "0")],
)  # fmt: skip
def test_bad_window_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: object, name: str, value: str) -> None:
    """A reversed window, a week-end day or a zero-day deadline is refused, naming the variable."""
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()
