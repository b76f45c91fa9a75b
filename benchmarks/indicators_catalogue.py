"""How long the whole indicator catalogue takes, against the same figures by hand.

On a demo lake at `--scale` (built here, or reused with `--data-dir`), in this order, each stage
in its own process so its peak memory (maxrss) is its own:

1. hakama: `services.indicators.compute(full=True)` on DuckDB (memory_limit 8GB), every built-in
   indicator for every commune and the province, stored in the database;
2. by hand: the same figures as ONE DuckDB SQL script over the same Parquet files (same
   filters, same groupings, exact medians and percentiles), checked against (1) → ratio;
3. pandas: pyarrow → pandas, one groupby per indicator, checked against (1) → ratio; at big
   scales on a fraction of the days (`--pandas-fraction`), time scaled linearly (said so);
4. incremental: one new day of observations appended (a copy of the last day, shifted), then
   `compute()` again; the day is removed afterwards;
5. Spark local mode: the same catalogue through `compute(full=True, engine=spark)`, time and
   parity with (1);
6. Spark standalone cluster: a master and two workers (1 core, 1 GB each) started on loopback
   from the pyspark package's own launcher, `HAKAMA_SPARK_MASTER=spark://…` and the lake given
   to the executors as a file:// URL; time (cluster start-up excluded, said) and parity with (1).

Scales: `--scale 20` gives about 1.06 x 10^8 observations (and ~3 x 10^5 requests);
`--requests-scale 67` regenerates the requests alone for about 10^6 (both: the issue's figure).
Results go to results/indicators_catalogue_scale<S>.json (or _quick.json). Usage:
    python benchmarks/indicators_catalogue.py [--scale 0.2] [--requests-scale S] [--data-dir D]
        [--quick] [--skip-spark] [--skip-cluster] [--skip-pandas] [--pandas-fraction F]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from _report import report

MEMORY_LIMIT = "8GB"
Key = tuple[str, str, str]


def _platform(data_dir: str) -> Any:
    from hakama.services.platform import Platform
    from hakama.settings import Settings

    return Platform.open(Settings(data_dir=Path(data_dir)))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stored(platform: Any) -> dict[Key, tuple[float | None, int]]:
    import sqlalchemy as sa

    from hakama.storage.schema_indicators import indicator_values

    with platform.db.connect() as conn:
        rows = conn.execute(sa.select(indicator_values)).all()
    return {
        (r.indicator_id, r.area_code, r.period_start.isoformat()): (r.value, r.sample) for r in rows
    }


def _compare(
    ours: dict[Key, tuple[float | None, int]], theirs: dict[Key, tuple[float | None, int]]
) -> int:
    """How many rows differ (missing on either side, other sample, value beyond rel 1e-9)."""
    bad = len(set(ours) ^ set(theirs))
    for key in set(ours) & set(theirs):
        (a, n), (b, m) = ours[key], theirs[key]
        a = None if a is not None and math.isnan(a) else a
        b = None if b is not None and math.isnan(b) else b
        same = (a is None and b is None) or (
            a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        )
        bad += 0 if same and n == m else 1
    return bad


# Stages (each runs in a child process) ---------------------------------------------------


def stage_hakama(data_dir: str) -> dict[str, Any]:
    from hakama.analytics.engines import DuckDBEngine
    from hakama.services import indicators

    platform = _platform(data_dir)
    engine = DuckDBEngine(platform.lake, memory_limit=MEMORY_LIMIT)
    started = time.perf_counter()
    done = indicators.compute(platform, engine=engine, full=True)
    seconds = time.perf_counter() - started
    engine.close()
    return {
        "seconds": seconds,
        "rows": done.values,
        "indicators": done.indicators,
        "maxrss_mb": _maxrss_mb(),
    }


def _scope(platform: Any) -> tuple[str, list[str], dict[str, int]]:
    from hakama.services import indicators

    group = indicators.groups(platform)[0]
    return group.parent.code, [a.code for a in group.children], group.populations()


def hand_sql(
    lake_root: Path, province: str, communes: list[str], *, request_states: bool = False
) -> str:
    """The catalogue as one DuckDB script, written by hand (the populations are a table `pop`).

    `request_states`: the lake keeps each state of a request (column `updated_at`); count the
    latest only, as hakama does."""
    inside = ", ".join(f"'{c}'" for c in communes)

    def src(dataset: str) -> str:
        glob = lake_root / dataset / "day=*" / "*.parquet"
        latest = (
            " QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY updated_at DESC NULLS LAST) = 1"
            if request_states and dataset == "service_requests"
            else ""
        )
        return (
            f"(SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true) "
            f"WHERE area_code IN ({inside}){latest})"
        )

    obs, req, adm = src("observations"), src("service_requests"), src("admin_records")

    def grouped(ident: str, source: str, grain: str, where: str, value: str, sample: str) -> str:
        # Communes and the province in one pass: GROUPING SETS; the province row has area NULL.
        return f"""
