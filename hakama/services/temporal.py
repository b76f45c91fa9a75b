"""The NGSI-LD temporal API: history of entities from the lake plus what is not yet in it.

Reading: `retrieve` (one entity) and `query` (many) answer from
`observations.recent_and_lake`, so a reading is in the history as soon as it is acknowledged.
Filters (`timerel`, `attrs`, `lastN`) and aggregation (`aggrMethods` over periods of
`aggrPeriodDuration`, DuckDB `time_bucket`) run in DuckDB; only the answer comes back to
Python. Aggregation periods start at `timeAt` when the window has a start, else at
2000-01-03T00:00Z (DuckDB's origin, a Monday) for day/week periods and 2000-01-01 for months.
`stddev` is the population standard deviation (0 for one value).

Writing: `create` (POST /temporal/entities) and `append` (POST …/attrs) stage one observation
per instance (`observations.stage`) in one transaction and make sure the entity exists
(`entities.ensure`); the current entity is otherwise left as it is — the temporal API writes
history, not state. Access: `WRITE_DATA` in the entity's commune (the writer's area for a new
entity). One audit row per request.

Deleting: the lake is append-only Parquet, so deletion never rewrites a file. It writes a
**tombstone** (`storage.schema_temporal`) that every reader here applies: deleting an entity's
or an attribute's history hides every instance observed at or before the deletion (readings
observed later are history again); deleting one instance hides exactly that instance. An
instance's id, `urn:ngsi-ld:Instance:<µs since epoch>-<observation key>`, is derived from the
entity, attribute, instant and value (`core.observations.observation_key`), so it is stable
and needs no column. Tombstones are honoured by this API; analysts reading the Parquet files
directly see the raw history (the tombstone table says what to leave out).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.access import Action, Actor, allowed
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.ngsi_query import GeoQuery, Query
from hakama.core.observations import Observation, observation_key
from hakama.core.patterns import compile_user_pattern
from hakama.core.temporal import (
    Aggregation,
    AggrMethod,
    Format,
    TemporalQuery,
    format_time,
)
from hakama.services import audit, entities, observations
from hakama.services.platform import Platform
from hakama.services.territory import area_chain
from hakama.storage.schema_entities import entities as entities_table
from hakama.storage.schema_temporal import temporal_tombstones
from hakama.storage.types import utcnow

VIEW = observations.VIEW
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ORIGIN_DAYS = "2000-01-03 00:00:00+00"
_ORIGIN_MONTHS = "2000-01-01 00:00:00+00"


#: Instances one attribute answers with at most (oldest first); beyond, the answer is cut.
MAX_INSTANCES = 10_000


@dataclass(frozen=True)
class Truncated:
    """The answer covers [first, last] only: later instances were left out (clause 6.3.10,
    HTTP 206 with `Content-Range: date-time first-last/*`); ask again with timeAt after `last`."""

    first: datetime
    last: datetime


@dataclass(frozen=True)
class TemporalPage:
    """Temporal entities of one page, and how many entities match in all (when asked)."""

    entities: list[dict[str, Any]]
    count: int | None = None
    truncated: Truncated | None = None


# Instance ids ------------------------------------------------------------------------------


def instance_id(
    entity_id: str, attribute: str, time: datetime, value: float | None, text: str | None
) -> str:
    """The stable id of one attribute instance (its time, then its observation key)."""
    micros = (time.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
    return f"{INSTANCE_PREFIX}{micros}-{observation_key(entity_id, attribute, time, value, text)}"


def _instance_time(instance: str) -> tuple[datetime, str]:
    match = re.fullmatch(re.escape(INSTANCE_PREFIX) + r"(-?\d+)-([0-9a-f]{32})", instance)
    if match is None:
        raise NotFound(f"no attribute instance {instance}", id=instance)
    return _EPOCH + timedelta(microseconds=int(match.group(1))), match.group(2)


# Reading -----------------------------------------------------------------------------------


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
class _Sql:
    """A WHERE clause and its parameters, built from validated values only."""

    where: list[str]
    params: list[Any]

    def add(self, clause: str, *params: Any) -> None:
        self.where.append(clause)
        self.params.extend(params)

    def text(self) -> str:
        return " AND ".join(self.where) if self.where else "TRUE"


def _filters(
    conn: duckdb.DuckDBPyConnection,
    platform: Platform,
    tq: TemporalQuery,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str],
    id_pattern: str | None,
) -> _Sql:
    """The WHERE clause of a temporal read, tombstones included (registered on `conn`)."""
    sql = _Sql([], [])
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


def _decode(value: float | None, text: str | None, kind: str) -> Any:
    """A lake value back as the attribute type had it (numbers stay numbers)."""
    if value is not None:
        return value
    if text is None:
        return None
    if kind in ("GeoProperty", "LanguageProperty", "JsonProperty", "ListProperty") or (
        kind == "Property" and text[:1] in ("{", "[")
    ):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if kind in ("Relationship", "ListRelationship") and text[:1] == "[":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _kinds(current: Mapping[str, Any] | None) -> dict[str, str]:
    """Attribute name → attribute type, from the entity's current state."""
    if not current:
        return {}
    out: dict[str, str] = {}
    for name, attribute in core_entities.attributes_of(current).items():
        found = core_entities.instances(attribute)
        if found:
            out[name] = str(found[0].get("type", "Property"))
    return out


