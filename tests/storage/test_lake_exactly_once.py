"""Staging → Parquet is exactly once for every staged dataset: a failure between writing a
batch's files and closing it (rows deleted from staging, journal closed) neither loses nor
doubles a row when the next flush runs. Request events used to be at least once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from hakama.services import request_events
from hakama.services.platform import Platform
from hakama.storage.lake import Lake, LakeFile, claimed_batches, move_staged
from hakama.storage.lake_schemas import REQUEST_EVENTS_SCHEMA
from hakama.storage.schema_requests import request_events_staging

T0 = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


class CrashAfterWriting(Lake):
    """A lake whose process dies right after a batch's files are in place."""

    def write_batch(
        self, dataset: str, batch: int, table: pa.Table, *, time_column: str = "time"
    ) -> list[LakeFile]:
        super().write_batch(dataset, batch, table, time_column=time_column)
        raise SystemExit("killed between the files and the staging delete")


def event(request_id: str, time: datetime) -> dict[str, object]:
    return {
        "time": time,
        "request_id": request_id,
        "area_code": "C1",
        "service_code": "lighting",
        "category": "street",
        "event": "created",
        "status": "open",
        "actor_kind": "citizen",
    }


def stage_events(platform: Platform, count: int) -> list[tuple[str, str]]:
    # 40 minutes apart from 23:00: the rows fall in two day folders
    rows = [event(f"r-{i}", T0 + timedelta(minutes=40 * i)) for i in range(count)]
    with platform.db.begin() as conn:
        conn.execute(request_events_staging.insert(), rows)
    return sorted((str(r["request_id"]), str(r["event"])) for r in rows)


def lake_events(platform: Platform) -> list[tuple[str, str]]:
    with platform.lake.duckdb() as db:
        found = db.execute("SELECT request_id, event FROM request_events").fetchall()
    return sorted((str(a), str(b)) for a, b in found)


def test_request_events_reach_the_lake_once_despite_a_crash_after_the_files(
    platform: Platform,
) -> None:
    staged = stage_events(platform, 5)
    with pytest.raises(SystemExit):
        move_staged(
            platform.db,
            CrashAfterWriting(platform.lake.root),
            request_events_staging,
            "request_events",
            REQUEST_EVENTS_SCHEMA,
            batch=3,
        )
    # The crash left the first batch's files (two days) and every row still staged.
    assert len(platform.lake.files("request_events")) == 2
    assert request_events.staged_count(platform) == 5
    with platform.db.connect() as conn:
        assert len(claimed_batches(conn, "request_events")) == 1

    assert request_events.flush_events(platform, batch=3) == 5
    assert lake_events(platform) == staged  # each once: the orphaned files were not kept
    assert request_events.staged_count(platform) == 0
    with platform.db.connect() as conn:
        assert claimed_batches(conn) == []
    assert request_events.flush_events(platform) == 0
    assert lake_events(platform) == staged


class LateCommit(Lake):
    """While a batch is written, another transaction commits a row under a lower id (as a
    PostgreSQL sequence allows: ids are taken before commit)."""

    def __init__(self, platform: Platform) -> None:
        super().__init__(platform.lake.root)
        self.platform = platform
        self.done = False

    def write_batch(
        self, dataset: str, batch: int, table: pa.Table, *, time_column: str = "time"
    ) -> list[LakeFile]:
        files = super().write_batch(dataset, batch, table, time_column=time_column)
        if not self.done:
            self.done = True
            with self.platform.db.begin() as conn:
                conn.execute(request_events_staging.insert().values(id=2, **LATE))
        return files


LATE = event("late", T0)


def test_only_the_rows_written_leave_staging(platform: Platform) -> None:
    """Rows leave staging by id, not up to the last id read: a row committed during the write
    under a lower id is not dropped unwritten."""
    stage_events(platform, 3)
    with platform.db.begin() as conn:
        conn.execute(request_events_staging.delete().where(request_events_staging.c.id == 2))
    late = LateCommit(platform)
    moved = move_staged(
        platform.db, late, request_events_staging, "request_events", REQUEST_EVENTS_SCHEMA
    )
    assert moved == 3 and request_events.staged_count(platform) == 0
    assert [r for r, _e in lake_events(platform)] == ["late", "r-0", "r-2"]
