"""Saving corrected outlines over an existing territory, and re-placing what hangs on them.

When a territory is imported again (outlines corrected, codes unchanged), the commune of every
located thing is computed again from its point: entities (from their `location`), devices, and
open requests. Closed and resolved requests keep the commune that handled them (the record of
who did the work). A moved open request gets a history line saying why, so it shows in its new
commune's queue with its story. Everything happens in one transaction with the outline update,
and one audit entry counts the moves from each commune to each other; a dry run computes the
same counts and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
import sqlalchemy as sa

from hakama.core import entity_geometry
from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.requests import EventKind, Status
from hakama.core.territory import Area, AreaIndex
from hakama.services import audit, events, request_events, request_store, territory
from hakama.services.devices import forget_bindings
from hakama.services.platform import Platform
from hakama.storage import db
from hakama.storage.schema import api_keys
from hakama.storage.schema_devices import devices
from hakama.storage.schema_entities import entities
from hakama.storage.schema_requests import service_requests

#: What is re-placed, in the order the counts are printed.
KINDS = ("entities", "devices", "requests")
OPEN_STATUSES = tuple(s.value for s in Status if s.is_active)


@dataclass(frozen=True)
class Move:
    kind: str  # one of KINDS
    id: str
    from_code: str | None
    to_code: str


@dataclass(frozen=True)
class Relocation:
    """What a (re-)import changes besides the outlines: each thing whose commune changes."""

    moves: list[Move] = field(default_factory=list)
    #: devices whose API key does not cover their new commune (the operator must re-key them)
    keys_to_review: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each kind moved."""
        found = Counter(m.kind for m in self.moves)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def flows(self) -> list[tuple[str, str | None, str, int]]:
        """(kind, from, to, how many), the largest flows first."""
        found = Counter((m.kind, m.from_code, m.to_code) for m in self.moves)
        return sorted(
            ((k, f, t, n) for (k, f, t), n in found.items()),
            key=lambda row: (KINDS.index(row[0]), -row[3], row[1] or "", row[2]),
        )

    def summary(self) -> dict[str, object]:
        """The audit entry's account: counts per kind and per (from → to)."""
        return {
            "counts": self.counts(),
            "flows": [{"kind": k, "from": f, "to": t, "count": n} for k, f, t, n in self.flows()],
            "keys_to_review": self.keys_to_review,
        }


@dataclass(frozen=True)
class SaveReport:
    saved: int
    relocation: Relocation
    dry_run: bool


def leaf_index_after(platform: Platform, areas: Sequence[Area]) -> AreaIndex:
    """The commune index the territory will have once `areas` are saved over the current ones."""
    merged = {a.code: a for a in territory.list_areas(platform)}
    merged.update({a.code: a for a in areas})
    parents = {a.parent_code for a in merged.values() if a.parent_code and a.geometry}
    return AreaIndex(a for a in merged.values() if a.geometry and a.code not in parents)


def _located(
    index: AreaIndex, rows: list[tuple[str, str | None, float, float]], kind: str
) -> list[Move]:
    if not rows or not len(index):
        return []
    codes = index.locate_many(
        np.array([r[2] for r in rows], dtype=float), np.array([r[3] for r in rows], dtype=float)
    )
    # Outside every commune now: keep the commune it has (never a silent move to nowhere).
    return [
        Move(kind, rid, old, str(new))
        for (rid, old, _, _), new in zip(rows, codes, strict=True)
        if new and new != old
    ]


