"""Card taps through the fake Bot API server on loopback: tap-to-edited-card latency and card-action throughput.

Targets (issue 3): p99 tap-to-edited-card latency <= 100 ms over 1,000 taps; card-action throughput at least half that
of a bare python-telegram-bot bot (answer + edit, no database) against the same fake server, in the same run.

The Relance bot runs as `relance run` (its real configuration, with PTB's AIORateLimiter) on a SQLite file filled
with the CLI importer. The repeatable card action is "⏰ Reporter" (the snooze choices) then "↩️ Retour" (the main
buttons): each tap checks the callback against the database, reads the card and edits it, and changes no state.
The bare bot (`python -m bench.bench_bot bare ...`) is a separate process too: each tap is answered and the
message is edited to the other of two texts. The primary ratio compares both with the same AIORateLimiter (Telegram's
30 messages/s, the limit a real bot lives with); the ratio to a bare bot without a limiter is printed for context.

Stranger flood (issue 8): the owner taps one card over and over, first alone (200 taps), then while BENCH_BOT_FLOOD
private messages (default 5,000) from BENCH_BOT_STRANGERS users (default 500) arrive at BENCH_BOT_FLOOD_RATE a second
(default 500); p50 and p99 of both, and the p99 ratio, are printed (target: p99 under 200 ms during the flood).

Environment: BENCH_BOT_TAPS (default 1000), BENCH_BOT_ACTIONS (throughput actions per bot, default 600),
BENCH_BOT_LANES (cards tapped in parallel, default 10), and the flood's variables above. BENCH_BOT_ONLY=raw runs only
the comparison without rate limiters: both bots stay up and take BENCH_BOT_ROUNDS turns (default 5) of
BENCH_BOT_ACTIONS each; the medians are the figures, with each process's CPU milliseconds per action (what the
machine's load does not inflate).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from bench.report import record
from tests.e2e.fakebot import FakeBotAccount, FakeTelegram
from tests.e2e.support import OWNER, RELANCE, TODAY, bot_environment, find_digest

TARGET_P99_MS = 100.0
TARGET_RATIO = 0.5
TARGET_FLOOD_P99_MS = 200.0  # issue 8: owner taps during a flood of strangers
FLOOD_FIRST_ID = 7_000_000
RELANCE_TOKEN = "123456:BENCH-relance"
BARE_TOKEN = "654321:BENCH-bare"
BARE_UNLIMITED_TOKEN = "765432:BENCH-bare-unlimited"
RELANCE_UNLIMITED_TOKEN = "234567:BENCH-relance-unlimited"
WAIT = 30.0


@dataclass
class Lane:
    """One message tapped over and over, alternating between its callback datas."""

    chat_id: int
    message_id: int
    datas: tuple[str, str]
    taps: int = 0
    edits_seen: int = 0
    sent_at: float = 0.0
    latencies: list[float] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def run_lanes(tg: FakeBotAccount, lanes: list[Lane], total: int) -> float:
    """Tap every lane, and tap a lane again as soon as its message is edited, until `total` edits; returns seconds."""

    def fire(lane: Lane) -> None:
        lane.edits_seen = tg.edit_count(lane.chat_id, lane.message_id)
        lane.sent_at = time.perf_counter()
        tg.tap(lane.chat_id, lane.message_id, lane.datas[lane.taps % 2])
        lane.taps += 1

    start = time.perf_counter()
    done = in_flight = 0
    for lane in lanes[:total]:
        fire(lane)
        in_flight += 1
    while done < total:
        ready = tg.wait_change(
            lambda: any(tg.edit_count(la.chat_id, la.message_id) > la.edits_seen for la in lanes if la.sent_at), WAIT
        )
        if not ready:
            raise RuntimeError(f"no card edited within {WAIT}s after {done} actions; {tg.describe()}")
        now = time.perf_counter()
        for lane in lanes:
            if lane.sent_at and tg.edit_count(lane.chat_id, lane.message_id) > lane.edits_seen:
                lane.latencies.append(now - lane.sent_at)
                lane.sent_at = 0.0
                done += 1
                in_flight -= 1
                if done + in_flight < total:
                    fire(lane)
                    in_flight += 1
    return time.perf_counter() - start


def flood_taps(tg: FakeBotAccount, lane: Lane, updates: int, strangers: int, rate: float) -> tuple[list[float], float]:
    """Tap one card over and over while `updates` private messages from `strangers` users arrive at `rate` a second.

    Returns the tap latencies (seconds) and how long the flood lasted.
    """
    done = threading.Event()

    def flood() -> None:
        chunk = max(1, int(rate / 10))
        sent = 0
        while sent < updates:
            size = min(chunk, updates - sent)
            tg.send_texts((FLOOD_FIRST_ID + (sent + i) % strangers, "bonjour") for i in range(size))
            sent += size
            time.sleep(0.1)
        done.set()

    latencies: list[float] = []
    thread = threading.Thread(target=flood, daemon=True)
    start = time.perf_counter()
    thread.start()
    while not done.is_set() or tg.pending_updates():
        edits = tg.edit_count(lane.chat_id, lane.message_id)
        sent_at = time.perf_counter()
        tg.tap(lane.chat_id, lane.message_id, lane.datas[lane.taps % 2])
        lane.taps += 1
        if not tg.wait_change(lambda n=edits: tg.edit_count(lane.chat_id, lane.message_id) > n, WAIT):  # type: ignore[misc]
            raise RuntimeError(f"no card edited within {WAIT}s during the flood; {tg.describe()}")
        latencies.append(time.perf_counter() - sent_at)
    thread.join()
    return latencies, time.perf_counter() - start


def bench_csv(clients: int) -> bytes:
    """One overdue invoice per client, each a card of its own in today's digest."""
    lines = ["invoice_number;client_name;client_email;issue_date;due_date;amount"]
    due = TODAY - timedelta(days=10)
    for i in range(clients):
        lines.append(
            f"B-{i + 1:04d};Client {i + 1:03d};compta{i + 1}@client.example;{(due - timedelta(days=30)):%d/%m/%Y};"
            f"{due:%d/%m/%Y};{100 + i},50"
        )
    return ("\n".join(lines) + "\n").encode()


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        return -9


