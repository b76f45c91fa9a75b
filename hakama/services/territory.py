"""Territory use cases: import areas, list them, place points in communes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Actor
from hakama.core.clock import utcnow
from hakama.core.errors import Invalid, NotFound
from hakama.core.territory import Area, AreaIndex, Level, ancestors
from hakama.services import audit
from hakama.services.platform import Platform
from hakama.storage import schema


def _row_to_area(row: Any) -> Area:
    return Area(
        code=row.code,
        level=Level(row.level),
        names=dict(row.names or {}),
        parent_code=row.parent_code,
        population={int(k): int(v) for k, v in (row.population or {}).items()},
        geometry=row.geometry,
        attributes=dict(row.attributes or {}),
        attribution=row.attribution or "",
    )


def list_areas(
    platform: Platform, *, level: Level | None = None, parent: str | None = None
) -> list[Area]:
    """Every area (cached until the next import), optionally of one level or parent."""
    cached = platform.derived.areas
    if cached is None:
        with platform.db.connect() as conn:
            rows = conn.execute(sa.select(schema.areas).order_by(schema.areas.c.code)).all()
        cached = [_row_to_area(r) for r in rows]
        platform.derived.areas = cached
    out = cached
    if level is not None:
        out = [a for a in out if a.level == level]
    if parent is not None:
        out = [a for a in out if a.parent_code == parent]
    return out


def areas_by_code(platform: Platform) -> dict[str, Area]:
    """Every area by its code (cached with the list: access checks call this per row)."""
    cached = platform.derived.areas_by_code
    if cached is None:
        cached = {a.code: a for a in list_areas(platform)}
        platform.derived.areas_by_code = cached
    return cached


def get_area(platform: Platform, code: str) -> Area:
    area = areas_by_code(platform).get(code)
    if area is None:
        raise NotFound(f"no area with code {code!r}", code=code)
    return area


def area_chain(platform: Platform, code: str | None) -> tuple[str, ...]:
    """The area and its ancestors, leaf first: what `core.access.allowed` needs."""
    if code is None:
        return ()
    return tuple(ancestors(areas_by_code(platform), code))


def root_areas(platform: Platform) -> list[Area]:
    return [a for a in list_areas(platform) if a.parent_code is None]


def leaf_index(platform: Platform) -> AreaIndex:
    """An index over the deepest areas with outlines (the communes), built once."""
    index = platform.derived.leaf_index
    if index is None:
        areas = list_areas(platform)
        parents = {a.parent_code for a in areas if a.parent_code and a.geometry}
        index = AreaIndex(a for a in areas if a.geometry and a.code not in parents)
        platform.derived.leaf_index = index
    return index


def locate(platform: Platform, lon: float, lat: float) -> str | None:
    """The code of the commune holding (lon, lat), or None outside the territory."""
    return leaf_index(platform).locate(lon, lat)


def check_parents(platform: Platform, areas: Sequence[Area]) -> None:
    """Refuse areas whose parent is neither saved nor among them."""
    known = {a.code for a in list_areas(platform)} | {a.code for a in areas}
    for area in areas:
        if area.parent_code and area.parent_code not in known:
            raise Invalid(
                f"area {area.code}: parent {area.parent_code!r} is unknown", code=area.code
            )


def write_areas(conn: sa.Connection, areas: Sequence[Area], *, actor: Actor, now: datetime) -> int:
    """Insert or replace areas (parents before children) in the caller's transaction, audited.

    An area saved again keeps its code and everything that refers to it; its outline, names and
    figures are replaced.
    """
    ordered = sorted(areas, key=lambda a: a.level.depth)
    existing = {r.code for r in conn.execute(sa.select(schema.areas.c.code))}
    for area in ordered:
        values = {
            "parent_code": area.parent_code,
            "level": area.level.value,
            "names": dict(area.names),
            "population": {str(k): v for k, v in area.population.items()},
            "attributes": dict(area.attributes),
            "geometry": dict(area.geometry) if area.geometry else None,
            "attribution": area.attribution,
            "updated_at": now,
        }
        if area.code in existing:
            conn.execute(
                schema.areas.update().where(schema.areas.c.code == area.code).values(**values)
            )
        else:
            conn.execute(schema.areas.insert().values(code=area.code, **values))
    audit.record(
        conn,
        actor=actor,
        action="territory.import",
        resource=f"areas:{len(ordered)}",
        area_code=ordered[0].code if ordered else None,
        after={
            "codes": [a.code for a in ordered],
            "updated": sorted(a.code for a in ordered if a.code in existing),
        },
    )
    return len(ordered)


def save_areas(platform: Platform, areas: Sequence[Area], *, actor: Actor) -> int:
    """Insert or replace areas (parents before children) in one transaction, audited.

    This saves outlines only; `services.relocation.save_and_relocate` also re-places what lies
    on them (what an import over an existing territory uses).
    """
    check_parents(platform, areas)
    with platform.db.begin() as conn:
        saved = write_areas(conn, areas, actor=actor, now=utcnow())
    forget(platform)
    return saved


def summary(areas: Iterable[Area]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for area in areas:
        counts[area.level.value] = counts.get(area.level.value, 0) + 1
    return counts


def forget(platform: Platform) -> None:
    """Drop the cached areas and index (after the territory changed)."""
    derived = platform.derived
    derived.areas = derived.areas_by_code = derived.leaf_index = None
