"""Observations on their way to the lake: durable staging, crash-safe flush, compaction, and a
reader that sees the lake and what is not yet in it, each observation exactly once.

How a reading travels:

1. `stage(conn, observations)` inserts rows into the table `observation_staging` inside the
   caller's transaction. When the caller commits, the reading is durable and may be
   acknowledged. A row whose dedupe key (`core.observations.observation_key`) is already staged
   is ignored, so a retry counts once.
2. `flush(platform)` moves staged rows to Parquet in three steps, each crash-safe:
   (a) *claim*: one transaction records a flush batch in `lake_flushes` (state `claimed`) and
   stamps the oldest unclaimed rows with its id; (b) *write*: one file per day,
   `observations/day=D/part-b<batch>.parquet`, whose name depends only on the batch, so a
   rewrite after a crash replaces it with the same rows; (c) *done*: one transaction marks the
   batch `done`. Flushed rows stay in staging (ignored by readers) for `retention` so that a
   late retry still meets their key, then `flush` deletes them. A batch left `claimed` by a
   crash is written again by the next `flush`, before anything new.
3. `compact(platform, ...)` merges a day's files into one; it only touches files of `done`
   batches (and earlier merges) and swaps files while holding the lake's exclusive lock.
4. `recent_and_lake(platform)` takes the lake's shared lock, snapshots the staged rows that are
   not in a `done` batch, then lists the lake's files leaving out those of batches that were
   not `done` at the snapshot (their rows came from staging). The DuckDB view
   `observations_all` is the union: every acknowledged observation, once.

The lock is an advisory `flock` on `<lake>/.lock`: readers share it, compaction takes it
exclusively (waiting at most `wait` seconds), flushing does not need it (it only adds files).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from hakama.core.clock import utcnow
from hakama.core.errors import Invalid
from hakama.core.observations import Observation, check, observation_key
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.lake import (
    CompactReport,
    LakeFile,
    claim_batch,
    held,
    mark_done,
    open_duckdb,
)
from hakama.storage.lake import (
    compact as lake_compact,
)
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA
from hakama.storage.schema_observations import lake_flushes, observation_staging

#: The lake dataset observations are flushed to.
DATASET = "observations"
#: Name of the DuckDB view `recent_and_lake` provides.
VIEW = "observations_all"


@dataclass(frozen=True)
class FlushReport:
    """What one `flush` did: rows moved, files written, batches closed, crashed ones redone."""

    rows: int = 0
    batches: int = 0
    recovered: int = 0
    purged: int = 0
    files: tuple[LakeFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class StagingStats:
    """How much is waiting in staging, and how old the oldest waiting row is."""

    pending: int
    claimed: int
    flushed_kept: int
    oldest_pending_seconds: float | None


def stage(conn: sa.Connection, observations: Iterable[Observation]) -> int:
    """Stage observations durably in the caller's transaction; return how many were new.

    Rows whose dedupe key is already staged (or was flushed less than `retention` ago) are
    skipped. Raises `core.errors.Invalid` for an observation that `core.observations.check`
    refuses (naive time, no value, unknown source…), before anything is written.
    """
    now = utcnow()
    rows: dict[str, tuple[Any, ...]] = {}
    for index, obs in enumerate(observations):
        reason = check(obs)
        if reason is not None:
            raise Invalid(f"observation {index} ({obs.entity_id} {obs.attribute}): {reason}")
        time, entity_id, entity_type, attribute, value, text, unit, area_code, source = obs
        if value is not None and type(value) is not float:
            value = float(value)
        key = observation_key(entity_id, attribute, time, value, text)
        if key not in rows:
            rows[key] = (
                key, time, entity_id, entity_type, attribute, value, text, unit, area_code,
                source, now,
            )  # fmt: skip
    return db.insert_new(conn, observation_staging, "key", _COLUMNS, list(rows.values()))


_COLUMNS = (
    "key", "time", "entity_id", "entity_type", "attribute", "value", "text", "unit",
    "area_code", "source", "staged_at",
)  # fmt: skip


def flush(
    platform: Platform,
    *,
    max_rows: int = 200_000,
    retention: timedelta = timedelta(hours=1),
    until_empty: bool = True,
    stale: timedelta = timedelta(seconds=30),
) -> FlushReport:
    """Move staged rows to the lake (batches of at most `max_rows`), crash-safely.

    Redoes batches a crash left half-done first (those claimed more than `stale` ago, so a
    flusher of another process still at work is left alone), then flushes until staging is
    empty (`until_empty`) or once, then purges flushed rows older than `retention`.
    """
    if max_rows < 1:
        raise Invalid("max_rows must be at least 1")
    rows = batches = recovered = 0
    files: list[LakeFile] = []
    for batch in _stale_batches(platform, older_than=stale):
        written, count = _write_batch(platform, batch)
        _mark_done(platform, batch, count)
        files.extend(written)
        rows += count
        recovered += 1
    while True:
        claimed = _claim(platform, max_rows)
        if claimed is None:
            break
        written, count = _write_batch(platform, claimed)
        _mark_done(platform, claimed, count)
        files.extend(written)
        rows += count
        batches += 1
        if not until_empty or count < max_rows:
            break
    purged = _purge(platform, retention)
    return FlushReport(
        rows=rows, batches=batches, recovered=recovered, purged=purged, files=tuple(files)
    )


def _stale_batches(platform: Platform, *, older_than: timedelta) -> list[int]:
    limit = utcnow() - older_than
    with platform.db.connect() as conn:
        ids = conn.execute(
            sa.select(lake_flushes.c.id)
            .where(lake_flushes.c.state == "claimed", lake_flushes.c.claimed_at <= limit)
            .order_by(lake_flushes.c.id)
        ).scalars()
        return [int(i) for i in ids]


def _claim(platform: Platform, max_rows: int) -> int | None:
    """Stamp the oldest unclaimed rows with a new batch id, in one transaction."""
    with platform.db.begin() as conn:
        pick = (
            sa.select(observation_staging.c.seq)
            .where(observation_staging.c.batch.is_(None))
            .order_by(observation_staging.c.seq)
            .limit(max_rows)
        )
        # Several hakama processes may flush at once: each claims rows no other holds.
        pick = db.locking(conn, pick, skip_locked=True)
        seqs = list(db.columns(conn, pick)[0])
        if not seqs:
            return None
        batch = claim_batch(conn, DATASET, len(seqs))
        low, high = seqs[0], seqs[-1]
        if high - low + 1 == len(seqs):
            where = observation_staging.c.seq.between(low, high)
        else:
            where = observation_staging.c.seq.in_(seqs)
        conn.execute(
            observation_staging.update()
            .where(where, observation_staging.c.batch.is_(None))
            .values(batch=batch)
        )
        return batch


_STAGED_COLUMNS = [observation_staging.c[name] for name in OBSERVATIONS_SCHEMA.names]


def _staged_table(conn: sa.Connection, columns: Sequence[Sequence[Any]]) -> pa.Table:
    """Staged rows read column by column (`db.columns`, `_STAGED_COLUMNS` first) as a lake
    table: a flush or a snapshot reads every staged row, so nothing is done per value here."""
    arrays = [
        db.instants(conn, columns[i])
        if pa.types.is_timestamp(field.type)
        else pa.array(columns[i], type=field.type)
        for i, field in enumerate(OBSERVATIONS_SCHEMA)
    ]
    return pa.Table.from_arrays(arrays, schema=OBSERVATIONS_SCHEMA)


def _write_batch(platform: Platform, batch: int) -> tuple[list[LakeFile], int]:
    """Write the batch's rows, one file per day, under names that depend only on the batch."""
    with platform.db.connect() as conn:
        query = (
            sa.select(*_STAGED_COLUMNS)
            .where(observation_staging.c.batch == batch)
            .order_by(observation_staging.c.seq)
        )
        table = _staged_table(conn, db.columns(conn, query))
    return platform.lake.write_batch(DATASET, batch, table), table.num_rows


