"""What the ETSI suite's Consumption/TemporalEntity folder caught, one test per fix.

Each test mirrors a family of the suite's temporal test cases (named in its docstring), so a
regression shows in `./run test` without running the Robot Framework suite.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.ngsi_ld.conftest import Api

BASE = "/ngsi-ld/v1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def problem(response: Any, kind: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == ERRORS + kind and body["status"] == status
    return body


def vehicle(eid: str, kind: str = "Vehicle", day: str = "2020-08-01") -> dict[str, Any]:
    return {
        "id": eid,
        "type": kind,
        "speed": [
            {"type": "Property", "value": v, "observedAt": f"{day}T12:0{m}:00Z"}
            for v, m in ((120, 3), (80, 5), (100, 7))
        ],
        "fuelLevel": [
            {"type": "Property", "value": v, "observedAt": f"{day}T1{h}:03:00Z"}
            for v, h in ((67, 2), (53, 3), (40, 4))
        ],
    }


def test_a_temporal_query_in_a_body_answers_as_the_get(api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_13: POST /temporal/entityOperations/query."""
    c, key = api.client, api.province
    for body in (
        vehicle("urn:x:v1"),
        vehicle("urn:x:v2", day="2020-09-01"),
        vehicle("urn:x:b1", kind="Bus"),
    ):
        assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    url = f"{BASE}/temporal/entityOperations/query"
    query = {
        "type": "Query",
        "entities": [{"type": "Vehicle"}],
        "temporalQ": {"timerel": "after", "timeAt": "2020-08-02T12:05:00Z"},
    }
    got = c.post(url, json=query)
    assert got.status_code == 200, got.text
    assert [e["id"] for e in got.json()] == ["urn:x:v2"]
    assert [i["value"] for i in got.json()[0]["speed"]] == [120, 80, 100]
    query["entities"] = [{"type": "Vehicle"}, {"type": "Bus"}]
    query["temporalQ"] = {"timerel": "before", "timeAt": "2020-08-01T12:06:00Z", "lastN": 1}
    got = c.post(url, json=query, params={"options": "temporalValues"})
    assert got.status_code == 200, got.text
    answered = {e["id"]: e for e in got.json()}
    assert sorted(answered) == ["urn:x:b1", "urn:x:v1"]
    assert answered["urn:x:v1"]["speed"]["values"] == [[80, "2020-08-01T12:05:00Z"]]
    same = c.get(
        f"{BASE}/temporal/entities",
        params={"type": "Vehicle,Bus", "timerel": "before", "timeAt": "2020-08-01T12:06:00Z",
                "lastN": "1", "options": "temporalValues"},
    )  # fmt: skip
    assert same.json() == got.json()
    problem(c.post(url, json={"type": "Nope"}), "BadRequestData", 400)
    problem(c.post(url, json={"type": "Query"}), "BadRequestData", 400)
    problem(
        c.post(url, json={**query, "temporalQ": {"timerel": "before", "timeAt": "x"}}),
        "BadRequestData",
        400,
    )
    problem(c.post(url, json={**query, "temporalQ": {"lastN": [1]}}), "BadRequestData", 400)


