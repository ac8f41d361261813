"""Hand one ready MIME message to the SMTP server and say precisely how far it got.

The outcome matters more than usual: a reply code is a clear answer (2xx sent, 4xx try later, 5xx refused), but a
connection lost (or a server fallen silent) once the message data has started leaves the result unknown, and such a
message must never be re-sent automatically (the owner would look careless with a duplicate). Only aiosmtplib's
public API is used (connect, login, mail, rcpt, data); the library does the dot-stuffing.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import aiosmtplib
from aiosmtplib import SMTPException, SMTPResponseException
from pydantic import SecretStr

from messages.addresses import InvalidAddressError, normalize_email

Security = Literal["none", "starttls", "tls"]
Checkpoint = Callable[[str], None]


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

    def __init__(self, reason: str, reply: SmtpReply | None = None, *, account: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        #: The server refused the account, not the message (the login, or "530 authentication required" before the
        #: message data): nothing was sent, and every message would get the same answer until the settings change.
        self.account = account

    @property
    def line(self) -> str:
        """What to show and record: the server's reply line, or the reason when the server said nothing."""
        return self.reply.line if self.reply else self.reason


class TemporaryDeliveryError(DeliveryError):
    """4xx reply, or no connection before the message data was sent: nothing was delivered, try again later."""


class PermanentDeliveryError(DeliveryError):
    """5xx reply: the server refused the message; trying again would get the same answer."""


class UncertainDeliveryError(DeliveryError):
    """The connection broke, or the server fell silent, once the message data had started: maybe accepted, maybe not."""


def _reply(exc: SMTPResponseException) -> SmtpReply:
    return SmtpReply(int(exc.code), str(exc.message))


def _classify(reply: SmtpReply, stage: str, *, account: bool = False) -> DeliveryError:
    reason = f"{stage}: {reply.line}"
    if 400 <= reply.code < 500:
        return TemporaryDeliveryError(reason, reply, account=account)
    return PermanentDeliveryError(reason, reply, account=account)


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

    Raises TemporaryDeliveryError, PermanentDeliveryError or UncertainDeliveryError. `checkpoint(name)` is called
    with "data_half" just before the message data goes out (from there on a lost connection is "unknown"): a hook
    for crash tests, None in production.
    """
    if not recipients:
        raise PermanentDeliveryError("no recipient")
    try:
        envelope_from = normalize_email(mail_from, field="mail_from")
        envelope_to = [normalize_email(rcpt, field="recipients") for rcpt in recipients]
    except InvalidAddressError as exc:
        # The outbox only holds checked addresses; this guards a row written before the check existed.
        raise PermanentDeliveryError(str(exc)) from None
    smtp = _client(config)
    data_started = False
    try:
        try:
            await smtp.connect()
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                try:
                    await smtp.login(config.username, password)
                except SMTPResponseException as exc:
                    if exc.code < 0:
                        raise TemporaryDeliveryError(f"SMTP error during login ({type(exc).__name__})") from None
                    # The account's fault, not the message's (e.g. 535 wrong password): said once to the owners by
                    # the sender, the messages wait in the queue (services.outbox).
                    raise _classify(_reply(exc), "login refused", account=True) from None
            await smtp.mail(envelope_from)
            refused: list[SmtpReply] = []
            for rcpt in envelope_to:
                try:
                    await smtp.rcpt(rcpt)
                except SMTPResponseException as exc:
                    refused.append(_reply(exc))
            if refused:
                # Never deliver to part of the recipients: a retry would then send the others a duplicate.
                worst = max(refused, key=lambda r: r.code)
                raise _classify(worst, "recipient refused")
            if not smtp.is_connected:
                raise TemporaryDeliveryError("connection lost before the message data")
            if checkpoint is not None:
                checkpoint("data_half")
            # smtp.data() sends DATA, then the message (the library does the dot-stuffing and the CRLF line ends),
            # then reads the final reply. Its public API does not say whether the message itself had started to
            # go out when the connection broke, so from here on a lost connection or a silence counts as "unknown":
            # a possible duplicate is worse than asking the owner. A reply code stays a clear answer.
            data_started = True
            final = await smtp.data(raw)
            reply = SmtpReply(final.code, final.message)
        except DeliveryError:
            raise
        except SMTPResponseException as exc:
            # A negative code is aiosmtplib's own (e.g. a garbled or over-long reply), not the server's answer.
            if exc.code < 0 and data_started:
                raise UncertainDeliveryError(f"no valid reply to the message data ({type(exc).__name__})") from None
            if exc.code < 0:
                raise TemporaryDeliveryError(f"SMTP error before the message data ({type(exc).__name__})") from None
            stage = "message refused" if data_started else "SMTP"
            # 530 before the message data: the server wants a login (or STARTTLS) the settings do not give.
            raise _classify(_reply(exc), stage, account=not data_started and exc.code == 530) from None
        except (SMTPException, OSError, TimeoutError) as exc:
            # The exception text is not echoed: some carry the server's banner or the login exchange.
            if data_started:
                raise UncertainDeliveryError(
                    f"connection lost during or after the message data ({type(exc).__name__})"
                ) from None
            raise _unreachable(exc, "connection failed before the message data") from None
    finally:
        await _close(smtp)
    return reply


async def check_login(config: SmtpConfig) -> SmtpReply:
    """Connect (TLS as configured), log in when a user name is set, and quit without sending anything.

    Return the server's answer to the login (or to the greeting without login). Raise PermanentDeliveryError when
    the server refuses the credentials (5xx), TemporaryDeliveryError when it cannot be reached or answers 4xx. The
    password never appears in the error: only the reply code and the server's own text do.
    """
    smtp = _client(config)
    try:
        try:
            greeting = await smtp.connect()
            reply = SmtpReply(greeting.code, greeting.message)
            if config.username:
                password = config.password.get_secret_value() if config.password else ""
                answer = await smtp.login(config.username, password)
                reply = SmtpReply(answer.code, answer.message)
        except SMTPResponseException as exc:
            if exc.code < 0:
                raise TemporaryDeliveryError(f"SMTP error during login ({type(exc).__name__})") from None
            raise _classify(_reply(exc), "login refused") from None
        except SMTPException as exc:
            # e.g. "no AUTH method the server supports": aiosmtplib's own text, which never holds the password.
            raise PermanentDeliveryError(f"login impossible: {exc}") from None
        except (OSError, TimeoutError) as exc:
            raise _unreachable(exc, "cannot connect to the SMTP server") from None
    finally:
        await _close(smtp)
    return reply


def _unreachable(exc: BaseException, what: str) -> TemporaryDeliveryError:
    """The server could not be reached: a TLS failure said as such, else `what` and the exception's type (its
    text is not echoed: some carry the server's banner or the login exchange)."""
    tls = _tls_failure(exc)
    return TemporaryDeliveryError(tls if tls is not None else f"{what} ({type(exc).__name__})")


async def _close(smtp: aiosmtplib.SMTP) -> None:
    """QUIT politely when still connected; a failure here changes nothing to the outcome."""
    if smtp.is_connected:
        try:
            await asyncio.wait_for(smtp.quit(), timeout=5)
        except (SMTPException, OSError, TimeoutError):
            smtp.close()
