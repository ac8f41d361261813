"""A scriptable SMTP server on loopback (aiosmtpd) that records what it receives.

Each DATA transaction consumes the next scripted action: "250" (accept), "421", "450", "550" (answer that code),
"drop" (read the whole message, then close the connection without answering). With no script left it accepts.
`drop_at_rcpt(address)` closes the connection when RCPT TO names that address (before any message data).

`SilentSmtpServer` is a bare socket server that falls silent at a chosen moment (never greets, or swallows the
message and never answers it): what a hung server looks like to the client's timeout.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any, Literal, Self

from aiosmtpd.controller import Controller

_ANSWERS = {
    "250": "250 2.0.0 Ok: queued as {n}",
    "421": "421 4.3.2 Service not available, closing channel",
    "450": "450 4.2.0 Mailbox temporarily unavailable",
    "550": "550 5.1.1 Recipient address rejected: user unknown",
}


@dataclass
class Received:
    """One DATA transaction as the server saw it."""

    action: str
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message_id(self) -> str:
        """The Message-ID header of the message."""
        return str(message_from_bytes(self.data).get("Message-ID", ""))


@dataclass
class _Handler:
    script: deque[str] = field(default_factory=deque)
    transactions: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refused_recipients: set[str] = field(default_factory=set)
    dropped_recipients: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.dropped_recipients:
            server.transport.abort()
            return "451 4.3.0 dropped"
        if address in self.refused_recipients:
            return "550 5.1.1 Recipient address rejected: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            action = self.script.popleft() if self.script else "250"
            data = envelope.original_content or envelope.content or b""
            if isinstance(data, str):
                data = data.encode()
            self.transactions.append(Received(action, str(envelope.mail_from), list(envelope.rcpt_tos), data))
            number = len(self.transactions)
        if action == "drop":
            server.transport.abort()
            # aiosmtpd writes this to a closed transport: the client never sees it.
            return "451 4.3.0 dropped"
        return _ANSWERS[action].format(n=number)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackSmtp:
    """aiosmtpd on 127.0.0.1 with `handler`, on a free port: `with Server(...) as smtp:` starts and stops it."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.port = free_port()
        self._controller = Controller(handler, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class ScriptedSmtpServer(LoopbackSmtp):
    """Start with `with ScriptedSmtpServer() as smtp:`; `smtp.port`, `smtp.script(...)`, `smtp.accepted`."""

    def __init__(self) -> None:
        super().__init__(_Handler())

    def script(self, *actions: str) -> None:
        """Queue the answers to the next DATA transactions."""
        for action in actions:
            if action not in _ANSWERS and action != "drop":
                raise ValueError(f"unknown action {action}")
        with self.handler.lock:
            self.handler.script.extend(actions)

    def refuse_recipient(self, address: str) -> None:
        """Answer 550 to RCPT TO for this address."""
        self.handler.refused_recipients.add(address)

    def drop_at_rcpt(self, address: str) -> None:
        """Close the connection, without an answer, when RCPT TO names this address."""
        self.handler.dropped_recipients.add(address)

    @property
    def transactions(self) -> list[Received]:
        """Every DATA transaction so far, whatever the answer."""
        with self.handler.lock:
            return list(self.handler.transactions)

    @property
    def accepted(self) -> list[Received]:
        """The messages answered with 250."""
        return [t for t in self.transactions if t.action == "250"]


class SilentSmtpServer:
    """A socket server on loopback that never answers at `silent_at`: "greeting" or "after_data".

    "after_data" speaks plain SMTP up to the end of the message ("." line), then says nothing more. `messages`
    holds what it swallowed. Use as `with SilentSmtpServer("greeting") as server:`.
    """

    def __init__(self, silent_at: Literal["greeting", "after_data"]) -> None:
        self.silent_at = silent_at
        self.messages: list[bytes] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []

    def __enter__(self) -> SilentSmtpServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        # A short accept timeout: closing a listening socket does not wake a blocked accept() on Linux.
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            if self.silent_at == "after_data":
                self._converse(conn)
            self._stop.wait()

    def _converse(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 silent.example ESMTP\r\n")
        while True:
            line = reader.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 silent.example\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                message = bytearray()
                while (data_line := reader.readline()) not in (b".\r\n", b""):
                    # Undo the client's dot-stuffing (RFC 5321 section 4.5.2), as a real server does.
                    message += data_line[1:] if data_line.startswith(b".") else data_line
                self.messages.append(bytes(message))
                return  # and never answer
            else:
                conn.sendall(b"250 Ok\r\n")
