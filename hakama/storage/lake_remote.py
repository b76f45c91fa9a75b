"""The lake on S3-compatible object storage (MinIO, Ceph RGW, Garage, AWS S3), through pyarrow's
filesystem layer: `push` mirrors the local lake's finished files into a bucket, `remote_duckdb`
queries a mirrored lake with DuckDB over pyarrow datasets (no DuckDB extension to download).

The local folder stays the one written to (flushes rename whole files into place, compaction
holds the lake lock, both need a POSIX filesystem); the bucket is where other machines read
history from (DuckDB here, Spark's `s3a://`, pandas, Polars). An object appears whole when its
upload completes, so a reader never sees half a file.

URL: `s3://[KEY:SECRET@]bucket/prefix?endpoint_override=host:port&scheme=http&region=…`
(pyarrow's S3 URI; without KEY:SECRET the usual AWS variables and files are read).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
from duckdb import DuckDBPyConnection

from hakama.storage.db import Database
from hakama.storage.lake import DATASET_NAME, Lake, claimed_batches, held, open_duckdb

#: The lake's folders `day=YYYY-MM-DD`, read as a date column as the local reader does.
DAY_PARTITIONS = pads.partitioning(pa.schema([("day", pa.date32())]), flavor="hive")


@dataclass(frozen=True)
class PushReport:
    uploaded: int
    unchanged: int
    removed: int
    bytes: int


def open_remote(url: str) -> tuple[pafs.FileSystem, str]:
    """The filesystem and base path of an object-storage URL (`s3://…`)."""
    if urlsplit(url).scheme not in ("s3", "gs", "abfs"):
        raise ValueError("the remote lake URL must start with s3://, gs:// or abfs://")
    filesystem, path = pafs.FileSystem.from_uri(url)
    return filesystem, path.rstrip("/")


def safe_url(url: str) -> str:
    """`url` without its credentials, for messages and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def push(db: Database, lake: Lake, url: str) -> PushReport:
    """Make the bucket hold exactly the lake's finished files: upload new or changed ones, then
    remove those gone locally (merged by compaction). Files of flush batches still claimed are
    left out: their rows may be flushed again under another name. Run it after flushes (the
    files are immutable once named, so a push only uploads what is new)."""
    filesystem, base = open_remote(url)
    with db.connect() as conn:
        claimed = set(claimed_batches(conn))
    remote: dict[str, int] = {}
    try:
        infos = filesystem.get_file_info(pafs.FileSelector(base, recursive=True))
    except FileNotFoundError:
        infos = []
    for info in infos:
        if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
            remote[info.path] = info.size or 0
    wanted: set[str] = set()
    uploaded = unchanged = sent = 0
    for dataset in lake.datasets():
        for path in lake.files(dataset):
            if held(path, claimed):
                continue
            relative = path.relative_to(lake.root).as_posix()
            target = f"{base}/{relative}"
            wanted.add(target)
            size = path.stat().st_size
            if remote.get(target) == size:
                unchanged += 1
                continue
            filesystem.create_dir(str(PurePosixPath(target).parent), recursive=True)
            pafs.copy_files(str(path), target, destination_filesystem=filesystem, use_threads=False)
            uploaded += 1
            sent += size
    removed = 0
    for target in sorted(set(remote) - wanted):
        filesystem.delete_file(target)
        removed += 1
    return PushReport(uploaded=uploaded, unchanged=unchanged, removed=removed, bytes=sent)


@contextmanager
def remote_duckdb(url: str, *, threads: int | None = None) -> Iterator[DuckDBPyConnection]:
    """A DuckDB connection with one view per dataset of the lake mirrored at `url` (read through
    pyarrow: filters and column choices are pushed down to the Parquet reads)."""
    filesystem, base = open_remote(url)
    conn = open_duckdb(threads=threads)
    try:
        selector = pafs.FileSelector(base, allow_not_found=True)
        for info in filesystem.get_file_info(selector):
            name = PurePosixPath(info.path).name
            if info.type != pafs.FileType.Directory or not DATASET_NAME.fullmatch(name):
                continue
            dataset = pads.dataset(
                info.path, filesystem=filesystem, format="parquet", partitioning=DAY_PARTITIONS
            )
            conn.register(f"_{name}_arrow", dataset)
            conn.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}_arrow")
        yield conn
    finally:
        conn.close()
