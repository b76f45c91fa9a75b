"""The demo's devices: provisioned from the sensor plan, entities with the lake's latest values,
no reading counted twice, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hakama.core.access import system_actor
from hakama.core.observations import Observation
from hakama.demo import seed_devices
from hakama.demo.sensors import plan_sensors
from hakama.demo.territory import demo_areas
from hakama.services import devices, entities, observations, territory
from hakama.services.platform import Platform
from hakama.storage.lake_schemas import observations_table

T = datetime(2026, 10, 31, 23, 45, tzinfo=UTC)


def test_seed_provisions_devices_and_latest_values_once(sqlite_platform: Platform) -> None:
    p = sqlite_platform
    territory.save_areas(p, demo_areas(), actor=system_actor("test"))
    sensors = plan_sensors(territory.list_areas(p), seed=7, scale=0.01)
    first = sensors[0]
    attr = first.attributes[0]
    history = [
        Observation(T - timedelta(minutes=15 * i), first.id, first.entity_type, attr.name, 10.0 + i,
                    None, attr.unit, first.area_code, "demo")
        for i in range(3)
    ]
    p.lake.append("observations", observations_table(history))

    summary = seed_devices.seed(p, seed=7, scale=0.01)
    assert f"{len(sensors)} devices added" in summary
    listed = devices.list_devices(p, actor=system_actor("test"), limit=10_000)
    assert len(listed) == len(sensors)
    device = next(d for d in listed if d.entity_id == first.id)
    assert device.area_code == first.area_code and device.api_key_id
    entity = entities.get(p, first.id)
    assert entity[attr.name]["value"] == 10.0  # the last reading, at T
    assert entity[attr.name]["observedAt"].startswith("2026-10-31T23:45")

    with observations.recent_and_lake(p) as db:
        count = db.execute(
            f"SELECT count(*) FROM {observations.VIEW} WHERE entity_id = ? AND attribute = ?",
            [first.id, attr.name],
        ).fetchone()
    assert count == (3,)  # the lake's three readings, the latest not repeated from staging

    again = seed_devices.seed(p, seed=7, scale=0.01)
    assert again.startswith("0 devices added")
    assert len(devices.list_devices(p, actor=system_actor("test"), limit=10_000)) == len(sensors)
