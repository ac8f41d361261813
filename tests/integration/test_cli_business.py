"""`relance business add|list|show|set|pause`: businesses of a shared deployment managed from the command line,
their secrets encrypted at rest with RELANCE_SECRET_KEY and never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli import app
from bot.secrets import SecretKeyError, decrypt
from bot.settings import Settings
from storage import tenants
from storage.businesses import find_business
from storage.db import make_engine, read_session

runner = CliRunner()
KEY = Fernet.generate_key().decode()
PASSWORD = "s3cret-Mot-de-passe!"


def _invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["business", *args], input=input)


@pytest.fixture
def env(cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean CLI environment with a secret key."""
    monkeypatch.setenv("RELANCE_SECRET_KEY", KEY)
    return cli_workdir


def _engine(workdir: Path):  # type: ignore[no-untyped-def]
    return make_engine(f"sqlite:///{workdir / 'relance.db'}")


def _add_a(*extra: str):  # type: ignore[no-untyped-def]
    return _invoke(
        "add", "atelier-a", "--name", "Atelier A", "--timezone", "Europe/Paris", "--digest-time", "07:45",
        "--owner", "telegram:111", "--owner", "slack:U0AAA1", "--email", "factures@a.example.fr", *extra,
    )  # fmt: skip


def test_add_list_show(env: Path) -> None:
    """add stores identity, clock and owners; list shows one line per business; show prints every value."""
    assert _add_a().exit_code == 0
    b = _invoke("add", "boutique-b", "--name", "Boutique B", "--timezone", "America/Martinique", "--owner",
                "telegram:222")  # fmt: skip
    assert b.exit_code == 0, b.output
    listed = _invoke("list")
    assert listed.exit_code == 0
    lines = [line for line in listed.stdout.splitlines() if line]
    assert any(line.startswith("atelier-a\tAtelier A\tEurope/Paris 07:45\t2 owner(s)") for line in lines)
    assert any(line.startswith("boutique-b\tBoutique B\tAmerica/Martinique 08:30\t1 owner(s)") for line in lines)
    shown = _invoke("show", "atelier-a")
    assert shown.exit_code == 0
    assert "telegram owners:  111" in shown.stdout and "slack owners:     U0AAA1" in shown.stdout
    assert "digest_time:      07:45" in shown.stdout and "factures@a.example.fr" in shown.stdout
    with read_session(_engine(env)) as session:
        row = find_business(session, slug="atelier-a")
        assert row is not None
        assert tenants.businesses_of(session, channel="telegram", user_id="111") == [row.id]
        assert tenants.businesses_of(session, channel="telegram", user_id="222") != [row.id]


