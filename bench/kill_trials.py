"""kill -9 trials of the whole bot process (issue 12 §6), scripted: `python -m bench.kill_trials --trials 20`.

sends: a book of invoices whose reminders the owner approves (✅ Envoyer on each digest card, through the fake Bot
API), an SMTP server that answers each message after 0.2-0.5 s, the bot killed with SIGKILL at random instants while
it sends (1 to --max-kills times a trial), started again after each kill. Checked: no Message-ID received twice,
nothing lost (every row sent or unknown, every received message sent or unknown in the database), every unknown
outcome told to the owner ("Statut incertain": a message of its own and the card).

digest: a book whose digest is due at start, the bot killed at a random instant while the digest is made or delivered,
started again. Checked: one reminder per invoice and step, one digest run for the day, delivered, every due reminder's
card in the chat and registered; cards shown twice are counted.

Each trial has its own seed, printed; `--replay SEED --kind sends` runs that trial again. Figures are printed and,
under `python -m bench`'s runner (BENCH_RESULTS), recorded with bench.report.record. Takes ~10-30 s a trial: not a
bench_*.py module, so `python -m bench` does not run it. Exit status 1 when a trial broke an invariant.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import record
from tests.e2e.kill_support import (
    DigestTrial,
    SendsTrial,
    TrialError,
    database,
    digest_summary,
    digest_trial,
    sends_summary,
    sends_trial,
)


def _one(kind: str, db: str, seed: int, args: argparse.Namespace, keep: Path | None) -> SendsTrial | DigestTrial:
    with tempfile.TemporaryDirectory(prefix=f"relance-kill-{kind}-") as tmp:
        workdir = Path(tmp) if keep is None else keep / f"{kind}-{seed}"
        workdir.mkdir(parents=True, exist_ok=True)
        with database(db, workdir) as url:
            if kind == "sends":
                return sends_trial(workdir, url, seed=seed, invoices=args.invoices, max_kills=args.max_kills)
            kills = min(args.max_kills, 2)
            return digest_trial(workdir, url, seed=seed, invoices=args.digest_invoices, max_kills=kills,
                                chat_interval=args.chat_interval)  # fmt: skip


def _line(trial: SendsTrial | DigestTrial) -> str:
    if isinstance(trial, SendsTrial):
        text = (f"kills {trial.kills} (mid-SMTP {trial.kills_mid_smtp}), sent {trial.sent}, unknown {trial.unknown} "
                f"(received {trial.unknown_received}), duplicates {trial.duplicates}, lost {trial.lost}, "
                f"resume {', '.join(f'{s:.1f}' for s in trial.resume_s) or '-'} s")  # fmt: skip
    else:
        text = (f"kills {trial.kills} (before claim {trial.kills_before_claim}, delivering {trial.kills_delivering}, "
                f"after {trial.kills_after_delivery}), reminders {trial.reminders}, duplicate cards "
                f"{trial.duplicate_cards}, missing {trial.missing_cards}, "
                f"delivered {', '.join(f'{s:.1f}' for s in trial.resume_s) or '-'} s after restart")  # fmt: skip
    return text + ("" if not trial.problems else "  FAILED: " + "; ".join(trial.problems))


def _record(kind: str, db: str, summary: dict[str, Any]) -> None:
    prefix = f"kill -9 {kind} ({db}, {summary['trials']} trials)"
    if kind == "sends":
        record(f"{prefix}: duplicates", summary["duplicates"], "messages", "== 0")
        record(f"{prefix}: lost", summary["lost"], "messages", "== 0")
        record(f"{prefix}: kills mid-SMTP", summary["kills mid-SMTP"], "kills", note=f"of {summary['kills']} kills")
        record(f"{prefix}: unknown outcomes", summary["unknown"], "messages",
               note=f"{summary['unknown, received by the server']} received by the server")  # fmt: skip
        resume = summary["restart-to-resume median s"]
    else:
        record(f"{prefix}: missing cards", summary["missing cards"], "cards", "== 0")
        record(f"{prefix}: duplicate cards", summary["duplicate cards"], "cards",
               note="cards sent before the kill, sent again at restart")  # fmt: skip
        resume = summary["restart-to-delivered median s"]
    record(f"{prefix}: failed trials", summary["failed trials"], "trials", "== 0")
    if resume is not None:
        record(f"{prefix}: restart-to-resume median", resume, "s")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kill_trials", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per kind (default 20)")
    parser.add_argument("--kind", choices=("sends", "digest", "both"), default="both")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, help="the run's seed (default: random, printed)")
    parser.add_argument("--replay", type=int, metavar="SEED", help="run the one trial of this seed (with --kind)")
    parser.add_argument("--invoices", type=int, default=20, help="approved reminders per sends trial (default 20)")
    parser.add_argument("--digest-invoices", type=int, default=15, help="due reminders per digest trial (default 15)")
    parser.add_argument("--max-kills", type=int, default=3, help="kills per trial, at most (digest: 2 at most)")
    parser.add_argument("--chat-interval", type=float, default=0.1, help="seconds between two cards (digest)")
    parser.add_argument("--keep", type=Path, help="keep each trial's folder (logs, database) under this folder")
    args = parser.parse_args(argv)
    kinds = ["sends", "digest"] if args.kind == "both" else [args.kind]
    if args.replay is not None:
        if len(kinds) != 1:
            parser.error("--replay needs --kind sends or --kind digest")
        trial = _one(kinds[0], args.db, args.replay, args, args.keep)
        print(f"{kinds[0]} seed {args.replay}: {_line(trial)}")
        return 1 if trial.problems else 0
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    print(f"kill -9 trials: seed {seed} (python -m bench.kill_trials --seed {seed} ... repeats this run)", flush=True)
    rng = random.Random(seed)
    status = 0
    for kind in kinds:
        trials: list[Any] = []
        start = time.monotonic()
        for number in range(1, args.trials + 1):
            trial_seed = rng.randrange(2**31)
            try:
                trial = _one(kind, args.db, trial_seed, args, args.keep)
            except TrialError as exc:
                print(f"{kind} #{number} seed {trial_seed}: could not run: {str(exc)[:2000]}", flush=True)
                status = 1
                continue
            trials.append(trial)
            print(f"{kind} #{number} seed {trial_seed}: {_line(trial)}", flush=True)
            status |= bool(trial.problems)
        summarize: Callable[[list[Any]], dict[str, Any]] = sends_summary if kind == "sends" else digest_summary
        summary = summarize(trials)
        print(f"== {kind} on {args.db}: {time.monotonic() - start:.0f} s")
        for key, value in summary.items():
            print(f"  {key}: {f'{value:.2f}' if isinstance(value, float) else value}")
        _record(kind, args.db, summary)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
