"""`backup` and `restore`: a copy of one hakama — database, lake, uploads, secrets, indicator
files — that is consistent, taken while it serves and ingests.

How the copy stays consistent (see docs/operations.md):

1. The lake's shared lock is held throughout, so no compaction merges files meanwhile (flushes
   only add files and go on).
2. The database is copied in one snapshot: SQLite's online backup API (`sqlite3.backup`), or
   `pg_dump` inside an exported snapshot on PostgreSQL. Whatever was committed — hence
   acknowledged — before the snapshot is in it.
3. The lake is copied after, keeping only what the snapshot accounts for: an observation file
   of a flush batch the snapshot saw `done` (or a merge made before the lock was taken); files of
   batches claimed or not yet made at the snapshot are left out, because their rows are still
   in the snapshot's staging table (a claimed batch is rewritten by the first flush after a
   restore). Other datasets keep the files written before the snapshot.
4. Uploads, secrets and indicator files are copied last (uploads only grow).

Every copied file is listed in `backup.json` with its size and SHA-256; `restore` checks them
all before it touches anything, then replaces the database and the folders, and runs `check`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import hakama
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, Invalid
from hakama.services import integrity
from hakama.services.observations import DATASET as OBSERVATIONS
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.db import current_revision
from hakama.storage.lake import batch_file_name
from hakama.storage.schema_observations import lake_flushes

FORMAT = 1
MANIFEST = "backup.json"
SQLITE_FILE = "database/hakama.db"
PG_FILE = "database/hakama.pgdump"
#: Folders of the data folder copied besides the lake, by name in the backup.
FOLDERS = ("uploads", "secrets", "indicators")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    engine: str
    files: int
    bytes: int
    lake_files: int
    lake_files_left_out: int
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    engine: str
    files: int
    created_at: str
    check: integrity.CheckReport


def backup(platform: Platform, dest: Path) -> BackupReport:
    """Write a consistent copy of `platform` to the new folder `dest` (written aside, then
    renamed into place, so `dest` is whole or absent)."""
    started = utcnow()
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise Conflict(f"{dest} already exists and is not an empty folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    try:
        with platform.lake.lock(exclusive=False):
            snapshot_at = utcnow()
            if platform.db.dialect == "sqlite":
                done = _sqlite_snapshot(platform, work / SQLITE_FILE)
            elif platform.db.dialect == "postgresql":
                done = _pg_snapshot(platform, work / PG_FILE)
            else:  # pragma: no cover
                raise Invalid(f"backup of a {platform.db.dialect} database is not supported")
            kept, left_out = _copy_lake(platform, work / "lake", done, snapshot_at)
        settings = platform.settings
        sources = {
            "uploads": settings.uploads_dir,
            "secrets": settings.secrets_dir,
            "indicators": settings.user_indicators_dir,
        }
        for name in FOLDERS:
            if sources[name].is_dir():
                shutil.copytree(sources[name], work / name, symlinks=False)
        files = _inventory(work)
        manifest = {
            "format": FORMAT,
            "hakama": hakama.__version__,
            "engine": platform.db.dialect,
            "revision": current_revision(platform.db.engine),
            "created_at": snapshot_at.isoformat(),
            "lake_files_left_out": left_out,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        _sync_tree(work)
        if dest.exists():
            dest.rmdir()
        work.rename(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupReport(
        path=dest,
        engine=platform.db.dialect,
        files=len(files),
        bytes=sum(f["size"] for f in files.values()),
        lake_files=kept,
        lake_files_left_out=left_out,
        seconds=(utcnow() - started).total_seconds(),
    )


def _done_batches(conn: sa.Connection) -> set[int]:
    ids = conn.execute(sa.select(lake_flushes.c.id).where(lake_flushes.c.state == "done"))
    return {int(i) for i in ids.scalars()}


def _sqlite_snapshot(platform: Platform, target: Path) -> set[int]:
    """SQLite's online backup: a page-consistent copy while writers go on (WAL)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = platform.db.engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
    finally:
        raw.close()
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _done_batches(conn)
    finally:
        engine.dispose()


