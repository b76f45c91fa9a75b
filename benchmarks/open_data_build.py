"""Building the `service-requests` open dataset (10⁶ requests) as Parquet and CSV, through the
privacy gate, against a hand-written DuckDB `COPY` of the same query to the same two files.

hakama's build writes Parquet from the query (one streamed COPY), scans every text column of
that file for phones, e-mails and CIN numbers, then writes the CSV from the Parquet file. The
baseline runs `COPY (query) TO parquet` and `COPY (query) TO csv` with the same connection,
the same reference tables and the same H3 coarsening function, and no gate. Each variant runs
in its own process, so its peak memory (max RSS) is its own. Usage:
    python benchmarks/open_data_build.py [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from _report import report

from hakama.core.access import system_actor
from hakama.demo.seed_services import catalogue_for
from hakama.demo.territory import demo_areas
from hakama.services import dataset_builds, dataset_sources, request_types, territory
from hakama.services.platform import Platform
from hakama.settings import Settings
from hakama.storage.lake_schemas import SERVICE_REQUESTS_SCHEMA

DAY_US = 86_400_000_000
TARGET = 1.3


def fill(folder: Path, rows: int) -> None:
    """A data folder with the demo territory, its services and `rows` requests in the lake."""
    platform = Platform.open(Settings(data_dir=folder, environment="test"))
    areas = demo_areas()
    territory.save_areas(platform, areas, actor=system_actor("bench"))
    request_types.save_services(platform, catalogue_for(areas), actor=system_actor("bench"))
    communes = [a for a in areas if a.level.value == "commune"]
    services = sorted({s.code for s in request_types.all_definitions(platform)})
    rng = np.random.default_rng(13)
    chunk = 250_000
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        t = np.sort(20_000 * DAY_US + rng.integers(0, 365 * DAY_US, n))
        pick = rng.integers(0, len(communes), n)
        resolved = t + rng.integers(3600, 20 * DAY_US, n)
        table = pa.Table.from_pydict(
            {
                "time": pa.array(t, pa.timestamp("us", tz="UTC")),
                "request_id": [f"R{start + i:09d}" for i in range(n)],
                "service_code": pa.array(np.array(services)[rng.integers(0, len(services), n)]),
                "category": pa.array(np.array(services)[rng.integers(0, len(services), n)]),
                "area_code": pa.array(np.array([c.code for c in communes])[pick]),
                "lat": 34.9 + rng.random(n) * 0.3,
                "lon": -2.6 + rng.random(n) * 0.6,
                "channel": pa.array(np.array(["web", "phone", "counter"])[rng.integers(0, 3, n)]),
                "status": pa.array(np.array(["open", "resolved", "closed"])[rng.integers(0, 3, n)]),
                "expected_at": pa.array(t + 3 * DAY_US, pa.timestamp("us", tz="UTC")),
                "resolved_at": pa.array(resolved, pa.timestamp("us", tz="UTC")),
                "closed_at": pa.array(resolved + DAY_US, pa.timestamp("us", tz="UTC")),
                "reopened": rng.random(n) < 0.05,
                "language": pa.array(np.array(["ar", "fr"])[rng.integers(0, 2, n)]),
                "updated_at": pa.array(resolved, pa.timestamp("us", tz="UTC")),
            },
            schema=SERVICE_REQUESTS_SCHEMA,
        )
        platform.lake.append("service_requests", table, durable=False)
    platform.close()


def variant(folder: Path, which: str) -> dict[str, Any]:
    """Run one variant in this process; its seconds and peak memory."""
    platform = Platform.open(Settings(data_dir=folder, environment="test"), migrate=False)
    spec = dataset_builds.spec(platform, "service-requests")
    options = dataset_builds.options(platform)
    out = folder / f"out-{which}"
    with dataset_sources.open_sources(platform) as conn:
        conn.execute("SET threads=2")
        started = time.perf_counter()
        if which == "hakama":
            dataset_builds.write_distributions(conn, spec, options, out, formats=("Parquet", "CSV"))
        elif which == "hakama_all_formats":
            dataset_builds.write_distributions(conn, spec, options, out)
        else:
            out.mkdir(parents=True, exist_ok=True)
            query = spec.query(options)
            conn.execute(
                f"COPY ({query}) TO '{out / 'x.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
            )
            conn.execute(f"COPY ({query}) TO '{out / 'x.csv'}' (FORMAT csv, HEADER true)")
        seconds = time.perf_counter() - started
    sizes = {p.suffix: p.stat().st_size for p in out.iterdir()}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "variant": which,
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
        "bytes": sum(sizes.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--variant")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(variant(Path(args.folder), args.variant)))
        return
    rows = 50_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="hakama-bench-") as tmp:
        folder = Path(tmp) / "data"
        fill(folder, rows)
        results = []
        for which in ("baseline_copy", "hakama", "baseline_copy", "hakama", "hakama_all_formats"):
            done = subprocess.run(
                [sys.executable, __file__, "--variant", which, "--folder", str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = {
        w: min(r["seconds"] for r in results if r["variant"] == w)
        for w in ("baseline_copy", "hakama")
    }
    ratio = best["hakama"] / best["baseline_copy"]
    report(
        "open_data_build",
        results,
        requests=rows,
        best_hakama_seconds=best["hakama"],
        best_baseline_seconds=best["baseline_copy"],
        ratio=ratio,
        target_ratio=TARGET,
        within_target=ratio <= TARGET,
    )


if __name__ == "__main__":
    main()