def test_history_written_again_after_a_delete_is_seen_again(api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_01/021_08/021_14: each test case deletes its
    entities' history and creates the same ones again; only what is written again shows."""
    c, key = api.client, api.province
    url = f"{BASE}/temporal/entities/urn:x:r1"
    body = vehicle("urn:x:r1")
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    first = c.get(url).json()
    deleted = c.delete(f"{BASE}/temporal/entities/urn:x:r1/attrs/speed/"
                       + first["speed"][1]["instanceId"], headers=key)  # fmt: skip
    assert deleted.status_code == 204
    assert c.delete(url, headers=key).status_code == 204
    assert c.get(url).json() == {"id": "urn:x:r1", "type": "Vehicle"}
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    again = c.get(url).json()
    assert again == first  # the instance deleted one by one is written again too
    assert c.delete(url, headers=key).status_code == 204
    partial = {"id": "urn:x:r1", "type": "Vehicle", "speed": body["speed"][:1]}
    assert c.post(f"{BASE}/temporal/entities", json=partial, headers=key).status_code == 201
    got = c.get(url).json()
    assert [i["value"] for i in got["speed"]] == [120] and "fuelLevel" not in got


def test_pick_and_omit_shape_temporal_entities(api: Api) -> None:
    """RetrieveTemporalEvolutionOfEntity 020_21–020_23, QueryTemporalEvolutionOfEntities
    021_21–021_22: pick/omit keep or drop members; with attrs, or together, 400; nothing left
    of the entity asked for, 404."""
    c, key = api.client, api.province
    assert (
        c.post(f"{BASE}/temporal/entities", json=vehicle("urn:x:p1"), headers=key).status_code
        == 201
    )
    url = f"{BASE}/temporal/entities/urn:x:p1"
    assert list(c.get(url, params={"pick": "speed"}).json()) == ["speed"]
    assert list(c.get(url, params={"pick": "id,speed"}).json()) == ["id", "speed"]
    assert list(c.get(url, params={"omit": "type,speed"}).json()) == ["id", "fuelLevel"]
    many = c.get(f"{BASE}/temporal/entities", params={"type": "Vehicle", "pick": "id"})
    assert many.status_code == 200 and many.json() == [{"id": "urn:x:p1"}]
    many = c.get(f"{BASE}/temporal/entities", params={"type": "Vehicle", "omit": "speed"})
    assert sorted(many.json()[0]) == ["fuelLevel", "id", "type"]
    for params in ({"pick": "speed", "omit": "speed"}, {"pick": "speed", "attrs": "fuelLevel"},
                   {"omit": "speed", "attrs": "fuelLevel"}, {"pick": "a{"}):  # fmt: skip
        problem(c.get(url, params=params), "BadRequestData", 400)
    problem(c.get(url, params={"pick": "unknown"}), "ResourceNotFound", 404)
    problem(c.get(url, params={"omit": "id,type,fuelLevel,speed"}), "ResourceNotFound", 404)


def test_format_wins_over_options_and_ids_alone_do_not_select(api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_19_02 (format over options), 021_24 (ids alone
    are not enough), 021_25 (local=true selects every entity)."""
    c, key = api.client, api.province
    for eid in ("urn:x:f1", "urn:x:f2"):
        assert (
            c.post(f"{BASE}/temporal/entities", json=vehicle(eid), headers=key).status_code == 201
        )
    url = f"{BASE}/temporal/entities"
    both = {"type": "Vehicle", "format": "temporalValues", "options": "aggregatedValues",
            "aggrMethods": "sum"}  # fmt: skip
    got = c.get(url, params=both)
    assert got.status_code == 200, got.text
    assert got.json()[0]["speed"]["values"][0] == [120, "2020-08-01T12:03:00Z"]
    aggregated = c.get(url, params={**both, "format": "aggregatedValues"}).json()
    assert aggregated[0]["speed"]["sum"][0][0] == 300
    window = {"timerel": "after", "timeAt": "2020-07-01T12:05:00Z"}
    problem(c.get(url, params={"id": "urn:x:f1,urn:x:f2", **window}), "BadRequestData", 400)
    everything = c.get(url, params={"local": "true", **window})
    assert [e["id"] for e in everything.json()] == ["urn:x:f1", "urn:x:f2"]


def test_q_of_a_temporal_query_tests_the_history_in_the_window(api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_08_01: entities created through the temporal API
    have no current state; q is judged on their states over time (each attribute at its latest
    instance), and the whole evolution of the entities matched is answered."""
    c, key = api.client, api.province
    assert (
        c.post(f"{BASE}/temporal/entities", json=vehicle("urn:x:q1"), headers=key).status_code
        == 201
    )
    url = f"{BASE}/temporal/entities"
    window = {"type": "Vehicle", "timerel": "after", "timeAt": "2020-07-01T12:05:00Z"}

    def ids(q: str) -> list[str]:
        got = c.get(url, params={**window, "q": q})
        assert got.status_code == 200, got.text
        return [e["id"] for e in got.json()]

    assert ids("speed>90") == ["urn:x:q1"] and ids("speed<90") == ["urn:x:q1"]
    assert ids("speed>150") == []
    assert ids("speed>90;fuelLevel<50") == ["urn:x:q1"]  # at 14:03: speed 100, fuel 40
    assert ids("speed>110;fuelLevel<50") == []  # speed was 120 only while fuel was 67
    whole = c.get(url, params={**window, "q": "speed>110"}).json()[0]
    assert [i["value"] for i in whole["speed"]] == [120, 80, 100]
    late = {**window, "timeAt": "2020-08-01T12:04:00Z", "q": "speed>110"}
    assert c.get(url, params=late).json() == []  # 120 was before the window


def test_a_geo_query_of_a_temporal_query_tests_locations_in_the_window(api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_09: an entity with no current state is found by
    where it was in the window."""
    c, key = api.client, api.province
    body = vehicle("urn:x:g1")
    body["location"] = [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, 34.9]},
         "observedAt": f"2020-08-01T1{h}:00:00Z"}
        for lon, h in ((-2.3, 2), (-9.0, 5))
    ]  # fmt: skip
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    url = f"{BASE}/temporal/entities"
    near = {"type": "Vehicle", "georel": "near;maxDistance==2000", "geometry": "Point",
            "timerel": "after", "timeAt": "2020-07-01T00:00:00Z"}  # fmt: skip
    got = c.get(url, params={**near, "coordinates": "[-2.301,34.9]"})
    assert got.status_code == 200, got.text
    assert [e["id"] for e in got.json()] == ["urn:x:g1"]
    # no current state to say so: `location` is a GeoProperty by its name (clause 4.7)
    assert [i["type"] for i in got.json()[0]["location"]] == ["GeoProperty", "GeoProperty"]
    assert got.json()[0]["location"][1]["value"] == {"type": "Point", "coordinates": [-9.0, 34.9]}
    assert c.get(url, params={**near, "coordinates": "[-5,34.9]"}).json() == []
    later = {**near, "coordinates": "[-2.301,34.9]", "timeAt": "2020-08-01T13:00:00Z"}
    assert c.get(url, params=later).json() == []  # it had left by then
    both = {**near, "coordinates": "[-9.001,34.9]", "q": "speed>110"}
    assert c.get(url, params=both).json() == []  # speed 120 was at 12:03, not at -9.0


def twenty(eid: str) -> dict[str, Any]:
    """The suite's pagination vehicle: 20 instances of speed and of fuelLevel, a minute apart."""
    return {
        "id": eid,
        "type": "Vehicle",
        "speed": [
            {"type": "Property", "value": m, "observedAt": f"2020-01-01T01:{m:02d}:00Z"}
            for m in range(1, 21)
        ],
        "fuelLevel": [
            {"type": "Property", "value": m, "observedAt": f"2020-01-01T01:{m:02d}:30Z"}
            for m in range(1, 21)
        ],
    }


def test_temporal_answers_cut_by_the_instance_limit_are_206(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RetrieveTemporalEvolutionOfEntity 020_13, 020_14, QueryTemporal… 021_15 (clause
    6.3.10): a limit set below the history cuts it; oldest first, from timeAt when the window
    has a start, size `*`; with lastN above the limit newest first, from the window's end,
    size lastN; an attribute the cut empties answers empty."""
    c, key = api.client, api.province
    monkeypatch.setattr(api.platform.settings, "ngsi_temporal_max_instances", 10)
    assert (
        c.post(f"{BASE}/temporal/entities", json=twenty("urn:x:p1"), headers=key).status_code == 201
    )
    url = f"{BASE}/temporal/entities/urn:x:p1"
    got = c.get(url)
    assert got.status_code == 206, got.text
    assert got.headers["content-range"] == "date-time 2020-01-01T01:01:00Z-2020-01-01T01:10:00Z/*"
    assert len(got.json()["speed"]) == 10 and len(got.json()["fuelLevel"]) == 9
    got = c.get(url, params={"timerel": "after", "timeAt": "2019-01-01T01:01:00Z"})
    assert got.headers["content-range"] == "date-time 2019-01-01T01:01:00Z-2020-01-01T01:10:00Z/*"
    got = c.get(url, params={"lastN": 20})
    assert got.status_code == 206
    assert got.headers["content-range"] == "date-time 2020-01-01T01:20:30Z-2020-01-01T01:11:30Z/20"
    assert [i["value"] for i in got.json()["speed"]] == list(range(12, 21))
    got = c.get(url, params={"lastN": 20, "timerel": "before", "timeAt": "2021-01-01T01:01:00Z"})
    assert got.headers["content-range"] == "date-time 2021-01-01T01:01:00Z-2020-01-01T01:11:30Z/20"
    listed = c.get(f"{BASE}/temporal/entities", params={"type": "Vehicle", "lastN": 5})
    assert listed.status_code == 200 and len(listed.json()[0]["speed"]) == 5
    late = twenty("urn:x:p2")
    for i in late["fuelLevel"]:
        i["observedAt"] = i["observedAt"].replace("2020-01-01", "2020-01-02")
    assert c.post(f"{BASE}/temporal/entities", json=late, headers=key).status_code == 201
    got = c.get(f"{BASE}/temporal/entities/urn:x:p2")
    assert got.status_code == 206 and got.json()["fuelLevel"] == []
    got = c.get(
        f"{BASE}/temporal/entities/urn:x:p2", params={"lastN": 100, "options": "temporalValues"}
    )
    assert got.status_code == 206 and got.json()["speed"] == {"type": "Property", "values": []}
    monkeypatch.setattr(api.platform.settings, "ngsi_temporal_max_instances", 10_000)
    assert c.get(url, params={"lastN": 20}).status_code == 200
