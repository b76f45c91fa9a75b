"""Staging, flush, compaction and the lake ∪ staging reader, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from hakama.core.errors import Invalid
from hakama.core.observations import Observation
from hakama.services import observations
from hakama.services.platform import Platform
from hakama.storage.schema_observations import lake_flushes, observation_staging

T0 = datetime(2026, 3, 1, 23, 59, 58, tzinfo=UTC)


def obs(i: int, *, entity: str = "urn:ngsi-ld:AirQualityObserved:a", value: float | None = None) -> Observation:
    return Observation(
        time=T0 + timedelta(seconds=i),
        entity_id=entity,
        entity_type="AirQualityObserved",
        attribute="pm25",
        value=float(i) if value is None else value,
        text=None,
        unit="GQ",
        area_code=None,
        source="http",
    )


def all_rows(platform: Platform) -> list[tuple[str, float]]:
    with observations.recent_and_lake(platform) as db:
        return db.execute(
            f"SELECT entity_id, value FROM {observations.VIEW} ORDER BY time"
        ).fetchall()


def test_a_retry_counts_once(platform: Platform) -> None:
    with platform.db.begin() as conn:
        assert observations.stage(conn, [obs(1), obs(2), obs(2)]) == 2
    with platform.db.begin() as conn:
        assert observations.stage(conn, [obs(1), obs(3)]) == 1
    assert [v for _, v in all_rows(platform)] == [1.0, 2.0, 3.0]


def test_a_rolled_back_transaction_stages_nothing(platform: Platform) -> None:
    with pytest.raises(RuntimeError), platform.db.begin() as conn:
        observations.stage(conn, [obs(1)])
        raise RuntimeError("caller fails after staging")
    assert all_rows(platform) == []


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (obs(1)._replace(time=datetime(2026, 1, 1)), "timezone"),
        (obs(1)._replace(value=None), "value or a text"),
        (obs(1)._replace(value=float("nan")), "finite"),
        (obs(1)._replace(source="fax"), "source"),
        (obs(1)._replace(attribute=""), "required"),
    ],
)
def test_bad_observations_are_refused_before_writing(
    sqlite_platform: Platform, bad: Observation, reason: str
) -> None:
    with pytest.raises(Invalid, match=reason), sqlite_platform.db.begin() as conn:
        observations.stage(conn, [obs(1), bad])
    assert all_rows(sqlite_platform) == []


def test_flush_writes_one_file_per_day_and_readers_see_each_row_once(platform: Platform) -> None:
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(i) for i in range(5)])  # spans midnight
    report = observations.flush(platform)
    assert report.rows == 5 and report.batches == 1
    assert sorted(f.day.isoformat() for f in report.files) == ["2026-03-01", "2026-03-02"]
    assert sum(pq.ParquetFile(f.path).metadata.num_rows for f in report.files) == 5
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(5)])
    assert [v for _, v in all_rows(platform)] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # a retry of a flushed reading still counts once while its key is retained
    with platform.db.begin() as conn:
        assert observations.stage(conn, [obs(1)]) == 0
    stats = observations.staging_stats(platform)
    assert (stats.pending, stats.claimed, stats.flushed_kept) == (1, 0, 5)


def test_flush_batches_and_purges_after_retention(platform: Platform) -> None:
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(i) for i in range(7)])
    report = observations.flush(platform, max_rows=3, retention=timedelta(0))
    assert (report.rows, report.batches, report.purged) == (7, 3, 7)
    with platform.db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(observation_staging)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(lake_flushes)).scalar() == 0
    assert len(all_rows(platform)) == 7


def crash_after_claim(platform: Platform) -> int:
    batch = observations._claim(platform, 100)
    assert batch is not None
    return batch


def test_a_crash_after_claiming_loses_nothing_and_the_next_flush_redoes_it(platform: Platform) -> None:
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(i) for i in range(4)])
    crash_after_claim(platform)
    assert len(all_rows(platform)) == 4  # claimed rows are still read from staging
    report = observations.flush(platform, stale=timedelta(0))
    assert (report.recovered, report.rows) == (1, 4)
    assert len(all_rows(platform)) == 4


def test_a_crash_after_writing_the_file_counts_nothing_twice(platform: Platform) -> None:
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(i) for i in range(4)])
    batch = crash_after_claim(platform)
    files, rows = observations._write_batch(platform, batch)  # written, never marked done
    assert rows == 4 and all(f.path.exists() for f in files)
    assert sorted(v for _, v in all_rows(platform)) == [0.0, 1.0, 2.0, 3.0]
    # compaction leaves the half-done batch alone
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(10)])
    observations.flush(platform, stale=timedelta(hours=1))  # too fresh to be redone
    report = observations.compact(platform)
    assert report.files_before == 0
    observations.flush(platform, stale=timedelta(0))
    assert sorted(v for _, v in all_rows(platform)) == [0.0, 1.0, 2.0, 3.0, 10.0]
    assert platform.lake.row_count(observations.DATASET) == 5


def test_compaction_merges_and_readers_see_everything_once(platform: Platform) -> None:
    for i in range(4):
        with platform.db.begin() as conn:
            observations.stage(conn, [obs(i, entity=f"urn:ngsi-ld:AirQualityObserved:{i}")])
        observations.flush(platform)
    day_files = platform.lake.files(observations.DATASET)
    assert len(day_files) == 4
    report = observations.compact(platform)
    assert (report.files_before, report.files_after, report.rows) == (4, 2, 4)
    files = platform.lake.files(observations.DATASET)
    assert len(files) == 2
    meta = pq.ParquetFile(files[0]).schema_arrow.metadata
    assert b"hakama.replaces" in meta
    assert len(all_rows(platform)) == 4


def test_compaction_waits_for_readers(sqlite_platform: Platform) -> None:
    platform = sqlite_platform
    for i in range(2):
        with platform.db.begin() as conn:
            observations.stage(conn, [obs(i + 5)])
        observations.flush(platform)
    with observations.recent_and_lake(platform) as db:
        report = observations.compact(platform, wait=0.2)
        assert report.skipped is not None and "lock" in report.skipped
        assert db.execute(f"SELECT count(*) FROM {observations.VIEW}").fetchone() == (2,)
    assert observations.compact(platform).files_after == 1


def test_the_view_has_the_lake_columns_and_utc_times(sqlite_platform: Platform) -> None:
    with sqlite_platform.db.begin() as conn:
        observations.stage(conn, [obs(1)])
    observations.flush(sqlite_platform)
    with sqlite_platform.db.begin() as conn:
        observations.stage(conn, [obs(2)])
    with observations.recent_and_lake(sqlite_platform) as db:
        rel = db.execute(f"SELECT * FROM {observations.VIEW} ORDER BY time")
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
    assert names == [
        "time", "entity_id", "entity_type", "attribute", "value", "text", "unit", "area_code", "source"
    ]
    assert [r[0] for r in rows] == [T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    assert rows[0][0].utcoffset() == timedelta(0)


def test_the_flusher_job_flushes_and_stops(sqlite_platform: Platform) -> None:
    import asyncio

    from hakama.jobs import lake_flush

    with sqlite_platform.db.begin() as conn:
        observations.stage(conn, [obs(i) for i in range(3)])

    async def scenario() -> None:
        stop = asyncio.Event()
        config = lake_flush.FlusherConfig(interval=0.05, compact_every=0.0, compact_min_files=2)
        task = asyncio.create_task(lake_flush.run(sqlite_platform, stop, config=config))
        for _ in range(100):
            if sqlite_platform.lake.row_count(observations.DATASET) == 3:
                break
            await asyncio.sleep(0.05)
        with sqlite_platform.db.begin() as conn:
            observations.stage(conn, [obs(10)])
        stop.set()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert lake_flush.enabled(sqlite_platform)
    assert sqlite_platform.lake.row_count(observations.DATASET) == 4  # the last flush on stop
    assert observations.staging_stats(sqlite_platform).pending == 0


def test_batch_ids_are_never_reused_after_a_purge(platform: Platform) -> None:
    """Batch ids name lake files: a reused id would hide (or overwrite) an older file."""
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(0)])
    first = observations.flush(platform, retention=timedelta(0))
    with platform.db.begin() as conn:
        observations.stage(conn, [obs(0)])  # forgotten after the purge: counts again
    second = observations.flush(platform, retention=timedelta(0))
    assert {f.path for f in first.files}.isdisjoint({f.path for f in second.files})
    assert len(all_rows(platform)) == 2


def test_readers_racing_compaction_and_flushes_see_each_row_once(sqlite_platform: Platform) -> None:
    import threading

    p = sqlite_platform
    for i in range(12):
        with p.db.begin() as conn:
            observations.stage(conn, [obs(i)])
        observations.flush(p)
    done = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        try:
            for round_ in range(6):
                with p.db.begin() as conn:
                    observations.stage(conn, [obs(100 + round_)])
                observations.flush(p)
                observations.compact(p, wait=5)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=churn)
    worker.start()
    seen: list[int] = []
    while not done.is_set():
        values = [v for _, v in all_rows(p)]
        assert len(values) == len(set(values)), "a row was seen twice"
        assert set(range(12)) <= {int(v) for v in values}, "a row was missed"
        seen.append(len(values))
    worker.join()
    assert not errors
    assert len(all_rows(p)) == 18 and seen
