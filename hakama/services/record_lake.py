"""The lake dataset `admin_records`, rebuilt day by day from the stored records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.lake import Lake, fsync_dir, write_file
from hakama.storage.lake_schemas import ADMIN_RECORDS_SCHEMA
from hakama.storage.schema_records import record_lake_days

DATASET = "admin_records"

ID_PREFIX = "rec-"


SYNC_DAYS = 8  # days rebuilt per round: bounds the rows held in memory


def sync_lake(platform: Platform, *, wait: float = 30.0) -> int:
    """Rebuild the lake files of every marked day from the database; returns the days done.

    Runs under the lake's exclusive lock (readers never see a day half rebuilt). A day keeps the
    rows of other origins (ids not starting with `rec-`); each mark is cleared only after its
    day's new file is on disk and the old ones gone, so an interrupted sync is finished by the
    next one (which also drops any row a cut-short rebuild left twice)."""
    with platform.db.connect() as conn:
        days = sorted(r.day for r in conn.execute(sa.select(record_lake_days.c.day)))
    if not days:
        return 0
    with platform.lake.lock(exclusive=True, wait=wait) as got:
        if not got:
            return 0
        for start in range(0, len(days), SYNC_DAYS):
            chunk = days[start : start + SYNC_DAYS]
            _rebuild_days(platform, chunk)
            with platform.db.begin() as conn:
                conn.execute(record_lake_days.delete().where(record_lake_days.c.day.in_(chunk)))
    return len(days)


def _db_rows(platform: Platform, first: date, last: date) -> pa.Table:
    """The stored records requested on days first..last, in the lake's columns, by time."""
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    with platform.db.connect() as conn:
        rows = db.select_rows(
            conn,
            "SELECT requested_at, record_id, area_code, service, channel, status, delivered_at "
            "FROM admin_records WHERE requested_at >= ? AND requested_at < ? "
            "ORDER BY requested_at, record_id",
            (db.time_param(conn, start), db.time_param(conn, end)),
        )
    columns: list[Sequence[Any]] = (
        [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(7)]
    )
    arrays = []
    for field_, values in zip(ADMIN_RECORDS_SCHEMA, columns, strict=True):
        if pa.types.is_timestamp(field_.type):
            raw = pa.array(values)
            if pa.types.is_string(raw.type) or pa.types.is_null(raw.type):
                raw = pc.cast(pc.cast(raw, pa.string()), pa.timestamp("us"))
                raw = pc.assume_timezone(raw, "UTC")
            arrays.append(pc.cast(raw, field_.type))
        else:
            arrays.append(pa.array(values, field_.type))
    return pa.Table.from_arrays(arrays, schema=ADMIN_RECORDS_SCHEMA)


def _rebuild_days(platform: Platform, days: list[date]) -> None:
    ours = _db_rows(platform, days[0], days[-1])
    day_of = pc.cast(ours["time"], pa.date32()).to_numpy()
    lake: Lake = platform.lake
    written: list[Path] = []
    replaced: list[Path] = []
    for day in days:
        lo, hi = np.searchsorted(
            day_of, [np.datetime64(day), np.datetime64(day + timedelta(days=1))]
        )
        folder = lake.dataset_dir(DATASET) / f"day={day.isoformat()}"
        old_files = sorted(folder.glob("*.parquet")) if folder.exists() else []
        kept = [_foreign_rows(old_files)] if old_files else []
        combined = pa.concat_tables([*kept, ours.slice(lo, hi - lo)])
        if combined.num_rows:
            combined = combined.sort_by("time")
            path = folder / f"part-{uuid.uuid4().hex}.parquet"
            write_file(combined, path, durable=False)
            written.append(path)
        replaced.extend(old_files)
    Lake.sync(written)
    for path in replaced:
        path.unlink(missing_ok=True)
    for folder in {p.parent for p in replaced}:
        fsync_dir(folder)


def _foreign_rows(files: list[Path]) -> pa.Table:
    """The rows of other origins (the demo's…) in a day's files, each once."""
    names = ADMIN_RECORDS_SCHEMA.names
    tables = [pq.read_table(path).select(names).cast(ADMIN_RECORDS_SCHEMA) for path in files]
    table = pa.concat_tables(tables)
    table = table.filter(pc.invert(pc.starts_with(table["record_id"], ID_PREFIX)))
    if len(files) > 1 and pc.count_distinct(table["record_id"]).as_py() < table.num_rows:
        first = table.append_column("_i", pa.array(np.arange(table.num_rows)))
        keep = first.group_by("record_id").aggregate([("_i", "min")])["_i_min"]
        table = table.take(pa.array(np.sort(keep.to_numpy())))
    return table


def recompute_indicators(platform: Platform) -> int:
    """Bring the indicators up to date (incremental: the periods of the days touched)."""
    from hakama.services import indicators  # indicators import the territory, as we do

    report = indicators.compute(platform)
    return sum(report.periods.values())