SELECT '{ident}' AS indicator_id, coalesce(area_code, '{province}') AS area_code, p AS period_start,
       ({value})::DOUBLE AS value, ({sample})::BIGINT AS sample
FROM (SELECT *, date_trunc('{grain}', time)::DATE AS p FROM {source} WHERE {where})
GROUP BY GROUPING SETS ((area_code, p), (p))"""

    def per_pop(ident: str, source: str, where: str, raw: str, sample: str, formula: str) -> str:
        return f"""
SELECT indicator_id, g.area_code, period_start, ({formula})::DOUBLE AS value, sample FROM (
{grouped(ident, source, "month", where, raw, sample)}) g JOIN pop ON pop.area_code = g.area_code"""

    share = "100.0 * avg(CASE WHEN coalesce({c}, false) THEN 1.0 ELSE 0.0 END)"
    hours = "(epoch({end}) - epoch(time)) / {unit}"
    parts = [
        grouped(
            "admin_documents_delivered",
            adm,
            "month",
            "true",
            "sum(CASE WHEN coalesce(status = 'delivered', false) THEN 1 ELSE 0 END)",
            "count(*)",
        ),
        grouped(
            "admin_online_share",
            adm,
            "month",
            "true",
            share.format(c="channel = 'online'"),
            "count(*)",
        ),
        grouped(
            "admin_processing_time_median",
            adm,
            "month",
            "delivered_at IS NOT NULL",
            f"quantile_cont({hours.format(end='delivered_at', unit='86400.0')}, 0.5)",
            "count(*)",
        ),
        grouped(
            "no2_monthly_mean",
            obs,
            "month",
            "attribute = 'no2' AND value IS NOT NULL",
            "avg(value)",
            "count(value)",
        ),
        grouped(
            "pm25_daily_mean",
            obs,
            "day",
            "attribute = 'pm25' AND value IS NOT NULL",
            "avg(value)",
            "count(value)",
        ),
        f"""
SELECT 'pm25_days_above_who', area_code, date_trunc('month', day)::DATE,
       sum(CASE WHEN daily_mean > 15 THEN 1 ELSE 0 END)::DOUBLE, count(*)
FROM (SELECT coalesce(area_code, '{province}') AS area_code, day, avg(value) AS daily_mean
      FROM (SELECT *, date_trunc('day', time)::DATE AS day FROM {obs} WHERE attribute = 'pm25' AND value IS NOT NULL)
      GROUP BY GROUPING SETS ((area_code, day), (day)))