def _raw_rows(
    conn: duckdb.DuckDBPyConnection, sql: _Sql, last_n: int | None, cap: int
) -> tuple[list[tuple[Any, ...]], Truncated | None]:
    """Instances (entity, type, attribute, time, value, text, unit), oldest first, at most
    `cap` per attribute: when one attribute has more, every attribute stops at the same
    instant so the answer is one consistent time range."""
    base = (
        f"SELECT o.entity_id, o.entity_type, o.attribute, o.time, o.value, o.text, o.unit "
        f"FROM {VIEW} o WHERE {sql.text()}"
    )
    limit = min(int(last_n), cap) if last_n is not None else cap + 1
    order = "DESC" if last_n is not None else "ASC"
    base += (
        " QUALIFY row_number() OVER (PARTITION BY o.entity_id, o.attribute "
        f"ORDER BY o.time {order}) <= {limit}"
    )
    query = f"SELECT * FROM ({base}) ORDER BY entity_id, attribute, time"
    rows = conn.execute(query, sql.params).fetchall()
    if last_n is not None or not rows:
        return rows, None
    counts: dict[tuple[str, str], list[datetime]] = {}
    for row in rows:
        counts.setdefault((row[0], row[2]), []).append(row[3])
    over = [times[cap - 1] for times in counts.values() if len(times) > cap]
    if not over:
        return rows, None
    cut = min(over)
    kept = [r for r in rows if r[3] <= cut]
    return kept, Truncated(first=min(r[3] for r in kept), last=cut)


