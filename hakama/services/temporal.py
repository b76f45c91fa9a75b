"""The NGSI-LD temporal API, reading: history of entities from the lake plus what is not yet in it.

`retrieve` (one entity) and `query` (many) answer from `observations.recent_and_lake`, so a
reading is in the history as soon as it is acknowledged. Filters (`timerel`, `attrs`, `lastN`)
and aggregation run in DuckDB (`services.temporal_sql`); only the answer comes back to Python,
where `services.temporal_render` shapes it. Writing is `services.temporal_writes`, deleting
(tombstones) `services.temporal_deletes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.errors import Invalid, NotFound
from hakama.core.ngsi_geo import geo_matches
from hakama.core.ngsi_query import (
    And,
    Comparison,
    GeoQuery,
    Or,
    Query,
    Range,
    attribute_names,
    matches,
)
from hakama.core.patterns import UserPattern, compile_user_pattern
from hakama.core.temporal import Aggregation, TemporalQuery, Truncated
from hakama.services import entities, observations
from hakama.services.platform import Platform
from hakama.services.temporal_render import build_aggregated, build_raw, decode
from hakama.services.temporal_sql import VIEW, aggregate_rows, filters, raw_rows


@dataclass(frozen=True)
class TemporalPage:
    """Temporal entities of one page, and how many entities match in all (when asked)."""

    entities: list[dict[str, Any]]
    count: int | None = None
    truncated: Truncated | None = None


def answer(
    platform: Platform,
    tq: TemporalQuery,
    *,
    ids: Sequence[str] | None,
    types: Sequence[str] = (),
    id_pattern: str | None = None,
    ctx: jsonld.Context,
    threads: int | None = None,
    cap: int | None = None,
) -> tuple[dict[str, dict[str, Any]], Truncated | None]:
    """The temporal representation of the entities selected, and the range it was cut to
    when an attribute has more than `cap` instances (default: the
    `ngsi_temporal_max_instances` setting)."""
    cap = platform.settings.ngsi_temporal_max_instances if cap is None else cap
    truncated = None
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = filters(conn, platform, tq, ids=ids, types=types, id_pattern=id_pattern)
        if tq.aggregation is not None:
            rows, _ = aggregate_rows(conn, sql, tq, tq.aggregation)
        else:
            rows, truncated = raw_rows(conn, sql, tq.last_n, cap)
    emptied = truncated.emptied if truncated is not None else ()
    found_ids = sorted({row[0] for row in rows} | {e[0] for e in emptied})
    current = entities.get_many(platform, found_ids) if found_ids else {}
    if tq.aggregation is not None:
        return build_aggregated(rows, tq, tq.aggregation, current, ctx), None
    return build_raw(rows, tq, current, ctx, emptied), truncated


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
    answered, truncated = answer(
        platform, tq, ids=[entity_id], types=types, ctx=ctx, cap=max_instances
    )
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

    `q` tests the history in the window: an entity matches when its state at one of its
    instants (each attribute at its latest instance then) satisfies `q`. `geoq` tests the
    current state (through the entities service). Type, id and pattern filters apply to the
    history itself, so deleted entities' history is found.
    """
    if limit < 0 or offset < 0:
        raise Invalid("limit and offset cannot be negative")
    if id_pattern is not None:
        compile_user_pattern(id_pattern, what="idPattern")  # the lake's regexp is RE2 too
    ctx = context or jsonld.core()
    allowed_ids: list[str] | None = list(ids) if ids else None
    placed: set[str] = set()
    if geoq is not None:
        current = entities.query(
            platform, types=types, ids=ids, id_pattern=id_pattern, geoq=geoq,
            limit=1_000_000, offset=0,
        )  # fmt: skip
        placed = {e["id"] for e in current.entities}
    if q is not None or geoq is not None:
        allowed_ids = _matching_history(
            platform, tq, q, geoq, placed, ids=allowed_ids, types=types, id_pattern=id_pattern,
            threads=threads,
        )  # fmt: skip
    if tq.aggregation is not None:
        return _query_aggregated(
            platform, tq, tq.aggregation, ids=allowed_ids, types=types, id_pattern=id_pattern,
            page=(offset, limit), count=count, ctx=ctx, threads=threads,
        )  # fmt: skip
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = filters(conn, platform, tq, ids=allowed_ids, types=types, id_pattern=id_pattern)
        listing = conn.execute(
            f"SELECT DISTINCT o.entity_id FROM {VIEW} o WHERE {sql.text()} ORDER BY 1",
            sql.params,
        ).fetchall()
    all_ids = [r[0] for r in listing]
    page = all_ids[offset : offset + limit]
    if not page:
        return TemporalPage([], len(all_ids) if count else None)
    answered, truncated = answer(
        platform, tq, ids=page, types=types, ctx=ctx, threads=threads, cap=max_instances
    )
    return TemporalPage(
        [answered[i] for i in page if i in answered], len(all_ids) if count else None, truncated
    )


