"""`relance check` and the start-up checks: every ladder step (custom ones included) and message kind rendered from
sample data, the rate table, the payment details, and `--smtp` logging in without sending; the password never shown."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from typer.testing import CliRunner

from bot.cli import app
from bot.runtime import run
from bot.settings import Settings
from bot.terminal import run_terminal
from messages.render import BUILTIN_DIR, KINDS
from tests.bot_harness import bot_settings
from tests.integration.smtp_server import free_port

TODAY = date(2026, 11, 24)  # 2026-H2: not in the shipped rate table
SECRET = "Pa55-never-on-screen"
CUSTOM_LADDER = """
[[steps]]
name = "reminder_1"
offset_days = 7
tone = "friendly"
channel = "email"

[[steps]]
name = "relance_douce"
offset_days = 20
tone = "firm"
channel = "email"
"""

runner = CliRunner()


def _incomplete_templates(tmp_path: Path) -> Path:
    """A TEMPLATES_DIR with one file of "relance_douce" (a step with some templates of its own must have them all;
    one with none at all is worded by its tone)."""
    folder = tmp_path / "modeles"
    (folder / "fr").mkdir(parents=True, exist_ok=True)
    (folder / "fr" / "relance_douce.text.j2").write_text("Bonjour {{ ctx.client_name }}\n", encoding="utf-8")
    return folder


#: aiosmtpd warns when AUTH is required without TLS: deliberate on loopback, the TLS path has its own tests.
_LOOPBACK_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _clean_env(monkeypatch: pytest.MonkeyPatch, folder: Path, **values: str) -> None:
    """No setting from the machine running the tests: a working folder without .env, then `values`."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'relance.db'}")
    monkeypatch.setenv("DATA_DIR", str(folder / "data"))
    monkeypatch.setenv("RELANCE_TODAY", TODAY.isoformat())
    monkeypatch.setenv("COMPANY_IBAN", "FR7630006000011234567890189")
    monkeypatch.setenv("COMPANY_BIC", "AGRIFRPP")
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def _custom_step_templates(folder: Path, step: str = "relance_douce") -> Path:
    """A TEMPLATES_DIR with every kind of `step` in fr and en, copied from reminder_2's built-in templates."""
    for lang in ("fr", "en"):
        (folder / lang).mkdir(parents=True, exist_ok=True)
        for kind in KINDS:
            source = (BUILTIN_DIR / lang / f"reminder_2.{kind}.j2").read_text(encoding="utf-8")
            (folder / lang / f"{step}.{kind}.j2").write_text(source, encoding="utf-8")
    return folder


def _lines(output: str) -> dict[str, str]:
    """The check lines by name: {"templates": "ok    templates: …"}."""
    found = {}
    for line in output.splitlines():
        status, _, rest = line.partition(" ")
        if status in ("ok", "warn", "FAIL"):
            found[rest.strip().split(":")[0]] = line
    return found


