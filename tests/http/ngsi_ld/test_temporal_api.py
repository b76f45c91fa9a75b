"""`/ngsi-ld/v1/temporal/entities` over HTTP (in-process), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hakama.core.access import ANONYMOUS, Actor, system_actor
from hakama.http.app import create_app
from hakama.http.deps import get_actor
from hakama.services.platform import Platform

BASE = "/ngsi-ld/v1/temporal/entities"
EID = "urn:ngsi-ld:AirQualityObserved:api1"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


def client_for(platform: Platform, actor: Actor) -> TestClient:
    app = create_app(platform.settings, platform=platform, background=False)
    app.dependency_overrides[get_actor] = lambda: actor
    return TestClient(app)


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with client_for(platform, system_actor("test")) as c:
        yield c


def temporal_entity() -> dict[str, Any]:
    return {
        "id": EID,
        "type": "AirQualityObserved",
        "pm25": [
            {
                "type": "Property",
                "value": 10,
                "observedAt": "2026-03-01T06:00:00Z",
                "unitCode": "GQ",
            },
            {
                "type": "Property",
                "value": 20,
                "observedAt": "2026-03-01T18:00:00Z",
                "unitCode": "GQ",
            },
            {
                "type": "Property",
                "value": 60,
                "observedAt": "2026-03-02T06:00:00Z",
                "unitCode": "GQ",
            },
        ],
    }


def test_create_then_retrieve_in_every_representation(client: TestClient) -> None:
    created = client.post(BASE, json=temporal_entity())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/{EID}"
    assert client.post(BASE, json=temporal_entity()).status_code == 204

    got = client.get(f"{BASE}/{EID}")
    assert got.status_code == 200
    assert "ngsi-ld-core-context" in got.headers["link"]
    body = got.json()
    assert [i["value"] for i in body["pm25"]] == [10, 20, 60]
    assert body["pm25"][0]["observedAt"] == "2026-03-01T06:00:00Z"

    values = client.get(f"{BASE}/{EID}", params={"options": "temporalValues", "lastN": "2"}).json()
    assert values["pm25"]["values"] == [[20, "2026-03-01T18:00:00Z"], [60, "2026-03-02T06:00:00Z"]]

    aggregated = client.get(
        f"{BASE}/{EID}",
        params={
            "aggrMethods": "avg,max",
            "aggrPeriodDuration": "P1D",
            "format": "aggregatedValues",
        },
    ).json()
    assert aggregated["pm25"]["avg"] == [
        [15, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"],
        [60, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"],
    ]
    assert [m[0] for m in aggregated["pm25"]["max"]] == [20, 60]

    ld = client.get(f"{BASE}/{EID}", headers={"Accept": "application/ld+json"})
    assert ld.headers["content-type"].startswith("application/ld+json")
    assert "ngsi-ld-core-context" in str(ld.json()["@context"])

    window = client.get(
        f"{BASE}/{EID}",
        params={
            "timerel": "between",
            "timeAt": "2026-03-01T12:00:00Z",
            "endTimeAt": "2026-03-02T00:00:00Z",
        },
    ).json()
    assert [i["value"] for i in window["pm25"]] == [20]


def test_query_with_count_and_trailing_slash(client: TestClient) -> None:
    client.post(BASE, json=temporal_entity())
    other = temporal_entity() | {"id": "urn:ngsi-ld:AirQualityObserved:api2"}
    client.post(BASE, json=other)
    got = client.get(
        f"{BASE}/", params={"type": "AirQualityObserved", "count": "true", "limit": 1, "lastN": 1}
    )
    assert got.status_code == 200, got.text
    assert got.headers["ngsild-results-count"] == "2"
    assert [(e["id"], e["pm25"][0]["value"]) for e in got.json()] == [(EID, 60)]


def test_append_and_delete_instances(client: TestClient) -> None:
    client.post(BASE, json=temporal_entity())
    appended = client.post(
        f"{BASE}/{EID}/attrs",
        json={"pm25": {"type": "Property", "value": 5, "observedAt": "2026-03-03T00:00:00Z"}},
    )
    assert appended.status_code == 204, appended.text
    instances = client.get(f"{BASE}/{EID}").json()["pm25"]
    assert len(instances) == 4
    first = instances[0]["instanceId"]
    patched = client.patch(
        f"{BASE}/{EID}/attrs/pm25/{first}", json={"value": 11, "type": "Property"}
    )
    assert patched.status_code == 204, patched.text
    values = [i["value"] for i in client.get(f"{BASE}/{EID}").json()["pm25"]]
    assert values == [11, 20, 60, 5]
    second = client.get(f"{BASE}/{EID}").json()["pm25"][1]["instanceId"]
    assert client.delete(f"{BASE}/{EID}/attrs/pm25/{second}").status_code == 204
    assert [i["value"] for i in client.get(f"{BASE}/{EID}").json()["pm25"]] == [11, 60, 5]
    assert client.delete(f"{BASE}/{EID}/attrs/pm25").status_code == 204
    assert "pm25" not in client.get(f"{BASE}/{EID}").json()
    assert client.delete(f"{BASE}/{EID}").status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "kind"),
    [
        ("get", f"{BASE}/urn:ngsi-ld:X:none", {}, 404, "ResourceNotFound"),
        (
            "get",
            f"{BASE}/{EID}",
            {"params": {"timerel": "during", "timeAt": "2026-01-01T00:00:00Z"}},
            400,
            "BadRequestData",
        ),
        ("get", f"{BASE}/{EID}", {"params": {"aggrMethods": "median"}}, 400, "BadRequestData"),
        (
            "get",
            f"{BASE}/{EID}",
            {"params": {"aggrMethods": "avg", "aggrPeriodDuration": "1 day"}},
            400,
            "BadRequestData",
        ),
        (
            "get",
            f"{BASE}/{EID}",
            {"params": {"timeproperty": "modifiedAt"}},
            422,
            "OperationNotSupported",
        ),
        ("get", BASE, {"params": {"limit": 5000}}, 403, "TooManyResults"),
        ("get", BASE, {"params": {"options": "fancy"}}, 400, "InvalidRequest"),
        (
            "post",
            BASE,
            {"content": b"{", "headers": {"Content-Type": "application/json"}},
            400,
            "InvalidRequest",
        ),
        (
            "post",
            BASE,
            {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
            415,
            "UnsupportedMediaType",
        ),
        ("post", BASE, {"json": {"id": "nope", "type": "T"}}, 400, "BadRequestData"),
        (
            "delete",
            f"{BASE}/{EID}/attrs/pm25/urn:ngsi-ld:Instance:1-x",
            {},
            404,
            "ResourceNotFound",
        ),
    ],
)
def test_errors_are_ngsi_problem_details(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int, kind: str
) -> None:
    client.post(BASE, json=temporal_entity())
    got = getattr(client, method)(path, **kwargs)
    assert got.status_code == status, got.text
    body = got.json()
    assert body["type"] == ERRORS + kind and body["status"] == status and body["detail"]


def test_the_public_may_read_but_not_write(platform: Platform) -> None:
    with client_for(platform, system_actor("test")) as admin:
        admin.post(BASE, json=temporal_entity())
    with client_for(platform, ANONYMOUS) as public:
        assert public.get(f"{BASE}/{EID}").status_code == 200
        refused = public.post(
            f"{BASE}/{EID}/attrs", json={"pm25": {"value": 1, "observedAt": "2026-03-05T00:00:00Z"}}
        )
        assert refused.status_code == 403 and refused.json()["type"] == ERRORS + "Forbidden"
        assert public.delete(f"{BASE}/{EID}").status_code == 403


def test_long_answers_are_partial_with_a_content_range(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.post(BASE, json=temporal_entity())
    settings = client.app.state.platform.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(settings, "ngsi_temporal_max_instances", 2)
    got = client.get(f"{BASE}/{EID}")
    assert got.status_code == 206
    assert got.headers["content-range"] == "date-time 2026-03-01T06:00:00Z-2026-03-01T18:00:00Z/*"
    assert [i["value"] for i in got.json()["pm25"]] == [10, 20]
    listed = client.get(BASE, params={"type": "AirQualityObserved"})
    assert listed.status_code == 206 and "content-range" in listed.headers


def test_an_observed_at_reads_the_same_through_entities_and_temporal(client: TestClient) -> None:
    """One formatter: the same instant, to the same precision, through both APIs."""
    eid = "urn:ngsi-ld:AirQualityObserved:same-time"
    for observed, value in (("2026-03-01T06:00:00.123456Z", 10), ("2026-03-01T07:00:00.5Z", 11)):
        body = {
            "id": eid,
            "type": "AirQualityObserved",
            "pm25": {"type": "Property", "value": value, "observedAt": observed},
        }
        r = client.post("/ngsi-ld/v1/entityOperations/upsert?options=update", json=[body])
        assert r.status_code in (201, 204), r.text
        current = client.get(f"/ngsi-ld/v1/entities/{eid}").json()["pm25"]["observedAt"]
        history = client.get(f"{BASE}/{eid}").json()["pm25"]
        history = history if isinstance(history, list) else [history]
        times = {i["observedAt"] for i in history}
        assert current in times, (current, times)
    assert current == "2026-03-01T07:00:00.500Z"
    assert times == {"2026-03-01T06:00:00.123456Z", "2026-03-01T07:00:00.500Z"}
