"""The history lake: Parquet files partitioned by dataset and day, read through DuckDB.

Layout: `<root>/<dataset>/day=YYYY-MM-DD/part-<uuid>.parquet`. A file is written whole under a
hidden temporary name in the same folder, flushed to disk, then renamed into place, so a reader
(DuckDB, Spark, pandas) never sees half a file. Readers glob `*.parquet`; temporary names start
with a dot and never match.
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

DATASET_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


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
        conn = duckdb.connect(":memory:")
        try:
            if threads:
                conn.execute(f"SET threads={int(threads)}")
            for dataset in self.datasets():
                if self.has(dataset):
                    conn.execute(
                        f"CREATE VIEW {dataset} AS SELECT * FROM read_parquet("
                        f"'{self.glob(dataset)}', hive_partitioning=true, union_by_name=true)"
                    )
            yield conn
        finally:
            conn.close()


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
