"""RATES_FILE as a setting: read from `.env` too, passed to the drafts, and a bad file stops start-up (exit 2)."""

from __future__ import annotations

import io
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.business import apply_settings, load_rates
from bot.presenter import Presenter
from bot.runtime import open_services, run
from bot.settings import Settings, SettingsError, load_settings
from bot.terminal import run_terminal
from storage.db import read_session, write_session
from storage.reminders import reminder_view
from tests.bot_harness import RecordingDelivery, bot_settings, make_services
from tests.factories import make_client, make_invoice, make_reminder

TODAY = date(2026, 11, 24)  # 2026-H2: not in the shipped table
GOOD = '[ecb]\n"2026-H2" = 2.15\n'
PENALTY_LINE = "À ce jour, les pénalités s'élèvent à"


def _reminder_2(engine: Engine, settings: Settings) -> int:
    """A reminder_2 for a 10 000,00 € invoice due 01/10/2026, in the install's business."""
    with write_session(engine) as s:
        business = apply_settings(s, settings, actor="test")[0]
        client = make_client(s, business, name="Bâti Sud SAS")
        inv = make_invoice(s, client, due=date(2026, 10, 1), amount="10000.00", number="F-2026-100")
        reminder = make_reminder(s, client, [inv], step="reminder_2", planned_date=TODAY)
        assert reminder.id is not None
        return reminder.id


def _draft_text(services: Presenter, reminder_id: int) -> str:
    with read_session(services.engine) as s:
        view = reminder_view(s, reminder_id, TODAY)
        assert view is not None
        return services.drafter.draft(s, view, today=TODAY).text


def test_rates_file_written_in_dotenv_reaches_the_drafts(
    engine: Engine, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RATES_FILE only in .env (not exported): the bot's drafts compute November 2026 penalties with it."""
    monkeypatch.delenv("RATES_FILE", raising=False)
    (tmp_path / "taux.toml").write_text(GOOD, encoding="utf-8")
    (tmp_path / ".env").write_text("RATES_FILE=taux.toml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(DATABASE_URL=sqlite_url, RELANCE_TODAY=TODAY, COMPANY_IBAN="", COMPANY_BIC="")
    assert settings.RATES_FILE == Path("taux.toml")
    services = make_services(engine, settings, RecordingDelivery())
    text = _draft_text(services, _reminder_2(engine, settings))
    # 10 000,00 € x 12,15 % x 54 days / 365 = 179,75 €
    assert PENALTY_LINE in text and "179,75\u00a0€" in text
    assert services.rate_table.ecb_rate("2026-H2") == Decimal("2.15")


def test_without_rates_file_2026_h2_is_stated_without_a_figure(engine: Engine, sqlite_url: str, tmp_path: Path) -> None:
    """No RATES_FILE: the reminder states the rule (ECB + 10 points) but no penalty amount for 2026-H2."""
    settings = bot_settings(sqlite_url, tmp_path, TODAY)
    services = make_services(engine, settings, RecordingDelivery())
    text = _draft_text(services, _reminder_2(engine, settings))
    assert "taux de la BCE majoré de 10 points" in text
    assert PENALTY_LINE not in text


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('[ecb]\n"2026-H2" = "deux"\n', "[ecb] 2026-H2 must be a number"),
        ('[ecb]\n"2026-S2" = 2.15\n', 'key "2026-S2"'),
        ('[ecb]\n"2026-H2" = 2.15\n"2026-H2" = 2.20\n', "line 3"),
    ],
)
def test_bad_rates_file_is_a_settings_error_naming_file_and_field(
    tmp_path: Path, sqlite_url: str, content: str, named: str
) -> None:
    """A malformed RATES_FILE is refused by load_rates with the setting, the file and the field (or line)."""
    rates = tmp_path / f"bad-{abs(hash(content))}.toml"
    rates.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_rates(bot_settings(sqlite_url, tmp_path, TODAY, RATES_FILE=rates))
    assert str(err.value).startswith("RATES_FILE: ")
    assert str(rates) in str(err.value) and named in str(err.value)