GROUP BY 1, 2, 3""",
        per_pop(
            "inhabitants_per_air_station",
            obs,
            "entity_type = 'AirQualityObserved'",
            "count(DISTINCT entity_id)",
            "count(DISTINCT entity_id)",
            "pop.population / g.value",
        ),
        grouped(
            "streetlight_energy_per_lamp",
            obs,
            "month",
            "attribute = 'energyConsumed' AND value IS NOT NULL",
            "sum(value) / count(DISTINCT entity_id)",
            "count(value)",
        ),
        grouped(
            "streetlight_outage_hours",
            obs,
            "month",
            "attribute = 'energyConsumed' AND (hour(time) >= 20 OR hour(time) < 5)",
            "sum(CASE WHEN coalesce(value <= 0, false) THEN 1 ELSE 0 END) * 0.25 / count(DISTINCT entity_id)",
            "count(*)",
        ),
        grouped(
            "traffic_vehicles_per_quarter_hour",
            obs,
            "month",
            "attribute = 'intensity' AND value IS NOT NULL",
            "avg(value)",
            "count(value)",
        ),
        grouped(
            "waste_bins_overflowing",
            obs,
            "week",
            "attribute = 'fillingLevel' AND value IS NOT NULL",
            share.format(c="value >= 90"),
            "count(*)",
        ),
        grouped(
            "water_night_flow_ratio",
            obs,
            "week",
            "attribute = 'waterConsumption' AND value IS NOT NULL",
            "avg(CASE WHEN hour(time) >= 2 AND hour(time) < 4 THEN value END) / avg(value)",
            "count(value)",
        ),
        per_pop(
            "water_use_per_inhabitant",
            obs,
            "attribute = 'waterConsumption' AND value IS NOT NULL",
            "sum(value)",
            "count(value)",
            "g.value / pop.population",
        ),
        grouped(
            "open_backlog",
            req,
            "month",
            "true",
            "sum(CASE WHEN coalesce(status IN ('open', 'acknowledged', 'in_progress'), false) THEN 1 ELSE 0 END)",
            "count(*)",
        ),
        grouped("reopen_rate", req, "month", "true", share.format(c="reopened = true"), "count(*)"),
        per_pop(
            "requests_per_10k",
            req,
            "true",
            "count(*)",
            "count(*)",
            "g.value * 10000.0 / pop.population",
        ),
        grouped(
            "resolution_time_median",
            req,
            "month",
            "resolved_at IS NOT NULL",
            f"quantile_cont({hours.format(end='resolved_at', unit='3600.0')}, 0.5)",
            "count(*)",
        ),
        grouped(
            "resolution_time_p90",
            req,
            "month",
            "resolved_at IS NOT NULL",
            f"quantile_cont({hours.format(end='resolved_at', unit='3600.0')}, 0.9)",
            "count(*)",
        ),
        grouped(
            "resolved_within_target",
            req,
            "month",
            "true",
            share.format(c="resolved_at <= expected_at"),
            "count(*)",
        ),
    ]
    return "\nUNION ALL\n".join(parts)


def stage_hand_sql(data_dir: str) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    platform = _platform(data_dir)
    province, communes, populations = _scope(platform)
    con = duckdb.connect()
    columns = {
        r[0]
        for r in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{platform.lake.glob('service_requests')}', union_by_name = true)"
        ).fetchall()
    }
    script = hand_sql(
        platform.lake.root, province, communes, request_states="updated_at" in columns
    )
    started = time.perf_counter()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET TimeZone = 'UTC'")
    con.register(
        "pop",
        pa.table(
            {"area_code": list(populations), "population": [float(v) for v in populations.values()]}
        ),
    )
    table = con.execute(script).to_arrow_table()
    seconds = time.perf_counter() - started
    got = {
        (r["indicator_id"], r["area_code"], r["period_start"].isoformat()): (
            r["value"],
            int(r["sample"]),
        )
        for r in table.to_pylist()
    }
    return {
        "seconds": seconds,
        "rows": len(got),
        "mismatches": _compare(_stored(platform), got),
        "maxrss_mb": _maxrss_mb(),
    }


def _pandas_one(d: Any, frame: Any, province: str, populations: dict[str, int]) -> Any:
    """One definition evaluated with pandas, following the compiler's semantics."""
    import numpy as np
    import pandas as pd

    def mask(df: Any, filters: Any) -> Any:
        out = pd.Series(True, index=df.index)
        for f in filters:
            col = df[f.column]
            if f.op == "is_null":
                hit = col.isna()
            elif f.op == "not_null":
                hit = col.notna()
            elif f.op == "in":
                hit = col.isin(f.value)
            elif f.op == "hour_in":
                hour = col.dt.hour
                lo, hi = f.value
                hit = (hour >= lo) & (hour < hi) if lo <= hi else (hour >= lo) | (hour < hi)
            else:
                other = df[f.other_column] if f.other_column else f.value
                ops = {
                    "=": col.eq,
                    "!=": col.ne,
                    "<": col.lt,
                    "<=": col.le,
                    ">": col.gt,
                    ">=": col.ge,
                }
                hit = ops[f.op](other).fillna(False).astype(bool) & col.notna()
            out &= hit
        return out

    m = d.measure
    kind = m.kind.value
    df = frame
    if d.filters and kind != "count":
        df = df[mask(df, d.filters)]
    freq = {"day": "D", "week": "W-MON", "month": "M", "quarter": "Q", "year": "Y"}[d.grain.value]
    naive = df["time"].dt.tz_convert("UTC").dt.tz_localize(None)
    period = (
        naive.dt.to_period(freq).dt.start_time.dt.date
        if freq != "W-MON"
        else ((naive - pd.to_timedelta(naive.dt.weekday, unit="D")).dt.normalize().dt.date)
    )
    df = df.assign(period_start=period)
    both = pd.concat([df, df.assign(area_code=province)], ignore_index=True)
    g = both.groupby(["area_code", "period_start"], sort=False)
    if kind == "count":
        hit = mask(both, d.filters).astype(float)
        out = pd.DataFrame(
            {"value": hit.groupby([both.area_code, both.period_start]).sum(), "sample": g.size()}
        )
    elif kind in ("share", "ratio"):
        hit = mask(both, m.condition)
        if kind == "share":
            out = pd.DataFrame(
                {
                    "value": hit.astype(float).groupby([both.area_code, both.period_start]).mean()
                    * 100.0,
                    "sample": g.size(),
                }
            )
        else:
            inside = both[m.column].where(hit)
            keys = [both.area_code, both.period_start]
            out = pd.DataFrame(
                {
                    "value": inside.groupby(keys).mean() / both[m.column].groupby(keys).mean(),
                    "sample": g[m.column].count(),
                }
            )
    elif kind == "duration":
        unit = 3600.0 if m.duration_unit == "hours" else 86400.0
        dur = (both[m.end] - both[m.start]).dt.total_seconds() / unit
        dg = dur.groupby([both.area_code, both.period_start])
        stat = {"median": dg.median, "mean": dg.mean, "max": dg.max}.get(m.statistic)
        out = pd.DataFrame({"value": stat() if stat else dg.quantile(0.9), "sample": dg.count()})
    elif kind == "days_above":
        day = both["time"].dt.floor("D")
        daily = (
            both.assign(day=day)
            .groupby(["area_code", "period_start", "day"])[m.column]
            .mean()
            .reset_index()
        )
        dd = daily.groupby(["area_code", "period_start"])
        out = pd.DataFrame(
            {
                "value": dd[m.column].apply(lambda s: float((s > m.threshold).sum())),
                "sample": dd.size(),
            }
        )
    elif kind == "count_per_entity":
        hit = mask(both, m.condition).astype(float)
        keys = [both.area_code, both.period_start]
        out = pd.DataFrame(
            {
                "value": hit.groupby(keys).sum() * m.factor / g[m.entity_column].nunique(),
                "sample": g.size(),
            }
        )
    elif kind == "per_entity":
        out = pd.DataFrame(
            {
                "value": g[m.column].sum() / g[m.entity_column].nunique(),
                "sample": g[m.column].count(),
            }
        )
    elif kind == "inhabitants_per":
        n = g[m.column].nunique()
        out = pd.DataFrame({"value": n.astype(float), "sample": n})
    elif kind == "rate_per_10k":
        out = pd.DataFrame({"value": g.size().astype(float), "sample": g.size()})
    elif kind == "per_inhabitant":
        out = pd.DataFrame({"value": g[m.column].sum(), "sample": g[m.column].count()})
    else:
        func = {
            "mean": "mean",
            "median": "median",
            "sum": "sum",
            "min": "min",
            "max": "max",
            "distinct_count": "nunique",
        }
        out = pd.DataFrame(
            {"value": g[m.column].agg(func[kind]).astype(float), "sample": g[m.column].count()}
        )
    out = out.reset_index()
    pop = out.area_code.map(lambda a: float(populations.get(a, np.nan)))
    if kind == "rate_per_10k":
        out["value"] = out.value * 10000.0 / pop
    elif kind == "per_inhabitant":
        out["value"] = out.value / pop
    elif kind == "inhabitants_per":
        out["value"] = pop / out.value
    return out


