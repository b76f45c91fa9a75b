"""The NGSI-LD entity API end to end, on SQLite and PostgreSQL, with real API keys."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hakama.core.jsonld import DEFAULT_CORE_URL
from tests.http.ngsi_ld.conftest import AHFIR, BERKANE, Api, ContextServer, inside

BASE = "/ngsi-ld/v1"
CORE_LINK = (
    f'<{DEFAULT_CORE_URL}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
)


def sensor(n: int, where: str = BERKANE, **attrs: Any) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:s{n}",
        "type": "AirQualityObserved",
        "pm25": {
            "type": "Property",
            "value": 10.0 * n,
            "unitCode": "GQ",
            "observedAt": "2026-03-01T10:00:00Z",
        },
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": inside(where)},
        },
        "name": {
            "type": "LanguageProperty",
            "languageMap": {"fr": f"Capteur {n}", "ar": f"مستشعر {n}"},
        },
        **attrs,
    }


def test_create_then_retrieve_in_each_representation(api: Api) -> None:
    c = api.client
    r = c.post(f"{BASE}/entities", json=sensor(1), headers=api.province)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1"
    r = c.get(f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["link"] == CORE_LINK
    assert r.json()["pm25"] == {
        "type": "Property",
        "value": 10.0,
        "unitCode": "GQ",
        "observedAt": "2026-03-01T10:00:00Z",
    }
    r = c.get(
        f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1",
        params={"options": "keyValues", "lang": "ar"},
        headers={"Accept": "application/ld+json"},
    )
    assert r.headers["content-type"] == "application/ld+json"
    assert r.json() == {
        "id": "urn:ngsi-ld:AirQualityObserved:s1",
        "type": "AirQualityObserved",
        "pm25": 10.0,
        "location": {"type": "Point", "coordinates": inside(BERKANE)},
        "name": "مستشعر 1",
        "@context": DEFAULT_CORE_URL,
    }
    r = c.get(
        f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1",
        params={"format": "concise", "attrs": "pm25", "options": "sysAttrs"},
    )
    body = r.json()
    assert (
        set(body) == {"id", "type", "pm25", "createdAt", "modifiedAt"}
        and "type" not in body["pm25"]
    )
    r = c.get(
        f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1",
        headers={"Accept": "application/geo+json"},
    )
    feature = r.json()
    assert r.headers["content-type"] == "application/geo+json"
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    assert feature["properties"]["type"] == "AirQualityObserved"


def test_query_with_q_geo_pagination_and_count(api: Api) -> None:
    c = api.client
    entities = [sensor(n, BERKANE if n % 2 else AHFIR) for n in range(1, 9)]
    r = c.post(f"{BASE}/entityOperations/create", json=entities, headers=api.province)
    assert r.status_code == 201 and len(r.json()) == 8
    r = c.get(
        f"{BASE}/entities",
        params={
            "type": "AirQualityObserved",
            "q": "pm25>20;pm25<=70",
            "count": "true",
            "limit": 2,
            "options": "keyValues",
            "attrs": "pm25",
        },
    )
    assert r.status_code == 200
    assert r.headers["ngsild-results-count"] == "5"
    assert r.json() == [
        {"id": "urn:ngsi-ld:AirQualityObserved:s3", "type": "AirQualityObserved", "pm25": 30.0},
        {"id": "urn:ngsi-ld:AirQualityObserved:s4", "type": "AirQualityObserved", "pm25": 40.0},
    ]
    near = {
        "georel": "near;maxDistance==200",
        "geometry": "Point",
        "coordinates": json.dumps(inside(AHFIR)),
        "type": "AirQualityObserved",
        "options": "keyValues",
        "attrs": "pm25",
    }
    r = c.get(f"{BASE}/entities", params={**near, "offset": 1, "count": "true"})
    assert [e["id"][-2:] for e in r.json()] == ["s4", "s6", "s8"] and r.headers[
        "ngsild-results-count"
    ] == "4"
    r = c.get(f"{BASE}/entities", params={"idPattern": ".*s[12]$", "q": 'name=="Capteur 2"'})
    assert [e["id"][-2:] for e in r.json()] == ["s2"]
    r = c.get(
        f"{BASE}/entities", params={"type": "AirQualityObserved", "limit": 0, "count": "true"}
    )
    assert r.json() == [] and r.headers["ngsild-results-count"] == "8"
    r = c.get(
        f"{BASE}/entities",
        params={"type": "AirQualityObserved", "area": AHFIR, "limit": 100},
        headers={"Accept": "application/geo+json"},
    )
    assert {f["id"][-2:] for f in r.json()["features"]} == {"s2", "s4", "s6", "s8"}
    r = c.post(
        f"{BASE}/entityOperations/query",
        json={
            "type": "Query",
            "entities": [{"type": "AirQualityObserved", "idPattern": ".*s[78]$"}],
            "q": "pm25>=80",
            "attrs": ["pm25"],
        },
        params={"options": "keyValues"},
    )
    assert r.status_code == 200 and r.json() == [
        {"id": "urn:ngsi-ld:AirQualityObserved:s8", "type": "AirQualityObserved", "pm25": 80.0}
    ]


def test_attribute_endpoints(api: Api) -> None:
    c = api.client
    url = f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1"
    assert c.post(f"{BASE}/entities", json=sensor(1), headers=api.commune).status_code == 201
    r = c.patch(
        f"{url}/attrs",
        json={"pm25": {"type": "Property", "value": 12}, "nope": 1},
        headers=api.commune,
    )
    assert r.status_code == 207 and r.json() == {
        "updated": ["pm25"],
        "notUpdated": [{"attributeName": "nope", "reason": "attribute does not exist"}],
    }
    assert c.post(f"{url}/attrs", json={"co2": 400}, headers=api.commune).status_code == 204
    r = c.post(
        f"{url}/attrs", params={"options": "noOverwrite"}, json={"co2": 1}, headers=api.commune
    )
    assert r.status_code == 207 and r.json()["notUpdated"][0]["attributeName"] == "co2"
    assert c.patch(f"{url}/attrs/co2", json={"value": 410}, headers=api.commune).status_code == 204
    assert (
        c.put(
            f"{url}/attrs/co2", json={"value": 420, "unitCode": "59"}, headers=api.commune
        ).status_code
        == 204
    )
    assert (
        c.patch(
            url,
            json={"pm25": {"value": 13}},
            headers={**api.commune, "Content-Type": "application/merge-patch+json"},
        ).status_code
        == 204
    )
    body = c.get(url, params={"options": "keyValues"}).json()
    assert body["co2"] == 420 and body["pm25"] == 13
    assert c.delete(f"{url}/attrs/co2", headers=api.commune).status_code == 204
    r = c.delete(f"{url}/attrs/co2", headers=api.commune)
    assert (
        r.status_code == 404
        and r.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound"
    )
    assert (
        c.put(url, json={"type": "AirQualityObserved", "pm25": 1}, headers=api.commune).status_code
        == 204
    )
    assert set(c.get(url).json()) == {"id", "type", "pm25"}
    assert c.delete(url, headers=api.commune).status_code == 204
    assert c.get(url).status_code == 404


def test_batch_operations_answer_per_entity(api: Api) -> None:
    c = api.client
    r = c.post(
        f"{BASE}/entityOperations/create",
        json=[sensor(1), sensor(1), {"id": "nope", "type": "T"}],
        headers=api.province,
    )
    assert r.status_code == 207
    body = r.json()
    assert body["success"] == ["urn:ngsi-ld:AirQualityObserved:s1"]
    assert {
        (e["entityId"], e["error"]["type"].rsplit("/", 1)[1], e["error"]["status"])
        for e in body["errors"]
    } == {
        ("nope", "BadRequestData", 400),
        ("urn:ngsi-ld:AirQualityObserved:s1", "AlreadyExists", 409),
    }
    r = c.post(
        f"{BASE}/entityOperations/upsert",
        params={"options": "update"},
        json=[sensor(1, pm10=3), sensor(2)],
        headers=api.province,
    )
    assert r.status_code == 201 and r.json() == ["urn:ngsi-ld:AirQualityObserved:s2"]
    r = c.post(f"{BASE}/entityOperations/upsert", json=[sensor(1), sensor(2)], headers=api.province)
    assert r.status_code == 204 and r.content == b""
    r = c.post(
        f"{BASE}/entityOperations/update",
        json=[{"id": "urn:ngsi-ld:AirQualityObserved:s2", "pm25": 1}, {"id": "urn:x:none", "a": 1}],
        headers=api.province,
    )
    assert r.status_code == 207 and r.json()["errors"][0]["error"]["status"] == 404
    # A commune key may not touch another commune's entities, entity by entity.
    r = c.post(
        f"{BASE}/entityOperations/upsert",
        json=[sensor(3, BERKANE), sensor(4, AHFIR)],
        headers=api.commune,
    )
    assert r.status_code == 207
    assert r.json()["success"] == ["urn:ngsi-ld:AirQualityObserved:s3"]
    assert r.json()["errors"][0]["error"]["status"] == 403
    r = c.post(
        f"{BASE}/entityOperations/delete",
        json=["urn:ngsi-ld:AirQualityObserved:s1", "urn:x:none"],
        headers=api.province,
    )
    assert r.status_code == 207 and r.json()["success"] == ["urn:ngsi-ld:AirQualityObserved:s1"]
    r = c.post(
        f"{BASE}/entityOperations/delete",
        json=["urn:ngsi-ld:AirQualityObserved:s2"],
        headers=api.province,
    )
    assert r.status_code == 204


def test_types_and_attributes(api: Api) -> None:
    c = api.client
    c.post(
        f"{BASE}/entityOperations/create",
        json=[sensor(1), {"id": "urn:ngsi-ld:Device:1", "type": "Device", "battery": 0.5}],
        headers=api.province,
    )
    assert c.get(f"{BASE}/types").json()["typeList"] == ["AirQualityObserved", "Device"]
    info = c.get(f"{BASE}/types/Device").json()
    assert info["entityCount"] == 1 and info["attributeDetails"][0]["attributeName"] == "battery"
    assert c.get(f"{BASE}/types/Nothing").status_code == 404
    assert c.get(f"{BASE}/attributes/").json()["attributeList"] == [
        "battery",
        "location",
        "name",
        "pm25",
    ]
    detail = c.get(f"{BASE}/attributes/name").json()
    assert detail["attributeTypes"] == ["LanguageProperty"] and detail["attributeCount"] == 1


def test_writes_need_a_key_and_the_right_commune(api: Api) -> None:
    c = api.client
    r = c.post(f"{BASE}/entities", json=sensor(1))
    assert r.status_code == 401 and r.json()["type"].endswith("/Unauthorized")
    r = c.post(f"{BASE}/entities", json=sensor(2, AHFIR), headers=api.commune)
    assert r.status_code == 403 and r.json()["type"].endswith("/Forbidden")
    r = c.post(f"{BASE}/entities", json=sensor(3, BERKANE), headers={"X-API-Key": "hk_bad_key"})
    assert r.status_code == 401


def test_user_context_by_link_and_inline(api: Api, context_server: ContextServer) -> None:
    c = api.client
    context_server.documents["ctx.jsonld"] = {
        "@context": {
            "pm": "https://smartdatamodels.org/pm25",
            "AQ": "https://smartdatamodels.org/AirQualityObserved",
        }
    }
    url = context_server.url("ctx.jsonld")
    link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    r = c.post(
        f"{BASE}/entities",
        json={"id": "urn:x:1", "type": "AQ", "pm": 5},
        headers={**api.province, "Link": link},
    )
    assert r.status_code == 201, r.text
    r = c.get(f"{BASE}/entities/urn:x:1", params={"options": "keyValues"}, headers={"Link": link})
    assert r.json() == {"id": "urn:x:1", "type": "AQ", "pm": 5} and url in r.headers["link"]
    # Without the context, the client reads full IRIs.
    assert c.get(f"{BASE}/entities/urn:x:1", params={"options": "keyValues"}).json() == {
        "id": "urn:x:1",
        "type": "https://smartdatamodels.org/AirQualityObserved",
        "https://smartdatamodels.org/pm25": 5,
    }
    r = c.get(
        f"{BASE}/entities",
        params={"type": "AQ", "q": "pm==5"},
        headers={"Link": link, "Accept": "application/ld+json"},
    )
    assert r.json()[0]["@context"] == [url]  # echoed as sent (the core context is implied)
    inline = {
        "@context": [{"speed": "https://example.org/speed"}, DEFAULT_CORE_URL],
        "id": "urn:x:2",
        "type": "Car",
        "speed": 3,
    }
    r = c.post(
        f"{BASE}/entities",
        content=json.dumps(inline),
        headers={**api.province, "Content-Type": "application/ld+json"},
    )
    assert r.status_code == 201
    assert "https://example.org/speed" in c.get(f"{BASE}/entities/urn:x:2").json()
    assert context_server.hits == ["/ctx.jsonld"]  # fetched once, then cached
    assert url in c.get(f"{BASE}/jsonldContexts").json()


def test_batch_merge(api: Api) -> None:
    c = api.client
    c.post(
        f"{BASE}/entityOperations/create",
        json=[sensor(1, noise={"value": 50, "accuracy": 1})],
        headers=api.province,
    )
    r = c.post(
        f"{BASE}/entityOperations/merge",
        json=[
            {
                "id": "urn:ngsi-ld:AirQualityObserved:s1",
                "noise": {"value": 51},
                "name": "urn:ngsi-ld:null",
            },
            {"id": "urn:x:none", "a": 1},
        ],
        headers=api.province,
    )
    assert r.status_code == 207 and r.json()["success"] == ["urn:ngsi-ld:AirQualityObserved:s1"]
    body = c.get(
        f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1", params={"options": "keyValues"}
    ).json()
    assert body["noise"] == 51 and "name" not in body
    noise = c.get(
        f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1", params={"attrs": "noise"}
    ).json()["noise"]
    assert noise["accuracy"] == {"type": "Property", "value": 1}


def test_pick_and_omit(api: Api) -> None:
    c = api.client
    c.post(f"{BASE}/entities", json=sensor(1), headers=api.province)
    url = f"{BASE}/entities/urn:ngsi-ld:AirQualityObserved:s1"
    assert c.get(url, params={"pick": "id,pm25", "options": "keyValues"}).json() == {
        "id": "urn:ngsi-ld:AirQualityObserved:s1",
        "pm25": 10.0,
    }
    assert set(c.get(url, params={"omit": "location,name"}).json()) == {"id", "type", "pm25"}
    listed = c.get(
        f"{BASE}/entities",
        params={"type": "AirQualityObserved", "pick": "pm25", "options": "keyValues"},
    ).json()
    assert listed == [{"pm25": 10.0}]
    r = c.get(url, params={"pick": "pm25", "omit": "name"})
    assert r.status_code == 400 and r.json()["type"].endswith("/BadRequestData")


def test_type_expressions_select_multi_typed_entities(api: Api) -> None:
    c = api.client
    bodies = [
        {"id": "urn:x:1", "type": ["Device", "Sensor"]},
        {"id": "urn:x:2", "type": "Device"},
        {"id": "urn:x:3", "type": "Thing"},
    ]
    assert (
        c.post(f"{BASE}/entityOperations/create", json=bodies, headers=api.province).status_code
        == 201
    )
    ids = lambda t: [e["id"] for e in c.get(f"{BASE}/entities", params={"type": t}).json()]  # noqa: E731
    assert ids("Device;Sensor") == ["urn:x:1"]
    assert ids("(Device;Sensor)|Thing") == ["urn:x:1", "urn:x:3"]
    assert ids("Sensor,Thing") == ["urn:x:1", "urn:x:3"]
    assert ids("Device") == ["urn:x:1", "urn:x:2"]
    r = c.get(f"{BASE}/entities", params={"type": "(Device"})
    assert r.status_code == 400 and r.json()["type"].endswith("/BadRequestData")


def test_ids_that_are_urls(api: Api) -> None:
    c = api.client
    entity = {"id": "https://example.org/sensors/7", "type": "T", "a": 1}
    assert c.post(f"{BASE}/entities", json=entity, headers=api.province).status_code == 201
    url = f"{BASE}/entities/https%3A%2F%2Fexample.org%2Fsensors%2F7"
    assert c.get(url, params={"options": "keyValues"}).json() == entity
    assert c.patch(f"{url}/attrs", json={"a": 2}, headers=api.province).status_code == 204
    assert c.post(f"{url}/attrs", json={"b": 1}, headers=api.province).status_code == 204
    assert c.patch(f"{url}/attrs/b", json={"value": 5}, headers=api.province).status_code == 204
    assert c.get(url, params={"options": "keyValues"}).json() == {**entity, "a": 2, "b": 5}
    assert c.delete(f"{url}/attrs/b", headers=api.province).status_code == 204
    assert c.put(url, json={"type": "T", "a": 3}, headers=api.province).status_code == 204
    assert c.get(url, params={"options": "keyValues"}).json()["a"] == 3
    assert c.delete(url, headers=api.province).status_code == 204
    assert c.get(url).status_code == 404


def test_hosted_and_fetched_contexts(api: Api, context_server: ContextServer) -> None:
    c = api.client
    vocabulary = {"@context": {"debit": "https://water.example.ma/debit"}}
    assert c.post(f"{BASE}/jsonldContexts", json=vocabulary).status_code == 401
    r = c.post(f"{BASE}/jsonldContexts", json=vocabulary, headers=api.province)
    assert r.status_code == 201
    location = r.headers["location"]
    link = f'<http://hakama.example{location}>; rel="http://www.w3.org/ns/json-ld#context"'
    r = c.post(
        f"{BASE}/entities",
        json={"id": "urn:x:w1", "type": "Pump", "debit": 3},
        headers={**api.province, "Link": link},
    )
    assert r.status_code == 201, r.text
    assert "https://water.example.ma/debit" in c.get(f"{BASE}/entities/urn:x:w1").json()
    assert c.get(location).json() == vocabulary
    assert location in c.get(f"{BASE}/jsonldContexts").json()
    assert c.delete(location, headers=api.province).status_code == 204
    r = c.get(f"{BASE}/entities/urn:x:w1", headers={"Link": link})
    assert r.status_code == 504 and r.json()["type"].endswith("/LdContextNotAvailable")
    # A fetched context can be read back and forgotten (fetched again on next use).
    context_server.documents["c.jsonld"] = {"@context": {"t": "https://example.org/t"}}
    url = context_server.url("c.jsonld")
    fetched = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"'
    assert (
        c.get(f"{BASE}/entities", params={"type": "t"}, headers={"Link": fetched}).status_code
        == 200
    )
    item = f"{BASE}/jsonldContexts/{quote(url, safe='')}"
    assert c.get(item).json() == {"@context": {"t": "https://example.org/t"}}
    assert c.delete(item, headers=api.province).status_code == 204
    assert c.get(item).status_code == 404
    assert (
        c.get(f"{BASE}/entities", params={"type": "t"}, headers={"Link": fetched}).status_code
        == 200
    )
    assert context_server.hits == ["/c.jsonld", "/c.jsonld"]
    core = f"{BASE}/jsonldContexts/{quote(DEFAULT_CORE_URL, safe='')}"
    assert c.get(core).json()["@context"]["value"] == "ngsi-ld:hasValue"
    assert c.delete(core, headers=api.province).status_code == 400
