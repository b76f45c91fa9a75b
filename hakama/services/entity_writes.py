"""The write path shared by the entity operations: load, plan, store, stage, audit, publish.

Internal to `hakama.services.entities` and `hakama.services.entity_batches`: one transaction
loads the entities concerned, a plan (pure apart from placing and authorising) decides the
changes, then the rows, their observations and one audit row are written together and the
`EntityChanged` events published after commit. See `hakama.services.entities` for the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from hakama.core import entities as core_entities
from hakama.core import entity_geometry, entity_merge, jsonld
from hakama.core.access import Action, Actor, allowed
from hakama.core.clock import read_instant, utcnow
from hakama.core.errors import Conflict, Forbidden, HakamaError, Invalid, NotFound, Unauthorized
from hakama.core.jsonld import Context
from hakama.services import audit, entity_filters, events, observations, territory
from hakama.services.events import EntityChanged
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema_entities import entities

Source = Literal["http", "mqtt", "demo", "import"]


@dataclass(frozen=True)
class BatchError:
    """One entity a batch operation could not handle, and the error (mapped to ProblemDetails)."""

    entity_id: str | None
    error: HakamaError


@dataclass(frozen=True)
class BatchResult:
    """Per-entity outcome of a batch operation (clause 5.2.16 BatchOperationResult)."""

    success: list[str] = field(default_factory=list)
    errors: list[BatchError] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # the part of `success` that is new


Mode = Literal["append", "append_no_overwrite", "update", "merge"]


@dataclass
class Change:
    """One entity written by a transaction: before/after in stored form and what to stage."""

    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    area_before: str | None
    area_after: str | None
    written: dict[str, Any]  # attributes whose instances become observations
    attributes: frozenset[str]


@dataclass
class Row:
    doc: dict[str, Any]
    area_code: str | None


Plan = Callable[[dict[str, Row]], tuple[list[Change], list[BatchError]]]


def context_or_core(context: Context | None) -> Context:
    return context or jsonld.core()


# --------------------------------------------------------------------------- the write path

MAX_BATCH = 10_000
CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's bind limits


def check_id(entity_id: str) -> None:
    if not core_entities.is_uri(entity_id):
        raise Invalid(f"{entity_id[:80]!r} is not a valid entity id (a URI)")


def existing(current: dict[str, Row], entity_id: str) -> Row:
    row = current.get(entity_id)
    if row is None:
        raise NotFound(f"entity {entity_id!r} not found", id=entity_id)
    return row


def authorise(platform: Platform, actor: Actor, area_code: str | None) -> None:
    if actor.kind == "anonymous":
        raise Unauthorized("writing entities needs an API key or a signed-in user")
    if not allowed(actor, Action.WRITE_DATA, territory.area_chain(platform, area_code)):
        where = area_code or "the territory as a whole"
        raise Forbidden(f"{actor.label} may not write entities in {where}", area_code=area_code)


def place_many(
    platform: Platform,
    actor: Actor,
    docs: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, str | None] | None = None,
) -> list[str | None]:
    """The commune of each entity from its location; when it has none or lies outside the
    territory, its entry in `defaults` (by entity id: e.g. the commune a device was provisioned
    in), else the writer's area."""
    points = [entity_geometry.representative_point(d) for d in docs]
    located = [(i, p) for i, p in enumerate(points) if p is not None]
    fallback = defaults or {}
    areas: list[str | None] = [fallback.get(str(d.get("id")), actor.area_code) for d in docs]
    if located:
        index = territory.leaf_index(platform)
        if len(index):
            codes = index.locate_many([p[0] for _, p in located], [p[1] for _, p in located])
            for (i, _), code in zip(located, codes, strict=True):
                if code:
                    areas[i] = str(code)
    return areas


def new(
    platform: Platform,
    actor: Actor,
    entity: Mapping[str, Any],
    old: Row | None,
    now: datetime,
    *,
    area: str | bool | None = False,
) -> Change:
    """A whole entity written (created, or replacing `old`), placed and authorised."""
    doc = entity_merge.stamp_new(entity, now, old.doc.get("createdAt") if old else None)
    placed = place_many(platform, actor, [doc])[0] if area is False else area
    assert placed is None or isinstance(placed, str)
    authorise(platform, actor, placed)
    if old is not None:
        authorise(platform, actor, old.area_code)
    written = core_entities.attributes_of(doc)
    changed = frozenset(written) | (
        frozenset(core_entities.attributes_of(old.doc)) if old else frozenset()
    )
    return Change(
        doc["id"],
        old.doc if old else None,
        doc,
        old.area_code if old else None,
        placed,
        written,
        changed,
    )


def changed(
    platform: Platform,
    actor: Actor,
    old: Row,
    doc: dict[str, Any],
    written: dict[str, Any],
    names: frozenset[str],
) -> Change:
    """An entity changed in place: re-placed (its location may have moved) and authorised."""
    area = place_many(platform, actor, [doc])[0] if "location" in names else old.area_code
    authorise(platform, actor, old.area_code)
    if area != old.area_code:
        authorise(platform, actor, area)
    return Change(doc["id"], old.doc, doc, old.area_code, area, written, names)


def removed(entity_id: str, old: Row) -> Change:
    """An entity deleted: every attribute it had counts as changed, so its watchers hear."""
    return Change(
        entity_id,
        old.doc,
        None,
        old.area_code,
        None,
        {},
        frozenset(core_entities.attributes_of(old.doc)),
    )


