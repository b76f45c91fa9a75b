"""The NGSI-LD temporal API, writing: new temporal entities and attribute instances.

`create` (POST /temporal/entities) and `append` (POST …/attrs) stage one observation per
instance (`observations.stage`) in one transaction and make sure the entity exists
(`entities.ensure`); the current entity is otherwise left as it is — the temporal API writes
history, not state. Access: `WRITE_DATA` in the entity's commune (the writer's area for a new
entity). One audit row per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import utcnow
from hakama.core.errors import Forbidden, Invalid, NotFound
from hakama.core.observations import Observation, observation_key
from hakama.core.temporal import TemporalQuery, instance_id
from hakama.services import audit, entities, observations
from hakama.services.platform import Platform
from hakama.services.temporal import answer
from hakama.services.temporal_sql import VIEW
from hakama.services.territory import area_chain
from hakama.storage.schema_entities import entities as entities_table
from hakama.storage.schema_temporal import temporal_tombstones


def area_of(platform: Platform, entity_id: str) -> tuple[bool, str | None]:
    """(exists, commune) of an entity in the entities table."""
    with platform.db.connect() as conn:
        row = conn.execute(
            sa.select(entities_table.c.area_code).where(entities_table.c.id == entity_id)
        ).first()
    return (row is not None, row.area_code if row is not None else None)


def check_write(platform: Platform, actor: Actor, area_code: str | None) -> None:
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
    revived = _revival(platform, entity_id, rows)
    with platform.db.begin() as conn:
        _revive(conn, entity_id, rows, revived, actor=actor)
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


@dataclass(frozen=True)
class _Revival:
    """What writing instances again changes in the tombstones that hide them: the cut-off
    tombstones they fall under go, replaced by one tombstone per instance they hid (the
    instances written again excepted), so only the instances written are seen again."""

    cut_ids: list[int]
    still_hidden: list[tuple[str, datetime, float | None, str | None, datetime]]


def _revival(platform: Platform, entity_id: str, rows: Sequence[Observation]) -> _Revival:
    t = temporal_tombstones
    with platform.db.connect() as conn:
        cuts = conn.execute(
            sa.select(t.c.id, t.c.attribute, t.c.cutoff, t.c.deleted_at).where(
                t.c.entity_id == entity_id, t.c.instance_id.is_(None)
            )
        ).all()
    hit = [
        c
        for c in cuts
        if any(r.time <= c.cutoff and c.attribute in (None, r.attribute) for r in rows)
    ]
    if not hit:
        return _Revival([], [])
    written = {r.key for r in rows}
    hidden: list[tuple[str, datetime, float | None, str | None, datetime]] = []
    with observations.recent_and_lake(platform) as lake:
        for cut in hit:
            sql = (
                f"SELECT attribute, time, value, text FROM {VIEW} WHERE entity_id = ? AND time <= ?"
            )
            params: list[Any] = [entity_id, cut.cutoff]
            if cut.attribute is not None:
                sql += " AND attribute = ?"
                params.append(cut.attribute)
            for attribute, time, value, text in lake.execute(sql, params).fetchall():
                if observation_key(entity_id, attribute, time, value, text) not in written:
                    hidden.append((attribute, time, value, text, cut.deleted_at))
    return _Revival([c.id for c in hit], hidden)


def _revive(
    conn: sa.Connection,
    entity_id: str,
    rows: Sequence[Observation],
    revival: _Revival,
    *,
    actor: Actor,
) -> None:
    """Apply `revival` and lift the one-instance tombstones of the instances written again."""
    t = temporal_tombstones
    ids = {instance_id(entity_id, r.attribute, r.time, r.value, r.text) for r in rows}
    conn.execute(t.delete().where(t.c.entity_id == entity_id, t.c.instance_id.in_(sorted(ids))))
    if not revival.cut_ids:
        return
    conn.execute(t.delete().where(t.c.id.in_(revival.cut_ids)))
    if revival.still_hidden:
        conn.execute(
            t.insert(),
            [
                {
                    "entity_id": entity_id,
                    "attribute": attribute,
                    "instance_id": instance_id(entity_id, attribute, time, value, text),
                    "observed_at": time,
                    "value": value,
                    "text": text,
                    "actor": actor.label,
                    "deleted_at": deleted_at,
                }
                for attribute, time, value, text, deleted_at in revival.still_hidden
            ],
        )


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
    exists, area = area_of(platform, entity_id)
    area = area if exists else actor.area_code
    check_write(platform, actor, area)
    had_history = exists and _has_history(platform, entity_id)
    created = entities.ensure(platform, entity_id, entity_type, actor=actor)
    if created:
        exists, area = area_of(platform, entity_id)
    _stage_instances(
        platform, entity_id, entity_type, attributes,
        actor=actor, area_code=area, action="ngsi.temporal.create",
    )  # fmt: skip
    return created or not had_history


def _has_history(platform: Platform, entity_id: str) -> bool:
    """Has the entity any visible attribute instance (tombstones applied)?"""
    answered = answer(platform, TemporalQuery(last_n=1), ids=[entity_id], ctx=jsonld.core())[0]
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
    exists, area = area_of(platform, entity_id)
    if not exists:
        raise NotFound(f"no entity {entity_id}", id=entity_id)
    check_write(platform, actor, area)
    current = entities.get(platform, entity_id)
    entity_type = core_entities.types_of(current)[0]
    attributes = _parse_instances(body, ctx)
    if not attributes:
        raise Invalid("no attribute instance given")
    return _stage_instances(
        platform, entity_id, entity_type, attributes,
        actor=actor, area_code=area, action="ngsi.temporal.append",
    )  # fmt: skip
