"""Bad input to the NGSI-LD API: the right ProblemDetails type and status, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http.ngsi_ld.conftest import Api, ContextServer

BASE = "/ngsi-ld/v1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
ENTITY = {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "v": 1}


def problem(response: Any, kind: str, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["type"] == ERRORS + kind and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_content_types(sqlite_api: Api) -> None:
    c, key = sqlite_api.client, sqlite_api.province
    problem(
        c.post(
            f"{BASE}/entities",
            content=json.dumps(ENTITY),
            headers={**key, "Content-Type": "text/plain"},
        ),
        "UnsupportedMediaType",
        415,
    )
    problem(
        c.post(
            f"{BASE}/entities",
            content=b"{oops",
            headers={**key, "Content-Type": "application/json"},
        ),
        "InvalidRequest",
        400,
    )
    problem(
        c.post(
            f"{BASE}/entities",
            content=b'{"v": NaN}',
            headers={**key, "Content-Type": "application/json"},
        ),
        "InvalidRequest",
        400,
    )
    with_context = {
        **ENTITY,
        "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
    }
    problem(c.post(f"{BASE}/entities", json=with_context, headers=key), "BadRequestData", 400)
    problem(
        c.post(
            f"{BASE}/entities",
            content=json.dumps(ENTITY),
            headers={**key, "Content-Type": "application/ld+json"},
        ),
        "BadRequestData",
        400,
    )
    r = c.post(
        f"{BASE}/entities",
        content=json.dumps(with_context),
        headers={**key, "Content-Type": "application/ld+json; charset=utf-8"},
    )
    assert r.status_code == 201
    problem(
        c.patch(
            f"{BASE}/entities/urn:ngsi-ld:Thing:1/attrs",
            json={"v": 2},
            headers={**key, "Content-Type": "application/merge-patch+json"},
        ),
        "UnsupportedMediaType",
        415,
    )
    problem(
        c.get(f"{BASE}/entities/urn:ngsi-ld:Thing:1", headers={"Accept": "text/html"}),
        "NotAcceptable",
        406,
    )
    assert (
        c.get(
            f"{BASE}/entities/urn:ngsi-ld:Thing:1", headers={"Accept": "text/html, */*;q=0.1"}
        ).status_code
        == 200
    )
    assert (
        c.get(
            f"{BASE}/entities/urn:ngsi-ld:Thing:1",
            headers={"Accept": "application/ld+json;q=0.5, application/json"},
        ).headers["content-type"]
        == "application/json"
    )
    problem(
        c.get(f"{BASE}/entities/urn:ngsi-ld:Thing:1", headers={"NGSILD-Tenant": "other"}),
        "NoMultiTenantSupport",
        501,
    )


@pytest.mark.parametrize(
    ("params", "kind", "status"),
    [
        ({}, "BadRequestData", 400),
        ({"type": "T", "q": "v>"}, "BadRequestData", 400),
        ({"type": "T", "q": "(v>1"}, "BadRequestData", 400),
        (
            {"type": "T", "georel": "near", "geometry": "Point", "coordinates": "[0,0]"},
            "BadRequestData",
            400,
        ),
        ({"type": "T", "georel": "within", "geometry": "Point"}, "BadRequestData", 400),
        (
            {"type": "T", "georel": "within", "geometry": "Polygon", "coordinates": "nope"},
            "BadRequestData",
            400,
        ),
        ({"type": "T", "limit": "5000"}, "TooManyResults", 403),
        ({"type": "T", "limit": "0"}, "BadRequestData", 400),
        ({"type": "T", "limit": "-1"}, "BadRequestData", 400),
        ({"type": "T", "limit": "abc"}, "BadRequestData", 400),
        ({"type": "T", "offset": "-1"}, "BadRequestData", 400),
        ({"type": "T", "options": "fancy"}, "InvalidRequest", 400),
        ({"type": "T", "format": "fancy"}, "InvalidRequest", 400),
        ({"idPattern": "("}, "BadRequestData", 400),
        ({"type": "T", "count": "maybe"}, "BadRequestData", 400),
    ],
)
def test_bad_queries(sqlite_api: Api, params: dict[str, str], kind: str, status: int) -> None:
    problem(sqlite_api.client.get(f"{BASE}/entities", params=params), kind, status)


def test_missing_and_malformed_resources(sqlite_api: Api) -> None:
    c, key = sqlite_api.client, sqlite_api.province
    problem(c.get(f"{BASE}/entities/urn:ngsi-ld:Thing:none"), "ResourceNotFound", 404)
    problem(c.get(f"{BASE}/entities/not-a-uri"), "BadRequestData", 400)
    problem(
        c.patch(f"{BASE}/entities/urn:ngsi-ld:Thing:none/attrs", json={"v": 1}, headers=key),
        "ResourceNotFound",
        404,
    )
    problem(
        c.delete(f"{BASE}/entities/urn:ngsi-ld:Thing:none", headers=key), "ResourceNotFound", 404
    )
    problem(c.get(f"{BASE}/nowhere"), "ResourceNotFound", 404)
    problem(c.put(f"{BASE}/entityOperations/create", json=[]), "OperationNotSupported", 405)
    problem(
        c.post(f"{BASE}/entityOperations/create", json={"not": "an array"}, headers=key),
        "BadRequestData",
        400,
    )
    problem(
        c.post(
            f"{BASE}/entityOperations/upsert",
            params={"options": "replace,update"},
            json=[],
            headers=key,
        ),
        "BadRequestData",
        400,
    )
    problem(c.post(f"{BASE}/entityOperations/query", json={"type": "Nope"}), "BadRequestData", 400)
    problem(c.post(f"{BASE}/entityOperations/query", json={"type": "Query"}), "BadRequestData", 400)
    problem(
        c.post(f"{BASE}/entityOperations/query", json={"type": "Query", "entities": "x"}),
        "BadRequestData",
        400,
    )
    assert c.post(f"{BASE}/entities", json=ENTITY, headers=key).status_code == 201
    problem(c.post(f"{BASE}/entities", json=ENTITY, headers=key), "AlreadyExists", 409)
    problem(
        c.put(
            f"{BASE}/entities/urn:ngsi-ld:Thing:1",
            json={**ENTITY, "id": "urn:ngsi-ld:Thing:2"},
            headers=key,
        ),
        "BadRequestData",
        400,
    )
    problem(
        c.patch(f"{BASE}/entities/urn:ngsi-ld:Thing:1/attrs", json={}, headers=key),
        "BadRequestData",
        400,
    )
    problem(
        c.patch(
            f"{BASE}/entities/urn:ngsi-ld:Thing:1/attrs/absent", json={"value": 1}, headers=key
        ),
        "ResourceNotFound",
        404,
    )
    problem(
        c.post(f"{BASE}/entities/urn:ngsi-ld:Thing:1/attrs", json={"v": None}, headers=key),
        "BadRequestData",
        400,
    )


def test_unreachable_context(sqlite_api: Api, context_server: ContextServer) -> None:
    c = sqlite_api.client
    link = f'<{context_server.url("missing.jsonld")}>; rel="http://www.w3.org/ns/json-ld#context"'
    problem(
        c.get(f"{BASE}/entities", params={"type": "T"}, headers={"Link": link}),
        "LdContextNotAvailable",
        504,
    )
    link = '<file:///etc/passwd>; rel="http://www.w3.org/ns/json-ld#context"'
    problem(
        c.get(f"{BASE}/entities", params={"type": "T"}, headers={"Link": link}),
        "BadRequestData",
        400,
    )


def test_collections_answer_with_a_trailing_slash(sqlite_api: Api) -> None:
    c = sqlite_api.client
    assert c.post(f"{BASE}/entities/", json=ENTITY, headers=sqlite_api.province).status_code == 201
    assert c.get(f"{BASE}/entities/", params={"type": "Thing"}).json()[0]["id"] == ENTITY["id"]
    assert c.get(f"{BASE}/types/").status_code == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "type", "value", "object", "v", "location", "@context", "x y"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_any_body_gets_an_answer_not_a_crash(sqlite_api: Api, body: Any) -> None:
    c, key = sqlite_api.client, sqlite_api.province
    for url in (
        f"{BASE}/entities",
        f"{BASE}/entityOperations/upsert",
        f"{BASE}/entities/urn:x:1/attrs",
    ):
        r = c.post(
            url, content=json.dumps(body), headers={**key, "Content-Type": "application/json"}
        )
        assert r.status_code < 500, (url, body, r.text)
        if r.status_code >= 400:
            assert r.json()["type"].startswith(ERRORS)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(max_size=30), georel=st.text(max_size=12), coordinates=st.text(max_size=12))
def test_any_query_string_gets_an_answer_not_a_crash(
    sqlite_api: Api, q: str, georel: str, coordinates: str
) -> None:
    r = sqlite_api.client.get(f"{BASE}/entities", params={"type": "Thing", "q": q})
    assert r.status_code in (200, 400), r.text
    r = sqlite_api.client.get(
        f"{BASE}/entities",
        params={"type": "Thing", "georel": georel, "geometry": "Point", "coordinates": coordinates},
    )
    assert r.status_code in (200, 400), r.text


def test_input_the_databases_would_choke_on(api: Api) -> None:
    """On both engines: NUL characters, over-long IRIs, deep nesting, huge offsets are 4xx."""
    c, key = api.client, api.province
    nul = {"id": "urn:x:1", "type": "T", "text": "a\x00b"}
    problem(c.post(f"{BASE}/entities", json=nul, headers=key), "BadRequestData", 400)
    problem(
        c.post(f"{BASE}/entities", json={"id": "urn:x:\x00", "type": "T"}, headers=key),
        "BadRequestData",
        400,
    )
    long_iri = {"@context": {"t": "https://example.org/" + "x" * 600}, "id": "urn:x:1", "type": "t"}
    r = c.post(
        f"{BASE}/entities",
        content=json.dumps(long_iri),
        headers={**key, "Content-Type": "application/ld+json"},
    )
    problem(r, "BadRequestData", 400)
    deep = "[" * 100_000 + "]" * 100_000
    r = c.post(
        f"{BASE}/entities", content=deep, headers={**key, "Content-Type": "application/json"}
    )
    problem(r, "InvalidRequest", 400)
    problem(
        c.get(f"{BASE}/entities", params={"type": "T", "offset": str(10**20)}),
        "BadRequestData",
        400,
    )
    r = c.get(
        f"{BASE}/entities",
        params={"type": "T", "georel": "within", "geometry": "Point", "coordinates": deep[:20000]},
    )
    problem(r, "BadRequestData", 400)
    long_id = "urn:x:" + "y" * 600
    problem(
        c.post(f"{BASE}/entities", json={"id": long_id, "type": "T"}, headers=key),
        "BadRequestData",
        400,
    )
    assert (
        c.post(
            f"{BASE}/entities",
            json={"id": "urn:x:ok", "type": "T", "name": {"languageMap": {"ar": "نص"}}},
            headers=key,
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "params",
    [
        {"type": "T\x00"},
        {"id": "urn:x:\x00"},
        {"type": "T", "area": "\x00"},
        {"type": "T", "area": "99.999"},
        {"type": "x" * 600},
        {"type": "T", "idPattern": "\x00("},
    ],
)
def test_query_values_the_databases_would_choke_on(api: Api, params: dict[str, str]) -> None:
    problem(api.client.get(f"{BASE}/entities", params=params), "BadRequestData", 400)


@pytest.mark.parametrize(
    "raw",
    [
        '{"id": "urn:x:1", "type": "T", "a": "\\ud800"}',
        '{"id": "urn:x:1", "type": "T", "a\\ud800": 1}',
        '{"id": "urn:x:\\ud800", "type": "T"}',
        '{"id": "urn:x:1", "type": "T\\ud800"}',
        '{"id": "urn:x:1", "type": "T", "a": {"value": 1, "unitCode": "\\ud800"}}',
        '{"id": "urn:x:1", "type": "T", "n": {"languageMap": {"fr": "\\udfff"}}}',
        '{"id": "urn:x:1", "type": "T", "r": {"object": "urn:x:\\u0000"}}',
    ],
)
def test_text_no_database_can_store(api: Api, raw: str) -> None:
    r = api.client.post(
        f"{BASE}/entities",
        content=raw,
        headers={**api.province, "Content-Type": "application/json"},
    )
    problem(r, "BadRequestData", 400)
    ok = '{"id": "urn:x:2", "type": "T", "a": "\\ud83d\\ude00 مرحبا"}'
    r = api.client.post(
        f"{BASE}/entities", content=ok, headers={**api.province, "Content-Type": "application/json"}
    )
    assert r.status_code == 201
    assert (
        api.client.get(f"{BASE}/entities/urn:x:2", params={"options": "keyValues"}).json()["a"]
        == "😀 مرحبا"
    )