def stage_pandas(data_dir: str, fraction: float) -> dict[str, Any]:
    import pyarrow.dataset as ds

    from hakama.services import indicators

    platform = _platform(data_dir)
    province, communes, populations = _scope(platform)
    definitions = indicators.catalogue(platform)
    started = time.perf_counter()
    got: dict[Key, tuple[float | None, int]] = {}
    for dataset in sorted({d.source for d in definitions}):
        files = platform.lake.files(dataset)
        days = sorted({f.parent.name for f in files})
        keep = set(days[: max(1, math.ceil(len(days) * fraction))])
        chosen = [str(f) for f in files if f.parent.name in keep]
        mine = [d for d in definitions if d.source == dataset]
        columns = sorted(set().union(*(d.columns() for d in mine)))
        present = set(ds.dataset(chosen, format="parquet").schema.names)
        columns += [
            c
            for c in ("request_id", "updated_at")
            if dataset == "service_requests" and c in present
        ]
        frame = ds.dataset(chosen, format="parquet").to_table(columns=columns).to_pandas()
        frame = frame[frame.area_code.isin(communes)]
        if (
            dataset == "service_requests" and "updated_at" in frame.columns
        ):  # latest state of each request
            frame = frame.sort_values("updated_at", na_position="first").drop_duplicates(
                "request_id", keep="last"
            )
        for d in mine:
            out = _pandas_one(d, frame, province, populations)
            for r in out.itertuples(index=False):
                value = None if r.value is None or r.value != r.value else float(r.value)
                got[(d.id, r.area_code, r.period_start.isoformat())] = (value, int(r.sample))
    seconds = time.perf_counter() - started
    mismatches = _compare(_stored(platform), got) if fraction >= 1 else None
    return {
        "seconds": seconds,
        "rows": len(got),
        "mismatches": mismatches,
        "maxrss_mb": _maxrss_mb(),
    }


