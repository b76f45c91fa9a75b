"""NGSI-LD entity use cases: create, read, query, change, delete, batch operations, types.

Entities are stored in the table `entities` (see `hakama.storage.schema_entities`) in
normalized form with canonical names (`hakama.core.jsonld`). Every write:

(a) places the entity in its commune from `location` (an entity without a location, or
    outside the territory, belongs to the writer's area);
(b) checks `allowed(actor, WRITE_DATA, area_chain(commune))` for the old and the new commune;
(c) stages one observation per attribute instance written (`services.observations.stage`) in
    the same transaction, so a value is history as soon as it is acknowledged;
(d) publishes `EntityChanged` after commit;
(e) audits: creation, replacement and deletion of one entity are one audit row each; attribute
    updates and batch operations are ONE audit row per request (action `ngsi.batch.upsert`
    etc., with the entity count), never one row per reading — at 50k readings/s the
    hash-chained log would be the bottleneck.

Reading is public (`READ_PUBLIC`): the live data of the territory is open by design.

The batch operations live in `entity_batches` and the shared write path (load, plan, store,
stage, audit, publish) in `entity_writes`; both are re-exported here, so callers import only
this module.

Bodies are what the client sent (normalized or concise) with its `context` (core when None);
names passed separately (`attrs`, `q`, `geoq`) must already be canonical. Everything returned
is in stored form (canonical names); render with `core.entities.render`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hakama.core import entities as core_entities
from hakama.core import jsonld, ngsi_query
from hakama.core.access import Actor
from hakama.core.errors import Conflict, Invalid, NotFound
from hakama.core.jsonld import Context
from hakama.core.ngsi_query import GeoQuery, Query
from hakama.core.patterns import UserPattern, compile_user_pattern
from hakama.core.territory import contains
from hakama.services import territory
from hakama.services.entity_batches import (
    batch_create,
    batch_delete,
    batch_merge,
    batch_update,
    batch_upsert,
)
from hakama.services.entity_writes import (
    MAX_BATCH,
    BatchError,
    BatchResult,
    Change,
    Mode,
    Plan,
    Row,
    Source,
    authorise,
    changed,
    check_id,
    chunked_select,
    context_or_core,
    existing,
    new,
    removed,
    transaction,
)
from hakama.services.platform import Platform
from hakama.storage.schema_entities import entities
from hakama.storage.types import utcnow

__all__ = [
    "MAX_BATCH",
    "AttributeInfo",
    "BatchError",
    "BatchResult",
    "QueryResult",
    "Selector",
    "Source",
    "TypeInfo",
    "UpdateResult",
    "append_attrs",
    "batch_create",
    "batch_delete",
    "batch_merge",
    "batch_update",
    "batch_upsert",
    "create",
    "delete",
    "delete_attr",
    "ensure",
    "get",
    "get_many",
    "list_attributes",
    "list_types",
    "merge",
    "patch_attr",
    "query",
    "replace",
    "replace_attr",
    "update_attrs",
]


@dataclass(frozen=True)
class Selector:
    """One item of a query's `entities`: a type and optionally an id or an id pattern."""

    type: str | None = None
    id: str | None = None
    id_pattern: str | None = None


@dataclass(frozen=True)
class QueryResult:
    """A page of entities (stored form) and, when asked, how many match in all."""

    entities: list[dict[str, Any]]
    count: int | None = None