def _aggregate_rows(
    conn: duckdb.DuckDBPyConnection,
    sql: _Sql,
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


def _build_raw(
    rows: Iterable[tuple[Any, ...]],
    tq: TemporalQuery,
    current: Mapping[str, Mapping[str, Any]],
    ctx: jsonld.Context,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    names = ctx.from_canonical
    for entity_id, entity_type, attribute, time, value, text, unit in rows:
        entity = out.get(entity_id)
        if entity is None:
            entity = out[entity_id] = {"id": entity_id, "type": names(entity_type)}
        kind = _kinds(current.get(entity_id)).get(attribute, "Property")
        member = core_entities.VALUE_MEMBER.get(kind, "value")
        decoded = _decode(value, text, kind)
        shown = names(attribute)
        if tq.format is Format.TEMPORAL_VALUES:
            slot = entity.setdefault(shown, {"type": kind, _values_member(kind): []})
            slot[_values_member(kind)].append([decoded, format_time(time)])
            continue
        instance: dict[str, Any] = {"type": kind, member: decoded, "observedAt": format_time(time)}
        if unit:
            instance["unitCode"] = unit
        instance["instanceId"] = instance_id(entity_id, attribute, time, value, text)
        entity.setdefault(shown, []).append(instance)
    return out


def _values_member(kind: str) -> str:
    """The member of a temporalValues attribute (clause 4.5.9): `values`, `objects`…"""
    return {
        "Relationship": "objects",
        "LanguageProperty": "languageMaps",
        "JsonProperty": "jsons",
        "VocabProperty": "vocabs",
        "ListProperty": "valueLists",
        "ListRelationship": "objectLists",
    }.get(kind, "values")


def _build_aggregated(
    rows: Iterable[tuple[Any, ...]],
    tq: TemporalQuery,
    aggregation: Aggregation,
    current: Mapping[str, Mapping[str, Any]],
    ctx: jsonld.Context,
) -> dict[str, dict[str, Any]]:
    # A year of daily periods is tens of thousands of cells: each period's bounds are
    # formatted once, and every list is built by one comprehension.
    out: dict[str, dict[str, Any]] = {}
    names = ctx.from_canonical
    period = aggregation.period
    bounds: dict[datetime, tuple[str, str]] = {}
    plan: list[tuple[str, int, bool]] = []  # (method, column, min/max: numbers then texts)
    column = 5
    for method in aggregation.methods:
        pair = method in (AggrMethod.MIN, AggrMethod.MAX)
        plan.append((method.value, column, pair))
        column += 2 if pair else 1
    for row in rows:
        entity_id, entity_type, attribute, buckets, last_time = row[:5]
        entity = out.get(entity_id)
        if entity is None:
            entity = out[entity_id] = {"id": entity_id, "type": names(entity_type)}
        if period is None:
            start = tq.window.start or buckets[0]
            end = tq.window.end or (last_time + timedelta(microseconds=1))
            spans = [(format_time(start), format_time(end))]
        else:
            for bucket in set(buckets) - bounds.keys():
                end = _add_months(bucket, period.months) if period.months else bucket + period.span
                bounds[bucket] = (format_time(bucket), format_time(end))
            spans = [bounds[b] for b in buckets]
        kind = _kinds(current.get(entity_id)).get(attribute, "Property")
        slot: dict[str, Any] = {"type": kind}
        for name, col, pair in plan:
            values = row[col]
            if pair:
                values = [
                    n if n is not None else t for n, t in zip(values, row[col + 1], strict=True)
                ]
            cells = [[v, s, e] for v, (s, e) in zip(values, spans, strict=True) if v is not None]
            if cells:  # a text attribute has no average
                slot[name] = cells
        entity[names(attribute)] = slot
    return out


def _add_months(instant: datetime, months: int) -> datetime:
    month = instant.month - 1 + months
    return instant.replace(year=instant.year + month // 12, month=month % 12 + 1)


def _answer(
    platform: Platform,
    tq: TemporalQuery,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str] = (),
    id_pattern: str | None = None,
    ctx: jsonld.Context,
    threads: int | None = None,
    cap: int = MAX_INSTANCES,
) -> tuple[dict[str, dict[str, Any]], Truncated | None]:
    truncated = None
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = _filters(conn, platform, tq, ids=ids, types=types, id_pattern=id_pattern)
        if tq.aggregation is not None:
            rows, _ = _aggregate_rows(conn, sql, tq, tq.aggregation)
        else:
            rows, truncated = _raw_rows(conn, sql, tq.last_n, cap)
    found_ids = sorted({row[0] for row in rows})
    current = entities.get_many(platform, found_ids) if found_ids else {}
    if tq.aggregation is not None:
        return _build_aggregated(rows, tq, tq.aggregation, current, ctx), None
    return _build_raw(rows, tq, current, ctx), truncated


def retrieve(
    platform: Platform,
    entity_id: str,
    tq: TemporalQuery,
    *,
    types: Sequence[str] = (),
    context: jsonld.Context | None = None,
) -> dict[str, Any]:
    """The temporal representation of one entity (see `retrieve_range`), without the range."""
    return retrieve_range(platform, entity_id, tq, types=types, context=context)[0]


def retrieve_range(
    platform: Platform,
    entity_id: str,
    tq: TemporalQuery,
    *,
    types: Sequence[str] = (),
    context: jsonld.Context | None = None,
    max_instances: int | None = None,
) -> tuple[dict[str, Any], Truncated | None]:
    """The temporal representation of one entity (GET /temporal/entities/{id}), and the
    range it was cut to when an attribute has more than `max_instances` instances.

    `NotFound` when the entity neither exists nor has history. An entity with no instance in
    the window answers with its id and type only. `tq.attrs` and `types` are canonical.
    """
    ctx = context or jsonld.core()
    cap = MAX_INSTANCES if max_instances is None else max_instances
    answered, truncated = _answer(platform, tq, ids=[entity_id], types=types, ctx=ctx, cap=cap)
    if entity_id in answered:
        return answered[entity_id], truncated
    current = entities.get_many(platform, [entity_id]).get(entity_id)
    if current is None:
        raise NotFound(f"no entity {entity_id} and no history of it", id=entity_id)
    kinds = core_entities.types_of(current)
    if types and not set(types) & set(kinds):
        raise NotFound(f"entity {entity_id} is not of the types asked", id=entity_id)
    type_names = [ctx.from_canonical(t) for t in kinds]
    bare = {"id": entity_id, "type": type_names[0] if len(type_names) == 1 else type_names}
    return bare, None


def query(
    platform: Platform,
    tq: TemporalQuery,
    *,
    types: Sequence[str] = (),
    ids: Sequence[str] = (),
    id_pattern: str | None = None,
    q: Query | None = None,
    geoq: GeoQuery | None = None,
    limit: int = 20,
    offset: int = 0,
    count: bool = False,
    context: jsonld.Context | None = None,
    threads: int | None = None,
    max_instances: int | None = None,
) -> TemporalPage:
    """Temporal entities matching the filters (GET /temporal/entities), by id, one page.

    `q` and `geoq` test the entities' current state (through the entities service); type, id
    and pattern filters apply to the history itself, so deleted entities' history is found.
    """
    if limit < 0 or offset < 0:
        raise Invalid("limit and offset cannot be negative")
    if id_pattern is not None:
        compile_user_pattern(id_pattern, what="idPattern")  # the lake's regexp is RE2 too
    ctx = context or jsonld.core()
    allowed_ids: list[str] | None = list(ids) if ids else None
    if q is not None or geoq is not None:
        current = entities.query(
            platform, types=types, ids=ids, id_pattern=id_pattern, q=q, geoq=geoq,
            limit=1_000_000, offset=0,
        )  # fmt: skip
        allowed_ids = [e["id"] for e in current.entities]
    if tq.aggregation is not None:
        return _query_aggregated(
            platform, tq, tq.aggregation, ids=allowed_ids, types=types, id_pattern=id_pattern,
            page=(offset, limit), count=count, ctx=ctx, threads=threads,
        )  # fmt: skip
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = _filters(conn, platform, tq, ids=allowed_ids, types=types, id_pattern=id_pattern)
        listing = conn.execute(
            f"SELECT DISTINCT o.entity_id FROM {VIEW} o WHERE {sql.text()} ORDER BY 1",
            sql.params,
        ).fetchall()
    all_ids = [r[0] for r in listing]
    page = all_ids[offset : offset + limit]
    if not page:
        return TemporalPage([], len(all_ids) if count else None)
    cap = MAX_INSTANCES if max_instances is None else max_instances
    answered, truncated = _answer(
        platform, tq, ids=page, types=types, ctx=ctx, threads=threads, cap=cap
    )
    return TemporalPage(
        [answered[i] for i in page if i in answered], len(all_ids) if count else None, truncated
    )


def _query_aggregated(
    platform: Platform,
    tq: TemporalQuery,
    aggregation: Aggregation,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str],
    id_pattern: str | None,
    page: tuple[int, int],
    count: bool,
    ctx: jsonld.Context,
    threads: int | None,
) -> TemporalPage:
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = _filters(conn, platform, tq, ids=ids, types=types, id_pattern=id_pattern)
        rows, total = _aggregate_rows(conn, sql, tq, aggregation, page=page)
    order = list(dict.fromkeys(r[0] for r in rows))
    current = entities.get_many(platform, order) if order else {}
    built = _build_aggregated(rows, tq, aggregation, current, ctx)
    return TemporalPage([built[i] for i in order], total if count else None)


# Writing -----------------------------------------------------------------------------------


def _area_of(platform: Platform, entity_id: str) -> tuple[bool, str | None]:
    """(exists, commune) of an entity in the entities table."""
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(entities_table.c.area_code).where(entities_table.c.id == entity_id)
        ).first()
    return (row is not None, row.area_code if row is not None else None)