def test_set_changes_fields_and_writes_evidence(env: Path, tmp_path: Path) -> None:
    """set changes only the given values; each change is a settings_changed entry; a second identical set is 0."""
    assert _add_a().exit_code == 0
    (tmp_path / "tpl").mkdir()
    result = _invoke("set", "atelier-a", "--digest-time", "09:10", "--smtp-host", "smtp.a.example.fr",
                     "--templates", str(tmp_path / "tpl"), "--remove-owner", "slack:U0AAA1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 change(s): digest_time, templates_dir, smtp_host, owner" in result.stdout
    again = _invoke("set", "atelier-a", "--digest-time", "09:10")
    assert "0 change(s)" in again.stdout
    engine = _engine(env)
    with read_session(engine) as session:
        row = find_business(session, slug="atelier-a")
        assert row is not None and row.digest_time == "09:10" and row.name == "Atelier A"
        setup = tenants.business_setup(session, business_id=row.id)
        assert setup.smtp_host == "smtp.a.example.fr" and setup.templates_dir == str((tmp_path / "tpl").resolve())
        assert tenants.owners_of(session, business_id=row.id)["slack"] == []
        kinds = session.execute(
            text("SELECT payload FROM evidence WHERE business_id = :b AND kind = 'settings_changed'"), {"b": row.id}
        ).scalars().all()  # fmt: skip
    assert any('"field":"digest_time"' in p.replace(" ", "") for p in kinds)


def test_secrets_are_encrypted_at_rest_and_never_printed(env: Path) -> None:
    """The SMTP password is stored as a Fernet token (not the plaintext), decrypts with the key, show prints ••••;
    the password read from stdin ('-') is stored too; no output nor evidence entry holds it."""
    result = _add_a("--smtp-password", PASSWORD)
    assert result.exit_code == 0, result.output
    stdin = _invoke("set", "atelier-a", "--imap-password", "-", input="imap-Pass-42\n")
    assert stdin.exit_code == 0, stdin.output
    engine = _engine(env)
    with engine.connect() as conn:
        raw = dict(conn.execute(text("SELECT name, ciphertext FROM business_secret")).all())
        evidence = " ".join(conn.execute(text("SELECT payload FROM evidence")).scalars().all())
    assert set(raw) == {"smtp_password", "imap_password"}
    assert PASSWORD not in raw["smtp_password"] and "imap-Pass-42" not in raw["imap_password"]
    settings = Settings(RELANCE_SECRET_KEY=KEY)  # type: ignore[call-arg]
    assert decrypt(settings, raw["smtp_password"]) == PASSWORD
    assert decrypt(settings, raw["imap_password"]) == "imap-Pass-42"
    shown = _invoke("show", "atelier-a")
    assert "smtp_password:    ••••" in shown.stdout and "imap_password:    ••••" in shown.stdout
    assert "slack_bot_token:  \n" in shown.stdout
    assert PASSWORD not in shown.stdout + result.stdout and PASSWORD not in evidence
    assert raw["smtp_password"] not in evidence  # not even the ciphertext


def test_secret_without_key_is_refused_and_nothing_written(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Setting a password without RELANCE_SECRET_KEY exits 2 naming the setting; the business is not created."""
    monkeypatch.delenv("RELANCE_SECRET_KEY")
    result = _add_a("--smtp-password", PASSWORD)
    assert result.exit_code == 2
    assert "RELANCE_SECRET_KEY: not set" in result.stderr and PASSWORD not in result.output
    assert _invoke("list").stdout.strip() == ""


def test_malformed_or_wrong_key(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed key is refused clearly; a ciphertext read with another key raises SecretKeyError (not garbage)."""
    monkeypatch.setenv("RELANCE_SECRET_KEY", "not-a-key")
    result = _add_a("--smtp-password", PASSWORD)
    assert result.exit_code == 2 and "not a Fernet key" in result.stderr
    monkeypatch.setenv("RELANCE_SECRET_KEY", KEY)
    assert _add_a("--smtp-password", PASSWORD).exit_code == 0
    with _engine(env).connect() as conn:
        token = conn.execute(text("SELECT ciphertext FROM business_secret")).scalar_one()
    other = Settings(RELANCE_SECRET_KEY=Fernet.generate_key().decode())  # type: ignore[call-arg]
    with pytest.raises(SecretKeyError, match="cannot decrypt the stored smtp_password"):
        decrypt(other, token, name="smtp_password")


def test_pause_and_resume(env: Path) -> None:
    """pause sets the business paused (shown by list), --resume clears it; an unknown slug exits 1."""
    assert _add_a().exit_code == 0
    assert _invoke("pause", "atelier-a").exit_code == 0
    assert "paused" in _invoke("list").stdout
    assert _invoke("pause", "atelier-a", "--resume").exit_code == 0
    assert "paused" not in _invoke("list").stdout
    missing = _invoke("pause", "nulle-part")
    assert missing.exit_code == 1 and "no business 'nulle-part'" in missing.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--timezone", "Mars/Olympus"), "--timezone"),
        (("--digest-time", "25:00"), "--digest-time"),
        (("--owner", "telegram:abc"), "--owner"),
        (("--owner", "slack:bob"), "--owner"),
        (("--smtp-security", "ssl"), "--smtp-security"),
        (("--iban", "FR00 1234"), "--iban"),
        (("--slack-team", "x"), "--slack-team"),
        (("--ladder", "absent.toml"), "--ladder"),
    ],
)
def test_bad_values_are_refused_before_writing(env: Path, args: tuple[str, ...], needle: str) -> None:
    """Each bad value exits 2 naming its option, and the business is not created."""
    result = _invoke("add", "atelier-a", "--name", "Atelier A", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert _invoke("list").stdout.strip() == ""


def test_duplicate_slug_and_missing_name(env: Path) -> None:
    """A taken slug exits 1; a new business needs a name; a slug with capitals is refused."""
    assert _add_a().exit_code == 0
    assert _add_a().exit_code == 1
    assert _invoke("add", "c").exit_code == 2
    assert _invoke("add", "Atelier", "--name", "X").exit_code == 2
