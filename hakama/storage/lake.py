"""The history lake, its one owner: Parquet files partitioned by dataset and day, the DuckDB
connections that read them, the lake lock, and staged rows moved to Parquet exactly once.

Layout: `<root>/<dataset>/day=YYYY-MM-DD/part-<name>.parquet` (dataset names: `DATASET_NAME`;
column schemas: `storage.lake_schemas`). A file is written whole under a hidden temporary name
in the same folder, flushed to disk, then renamed into place, so a reader (DuckDB, Spark,
pandas) never sees half a file. Readers glob `*.parquet`; temporary names start with a dot and
never match.

Staging → Parquet, one guarantee for every staged dataset (observations, request events,
request states): each staged row reaches the lake exactly once. A flush batch is journalled in
`lake_flushes` (`claim_batch`, state `claimed`), written as `part-b<batch>.parquet` in each day
folder it covers (`Lake.write_batch`; the name depends only on the batch), then closed in one
transaction with what leaves staging (`mark_done`). A crash between the files and that
transaction leaves the batch `claimed`: its files are either rewritten whole under the same
names (observations, whose rows carry their batch) or removed before the rows are flushed again
(`move_staged`, for staging tables whose rows leave once written). Readers that also read
staging skip files of claimed batches (`held`).

The lock is an advisory `flock` on `<lake>/.lock`: readers share it, compaction takes it
exclusively, flushing does not need it (it only adds files).
"""

from __future__ import annotations

import fcntl
import os
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from duckdb import DuckDBPyConnection

from hakama.core.clock import utcnow
from hakama.storage.db import Database
from hakama.storage.schema_observations import lake_flushes

DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: Files of flush batches (`batch_file_name`).
BATCH_FILE = re.compile(r"part-b(\d+)\.parquet")
#: Rows per Parquet row group of flushed and compacted files (statistics prune per group).
ROW_GROUP = 131_072


@dataclass(frozen=True)
class LakeFile:
    dataset: str
    day: date
    path: Path
    rows: int


