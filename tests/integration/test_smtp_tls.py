"""SMTP_SECURITY=tls and starttls against a real TLS server on loopback, with a throwaway CA made at test time."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr

from messages.delivery import PermanentDeliveryError, SmtpConfig, TemporaryDeliveryError, send_message
from tests.integration.smtp_server import free_port

RAW = b"From: a@b.example\r\nTo: c@d.example\r\nSubject: t\r\nMessage-ID: <1@b.example>\r\n\r\nBonjour\r\n"
USER = "relance"
SECRET = "tls-s3cr3t-P4ss-never-shown"

Mode = Literal["tls", "starttls"]


@dataclass
class _TlsSink:
    """Records each message, whether its connection was encrypted, and who logged in."""

    messages: list[bytes] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)
    logins: list[bytes | None] = field(default_factory=list)
    auth_attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.original_content)
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        self.logins.append(session.auth_data if session.authenticated else None)
        return "250 2.0.0 Ok"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        self.auth_attempts += 1
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            USER.encode(),
            SECRET.encode(),
        )
        return AuthResult(success=ok, handled=False, auth_data=USER.encode() if ok else None)


@dataclass
class TlsServer:
    """A running aiosmtpd on 127.0.0.1 speaking `mode`, its port and what it received."""

    mode: Mode
    port: int
    sink: _TlsSink


@pytest.fixture
def ca() -> trustme.CA:
    """A throwaway certificate authority, made for this test only."""
    return trustme.CA()


@pytest.fixture
def trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`trust(ca)`: make the client trust only `ca`, through the standard SSL_CERT_FILE variable (no product knob)."""

    def _trust(authority: trustme.CA) -> None:
        path = tmp_path / f"ca-{id(authority)}.pem"
        authority.cert_pem.write_to_path(str(path))
        monkeypatch.setenv("SSL_CERT_FILE", str(path))
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    yield _trust


def _start(mode: Mode, cert: trustme.LeafCert) -> tuple[Controller, TlsServer]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    sink = _TlsSink()
    port = free_port()
    if mode == "tls":
        # aiosmtpd only counts STARTTLS as "TLS" for AUTH, so over implicit TLS AUTH must be allowed explicitly;
        # the sink checks the transport itself to prove the login went over TLS.
        kwargs: dict[str, Any] = {"ssl_context": server_context, "auth_require_tls": False}
    else:
        kwargs = {"tls_context": server_context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=sink.authenticator, ready_timeout=10, **kwargs
    )
    controller.start()
    return controller, TlsServer(mode, port, sink)


@pytest.fixture(params=["tls", "starttls"])
def tls_server(request: pytest.FixtureRequest, ca: trustme.CA) -> Iterator[TlsServer]:
    """An SMTP server on loopback with implicit TLS or with STARTTLS required, certificate from `ca` for 127.0.0.1."""
    controller, server = _start(request.param, ca.issue_cert("127.0.0.1"))
    try:
        yield server
    finally:
        controller.stop()


def _config(server: TlsServer, *, username: str | None = USER) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        username=username,
        password=SecretStr(SECRET) if username else None,
        security=server.mode,
        timeout=5,
    )


@pytest.mark.parametrize("username", [USER, None], ids=["login", "no-login"])
async def test_message_is_delivered_over_tls(
    tls_server: TlsServer, ca: trustme.CA, trust: Any, username: str | None
) -> None:
    """With a trusted CA, tls and starttls deliver over an encrypted connection, logging in iff a username is set."""
    trust(ca)
    reply = await send_message(_config(tls_server, username=username), RAW, "a@b.example", ["c@d.example"])
    assert reply.code == 250
    sink = tls_server.sink
    assert sink.messages == [RAW]
    assert sink.encrypted == [True]
    assert sink.logins == [USER.encode() if username else None]
    assert sink.auth_attempts == (1 if username else 0)


async def test_wrong_password_over_tls_is_refused_without_showing_it(
    tls_server: TlsServer, ca: trustme.CA, trust: Any
) -> None:
    """A login refused over TLS fails with the server's 535 and no trace of the password."""
    trust(ca)
    bad = replace(_config(tls_server), password=SecretStr("no-" + SECRET))
    with pytest.raises(PermanentDeliveryError) as info:
        await send_message(bad, RAW, "a@b.example", ["c@d.example"])
    assert info.value.reply is not None and info.value.reply.code == 535
    assert SECRET not in str(info.value) and SECRET not in repr(info.value) and SECRET not in info.value.line
    assert tls_server.sink.auth_attempts >= 1  # the client may try several mechanisms (PLAIN, LOGIN)
    assert tls_server.sink.messages == []


@pytest.mark.parametrize("mode", ["tls", "starttls"])
@pytest.mark.parametrize(
    ("issuer", "host", "why"),
    [
        ("other", "127.0.0.1", "unable to get local issuer certificate"),
        ("same", "mail.example.test", "IP address mismatch"),
    ],
    ids=["unknown-ca", "wrong-host"],
)
async def test_untrusted_certificate_is_refused(
    ca: trustme.CA, trust: Any, mode: Mode, issuer: str, host: str, why: str
) -> None:
    """A certificate from an untrusted CA, or for another host, stops before login with a clear error, no password."""
    trust(ca)
    signer = trustme.CA() if issuer == "other" else ca
    controller, server = _start(mode, signer.issue_cert(host))
    try:
        with pytest.raises(TemporaryDeliveryError) as info:
            await send_message(_config(server), RAW, "a@b.example", ["c@d.example"])
    finally:
        controller.stop()
    error = info.value
    assert error.line.startswith("TLS certificate of the SMTP server not trusted: ")
    assert why in error.line
    for shown in (str(error), repr(error), error.line, error.reason):
        assert SECRET not in shown
    assert error.__suppress_context__ and error.__cause__ is None
    assert server.sink.auth_attempts == 0 and server.sink.messages == []
