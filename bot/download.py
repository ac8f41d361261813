"""Capped downloads of the files owners send (CSV imports), shared by the chat adapters.

A file is never read whole before its size is known: an announced size over the limit is refused before any byte
is read, and a body is streamed and dropped as soon as it passes the limit (a server may announce less than it
sends). Errors never repeat the URL or the headers: they hold the bot's token.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

#: Read granularity of a streamed download: the most that is received past the limit before it is dropped.
CHUNK = 64 * 1024
#: A download that stalls this long is abandoned (the owner can send the file again).
DOWNLOAD_TIMEOUT = 60.0


class TooBigError(Exception):
    """More than the limit was received (or announced); `received` says how much was read before stopping."""

    def __init__(self, received: int) -> None:
        super().__init__(f"over the limit after {received} bytes")
        self.received = received


class DownloadError(Exception):
    """The file could not be fetched; the message never contains the file URL nor the headers."""


def size_text(n: int, lang: str) -> str:
    """A byte count in megabytes, written the owner's way ("5,0 Mo", "5.0 MB")."""
    value = f"{n / (1024 * 1024):.1f}"
    return f"{value} MB" if lang == "en" else f"{value.replace('.', ',')} Mo"


async def stream_capped(
    url: str,
    limit: int,
    *,
    client: httpx.AsyncClient | None = None,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """The body at `url`, read in chunks; TooBigError as soon as more than `limit` bytes came (or were
    announced by Content-Length), DownloadError on any HTTP or network failure (the URL is not repeated)."""
    own = client is None
    http = client if client is not None else httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT)
    try:
        async with http.stream("GET", url, headers=dict(headers or {})) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code}")
            announced = response.headers.get("content-length")
            if announced is not None and announced.isdigit() and int(announced) > limit:
                raise TooBigError(0)
            data = bytearray()
            async for chunk in response.aiter_raw(CHUNK):
                data += chunk
                if len(data) > limit:
                    raise TooBigError(len(data))
            return bytes(data)
    except httpx.HTTPError as exc:
        # httpx puts the URL (with the bot token) in some messages: only the exception's type goes out.
        raise DownloadError(type(exc).__name__) from None
    finally:
        if own:
            await http.aclose()
