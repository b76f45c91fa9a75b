"""How fast the demo generator fills the lake, against the raw cost of writing as many rows.

Builds the demo (areas + lake; the seed steps of other modules are left out unless
`--with-seeds`) into a temporary data folder and times each stage. Baseline, in the same run:
the same number of observation rows of random numbers, same schema, written through
`Lake.append` one day at a time (the generator's own cost = the difference), then with plain
`pyarrow.parquet.write_table` (zstd) as one file per day and as one single file, without the
lake's atomic rename and fsync. Usage:
    python benchmarks/demo_generate.py [--scale 1.0] [--quick] [--with-seeds]
Results go to results/demo_generate.json (scale 1) or results/demo_generate_scale<S>.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _report import report

from hakama.demo.build import build_demo
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.lake import Lake
from hakama.storage.lake_schemas import OBSERVATIONS_SCHEMA

DAY_US = 86_400_000_000


def random_day(rows: int, day: int, rng: np.random.Generator) -> pa.Table:
    """`rows` random observations on one day, with realistic string cardinalities."""
    ids = pa.array([f"urn:ngsi-ld:Thing:commune-{i}" for i in range(150)])
    small = pa.array(["pm25", "no2", "intensity", "fillingLevel"])
    pick = pa.array(rng.integers(0, 150, rows))
    four = pa.array(rng.integers(0, 4, rows))
    return pa.Table.from_arrays(
        [
            pa.array(
                day * DAY_US + rng.integers(0, 96, rows) * 900_000_000,
                pa.timestamp("us", tz="UTC"),
            ),
            ids.take(pick),
            small.take(four),
            small.take(four),
            pa.array(np.round(rng.normal(50, 10, rows), 1)),
            pa.nulls(rows, pa.string()),
            small.take(four),
            ids.take(pick),
            small.take(pa.array(np.zeros(rows, np.int64))),
        ],
        schema=OBSERVATIONS_SCHEMA,
    )


def baseline(rows: int, days: int, folder: Path) -> tuple[float, float, float]:
    """Seconds to write `rows` random rows as `days` files through `Lake.append` (atomic,
    fsynced), as `days` plain files, and as one plain file."""
    rng = np.random.default_rng(1)
    per_day = max(1, rows // days)
    lake = Lake(folder / "lake")
    t0 = time.perf_counter()
    for d in range(days):
        lake.append("observations", random_day(per_day, 20_000 + d, rng))
    through_lake = time.perf_counter() - t0
    t0 = time.perf_counter()
    for d in range(days):
        pq.write_table(
            random_day(per_day, 20_000 + d, rng), folder / f"d{d}.parquet", compression="zstd"
        )
    split = time.perf_counter() - t0
    t0 = time.perf_counter()
    with pq.ParquetWriter(
        folder / "one.parquet", OBSERVATIONS_SCHEMA, compression="zstd"
    ) as writer:
        for d in range(days):
            writer.write_table(random_day(per_day, 20_000 + d, rng))
    single = time.perf_counter() - t0
    return through_lake, split, single


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--quick", action="store_true", help="scale 0.1")
    parser.add_argument("--with-seeds", action="store_true", help="also run the seed steps")
    args = parser.parse_args()
    scale = 0.1 if args.quick else args.scale
    with tempfile.TemporaryDirectory(prefix="hakama-demo-bench-") as tmp:
        platform = Platform.open(Settings(data_dir=Path(tmp) / "data", environment="test"))
        t0 = time.perf_counter()
        built = build_demo(platform, seed=args.seed, scale=scale, run_seeds=args.with_seeds)
        total = time.perf_counter() - t0
        platform.close()
        (Path(tmp) / "base").mkdir()
        days = (built.end - built.start).days + 1
        through_lake, split, single = baseline(built.observations, days, Path(tmp) / "base")
    secs = built.stage_seconds
    rows: list[dict[str, Any]] = [
        {"stage": "areas", "rows": built.areas, "seconds": secs["areas"]},
        {"stage": "observations", "rows": built.observations, "seconds": secs["observations"]},
        {
            "stage": "requests + events",
            "rows": built.requests + built.request_events,
            "seconds": secs["requests"],
        },
        {"stage": "admin records", "rows": built.records, "seconds": secs["records"]},
        {
            "stage": "baseline: random rows, Lake.append/day",
            "rows": built.observations,
            "seconds": through_lake,
        },
        {
            "stage": "baseline: random rows, 1 file/day",
            "rows": built.observations,
            "seconds": split,
        },
        {"stage": "baseline: random rows, 1 file", "rows": built.observations, "seconds": single},
    ]
    for name, seconds in secs.items():
        if name.startswith("seed_"):
            rows.append({"stage": name, "rows": 0, "seconds": seconds})
    for row in rows:
        row["rows_per_s"] = row["rows"] / row["seconds"] if row["seconds"] and row["rows"] else 0.0
    name = "demo_generate" if scale == 1.0 else f"demo_generate_scale{scale:g}"
    report(
        name,
        rows,
        scale=scale,
        sensors=built.sensors,
        observations=built.observations,
        total_seconds=total,
        ratio_vs_lake_append=secs["observations"] / through_lake,
        ratio_vs_files_per_day=secs["observations"] / split,
        ratio_vs_single_file=secs["observations"] / single,
    )


if __name__ == "__main__":
    main()
