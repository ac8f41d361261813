"""Hand one ready MIME message to the SMTP server and say precisely how far it got.

The outcome matters more than usual: a reply code is a clear answer (2xx sent, 4xx try later, 5xx refused), but a
connection lost after the message data went out leaves the result unknown, and such a message must never be
re-sent automatically (the owner would look careless with a duplicate).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import aiosmtplib
from aiosmtplib.errors import SMTPException, SMTPResponseException
from pydantic import SecretStr

if TYPE_CHECKING:
    from bot.settings import Settings

Security = Literal["none", "starttls", "tls"]
Checkpoint = Callable[[str], None]

_PERIOD_AT_LINE_START = re.compile(rb"(?m)^\.")
_LONE_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to reach the SMTP server; the password stays a SecretStr (never printed)."""

    host: str
    port: int = 587
    username: str | None = None
    password: SecretStr | None = None
    security: Security = "starttls"
    timeout: float = 30.0
    local_hostname: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP settings of Relance (SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_SECURITY)."""
        if not settings.SMTP_HOST:
            raise ValueError("SMTP_HOST is not set: e-mails cannot be sent")
        timeout = getattr(settings, "SMTP_TIMEOUT", None) or 30.0
        return cls(
            host=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            username=settings.SMTP_USERNAME or None,
            password=settings.SMTP_PASSWORD,
            security=settings.SMTP_SECURITY,
            timeout=float(timeout),
        )


@dataclass(frozen=True, slots=True)
class SmtpReply:
    """A server reply: its code and text; `line` is the one-line form kept as evidence."""

    code: int
    message: str

    @property
    def line(self) -> str:
        """The reply on one line, e.g. "250 2.0.0 Ok: queued as 4Xy"."""
        text = " ".join(part.strip() for part in self.message.splitlines() if part.strip())
        return f"{self.code} {text}".strip()


class DeliveryError(Exception):
    """The message was not (or not surely) accepted. `reply` is the server's answer when there was one."""

    def __init__(self, reason: str, reply: SmtpReply | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply

    @property
    def line(self) -> str:
        """What to show and record: the server's reply line, or the reason when the server said nothing."""
        return self.reply.line if self.reply else self.reason


class TemporaryDeliveryError(DeliveryError):
    """4xx reply, or no connection before the message data was sent: nothing was delivered, try again later."""


class PermanentDeliveryError(DeliveryError):
    """5xx reply: the server refused the message; trying again would get the same answer."""


class UncertainDeliveryError(DeliveryError):
    """The connection was lost after the message data was sent: it may or may not have been accepted."""


def _reply(exc: SMTPResponseException) -> SmtpReply:
    return SmtpReply(int(exc.code), str(exc.message))


def _classify(reply: SmtpReply, stage: str) -> DeliveryError:
    reason = f"{stage}: {reply.line}"
    if 400 <= reply.code < 500:
        return TemporaryDeliveryError(reason, reply)
    return PermanentDeliveryError(reason, reply)


def _data_payload(raw: bytes) -> bytes:
    """CRLF line ends, dot-stuffing, and the final "." line (RFC 5321 section 4.5.2)."""
    data = _LONE_LINE_END.sub(b"\r\n", raw)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _PERIOD_AT_LINE_START.sub(b"..", data) + b".\r\n"


def _tls_failure(exc: BaseException) -> str | None:
    """Say plainly when the TLS handshake failed (nothing was sent, not even the login), else None.

    aiosmtplib wraps the ssl error of an implicit-TLS connection in SMTPConnectError and raises STARTTLS's as is.
    Only OpenSSL's own words are kept (e.g. "unable to get local issuer certificate"): they hold no secret.
    """
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 3:
        if isinstance(seen, ssl.SSLCertVerificationError):
            why = seen.verify_message or seen.reason or "verification failed"
            return f"TLS certificate of the SMTP server not trusted: {why}"
        if isinstance(seen, ssl.SSLError):
            return f"TLS handshake with the SMTP server failed: {seen.reason or type(seen).__name__}"
        seen = seen.__cause__ or seen.__context__
        depth += 1
    return None


def _client(config: SmtpConfig) -> aiosmtplib.SMTP:
    # The system's trusted CAs, certificate and host name always checked; a private CA is trusted through the
    # standard SSL_CERT_FILE / SSL_CERT_DIR environment variables, which OpenSSL reads here.
    tls_context = ssl.create_default_context() if config.security != "none" else None
    return aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.security == "tls",
        start_tls=config.security == "starttls",
        tls_context=tls_context,
        timeout=config.timeout,
        local_hostname=config.local_hostname,
    )


