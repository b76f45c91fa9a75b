"""The NGSI-LD temporal API, deleting: tombstones over the append-only lake.

The lake is append-only Parquet, so deletion never rewrites a file. It writes a **tombstone**
(`storage.schema_temporal`) that every temporal read applies (`services.temporal_sql.filters`):
deleting an entity's or an attribute's history hides every instance observed at or before the
deletion (readings observed later are history again); deleting one instance hides exactly that
instance; modifying one instance hides it and stages its replacement. An instance's id,
`urn:ngsi-ld:Instance:<µs since epoch>-<observation key>`, is derived from the entity,
attribute, instant and value (`core.temporal.instance_id`), so it is stable and needs no
column. Tombstones are honoured by this API; analysts reading the Parquet files directly see
the raw history (the tombstone table says what to leave out).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.access import Actor
from hakama.core.clock import format_instant, utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.core.temporal import TemporalQuery, instance_id, instance_time
from hakama.services import audit, entities, observations
from hakama.services.platform import Platform
from hakama.services.temporal import answer
from hakama.services.temporal_sql import VIEW, filters
from hakama.services.temporal_writes import area_of, check_write
from hakama.storage.schema_temporal import temporal_tombstones


def _history_exists(platform: Platform, entity_id: str, attribute: str | None) -> bool:
    tq = TemporalQuery(attrs=(attribute,) if attribute else (), last_n=1)
    return bool(answer(platform, tq, ids=[entity_id], ctx=jsonld.core())[0])


def _guard_delete(platform: Platform, entity_id: str, actor: Actor) -> str | None:
    exists, area = area_of(platform, entity_id)
    if not exists and not _history_exists(platform, entity_id, None):
        raise NotFound(f"no entity {entity_id} and no history of it", id=entity_id)
    if not exists:
        area = _history_area(platform, entity_id)
    check_write(platform, actor, area)
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
    at, _ = instance_time(instance)
    tq = TemporalQuery(attrs=(attribute,))
    with observations.recent_and_lake(platform) as conn:
        sql = filters(conn, platform, tq, ids=[entity_id], types=(), id_pattern=None)
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
    new.setdefault("observedAt", format_instant(time))
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
