"""`expandValues` (clause 4.9, EXAMPLE 12) and `containedBy` (clause 4.5.23) in entity and
temporal queries, as QueryEntities 019_29_12/13 and TemporalEntity 5743_01 of the suite (tagged
since_v1.9.1) exercise them; see test_suite_regressions.py for the other fixes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.ngsi_ld.conftest import Api, ContextServer
from tests.http.ngsi_ld.test_suite_regressions import BASE, create, problem

DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
SHOP = {
    "id": "urn:ngsi-ld:Shop:s1",
    "type": "Shop",
    "category": {"type": "VocabProperty", "vocab": "commercial"},
    "kind": {"type": "Property", "value": DEFAULT_VOCAB + "retail"},
    "floors": {"type": "Property", "value": 3},
}
OTHER = {
    "id": "urn:ngsi-ld:Shop:s2",
    "type": "Shop",
    "category": {"type": "VocabProperty", "vocab": "residential"},
    "kind": {"type": "Property", "value": "retail"},
    "floors": {"type": "Property", "value": 1},
}


def found(api: Api, **params: str) -> list[str]:
    r = api.client.get(f"{BASE}/entities", params={"type": "Shop", **params})
    assert r.status_code == 200, r.text
    return sorted(e["id"] for e in r.json())


def test_expand_values_expands_q_values_with_the_context_in_sql_and_python(api: Api) -> None:
    """019_29_12/13: a VocabProperty is compared by the IRI of its vocab, so the bare term
    matches only with expandValues; a Property's string value compares with the expanded
    value too (the term SQL narrows the query with, on both engines)."""
    for entity in (SHOP, OTHER):
        assert create(api, entity).status_code == 201
    assert found(api, q="category==commercial") == []
    assert found(api, q="category==commercial", expandValues="category") == [SHOP["id"]]
    assert found(api, q=f"category=={DEFAULT_VOCAB}commercial") == [SHOP["id"]]
    assert found(api, q="category!=commercial", expandValues="category") == [OTHER["id"]]
    assert found(api, q="category==commercial,residential", expandValues="category") == [
        SHOP["id"],
        OTHER["id"],
    ]
    # a Property holding a string: the q value expanded, pushed to SQL as it is compared
    assert found(api, q="kind==retail") == [OTHER["id"]]
    assert found(api, q="kind==retail", expandValues="kind") == [SHOP["id"]]
    assert found(api, q="kind==retail;floors>2", expandValues="kind,category") == [SHOP["id"]]
    # only the attributes listed: floors (a number) and name are left as they are
    assert found(api, q="kind==retail", expandValues="category") == [OTHER["id"]]
    assert found(api, q="floors==3", expandValues="floors") == [SHOP["id"]]
    query = {
        "type": "Query",
        "entities": [{"type": "Shop"}],
        "q": "category==commercial",
        "expandValues": ["category"],
    }
    posted = api.client.post(f"{BASE}/entityOperations/query", json=query, headers=api.province)
    assert [e["id"] for e in posted.json()] == [SHOP["id"]]
    del query["expandValues"]
    posted = api.client.post(f"{BASE}/entityOperations/query", json=query, headers=api.province)
    assert posted.json() == []


def test_expand_values_uses_the_context_of_the_request(
    sqlite_api: Api, context_server: ContextServer
) -> None:
    """The vocab written under a user @context is an IRI of that context; expandValues expands
    the q value with the Link header's context, so only a client using it matches."""
    context_server.documents["shops.jsonld"] = {
        "@context": {"commercial": "https://shops.example.org/commercial"}
    }
    link = {
        "Link": f'<{context_server.url("shops.jsonld")}>; rel="http://www.w3.org/ns/json-ld#context"'
    }
    c = sqlite_api.client
    r = c.post(f"{BASE}/entities", json=SHOP, headers={**sqlite_api.province, **link})
    assert r.status_code == 201
    params = {"type": "Shop", "q": "category==commercial", "expandValues": "category"}
    assert len(c.get(f"{BASE}/entities", params=params, headers=link).json()) == 1
    assert c.get(f"{BASE}/entities", params=params).json() == []
    iri = {"type": "Shop", "q": "category==https://shops.example.org/commercial"}
    assert len(c.get(f"{BASE}/entities", params=iri).json()) == 1


def test_expand_values_in_temporal_queries(sqlite_api: Api) -> None:
    """5743_01: GET and POST temporal queries expand the q values of the listed attributes;
    the history keeps the vocab term, compared by its IRI as in the current state."""
    assert create(sqlite_api, SHOP).status_code == 201
    window = {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}
    c = sqlite_api.client
    params = {"type": "Shop", "q": "category==commercial", **window}
    assert c.get(f"{BASE}/temporal/entities", params=params).json() == []
    got = c.get(f"{BASE}/temporal/entities", params={**params, "expandValues": "category"})
    assert [e["id"] for e in got.json()] == [SHOP["id"]]
    query: dict[str, Any] = {
        "type": "Query",
        "entities": [{"type": "Shop"}],
        "q": "category==commercial",
        "temporalQ": window,
    }
    url = f"{BASE}/temporal/entityOperations/query"
    assert c.post(url, json=query, headers=sqlite_api.province).json() == []
    query["expandValues"] = ["category"]
    got = c.post(url, json=query, headers=sqlite_api.province)
    assert [e["id"] for e in got.json()] == [SHOP["id"]]