def _mark_done(platform: Platform, batch: int, rows: int) -> None:
    with platform.db.begin() as conn:
        mark_done(conn, batch, rows)


def _purge(platform: Platform, retention: timedelta) -> int:
    """Forget flushed rows (and their journal entries) once retries can no longer come."""
    limit = utcnow() - retention
    with platform.db.begin() as conn:
        old = (
            sa.select(lake_flushes.c.id)
            .where(lake_flushes.c.state == "done", lake_flushes.c.done_at <= limit)
            .scalar_subquery()
        )
        purged = conn.execute(
            observation_staging.delete().where(observation_staging.c.batch.in_(old))
        ).rowcount
        conn.execute(
            lake_flushes.delete().where(
                lake_flushes.c.state == "done", lake_flushes.c.done_at <= limit
            )
        )
    return int(purged or 0)


# Readers and compaction ---------------------------------------------------------------------


def compact(
    platform: Platform,
    dataset: str = DATASET,
    day: date | None = None,
    *,
    min_files: int = 2,
    wait: float = 30.0,
) -> CompactReport:
    """Merge the files of one day (or of every day when `day` is None) into one per day, rows
    ordered so row-group statistics prune well for per-type and per-entity queries
    (`storage.lake.compact`, which keeps `recent_and_lake` readers exactly-once throughout)."""
    return lake_compact(
        platform.lake,
        platform.db,
        dataset,
        day,
        min_files=min_files,
        wait=wait,
        order=("entity_type", "entity_id", "attribute", "time"),
    )


