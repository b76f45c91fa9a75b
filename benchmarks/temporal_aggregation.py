"""Temporal aggregation through hakama against the same aggregation written by hand in DuckDB.

`aggrMethods=avg,max&aggrPeriodDuration=P1D` over one entity type across a year, answered by
`services.temporal.query` (lake ∪ staging view, tombstones, paging, JSON building) and by
hand-written DuckDB SQL over the same Parquet files, in the same run, same thread count. The
lake is generated synthetically (one file per day, like the flusher writes after compaction):
half the rows belong to the queried type (`AirQualityObserved`, 2 attributes), half to two
other types. Sizes: N/10 and N (`--rows`, default 10⁷), so the scaling shows.

    python benchmarks/temporal_aggregation.py [--rows 10000000] [--threads 2] [--keep DIR]

Writes results/temporal_aggregation_<rows>.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from _report import report

from hakama.core.access import system_actor
from hakama.core.temporal import TemporalQuery
from hakama.services import entities, observations, temporal
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA

TYPE = "AirQualityObserved"
OTHER_TYPES = ("WaterQualityObserved", "Streetlight")
SENSORS = 100  # entities of the queried type
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 365


def generate(platform: Platform, rows: int, seed: int = 7) -> float:
    """Write `rows` observations over a year into the lake, one file per day; seconds taken."""
    rng = np.random.default_rng(seed)
    per_day = rows // DAYS
    t0 = time.perf_counter()
    aq_ids = np.array([f"urn:ngsi-ld:{TYPE}:s{i:03d}" for i in range(SENSORS)], dtype=object)
    other_ids = np.array(
        [f"urn:ngsi-ld:{t}:e{i:03d}" for t in OTHER_TYPES for i in range(SENSORS)], dtype=object
    )
    other_types = np.array([t for t in OTHER_TYPES for _ in range(SENSORS)], dtype=object)
    for day in range(DAYS):
        n = per_day + (rows - per_day * DAYS if day == DAYS - 1 else 0)
        half = n // 2
        base = int((START + timedelta(days=day)).timestamp() * 1_000_000)
        micros = np.sort(rng.integers(0, 86_400_000_000, n)) + base
        is_aq = np.zeros(n, dtype=bool)
        is_aq[rng.choice(n, half, replace=False)] = True
        other = rng.integers(0, len(other_ids), n)
        entity = np.where(is_aq, aq_ids[rng.integers(0, SENSORS, n)], other_ids[other])
        etype = np.where(is_aq, TYPE, other_types[other])
        attribute = np.where(is_aq, np.where(rng.random(n) < 0.5, "pm25", "no2"), "level")
        value = np.round(rng.gamma(2.0, 12.0, n), 1)
        table = pa.table(
            {
                "time": pa.array(micros, pa.timestamp("us", tz="UTC")),
                "entity_id": pa.array(entity, pa.string()),
                "entity_type": pa.array(etype, pa.string()),
                "attribute": pa.array(attribute, pa.string()),
                "value": pa.array(value, pa.float64()),
                "text": pa.nulls(n, pa.string()),
                "unit": pa.array(np.where(is_aq, "GQ", "C62"), pa.string()),
                "area_code": pa.array(np.full(n, "02.113.01", dtype=object), pa.string()),
                "source": pa.array(np.full(n, "demo", dtype=object), pa.string()),
            },
            schema=OBSERVATIONS_SCHEMA,
        )
        platform.lake.append("observations", table)
    # The entities themselves, so the API answers as it would in production.
    bodies = [
        {"id": str(e), "type": TYPE, "pm25": {"type": "Property", "value": 0.0}} for e in aq_ids
    ]
    entities.batch_upsert(platform, bodies, actor=system_actor("bench"), source="demo")
    observations.flush(platform)  # their first readings, so both sides read the same files
    return time.perf_counter() - t0


#: Two ways an analyst buckets days in DuckDB: the obvious one goes through DuckDB's time-zone
#: aware path for TIMESTAMPTZ (slow); the tuned one (a fixed span and an explicit origin, what
#: hakama generates) does not. The baseline of the ratio is the tuned one.
BUCKETS = {
    "naive": "time_bucket(INTERVAL 1 DAY, time)",
    "tuned": "time_bucket(INTERVAL '86400000000 microseconds', time, "
    "TIMESTAMPTZ '2000-01-03 00:00:00+00')",
}


def by_hand(platform: Platform, threads: int, bucket: str) -> list[tuple[Any, ...]]:
    """The aggregation as an analyst writes it in DuckDB over the same files."""
    import duckdb

    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"SET threads={threads}")
        conn.execute("SET TimeZone='UTC'")
        return conn.execute(
            f"""
            SELECT entity_id, attribute, {bucket} AS day, avg(value), max(value)
            FROM read_parquet('{platform.lake.glob("observations")}')
            WHERE entity_type = ?
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """,
            [TYPE],
        ).fetchall()
    finally:
        conn.close()


def through_hakama(platform: Platform, threads: int) -> list[dict[str, Any]]:
    tq = TemporalQuery.parse(aggr_methods="avg,max", aggr_period="P1D")
    page = temporal.query(platform, tq, types=[TYPE], limit=1000, threads=threads)
    return page.entities


def timed(fn: Any, repeat: int) -> tuple[float, Any]:
    fn()  # warm the page cache and DuckDB
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def measure(rows: int, threads: int, repeat: int, folder: Path) -> dict[str, Any]:
    data = folder / f"rows-{rows}"
    platform = Platform.open(Settings(data_dir=data, environment="test"))
    try:
        if platform.lake.row_count("observations") != rows + SENSORS:
            shutil.rmtree(data / "lake", ignore_errors=True)
            generated = generate(platform, rows)
        else:
            generated = 0.0
        naive_s, _ = timed(lambda: by_hand(platform, threads, BUCKETS["naive"]), repeat)
        hand_s, hand = timed(lambda: by_hand(platform, threads, BUCKETS["tuned"]), repeat)
        ours_s, ours = timed(lambda: through_hakama(platform, threads), repeat)
        # Same answer: the number of (entity, attribute, day) cells and the sum of maxima.
        cells = sum(len(a["max"]) for e in ours for k, a in e.items() if isinstance(a, dict))
        assert cells == len(hand), (cells, len(hand))
        ours_max = sum(
            v[0] for e in ours for k, a in e.items() if isinstance(a, dict) for v in a["max"]
        )
        assert abs(ours_max - sum(r[4] for r in hand)) < 1e-6 * max(1.0, ours_max)
        return {
            "rows": rows,
            "queried_rows": rows // 2,
            "files": len(platform.lake.files("observations")),
            "generate_s": round(generated, 1),
            "duckdb_naive_s": round(naive_s, 3),
            "duckdb_by_hand_s": round(hand_s, 3),
            "hakama_s": round(ours_s, 3),
            "ratio": round(ours_s / hand_s, 2),
            "result_cells": cells,
            "rows_per_s_hakama": round(rows / ours_s),
        }
    finally:
        platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, help="Folder to keep (and reuse) the generated lakes in."
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hakama-bench-temporal-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        sizes = sorted({max(DAYS * 10, args.rows // 10), args.rows})
        results = [measure(n, args.threads, args.repeat, folder) for n in sizes]
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    report(
        f"temporal_aggregation_{args.rows}",
        results,
        query="aggrMethods=avg,max&aggrPeriodDuration=P1D, one type, a year",
        threads=args.threads,
        load_average_1m=round(os.getloadavg()[0], 2),  # other work on the machine skews figures
        aim="ratio <= 1.5",
        baseline="duckdb_by_hand_s: hand-written DuckDB SQL with the same bucket expression; "
        "duckdb_naive_s: the same with time_bucket(INTERVAL 1 DAY, time)",
    )


if __name__ == "__main__":
    main()
