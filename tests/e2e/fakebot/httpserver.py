"""A small HTTP/1.1 server on asyncio streams (keep-alive, JSON, form and multipart bodies): enough for PTB's httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qsl, unquote, urlsplit

log = logging.getLogger(__name__)

MAX_BODY = 60 * 1024 * 1024  # Telegram accepts uploads up to 50 MB.
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict", 413: "Too Large"}


@dataclass
class UploadedFile:
    """One file part of a multipart body."""

    filename: str
    content_type: str
    content: bytes


@dataclass
class Request:
    """A parsed HTTP request; `params` merges the query string and the body (JSON, form or multipart)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, object] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


@dataclass
class Response:
    """An HTTP response."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, payload: object, status: int = 200) -> Response:
        """A JSON response."""
        return cls(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


Handler = Callable[[Request], Awaitable[Response]]


class BadBody(ValueError):
    """The body cannot be parsed."""


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    msg = Message()
    msg["content-type"] = value
    params = {k.lower(): v for k, v in msg.get_params(failobj=[])[1:]}
    return msg.get_content_type(), params


def _disposition(value: str) -> dict[str, str]:
    msg = Message()
    msg["content-disposition"] = value
    params = msg.get_params(header="content-disposition", failobj=[])
    return {k.lower(): str(v) for k, v in params[1:]}


def parse_body(content_type_header: str, body: bytes) -> tuple[dict[str, object], dict[str, UploadedFile]]:
    """Parse a JSON, form-encoded or multipart body into parameters and files."""
    if not body:
        return {}, {}
    content_type, ctparams = _header_params(content_type_header or "application/octet-stream")
    if content_type == "application/json":
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise BadBody("invalid JSON") from exc
        if not isinstance(payload, dict):
            raise BadBody("JSON body is not an object")
        return payload, {}
    if content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True)), {}
    if content_type == "multipart/form-data":
        boundary = ctparams.get("boundary")
        if not boundary:
            raise BadBody("multipart body without boundary")
        return _parse_multipart(body, boundary.encode("latin-1"))
    raise BadBody(f"unsupported content type {content_type}")


def _parse_multipart(body: bytes, boundary: bytes) -> tuple[dict[str, object], dict[str, UploadedFile]]:
    params: dict[str, object] = {}
    files: dict[str, UploadedFile] = {}
    delimiter = b"--" + boundary
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise BadBody("multipart part without headers")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _disposition(headers.get("content-disposition", ""))
        field_name = disposition.get("name")
        if not field_name:
            raise BadBody("multipart part without a name")
        if "filename" in disposition:
            files[field_name] = UploadedFile(
                disposition["filename"], headers.get("content-type", "application/octet-stream"), content
            )
        else:
            params[field_name] = content.decode("utf-8")
    return params, files


class HttpServer:
    """Serve `handler` on 127.0.0.1; port 0 picks a free port (see `port` after `start`)."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._serve, self._host, self._port)

    async def close(self) -> None:
        """Stop listening and end every open connection (pending long polls included)."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Ended by close(): finish normally, since asyncio's stream callback chokes on a cancelled task (3.11).
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        try:
            method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        except ValueError:
            await self._write(
                writer, Response.json({"ok": False, "error_code": 400, "description": "Bad Request"}, 400)
            )
            return False
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await self._read_body(reader, headers)
        if body is None:
            await self._write(
                writer, Response.json({"ok": False, "error_code": 413, "description": "Request Entity Too Large"}, 413)
            )
            return False
        split = urlsplit(target)
        request = Request(method.upper(), unquote(split.path), headers, body)
        request.params.update(parse_qsl(split.query, keep_blank_values=True))
        try:
            params, files = parse_body(headers.get("content-type", ""), body)
        except (BadBody, UnicodeDecodeError) as exc:
            log.warning("fake Bot API: unreadable body: %s", exc)
            response = Response.json({"ok": False, "error_code": 400, "description": "Bad Request: invalid body"}, 400)
        else:
            request.params.update(params)
            request.files.update(files)
            response = await self._handler(request)
        await self._write(writer, response)
        keep_alive = version.upper() == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return keep_alive

    @staticmethod
    async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes | None:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            size_total = 0
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size_total += size
                if size_total > MAX_BODY:
                    return None
                parts.append(await reader.readexactly(size))
                await reader.readline()
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            return None
        return await reader.readexactly(length) if length else b""

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response) -> None:
        reason = _REASONS.get(response.status, "Error")
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Connection: keep-alive\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + response.body)
        await writer.drain()
