"""Backups of an install: one archive holding a consistent copy of the SQLite database and the data folder.

The archive (`.tar.gz`) starts with `relance-backup.json`, the manifest: format, creation time, database kind,
schema revision, each business's evidence head hash, and the SHA-256 and size of every other member
(`database.sqlite3`, `data/...`). A restore checks all of it before anything is replaced.

The database is copied first, through SQLite's online backup API (one step, under one read transaction: a
consistent snapshot, WAL included, while the bot keeps writing), then the data folder. Files under DATA_DIR are
written before the rows that name them are committed, so every file the copied database refers to is in the
archive. On PostgreSQL the archive holds the data folder only; the database is saved with `pg_dump` (README).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.pool import NullPool

from storage.db import make_engine, read_session
from storage.evidence import verify_chain

MANIFEST = "relance-backup.json"
DATABASE_MEMBER = "database.sqlite3"
DATA_PREFIX = "data/"
FORMAT = "relance-backup"
FORMAT_VERSION = 1
#: Folders a restore leaves in DATA_DIR (the replaced files); never put into a backup themselves.
BEFORE_RESTORE = ".before-restore-"
_STAGING = ".relance-restore-"
_CHUNK = 1 << 20
#: SQLite (unix VFS) holds a shared lock on this byte of `<db>-shm` for as long as a connection has a WAL database
#: open (the "dead man switch"): a lock we cannot take means another process has the database open.
_SHM_DMS_BYTE = 128


class BackupError(Exception):
    """A backup or restore refused; the message says why. Nothing was written or replaced."""


class DatabaseInUse(BackupError):
    """Another process (a running bot?) has the SQLite database open."""


@dataclass
class BackupResult:
    """What `create_backup` wrote."""

    path: Path
    database: str  # "sqlite" or "postgresql"
    files: int  # data-folder files in the archive
    size: int
    heads: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)  # businesses whose evidence chain does not verify


@dataclass
class RestoreResult:
    """What `restore_backup` replaced; the previous files are kept in `kept` (delete it once satisfied)."""

    database_restored: bool
    files: int
    kept: list[Path]
    heads: dict[str, str]


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None for PostgreSQL (or an in-memory SQLite database)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sidecars(db: Path) -> list[Path]:
    return [db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def database_in_use(db: Path) -> bool:
    """Whether another process has the SQLite database open (a WAL database maps `<db>-shm` and locks a byte of it).

    Never call it on a database this process has open: closing the probe's descriptor would drop this process's
    own SQLite locks on the file (POSIX locks are per process).
    """
    shm = db.with_name(db.name + "-shm")
    if not shm.exists():
        return False
    fd = os.open(shm, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE, os.SEEK_SET)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE, os.SEEK_SET)
        return False
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashed(source: Path, target: Path) -> dict[str, Any]:
    """Copy `source` to `target`; the copy's SHA-256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return {"sha256": digest.hexdigest(), "size": size}


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database through the online backup API, checked, as one file."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            # One step (pages=-1): the whole copy under one read transaction, so a write meanwhile cannot make it
            # restart nor mix two states; in WAL mode the bot's writers are not blocked.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file (no -wal) in the archive
            if dst.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"{source}: the copy fails SQLite's integrity check")
        finally:
            dst.close()
    finally:
        src.close()


