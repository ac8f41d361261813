"""kill -9 of the whole bot process during sends and during the digest (issue 12 §6), a short version of
bench/kill_trials.py (20 trials per kind): `relance run` against the fake Bot API and a slow SMTP server, killed with
SIGKILL at random instants and started again. No e-mail received twice, none lost, every uncertain outcome told to the
owner; the digest's reminders made once, the digest delivered once the bot is back, every card in the chat.

The seed is printed and shown in every failure: KILL9_SEED=<seed> replays the same kill instants."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.kill_support import PYTHON, RELANCE, database, digest_trial, sends_trial
from tests.e2e.support import unavailable

pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kill_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for the bot: a SQLite file, then a PostgreSQL database (skipped without one)."""
    if not (RELANCE.is_file() and PYTHON.is_file()):
        unavailable(f"{RELANCE} is missing (run `make` to create the virtual environment)")
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def seed() -> int:
    """The trial's seed: KILL9_SEED, or a random one (printed, and named in every failure)."""
    value = int(os.environ.get("KILL9_SEED") or random.SystemRandom().randrange(2**31))
    print(f"kill -9 trial seed {value} (KILL9_SEED={value} replays it)")
    return value


def test_kill9_while_sending(kill_db: str, tmp_path: Path, seed: int) -> None:
    """6 approved e-mails, a server answering each after 0.15-0.35 s, 1 or 2 kills while they go out: each message
    received at most once, every row sent or unknown, each unknown told to the owner, the rest sent after restart."""
    trial = sends_trial(tmp_path, kill_db, seed=seed, invoices=6, max_kills=2, smtp_pause=(0.15, 0.35))
    assert trial.problems == [], f"seed {seed}: {trial}"
    assert trial.kills >= 1 or trial.sent == 6, f"seed {seed}: {trial}"
    assert trial.duplicates == 0 and trial.lost == 0 and trial.sent + trial.unknown == 6


def test_kill9_during_the_digest(kill_db: str, tmp_path: Path, seed: int) -> None:
    """8 due reminders, the bot killed while the digest is made or delivered, started again: 8 reminders, one digest
    run for the day, delivered, every reminder's card in the chat and registered (cards shown twice are allowed)."""
    trial = digest_trial(tmp_path, kill_db, seed=seed, invoices=8, max_kills=1)
    assert trial.problems == [], f"seed {seed}: {trial}"
    assert trial.kills == 1 and trial.reminders == 8 and trial.missing_cards == 0, f"seed {seed}: {trial}"
