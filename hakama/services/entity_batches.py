"""NGSI-LD batch operations (clause 5.6.7-5.6.10, 5.6.20): many entities per request,
one transaction, one audit row, and a success or an error reported for each entity."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import entity_merge
from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Conflict, HakamaError, Invalid, NotFound, Unauthorized
from hakama.core.jsonld import Context
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
    context_or_core,
    new,
    place_many,
    removed,
    transaction,
)
from hakama.services.platform import Platform


def batch_create(
    platform: Platform,
    bodies: Sequence[Any],
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> BatchResult:
    """entityOperations/create: each entity created or reported (AlreadyExists, BadRequestData)."""
    parsed, errors = _parse_batch(bodies, _entity_parser(context))

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        now = utcnow()
        changes: list[Change] = []
        failed: list[BatchError] = []
        seen: set[str] = set()
        areas = place_many(platform, actor, [e for e in parsed])
        for entity, area in zip(parsed, areas, strict=True):
            entity_id = entity["id"]
            if entity_id in current or entity_id in seen:
                failed.append(
                    BatchError(entity_id, Conflict(f"entity {entity_id!r} already exists"))
                )
                continue
            try:
                changes.append(new(platform, actor, entity, None, now, area=area))
                seen.add(entity_id)
            except HakamaError as exc:
                failed.append(BatchError(entity_id, exc))
        return changes, failed

    return _batch(
        platform,
        actor,
        [e["id"] for e in parsed],
        plan,
        errors,
        action="ngsi.batch.create",
        source=source,
    )


def batch_upsert(
    platform: Platform,
    bodies: Sequence[Any],
    *,
    actor: Actor,
    context: Context | None = None,
    update: bool = False,
    source: Source = "http",
    areas: Mapping[str, str | None] | None = None,
) -> BatchResult:
    """entityOperations/upsert: create missing entities; replace existing ones, or with
    `update=True` (options=update) append the given attributes to them. One transaction, one
    audit row, observations staged for every attribute instance. The MQTT subscriber uses this
    with `update=True, source="mqtt"`, many messages per call. `areas` places entities without
    a location (entity id → commune, e.g. a device's); by default they take the writer's area."""
    parsed, errors = _parse_batch(bodies, _entity_parser(context))

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        now = utcnow()
        latest: dict[str, Row] = dict(current)
        changes: dict[str, Change] = {}
        failed: list[BatchError] = []
        targets: list[dict[str, Any]] = []
        for entity in parsed:
            old = latest.get(entity["id"])
            if old is not None and update:
                merged = entity_merge.apply_fragment(old.doc, entity, mode="append", now=now).entity
            else:
                merged = entity_merge.stamp_new(
                    entity, now, old.doc.get("createdAt") if old else None
                )
            targets.append(merged)
            latest[entity["id"]] = Row(merged, None)
        placed = place_many(platform, actor, targets, areas)
        for entity, merged, area in zip(parsed, targets, placed, strict=True):
            entity_id = entity["id"]
            base = current.get(entity_id)
            try:
                authorise(platform, actor, area)
                if base is not None:
                    authorise(platform, actor, base.area_code)
            except HakamaError as exc:
                failed.append(BatchError(entity_id, exc))
                continue
            written = core_entities.attributes_of(entity)
            before = (
                changes[entity_id].before if entity_id in changes else (base.doc if base else None)
            )
            earlier = changes[entity_id].written if entity_id in changes else {}
            changes[entity_id] = Change(
                entity_id,
                before,
                merged,
                base.area_code if base else None,
                area,
                {**earlier, **written},
                # What changed includes what a replacement dropped, so watchers of it hear.
                frozenset(written)
                | (
                    frozenset(core_entities.attributes_of(before)) - frozenset(merged)
                    if before
                    else frozenset()
                ),
            )
        return list(changes.values()), failed

    return _batch(
        platform,
        actor,
        [e["id"] for e in parsed],
        plan,
        errors,
        action="ngsi.batch.upsert",
        source=source,
    )


def batch_update(
    platform: Platform,
    bodies: Sequence[Any],
    *,
    actor: Actor,
    context: Context | None = None,
    no_overwrite: bool = False,
    source: Source = "http",
) -> BatchResult:
    """entityOperations/update: append attributes to existing entities (missing ones → errors)."""
    mode: Mode = "append_no_overwrite" if no_overwrite else "append"
    return _batch_fragments(
        platform, bodies, actor=actor, context=context, mode=mode, source=source
    )


def batch_merge(
    platform: Platform,
    bodies: Sequence[Any],
    *,
    actor: Actor,
    context: Context | None = None,
    source: Source = "http",
) -> BatchResult:
    """entityOperations/merge: merge-patch fragments into existing entities (clause 5.6.20)."""
    return _batch_fragments(
        platform, bodies, actor=actor, context=context, mode="merge", source=source
    )


def _batch_fragments(
    platform: Platform,
    bodies: Sequence[Any],
    *,
    actor: Actor,
    context: Context | None,
    mode: Mode,
    source: Source,
) -> BatchResult:
    ctx = context_or_core(context)

    def parse(body: Any) -> dict[str, Any]:
        fragment = core_entities.parse_fragment(body, ctx)
        if "id" not in fragment:
            raise Invalid("id: missing")
        return fragment

    parsed, errors = _parse_batch(bodies, parse)

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        now = utcnow()
        changes: dict[str, Change] = {}
        failed: list[BatchError] = []
        for fragment in parsed:
            entity_id = fragment["id"]
            base = current.get(entity_id)
            if base is None:
                failed.append(BatchError(entity_id, NotFound(f"entity {entity_id!r} not found")))
                continue
            old = (
                Row(changes[entity_id].after or base.doc, base.area_code)
                if entity_id in changes
                else base
            )
            # A fragment's types are added to the entity's, as in Append (clause 5.6.3).
            result = entity_merge.apply_fragment(old.doc, fragment, mode=mode, now=now)
            if result.not_updated:
                # What was not written is reported (207), what was is kept (clause 5.6.9).
                failed.append(
                    BatchError(
                        entity_id, Invalid("; ".join(f"{n}: {r}" for n, r in result.not_updated))
                    )
                )
            if not result.updated and result.entity.get("type") == old.doc.get("type"):
                continue
            try:
                written = {n: result.entity[n] for n in result.updated if n in result.entity}
                change = changed(
                    platform, actor, base, result.entity, written, frozenset(result.updated)
                )
            except HakamaError as exc:
                failed.append(BatchError(entity_id, exc))
                continue
            if entity_id in changes:
                change.before = changes[entity_id].before
                change.written = {**changes[entity_id].written, **written}
            changes[entity_id] = change
        return list(changes.values()), failed

    return _batch(
        platform,
        actor,
        [f["id"] for f in parsed],
        plan,
        errors,
        action="ngsi.batch.merge" if mode == "merge" else "ngsi.batch.update",
        source=source,
    )


def batch_delete(platform: Platform, entity_ids: Sequence[Any], *, actor: Actor) -> BatchResult:
    """entityOperations/delete: delete each entity or report it."""
    valid: list[str] = []
    errors: list[BatchError] = []
    for item in entity_ids:
        if core_entities.is_uri(item):
            valid.append(item)
        else:
            errors.append(
                BatchError(
                    item if isinstance(item, str) else None,
                    Invalid(f"not an entity id: {str(item)[:80]!r}"),
                )
            )

    def plan(current: dict[str, Row]) -> tuple[list[Change], list[BatchError]]:
        changes: list[Change] = []
        failed: list[BatchError] = []
        done: set[str] = set()
        for entity_id in valid:
            old = current.get(entity_id)
            if old is None or entity_id in done:
                failed.append(BatchError(entity_id, NotFound(f"entity {entity_id!r} not found")))
                continue
            try:
                authorise(platform, actor, old.area_code)
            except HakamaError as exc:
                failed.append(BatchError(entity_id, exc))
                continue
            done.add(entity_id)
            changes.append(removed(entity_id, old))
        return changes, failed

    return _batch(platform, actor, valid, plan, errors, action="ngsi.batch.delete", source="http")


def _parse_batch(
    bodies: Sequence[Any], parse: Callable[[Any], dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[BatchError]]:
    """Parse each body of a batch: the parsed ones, and an error for each that is not."""
    parsed: list[dict[str, Any]] = []
    errors: list[BatchError] = []
    for body in bodies:
        try:
            parsed.append(parse(body))
        except HakamaError as exc:
            errors.append(BatchError(_id_of(body), exc))
    return parsed, errors


def _entity_parser(context: Context | None) -> Callable[[Any], dict[str, Any]]:
    """Parse one whole entity of a batch in `context` (the core context if none)."""
    ctx = context_or_core(context)
    return lambda body: core_entities.parse_entity(body, ctx)


def _id_of(body: Any) -> str | None:
    value = body.get("id") if isinstance(body, Mapping) else None
    return value if isinstance(value, str) else None


def _batch(
    platform: Platform,
    actor: Actor,
    ids: list[str],
    plan: Plan,
    errors: list[BatchError],
    *,
    action: str,
    source: Source,
) -> BatchResult:
    if len(ids) + len(errors) > MAX_BATCH:
        raise Invalid(f"a batch operation takes at most {MAX_BATCH} entities")
    if not ids:
        return BatchResult([], errors)
    if actor.kind == "anonymous":
        raise Unauthorized("writing entities needs an API key or a signed-in user")
    changes, failed = transaction(
        platform, actor, ids, plan, action=action, source=source, raise_errors=False
    )
    created = [c.entity_id for c in changes if c.before is None and c.after is not None]
    return BatchResult([c.entity_id for c in changes], errors + failed, created)