class Lake:
    """Append-only Parquet history under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def dataset_dir(self, dataset: str) -> Path:
        if not DATASET_NAME.fullmatch(dataset):
            raise ValueError(f"dataset name {dataset!r} must be lower-case letters, digits, _")
        return self.root / dataset

    def datasets(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and DATASET_NAME.fullmatch(p.name)
        )

    def append(
        self, dataset: str, table: pa.Table, *, time_column: str = "time", durable: bool = True
    ) -> list[LakeFile]:
        """Write `table` as one new file per day it covers (by `time_column`, a UTC timestamp).

        `durable=False` skips the per-file fsync for bulk loads that can be redone (the demo);
        call `sync` on the written files before relying on them.
        """
        if table.num_rows == 0:
            return []
        days = pc.cast(pc.cast(table[time_column], pa.timestamp("us", tz="UTC")), pa.date32())
        unique_days = pc.unique(days).to_pylist()
        written: list[LakeFile] = []
        if len(unique_days) == 1:
            written.append(self._write_day(dataset, unique_days[0], table, durable))
            return written
        for day in sorted(unique_days):
            part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            written.append(self._write_day(dataset, day, part, durable))
        return written

    def _write_day(
        self, dataset: str, day: date, table: pa.Table, durable: bool = True
    ) -> LakeFile:
        folder = self.dataset_dir(dataset) / f"day={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        final = folder / name
        write_file(table, final, durable=durable)
        return LakeFile(dataset, day, final, table.num_rows)

    @staticmethod
    def sync(files: list[LakeFile] | list[Path]) -> None:
        """Flush written files and their folders to disk (after non-durable appends)."""
        folders: set[Path] = set()
        for item in files:
            path = item.path if isinstance(item, LakeFile) else item
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
            folders.add(path.parent)
        for folder in folders:
            fsync_dir(folder)

    def files(self, dataset: str) -> list[Path]:
        folder = self.dataset_dir(dataset)
        if not folder.exists():
            return []
        return sorted(folder.glob("day=*/*.parquet"))

    def glob(self, dataset: str) -> str:
        """The pattern DuckDB or Spark reads the dataset with (hive-partitioned by day)."""
        return str(self.dataset_dir(dataset) / "day=*" / "*.parquet")

    def has(self, dataset: str) -> bool:
        return bool(self.files(dataset))

    def row_count(self, dataset: str) -> int:
        return sum(pq.ParquetFile(path).metadata.num_rows for path in self.files(dataset))

    def days(self, dataset: str) -> list[date]:
        folder = self.dataset_dir(dataset)
        if not folder.exists():
            return []
        return sorted(date.fromisoformat(p.name[4:]) for p in folder.glob("day=*") if p.is_dir())

    @contextmanager
    def lock(self, *, exclusive: bool, wait: float | None = None) -> Iterator[bool]:
        """Hold the lake's advisory lock: shared for readers, exclusive for compaction, which
        swaps a day's files. Yields False when `wait` seconds passed without getting it."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            got = _flock(fd, mode, wait)
            try:
                yield got
            finally:
                if got:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @contextmanager
    def duckdb(self, *, threads: int | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with one view per dataset of the lake."""
        conn = open_duckdb(threads=threads)
        try:
            for dataset in self.datasets():
                if self.has(dataset):
                    conn.execute(
                        f"CREATE VIEW {dataset} AS SELECT * FROM read_parquet("
                        f"'{self.glob(dataset)}', hive_partitioning=true, union_by_name=true)"
                    )
            yield conn
        finally:
            conn.close()

    def write_batch(
        self, dataset: str, batch: int, table: pa.Table, *, time_column: str = "time"
    ) -> list[LakeFile]:
        """Write a flush batch, one file per day, named after the batch only: writing the same
        batch again replaces its files."""
        if table.num_rows == 0:
            return []
        days = pc.cast(pc.cast(table[time_column], pa.timestamp("us", tz="UTC")), pa.date32())
        written: list[LakeFile] = []
        for day in sorted(pc.unique(days).to_pylist()):
            part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
            path = self.dataset_dir(dataset) / f"day={day.isoformat()}" / batch_file_name(batch)
            write_file(part, path, row_group_size=ROW_GROUP)
            written.append(LakeFile(dataset, day, path, part.num_rows))
        return written

    def discard_batch(self, dataset: str, batch: int) -> int:
        """Remove the files a claimed batch left (its rows are still staged); how many."""
        removed = 0
        for path in self.dataset_dir(dataset).glob(f"day=*/{batch_file_name(batch)}"):
            path.unlink()
            fsync_dir(path.parent)
            removed += 1
        return removed


@dataclass(frozen=True)
class CompactReport:
    """What one `compact` did: per day, how many files became one."""

    dataset: str
    days: tuple[date, ...] = ()
    files_before: int = 0
    files_after: int = 0
    rows: int = 0
    skipped: str | None = None  # why nothing was done (e.g. readers held the lock too long)


def compact(
    lake: Lake,
    database: Database,
    dataset: str,
    day: date | None = None,
    *,
    min_files: int = 2,
    wait: float = 30.0,
    order: Sequence[str] = (),
) -> CompactReport:
    """Merge the files of one day (or of every day when `day` is None) into one per day, rows
    sorted by the `order` columns it has.

    Under the exclusive lock, so readers that hold the shared one see every row exactly once
    throughout; plain glob readers (Spark, DuckDB by hand) may see a day twice for the instant
    between the rename of the merged file and the removal of the old ones (the merged file's
    Parquet metadata `hakama.replaces` names them). Files of flush batches not yet marked done
    are left alone.
    """
    folder = lake.dataset_dir(dataset)
    days = [day] if day is not None else lake.days(dataset)
    merged_days: list[date] = []
    before = after = rows = 0
    with lake.lock(exclusive=True, wait=wait) as got:
        if not got:
            return CompactReport(dataset, skipped=f"readers held the lake lock for {wait:g}s")
        with database.connect() as conn:
            pending = set(claimed_batches(conn))
        for one_day in days:
            day_dir = folder / f"day={one_day.isoformat()}"
            parts = sorted(p for p in day_dir.glob("*.parquet") if not held(p, pending))
            if len(parts) < max(min_files, 2):
                continue
            table = pa.concat_tables([pq.read_table(p) for p in parts], promote_options="default")
            wanted = [c for c in order if c in table.column_names]
            if wanted:
                table = table.sort_by([(c, "ascending") for c in wanted])
            final = day_dir / f"part-c{uuid.uuid4().hex}.parquet"
            replaces = ",".join(p.name for p in parts).encode()
            write_file(
                table, final, metadata={b"hakama.replaces": replaces}, row_group_size=ROW_GROUP
            )
            for p in parts:
                p.unlink()
            fsync_dir(day_dir)
            merged_days.append(one_day)
            before += len(parts)
            after += 1
            rows += table.num_rows
    return CompactReport(dataset, tuple(merged_days), before, after, rows)


def open_duckdb(
    *, threads: int | None = None, timezone: str | None = None, memory_limit: str | None = None
) -> DuckDBPyConnection:
    """A new in-memory DuckDB connection, the one place hakama opens one; the caller closes it."""
    conn = duckdb.connect(":memory:")
    if threads:
        conn.execute(f"SET threads={int(threads)}")
    if timezone:
        conn.execute("SET TimeZone=?", [timezone])
    if memory_limit:
        conn.execute("SET memory_limit=?", [memory_limit])
    return conn


def _flock(fd: int, mode: int, wait: float | None) -> bool:
    if wait is None:
        fcntl.flock(fd, mode)
        return True
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def write_file(
    table: pa.Table,
    final: Path,
    *,
    metadata: dict[bytes, bytes] | None = None,
    durable: bool = True,
    row_group_size: int | None = None,
) -> None:
    """Write `table` whole under a unique hidden name, fsync it, rename it to `final`.

    The temporary name is unique so two processes redoing the same file never write into one;
    the rename replaces an earlier copy atomically. `durable=False` skips the fsyncs (bulk
    loads that can be redone call `Lake.sync` afterwards).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_size)
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        fsync_dir(final.parent)