def _wait_polling(tg: FakeBotAccount, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not tg.is_polling:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the bot did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.02)


def relance_lanes(
    tg: FakeBotAccount, workdir: Path, lanes: int, *, limiter: bool = True
) -> tuple[subprocess.Popen[bytes], list[Lane]]:
    """Import the invoices, start the bot, wait for the catch-up digest; one lane per card.

    With `limiter` it is `relance run` itself; without, the same application built with rate_limiter=False.
    """
    workdir = workdir / ("relance" if limiter else "relance-unlimited")
    workdir.mkdir()
    env = bot_environment(workdir, api_url=tg.api_url, token=tg.token, smtp_port=None)
    csv_path = workdir / "bench.csv"
    csv_path.write_bytes(bench_csv(lanes))
    subprocess.run([str(RELANCE), "import", str(csv_path)], env=env, cwd=workdir, check=True, capture_output=True)
    log = workdir / "relance.log"
    command = [str(RELANCE), "run"] if limiter else [str(RELANCE.parent / "python"), "-m", "bench.bench_bot", "relance"]
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
    _wait_polling(tg, process, log)
    if not tg.wait_change(lambda: find_digest(tg, OWNER, 0) is not None, WAIT):
        raise RuntimeError(f"no digest: {tg.describe()}")
    digest = find_digest(tg, OWNER, 0)
    assert digest is not None
    result = []
    for card in digest.cards:
        snooze = card.button("Reporter").callback_data
        assert snooze is not None
        # The Retour data lives on the snooze keyboard: open it once to read it.
        count = tg.edit_count(OWNER, card.message_id)
        tg.tap(OWNER, card.message_id, snooze)
        tg.wait_change(lambda c=card, n=count: tg.edit_count(OWNER, c.message_id) > n, WAIT)  # type: ignore[misc]
        menu = tg.message(OWNER, card.message_id)
        assert menu is not None
        back = menu.button("Retour").callback_data
        assert back is not None
        result.append(Lane(OWNER, card.message_id, (back, snooze)))
    return process, result


