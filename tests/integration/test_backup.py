"""`relance backup` and `relance restore`: a consistent archive of a live SQLite database and the data folder,
restored all or nothing, verified by `relance verify`."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from bot.cli import app
from storage.backup import DATABASE_MEMBER, MANIFEST, database_in_use, read_manifest
from storage.db import make_engine, write_session
from storage.evidence import record
from tests.integration.evidence_helpers import add_business

runner = CliRunner()


@pytest.fixture
def install(cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default layout: the database inside DATA_DIR (data/relance.db) with an invoice PDF and a received .eml."""
    data = cli_workdir / "data"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{data / 'relance.db'}")
    engine = make_engine(f"sqlite:///{data / 'relance.db'}")
    try:
        _append(engine, add_business(engine, "default"), 5)
    finally:
        engine.dispose()
    (data / "invoices" / "1").mkdir(parents=True)
    (data / "invoices" / "1" / "F-001.pdf").write_bytes(b"%PDF-1.4 facture")
    (data / "received" / "1").mkdir(parents=True)
    (data / "received" / "1" / "abc.eml").write_bytes(b"Subject: Re: relance\r\n\r\nBien recu.")
    return data


def _append(engine: Engine, business_id: int, n: int) -> None:
    with write_session(engine) as s:
        for i in range(n):
            record(s, business_id=business_id, actor="system", kind="card_action", payload={"i": i})


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM evidence").fetchone()[0])


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _rewrite(archive: Path, members: dict[str, bytes]) -> None:
    """Write `members` back as an archive, in order (the manifest first)."""
    with tarfile.open(archive, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_backup_holds_database_and_data_folder(install: Path, cli_workdir: Path) -> None:
    """The archive holds the manifest first, a database copy with every entry, and the data files (not the live
    database nor its -wal), each with its checksum; the head hash is printed."""
    out = cli_workdir / "backup.tar.gz"
    result = runner.invoke(app, ["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 data file(s)" in result.output and "evidence head hash" in result.output
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
    assert names[0] == MANIFEST
    assert set(names) == {MANIFEST, DATABASE_MEMBER, "data/invoices/1/F-001.pdf", "data/received/1/abc.eml"}
    manifest = read_manifest(out)
    assert manifest["database"] == "sqlite" and set(manifest["evidence_heads"]) == {"default"}
    copy = cli_workdir / "copy.db"
    copy.write_bytes(_members(out)[DATABASE_MEMBER])
    assert _count(copy) == 5


def test_backup_refuses_existing_file_unless_forced(install: Path, cli_workdir: Path) -> None:
    """An existing FILE is left alone (exit 1) unless --force, which replaces it."""
    out = cli_workdir / "backup.tar.gz"
    out.write_bytes(b"precious")
    result = runner.invoke(app, ["backup", str(out)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert out.read_bytes() == b"precious"
    assert runner.invoke(app, ["backup", str(out), "--force"]).exit_code == 0
    assert read_manifest(out)["format"] == "relance-backup"


def test_backup_while_writes_happen_is_consistent(install: Path, cli_workdir: Path) -> None:
    """Backups taken while another connection keeps appending to the evidence log are each a consistent snapshot:
    integrity ok, the chain verifies, and the count lies between the counts before and after."""
    db = install / "relance.db"
    engine = make_engine(f"sqlite:///{db}")
    stop = threading.Event()
    with engine.connect() as conn:
        business_id = int(conn.execute(text("SELECT id FROM business")).scalar_one())

    def writer() -> None:
        while not stop.is_set():
            _append(engine, business_id, 3)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        counts = []
        for i in range(3):
            before = _count(db)
            out = cli_workdir / f"b{i}.tar.gz"
            result = runner.invoke(app, ["backup", str(out)])
            assert result.exit_code == 0, result.output
            after = _count(db)
            copy = cli_workdir / f"b{i}.db"
            copy.write_bytes(_members(out)[DATABASE_MEMBER])
            counts.append(_count(copy))
            assert before <= counts[-1] <= after
            assert read_manifest(out)["broken_chains"] == {}
    finally:
        stop.set()
        thread.join()
        engine.dispose()
    assert counts[-1] > 5  # the writer did write during the backups


def test_restore_brings_back_database_and_files_and_verify_passes(install: Path, cli_workdir: Path) -> None:
    """After changes made since the backup, a restore brings back the backed-up entries and files, keeps the
    replaced ones aside, and `relance verify` passes with the head hash recorded at backup time."""
    out = cli_workdir / "backup.tar.gz"
    assert runner.invoke(app, ["backup", str(out)]).exit_code == 0
    head = read_manifest(out)["evidence_heads"]["default"]
    engine = make_engine(f"sqlite:///{install / 'relance.db'}")
    _append(engine, 1, 4)
    engine.dispose()
    (install / "invoices" / "1" / "F-001.pdf").unlink()
    (install / "invoices" / "1" / "F-002.pdf").write_bytes(b"%PDF new")

    result = runner.invoke(app, ["restore", str(out)])
    assert result.exit_code == 0, result.output
    assert "restored" in result.output and "kept in" in result.output
    assert _count(install / "relance.db") == 5
    assert (install / "invoices" / "1" / "F-001.pdf").read_bytes() == b"%PDF-1.4 facture"
    assert not (install / "invoices" / "1" / "F-002.pdf").exists()
    kept = [p for p in install.iterdir() if p.name.startswith(".before-restore-")]
    assert len(kept) == 1 and (kept[0] / "invoices" / "1" / "F-002.pdf").exists()
    verified = runner.invoke(app, ["verify", "--head", head])
    assert verified.exit_code == 0, verified.output
    assert "OK: 5 entries" in verified.output
    # Later backups written into the data folder leave out the kept files and each other.
    for name in ("again.tar.gz", "again2.tar.gz"):
        again = runner.invoke(app, ["backup", str(install / name)])
        assert again.exit_code == 0 and "2 data file(s)" in again.output, again.output


def test_verify_fails_on_a_tampered_copy(install: Path, cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database copy of an archive, with one evidence entry changed, fails `relance verify` (exit 1)."""
    out = cli_workdir / "backup.tar.gz"
    assert runner.invoke(app, ["backup", str(out)]).exit_code == 0
    copy = cli_workdir / "copy.db"
    copy.write_bytes(_members(out)[DATABASE_MEMBER])
    with sqlite3.connect(copy) as conn:
        conn.execute("DROP TRIGGER IF EXISTS evidence_no_update")
        conn.execute("UPDATE evidence SET payload = '{\"i\":99}' WHERE chain_seq = 2")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{copy}")
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1 and "FAILED: first bad entry #2" in result.output


def _snapshot(data: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "damage", ["not_tar", "no_manifest", "bad_checksum", "tampered_chain", "unsafe_name", "unknown_schema"]
)
def test_restore_refuses_bad_input_and_changes_nothing(install: Path, cli_workdir: Path, damage: str) -> None:
    """A file that is not a Relance backup, a damaged member, a tampered evidence chain (manifest recomputed), a path
    escaping the data folder or a schema from a newer version: exit 1 with a reason, and the database and data
    folder are exactly as before."""
    out = cli_workdir / "backup.tar.gz"
    assert runner.invoke(app, ["backup", str(out)]).exit_code == 0
    members = _members(out)
    manifest = json.loads(members[MANIFEST])
    if damage == "not_tar":
        out.write_bytes(b"PK\x03\x04 not a tar at all")
    elif damage == "no_manifest":
        _rewrite(out, {k: v for k, v in members.items() if k != MANIFEST})
    elif damage == "bad_checksum":
        members["data/invoices/1/F-001.pdf"] = b"%PDF-1.4 facture modifiee"
        _rewrite(out, members)
    elif damage == "tampered_chain":
        copy = cli_workdir / "t.db"
        copy.write_bytes(members[DATABASE_MEMBER])
        with sqlite3.connect(copy) as conn:
            conn.execute("DROP TRIGGER IF EXISTS evidence_no_update")
            conn.execute("UPDATE evidence SET payload = '{\"i\":99}' WHERE chain_seq = 3")
        members[DATABASE_MEMBER] = copy.read_bytes()
        manifest["members"][DATABASE_MEMBER] = {
            "sha256": hashlib.sha256(members[DATABASE_MEMBER]).hexdigest(),
            "size": len(members[DATABASE_MEMBER]),
        }
        members[MANIFEST] = json.dumps(manifest).encode()
        _rewrite(out, members)
    elif damage == "unknown_schema":
        copy = cli_workdir / "t.db"
        copy.write_bytes(members[DATABASE_MEMBER])
        with sqlite3.connect(copy) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        members[DATABASE_MEMBER] = copy.read_bytes()
        manifest["members"][DATABASE_MEMBER] = {
            "sha256": hashlib.sha256(members[DATABASE_MEMBER]).hexdigest(),
            "size": len(members[DATABASE_MEMBER]),
        }
        members[MANIFEST] = json.dumps(manifest).encode()
        _rewrite(out, members)
    else:
        manifest["members"]["data/../../evil.txt"] = {"sha256": "0" * 64, "size": 1}
        members[MANIFEST] = json.dumps(manifest).encode()
        members["data/../../evil.txt"] = b"x"
        _rewrite(out, members)
    before_db = (install / "relance.db").read_bytes()
    before = _snapshot(install)

    result = runner.invoke(app, ["restore", str(out)])

    assert result.exit_code == 1, result.output
    assert {
        "not_tar": "not a Relance backup",
        "no_manifest": "not a Relance backup",
        "bad_checksum": "does not match its checksum",
        "tampered_chain": "evidence chain does not verify",
        "unsafe_name": "unsafe member name",
        "unknown_schema": "schema cannot be brought to this version",
    }[damage] in result.output
    assert (install / "relance.db").read_bytes() == before_db
    assert _snapshot(install) == before
    assert not (cli_workdir.parent / "evil.txt").exists()
    assert [p.name for p in install.iterdir() if p.name.startswith(".")] == []


def test_restore_refuses_while_the_database_is_open_elsewhere(install: Path, cli_workdir: Path) -> None:
    """While another process has the database open (a running bot), restore exits 1 and replaces nothing; once
    that process is gone, the same restore succeeds."""
    out = cli_workdir / "backup.tar.gz"
    assert runner.invoke(app, ["backup", str(out)]).exit_code == 0
    db = install / "relance.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL');"
            "c.execute('SELECT count(*) FROM evidence').fetchone(); print('open', flush=True); sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert database_in_use(db)
        result = runner.invoke(app, ["restore", str(out)])
        assert result.exit_code == 1 and "is the bot running?" in result.output
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    assert not database_in_use(db)
    result = runner.invoke(app, ["restore", str(out)])
    assert result.exit_code == 0, result.output


def test_postgresql_backup_prints_pg_dump_recipe_without_password(
    cli_workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a PostgreSQL DATABASE_URL the archive holds the data folder only, and the pg_dump / pg_restore recipe is
    printed without the password; restoring it into a SQLite install is refused."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://relance_bot:s3cret-pw@db.example/relance")
    (cli_workdir / "data" / "invoices").mkdir(parents=True)
    (cli_workdir / "data" / "invoices" / "F.pdf").write_bytes(b"%PDF")
    out = cli_workdir / "pg.tar.gz"
    result = runner.invoke(app, ["backup", str(out)])
    assert result.exit_code == 0, result.output
    assert "pg_dump --format=custom" in result.output and "pg_restore" in result.output
    assert "s3cret-pw" not in result.output
    assert read_manifest(out)["database"] == "postgresql"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{cli_workdir / 'other.db'}")
    refused = runner.invoke(app, ["restore", str(out)])
    assert refused.exit_code == 1 and "holds no database" in refused.output


def test_pg_dump_recipe_restores_a_database_that_verifies(cli_workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: the pg_dump command `relance backup` prints, then the documented pg_restore into an empty
    database, give a database whose evidence chain passes `relance verify` with the head hash of the original."""
    import shlex
    import shutil

    from tests.conftest import _pg_admin_url, _pg_unavailable, drop_postgres_database, new_postgres_database

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        _pg_unavailable("pg_dump / pg_restore are not on PATH")
    url, name = new_postgres_database()
    target = f"relance_r_{name[-12:]}"
    admin = make_engine(_pg_admin_url(), migrate=False, isolation_level="AUTOCOMMIT")
    try:
        engine = make_engine(url)
        _append(engine, add_business(engine, "default"), 4)
        engine.dispose()
        monkeypatch.setenv("DATABASE_URL", url)
        backup = runner.invoke(app, ["backup", str(cli_workdir / "pg.tar.gz")])
        assert backup.exit_code == 0, backup.output
        original = runner.invoke(app, ["verify", "--json"])
        head = json.loads(original.output)["head_hash"]
        dump_line = next(line for line in backup.output.splitlines() if line.startswith("pg_dump "))
        subprocess.run(shlex.split(dump_line), check=True, capture_output=True, timeout=120)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{target}"'))
        restore_line = next(line for line in backup.output.splitlines() if "pg_restore" in line)
        target_url = _libpq_url(url, target)
        args = shlex.split(restore_line.lstrip("# ").replace("<DATABASE_ADMIN_URL>", target_url))
        subprocess.run(args, check=True, capture_output=True, timeout=120)
        monkeypatch.setenv("DATABASE_URL", target_url)
        verified = runner.invoke(app, ["verify", "--head", head])
        assert verified.exit_code == 0, verified.output
        assert "OK: 4 entries" in verified.output
    finally:
        drop_postgres_database(target)
        drop_postgres_database(name)
        admin.dispose()


def _libpq_url(url: str, database: str) -> str:
    """`url` naming another database, as a libpq URL (pg_restore does not know SQLAlchemy's driver suffix)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)