def _check_write(platform: Platform, actor: Actor, area_code: str | None) -> None:
    if not allowed(actor, Action.WRITE_DATA, area_chain(platform, area_code)):
        raise Forbidden("you may not write data in this entity's area")


def _parse_instances(
    body: Mapping[str, Any], ctx: jsonld.Context
) -> dict[str, list[dict[str, Any]]]:
    """Attribute (canonical) → its instances, each validated as an NGSI-LD attribute."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, value in body.items():
        if name in core_entities.ENTITY_MEMBERS or name in ("@id", "@type"):
            continue
        if not isinstance(name, str) or not name:
            raise Invalid("attribute names must be non-empty strings")
        canonical = ctx.to_canonical(name)
        items = (
            value
            if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value)
            else [value]
        )
        parsed: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, Mapping) and "datasetId" in item:
                item = {k: v for k, v in item.items() if k != "datasetId"}
            one = core_entities.parse_attribute(canonical, item, ctx)
            parsed.extend(core_entities.instances(one))
        out.setdefault(canonical, []).extend(parsed)
    return out


def _stage_instances(
    platform: Platform,
    entity_id: str,
    entity_type: str,
    attributes: Mapping[str, list[dict[str, Any]]],
    *,
    actor: Actor,
    area_code: str | None,
    action: str,
) -> int:
    now = utcnow()
    rows: list[Observation] = []
    for name, instances in attributes.items():
        for instance in instances:
            rows.extend(
                core_entities.observations(
                    entity_id, entity_type, {name: instance},
                    now=now, area_code=area_code, source="http",
                )
            )  # fmt: skip
    with platform.db.begin() as conn:
        staged = observations.stage(conn, rows)
        audit.record(
            conn,
            actor=actor,
            action=action,
            resource=entity_id,
            area_code=area_code,
            after={"attributes": sorted(attributes), "instances": len(rows), "new": staged},
        )
    return staged


def create(
    platform: Platform, body: Any, *, actor: Actor, context: jsonld.Context | None = None
) -> bool:
    """Create a temporal entity or add instances to it (POST /temporal/entities).

    True when its temporal representation did not exist (201): a new entity, or one whose
    history is empty (never written, or deleted with DELETE /temporal/entities/{id});
    False when instances were added to existing history (204).
    """
    ctx = context or jsonld.core()
    if not isinstance(body, Mapping):
        raise Invalid("a temporal entity must be a JSON object")
    entity_id = body.get("id")
    if not isinstance(entity_id, str) or not core_entities.is_uri(entity_id):
        raise Invalid("id: must be a URI")
    if "type" not in body:
        raise Invalid("type: missing")
    kinds = body["type"] if isinstance(body["type"], list) else [body["type"]]
    if not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise Invalid("type: must be a name or a list of names")
    entity_type = ctx.to_canonical(kinds[0])
    attributes = _parse_instances(body, ctx)
    exists, area = _area_of(platform, entity_id)
    area = area if exists else actor.area_code
    _check_write(platform, actor, area)
    had_history = exists and _has_history(platform, entity_id)
    created = entities.ensure(platform, entity_id, entity_type, actor=actor)
    if created:
        exists, area = _area_of(platform, entity_id)
    _stage_instances(
        platform, entity_id, entity_type, attributes,
        actor=actor, area_code=area, action="ngsi.temporal.create",
    )  # fmt: skip
    return created or not had_history


def _has_history(platform: Platform, entity_id: str) -> bool:
    """Has the entity any visible attribute instance (tombstones applied)?"""
    answered = _answer(platform, TemporalQuery(last_n=1), ids=[entity_id], ctx=jsonld.core())[0]
    found = answered.get(entity_id) or {}
    return any(k not in ("id", "type", "@context", "scope") for k in found)


def append(
    platform: Platform,
    entity_id: str,
    body: Any,
    *,
    actor: Actor,
    context: jsonld.Context | None = None,
) -> int:
    """Add attribute instances to an entity's history (POST /temporal/entities/{id}/attrs)."""
    ctx = context or jsonld.core()
    if not isinstance(body, Mapping):
        raise Invalid("the attributes must be a JSON object")
    if "id" in body and body["id"] != entity_id:
        raise Invalid("id: differs from the entity addressed")
    exists, area = _area_of(platform, entity_id)
    if not exists:
        raise NotFound(f"no entity {entity_id}", id=entity_id)
    _check_write(platform, actor, area)
    current = entities.get(platform, entity_id)
    entity_type = core_entities.types_of(current)[0]
    attributes = _parse_instances(body, ctx)
    if not attributes:
        raise Invalid("no attribute instance given")
    return _stage_instances(
        platform, entity_id, entity_type, attributes,
        actor=actor, area_code=area, action="ngsi.temporal.append",
    )  # fmt: skip


