"""Reading NGSI-LD entities: one, many by id, a query (types, ids, idPattern, attrs, q,
geo-query, scopes, area), and the types and attributes in use. Reading is public
(`READ_PUBLIC`). Callers import these through `hakama.services.entities`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hakama.core import deadline, ngsi_query, ngsi_selectors
from hakama.core import entities as core_entities
from hakama.core.errors import Invalid, NotFound
from hakama.core.ngsi_query import GeoQuery, Query
from hakama.core.patterns import UserPattern, compile_user_pattern
from hakama.core.territory import contains
from hakama.services import entity_filters, territory
from hakama.services.entity_writes import check_id, chunked_select
from hakama.services.platform import Platform
from hakama.storage.schema_entities import entities


@dataclass(frozen=True)
class Selector:
    """One item of a query's `entities`: a type and optionally an id or an id pattern."""

    type: str | None = None
    id: str | None = None
    id_pattern: str | None = None
    #: a type expression (`A,B`, `A;B`, clause 4.17), when `type` is not a single name
    type_query: ngsi_selectors.TypeQuery = ()


@dataclass(frozen=True)
class QueryResult:
    """A page of entities (stored form) and, when asked, how many match in all."""

    entities: list[dict[str, Any]]
    count: int | None = None


@dataclass(frozen=True)
class TypeInfo:
    """An entity type, how many entities have it and which attributes they use (canonical)."""

    name: str
    count: int
    attributes: dict[str, set[str]]  # attribute → attribute types seen (Property, ...)


@dataclass(frozen=True)
class AttributeInfo:
    """An attribute name, how many entities carry it, its attribute types and entity types."""

    name: str
    count: int
    attribute_types: set[str]
    entity_types: set[str]


# --------------------------------------------------------------------------- reading


def get(
    platform: Platform,
    entity_id: str,
    *,
    attrs: Sequence[str] | None = None,
    types: Sequence[str] = (),
) -> dict[str, Any]:
    """One entity in stored form; NotFound if absent (or if none of `types` / `attrs` match)."""
    check_id(entity_id)
    with platform.db.connect() as conn:
        row = conn.execute(sa.select(entities.c.doc).where(entities.c.id == entity_id)).first()
    if row is None:
        raise NotFound(f"entity {entity_id!r} not found", id=entity_id)
    doc: dict[str, Any] = row.doc
    if types and not set(types) & set(core_entities.types_of(doc)):
        raise NotFound(f"entity {entity_id!r} has none of the types asked", id=entity_id)
    if attrs and not set(attrs) & set(doc):
        raise NotFound(f"entity {entity_id!r} has none of the attributes asked", id=entity_id)
    return doc