def _revision_and_heads(db_file: Path) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """The schema revision and each business's evidence head hash of a database copy (read only)."""
    engine = make_engine(f"sqlite:///{db_file}", migrate=False, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
            if not {"alembic_version", "business", "evidence"} <= tables:
                raise BackupError(f"{db_file}: not a Relance database (its tables are missing)")
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return (revision, *_heads(engine))
    finally:
        engine.dispose()


def _heads(engine: Any) -> tuple[dict[str, str], dict[str, str]]:
    """Each business's evidence head hash, and the businesses whose chain does not verify (with the reason)."""
    from storage.businesses import all_businesses

    with read_session(engine) as session:
        businesses = [(b.slug, b.id) for b in all_businesses(session)]
    heads, broken = {}, {}
    for slug, business_id in businesses:
        result = verify_chain(engine, business_id=business_id)
        if result.ok:
            heads[slug] = result.head_hash
        else:
            broken[slug] = f"entry #{result.first_bad_seq}: {result.reason}"
    return heads, broken


def _data_files(data_dir: Path, exclude: set[Path]) -> Iterator[Path]:
    """The files of the data folder, in a stable order, minus the live database and earlier restores' leftovers."""
    if not data_dir.is_dir():
        return
    for root, dirs, files in os.walk(data_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((BEFORE_RESTORE, _STAGING)))
        for name in sorted(files):
            path = Path(root) / name
            if BEFORE_RESTORE in name or _STAGING in name:
                continue  # a database a restore moved aside, or one being restored
            if path.resolve() in exclude or not path.is_file() or path.is_symlink():
                continue
            if name.endswith(".tar.gz") and _is_backup(path):
                continue  # an earlier backup written into the data folder: never nested in the next one
            yield path


def _is_backup(path: Path) -> bool:
    try:
        read_manifest(path)
    except BackupError:
        return False
    return True


def create_backup(
    *, database_url: str, data_dir: Path, out: Path, force: bool = False, now: datetime | None = None
) -> BackupResult:
    """Write the archive `out` (refused if it exists, unless `force`): the database (SQLite) and the data folder.

    The archive is written beside `out` and renamed into place at the end: `out` is never left half-written.
    """
    if out.exists() and not force:
        raise BackupError(f"{out}: already exists (choose another name, or --force to overwrite it)")
    if out.exists() and out.is_dir():
        raise BackupError(f"{out}: is a folder")
    db = sqlite_path(database_url)
    kind = "sqlite" if db is not None else "postgresql"
    if db is not None and not db.is_file():
        raise BackupError(f"{db}: no such database")
    out.parent.mkdir(parents=True, exist_ok=True)
    exclude = {out.resolve()}
    if db is not None:
        exclude |= {p.resolve() for p in (db, *_sidecars(db))}
    with tempfile.TemporaryDirectory(prefix=".relance-backup-", dir=out.parent) as tmp:
        members: dict[str, dict[str, Any]] = {}
        sources: dict[str, Path] = {}
        revision: str | None = None
        heads: dict[str, str] = {}
        broken: dict[str, str] = {}
        if db is not None:
            copy = Path(tmp) / DATABASE_MEMBER
            _copy_sqlite(db, copy)
            # A broken chain does not stop the backup (it is the evidence of what happened): it is named in the
            # manifest and reported, and a restore of this archive is then refused.
            revision, heads, broken = _revision_and_heads(copy)
            with contextlib.closing(sqlite3.connect(copy)) as conn:
                conn.execute("PRAGMA journal_mode=DELETE")  # the engine that read it switched it to WAL
            sources[DATABASE_MEMBER] = copy
            members[DATABASE_MEMBER] = {"sha256": _sha256(copy), "size": copy.stat().st_size}
        exclude.add(Path(tmp).resolve())
        staged = Path(tmp) / "data"
        for path in _data_files(data_dir, exclude):
            if Path(tmp).resolve() in path.resolve().parents:
                continue
            name = DATA_PREFIX + path.relative_to(data_dir).as_posix()
            # Copied once, hashed while copying: a file the bot rewrites meanwhile (a mailbox cursor) is archived
            # exactly as hashed, never a checksum of one version beside the bytes of another.
            target = staged / path.relative_to(data_dir)
            try:
                members[name] = _copy_hashed(path, target)
            except FileNotFoundError:
                continue  # removed since the folder was listed
            sources[name] = target
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": (now or datetime.now(UTC)).isoformat(),
            "database": kind,
            "schema_revision": revision,
            "evidence_heads": heads,
            "broken_chains": broken,
            "members": members,
        }
        partial = Path(tmp) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            payload = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(payload), int(datetime.now(UTC).timestamp()), 0o600
            tar.addfile(info, io.BytesIO(payload))
            for name, path in sources.items():
                tar.add(path, arcname=name, recursive=False)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, out)
    files = sum(1 for n in members if n.startswith(DATA_PREFIX))
    return BackupResult(out, kind, files, out.stat().st_size, heads, broken)


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of a Relance backup; BackupError for any other file."""
    not_ours = f"{archive}: not a Relance backup (made by `relance backup`)"
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST or not first.isfile():
                raise BackupError(not_ours)
            stream = tar.extractfile(first)
            manifest = json.loads(stream.read() if stream else b"")
    except (tarfile.TarError, OSError, EOFError, ValueError):
        raise BackupError(not_ours) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(not_ours)
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"{archive}: backup format {manifest.get('version')} is not supported by this version")
    if not isinstance(manifest.get("members"), dict):
        raise BackupError(not_ours)
    return manifest


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and "\\" not in name


def _extract(archive: Path, manifest: dict[str, Any], staging: Path) -> None:
    """Every member into `staging`, each checked against the manifest (name, type, size, SHA-256)."""
    expected: dict[str, dict[str, Any]] = manifest["members"]
    seen: set[str] = set()
    corrupt = f"{archive}: damaged or altered backup"
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or member.name in seen or not member.isfile():
                    raise BackupError(f"{corrupt} (unexpected member {member.name!r})")
                if not _safe_name(member.name) or not (
                    member.name == DATABASE_MEMBER or member.name.startswith(DATA_PREFIX)
                ):
                    raise BackupError(f"{corrupt} (unsafe member name {member.name!r})")
                target = staging / member.name
                target.parent.mkdir(parents=True, exist_ok=True)
                stream = tar.extractfile(member)
                if stream is None:
                    raise BackupError(f"{corrupt} ({member.name!r} unreadable)")
                digest = hashlib.sha256()
                with target.open("wb") as out:
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                want = expected[member.name]
                if digest.hexdigest() != want.get("sha256") or target.stat().st_size != want.get("size"):
                    raise BackupError(f"{corrupt} ({member.name} does not match its checksum)")
                seen.add(member.name)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{corrupt} ({type(exc).__name__})") from None
    missing = set(expected) - seen
    if missing:
        raise BackupError(f"{corrupt} ({len(missing)} member(s) missing, e.g. {sorted(missing)[0]})")


def _check_database(staged: Path, heads: dict[str, str]) -> dict[str, str]:
    """Integrity, schema brought up to date (as a start would), every evidence chain verified and still holding the
    head hash the manifest recorded; the heads found."""
    with contextlib.closing(sqlite3.connect(staged)) as conn:
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        except sqlite3.DatabaseError:
            ok = False
    if not ok:
        raise BackupError("the backup's database fails SQLite's integrity check")
    _revision_and_heads(staged)  # a Relance database, with its tables
    try:
        engine = make_engine(f"sqlite:///{staged}", poolclass=NullPool)
    except Exception as exc:  # alembic: a revision this version does not know (a backup from a newer Relance)
        raise BackupError(f"the backup's schema cannot be brought to this version's ({type(exc).__name__})") from None
    try:
        from storage.businesses import all_businesses

        with read_session(engine) as session:
            businesses = {b.slug: b.id for b in all_businesses(session)}
        found = {}
        for slug, business_id in businesses.items():
            expected = [heads[slug]] if slug in heads else []
            result = verify_chain(engine, business_id=business_id, expected_hashes=expected)
            if not result.ok:
                raise BackupError(
                    f"business {slug}: the backup's evidence chain does not verify "
                    f"(entry #{result.first_bad_seq}: {result.reason})"
                )
            found[slug] = result.head_hash
        missing = set(heads) - set(businesses)
        if missing:
            raise BackupError(f"business {sorted(missing)[0]}: in the manifest but not in the backup's database")
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(staged)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")  # no -wal left beside the staged file
    return found


def restore_backup(*, archive: Path, database_url: str, data_dir: Path) -> RestoreResult:
    """Replace the database (SQLite) and the data folder with the backup's, all or nothing.

    Everything is extracted and checked first (manifest, checksums, SQLite integrity, every evidence chain and the
    heads recorded at backup time); only then are the current files moved aside (kept in
    `DATA_DIR/.before-restore-<time>/` and `<db>.before-restore-<time>`) and the backup's renamed into place. A
    database another process has open (a running bot) is refused. PostgreSQL: the data folder only (pg_restore
    restores the database, README).
    """
    manifest = read_manifest(archive)
    db = sqlite_path(database_url)
    has_db = DATABASE_MEMBER in manifest["members"]
    if has_db and db is None:
        raise BackupError(
            f"{archive}: holds a SQLite database, but DATABASE_URL is PostgreSQL (restore it with DATABASE_URL "
            "pointing to a SQLite file, or restore PostgreSQL with pg_restore)"
        )
    if db is not None and not has_db:
        raise BackupError(f"{archive}: holds no database (a PostgreSQL install's backup: restore it with pg_restore)")
    if db is not None and database_in_use(db):
        raise DatabaseInUse(f"{db}: the database is open in another process (is the bot running?); stop it first")
    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=data_dir))
    try:
        _extract(archive, manifest, staging)
        heads: dict[str, str] = {}
        staged_db: Path | None = None
        try:
            if has_db and db is not None:
                # Beside the database, so the final rename stays on one file system.
                staged_db = db.with_name(f"{db.name}{_STAGING}{staging.name[-8:]}")
                shutil.move(staging / DATABASE_MEMBER, staged_db)
                heads = _check_database(staged_db, manifest.get("evidence_heads") or {})
            if db is not None and database_in_use(db):  # again: a bot may have started during the checks
                raise DatabaseInUse(f"{db}: the database is open in another process (is the bot running?)")
            kept = _swap(staging / DATA_PREFIX.rstrip("/"), data_dir, db, staged_db, staging)
        finally:
            if staged_db is not None:
                for leftover in (staged_db, *_sidecars(staged_db)):
                    leftover.unlink(missing_ok=True)
        files = sum(1 for n in manifest["members"] if n.startswith(DATA_PREFIX))
        return RestoreResult(database_restored=staged_db is not None, files=files, kept=kept, heads=heads)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(new_data: Path, data_dir: Path, db: Path | None, staged_db: Path | None, staging: Path) -> list[Path]:
    """Move the current files aside and the staged ones in; undo every move if one fails."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    kept_dir = data_dir / f"{BEFORE_RESTORE}{stamp}"
    db_files = {p.resolve() for p in (db, *_sidecars(db))} if db is not None else set()
    done: list[tuple[Path, Path]] = []

    def move(src: Path, dst: Path) -> None:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        done.append((src, dst))

    try:
        for entry in sorted(data_dir.iterdir()):
            if entry.name.startswith((BEFORE_RESTORE, _STAGING)) or entry.resolve() == staging.resolve():
                continue
            if entry.resolve() in db_files or (staged_db is not None and entry.resolve() == staged_db.resolve()):
                continue
            move(entry, kept_dir / entry.name)
        if new_data.is_dir():
            for entry in sorted(new_data.iterdir()):
                move(entry, data_dir / entry.name)
        kept = [kept_dir] if kept_dir.exists() else []
        if db is not None and staged_db is not None:
            for old in (db, *_sidecars(db)):
                if old.exists():
                    aside = old.with_name(f"{db.name}{BEFORE_RESTORE}{stamp}{old.name[len(db.name) :]}")
                    move(old, aside)
                    if old == db:
                        kept.append(aside)
            move(staged_db, db)
    except BaseException:
        for src, dst in reversed(done):
            with contextlib.suppress(OSError):
                os.replace(dst, src)
        with contextlib.suppress(OSError):
            kept_dir.rmdir()
        raise
    return kept
