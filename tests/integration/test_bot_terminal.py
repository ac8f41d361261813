"""Terminal mode over the demo database: the same services as the bot, e-mails written as .eml files."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from sqlmodel import select

from bot.presenter import Presenter
from bot.settings import Settings
from bot.terminal import Terminal, open_terminal_services, run_terminal
from dunning.states import ReminderState
from storage.db import read_session, write_session
from storage.demo import ensure_demo
from storage.models import Business, Reminder

MONDAY = date(2026, 11, 23)


def _settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
        DATA_DIR=tmp_path,
        RELANCE_TODAY=MONDAY,
    )


def _demo(tmp_path: Path) -> Presenter:
    services = open_terminal_services(_settings(tmp_path), MONDAY)
    with write_session(services.engine) as s:
        business = s.get(Business, services.business_id)
        assert business is not None
    ensure_demo(services.engine, business, MONDAY)
    return services


def _states(services: Presenter) -> list[str]:
    with read_session(services.engine) as s:
        return [r.state for r in s.exec(select(Reminder).order_by(Reminder.id)).all()]  # type: ignore[arg-type]


def test_batch_mode_prints_digest_status_and_telegram_howto_without_reading(tmp_path: Path) -> None:
    """With stdin not a terminal, run_terminal prints the cards, the dashboard and the Telegram how-to, then returns."""
    _demo(tmp_path).engine.dispose()
    out = io.StringIO()
    run_terminal(_settings(tmp_path), MONDAY, stdin=io.StringIO(""), stdout=out)
    text = out.getvalue()
    assert "relance(s) attendent votre accord" in text
    assert "[1] " in text and "Objet :" in text
    assert "Tableau de bord" in text
    assert "@BotFather" in text


def test_interactive_send_writes_an_eml_file_and_snooze_moves_the_reminder(tmp_path: Path) -> None:
    """Picking a card and "e" writes one .eml (path printed); "r" then "3" snoozes another; "q" quits."""
    services = _demo(tmp_path)
    services.digest(claim=False)
    before = _states(services)
    answers = iter(["1", "e", "1", "r", "3", "q"])
    out = io.StringIO()
    terminal = Terminal(services, read=lambda _prompt: next(answers), out=out)
    terminal.run_interactive()
    text = out.getvalue()
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    assert f"E-mail écrit dans {files[0]}" in text
    assert b"Subject:" in files[0].read_bytes()
    after = _states(services)
    assert after.count(ReminderState.SENT) == before.count(ReminderState.SENT) + 1
    assert after.count(ReminderState.SNOOZED) == before.count(ReminderState.SNOOZED) + 1
    assert "Reportée au 26/11/2026" in text
    services.engine.dispose()


def test_interactive_bad_inputs_are_explained_and_change_nothing(tmp_path: Path) -> None:
    """A promise on 31/02 and an amount "abc" are refused in French; nothing changes; end of input quits cleanly."""
    services = _demo(tmp_path)
    services.digest(claim=False)
    before = _states(services)
    answers = iter(["1", "o", "31/02", "1", "p", "abc"])

    def read(_prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    Terminal(services, read=read, out=out).run_interactive()
    text = out.getvalue()
    assert "« 31/02 » n'est pas une date valide" in text
    assert "« abc » n'est pas un montant valide" in text
    assert _states(services) == before
    services.engine.dispose()
