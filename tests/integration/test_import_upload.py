"""/import in the chat: a file whose size Telegram did not announce is streamed with a cap and dropped as soon as
it passes the limit; a small one is imported; the invoice_pdf column is refused from the chat."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from bot.download import CHUNK, DownloadError, TooBigError, stream_capped
from services.core import MAX_UPLOAD_BYTES
from storage.db import make_engine, read_session
from storage.models import EvidenceEntry, Invoice
from tests.bot_harness import OWNER, BotHarness, RecordingDelivery, bot_settings, start_harness, stop_harness

TOKEN = "123456:TEST-token"
LIMIT = 5 * 1024 * 1024
GOOD_CSV = (
    b"invoice_number;client_name;client_email;issue_date;due_date;amount\n"
    b"F-1;Menuiserie Faure;compta@faure.example;01/10/2026;31/10/2026;1 200,00\n"
)


def _chunks(total: int, counter: list[int]) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            counter[0] += 1
            piece = b"x" * min(CHUNK, total - sent)
            sent += len(piece)
            yield piece

    return gen()


async def test_unannounced_size_is_dropped_as_soon_as_it_passes_the_limit() -> None:
    """A 19 MB body without Content-Length: reading stops one chunk past 5 MB, the rest is never asked for."""
    produced = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_chunks(19 * 1024 * 1024, produced))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TooBigError) as caught:
            await stream_capped("http://files.test/big.csv", LIMIT, client=client)
    assert LIMIT < caught.value.received <= LIMIT + CHUNK
    assert produced[0] <= LIMIT // CHUNK + 2  # 19 MB would be 304 chunks


async def test_announced_length_over_the_limit_reads_no_body() -> None:
    """A Content-Length over the limit is refused before any byte of the body is read."""
    produced = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        size = 19 * 1024 * 1024
        return httpx.Response(200, headers={"content-length": str(size)}, content=_chunks(size, produced))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TooBigError):
            await stream_capped("http://files.test/big.csv", LIMIT, client=client)
    assert produced[0] == 0


async def test_failed_download_never_shows_the_url_with_the_token() -> None:
    """An HTTP error or a network failure is a DownloadError whose text does not contain the bot token."""
    url = f"http://files.test/file/bot{TOKEN}/documents/a.csv"

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(404))) as client:
        with pytest.raises(DownloadError) as not_found:
            await stream_capped(url, LIMIT, client=client)

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(broken)) as client:
        with pytest.raises(DownloadError) as unreachable:
            await stream_capped(url, LIMIT, client=client)
    for exc in (not_found.value, unreachable.value):
        assert "TEST-token" not in str(exc) and "123456" not in str(exc)


class _FileServer:
    """A loopback HTTP server standing in for Telegram's file URL: chunked bodies, no Content-Length."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.sent = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        path = request.split(b" ", 2)[1].decode()
        body = self.bodies.get(path.rsplit("/", 1)[-1].removesuffix(".csv"))
        try:
            if body is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                for i in range(0, len(body), CHUNK):
                    piece = body[i : i + CHUNK]
                    writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    await writer.drain()
                    self.sent += len(piece)
                writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass  # the client hung up: what a capped download does
        finally:
            writer.close()


@pytest.fixture
async def unannounced(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[BotHarness, _FileServer]]:
    """The in-process bot whose file URL is a loopback server, and whose getFile announces no size."""
    files = _FileServer()
    await files.start()
    engine = make_engine(sqlite_url)
    settings = bot_settings(sqlite_url, tmp_path, date(2026, 11, 24), TELEGRAM_API_URL=files.url)
    harness = await start_harness(engine, settings, RecordingDelivery())
    original = harness.api._result

    def no_size(name: str, params: dict[str, Any]) -> Any:
        result = original(name, params)
        if name == "getFile":
            result.pop("file_size", None)
        return result

    harness.api._result = no_size  # type: ignore[method-assign]
    try:
        yield harness, files
    finally:
        await stop_harness(harness)
        engine.dispose()
        await files.close()


_ids = itertools.count(50_000)


async def _upload(harness: BotHarness, file_id: str, name: str = "factures.csv") -> str:
    """The owner sends a document whose size is not announced; returns the bot's last reply."""
    harness.api.files[file_id] = b""  # getFile needs an entry; the bytes come from the file server
    await harness.owner.feed(
        {
            "message": {
                "message_id": next(_ids),
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": OWNER, "type": "private"},
                "from": {"id": OWNER, "is_bot": False, "first_name": "Marie", "language_code": "fr"},
                "document": {"file_id": file_id, "file_unique_id": file_id, "file_name": name},
            }
        }
    )
    return str(harness.api.of("sendMessage")[-1].params["text"])


async def test_chat_upload_of_unannounced_size_over_the_limit_is_refused(
    unannounced: tuple[BotHarness, _FileServer],
) -> None:
    """A 19 MB CSV of unannounced size: the French "5 Mo au plus" refusal, nothing imported, no evidence entry."""
    harness, files = unannounced
    files.bodies["big"] = b"invoice_number;client_name;issue_date;due_date;amount\n" + b"x" * (19 * 1024 * 1024)
    reply = await _upload(harness, "big")
    assert "5 Mo au plus" in reply and "Rien n'a été importé" in reply
    assert files.sent < 19 * 1024 * 1024
    with read_session(harness.engine) as s:
        assert s.exec(select(Invoice)).all() == []
        assert [e for e in s.exec(select(EvidenceEntry)).all() if e.kind == "import"] == []


async def test_chat_upload_of_unannounced_size_under_the_limit_is_imported(
    unannounced: tuple[BotHarness, _FileServer],
) -> None:
    """A small CSV of unannounced size is streamed whole and imported."""
    harness, files = unannounced
    files.bodies["good"] = GOOD_CSV
    reply = await _upload(harness, "good")
    assert "Import terminé" in reply, reply
    with read_session(harness.engine) as s:
        assert [i.number for i in s.exec(select(Invoice)).all()] == ["F-1"]


async def test_chat_refuses_the_invoice_pdf_column_with_its_line(
    unannounced: tuple[BotHarness, _FileServer],
) -> None:
    """From the chat an invoice_pdf path is a line-numbered refusal saying to use `relance import`; nothing
    written."""
    harness, files = unannounced
    files.bodies["pdf"] = (
        b"invoice_number;client_name;issue_date;due_date;amount;invoice_pdf\n"
        b"F-1;Menuiserie Faure;01/10/2026;31/10/2026;1 200,00;/etc/hostname\n"
    )
    reply = await _upload(harness, "pdf")
    assert "Import refusé" in reply and "ligne 2" in reply and "relance import" in reply
    with read_session(harness.engine) as s:
        assert s.exec(select(Invoice)).all() == []


def test_limit_is_the_documented_five_megabytes() -> None:
    """The cap the handler applies is the 5 MB the /import prompt announces."""
    assert MAX_UPLOAD_BYTES == LIMIT
