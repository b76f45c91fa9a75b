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

Reading lives in `entity_reads`, the batch operations in `entity_batches` and the shared write
path (load, plan, store, stage, audit, publish) in `entity_writes`; they are re-exported here,
so callers import only this module.

Bodies are what the client sent (normalized or concise) with its `context` (core when None);
names passed separately (`attrs`, `q`, `geoq`) must already be canonical. Everything returned
is in stored form (canonical names); render with `core.entity_render.render`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import entity_merge, jsonld
from hakama.core.access import Actor
from hakama.core.clock import format_instant, utcnow
from hakama.core.errors import Conflict, Invalid, NotFound
from hakama.core.jsonld import Context
from hakama.services.entity_batches import (
    batch_create,
    batch_delete,
    batch_merge,
    batch_update,
    batch_upsert,
)
from hakama.services.entity_reads import (
    AttributeInfo,
    QueryResult,
    Selector,
    TypeInfo,
    get,
    get_many,
    list_attributes,
    list_types,
    query,
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
    context_or_core,
    existing,
    new,
    removed,
    transaction,
)
from hakama.services.platform import Platform

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
class UpdateResult:
    """Which attributes were changed, and which not with why (clause 5.2.18 UpdateResult)."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[tuple[str, str]] = field(default_factory=list)  # (attribute, reason)


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
    outcome: list[entity_merge.MergeResult] = []

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        old = existing(current, entity_id)
        for name in must_exist:
            if name not in old.doc:
                raise _no_attribute(entity_id, name)
        if check is not None:
            check(old.doc)
        merged = entity_merge.apply_fragment(old.doc, fragment, mode=mode, now=utcnow())
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
        doc["modifiedAt"] = format_instant(utcnow())
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