def test_check_passes_with_one_line_per_check_and_warns_on_the_missing_half_year(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Good settings: exit 0, one line per check (settings, ladder, templates, rate table, payment details); the
    missing 2026-H2 is a warning that gives the /taux command, and the database is not created."""
    _clean_env(monkeypatch, tmp_path)
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert list(lines) == ["settings", "ladder", "templates", "rate table", "payment details"]
    assert lines["templates"].startswith("ok") and "formal-notice letter" in lines["templates"]
    assert lines["rate table"].startswith("warn") and "/taux 2026-H2 <rate>" in lines["rate table"]
    assert lines["payment details"].startswith("ok")
    assert not (tmp_path / "relance.db").exists()


def test_broken_template_exits_2_naming_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A syntax error on line 3 of an override: exit 2, the templates line names the file and line 3."""
    templates = tmp_path / "modeles"
    (templates / "fr").mkdir(parents=True)
    (templates / "fr" / "reminder_1.text.j2").write_text(
        "Bonjour,\n\nVotre facture\n{{ ctx.client_name }\n", encoding="utf-8"
    )
    _clean_env(monkeypatch, tmp_path, TEMPLATES_DIR=str(templates))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    line = _lines(result.output)["templates"]
    assert line.startswith("FAIL") and f"{templates / 'fr' / 'reminder_1.text.j2'}:4:" in line
    assert "check failed: templates" in result.output


def test_runtime_error_in_a_template_is_named_with_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template that compiles but uses an unknown field fails when rendered with sample data, naming its line."""
    templates = tmp_path / "modeles"
    (templates / "en").mkdir(parents=True)
    (templates / "en" / "payment_thanks.sms.j2").write_text("Thanks\n{{ ctx.no_such_field }}\n", encoding="utf-8")
    _clean_env(monkeypatch, tmp_path, TEMPLATES_DIR=str(templates))
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    line = _lines(result.output)["templates"]
    assert f"{templates / 'en' / 'payment_thanks.sms.j2'}:2:" in line and "no_such_field" in line


def test_custom_ladder_step_without_templates_is_worded_by_its_tone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LADDER_FILE names "relance_douce" (tone firm) and TEMPLATES_DIR has none of its files: it is worded by its
    tone (reminder_2's templates, issue 11 §2), so the check passes."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    (tmp_path / "modeles").mkdir()
    _clean_env(monkeypatch, tmp_path, LADDER_FILE="ladder.toml", TEMPLATES_DIR="modeles")
    result = runner.invoke(app, ["check"])
    lines = _lines(result.output)
    assert lines["ladder"].startswith("ok") and "relance_douce" in lines["ladder"]
    assert lines["templates"].startswith("ok"), result.output


def test_custom_ladder_step_with_some_templates_exits_2_naming_step_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom step with some templates of its own must have them all: exit 2 naming the step and a missing file."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    _incomplete_templates(tmp_path)
    _clean_env(monkeypatch, tmp_path, LADDER_FILE="ladder.toml", TEMPLATES_DIR="modeles")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    line = _lines(result.output)["templates"]
    assert line.startswith("FAIL") and '"relance_douce"' in line
    assert str(Path("modeles") / "fr" / "relance_douce.subject.j2") in line


def test_custom_ladder_step_with_its_templates_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same ladder with the step's ten files (5 kinds x fr, en) in TEMPLATES_DIR: exit 0."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    _custom_step_templates(tmp_path / "modeles")
    _clean_env(monkeypatch, tmp_path, LADDER_FILE="ladder.toml", TEMPLATES_DIR="modeles")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert _lines(result.output)["templates"].startswith("ok")


def test_broken_custom_step_template_is_found_although_no_built_in_step_uses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A custom step's call script with an error: its file and line are named (every kind is rendered)."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    folder = _custom_step_templates(tmp_path / "modeles")
    (folder / "fr" / "relance_douce.call.j2").write_text("Appeler {{ ctx.client_name | nope }}\n", encoding="utf-8")
    _clean_env(monkeypatch, tmp_path, LADDER_FILE="ladder.toml", TEMPLATES_DIR="modeles")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert "relance_douce.call.j2:1:" in _lines(result.output)["templates"]


def test_bad_payment_details_and_bad_rates_file_are_each_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad IBAN and a malformed RATES_FILE: both lines FAIL (one check does not hide another), exit 2."""
    (tmp_path / "taux.toml").write_text('[ecb]\n"2026-S2" = 2.15\n', encoding="utf-8")
    _clean_env(monkeypatch, tmp_path, COMPANY_IBAN="FR7630006000011234567890180", RATES_FILE="taux.toml")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    lines = _lines(result.output)
    assert lines["payment details"].startswith("FAIL") and "COMPANY_IBAN" in lines["payment details"]
    assert lines["rate table"].startswith("FAIL") and "2026-S2" in lines["rate table"]
    assert "check failed: rate table, payment details" in result.output


def test_bad_setting_exits_2_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A setting that cannot be read (DIGEST_TIME=25:00) is the one failing line, exit 2."""
    _clean_env(monkeypatch, tmp_path, DIGEST_TIME="25:00")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert _lines(result.output)["settings"].startswith("FAIL") and "DIGEST_TIME" in result.output


@contextmanager
def _auth_smtp() -> Iterator[tuple[int, list[bytes]]]:
    """An SMTP server on loopback requiring AUTH as relance / SECRET; yields its port and the messages it got."""
    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope.original_content)
            return "250 2.0.0 Ok"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            b"relance",
            SECRET.encode(),
        )
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        Sink(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False,
        auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


def _smtp_env(monkeypatch: pytest.MonkeyPatch, folder: Path, port: int, password: str) -> None:
    _clean_env(
        monkeypatch, folder, SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none",
        SMTP_USERNAME="relance", SMTP_PASSWORD=password, MAIL_FROM="factures@atelier.example",
    )  # fmt: skip


@_LOOPBACK_AUTH
def test_check_smtp_logs_in_and_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--smtp with the right password: the smtp line is ok ("logged in as relance"), no message reaches the server,
    and the password is nowhere in the output."""
    with _auth_smtp() as (port, received):
        _smtp_env(monkeypatch, tmp_path, port, SECRET)
        result = runner.invoke(app, ["check", "--smtp"])
    assert result.exit_code == 0, result.output
    line = _lines(result.output)["smtp"]
    assert line.startswith("ok") and "logged in as relance" in line and "nothing sent" in line
    assert received == []
    assert SECRET not in result.output


@_LOOPBACK_AUTH
def test_check_smtp_with_a_wrong_password_exits_2_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--smtp with a wrong password: the smtp line FAILs with the server's 535 answer, exit 2, the password unseen."""
    wrong = "Wrong-pa55word-xyz"
    with _auth_smtp() as (port, received):
        _smtp_env(monkeypatch, tmp_path, port, wrong)
        result = runner.invoke(app, ["check", "--smtp"])
    assert result.exit_code == 2
    line = _lines(result.output)["smtp"]
    assert line.startswith("FAIL") and "535" in line and f"127.0.0.1:{port}" in line
    assert wrong not in result.output and SECRET not in result.output
    assert received == []
    assert "check failed: smtp" in result.output


def test_check_smtp_without_a_server_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--smtp when nothing listens on the port: FAIL naming the host and port, exit 2."""
    port = free_port()
    _smtp_env(monkeypatch, tmp_path, port, SECRET)
    result = runner.invoke(app, ["check", "--smtp"])
    assert result.exit_code == 2
    assert _lines(result.output)["smtp"].startswith("FAIL") and f"127.0.0.1:{port}" in result.output
    assert SECRET not in result.output


def test_terminal_run_refuses_a_ladder_step_without_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`relance run` without a token and a LADDER_FILE step lacking some of its templates: exit 2 naming the step,
    and no demo database is written."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    _clean_env(monkeypatch, tmp_path, LADDER_FILE="ladder.toml", TEMPLATES_DIR=str(_incomplete_templates(tmp_path)))
    monkeypatch.delenv("DATABASE_URL")
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert '"relance_douce"' in result.output and "relance_douce.subject.j2" in result.output
    assert not (tmp_path / "data" / "demo.db").exists()


def test_open_terminal_services_refuses_a_ladder_step_without_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run_terminal (terminal mode) with the custom ladder, its step's templates incomplete: one line naming the
    step, exit 2, no database."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    db = tmp_path / "demo.db"
    settings = bot_settings(f"sqlite:///{db}", tmp_path, TODAY, LADDER_FILE=tmp_path / "ladder.toml",
                            TELEGRAM_BOT_TOKEN=None, TEMPLATES_DIR=_incomplete_templates(tmp_path))  # fmt: skip
    with pytest.raises(SystemExit) as exc:
        run_terminal(settings, TODAY, stdin=io.StringIO(""), stdout=io.StringIO())
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("relance: ") and '"relance_douce"' in err and len(err.strip().splitlines()) == 1
    assert not db.exists()


def test_telegram_start_refuses_a_ladder_step_without_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`relance run` with a token and the custom ladder, its step's templates incomplete: exit 2 before the
    database, naming the step."""
    (tmp_path / "ladder.toml").write_text(CUSTOM_LADDER, encoding="utf-8")
    db = tmp_path / "relance.db"
    settings = bot_settings(f"sqlite:///{db}", tmp_path, TODAY, LADDER_FILE=tmp_path / "ladder.toml",
                            TEMPLATES_DIR=_incomplete_templates(tmp_path))  # fmt: skip
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
    assert '"relance_douce"' in err and "TEST-token" not in err
    assert not db.exists()