def _history_exists(platform: Platform, entity_id: str, attribute: str | None) -> bool:
    tq = TemporalQuery(attrs=(attribute,) if attribute else (), last_n=1)
    return bool(_answer(platform, tq, ids=[entity_id], ctx=jsonld.core())[0])


def _guard_delete(platform: Platform, entity_id: str, actor: Actor) -> str | None:
    exists, area = _area_of(platform, entity_id)
    if not exists and not _history_exists(platform, entity_id, None):
        raise NotFound(f"no entity {entity_id} and no history of it", id=entity_id)
    if not exists:
        area = _history_area(platform, entity_id)
    _check_write(platform, actor, area)
    return area


def _history_area(platform: Platform, entity_id: str) -> str | None:
    with observations.recent_and_lake(platform) as conn:
        row = conn.execute(
            f"SELECT area_code FROM {VIEW} WHERE entity_id = ? ORDER BY time DESC LIMIT 1",
            [entity_id],
        ).fetchone()
    return row[0] if row else None


def delete_entity(platform: Platform, entity_id: str, *, actor: Actor) -> None:
    """Delete an entity's temporal evolution (DELETE /temporal/entities/{id}).

    The current entity is left in place (delete it through /entities); its history up to
    now is hidden by a tombstone.
    """
    area = _guard_delete(platform, entity_id, actor)
    _tombstone(platform, actor, area, entity_id=entity_id, attribute=None, action="entity")