def transaction(
    platform: Platform,
    actor: Actor,
    ids: list[str],
    plan: Plan,
    *,
    action: str,
    source: Source,
    raise_errors: bool,
) -> tuple[list[Change], list[BatchError]]:
    """Load the entities `ids`, let `plan` decide the changes, write them with their
    observations and one audit row, commit, then publish the events.

    Two writers creating the same id at once: the loser's insert fails on the primary key and
    the whole transaction is retried once against what the winner committed.
    """
    if actor.kind == "anonymous":
        raise Unauthorized("writing entities needs an API key or a signed-in user")
    for attempt in range(2):
        try:
            with platform.db.begin() as conn:
                db.write_lock(conn, entities)
                current = load(conn, ids)
                changes, failed = plan(current)
                if changes:
                    store(conn, changes, current)
                    staged = [
                        obs
                        for c in changes
                        if c.after is not None and c.written
                        for obs in core_entities.observations(
                            c.entity_id,
                            core_entities.types_of(c.after)[0],
                            entity_merge.changed_attributes(c.before, c.written),
                            now=utcnow(),
                            area_code=c.area_after,
                            source=source,
                        )
                    ]
                    if staged:
                        observations.stage(conn, staged)
                    record_audit(conn, actor, action, changes)
            break
        except sa.exc.IntegrityError:
            if attempt == 1:
                raise Conflict("the entity was written concurrently; retry") from None
    if raise_errors and failed:
        raise failed[0].error
    at = utcnow()
    published = []
    for change in changes:
        after = change.after or change.before or {}
        published.append(
            EntityChanged(
                entity_id=change.entity_id,
                entity_type=core_entities.types_of(after)[0] if after else "",
                area_code=change.area_after if change.after is not None else change.area_before,
                before=change.before,
                after=change.after,
                attributes=change.attributes,
                at=at,
            )
        )
    events.publish_all(platform, published)  # a batch's notifications: one outbox transaction
    return changes, failed


def load(conn: sa.Connection, ids: list[str]) -> dict[str, Row]:
    columns = (entities.c.id, entities.c.doc, entities.c.area_code)
    return {
        row.id: Row(row.doc, row.area_code)
        for row in chunked_select(conn, ids, *columns, for_update=True)
    }


def chunked_select(
    conn: sa.Connection, ids: list[str], *columns: Any, for_update: bool = False
) -> Iterator[Any]:
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), CHUNK):
        stmt = sa.select(*columns).where(entities.c.id.in_(unique[start : start + CHUNK]))
        if for_update:
            stmt = db.locking(conn, stmt)
        yield from conn.execute(stmt)


#: The columns `store` writes besides the id, in the order it builds them.
STORED_COLUMNS = (
    "type", "extra_types", "area_code", "doc", "created_at", "modified_at",
    "min_lon", "min_lat", "max_lon", "max_lat", "geo_cell",
)  # fmt: skip


def store(conn: sa.Connection, changes: list[Change], current: dict[str, Row]) -> None:
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[Any, ...]] = []
    deletes: list[str] = []
    for change in changes:
        if change.after is None:
            deletes.append(change.entity_id)
            continue
        doc = change.after
        kinds = core_entities.types_of(doc)
        box = entity_geometry.geometry_bbox(doc)
        row = {
            "type": kinds[0],
            "extra_types": list(kinds[1:]) or None,
            "area_code": change.area_after,
            "doc": doc,
            "created_at": read_instant(doc["createdAt"], where="createdAt"),
            "modified_at": read_instant(doc["modifiedAt"], where="modifiedAt"),
            "min_lon": box[0] if box else None,
            "min_lat": box[1] if box else None,
            "max_lon": box[2] if box else None,
            "max_lat": box[3] if box else None,
            "geo_cell": entity_filters.cell_of(box),
        }
        if change.entity_id in current:
            updates.append((change.entity_id, *(row[c] for c in STORED_COLUMNS)))
        else:
            inserts.append({"id": change.entity_id, **row})
    if inserts:
        conn.execute(entities.insert(), inserts)
    if updates:
        db.update_many(conn, entities, "id", STORED_COLUMNS, updates)
    for start in range(0, len(deletes), CHUNK):
        conn.execute(entities.delete().where(entities.c.id.in_(deletes[start : start + CHUNK])))


def record_audit(conn: sa.Connection, actor: Actor, action: str, changes: list[Change]) -> None:
    """One audit row per request. A single-entity change keeps before/after; a batch keeps the
    ids (the first 1,000) and the count, not the readings (those are the lake's job)."""
    areas = {c.area_after if c.after is not None else c.area_before for c in changes}
    area = areas.pop() if len(areas) == 1 else None
    if len(changes) == 1 and not action.startswith("ngsi.batch"):
        change = changes[0]
        audit.record(
            conn,
            actor=actor,
            action=action,
            resource=f"entity:{change.entity_id}"[:300],
            area_code=area,
            before=audit_view(change.before),
            after=audit_view(change.after),
        )
        return
    ids = [c.entity_id for c in changes]
    audit.record(
        conn,
        actor=actor,
        action=action,
        resource=f"entities:{len(ids)}",
        area_code=area,
        after={"count": len(ids), "ids": ids[:1000]},
    )


def audit_view(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What the audit keeps of an entity: its id, types and attribute names, not every value."""
    if doc is None:
        return None
    return {
        "id": doc["id"],
        "type": doc["type"],
        "attributes": sorted(core_entities.attributes_of(doc)),
    }