def test_missing_rates_file_is_a_settings_error(tmp_path: Path, sqlite_url: str) -> None:
    """A RATES_FILE that does not exist is refused at start-up, naming the path."""
    with pytest.raises(SettingsError, match=r"RATES_FILE: cannot read .*absent\.toml"):
        open_services(bot_settings(sqlite_url, tmp_path, TODAY, RATES_FILE=tmp_path / "absent.toml"))


def test_bot_start_up_exits_2_before_touching_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`relance run` with a token and a bad RATES_FILE: one line naming file and field on stderr, exit 2, no DB."""
    rates = tmp_path / "taux.toml"
    rates.write_text('[ecb]\n"2026-H2" = true\n', encoding="utf-8")
    db = tmp_path / "relance.db"
    settings = bot_settings(f"sqlite:///{db}", tmp_path, TODAY, RATES_FILE=rates)
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        with pytest.raises(SystemExit) as exc:
            run(settings)
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("relance: RATES_FILE: ") and str(rates) in err and "2026-H2" in err
    assert "TEST-token" not in err
    assert not db.exists()


def test_terminal_mode_exits_2_on_a_bad_rates_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The terminal mode checks RATES_FILE before the database: same one line, exit 2."""
    rates = tmp_path / "taux.toml"
    rates.write_text("[ecb\n", encoding="utf-8")
    db = tmp_path / "demo.db"
    settings = bot_settings(f"sqlite:///{db}", tmp_path, TODAY, RATES_FILE=rates, TELEGRAM_BOT_TOKEN=None)
    with pytest.raises(SystemExit) as exc:
        run_terminal(settings, TODAY, stdin=io.StringIO(""), stdout=io.StringIO())
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("relance: RATES_FILE: ") and str(rates) in err and "line 1" in err
    assert not db.exists()


def test_start_up_warns_when_the_current_half_year_is_missing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """open_services logs which half-year to add (2026-H2) when today's ECB rate is not in the table."""
    settings = bot_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, TODAY)
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        services = open_services(settings)
    services.engine.dispose()
    assert any("2026-H2" in r.getMessage() and "RATES_FILE" in r.getMessage() for r in caplog.records)
    caplog.clear()
    (tmp_path / "taux.toml").write_text(GOOD, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="bot.runtime"):
        services = open_services(settings.model_copy(update={"RATES_FILE": tmp_path / "taux.toml"}))
    services.engine.dispose()
    assert not any("2026-H2" in r.getMessage() for r in caplog.records)


def test_evidence_cli_uses_rates_file_and_refuses_a_bad_one(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`relance evidence`: a bad RATES_FILE (set in .env) exits 2 naming it; a good one writes the ZIP."""
    import zipfile

    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RELANCE_TODAY", TODAY.isoformat())
    monkeypatch.delenv("RATES_FILE", raising=False)
    settings = load_settings(DATABASE_URL=db_url)
    _reminder_2(engine, settings)
    (tmp_path / "taux.toml").write_text('[ecb]\n"2026-H2" = "x"\n', encoding="utf-8")
    (tmp_path / ".env").write_text("RATES_FILE=taux.toml\n", encoding="utf-8")
    runner = CliRunner()
    bad = runner.invoke(app, ["evidence", "F-2026-100", "--out", "a.zip"])
    assert bad.exit_code == 2 and "RATES_FILE: taux.toml" in bad.output
    (tmp_path / "taux.toml").write_text(GOOD, encoding="utf-8")
    ok = runner.invoke(app, ["evidence", "F-2026-100", "--out", "b.zip"])
    assert ok.exit_code == 0, ok.output
    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        assert z.testzip() is None and not (tmp_path / "a.zip").exists()
