"""The IMAP side of the mailbox where clients' answers arrive: the account (MailboxConfig) and a thin, blocking
session over `imapclient` that only reads, and sets the \\Seen flag when asked. Nothing else is ever changed.

Blocking on purpose (imapclient is synchronous): services.mailbox runs it in a worker thread. Messages are read
with BODY.PEEK (reading never marks a message seen) and their size is checked before their body is fetched, so a
huge message is never loaded whole.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

import imapclient
from imapclient.exceptions import IMAPClientError, LoginError
from pydantic import SecretStr

__all__ = [
    "ImapAuthError",
    "ImapError",
    "ImapSession",
    "MailboxConfig",
    "MessageHead",
]

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    """Where clients' replies arrive; the password stays a SecretStr (never printed, never in a repr)."""

    host: str
    port: int = 993
    username: str = ""
    password: SecretStr | None = None
    security: Security = "tls"
    folder: str = "INBOX"
    mark_seen: bool = True
    timeout: float = 30.0
    #: Tests (a self-signed certificate on loopback): the context used to check the server's certificate.
    ssl_context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return (
            f"MailboxConfig(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"security={self.security!r}, folder={self.folder!r}, mark_seen={self.mark_seen})"
        )


class ImapError(Exception):
    """The mailbox cannot be read now (connection refused or lost, server error): try again later."""


class ImapAuthError(ImapError):
    """The server refused the login: the owner must fix IMAP_USERNAME / IMAP_PASSWORD."""


@dataclass(frozen=True, slots=True)
class MessageHead:
    """A message's UID and size, known before its body is fetched."""

    uid: int
    size: int


class ImapSession:
    """One logged-in connection with the folder selected (read-write only for the \\Seen flag)."""

    def __init__(self, config: MailboxConfig) -> None:
        self.config = config
        self._client: imapclient.IMAPClient | None = None
        self.uidvalidity = 0
        self.can_idle = False

    # --- connection ---

    def open(self) -> ImapSession:
        """Connect, log in and select the folder; ImapAuthError on refused credentials, ImapError otherwise."""
        cfg = self.config
        context = cfg.ssl_context or ssl.create_default_context()
        try:
            client = imapclient.IMAPClient(
                cfg.host,
                port=cfg.port,
                ssl=cfg.security == "tls",
                ssl_context=context if cfg.security == "tls" else None,
                timeout=cfg.timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise ImapError(f"cannot connect to {cfg.host}:{cfg.port}: {_reason(exc)}") from None
        self._client = client
        try:
            if cfg.security == "starttls":
                client.starttls(context)
            password = cfg.password.get_secret_value() if cfg.password is not None else ""
            try:
                client.login(cfg.username, password)
            except LoginError:
                raise ImapAuthError(f"{cfg.host}: login refused for {cfg.username}") from None
            selected = client.select_folder(cfg.folder)
            self.uidvalidity = int(selected.get(b"UIDVALIDITY", 0))
            self.can_idle = client.has_capability("IDLE")
        except ImapAuthError:
            self.close()
            raise
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            self.close()
            raise ImapError(f"{cfg.host}:{cfg.port}: {_reason(exc)}") from None
        return self

    def close(self) -> None:
        """Log out (best effort) and drop the connection."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may already be gone: nothing left to tidy
            with contextlib.suppress(Exception):  # closing a dead socket
                client.shutdown()

    def interrupt(self) -> None:
        """Break a blocking IDLE from another thread (the connection is unusable afterwards)."""
        client = self._client
        if client is not None:
            with contextlib.suppress(OSError):
                client.socket().shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ImapSession:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            raise ImapError("not connected")
        return self._client

    # --- reading ---

    def new_messages(self, after_uid: int, since: date | None = None) -> list[MessageHead]:
        """The messages with a UID above `after_uid` (or, without a cursor yet, received since `since`), oldest
        first, with their sizes."""
        try:
            criteria: list[object] = ["UID", f"{after_uid + 1}:*"] if after_uid else ["ALL"]
            if not after_uid and since is not None:
                criteria = ["SINCE", since]
            uids = [u for u in self.client.search(criteria) if u > after_uid]
            if not uids:
                return []
            heads = []
            for chunk in _chunks(sorted(uids), 500):
                sizes = self.client.fetch(chunk, ["RFC822.SIZE"])
                heads += [MessageHead(uid, int(data.get(b"RFC822.SIZE", 0))) for uid, data in sizes.items()]
            return sorted(heads, key=lambda h: h.uid)
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"search failed: {_reason(exc)}") from None

    def fetch_headers(self, uids: list[int]) -> dict[int, bytes]:
        """The header section of each message (BODY.PEEK[HEADER]: flags left alone), by UID; gone ones left out."""
        found: dict[int, bytes] = {}
        try:
            for chunk in _chunks(uids, 200):
                for uid, data in self.client.fetch(chunk, ["BODY.PEEK[HEADER]"]).items():
                    header = data.get(b"BODY[HEADER]")
                    if header is not None:
                        found[uid] = bytes(header)
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"fetch of headers failed: {_reason(exc)}") from None
        return found

    def fetch_raw(self, uid: int) -> bytes | None:
        """The whole message (read with BODY.PEEK: its flags are left alone), or None when it is gone."""
        try:
            data = self.client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"fetch of message {uid} failed: {_reason(exc)}") from None
        if not data:
            return None
        raw = data.get(b"BODY[]")
        return bytes(raw) if raw is not None else None

    def mark_seen(self, uid: int) -> None:
        """Set \\Seen on one message (the only change Relance ever makes to the mailbox)."""
        try:
            self.client.add_flags([uid], [imapclient.SEEN])
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"cannot flag message {uid}: {_reason(exc)}") from None

    def wait_for_news(self, timeout: float) -> bool:
        """IDLE until the server reports a change or `timeout` seconds pass; True when something changed. Without
        IDLE, a NOOP after sleeping is the caller's business (polling)."""
        client = self.client
        try:
            client.idle()
            try:
                responses = client.idle_check(timeout=timeout)
            finally:
                client.idle_done()
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"IDLE failed: {_reason(exc)}") from None
        return bool(responses)

    def noop(self) -> None:
        """Keep the connection alive and check it still is."""
        try:
            self.client.noop()
        except (OSError, IMAPClientError, ssl.SSLError) as exc:
            raise ImapError(f"connection lost: {_reason(exc)}") from None


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(exc: BaseException) -> str:
    """A short reason for the log, never holding the password (imapclient never echoes it)."""
    if isinstance(exc, socket.timeout):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text[:200]
