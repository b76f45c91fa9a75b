"""The lake mirrored to S3-compatible object storage and read back through pyarrow + DuckDB,
against a real S3 server (moto's, in a thread, on a port of 8400-8499)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto.server import ThreadedMotoServer

from hakama.cli import main as cli_main
from hakama.core.observations import Observation
from hakama.services import observations
from hakama.services.platform import Platform
from hakama.storage import lake_remote
from hakama.storage.lake import batch_file_name, claim_batch

T0 = datetime(2026, 3, 1, 8, tzinfo=UTC)


def free_port_in_range() -> int:
    for port in range(8400, 8500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8400-8499")


@pytest.fixture
def bucket_url() -> Iterator[str]:
    port = free_port_in_range()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = (
        f"s3://key:secret@lake/berkane?endpoint_override=127.0.0.1:{port}&scheme=http"
        "&region=us-east-1&allow_bucket_creation=true"
    )
    filesystem, _ = lake_remote.open_remote(url)
    filesystem.create_dir("lake")
    yield url
    server.stop()


def stage_readings(platform: Platform, start: int, count: int) -> None:
    rows = [
        Observation(
            T0 + timedelta(hours=i),
            f"urn:ngsi-ld:Sensor:s{i % 3}",
            "Sensor",
            "pm25",
            float(i),
            None,
            "GQ",
            "02.113.01.09",
            "mqtt",
        )
        for i in range(start, start + count)
    ]
    with platform.db.begin() as conn:
        observations.stage(conn, rows)
    observations.flush(platform)


def totals(conn: object) -> tuple[int, float, int]:
    row = conn.execute(  # type: ignore[attr-defined]
        "SELECT count(*), sum(value), count(DISTINCT day) FROM observations"
    ).fetchone()
    return int(row[0]), float(row[1]), int(row[2])


def test_push_mirrors_the_lake_and_duckdb_reads_it_back(
    sqlite_platform: Platform, bucket_url: str
) -> None:
    p = sqlite_platform
    stage_readings(p, 0, 30)  # 30 hours: two days
    stage_readings(p, 30, 30)  # a second flush: more files per day
    first = lake_remote.push(p.db, p.lake, bucket_url)
    assert first.uploaded == len(p.lake.files(observations.DATASET)) >= 3
    with p.lake.duckdb() as local:
        expected = totals(local)
    assert expected == (60, float(sum(range(60))), 3)
    with lake_remote.remote_duckdb(bucket_url) as remote:
        assert totals(remote) == expected
        # the day partition is a date, as in the local reader
        day = remote.execute("SELECT min(day) FROM observations").fetchone()
        assert str(day[0]) == "2026-03-01"

    again = lake_remote.push(p.db, p.lake, bucket_url)
    assert (again.uploaded, again.removed) == (0, 0)

    # compaction merges a day's files locally; the next push follows, rows still once each
    observations.compact(p, observations.DATASET)
    merged = lake_remote.push(p.db, p.lake, bucket_url)
    assert merged.removed >= 1
    with lake_remote.remote_duckdb(bucket_url) as remote:
        assert totals(remote) == expected

    # the file of a flush batch still claimed (its rows may be flushed again) stays local
    with p.db.begin() as conn:
        batch = claim_batch(conn, observations.DATASET, 1)
    path = p.lake.files(observations.DATASET)[0].parent / batch_file_name(batch)
    path.write_bytes(p.lake.files(observations.DATASET)[0].read_bytes())
    assert lake_remote.push(p.db, p.lake, bucket_url).uploaded == 0
    with lake_remote.remote_duckdb(bucket_url) as remote:
        assert totals(remote) == expected


def hakama(data: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = 0
    try:
        cli_main.main(["--data-dir", data, *args])
    except SystemExit as exited:
        code = int(exited.code or 0)
    out = capsys.readouterr()
    return code, " ".join((out.out + out.err).split())


def test_cli_push_and_its_errors(
    sqlite_platform: Platform, bucket_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stage_readings(sqlite_platform, 0, 5)
    data = str(sqlite_platform.settings.data_dir)
    code, out = hakama(data, capsys, "lake", "push", bucket_url)
    assert code == 0, out
    assert "1 files uploaded" in out and "secret" not in out
    code, out = hakama(data, capsys, "lake", "push", "/tmp/not-a-bucket")
    assert code != 0 and "s3://" in out