def stage_incremental(data_dir: str) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from hakama.analytics.engines import DuckDBEngine
    from hakama.services import indicators

    platform = _platform(data_dir)
    last = platform.lake.days("observations")[-1]
    table = pa.concat_tables(
        pq.read_table(f)
        for f in platform.lake.files("observations")
        if f.parent.name == f"day={last}"
    )
    shifted = table.set_column(
        0, "time", pc.add(table["time"], pa.scalar(timedelta(days=1), pa.duration("us")))
    )
    written = platform.lake.append(
        "observations", shifted.drop_columns([c for c in shifted.column_names if c == "day"])
    )
    engine = DuckDBEngine(platform.lake, memory_limit=MEMORY_LIMIT)
    started = time.perf_counter()
    done = indicators.compute(platform, engine=engine)
    seconds = time.perf_counter() - started
    rows = shifted.num_rows
    for f in written:  # leave the lake as it was, and the values with it
        shutil.rmtree(f.path.parent) if len(list(f.path.parent.iterdir())) == 1 else f.path.unlink()
    indicators.compute(platform, engine=engine)
    engine.close()
    return {
        "seconds": seconds,
        "rows": rows,
        "indicators": done.indicators,
        "periods": sum(done.periods.values()),
        "maxrss_mb": _maxrss_mb(),
    }


def stage_spark(data_dir: str) -> dict[str, Any]:
    from hakama.analytics.engines import SparkEngine, local_spark_session
    from hakama.services import indicators

    platform = _platform(data_dir)
    by_duckdb = _stored(platform)
    session = local_spark_session(cores=2, memory="6g")
    started = time.perf_counter()
    done = indicators.compute(platform, engine=SparkEngine(platform.lake, session), full=True)
    seconds = time.perf_counter() - started
    session.stop()
    return {
        "seconds": seconds,
        "rows": done.values,
        "mismatches": _compare(by_duckdb, _stored(platform)),
        "maxrss_mb": _maxrss_mb(),
        "note": "driver only; the JVM had 6g",
    }


def stage_spark_cluster(data_dir: str) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    from hakama.analytics.spark_standalone import standalone_cluster
    from hakama.services import indicators

    platform = _platform(data_dir)
    by_duckdb = _stored(platform)
    started = time.perf_counter()
    with standalone_cluster(workers=2, cores=1, memory="1g", timeout=300) as cluster:
        startup = time.perf_counter() - started
        platform.settings.spark_master = cluster.master_url
        platform.settings.spark_lake_url = platform.lake.root.as_uri()
        platform.settings.spark_conf = {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.memory": "1g",
            "spark.executor.memory": "768m",
            "spark.executor.cores": "1",
            "spark.cores.max": "2",
            "spark.app.name": "hakama-catalogue-benchmark",
        }
        started = time.perf_counter()
        try:
            done = indicators.compute(platform, engine="spark", full=True)
            seconds = time.perf_counter() - started
        finally:
            session = SparkSession.getActiveSession()
            if session is not None:
                session.stop()
    return {
        "seconds": seconds,
        "rows": done.values,
        "mismatches": _compare(by_duckdb, _stored(platform)),
        "maxrss_mb": _maxrss_mb(),
        "note": f"2 workers x 1 core x 1g, driver 1g; cluster start-up {startup:.0f} s not counted",
    }


