"""Device provisioning on SQLite and PostgreSQL: placement, key checks, audit, the subscriber's
look-up."""

from __future__ import annotations

import pytest

from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.demo.territory import demo_areas
from hakama.services import audit, devices, keys, territory
from hakama.services.platform import Platform

ADMIN = system_actor("test")
SIDI_BOUHRIA = "02.113.05.15"
POINT = {"type": "Point", "coordinates": [-2.3151, 34.7015]}  # in Sidi Bouhria
BERKANE_CITY = "02.113.01.09"


@pytest.fixture
def territory_platform(platform: Platform) -> Platform:
    territory.save_areas(platform, demo_areas(), actor=ADMIN)
    return platform


def key_of(platform: Platform, area: str | None) -> keys.ApiKey:
    return keys.create_key(
        platform, name=f"sensors {area}", role="agent", area_code=area, scopes=["write_data"], actor=ADMIN
    ).key


def test_a_device_is_placed_in_its_commune_and_audited(territory_platform: Platform) -> None:
    p = territory_platform
    key = key_of(p, SIDI_BOUHRIA)
    device = devices.create_device(
        p, actor=ADMIN, device_id="aq-01", entity_type="AirQualityObserved", api_key_id=key.id,
        attributes={"p": {"name": "pm25", "unit": "GQ"}, "n": "GQ"}, location=POINT,
    )
    assert device.area_code == SIDI_BOUHRIA
    assert device.entity_id == "urn:ngsi-ld:AirQualityObserved:aq-01"
    assert device.topic == f"hakama/{key.id}/aq-01/attrs"
    assert device.public()["attributes"] == {"n": {"name": "n", "unit": "GQ"}, "p": {"name": "pm25", "unit": "GQ"}}
    assert devices.get_device(p, "aq-01") == device
    with p.db.connect() as conn:
        actions = [e.action for e in audit.entries(conn)]
    assert actions[-1] == "device.create"
    bound = devices.binding(p, key.id, "aq-01")
    assert bound.actor.id == key.id and bound.device.device_id == "aq-01"


def test_a_key_of_one_commune_cannot_feed_another(territory_platform: Platform) -> None:
    p = territory_platform
    other = key_of(p, BERKANE_CITY)
    with pytest.raises(Forbidden, match="may not write data"):
        devices.create_device(
            p, actor=ADMIN, device_id="aq-02", entity_type="AirQualityObserved", api_key_id=other.id,
            location=POINT,
        )
    agent = Actor(kind="user", id="amina", role=Role.AGENT, area_code=BERKANE_CITY)
    with pytest.raises(Forbidden):
        devices.create_device(
            p, actor=agent, device_id="aq-03", entity_type="AirQualityObserved", api_key_id=None,
            location=POINT,
        )
    with pytest.raises(Unauthorized):
        devices.list_devices(p, actor=ANONYMOUS)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device_id": "a/b"}, "device_id"),
        ({"device_id": "#"}, "device_id"),
        ({"entity_type": "bad type"}, "entity_type"),
        ({"entity_id": "not-a-uri"}, "entity_id"),
        ({"attributes": {"p": {"unit": "µg"}}}, "UN/CEFACT"),
        ({"attributes": {"bad name": "GQ"}}, "measure name"),
        ({"attributes": ["p"]}, "object"),
        ({"location": {"type": "Point", "coordinates": [500, 1]}}, "outside"),
        ({"location": {"type": "Polygon", "coordinates": []}}, "Point"),
        ({"location": POINT, "area_code": BERKANE_CITY}, "lies in"),
        ({"api_key_id": "nope"}, "no API key"),
    ],
)
def test_bad_provisioning_is_refused(territory_platform: Platform, changes: dict, message: str) -> None:
    args = {"device_id": "aq-9", "entity_type": "AirQualityObserved", "api_key_id": None, **changes}
    with pytest.raises(Invalid, match=message):
        devices.create_device(territory_platform, actor=ADMIN, **args)
    with pytest.raises(NotFound):
        devices.get_device(territory_platform, "aq-9")


def test_update_delete_and_conflicts(territory_platform: Platform) -> None:
    p = territory_platform
    key = key_of(p, SIDI_BOUHRIA)
    devices.create_device(p, actor=ADMIN, device_id="w-1", entity_type="WaterConsumptionObserved",
                          api_key_id=key.id, location=POINT)
    with pytest.raises(Conflict):
        devices.create_device(p, actor=ADMIN, device_id="w-1", entity_type="X", api_key_id=None)
    with pytest.raises(Conflict, match="entity"):
        devices.create_device(p, actor=ADMIN, device_id="w-2", entity_type="X", api_key_id=None,
                              entity_id="urn:ngsi-ld:WaterConsumptionObserved:w-1")
    changed = devices.update_device(p, "w-1", actor=ADMIN, changes={"disabled": True, "description": "meter"})
    assert changed.disabled and changed.description == "meter"
    with pytest.raises(devices.Rejected) as rejected:
        devices.binding(p, key.id, "w-1")
    assert rejected.value.reason == "disabled"
    with pytest.raises(Invalid, match="cannot change"):
        devices.update_device(p, "w-1", actor=ADMIN, changes={"entity_id": "urn:x:y"})
    assert [d.device_id for d in devices.list_devices(p, actor=ADMIN)] == ["w-1"]
    devices.delete_device(p, "w-1", actor=ADMIN)
    with pytest.raises(NotFound):
        devices.get_device(p, "w-1")


def test_the_subscriber_look_up_rejects_with_reasons(territory_platform: Platform) -> None:
    p = territory_platform
    key = key_of(p, SIDI_BOUHRIA)
    devices.create_device(p, actor=ADMIN, device_id="s-1", entity_type="Streetlight",
                          api_key_id=key.id, location=POINT)
    for key_id, device_id, reason in [
        (key.id, "nobody", "unknown_device"),
        ("000000000000", "s-1", "wrong_key"),
    ]:
        with pytest.raises(devices.Rejected) as rejected:
            devices.binding(p, key_id, device_id)
        assert rejected.value.reason == reason
    keys.revoke_key(p, key_id=key.id, actor=ADMIN)
    devices.forget_bindings(p)
    with pytest.raises(devices.Rejected) as rejected:
        devices.binding(p, key.id, "s-1")
    assert rejected.value.reason == "revoked_key"
