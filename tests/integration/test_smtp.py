"""The SMTP client on its own: login, settings, classification of replies, no secret in errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from bot.settings import load_settings
from messages.delivery import (
    PermanentDeliveryError,
    SmtpConfig,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    send_message,
)
from tests.integration.smtp_server import ScriptedSmtpServer, free_port

RAW = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: t\r\nMessage-ID: <1@b.example>\r\n\r\n.line\r\nbody\r\n"
SECRET = "s3cr3t-P4ss-never-shown"


class _Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        return "250 2.0.0 Ok"


@pytest.fixture
def auth_server() -> Iterator[tuple[int, _Sink]]:
    """An SMTP server on loopback that requires AUTH (user 'relance', password SECRET)."""

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        expected = (b"relance", SECRET.encode())
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == expected
        return AuthResult(success=ok, handled=False)

    sink = _Sink()
    port = free_port()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    yield port, sink
    controller.stop()


def _config(port: int, password: str | None = SECRET) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=port,
        username="relance",
        password=SecretStr(password) if password else None,
        security="none",
        timeout=5,
    )


_LOOPBACK_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


@_LOOPBACK_AUTH
async def test_login_when_username_is_set(auth_server: tuple[int, _Sink]) -> None:
    """With SMTP_USERNAME set, the client logs in and the message goes through unchanged (dot-stuffing undone)."""
    port, sink = auth_server
    reply = await send_message(_config(port), RAW, "a@b.example", ["c@d.example"])
    assert reply.code == 250 and reply.line == "250 2.0.0 Ok"
    assert sink.messages == [RAW]


@_LOOPBACK_AUTH
async def test_bad_password_fails_without_showing_it(auth_server: tuple[int, _Sink]) -> None:
    """A refused login is a permanent failure whose text never contains the password."""
    port, sink = auth_server
    with pytest.raises(PermanentDeliveryError) as info:
        await send_message(_config(port, "wrong-" + SECRET), RAW, "a@b.example", ["c@d.example"])
    assert info.value.reply is not None and info.value.reply.code == 535
    assert SECRET not in str(info.value) and SECRET not in info.value.line and SECRET not in repr(info.value)
    assert sink.messages == []


async def test_replies_are_classified(smtp_server: ScriptedSmtpServer) -> None:
    """450 and 421 are temporary, 550 permanent, a drop after the data uncertain."""
    smtp_server.script("450", "421", "550", "drop")
    config = SmtpConfig(host="127.0.0.1", port=smtp_server.port, security="none", timeout=5)
    expected = [TemporaryDeliveryError, TemporaryDeliveryError, PermanentDeliveryError, UncertainDeliveryError]
    for kind in expected:
        with pytest.raises(kind):
            await send_message(config, RAW, "a@b.example", ["c@d.example"])
    assert len(smtp_server.transactions) == 4


async def test_refused_recipient_sends_nothing(smtp_server: ScriptedSmtpServer) -> None:
    """A recipient refused by the server makes the whole message fail before any data is sent (no partial send)."""
    smtp_server.refuse_recipient("nobody@d.example")
    config = SmtpConfig(host="127.0.0.1", port=smtp_server.port, security="none", timeout=5)
    with pytest.raises(PermanentDeliveryError, match=r"550 5\.1\.1"):
        await send_message(config, RAW, "a@b.example", ["c@d.example", "nobody@d.example"])
    assert smtp_server.transactions == []


def test_config_from_settings_hides_the_password() -> None:
    """SmtpConfig.from_settings takes the SMTP_* settings; its repr never shows the password."""
    settings = load_settings(
        SMTP_HOST="smtp.example.test", SMTP_PORT=465, SMTP_USERNAME="u", SMTP_PASSWORD=SECRET, SMTP_SECURITY="tls"
    )
    config = SmtpConfig.from_settings(settings)
    assert (config.host, config.port, config.username, config.security) == ("smtp.example.test", 465, "u", "tls")
    assert config.password is not None and config.password.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config)


def test_config_needs_a_host() -> None:
    """Without SMTP_HOST there is no SMTP configuration (the bot writes .eml files instead)."""
    with pytest.raises(ValueError, match="SMTP_HOST"):
        SmtpConfig.from_settings(load_settings(SMTP_HOST=None))