async def send_message(
    config: SmtpConfig,
    raw: bytes,
    mail_from: str,
    recipients: Sequence[str],
    *,
    checkpoint: Checkpoint | None = None,
) -> SmtpReply:
    """Deliver `raw` to every recipient in one SMTP transaction; return the server's final reply.

    Raises TemporaryDeliveryError, PermanentDeliveryError or UncertainDeliveryError. `checkpoint(name)` is called at
    "data_half" (half of the message data written): a hook for crash tests, None in production.
    """
    if not recipients:
        raise PermanentDeliveryError("no recipient")
    smtp = _client(config)
    data_written = False
    try:
        try:
            await smtp.connect()
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                await smtp.login(config.username, password)
            await smtp.mail(mail_from)
            refused: list[SmtpReply] = []
            for rcpt in recipients:
                try:
                    await smtp.rcpt(rcpt)
                except SMTPResponseException as exc:
                    refused.append(_reply(exc))
            if refused:
                # Never deliver to part of the recipients: a retry would then send the others a duplicate.
                worst = max(refused, key=lambda r: r.code)
                raise _classify(worst, "recipient refused")
            start = await smtp.execute_command(b"DATA")
            if start.code != 354:
                raise _classify(SmtpReply(start.code, start.message), "DATA refused")
            protocol = smtp.protocol
            if protocol is None:
                raise TemporaryDeliveryError("connection lost before the message data")
            payload = _data_payload(raw)
            half = len(payload) // 2
            # From the first byte of data on, a lost connection means "unknown": the server may have it all.
            data_written = True
            # aiosmtplib only pairs a reply with a command it is waiting for; this is how its own DATA marks it.
            protocol._response_pending = True
            protocol.write(payload[:half])
            if checkpoint is not None:
                checkpoint("data_half")
            protocol.write(payload[half:])
            final = await protocol.read_response(timeout=config.timeout)
            reply = SmtpReply(final.code, final.message)
            if final.code != 250:
                raise _classify(reply, "message refused")
        except DeliveryError:
            raise
        except SMTPResponseException as exc:
            if exc.code < 0 and data_written:
                raise UncertainDeliveryError(f"no reply after the message data ({type(exc).__name__})") from None
            if exc.code < 0:
                raise TemporaryDeliveryError(f"SMTP error before the message data ({type(exc).__name__})") from None
            raise _classify(_reply(exc), "SMTP") from None
        except (SMTPException, OSError, TimeoutError) as exc:
            # The exception text is not echoed: some carry the server's banner or the login exchange.
            if data_written:
                raise UncertainDeliveryError(f"connection lost after the message data ({type(exc).__name__})") from None
            tls = _tls_failure(exc)
            if tls is not None:
                raise TemporaryDeliveryError(tls) from None
            raise TemporaryDeliveryError(f"connection failed before the message data ({type(exc).__name__})") from None
    finally:
        await _close(smtp)
    return reply


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """QUIT politely when still connected; a failure here changes nothing to the outcome."""
    if smtp.is_connected:
        try:
            await asyncio.wait_for(smtp.quit(), timeout=5)
        except (SMTPException, OSError, TimeoutError):
            smtp.close()
