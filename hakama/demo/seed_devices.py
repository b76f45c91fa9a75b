"""Demo seed step: the demo sensors (`demo.sensors.plan_sensors`) as provisioned devices and as
NGSI-LD entities carrying their latest values.

One API key per commune (`demo sensors <code>`, role agent, scope write_data) holds the
commune's devices, so the demo shows the real rule: a commune's key feeds only that commune.
Topics are `hakama/<key id>/<device id>/attrs`; the measure names are the attribute names.

Latest values come from the demo history already in the lake (the last reading of each series
in the last 14 days). Writing them through the entities service stages them as observations,
which would repeat the lake's last readings; the step removes those staged copies (same dedupe
key, source `demo`) before returning — so run the demo build while the server is stopped, or
the flusher may get to them first.

Idempotent: existing keys, devices and entities are kept; values are refreshed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hakama.core.access import Action, Actor, Role, system_actor
from hakama.core.errors import NotFound
from hakama.core.observations import observation_key
from hakama.demo.sensors import Sensor, plan_sensors
from hakama.services import devices, entities, keys, territory
from hakama.services.platform import Platform
from hakama.storage.lake import open_duckdb
from hakama.storage.schema_observations import observation_staging

DEMO = system_actor("demo")
KEY_NAME = "demo sensors {code}"
CHUNK = 500
RECENT_DAYS = 14


def _commune_keys(platform: Platform, codes: set[str]) -> dict[str, keys.ApiKey]:
    existing = {k.name: k for k in keys.list_keys(platform, actor=DEMO, include_revoked=False)}
    out: dict[str, keys.ApiKey] = {}
    for code in sorted(codes):
        name = KEY_NAME.format(code=code)
        key = existing.get(name)
        if key is None:
            key = keys.create_key(
                platform,
                name=name,
                role=Role.AGENT,
                area_code=code,
                scopes=[Action.WRITE_DATA],
                actor=DEMO,
            ).key
        out[code] = key
    return out


def latest_values(
    platform: Platform, entity_ids: set[str]
) -> dict[tuple[str, str], tuple[datetime, float, str | None]]:
    """(entity, attribute) → (time, value, unit) of the last demo reading in the lake."""
    lake = platform.lake
    days = lake.days("observations")[-RECENT_DAYS:]
    if not days or not entity_ids:
        return {}
    folder = lake.dataset_dir("observations")
    files = [
        str(p) for d in days for p in sorted((folder / f"day={d.isoformat()}").glob("*.parquet"))
    ]
    if not files:
        return {}
    db = open_duckdb(timezone="UTC")
    try:
        rows = db.execute(
            "SELECT entity_id, attribute, max(time), arg_max(value, time), arg_max(unit, time) "
            "FROM read_parquet(?, union_by_name=true) "
            "WHERE source = 'demo' AND value IS NOT NULL GROUP BY entity_id, attribute",
            [files],
        ).fetchall()
    finally:
        db.close()
    return {(e, a): (t.astimezone(UTC), float(v), u) for e, a, t, v, u in rows if e in entity_ids}


def _body(
    sensor: Sensor, values: dict[tuple[str, str], tuple[datetime, float, str | None]]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": sensor.id,
        "type": sensor.entity_type,
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [sensor.lon, sensor.lat]},
        },
    }
    for attr in sensor.attributes:
        found = values.get((sensor.id, attr.name))
        if found is None:
            continue
        at, value, unit = found
        body[attr.name] = {
            "type": "Property",
            "value": value,
            "unitCode": unit or attr.unit,
            "observedAt": at.isoformat().replace("+00:00", "Z"),
        }
    return body


def _device_id(sensor: Sensor) -> str:
    return sensor.id.rsplit(":", 1)[
        -1
    ]  # urn:ngsi-ld:Type:<commune>-<n> → <commune>-<n>, unique per type


def seed(platform: Platform, *, seed: int, scale: float) -> str:
    """Provision the demo sensors as devices and entities; a one-line summary."""
    sensors = plan_sensors(territory.list_areas(platform), seed=seed, scale=scale)
    if not sensors:
        return "no sensors planned (no communes with outlines)"
    commune_keys = _commune_keys(platform, {s.area_code for s in sensors})
    added = 0
    moved: list[Sensor] = []
    for sensor in sensors:
        device_id = f"{sensor.kind.value}-{_device_id(sensor)}"
        planned = {"type": "Point", "coordinates": [sensor.lon, sensor.lat]}
        try:
            found = devices.get_device(platform, device_id)
        except NotFound:
            found = None
        if found is not None:
            key_id = commune_keys[sensor.area_code].id
            if (found.location, found.area_code, found.api_key_id) != (
                planned,
                sensor.area_code,
                key_id,
            ):  # placed on earlier outlines: where the plan puts it now
                devices.update_device(
                    platform,
                    device_id,
                    actor=DEMO,
                    changes={
                        "location": planned,
                        "area_code": sensor.area_code,
                        "api_key_id": key_id,
                    },
                )
                moved.append(sensor)
            continue
        devices.create_device(
            platform,
            actor=DEMO,
            device_id=device_id,
            entity_type=sensor.entity_type,
            entity_id=sensor.id,
            api_key_id=commune_keys[sensor.area_code].id,
            attributes={a.name: {"name": a.name, "unit": a.unit} for a in sensor.attributes},
            area_code=sensor.area_code,
            location={"type": "Point", "coordinates": [sensor.lon, sensor.lat]},
            description=f"demo {sensor.kind.value} sensor",
        )
        added += 1
    values = latest_values(platform, {s.id for s in sensors})
    if moved:  # their entities may sit in another commune: move them as the demo, not a key
        entities.batch_upsert(
            platform, [_body(s, values) for s in moved], actor=DEMO, update=True, source="demo"
        )
    by_commune: dict[str, list[Sensor]] = {}
    for sensor in sensors:
        by_commune.setdefault(sensor.area_code, []).append(sensor)
    written = failed = 0
    for code, members in sorted(by_commune.items()):
        actor = _actor(commune_keys[code])
        for start in range(0, len(members), CHUNK):
            chunk = members[start : start + CHUNK]
            result = entities.batch_upsert(
                platform, [_body(s, values) for s in chunk], actor=actor, update=True, source="demo"
            )
            written += len(result.success)
            failed += len(result.errors)
    removed = _unstage_lake_copies(platform, values)
    return (
        f"{added} devices added, {len(moved)} moved ({len(sensors)} in all, {len(commune_keys)} commune keys), "
        f"{written} entities with {len(values)} latest values"
        + (f", {failed} entities refused" if failed else "")
        + f"; {removed} staged copies of lake readings removed"
    )


def _actor(key: keys.ApiKey) -> Actor:
    return Actor(kind="key", id=key.id, role=key.role, area_code=key.area_code, scopes=key.scopes)


def _unstage_lake_copies(
    platform: Platform, values: dict[tuple[str, str], tuple[datetime, float, str | None]]
) -> int:
    """Delete staged demo rows that repeat a reading already in the lake (not yet flushed)."""
    wanted = [observation_key(e, a, t, v, None) for (e, a), (t, v, _u) in values.items()]
    removed = 0
    with platform.db.begin() as conn:
        for start in range(0, len(wanted), 1000):
            removed += _delete(conn, wanted[start : start + 1000])
    return removed


def _delete(conn: sa.Connection, staged_keys: Sequence[str]) -> int:
    result = conn.execute(
        observation_staging.delete().where(
            observation_staging.c.key.in_(staged_keys),
            observation_staging.c.source == "demo",
            observation_staging.c.batch.is_(None),
        )
    )
    return int(result.rowcount or 0)