def bare_lanes(
    tg: FakeBotAccount, workdir: Path, lanes: int, *, limiter: bool
) -> tuple[subprocess.Popen[bytes], list[Lane]]:
    """Start the bare PTB bot; /start makes it post one message with a button per lane."""
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}
    log = workdir / f"bare-{tg.bot_id}.log"
    args = [sys.executable, "-m", "bench.bench_bot", "bare", tg.api_url, tg.token, str(lanes), "1" if limiter else "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, env=env, cwd=Path(__file__).resolve().parents[1], stdout=out, stderr=subprocess.STDOUT
        )
    _wait_polling(tg, process, log)
    tg.send_text(OWNER, "/start")
    if not tg.wait_change(lambda: len(tg.bot_messages(OWNER)) >= lanes, WAIT):
        raise RuntimeError(f"the bare bot did not post its messages:\n{log.read_text(errors='replace')[-3000:]}")
    return process, [Lane(OWNER, m.message_id, ("tap", "tap")) for m in tg.bot_messages(OWNER)[:lanes]]


def _cpu_ms(process: subprocess.Popen[bytes]) -> float:
    """CPU milliseconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def raw_only(actions: int, lanes: int, rounds: int) -> None:
    """Relance and the bare bot, neither rate-limited, both up, tapped in turns: median throughputs and CPU costs."""
    server = FakeTelegram()
    relance = server.add_bot(RELANCE_UNLIMITED_TOKEN, username="relance_unlimited_bot")
    bare = server.add_bot(BARE_UNLIMITED_TOKEN, username="bare_unlimited_bot")
    for account in (relance, bare):
        account.add_chat(OWNER)
    server.start_in_thread()
    rates: dict[str, list[float]] = {"relance": [], "bare": []}
    cpu: dict[str, list[float]] = {"relance": [], "bare": []}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
            workdir = Path(tmp)
            process, cards = relance_lanes(relance, workdir, lanes, limiter=False)
            bare_process, bare_cards = bare_lanes(bare, workdir, lanes, limiter=False)
            try:
                run_lanes(relance, cards, min(actions, 50))  # warm both up (first queries, first parses)
                run_lanes(bare, bare_cards, min(actions, 50))
                for _ in range(rounds):
                    for name, account, proc, its in (("relance", relance, process, cards),
                                                      ("bare", bare, bare_process, bare_cards)):  # fmt: skip
                        before = _cpu_ms(proc)
                        rates[name].append(actions / run_lanes(account, its, actions))
                        cpu[name].append((_cpu_ms(proc) - before) / actions)
            finally:
                _stop(process)
                _stop(bare_process)
    finally:
        server.stop()
    ratios = [r / b for r, b in zip(rates["relance"], rates["bare"], strict=True)]
    relance_rate, bare_rate = statistics.median(rates["relance"]), statistics.median(rates["bare"])
    relance_cpu, bare_cpu = statistics.median(cpu["relance"]), statistics.median(cpu["bare"])
    verdict = "OK" if relance_rate / bare_rate >= TARGET_RATIO else "MISSED"
    print(f"neither rate-limited, {rounds} rounds of {actions} card actions over {lanes} cards:")
    print(f"  relance {relance_rate:.1f} actions/s, bare PTB bot {bare_rate:.1f} actions/s (medians)")
    print(f"  ratio of the medians {relance_rate / bare_rate:.2f} (target >= {TARGET_RATIO}) {verdict}; "
          f"per round: {', '.join(f'{r:.2f}' for r in ratios)}")  # fmt: skip
    load = f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    print(f"  CPU per action: relance {relance_cpu:.2f} ms, bare {bare_cpu:.2f} ms (bare / relance "
          f"{bare_cpu / relance_cpu:.2f}); {load}")  # fmt: skip
    record("bot: card action throughput vs a bare PTB bot (neither rate-limited)", relance_rate, "actions/s",
           f"ratio >= {TARGET_RATIO:g}", baseline=bare_rate, note=f"medians of {rounds} rounds")  # fmt: skip
    record("bot: CPU per card action, bare PTB bot vs relance (neither rate-limited)", bare_cpu, "ms",
           f"ratio >= {TARGET_RATIO:g}", baseline=relance_cpu,
           note="the same ratio read without the machine's load")  # fmt: skip


def main() -> None:
    """Measure tap latency (one card, sequential taps) and throughput (parallel cards) vs a bare PTB bot."""
    taps = int(os.environ.get("BENCH_BOT_TAPS", "1000"))
    actions = int(os.environ.get("BENCH_BOT_ACTIONS", "600"))
    lanes = int(os.environ.get("BENCH_BOT_LANES", "10"))
    flood_updates = int(os.environ.get("BENCH_BOT_FLOOD", "5000"))
    flood_strangers = int(os.environ.get("BENCH_BOT_STRANGERS", "500"))
    flood_rate = float(os.environ.get("BENCH_BOT_FLOOD_RATE", "500"))
    flood_quiet = 200
    if not RELANCE.is_file():
        print(f"skipped: {RELANCE} is missing (run `make`)")
        return
    if os.environ.get("BENCH_BOT_ONLY") == "raw":
        raw_only(actions, lanes, int(os.environ.get("BENCH_BOT_ROUNDS", "5")))
        return
    server = FakeTelegram()
    relance = server.add_bot(RELANCE_TOKEN)
    bare = server.add_bot(BARE_TOKEN, username="bare_bot")
    unlimited = server.add_bot(BARE_UNLIMITED_TOKEN, username="bare_unlimited_bot")
    relance_unlimited = server.add_bot(RELANCE_UNLIMITED_TOKEN, username="relance_unlimited_bot")
    for account in (relance, bare, unlimited, relance_unlimited):
        account.add_chat(OWNER)
    server.start_in_thread()
    print(f"fake Bot API server on {server.url} (loopback, port {server.port})")
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        workdir = Path(tmp)
        process, cards = relance_lanes(relance, workdir, lanes)
        try:
            one = [Lane(c.chat_id, c.message_id, c.datas) for c in cards[:1]]
            elapsed = run_lanes(relance, one, taps)
            latencies = [x * 1000 for x in one[0].latencies]
            p50, p99 = statistics.median(latencies), _percentile(latencies, 99)
            verdict = "OK" if p99 <= TARGET_P99_MS else "MISSED"
            print(f"tap -> edited card, {taps} sequential taps on one card ({elapsed:.1f} s):")
            print(f"  p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms")
            print(f"  p99 / target: {p99 / TARGET_P99_MS:.2f} (target p99 <= {TARGET_P99_MS:.0f} ms) {verdict}")
            record("bot: tap -> edited card p50", p50, "ms")
            record("bot: tap -> edited card p99", p99, "ms", f"<= {TARGET_P99_MS:g}")
            relance_s = run_lanes(relance, cards, actions)
            quiet_lane = Lane(cards[0].chat_id, cards[0].message_id, cards[0].datas, taps=cards[0].taps)
            run_lanes(relance, [quiet_lane], flood_quiet)
            quiet = [x * 1000 for x in quiet_lane.latencies]
            flood_lane = Lane(cards[0].chat_id, cards[0].message_id, cards[0].datas, taps=quiet_lane.taps)
            during, flood_s = flood_taps(relance, flood_lane, flood_updates, flood_strangers, flood_rate)
            during = [x * 1000 for x in during]
            errors = relance.errors()
        finally:
            code = _stop(process)
        q99, f99 = _percentile(quiet, 99), _percentile(during, 99)
        print(
            f"owner taps during a flood of {flood_updates} updates from {flood_strangers} strangers "
            f"({flood_updates / flood_s:.0f} updates/s over {flood_s:.1f} s, {len(during)} taps):"
        )
        print(f"  without strangers: p50 {statistics.median(quiet):.1f} ms, p99 {q99:.1f} ms ({flood_quiet} taps)")
        print(
            f"  during the flood:  p50 {statistics.median(during):.1f} ms, p99 {f99:.1f} ms, max {max(during):.1f} ms"
        )
        verdict = "OK" if f99 < TARGET_FLOOD_P99_MS else "MISSED"
        print(f"  p99 ratio flood / quiet: {f99 / q99:.2f} (target p99 < {TARGET_FLOOD_P99_MS:.0f} ms) {verdict}")
        print(f"relance run stopped with exit code {code}; refused Bot API calls: {len(errors)}")
        record("bot: owner tap p99 during a stranger flood", f99, "ms", f"< {TARGET_FLOOD_P99_MS:g}", baseline=q99)
        record("bot: refused Bot API calls", len(errors), "calls", "== 0")
        relance_rate = actions / relance_s
        process, cards = relance_lanes(relance_unlimited, workdir, lanes, limiter=False)
        try:
            one = [Lane(c.chat_id, c.message_id, c.datas) for c in cards[:1]]
            run_lanes(relance_unlimited, one, taps)
            unlimited_ms = [x * 1000 for x in one[0].latencies]
            print(f"same {taps} taps, relance without a rate limiter (the bot's own cost):")
            print(f"  p50 {statistics.median(unlimited_ms):.1f} ms, p99 {_percentile(unlimited_ms, 99):.1f} ms")
            relance_unlimited_s = run_lanes(relance_unlimited, cards, actions)
        finally:
            _stop(process)
        relance_unlimited_rate = actions / relance_unlimited_s
        rates = {}
        for account, limiter in ((bare, True), (unlimited, False)):
            bare_process, bare_cards = bare_lanes(account, workdir, lanes, limiter=limiter)
            try:
                rates[limiter] = actions / run_lanes(account, bare_cards, actions)
            finally:
                _stop(bare_process)
    server.stop()
    ratio = relance_rate / rates[True]
    verdict = "OK" if ratio >= TARGET_RATIO else "MISSED"
    print(f"throughput, {actions} card actions over {lanes} cards in parallel:")
    print(f"  relance (answer + DB check + card read + edit, AIORateLimiter): {relance_rate:.1f} actions/s")
    print(f"  bare PTB bot (answer + edit, no database, AIORateLimiter):      {rates[True]:.1f} actions/s")
    print(f"  relance without a rate limiter:                                 {relance_unlimited_rate:.1f} actions/s")
    print(f"  bare PTB bot without a rate limiter:                            {rates[False]:.1f} actions/s")
    print(f"  ratio relance / bare, both with the limiter (as run): {ratio:.2f} (target >= {TARGET_RATIO}) {verdict}")
    record(
        "bot: card action throughput vs a bare PTB bot (both rate-limited)",
        relance_rate,
        "actions/s",
        f"ratio >= {TARGET_RATIO:g}",
        baseline=rates[True],
    )
    raw = relance_unlimited_rate / rates[False]
    record(
        "bot: card action throughput vs a bare PTB bot (neither rate-limited)",
        relance_unlimited_rate,
        "actions/s",
        f"ratio >= {TARGET_RATIO:g}",
        baseline=rates[False],
    )
    raw_verdict = "OK" if raw >= TARGET_RATIO else "MISSED"
    print(
        f"  ratio relance / bare, neither limited (the database's cost): {raw:.2f} "
        f"(target >= {TARGET_RATIO}) {raw_verdict}"
    )


# ------------------------------------------------------------------------- the bare bot (a subprocess)


def bare_bot(api_url: str, token: str, messages: int, limiter: bool) -> None:
    """A bare PTB bot: /start posts `messages` messages with a button; a tap is answered and the text toggled."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Toucher", callback_data="tap")]])

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        for i in range(messages):
            await context.bot.send_message(update.effective_chat.id, f"Message {i}: A", reply_markup=keyboard)

    async def tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer()
        text = getattr(query.message, "text", "") or ""
        await query.edit_message_text(text[:-1] + ("B" if text.endswith("A") else "A"), reply_markup=keyboard)

    builder = ApplicationBuilder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
    if limiter:
        builder = builder.rate_limiter(cast(Any, AIORateLimiter()))  # PTB's generic limiter type is too narrow
    # Updates one at a time, like the Relance application (PTB's default).
    application = builder.build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(tap))
    application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)


def relance_without_limiter() -> None:
    """`relance run` as the runtime does it, but Telegram built with rate_limiter=False (cwd and environment as for
    the bot)."""
    import logging

    from bot.app import TelegramAdapter
    from bot.runtime import run
    from bot.settings import load_settings

    logging.basicConfig(level=logging.WARNING)  # run's own basicConfig then keeps this level
    settings = load_settings()
    run(settings, adapters=lambda s, core: [TelegramAdapter(s, core, rate_limiter=False)])


if __name__ == "__main__":
    if sys.argv[1:2] == ["relance"]:
        relance_without_limiter()
    elif sys.argv[1:2] == ["bare"]:
        bare_bot(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1")
    else:
        main()
