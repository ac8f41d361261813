"""A database failing during the day: one log line per outage (not one per job run), one when it is back, and the
next run tries again; only connection failures count as an outage, a bug still raises."""

from __future__ import annotations

import logging
import socket
from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.outage import Outage
from bot.runtime import Runtime
from bot.sender import Sender
from messages.delivery import SmtpConfig
from storage.db import database_unreachable, describe_database_error, make_engine, safe_url


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dead_url() -> str:
    return f"postgresql+psycopg://relance:pw-secret@127.0.0.1:{_closed_port()}/relance"


def test_outage_logs_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    """Three failures make one warning, the recovery one line, a new outage a new warning."""
    outage = Outage("the database", logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        assert outage.failed("refused") is True
        assert outage.failed("refused") is False
        assert outage.failed("refused") is False
        assert outage.recovered() is True
        assert outage.recovered() is False
        assert outage.failed("refused again") is True
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "the database unreachable: refused; the next tick tries again",
        lines[1],
        "the database unreachable: refused again; the next tick tries again",
    ]
    assert lines[1].startswith("the database reachable again after") and "(3 failed tries)" in lines[1]


def test_unreachable_postgres_is_recognised_and_described_without_password() -> None:
    """A connection refused is an outage, described by the driver's first line; the URL is shown masked."""
    url = _dead_url()
    engine = make_engine(url, migrate=False)
    try:
        with pytest.raises(Exception) as caught, engine.connect() as conn:
            conn.execute(text("select 1"))
    finally:
        engine.dispose()
    assert database_unreachable(caught.value)
    described = describe_database_error(caught.value)
    assert "\n" not in described and "pw-secret" not in described and "select" not in described.lower()
    assert safe_url(url).startswith("postgresql+psycopg://relance:***@127.0.0.1:")
    assert not database_unreachable(IntegrityError("insert", {}, Exception("duplicate key")))
    assert not database_unreachable(ValueError("a bug"))


async def test_sender_ticks_against_a_dead_database_log_once(caplog: pytest.LogCaptureFixture) -> None:
    """Every tick of the sender fails on a database that does not answer: one warning, no traceback, no raise."""
    engine = make_engine(_dead_url(), migrate=False)
    sender = Sender(engine, SmtpConfig(host="127.0.0.1", port=_closed_port(), security="none"), business_id=1)
    try:
        with caplog.at_level(logging.DEBUG, logger="bot.sender"):
            for _ in range(3):
                assert await sender.tick() == []
    finally:
        engine.dispose()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert sender.database.down and sender.database.failures == 3


async def test_scheduled_job_on_a_dead_database_logs_once_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    """The runtime's job wrapper: a connection failure is logged once and the job returns (the next run retries);
    /healthz's tick is not recorded meanwhile; a success ends the outage; any other error still raises."""
    engine = make_engine(_dead_url(), migrate=False)
    ticks: list[int] = []
    owner = SimpleNamespace(database=Outage("the database", logging.getLogger("bot.runtime")))
    ok = False

    async def work() -> object:
        if ok:
            return "done"
        with engine.connect() as conn:
            return conn.execute(text("select 1"))

    job = Runtime._recording(owner, work, lambda: ticks.append(1))  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO, logger="bot.runtime"):
            for _ in range(4):
                assert await job() is None
            assert ticks == []
            ok = True
            assert await job() == "done"
    finally:
        engine.dispose()
    assert ticks == [1]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "unreachable" in messages[0] and "reachable again" in messages[1]

    async def bug() -> object:
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await Runtime._recording(owner, bug, lambda: None)()  # type: ignore[arg-type]
