"""Fixtures of the integration tests: a scriptable SMTP server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.bot_harness import BotHarness
from tests.integration.imap_server import DovecotServer, dovecot_binary
from tests.integration.smtp_server import ScriptedSmtpServer


@pytest.fixture
def smtp_server() -> Iterator[ScriptedSmtpServer]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 whose answers a test can script."""
    with ScriptedSmtpServer() as server:
        yield server


@pytest.fixture
async def bot(sqlite_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The bot in-process over a fresh SQLite database: recording Bot API, recording delivery, today 24/11/2026."""
    from storage.db import make_engine
    from tests.bot_harness import RecordingDelivery, bot_settings, start_harness, stop_harness

    engine = make_engine(sqlite_url)
    bot = await start_harness(engine, bot_settings(sqlite_url, tmp_path, date(2026, 11, 24)), RecordingDelivery())
    try:
        yield bot
    finally:
        await stop_harness(bot)
        engine.dispose()


@pytest.fixture
def cli_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For the `relance` CLI: no setting of the developer's shell, the working directory in tmp_path (so no .env),
    a SQLite database and DATA_DIR there."""
    from bot.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'relance.db'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


# --- a real IMAP server (Dovecot) for the replies by e-mail (issue 11) ---


def _imap_unavailable(reason: str) -> None:
    import os

    if os.environ.get("RELANCE_REQUIRE_IMAP") == "1":
        pytest.fail(f"Dovecot is required (RELANCE_REQUIRE_IMAP=1) but unavailable: {reason}")
    print(f"IMAP tests skipped: {reason} (install dovecot-imapd, as .ci/run does)")
    pytest.skip(f"IMAP tests skipped: {reason} (install Debian's dovecot-imapd)")


def _dovecot(tls: bool) -> Iterator[DovecotServer]:
    import os
    import shutil
    import tempfile

    binary = dovecot_binary()
    if binary is None:
        _imap_unavailable("dovecot is not installed")
    assert binary is not None
    # Not tmp_path: run as root, Dovecot's mail processes (user dovecot) must reach the Maildir.
    root = Path(tempfile.mkdtemp(prefix="relance-dovecot-"))
    os.chmod(root, 0o755)
    certs = None
    if tls:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert_path, key_path = root / "cert.pem", root / "key.pem"
        cert.cert_chain_pems[0].write_to_path(str(cert_path))
        cert.private_key_pem.write_to_path(str(key_path))
        ca.cert_pem.write_to_path(str(root / "ca.pem"))
        certs = (cert_path, key_path)
    server = DovecotServer(root, binary=binary, tls=certs)
    try:
        server.start()
    except RuntimeError as exc:
        shutil.rmtree(root, ignore_errors=True)
        _imap_unavailable(str(exc)[:500])
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A real Dovecot IMAP server on 127.0.0.1 without TLS (IMAP_SECURITY=none, loopback only)."""
    yield from _dovecot(tls=False)


@pytest.fixture
def dovecot_tls() -> Iterator[DovecotServer]:
    """A real Dovecot IMAP server on 127.0.0.1 with implicit TLS (a test CA's certificate, in root/ca.pem)."""
    yield from _dovecot(tls=True)