def _matching_history(
    platform: Platform,
    tq: TemporalQuery,
    q: Query | None,
    geoq: GeoQuery | None,
    placed: set[str],
    *,
    ids: Sequence[str] | None,
    types: Sequence[str],
    id_pattern: str | None,
    threads: int | None,
) -> list[str]:
    """Entities whose state at one of their instants in the window (each attribute at its
    latest instance then) satisfies `q` and `geoq`; `placed` satisfy `geoq` by their current
    state already."""
    names = set(attribute_names(q)) if q is not None else set()
    if geoq is not None:
        names.add(geoq.geoproperty)
    read = replace(tq, attrs=tuple(sorted(names)), last_n=None, aggregation=None)
    with observations.recent_and_lake(platform, threads=threads) as conn:
        sql = filters(conn, platform, read, ids=ids, types=types, id_pattern=id_pattern)
        rows = conn.execute(
            f"SELECT o.entity_id, o.attribute, o.value, o.text FROM {VIEW} o "
            f"WHERE {sql.text()} ORDER BY o.entity_id, o.time",
            sql.params,
        ).fetchall()
    found: set[str] = set(placed) if q is None else set()
    vocabs = _vocabularies(platform, rows, q)
    state: dict[str, Any] = {}
    for entity_id, attribute, value, text in rows:
        if state.get("id") != entity_id:
            state = {"id": entity_id}
        if entity_id in found:
            continue
        decoded = decode(value, text, "Property")
        state[attribute] = (
            {"type": "VocabProperty", "vocab": decoded}
            if (entity_id, attribute) in vocabs
            else {"type": "Property", "value": decoded}
        )
        if (q is None or matches(state, q)) and (
            geoq is None or entity_id in placed or geo_matches(state, geoq)
        ):
            found.add(entity_id)
    return sorted(found)


def _vocabularies(
    platform: Platform, rows: Sequence[Any], q: Query | None
) -> set[tuple[str, str]]:
    """(entity, attribute) of the rows whose attribute is a VocabProperty now, among those q
    compares with text: a vocab is compared by its IRI (`ngsi_query`), and the history keeps
    the stored term only. Entities are read only when q compares text at all."""
    names = _text_attributes(q) if q is not None else frozenset()
    wanted = sorted({r[0] for r in rows if r[1] in names})
    if not wanted:
        return set()
    return {
        (entity_id, name)
        for entity_id, doc in entities.get_many(platform, wanted).items()
        for name in names
        if any(
            i.get("type") == "VocabProperty" for i in core_entities.instances(doc.get(name))
        )
    }


def _text_attributes(q: Query) -> frozenset[str]:
    """The attributes a query compares with a string or a regular expression."""
    if isinstance(q, And | Or):
        return frozenset().union(*(_text_attributes(t) for t in q.terms))
    if not isinstance(q, Comparison):
        return frozenset()
    value = q.value
    items = value if isinstance(value, tuple) else (value,)
    items = tuple(x for v in items for x in ((v.low, v.high) if isinstance(v, Range) else (v,)))
    if any(isinstance(v, str | UserPattern) for v in items):
        return frozenset({q.path.attribute})
    return frozenset()


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
        sql = filters(conn, platform, tq, ids=ids, types=types, id_pattern=id_pattern)
        rows, total = aggregate_rows(conn, sql, tq, aggregation, page=page)
    order = list(dict.fromkeys(r[0] for r in rows))
    current = entities.get_many(platform, order) if order else {}
    built = build_aggregated(rows, tq, aggregation, current, ctx)
    return TemporalPage([built[i] for i in order], total if count else None)