def _isolated(func: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run a stage in a fresh process (its own peak memory) and return what it returned."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        result: dict[str, Any] = pool.apply(func, args)
    return result


def prepare(data_dir: Path, scale: float, requests_scale: float | None) -> dict[str, int]:
    from hakama.demo import requests
    from hakama.demo.build import build_demo
    from hakama.demo.readings import demo_period
    from hakama.demo.territory import demo_areas

    platform = _platform(str(data_dir))
    built = build_demo(platform, scale=scale, run_seeds=False)
    if requests_scale is not None:
        marker = data_dir / f"requests-scale-{requests_scale}"
        if not marker.exists():
            for dataset in ("service_requests", "request_events"):
                shutil.rmtree(platform.lake.dataset_dir(dataset), ignore_errors=True)
            period = demo_period(None)
            reqs, events = requests.generate_requests_and_events(
                demo_areas(), seed=2026, scale=requests_scale, start=period.start, end=period.end
            )
            platform.lake.append("service_requests", reqs)
            platform.lake.append("request_events", events)
            marker.touch()
    counts = {
        d: platform.lake.row_count(d) for d in ("observations", "service_requests", "admin_records")
    }
    platform.close()
    del built
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--requests-scale", type=float, default=None)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="scale 0.02, no Spark")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true", help="no Spark standalone cluster")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--spark-only",
        action="store_true",
        help="only stage 5, against the DuckDB values a previous run left in --data-dir",
    )
    parser.add_argument(
        "--pandas-fraction",
        type=float,
        default=None,
        help="share of the days pandas reads (default: all up to 2x10^7 observations)",
    )
    args = parser.parse_args()
    scale = 0.02 if args.quick else args.scale
    temp = None
    data_dir = args.data_dir
    if data_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="hakama-bench-")
        data_dir = Path(temp.name) / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # In a child too: a forked child's peak memory starts at its parent's size.
    counts = _isolated(prepare, data_dir, scale, args.requests_scale)
    print(f"lake ready in {time.perf_counter() - started:.0f} s: {counts}")
    rows: list[dict[str, Any]] = []

    def add(stage: str, got: dict[str, Any], **extra: Any) -> dict[str, Any]:
        row = {
            "stage": stage,
            "seconds": got["seconds"],
            "rows": got["rows"],
            "mismatches": got.get("mismatches"),
            "peak_mb": round(got["maxrss_mb"]),
            **extra,
        }
        rows.append(row)
        print(row, flush=True)
        return row

    if args.spark_only:
        add("Spark local[2] compute", _isolated(stage_spark, str(data_dir)))
        report(
            f"indicators_catalogue_scale{scale:g}_spark",
            rows,
            scale=scale,
            requests_scale=args.requests_scale,
            **counts,
        )
        return
    hakama = add("hakama compute (DuckDB)", _isolated(stage_hakama, str(data_dir)))
    hand = add("one hand-written DuckDB SQL script", _isolated(stage_hand_sql, str(data_dir)))
    summary: dict[str, Any] = {
        "scale": scale,
        "requests_scale": args.requests_scale,
        **counts,
        "ratio_hakama_vs_hand_sql": hakama["seconds"] / hand["seconds"],
    }
    if not args.skip_pandas:
        fraction = args.pandas_fraction or min(1.0, 2e7 / max(counts["observations"], 1))
        got = _isolated(stage_pandas, str(data_dir), fraction)
        measured = got["seconds"]
        got["seconds"] = measured / fraction
        add(
            "pandas (pyarrow -> pandas, groupby)"
            + (f" on {fraction:.0%} of days, scaled" if fraction < 1 else ""),
            got,
            measured_seconds=measured,
        )
        summary["pandas_fraction"] = fraction
        summary["ratio_pandas_vs_hakama"] = got["seconds"] / hakama["seconds"]
    add("incremental: one new day of observations", _isolated(stage_incremental, str(data_dir)))
    if not (args.skip_spark or args.quick):
        add("Spark local[2] compute", _isolated(stage_spark, str(data_dir)))
    if not (args.skip_cluster or args.quick):
        got = _isolated(stage_spark_cluster, str(data_dir))
        add("Spark standalone cluster (2 workers)", got, note=got["note"])
    name = "indicators_catalogue_quick" if args.quick else f"indicators_catalogue_scale{scale:g}"
    report(name, rows, **summary)
    if temp is not None:
        temp.cleanup()


if __name__ == "__main__":
    main()