def plan(conn: sa.Connection, index: AreaIndex) -> Relocation:
    """The moves that the outlines of `index` imply, read in the caller's transaction."""
    moves: list[Move] = []
    entity_rows = []
    query = sa.select(entities.c.id, entities.c.area_code, entities.c.doc).where(
        entities.c.min_lon.is_not(None)
    )
    for row in conn.execute(query):
        point = entity_geometry.representative_point(row.doc)
        if point is not None:
            entity_rows.append((row.id, row.area_code, point[0], point[1]))
    moves += _located(index, entity_rows, "entities")
    device_rows = []
    for row in conn.execute(
        sa.select(devices.c.device_id, devices.c.area_code, devices.c.location).where(
            devices.c.location.is_not(None)
        )
    ):
        coords = (row.location or {}).get("coordinates") or []
        if len(coords) >= 2:
            device_rows.append((row.device_id, row.area_code, float(coords[0]), float(coords[1])))
    moves += _located(index, device_rows, "devices")
    t = service_requests
    request_query = (
        sa.select(t.c.id, t.c.area_code, t.c.lon, t.c.lat)
        .where(t.c.status.in_(OPEN_STATUSES), t.c.lat.is_not(None), t.c.lon.is_not(None))
        .order_by(t.c.id)
    )
    request_query = db.locking(conn, request_query)
    request_rows = [
        (r.id, r.area_code, float(r.lon), float(r.lat)) for r in conn.execute(request_query)
    ]
    moves += _located(index, request_rows, "requests")
    return Relocation(moves, _keys_to_review(conn, [m for m in moves if m.kind == "devices"]))


def _keys_to_review(conn: sa.Connection, moved: list[Move]) -> list[str]:
    if not moved:
        return []
    by_id = {m.id: m.to_code for m in moved}
    rows = conn.execute(
        sa.select(devices.c.device_id, api_keys.c.area_code)
        .join(api_keys, api_keys.c.id == devices.c.api_key_id)
        .where(devices.c.device_id.in_(sorted(by_id)))
    )
    return sorted(r.device_id for r in rows if r.area_code and r.area_code != by_id[r.device_id])


def apply(conn: sa.Connection, relocation: Relocation, *, actor: Actor, now: datetime) -> None:
    """Write the moves (in the caller's transaction, after the outlines are saved)."""
    for move in relocation.moves:
        if move.kind == "entities":
            conn.execute(
                entities.update().where(entities.c.id == move.id).values(area_code=move.to_code)
            )
        elif move.kind == "devices":
            conn.execute(
                devices.update()
                .where(devices.c.device_id == move.id)
                .values(area_code=move.to_code, updated_at=now)
            )
        else:
            row = request_store.load(conn, move.id)
            before = request_store.row_to_request(row)
            conn.execute(
                service_requests.update()
                .where(service_requests.c.id == move.id)
                .values(area_code=move.to_code, updated_at=now)
            )
            moved = replace(before, area_code=move.to_code, updated_at=now)
            request_events.record(
                conn,
                moved,
                EventKind.RELOCATED,
                actor=actor,
                at=now,
                details={"from": move.from_code, "to": move.to_code, "why": "outlines"},
                before=request_events.audit_state(before) | {"area_code": move.from_code},
            )


def save_and_relocate(
    platform: Platform, areas: Sequence[Area], *, actor: Actor, dry_run: bool = False
) -> SaveReport:
    """Save `areas` over the territory and re-place entities, devices and open requests.

    With `dry_run`, nothing is written: the report says what would move.
    """
    territory.check_parents(platform, areas)
    index = leaf_index_after(platform, areas)
    if dry_run:
        with platform.db.connect() as conn:
            return SaveReport(len(areas), plan(conn, index), dry_run=True)
    now = utcnow()
    with platform.db.begin() as conn:
        db.write_lock(conn, service_requests)
        relocation = plan(conn, index)
        saved = territory.write_areas(conn, areas, actor=actor, now=now)
        apply(conn, relocation, actor=actor, now=now)
        if relocation.moves:
            audit.record(
                conn,
                actor=actor,
                action="territory.relocate",
                resource=f"moves:{len(relocation.moves)}",
                area_code=None,
                after=relocation.summary(),
            )
    # Device bindings hold the device's commune: moved devices are checked again.
    territory.forget(platform)
    forget_bindings(platform)
    for move in relocation.moves:
        if move.kind == "requests":
            events.publish(
                platform,
                events.RequestChanged(
                    request_id=move.id,
                    area_code=move.to_code,
                    event=EventKind.RELOCATED.value,
                    at=now,
                    details={"from": move.from_code, "to": move.to_code},
                ),
            )
    return SaveReport(saved, relocation, dry_run=False)
