"""The morning fan-out: N owners' digests through the Telegram adapter against a fake Bot API enforcing Telegram's
flood limits (30 messages a second for the bot, one a second per chat, a 429 with retry_after beyond them).

Target (issue 12 §5 and §8): 10,000 owners at >= 95 % of the 30 messages/s ceiling, 0 lost, 0 duplicates.

The bot side is the real one: the adapter's PTB application with its rate limiter (bot/ratelimit.py) and the
digest's delivery (bot/handlers/digest.py, every chat at once, each in order), over a SQLite business whose owners
are the N chats; each owner gets the digest's header and BENCH_FANOUT_CARDS cards (default 0: one message per owner,
so 10,000 owners take about 10,000 / 30 = 333 s). The fake Bot API runs in a child process (its own core), counts
what it accepted per chat and what it refused with 429; the rate is the messages it accepted over the time between
its first and last acceptance, as a share of 30/s.

Environment: BENCH_FANOUT_OWNERS (default 10000), BENCH_FANOUT_CARDS (default 0).
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import os
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.report import record

CEILING = 30.0
TARGET_SHARE = 95.0
TODAY = date(2026, 11, 24)
FIRST_OWNER = 7_000_000


def owners_of(count: int) -> list[int]:
    """The owners' chat ids."""
    return [FIRST_OWNER + n for n in range(count)]


def serve_fake(owners: list[int], conn: Connection) -> None:
    """The child: the fake Bot API with Telegram's limits; sends its URL, then its counts once told to stop."""
    from tests.e2e.fakebot import DEFAULT_TOKEN, FakeTelegram
    from tests.e2e.fakebot.limits import FloodLimits

    limits = FloodLimits(overall=CEILING, per_chat=1.0)
    server = FakeTelegram(limits=limits)
    account = server.add_bot(DEFAULT_TOKEN)
    for owner in owners:
        account.add_chat(owner, first_name="Claire", language_code="fr")
    server.start_in_thread()
    conn.send(server.url)
    conn.recv()  # the bench is done
    server.stop()
    accepted: Counter[str] = Counter()
    times: dict[str, list[float]] = {}
    refused = 0
    for call in account.calls("sendMessage"):
        if call.status == 429:
            refused += 1
        elif call.ok:
            chat = str(call.params["chat_id"])
            accepted[chat] += 1
            times.setdefault(chat, []).append(call.at)
    stamps = sorted(t for each in times.values() for t in each)
    gaps = [b - a for each in times.values() for a, b in itertools.pairwise(each)]
    conn.send(
        {
            "accepted": dict(accepted),
            "refused": refused,
            "first": stamps[0] if stamps else 0.0,
            "last": stamps[-1] if stamps else 0.0,
            "min_chat_gap": min(gaps) if gaps else None,
            "texts_per_chat": {str(o): [m.text for m in account.history(o)] for o in owners[:3]},
        }
    )


def _seed(engine: Any, business_id: int, cards: int) -> None:
    from storage.db import write_session
    from storage.models import Business
    from tests.factories import make_client, make_invoice

    with write_session(engine) as s:
        business = s.get(Business, business_id)
        assert business is not None
        for n in range(cards):
            client = make_client(s, business, name=f"Client {n}", emails=f"compta{n}@client.example")
            make_invoice(s, client, due=TODAY - timedelta(days=14), amount="1200.00", number=f"F-{n:04d}")


async def fan_out(url: str, owners: list[int], cards: int, workdir: Path) -> tuple[float, int]:
    """The digest to every owner through the adapter; (seconds, 429s the limiter waited out and retried)."""
    from bot.app import TelegramAdapter
    from bot.ratelimit import FloodLimiter
    from storage.db import make_engine
    from tests.bot_harness import RecordingDelivery, bot_settings, make_services

    db = f"sqlite:///{workdir / 'fanout.db'}"
    settings = bot_settings(db, workdir, TODAY, TELEGRAM_API_URL=url, OWNER_CHAT_IDS=",".join(map(str, owners)))
    engine = make_engine(db)
    presenter = make_services(engine, settings, RecordingDelivery())
    _seed(engine, presenter.business_id, cards)
    adapter = TelegramAdapter(settings, presenter.core)
    await adapter.application.initialize()
    try:
        data = adapter.presenter.core.digest(claim=True)
        assert data is not None
        start = time.perf_counter()
        await adapter.deliver_digest(data)
        seconds = time.perf_counter() - start
        limiter = adapter.application.bot.rate_limiter
        assert isinstance(limiter, FloodLimiter)
        return seconds, limiter.retried
    finally:
        await adapter.application.shutdown()
        engine.dispose()


def run(count: int, cards: int) -> dict[str, Any]:
    """The fan-out to `count` owners; its figures."""
    owners = owners_of(count)
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=serve_fake, args=(owners, theirs), daemon=True)
    child.start()
    try:
        url = ours.recv()
        with tempfile.TemporaryDirectory(prefix="relance-fanout-") as tmp:
            seconds, retried = asyncio.run(fan_out(url, owners, cards, Path(tmp)))
        ours.send("done")
        seen = ours.recv()
    finally:
        child.join(30)
        if child.is_alive():
            child.kill()
    expected = 1 + cards
    accepted: dict[str, int] = seen["accepted"]
    lost = sum(max(0, expected - accepted.get(str(o), 0)) for o in owners)
    duplicates = sum(max(0, n - expected) for n in accepted.values())
    messages = sum(accepted.values())
    span = seen["last"] - seen["first"]
    rate = (messages - 1) / span if span > 0 else 0.0
    return {
        "owners": count,
        "messages": messages,
        "seconds": seconds,
        "rate": rate,
        "share": 100.0 * rate / CEILING,
        "lost": lost,
        "duplicates": duplicates,
        "refused": seen["refused"],
        "retried": retried,
        "min_chat_gap": seen["min_chat_gap"],
    }


def main() -> None:
    """Run the fan-out at the configured size and record its figures."""
    count = int(os.environ.get("BENCH_FANOUT_OWNERS", "10000"))
    cards = int(os.environ.get("BENCH_FANOUT_CARDS", "0"))
    r = run(count, cards)
    gap = r["min_chat_gap"]
    print(f"fan-out to {count:,} owners ({1 + cards} message(s) each) against 30 messages/s, 1/s per chat:")
    print(
        f"  {r['messages']:,} messages in {r['seconds']:.1f} s: {r['rate']:.2f}/s = {r['share']:.1f} % of the ceiling"
    )
    print(f"  lost {r['lost']}, duplicates {r['duplicates']}, 429s {r['refused']} (retried {r['retried']})")
    print(f"  smallest gap between two messages of one chat: {'-' if gap is None else f'{gap:.3f} s'}")
    name = f"fan-out: {count:,} owners at 30 messages/s"
    record(
        name, r["share"], "% of ceiling", f">= {TARGET_SHARE:g}", note=f"{r['messages']:,} messages, {1 + cards} each"
    )
    record(f"{name}: lost", r["lost"], "messages", "== 0")
    record(f"{name}: duplicates", r["duplicates"], "messages", "== 0")
    record(f"{name}: 429 answers", r["refused"], "responses", note=f"each waited out and retried ({r['retried']})")


if __name__ == "__main__":
    main()
