"""The process's health for its supervisor (`GET /healthz`): the database reachable now, and the scheduler alive
(the last digest check and the last outbox sender tick, recorded by the runtime).

200 with `"status": "ok"` when healthy; 503 with `"status": "unhealthy"` when the database does not answer within
PING_TIMEOUT or a tick is older than STALE_AFTER. The JSON holds no secret: no URL, no token, only error class names.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.ping import DatabasePing

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

PATH = "/healthz"
#: How long the database may take to answer the check's SELECT.
PING_TIMEOUT = 2.0
#: A digest check (every minute) or a sender tick older than this means the scheduler is stuck.
STALE_AFTER = 180.0


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


class Health:
    """What /healthz reports; the runtime records its ticks here (`digest_checked`, `sender_ticked`)."""

    def __init__(self, database_url: str, *, clock: Callable[[], float] = time.time) -> None:
        self._ping = DatabasePing(database_url, timeout=PING_TIMEOUT)
        self._clock = clock
        self.started = clock()
        self.last_digest_check: float | None = None
        self.last_sender_tick: float | None = None
        #: Whether the process runs a sender (SMTP_HOST): without one there is no tick to watch.
        self.sender_expected = False

    def digest_checked(self) -> None:
        """The digest check has just completed."""
        self.last_digest_check = self._clock()

    def sender_ticked(self) -> None:
        """The outbox sender's tick has just completed."""
        self.last_sender_tick = self._clock()

    def _tick(self, last: float | None, now: float) -> dict[str, Any]:
        # Before the first tick, the process's start is the reference: a fresh process is not reported stale.
        age = now - (last if last is not None else self.started)
        return {"last": _iso(last), "age_seconds": round(age, 1), "ok": age <= STALE_AFTER}

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, the JSON body)."""
        try:
            error = await asyncio.wait_for(asyncio.to_thread(self._ping.ping), PING_TIMEOUT + 1)
        except TimeoutError:
            error = "timeout"
        now = self._clock()
        body: dict[str, Any] = {
            "database": {"ok": error is None, "error": error},
            "digest_check": self._tick(self.last_digest_check, now),
            "sender_tick": self._tick(self.last_sender_tick, now) if self.sender_expected else None,
            "checked_at": _iso(now),
        }
        healthy = error is None and body["digest_check"]["ok"] and (body["sender_tick"] or {"ok": True})["ok"]
        body["status"] = "ok" if healthy else "unhealthy"
        return healthy, body

    async def handle(self, request: web.Request) -> web.Response:
        """GET /healthz."""
        from aiohttp import web  # only when a server runs: not loaded at every start

        healthy, body = await self.report()
        if not healthy:
            log.warning("health check failed: %s", _reasons(body))
        return web.json_response(body, status=200 if healthy else 503)

    def close(self) -> None:
        """Release the database check's connection pool."""
        self._ping.close()


def _reasons(body: dict[str, Any]) -> str:
    reasons = []
    if not body["database"]["ok"]:
        reasons.append(f"database unreachable ({body['database']['error']})")
    for name in ("digest_check", "sender_tick"):
        tick = body[name]
        if tick is not None and not tick["ok"]:
            reasons.append(f"{name} stale ({tick['age_seconds']} s)")
    return ", ".join(reasons)


class HttpServer:
    """An aiohttp application on host:port in the running loop (`port` 0 picks a free one, then `port` says which)."""

    def __init__(self, application: web.Application, host: str, port: int, what: str) -> None:
        self.application = application
        self.host = host
        self.port = port
        self.what = what
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen (OSError when the address is taken)."""
        from aiohttp import web  # only when a server runs: not loaded at every start

        self._runner = web.AppRunner(self.application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self.stop()
            raise
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        log.info("%s listening on %s:%s", self.what, self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def health_application(health: Health) -> web.Application:
    """An application serving GET /healthz only (HEALTH_PORT)."""
    from aiohttp import web  # only when a server runs: not loaded at every start

    application = web.Application(client_max_size=1024)
    application.router.add_get(PATH, health.handle)
    return application
