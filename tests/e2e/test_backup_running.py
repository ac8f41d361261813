"""`relance backup` and `relance restore` next to a running `relance run` (the real bot process, SQLite)."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.conftest import BotEnv, BotProcess
from tests.e2e.support import invoices_csv


def test_backup_while_the_bot_runs_restore_only_once_it_stopped(
    bot_env: BotEnv, start_bot: Callable[[], BotProcess]
) -> None:
    """While the bot runs, a backup succeeds and a restore is refused (the database is open in the bot's process),
    leaving the database untouched; after the bot stopped, the restore succeeds and `relance verify` passes."""
    bot_env.import_csv(invoices_csv())
    bot = start_bot()
    bot.wait_log("running (")
    archive = bot_env.workdir / "backup.tar.gz"
    backup = bot_env.cli("backup", str(archive))
    assert backup.returncode == 0, backup.stderr
    before = bot_env.db_path.stat().st_ino
    refused = bot_env.cli("restore", str(archive))
    assert refused.returncode == 1 and "is the bot running?" in refused.stderr, refused.stdout + refused.stderr
    assert bot_env.db_path.stat().st_ino == before  # not replaced
    assert bot.stop() == 0
    restored = bot_env.cli("restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert bot_env.db_path.stat().st_ino != before
    head = next(line.split()[-1] for line in backup.stdout.splitlines() if "evidence head hash" in line)
    verified = bot_env.cli("verify", "--head", head)
    assert verified.returncode == 0, verified.stdout + verified.stderr
