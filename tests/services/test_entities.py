"""The entities service on SQLite and PostgreSQL: writes placed, authorised, staged, audited."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import pytest
import sqlalchemy as sa

from hakama.core import entities as core_entities
from hakama.core import jsonld
from hakama.core.access import ANONYMOUS, Actor, Role, system_actor
from hakama.core.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from hakama.core.ngsi_query import parse_geoq, parse_q
from hakama.core.territory import Area
from hakama.demo.territory import demo_areas
from hakama.services import audit, events, territory
from hakama.services import entities as service
from hakama.services.events import EntityChanged
from hakama.services.platform import Platform

ADMIN = system_actor("test")
BERKANE = "02.113.01.09"
AHFIR = "02.113.01.01"
AGENT = Actor(kind="key", id="berkane-key", role=Role.AGENT, area_code=BERKANE)


@cache
def _areas() -> tuple[Area, ...]:
    return tuple(demo_areas())


def _inside(code: str) -> list[float]:
    area = next(a for a in _areas() if a.code == code)
    assert area.shape is not None
    point = area.shape.representative_point()
    return [round(point.x, 6), round(point.y, 6)]


@pytest.fixture
def live(platform: Platform) -> Iterator[Platform]:
    territory.save_areas(platform, list(_areas()), actor=ADMIN)
    yield platform


def sensor(n: int, where: str = BERKANE, **attrs: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:s{n}",
        "type": "AirQualityObserved",
        "pm25": {"type": "Property", "value": 10.0 * n, "unitCode": "GQ"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": _inside(where)},
        },
        **attrs,
    }


def staged(platform: Platform) -> list[Any]:
    with platform.db.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT entity_id, attribute, value, area_code, source FROM observation_staging ORDER BY seq"
            )
        ).all()


def audit_actions(platform: Platform) -> list[str]:
    with platform.db.connect() as conn:
        return [e.action for e in audit.entries(conn) if e.action.startswith("ngsi.")]


def test_create_places_stages_audits_and_publishes(live: Platform) -> None:
    seen: list[EntityChanged] = []
    events.listen(live, EntityChanged, lambda _p, e: seen.append(e))
    entity_id = service.create(live, sensor(1), actor=ADMIN)
    doc = service.get(live, entity_id)
    assert doc["pm25"]["value"] == 10.0 and doc["createdAt"] == doc["modifiedAt"]
    assert [tuple(r) for r in staged(live)] == [
        (entity_id, "pm25", 10.0, BERKANE, "http"),
        (entity_id, "location", None, BERKANE, "http"),
    ]
    assert audit_actions(live) == ["ngsi.entity.create"]
    assert len(seen) == 1 and seen[0].area_code == BERKANE and seen[0].before is None
    assert seen[0].after == doc and seen[0].attributes == {"pm25", "location"}


def test_duplicates_and_bad_bodies_write_nothing(live: Platform) -> None:
    service.create(live, sensor(1), actor=ADMIN)
    with pytest.raises(Conflict):
        service.create(live, sensor(1), actor=ADMIN)
    with pytest.raises(Invalid, match="must be a URI"):
        service.create(live, {"id": "x", "type": "T"}, actor=ADMIN)
    assert len(staged(live)) == 2
    assert audit_actions(live) == ["ngsi.entity.create"]


def test_a_commune_key_writes_only_its_commune(live: Platform) -> None:
    service.create(live, sensor(1, BERKANE), actor=AGENT)
    with pytest.raises(Forbidden):
        service.create(live, sensor(2, AHFIR), actor=AGENT)
    service.create(live, sensor(3, AHFIR), actor=ADMIN)
    with pytest.raises(Forbidden):
        service.update_attrs(live, "urn:ngsi-ld:AirQualityObserved:s3", {"pm25": 1}, actor=AGENT)
    with pytest.raises(Forbidden):  # moving its own entity into another commune
        service.append_attrs(
            live,
            "urn:ngsi-ld:AirQualityObserved:s1",
            {"location": {"type": "Point", "coordinates": _inside(AHFIR)}},
            actor=AGENT,
        )
    with pytest.raises(Unauthorized):
        service.create(live, sensor(4), actor=ANONYMOUS)
    # Without a location the entity belongs to the writer's commune.
    service.create(live, {"id": "urn:x:bare", "type": "T"}, actor=AGENT)
    result = service.query(live, area_code=BERKANE, limit=10)
    assert [e["id"] for e in result.entities] == ["urn:ngsi-ld:AirQualityObserved:s1", "urn:x:bare"]
    outcome = service.batch_upsert(live, [sensor(5, BERKANE), sensor(6, AHFIR)], actor=AGENT)
    assert outcome.success == ["urn:ngsi-ld:AirQualityObserved:s5"]
    assert [type(e.error) for e in outcome.errors] == [Forbidden]


def test_queries(live: Platform) -> None:
    for n in range(1, 7):
        service.create(live, sensor(n, BERKANE if n % 2 else AHFIR), actor=ADMIN)
    service.create(
        live,
        {"id": "urn:ngsi-ld:Device:1", "type": ["Device", "Sensor"], "battery": 0.5},
        actor=ADMIN,
    )
    ids = lambda r: [e["id"][-2:] for e in r.entities]  # noqa: E731
    assert ids(service.query(live, types=["AirQualityObserved"], limit=3, count=True)) == [
        "s1",
        "s2",
        "s3",
    ]
    assert service.query(live, types=["AirQualityObserved"], count=True).count == 6
    assert ids(service.query(live, types=["AirQualityObserved"], limit=2, offset=4)) == ["s5", "s6"]
    assert ids(service.query(live, q=parse_q("pm25>=30;pm25<60"), count=True)) == ["s3", "s4", "s5"]
    assert ids(service.query(live, id_pattern=".*s[12]$")) == ["s1", "s2"]
    assert ids(service.query(live, ids=["urn:ngsi-ld:AirQualityObserved:s4", "urn:x:none"])) == [
        "s4"
    ]
    assert ids(service.query(live, types=["Sensor"])) == [":1"]
    assert ids(service.query(live, attrs=["battery"])) == [":1"]
    near = parse_geoq("near;maxDistance==100", "Point", str(_inside(AHFIR)))
    result = service.query(live, geoq=near, count=True)
    assert ids(result) == ["s2", "s4", "s6"] and result.count == 3
    assert service.query(live, area_code=AHFIR, count=True).count == 3
    province = service.query(live, area_code="02.113", count=True)
    assert province.count == 6
    selectors = [
        service.Selector(type="Device"),
        service.Selector(id="urn:ngsi-ld:AirQualityObserved:s1"),
    ]
    assert ids(service.query(live, selectors=selectors)) == ["s1", ":1"]
    with pytest.raises(Invalid):
        service.query(live, id_pattern="(")


def test_attribute_operations(live: Platform) -> None:
    entity_id = service.create(live, sensor(1, noise={"value": 50, "accuracy": 0.5}), actor=ADMIN)
    created = service.get(live, entity_id)["createdAt"]
    result = service.update_attrs(live, entity_id, {"pm25": 12, "nope": 3}, actor=ADMIN)
    assert result.updated == ["pm25"] and result.not_updated == [
        ("nope", "attribute does not exist")
    ]
    assert service.append_attrs(
        live, entity_id, {"pm25": 99, "co2": 400}, actor=ADMIN, no_overwrite=True
    ).updated == ["co2"]
    service.patch_attr(live, entity_id, "noise", {"value": 51}, actor=ADMIN)
    doc = service.get(live, entity_id)
    assert doc["pm25"]["value"] == 12 and doc["co2"]["value"] == 400
    assert doc["noise"]["value"] == 51 and doc["noise"]["accuracy"]["value"] == 0.5
    with pytest.raises(NotFound):
        service.patch_attr(live, entity_id, "absent", {"value": 1}, actor=ADMIN)
    service.replace_attr(live, entity_id, "noise", {"value": 1}, actor=ADMIN)
    assert "accuracy" not in service.get(live, entity_id)["noise"]
    service.merge(live, entity_id, {"co2": "urn:ngsi-ld:null", "pm25": {"value": 13}}, actor=ADMIN)
    doc = service.get(live, entity_id)
    assert "co2" not in doc and doc["pm25"]["value"] == 13
    service.delete_attr(live, entity_id, "noise", actor=ADMIN)
    with pytest.raises(NotFound):
        service.delete_attr(live, entity_id, "noise", actor=ADMIN)
    service.replace(live, entity_id, {"type": "AirQualityObserved", "pm25": 1}, actor=ADMIN)
    doc = service.get(live, entity_id)
    assert (
        set(doc) == {"id", "type", "pm25", "createdAt", "modifiedAt"}
        and doc["createdAt"] == created
    )
    service.delete(live, entity_id, actor=ADMIN)
    with pytest.raises(NotFound):
        service.get(live, entity_id)
    with pytest.raises(NotFound):
        service.delete(live, entity_id, actor=ADMIN)
    values = [r.value for r in staged(live) if r.attribute == "pm25"]
    assert values == [10.0, 12.0, 13.0, 1.0]


def test_batch_operations_report_each_entity(live: Platform) -> None:
    created = service.batch_create(
        live, [sensor(1), sensor(2), sensor(1), {"id": "bad"}], actor=ADMIN
    )
    assert (
        created.success
        == created.created
        == ["urn:ngsi-ld:AirQualityObserved:s1", "urn:ngsi-ld:AirQualityObserved:s2"]
    )
    assert [(e.entity_id, type(e.error)) for e in created.errors] == [
        ("bad", Invalid),
        ("urn:ngsi-ld:AirQualityObserved:s1", Conflict),
    ]
    upsert = service.batch_upsert(live, [sensor(2, pm10=5), sensor(3)], actor=ADMIN, update=True)
    assert upsert.created == ["urn:ngsi-ld:AirQualityObserved:s3"] and not upsert.errors
    assert service.get(live, "urn:ngsi-ld:AirQualityObserved:s2")["pm10"]["value"] == 5
    replaced = service.batch_upsert(
        live,
        [{"id": "urn:ngsi-ld:AirQualityObserved:s2", "type": "AirQualityObserved", "pm25": 1}],
        actor=ADMIN,
    )
    assert set(service.get(live, "urn:ngsi-ld:AirQualityObserved:s2")) == {
        "id",
        "type",
        "pm25",
        "createdAt",
        "modifiedAt",
    }
    assert replaced.created == []
    update = service.batch_update(
        live,
        [{"id": "urn:ngsi-ld:AirQualityObserved:s1", "pm25": 7}, {"id": "urn:x:none", "a": 1}],
        actor=ADMIN,
    )
    assert update.success == ["urn:ngsi-ld:AirQualityObserved:s1"] and isinstance(
        update.errors[0].error, NotFound
    )
    deleted = service.batch_delete(
        live, ["urn:ngsi-ld:AirQualityObserved:s1", "urn:x:none", 5], actor=ADMIN
    )
    assert deleted.success == ["urn:ngsi-ld:AirQualityObserved:s1"] and len(deleted.errors) == 2
    assert audit_actions(live) == [
        "ngsi.batch.create",
        "ngsi.batch.upsert",
        "ngsi.batch.upsert",
        "ngsi.batch.update",
        "ngsi.batch.delete",
    ]


def test_a_batch_of_readings_is_one_transaction_and_one_audit_row(live: Platform) -> None:
    service.batch_upsert(live, [sensor(n) for n in range(50)], actor=ADMIN)
    readings = [
        {
            "id": f"urn:ngsi-ld:AirQualityObserved:s{n}",
            "type": "AirQualityObserved",
            "pm25": {"value": n, "observedAt": f"2026-03-01T10:{n:02d}:00Z"},
        }
        for n in range(50)
    ]
    result = service.batch_upsert(live, readings, actor=ADMIN, update=True, source="mqtt")
    assert len(result.success) == 50 and not result.created
    mqtt = [r for r in staged(live) if r.source == "mqtt"]
    assert len(mqtt) == 50 and all(r.area_code == BERKANE for r in mqtt)
    # A retry of the same readings does not count twice.
    service.batch_upsert(live, readings, actor=ADMIN, update=True, source="mqtt")
    assert len([r for r in staged(live) if r.source == "mqtt"]) == 50
    assert audit_actions(live).count("ngsi.batch.upsert") == 3


def test_ensure_and_types(live: Platform) -> None:
    assert service.ensure(live, "urn:x:1", "Thing", actor=ADMIN) is True
    assert service.ensure(live, "urn:x:1", "Thing", actor=ADMIN) is False
    service.create(live, sensor(1), actor=ADMIN)
    types = {t.name: t for t in service.list_types(live)}
    assert types["AirQualityObserved"].count == 1
    assert types["AirQualityObserved"].attributes == {
        "pm25": {"Property"},
        "location": {"GeoProperty"},
    }
    attributes = {a.name: a for a in service.list_attributes(live)}
    assert attributes["location"].attribute_types == {"GeoProperty"} and attributes[
        "pm25"
    ].entity_types == {"AirQualityObserved"}


def test_user_context_names_are_stored_canonical(live: Platform) -> None:
    ctx = jsonld.build({"pm": "https://sdm.org/pm25"})
    entity_id = service.create(
        live, {"id": "urn:x:1", "type": "T", "pm": 4}, actor=ADMIN, context=ctx
    )
    assert "https://sdm.org/pm25" in service.get(live, entity_id)
    assert [r.attribute for r in staged(live)] == ["https://sdm.org/pm25"]


def test_concurrent_writers_lose_nothing(live: Platform) -> None:
    """Writers racing on the same new and existing entities: no error, no lost update."""
    service.create(live, {"id": "urn:x:counter", "type": "Counter"}, actor=ADMIN)

    def write(worker: int) -> None:
        for round_ in range(5):
            service.batch_upsert(
                live,
                [{"id": f"urn:x:shared{round_}", "type": "T", f"w{worker}": round_}],
                actor=ADMIN,
                update=True,
            )
            service.append_attrs(live, "urn:x:counter", {f"w{worker}r{round_}": 1}, actor=ADMIN)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(write, w) for w in range(4)]:
            future.result()
    counter = service.get(live, "urn:x:counter")
    assert len(core_entities.attributes_of(counter)) == 20
    for round_ in range(5):
        shared = service.get(live, f"urn:x:shared{round_}")
        assert set(core_entities.attributes_of(shared)) == {"w0", "w1", "w2", "w3"}


def test_public_surface() -> None:
    """What the MQTT, temporal and subscription code relies on stays importable from here."""
    assert set(service.__all__) >= {
        "create", "get", "get_many", "query", "replace", "update_attrs", "append_attrs",
        "patch_attr", "replace_attr", "merge", "delete_attr", "delete", "ensure",
        "batch_create", "batch_upsert", "batch_update", "batch_merge", "batch_delete",
        "list_types", "list_attributes", "BatchResult", "BatchError", "QueryResult", "Selector",
    }  # fmt: skip
    for name in service.__all__:
        assert hasattr(service, name), name


def test_unchanged_descriptions_are_not_history_again(live: Platform) -> None:
    """Re-sending a whole entity stages its readings again, not its unchanged location."""
    service.batch_upsert(live, [sensor(1)], actor=ADMIN)
    service.batch_upsert(live, [sensor(1)], actor=ADMIN)
    moved = sensor(1)
    moved["location"]["value"]["coordinates"] = [
        c + 0.001 for c in moved["location"]["value"]["coordinates"]
    ]
    service.batch_upsert(live, [moved], actor=ADMIN)
    assert [r.attribute for r in staged(live)] == ["pm25", "location", "pm25", "pm25", "location"]
    # urn:ngsi-ld:null deletes in an attribute update too.
    service.update_attrs(
        live, "urn:ngsi-ld:AirQualityObserved:s1", {"pm25": "urn:ngsi-ld:null"}, actor=ADMIN
    )
    assert "pm25" not in service.get(live, "urn:ngsi-ld:AirQualityObserved:s1")


def test_events_name_dropped_attributes(live: Platform) -> None:
    seen: list[EntityChanged] = []
    events.listen(live, EntityChanged, lambda _p, e: seen.append(e))
    service.batch_upsert(live, [sensor(1, noise=3)], actor=ADMIN)
    service.batch_upsert(live, [sensor(1)], actor=ADMIN)
    assert "noise" in seen[-1].attributes and seen[-1].before is not None
    assert (
        "noise" in seen[-1].before and seen[-1].after is not None and "noise" not in seen[-1].after
    )
