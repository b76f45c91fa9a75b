"""Placing points in communes: AreaIndex (STRtree, vectorised) against two baselines.

Baselines, measured in the same run on the same points: (a) shapely's vectorised
`contains_xy` run once per commune polygon (what one writes without an index), (b) the naive
per-point loop over prepared polygons (timed on a sample and scaled). Usage:
    python benchmarks/point_in_commune.py [--points 1000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely
from _report import report

from hakama.core.territory import AreaIndex, Level
from hakama.demo.territory import demo_areas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 points")
    args = parser.parse_args()
    n = 100_000 if args.quick else args.points
    communes = [a for a in demo_areas() if a.level == Level.COMMUNE]
    t0 = time.perf_counter()
    index = AreaIndex(communes)
    build = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = index.bounds()
    lons, lats = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)

    t0 = time.perf_counter()
    codes = index.locate_many(lons, lats)
    indexed = time.perf_counter() - t0

    t0 = time.perf_counter()
    per_polygon = np.full(n, "", dtype=object)
    for area in communes:
        geom = area.shape
        shapely.prepare(geom)
        hit = shapely.contains_xy(geom, lons, lats) & (per_polygon == "")
        per_polygon[hit] = area.code
    vector_baseline = time.perf_counter() - t0

    sample = min(n, 20_000)
    prepared = [(a.code, a.shape) for a in communes]
    for _, g in prepared:
        shapely.prepare(g)
    t0 = time.perf_counter()
    for x, y in zip(lons[:sample], lats[:sample], strict=True):
        p = shapely.Point(x, y)
        for _code, g in prepared:
            if g.contains(p):
                break
    naive = (time.perf_counter() - t0) * n / sample

    agree = float((codes == per_polygon).mean())
    rows = [
        {
            "method": "AreaIndex.locate_many (STRtree)",
            "points": n,
            "seconds": indexed,
            "points_per_s": n / indexed,
            "ratio_vs_index": 1.0,
        },
        {
            "method": "contains_xy per commune (baseline)",
            "points": n,
            "seconds": vector_baseline,
            "points_per_s": n / vector_baseline,
            "ratio_vs_index": vector_baseline / indexed,
        },
        {
            "method": "per-point loop (naive, scaled)",
            "points": n,
            "seconds": naive,
            "points_per_s": n / naive,
            "ratio_vs_index": naive / indexed,
        },
    ]
    report(
        "point_in_commune",
        rows,
        index_build_seconds=build,
        communes=len(communes),
        inside_share=float((codes != "").mean()),
        agreement_with_baseline=agree,
    )


if __name__ == "__main__":
    main()