def get_many(platform: Platform, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The existing entities among `entity_ids`, by id (absent ids are left out)."""
    with platform.db.connect() as conn:
        return {
            row.id: row.doc
            for row in chunked_select(conn, list(entity_ids), entities.c.id, entities.c.doc)
        }


def query(
    platform: Platform,
    *,
    types: Sequence[str] = (),
    type_query: ngsi_selectors.TypeQuery = (),
    ids: Sequence[str] = (),
    id_pattern: str | None = None,
    attrs: Sequence[str] = (),
    q: Query | None = None,
    geoq: GeoQuery | None = None,
    selectors: Sequence[Selector] = (),
    area_code: str | None = None,
    scope_q: ngsi_selectors.ScopeQuery | None = None,
    limit: int = 20,
    offset: int = 0,
    count: bool = False,
) -> QueryResult:
    """Entities matching every given filter, ordered by id; `attrs` keeps entities having at
    least one of them (the caller projects). `selectors` (POST entityOperations/query) keep
    entities matching any of them. `area_code` keeps entities of that area or below."""
    if limit < 0 or offset < 0:
        raise Invalid("limit and offset must not be negative")
    pattern = _compile_pattern(id_pattern)
    for name in (
        *types,
        *ngsi_selectors.type_names(type_query),
        *(sel.type for sel in selectors if sel.type),
        *(n for sel in selectors for n in ngsi_selectors.type_names(sel.type_query)),
    ):
        core_entities.check_name(name, "type")
    for entity_id in (*ids, *(sel.id for sel in selectors if sel.id)):
        if not core_entities.is_uri(entity_id):
            raise Invalid(f"id: {entity_id[:80]!r} is not a URI")
    compiled = [(sel, _compile_pattern(sel.id_pattern)) for sel in selectors]
    if compiled and not types and all(sel.type or sel.type_query for sel in selectors):
        types = [
            *(sel.type for sel in selectors if sel.type),
            *sorted({n for sel in selectors for n in ngsi_selectors.type_names(sel.type_query)}),
        ]
    prefilter_types = [*types, *sorted(ngsi_selectors.type_names(type_query))]
    stmt = sa.select(entities.c.doc).order_by(entities.c.id)
    counter = sa.select(sa.func.count()).select_from(entities)
    conditions: list[sa.ColumnElement[bool]] = []
    if prefilter_types:
        conditions.append(
            sa.or_(entities.c.type.in_(prefilter_types), entities.c.extra_types.is_not(None))
        )
    if ids:
        conditions.append(entities.c.id.in_(list(ids)))
    if area_code is not None:
        conditions.append(entities.c.area_code.in_(_area_and_below(platform, area_code)))
    box = geoq.bbox() if geoq is not None else None
    in_box: list[str] | None = None  # the ids in the geo-query's box, when read from the cells
    narrowed = None if q is None else entity_filters.q_condition(q, platform.db.dialect)
    if narrowed is not None:
        conditions.append(narrowed)  # the exact test below still runs on what SQL keeps
    if geoq is not None and geoq.geoproperty == "location":
        if box is not None and entity_filters.uses_cells(box):
            # The ids in the box come from the index alone; the rows are then read by id in
            # order, a chunk at a time, until the page is full (not every row in the box).
            with platform.db.connect() as conn:
                in_box = [row[0] for row in conn.execute(entity_filters.ids_in_box(box)).all()]
        else:
            conditions.append(
                entities.c.min_lon.is_not(None)
                if box is None
                else entity_filters.box_condition(box)
            )
    if conditions:
        stmt = stmt.where(*conditions)
        counter = counter.where(*conditions)
    type_set = set(types)
    attr_set = set(attrs)
    python_filter = (
        bool(prefilter_types)
        or pattern is not None
        or bool(attrs)
        or q is not None
        or geoq is not None
        or bool(compiled)
        or scope_q is not None
    )

    def selected(doc: dict[str, Any]) -> bool:
        kinds = core_entities.types_of(doc)
        return any(
            (sel.type is None or sel.type in kinds)
            and (not sel.type_query or ngsi_selectors.types_match(kinds, sel.type_query))
            and (sel.id is None or sel.id == doc["id"])
            and (regex is None or regex.fullmatch(doc["id"]))
            for sel, regex in compiled
        )

    def keep(doc: dict[str, Any]) -> bool:
        if type_set and not type_set & set(core_entities.types_of(doc)):
            return False
        if type_query and not ngsi_selectors.types_match(core_entities.types_of(doc), type_query):
            return False
        if compiled and not selected(doc):
            return False
        if pattern is not None and not pattern.fullmatch(doc["id"]):
            return False
        if attr_set and not attr_set & set(doc):
            return False
        if q is not None and not ngsi_query.matches(doc, q):
            return False
        if scope_q is not None and not ngsi_selectors.scope_q_matches(doc, scope_q):
            return False
        return geoq is None or ngsi_query.geo_matches(doc, geoq)

    with platform.db.connect() as conn:
        if not python_filter:
            total = conn.execute(counter).scalar_one() if count else None
            rows = conn.execute(stmt.limit(limit).offset(offset)).scalars().all()
            return QueryResult([dict(r) for r in rows], total)
        page: list[dict[str, Any]] = []
        seen = 0
        for scanned, doc in enumerate(_docs(conn, stmt, in_box)):
            if scanned % 200 == 0:
                deadline.check()  # given up by the caller (HTTP time limit): stop scanning
            if not keep(doc):
                continue
            if offset <= seen < offset + limit:
                page.append(doc)
            seen += 1
            if not count and seen >= offset + limit:
                break
        return QueryResult(page, seen if count else None)


def _docs(conn: sa.Connection, stmt: sa.Select[Any], in_box: list[str] | None) -> Iterator[Any]:
    """The docs `stmt` selects, in its order (by id); only among `in_box` when given."""
    if in_box is None:
        yield from conn.execute(stmt.execution_options(yield_per=500)).scalars()
        return
    for start in range(0, len(in_box), _CHUNK):
        chunk = in_box[start : start + _CHUNK]
        yield from conn.execute(stmt.where(entities.c.id.in_(chunk))).scalars()


_CHUNK = 500


def _compile_pattern(id_pattern: str | None) -> UserPattern | None:
    return None if id_pattern is None else compile_user_pattern(id_pattern, what="idPattern")


def _area_and_below(platform: Platform, code: str) -> list[str]:
    areas = territory.areas_by_code(platform)
    if code not in areas:
        raise Invalid(f"area: no area with code {code[:64]!r}")
    return [c for c in areas if contains(areas, code, c)]


# --------------------------------------------------------------------------- types and attributes


def list_types(platform: Platform) -> list[TypeInfo]:
    """Every entity type in use with its count and attributes (GET /types)."""
    found: dict[str, TypeInfo] = {}
    for doc in _all_docs(platform):
        for kind in core_entities.types_of(doc):
            info = found.setdefault(kind, TypeInfo(kind, 0, {}))
            found[kind] = TypeInfo(kind, info.count + 1, info.attributes)
            for name, attribute in core_entities.attributes_of(doc).items():
                info.attributes.setdefault(name, set()).update(
                    i.get("type", "Property") for i in core_entities.instances(attribute)
                )
    return [found[k] for k in sorted(found)]


def list_attributes(platform: Platform) -> list[AttributeInfo]:
    """Every attribute in use (GET /attributes)."""
    found: dict[str, AttributeInfo] = {}
    for doc in _all_docs(platform):
        for name, attribute in core_entities.attributes_of(doc).items():
            info = found.setdefault(name, AttributeInfo(name, 0, set(), set()))
            found[name] = AttributeInfo(
                name, info.count + 1, info.attribute_types, info.entity_types
            )
            info.attribute_types.update(
                i.get("type", "Property") for i in core_entities.instances(attribute)
            )
            info.entity_types.update(core_entities.types_of(doc))
    return [found[k] for k in sorted(found)]


def _all_docs(platform: Platform) -> Iterator[dict[str, Any]]:
    with platform.db.connect() as conn:
        yield from conn.execute(
            sa.select(entities.c.doc).execution_options(yield_per=1000)
        ).scalars()