def delete_attribute(platform: Platform, entity_id: str, attribute: str, *, actor: Actor) -> None:
    """Delete the history of one attribute (DELETE /temporal/entities/{id}/attrs/{attr})."""
    area = _guard_delete(platform, entity_id, actor)
    if not _history_exists(platform, entity_id, attribute):
        raise NotFound(f"entity {entity_id} has no history of {attribute}", id=entity_id)
    _tombstone(platform, actor, area, entity_id=entity_id, attribute=attribute, action="attribute")


def delete_instance(
    platform: Platform, entity_id: str, attribute: str, instance: str, *, actor: Actor
) -> None:
    """Delete one attribute instance (DELETE /temporal/entities/{id}/attrs/{attr}/{instanceId})."""
    area = _guard_delete(platform, entity_id, actor)
    found = _find_instance(platform, entity_id, attribute, instance)
    now = utcnow()
    with platform.db.begin() as conn:
        conn.execute(
            temporal_tombstones.insert().values(
                entity_id=entity_id,
                attribute=attribute,
                instance_id=instance,
                observed_at=found[0],
                value=found[1],
                text=found[2],
                actor=actor.label,
                deleted_at=now,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action="ngsi.temporal.delete_instance",
            resource=f"{entity_id}/{attribute}/{instance}",
            area_code=area,
        )


def _find_instance(
    platform: Platform, entity_id: str, attribute: str, instance: str
) -> tuple[datetime, float | None, str | None]:
    at, _ = _instance_time(instance)
    tq = TemporalQuery(attrs=(attribute,))
    with observations.recent_and_lake(platform) as conn:
        sql = _filters(conn, platform, tq, ids=[entity_id], types=(), id_pattern=None)
        sql.add("o.time = ?", at)
        rows = conn.execute(
            f"SELECT o.time, o.value, o.text FROM {VIEW} o WHERE {sql.text()}", sql.params
        ).fetchall()
    for time, value, text in rows:
        if instance_id(entity_id, attribute, time, value, text) == instance:
            return time, value, text
    raise NotFound(f"no instance {instance} of {attribute} in {entity_id}", id=instance)


def _tombstone(
    platform: Platform,
    actor: Actor,
    area: str | None,
    *,
    entity_id: str,
    attribute: str | None,
    action: str,
) -> None:
    now = utcnow()
    with platform.db.begin() as conn:
        conn.execute(
            temporal_tombstones.insert().values(
                entity_id=entity_id,
                attribute=attribute,
                cutoff=now,
                actor=actor.label,
                deleted_at=now,
            )
        )
        audit.record(
            conn,
            actor=actor,
            action=f"ngsi.temporal.delete_{action}",
            resource=entity_id if attribute is None else f"{entity_id}/{attribute}",
            area_code=area,
        )


def modify_instance(
    platform: Platform,
    entity_id: str,
    attribute: str,
    instance: str,
    body: Any,
    *,
    actor: Actor,
    context: jsonld.Context | None = None,
) -> None:
    """Replace one attribute instance (PATCH …/attrs/{attr}/{instanceId}).

    The old instance gets a tombstone and the new one is staged, in one transaction; the new
    one keeps the old instant unless it carries its own `observedAt`.
    """
    ctx = context or jsonld.core()
    area = _guard_delete(platform, entity_id, actor)
    time, value, text = _find_instance(platform, entity_id, attribute, instance)
    if not isinstance(body, Mapping):
        raise Invalid("an attribute instance must be a JSON object")
    fragment = body.get(ctx.from_canonical(attribute), body) if len(body) == 1 else body
    if isinstance(fragment, list):
        raise Invalid("send one instance, not a list")
    parsed = core_entities.instances(core_entities.parse_attribute(attribute, fragment, ctx))
    if len(parsed) != 1:
        raise Invalid("send exactly one instance")
    new = dict(parsed[0])
    new.setdefault("observedAt", format_time(time))
    current = entities.get_many(platform, [entity_id]).get(entity_id)
    entity_type = (
        core_entities.types_of(current)[0] if current else _history_type(platform, entity_id)
    )
    rows = core_entities.observations(
        entity_id, entity_type, {attribute: new}, now=utcnow(), area_code=area, source="http"
    )
    if rows and instance_id(entity_id, attribute, rows[0].time, rows[0].value, rows[0].text) == (
        instance
    ):
        return  # the same instance again: nothing changes
    now = utcnow()
    with platform.db.begin() as conn:
        conn.execute(
            temporal_tombstones.insert().values(
                entity_id=entity_id, attribute=attribute, instance_id=instance,
                observed_at=time, value=value, text=text, actor=actor.label, deleted_at=now,
            )
        )  # fmt: skip
        observations.stage(conn, rows)
        audit.record(
            conn,
            actor=actor,
            action="ngsi.temporal.modify_instance",
            resource=f"{entity_id}/{attribute}/{instance}",
            area_code=area,
        )


def _history_type(platform: Platform, entity_id: str) -> str:
    with observations.recent_and_lake(platform) as conn:
        row = conn.execute(
            f"SELECT entity_type FROM {VIEW} WHERE entity_id = ? LIMIT 1", [entity_id]
        ).fetchone()
    if row is None:
        raise NotFound(f"no entity {entity_id} and no history of it", id=entity_id)
    return str(row[0])