@contextmanager
def recent_and_lake(
    platform: Platform, *, threads: int | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the view `observations_all`: lake ∪ staged-not-flushed, once.

    Columns are exactly `core.observations.OBSERVATIONS_SCHEMA` (time is TIMESTAMPTZ; the
    session time zone is UTC). The view is a snapshot taken on entry; use it inside the `with`
    block only (compaction waits for the block to end).
    """
    lake = platform.lake
    with lake.lock(exclusive=False):
        staged, claimed = _staged_snapshot(platform)
        files = [p for p in lake.files(DATASET) if not held(p, claimed)]
        conn = open_duckdb(threads=threads, timezone="UTC")
        try:
            conn.register("observations_staged", staged)
            columns = ", ".join(OBSERVATIONS_SCHEMA.names)
            if files:
                listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
                lake_part = (
                    f"SELECT {columns} FROM read_parquet([{listing}], union_by_name=true) "
                    "UNION ALL "
                )
            else:
                lake_part = ""
            conn.execute(
                f"CREATE VIEW {VIEW} AS {lake_part}SELECT {columns} FROM observations_staged"
            )
            yield conn
        finally:
            conn.close()


def _staged_snapshot(platform: Platform) -> tuple[pa.Table, set[int]]:
    """Staged rows not in a done batch, and the batches claimed but not done — one statement,
    so both come from the same instant."""
    query = (
        sa.select(*_STAGED_COLUMNS, observation_staging.c.batch)
        .select_from(
            observation_staging.outerjoin(
                lake_flushes, observation_staging.c.batch == lake_flushes.c.id
            )
        )
        .where(sa.or_(observation_staging.c.batch.is_(None), lake_flushes.c.state == "claimed"))
    )
    with platform.db.connect() as conn:
        columns = db.columns(conn, query)
        table = _staged_table(conn, columns)
    claimed = {int(b) for b in columns[-1] if b is not None}
    return table, claimed


def staging_stats(platform: Platform) -> StagingStats:
    """Counts of staged rows by state, for `hakama lake stats` and health checks."""
    s, f = observation_staging, lake_flushes
    with platform.db.connect() as conn:
        pending = conn.execute(sa.select(sa.func.count()).where(s.c.batch.is_(None))).scalar_one()
        oldest: datetime | None = conn.execute(
            sa.select(sa.func.min(s.c.staged_at)).where(s.c.batch.is_(None))
        ).scalar_one()
        by_state: dict[str, int] = {
            str(state): int(count)
            for state, count in conn.execute(
                sa.select(f.c.state, sa.func.count())
                .select_from(s.join(f, s.c.batch == f.c.id))
                .group_by(f.c.state)
            )
        }
    age = (utcnow() - oldest).total_seconds() if oldest is not None else None
    return StagingStats(
        pending=int(pending),
        claimed=int(by_state.get("claimed", 0)),
        flushed_kept=int(by_state.get("done", 0)),
        oldest_pending_seconds=age,
    )
