"""The SQL of temporal reads, run in DuckDB over `observations.recent_and_lake`.

`filters` builds the WHERE clause of a read from a validated `TemporalQuery`, with the
tombstones of `storage.schema_temporal` applied (see `services.temporal_deletes`);
`raw_rows` fetches instances, oldest first, cut at one instant when an attribute has more than
the cap; `aggregate_rows` computes `aggrMethods` over periods of `aggrPeriodDuration` with
DuckDB's `time_bucket`. Aggregation periods start at `timeAt` when the window has a start, else
at 2000-01-03T00:00Z (DuckDB's origin, a Monday) for day/week periods and 2000-01-01 for
months. `stddev` is the population standard deviation (0 for one value). Only the answer comes
back to Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from hakama.core.temporal import Aggregation, AggrMethod, TemporalQuery, Truncated
from hakama.services import observations
from hakama.services.platform import Platform
from hakama.storage.schema_temporal import temporal_tombstones

VIEW = observations.VIEW
_ORIGIN_DAYS = "2000-01-03 00:00:00+00"
_ORIGIN_MONTHS = "2000-01-01 00:00:00+00"


def _tombstones(platform: Platform, entity_ids: Sequence[str] | None) -> tuple[pa.Table, pa.Table]:
    """(cutoffs, instances) tombstones for these entities (all when None), as Arrow tables."""
    t = temporal_tombstones
    query = sa.select(t)
    if entity_ids is not None:
        query = query.where(t.c.entity_id.in_(list(entity_ids)))
    with platform.db.connect() as conn:
        rows = conn.execute(query).all()
    cuts = [r for r in rows if r.instance_id is None]
    insts = [r for r in rows if r.instance_id is not None]
    ts = pa.timestamp("us", tz="UTC")
    cut_table = pa.table(
        {
            "entity_id": pa.array([r.entity_id for r in cuts], pa.string()),
            "attribute": pa.array([r.attribute for r in cuts], pa.string()),
            "cutoff": pa.array([r.cutoff for r in cuts], ts),
        }
    )
    inst_table = pa.table(
        {
            "entity_id": pa.array([r.entity_id for r in insts], pa.string()),
            "attribute": pa.array([r.attribute for r in insts], pa.string()),
            "time": pa.array([r.observed_at for r in insts], ts),
            "value": pa.array([r.value for r in insts], pa.float64()),
            "text": pa.array([r.text for r in insts], pa.string()),
        }
    )
    return cut_table, inst_table


@dataclass
class Sql:
    """A WHERE clause and its parameters, built from validated values only."""

    where: list[str]
    params: list[Any]

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def text(self) -> str:
        return " AND ".join(self.where) if self.where else "TRUE"


def filters(
    conn: duckdb.DuckDBPyConnection,
    platform: Platform,
    tq: TemporalQuery,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str],
    id_pattern: str | None,
) -> Sql:
    """The WHERE clause of a temporal read, tombstones included (registered on `conn`)."""
    sql = Sql([], [])
    if ids is not None:
        sql.add(f"o.entity_id IN ({', '.join('?' for _ in ids)})" if ids else "FALSE", *ids)
    if types:
        sql.add(f"o.entity_type IN ({', '.join('?' for _ in types)})", *types)
    if id_pattern:
        sql.add("regexp_full_match(o.entity_id, ?)", id_pattern)
    if tq.attrs:
        sql.add(f"o.attribute IN ({', '.join('?' for _ in tq.attrs)})", *tq.attrs)
    if tq.window.start is not None:
        sql.add("o.time >= ?", tq.window.start)
    if tq.window.end is not None:
        sql.add("o.time < ?", tq.window.end)
    cuts, insts = _tombstones(platform, ids)
    if cuts.num_rows:
        conn.register("tomb_cuts", cuts)
        sql.add(
            "NOT EXISTS (SELECT 1 FROM tomb_cuts c WHERE c.entity_id = o.entity_id "
            "AND (c.attribute IS NULL OR c.attribute = o.attribute) AND o.time <= c.cutoff)"
        )
    if insts.num_rows:
        conn.register("tomb_insts", insts)
        sql.add(
            "NOT EXISTS (SELECT 1 FROM tomb_insts i WHERE i.entity_id = o.entity_id "
            "AND i.attribute = o.attribute AND i.time = o.time "
            "AND i.value IS NOT DISTINCT FROM o.value AND i.text IS NOT DISTINCT FROM o.text)"
        )
    return sql


def raw_rows(
    conn: duckdb.DuckDBPyConnection, sql: Sql, last_n: int | None, cap: int
) -> tuple[list[tuple[Any, ...]], Truncated | None]:
    """Instances (entity, type, attribute, time, value, text, unit), oldest first, at most
    `cap` per attribute (the `last_n` newest with `last_n`): when one attribute has more,
    every attribute stops at the same instant so the answer is one consistent time range
    (from the oldest on, or from the newest back with `last_n`)."""
    base = (
        f"SELECT o.entity_id, o.entity_type, o.attribute, o.time, o.value, o.text, o.unit "
        f"FROM {VIEW} o WHERE {sql.text()}"
    )
    newest = last_n is not None
    limit = min(int(last_n), cap + 1) if last_n is not None else cap + 1
    base += (
        " QUALIFY row_number() OVER (PARTITION BY o.entity_id, o.attribute "
        f"ORDER BY o.time {'DESC' if newest else 'ASC'}) <= {limit}"
    )
    query = f"SELECT * FROM ({base}) ORDER BY entity_id, attribute, time"
    rows = conn.execute(query, sql.params).fetchall()
    times: dict[tuple[str, str, str], list[datetime]] = {}
    for row in rows:
        times.setdefault((row[0], row[1], row[2]), []).append(row[3])
    over = [t for t in times.values() if len(t) > cap]
    if not over:
        return rows, None
    if newest:
        cut = max(t[-cap] for t in over)
        kept = [r for r in rows if r[3] >= cut]
        first = max(r[3] for r in kept)
    else:
        cut = min(t[cap - 1] for t in over)
        kept = [r for r in rows if r[3] <= cut]
        first = min(r[3] for r in kept)
    left = {(r[0], r[1], r[2]) for r in kept}
    emptied = tuple(sorted(k for k in times if k not in left))
    return kept, Truncated(first=first, last=cut, size=last_n, emptied=emptied)


def aggregate_rows(
    conn: duckdb.DuckDBPyConnection,
    sql: Sql,
    tq: TemporalQuery,
    aggregation: Aggregation,
    page: tuple[int, int] | None = None,
) -> tuple[list[tuple[Any, ...]], int]:
    """One row per (entity, attribute): entity, type, attribute, the list of period starts,
    the last instant, then for each method the list of its results (two lists for min/max:
    numbers, texts) — and the number of entities in all. With `page` = (offset, limit) only
    that page of entities, ranked in the same scan so a query reads the data once."""
    period = aggregation.period
    if period is None:
        bucket = "min(o.time)"
        group = "o.entity_id, o.attribute"
    else:
        if tq.window.start is not None:
            origin = f"TIMESTAMPTZ '{tq.window.start.isoformat()}'"
        else:
            origin = f"TIMESTAMPTZ '{_ORIGIN_MONTHS if period.months else _ORIGIN_DAYS}'"
        bucket = f"time_bucket({period.sql_interval()}, o.time, {origin})"
        group = "o.entity_id, o.attribute, bucket"
    columns = {
        AggrMethod.TOTAL_COUNT: ["count(*)"],
        AggrMethod.DISTINCT_COUNT: ["count(DISTINCT coalesce(CAST(o.value AS VARCHAR), o.text))"],
        AggrMethod.SUM: ["sum(o.value)"],
        AggrMethod.AVG: ["avg(o.value)"],
        AggrMethod.MIN: ["min(o.value)", "min(o.text)"],
        AggrMethod.MAX: ["max(o.value)", "max(o.text)"],
        AggrMethod.STDDEV: ["stddev_pop(o.value)"],
        AggrMethod.SUMSQ: ["sum(o.value * o.value)"],
    }
    results = [expr for m in aggregation.methods for expr in columns[m]]
    named = ", ".join(f"{expr} AS c{i}" for i, expr in enumerate(results))
    per_period = (
        f"SELECT o.entity_id AS entity_id, any_value(o.entity_type) AS entity_type, "
        f"o.attribute AS attribute, {bucket} AS bucket, "
        f"{'max(o.time)' if period is None else 'NULL'} AS last_time, {named} "
        f"FROM {VIEW} o WHERE {sql.text()} GROUP BY {group}"
    )
    # Results come back as lists per (entity, attribute): DuckDB builds them, Python only
    # pairs them with the period bounds.
    lists = ", ".join(f"list(c{i} ORDER BY bucket)" for i in range(len(results)))
    query = (
        f"SELECT entity_id, any_value(entity_type), attribute, list(bucket ORDER BY bucket), "
        f"max(last_time), {lists} FROM ({per_period}) AS agg GROUP BY entity_id, attribute"
    )
    if page is None:
        rows = conn.execute(f"{query} ORDER BY 1, 3", sql.params).fetchall()
        return rows, len({r[0] for r in rows})
    offset, limit = page
    ranked = (
        f"SELECT *, max(rk) OVER () AS total FROM (SELECT *, dense_rank() OVER "
        f"(ORDER BY entity_id) AS rk FROM ({query}) AS grouped) AS ranked"
    )
    paged = (
        f"SELECT * FROM ({ranked}) AS counted "
        f"WHERE rk > {int(offset)} AND rk <= {int(offset) + int(limit)} ORDER BY 1, 3"
    )
    rows = conn.execute(paged, sql.params).fetchall()
    if rows:
        return [r[:-2] for r in rows], int(rows[0][-1])
    if offset == 0:
        return [], 0
    total = conn.execute(
        f"SELECT count(DISTINCT entity_id) FROM ({per_period}) AS agg", sql.params
    ).fetchone()
    return [], int(total[0]) if total else 0