@pytest.mark.parametrize(
    "value", ["", ",", "category,", "category,,kind", "id", "a b", "type,category"]
)
def test_a_malformed_expand_values_is_bad_request_data(sqlite_api: Api, value: str) -> None:
    c = sqlite_api.client
    params = {"type": "Shop", "q": "category==commercial", "expandValues": value}
    problem(c.get(f"{BASE}/entities", params=params), "BadRequestData", 400)
    window = {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}
    problem(
        c.get(f"{BASE}/temporal/entities", params={**params, **window}), "BadRequestData", 400
    )


@pytest.mark.parametrize("value", [5, [""], ["category", 3], {"category": True}, "a,,b"])
def test_a_malformed_expand_values_member_is_bad_request_data(sqlite_api: Api, value: Any) -> None:
    query = {"type": "Query", "entities": [{"type": "Shop"}], "q": "a==b", "expandValues": value}
    for url in (f"{BASE}/entityOperations/query", f"{BASE}/temporal/entityOperations/query"):
        body = {**query, "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}}
        r = sqlite_api.client.post(url, json=body, headers=sqlite_api.province)
        problem(r, "BadRequestData", 400)


TOWER = "urn:ngsi-ld:Building:tower"
ANNEX = "urn:ngsi-ld:Building:annex"
OWNER = "urn:ngsi-ld:Person:owner"


def linked(api: Api) -> None:
    """A tower owned by a person who works in it (a cycle), next to an annex."""
    entities = [
        {
            "id": TOWER,
            "type": "Building",
            "owner": {"type": "Relationship", "object": OWNER},
            "near": {"type": "Relationship", "object": ANNEX},
        },
        {"id": ANNEX, "type": "Building", "name": {"type": "Property", "value": "annex"}},
        {
            "id": OWNER,
            "type": "Person",
            "name": {"type": "Property", "value": "Salma"},
            "worksIn": {"type": "Relationship", "object": TOWER},
        },
    ]
    for entity in entities:
        assert create(api, entity).status_code == 201


def test_contained_by_stops_join_at_the_entities_the_client_holds(sqlite_api: Api) -> None:
    """containedBy (clause 4.5.23): a join does not follow relationships to the entities
    listed, inline or flat, in a retrieval, a GET query and a POST query."""
    linked(sqlite_api)
    c = sqlite_api.client
    url = f"{BASE}/entities/{TOWER}"
    deep = c.get(url, params={"join": "inline", "joinLevel": "2"}).json()
    assert deep["owner"]["entity"]["worksIn"]["entity"]["id"] == TOWER  # the cycle, followed
    held = c.get(url, params={"join": "inline", "joinLevel": "2", "containedBy": TOWER}).json()
    assert held["owner"]["entity"]["name"]["value"] == "Salma"
    assert held["owner"]["entity"]["worksIn"] == {"type": "Relationship", "object": TOWER}
    both = c.get(url, params={"join": "inline", "containedBy": f"{OWNER},{TOWER}"}).json()
    assert both["owner"] == {"type": "Relationship", "object": OWNER}
    assert both["near"]["entity"]["name"]["value"] == "annex"
    flat = c.get(f"{BASE}/entities", params={"type": "Building", "join": "flat"}).json()
    assert sorted(e["id"] for e in flat) == [ANNEX, TOWER, OWNER]
    params = {"type": "Building", "join": "flat", "containedBy": OWNER}
    assert sorted(e["id"] for e in c.get(f"{BASE}/entities", params=params).json()) == [
        ANNEX,
        TOWER,
    ]
    query = {
        "type": "Query",
        "entities": [{"type": "Building"}],
        "join": "flat",
        "containedBy": [OWNER],
    }
    posted = c.post(f"{BASE}/entityOperations/query", json=query, headers=sqlite_api.province)
    assert sorted(e["id"] for e in posted.json()) == [ANNEX, TOWER]
    plain = c.get(url, params={"containedBy": OWNER}).json()  # without join: nothing to stop
    assert plain["owner"] == {"type": "Relationship", "object": OWNER}


@pytest.mark.parametrize("value", ["", "not a uri", f"{OWNER},,{TOWER}", f",{OWNER}"])
def test_a_malformed_contained_by_is_bad_request_data(sqlite_api: Api, value: str) -> None:
    linked(sqlite_api)
    c = sqlite_api.client
    params = {"join": "inline", "containedBy": value}
    problem(c.get(f"{BASE}/entities/{TOWER}", params=params), "BadRequestData", 400)
    params["type"] = "Building"
    problem(c.get(f"{BASE}/entities", params=params), "BadRequestData", 400)
    query = {"type": "Query", "entities": [{"type": "Building"}], "join": "flat"}
    for member in (value, [""], ["not a uri"], 7, [OWNER, None]):
        r = c.post(
            f"{BASE}/entityOperations/query",
            json={**query, "containedBy": member},
            headers=sqlite_api.province,
        )
        problem(r, "BadRequestData", 400)
