"""What the ETSI NGSI-LD conformance suite caught, one test per fix (see docs/conformance.md).

Each test mirrors a family of the suite's test cases, in the project's own suite, so that a
regression shows in `./run test` without running the Robot Framework suite.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.http.ngsi_ld.conftest import Api, ContextServer

BASE = "/ngsi-ld/v1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
LD = "application/ld+json"


def problem(response: Any, kind: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == ERRORS + kind and body["status"] == status
    return body


def create(api: Api, entity: dict[str, Any]) -> Any:
    return api.client.post(f"{BASE}/entities", json=entity, headers=api.province)


@pytest.mark.parametrize(
    "codepoint",
    [0x202E, 0x200B, 0xFEFF, 0x2028, 0xA0, 0xFE0F, 0xE0100, 0xFDD0, 0xFFFE, 0x115F, 0x3164, 0x2800],
)
def test_invisible_characters_in_an_id_are_refused_not_a_500(
    sqlite_api: Api, codepoint: int
) -> None:
    """CreateEntity 451_02: an id carrying a bidi control, a zero-width space, a BOM… is 400."""
    entity = {"id": f"urn:ngsi-ld:Thing:a{chr(codepoint)}b", "type": "Thing"}
    problem(create(sqlite_api, entity), "BadRequestData", 400)


def test_a_non_ascii_id_is_created_and_its_location_percent_encoded(sqlite_api: Api) -> None:
    r = create(sqlite_api, {"id": "urn:ngsi-ld:Ciudad:París", "type": "City"})
    assert r.status_code == 201
    assert r.headers["location"] == "/ngsi-ld/v1/entities/urn:ngsi-ld:Ciudad:Par%C3%ADs"
    got = sqlite_api.client.get(f"{BASE}/entities/urn:ngsi-ld:Ciudad:Par%C3%ADs")
    assert got.status_code == 200 and got.json()["id"] == "urn:ngsi-ld:Ciudad:París"


def test_an_unknown_query_parameter_is_invalid_request(sqlite_api: Api) -> None:
    """VerifyInvalidParameters 059_01 (clause 6.3.20)."""
    c = sqlite_api.client
    body = problem(
        c.get(f"{BASE}/entities", params={"type": "T", "invalidParams": "x"}),
        "InvalidRequest",
        400,
    )
    assert "invalidParams" in body["detail"]
    problem(c.get(f"{BASE}/types", params={"invalidParams": "x"}), "InvalidRequest", 400)
    problem(
        c.post(
            f"{BASE}/entities?invalidParams=x",
            json={"id": "urn:x:1", "type": "T"},
            headers=sqlite_api.province,
        ),
        "InvalidRequest",
        400,
    )
    assert c.get(f"{BASE}/entities/urn:x:1").status_code == 404  # nothing was written
    problem(c.get(f"{BASE}/entities/urn:x:1", params={"format": "nope"}), "InvalidRequest", 400)


def test_the_context_of_a_link_header_is_echoed_as_sent(
    sqlite_api: Api, context_server: ContextServer
) -> None:
    """CreateEntity 001_01 and many retrievals: `@context` in an ld+json answer is what the
    client named (the core context is implied), not that plus the core context."""
    context_server.documents["ctx.jsonld"] = {"@context": {"speed": "https://example.org/speed"}}
    url = context_server.url("ctx.jsonld")
    c = sqlite_api.client
    entity = {"id": "urn:x:car", "type": "Car", "speed": 3, "@context": url}
    r = c.post(
        f"{BASE}/entities",
        content=json.dumps(entity),
        headers={**sqlite_api.province, "Content-Type": LD},
    )
    assert r.status_code == 201
    link = f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    got = c.get(f"{BASE}/entities/urn:x:car", headers={"Link": link, "Accept": LD}).json()
    assert got["@context"] == [url] and got["speed"]["value"] == 3
    # A Link header with an ld+json body is refused (clause 6.3.5).
    problem(
        c.post(
            f"{BASE}/entities",
            content=json.dumps({**entity, "id": "urn:x:car2"}),
            headers={**sqlite_api.province, "Content-Type": LD, "Link": link},
        ),
        "BadRequestData",
        400,
    )


def test_scopes_are_kept_queried_and_changed(sqlite_api: Api) -> None:
    """CreateEntity 001_11, QueryEntities 019_01_06, Append/Update/Delete scope (clause 4.18)."""
    c, key = sqlite_api.client, sqlite_api.province
    one = {"id": "urn:x:b1", "type": "Building", "scope": "/Madrid/Gardens/ParqueNorte"}
    many = {
        "id": "urn:x:b2",
        "type": "Building",
        "scope": ["/Madrid/Gardens/ParqueNorte", "/CompanyA/OrganizationB/UnitC"],
    }
    assert create(sqlite_api, one).status_code == 201
    assert create(sqlite_api, many).status_code == 201
    assert c.get(f"{BASE}/entities/urn:x:b1").json()["scope"] == "/Madrid/Gardens/ParqueNorte"

    def ids(scope_q: str) -> list[str]:
        r = c.get(f"{BASE}/entities", params={"type": "Building", "scopeQ": scope_q})
        assert r.status_code == 200, r.text
        return sorted(e["id"] for e in r.json())

    assert ids("/Madrid/Gardens/ParqueNorte") == ["urn:x:b1", "urn:x:b2"]
    assert ids("/Madrid/+/ParqueNorte") == ["urn:x:b1", "urn:x:b2"]
    assert ids("/CompanyA/#") == ["urn:x:b2"]
    assert ids("/#") == ["urn:x:b1", "urn:x:b2"]
    assert ids("/Madrid/Gardens/ParqueNorte;/CompanyA/OrganizationB/UnitC") == ["urn:x:b2"]
    assert ids("/Nowhere,/CompanyA/OrganizationB/UnitC") == ["urn:x:b2"]
    problem(
        c.get(f"{BASE}/entities", params={"type": "Building", "scopeQ": "Madrid"}),
        "BadRequestData",
        400,
    )
    problem(
        create(sqlite_api, {**one, "id": "urn:x:b3", "scope": "no-slash"}), "BadRequestData", 400
    )
    # noOverwrite adds to the scopes, a plain append replaces them.
    r = c.post(
        f"{BASE}/entities/urn:x:b1/attrs",
        params={"options": "noOverwrite"},
        json={"scope": "/Other"},
        headers=key,
    )
    assert r.status_code == 204, r.text
    assert c.get(f"{BASE}/entities/urn:x:b1").json()["scope"] == [
        "/Madrid/Gardens/ParqueNorte",
        "/Other",
    ]
    r = c.post(f"{BASE}/entities/urn:x:b1/attrs", json={"scope": "/Only"}, headers=key)
    assert r.status_code == 204
    assert c.get(f"{BASE}/entities/urn:x:b1").json()["scope"] == "/Only"
    # scope is not an attribute to replace, but can be deleted like one.
    problem(
        c.put(f"{BASE}/entities/urn:x:b1/attrs/scope", json={"value": "/X"}, headers=key),
        "BadRequestData",
        400,
    )
    assert c.delete(f"{BASE}/entities/urn:x:b1/attrs/scope", headers=key).status_code == 204
    assert "scope" not in c.get(f"{BASE}/entities/urn:x:b1").json()


def test_ngsi_ld_null_deletes_one_instance_including_a_geoproperty(sqlite_api: Api) -> None:
    """MergeEntity 056_03..05 and the PATCH attrs twins (clause 4.5.5)."""
    c, key = sqlite_api.client, sqlite_api.province
    point = {"type": "Point", "coordinates": [-2.3, 34.9]}
    entity = {
        "id": "urn:x:m1",
        "type": "Building",
        "name": [
            {"type": "Property", "value": "A", "datasetId": "urn:ngsi-ld:Dataset:01"},
            {"type": "Property", "value": "B", "datasetId": "urn:ngsi-ld:Dataset:02"},
        ],
        "location": {"type": "GeoProperty", "value": point},
        "street": {"type": "LanguageProperty", "languageMap": {"fr": "rue", "ar": "شارع"}},
    }
    assert create(sqlite_api, entity).status_code == 201
    null = "urn:ngsi-ld:null"
    fragment = {
        "name": {"type": "Property", "value": null, "datasetId": "urn:ngsi-ld:Dataset:01"},
        "location": {"type": "GeoProperty", "value": null},
        "street": {"type": "LanguageProperty", "languageMap": {"@none": null}},
    }
    assert c.patch(f"{BASE}/entities/urn:x:m1", json=fragment, headers=key).status_code == 204
    got = c.get(f"{BASE}/entities/urn:x:m1").json()
    assert got["name"] == {"type": "Property", "value": "B", "datasetId": "urn:ngsi-ld:Dataset:02"}
    assert "location" not in got and "street" not in got
    # A whole entity carrying NGSI-LD Null simply lacks that attribute.
    r = create(sqlite_api, {"id": "urn:x:m2", "type": "T", "location": null, "v": 1})
    assert r.status_code == 201
    assert "location" not in c.get(f"{BASE}/entities/urn:x:m2").json()


def test_a_partial_update_needs_the_instance_and_keeps_its_type(sqlite_api: Api) -> None:
    """PartialAttributeUpdate 012_02_03 and 012_03_02/03 (clause 5.6.4)."""
    c, key = sqlite_api.client, sqlite_api.province
    entity = {
        "id": "urn:x:v1",
        "type": "Vehicle",
        "speed": {"type": "Property", "value": 1, "datasetId": "urn:ngsi-ld:Dataset:gps"},
    }
    assert create(sqlite_api, entity).status_code == 201
    url = f"{BASE}/entities/urn:x:v1/attrs/speed"
    problem(
        c.patch(url, json={"type": "Property", "value": 2}, headers=key), "ResourceNotFound", 404
    )
    problem(
        c.patch(
            url,
            json={"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:other"},
            headers=key,
        ),
        "ResourceNotFound",
        404,
    )
    problem(
        c.patch(
            url,
            json={
                "type": "Relationship",
                "object": "urn:x:1",
                "datasetId": "urn:ngsi-ld:Dataset:gps",
            },
            headers=key,
        ),
        "BadRequestData",
        400,
    )
    r = c.patch(
        url,
        json={"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        headers=key,
    )
    assert r.status_code == 204
    assert c.get(f"{BASE}/entities/urn:x:v1").json()["speed"]["value"] == 2


def test_a_batch_refuses_entities_one_by_one_for_their_context(
    sqlite_api: Api, context_server: ContextServer
) -> None:
    """CreateBatchOfEntities 003_06/003_08: an entity with @context sent as application/json
    (or without one as application/ld+json) fails alone, in a 207; the others are created."""
    c, key = sqlite_api.client, sqlite_api.province
    core = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
    batch = [
        {"id": "urn:x:ok", "type": "T"},
        {"id": "urn:x:bad", "type": "T", "@context": core},
    ]
    r = c.post(f"{BASE}/entityOperations/create", json=batch, headers=key)
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["success"] == ["urn:x:ok"]
    assert [e["entityId"] for e in body["errors"]] == ["urn:x:bad"]
    assert body["errors"][0]["error"]["type"] == ERRORS + "BadRequestData"
    assert c.get(f"{BASE}/entities/urn:x:bad").status_code == 404
    # Entities with different contexts in one ld+json batch are each read with their own.
    context_server.documents["a.jsonld"] = {"@context": {"v": "https://a.example/v"}}
    batch = [
        {"id": "urn:x:a", "type": "T", "v": 1, "@context": context_server.url("a.jsonld")},
        {"id": "urn:x:b", "type": "T", "v": 2, "@context": core},
    ]
    r = c.post(
        f"{BASE}/entityOperations/create",
        content=json.dumps(batch),
        headers={**key, "Content-Type": LD},
    )
    assert r.status_code == 201 and sorted(r.json()) == ["urn:x:a", "urn:x:b"]
    assert "https://a.example/v" in c.get(f"{BASE}/entities/urn:x:a").json()
    assert "v" in c.get(f"{BASE}/entities/urn:x:b").json()
    problem(c.post(f"{BASE}/entityOperations/delete", json=[], headers=key), "BadRequestData", 400)
    assert (
        c.post(
            f"{BASE}/entityOperations/delete",
            content=json.dumps(["urn:x:a"]),
            headers={**key, "Content-Type": LD},
        ).status_code
        == 204
    )


def test_pick_and_omit_expressions_are_checked(sqlite_api: Api) -> None:
    """RetrieveEntity 018_18/018_19 (clause 4.21)."""
    c = sqlite_api.client
    assert (
        create(sqlite_api, {"id": "urn:x:p", "type": "T", "name": "n", "k": 1}).status_code == 201
    )
    url = f"{BASE}/entities/urn:x:p"
    for pick in (
        "id;name",
        "id,locatedAt{name",
        "id,locatedAt{{name}",
        "id,,name",
        "id,locatedAt{}",
    ):
        problem(c.get(url, params={"pick": pick}), "BadRequestData", 400)
    problem(c.get(url, params={"pick": "name", "attrs": "k"}), "BadRequestData", 400)
    problem(c.get(url, params={"pick": "name", "omit": "name"}), "BadRequestData", 400)
    problem(c.get(url, params={"pick": "unknown"}), "ResourceNotFound", 404)
    problem(c.get(url, params={"omit": "id,type,name,k"}), "ResourceNotFound", 404)
    assert c.get(url, params={"pick": "id,name"}).json() == {
        "id": "urn:x:p",
        "name": {"type": "Property", "value": "n"},
    }


def test_pages_are_linked_and_core_members_are_not_attributes(sqlite_api: Api) -> None:
    """Link header pagination (clause 6.3.x), QueryEntities 019_03_03, GeoJSON @context."""
    c = sqlite_api.client
    for n in range(3):
        assert create(sqlite_api, {"id": f"urn:x:pg{n}", "type": "Pg", "v": n}).status_code == 201
    r = c.get(f"{BASE}/entities", params={"type": "Pg", "limit": 1, "offset": 1})
    assert [e["id"] for e in r.json()] == ["urn:x:pg1"]
    link = r.headers["link"]
    assert '</ngsi-ld/v1/entities?type=Pg&limit=1&offset=0>; rel="prev"' in link
    assert '</ngsi-ld/v1/entities?type=Pg&limit=1&offset=2>; rel="next"' in link
    assert "json-ld#context" in link
    last = c.get(f"{BASE}/entities", params={"type": "Pg", "limit": 1, "offset": 2})
    assert 'rel="next"' not in last.headers["link"] and 'rel="prev"' in last.headers["link"]
    problem(c.get(f"{BASE}/entities", params={"attrs": "id,type"}), "BadRequestData", 400)
    feature = c.get(f"{BASE}/entities/urn:x:pg0", headers={"Accept": "application/geo+json"}).json()
    assert feature["type"] == "Feature" and "@context" in feature


def test_lang_star_picks_one_language(sqlite_api: Api) -> None:
    """RetrieveEntity 018_07_03."""
    street = {"type": "LanguageProperty", "languageMap": {"fr": "Grand Place", "nl": "Grote Markt"}}
    assert create(sqlite_api, {"id": "urn:x:l", "type": "T", "street": street}).status_code == 201
    got = sqlite_api.client.get(f"{BASE}/entities/urn:x:l", params={"lang": "*"}).json()
    assert got["street"] == {"type": "Property", "value": "Grand Place", "lang": "fr"}


def test_subscription_ids_receiver_info_and_pages(sqlite_api: Api) -> None:
    """RetrieveSubscription 030_01_01, QuerySubscriptions 031_02, CreateSubscription 028_08."""
    c, key = sqlite_api.client, sqlite_api.province

    def subscription(**extra: Any) -> dict[str, Any]:
        return {
            "type": "Subscription",
            "entities": [{"type": "T"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}},
            **extra,
        }

    for sub_id in ("invalid", "no%20id"):
        problem(c.get(f"{BASE}/subscriptions/{sub_id}", headers=key), "BadRequestData", 400)
    problem(c.delete(f"{BASE}/subscriptions/invalid", headers=key), "BadRequestData", 400)
    bad_info = subscription(
        notification={
            "endpoint": {
                "uri": "http://127.0.0.1:9/n",
                "receiverInfo": [{"key": "a b", "value": "x"}],
            }
        }
    )
    problem(c.post(f"{BASE}/subscriptions", json=bad_info, headers=key), "BadRequestData", 400)
    both = subscription(
        notification={"endpoint": {"uri": "http://127.0.0.1:9/n"}, "pick": ["a"], "omit": ["a"]}
    )
    problem(c.post(f"{BASE}/subscriptions", json=both, headers=key), "BadRequestData", 400)
    problem(
        c.post(f"{BASE}/subscriptions", json=subscription(jsonldContext="nope"), headers=key),
        "BadRequestData",
        400,
    )
    for _ in range(3):
        assert c.post(f"{BASE}/subscriptions", json=subscription(), headers=key).status_code == 201
    r = c.get(f"{BASE}/subscriptions", params={"limit": 1, "offset": 1}, headers=key)
    assert len(r.json()) == 1 and "isActive" not in r.json()[0]
    assert '</ngsi-ld/v1/subscriptions?limit=1&offset=0>; rel="prev"' in r.headers["link"]
    assert '</ngsi-ld/v1/subscriptions?limit=1&offset=2>; rel="next"' in r.headers["link"]


def test_page_links_survive_encoded_parameters(sqlite_api: Api) -> None:
    assert create(sqlite_api, {"id": "urn:x:e1", "type": "E", "v": 1}).status_code == 201
    assert create(sqlite_api, {"id": "urn:x:e2", "type": "E", "v": 2}).status_code == 201
    r = sqlite_api.client.get(f"{BASE}/entities", params={"type": "E", "q": "v>0;v<9", "limit": 1})
    assert r.status_code == 200 and "q=v%3E0%3Bv%3C9" in r.headers["link"]


def test_a_temporal_representation_deleted_is_created_again_201(sqlite_api: Api) -> None:
    """Temporal 021_* setups: after DELETE /temporal/entities/{id}, POST creates it anew."""
    c, key = sqlite_api.client, sqlite_api.province
    body = {
        "id": "urn:x:t1",
        "type": "Vehicle",
        "speed": [{"type": "Property", "value": 1, "observedAt": "2020-08-01T12:03:00Z"}],
    }
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 204
    assert c.delete(f"{BASE}/temporal/entities/urn:x:t1", headers=key).status_code == 204
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    problem(c.get(f"{BASE}/temporal/entities/not-an-id"), "BadRequestData", 400)
    problem(
        c.get(f"{BASE}/temporal/entities", params={"type": "Vehicle", "format": "x"}),
        "InvalidRequest",
        400,
    )


def test_a_temporal_query_needs_a_selector(sqlite_api: Api) -> None:
    """QueryTemporalEvolutionOfEntities 021_12_01."""
    problem(
        sqlite_api.client.get(
            f"{BASE}/temporal/entities",
            params={"timerel": "after", "timeAt": "2020-07-01T12:05:00Z"},
        ),
        "BadRequestData",
        400,
    )


def test_temporal_retrieval_of_attributes_without_history_is_404(sqlite_api: Api) -> None:
    """RetrieveTemporalEvolutionOfEntity 020_08_01."""
    c, key = sqlite_api.client, sqlite_api.province
    body = {
        "id": "urn:x:t2",
        "type": "Vehicle",
        "speed": [{"type": "Property", "value": 1, "observedAt": "2020-08-01T12:03:00Z"}],
    }
    assert c.post(f"{BASE}/temporal/entities", json=body, headers=key).status_code == 201
    url = f"{BASE}/temporal/entities/urn:x:t2"
    assert c.get(url, params={"attrs": "speed"}).json()["speed"]
    problem(c.get(url, params={"attrs": "nothing"}), "ResourceNotFound", 404)