@dataclass(frozen=True)
class UpdateResult:
    """Which attributes were changed, and which not with why (clause 5.2.18 UpdateResult)."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)  # (attribute, reason)


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
    type_query: ngsi_query.TypeQuery = (),
    ids: Sequence[str] = (),
    id_pattern: str | None = None,
    attrs: Sequence[str] = (),
    q: Query | None = None,
    geoq: GeoQuery | None = None,
    selectors: Sequence[Selector] = (),
    area_code: str | None = None,
    scope_q: ngsi_query.ScopeQuery | None = None,
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
        *ngsi_query.type_names(type_query),
        *(sel.type for sel in selectors if sel.type),
    ):
        core_entities.check_name(name, "type")
    for entity_id in (*ids, *(sel.id for sel in selectors if sel.id)):
        if not core_entities.is_uri(entity_id):
            raise Invalid(f"id: {entity_id[:80]!r} is not a URI")
    compiled = [(sel, _compile_pattern(sel.id_pattern)) for sel in selectors]
    if compiled and not types and all(sel.type for sel in selectors):
        types = [sel.type for sel in selectors if sel.type]
    prefilter_types = [*types, *sorted(ngsi_query.type_names(type_query))]
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
    if geoq is not None and geoq.geoproperty == "location":
        conditions.append(entities.c.min_lon.is_not(None))
        if box is not None:
            conditions.extend(
                [
                    entities.c.min_lon <= box[2],
                    entities.c.max_lon >= box[0],
                    entities.c.min_lat <= box[3],
                    entities.c.max_lat >= box[1],
                ]
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
            and (sel.id is None or sel.id == doc["id"])
            and (regex is None or regex.fullmatch(doc["id"]))
            for sel, regex in compiled
        )

    def keep(doc: dict[str, Any]) -> bool:
        if type_set and not type_set & set(core_entities.types_of(doc)):
            return False
        if type_query and not ngsi_query.types_match(core_entities.types_of(doc), type_query):
            return False
        if compiled and not selected(doc):
            return False
        if pattern is not None and not pattern.fullmatch(doc["id"]):
            return False
        if attr_set and not attr_set & set(doc):
            return False
        if q is not None and not ngsi_query.matches(doc, q):
            return False
        if scope_q is not None and not ngsi_query.scope_q_matches(doc, scope_q):
            return False
        return geoq is None or ngsi_query.geo_matches(doc, geoq)

    with platform.db.connect() as conn:
        if not python_filter:
            total = conn.execute(counter).scalar_one() if count else None
            rows = conn.execute(stmt.limit(limit).offset(offset)).scalars().all()
            return QueryResult([dict(r) for r in rows], total)
        page: list[dict[str, Any]] = []
        seen = 0
        for doc in conn.execute(stmt.execution_options(yield_per=500)).scalars():
            if not keep(doc):
                continue
            if offset <= seen < offset + limit:
                page.append(doc)
            seen += 1
            if not count and seen >= offset + limit:
                break
        return QueryResult(page, seen if count else None)


def _compile_pattern(id_pattern: str | None) -> UserPattern | None:
    return None if id_pattern is None else compile_user_pattern(id_pattern, what="idPattern")


def _area_and_below(platform: Platform, code: str) -> list[str]:
    areas = territory.areas_by_code(platform)
    if code not in areas:
        raise Invalid(f"area: no area with code {code[:64]!r}")
    return [c for c in areas if contains(areas, code, c)]


# --------------------------------------------------------------------------- writing: one entity


def create(
    platform: Platform,
    body: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> str:
    """Create one entity; its id. Conflict if the id exists, Invalid on a bad body."""
    entity = core_entities.parse_entity(body, context_or_core(context))
    entity_id: str = entity["id"]

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        if entity_id in current:
            raise Conflict(f"entity {entity_id!r} already exists", id=entity_id)
        return [new(platform, actor, entity, None, utcnow())], []

    _write_one(platform, actor, entity_id, plan, action="ngsi.entity.create", source=source)
    return entity_id


def replace(
    platform: Platform,
    entity_id: str,
    body: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> None:
    """Replace a whole entity (PUT /entities/{id}); createdAt is kept."""
    check_id(entity_id)
    if isinstance(body, Mapping) and "id" not in body:
        body = {**body, "id": entity_id}
    if isinstance(body, Mapping) and "type" not in body:
        raise Invalid("type: missing")
    entity = core_entities.parse_entity(body, context_or_core(context))
    if entity["id"] != entity_id:
        raise Invalid(f"id: {entity['id']!r} differs from the entity addressed ({entity_id!r})")

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        old = existing(current, entity_id)
        return [new(platform, actor, entity, old, utcnow())], []

    _write_one(platform, actor, entity_id, plan, action="ngsi.entity.replace", source=source)


def update_attrs(
    platform: Platform,
    entity_id: str,
    fragment: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> UpdateResult:
    """Change existing attributes only (PATCH /entities/{id}/attrs)."""
    return _apply(
        platform, entity_id, fragment, actor=actor, context=context, mode="update", source=source
    )


def append_attrs(
    platform: Platform,
    entity_id: str,
    fragment: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    no_overwrite: bool = False,
    source: Source = "http",
) -> UpdateResult:
    """Add attributes, replacing those that exist unless `no_overwrite` (POST /entities/{id}/attrs)."""
    mode: Mode = "append_no_overwrite" if no_overwrite else "append"
    return _apply(
        platform, entity_id, fragment, actor=actor, context=context, mode=mode, source=source
    )


def merge(
    platform: Platform,
    entity_id: str,
    body: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> None:
    """Merge a fragment into an entity (PATCH /entities/{id}, merge-patch semantics)."""
    _apply(platform, entity_id, body, actor=actor, context=context, mode="merge", source=source)


def patch_attr(
    platform: Platform,
    entity_id: str,
    attr: str,
    fragment: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> None:
    """Partially update one attribute (PATCH /entities/{id}/attrs/{attr}); `attr` canonical."""
    _apply_attr(
        platform,
        entity_id,
        attr,
        fragment,
        actor=actor,
        context=context,
        mode="merge",
        source=source,
    )


def replace_attr(
    platform: Platform,
    entity_id: str,
    attr: str,
    value: Any,
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> None:
    """Replace one existing attribute (PUT /entities/{id}/attrs/{attr}); `attr` canonical."""
    _apply_attr(
        platform, entity_id, attr, value, actor=actor, context=context, mode="update", source=source
    )


def _apply_attr(
    platform: Platform,
    entity_id: str,
    attr: str,
    value: Any,
    *,
    actor: Actor,
    context: Context | None,
    mode: Mode,
    source: Source,
) -> None:
    """Write one existing attribute of an entity; NotFound if it has no such attribute."""
    check_id(entity_id)
    core_entities.check_name(attr, "attribute")
    if attr in core_entities.ENTITY_MEMBERS:
        raise Invalid(f"{attr!r} is not an attribute (write it with the entity)")
    if isinstance(value, Mapping) and ("id" in value or "@context" in value):
        value = {k: v for k, v in value.items() if k not in ("id", "@context")}
    if mode == "merge" and isinstance(value, Mapping) and not _ATTRIBUTE_KEYS & set(value):
        # Only members to change (e.g. a sub-attribute): they complete the instance there.
        value = {**_instance_core(get(platform, entity_id), attr, value.get("datasetId")), **value}
    parsed = core_entities.parse_attribute(attr, value, context_or_core(context))

    def check(doc: Mapping[str, Any]) -> None:
        """A partial update (clause 5.6.4) changes an instance that exists, keeping its type."""
        if mode != "merge":
            return
        have = {i.get("datasetId"): i for i in core_entities.instances(doc.get(attr))}
        for instance in core_entities.instances(parsed):
            dataset = instance.get("datasetId")
            if dataset not in have:
                raise NotFound(
                    f"attribute {attr!r} has no instance with datasetId {dataset!r}",
                    id=entity_id,
                    attribute=attr,
                )
            if not core_entities.is_null(instance) and have[dataset].get("type") != instance.get(
                "type"
            ):
                raise Invalid(
                    f"{attr}: a partial update cannot change a {have[dataset].get('type')} "
                    f"into a {instance.get('type')}"
                )

    result = _apply_parsed(
        platform,
        entity_id,
        {attr: parsed},
        actor=actor,
        mode=mode,
        source=source,
        must_exist=(attr,),
        check=check,
    )
    if not result.updated:
        raise _no_attribute(entity_id, attr)


_ATTRIBUTE_KEYS = frozenset({"type", *core_entities.VALUE_MEMBER.values()})


def _instance_core(doc: Mapping[str, Any], attr: str, dataset_id: Any) -> dict[str, Any]:
    """The type and value of one instance of an attribute (empty when there is none)."""
    for instance in core_entities.instances(doc.get(attr)):
        if instance.get("datasetId") == dataset_id:
            kind = instance.get("type", "Property")
            member = core_entities.VALUE_MEMBER.get(kind, "value")
            return {"type": kind, member: instance.get(member)}
    return {}


def _apply(
    platform: Platform,
    entity_id: str,
    fragment: Any,
    *,
    actor: Actor,
    context: Context | None,
    mode: Mode,
    source: Source,
) -> UpdateResult:
    check_id(entity_id)
    parsed = core_entities.parse_fragment(fragment, context_or_core(context), entity_id=entity_id)
    parsed.pop("id", None)
    if not core_entities.attributes_of(parsed) and "type" not in parsed and "scope" not in parsed:
        raise Invalid("no attributes given")
    return _apply_parsed(platform, entity_id, parsed, actor=actor, mode=mode, source=source)


def _apply_parsed(
    platform: Platform,
    entity_id: str,
    fragment: dict[str, Any],
    *,
    actor: Actor,
    mode: Mode,
    source: Source,
    must_exist: Sequence[str] = (),
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> UpdateResult:
    outcome: list[core_entities.MergeResult] = []

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        old = existing(current, entity_id)
        for name in must_exist:
            if name not in old.doc:
                raise _no_attribute(entity_id, name)
        if check is not None:
            check(old.doc)
        merged = core_entities.apply_fragment(old.doc, fragment, mode=mode, now=utcnow())
        outcome.append(merged)
        if not merged.updated and merged.entity.get("type") == old.doc.get("type"):
            return [], []
        written = {
            n: merged.entity[n]
            for n in merged.updated
            if n in merged.entity and n not in core_entities.ENTITY_MEMBERS
        }
        return [
            changed(platform, actor, old, merged.entity, written, frozenset(merged.updated))
        ], []

    _write_one(platform, actor, entity_id, plan, action=f"ngsi.attrs.{mode}", source=source)
    merged = outcome[-1]
    return UpdateResult(list(merged.updated), list(merged.not_updated))


def delete_attr(
    platform: Platform,
    entity_id: str,
    attr: str,
    *,
    actor: Actor,
    dataset_id: str | None = None,
    delete_all: bool = False,
) -> None:
    """Delete one attribute (or one datasetId instance of it, or all instances)."""
    check_id(entity_id)

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        old = existing(current, entity_id)
        if attr not in old.doc or (attr in core_entities.ENTITY_MEMBERS and attr != "scope"):
            raise _no_attribute(entity_id, attr)
        doc = dict(old.doc)
        if delete_all or attr == "scope":
            del doc[attr]
        else:
            kept = [
                i for i in core_entities.instances(doc[attr]) if i.get("datasetId") != dataset_id
            ]
            if len(kept) == len(core_entities.instances(doc[attr])):
                raise NotFound(
                    f"attribute {attr!r} has no instance with datasetId {dataset_id!r}",
                    id=entity_id,
                )
            if kept:
                doc[attr] = kept[0] if len(kept) == 1 else kept
            else:
                del doc[attr]
        doc["modifiedAt"] = core_entities.format_time(utcnow())
        return [changed(platform, actor, old, doc, {}, frozenset({attr}))], []

    _write_one(platform, actor, entity_id, plan, action="ngsi.attrs.delete", source="http")


def delete(platform: Platform, entity_id: str, *, actor: Actor) -> None:
    """Delete an entity; NotFound if absent."""
    check_id(entity_id)

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        old = existing(current, entity_id)
        authorise(platform, actor, old.area_code)
        return [removed(entity_id, old)], []

    _write_one(platform, actor, entity_id, plan, action="ngsi.entity.delete", source="http")


def ensure(
    platform: Platform, entity_id: str, entity_type: str, *, actor: Actor, source: Source = "http"
) -> bool:
    """Make sure an entity exists (creating a bare one if not); True when it was created.
    For the temporal API, which adds instances to entities that may not exist yet."""
    entity = core_entities.parse_entity({"id": entity_id, "type": entity_type}, jsonld.core())
    created: list[bool] = []

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        if entity_id in current:
            created.append(False)
            return [], []
        created.append(True)
        return [new(platform, actor, entity, None, utcnow())], []

    _write_one(platform, actor, entity_id, plan, action="ngsi.entity.create", source=source)
    return created[-1]


def _write_one(
    platform: Platform, actor: Actor, entity_id: str, plan: Plan, *, action: str, source: Source
) -> None:
    """Run `plan` on one entity in its own transaction; its error is raised, not reported."""
    transaction(platform, actor, [entity_id], plan, action=action, source=source, raise_errors=True)


def _no_attribute(entity_id: str, attr: str) -> NotFound:
    """The error for an attribute the entity does not have."""
    return NotFound(
        f"attribute {attr!r} of entity {entity_id!r} not found", id=entity_id, attribute=attr
    )


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