def libpq_url(url: sa.engine.URL) -> str:
    """The SQLAlchemy URL as the `postgresql://` URL pg_dump and pg_restore read."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_snapshot(platform: Platform, target: Path) -> set[int]:
    """pg_dump inside a snapshot this function also reads the flush journal from."""
    target.parent.mkdir(parents=True, exist_ok=True)
    engine = platform.db.engine
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as conn, conn.begin():
        snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
        done = _done_batches(conn)
        _run(
            ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
             "--file", str(target), "--dbname", libpq_url(engine.url)],
            "pg_dump",
        )  # fmt: skip
    return done


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=24 * 3600)
    except FileNotFoundError:
        raise Invalid(f"{what} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise Invalid(f"{what} failed: {last}")


def _copy_lake(
    platform: Platform, target: Path, done: set[int], before: datetime
) -> tuple[int, int]:
    """Copy the lake files the database snapshot accounts for; returns (kept, left out)."""
    lake = platform.lake
    kept = left_out = 0
    for dataset in lake.datasets():
        for path in lake.files(dataset):
            if not _belongs(dataset, path, done, before):
                left_out += 1
                continue
            to = target / path.relative_to(lake.root)
            to.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, to)
            except FileNotFoundError:  # pragma: no cover - compaction holds the lock we hold
                left_out += 1
                continue
            kept += 1
    return kept, left_out


def _belongs(dataset: str, path: Path, done: set[int], before: datetime) -> bool:
    if dataset == OBSERVATIONS and path.name.startswith("part-b"):
        try:
            batch = int(path.name.removeprefix("part-b").removesuffix(".parquet"))
        except ValueError:
            return False
        return batch in done and path.name == batch_file_name(batch)
    if dataset == OBSERVATIONS:
        return True  # a merge, made before we took the lock: only done batches' rows
    return path.stat().st_mtime < before.timestamp()


def _inventory(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        out[path.relative_to(root).as_posix()] = {
            "size": path.stat().st_size,
            "sha256": _sha256(path),
        }
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sync_tree(root: Path) -> None:
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(Path(folder) / name, "rb") as handle:
                os.fsync(handle.fileno())
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# Restore ------------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file it lists (size and SHA-256)."""
    path = Path(source) / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise Invalid(f"{source} is not a hakama backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise Invalid(f"{path} is unreadable: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise Invalid(f"{source}: backup format {manifest.get('format')!r} is not {FORMAT}")
    for rel, meta in manifest["files"].items():
        file = Path(source) / rel
        if (
            not file.is_file()
            or file.stat().st_size != meta["size"]
            or _sha256(file) != meta["sha256"]
        ):
            raise Invalid(f"backup file {rel} is missing or damaged; nothing was restored")
    return manifest


def restore(settings: Settings, source: Path, *, force: bool = False) -> RestoreReport:
    """Replace the storage `settings` point at with the backup in `source`, then check it.

    Refuses to overwrite a database that holds data unless `force`. Stop `hakama serve` first:
    a running server keeps the old lake and caches.
    """
    source = Path(source)
    manifest = read_manifest(source)
    engine_kind = "sqlite" if settings.database.startswith("sqlite") else "postgresql"
    if manifest["engine"] != engine_kind:
        raise Invalid(
            f"this backup is of a {manifest['engine']} database; the target is {engine_kind}"
        )
    settings.ensure_dirs()
    target = Platform.open(settings, migrate=False)
    try:
        if not force and _has_data(target):
            raise Conflict("the target database already holds data; pass --force to replace it")
        if engine_kind == "sqlite":
            _restore_sqlite(target, source / SQLITE_FILE)
        else:
            _restore_pg(target, source / PG_FILE)
    finally:
        target.close()
    data = settings.data_dir
    destinations = {
        "lake": settings.lake_dir,
        "uploads": settings.uploads_dir,
        "secrets": settings.secrets_dir,
        "indicators": settings.user_indicators_dir,
    }
    for name, where in destinations.items():
        _replace_folder(source / name, where, data)
    restored = Platform.open(settings)  # migrates a backup of an older hakama
    try:
        report = integrity.check(restored)
    finally:
        restored.close()
    return RestoreReport(
        engine=engine_kind,
        files=len(manifest["files"]),
        created_at=str(manifest["created_at"]),
        check=report,
    )


def _has_data(platform: Platform) -> bool:
    with platform.db.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
        for name in ("audit_log", "areas", "observation_staging"):
            if (
                name in names
                and conn.execute(
                    sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)
                ).first()
            ):
                return True
    return False


def _restore_sqlite(platform: Platform, file: Path) -> None:
    """SQLite's backup API from the copy into the live file: other connections see the whole
    old database or the whole restored one."""
    path = platform.settings.database.split("///", 1)[-1]
    platform.close()
    with sqlite3.connect(file) as copy, sqlite3.connect(path, timeout=30) as live:
        copy.backup(live)
    copy.close()
    live.close()


def _restore_pg(platform: Platform, file: Path) -> None:
    url = libpq_url(platform.db.engine.url)
    platform.close()
    _run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", "--dbname", url, str(file)],
        "pg_restore",
    )  # fmt: skip


def _replace_folder(backup_folder: Path, where: Path, data: Path) -> None:
    """Put the backup's copy of a folder in place: copied aside, then swapped by renames."""
    fresh = data / f".restore-{where.name}-{uuid.uuid4().hex[:8]}"
    if backup_folder.is_dir():
        shutil.copytree(backup_folder, fresh)
    else:
        fresh.mkdir(parents=True)
    old = data / f".old-{where.name}-{uuid.uuid4().hex[:8]}"
    if where.exists():
        where.rename(old)
    fresh.rename(where)
    shutil.rmtree(old, ignore_errors=True)