def fsync_dir(folder: Path) -> None:
    """Make a folder's entries (renames, removals) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def schema_of(columns: Sequence[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema(list(columns))


# Staging → Parquet, exactly once ------------------------------------------------------------


def batch_file_name(batch: int) -> str:
    """The lake file name of a flush batch (the same name every time the batch is written)."""
    return f"part-b{batch:012d}.parquet"


def file_batch(path: Path) -> int | None:
    match = BATCH_FILE.fullmatch(path.name)
    return int(match.group(1)) if match else None


def held(path: Path, claimed: set[int]) -> bool:
    """Is `path` the file of a batch still claimed (its rows are still read from staging)?"""
    batch = file_batch(path)
    return batch is not None and batch in claimed


def claim_batch(conn: sa.Connection, dataset: str, rows: int) -> int:
    """Journal a new flush batch of `dataset` (state `claimed`); its id names its files."""
    return int(
        conn.execute(
            lake_flushes.insert()
            .values(dataset=dataset, state="claimed", rows=rows, claimed_at=utcnow())
            .returning(lake_flushes.c.id)
        ).scalar_one()
    )


def mark_done(conn: sa.Connection, batch: int, rows: int) -> None:
    conn.execute(
        lake_flushes.update()
        .where(lake_flushes.c.id == batch)
        .values(state="done", rows=rows, done_at=utcnow())
    )


def claimed_batches(conn: sa.Connection, dataset: str | None = None) -> list[int]:
    """Batches claimed and not done (of one dataset, or of all), oldest first."""
    query = sa.select(lake_flushes.c.id).where(lake_flushes.c.state == "claimed")
    if dataset is not None:
        query = query.where(lake_flushes.c.dataset == dataset)
    return [int(i) for i in conn.execute(query.order_by(lake_flushes.c.id)).scalars()]


def move_staged(
    db: Database,
    lake: Lake,
    staging: sa.Table,
    dataset: str,
    schema: pa.Schema,
    *,
    batch: int = 50_000,
) -> int:
    """Move the rows of a staging table (integer key `id`) to a lake dataset, exactly once;
    returns the rows moved. The caller makes sure one mover at a time works on `dataset`.

    Per batch: journal it, write its files, then in one transaction delete exactly the rows
    written and close the journal entry. A batch a crash left claimed had its files written
    or not, wholly or partly, but its rows are all still staged: its files are removed first,
    and the rows go out again in a new batch. (`on_written(batch)`, for tests, runs between
    the files and the closing transaction.)
    """
    with db.begin() as conn:
        for stale in claimed_batches(conn, dataset):
            lake.discard_batch(dataset, stale)
            conn.execute(lake_flushes.delete().where(lake_flushes.c.id == stale))
    moved = 0
    while True:
        with db.begin() as conn:
            rows = conn.execute(sa.select(staging).order_by(staging.c.id).limit(batch)).all()
            if not rows:
                return moved
            claimed = claim_batch(conn, dataset, len(rows))
        table = pa.Table.from_pylist(
            [{name: getattr(r, name) for name in schema.names} for r in rows], schema=schema
        )
        lake.write_batch(dataset, claimed, table)
        ids = [int(r.id) for r in rows]
        with db.begin() as conn:
            for chunk in range(0, len(ids), 1000):
                conn.execute(staging.delete().where(staging.c.id.in_(ids[chunk : chunk + 1000])))
            conn.execute(lake_flushes.delete().where(lake_flushes.c.id == claimed))
        moved += len(rows)
