"""What the ETSI suite caught on `/entityOperations/…` (BatchEntities and the POST query of
Consumption/Entity), one test per fix; see test_suite_regressions.py for the others."""

from __future__ import annotations

import json
from typing import Any

from tests.http.ngsi_ld.conftest import Api
from tests.http.ngsi_ld.test_suite_regressions import BASE, LD, create

CORE_19 = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"


def batch(api: Api, operation: str, body: Any, **params: str) -> Any:
    return api.client.post(
        f"{BASE}/entityOperations/{operation}", json=body, params=params, headers=api.province
    )


def test_a_selector_type_is_a_type_expression_and_join_comes_from_the_query(
    sqlite_api: Api,
) -> None:
    """QueryEntities 019_02_02/05, 019_24: `entities[].type` may be `A,B`; `join`,
    `joinLevel` and `geometryProperty` are members of the Query."""
    city = {"id": "urn:ngsi-ld:City:q1", "type": "City", "name": {"type": "Property", "value": "C"}}
    car = {
        "id": "urn:ngsi-ld:Car:q1",
        "type": "Car",
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
        "parkedIn": {"type": "Relationship", "object": city["id"]},
    }
    for entity in (city, car, {"id": "urn:ngsi-ld:Boat:q1", "type": "Boat"}):
        assert create(sqlite_api, entity).status_code == 201
    query = {"type": "Query", "entities": [{"type": "Car,City"}]}
    found = batch(sqlite_api, "query", query)
    assert sorted(e["id"] for e in found.json()) == [car["id"], city["id"]]
    joined = batch(
        sqlite_api,
        "query",
        {"type": "Query", "entities": [{"type": "Car"}], "join": "inline", "joinLevel": 1},
    ).json()
    assert joined[0]["parkedIn"]["entity"]["name"]["value"] == "C"
    geo = sqlite_api.client.post(
        f"{BASE}/entityOperations/query",
        json={"type": "Query", "entities": [{"type": "Car"}], "geometryProperty": "location"},
        headers={**sqlite_api.province, "Accept": "application/geo+json"},
    )
    assert geo.json()["features"][0]["geometry"] == {"type": "Point", "coordinates": [1, 2]}


def test_batch_update_adds_types_and_reports_what_no_overwrite_kept(sqlite_api: Api) -> None:
    """UpdateBatchOfEntities 005_05 (types are added as in Append) and 005_02_03 (with
    noOverwrite, an entity with kept attributes is in the errors: 207, its new ones written)."""
    eid = "urn:ngsi-ld:Building:b1"
    entity = {"id": eid, "type": "Building", "name": {"type": "Property", "value": "old"}}
    assert create(sqlite_api, entity).status_code == 201
    update = [{"id": eid, "type": "Vehicle", "speed": {"type": "Property", "value": 3}}]
    assert batch(sqlite_api, "update", update).status_code == 204
    got = sqlite_api.client.get(f"{BASE}/entities/{eid}").json()
    assert got["type"] == ["Building", "Vehicle"] and got["speed"]["value"] == 3
    update = [
        {
            "id": eid,
            "type": "Building",
            "name": {"type": "Property", "value": "new"},
            "floors": {"type": "Property", "value": 4},
        }
    ]
    r = batch(sqlite_api, "update", update, options="noOverwrite")
    assert r.status_code == 207 and r.json()["errors"][0]["entityId"] == eid
    got = sqlite_api.client.get(f"{BASE}/entities/{eid}").json()
    assert got["name"]["value"] == "old" and got["floors"]["value"] == 4


def test_the_1_9_core_context_is_known_without_fetching(sqlite_api: Api) -> None:
    """UpsertBatchOfEntities 004_06_02 / UpdateBatchOfEntities 005_04_02: an entity naming the
    1.9 core context is judged on its content (here a null value: BadRequestData), not refused
    for a context that cannot be fetched."""
    body = [
        {
            "id": "urn:ngsi-ld:Building:n1",
            "type": "Building",
            "name": {"type": "Property", "value": None},
            "@context": [CORE_19],
        }
    ]
    r = sqlite_api.client.post(
        f"{BASE}/entityOperations/upsert",
        content=json.dumps(body),
        headers={**sqlite_api.province, "Content-Type": LD},
    )
    assert r.status_code == 207
    assert r.json()["errors"][0]["error"]["type"].endswith("BadRequestData")
