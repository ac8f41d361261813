"""`relance backup FILE` and `relance restore FILE`: the install's database (SQLite) and data folder in one archive.

Registered on the typer app of bot/cli.py. Exit codes: 0 done, 1 refused (not a backup, damaged, bot running, file
exists), 2 bad setting. On PostgreSQL the database is saved with pg_dump (recipe printed, README).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import URL, make_url

from bot.settings import Settings, SettingsError, load_settings
from storage.backup import BackupError, create_backup, restore_backup, sqlite_path


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"relance: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc), 2) from None


def pg_dump_recipe(database_url: str, out: Path) -> str:
    """The pg_dump and pg_restore commands for DATABASE_URL (password hidden: give it through ~/.pgpass or
    PGPASSWORD)."""
    url = make_url(database_url)
    bare = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database)
    conninfo = bare.render_as_string(hide_password=False)
    dump = out.with_name(out.name.removesuffix(".tar.gz") + ".pgdump")
    return (
        f"pg_dump --format=custom --file={dump} '{conninfo}'\n"
        f"# restore (bot stopped, as the tables' owner, DATABASE_ADMIN_URL):\n"
        f"# pg_restore --clean --if-exists --no-owner --dbname='<DATABASE_ADMIN_URL>' {dump}"
    )


def backup_command(
    file: Annotated[Path, typer.Argument(help="The archive to write, e.g. relance-2026-11-30.tar.gz.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Back up the database (SQLite, online: the bot may keep running) and the data folder into one archive."""
    settings = _settings()
    try:
        result = create_backup(database_url=settings.DATABASE_URL, data_dir=settings.DATA_DIR, out=file, force=force)
    except BackupError as exc:
        raise _fail(str(exc), 1) from None
    what = "database and " if result.database == "sqlite" else ""
    typer.echo(f"{result.path}: {what}{result.files} data file(s), {result.size} bytes")
    for slug, head in result.heads.items():
        typer.echo(f"  {slug}: evidence head hash {head}")
    for slug, reason in result.broken.items():
        typer.echo(f"relance: warning: business {slug}: the evidence chain does not verify ({reason})", err=True)
    if result.database == "postgresql":
        typer.echo("The PostgreSQL database is not in the archive: save it with pg_dump, e.g.")
        typer.echo(pg_dump_recipe(settings.DATABASE_URL, file))


def restore_command(
    file: Annotated[Path, typer.Argument(help="An archive written by `relance backup`.")],
) -> None:
    """Replace the database (SQLite) and the data folder with a backup's, after checking all of it (bot stopped)."""
    settings = _settings()
    try:
        result = restore_backup(archive=file, database_url=settings.DATABASE_URL, data_dir=settings.DATA_DIR)
    except BackupError as exc:
        raise _fail(str(exc), 1) from None
    db = sqlite_path(settings.DATABASE_URL)
    if result.database_restored:
        typer.echo(f"{db}: restored from {file}; {result.files} data file(s)")
    else:
        typer.echo(f"{settings.DATA_DIR}: {result.files} data file(s) restored; restore the database with pg_restore")
    for slug, head in result.heads.items():
        typer.echo(f"  {slug}: evidence chain verified, head hash {head}")
    for kept in result.kept:
        typer.echo(f"the replaced files are kept in {kept} (delete once satisfied)")
