"""The SMTP client on its own: login, settings, dot-stuffing, classification of replies and silences, no secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from bot.settings import SettingsError, load_settings, smtp_config
from messages.delivery import (
    PermanentDeliveryError,
    SmtpConfig,
    TemporaryDeliveryError,
    UncertainDeliveryError,
    send_message,
)
from messages.mime import build_message
from tests.integration.delivery_helpers import MAIL_FROM, make_draft
from tests.integration.smtp_server import ScriptedSmtpServer, SilentSmtpServer, free_port

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


def _plain(port: int) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=5)


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
    """smtp_config takes the SMTP_* settings, SMTP_TIMEOUT included; its repr never shows the password."""
    settings = load_settings(
        SMTP_HOST="smtp.example.test",
        SMTP_PORT=465,
        SMTP_USERNAME="u",
        SMTP_PASSWORD=SECRET,
        SMTP_SECURITY="tls",
        SMTP_TIMEOUT="12,5",
    )
    config = smtp_config(settings)
    assert (config.host, config.port, config.username, config.security) == ("smtp.example.test", 465, "u", "tls")
    assert config.timeout == 12.5
    assert config.password is not None and config.password.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config)


def test_timeout_defaults_to_thirty_seconds_and_is_checked() -> None:
    """SMTP_TIMEOUT is 30 s unless set; a value outside 1-600 or not a number is one line naming the setting."""
    assert smtp_config(load_settings(SMTP_HOST="smtp.example.test")).timeout == 30.0
    for bad in ("0", "0.5", "601", "trente", "nan"):
        with pytest.raises(SettingsError, match=r"^SMTP_TIMEOUT: invalid value, expected a number of seconds"):
            load_settings(SMTP_HOST="smtp.example.test", SMTP_TIMEOUT=bad)


def test_config_needs_a_host() -> None:
    """Without SMTP_HOST there is no SMTP configuration (the bot writes .eml files instead)."""
    with pytest.raises(SettingsError, match="SMTP_HOST"):
        smtp_config(load_settings(SMTP_HOST=None))


async def test_lines_starting_with_a_period_arrive_intact(smtp_server: ScriptedSmtpServer) -> None:
    """The library dot-stuffs: lines ".", "..", ".x" and a message without a final line end reach the server as is."""
    body = b"Bonjour,\r\n.\r\n..\r\n.signature\r\n...trois\r\nfin ."
    raw = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: t\r\nMessage-ID: <2@b.example>\r\n\r\n" + body
    await send_message(_plain(smtp_server.port), raw, "a@b.example", ["c@d.example"])
    (received,) = smtp_server.accepted
    # aiosmtpd undoes the stuffing; the only change allowed is the line end the SMTP DATA needs at the end.
    assert received.data == raw + b"\r\n"


async def test_built_message_with_a_period_line_round_trips(smtp_server: ScriptedSmtpServer) -> None:
    """A draft whose text holds a line with a single "." (the end-of-data marker) arrives complete, text unchanged."""
    draft = make_draft(with_pdf=True)
    raw = build_message(
        draft=draft,
        mail_from=MAIL_FROM,
        reply_to=None,
        recipients=["compta@client.example"],
        message_id="<3@atelier-dupont.example>",
        date=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )
    assert b"\r\n.\r\n" in raw  # the draft really has the end-of-data marker on a line of its own
    await send_message(_plain(smtp_server.port), raw, "factures@atelier-dupont.example", ["compta@client.example"])
    (received,) = smtp_server.accepted
    assert received.data == raw
    parsed = message_from_bytes(received.data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    text_part = parsed.get_body(preferencelist=("plain",))
    assert text_part is not None and text_part.get_content().replace("\r\n", "\n").rstrip("\n") == draft.text
    assert [part.get_filename() for part in parsed.iter_attachments()] == ["F-2026-042.pdf"]


async def test_connection_lost_before_the_data_is_temporary(smtp_server: ScriptedSmtpServer) -> None:
    """A server that hangs up at RCPT TO: temporary (safe to retry), and nothing was received."""
    smtp_server.drop_at_rcpt("c@d.example")
    with pytest.raises(TemporaryDeliveryError, match="before the message data") as info:
        await send_message(_plain(smtp_server.port), RAW, "a@b.example", ["c@d.example"])
    assert not isinstance(info.value, UncertainDeliveryError)
    assert smtp_server.transactions == []


async def test_connection_lost_after_the_data_is_uncertain(smtp_server: ScriptedSmtpServer) -> None:
    """A server that read the whole message and hung up without answering: uncertain (never retried on its own)."""
    smtp_server.script("drop")
    with pytest.raises(UncertainDeliveryError, match="during or after the message data"):
        await send_message(_plain(smtp_server.port), RAW, "a@b.example", ["c@d.example"])
    (received,) = smtp_server.transactions
    assert received.data == RAW  # the server had it all: a retry would be a duplicate


async def test_server_that_never_greets_times_out_as_temporary() -> None:
    """SMTP_TIMEOUT is honoured: a server silent from the start gives TemporaryDeliveryError after about 1 s."""
    with SilentSmtpServer("greeting") as server:
        config = smtp_config(
            load_settings(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none", SMTP_TIMEOUT="1")
        )
        started = time.monotonic()
        with pytest.raises(TemporaryDeliveryError, match="before the message data") as info:
            await send_message(config, RAW, "a@b.example", ["c@d.example"])
        elapsed = time.monotonic() - started
    assert not isinstance(info.value, UncertainDeliveryError)
    assert 0.9 <= elapsed < 5


async def test_server_silent_after_the_data_times_out_as_uncertain() -> None:
    """A server that swallows the message and never answers: UncertainDeliveryError once the timeout passes."""
    with SilentSmtpServer("after_data") as server:
        config = smtp_config(
            load_settings(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none", SMTP_TIMEOUT="1")
        )
        started = time.monotonic()
        with pytest.raises(UncertainDeliveryError):
            await send_message(config, RAW, "a@b.example", ["c@d.example"])
        elapsed = time.monotonic() - started
        assert server.messages == [RAW]
    assert 0.9 <= elapsed < 5


async def test_bad_envelope_address_fails_before_connecting(smtp_server: ScriptedSmtpServer) -> None:
    """An address the one check refuses is a permanent failure naming it; no SMTP session is opened."""
    with pytest.raises(PermanentDeliveryError, match=r"invalid e-mail address 'c@d' \(recipients\)"):
        await send_message(_plain(smtp_server.port), RAW, "a@b.example", ["c@d"])
    assert smtp_server.transactions == []


async def test_envelope_addresses_are_normalised(smtp_server: ScriptedSmtpServer) -> None:
    """A BOM or no-break space around an address never reaches MAIL FROM / RCPT TO; an IDN domain goes as ASCII."""
    await send_message(_plain(smtp_server.port), RAW, "\ufeffa@b.example\u00a0", ["c@Détour.example\u200b"])
    (received,) = smtp_server.accepted
    assert received.mail_from == "a@b.example"
    assert received.rcpt_tos == ["c@xn--dtour-bsa.example"]
