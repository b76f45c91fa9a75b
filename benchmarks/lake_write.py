"""Lake.append throughput against plain `pyarrow.parquet.write_table` of the same rows.

Lake.append splits a table by day and writes each day as a new file under a hidden name,
fsyncs it, renames it into place and fsyncs the folder (readers never see half a file). The
baseline writes the same rows, same compression, with one `write_table` per day and no
atomicity, and with one `write_table` for everything. Usage:
    python benchmarks/lake_write.py [--rows 5000000] [--days 30] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _report import report

from hakama.storage.lake import Lake
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA

DAY_US = 86_400_000_000


def observations(rows: int, days: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ids = pa.array([f"urn:ngsi-ld:Thing:commune-{i}" for i in range(200)])
    attrs = pa.array(["pm25", "no2", "intensity", "fillingLevel"])
    pick = pa.array(rng.integers(0, 200, rows))
    four = pa.array(rng.integers(0, 4, rows))
    time_us = np.sort(20_000 * DAY_US + rng.integers(0, days * DAY_US, rows))
    return pa.Table.from_arrays(
        [
            pa.array(time_us, pa.timestamp("us", tz="UTC")),
            ids.take(pick),
            attrs.take(four),
            attrs.take(four),
            pa.array(np.round(rng.normal(50, 10, rows), 1)),
            pa.nulls(rows, pa.string()),
            attrs.take(four),
            ids.take(pick),
            attrs.take(pa.array(np.zeros(rows, np.int64))),
        ],
        schema=OBSERVATIONS_SCHEMA,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="500,000 rows over 10 days")
    args = parser.parse_args()
    rows, days = (500_000, 10) if args.quick else (args.rows, args.days)
    table = observations(rows, days)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="hakama-lake-bench-") as tmp:
        root = Path(tmp)
        lake = Lake(root / "lake")
        t0 = time.perf_counter()
        written = lake.append("observations", table)
        appended = time.perf_counter() - t0
        results.append(
            {
                "writer": "Lake.append (split by day, atomic)",
                "files": len(written),
                "seconds": appended,
            }
        )

        plain = root / "plain"
        plain.mkdir()
        day_of = pc.cast(table["time"], pa.date32())
        t0 = time.perf_counter()
        for i, day in enumerate(pc.unique(day_of).to_pylist()):
            part = table.filter(pc.equal(day_of, pa.scalar(day, pa.date32())))
            pq.write_table(part, plain / f"{i}.parquet", compression="zstd")
        per_day = time.perf_counter() - t0
        results.append(
            {"writer": "write_table per day (same split)", "files": days, "seconds": per_day}
        )

        t0 = time.perf_counter()
        pq.write_table(table, root / "one.parquet", compression="zstd")
        single = time.perf_counter() - t0
        results.append({"writer": "write_table, one file", "files": 1, "seconds": single})
        assert lake.row_count("observations") == rows
    for r in results:
        r["rows"] = rows
        r["rows_per_s"] = rows / r["seconds"]
    report(
        "lake_write_quick" if args.quick else "lake_write",
        results,
        total_rows=rows,
        days=days,
        ratio_vs_per_day=appended / per_day,
        ratio_vs_single_file=appended / single,
    )


if __name__ == "__main__":
    main()
